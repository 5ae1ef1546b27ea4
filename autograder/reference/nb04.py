"""Reference answers for notebook 04 (the ELBO and the importance-weighted bound on a
linear-Gaussian model).

The model: z ~ N(0, I_d), x | z ~ N(W z + b, noise_std^2 I_D); the variational posterior
q(z | x) = N(q_mean, diag(exp(q_log_var))). Everything here is float64 NumPy, in nats.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

LOG_2PI = np.log(2.0 * np.pi)


def elbo_terms(x, q_mean, q_log_var, epsilon, W, b, noise_std):
    """log p(x | z) + log p(z) - log q(z | x) per sample, the log weight of z.

    epsilon: (..., latent_dim); the result has shape epsilon.shape[:-1].
    """
    x, q_mean, q_log_var, epsilon, W, b = (np.asarray(a, np.float64) for a in
                                           (x, q_mean, q_log_var, epsilon, W, b))  # fmt: skip
    z = q_mean + np.exp(0.5 * q_log_var) * epsilon
    residual = x - (z @ W.T + b)
    log_likelihood = -0.5 * np.sum((residual / noise_std) ** 2 + LOG_2PI + 2 * np.log(noise_std),
                                   axis=-1)  # fmt: skip
    log_prior = -0.5 * np.sum(z**2 + LOG_2PI, axis=-1)
    log_q = -0.5 * np.sum(epsilon**2 + q_log_var + LOG_2PI, axis=-1)
    return log_likelihood + log_prior - log_q


def elbo_estimate(x, q_mean, q_log_var, epsilon, W, b, noise_std):
    """The Monte Carlo ELBO: the average of `elbo_terms` over the samples."""
    return float(np.mean(elbo_terms(x, q_mean, q_log_var, epsilon, W, b, noise_std)))


def iwae_bound(x, q_mean, q_log_var, epsilon, W, b, noise_std):
    """The importance-weighted bound: epsilon (n_draws, k, latent_dim) holds n_draws sets of
    k samples; the average over the sets of log (1/k) sum_i w_i, with w_i the weights."""
    log_weights = elbo_terms(x, q_mean, q_log_var, epsilon, W, b, noise_std)
    k = log_weights.shape[1]
    return float(np.mean(logsumexp(log_weights, axis=1) - np.log(k)))


def exact_elbo(x, q_mean, q_log_var, W, b, noise_std):
    """E_q[log p(x | z)] - KL(q || N(0, I)), both in closed form."""
    x, q_mean, q_log_var, W, b = (np.asarray(a, np.float64) for a in
                                  (x, q_mean, q_log_var, W, b))  # fmt: skip
    variance = np.exp(q_log_var)
    data_dim = x.shape[0]
    squared_error = np.sum((x - W @ q_mean - b) ** 2) + np.sum(variance * np.sum(W**2, axis=0))
    expected_log_likelihood = (-0.5 * data_dim * (LOG_2PI + 2 * np.log(noise_std))
                               - 0.5 * squared_error / noise_std**2)  # fmt: skip
    kl = 0.5 * np.sum(q_mean**2 + variance - 1.0 - q_log_var)
    return float(expected_log_likelihood - kl)


def log_evidence(x, W, b, noise_std):
    """log p(x) = log N(x; b, W W^T + noise_std^2 I)."""
    x, W, b = (np.asarray(a, np.float64) for a in (x, W, b))
    covariance = W @ W.T + noise_std**2 * np.eye(len(x))
    _, log_det = np.linalg.slogdet(covariance)
    residual = x - b
    mahalanobis = residual @ np.linalg.solve(covariance, residual)
    return float(-0.5 * (len(x) * LOG_2PI + log_det + mahalanobis))


def posterior(x, W, b, noise_std):
    """Mean (d,) and covariance (d, d) of the exact posterior p(z | x)."""
    x, W, b = (np.asarray(a, np.float64) for a in (x, W, b))
    precision = np.eye(W.shape[1]) + W.T @ W / noise_std**2
    covariance = np.linalg.inv(precision)
    mean = covariance @ W.T @ (x - b) / noise_std**2
    return mean, covariance


HIDDEN = {"seed": 4_2026, "data_dim": 11, "latent_dim": 4, "n_samples": 7}
IWAE_HIDDEN = {"seed": 4_2027, "data_dim": 9, "latent_dim": 3, "n_draws": 5, "k": 7}


def iwae_references():
    """Public values of the `iwae_bound` checks, and the private one of its hidden fixture."""
    from autograder.mistakes.nb04 import iwae_mistake_values, iwae_tight_mistake_values
    from course.checks import nb04 as checks

    public = {}
    for name in ("k1", "fixed_noise", "stable"):
        inputs = checks.iwae_fixture(name)
        public[name] = {
            "expected": round(iwae_bound(**inputs), 9),
            "mistakes": iwae_mistake_values(inputs),
        }
    grows = checks.iwae_fixture("grows")
    public["grows"] = {
        "log_evidence": log_evidence(grows["x"], grows["W"], grows["b"], grows["noise_std"]),
        "exact_elbo": exact_elbo(**{key: v for key, v in grows.items() if key != "epsilon"}),
    }
    tight = checks.iwae_fixture("tight")
    model = (tight["x"], tight["W"], tight["b"], tight["noise_std"])
    post_mean, post_cov = posterior(*model)
    q_log_var = np.log(np.diag(post_cov))
    public["tight"] = {
        "q_mean": post_mean.tolist(),
        "q_log_var": q_log_var.tolist(),
        "log_evidence": log_evidence(*model),
        "mistakes": iwae_tight_mistake_values({**tight, "q_mean": post_mean,
                                               "q_log_var": q_log_var}),
    }  # fmt: skip
    spec = {key: value for key, value in IWAE_HIDDEN.items() if key != "seed"}
    hidden = checks.make_iwae_inputs(np.random.default_rng(IWAE_HIDDEN["seed"]), **spec)
    return public, {**IWAE_HIDDEN, "expected": round(iwae_bound(**hidden), 9)}


def references():
    """(public, private) reference values for notebook 04 (see autograder.make_references)."""
    from autograder.mistakes.nb04 import elbo_mistake_values, tight_mistake_values
    from course.checks import nb04 as checks

    fixed = checks.elbo_fixture("fixed_noise")
    unbiased = checks.elbo_fixture("unbiased")
    tight = checks.elbo_fixture("tight")
    model = (tight["x"], tight["W"], tight["b"], tight["noise_std"])
    post_mean, post_cov = posterior(*model)
    at_posterior = {**tight, "q_mean": post_mean, "q_log_var": np.log(np.diag(post_cov))}
    public = {
        "fixed_noise": {
            "expected": round(elbo_estimate(**fixed), 9),
            "mistakes": elbo_mistake_values(fixed),
        },
        "unbiased": {
            "exact_elbo": exact_elbo(**{k: v for k, v in unbiased.items() if k != "epsilon"})
        },  # fmt: skip
        "tight": {
            "q_mean": post_mean.tolist(),
            "q_log_var": np.log(np.diag(post_cov)).tolist(),
            "log_evidence": log_evidence(*model),
            "mistakes": tight_mistake_values(at_posterior),
        },
    }
    rng = np.random.default_rng(HIDDEN["seed"])
    hidden = checks.make_elbo_inputs(rng, HIDDEN["data_dim"], HIDDEN["latent_dim"],
                                     HIDDEN["n_samples"])  # fmt: skip
    public["iwae"], iwae_hidden = iwae_references()
    private = {
        "elbo_hidden_fixture": {**HIDDEN, "expected": round(elbo_estimate(**hidden), 9)},
        "iwae_hidden_fixture": iwae_hidden,
    }
    return public, private
