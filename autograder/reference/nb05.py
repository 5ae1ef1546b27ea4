"""Reference answers for notebook 05 (the KL divergence between Gaussians, in closed form)."""

from __future__ import annotations

import numpy as np


def kl_divergence(t_mean, t_log_var):
    """KL(N(t_mean, diag(exp(t_log_var))) || N(0, I)) per example: shape (batch_size,).

    float64, in nats.
    """
    t_mean = np.asarray(t_mean, np.float64)
    t_log_var = np.asarray(t_log_var, np.float64)
    return 0.5 * np.sum(t_mean**2 + np.exp(t_log_var) - 1.0 - t_log_var, axis=1)


def gaussian_kl(mean_q, cov_q, mean_p, cov_p):
    """KL(N(mean_q, cov_q) || N(mean_p, cov_p)) in nats (float64).

    mean_q, mean_p: (dim,); cov_q, cov_p: (dim, dim) symmetric positive definite.
    """
    mean_q, cov_q, mean_p, cov_p = (np.asarray(a, np.float64) for a in
                                    (mean_q, cov_q, mean_p, cov_p))  # fmt: skip
    dim = mean_q.shape[0]
    difference = mean_p - mean_q
    trace_term = np.trace(np.linalg.solve(cov_p, cov_q))
    quadratic_term = difference @ np.linalg.solve(cov_p, difference)
    _, log_det_p = np.linalg.slogdet(cov_p)
    _, log_det_q = np.linalg.slogdet(cov_q)
    return float(0.5 * (trace_term + quadratic_term - dim + log_det_p - log_det_q))


def moment_matched_gaussian(weights, means, covariances):
    """(mean, covariance) of the mixture sum_k w_k N(means[k], covariances[k]) / sum_k w_k:
    the Gaussian q that minimises KL(p || q). Shapes (d,) and (d, d), float64.

    weights: (K,) non-negative with a positive sum; means: (K, d); covariances: (K, d, d).
    """
    weights, means, covariances = (np.asarray(a, np.float64) for a in
                                   (weights, means, covariances))  # fmt: skip
    weights = weights / weights.sum()
    mean = weights @ means
    offsets = means - mean
    within = np.einsum("k,kij->ij", weights, covariances)
    between = np.einsum("k,ki,kj->ij", weights, offsets, offsets)
    return mean, within + between


HIDDEN_KL = {"seed": 5_2026, "batch_size": 29, "latent_dim": 7}
HIDDEN_GAUSSIAN_KL = {"seed": 5_2027, "dim": 6}


def _rounded(values):
    return [round(float(v), 6) for v in values]


def references():
    """(public, private) reference values for notebook 05 (see autograder.make_references)."""
    from autograder.mistakes.nb05 import (
        gaussian_kl_mistake_values,
        kl_mistake_values,
        moment_mistake_values,
    )
    from course.checks import nb05 as checks

    known = checks.known_values_fixture()
    random = checks.random_fixture()
    zero = checks.zero_fixture()
    public = {
        "kl": {
            "known_values": {
                "expected": _rounded(kl_divergence(*known)),
                "mistakes": kl_mistake_values(known),
            },
            "random": {
                "expected": _rounded(kl_divergence(*random)),
                "mistakes": kl_mistake_values(random),
            },
        },
        "gaussian_kl": {
            "zero": {
                "expected": round(gaussian_kl(*zero), 9),
                "mistakes": gaussian_kl_mistake_values(zero),
            },
        },
    }
    for name, pairs in (("diagonal", checks.diagonal_fixture()), ("full", checks.full_fixture())):
        public["gaussian_kl"][name] = {
            "expected": [round(gaussian_kl(*pair), 9) for pair in pairs],
            "mistakes": [gaussian_kl_mistake_values(pair) for pair in pairs],
        }

    public["moment"] = {}
    for name in ("known", "weights", "random", "stationary"):
        public["moment"][name] = []
        for inputs in checks.moment_fixtures(name):
            mean, covariance = moment_matched_gaussian(*inputs)
            public["moment"][name].append({
                "expected": {"mean": mean.tolist(), "covariance": covariance.tolist()},
                "mistakes": moment_mistake_values(inputs),
            })  # fmt: skip

    rng = np.random.default_rng(HIDDEN_KL["seed"])
    hidden_kl = checks.make_kl_inputs(rng, HIDDEN_KL["batch_size"], HIDDEN_KL["latent_dim"])
    rng = np.random.default_rng(HIDDEN_GAUSSIAN_KL["seed"])
    hidden_pair = checks.make_gaussian_pair(rng, HIDDEN_GAUSSIAN_KL["dim"])
    hidden_total = float(np.sum(kl_divergence(*hidden_kl)))
    private = {
        # One number per fixture (for the KL, its total over the batch), never shown to students.
        "kl_hidden_fixture": {**HIDDEN_KL, "total": round(hidden_total, 6)},
        "gaussian_kl_hidden_fixture": {
            **HIDDEN_GAUSSIAN_KL,
            "expected": round(gaussian_kl(*hidden_pair), 9),
        },
    }
    return public, private
