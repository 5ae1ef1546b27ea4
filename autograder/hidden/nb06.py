"""Hidden checks for notebook 06: fresh random inputs and shapes, against the reference.

Seeds come from `fresh_rng` (see `autograder.hidden`): a regrade draws the same inputs.
"""

from __future__ import annotations

import numpy as np

from autograder.hidden import fresh_rng, private_values, random_size
from autograder.mistakes.nb06 import (
    best_mistake_values,
    pathwise_mistake_values,
    score_mistake_values,
)
from autograder.reference import nb06 as reference
from course.checks import nb06 as visible
from course.checks.core import passed

PRIVATE = private_values("nb06")

__all__ = [
    "best_on_hidden_fixture",
    "best_on_random_inputs",
    "pathwise_on_hidden_fixture",
    "pathwise_on_random_inputs",
    "pathwise_shapes",
    "pathwise_unbiased_on_fresh_noise",
    "score_baseline_on_random_inputs",
    "score_on_hidden_fixture",
    "score_on_random_inputs",
    "score_shapes",
    "score_unbiased_on_fresh_noise",
]


def _random_inputs(rng):
    """A random t_mean, t_log_var and noise of a random shape with n_repeats != n_samples."""
    n_repeats = random_size(rng, 2, 40, avoid=4)
    n_samples = random_size(rng, 2, 30, avoid=n_repeats)
    t_mean = float(np.round(rng.uniform(-3.0, 3.0), 3))
    t_log_var = float(np.round(rng.uniform(-2.0, 1.5), 3))
    return t_mean, t_log_var, rng.standard_normal((n_repeats, n_samples))


def pathwise_shapes(pathwise_gradient):
    """Random shapes, including one sample per row and a single row."""
    rng = fresh_rng()
    t_mean, t_log_var, _ = _random_inputs(rng)
    for shape in ((random_size(rng, 2, 50, avoid=4), 1), (1, random_size(rng, 2, 50, avoid=6))):
        visible.pathwise_estimates(pathwise_gradient, t_mean, t_log_var, rng.standard_normal(shape))
    passed("pathwise_gradient handles random shapes.")


def pathwise_on_random_inputs(pathwise_gradient, name, trials=3):
    """One component (`grad_mean` or `grad_log_var`) at random parameters and shapes."""
    rng = fresh_rng()
    for _ in range(trials):
        t_mean, t_log_var, epsilon = _random_inputs(rng)
        values = visible.pathwise_estimates(pathwise_gradient, t_mean, t_log_var, epsilon)
        grad_mean, grad_log_var = reference.pathwise_gradient(t_mean, t_log_var, epsilon)
        visible.compare_component(
            values, {"grad_mean": grad_mean, "grad_log_var": grad_log_var},
            pathwise_mistake_values(t_mean, t_log_var, epsilon), name,
            f"at t_mean = {t_mean}, t_log_var = {t_log_var} (epsilon of shape {epsilon.shape})",
        )  # fmt: skip
    passed(f"{name} matches the reference at random parameters and shapes.")


def pathwise_on_hidden_fixture(pathwise_gradient, name):
    """A fixed input whose values are never shown to students."""
    spec = PRIVATE["pathwise_hidden_fixture"]
    epsilon = np.random.default_rng(spec["seed"]).standard_normal(
        (spec["n_repeats"], spec["n_samples"])
    )
    values = visible.pathwise_estimates(pathwise_gradient, spec["t_mean"], spec["t_log_var"],
                                        epsilon)  # fmt: skip
    visible.compare_component(
        values, spec, pathwise_mistake_values(spec["t_mean"], spec["t_log_var"], epsilon), name,
        "on a hidden input",
    )  # fmt: skip
    passed(f"{name} matches the reference on a hidden input.")


def pathwise_unbiased_on_fresh_noise(pathwise_gradient):
    """500 x 20 fresh samples at random parameters (false-fail rate below 1e-6)."""
    rng = fresh_rng()
    t_mean = float(np.round(rng.uniform(-3.0, 3.0), 3))
    t_log_var = float(np.round(rng.uniform(-2.0, 1.5), 3))
    spec = visible.PATHWISE_FIXTURES["unbiased"]
    epsilon = rng.standard_normal((spec["n_repeats"], spec["n_samples"]))
    visible.check_unbiased(
        pathwise_gradient, t_mean, t_log_var, epsilon,
        reference.exact_gradient(t_mean, t_log_var),
        f"at t_mean = {t_mean}, t_log_var = {t_log_var}",
    )  # fmt: skip
    passed("averaged over fresh noise at random parameters, the estimates are unbiased.")


# ----------------------------------------------------------------------- score_function_gradient


def _random_parameters(rng):
    return float(np.round(rng.uniform(-3.0, 3.0), 3)), float(np.round(rng.uniform(-2.0, 1.5), 3))


def score_shapes(score_function_gradient):
    """Random shapes, including one sample per row and a single row."""
    rng = fresh_rng()
    t_mean, t_log_var, _ = _random_inputs(rng)
    for shape in ((random_size(rng, 2, 50, avoid=5), 1), (1, random_size(rng, 2, 50, avoid=9))):
        visible.score_estimates(score_function_gradient, t_mean, t_log_var,
                                rng.standard_normal(shape), 0.0)  # fmt: skip
    passed("score_function_gradient handles random shapes.")


def score_on_random_inputs(score_function_gradient, name, trials=3):
    """One component (`grad_mean` or `grad_log_var`) at random parameters and shapes."""
    rng = fresh_rng()
    for _ in range(trials):
        t_mean, t_log_var, epsilon = _random_inputs(rng)
        values = visible.score_estimates(score_function_gradient, t_mean, t_log_var, epsilon, 0.0)
        grad_mean, grad_log_var = reference.score_function_gradient(t_mean, t_log_var, epsilon)
        visible.compare_score_component(
            values, {"grad_mean": grad_mean, "grad_log_var": grad_log_var},
            score_mistake_values(t_mean, t_log_var, epsilon, 0.0), name,
            f"at t_mean = {t_mean}, t_log_var = {t_log_var} (epsilon of shape {epsilon.shape})",
        )  # fmt: skip
    passed(f"{name} matches the reference at random parameters and shapes.")


def score_on_hidden_fixture(score_function_gradient, name):
    """A fixed input whose values are never shown to students."""
    spec = PRIVATE["score_hidden_fixture"]
    epsilon = np.random.default_rng(spec["seed"]).standard_normal(
        (spec["n_repeats"], spec["n_samples"])
    )
    values = visible.score_estimates(score_function_gradient, spec["t_mean"], spec["t_log_var"],
                                     epsilon, 0.0)  # fmt: skip
    visible.compare_score_component(
        values, spec, score_mistake_values(spec["t_mean"], spec["t_log_var"], epsilon, 0.0), name,
        "on a hidden input",
    )  # fmt: skip
    passed(f"{name} matches the reference on a hidden input.")


def score_unbiased_on_fresh_noise(score_function_gradient):
    """1,000 x 50 fresh samples at random parameters, no baseline (see SCORE_UNBIASED_TAIL)."""
    rng = fresh_rng()
    t_mean, t_log_var = _random_parameters(rng)
    spec = visible.SCORE_FIXTURES["unbiased"]
    epsilon = rng.standard_normal((spec["n_repeats"], spec["n_samples"]))
    visible.check_score_unbiased_at(
        score_function_gradient, t_mean, t_log_var, epsilon, 0.0,
        reference.exact_gradient(t_mean, t_log_var),
        f"at t_mean = {t_mean}, t_log_var = {t_log_var}",
    )  # fmt: skip
    passed("averaged over fresh noise at random parameters, the estimates are unbiased.")


def score_baseline_on_random_inputs(score_function_gradient):
    """A random baseline: grad_mean's values and unbiasedness; the variance at b*."""
    rng = fresh_rng()
    t_mean, t_log_var, epsilon = _random_inputs(rng)
    # at least 2 away from 0, so that ignoring the baseline changes the values clearly
    baseline = float(np.round(rng.choice([-1.0, 1.0]) * rng.uniform(2.0, 10.0), 2))
    values = visible.score_estimates(score_function_gradient, t_mean, t_log_var, epsilon, baseline)
    grad_mean, grad_log_var = reference.score_function_gradient(
        t_mean, t_log_var, epsilon, baseline
    )
    visible.compare_score_component(
        values, {"grad_mean": grad_mean, "grad_log_var": grad_log_var},
        score_mistake_values(t_mean, t_log_var, epsilon, baseline), "grad_mean",
        f"with baseline = {baseline} at t_mean = {t_mean}, t_log_var = {t_log_var}",
    )  # fmt: skip
    t_mean, t_log_var = _random_parameters(rng)
    spec = visible.SCORE_FIXTURES["unbiased_baseline"]
    epsilon = rng.standard_normal((spec["n_repeats"], spec["n_samples"]))
    visible.check_score_unbiased_at(
        score_function_gradient, t_mean, t_log_var, epsilon, baseline,
        reference.exact_gradient(t_mean, t_log_var),
        f"with baseline = {baseline} at t_mean = {t_mean}, t_log_var = {t_log_var}",
        components=("grad_mean",),
    )  # fmt: skip
    t_mean, t_log_var = _random_parameters(rng)
    epsilon = rng.standard_normal((visible.SCORE_FIXTURES["variance"]["n_repeats"], 1))
    visible.check_baseline_variance(score_function_gradient, t_mean, t_log_var, epsilon)
    passed("with random baselines and parameters, the baseline behaves as the theory says.")


# ----------------------------------------------------------------------- best_baseline


def best_on_random_inputs(best_baseline, trials=3):
    """Both baselines at random parameters and shapes (at least 2 samples per row)."""
    rng = fresh_rng()
    for _ in range(trials):
        t_mean, t_log_var, epsilon = _random_inputs(rng)
        values = visible.best_estimates(best_baseline, t_mean, t_log_var, epsilon)
        baseline_mean, baseline_log_var = reference.best_baseline(t_mean, t_log_var, epsilon)
        visible.compare_best(
            values, {"grad_mean": baseline_mean, "grad_log_var": baseline_log_var},
            best_mistake_values(t_mean, t_log_var, epsilon),
            f"at t_mean = {t_mean}, t_log_var = {t_log_var} (epsilon of shape {epsilon.shape})",
        )  # fmt: skip
    passed("best_baseline matches the reference at random parameters and shapes.")


def best_on_hidden_fixture(best_baseline):
    """A fixed input whose values are never shown to students."""
    spec = PRIVATE["best_hidden_fixture"]
    epsilon = np.random.default_rng(spec["seed"]).standard_normal(
        (spec["n_repeats"], spec["n_samples"])
    )
    values = visible.best_estimates(best_baseline, spec["t_mean"], spec["t_log_var"], epsilon)
    visible.compare_best(
        values, spec, best_mistake_values(spec["t_mean"], spec["t_log_var"], epsilon),
        "on a hidden input",
    )  # fmt: skip
    passed("best_baseline matches the reference on a hidden input.")
