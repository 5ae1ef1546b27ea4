"""Notebook 06. Its test cells, run directly: the solution and every acceptable variant pass,
each known mistake fails exactly the cells of the property it breaks, naming its hint."""

from __future__ import annotations

import re
import time

import keras
import numpy as np
import pytest
from keras import ops
from scipy import stats

from autograder.mistakes.nb06 import BEST_CELLS, PATHWISE_CELLS, SCORE_CELLS
from autograder.reference import nb06 as reference
from course.checks import nb06 as checks
from course.metrics import parse
from tests.nbgrader_cells import GradedCells, cells_by_role, source_notebook

SOLUTIONS, TESTS, POINTS = cells_by_role("06_reparameterization")

GRADED = GradedCells("06_reparameterization", {"keras": keras, "ops": ops, "np": np})
namespace_with = GRADED.namespace
run_cells = GRADED.run


def test_every_graded_function_has_test_cells():
    assert set(SOLUTIONS) == {"score_function_gradient", "pathwise_gradient", "best_baseline"}
    assert set(TESTS) == set(SCORE_CELLS) | set(PATHWISE_CELLS) | set(BEST_CELLS)
    assert sum(POINTS[c] for c in SCORE_CELLS) == 6
    assert sum(POINTS.values()) == 13


def test_sampling_is_graded_in_notebook_08_only_and_its_answer_is_not_shown_here():
    """08 grades `sampling`; 06 teaches the trick in NumPy and shows no Keras version of it."""
    text = "".join("".join(c.source) for c in source_notebook("06_reparameterization").cells)
    assert "def sampling" not in text and "seed_generator" not in text
    assert "ops.exp(0.5 * t_log_var)" not in text and "ops.shape(t_mean)" not in text


def test_a_score_function_without_a_baseline_argument_earns_the_cells_that_need_none():
    old = (
        "def score_function_gradient(t_mean, t_log_var, epsilon):\n"
        "    variance = np.exp(t_log_var)\n"
        "    t = t_mean + np.sqrt(variance) * epsilon\n"
        "    return (np.mean(t**2 * (t - t_mean) / variance, axis=-1),\n"
        "            np.mean(t**2 * 0.5 * ((t - t_mean) ** 2 / variance - 1), axis=-1))\n"
    )
    failures = run_cells(namespace_with({"score_function_gradient": old}))
    assert set(failures) == {"score_baseline"}
    assert "TypeError" in failures["score_baseline"]


def test_the_best_baseline_and_its_variance_are_as_the_notebook_says():
    """At t_mean = 2, sigma = 1: b* = E[f s^2] / E[s^2] = 7 and the one-sample variance of
    grad_mean is b^2 - 14 b + 87 (38 at b*, 42 at E[f] = 5), by quadrature."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)
    weights = weights / weights.sum()
    for baseline, variance in ((0.0, 87.0), (7.0, 38.0), (5.0, 42.0)):
        estimates = reference.score_function_gradient(2.0, 0.0, nodes[:, None], baseline)[0]
        mean = np.sum(weights * estimates)
        assert np.isclose(mean, 4.0)
        assert np.isclose(np.sum(weights * (estimates - mean) ** 2), variance)


def test_the_best_baseline_is_estimated_as_the_theory_says():
    """b* = t_mean^2 + 3 sigma^2 for the mean and t_mean^2 + 5 sigma^2 for the log-variance
    (7 and 9 in the notebook), by quadrature."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)
    weights = weights / weights.sum()
    for t_mean, t_log_var in ((2.0, 0.0), (-1.1, -0.6)):
        t = t_mean + np.exp(0.5 * t_log_var) * nodes
        scores = (nodes, nodes**2 - 1)
        exact = [np.sum(weights * t**2 * s**2) / np.sum(weights * s**2) for s in scores]
        assert np.allclose(exact, reference.exact_best_baseline(t_mean, t_log_var))
    assert reference.exact_best_baseline(2.0, 0.0) == (7.0, 9.0)


def test_the_graded_cells_take_a_few_seconds_on_the_solution():
    start = time.perf_counter()
    assert GRADED.failures(judged=True) == {}
    assert time.perf_counter() - start < 20


def test_returning_one_array_instead_of_a_pair_is_explained():
    one_array = (
        "def pathwise_gradient(t_mean, t_log_var, epsilon):\n"
        "    return np.mean(2 * (t_mean + np.exp(0.5 * t_log_var) * epsilon))\n"
    )
    failures = run_cells(namespace_with({"pathwise_gradient": one_array}))
    assert set(failures) == set(PATHWISE_CELLS)
    assert "return grad_mean, grad_log_var" in failures["pathwise_shape"]


def test_the_exact_gradient_is_no_estimator():
    """An answer that ignores the noise fails the value checks and the bias check, which
    asks for estimates that vary with the noise."""
    exact = (
        "def pathwise_gradient(t_mean, t_log_var, epsilon):\n"
        "    ones = np.ones(len(epsilon))\n"
        "    return 2 * t_mean * ones, np.exp(t_log_var) * ones\n"
    )
    failures = run_cells(namespace_with({"pathwise_gradient": exact}))
    assert set(failures) == {"pathwise_mean", "pathwise_log_var", "pathwise_unbiased"}
    assert "same grad_mean and grad_log_var on every row" in failures["pathwise_unbiased"]
    exact_score = exact.replace("def pathwise_gradient(t_mean, t_log_var, epsilon):",
                                "def score_function_gradient(t_mean, t_log_var, epsilon, "
                                "baseline=0.0):")  # fmt: skip
    failures = run_cells(namespace_with({"score_function_gradient": exact_score}))
    assert {"score_unbiased", "score_baseline"} <= set(failures)
    assert "score_shape" not in failures


def test_the_unbiasedness_check_keeps_its_stated_false_fail_rate():
    """Second-order Edgeworth expansion of the two-sided t-test's tail (it matches simulation
    at rates 1e-2 to 1e-4) at the most skewed rows: t_mean = 0, where each row of grad_log_var
    is a mean of n_samples scaled chi-square(1) terms. grad_mean's rows are Gaussian: exact."""
    spec = checks.PATHWISE_FIXTURES["unbiased"]
    n, m = spec["n_repeats"], spec["n_samples"]
    x = stats.t.isf(checks.UNBIASED_TAIL, n - 1)
    skewness, excess_kurtosis = np.sqrt(8 / m), 12 / m
    q2 = x * (excess_kurtosis / 12 * (x**2 - 3)
              - skewness**2 / 18 * (x**4 + 2 * x**2 - 3) - (x**2 + 3) / 4)  # fmt: skip
    log_var_rate = 2 * stats.norm.sf(x) - 2 / n * q2 * stats.norm.pdf(x)
    mean_rate = 2 * stats.t.sf(x, n - 1)
    assert log_var_rate > 1.5 * mean_rate  # the skewness matters ...
    assert log_var_rate + mean_rate < checks.UNBIASED_FALSE_FAIL_RATE  # ... and is allowed for


@pytest.mark.slow
def test_notebook_06_reports_its_figures(executed):
    text = executed.text("06_reparameterization")
    found = parse(text)
    names = {"variance_ratio_k1", "variance_ratio_k1000", "variance_ratio_best_offset",
             "kl_closed_form", "kl_estimate_a_mean", "kl_estimate_a_std"}  # fmt: skip
    assert names <= set(found)
    # Theory at t_mean = 2, sigma = 1: 87 / 4 for d/dmu at every K, and 38 / 4 at best.
    assert 10 < found["variance_ratio_k1"] < 40
    assert 10 < found["variance_ratio_k1000"] < 40
    assert 3 < found["variance_ratio_best_offset"] < 20
    # Estimator A is unbiased: 300 single-sample estimates with a spread of about 0.9 nats.
    assert abs(found["kl_estimate_a_mean"] - found["kl_closed_form"]) < 0.3
    assert 0.5 < found["kl_estimate_a_std"] < 1.5
    assert "Mode: FAST" in text


@pytest.mark.slow
def test_notebook_06_s_score_function_lands_near_the_exact_gradient(executed):
    text = executed.text("06_reparameterization")
    found = re.search(r"from 100,000 samples: \(([-\d.]+), ([-\d.]+)\)", text)
    assert found and np.allclose(np.array(found.groups(), float), [4.0, 1.0], atol=0.15)
