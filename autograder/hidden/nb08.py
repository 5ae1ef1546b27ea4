"""Hidden checks for notebook 08: fresh random inputs and shapes, against the reference.

Seeds come from `fresh_rng` (see `autograder.hidden`): a regrade draws the same inputs. The
`sampling` checks live in `autograder.hidden.sampling` and are re-exported here under the
same names.
"""

from __future__ import annotations

import numpy as np

from autograder.hidden import fresh_rng, private_values, random_size
from autograder.hidden.sampling import (
    sampling_fresh_noise_in_model,
    sampling_gradients,
    sampling_shapes,
    sampling_statistics,
)
from autograder.mistakes.nb08 import vlb_mistake_values
from autograder.reference import nb08 as reference
from course.checks import nb08 as visible
from course.checks.core import fail, gradients, passed

PRIVATE = private_values("nb08")

__all__ = [
    "sampling_fresh_noise_in_model",
    "sampling_gradients",
    "sampling_shapes",
    "sampling_statistics",
    "vlb_gradient",
    "vlb_on_hidden_fixture",
    "vlb_on_random_inputs",
]


def vlb_on_random_inputs(vlb_binomial, trials=3):
    """Random batch sizes (never 100) and latent sizes (never 2), against the reference."""
    rng = fresh_rng()
    for _ in range(trials):
        batch_size = random_size(rng, 2, 150, avoid=100)
        latent_dim = random_size(rng, 3, 16, avoid=2)
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
    rng = fresh_rng()
    inputs = visible.make_vlb_inputs(rng, 9, 5)
    _, (gradient,) = gradients(vlb_binomial, list(inputs), [2], "vlb_binomial")
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
