"""Notebook 08: known mistakes in `vlb_binomial`, `sampling` and `build_cvae`, and
acceptable variants.

The functions use the names a student's notebook has: `keras`, `layers` and `ops`, and the
given `build_encoder`, `build_decoder`, `NegativeVLB`, `original_dim`; one that needs
TensorFlow imports it, as a student would. The `sampling` variants are shared with
notebook 06 and live in `autograder.mistakes.sampling`.

The CVAE's training checks train with the student's `vlb_binomial`, so they first insist
that it passes its own check: a `vlb_binomial` mistake also loses those two cells. They
build the model with a seeded `sampling` of their own, so a `sampling` mistake does not.
"""

from __future__ import annotations

import math
import warnings

import keras
from keras import ops

from autograder.mistakes import Variant
from autograder.mistakes import sampling as shared_sampling

# The build_cvae variants use names that the notebook's given cells define (build_encoder,
# build_decoder, NegativeVLB, original_dim) and the student's `sampling`; they run only in a
# notebook's namespace, where those names exist.
# ruff: noqa: F821

VLB_CELLS = ("vlb_scalar", "vlb_reconstruction", "vlb_kl", "vlb_full")
SAMPLING_CELLS = shared_sampling.CELLS
CVAE_CELLS = ("cvae_structure", "cvae_label_reaches_both", "cvae_learns", "cvae_samples")


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


# ----------------------------------------------------------------------- build_cvae mistakes


def cvae_label_only_in_encoder(latent_dim, n_classes):
    encoder = build_encoder(original_dim + n_classes, latent_dim)
    decoder = build_decoder(latent_dim)
    x = keras.Input(shape=(original_dim,))
    label = keras.Input(shape=(n_classes,))
    t_mean, t_log_var = encoder(layers.Concatenate()([x, label]))
    cond_encoder = keras.Model([x, label], [t_mean, t_log_var])
    t = keras.Input(shape=(latent_dim,))
    t_label = keras.Input(shape=(n_classes,))
    cond_decoder = keras.Model([t, t_label], decoder(t))
    x_decoded_mean = cond_decoder([layers.Lambda(sampling)([t_mean, t_log_var]), label])
    cvae = keras.Model([x, label], NegativeVLB()(x, x_decoded_mean, t_mean, t_log_var))
    return cond_encoder, cond_decoder, cvae


def cvae_label_only_in_decoder(latent_dim, n_classes):
    encoder = build_encoder(original_dim, latent_dim)
    decoder = build_decoder(latent_dim + n_classes)
    x = keras.Input(shape=(original_dim,))
    label = keras.Input(shape=(n_classes,))
    t_mean, t_log_var = encoder(x)
    cond_encoder = keras.Model([x, label], [t_mean, t_log_var])
    t = keras.Input(shape=(latent_dim,))
    t_label = keras.Input(shape=(n_classes,))
    cond_decoder = keras.Model([t, t_label], decoder(layers.Concatenate()([t, t_label])))
    x_decoded_mean = cond_decoder([layers.Lambda(sampling)([t_mean, t_log_var]), label])
    cvae = keras.Model([x, label], NegativeVLB()(x, x_decoded_mean, t_mean, t_log_var))
    return cond_encoder, cond_decoder, cvae


def cvae_label_added(latent_dim, n_classes):
    encoder = build_encoder(original_dim, latent_dim)
    decoder = build_decoder(latent_dim)
    x = keras.Input(shape=(original_dim,))
    label = keras.Input(shape=(n_classes,))
    t_mean, t_log_var = encoder(layers.Add()([x, label]))
    cond_encoder = keras.Model([x, label], [t_mean, t_log_var])
    t = keras.Input(shape=(latent_dim,))
    t_label = keras.Input(shape=(n_classes,))
    cond_decoder = keras.Model([t, t_label], decoder(layers.Add()([t, t_label])))
    x_decoded_mean = cond_decoder([layers.Lambda(sampling)([t_mean, t_log_var]), label])
    cvae = keras.Model([x, label], NegativeVLB()(x, x_decoded_mean, t_mean, t_log_var))
    return cond_encoder, cond_decoder, cvae


def cvae_decoder_gets_mean(latent_dim, n_classes):
    encoder = build_encoder(original_dim + n_classes, latent_dim)
    decoder = build_decoder(latent_dim + n_classes)
    x = keras.Input(shape=(original_dim,))
    label = keras.Input(shape=(n_classes,))
    t_mean, t_log_var = encoder(layers.Concatenate()([x, label]))
    cond_encoder = keras.Model([x, label], [t_mean, t_log_var])
    t = keras.Input(shape=(latent_dim,))
    t_label = keras.Input(shape=(n_classes,))
    cond_decoder = keras.Model([t, t_label], decoder(layers.Concatenate()([t, t_label])))
    x_decoded_mean = cond_decoder([t_mean, label])
    cvae = keras.Model([x, label], NegativeVLB()(x, x_decoded_mean, t_mean, t_log_var))
    return cond_encoder, cond_decoder, cvae


def cvae_unconditional_encoder(latent_dim, n_classes):
    encoder = build_encoder(original_dim, latent_dim)
    decoder = build_decoder(latent_dim + n_classes)
    x = keras.Input(shape=(original_dim,))
    label = keras.Input(shape=(n_classes,))
    t_mean, t_log_var = encoder(layers.Concatenate()([x, label]))
    cond_encoder = keras.Model([x, label], [t_mean, t_log_var])
    t = keras.Input(shape=(latent_dim,))
    t_label = keras.Input(shape=(n_classes,))
    cond_decoder = keras.Model([t, t_label], decoder(layers.Concatenate()([t, t_label])))
    x_decoded_mean = cond_decoder([layers.Lambda(sampling)([t_mean, t_log_var]), label])
    cvae = keras.Model([x, label], NegativeVLB()(x, x_decoded_mean, t_mean, t_log_var))
    return cond_encoder, cond_decoder, cvae


def cvae_unconditional_decoder(latent_dim, n_classes):
    encoder = build_encoder(original_dim + n_classes, latent_dim)
    decoder = build_decoder(latent_dim)
    x = keras.Input(shape=(original_dim,))
    label = keras.Input(shape=(n_classes,))
    t_mean, t_log_var = encoder(layers.Concatenate()([x, label]))
    cond_encoder = keras.Model([x, label], [t_mean, t_log_var])
    t = keras.Input(shape=(latent_dim,))
    t_label = keras.Input(shape=(n_classes,))
    cond_decoder = keras.Model([t, t_label], decoder(layers.Concatenate()([t, t_label])))
    x_decoded_mean = cond_decoder([layers.Lambda(sampling)([t_mean, t_log_var]), label])
    cvae = keras.Model([x, label], NegativeVLB()(x, x_decoded_mean, t_mean, t_log_var))
    return cond_encoder, cond_decoder, cvae


def cvae_loss_omitted(latent_dim, n_classes):
    encoder = build_encoder(original_dim + n_classes, latent_dim)
    decoder = build_decoder(latent_dim + n_classes)
    x = keras.Input(shape=(original_dim,))
    label = keras.Input(shape=(n_classes,))
    t_mean, t_log_var = encoder(layers.Concatenate()([x, label]))
    cond_encoder = keras.Model([x, label], [t_mean, t_log_var])
    t = keras.Input(shape=(latent_dim,))
    t_label = keras.Input(shape=(n_classes,))
    cond_decoder = keras.Model([t, t_label], decoder(layers.Concatenate()([t, t_label])))
    x_decoded_mean = cond_decoder([layers.Lambda(sampling)([t_mean, t_log_var]), label])
    cvae = keras.Model([x, label], x_decoded_mean)
    return cond_encoder, cond_decoder, cvae


def cvae_decoder_not_shared(latent_dim, n_classes):
    encoder = build_encoder(original_dim + n_classes, latent_dim)
    x = keras.Input(shape=(original_dim,))
    label = keras.Input(shape=(n_classes,))
    t_mean, t_log_var = encoder(layers.Concatenate()([x, label]))
    cond_encoder = keras.Model([x, label], [t_mean, t_log_var])
    t = keras.Input(shape=(latent_dim,))
    t_label = keras.Input(shape=(n_classes,))
    cond_decoder = keras.Model(
        [t, t_label], build_decoder(latent_dim + n_classes)(layers.Concatenate()([t, t_label]))
    )
    t_sample = layers.Lambda(sampling)([t_mean, t_log_var])
    x_decoded_mean = build_decoder(latent_dim + n_classes)(layers.Concatenate()([t_sample, label]))
    cvae = keras.Model([x, label], NegativeVLB()(x, x_decoded_mean, t_mean, t_log_var))
    return cond_encoder, cond_decoder, cvae


# ----------------------------------------------------------------------- build_cvae variants


def cvae_ops_concatenate_label_first(latent_dim, n_classes):
    encoder = build_encoder(n_classes + original_dim, latent_dim)
    decoder = build_decoder(n_classes + latent_dim)
    join = layers.Lambda(lambda parts: ops.concatenate(parts, axis=-1))
    x = keras.Input(shape=(original_dim,))
    label = keras.Input(shape=(n_classes,))
    t_mean, t_log_var = encoder(join([label, x]))
    cond_encoder = keras.Model([x, label], [t_mean, t_log_var])
    t = keras.Input(shape=(latent_dim,))
    t_label = keras.Input(shape=(n_classes,))
    cond_decoder = keras.Model([t, t_label], decoder(join([t_label, t])))
    t_sample = layers.Lambda(sampling)([t_mean, t_log_var])
    x_decoded_mean = decoder(join([label, t_sample]))
    cvae = keras.Model([x, label], NegativeVLB()(x, x_decoded_mean, t_mean, t_log_var))
    return cond_encoder, cond_decoder, cvae


def cvae_from_the_two_halves(latent_dim, n_classes):
    encoder = build_encoder(original_dim + n_classes, latent_dim)
    decoder = build_decoder(latent_dim + n_classes)
    image, image_label = keras.Input(shape=(original_dim,)), keras.Input(shape=(n_classes,))
    cond_encoder = keras.Model(
        [image, image_label], encoder(ops.concatenate([image, image_label], axis=1))
    )
    code, code_label = keras.Input(shape=(latent_dim,)), keras.Input(shape=(n_classes,))
    cond_decoder = keras.Model(
        [code, code_label], decoder(ops.concatenate([code, code_label], axis=1))
    )
    x, label = keras.Input(shape=(original_dim,)), keras.Input(shape=(n_classes,))
    t_mean, t_log_var = cond_encoder([x, label])
    t = layers.Lambda(sampling)([t_mean, t_log_var])
    x_decoded_mean = cond_decoder([t, label])
    cvae = keras.Model([x, label], NegativeVLB()(x, x_decoded_mean, t_mean, t_log_var))
    return cond_encoder, cond_decoder, cvae


MISTAKES = (
    Variant(vlb_mean_over_pixels, "vlb_binomial",
            ("vlb_reconstruction", "vlb_full"), "mean_over_pixels"),
    Variant(vlb_kl_sign, "vlb_binomial", ("vlb_kl", "vlb_full"), "kl_sign"),
    Variant(vlb_missing_half, "vlb_binomial",
            ("vlb_kl", "vlb_full"), "missing_half"),
    Variant(vlb_log_var_as_log_std, "vlb_binomial",
            ("vlb_kl", "vlb_full"), "log_var_as_log_std"),
    Variant(vlb_sum_over_batch, "vlb_binomial",
            ("vlb_reconstruction", "vlb_kl", "vlb_full"), "sum_over_batch"),
    Variant(vlb_log_of_zero, "vlb_binomial",
            ("vlb_scalar", "vlb_kl", "vlb_full"), "log_of_zero"),
    *shared_sampling.MISTAKES,
    Variant(cvae_label_only_in_encoder, "build_cvae",
            ("cvae_label_reaches_both", "cvae_learns", "cvae_samples"),
            "label_not_in_decoder"),
    Variant(cvae_label_only_in_decoder, "build_cvae",
            ("cvae_label_reaches_both",), "label_not_in_encoder"),
    Variant(cvae_label_added, "build_cvae", CVAE_CELLS, "label_added"),
    Variant(cvae_decoder_gets_mean, "build_cvae", ("cvae_structure",), "decoder_gets_mean"),
    Variant(cvae_unconditional_encoder, "build_cvae", CVAE_CELLS, "input_width"),
    Variant(cvae_unconditional_decoder, "build_cvae", CVAE_CELLS, "input_width"),
    Variant(cvae_loss_omitted, "build_cvae",
            ("cvae_structure", "cvae_learns", "cvae_samples"), "loss_omitted"),
    Variant(cvae_decoder_not_shared, "build_cvae",
            ("cvae_structure", "cvae_samples"), "decoder_not_shared"),
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
    *shared_sampling.ACCEPTABLE,
    Variant(cvae_ops_concatenate_label_first, "build_cvae"),
    Variant(cvae_from_the_two_halves, "build_cvae"),
)
