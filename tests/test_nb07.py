"""Notebook 07. Its test cells, run directly: the solution and every acceptable variant pass,
each known mistake fails exactly the cells of the property it breaks, naming its hint."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers, ops

from course import SEED
from course.metrics import parse
from tests.nbgrader_cells import GradedCells, cells_by_role, source_notebook

ASSIGNMENT = "07_frey_face_vae"
SOLUTIONS, TESTS, POINTS = cells_by_role(ASSIGNMENT)
# Locked cells the test cells rely on: the model's parts and the VAE class.
MODEL_CELLS = [cell.source for cell in source_notebook(ASSIGNMENT).cells
               if cell.get("id") in {"model-parts", "vae-class"}]  # fmt: skip


GRADED = GradedCells(
    ASSIGNMENT,
    {"keras": keras, "ops": ops, "np": np, "tf": tf, "layers": layers, "SEED": SEED},
    then=MODEL_CELLS,
)
namespace_with = GRADED.namespace
run_cells = GRADED.run


def test_the_graded_function_has_its_test_cells():
    assert len(MODEL_CELLS) == 2
    assert set(SOLUTIONS) == {"gaussian_nll", "kl_monte_carlo"}  # the second is not graded
    assert set(TESTS) == {"nll_shape", "nll_known_values", "nll_random", "vae_loss"}
    assert sum(POINTS.values()) == 7


def test_the_vae_check_depends_on_the_noise_it_fixes():
    """The fixed noise matters: the loss with other noise would not match the reference."""
    from course.checks import nb07 as checks

    namespace = namespace_with({})
    fixture = checks.vae_fixture()
    shifted = dict(fixture, epsilon=fixture["epsilon"] + 1.0)
    logs = checks.vae_losses(namespace["VAE"], namespace["gaussian_nll"], shifted)
    expected = checks.expected_values("nb07")["vae_loss"]["expected"]
    assert not checks.close(logs["loss"], expected["loss"])
    assert checks.close(logs["kl"], expected["kl"])  # the closed-form KL ignores the noise


def test_the_monte_carlo_kl_solution_is_unbiased():
    namespace = namespace_with({})
    rng = np.random.default_rng(0)
    t_mean = np.tile(rng.normal(size=(1, 3)), (200_000, 1)).astype("float32")
    t_log_var = np.tile(rng.uniform(-2, 0.5, size=(1, 3)), (200_000, 1)).astype("float32")
    t = t_mean + np.exp(0.5 * t_log_var) * rng.normal(size=t_mean.shape).astype("float32")
    estimates = ops.convert_to_numpy(namespace["kl_monte_carlo"](t, t_mean, t_log_var))
    closed_form = ops.convert_to_numpy(namespace["kl_divergence"](t_mean[:1], t_log_var[:1]))
    standard_error = estimates.std() / np.sqrt(len(estimates))
    assert abs(estimates.mean() - closed_form[0]) < 5 * standard_error  # fails once in 3.5e6


@pytest.mark.slow
def test_notebook_07_reports_its_figures(executed):
    text = executed.text(ASSIGNMENT)
    found = parse(text)
    assert {"val_elbo", "val_kl", "epochs_trained", "best_epoch", "training_seconds"} <= set(found)
    assert found["epochs_trained"] == 2 and 1 <= found["best_epoch"] <= 2
    # After two short epochs the decoder has barely begun: its ELBO is finite and far below
    # the full run's +800, but above that of a decoder that outputs sigma = 1 everywhere
    # (-560 * 0.5 * log(2 pi) = -515 nats, minus the squared errors).
    assert -515 < found["val_elbo"] < 800
    assert 0 <= found["val_kl"] < 100
    assert "Mode: FAST" in text
