"""Notebook 04: known mistakes in `elbo_estimate` and `iwae_bound`, and acceptable variants.

The functions use the names a student's notebook has: `keras`, `ops`, `np`; one that needs
TensorFlow or SciPy imports it, as a student would. Each `iwae_bound` function computes the
log weights in full, as a student's cell would; only the lines after them differ.
"""

from __future__ import annotations

import math
import warnings

import keras  # noqa: F401  (the student's namespace; some variants use it)
import numpy as np
from keras import ops

from autograder.mistakes import Variant

VALUE_CELLS = ("elbo_fixed_noise", "elbo_unbiased", "elbo_tight_at_posterior")
IWAE_CELLS = (
    "iwae_shape", "iwae_k1_is_elbo", "iwae_fixed_noise", "iwae_stable", "iwae_grows_with_k",
    "iwae_tight_at_posterior",
)  # fmt: skip


# ----------------------------------------------------------------------- elbo_estimate mistakes


def elbo_missing_log_q(x, q_mean, q_log_var, epsilon, W, b, noise_std):
    z = q_mean + ops.exp(0.5 * q_log_var) * epsilon
    x_mean = ops.matmul(z, ops.transpose(W)) + b
    log_likelihood = -0.5 * ops.sum(
        ops.square((x - x_mean) / noise_std) + np.log(2 * np.pi * noise_std**2), axis=1
    )
    log_prior = -0.5 * ops.sum(ops.square(z) + np.log(2 * np.pi), axis=1)
    return ops.mean(log_likelihood + log_prior)


def elbo_closed_form_kl(x, q_mean, q_log_var, epsilon, W, b, noise_std):
    z = q_mean + ops.exp(0.5 * q_log_var) * epsilon
    x_mean = ops.matmul(z, ops.transpose(W)) + b
    log_likelihood = -0.5 * ops.sum(
        ops.square((x - x_mean) / noise_std) + np.log(2 * np.pi * noise_std**2), axis=1
    )
    kl = 0.5 * ops.sum(ops.square(q_mean) + ops.exp(q_log_var) - 1 - q_log_var)
    return ops.mean(log_likelihood) - kl


def elbo_ignores_epsilon(x, q_mean, q_log_var, epsilon, W, b, noise_std):
    noise = np.random.normal(size=np.shape(epsilon))
    z = q_mean + ops.exp(0.5 * q_log_var) * noise
    x_mean = ops.matmul(z, ops.transpose(W)) + b
    log_likelihood = -0.5 * ops.sum(
        ops.square((x - x_mean) / noise_std) + np.log(2 * np.pi * noise_std**2), axis=1
    )
    log_prior = -0.5 * ops.sum(ops.square(z) + np.log(2 * np.pi), axis=1)
    log_q = -0.5 * ops.sum(ops.square(noise) + q_log_var + np.log(2 * np.pi), axis=1)
    return ops.mean(log_likelihood + log_prior - log_q)


def elbo_sum_over_samples(x, q_mean, q_log_var, epsilon, W, b, noise_std):
    z = q_mean + ops.exp(0.5 * q_log_var) * epsilon
    x_mean = ops.matmul(z, ops.transpose(W)) + b
    log_likelihood = -0.5 * ops.sum(
        ops.square((x - x_mean) / noise_std) + np.log(2 * np.pi * noise_std**2), axis=1
    )
    log_prior = -0.5 * ops.sum(ops.square(z) + np.log(2 * np.pi), axis=1)
    log_q = -0.5 * ops.sum(ops.square(epsilon) + q_log_var + np.log(2 * np.pi), axis=1)
    return ops.sum(log_likelihood + log_prior - log_q)


def elbo_no_normalizer(x, q_mean, q_log_var, epsilon, W, b, noise_std):
    z = q_mean + ops.exp(0.5 * q_log_var) * epsilon
    x_mean = ops.matmul(z, ops.transpose(W)) + b
    log_likelihood = -0.5 * ops.sum(ops.square(x - x_mean), axis=1) / noise_std**2
    log_prior = -0.5 * ops.sum(ops.square(z), axis=1)
    log_q = -0.5 * ops.sum(ops.square(epsilon) + q_log_var, axis=1)
    return ops.mean(log_likelihood + log_prior - log_q)


def elbo_log_var_as_log_std(x, q_mean, q_log_var, epsilon, W, b, noise_std):
    z = q_mean + ops.exp(q_log_var) * epsilon
    x_mean = ops.matmul(z, ops.transpose(W)) + b
    log_likelihood = -0.5 * ops.sum(
        ops.square((x - x_mean) / noise_std) + np.log(2 * np.pi * noise_std**2), axis=1
    )
    log_prior = -0.5 * ops.sum(ops.square(z) + np.log(2 * np.pi), axis=1)
    log_q = -ops.sum(0.5 * ops.square(epsilon) + q_log_var + 0.5 * np.log(2 * np.pi), axis=1)
    return ops.mean(log_likelihood + log_prior - log_q)


def elbo_noise_std_as_variance(x, q_mean, q_log_var, epsilon, W, b, noise_std):
    z = q_mean + ops.exp(0.5 * q_log_var) * epsilon
    x_mean = ops.matmul(z, ops.transpose(W)) + b
    log_likelihood = -0.5 * ops.sum(
        ops.square(x - x_mean) / noise_std + np.log(2 * np.pi * noise_std), axis=1
    )
    log_prior = -0.5 * ops.sum(ops.square(z) + np.log(2 * np.pi), axis=1)
    log_q = -0.5 * ops.sum(ops.square(epsilon) + q_log_var + np.log(2 * np.pi), axis=1)
    return ops.mean(log_likelihood + log_prior - log_q)


# ----------------------------------------------------------------------- acceptable variants


def elbo_scipy_log_densities(x, q_mean, q_log_var, epsilon, W, b, noise_std):
    from scipy import stats

    std = np.exp(0.5 * q_log_var)
    z = q_mean + std * epsilon
    log_likelihood = stats.norm.logpdf(x, z @ W.T + b, noise_std).sum(axis=1)
    log_prior = stats.norm.logpdf(z).sum(axis=1)
    log_q = stats.norm.logpdf(z, q_mean, std).sum(axis=1)
    return np.mean(log_likelihood + log_prior - log_q)


def elbo_tf_float32(x, q_mean, q_log_var, epsilon, W, b, noise_std):
    import math

    import tensorflow as tf

    x, q_mean, q_log_var, epsilon, W, b = (
        tf.constant(a, tf.float32) for a in (x, q_mean, q_log_var, epsilon, W, b)
    )
    z = q_mean + tf.exp(q_log_var / 2) * epsilon
    x_mean = tf.matmul(z, W, transpose_b=True) + b
    data_dim = tf.cast(tf.shape(x)[0], tf.float32)
    latent_dim = tf.cast(tf.shape(z)[1], tf.float32)
    log_2pi = math.log(2 * math.pi)
    log_likelihood = -tf.reduce_sum(tf.square(x - x_mean), axis=1) / (
        2 * noise_std**2
    ) - data_dim * (0.5 * log_2pi + math.log(noise_std))
    log_prior = -0.5 * tf.reduce_sum(tf.square(z), axis=1) - 0.5 * latent_dim * log_2pi
    log_q = -0.5 * tf.reduce_sum(tf.square(z - q_mean) / tf.exp(q_log_var) + q_log_var, axis=1)
    log_q -= 0.5 * latent_dim * log_2pi
    return tf.reduce_mean(log_likelihood + log_prior - log_q)


def elbo_einsum_log_joint(x, q_mean, q_log_var, epsilon, W, b, noise_std):
    std = ops.exp(0.5 * q_log_var)
    z = q_mean + std * epsilon
    x_mean = ops.einsum("dk,nk->nd", W, z) + b
    n_data, n_latent = W.shape
    log_joint = (
        -0.5 * ops.sum(ops.square(x - x_mean), axis=-1) / noise_std**2
        - n_data * np.log(noise_std)
        - 0.5 * ops.sum(ops.square(z), axis=-1)
        - 0.5 * (n_data + n_latent) * np.log(2 * np.pi)
    )
    entropy_terms = ops.sum(ops.log(std) + 0.5 * ops.square(epsilon), axis=-1)
    entropy_terms += 0.5 * n_latent * np.log(2 * np.pi)
    return ops.mean(log_joint + entropy_terms)


# -------------------------------------------------------------------------- iwae_bound mistakes


def iwae_naive_exp(x, q_mean, q_log_var, epsilon, W, b, noise_std):
    log_2pi = np.log(2.0 * np.pi)
    z = q_mean + ops.exp(0.5 * q_log_var) * epsilon
    x_mean = ops.matmul(z, ops.transpose(W)) + b
    log_likelihood = -0.5 * ops.sum(
        ops.square((x - x_mean) / noise_std) + log_2pi + 2.0 * np.log(noise_std), axis=-1
    )
    log_prior = -0.5 * ops.sum(ops.square(z) + log_2pi, axis=-1)
    log_q = -0.5 * ops.sum(ops.square(epsilon) + q_log_var + log_2pi, axis=-1)
    weights = ops.exp(log_likelihood + log_prior - log_q)
    return ops.mean(ops.log(ops.mean(weights, axis=1)))


def iwae_missing_log_k(x, q_mean, q_log_var, epsilon, W, b, noise_std):
    log_2pi = np.log(2.0 * np.pi)
    z = q_mean + ops.exp(0.5 * q_log_var) * epsilon
    x_mean = ops.matmul(z, ops.transpose(W)) + b
    log_likelihood = -0.5 * ops.sum(
        ops.square((x - x_mean) / noise_std) + log_2pi + 2.0 * np.log(noise_std), axis=-1
    )
    log_prior = -0.5 * ops.sum(ops.square(z) + log_2pi, axis=-1)
    log_q = -0.5 * ops.sum(ops.square(epsilon) + q_log_var + log_2pi, axis=-1)
    log_weights = log_likelihood + log_prior - log_q
    return ops.mean(ops.logsumexp(log_weights, axis=1))


def iwae_mean_of_log_weights(x, q_mean, q_log_var, epsilon, W, b, noise_std):
    log_2pi = np.log(2.0 * np.pi)
    z = q_mean + ops.exp(0.5 * q_log_var) * epsilon
    x_mean = ops.matmul(z, ops.transpose(W)) + b
    log_likelihood = -0.5 * ops.sum(
        ops.square((x - x_mean) / noise_std) + log_2pi + 2.0 * np.log(noise_std), axis=-1
    )
    log_prior = -0.5 * ops.sum(ops.square(z) + log_2pi, axis=-1)
    log_q = -0.5 * ops.sum(ops.square(epsilon) + q_log_var + log_2pi, axis=-1)
    log_weights = log_likelihood + log_prior - log_q
    return ops.mean(ops.mean(log_weights, axis=1))


def iwae_wrong_axis(x, q_mean, q_log_var, epsilon, W, b, noise_std):
    log_2pi = np.log(2.0 * np.pi)
    k = epsilon.shape[1]
    z = q_mean + ops.exp(0.5 * q_log_var) * epsilon
    x_mean = ops.matmul(z, ops.transpose(W)) + b
    log_likelihood = -0.5 * ops.sum(
        ops.square((x - x_mean) / noise_std) + log_2pi + 2.0 * np.log(noise_std), axis=-1
    )
    log_prior = -0.5 * ops.sum(ops.square(z) + log_2pi, axis=-1)
    log_q = -0.5 * ops.sum(ops.square(epsilon) + q_log_var + log_2pi, axis=-1)
    log_weights = log_likelihood + log_prior - log_q
    return ops.mean(ops.logsumexp(log_weights, axis=0) - np.log(k))


def iwae_log_draws_instead_of_log_k(x, q_mean, q_log_var, epsilon, W, b, noise_std):
    log_2pi = np.log(2.0 * np.pi)
    z = q_mean + ops.exp(0.5 * q_log_var) * epsilon
    x_mean = ops.matmul(z, ops.transpose(W)) + b
    log_likelihood = -0.5 * ops.sum(
        ops.square((x - x_mean) / noise_std) + log_2pi + 2.0 * np.log(noise_std), axis=-1
    )
    log_prior = -0.5 * ops.sum(ops.square(z) + log_2pi, axis=-1)
    log_q = -0.5 * ops.sum(ops.square(epsilon) + q_log_var + log_2pi, axis=-1)
    log_weights = log_likelihood + log_prior - log_q
    return ops.mean(ops.logsumexp(log_weights, axis=1) - np.log(len(epsilon)))


def iwae_sum_over_draws(x, q_mean, q_log_var, epsilon, W, b, noise_std):
    log_2pi = np.log(2.0 * np.pi)
    k = epsilon.shape[1]
    z = q_mean + ops.exp(0.5 * q_log_var) * epsilon
    x_mean = ops.matmul(z, ops.transpose(W)) + b
    log_likelihood = -0.5 * ops.sum(
        ops.square((x - x_mean) / noise_std) + log_2pi + 2.0 * np.log(noise_std), axis=-1
    )
    log_prior = -0.5 * ops.sum(ops.square(z) + log_2pi, axis=-1)
    log_q = -0.5 * ops.sum(ops.square(epsilon) + q_log_var + log_2pi, axis=-1)
    log_weights = log_likelihood + log_prior - log_q
    return ops.sum(ops.logsumexp(log_weights, axis=1) - np.log(k))


def iwae_pooled(x, q_mean, q_log_var, epsilon, W, b, noise_std):
    log_2pi = np.log(2.0 * np.pi)
    z = q_mean + ops.exp(0.5 * q_log_var) * epsilon
    x_mean = ops.matmul(z, ops.transpose(W)) + b
    log_likelihood = -0.5 * ops.sum(
        ops.square((x - x_mean) / noise_std) + log_2pi + 2.0 * np.log(noise_std), axis=-1
    )
    log_prior = -0.5 * ops.sum(ops.square(z) + log_2pi, axis=-1)
    log_q = -0.5 * ops.sum(ops.square(epsilon) + q_log_var + log_2pi, axis=-1)
    log_weights = ops.reshape(log_likelihood + log_prior - log_q, (-1,))
    return ops.logsumexp(log_weights) - np.log(log_weights.shape[0])


def iwae_divides_by_k(x, q_mean, q_log_var, epsilon, W, b, noise_std):
    log_2pi = np.log(2.0 * np.pi)
    k = epsilon.shape[1]
    z = q_mean + ops.exp(0.5 * q_log_var) * epsilon
    x_mean = ops.matmul(z, ops.transpose(W)) + b
    log_likelihood = -0.5 * ops.sum(
        ops.square((x - x_mean) / noise_std) + log_2pi + 2.0 * np.log(noise_std), axis=-1
    )
    log_prior = -0.5 * ops.sum(ops.square(z) + log_2pi, axis=-1)
    log_q = -0.5 * ops.sum(ops.square(epsilon) + q_log_var + log_2pi, axis=-1)
    log_weights = log_likelihood + log_prior - log_q
    return ops.mean(ops.logsumexp(log_weights, axis=1) / k)


def iwae_max_not_added_back(x, q_mean, q_log_var, epsilon, W, b, noise_std):
    log_2pi = np.log(2.0 * np.pi)
    z = q_mean + ops.exp(0.5 * q_log_var) * epsilon
    x_mean = ops.matmul(z, ops.transpose(W)) + b
    log_likelihood = -0.5 * ops.sum(
        ops.square((x - x_mean) / noise_std) + log_2pi + 2.0 * np.log(noise_std), axis=-1
    )
    log_prior = -0.5 * ops.sum(ops.square(z) + log_2pi, axis=-1)
    log_q = -0.5 * ops.sum(ops.square(epsilon) + q_log_var + log_2pi, axis=-1)
    log_weights = log_likelihood + log_prior - log_q
    largest = ops.max(log_weights, axis=1, keepdims=True)
    return ops.mean(ops.log(ops.mean(ops.exp(log_weights - largest), axis=1)))


# ------------------------------------------------------------------ iwae_bound acceptable variants


def iwae_manual_max_shift(x, q_mean, q_log_var, epsilon, W, b, noise_std):
    log_2pi = np.log(2.0 * np.pi)
    z = q_mean + ops.exp(0.5 * q_log_var) * epsilon
    x_mean = ops.matmul(z, ops.transpose(W)) + b
    log_likelihood = -0.5 * ops.sum(
        ops.square((x - x_mean) / noise_std) + log_2pi + 2.0 * np.log(noise_std), axis=-1
    )
    log_prior = -0.5 * ops.sum(ops.square(z) + log_2pi, axis=-1)
    log_q = -0.5 * ops.sum(ops.square(epsilon) + q_log_var + log_2pi, axis=-1)
    log_weights = log_likelihood + log_prior - log_q
    largest = ops.max(log_weights, axis=1, keepdims=True)
    log_mean_weight = largest[:, 0] + ops.log(ops.mean(ops.exp(log_weights - largest), axis=1))
    return ops.mean(log_mean_weight)


def iwae_scipy_samples_first(x, q_mean, q_log_var, epsilon, W, b, noise_std):
    from scipy.special import logsumexp

    std = np.exp(0.5 * q_log_var)
    z = q_mean + std * np.swapaxes(epsilon, 0, 1)  # (k, n_draws, latent_dim)
    n_data, n_latent = W.shape
    log_joint = (
        -0.5 * np.sum((x - z @ W.T - b) ** 2, axis=-1) / noise_std**2
        - n_data * np.log(noise_std)
        - 0.5 * np.sum(z**2, axis=-1)
        - 0.5 * (n_data + n_latent) * np.log(2 * np.pi)
    )
    log_q = -0.5 * np.sum(((z - q_mean) / std) ** 2 + np.log(2 * np.pi * std**2), axis=-1)
    k = len(z)
    return np.mean(logsumexp(log_joint - log_q, axis=0, b=1.0 / k))


def iwae_tf_float32(x, q_mean, q_log_var, epsilon, W, b, noise_std):
    import math

    import tensorflow as tf

    x, q_mean, q_log_var, epsilon, W, b = (
        tf.constant(a, tf.float32) for a in (x, q_mean, q_log_var, epsilon, W, b)
    )
    z = q_mean + tf.exp(q_log_var / 2) * epsilon
    x_mean = tf.einsum("nkd,jd->nkj", z, W) + b
    log_2pi = math.log(2 * math.pi)
    log_likelihood = -tf.reduce_sum(tf.square(x - x_mean), axis=-1) / (2 * noise_std**2)
    log_likelihood -= float(W.shape[0]) * (0.5 * log_2pi + math.log(noise_std))
    log_prior = -0.5 * tf.reduce_sum(tf.square(z) + log_2pi, axis=-1)
    log_q = -0.5 * tf.reduce_sum(tf.square(epsilon) + q_log_var + log_2pi, axis=-1)
    per_draw = tf.reduce_logsumexp(log_likelihood + log_prior - log_q, axis=1)
    return tf.reduce_mean(per_draw) - math.log(epsilon.shape[1])


MISTAKES = (
    Variant(elbo_missing_log_q, "elbo_estimate", VALUE_CELLS, "missing_log_q"),
    Variant(elbo_closed_form_kl, "elbo_estimate",
            ("elbo_fixed_noise", "elbo_tight_at_posterior"), "estimator_b"),
    Variant(elbo_ignores_epsilon, "elbo_estimate", ("elbo_fixed_noise",), "ignores_epsilon"),
    Variant(elbo_sum_over_samples, "elbo_estimate", VALUE_CELLS, "sum_over_samples"),
    Variant(elbo_no_normalizer, "elbo_estimate", VALUE_CELLS, "no_normalizer"),
    Variant(elbo_log_var_as_log_std, "elbo_estimate", VALUE_CELLS, "log_var_as_log_std"),
    Variant(elbo_noise_std_as_variance, "elbo_estimate", VALUE_CELLS, "noise_std_as_variance"),
    Variant(iwae_naive_exp, "iwae_bound", ("iwae_stable",), "iwae_naive_exp"),
    Variant(iwae_missing_log_k, "iwae_bound",
            ("iwae_fixed_noise", "iwae_stable", "iwae_grows_with_k", "iwae_tight_at_posterior"),
            "iwae_missing_log_k"),
    Variant(iwae_mean_of_log_weights, "iwae_bound",
            ("iwae_fixed_noise", "iwae_stable", "iwae_grows_with_k"), "iwae_mean_of_log_weights"),
    Variant(iwae_wrong_axis, "iwae_bound",
            ("iwae_k1_is_elbo", "iwae_fixed_noise", "iwae_stable", "iwae_grows_with_k",
             "iwae_tight_at_posterior"), "iwae_wrong_axis"),
    Variant(iwae_log_draws_instead_of_log_k, "iwae_bound",
            ("iwae_k1_is_elbo", "iwae_fixed_noise", "iwae_stable", "iwae_grows_with_k",
             "iwae_tight_at_posterior"),
            "iwae_log_draws_instead_of_log_k"),
    Variant(iwae_sum_over_draws, "iwae_bound",
            ("iwae_k1_is_elbo", "iwae_fixed_noise", "iwae_stable", "iwae_grows_with_k",
             "iwae_tight_at_posterior"),
            "iwae_sum_over_draws"),
    Variant(iwae_pooled, "iwae_bound",
            ("iwae_k1_is_elbo", "iwae_fixed_noise", "iwae_stable", "iwae_grows_with_k"),
            "iwae_pooled"),
    Variant(iwae_divides_by_k, "iwae_bound",
            ("iwae_fixed_noise", "iwae_stable", "iwae_grows_with_k", "iwae_tight_at_posterior"),
            "iwae_divides_by_k"),
    Variant(iwae_max_not_added_back, "iwae_bound",
            ("iwae_k1_is_elbo", "iwae_fixed_noise", "iwae_stable", "iwae_grows_with_k",
             "iwae_tight_at_posterior"), "iwae_max_not_added_back"),
)  # fmt: skip

ACCEPTABLE = (
    Variant(elbo_scipy_log_densities, "elbo_estimate"),
    Variant(elbo_tf_float32, "elbo_estimate"),
    Variant(elbo_einsum_log_joint, "elbo_estimate"),
    Variant(iwae_manual_max_shift, "iwae_bound"),
    Variant(iwae_scipy_samples_first, "iwae_bound"),
    Variant(iwae_tf_float32, "iwae_bound"),
)


def _value(function, inputs):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = np.asarray(ops.convert_to_numpy(function(**inputs)), np.float64)
    except Exception:  # a mistake may well crash on these inputs
        return None
    value = float(out.reshape(-1)[0]) if out.size == 1 else math.nan
    return value if math.isfinite(value) else None


def _of(target):
    return [mistake for mistake in MISTAKES if mistake.target == target]


def elbo_mistake_values(inputs) -> dict[str, float | None]:
    """What each known `elbo_estimate` mistake returns on `inputs`, keyed by its hint.

    None where a mistake crashes, returns more than one number or a non-finite one, or
    returns a different number each time (it draws its own noise): such a value names no
    mistake.
    """
    values = {}
    for mistake in _of("elbo_estimate"):
        first = _value(mistake.function, inputs)
        repeatable = first is not None and first == _value(mistake.function, inputs)
        values[mistake.hint] = round(first, 9) if repeatable else None
    return values


def tight_mistake_values(inputs) -> dict[str, list[float] | None]:
    """What each known mistake gives in the tightness check, keyed by its hint.

    As `course.checks.nb04.check_tight` calls it: once per row of epsilon, then on all rows
    together. None where a mistake gives no repeatable finite number for one of the calls.
    """
    calls = [{**inputs, "epsilon": row[None, :]} for row in inputs["epsilon"]] + [inputs]
    values = {}
    for mistake in _of("elbo_estimate"):
        first = [_value(mistake.function, call) for call in calls]
        repeatable = None not in first and first == [_value(mistake.function, c) for c in calls]
        values[mistake.hint] = [round(v, 9) for v in first] if repeatable else None
    return values


def iwae_mistake_values(inputs) -> dict[str, float | None]:
    """What each known `iwae_bound` mistake returns on `inputs`, keyed by its hint (None where
    it gives no repeatable finite number)."""
    values = {}
    for mistake in _of("iwae_bound"):
        first = _value(mistake.function, inputs)
        repeatable = first is not None and first == _value(mistake.function, inputs)
        values[mistake.hint] = round(first, 9) if repeatable else None
    return values


def iwae_tight_mistake_values(inputs) -> dict[str, list[float] | None]:
    """What each known `iwae_bound` mistake gives in `check_iwae_tight`, keyed by its hint:
    one value per call of `IWAE_TIGHT_CALLS`, or None."""
    from course.checks.nb04 import IWAE_TIGHT_CALLS

    calls = [{**inputs, "epsilon": inputs["epsilon"][:n, :k]} for n, k in IWAE_TIGHT_CALLS]
    values = {}
    for mistake in _of("iwae_bound"):
        first = [_value(mistake.function, call) for call in calls]
        repeatable = None not in first and first == [_value(mistake.function, c) for c in calls]
        values[mistake.hint] = [round(v, 9) for v in first] if repeatable else None
    return values
