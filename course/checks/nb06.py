"""Visible checks for notebook 06: `pathwise_gradient`, and `sampling` (shared with notebook 08).

Each `check_*` function is one graded property; the notebook calls it from its own test
cell, so a mistake costs the points of the property it breaks and no more. The `sampling`
checks live in `course.checks.sampling` and are re-exported here under the same names.

`pathwise_gradient(t_mean, t_log_var, epsilon)` estimates the gradient of E[t^2] with
t ~ N(t_mean, exp(t_log_var)): one estimate per row of `epsilon` (n_repeats, n_samples).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from course.checks.core import (
    call_student,
    close,
    expected_values,
    fail,
    fixed_rng,
    passed,
    to_numpy,
)
from course.checks.sampling import HINTS as SAMPLING_HINTS
from course.checks.sampling import (
    check_sampling_fresh_noise,
    check_sampling_gradients,
    check_sampling_shape,
    check_sampling_statistics,
)
from course.probe import type_name

__all__ = [
    "HINTS",
    "PATHWISE_ATOL",
    "PATHWISE_FIXTURES",
    "PATHWISE_RTOL",
    "UNBIASED_FALSE_FAIL_RATE",
    "UNBIASED_TAIL",
    "check_pathwise_log_var",
    "check_pathwise_mean",
    "check_pathwise_shape",
    "check_pathwise_unbiased",
    "check_sampling_fresh_noise",
    "check_sampling_gradients",
    "check_sampling_shape",
    "check_sampling_statistics",
    "check_unbiased",
    "compare_component",
    "pathwise_estimates",
    "pathwise_fixture",
]

# NumPy in float64 and keras.ops in float32 agree to about 1e-6 relative on these fixtures
# (averages of at most a few hundred terms of order 10); every known mistake is off by more
# than 5% in the component it breaks.
PATHWISE_RTOL = 1e-4
PATHWISE_ATOL = 1e-5

# A correct estimator fails the unbiasedness check on fresh noise less than once in a
# million runs. Each component gets a two-sided t-test (the standard error is estimated from
# n_repeats rows) at a quarter of this rate. The rows of grad_log_var are means of skewed
# terms (they hold epsilon^2), which makes that test's real tail up to 1.6 times its nominal
# one here (Edgeworth expansion at the most skewed parameters, t_mean = 0, matching a
# simulation at rates 1e-2 to 1e-4); grad_mean's rows are Gaussian, so its test is exact.
# In all about 0.4e-6 + 0.25e-6.
UNBIASED_FALSE_FAIL_RATE = 1e-6
UNBIASED_TAIL = UNBIASED_FALSE_FAIL_RATE / 8  # per tail: two tails, two components, margin 2

PATHWISE_FIXTURES = {
    "values": {"t_mean": 1.3, "t_log_var": -0.7, "n_repeats": 4, "n_samples": 6},
    "shape_batch": {"t_mean": 0.4, "t_log_var": 0.9, "n_repeats": 5, "n_samples": 1},
    "shape_single": {"t_mean": -2.0, "t_log_var": -1.5, "n_repeats": 1, "n_samples": 8},
    "unbiased": {"t_mean": -1.2, "t_log_var": 0.4, "n_repeats": 500, "n_samples": 20},
}

COMPONENTS = {
    "grad_mean": "grad_mean (the derivative with respect to t_mean)",
    "grad_log_var": "grad_log_var (the derivative with respect to t_log_var)",
}

HINTS = {
    "pathwise_axis": (
        "Average over the samples only, the last axis of epsilon (np.mean(..., axis=-1)): "
        "each row of epsilon gives one estimate, so each result has shape (n_repeats,)."
    ),
    "pathwise_sum": (
        "The estimates are n_samples times too large: average over the samples with "
        "np.mean, don't sum them."
    ),
    "pathwise_variance_as_std": (
        "The standard deviation is sigma = exp(0.5 * t_log_var); exp(t_log_var) is the variance."
    ),
    "pathwise_chain_rule": (
        "t depends on t_log_var through sigma = exp(0.5 * t_log_var), so by the chain rule "
        "dt/dt_log_var = epsilon * dsigma/dt_log_var = 0.5 * sigma * epsilon. It looks as if "
        "dt/dsigma = epsilon was used instead."
    ),
    "pathwise_missing_epsilon": (
        "dt/dt_log_var is 0.5 * sigma * epsilon: the noise stays in it. It looks as if "
        "0.5 * sigma was used, without epsilon."
    ),
    "pathwise_score_function": (
        "These are score-function estimates, f(t) times d log q(t)/d(parameter): unbiased, but "
        "not the pathwise estimator. Differentiate f(t) = t^2 along t = t_mean + sigma * "
        "epsilon instead: f'(t) * dt/d(parameter)."
    ),
    **SAMPLING_HINTS,
}

GENERIC_HINTS = {
    "grad_mean": (
        "grad_mean is the average over each row of f'(t) * dt/dt_mean = 2 * t * 1, with "
        "t = t_mean + exp(0.5 * t_log_var) * epsilon."
    ),
    "grad_log_var": (
        "grad_log_var is the average over each row of f'(t) * dt/dt_log_var = "
        "2 * t * 0.5 * sigma * epsilon, with sigma = exp(0.5 * t_log_var)."
    ),
}


def pathwise_fixture(name: str):
    """The fixed inputs `(t_mean, t_log_var, epsilon)` of the visible check `name`."""
    spec = PATHWISE_FIXTURES[name]
    epsilon = fixed_rng(f"pathwise-{name}").standard_normal((spec["n_repeats"], spec["n_samples"]))
    return spec["t_mean"], spec["t_log_var"], epsilon


def pathwise_estimates(pathwise_gradient, t_mean, t_log_var, epsilon, what="pathwise_gradient"):
    """Call the student's function; return `{"grad_mean": ..., "grad_log_var": ...}` as float64.

    Fails unless it returns two finite arrays of shape (n_repeats,).
    """
    n_repeats, n_samples = epsilon.shape
    result = call_student(pathwise_gradient, t_mean, t_log_var, epsilon.copy(), what=what)
    if result is None:
        to_numpy(result, what)  # fails with the message about a missing `return`
    try:
        grad_mean, grad_log_var = result
    except (TypeError, ValueError):
        fail(
            f"{what} should return a pair (grad_mean, grad_log_var) of two arrays; it returned "
            f"{type_name(result)}. End it with `return grad_mean, grad_log_var`."
        )
    values = {"grad_mean": to_numpy(grad_mean, what), "grad_log_var": to_numpy(grad_log_var, what)}
    for name, value in values.items():
        if value.shape != (n_repeats,):
            hint = HINTS["pathwise_axis"]
            if value.shape == epsilon.shape:
                hint = "Did you forget to average? " + hint
            fail(
                f"{what} returned {name} of shape {value.shape} for epsilon of shape "
                f"{epsilon.shape}; expected ({n_repeats},), one estimate per row. {hint}"
            )
        if not np.all(np.isfinite(value)):
            fail(f"{what} returned {name} with NaN or infinite values: {value}.")
    return values


def _diagnose(values, mistakes) -> str | None:
    """The hint key of the one known mistake whose two components both match `values`."""
    matches = [
        key for key, wrong in mistakes.items()
        if wrong is not None and all(
            close(values[name], wrong[name], PATHWISE_RTOL, PATHWISE_ATOL) for name in COMPONENTS
        )
    ]  # fmt: skip
    return matches[0] if len(matches) == 1 else None


def compare_component(values, expected, mistakes, name, where, what="pathwise_gradient"):
    """Fail with a diagnosis unless `values[name]` matches `expected[name]`."""
    if close(values[name], expected[name], PATHWISE_RTOL, PATHWISE_ATOL):
        return
    mistake = _diagnose(values, mistakes)
    hint = HINTS[mistake] if mistake else GENERIC_HINTS[name]
    fail(
        f"{what}: {COMPONENTS[name]} is {np.round(values[name], 4)} {where}, expected "
        f"{np.round(expected[name], 4)}. {hint}"
    )


def _check_values(pathwise_gradient, name):
    reference = expected_values("nb06")["pathwise_values"]
    values = pathwise_estimates(pathwise_gradient, *pathwise_fixture("values"))
    compare_component(values, reference, reference["mistakes"], name, "on a fixed epsilon")


def check_pathwise_shape(pathwise_gradient):
    """Two arrays of shape (n_repeats,), also for one sample per row or a single row."""
    for name in ("shape_batch", "shape_single", "values"):
        pathwise_estimates(pathwise_gradient, *pathwise_fixture(name))
    passed("pathwise_gradient returns two arrays of shape (n_repeats,), one estimate per row.")


def check_pathwise_mean(pathwise_gradient):
    """The derivative with respect to t_mean, on a fixed epsilon."""
    _check_values(pathwise_gradient, "grad_mean")
    passed("grad_mean matches the reference on a fixed epsilon.")


def check_pathwise_log_var(pathwise_gradient):
    """The derivative with respect to t_log_var, on a fixed epsilon."""
    _check_values(pathwise_gradient, "grad_log_var")
    passed("grad_log_var matches the reference on a fixed epsilon.")


def _name_the_mistake(pathwise_gradient) -> str:
    """A hint for a biased answer, from its values on the fixed fixture."""
    values = pathwise_estimates(pathwise_gradient, *pathwise_fixture("values"))
    mistake = _diagnose(values, expected_values("nb06")["pathwise_values"]["mistakes"])
    if mistake:
        return HINTS[mistake]
    return " ".join(GENERIC_HINTS.values())


def check_unbiased(pathwise_gradient, t_mean, t_log_var, epsilon, exact, where):
    """The mean of the row estimates is within z standard errors of the exact gradient.

    The standard error comes from the spread of the student's own row estimates, so an
    unbiased estimator passes whatever its variance; z is Student's t quantile for the tail
    `UNBIASED_TAIL` (see `UNBIASED_FALSE_FAIL_RATE`). A tiny absolute margin lets an answer
    with no spread at all (the exact gradient itself) pass.
    """
    values = pathwise_estimates(pathwise_gradient, t_mean, t_log_var, epsilon)
    n_repeats, n_samples = epsilon.shape
    z = stats.t.isf(UNBIASED_TAIL, n_repeats - 1)
    problems = []
    for (name, value), target in zip(values.items(), exact):
        standard_error = value.std(ddof=1) / np.sqrt(n_repeats)
        if abs(value.mean() - target) > z * standard_error + 1e-6 * (1.0 + abs(target)):
            problems.append(
                f"{name} averages {value.mean():.4f} (standard error {standard_error:.4f}) "
                f"where the exact value is {target:.4f}"
            )
    if problems:
        fail(
            f"pathwise_gradient is biased {where} ({n_repeats * n_samples:,} samples of noise): "
            + "; ".join(problems)
            + ". The exact gradient of E[t^2] is (2 * t_mean, exp(t_log_var)). "
            + _name_the_mistake(pathwise_gradient)
        )


def check_pathwise_unbiased(pathwise_gradient):
    """Averaged over 10,000 samples of noise, the estimates match the exact gradient."""
    t_mean, t_log_var, epsilon = pathwise_fixture("unbiased")
    exact = expected_values("nb06")["pathwise_unbiased"]["exact"]
    check_unbiased(
        pathwise_gradient, t_mean, t_log_var, epsilon, exact,
        f"at t_mean = {t_mean}, t_log_var = {t_log_var}",
    )  # fmt: skip
    passed("averaged over many samples, the estimates match the exact gradient: no bias.")
