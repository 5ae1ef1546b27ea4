"""Hidden checks for notebook 08: fresh random inputs and shapes, against the reference.

Every check prints the seed it drew, so a disputed grade can be reproduced exactly.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import numpy as np

from autograder.mistakes.nb08 import vlb_mistake_values
from autograder.reference import nb08 as reference
from course.checks import nb08 as visible
from course.checks.core import call_student, fail, passed

PRIVATE = json.loads((Path(__file__).parent.parent / "references" / "nb08.json").read_text())


def _fresh_rng():
    seed = secrets.randbits(32)
    print(f"(hidden check seed: {seed})")
    return np.random.default_rng(seed)


def _random_size(rng, low, high, avoid):
    size = int(rng.integers(low, high + 1))
    return size + 1 if size == avoid else size


def vlb_on_random_inputs(vlb_binomial, trials=3):
    """Random batch sizes (never 100) and latent sizes (never 2), against the reference."""
    rng = _fresh_rng()
    for _ in range(trials):
        batch_size = _random_size(rng, 2, 150, avoid=100)
        latent_dim = _random_size(rng, 3, 16, avoid=2)
        inputs = visible.make_vlb_inputs(rng, batch_size, latent_dim)
        value = visible.vlb_value(vlb_binomial, inputs)
        visible.compare_vlb(
            value, reference.vlb_binomial(*inputs), vlb_mistake_values(inputs),
            f"on random inputs (batch {batch_size}, latent {latent_dim})",
        )  # fmt: skip
    passed("vlb_binomial matches the reference on random inputs.")


def vlb_on_hidden_fixture(vlb_binomial):
    """A fixed batch whose value is never shown to students."""
    spec = PRIVATE["vlb_hidden_fixture"]
    inputs = visible.make_vlb_inputs(
        np.random.default_rng(spec["seed"]), spec["batch_size"], spec["latent_dim"]
    )
    value = visible.vlb_value(vlb_binomial, inputs)
    visible.compare_vlb(value, spec["expected"], vlb_mistake_values(inputs), "on a hidden batch")
    passed("vlb_binomial matches the reference on a hidden batch.")


def vlb_gradient(vlb_binomial):
    """The bound is differentiable: d(bound)/d(t_mean) = t_mean / batch_size."""
    import tensorflow as tf

    rng = _fresh_rng()
    inputs = visible.make_vlb_inputs(rng, 9, 5)
    t_mean = tf.Variable(inputs[2])
    with tf.GradientTape() as tape:
        # Through call_student, like every check: warnings stay off stderr, errors read well.
        value = call_student(
            vlb_binomial,
            tf.constant(inputs[0]), tf.constant(inputs[1]), t_mean, tf.constant(inputs[3]),
            what="vlb_binomial",
        )  # fmt: skip
    gradient = tape.gradient(value, t_mean)
    if gradient is None:
        fail(
            "vlb_binomial: no gradient reaches t_mean, so the encoder could not learn. "
            "Use keras.ops (or tf) throughout, not NumPy."
        )
    if not np.allclose(np.asarray(gradient), inputs[2] / 9, rtol=1e-3, atol=1e-5):
        fail(
            "vlb_binomial: its gradient with respect to t_mean is not t_mean / batch_size, "
            "the gradient of the KL term averaged over the batch."
        )
    passed("vlb_binomial has the right gradient with respect to t_mean.")


def sampling_shapes(sampling):
    """Random shapes eagerly, and batches of 1 and 257 inside a Keras model."""
    rng = _fresh_rng()
    for _ in range(3):
        shape = (_random_size(rng, 1, 300, avoid=100), _random_size(rng, 3, 20, avoid=2))
        visible.sample(sampling, rng.normal(size=shape).astype(np.float32),
                       rng.normal(size=shape).astype(np.float32))  # fmt: skip
    visible.check_sampling_shape_at_run_time(sampling, latent_dim=7, batch_sizes=(1, 257))
    passed("sampling handles random shapes and run-time batch sizes.")


def sampling_statistics(sampling):
    """10,000 samples at a random mean and log-variance (false-fail rate at most 1e-6)."""
    rng = _fresh_rng()
    latent_dim = _random_size(rng, 3, 8, avoid=2)
    mean = rng.uniform(-3, 3, size=latent_dim).astype(np.float32)
    log_var = rng.uniform(-3, 2, size=latent_dim).astype(np.float32)
    n = visible.SAMPLING_N
    samples = visible.sample(sampling, np.tile(mean, (n, 1)), np.tile(log_var, (n, 1)))
    visible.check_statistics(samples, mean.astype(np.float64), log_var.astype(np.float64))
    passed("the statistics of 10,000 samples at a random mean and variance are right.")


def sampling_fresh_noise_in_model(sampling):
    """Two predictions of the same Keras model on the same inputs differ.

    The model's batch size is fixed, so this checks fresh noise only: a function that needs
    a static batch size loses its points in the shape check, not here.
    """
    try:
        model = visible.sampling_model(sampling, latent_dim=4, batch_size=8)
    except Exception:  # cannot run on symbolic tensors at all
        # The shape check already takes the points for that; judge fresh noise only
        # where the function can run, as the visible check did.
        print("(sampling cannot build inside a model; fresh noise was checked eagerly)")
        return
    inputs = [np.zeros((8, 4), np.float32), np.zeros((8, 4), np.float32)]
    try:
        first = visible.predict_quietly(model, inputs, batch_size=8)
        second = visible.predict_quietly(model, inputs, batch_size=8)
    except Exception as error:  # the student's code failed inside the model
        fail(f"sampling failed inside a Keras model: {type(error).__name__}: {error}")
    if np.allclose(first, second):
        fail(f"sampling, inside a model: {visible.HINTS['same_noise']}")
    passed("a model built on sampling draws fresh noise on every prediction.")


def sampling_gradients(sampling):
    """Gradient values at random shapes and parameters."""
    rng = _fresh_rng()
    shape = (_random_size(rng, 2, 50, avoid=100), _random_size(rng, 3, 10, avoid=2))
    t_mean = rng.normal(size=shape).astype(np.float32)
    t_log_var = rng.uniform(-3, 2, size=shape).astype(np.float32)
    weights = rng.normal(size=shape).astype(np.float32)
    t, grad_mean, grad_log_var = visible.sampling_gradients(sampling, t_mean, t_log_var, weights)
    visible.compare_gradients(t, grad_mean, grad_log_var, t_mean, weights)
    passed("gradients are right at random shapes and parameters.")
