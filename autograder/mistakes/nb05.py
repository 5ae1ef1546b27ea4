"""Notebook 05: known mistakes in `kl_divergence`, `gaussian_kl` and `moment_matched_gaussian`,
and acceptable variants.

The functions use the names a student's notebook has: `keras`, `ops`, `np`; one that needs
TensorFlow imports it, as a student would.
"""

from __future__ import annotations

import math
import warnings

import keras  # noqa: F401  (the student's namespace; some variants use it)
import numpy as np
from keras import ops

from autograder.mistakes import Variant

KL_VALUE_CELLS = ("kl_shape", "kl_known_values", "kl_symmetry", "kl_random")
GAUSSIAN_KL_CELLS = ("gaussian_kl_zero", "gaussian_kl_diagonal", "gaussian_kl_full")
MOMENT_CELLS = (
    "moment_shapes", "moment_known", "moment_weights", "moment_random", "moment_stationary",
)  # fmt: skip
# The cells a wrong formula loses; moment_known's mixtures have equal weights, so a formula
# that ignores the weights keeps it, and only moment_weights has weights that do not sum to 1.
MOMENT_FORMULA_CELLS = ("moment_known", "moment_weights", "moment_random", "moment_stationary")
MOMENT_WEIGHTED_CELLS = ("moment_weights", "moment_random", "moment_stationary")


# ----------------------------------------------------------------------- kl_divergence mistakes


def kl_mean_over_latent(t_mean, t_log_var):
    return 0.5 * ops.mean(ops.square(t_mean) + ops.exp(t_log_var) - 1 - t_log_var, axis=1)


def kl_missing_half(t_mean, t_log_var):
    return ops.sum(ops.square(t_mean) + ops.exp(t_log_var) - 1 - t_log_var, axis=1)


def kl_log_var_as_log_std(t_mean, t_log_var):
    variance = ops.exp(2 * t_log_var)
    return 0.5 * ops.sum(ops.square(t_mean) + variance - 1 - ops.log(variance), axis=1)


def kl_mean_not_squared(t_mean, t_log_var):
    return 0.5 * ops.sum(t_mean + ops.exp(t_log_var) - 1 - t_log_var, axis=1)


def kl_sign(t_mean, t_log_var):
    return 0.5 * ops.sum(1 + t_log_var - ops.square(t_mean) - ops.exp(t_log_var), axis=1)


def kl_summed_over_batch(t_mean, t_log_var):
    return 0.5 * ops.sum(ops.square(t_mean) + ops.exp(t_log_var) - 1 - t_log_var)


def kl_keepdims(t_mean, t_log_var):
    return 0.5 * ops.sum(
        ops.square(t_mean) + ops.exp(t_log_var) - 1 - t_log_var, axis=-1, keepdims=True
    )


def kl_numpy(t_mean, t_log_var):
    t_mean = np.asarray(t_mean)
    t_log_var = np.asarray(t_log_var)
    return 0.5 * np.sum(t_mean**2 + np.exp(t_log_var) - 1 - t_log_var, axis=1)


def kl_numpy_exp(t_mean, t_log_var):
    return 0.5 * ops.sum(ops.square(t_mean) + np.exp(t_log_var) - 1.0 - t_log_var, axis=1)


def kl_numpy_square(t_mean, t_log_var):
    return 0.5 * ops.sum(np.square(t_mean) + ops.exp(t_log_var) - 1.0 - t_log_var, axis=1)


# ----------------------------------------------------------------------- gaussian_kl mistakes


def gaussian_kl_other_direction(mean_q, cov_q, mean_p, cov_p):
    dim = len(mean_q)
    cov_q_inv = np.linalg.inv(cov_q)
    difference = mean_q - mean_p
    return 0.5 * (np.trace(cov_q_inv @ cov_p) + difference @ cov_q_inv @ difference - dim
                  + np.log(np.linalg.det(cov_q) / np.linalg.det(cov_p)))  # fmt: skip


def gaussian_kl_elementwise_product(mean_q, cov_q, mean_p, cov_p):
    dim = len(mean_q)
    cov_p_inv = np.linalg.inv(cov_p)
    difference = mean_p - mean_q
    return 0.5 * (np.trace(cov_p_inv * cov_q) + difference @ cov_p_inv @ difference - dim
                  + np.log(np.linalg.det(cov_p) / np.linalg.det(cov_q)))  # fmt: skip


def gaussian_kl_log_det_upside_down(mean_q, cov_q, mean_p, cov_p):
    dim = len(mean_q)
    cov_p_inv = np.linalg.inv(cov_p)
    difference = mean_p - mean_q
    return 0.5 * (np.trace(cov_p_inv @ cov_q) + difference @ cov_p_inv @ difference - dim
                  + np.log(np.linalg.det(cov_q) / np.linalg.det(cov_p)))  # fmt: skip


def gaussian_kl_missing_dimension(mean_q, cov_q, mean_p, cov_p):
    cov_p_inv = np.linalg.inv(cov_p)
    difference = mean_p - mean_q
    return 0.5 * (np.trace(cov_p_inv @ cov_q) + difference @ cov_p_inv @ difference
                  + np.log(np.linalg.det(cov_p) / np.linalg.det(cov_q)))  # fmt: skip


def gaussian_kl_missing_half(mean_q, cov_q, mean_p, cov_p):
    dim = len(mean_q)
    cov_p_inv = np.linalg.inv(cov_p)
    difference = mean_p - mean_q
    return (np.trace(cov_p_inv @ cov_q) + difference @ cov_p_inv @ difference - dim
            + np.log(np.linalg.det(cov_p) / np.linalg.det(cov_q)))  # fmt: skip


# ----------------------------------------------------------------------- moment matching mistakes


def moment_no_spread(weights, means, covariances):
    weights = weights / np.sum(weights)
    mean = weights @ means
    covariance = np.einsum("k,kij->ij", weights, covariances)
    return mean, covariance


def moment_no_within(weights, means, covariances):
    weights = weights / np.sum(weights)
    mean = weights @ means
    offsets = means - mean
    covariance = (weights[:, None] * offsets).T @ offsets
    return mean, covariance


def moment_unweighted(weights, means, covariances):
    mean = np.mean(means, axis=0)
    offsets = means - mean
    covariance = np.mean(covariances, axis=0) + offsets.T @ offsets / len(means)
    return mean, covariance


def moment_spread_unweighted(weights, means, covariances):
    weights = weights / np.sum(weights)
    mean = weights @ means
    offsets = means - mean
    covariance = np.einsum("k,kij->ij", weights, covariances) + offsets.T @ offsets
    return mean, covariance


def moment_uncentered(weights, means, covariances):
    weights = weights / np.sum(weights)
    mean = weights @ means
    covariance = np.zeros_like(covariances[0])
    for w, mu, cov in zip(weights, means, covariances):
        covariance += w * (cov + np.outer(mu, mu))
    return mean, covariance


def moment_inner_not_outer(weights, means, covariances):
    weights = weights / np.sum(weights)
    mean = weights @ means
    covariance = np.zeros_like(covariances[0])
    for w, mu, cov in zip(weights, means, covariances):
        offset = mu - mean
        covariance += w * (cov + offset.T @ offset)  # .T of a 1-D array changes nothing
    return mean, covariance


def moment_spread_per_coordinate(weights, means, covariances):
    weights = weights / np.sum(weights)
    mean = weights @ means
    spread = weights @ (means - mean) ** 2
    covariance = np.einsum("k,kij->ij", weights, covariances) + np.diag(spread)
    return mean, covariance


def moment_not_normalised(weights, means, covariances):
    mean = weights @ means
    offsets = means - mean
    within = np.einsum("k,kij->ij", weights, covariances)
    return mean, within + (weights[:, None] * offsets).T @ offsets


def moment_covariance_not_normalised(weights, means, covariances):
    mean = weights @ means / np.sum(weights)
    offsets = means - mean
    within = np.einsum("k,kij->ij", weights, covariances)
    return mean, within + (weights[:, None] * offsets).T @ offsets


def moment_np_cov_unbiased(weights, means, covariances):
    mean = np.average(means, axis=0, weights=weights)
    within = np.average(covariances, axis=0, weights=weights)
    return mean, within + np.cov(means, rowvar=False, aweights=weights)


# ----------------------------------------------------------------------- acceptable variants


def kl_tf_negative_form(t_mean, t_log_var):
    import tensorflow as tf

    return -0.5 * tf.reduce_sum(1.0 + t_log_var - tf.square(t_mean) - tf.exp(t_log_var), axis=1)


def kl_through_std(t_mean, t_log_var):
    std = ops.exp(0.5 * t_log_var)
    per_dimension = 0.5 * (ops.square(t_mean) + ops.square(std) - 1.0) - ops.log(std)
    return ops.sum(per_dimension, axis=-1)


def kl_log_of_exp(t_mean, t_log_var):
    variance = ops.exp(t_log_var)
    return 0.5 * ops.sum(t_mean * t_mean + variance - 1.0 - ops.log(variance), axis=1)


def gaussian_kl_inv_and_det(mean_q, cov_q, mean_p, cov_p):
    d = mean_q.shape[0]
    cov_p_inv = np.linalg.inv(cov_p)
    diff = mean_p - mean_q
    return 0.5 * (np.trace(cov_p_inv @ cov_q) + diff.T @ cov_p_inv @ diff - d
                  + np.log(np.linalg.det(cov_p)) - np.log(np.linalg.det(cov_q)))  # fmt: skip


def gaussian_kl_cholesky(mean_q, cov_q, mean_p, cov_p):
    import scipy.linalg

    chol_p = np.linalg.cholesky(cov_p)
    chol_q = np.linalg.cholesky(cov_q)
    m = scipy.linalg.solve_triangular(chol_p, chol_q, lower=True)
    u = scipy.linalg.solve_triangular(chol_p, mean_p - mean_q, lower=True)
    log_det_ratio = 2 * (np.sum(np.log(np.diag(chol_p))) - np.sum(np.log(np.diag(chol_q))))
    return 0.5 * (np.sum(m**2) + np.sum(u**2) - len(mean_q) + log_det_ratio)


def gaussian_kl_keras_ops(mean_q, cov_q, mean_p, cov_p):
    dim = ops.shape(mean_q)[0]
    difference = mean_p - mean_q
    trace_term = ops.trace(ops.solve(cov_p, cov_q))
    quadratic_term = ops.sum(difference * ops.solve(cov_p, difference))
    log_det_ratio = ops.slogdet(cov_p)[1] - ops.slogdet(cov_q)[1]
    return 0.5 * (trace_term + quadratic_term - dim + log_det_ratio)


def moment_einsum(weights, means, covariances):
    weights = weights / weights.sum()
    mean = np.einsum("k,ki->i", weights, means)
    offsets = means - mean
    covariance = np.einsum("k,kij->ij", weights, covariances) + np.einsum(
        "k,ki,kj->ij", weights, offsets, offsets
    )
    return mean, covariance


def moment_loops(weights, means, covariances):
    total = sum(weights)
    mean = sum(w * mu for w, mu in zip(weights, means)) / total
    covariance = np.zeros((len(mean), len(mean)))
    for w, mu, cov in zip(weights, means, covariances):
        covariance += w / total * (cov + np.outer(mu - mean, mu - mean))
    return mean, covariance


def moment_np_cov(weights, means, covariances):
    mean = np.average(means, axis=0, weights=weights)
    within = np.average(covariances, axis=0, weights=weights)
    between = np.cov(means, rowvar=False, aweights=weights, bias=True)
    return mean, within + between


def moment_second_moment(weights, means, covariances):
    weights = weights / weights.sum()
    mean = weights @ means
    second_moment = np.einsum("k,kij->ij", weights, covariances + np.einsum(
        "ki,kj->kij", means, means))  # fmt: skip
    return mean, second_moment - np.outer(mean, mean)


def moment_keras_ops_float32(weights, means, covariances):
    weights = ops.convert_to_tensor(weights, dtype="float32")
    means = ops.convert_to_tensor(means, dtype="float32")
    covariances = ops.convert_to_tensor(covariances, dtype="float32")
    weights = weights / ops.sum(weights)
    mean = ops.sum(weights[:, None] * means, axis=0)
    offsets = means - mean
    spread = offsets[:, :, None] * offsets[:, None, :]
    covariance = ops.sum(weights[:, None, None] * (covariances + spread), axis=0)
    return mean, covariance


MISTAKES = (
    Variant(kl_mean_over_latent, "kl_divergence",
            ("kl_known_values", "kl_random"), "mean_over_latent"),
    Variant(kl_missing_half, "kl_divergence", ("kl_known_values", "kl_random"), "missing_half"),
    Variant(kl_log_var_as_log_std, "kl_divergence",
            ("kl_known_values", "kl_random"), "log_var_as_log_std"),
    Variant(kl_mean_not_squared, "kl_divergence",
            ("kl_known_values", "kl_symmetry", "kl_random"), "mean_not_squared"),
    Variant(kl_sign, "kl_divergence", ("kl_known_values", "kl_random"), "kl_sign"),
    Variant(kl_summed_over_batch, "kl_divergence", KL_VALUE_CELLS, "not_per_example"),
    Variant(kl_keepdims, "kl_divergence", ("kl_shape",), "keepdims"),
    Variant(kl_numpy, "kl_divergence", ("kl_gradient",), "no_gradient"),
    Variant(kl_numpy_exp, "kl_divergence", ("kl_gradient",), "numpy_part"),
    Variant(kl_numpy_square, "kl_divergence", ("kl_gradient",), "numpy_part"),
    Variant(gaussian_kl_other_direction, "gaussian_kl",
            ("gaussian_kl_diagonal", "gaussian_kl_full"), "direction"),
    Variant(gaussian_kl_elementwise_product, "gaussian_kl",
            ("gaussian_kl_zero", "gaussian_kl_full"), "elementwise_product"),
    Variant(gaussian_kl_log_det_upside_down, "gaussian_kl",
            ("gaussian_kl_diagonal", "gaussian_kl_full"), "log_det_ratio"),
    Variant(gaussian_kl_missing_dimension, "gaussian_kl", GAUSSIAN_KL_CELLS, "missing_dimension"),
    Variant(gaussian_kl_missing_half, "gaussian_kl",
            ("gaussian_kl_diagonal", "gaussian_kl_full"), "missing_half_general"),
    Variant(moment_no_spread, "moment_matched_gaussian", MOMENT_FORMULA_CELLS, "no_spread"),
    Variant(moment_no_within, "moment_matched_gaussian", MOMENT_FORMULA_CELLS, "no_within"),
    Variant(moment_unweighted, "moment_matched_gaussian", MOMENT_WEIGHTED_CELLS, "unweighted"),
    Variant(moment_spread_unweighted, "moment_matched_gaussian", MOMENT_FORMULA_CELLS,
            "spread_unweighted"),
    Variant(moment_uncentered, "moment_matched_gaussian", MOMENT_FORMULA_CELLS, "uncentered"),
    Variant(moment_inner_not_outer, "moment_matched_gaussian", MOMENT_FORMULA_CELLS,
            "inner_not_outer"),
    Variant(moment_spread_per_coordinate, "moment_matched_gaussian", MOMENT_FORMULA_CELLS,
            "spread_per_coordinate"),
    Variant(moment_not_normalised, "moment_matched_gaussian", ("moment_weights",),
            "not_normalised"),
    Variant(moment_covariance_not_normalised, "moment_matched_gaussian", ("moment_weights",),
            "covariance_not_normalised"),
    Variant(moment_np_cov_unbiased, "moment_matched_gaussian", MOMENT_FORMULA_CELLS,
            "np_cov_unbiased"),
)  # fmt: skip

ACCEPTABLE = (
    Variant(kl_tf_negative_form, "kl_divergence"),
    Variant(kl_through_std, "kl_divergence"),
    Variant(kl_log_of_exp, "kl_divergence"),
    Variant(gaussian_kl_inv_and_det, "gaussian_kl"),
    Variant(gaussian_kl_cholesky, "gaussian_kl"),
    Variant(gaussian_kl_keras_ops, "gaussian_kl"),
    Variant(moment_einsum, "moment_matched_gaussian"),
    Variant(moment_loops, "moment_matched_gaussian"),
    Variant(moment_np_cov, "moment_matched_gaussian"),
    Variant(moment_second_moment, "moment_matched_gaussian"),
    Variant(moment_keras_ops_float32, "moment_matched_gaussian"),
)


def _quiet_numpy(function, *args):
    """`function(*args)` as a float64 array, or None if it crashes."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(ops.convert_to_numpy(function(*args)), np.float64)
    except Exception:  # a mistake may well crash on these inputs
        return None


def kl_mistake_values(inputs) -> dict[str, list[float] | None]:
    """What each known `kl_divergence` mistake returns on `inputs`, keyed by its hint.

    A list of one finite value per example; None where a mistake crashes or does not
    return one finite value per example (the shape checks name those).
    """
    tensors = [ops.convert_to_tensor(a) for a in inputs]
    batch_size = inputs[0].shape[0]
    values = {}
    for mistake in MISTAKES:
        if mistake.target != "kl_divergence" or set(mistake.loses) <= {"kl_gradient"}:
            continue  # a gradient mistake gives the right values
        out = _quiet_numpy(mistake.function, *tensors)
        ok = out is not None and out.size == batch_size and np.all(np.isfinite(out))
        values[mistake.hint] = [round(float(v), 6) for v in out.reshape(-1)] if ok else None
    return values


def gaussian_kl_mistake_values(pair) -> dict[str, float | None]:
    """What each known `gaussian_kl` mistake returns on `pair`, keyed by its hint."""
    values = {}
    for mistake in MISTAKES:
        if mistake.target != "gaussian_kl":
            continue
        out = _quiet_numpy(mistake.function, *(np.array(a) for a in pair))
        ok = out is not None and out.size == 1 and math.isfinite(float(out.reshape(-1)[0]))
        values[mistake.hint] = round(float(out.reshape(-1)[0]), 9) if ok else None
    return values


def moment_mistake_values(inputs) -> dict[str, dict | None]:
    """What each known `moment_matched_gaussian` mistake returns on `inputs` (weights, means,
    covariances), keyed by its hint: {"mean": (d,), "covariance": (d, d)} as lists, or None
    where it crashes or returns anything else (the shape checks name those)."""
    dim = np.shape(inputs[1])[1]
    values = {}
    for mistake in MISTAKES:
        if mistake.target != "moment_matched_gaussian":
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mean, covariance = mistake.function(*(np.array(a) for a in inputs))
            mean = np.asarray(ops.convert_to_numpy(mean), np.float64)
            covariance = np.asarray(ops.convert_to_numpy(covariance), np.float64)
        except Exception:  # a mistake may well crash on these inputs
            mean = covariance = None
        ok = (mean is not None and mean.shape == (dim,) and covariance.shape == (dim, dim)
              and np.all(np.isfinite(mean)) and np.all(np.isfinite(covariance)))  # fmt: skip
        values[mistake.hint] = (
            {"mean": mean.tolist(), "covariance": covariance.tolist()} if ok else None
        )
    return values
