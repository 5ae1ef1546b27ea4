"""Hidden checks for `sampling(args)`, graded in notebook 08.

Random inputs and shapes from `fresh_rng` (see `autograder.hidden`): a regrade draws the same
ones. Notebook 08 reaches these through `autograder.hidden.nb08`, which re-exports them.
"""

from __future__ import annotations

import numpy as np

from autograder.hidden import fresh_rng, random_size
from course.checks import sampling as visible
from course.checks.core import fail, passed


def sampling_shapes(sampling):
    """Random shapes eagerly, and batches of 1 and 257 inside a Keras model."""
    rng = fresh_rng()
    for _ in range(3):
        shape = (random_size(rng, 1, 300, avoid=100), random_size(rng, 3, 20, avoid=2))
        visible.sample(sampling, rng.normal(size=shape).astype(np.float32),
                       rng.normal(size=shape).astype(np.float32))  # fmt: skip
    visible.check_sampling_shape_at_run_time(sampling, latent_dim=7, batch_sizes=(1, 257))
    passed("sampling handles random shapes and run-time batch sizes.")


def sampling_statistics(sampling):
    """10,000 samples at a random mean and log-variance.

    Together with the visible check in the same cell, a correct function fails at most
    `visible.SAMPLING_FALSE_FAIL_RATE` (1e-6) of the time; this call has half of it.
    """
    rng = fresh_rng()
    latent_dim = random_size(rng, 3, 8, avoid=2)
    mean = rng.uniform(-3, 3, size=latent_dim).astype(np.float32)
    log_var = rng.uniform(-3, 2, size=latent_dim).astype(np.float32)
    n = visible.SAMPLING_N
    samples = visible.sample(sampling, np.tile(mean, (n, 1)), np.tile(log_var, (n, 1)))
    visible.check_statistics(samples, mean.astype(np.float64), log_var.astype(np.float64))
    passed("the statistics of 10,000 samples at a random mean and variance are right.")


def sampling_fresh_noise_in_model(sampling):
    """Two predictions of the same Keras model on the same inputs differ, in every row and
    every latent dimension.

    The model's batch size is fixed, so this checks fresh noise only: a function that needs
    a static batch size loses its points in the shape check, not here.
    """
    try:
        model = visible.sampling_model(sampling, latent_dim=4, batch_size=8)
    except Exception as error:
        # If it cannot run on symbolic tensors at all, the shape check already takes the
        # points for that: judge fresh noise only where the function can run, as the
        # visible check did. But a function that builds inside a model at another size has
        # no reason to fail at this one.
        try:
            visible.sampling_model(sampling, latent_dim=int(fresh_rng().integers(2, 9)))
        except Exception:
            print("(sampling cannot build inside a model; fresh noise was checked eagerly)")
            return
        fail(f"sampling failed inside a Keras model of batch size 8 ({visible.short_error(error)})"
             f". {visible.HINTS['runs_in_model']}")  # fmt: skip
    inputs = [np.zeros((8, 4), np.float32), np.zeros((8, 4), np.float32)]
    try:
        first = visible.predict_quietly(model, inputs, batch_size=8)
        second = visible.predict_quietly(model, inputs, batch_size=8)
    except Exception as error:  # the student's code failed inside the model
        fail(
            f"sampling failed inside a Keras model ({visible.short_error(error)}). "
            f"{visible.HINTS['runs_in_model']}"
        )
    problem = visible.stale_noise(first, second)
    if problem:
        fail(f"sampling, inside a model: {visible.HINTS[problem]}")
    passed("a model built on sampling draws fresh noise on every prediction.")


def sampling_gradients(sampling):
    """Gradient values at random shapes and parameters."""
    rng = fresh_rng()
    shape = (random_size(rng, 2, 50, avoid=100), random_size(rng, 3, 10, avoid=2))
    t_mean = rng.normal(size=shape).astype(np.float32)
    t_log_var = rng.uniform(-3, 2, size=shape).astype(np.float32)
    weights = rng.normal(size=shape).astype(np.float32)
    t, grad_mean, grad_log_var = visible.sampling_gradients(sampling, t_mean, t_log_var, weights)
    visible.compare_gradients(t, grad_mean, grad_log_var, t_mean, weights)
    passed("gradients are right at random shapes and parameters.")
