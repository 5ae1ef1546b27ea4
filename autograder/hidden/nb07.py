"""Hidden checks for notebook 07: fresh random inputs, shapes and weights, against the reference.

Seeds come from `fresh_rng` (see `autograder.hidden`): a regrade draws the same inputs.
"""

from __future__ import annotations

import numpy as np

from autograder.hidden import fresh_rng, private_values, random_size
from autograder.mistakes.nb07 import nll_mistake_values, vae_mistake_values
from autograder.reference import nb07 as reference
from course.checks import nb07 as visible
from course.checks.core import fail, gradients, passed

PRIVATE = private_values("nb07")


def nll_shapes(gaussian_nll):
    """Random batch sizes, among them 1, give one finite value per image."""
    rng = fresh_rng()
    for batch_size in (1, random_size(rng, 2, 200, avoid=32), random_size(rng, 2, 40, avoid=5)):
        visible.nll_values(gaussian_nll, visible.make_nll_inputs(rng, batch_size))
    passed("gaussian_nll returns one value per image for random batch sizes.")


def nll_on_random_inputs(gaussian_nll, trials=3):
    """Random batch sizes and inputs, against the reference."""
    rng = fresh_rng()
    for _ in range(trials):
        batch_size = random_size(rng, 2, 64, avoid=7)
        inputs = visible.make_nll_inputs(rng, batch_size)
        values = visible.nll_values(gaussian_nll, inputs)
        visible.compare_nll(values, reference.gaussian_nll(*inputs), nll_mistake_values(inputs),
                            f"on random inputs (batch {batch_size})")  # fmt: skip
    passed("gaussian_nll matches the reference on random inputs.")


def nll_on_hidden_fixture(gaussian_nll):
    """A fixed batch whose values are never shown to students."""
    spec = PRIVATE["nll_hidden_fixture"]
    inputs = visible.make_nll_inputs(np.random.default_rng(spec["seed"]), spec["batch_size"])
    values = visible.nll_values(gaussian_nll, inputs)
    visible.compare_nll(values, spec["expected"], nll_mistake_values(inputs), "on a hidden batch")
    passed("gaussian_nll matches the reference on a hidden batch.")


def nll_gradient(gaussian_nll):
    """Gradients reach x_mean and x_log_std with the values the density implies.

    With z = (x - x_mean) / sigma: d NLL / d x_mean = -z / sigma and
    d NLL / d x_log_std = 1 - z^2, pixel by pixel.
    """
    rng = fresh_rng()
    x, x_mean, x_log_std = visible.make_nll_inputs(rng, 4)
    _, (grad_mean, grad_log_std) = gradients(gaussian_nll, [x, x_mean, x_log_std], [1, 2],
                                             "gaussian_nll")  # fmt: skip
    if grad_mean is None or grad_log_std is None:
        fail(f"gaussian_nll: {visible.HINTS['no_gradient']}")
    sigma = np.exp(x_log_std.astype(np.float64))
    z = (x - x_mean.astype(np.float64)) / sigma
    if not np.allclose(np.asarray(grad_mean), -z / sigma, rtol=1e-3, atol=1e-3):
        fail("gaussian_nll: its gradient with respect to x_mean is not -(x - x_mean) / sigma^2. "
             + visible.NLL_MESSAGE)  # fmt: skip
    if not np.allclose(np.asarray(grad_log_std), 1.0 - z**2, rtol=1e-3, atol=1e-3):
        fail("gaussian_nll: its gradient with respect to x_log_std is not "
             "1 - ((x - x_mean) / sigma)^2. " + visible.NLL_MESSAGE)  # fmt: skip
    passed("gaussian_nll has the right gradients with respect to x_mean and x_log_std.")


def vae_loss_on_random_weights(gaussian_nll):
    """A model of random size and weights, on random images and noise, against the reference."""
    rng = fresh_rng()
    spec = {"batch_size": random_size(rng, 2, 40, avoid=6),
            "latent_dim": random_size(rng, 1, 12, avoid=3),
            "hidden": int(rng.integers(8, 65))}  # fmt: skip
    fixture = visible.make_vae_fixture(rng, **spec)
    logs = visible.vae_losses(gaussian_nll, fixture)
    visible.compare_vae(logs, reference.vae_losses(fixture), vae_mistake_values(fixture),
                        f"with random weights (batch {spec['batch_size']}, latent "
                        f"{spec['latent_dim']})")  # fmt: skip
    passed("the model's loss matches the reference with random weights, images and noise.")


def vae_loss_on_hidden_fixture(gaussian_nll):
    """Fixed weights, images and noise whose loss is never shown to students."""
    spec = PRIVATE["vae_hidden_fixture"]
    sizes = {key: spec[key] for key in ("batch_size", "latent_dim", "hidden")}
    fixture = visible.make_vae_fixture(np.random.default_rng(spec["seed"]), **sizes)
    logs = visible.vae_losses(gaussian_nll, fixture)
    visible.compare_vae(logs, spec["expected"], vae_mistake_values(fixture), "on a hidden batch")
    passed("the model's loss matches the reference on a hidden batch.")


# ----------------------------------------------------------------------------- the VAE class


def vae_train_step_on_random_weights(VAE):
    """One SGD step of a VAE of random size, image shape, weights and learning rate."""
    rng = fresh_rng()
    spec = {"batch_size": random_size(rng, 2, 24, avoid=visible.STEP_FIXTURE["batch_size"]),
            "latent_dim": random_size(rng, 1, 6, avoid=visible.STEP_FIXTURE["latent_dim"]),
            "hidden": int(rng.integers(4, 33)),
            "image_shape": (int(rng.integers(2, 9)), int(rng.integers(2, 9)))}  # fmt: skip
    learning_rate = float(rng.choice([0.01, 0.03, 0.3]))
    fixture = visible.make_vae_fixture(rng, **spec)
    result = visible.vae_step(VAE, fixture, learning_rate)
    visible.compare_train_step(result, reference.standin_step(fixture), learning_rate,
                               f"with random weights (batch {spec['batch_size']}, latent "
                               f"{spec['latent_dim']})")  # fmt: skip
    passed("one training step matches the reference with random weights, sizes and step.")


def vae_learns_on_other_faces(VAE):
    """The trained VAE's loss on a random half of other held-out faces, other noise."""
    rng = fresh_rng()
    indices = np.sort(rng.choice(2 * visible.LEARN_EVAL_FACES, visible.LEARN_EVAL_FACES,
                                 replace=False))  # fmt: skip
    result = visible.learned_loss(visible.vae_trained(VAE), indices, int(rng.integers(1, 2**31)))
    visible.compare_learning(result, "on other faces it did not train on")
    passed("the trained VAE's loss is below the threshold on other faces too.")
