"""Notebook 07: known mistakes in `gaussian_nll`, and acceptable variants.

The functions use the names a student's notebook has: `ops` and `np`; one that needs
TensorFlow imports it, as a student would.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from keras import ops

from autograder.mistakes import Variant

VALUE_CELLS = ("nll_known_values", "nll_random", "vae_loss")


# ----------------------------------------------------------------------- gaussian_nll mistakes


def nll_missing_constant(x, x_mean, x_log_std):
    per_pixel = 0.5 * ops.square((x - x_mean) / ops.exp(x_log_std)) + x_log_std
    return ops.sum(per_pixel, axis=(1, 2))


def nll_log_std_as_log_var(x, x_mean, x_log_std):
    per_pixel = 0.5 * (np.log(2 * np.pi) + x_log_std + ops.square(x - x_mean) / ops.exp(x_log_std))
    return ops.sum(per_pixel, axis=(1, 2))


def nll_std_not_squared(x, x_mean, x_log_std):
    per_pixel = (
        0.5 * ops.square(x - x_mean) / ops.exp(x_log_std) + x_log_std + 0.5 * np.log(2 * np.pi)
    )
    return ops.sum(per_pixel, axis=(1, 2))


def nll_missing_half(x, x_mean, x_log_std):
    per_pixel = ops.square((x - x_mean) / ops.exp(x_log_std)) + x_log_std + 0.5 * np.log(2 * np.pi)
    return ops.sum(per_pixel, axis=(1, 2))


def nll_mean_over_pixels(x, x_mean, x_log_std):
    per_pixel = (
        0.5 * ops.square((x - x_mean) / ops.exp(x_log_std)) + x_log_std + 0.5 * np.log(2 * np.pi)
    )
    return ops.mean(per_pixel, axis=(1, 2))


def nll_log_likelihood(x, x_mean, x_log_std):
    log_density = (
        -0.5 * ops.square((x - x_mean) / ops.exp(x_log_std)) - x_log_std - 0.5 * np.log(2 * np.pi)
    )
    return ops.sum(log_density, axis=(1, 2))


def nll_mean_over_batch(x, x_mean, x_log_std):
    per_pixel = (
        0.5 * ops.square((x - x_mean) / ops.exp(x_log_std)) + x_log_std + 0.5 * np.log(2 * np.pi)
    )
    return ops.mean(ops.sum(per_pixel, axis=(1, 2)))


def nll_one_pixel_axis(x, x_mean, x_log_std):
    per_pixel = (
        0.5 * ops.square((x - x_mean) / ops.exp(x_log_std)) + x_log_std + 0.5 * np.log(2 * np.pi)
    )
    return ops.sum(per_pixel, axis=-1)


def nll_log_std_as_std(x, x_mean, x_log_std):
    per_pixel = (
        0.5 * ops.square((x - x_mean) / x_log_std) + ops.log(x_log_std) + 0.5 * np.log(2 * np.pi)
    )
    return ops.sum(per_pixel, axis=(1, 2))


def nll_numpy(x, x_mean, x_log_std):
    x, x_mean, x_log_std = np.asarray(x), np.asarray(x_mean), np.asarray(x_log_std)
    per_pixel = 0.5 * ((x - x_mean) / np.exp(x_log_std)) ** 2 + x_log_std + 0.5 * np.log(2 * np.pi)
    return per_pixel.sum(axis=(1, 2))


# ----------------------------------------------------------------------- acceptable variants


def nll_tf_log_variance(x, x_mean, x_log_std):
    import math

    import tensorflow as tf

    log_var = 2.0 * x_log_std
    per_pixel = 0.5 * (math.log(2 * math.pi) + log_var + tf.square(x - x_mean) / tf.exp(log_var))
    return tf.reduce_sum(per_pixel, axis=[1, 2])


def nll_flatten_first(x, x_mean, x_log_std):
    batch_size = ops.shape(x)[0]
    x = ops.reshape(x, (batch_size, -1))
    x_mean = ops.reshape(x_mean, (batch_size, -1))
    x_log_std = ops.reshape(x_log_std, (batch_size, -1))
    z = (x - x_mean) * ops.exp(-x_log_std)
    return ops.sum(0.5 * z * z + x_log_std, axis=1) + 0.5 * np.log(2 * np.pi) * ops.shape(x)[1]


def nll_constant_outside_sum(x, x_mean, x_log_std):
    n_pixels = x.shape[1] * x.shape[2]
    squared = ops.square(x - x_mean) * ops.exp(-2 * x_log_std)
    return (
        0.5 * ops.sum(squared, axis=[-2, -1])
        + ops.sum(x_log_std, axis=[-2, -1])
        + (0.5 * n_pixels * np.log(2 * np.pi))
    )


def nll_log_of_two_pi_variance(x, x_mean, x_log_std):
    variance = ops.exp(2 * x_log_std)
    per_pixel = 0.5 * ops.log(2 * np.pi * variance) + 0.5 * ops.square(x - x_mean) / variance
    return ops.sum(per_pixel, axis=(1, 2))


MISTAKES = (
    Variant(nll_missing_constant, "gaussian_nll", VALUE_CELLS, "missing_constant"),
    Variant(nll_log_std_as_log_var, "gaussian_nll", VALUE_CELLS, "log_std_as_log_var"),
    Variant(nll_std_not_squared, "gaussian_nll", VALUE_CELLS, "std_not_squared"),
    Variant(nll_missing_half, "gaussian_nll", VALUE_CELLS, "missing_half"),
    Variant(nll_mean_over_pixels, "gaussian_nll", VALUE_CELLS, "mean_over_pixels"),
    Variant(nll_log_likelihood, "gaussian_nll", VALUE_CELLS, "sign"),
    Variant(nll_mean_over_batch, "gaussian_nll",
            ("nll_shape", "nll_known_values", "nll_random"), "per_example"),
    Variant(nll_one_pixel_axis, "gaussian_nll", ("nll_shape", *VALUE_CELLS), "both_axes"),
    Variant(nll_log_std_as_std, "gaussian_nll", ("nll_shape", *VALUE_CELLS), "not_finite"),
    Variant(nll_numpy, "gaussian_nll", ("nll_random", "vae_loss"), "numpy"),
)  # fmt: skip


def nll_in_float64(x, x_mean, x_log_std):
    x, x_mean, x_log_std = (ops.cast(a, "float64") for a in (x, x_mean, x_log_std))
    per_pixel = 0.5 * ops.square((x - x_mean) / ops.exp(x_log_std)) + x_log_std
    return ops.sum(per_pixel + 0.5 * np.log(2 * np.pi), axis=(1, 2))


ACCEPTABLE = (
    Variant(nll_tf_log_variance, "gaussian_nll"),
    Variant(nll_in_float64, "gaussian_nll"),
    Variant(nll_flatten_first, "gaussian_nll"),
    Variant(nll_constant_outside_sum, "gaussian_nll"),
    Variant(nll_log_of_two_pi_variance, "gaussian_nll"),
)


def _mistake_outputs(inputs):
    """Each known mistake's output on float32 `inputs`, as a float64 array or None."""
    tensors = [ops.convert_to_tensor(np.asarray(a, np.float32)) for a in inputs]
    outputs = {}
    for mistake in MISTAKES:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = np.asarray(ops.convert_to_numpy(mistake.function(*tensors)), np.float64)
        except Exception:  # a mistake may well crash on these inputs
            out = None
        outputs[mistake.hint] = out
    return outputs


def nll_mistake_values(inputs) -> dict[str, list[float] | None]:
    """What each known `gaussian_nll` mistake returns on `inputs`, keyed by its hint.

    None where a mistake crashes, returns another shape than (batch_size,), or returns
    inf or NaN: such values name no mistake.
    """
    batch_size = len(inputs[0])
    return {
        hint: out.tolist()
        if out is not None and out.shape == (batch_size,) and np.all(np.isfinite(out))
        else None
        for hint, out in _mistake_outputs(inputs).items()
    }


def vae_mistake_values(fixture) -> dict[str, float | None]:
    """The fixture VAE's loss (batch average of NLL + KL) with each known mistake as its NLL.

    The decoder's outputs come from the reference forward pass. None where the mistake
    would crash the model (a shape that does not add to the KL's) or gives inf or NaN.
    """
    from autograder.reference.nb07 import kl_divergence, vae_forward

    x, x_mean, x_log_std, t_mean, t_log_var = vae_forward(fixture)
    kl = kl_divergence(t_mean, t_log_var)
    values = {}
    for hint, out in _mistake_outputs((x, x_mean, x_log_std)).items():
        if out is None or out.shape not in {(), (len(x),)}:
            values[hint] = None
            continue
        loss = float(np.mean(out + kl))
        values[hint] = loss if math.isfinite(loss) else None
    return values
