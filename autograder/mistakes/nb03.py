"""Notebook 03: known mistakes in `corrupt` and `posterior_mean`, and acceptable variants.

The functions use the names a student's notebook has: `keras`, `ops`, `np`, `SEED`, `norm`
(scipy.stats) and `softmax` (scipy.special); one that needs anything else imports it, as a
student would.
"""

from __future__ import annotations

import math
import warnings

import keras
import numpy as np
from keras import ops
from scipy.special import softmax
from scipy.stats import norm

from autograder.mistakes import Variant
from course import SEED

CORRUPT_CELLS = (
    "corrupt_shape_dtype", "corrupt_range", "corrupt_drop_fraction", "corrupt_drop_values",
    "corrupt_noise_statistics", "corrupt_combined", "corrupt_fresh_noise", "corrupt_seeded",
)  # fmt: skip
POSTERIOR_CELLS = (
    "posterior_shape", "posterior_unclipped", "posterior_clipped", "posterior_stable",
    "posterior_average", "posterior_world",
)  # fmt: skip
# The cells that compare the probabilities with the exact posterior's.
POSTERIOR_VALUE_CELLS = ("posterior_unclipped", "posterior_clipped", "posterior_world")


# ----------------------------------------------------------------------------- mistakes


def corrupt_keeps_with_p(x, seed_generator, drop_probability=0.0, noise_std=0.0):
    noise = keras.random.normal(ops.shape(x), stddev=noise_std, seed=seed_generator)
    noisy = ops.clip(x + noise, 0.0, 1.0)
    mask = keras.random.uniform(ops.shape(x), seed=seed_generator) < drop_probability
    return noisy * ops.cast(mask, "float32")


def corrupt_inverted_dropout(x, seed_generator, drop_probability=0.0, noise_std=0.0):
    noise = keras.random.normal(ops.shape(x), stddev=noise_std, seed=seed_generator)
    noisy = ops.clip(x + noise, 0.0, 1.0)
    return keras.random.dropout(noisy, drop_probability, seed=seed_generator)


def corrupt_integer_seed(x, seed_generator, drop_probability=0.0, noise_std=0.0):
    noise = keras.random.normal(ops.shape(x), stddev=noise_std, seed=SEED)
    noisy = ops.clip(x + noise, 0.0, 1.0)
    keep = keras.random.uniform(ops.shape(x), seed=SEED + 1) >= drop_probability
    return ops.where(keep, noisy, 0.0)


def corrupt_noise_as_variance(x, seed_generator, drop_probability=0.0, noise_std=0.0):
    noise = keras.random.normal(ops.shape(x), stddev=np.sqrt(noise_std), seed=seed_generator)
    noisy = ops.clip(x + noise, 0.0, 1.0)
    keep = keras.random.uniform(ops.shape(x), seed=seed_generator) >= drop_probability
    return ops.where(keep, noisy, 0.0)


def corrupt_no_clipping(x, seed_generator, drop_probability=0.0, noise_std=0.0):
    noise = keras.random.normal(ops.shape(x), stddev=noise_std, seed=seed_generator)
    keep = keras.random.uniform(ops.shape(x), seed=seed_generator) >= drop_probability
    return ops.where(keep, x + noise, 0.0)


def corrupt_mask_then_noise(x, seed_generator, drop_probability=0.0, noise_std=0.0):
    keep = keras.random.uniform(ops.shape(x), seed=seed_generator) >= drop_probability
    masked = ops.where(keep, x, 0.0)
    noise = keras.random.normal(ops.shape(x), stddev=noise_std, seed=seed_generator)
    return ops.clip(masked + noise, 0.0, 1.0)


def corrupt_numpy_random(x, seed_generator, drop_probability=0.0, noise_std=0.0):
    shape = ops.shape(x)
    noise = np.random.normal(0.0, noise_std, size=shape).astype("float32")
    keep = (np.random.random(shape) >= drop_probability).astype("float32")
    return ops.clip(x + noise, 0.0, 1.0) * keep


def corrupt_static_shape(x, seed_generator, drop_probability=0.0, noise_std=0.0):
    noise = keras.random.normal(x.shape, stddev=noise_std, seed=seed_generator)
    noisy = ops.clip(x + noise, 0.0, 1.0)
    keep = keras.random.uniform(x.shape, seed=seed_generator) >= drop_probability
    return ops.where(keep, noisy, 0.0)


def corrupt_truncated_noise(x, seed_generator, drop_probability=0.0, noise_std=0.0):
    noise = keras.random.truncated_normal(ops.shape(x), stddev=noise_std, seed=seed_generator)
    noisy = ops.clip(x + noise, 0.0, 1.0)
    keep = keras.random.uniform(ops.shape(x), seed=seed_generator) >= drop_probability
    return ops.where(keep, noisy, 0.0)


# ----------------------------------------------------------------------------- acceptable


def corrupt_tf_greater_than(x, seed_generator, drop_probability=0.0, noise_std=0.0):
    import tensorflow as tf

    noise = noise_std * keras.random.normal(tf.shape(x), seed=seed_generator)
    noisy = tf.clip_by_value(x + noise, 0.0, 1.0)
    keep = keras.random.uniform(tf.shape(x), seed=seed_generator) > drop_probability
    return noisy * tf.cast(keep, tf.float32)


def corrupt_rescaled_dropout(x, seed_generator, drop_probability=0.0, noise_std=0.0):
    noise = keras.random.normal(ops.shape(x), stddev=noise_std, seed=seed_generator)
    noisy = ops.clip(x + noise, 0.0, 1.0)
    # keras.random.dropout scales kept values by 1 / (1 - rate): undo it
    return keras.random.dropout(noisy, drop_probability, seed=seed_generator) * (
        1.0 - drop_probability
    )


def corrupt_only_what_is_asked(x, seed_generator, drop_probability=0.0, noise_std=0.0):
    x = ops.convert_to_tensor(x, dtype="float32")
    if noise_std > 0:
        noise = keras.random.normal(ops.shape(x), stddev=noise_std, seed=seed_generator)
        x = ops.minimum(ops.maximum(x + noise, 0.0), 1.0)
    if drop_probability > 0:
        keep = keras.random.binomial(ops.shape(x), 1.0, 1.0 - drop_probability, seed=seed_generator)
        x = x * keep
    return x


# ---------------------------------------------------------------------- posterior: mistakes


def posterior_no_clipping(x_tilde, candidates, noise_std):
    pixels = np.asarray(x_tilde, dtype="float64").reshape(len(x_tilde), -1)
    clean = np.asarray(candidates, dtype="float64").reshape(len(candidates), -1)
    log_likelihoods = np.empty((len(pixels), len(clean)))
    for k, x in enumerate(clean):
        per_pixel = norm.logpdf((pixels - x) / noise_std) - np.log(noise_std)
        log_likelihoods[:, k] = per_pixel.sum(axis=1)
    probabilities = softmax(log_likelihoods, axis=1)
    means = (probabilities @ clean).reshape(len(pixels), *np.shape(candidates)[1:])
    return probabilities, means


def posterior_lower_tail_sign(x_tilde, candidates, noise_std):
    pixels = np.asarray(x_tilde, dtype="float64").reshape(len(x_tilde), -1)
    clean = np.asarray(candidates, dtype="float64").reshape(len(candidates), -1)
    log_likelihoods = np.empty((len(pixels), len(clean)))
    for k, x in enumerate(clean):
        below = norm.logcdf(x / noise_std)
        above = norm.logsf((1.0 - x) / noise_std)
        inside = norm.logpdf((pixels - x) / noise_std) - np.log(noise_std)
        per_pixel = np.where(pixels <= 0.0, below, np.where(pixels >= 1.0, above, inside))
        log_likelihoods[:, k] = per_pixel.sum(axis=1)
    probabilities = softmax(log_likelihoods, axis=1)
    means = (probabilities @ clean).reshape(len(pixels), *np.shape(candidates)[1:])
    return probabilities, means


def posterior_upper_tail_side(x_tilde, candidates, noise_std):
    pixels = np.asarray(x_tilde, dtype="float64").reshape(len(x_tilde), -1)
    clean = np.asarray(candidates, dtype="float64").reshape(len(candidates), -1)
    log_likelihoods = np.empty((len(pixels), len(clean)))
    for k, x in enumerate(clean):
        below = norm.logcdf(-x / noise_std)
        above = norm.logcdf((1.0 - x) / noise_std)
        inside = norm.logpdf((pixels - x) / noise_std) - np.log(noise_std)
        per_pixel = np.where(pixels <= 0.0, below, np.where(pixels >= 1.0, above, inside))
        log_likelihoods[:, k] = per_pixel.sum(axis=1)
    probabilities = softmax(log_likelihoods, axis=1)
    means = (probabilities @ clean).reshape(len(pixels), *np.shape(candidates)[1:])
    return probabilities, means


def posterior_std_as_variance(x_tilde, candidates, noise_std):
    scale = np.sqrt(noise_std)
    pixels = np.asarray(x_tilde, dtype="float64").reshape(len(x_tilde), -1)
    clean = np.asarray(candidates, dtype="float64").reshape(len(candidates), -1)
    log_likelihoods = np.empty((len(pixels), len(clean)))
    for k, x in enumerate(clean):
        below = norm.logcdf(-x / scale)
        above = norm.logsf((1.0 - x) / scale)
        inside = norm.logpdf((pixels - x) / scale) - np.log(scale)
        per_pixel = np.where(pixels <= 0.0, below, np.where(pixels >= 1.0, above, inside))
        log_likelihoods[:, k] = per_pixel.sum(axis=1)
    probabilities = softmax(log_likelihoods, axis=1)
    means = (probabilities @ clean).reshape(len(pixels), *np.shape(candidates)[1:])
    return probabilities, means


def posterior_naive_exp(x_tilde, candidates, noise_std):
    pixels = np.asarray(x_tilde, dtype="float64").reshape(len(x_tilde), -1)
    clean = np.asarray(candidates, dtype="float64").reshape(len(candidates), -1)
    log_likelihoods = np.empty((len(pixels), len(clean)))
    for k, x in enumerate(clean):
        below = norm.logcdf(-x / noise_std)
        above = norm.logsf((1.0 - x) / noise_std)
        inside = norm.logpdf((pixels - x) / noise_std) - np.log(noise_std)
        per_pixel = np.where(pixels <= 0.0, below, np.where(pixels >= 1.0, above, inside))
        log_likelihoods[:, k] = per_pixel.sum(axis=1)
    likelihoods = np.exp(log_likelihoods)
    probabilities = likelihoods / likelihoods.sum(axis=1, keepdims=True)
    means = (probabilities @ clean).reshape(len(x_tilde), *np.shape(candidates)[1:])
    return probabilities, means


def posterior_exp_relative_to_first(x_tilde, candidates, noise_std):
    pixels = np.asarray(x_tilde, dtype="float64").reshape(len(x_tilde), -1)
    clean = np.asarray(candidates, dtype="float64").reshape(len(candidates), -1)
    log_likelihoods = np.empty((len(pixels), len(clean)))
    for k, x in enumerate(clean):
        below = norm.logcdf(-x / noise_std)
        above = norm.logsf((1.0 - x) / noise_std)
        inside = norm.logpdf((pixels - x) / noise_std) - np.log(noise_std)
        per_pixel = np.where(pixels <= 0.0, below, np.where(pixels >= 1.0, above, inside))
        log_likelihoods[:, k] = per_pixel.sum(axis=1)
    ratios = np.exp(log_likelihoods - log_likelihoods[:, :1])
    probabilities = ratios / ratios.sum(axis=1, keepdims=True)
    means = (probabilities @ clean).reshape(len(x_tilde), *np.shape(candidates)[1:])
    return probabilities, means


def posterior_not_normalised(x_tilde, candidates, noise_std):
    pixels = np.asarray(x_tilde, dtype="float64").reshape(len(x_tilde), -1)
    clean = np.asarray(candidates, dtype="float64").reshape(len(candidates), -1)
    log_likelihoods = np.empty((len(pixels), len(clean)))
    for k, x in enumerate(clean):
        below = norm.logcdf(-x / noise_std)
        above = norm.logsf((1.0 - x) / noise_std)
        inside = norm.logpdf((pixels - x) / noise_std) - np.log(noise_std)
        per_pixel = np.where(pixels <= 0.0, below, np.where(pixels >= 1.0, above, inside))
        log_likelihoods[:, k] = per_pixel.sum(axis=1)
    probabilities = np.exp(log_likelihoods - log_likelihoods.max(axis=1, keepdims=True))
    means = (probabilities @ clean).reshape(len(x_tilde), *np.shape(candidates)[1:])
    return probabilities, means


def posterior_wrong_axis(x_tilde, candidates, noise_std):
    pixels = np.asarray(x_tilde, dtype="float64").reshape(len(x_tilde), -1)
    clean = np.asarray(candidates, dtype="float64").reshape(len(candidates), -1)
    log_likelihoods = np.empty((len(pixels), len(clean)))
    for k, x in enumerate(clean):
        below = norm.logcdf(-x / noise_std)
        above = norm.logsf((1.0 - x) / noise_std)
        inside = norm.logpdf((pixels - x) / noise_std) - np.log(noise_std)
        per_pixel = np.where(pixels <= 0.0, below, np.where(pixels >= 1.0, above, inside))
        log_likelihoods[:, k] = per_pixel.sum(axis=1)
    probabilities = softmax(log_likelihoods, axis=0)
    means = (probabilities @ clean).reshape(len(x_tilde), *np.shape(candidates)[1:])
    return probabilities, means


def posterior_uniform_mean(x_tilde, candidates, noise_std):
    pixels = np.asarray(x_tilde, dtype="float64").reshape(len(x_tilde), -1)
    clean = np.asarray(candidates, dtype="float64").reshape(len(candidates), -1)
    log_likelihoods = np.empty((len(pixels), len(clean)))
    for k, x in enumerate(clean):
        below = norm.logcdf(-x / noise_std)
        above = norm.logsf((1.0 - x) / noise_std)
        inside = norm.logpdf((pixels - x) / noise_std) - np.log(noise_std)
        per_pixel = np.where(pixels <= 0.0, below, np.where(pixels >= 1.0, above, inside))
        log_likelihoods[:, k] = per_pixel.sum(axis=1)
    probabilities = softmax(log_likelihoods, axis=1)
    means = np.repeat(np.mean(candidates, axis=0, keepdims=True), len(x_tilde), axis=0)
    return probabilities, means


def posterior_unnormalised_mean(x_tilde, candidates, noise_std):
    pixels = np.asarray(x_tilde, dtype="float64").reshape(len(x_tilde), -1)
    clean = np.asarray(candidates, dtype="float64").reshape(len(candidates), -1)
    log_likelihoods = np.empty((len(pixels), len(clean)))
    for k, x in enumerate(clean):
        below = norm.logcdf(-x / noise_std)
        above = norm.logsf((1.0 - x) / noise_std)
        inside = norm.logpdf((pixels - x) / noise_std) - np.log(noise_std)
        per_pixel = np.where(pixels <= 0.0, below, np.where(pixels >= 1.0, above, inside))
        log_likelihoods[:, k] = per_pixel.sum(axis=1)
    weights = np.exp(log_likelihoods - log_likelihoods.max(axis=1, keepdims=True))
    probabilities = weights / weights.sum(axis=1, keepdims=True)
    means = (weights @ clean).reshape(len(x_tilde), *np.shape(candidates)[1:])
    return probabilities, means


# ---------------------------------------------------------------------- posterior: acceptable


def posterior_broadcast_softmax(x_tilde, candidates, noise_std):
    x_tilde = np.asarray(x_tilde)[:, None]  # (n, 1, 28, 28) against (1, K, 28, 28)
    x = np.asarray(candidates)[None]
    below = norm.logcdf(-x / noise_std)
    above = norm.logsf((1 - x) / noise_std)
    inside = norm.logpdf(x_tilde, loc=x, scale=noise_std)
    per_pixel = np.where(x_tilde == 0, below, np.where(x_tilde == 1, above, inside))
    probabilities = softmax(per_pixel.sum(axis=(2, 3)), axis=1)
    means = np.einsum("nk,kij->nij", probabilities, candidates)
    return probabilities, means


def posterior_logsumexp_plain_logs(x_tilde, candidates, noise_std):
    from scipy.special import logsumexp

    log_likelihoods = []
    for x in candidates:
        lower = np.log(norm.cdf(-x / noise_std))
        upper = np.log(1 - norm.cdf((1 - x) / noise_std))
        density = np.log(norm.pdf((x_tilde - x) / noise_std) / noise_std)
        per_pixel = np.select([x_tilde <= 0, x_tilde >= 1], [lower, upper], density)
        log_likelihoods.append(per_pixel.sum(axis=(1, 2)))
    log_likelihoods = np.stack(log_likelihoods, axis=1)
    probabilities = np.exp(log_likelihoods - logsumexp(log_likelihoods, axis=1, keepdims=True))
    means = np.zeros(np.shape(x_tilde))
    for k, x in enumerate(candidates):
        means += probabilities[:, k, None, None] * x
    return probabilities, means


def posterior_float32(x_tilde, candidates, noise_std):
    from scipy.special import log_ndtr

    x_tilde = np.asarray(x_tilde, "float32")
    candidates = np.asarray(candidates, "float32")
    sigma = np.float32(noise_std)
    log_likelihoods = np.zeros((len(x_tilde), len(candidates)), "float32")
    for k, x in enumerate(candidates):
        z = (x_tilde - x) / sigma
        inside = -0.5 * z**2 - np.log(sigma * np.sqrt(np.float32(2 * np.pi)))
        below, above = log_ndtr(-x / sigma), log_ndtr((x - 1) / sigma)
        per_pixel = np.where(x_tilde == 0, below, np.where(x_tilde == 1, above, inside))
        log_likelihoods[:, k] = per_pixel.reshape(len(x_tilde), -1).sum(axis=1)
    best = log_likelihoods.max(axis=1, keepdims=True)
    weights = np.exp(log_likelihoods - best)
    probabilities = weights / weights.sum(axis=1, keepdims=True)
    return probabilities, np.tensordot(probabilities, candidates, axes=1)


def posterior_keras_ops(x_tilde, candidates, noise_std):
    import math

    x_tilde = ops.convert_to_tensor(x_tilde, "float32")[:, None]
    x = ops.convert_to_tensor(candidates, "float32")[None]
    root2 = math.sqrt(2.0)
    below = ops.log(0.5 * (1 + ops.erf(-x / (noise_std * root2))))
    above = ops.log(0.5 * (1 - ops.erf((1 - x) / (noise_std * root2))))
    inside = -0.5 * ((x_tilde - x) / noise_std) ** 2 - math.log(noise_std * math.sqrt(2 * math.pi))
    per_pixel = ops.where(x_tilde <= 0, below, ops.where(x_tilde >= 1, above, inside))
    probabilities = ops.softmax(ops.sum(per_pixel, axis=(2, 3)), axis=1)
    means = ops.einsum("nk,kij->nij", probabilities, x[0])
    return probabilities, means


MISTAKES = (
    # With drop_probability = 0 it turns every pixel black, so every check of Gaussian
    # noise alone fails too: a Gaussian denoiser would be trained on black images.
    Variant(corrupt_keeps_with_p, "corrupt",
            ("corrupt_range", "corrupt_drop_fraction", "corrupt_noise_statistics",
             "corrupt_combined", "corrupt_fresh_noise"), "keeps_with_p"),
    Variant(corrupt_inverted_dropout, "corrupt", ("corrupt_drop_values",), "inverted_dropout"),
    Variant(corrupt_integer_seed, "corrupt", ("corrupt_fresh_noise",), "same_noise"),
    Variant(corrupt_noise_as_variance, "corrupt",
            ("corrupt_noise_statistics",), "noise_as_variance"),
    Variant(corrupt_no_clipping, "corrupt", ("corrupt_range",), "no_clipping"),
    Variant(corrupt_mask_then_noise, "corrupt", ("corrupt_combined",), "mask_then_noise"),
    # Inside a model NumPy draws its noise once, when the model is built: it never changes.
    Variant(corrupt_numpy_random, "corrupt",
            ("corrupt_shape_dtype", "corrupt_fresh_noise", "corrupt_seeded"),
            "ignores_seed_generator"),
    Variant(corrupt_static_shape, "corrupt", ("corrupt_shape_dtype",), "static_shape"),
    Variant(corrupt_truncated_noise, "corrupt", ("corrupt_noise_statistics",), "truncated_noise"),
    # The first posterior_mean mistake is the one the end-to-end grading test submits.
    Variant(posterior_no_clipping, "posterior_mean",
            ("posterior_clipped", "posterior_world"), "posterior_no_clipping"),
    Variant(posterior_lower_tail_sign, "posterior_mean",
            ("posterior_clipped", "posterior_world"), "posterior_lower_tail"),
    Variant(posterior_upper_tail_side, "posterior_mean",
            ("posterior_clipped", "posterior_world"), "posterior_upper_tail"),
    # It also fails the close calls of the stable fixtures, whose odds it distorts.
    Variant(posterior_std_as_variance, "posterior_mean",
            (*POSTERIOR_VALUE_CELLS, "posterior_stable"), "posterior_std_as_variance"),
    # exp of a log-likelihood of -800 nats is 0 (and of +1,000 nats inf): NaN everywhere.
    Variant(posterior_naive_exp, "posterior_mean", POSTERIOR_CELLS, "posterior_naive_exp"),
    # Ratios to the first candidate overflow only when another one is far more likely.
    Variant(posterior_exp_relative_to_first, "posterior_mean", ("posterior_stable",),
            "posterior_naive_exp"),
    # Unnormalised weights are wrong probabilities, except when the evidence is overwhelming
    # (then they are exactly 0 and 1); its means use the same weights, so they are consistent.
    Variant(posterior_not_normalised, "posterior_mean",
            ("posterior_shape", *POSTERIOR_VALUE_CELLS, "posterior_stable"),
            "posterior_not_normalised"),
    Variant(posterior_wrong_axis, "posterior_mean",
            ("posterior_shape", *POSTERIOR_VALUE_CELLS, "posterior_stable"),
            "posterior_wrong_axis"),
    Variant(posterior_uniform_mean, "posterior_mean", ("posterior_average",),
            "posterior_uniform_mean"),
    Variant(posterior_unnormalised_mean, "posterior_mean", ("posterior_average",),
            "posterior_unnormalised_mean"),
)  # fmt: skip

ACCEPTABLE = (
    Variant(corrupt_tf_greater_than, "corrupt"),
    Variant(corrupt_rescaled_dropout, "corrupt"),
    Variant(corrupt_only_what_is_asked, "corrupt"),
    Variant(posterior_broadcast_softmax, "posterior_mean"),
    Variant(posterior_logsumexp_plain_logs, "posterior_mean"),
    Variant(posterior_float32, "posterior_mean"),
    Variant(posterior_keras_ops, "posterior_mean"),
)


def mistake_values(cell: str, measure) -> dict:
    """What `measure(corrupt)` gives for each known mistake that loses `cell`, by its hint.

    None where the mistake crashes or gives a value that is not finite: such a value names
    no mistake. Checks use these values to say which mistake a wrong answer most likely is.
    Every fixture has its own seeded generator, so the values repeat exactly.
    """
    values = {}
    for mistake in MISTAKES:
        if mistake.target != "corrupt" or cell not in mistake.loses:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = measure(mistake.function)
        except Exception:  # a mistake may well crash on these inputs
            values[mistake.hint] = None
            continue
        finite = all(math.isfinite(v) for v in np.ravel(value))
        values[mistake.hint] = value if finite else None
    return values


def posterior_mistake_values(x_tilde, candidates, noise_std) -> dict:
    """The probabilities (n, K) each known `posterior_mean` mistake gives, keyed by its hint.

    None where a mistake crashes or gives values that are not finite: such a value names no
    mistake (two mistakes share the hint `posterior_naive_exp`; a finite value wins).
    """
    values = {}
    for mistake in MISTAKES:
        if mistake.target != "posterior_mean":
            continue
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                probabilities, _ = mistake.function(x_tilde.copy(), candidates.copy(), noise_std)
            probabilities = np.asarray(ops.convert_to_numpy(probabilities), np.float64)
        except Exception:  # a mistake may well crash on these inputs
            probabilities = None
        if probabilities is not None and not np.all(np.isfinite(probabilities)):
            probabilities = None
        if values.get(mistake.hint) is None:
            values[mistake.hint] = probabilities
    return values
