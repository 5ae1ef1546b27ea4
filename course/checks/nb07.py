"""Visible checks for notebook 07: `gaussian_nll`, the model's loss built on it, and the
`VAE` class's training step.

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
    replaced_names,
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


# ----------------------------------------------------------------------------- the model's loss

VAE_FIXTURE = {"batch_size": 6, "latent_dim": 3, "hidden": 16}


def make_vae_fixture(rng, batch_size, latent_dim, hidden, image_shape=IMAGE_SHAPE):
    """A small VAE's weights, a batch of images and the noise, as float32 arrays.

    Returns a dict: `x` (batch_size, *image_shape) pixels in [0, 1]; `epsilon` (batch_size,
    latent_dim) standard normal noise; and the weights of an encoder n_pixels -> hidden
    (ReLU) -> two heads of latent_dim (t_mean, t_log_var), and of a decoder latent_dim ->
    hidden (ReLU) -> two heads of n_pixels (x_mean through a sigmoid, x_log_std). The scales
    keep t_log_var near [-3, -0.5] and x_log_std near [-2.5, -0.5], as in a trained model.
    """
    n_pixels = int(np.prod(image_shape))

    def dense(n_in, n_out, scale, bias_low=-0.1, bias_high=0.1):
        return (rng.normal(0.0, scale / np.sqrt(n_in), size=(n_in, n_out)),
                rng.uniform(bias_low, bias_high, size=n_out))  # fmt: skip

    arrays = {"x": rng.random((batch_size, *image_shape)),
              "epsilon": rng.normal(size=(batch_size, latent_dim))}  # fmt: skip
    layers = {
        "encoder_hidden": dense(n_pixels, hidden, 2.0),
        "encoder_mean": dense(hidden, latent_dim, 3.0),
        "encoder_log_var": dense(hidden, latent_dim, 0.5, -2.5, -1.0),
        "decoder_hidden": dense(latent_dim, hidden, 1.0),
        "decoder_mean": dense(hidden, n_pixels, 1.0),
        "decoder_log_std": dense(hidden, n_pixels, 0.3, -1.8, -1.2),
    }
    for name, (kernel, bias) in layers.items():
        arrays[f"{name}_kernel"] = kernel
        arrays[f"{name}_bias"] = bias
    return {name: a.astype(np.float32) for name, a in arrays.items()}


# The names of the fixture's weights, encoder first: the order of WEIGHT_NAMES.
DENSE_NAMES = ("encoder_hidden", "encoder_mean", "encoder_log_var",
               "decoder_hidden", "decoder_mean", "decoder_log_std")  # fmt: skip
WEIGHT_NAMES = tuple(f"{name}_{part}" for name in DENSE_NAMES for part in ("kernel", "bias"))


def vae_fixture():
    """The fixed weights, images and noise of the visible check of the model's loss."""
    return make_vae_fixture(fixed_rng("vae-loss"), **VAE_FIXTURE)


def fixture_models(fixture):
    """Keras encoder and decoder with the fixture's weights, shaped like the notebook's.

    encoder: (batch_size, *image_shape) -> [t_mean, t_log_var], each (batch_size, latent_dim);
    decoder: (batch_size, latent_dim) -> [x_mean, x_log_std], each (batch_size, *image_shape).
    Returns (encoder, decoder, the Dense layers by their names in DENSE_NAMES).
    """
    import keras
    from keras import layers

    image_shape = fixture["x"].shape[1:]
    n_pixels = int(np.prod(image_shape))
    latent_dim = fixture["epsilon"].shape[1]
    hidden = fixture["encoder_hidden_bias"].shape[0]
    dense_layers = {}

    def dense(name, units, activation=None):
        layer = layers.Dense(units, activation=activation)
        layer.build((None, fixture[f"{name}_kernel"].shape[0]))
        layer.set_weights([fixture[f"{name}_kernel"], fixture[f"{name}_bias"]])
        dense_layers[name] = layer
        return layer

    x = keras.Input(shape=image_shape)
    h = dense("encoder_hidden", hidden, "relu")(layers.Flatten()(x))
    encoder = keras.Model(x, [dense("encoder_mean", latent_dim)(h),
                              dense("encoder_log_var", latent_dim)(h)])  # fmt: skip
    t = keras.Input(shape=(latent_dim,))
    g = dense("decoder_hidden", hidden, "relu")(t)
    x_mean = layers.Reshape(image_shape)(dense("decoder_mean", n_pixels, "sigmoid")(g))
    x_log_std = layers.Reshape(image_shape)(dense("decoder_log_std", n_pixels)(g))
    return encoder, keras.Model(t, [x_mean, x_log_std]), dense_layers


def fixed_noise_layer(epsilon):
    """A layer that stands in for the VAE's `Sampling`, with the noise `epsilon` fixed."""
    import keras
    from keras import ops

    class FixedNoiseSampling(keras.layers.Layer):
        def call(self, inputs):
            t_mean, t_log_var = inputs
            return t_mean + ops.exp(0.5 * t_log_var) * ops.convert_to_tensor(epsilon)

    return FixedNoiseSampling()


def _closed_form_kl(t_mean, t_log_var):
    from keras import ops

    return ops.sum(ops.square(t_mean) + ops.exp(t_log_var) - 1.0 - t_log_var, axis=1) / 2


@kernel_side
def vae_losses(gaussian_nll, fixture, what="the model"):
    """The fixture model's loss with `gaussian_nll` as its NLL, computed in a compiled graph.

    The fixture's encoder, a code drawn with the fixture's noise, the fixture's decoder, your
    `gaussian_nll` on its outputs and the closed-form KL, all in one `tf.function`, as
    `fit` and `evaluate` run a model. Returns {"loss", "nll", "kl"}: averages over the batch
    in nats per image.
    """
    import tensorflow as tf
    from keras import ops

    # A direct call first: an unfinished or misshaped gaussian_nll is named as such.
    x = fixture["x"]
    decoded = (x, np.full_like(x, 0.5), np.full_like(x, -1.0))
    result = to_numpy(call_student(gaussian_nll, *_as_tensors(decoded), what="gaussian_nll"),
                      "gaussian_nll")  # fmt: skip
    if result.size != 1 and result.shape != (len(x),):
        fail(f"gaussian_nll returned shape {result.shape} for {len(x)} images. "
             f"{HINTS['both_axes']}")  # fmt: skip
    encoder, decoder, _ = fixture_models(fixture)

    @tf.function
    def loss_terms(images, epsilon):
        t_mean, t_log_var = encoder(images)
        x_mean, x_log_std = decoder(t_mean + ops.exp(0.5 * t_log_var) * epsilon)
        nll = ops.cast(gaussian_nll(images, x_mean, x_log_std), "float32")
        return nll, _closed_form_kl(t_mean, t_log_var)

    try:
        with quiet_keras():
            nll, kl = loss_terms(tf.constant(x), tf.constant(fixture["epsilon"]))
    except Exception as error:  # whatever the student's function does inside the graph
        text = f"{type(error).__name__}: {error}"
        hint = HINTS["numpy"] if "numpy" in text.lower() else NLL_MESSAGE
        fail(f"{what} could not compute its loss with your gaussian_nll ({text[:300]}). {hint}")
    nll, kl = (np.asarray(a, np.float64) for a in (nll, kl))
    return {"loss": float(np.mean(nll + kl)), "nll": float(np.mean(nll)),
            "kl": float(np.mean(kl))}  # fmt: skip


def compare_vae(logs, expected, mistakes, where):
    """Fail with a diagnosis unless the model's loss and NLL match `expected`."""
    if close(logs["loss"], expected["loss"]) and close(logs["nll"], expected["nll"]):
        return
    if not np.isfinite(logs["loss"]):
        hint = HINTS["not_finite"]
    else:
        mistake = core.diagnose(logs["loss"], mistakes, NLL_RTOL, NLL_ATOL)
        hint = HINTS[mistake] if mistake else NLL_MESSAGE
    fail(
        f"With your gaussian_nll, the model's loss {where} is {logs['loss']:.3f} (NLL "
        f"{logs['nll']:.3f}, KL {logs['kl']:.3f}); expected {expected['loss']:.3f} (NLL "
        f"{expected['nll']:.3f}, KL {expected['kl']:.3f}) nats per image. {hint}"
    )


def check_vae_loss(gaussian_nll):
    """The model's loss with fixed weights and noise, in a compiled graph, is the reference's."""
    reference = expected_values("nb07")["vae_loss"]
    logs = vae_losses(gaussian_nll, vae_fixture())
    compare_vae(logs, reference["expected"], reference["mistakes"],
                "on a fixed batch with fixed weights and noise")  # fmt: skip
    passed("the model's loss (NLL + KL, averaged over the batch) matches the reference, "
           "computed in a compiled graph.")  # fmt: skip


# ----------------------------------------------------------------------------- the VAE class

# The checks of Exercise 2 put a stand-in under the name `gaussian_nll` while they run the
# class, so that a mistake in Exercise 1 costs Exercise 1's points only. Per image:
# STANDIN_SCALE times the sum of squared errors (a Gaussian of standard deviation 0.1, up to a
# constant), plus half the sum of x_log_std squared, so that every weight gets a gradient.
STANDIN_SCALE = 50.0

# The visible training-step fixture: images of 4 x 5 pixels (the class works for any image
# shape), so that its reference gradients are short enough to be stored.
STEP_FIXTURE = {"batch_size": 6, "latent_dim": 2, "hidden": 8, "image_shape": (4, 5)}
STEP_LEARNING_RATE = 0.1
# One SGD step moves each weight by -learning_rate * gradient. On the visible fixture, in
# float32, the steps of the reference solution and of both acceptable variants differ from
# the float64 hand computation by at most 2e-7 times the largest step; the known mistake
# nearest to the right step (the KL forgotten) is 0.11 times the largest step away.
STEP_RTOL = 1e-3
STEP_ATOL = 1e-4  # times the largest |step| of the reference, over all weights
METRIC_KEYS = ("loss", "nll", "kl")

HINTS.update(
    {
        "vae_not_implemented": (
            "VAE is not implemented yet: replace `raise NotImplementedError()` in loss_terms, "
            "update_trackers and train_step with your code."
        ),
        "no_gradients": (
            "No gradient reached any weight. The tape records only what happens inside "
            "`with tf.GradientTape() as tape:`: compute the whole loss there, the mean over "
            "the batch included, then call tape.gradient(loss, self.trainable_weights) after "
            "the block."
        ),
        "metric_keys": (
            "train_step must return the dictionary of update_trackers: "
            "{tracker.name: tracker.result() for tracker in self.metrics}, whose keys are "
            "'loss', 'nll' and 'kl'."
        ),
        "trackers_not_updated": (
            "The trackers in self.metrics did not change: update_trackers must call "
            "update_state on each of them (loss: nll + kl, nll, kl), then return their "
            "result(). Keras resets them at each epoch and reads them for the history."
        ),
        "loss_tracker": (
            "The loss tracker must hold the negative ELBO of each image, nll + kl: feed it "
            "nll + kl, the NLL tracker nll and the KL tracker kl."
        ),
        "nll_term": (
            "The NLL term is not the one of the decoded sample: in loss_terms, encode x, draw "
            "t with self.sampling([t_mean, t_log_var]), decode t, and call "
            "gaussian_nll(x, x_mean, x_log_std) by that name (the checks put a stand-in "
            "under it)."
        ),
        "decoder_gets_mean": (
            "The NLL is the one of decoding t_mean: decode the sample "
            "t = self.sampling([t_mean, t_log_var]) instead, as the ELBO's estimator says."
        ),
        "kl_term": (
            "The KL term is not the closed form of the encoder's outputs: use "
            "kl_divergence(t_mean, t_log_var), one value per image."
        ),
        "not_applied": (
            "No weight moved: after tape.gradient, let the optimizer take the step, "
            "self.optimizer.apply(gradients, self.trainable_weights)."
        ),
        "encoder_not_trained": (
            "The encoder's weights did not move: take the gradient with respect to "
            "self.trainable_weights (the encoder's and the decoder's) and apply it to them."
        ),
        "decoder_not_trained": (
            "The decoder's weights did not move: take the gradient with respect to "
            "self.trainable_weights (the encoder's and the decoder's) and apply it to them."
        ),
        "forgot_kl": (
            "The step is the gradient of the NLL alone: the loss is the negative ELBO, "
            "ops.mean(nll + kl). Without the KL the codes are free to drift from the prior."
        ),
        "kl_only": "The step is the gradient of the KL alone: the loss is ops.mean(nll + kl).",
        "kl_sign": (
            "The step follows the gradient of NLL - KL. The ELBO is log p(x | t) - KL, so "
            "the negative ELBO, which we minimize, is nll + kl."
        ),
        "gradient_ascent": (
            "The weights moved up the gradient: the step climbs the loss instead of "
            "descending it. Minimize the negative ELBO, +ops.mean(nll + kl), and give the "
            "optimizer the gradients as they are."
        ),
        "loss_not_averaged": (
            "The step is batch_size times too large: it is the gradient of the sum over the "
            "batch. Average over the batch, loss = ops.mean(nll + kl), so that the step does "
            "not depend on the batch size."
        ),
    }
)

STEP_MESSAGE = (
    "train_step: under a tf.GradientTape, loss_terms and loss = ops.mean(nll + kl); then "
    "the gradients of that loss with respect to self.trainable_weights, one optimizer step, "
    "and the trackers' dictionary."
)


def standin_nll(x, x_mean, x_log_std):
    """The stand-in for `gaussian_nll` in the checks of the VAE class: one value per image.

    STANDIN_SCALE * sum((x - x_mean)^2) + 0.5 * sum(x_log_std^2) over each image's pixels.
    """
    from keras import ops

    axes = tuple(range(1, len(x.shape)))
    per_pixel = STANDIN_SCALE * ops.square(x - x_mean) + 0.5 * ops.square(x_log_std)
    return ops.sum(per_pixel, axis=axes)


def step_fixture():
    """The fixed weights, images and noise of the visible training-step check."""
    return make_vae_fixture(fixed_rng("vae-train-step"), **STEP_FIXTURE)


def _error_text(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:400]


def _build_vae(VAE, encoder, decoder, sampling):
    """A VAE(encoder, decoder) with `sampling` as its sampling layer, or a failure."""
    try:
        with quiet_keras():
            vae = VAE(encoder, decoder)
            vae.sampling = sampling
    except NotImplementedError:
        fail(HINTS["vae_not_implemented"])
    except Exception as error:  # any error in student code is reported
        fail(f"VAE(encoder, decoder) raised {_error_text(error)}")
    return vae


def _logs(logs):
    """A train step's logs as {key: list of floats}, whatever their shapes."""
    if not isinstance(logs, dict):
        return {}
    return {str(key): np.asarray(value, np.float64).ravel().tolist() for key, value in logs.items()}


@kernel_side
def vae_step(VAE, fixture, learning_rate):
    """One `train_on_batch` of a fresh VAE on the fixture, with plain SGD and fixed noise.

    `gaussian_nll` is the stand-in meanwhile. Returns {"error": message} if the step fails,
    else the logs it returned ({key: list of floats}), the trackers' results afterwards
    ({name: float}) and each weight's change ({weight name: array}).
    """
    import keras

    encoder, decoder, dense_layers = fixture_models(fixture)
    vae = _build_vae(VAE, encoder, decoder, fixed_noise_layer(fixture["epsilon"]))
    try:
        with replaced_names(VAE, {"gaussian_nll": standin_nll}), quiet_keras():
            vae.compile(optimizer=keras.optimizers.SGD(learning_rate), jit_compile=False)
            logs = vae.train_on_batch(fixture["x"], return_dict=True)
    except NotImplementedError:
        fail(HINTS["vae_not_implemented"])
    except Exception as error:  # any error in student code is reported, with a hint
        return {"error": _error_text(error)}
    trackers = {}
    for tracker in vae.metrics:
        try:
            trackers[tracker.name] = float(np.asarray(tracker.result(), np.float64).ravel()[0])
        except (TypeError, ValueError, IndexError):
            trackers[tracker.name] = float("nan")
    steps = {}
    for name, layer in dense_layers.items():
        kernel, bias = layer.get_weights()
        for part, value in (("kernel", kernel), ("bias", bias)):
            key = f"{name}_{part}"
            steps[key] = np.asarray(value, np.float64) - np.asarray(fixture[key], np.float64)
    return {"logs": _logs(logs), "trackers": trackers, "steps": steps}


def _step_failure(text, what="One training step of your VAE"):
    lowered = text.lower()
    if "no gradients provided" in lowered or "nonetype" in lowered and "gradient" in lowered:
        hint = HINTS["no_gradients"]
    elif "notimplemented" in lowered:
        hint = HINTS["vae_not_implemented"]
    else:
        hint = STEP_MESSAGE
    fail(f"{what} failed: {text.rstrip('.')}. {hint}")


def compare_logs(result, expected, where):
    """Fail unless the step returned the three metrics with the reference's values, and the
    trackers hold them."""
    logs = result["logs"]
    if sorted(logs) != sorted(METRIC_KEYS):
        fail(f"train_step returned the keys {sorted(logs)} {where}; expected "
             f"{list(METRIC_KEYS)}. {HINTS['metric_keys']}")  # fmt: skip
    values = {}
    for key in METRIC_KEYS:
        if len(logs[key]) != 1:
            fail(f"train_step returned {len(logs[key])} numbers as '{key}' {where}; a metric is "
                 f"one number, the tracker's result(). {HINTS['metric_keys']}")  # fmt: skip
        values[key] = logs[key][0]
    shown = ", ".join(f"{key} {values[key]:.3f}" for key in METRIC_KEYS)
    wanted = ", ".join(f"{key} {expected[key]:.3f}" for key in METRIC_KEYS)
    trackers = result["trackers"]
    if not all(close(trackers.get(key, np.nan), values[key]) for key in METRIC_KEYS):
        fail(f"train_step returned {shown} {where}, but afterwards the trackers hold "
             f"{trackers}. {HINTS['trackers_not_updated']}")  # fmt: skip
    if all(close(values[key], expected[key]) for key in METRIC_KEYS):
        return
    if close(values["nll"], expected["nll"]) and close(values["kl"], expected["kl"]):
        hint = HINTS["loss_tracker"]
    elif close(values["nll"], expected["nll_of_mean_code"]):
        hint = HINTS["decoder_gets_mean"]
    elif not close(values["nll"], expected["nll"]):
        hint = HINTS["nll_term"]
    else:
        hint = HINTS["kl_term"]
    fail(f"train_step returned {shown} {where}, before the step; expected {wanted} (with the "
         f"stand-in for gaussian_nll). {hint}")  # fmt: skip


def step_candidates(expected, learning_rate, batch_size):
    """The steps that the correct loss and the known mistakes take: each weight moves by
    -learning_rate times a combination of the gradients of mean(nll) and mean(kl)."""
    combinations = {None: (1, 1), "forgot_kl": (1, 0), "kl_only": (0, 1),
                    "kl_sign": (1, -1), "gradient_ascent": (-1, -1),
                    "loss_not_averaged": (batch_size, batch_size)}  # fmt: skip
    grad_nll, grad_kl = expected["grad_nll"], expected["grad_kl"]
    return {
        name: {key: -learning_rate * (a * np.asarray(grad_nll[key]) + b * np.asarray(grad_kl[key]))
               for key in WEIGHT_NAMES}
        for name, (a, b) in combinations.items()
    }  # fmt: skip


def _same_steps(steps, candidate, keys, scale):
    return all(core.close(steps[key], candidate[key], STEP_RTOL, STEP_ATOL * scale) for key in keys)


def compare_steps(result, expected, learning_rate, where):
    """Fail unless every weight moved by -learning_rate times the reference gradient."""
    steps = result["steps"]
    batch_size = expected["batch_size"]
    candidates = step_candidates(expected, learning_rate, batch_size)
    right = candidates[None]
    scale = max(float(np.max(np.abs(right[key]))) for key in WEIGHT_NAMES)
    if _same_steps(steps, right, WEIGHT_NAMES, scale):
        return
    moved = {key: bool(np.any(steps[key] != 0.0)) for key in WEIGHT_NAMES}
    encoder_keys = [key for key in WEIGHT_NAMES if key.startswith("encoder")]
    decoder_keys = [key for key in WEIGHT_NAMES if key.startswith("decoder")]
    hint = None
    if not any(moved.values()):
        hint = HINTS["not_applied"]
    elif not any(moved[key] for key in encoder_keys):
        hint = HINTS["encoder_not_trained"]
    elif not any(moved[key] for key in decoder_keys):
        hint = HINTS["decoder_not_trained"]
    else:
        for name, candidate in candidates.items():
            if name and _same_steps(steps, candidate, WEIGHT_NAMES, scale):
                hint = HINTS[name]
                break
    worst = max(WEIGHT_NAMES, key=lambda key: float(np.max(np.abs(steps[key] - right[key]))))
    got, wanted = np.ravel(steps[worst])[:3], np.ravel(right[worst])[:3]
    fail(
        f"After one SGD step (learning rate {learning_rate}) {where}, the weights did not move "
        f"by -learning_rate * gradient of the loss: for {worst}, the first changes are "
        f"{np.round(got, 5).tolist()}, expected {np.round(wanted, 5).tolist()}. "
        f"{hint or STEP_MESSAGE}"
    )


def compare_train_step(result, expected, learning_rate, where):
    if "error" in result:
        _step_failure(result["error"])
    compare_logs(result, expected, where)
    compare_steps(result, expected, learning_rate, where)


def check_vae_train_step(VAE):
    """One SGD step from fixed weights and noise: the metrics, their values, the step."""
    expected = expected_values("nb07")["vae_train_step"]
    result = vae_step(VAE, step_fixture(), STEP_LEARNING_RATE)
    compare_train_step(result, expected, STEP_LEARNING_RATE, "on a fixed batch")
    passed(
        "train_step returns loss, nll and kl with the reference's values, updates the "
        "trackers, and moves every weight by -learning_rate * the gradient of the loss."
    )


# ----------------------------------------------------------------------------- the VAE learns

# The short training that grading runs, with the stand-in for gaussian_nll: LEARN_FACES faces
# of a seeded shuffle of Frey Face (dequantized with seeded noise, as the notebook does),
# LEARN_EPOCHS epochs of batches of LEARN_BATCH_SIZE with Adam, the notebook's encoder and
# decoder shapes with a narrower hidden layer, weights seeded. The loss is then measured on
# LEARN_EVAL_FACES other faces with seeded noise, by the checks themselves (not by the
# student's test_step).
LEARN_SEED = 7
LEARN_FACES = 400
LEARN_EVAL_FACES = 200
LEARN_EPOCHS = 12
LEARN_BATCH_SIZE = 32
LEARN_LEARNING_RATE = 3e-3
LEARN_HIDDEN = 64
LEARN_LATENT_DIM = 2
# Trained so, the reference solution gives a loss of 240.8 per image on the visible check's
# faces (237-260 with four other weight seeds) and the two acceptable variants the same;
# a decoder that always draws the training faces' mean face gets 324.5, and the known
# mistakes that train the decoder alone or decode t_mean get 314-355 (327 and 333 here).
LEARN_LOSS_MAX = 290.0  # per image, in the stand-in's units

# The last trained model, so that the visible and hidden checks of one cell share it.
_TRAINED: list = []


def _learning_faces():
    """(training faces, the other faces): dequantized Frey faces, (n, 28, 20) in [0, 1)."""
    import contextlib
    import io

    from course.data import load_frey_faces

    with contextlib.redirect_stdout(io.StringIO()):
        grey_levels = load_frey_faces()
    rng = np.random.default_rng(LEARN_SEED)
    faces = ((grey_levels + rng.uniform(size=grey_levels.shape)) / 256.0).astype(np.float32)
    faces = faces[rng.permutation(len(faces))]
    return faces[:LEARN_FACES], faces[LEARN_FACES:]


def learning_models(seed=LEARN_SEED):
    """A seeded encoder and decoder of the notebook's shapes, with LEARN_HIDDEN units."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    x = keras.Input(shape=IMAGE_SHAPE)
    h = layers.Dense(LEARN_HIDDEN, activation="relu", name="hidden")(layers.Flatten()(x))
    t_mean = layers.Dense(LEARN_LATENT_DIM, name="t_mean")(h)
    encoder = keras.Model(x, [t_mean, layers.Dense(LEARN_LATENT_DIM, name="t_log_var")(h)])
    t = keras.Input(shape=(LEARN_LATENT_DIM,))
    g = layers.Dense(LEARN_HIDDEN, activation="relu", name="hidden")(t)
    x_mean = layers.Dense(N_PIXELS, activation="sigmoid", name="x_mean")(g)
    x_log_std = layers.Dense(N_PIXELS, name="x_log_std")(g)
    outputs = [layers.Reshape(IMAGE_SHAPE)(x_mean), layers.Reshape(IMAGE_SHAPE)(x_log_std)]
    return encoder, keras.Model(t, outputs)


# The shapes of the weights `vae_trained` hands back: (model, layer) -> (kernel, bias).
LEARN_WEIGHT_SHAPES = {
    ("encoder", "hidden"): ((N_PIXELS, LEARN_HIDDEN), (LEARN_HIDDEN,)),
    ("encoder", "t_mean"): ((LEARN_HIDDEN, LEARN_LATENT_DIM), (LEARN_LATENT_DIM,)),
    ("encoder", "t_log_var"): ((LEARN_HIDDEN, LEARN_LATENT_DIM), (LEARN_LATENT_DIM,)),
    ("decoder", "hidden"): ((LEARN_LATENT_DIM, LEARN_HIDDEN), (LEARN_HIDDEN,)),
    ("decoder", "x_mean"): ((LEARN_HIDDEN, N_PIXELS), (N_PIXELS,)),
    ("decoder", "x_log_std"): ((LEARN_HIDDEN, N_PIXELS), (N_PIXELS,)),
}


def seeded_sampling(seed):
    """A sampling layer with its own seeded generator, in place of the notebook's."""
    import keras
    from keras import ops

    class SeededSampling(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.seed_generator = keras.random.SeedGenerator(seed)

        def call(self, inputs):
            t_mean, t_log_var = inputs
            epsilon = keras.random.normal(ops.shape(t_mean), seed=self.seed_generator)
            return t_mean + ops.exp(t_log_var / 2) * epsilon

    return SeededSampling()


def _ingredients(VAE):
    return [VAE, *(vars(VAE).values() if isinstance(VAE, type) else ())]


def _train(VAE):
    """(encoder, decoder, training losses per epoch), trained once per VAE."""
    import keras

    ingredients = _ingredients(VAE)
    if (
        _TRAINED
        and len(_TRAINED[0]) == len(ingredients)
        and all(a is b for a, b in zip(_TRAINED[0], ingredients))
    ):
        return _TRAINED[1]
    _TRAINED.clear()
    train_faces, _ = _learning_faces()
    encoder, decoder = learning_models()
    vae = _build_vae(VAE, encoder, decoder, seeded_sampling(LEARN_SEED))
    try:
        with replaced_names(VAE, {"gaussian_nll": standin_nll}), quiet_keras():
            vae.compile(optimizer=keras.optimizers.Adam(LEARN_LEARNING_RATE), jit_compile=False)
            history = vae.fit(train_faces, epochs=LEARN_EPOCHS, batch_size=LEARN_BATCH_SIZE,
                              shuffle=True, verbose=0)  # fmt: skip
    except NotImplementedError:
        fail(HINTS["vae_not_implemented"])
    except Exception as error:  # any failure of the student's class in training
        return _error_text(error)
    # The losses per epoch only inform the failure message; they are what the student's
    # trackers reported (or a forged history) and need not be numbers.
    try:
        losses = [float(np.mean(np.asarray(v, np.float64))) for v in history.history["loss"]]
    except Exception:  # noqa: BLE001 (anything a submission's history holds)
        losses = []
    trained = (encoder, decoder, losses)
    _TRAINED[:] = [ingredients, trained]
    return trained


@kernel_side
def vae_trained(VAE):
    """Train the student's VAE as grading does (once per class) and hand back what it learned.

    Returns {"error": message}, or the training losses per epoch (from the student's trackers)
    and the trained weights, {"weights": {"encoder/hidden": [kernel, bias], ...}} (the keys of
    LEARN_WEIGHT_SHAPES). The loss is then measured by `learned_loss`, away from the
    student's code: when a class is graded, in the grader.
    """
    trained = _train(VAE)
    if isinstance(trained, str):
        return {"error": trained}
    encoder, decoder, losses = trained
    models = {"encoder": encoder, "decoder": decoder}
    weights = {
        f"{model}/{layer}": [np.asarray(w) for w in models[model].get_layer(layer).get_weights()]
        for model, layer in LEARN_WEIGHT_SHAPES
    }
    return {"losses": losses, "weights": weights}


def learned_loss(result, eval_indices, noise_seed):
    """The stand-in loss, NLL and KL per image of the weights `vae_trained` returned, averaged
    over the faces not trained on at `eval_indices`, with codes drawn with `noise_seed`:
    computed here in float64 NumPy, not by the student's code.

    Returns {"error": message} when the result is not a training's result or its weights
    are not those of the models grading built.
    """
    if not isinstance(result, dict):
        return {"error": f"the training returned {type(result).__name__}, not its results"}
    if "error" in result:
        return {"error": str(result["error"])}
    weights = result.get("weights")
    if not isinstance(weights, dict):
        return {"error": "the training returned no weights"}
    params = {}
    for (model, layer), shapes in LEARN_WEIGHT_SHAPES.items():
        key = f"{model}/{layer}"
        pair = weights.get(key)
        arrays = None
        if isinstance(pair, (list, tuple)) and len(pair) == 2:
            arrays = [np.asarray(a, np.float64) for a in pair]
        if arrays is None or tuple(a.shape for a in arrays) != shapes:
            return {"error": f"the trained weights of {key} are not a kernel and a bias of "
                             f"shapes {shapes}"}  # fmt: skip
        params[key] = arrays
    _, other_faces = _learning_faces()
    x = other_faces[np.asarray(eval_indices, np.int64)].reshape(-1, N_PIXELS).astype(np.float64)

    def dense(key, inputs):
        kernel, bias = params[key]
        return inputs @ kernel + bias

    with np.errstate(all="ignore"):
        h = np.maximum(dense("encoder/hidden", x), 0.0)
        t_mean, t_log_var = dense("encoder/t_mean", h), dense("encoder/t_log_var", h)
        epsilon = np.random.default_rng(noise_seed).normal(size=t_mean.shape)
        g = np.maximum(dense("decoder/hidden", t_mean + np.exp(0.5 * t_log_var) * epsilon), 0.0)
        x_mean = 1.0 / (1.0 + np.exp(-dense("decoder/x_mean", g)))
        x_log_std = dense("decoder/x_log_std", g)
        nll = np.sum(STANDIN_SCALE * (x - x_mean) ** 2 + 0.5 * x_log_std**2, axis=1)
        kl = np.sum(t_mean**2 + np.exp(t_log_var) - 1.0 - t_log_var, axis=1) / 2
    losses = result.get("losses", [])
    try:
        losses = [float(v) for v in losses]
    except (TypeError, ValueError):
        losses = []
    return {"losses": losses, "loss": float(np.mean(nll + kl)), "nll": float(np.mean(nll)),
            "kl": float(np.mean(kl))}  # fmt: skip


def compare_learning(result, where):
    if "error" in result:
        _step_failure(result["error"], "Training your VAE briefly")
    loss = result["loss"]
    if not np.isfinite(loss) or loss > LEARN_LOSS_MAX:
        fail(
            f"After the short training, the VAE's loss {where} is {loss:.1f} per image (NLL "
            f"{result['nll']:.1f}, KL {result['kl']:.1f}, with the stand-in for "
            f"gaussian_nll); a VAE that trains as it should gets below {LEARN_LOSS_MAX:.0f} "
            f"(its loss per epoch in training: {np.round(result['losses'], 1).tolist()}). "
            f"{STEP_MESSAGE}"
        )


def check_vae_learns(VAE):
    """A short seeded training brings the loss on faces it never saw below a threshold."""
    result = learned_loss(vae_trained(VAE), np.arange(LEARN_EVAL_FACES), LEARN_SEED)
    compare_learning(result, "on faces it did not train on")
    passed(
        f"after {LEARN_EPOCHS} short epochs your VAE's loss on faces it did not train on is "
        f"below {LEARN_LOSS_MAX:.0f} per image (with the stand-in for gaussian_nll)."
    )
