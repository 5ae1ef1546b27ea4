"""Notebook 06: known mistakes in `pathwise_gradient` and `sampling`, and acceptable variants.

The functions use the names a student's notebook has: `keras`, `ops` and `np`; one that
needs TensorFlow imports it, as a student would. The `sampling` variants are shared with
notebook 08 and live in `autograder.mistakes.sampling`; notebook 06 grades `sampling` in
test cells with the same grade ids, so they lose the same cells here.
"""

from __future__ import annotations

import warnings

import numpy as np
from keras import ops

from autograder.mistakes import Variant, sampling

PATHWISE_CELLS = ("pathwise_shape", "pathwise_mean", "pathwise_log_var", "pathwise_unbiased")
SAMPLING_CELLS = sampling.CELLS


# ----------------------------------------------------------------------- pathwise_gradient mistakes


def pathwise_derivative_wrt_std(t_mean, t_log_var, epsilon):
    sigma = np.exp(0.5 * t_log_var)
    t = t_mean + sigma * epsilon
    grad_mean = np.mean(2 * t, axis=1)
    grad_log_var = np.mean(2 * t * epsilon, axis=1)
    return grad_mean, grad_log_var


def pathwise_variance_as_std(t_mean, t_log_var, epsilon):
    sigma = np.exp(t_log_var)
    t = t_mean + sigma * epsilon
    grad_mean = np.mean(2 * t, axis=1)
    grad_log_var = np.mean(2 * t * 0.5 * sigma * epsilon, axis=1)
    return grad_mean, grad_log_var


def pathwise_sum_over_samples(t_mean, t_log_var, epsilon):
    sigma = np.exp(0.5 * t_log_var)
    t = t_mean + sigma * epsilon
    grad_mean = np.sum(2 * t, axis=1)
    grad_log_var = np.sum(2 * t * 0.5 * sigma * epsilon, axis=1)
    return grad_mean, grad_log_var


def pathwise_score_function(t_mean, t_log_var, epsilon):
    variance = np.exp(t_log_var)
    t = t_mean + np.sqrt(variance) * epsilon
    score_mean = (t - t_mean) / variance
    score_log_var = 0.5 * ((t - t_mean) ** 2 / variance - 1)
    return np.mean(t**2 * score_mean, axis=1), np.mean(t**2 * score_log_var, axis=1)


def pathwise_missing_epsilon(t_mean, t_log_var, epsilon):
    sigma = np.exp(0.5 * t_log_var)
    t = t_mean + sigma * epsilon
    grad_mean = np.mean(2 * t, axis=1)
    grad_log_var = np.mean(2 * t * 0.5 * sigma, axis=1)
    return grad_mean, grad_log_var


def pathwise_mean_over_repeats(t_mean, t_log_var, epsilon):
    sigma = np.exp(0.5 * t_log_var)
    t = t_mean + sigma * epsilon
    grad_mean = np.mean(2 * t, axis=0)
    grad_log_var = np.mean(2 * t * 0.5 * sigma * epsilon, axis=0)
    return grad_mean, grad_log_var


# ----------------------------------------------------------------------- acceptable variants


def pathwise_keras_ops(t_mean, t_log_var, epsilon):
    sigma = ops.exp(0.5 * t_log_var)
    t = t_mean + sigma * epsilon
    grad_mean = ops.mean(2 * t, axis=-1)
    grad_log_var = ops.mean(2 * t * 0.5 * sigma * epsilon, axis=-1)
    return grad_mean, grad_log_var


def pathwise_through_t_minus_mean(t_mean, t_log_var, epsilon):
    std = np.sqrt(np.exp(t_log_var))
    t = t_mean + std * epsilon
    df_dt = 2 * t
    return df_dt.mean(axis=1), (df_dt * 0.5 * (t - t_mean)).mean(axis=1)


def pathwise_gradient_tape(t_mean, t_log_var, epsilon):
    import tensorflow as tf

    n_repeats = epsilon.shape[0]
    mean = tf.Variable(tf.fill((n_repeats, 1), float(t_mean)))
    log_var = tf.Variable(tf.fill((n_repeats, 1), float(t_log_var)))
    with tf.GradientTape() as tape:
        t = mean + tf.exp(0.5 * log_var) * tf.constant(epsilon, tf.float32)
        # each row's estimate depends only on that row's copy of the parameters
        objective = tf.reduce_sum(tf.reduce_mean(t**2, axis=1))
    grad_mean, grad_log_var = tape.gradient(objective, [mean, log_var])
    return tf.reshape(grad_mean, [-1]), tf.reshape(grad_log_var, [-1])


# The first mistake of each function is the one the end-to-end grading test submits.
MISTAKES = (
    Variant(pathwise_derivative_wrt_std, "pathwise_gradient",
            ("pathwise_log_var", "pathwise_unbiased"), "pathwise_chain_rule"),
    Variant(pathwise_variance_as_std, "pathwise_gradient",
            ("pathwise_mean", "pathwise_log_var", "pathwise_unbiased"),
            "pathwise_variance_as_std"),
    Variant(pathwise_sum_over_samples, "pathwise_gradient",
            ("pathwise_mean", "pathwise_log_var", "pathwise_unbiased"), "pathwise_sum"),
    Variant(pathwise_score_function, "pathwise_gradient",
            ("pathwise_mean", "pathwise_log_var"), "pathwise_score_function"),
    Variant(pathwise_missing_epsilon, "pathwise_gradient",
            ("pathwise_log_var", "pathwise_unbiased"), "pathwise_missing_epsilon"),
    Variant(pathwise_mean_over_repeats, "pathwise_gradient", PATHWISE_CELLS, "pathwise_axis"),
    *sampling.MISTAKES,
)  # fmt: skip

ACCEPTABLE = (
    Variant(pathwise_keras_ops, "pathwise_gradient"),
    Variant(pathwise_through_t_minus_mean, "pathwise_gradient"),
    Variant(pathwise_gradient_tape, "pathwise_gradient"),
    *sampling.ACCEPTABLE,
)


def pathwise_mistake_values(t_mean, t_log_var, epsilon) -> dict[str, dict | None]:
    """What each known `pathwise_gradient` mistake returns on these inputs, keyed by its hint.

    `{"grad_mean": [...], "grad_log_var": [...]}`, or None where a mistake crashes or returns
    something other than two finite arrays: such a value names no mistake. Checks use these
    values to say which mistake a wrong answer most likely is.
    """
    values = {}
    for mistake in MISTAKES:
        if mistake.target != "pathwise_gradient":
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                grad_mean, grad_log_var = mistake.function(t_mean, t_log_var, epsilon.copy())
        except Exception:  # a mistake may well crash on these inputs
            values[mistake.hint] = None
            continue
        pair = [np.asarray(ops.convert_to_numpy(g), np.float64) for g in (grad_mean, grad_log_var)]
        finite = all(np.all(np.isfinite(g)) for g in pair)
        values[mistake.hint] = (
            {"grad_mean": [round(float(v), 9) for v in pair[0]],
             "grad_log_var": [round(float(v), 9) for v in pair[1]]}
            if finite else None
        )  # fmt: skip
    return values
