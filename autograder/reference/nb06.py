"""Reference answers for notebook 06 (score-function and pathwise gradients).

The objective throughout is J(t_mean, t_log_var) = E[t^2] with t ~ N(t_mean, exp(t_log_var)),
so J = t_mean^2 + exp(t_log_var) and its gradient is known exactly.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "best_baseline",
    "exact_best_baseline",
    "exact_gradient",
    "pathwise_gradient",
    "references",
    "score_function_gradient",
]


def exact_gradient(t_mean, t_log_var):
    """(dJ/dt_mean, dJ/dt_log_var) = (2 t_mean, exp(t_log_var)) for J = E[t^2]."""
    return 2.0 * float(t_mean), float(np.exp(t_log_var))


def pathwise_gradient(t_mean, t_log_var, epsilon):
    """Pathwise estimates, one per row of `epsilon` (n_repeats, n_samples): two (n_repeats,) arrays.

    With t = t_mean + sigma * epsilon: dt/dt_mean = 1, dt/dt_log_var = sigma * epsilon / 2,
    and f'(t) = 2 t.
    """
    epsilon = np.asarray(epsilon, np.float64)
    sigma = np.exp(0.5 * t_log_var)
    t = t_mean + sigma * epsilon
    return np.mean(2.0 * t, axis=-1), np.mean(2.0 * t * 0.5 * sigma * epsilon, axis=-1)


def score_function_gradient(t_mean, t_log_var, epsilon, baseline=0.0):
    """Score-function estimates, one per row of `epsilon`: two (n_repeats,) arrays.

    With q = N(t_mean, exp(v)), v = t_log_var: d log q/d t_mean = (t - t_mean) / exp(v) and
    d log q/dv = ((t - t_mean)^2 / exp(v) - 1) / 2, each multiplied by f(t) - baseline.
    """
    epsilon = np.asarray(epsilon, np.float64)
    variance = np.exp(t_log_var)
    t = t_mean + np.sqrt(variance) * epsilon
    weight = np.square(t) - baseline
    score_mean = (t - t_mean) / variance
    score_log_var = 0.5 * (np.square(t - t_mean) / variance - 1.0)
    return np.mean(weight * score_mean, axis=-1), np.mean(weight * score_log_var, axis=-1)


def best_baseline(t_mean, t_log_var, epsilon):
    """Per row of `epsilon`, the estimates mean(f s^2) / mean(s^2) of the variance-optimal
    baseline b* = E[f s^2] / E[s^2], with s each parameter's score: two (n_repeats,) arrays."""
    epsilon = np.asarray(epsilon, np.float64)
    t = t_mean + np.exp(0.5 * t_log_var) * epsilon
    f = np.square(t)
    # the ratio does not change when a score is scaled: epsilon and epsilon^2 - 1 will do
    scores = (epsilon, np.square(epsilon) - 1.0)
    return tuple(np.mean(f * s**2, axis=-1) / np.mean(s**2, axis=-1) for s in scores)


def exact_best_baseline(t_mean, t_log_var):
    """(t_mean^2 + 3 sigma^2, t_mean^2 + 5 sigma^2): b* for the mean and the log-variance."""
    variance = float(np.exp(t_log_var))
    return float(t_mean) ** 2 + 3.0 * variance, float(t_mean) ** 2 + 5.0 * variance


def _rounded(values):
    return [round(float(v), 9) for v in np.asarray(values).reshape(-1)]


def references():
    """(public, private) reference values for notebook 06 (see autograder.make_references)."""
    from autograder.mistakes.nb06 import (
        best_mistake_values,
        pathwise_mistake_values,
        score_mistake_values,
    )
    from course.checks import nb06 as checks

    t_mean, t_log_var, epsilon = checks.pathwise_fixture("values")
    grad_mean, grad_log_var = pathwise_gradient(t_mean, t_log_var, epsilon)
    spec = checks.PATHWISE_FIXTURES["unbiased"]
    public = {
        "pathwise_values": {
            "grad_mean": _rounded(grad_mean),
            "grad_log_var": _rounded(grad_log_var),
            "mistakes": pathwise_mistake_values(t_mean, t_log_var, epsilon),
        },
        "pathwise_unbiased": {"exact": list(exact_gradient(spec["t_mean"], spec["t_log_var"]))},
    }
    for name in ("values", "baseline"):
        inputs = checks.score_fixture(name)
        grad_mean, grad_log_var = score_function_gradient(*inputs)
        public[f"score_{name}"] = {
            "grad_mean": _rounded(grad_mean),
            "grad_log_var": _rounded(grad_log_var),
            "mistakes": score_mistake_values(*inputs),
        }
    inputs = checks.best_fixture("values")
    baseline_mean, baseline_log_var = best_baseline(*inputs)
    public["best_values"] = {
        "grad_mean": _rounded(baseline_mean),
        "grad_log_var": _rounded(baseline_log_var),
        "mistakes": best_mistake_values(*inputs),
    }
    spec = checks.BEST_FIXTURES["theory"]
    public["best_theory"] = {"exact": list(exact_best_baseline(spec["t_mean"], spec["t_log_var"]))}
    for name in ("unbiased", "unbiased_baseline"):
        spec = checks.SCORE_FIXTURES[name]
        public[f"score_{name}"] = {"exact": list(exact_gradient(spec["t_mean"], spec["t_log_var"]))}

    # The hidden fixture's parameters are drawn from its seed, so that no number of it is
    # one a student could have seen (tests/test_release.py scans for every private float).
    hidden_seed = 6_2026
    hidden_rng = np.random.default_rng(hidden_seed)
    epsilon = hidden_rng.standard_normal((7, 11))  # the hidden check draws it the same way
    spec = {"seed": hidden_seed, "n_repeats": 7, "n_samples": 11,
            "t_mean": round(float(hidden_rng.uniform(-1.5, -0.5)), 9),
            "t_log_var": round(float(hidden_rng.uniform(0.2, 1.0)), 9)}  # fmt: skip
    grad_mean, grad_log_var = pathwise_gradient(spec["t_mean"], spec["t_log_var"], epsilon)
    private = {
        "pathwise_hidden_fixture": {
            **spec,
            "grad_mean": _rounded(grad_mean),
            "grad_log_var": _rounded(grad_log_var),
        }
    }
    hidden_seed = 6_2027
    hidden_rng = np.random.default_rng(hidden_seed)
    epsilon = hidden_rng.standard_normal((6, 13))  # the hidden check draws it the same way
    spec = {"seed": hidden_seed, "n_repeats": 6, "n_samples": 13,
            "t_mean": round(float(hidden_rng.uniform(0.5, 1.5)), 9),
            "t_log_var": round(float(hidden_rng.uniform(-1.0, -0.2)), 9)}  # fmt: skip
    grad_mean, grad_log_var = score_function_gradient(spec["t_mean"], spec["t_log_var"], epsilon)
    private["score_hidden_fixture"] = {
        **spec,
        "grad_mean": _rounded(grad_mean),
        "grad_log_var": _rounded(grad_log_var),
    }
    hidden_seed = 6_2028
    hidden_rng = np.random.default_rng(hidden_seed)
    epsilon = hidden_rng.standard_normal((5, 30))  # the hidden check draws it the same way
    spec = {"seed": hidden_seed, "n_repeats": 5, "n_samples": 30,
            "t_mean": round(float(hidden_rng.uniform(1.0, 2.0)), 9),
            "t_log_var": round(float(hidden_rng.uniform(-0.5, 0.5)), 9)}  # fmt: skip
    baseline_mean, baseline_log_var = best_baseline(spec["t_mean"], spec["t_log_var"], epsilon)
    private["best_hidden_fixture"] = {
        **spec,
        "grad_mean": _rounded(baseline_mean),
        "grad_log_var": _rounded(baseline_log_var),
    }
    return public, private
