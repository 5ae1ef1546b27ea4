"""Reference answers for notebook 08 (the Bernoulli VAE and the conditional VAE)."""

from __future__ import annotations

import numpy as np

from autograder.reference.sampling import sampling

__all__ = ["kl_term", "reconstruction_term", "references", "sampling", "vlb_binomial"]

# Clipping for log(0). Any epsilon in [1e-10, 1e-5] gives the same value within the
# checks' tolerance on every fixture (tests/test_nb08.py proves it).
EPSILON = 1e-7


def reconstruction_term(x, x_decoded_mean):
    """Bernoulli log-likelihood summed over pixels: shape (batch_size,), in nats."""
    x = np.asarray(x, np.float64)
    p = np.clip(np.asarray(x_decoded_mean, np.float64), EPSILON, 1.0 - EPSILON)
    return np.sum(x * np.log(p) + (1.0 - x) * np.log(1.0 - p), axis=1)


def kl_term(t_mean, t_log_var):
    """KL(N(t_mean, diag(exp(t_log_var))) || N(0, I)) per example: shape (batch_size,)."""
    t_mean = np.asarray(t_mean, np.float64)
    t_log_var = np.asarray(t_log_var, np.float64)
    return 0.5 * np.sum(t_mean**2 + np.exp(t_log_var) - 1.0 - t_log_var, axis=1)


def vlb_binomial(x, x_decoded_mean, t_mean, t_log_var):
    """Negative variational lower bound, averaged over the batch (float64, nats per image)."""
    return float(np.mean(kl_term(t_mean, t_log_var) - reconstruction_term(x, x_decoded_mean)))


def references():
    """(public, private) reference values for notebook 08 (see autograder.make_references)."""
    from autograder.mistakes.nb08 import vlb_mistake_values
    from course.checks import nb08 as checks

    public = {"vlb": {}}
    for name in checks.VLB_FIXTURES:
        inputs = checks.vlb_fixture(name)
        public["vlb"][name] = {
            "expected": round(vlb_binomial(*inputs), 6),
            "mistakes": vlb_mistake_values(inputs),
        }
    hidden_seed = 8_2026
    inputs = checks.make_vlb_inputs(np.random.default_rng(hidden_seed), 37, 6)
    private = {
        "vlb_hidden_fixture": {
            "seed": hidden_seed,
            "batch_size": 37,
            "latent_dim": 6,
            "expected": round(vlb_binomial(*inputs), 6),
        }
    }
    return public, private
