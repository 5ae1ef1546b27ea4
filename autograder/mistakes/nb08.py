"""Notebook 08: known mistakes in `vlb_binomial` and `sampling`, and acceptable variants.

The functions use the names a student's notebook has: `keras` and `ops`; one that needs
TensorFlow imports it, as a student would. The `sampling` variants are shared with
notebook 06 and live in `autograder.mistakes.sampling`.
"""

from __future__ import annotations

import math
import warnings

import keras
from keras import ops

from autograder.mistakes import Variant, sampling

VLB_CELLS = ("vlb_scalar", "vlb_reconstruction", "vlb_kl", "vlb_full")
SAMPLING_CELLS = sampling.CELLS


# ----------------------------------------------------------------------- vlb_binomial mistakes


def vlb_mean_over_pixels(x, x_decoded_mean, t_mean, t_log_var):
    x_decoded_mean = ops.clip(x_decoded_mean, 1e-7, 1 - 1e-7)
    log_likelihood = ops.mean(
        x * ops.log(x_decoded_mean) + (1 - x) * ops.log(1 - x_decoded_mean), axis=1
    )
    kl = 0.5 * ops.sum(ops.square(t_mean) + ops.exp(t_log_var) - 1 - t_log_var, axis=1)
    return ops.mean(kl - log_likelihood)


def vlb_kl_sign(x, x_decoded_mean, t_mean, t_log_var):
    x_decoded_mean = ops.clip(x_decoded_mean, 1e-7, 1 - 1e-7)
    log_likelihood = ops.sum(
        x * ops.log(x_decoded_mean) + (1 - x) * ops.log(1 - x_decoded_mean), axis=1
    )
    kl = 0.5 * ops.sum(1 + t_log_var - ops.square(t_mean) - ops.exp(t_log_var), axis=1)
    return ops.mean(kl - log_likelihood)


def vlb_missing_half(x, x_decoded_mean, t_mean, t_log_var):
    x_decoded_mean = ops.clip(x_decoded_mean, 1e-7, 1 - 1e-7)
    log_likelihood = ops.sum(
        x * ops.log(x_decoded_mean) + (1 - x) * ops.log(1 - x_decoded_mean), axis=1
    )
    kl = ops.sum(ops.square(t_mean) + ops.exp(t_log_var) - 1 - t_log_var, axis=1)
    return ops.mean(kl - log_likelihood)


def vlb_log_var_as_log_std(x, x_decoded_mean, t_mean, t_log_var):
    x_decoded_mean = ops.clip(x_decoded_mean, 1e-7, 1 - 1e-7)
    log_likelihood = ops.sum(
        x * ops.log(x_decoded_mean) + (1 - x) * ops.log(1 - x_decoded_mean), axis=1
    )
    variance = ops.exp(2 * t_log_var)
    kl = 0.5 * ops.sum(ops.square(t_mean) + variance - 1 - ops.log(variance), axis=1)
    return ops.mean(kl - log_likelihood)


def vlb_sum_over_batch(x, x_decoded_mean, t_mean, t_log_var):
    x_decoded_mean = ops.clip(x_decoded_mean, 1e-7, 1 - 1e-7)
    log_likelihood = ops.sum(
        x * ops.log(x_decoded_mean) + (1 - x) * ops.log(1 - x_decoded_mean), axis=1
    )
    kl = 0.5 * ops.sum(ops.square(t_mean) + ops.exp(t_log_var) - 1 - t_log_var, axis=1)
    return ops.sum(kl - log_likelihood)


def vlb_log_of_zero(x, x_decoded_mean, t_mean, t_log_var):
    log_likelihood = ops.sum(
        x * ops.log(x_decoded_mean) + (1 - x) * ops.log(1 - x_decoded_mean), axis=1
    )
    kl = 0.5 * ops.sum(ops.square(t_mean) + ops.exp(t_log_var) - 1 - t_log_var, axis=1)
    return ops.mean(kl - log_likelihood)


# ----------------------------------------------------------------------- acceptable variants


def vlb_tf_epsilon_inside_log(x, x_decoded_mean, t_mean, t_log_var):
    import tensorflow as tf

    eps = 1e-10
    log_likelihood = tf.reduce_sum(
        x * tf.math.log(x_decoded_mean + eps) + (1 - x) * tf.math.log(1 - x_decoded_mean + eps),
        axis=1,
    )
    kl = -0.5 * tf.reduce_sum(1 + t_log_var - tf.square(t_mean) - tf.exp(t_log_var), axis=1)
    return -tf.reduce_mean(log_likelihood - kl)


def vlb_clip_large_epsilon(x, x_decoded_mean, t_mean, t_log_var):
    p = ops.clip(x_decoded_mean, 1e-5, 1 - 1e-5)
    log_likelihood = ops.sum(x * ops.log(p) + (1 - x) * ops.log(1 - p), axis=-1)
    kl = 0.5 * ops.sum(ops.square(t_mean) + ops.exp(t_log_var) - 1 - t_log_var, axis=-1)
    return ops.mean(kl) - ops.mean(log_likelihood)


def vlb_large_epsilon_inside_log(x, x_decoded_mean, t_mean, t_log_var):
    eps = 1e-5
    log_likelihood = ops.sum(
        x * ops.log(x_decoded_mean + eps) + (1 - x) * ops.log(1 - x_decoded_mean + eps), axis=1
    )
    kl = 0.5 * ops.sum(ops.square(t_mean) + ops.exp(t_log_var) - 1 - t_log_var, axis=1)
    return ops.mean(kl - log_likelihood)


def vlb_keras_cross_entropy(x, x_decoded_mean, t_mean, t_log_var):
    n_pixels = ops.shape(x)[1]
    reconstruction = n_pixels * keras.losses.binary_crossentropy(x, x_decoded_mean)
    kl = 0.5 * ops.sum(ops.square(t_mean) + ops.exp(t_log_var) - 1 - t_log_var, axis=1)
    return ops.mean(reconstruction + kl)


MISTAKES = (
    Variant(vlb_mean_over_pixels, "vlb_binomial",
            ("vlb_reconstruction", "vlb_full"), "mean_over_pixels"),
    Variant(vlb_kl_sign, "vlb_binomial", ("vlb_kl", "vlb_full"), "kl_sign"),
    Variant(vlb_missing_half, "vlb_binomial", ("vlb_kl", "vlb_full"), "missing_half"),
    Variant(vlb_log_var_as_log_std, "vlb_binomial", ("vlb_kl", "vlb_full"), "log_var_as_log_std"),
    Variant(vlb_sum_over_batch, "vlb_binomial",
            ("vlb_reconstruction", "vlb_kl", "vlb_full"), "sum_over_batch"),
    Variant(vlb_log_of_zero, "vlb_binomial", ("vlb_scalar", "vlb_kl", "vlb_full"), "log_of_zero"),
    *sampling.MISTAKES,
)  # fmt: skip


def vlb_mistake_values(inputs) -> dict[str, float | None]:
    """What each known `vlb_binomial` mistake returns on `inputs`, keyed by its hint.

    None where a mistake crashes, returns more than one number, or returns inf or NaN:
    such a value names no mistake. Checks use these values to say which mistake a wrong
    answer most likely is.
    """
    tensors = [ops.convert_to_tensor(a) for a in inputs]
    values = {}
    for mistake in MISTAKES:
        if mistake.target != "vlb_binomial":
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = ops.convert_to_numpy(mistake.function(*tensors))
        except Exception:  # a mistake may well crash on these inputs
            values[mistake.hint] = None
            continue
        value = float(out.reshape(-1)[0]) if out.size == 1 else math.nan
        values[mistake.hint] = value if math.isfinite(value) else None
    return values


ACCEPTABLE = (
    Variant(vlb_tf_epsilon_inside_log, "vlb_binomial"),
    Variant(vlb_clip_large_epsilon, "vlb_binomial"),
    Variant(vlb_large_epsilon_inside_log, "vlb_binomial"),
    Variant(vlb_keras_cross_entropy, "vlb_binomial"),
    *sampling.ACCEPTABLE,
)
