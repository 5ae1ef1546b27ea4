"""Hidden checks for notebook 08: fresh random inputs and shapes, against the reference; for
`build_cvae`, other sizes, other held-out digits and other prior codes.

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
    "cvae_label_effects_at_other_sizes",
    "cvae_learns_on_other_digits",
    "cvae_samples_from_other_codes",
    "cvae_structure_at_other_sizes",
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


# ----------------------------------------------------------------------------- build_cvae


def _other_sizes(rng):
    """A latent size other than the notebook's 2 and a number of classes other than 10."""
    latent_dim = random_size(rng, 3, 8, avoid=visible.CVAE_LATENT_DIM)
    n_classes = random_size(rng, 3, 12, avoid=visible.CVAE_N_CLASSES)
    return latent_dim, n_classes, int(rng.integers(2**31))


def cvae_structure_at_other_sizes(build_cvae):
    """The contract at a random latent size and number of classes: nothing hard-coded."""
    latent_dim, n_classes, seed = _other_sizes(fresh_rng())
    facts = visible.cvae_facts(build_cvae, latent_dim, n_classes, seed)
    visible.compare_structure(facts, latent_dim, n_classes)
    passed("the three models keep the contract at other sizes too.")


def cvae_label_effects_at_other_sizes(build_cvae):
    """The label reaches both halves at a random latent size and number of classes."""
    latent_dim, n_classes, seed = _other_sizes(fresh_rng())
    effects = visible.cvae_label_effects(build_cvae, latent_dim, n_classes, seed)
    visible.compare_label_effects(effects, latent_dim, n_classes)
    passed("the label reaches both halves at other sizes too.")


def cvae_learns_on_other_digits(build_cvae):
    """The trained CVAE's loss on a random half of the first 1,000 test digits."""
    indices = np.sort(fresh_rng().choice(1000, visible.CVAE_EVAL_DIGITS, replace=False))
    result = visible.cvae_trained(build_cvae, indices, 0)
    visible.compare_learning(result, "on other held-out digits")
    passed("the trained CVAE's loss is below the threshold on other held-out digits too.")


def cvae_samples_from_other_codes(build_cvae):
    """The trained CVAE's samples from codes drawn with a hidden seed."""
    code_seed = int(fresh_rng().integers(1, 2**31))
    result = visible.cvae_trained(build_cvae, np.arange(visible.CVAE_EVAL_DIGITS), code_seed)
    visible.compare_samples(result, "from other codes")
    passed("the trained CVAE's samples pass from other codes too.")
