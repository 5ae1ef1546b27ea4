"""Notebook 06. Its test cells, run directly: the solution and every acceptable variant pass,
each known mistake fails exactly the cells of the property it breaks, naming its hint."""

from __future__ import annotations

import logging
import re

import keras
import numpy as np
import pytest
from keras import ops
from scipy import stats

from autograder.mistakes import sampling as sampling_variants
from autograder.mistakes.nb06 import MISTAKES, PATHWISE_CELLS
from course.checks import nb06 as checks
from course.checks import sampling as sampling_checks
from course.checks.nb06 import HINTS
from course.metrics import parse
from tests.nbgrader_cells import GradedCells, cells_by_role

SOLUTIONS, TESTS, POINTS = cells_by_role("06_reparameterization")


def mistake_named(name: str):
    return next(m for m in MISTAKES if m.name == name)


GRADED = GradedCells(
    "06_reparameterization",
    {"keras": keras, "ops": ops, "np": np, "seed_generator": keras.random.SeedGenerator(1)},
)
namespace_with = GRADED.namespace
run_cells = GRADED.run


def test_every_graded_function_has_test_cells():
    assert set(SOLUTIONS) == {"pathwise_gradient", "sampling"}
    assert set(TESTS) == set(PATHWISE_CELLS) | set(sampling_variants.CELLS)
    assert sum(POINTS.values()) == 11


def test_sampling_is_graded_exactly_as_in_notebook_08():
    """Same grade ids, points and checks: the shared variants lose the same cells in both."""
    _, tests_08, points_08 = cells_by_role("08_conditional_vae")
    for grade_id in sampling_variants.CELLS:
        assert TESTS[grade_id].replace("nb06", "nb08") == tests_08[grade_id]
        assert POINTS[grade_id] == points_08[grade_id]


def test_returning_one_array_instead_of_a_pair_is_explained():
    one_array = (
        "def pathwise_gradient(t_mean, t_log_var, epsilon):\n"
        "    return np.mean(2 * (t_mean + np.exp(0.5 * t_log_var) * epsilon))\n"
    )
    failures = run_cells(namespace_with({"pathwise_gradient": one_array}))
    assert set(failures) == set(PATHWISE_CELLS)
    assert "return grad_mean, grad_log_var" in failures["pathwise_shape"]


def test_the_exact_gradient_is_unbiased_but_not_the_pathwise_estimate():
    """An answer that ignores the noise passes the bias check and fails the value checks."""
    exact = (
        "def pathwise_gradient(t_mean, t_log_var, epsilon):\n"
        "    ones = np.ones(len(epsilon))\n"
        "    return 2 * t_mean * ones, np.exp(t_log_var) * ones\n"
    )
    failures = run_cells(namespace_with({"pathwise_gradient": exact}))
    assert set(failures) == {"pathwise_mean", "pathwise_log_var"}


def test_noise_shared_across_latent_dimensions_is_caught():
    """One draw per example reused in every latent dimension: right shapes, means, variances
    and gradients, but perfectly correlated dimensions."""
    mistake = mistake_named("sampling_one_noise_per_example")
    failures = run_cells(namespace_with({"sampling": mistake.source()}))
    assert set(failures) == {"sampling_statistics", "sampling_fresh_noise"}
    assert HINTS["noise_per_dimension"] in failures["sampling_fresh_noise"]
    assert "correlated" in failures["sampling_statistics"]


def test_a_failure_inside_a_model_blames_the_batch_size_only_when_it_is_to_blame():
    static = run_cells(namespace_with({"sampling": mistake_named("sampling_static_batch_size")
                                       .source()}))["sampling_shape"]  # fmt: skip
    assert HINTS["static_batch"] in static
    inline = run_cells(namespace_with({"sampling": mistake_named("sampling_generator_inside")
                                       .source()}))["sampling_shape"]  # fmt: skip
    assert HINTS["runs_in_model"] in inline and HINTS["static_batch"] not in inline
    assert "\x1b" not in inline and "Arguments received" not in inline  # Keras's noise trimmed


def test_checks_inside_a_model_keep_tensorflow_quiet_without_the_header():
    """Without course.setup() TensorFlow's logger warns about retracing on stderr, which
    nbgrader punishes; the checks hold it at ERROR while Keras runs, then restore it."""
    from autograder.reference.sampling import sampling

    class Records(logging.Handler):
        def __init__(self):
            super().__init__()
            self.records = []

        def emit(self, record):
            self.records.append(record)

    logger, records = logging.getLogger("tensorflow"), Records()
    level = logger.level
    logger.setLevel(logging.WARNING)
    logger.addHandler(records)
    try:
        generator = keras.random.SeedGenerator(0)
        for _ in range(4):  # 8 predictions: retracing warnings start at the 5th
            sampling_checks.check_sampling_shape_at_run_time(lambda a: sampling(a, generator))
        assert logger.level == logging.WARNING
    finally:
        logger.removeHandler(records)
        logger.setLevel(level)
    assert records.records == []


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
def test_backpropagating_through_sampling_gives_the_pathwise_estimate(executed):
    text = executed.text("06_reparameterization")
    pairs = re.findall(r"(?:through sampling|on the same noise): +\(([-\d.]+), ([-\d.]+)\)", text)
    assert len(pairs) == 2
    assert np.allclose(np.array(pairs[0], float), np.array(pairs[1], float), atol=2e-5)
