"""Notebook 03. Its test cells, run directly: the solution and every acceptable variant pass,
each known mistake fails exactly the cells of the property it breaks, naming its hint, also
on the hidden checks' fresh inputs; the reference's exact statistics agree with simulation,
and its posterior is a proper, calibrated one."""

from __future__ import annotations

from unittest import mock

import keras
import numpy as np
import pytest
from keras import ops
from scipy.special import logsumexp, softmax
from scipy.stats import norm

from autograder.hidden import nb03 as hidden
from autograder.mistakes.nb03 import ACCEPTABLE, CORRUPT_CELLS, MISTAKES, POSTERIOR_CELLS
from autograder.reference import nb03 as reference
from course import SEED
from course.checks import CheckFailed
from course.checks import nb03 as checks
from course.checks.nb03 import HINTS
from course.metrics import parse
from tests.nbgrader_cells import GradedCells, cells_by_role

SOLUTIONS, TESTS, POINTS = cells_by_role("03_denoising_autoencoder")


GRADED = GradedCells(
    "03_denoising_autoencoder",
    {"keras": keras, "ops": ops, "np": np, "SEED": SEED, "norm": norm, "softmax": softmax,
     "logsumexp": logsumexp},
)  # fmt: skip
namespace_with = GRADED.namespace
run_cells = GRADED.run


def test_every_property_has_its_own_test_cell():
    assert set(SOLUTIONS) == {"corrupt", "posterior_mean"}
    assert set(TESTS) == set(CORRUPT_CELLS) | set(POSTERIOR_CELLS)
    assert sum(POINTS[cell] for cell in CORRUPT_CELLS) == 11
    assert sum(POINTS[cell] for cell in POSTERIOR_CELLS) == 8


def test_returning_x_unchanged_earns_nothing():
    identity = (
        "def corrupt(x, seed_generator, drop_probability=0.0, noise_std=0.0):\n    return x\n"
    )
    failures = run_cells(namespace_with({"corrupt": identity}))
    assert set(failures) == set(CORRUPT_CELLS)


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


def test_returning_only_the_probabilities_is_explained():
    only_probabilities = (
        "def posterior_mean(x_tilde, candidates, noise_std):\n"
        "    return np.full((len(x_tilde), len(candidates)), 1 / len(candidates))\n"
    )
    failures = run_cells(namespace_with({"posterior_mean": only_probabilities}))
    assert set(failures) == set(POSTERIOR_CELLS)
    assert "return probabilities, means" in failures["posterior_shape"]


@pytest.mark.parametrize("clean, noise_std", [(0.0, 0.3), (0.4, 1.5), (0.97, 3.0)])
def test_the_clipped_noise_likelihood_is_a_distribution(clean, noise_std):
    """The two point masses at 0 and 1 and the density in between add up to 1."""
    grid = np.linspace(0.0, 1.0, 20_001)
    grid[[0, -1]] = 1e-12, 1 - 1e-12  # just inside: the ends themselves are the clipped cases
    grid = grid.reshape(-1, 1, 1)
    candidate = np.full((1, 1, 1), clean)
    density = np.exp(reference.log_likelihoods(grid, candidate, noise_std))[:, 0]
    masses = np.exp(reference.log_likelihoods(np.array([[[0.0]], [[1.0]]]), candidate,
                                              noise_std))[:, 0]  # fmt: skip
    assert masses.sum() + np.trapezoid(density, grid.ravel()) == pytest.approx(1.0, abs=1e-6)


def test_the_exact_posterior_is_calibrated():
    """Among simulated corruptions given P(b | x_tilde) near p, a share p came from b."""
    rng = np.random.default_rng(3)
    candidates = checks.garment_candidates(rng, 2)
    labels = rng.integers(0, 2, 4_000)
    x_tilde = checks.corrupted_candidates(rng, candidates[labels], len(labels), 3.0)
    probabilities, means = reference.posterior_mean(x_tilde, candidates, 3.0)
    bins = np.digitize(probabilities[:, 1], [0.2, 0.4, 0.6, 0.8])
    for b in np.unique(bins):
        inside = bins == b
        if inside.sum() > 200:
            standard_error = np.sqrt(0.25 / inside.sum())
            assert abs(labels[inside].mean() - probabilities[inside, 1].mean()) < 4 * standard_error
    assert np.allclose(means, np.tensordot(probabilities, candidates, axes=1))


def test_the_fixtures_are_outside_the_range_of_exp():
    """So that exp of a log-likelihood itself gives NaN (0 / 0 or inf / inf) on each of them."""
    for name, spec in checks.POSTERIOR_FIXTURES.items():
        log_likelihoods = reference.log_likelihoods(*checks.posterior_fixture(name))
        if spec["kind"] == "stable":
            assert log_likelihoods.max() > 709.8
        else:
            assert log_likelihoods.max(axis=1).min() < -745.2, name
    for name, spec in hidden.POSTERIOR_RANGES.items():
        for seed in range(20):
            x_tilde, candidates, noise_std = hidden.random_posterior_inputs(
                np.random.default_rng(seed), name
            )
            log_likelihoods = reference.log_likelihoods(x_tilde, candidates, noise_std)
            if spec["kind"] == "stable":
                assert log_likelihoods.max() > 709.8
            else:
                assert log_likelihoods.max(axis=1).min() < -745.2, (name, seed)


def _hidden_verdict(function, name, seed):
    """The failure message of the hidden posterior check `name` at `seed` (None: passed)."""
    with mock.patch.object(hidden, "fresh_rng", lambda: np.random.default_rng(seed)):
        try:
            if name == "shape":
                hidden.posterior_shapes(function)
            elif name == "average":
                hidden.posterior_average_on_random_inputs(function)
            else:
                hidden.posterior_on_random_inputs(function, name)
        except CheckFailed as error:
            return str(error)
    return None


@pytest.mark.parametrize("name", list(hidden.POSTERIOR_RANGES))
def test_hidden_posterior_checks_judge_every_variant_alike_over_many_seeds(name, capsys):
    """On fresh inputs every known mistake loses the same cells as on the visible ones, with
    its hint, and every acceptable variant passes (the judged tests draw one seed only)."""
    cell = f"posterior_{name}"
    variants = [v for v in MISTAKES + ACCEPTABLE if v.target == "posterior_mean"]
    for seed in range(8):
        for variant in variants:
            message = _hidden_verdict(variant.function, name, seed)
            assert (message is not None) == (cell in variant.loses), (variant.name, seed)
            if message is not None:
                assert HINTS[variant.hint] in message, (variant.name, seed, message)
    capsys.readouterr()  # the checks' "Passed: ..." lines


def test_the_nearest_candidate_with_all_the_probability_is_not_the_posterior():
    """Probability 1 on the nearest candidate is right on clear cases only: the stable
    fixtures hold close calls too, visible and hidden."""
    nearest = (
        "def posterior_mean(x_tilde, candidates, noise_std):\n"
        "    x, c = np.asarray(x_tilde, np.float64), np.asarray(candidates, np.float64)\n"
        "    d = ((x[:, None] - c[None]) ** 2).reshape(len(x), len(c), -1).sum(axis=2)\n"
        "    p = np.eye(len(c))[d.argmin(axis=1)]\n"
        "    return p, np.tensordot(p, c, axes=1)\n"
    )
    failures = run_cells(namespace_with({"posterior_mean": nearest}))
    assert "posterior_stable" in failures
    for seed in range(5):
        assert _hidden_verdict(nearest_function(nearest), "stable", seed) is not None


def nearest_function(code):
    namespace = {"np": np}
    exec(code, namespace)
    return namespace["posterior_mean"]
