"""Notebook 07: known mistakes in `gaussian_nll` and in the `VAE` class, and acceptable
variants.

The functions use the names a student's notebook has: `ops` and `np`; one that needs
TensorFlow imports it, as a student would. The VAE classes extend `GivenVAE`, the part of
the class cell that the notebook gives (see `Variant.source`), and use the notebook's
`keras`, `tf`, `Sampling`, `SEED`, `gaussian_nll`, `kl_divergence` and `kl_monte_carlo`.

The checks of the VAE class run it with a stand-in under the name `gaussian_nll`, so a
`gaussian_nll` mistake costs none of their points, and a mistake in the class none of
Exercise 1's.
"""

from __future__ import annotations

import math
import warnings

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from autograder.mistakes import Variant

# The VAE classes use names that the notebook's cells define (Sampling, SEED, gaussian_nll,
# kl_divergence, kl_monte_carlo); they run only in a notebook's namespace, where those exist.
# ruff: noqa: F821

VALUE_CELLS = ("nll_known_values", "nll_random", "vae_loss")
VAE_CELLS = ("vae_train_step", "vae_learns")


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


# ----------------------------------------------------------------------- the VAE class


class GivenVAE(keras.Model):
    """A VAE with a Gaussian decoder, trained on the negative ELBO (estimator B, one sample).

    encoder: images (batch_size, 28, 20) -> [t_mean, t_log_var], each (batch_size, latent_dim).
    decoder: codes (batch_size, latent_dim) -> [x_mean, x_log_std], each (batch_size, 28, 20).
    monte_carlo_kl: estimate the KL term with `kl_monte_carlo` (estimator A) instead.
    """

    def __init__(self, encoder, decoder, monte_carlo_kl=False, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.sampling = Sampling(seed=SEED)
        self.monte_carlo_kl = monte_carlo_kl
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.nll_tracker = keras.metrics.Mean(name="nll")
        self.kl_tracker = keras.metrics.Mean(name="kl")

    @property
    def metrics(self):
        return [self.loss_tracker, self.nll_tracker, self.kl_tracker]

    def test_step(self, data):
        """One evaluation step: the same terms and trackers as training, no update."""
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self.update_trackers(*self.loss_terms(x))


# The reference's methods; each mistake below changes one of them.
class _Right(GivenVAE):
    def loss_terms(self, x):
        t_mean, t_log_var = self.encoder(x)
        t = self.sampling([t_mean, t_log_var])
        x_mean, x_log_std = self.decoder(t)
        nll = ops.cast(gaussian_nll(x, x_mean, x_log_std), "float32")
        if self.monte_carlo_kl:
            return nll, kl_monte_carlo(t, t_mean, t_log_var)
        return nll, kl_divergence(t_mean, t_log_var)

    def update_trackers(self, nll, kl):
        self.loss_tracker.update_state(nll + kl)
        self.nll_tracker.update_state(nll)
        self.kl_tracker.update_state(kl)
        return {tracker.name: tracker.result() for tracker in self.metrics}

    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            nll, kl = self.loss_terms(x)
            loss = ops.mean(nll + kl)
        gradients = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        return self.update_trackers(nll, kl)


# ----------------------------------------------------------------------- VAE mistakes


class vae_mean_outside_tape(_Right):
    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            nll, kl = self.loss_terms(x)
        loss = ops.mean(nll + kl)
        gradients = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        return self.update_trackers(nll, kl)


class vae_gradient_of_the_sum(_Right):
    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            nll, kl = self.loss_terms(x)
            loss = nll + kl
        gradients = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        return self.update_trackers(nll, kl)


class vae_forgot_kl(_Right):
    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            nll, kl = self.loss_terms(x)
            loss = ops.mean(nll)
        gradients = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        return self.update_trackers(nll, kl)


class vae_kl_sign(_Right):
    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            nll, kl = self.loss_terms(x)
            loss = ops.mean(nll - kl)
        gradients = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        return self.update_trackers(nll, kl)


class vae_maximizes_the_loss(_Right):
    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            nll, kl = self.loss_terms(x)
            elbo = -ops.mean(nll + kl)
        gradients = tape.gradient(elbo, self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        return self.update_trackers(nll, kl)


class vae_decoder_weights_only(_Right):
    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            nll, kl = self.loss_terms(x)
            loss = ops.mean(nll + kl)
        gradients = tape.gradient(loss, self.decoder.trainable_weights)
        self.optimizer.apply(gradients, self.decoder.trainable_weights)
        return self.update_trackers(nll, kl)


class vae_no_optimizer_step(_Right):
    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            nll, kl = self.loss_terms(x)
            loss = ops.mean(nll + kl)
        tape.gradient(loss, self.trainable_weights)
        return self.update_trackers(nll, kl)


class vae_returns_the_loss_only(_Right):
    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            nll, kl = self.loss_terms(x)
            loss = ops.mean(nll + kl)
        gradients = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply(gradients, self.trainable_weights)
        self.update_trackers(nll, kl)
        return {"loss": loss}


class vae_trackers_not_updated(_Right):
    def update_trackers(self, nll, kl):
        return {"loss": ops.mean(nll + kl), "nll": ops.mean(nll), "kl": ops.mean(kl)}


class vae_loss_tracker_gets_nll(_Right):
    def update_trackers(self, nll, kl):
        self.loss_tracker.update_state(nll)
        self.nll_tracker.update_state(nll)
        self.kl_tracker.update_state(kl)
        return {tracker.name: tracker.result() for tracker in self.metrics}


class vae_decodes_the_mean(_Right):
    def loss_terms(self, x):
        t_mean, t_log_var = self.encoder(x)
        x_mean, x_log_std = self.decoder(t_mean)
        nll = ops.cast(gaussian_nll(x, x_mean, x_log_std), "float32")
        return nll, kl_divergence(t_mean, t_log_var)


# ----------------------------------------------------------------------- VAE variants


class vae_apply_gradients_zip(GivenVAE):
    def loss_terms(self, x):
        t_mean, t_log_var = self.encoder(x)
        t = self.sampling((t_mean, t_log_var))
        x_mean, x_log_std = self.decoder(t)
        nll = tf.cast(gaussian_nll(x, x_mean, x_log_std), tf.float32)
        kl = kl_monte_carlo(t, t_mean, t_log_var) if self.monte_carlo_kl else None
        if kl is None:
            kl = kl_divergence(t_mean, t_log_var)
        return nll, kl

    def update_trackers(self, nll, kl):
        for tracker, values in zip(self.metrics, (nll + kl, nll, kl)):
            tracker.update_state(values)
        return {tracker.name: tracker.result() for tracker in self.metrics}

    def train_step(self, data):
        x = data[0] if isinstance(data, tuple) else data
        with tf.GradientTape() as tape:
            nll, kl = self.loss_terms(x)
            loss = tf.reduce_mean(nll) + tf.reduce_mean(kl)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return self.update_trackers(nll, kl)


class vae_trackers_fed_means(GivenVAE):
    def loss_terms(self, x):
        t_mean, t_log_var = self.encoder(x, training=True)
        t = self.sampling([t_mean, t_log_var])
        x_mean, x_log_std = self.decoder(t, training=True)
        if self.monte_carlo_kl:
            kl = kl_monte_carlo(t, t_mean, t_log_var)
        else:
            kl = kl_divergence(t_mean, t_log_var)
        return ops.cast(gaussian_nll(x, x_mean, x_log_std), kl.dtype), kl

    def update_trackers(self, nll, kl):
        self.loss_tracker.update_state(ops.mean(nll + kl))
        self.nll_tracker.update_state(ops.mean(nll))
        self.kl_tracker.update_state(ops.mean(kl))
        return {
            "loss": self.loss_tracker.result(),
            "nll": self.nll_tracker.result(),
            "kl": self.kl_tracker.result(),
        }

    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            nll, kl = self.loss_terms(x)
            negative_elbo = ops.mean(nll + kl)
        weights = self.encoder.trainable_weights + self.decoder.trainable_weights
        self.optimizer.apply(tape.gradient(negative_elbo, weights), weights)
        return self.update_trackers(nll, kl)


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
    Variant(vae_mean_outside_tape, "VAE", VAE_CELLS, "no_gradients"),
    Variant(vae_gradient_of_the_sum, "VAE", ("vae_train_step",), "loss_not_averaged"),
    Variant(vae_forgot_kl, "VAE", ("vae_train_step",), "forgot_kl"),
    Variant(vae_kl_sign, "VAE", VAE_CELLS, "kl_sign"),
    Variant(vae_maximizes_the_loss, "VAE", VAE_CELLS, "gradient_ascent"),
    Variant(vae_decoder_weights_only, "VAE", VAE_CELLS, "encoder_not_trained"),
    Variant(vae_no_optimizer_step, "VAE", VAE_CELLS, "not_applied"),
    Variant(vae_returns_the_loss_only, "VAE", ("vae_train_step",), "metric_keys"),
    Variant(vae_trackers_not_updated, "VAE", ("vae_train_step",), "trackers_not_updated"),
    Variant(vae_loss_tracker_gets_nll, "VAE", ("vae_train_step",), "loss_tracker"),
    Variant(vae_decodes_the_mean, "VAE", VAE_CELLS, "decoder_gets_mean"),
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
    Variant(vae_apply_gradients_zip, "VAE"),
    Variant(vae_trackers_fed_means, "VAE"),
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
