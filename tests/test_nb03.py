"""Notebook 03. Its test cells, run directly: the solution and every acceptable variant pass,
each known mistake fails exactly the cells of the property it breaks, naming its hint; and
the reference's exact statistics agree with simulation."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from autograder.mistakes.nb03 import CORRUPT_CELLS
from autograder.reference import nb03 as reference
from course import SEED
from course.checks.nb03 import HINTS
from course.metrics import parse
from tests.nbgrader_cells import GradedCells, cells_by_role

SOLUTIONS, TESTS, POINTS = cells_by_role("03_denoising_autoencoder")


GRADED = GradedCells(
    "03_denoising_autoencoder", {"keras": keras, "ops": ops, "np": np, "SEED": SEED}
)
namespace_with = GRADED.namespace
run_cells = GRADED.run


def test_every_property_has_its_own_test_cell():
    assert set(SOLUTIONS) == {"corrupt"}
    assert set(TESTS) == set(CORRUPT_CELLS)
    assert sum(POINTS.values()) == 11


def test_returning_x_unchanged_earns_nothing():
    identity = (
        "def corrupt(x, seed_generator, drop_probability=0.0, noise_std=0.0):\n    return x\n"
    )
    failures = run_cells(namespace_with({"corrupt": identity}))
    assert set(failures) == set(TESTS)


def test_one_mask_for_the_whole_batch_is_named():
    shared = (
        "def corrupt(x, seed_generator, drop_probability=0.0, noise_std=0.0):\n"
        "    one_image = (1, *ops.shape(x)[1:])\n"
        "    noise = keras.random.normal(one_image, stddev=noise_std, seed=seed_generator)\n"
        "    keep = keras.random.uniform(one_image, seed=seed_generator) >= drop_probability\n"
        "    return ops.where(keep, ops.clip(x + noise, 0.0, 1.0), 0.0)\n"
    )
    failures = run_cells(namespace_with({"corrupt": shared}))
    assert HINTS["shared_noise"] in failures["corrupt_fresh_noise"]


@pytest.mark.parametrize("grey, noise_std", [(0.5, 0.1), (0.15, 0.3), (0.9, 0.4), (0.5, 2.0)])
def test_clipped_noise_moments_match_simulation(grey, noise_std):
    rng = np.random.default_rng(0)
    residual = reference.corrupt_numpy(np.full(400_000, grey), rng, 0.0, noise_std) - grey
    mean, std = reference.clipped_noise_moments(grey, noise_std)
    assert mean == pytest.approx(residual.mean(), abs=5 * std / np.sqrt(residual.size))
    assert std == pytest.approx(residual.std(), rel=0.01)


@pytest.mark.parametrize("grey, drop_probability, noise_std", [(0.5, 0.5, 0.02), (0.2, 0.3, 0.3)])
def test_zero_fraction_matches_simulation(grey, drop_probability, noise_std):
    rng = np.random.default_rng(1)
    values = reference.corrupt_numpy(np.full(400_000, grey), rng, drop_probability, noise_std)
    expected = reference.zero_fraction(grey, drop_probability, noise_std)
    assert np.mean(values == 0.0) == pytest.approx(expected, abs=0.004)


@pytest.mark.slow
def test_notebook_03_reports_its_figures(executed):
    text = executed.text("03_denoising_autoencoder")
    found = parse(text)
    levels = ("mask_050", "mask_090", "gaussian_030")
    names = {f"test_mse_{level}" for level in levels} | {"two_garments_weight_rmse"}
    assert names <= set(found)
    for level in levels:
        # Below 0.25 (the error of a constant grey image is far less than that on clothes)
        assert 0 < found[f"test_mse_{level}"] < 0.25
    # Even one epoch on a small slice repairs heavy masking better than the masked input
    # (whose error at p = 0.9 is about 0.19 on Fashion-MNIST).
    assert found["test_mse_mask_090"] < found["test_mse_plain_ae_mask_090"]
    assert 0 <= found["two_garments_weight_rmse"] < 1
    assert "Mode: FAST" in text
