"""Visible checks for notebook 07: `gaussian_nll` and the VAE's loss built on it.

Each `check_*` function is one graded property; the notebook calls it from its own test
cell, so a mistake costs the points of the property it breaks and no more.
"""

from __future__ import annotations

import numpy as np

from course.checks import core
from course.checks.core import (
    call_student,
    expected_values,
    fail,
    fixed_rng,
    kernel_side,
    passed,
    quiet_keras,
    to_numpy,
)

IMAGE_SHAPE = (28, 20)
N_PIXELS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]

# float32 sums over 560 pixels, the constant written as np.log(2 * np.pi) or math.log(...),
# dividing by exp(2 * x_log_std) or multiplying by exp(-2 * x_log_std), summing before or
# after adding the constant: on these fixtures all of it moves a value by less than 1e-5
# relative or 5e-3 nats. The tolerance leaves a wide margin; the smallest known mistake
# moves a value by several nats.
NLL_RTOL = 1e-4
NLL_ATOL = 0.05

HINTS = {
    "missing_constant": (
        "Every value is off by 560 * 0.5 * log(2 pi) = 514.6 nats: the normalizing constant "
        "0.5 * log(2 pi) of each pixel's density is missing. It does not change the gradients, "
        "but without it the ELBO is no longer a bound on log p(x)."
    ),
    "log_std_as_log_var": (
        "x_log_std is the log of the standard deviation: sigma = exp(x_log_std) and "
        "sigma^2 = exp(2 * x_log_std). It looks as if it was read as the log of the variance."
    ),
    "std_not_squared": (
        "The squared error is divided by sigma instead of sigma^2. Each pixel's term is "
        "0.5 * ((x - x_mean) / sigma)^2 + log(sigma) + 0.5 * log(2 pi)."
    ),
    "missing_half": (
        "The squared term is twice too large: the density's exponent is "
        "-0.5 * ((x - x_mean) / sigma)^2, so the NLL has 0.5 * ((x - x_mean) / sigma)^2."
    ),
    "mean_over_pixels": (
        "It looks as if the pixel terms were averaged. An image is one observation: sum the "
        "560 pixel terms over axes (1, 2)."
    ),
    "sign": (
        "The values have the wrong sign: this is the log-likelihood. Return its negative, "
        "-log N(x; x_mean, sigma^2), which is what the loss minimizes."
    ),
    "per_example": (
        "Return one value per image, shape (batch_size,): sum over the pixel axes (1, 2) "
        "only; the model averages over the batch itself."
    ),
    "both_axes": "An image has two pixel axes, rows and columns: sum over both, axis=(1, 2).",
    "not_finite": (
        "Some values are NaN or infinite although every input is finite. x_log_std is the "
        "log of sigma and may be negative or 0: use sigma = exp(x_log_std) (never 0) and "
        "log(sigma) = x_log_std; don't take the log of x_log_std or divide by it."
    ),
    "numpy": (
        "Inside the model, Keras runs your function on symbolic tensors (graph mode), where "
        "NumPy functions cannot work. Use keras.ops (ops.square, ops.exp, ops.sum) throughout."
    ),
    "no_gradient": (
        "No gradient reaches the decoder's outputs, so the decoder could not learn. A NumPy "
        "function (np.exp, np.asarray, ...) cuts the computation graph: use keras.ops."
    ),
}

NLL_MESSAGE = (
    "Each pixel contributes 0.5 * ((x - x_mean) / sigma)^2 + log(sigma) + 0.5 * log(2 pi) "
    "with sigma = exp(x_log_std); the image's NLL is the sum of its 560 terms."
)


# ----------------------------------------------------------------------------- fixtures


def make_nll_inputs(rng, batch_size, image_shape=IMAGE_SHAPE):
    """Random float32 `(x, x_mean, x_log_std)`, each of shape (batch_size, *image_shape).

    Pixels lie in [0, 1], decoder means in [0.02, 0.98] and standard deviations between
    exp(-3) = 0.05 (as sharp as a trained decoder gets) and exp(0.5) = 1.6.
    """
    shape = (batch_size, *image_shape)
    x = rng.random(shape)
    x_mean = rng.uniform(0.02, 0.98, size=shape)
    x_log_std = rng.uniform(-3.0, 0.5, size=shape)
    return tuple(a.astype(np.float32) for a in (x, x_mean, x_log_std))


def known_nll_inputs():
    """Three images whose NLL has a closed form, as float32 `(x, x_mean, x_log_std)`.

    1. x = x_mean and sigma = 1: each pixel gives 0.5 * log(2 pi).
    2. x = x_mean and sigma = 0.5: each pixel gives log(0.5) + 0.5 * log(2 pi).
    3. |x - x_mean| = sigma = 0.1: each pixel gives 0.5 + log(0.1) + 0.5 * log(2 pi).
    """
    rng = fixed_rng("nll-known")
    shape = (3, *IMAGE_SHAPE)
    x_mean = rng.uniform(0.2, 0.8, size=shape)
    x_log_std = np.zeros(shape)
    x_log_std[1] = np.log(0.5)
    x_log_std[2] = np.log(0.1)
    x = x_mean.copy()
    x[2] += 0.1 * rng.choice([-1.0, 1.0], size=IMAGE_SHAPE)
    return tuple(a.astype(np.float32) for a in (x, x_mean, x_log_std))


KNOWN_CASES = (
    "x = x_mean, sigma = 1",
    "x = x_mean, sigma = 0.5",
    "|x - x_mean| = sigma = 0.1",
)


def nll_fixture():
    """The fixed random inputs of the visible check on random inputs (7 images)."""
    return make_nll_inputs(fixed_rng("nll-random"), 7)


# ----------------------------------------------------------------------------- gaussian_nll


def _as_tensors(arrays):
    import keras

    return [keras.ops.convert_to_tensor(a) for a in arrays]


def nll_values(gaussian_nll, inputs, what="gaussian_nll"):
    """Call `gaussian_nll` on `inputs`; insist on one finite value per image; return them."""
    batch_size = len(inputs[0])
    result = to_numpy(call_student(gaussian_nll, *_as_tensors(inputs), what=what), what)
    if result.shape != (batch_size,):
        if result.size == 1:
            hint = HINTS["per_example"]
        elif result.shape[:1] == (batch_size,) and result.ndim == 2:
            hint = HINTS["both_axes"]
        else:
            hint = HINTS["per_example"]
        fail(
            f"{what} returned shape {result.shape} for a batch of {batch_size} images of "
            f"{IMAGE_SHAPE[0]}x{IMAGE_SHAPE[1]} pixels; expected ({batch_size},). {hint}"
        )
    if not np.all(np.isfinite(result)):
        fail(f"{what} returned {np.round(result, 3)}. {HINTS['not_finite']}")
    return result


def close(value, expected):
    """Whether `value` matches `expected` (arrays or numbers) within the NLL tolerance."""
    return core.close(value, expected, NLL_RTOL, NLL_ATOL)


def compare_nll(values, expected, mistakes, where):
    """Fail with a diagnosis unless the per-image `values` match `expected`."""
    if close(values, expected):
        return
    mistake = core.diagnose(values, mistakes, NLL_RTOL, NLL_ATOL)
    hint = HINTS[mistake] if mistake else NLL_MESSAGE
    fail(
        f"gaussian_nll gave {np.round(values, 3).tolist()} {where}, expected "
        f"{np.round(expected, 3).tolist()} (nats per image). {hint}"
    )


def check_nll_shape(gaussian_nll):
    """One finite value per image, also for a batch of one."""
    rng = fixed_rng("nll-shape")
    for batch_size in (5, 1):
        nll_values(gaussian_nll, make_nll_inputs(rng, batch_size))
    passed("gaussian_nll returns one finite value per image, shape (batch_size,).")


def check_nll_known_values(gaussian_nll):
    """Three images whose NLL has a closed form."""
    reference = expected_values("nb07")["nll_known"]
    values = nll_values(gaussian_nll, known_nll_inputs())
    cases = "; ".join(f"({i + 1}) {case}" for i, case in enumerate(KNOWN_CASES))
    compare_nll(values, reference["expected"], reference["mistakes"],
                f"for three images with known answers [{cases}]")  # fmt: skip
    passed("gaussian_nll gives the known values: constant, log(sigma) and squared terms.")


def check_nll_random(gaussian_nll):
    """Seven images with random means and standard deviations, against the reference."""
    reference = expected_values("nb07")["nll_random"]
    values = nll_values(gaussian_nll, nll_fixture())
    compare_nll(values, reference["expected"], reference["mistakes"], "on random inputs")
    passed("gaussian_nll matches the reference on random inputs.")


# ----------------------------------------------------------------------------- the VAE's loss

VAE_FIXTURE = {"batch_size": 6, "latent_dim": 3, "hidden": 16}


def make_vae_fixture(rng, batch_size, latent_dim, hidden):
    """A small VAE's weights, a batch of images and the noise, as float32 arrays.

    Returns a dict: `x` (batch_size, 28, 20) pixels in [0, 1]; `epsilon` (batch_size,
    latent_dim) standard normal noise; and the weights of an encoder 560 -> hidden (ReLU)
    -> two heads of latent_dim (t_mean, t_log_var), and of a decoder latent_dim -> hidden
    (ReLU) -> two heads of 560 (x_mean through a sigmoid, x_log_std). The scales keep
    t_log_var near [-3, -0.5] and x_log_std near [-2.5, -0.5], as in a trained model.
    """

    def dense(n_in, n_out, scale, bias_low=-0.1, bias_high=0.1):
        return (rng.normal(0.0, scale / np.sqrt(n_in), size=(n_in, n_out)),
                rng.uniform(bias_low, bias_high, size=n_out))  # fmt: skip

    arrays = {"x": rng.random((batch_size, *IMAGE_SHAPE)),
              "epsilon": rng.normal(size=(batch_size, latent_dim))}  # fmt: skip
    layers = {
        "encoder_hidden": dense(N_PIXELS, hidden, 2.0),
        "encoder_mean": dense(hidden, latent_dim, 3.0),
        "encoder_log_var": dense(hidden, latent_dim, 0.5, -2.5, -1.0),
        "decoder_hidden": dense(latent_dim, hidden, 1.0),
        "decoder_mean": dense(hidden, N_PIXELS, 1.0),
        "decoder_log_std": dense(hidden, N_PIXELS, 0.3, -1.8, -1.2),
    }
    for name, (kernel, bias) in layers.items():
        arrays[f"{name}_kernel"] = kernel
        arrays[f"{name}_bias"] = bias
    return {name: a.astype(np.float32) for name, a in arrays.items()}


def vae_fixture():
    """The fixed weights, images and noise of the visible VAE check."""
    return make_vae_fixture(fixed_rng("vae-loss"), **VAE_FIXTURE)


def fixture_models(fixture):
    """Keras encoder and decoder with the fixture's weights, shaped like the notebook's.

    encoder: (batch_size, 28, 20) -> [t_mean, t_log_var], each (batch_size, latent_dim);
    decoder: (batch_size, latent_dim) -> [x_mean, x_log_std], each (batch_size, 28, 20).
    """
    import keras
    from keras import layers

    latent_dim = fixture["epsilon"].shape[1]
    hidden = fixture["encoder_hidden_bias"].shape[0]

    def dense(name, units, activation=None):
        layer = layers.Dense(units, activation=activation)
        layer.build((None, fixture[f"{name}_kernel"].shape[0]))
        layer.set_weights([fixture[f"{name}_kernel"], fixture[f"{name}_bias"]])
        return layer

    x = keras.Input(shape=IMAGE_SHAPE)
    h = dense("encoder_hidden", hidden, "relu")(layers.Flatten()(x))
    encoder = keras.Model(x, [dense("encoder_mean", latent_dim)(h),
                              dense("encoder_log_var", latent_dim)(h)])  # fmt: skip
    t = keras.Input(shape=(latent_dim,))
    g = dense("decoder_hidden", hidden, "relu")(t)
    x_mean = layers.Reshape(IMAGE_SHAPE)(dense("decoder_mean", N_PIXELS, "sigmoid")(g))
    x_log_std = layers.Reshape(IMAGE_SHAPE)(dense("decoder_log_std", N_PIXELS)(g))
    return encoder, keras.Model(t, [x_mean, x_log_std])


def fixed_noise_layer(epsilon):
    """A layer that stands in for the VAE's `Sampling`, with the noise `epsilon` fixed."""
    import keras
    from keras import ops

    class FixedNoiseSampling(keras.layers.Layer):
        def call(self, inputs):
            t_mean, t_log_var = inputs
            return t_mean + ops.exp(0.5 * t_log_var) * ops.convert_to_tensor(epsilon)

    return FixedNoiseSampling()


@kernel_side
def vae_losses(VAE, gaussian_nll, fixture, what="the VAE"):
    """Evaluate a fresh `VAE(encoder, decoder)` on the fixture's images and noise.

    The notebook's VAE draws its noise in its `sampling` layer; the check replaces that
    layer with one that uses the fixture's noise, so the loss is one exact number.
    Returns {"loss", "nll", "kl"}: averages over the batch in nats per image.
    """
    import keras

    # A direct call first: an unfinished or misshaped gaussian_nll is named as such.
    x = fixture["x"]
    decoded = (x, np.full_like(x, 0.5), np.full_like(x, -1.0))
    result = to_numpy(call_student(gaussian_nll, *_as_tensors(decoded), what="gaussian_nll"),
                      "gaussian_nll")  # fmt: skip
    if result.size != 1 and result.shape != (len(x),):
        fail(f"gaussian_nll returned shape {result.shape} for {len(x)} images. "
             f"{HINTS['both_axes']}")  # fmt: skip
    try:
        with quiet_keras():
            vae = VAE(*fixture_models(fixture))
            vae.sampling = fixed_noise_layer(fixture["epsilon"])
            vae.compile(optimizer=keras.optimizers.Adam(), jit_compile=False)
            logs = vae.evaluate(x, batch_size=len(x), verbose=0, return_dict=True)
    except Exception as error:  # whatever the student's function does inside the model
        text = f"{type(error).__name__}: {error}"
        hint = HINTS["numpy"] if "numpy" in text.lower() else NLL_MESSAGE
        fail(f"{what} could not compute its loss with your gaussian_nll ({text[:300]}). {hint}")
    return {key: float(logs[key]) for key in ("loss", "nll", "kl")}


def compare_vae(logs, expected, mistakes, where):
    """Fail with a diagnosis unless the VAE's loss and NLL match `expected`."""
    if close(logs["loss"], expected["loss"]) and close(logs["nll"], expected["nll"]):
        return
    if not np.isfinite(logs["loss"]):
        hint = HINTS["not_finite"]
    else:
        mistake = core.diagnose(logs["loss"], mistakes, NLL_RTOL, NLL_ATOL)
        hint = HINTS[mistake] if mistake else NLL_MESSAGE
    fail(
        f"With your gaussian_nll, the VAE's loss {where} is {logs['loss']:.3f} (NLL "
        f"{logs['nll']:.3f}, KL {logs['kl']:.3f}); expected {expected['loss']:.3f} (NLL "
        f"{expected['nll']:.3f}, KL {expected['kl']:.3f}) nats per image. {hint}"
    )


def check_vae_loss(VAE, gaussian_nll):
    """The notebook's VAE, with fixed weights and noise, gives the reference loss."""
    reference = expected_values("nb07")["vae_loss"]
    logs = vae_losses(VAE, gaussian_nll, vae_fixture())
    compare_vae(logs, reference["expected"], reference["mistakes"],
                "on a fixed batch with fixed weights and noise")  # fmt: skip
    passed("the VAE's loss (NLL + KL, averaged over the batch) matches the reference.")
