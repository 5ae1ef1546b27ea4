"""Notebook 06: known mistakes in `score_function_gradient`, `pathwise_gradient` and
`best_baseline`, and acceptable variants.

The functions use the names a student's notebook has: `keras`, `ops` and `np`; one that
needs TensorFlow imports it, as a student would.
"""

from __future__ import annotations

import warnings

import numpy as np
from keras import ops

from autograder.mistakes import Variant

PATHWISE_CELLS = ("pathwise_shape", "pathwise_mean", "pathwise_log_var", "pathwise_unbiased")
SCORE_CELLS = ("score_shape", "score_mean", "score_log_var", "score_unbiased", "score_baseline")
BEST_CELLS = ("best_baseline_values", "best_baseline_theory")


# ----------------------------------------------------------------- score_function_gradient mistakes


def score_wrt_std(t_mean, t_log_var, epsilon, baseline=0.0):
    sigma = np.exp(0.5 * t_log_var)
    t = t_mean + sigma * epsilon
    f = t**2 - baseline
    score_mean = (t - t_mean) / sigma**2
    score_std = (t - t_mean) ** 2 / sigma**3 - 1 / sigma
    return np.mean(f * score_mean, axis=1), np.mean(f * score_std, axis=1)


def score_missing_half(t_mean, t_log_var, epsilon, baseline=0.0):
    variance = np.exp(t_log_var)
    t = t_mean + np.sqrt(variance) * epsilon
    f = t**2 - baseline
    score_mean = (t - t_mean) / variance
    score_log_var = (t - t_mean) ** 2 / variance - 1
    return np.mean(f * score_mean, axis=1), np.mean(f * score_log_var, axis=1)


def score_mean_over_sigma(t_mean, t_log_var, epsilon, baseline=0.0):
    sigma = np.exp(0.5 * t_log_var)
    t = t_mean + sigma * epsilon
    f = t**2 - baseline
    score_mean = (t - t_mean) / sigma
    score_log_var = 0.5 * ((t - t_mean) ** 2 / sigma**2 - 1)
    return np.mean(f * score_mean, axis=1), np.mean(f * score_log_var, axis=1)


def score_no_baseline(t_mean, t_log_var, epsilon, baseline=0.0):
    sigma = np.exp(0.5 * t_log_var)
    t = t_mean + sigma * epsilon
    f = t**2
    score_mean = epsilon / sigma
    score_log_var = 0.5 * (epsilon**2 - 1)
    return np.mean(f * score_mean, axis=1), np.mean(f * score_log_var, axis=1)


def score_baseline_on_score(t_mean, t_log_var, epsilon, baseline=0.0):
    sigma = np.exp(0.5 * t_log_var)
    t = t_mean + sigma * epsilon
    f = t**2
    score_mean = epsilon / sigma - baseline
    score_log_var = 0.5 * (epsilon**2 - 1) - baseline
    return np.mean(f * score_mean, axis=1), np.mean(f * score_log_var, axis=1)


def score_pathwise(t_mean, t_log_var, epsilon, baseline=0.0):
    sigma = np.exp(0.5 * t_log_var)
    t = t_mean + sigma * epsilon
    return np.mean(2 * t, axis=1), np.mean(2 * t * 0.5 * sigma * epsilon, axis=1)


def score_sum_over_samples(t_mean, t_log_var, epsilon, baseline=0.0):
    variance = np.exp(t_log_var)
    t = t_mean + np.sqrt(variance) * epsilon
    f = t**2 - baseline
    score_mean = (t - t_mean) / variance
    score_log_var = 0.5 * ((t - t_mean) ** 2 / variance - 1)
    return np.sum(f * score_mean, axis=1), np.sum(f * score_log_var, axis=1)


def score_mean_over_repeats(t_mean, t_log_var, epsilon, baseline=0.0):
    variance = np.exp(t_log_var)
    t = t_mean + np.sqrt(variance) * epsilon
    f = t**2 - baseline
    score_mean = (t - t_mean) / variance
    score_log_var = 0.5 * ((t - t_mean) ** 2 / variance - 1)
    return np.mean(f * score_mean, axis=0), np.mean(f * score_log_var, axis=0)


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


# ----------------------------------------------------------------------- best_baseline mistakes


def best_mean_of_f(t_mean, t_log_var, epsilon):
    t = t_mean + np.exp(0.5 * t_log_var) * epsilon
    f = t**2
    return np.mean(f, axis=1), np.mean(f, axis=1)


def best_score_not_squared(t_mean, t_log_var, epsilon):
    variance = np.exp(t_log_var)
    t = t_mean + np.sqrt(variance) * epsilon
    f = t**2
    score_mean = (t - t_mean) / variance
    score_log_var = 0.5 * ((t - t_mean) ** 2 / variance - 1)
    return (np.mean(f * score_mean, axis=1) / np.mean(score_mean, axis=1),
            np.mean(f * score_log_var, axis=1) / np.mean(score_log_var, axis=1))  # fmt: skip


def best_swapped(t_mean, t_log_var, epsilon):
    variance = np.exp(t_log_var)
    t = t_mean + np.sqrt(variance) * epsilon
    f = t**2
    score_mean = (t - t_mean) / variance
    score_log_var = 0.5 * ((t - t_mean) ** 2 / variance - 1)
    baseline_mean = np.mean(f * score_mean**2, axis=1) / np.mean(score_mean**2, axis=1)
    baseline_log_var = np.mean(f * score_log_var**2, axis=1) / np.mean(score_log_var**2, axis=1)
    return baseline_log_var, baseline_mean


def best_mean_over_repeats(t_mean, t_log_var, epsilon):
    variance = np.exp(t_log_var)
    t = t_mean + np.sqrt(variance) * epsilon
    f = t**2
    score_mean = (t - t_mean) / variance
    score_log_var = 0.5 * ((t - t_mean) ** 2 / variance - 1)
    return (np.mean(f * score_mean**2, axis=0) / np.mean(score_mean**2, axis=0),
            np.mean(f * score_log_var**2, axis=0) / np.mean(score_log_var**2, axis=0))  # fmt: skip


# ----------------------------------------------------------------------- acceptable variants


def best_sums_and_epsilon(t_mean, t_log_var, epsilon):
    t = t_mean + np.exp(0.5 * t_log_var) * epsilon
    f = t**2
    # any constant multiple of a score gives the same ratio, so 1/sigma and 1/2 can go
    score_mean = epsilon
    score_log_var = epsilon**2 - 1
    return (np.sum(f * score_mean**2, axis=-1) / np.sum(score_mean**2, axis=-1),
            np.sum(f * score_log_var**2, axis=-1) / np.sum(score_log_var**2, axis=-1))  # fmt: skip


def best_keras_ops(t_mean, t_log_var, epsilon):
    epsilon = ops.convert_to_tensor(epsilon, "float32")
    sigma = ops.exp(0.5 * t_log_var)
    t = t_mean + sigma * epsilon
    f = ops.square(t)
    weights = [ops.square((t - t_mean) / sigma**2),
               ops.square(0.5 * (ops.square(t - t_mean) / sigma**2 - 1.0))]  # fmt: skip
    return tuple(ops.mean(f * w, axis=-1) / ops.mean(w, axis=-1) for w in weights)


def score_keras_ops(t_mean, t_log_var, epsilon, baseline=0.0):
    epsilon = ops.convert_to_tensor(epsilon, "float32")
    sigma = ops.exp(0.5 * t_log_var)
    t = t_mean + sigma * epsilon
    f = ops.square(t) - baseline
    score_mean = (t - t_mean) / ops.square(sigma)
    score_log_var = 0.5 * (ops.square(t - t_mean) / ops.square(sigma) - 1.0)
    return ops.mean(f * score_mean, axis=-1), ops.mean(f * score_log_var, axis=-1)


def score_through_epsilon(t_mean, t_log_var, epsilon, baseline=0.0):
    sigma = np.exp(t_log_var / 2)
    t = t_mean + sigma * epsilon
    weight = t**2 - baseline
    grad_mean = (weight * epsilon / sigma).mean(axis=-1)
    grad_log_var = (weight * (epsilon**2 - 1) / 2).mean(axis=-1)
    return grad_mean, grad_log_var


def score_float32(t_mean, t_log_var, epsilon, baseline=0.0):
    epsilon = np.asarray(epsilon, np.float32)
    variance = np.float32(np.exp(t_log_var))
    t = np.float32(t_mean) + np.sqrt(variance) * epsilon
    f = t * t - np.float32(baseline)
    score_mean = (t - np.float32(t_mean)) / variance
    score_log_var = np.float32(0.5) * ((t - np.float32(t_mean)) ** 2 / variance - 1)
    return np.mean(f * score_mean, axis=-1), np.mean(f * score_log_var, axis=-1)


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
    Variant(score_wrt_std, "score_function_gradient",
            ("score_log_var", "score_unbiased"), "score_wrt_std"),
    Variant(score_missing_half, "score_function_gradient",
            ("score_log_var", "score_unbiased"), "score_missing_half"),
    Variant(score_mean_over_sigma, "score_function_gradient",
            ("score_mean", "score_unbiased", "score_baseline"), "score_mean_over_sigma"),
    Variant(score_no_baseline, "score_function_gradient", ("score_baseline",),
            "score_no_baseline"),
    Variant(score_baseline_on_score, "score_function_gradient", ("score_baseline",),
            "score_baseline_on_score"),
    Variant(score_pathwise, "score_function_gradient",
            ("score_mean", "score_log_var", "score_baseline"), "score_pathwise"),
    Variant(score_sum_over_samples, "score_function_gradient",
            ("score_mean", "score_log_var", "score_unbiased", "score_baseline"), "score_sum"),
    Variant(score_mean_over_repeats, "score_function_gradient", SCORE_CELLS, "score_axis"),
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
    Variant(best_mean_of_f, "best_baseline", BEST_CELLS, "best_mean_of_f"),
    Variant(best_score_not_squared, "best_baseline", BEST_CELLS, "best_score_not_squared"),
    Variant(best_swapped, "best_baseline", BEST_CELLS, "best_swapped"),
    Variant(best_mean_over_repeats, "best_baseline", BEST_CELLS, "best_axis"),
)  # fmt: skip

ACCEPTABLE = (
    Variant(pathwise_keras_ops, "pathwise_gradient"),
    Variant(pathwise_through_t_minus_mean, "pathwise_gradient"),
    Variant(pathwise_gradient_tape, "pathwise_gradient"),
    Variant(score_keras_ops, "score_function_gradient"),
    Variant(score_through_epsilon, "score_function_gradient"),
    Variant(score_float32, "score_function_gradient"),
    Variant(best_sums_and_epsilon, "best_baseline"),
    Variant(best_keras_ops, "best_baseline"),
)


def pathwise_mistake_values(t_mean, t_log_var, epsilon) -> dict[str, dict | None]:
    """What each known `pathwise_gradient` mistake returns on these inputs, keyed by its hint.

    `{"grad_mean": [...], "grad_log_var": [...]}`, or None where a mistake crashes or returns
    something other than two finite arrays: such a value names no mistake. Checks use these
    values to say which mistake a wrong answer most likely is.
    """
    return _mistake_values("pathwise_gradient", t_mean, t_log_var, epsilon)


def score_mistake_values(t_mean, t_log_var, epsilon, baseline) -> dict[str, dict | None]:
    """As `pathwise_mistake_values`, for the known `score_function_gradient` mistakes."""
    return _mistake_values("score_function_gradient", t_mean, t_log_var, epsilon, baseline)


def best_mistake_values(t_mean, t_log_var, epsilon) -> dict[str, dict | None]:
    """As `pathwise_mistake_values`, for the known `best_baseline` mistakes."""
    return _mistake_values("best_baseline", t_mean, t_log_var, epsilon)


def _mistake_values(target, t_mean, t_log_var, epsilon, *extra) -> dict[str, dict | None]:
    values = {}
    for mistake in MISTAKES:
        if mistake.target != target:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                grad_mean, grad_log_var = mistake.function(t_mean, t_log_var, epsilon.copy(),
                                                           *extra)  # fmt: skip
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
