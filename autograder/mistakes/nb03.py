"""Notebook 03: known mistakes in `corrupt`, and acceptable variants.

The functions use the names a student's notebook has: `keras`, `ops`, `np` and `SEED`;
one that needs TensorFlow imports it, as a student would.
"""

from __future__ import annotations

import math
import warnings

import keras
import numpy as np
from keras import ops

from autograder.mistakes import Variant
from course import SEED

CORRUPT_CELLS = (
    "corrupt_shape_dtype", "corrupt_range", "corrupt_drop_fraction", "corrupt_drop_values",
    "corrupt_noise_statistics", "corrupt_combined", "corrupt_fresh_noise", "corrupt_seeded",
)  # fmt: skip


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
)  # fmt: skip

ACCEPTABLE = (
    Variant(corrupt_tf_greater_than, "corrupt"),
    Variant(corrupt_rescaled_dropout, "corrupt"),
    Variant(corrupt_only_what_is_asked, "corrupt"),
)


def mistake_values(cell: str, measure) -> dict:
    """What `measure(corrupt)` gives for each known mistake that loses `cell`, by its hint.

    None where the mistake crashes or gives a value that is not finite: such a value names
    no mistake. Checks use these values to say which mistake a wrong answer most likely is.
    Every fixture has its own seeded generator, so the values repeat exactly.
    """
    values = {}
    for mistake in MISTAKES:
        if cell not in mistake.loses:
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
