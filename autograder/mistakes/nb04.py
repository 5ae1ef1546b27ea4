"""Notebook 04: known mistakes in `elbo_estimate`, and acceptable variants.

The functions use the names a student's notebook has: `keras`, `ops`, `np`; one that needs
TensorFlow or SciPy imports it, as a student would.
"""

from __future__ import annotations

import math
import warnings

import keras  # noqa: F401  (the student's namespace; some variants use it)
import numpy as np
from keras import ops

from autograder.mistakes import Variant

VALUE_CELLS = ("elbo_fixed_noise", "elbo_unbiased", "elbo_tight_at_posterior")


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


MISTAKES = (
    Variant(elbo_missing_log_q, "elbo_estimate", VALUE_CELLS, "missing_log_q"),
    Variant(elbo_closed_form_kl, "elbo_estimate",
            ("elbo_fixed_noise", "elbo_tight_at_posterior"), "estimator_b"),
    Variant(elbo_ignores_epsilon, "elbo_estimate", ("elbo_fixed_noise",), "ignores_epsilon"),
    Variant(elbo_sum_over_samples, "elbo_estimate", VALUE_CELLS, "sum_over_samples"),
    Variant(elbo_no_normalizer, "elbo_estimate", VALUE_CELLS, "no_normalizer"),
    Variant(elbo_log_var_as_log_std, "elbo_estimate", VALUE_CELLS, "log_var_as_log_std"),
    Variant(elbo_noise_std_as_variance, "elbo_estimate", VALUE_CELLS, "noise_std_as_variance"),
)  # fmt: skip

ACCEPTABLE = (
    Variant(elbo_scipy_log_densities, "elbo_estimate"),
    Variant(elbo_tf_float32, "elbo_estimate"),
    Variant(elbo_einsum_log_joint, "elbo_estimate"),
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


def elbo_mistake_values(inputs) -> dict[str, float | None]:
    """What each known `elbo_estimate` mistake returns on `inputs`, keyed by its hint.

    None where a mistake crashes, returns more than one number or a non-finite one, or
    returns a different number each time (it draws its own noise): such a value names no
    mistake.
    """
    values = {}
    for mistake in MISTAKES:
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
    for mistake in MISTAKES:
        first = [_value(mistake.function, call) for call in calls]
        repeatable = None not in first and first == [_value(mistake.function, c) for c in calls]
        values[mistake.hint] = [round(v, 9) for v in first] if repeatable else None
    return values
