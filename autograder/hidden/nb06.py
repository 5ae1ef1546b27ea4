"""Hidden checks for notebook 06: fresh random inputs and shapes, against the reference.

Seeds come from `fresh_rng` (see `autograder.hidden`): a regrade draws the same inputs. The
`sampling` checks are shared with notebook 08 (`autograder.hidden.sampling`) and
re-exported here under the same names.
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
from autograder.mistakes.nb06 import pathwise_mistake_values
from autograder.reference import nb06 as reference
from course.checks import nb06 as visible
from course.checks.core import passed

PRIVATE = private_values("nb06")

__all__ = [
    "pathwise_on_hidden_fixture",
    "pathwise_on_random_inputs",
    "pathwise_shapes",
    "pathwise_unbiased_on_fresh_noise",
    "sampling_fresh_noise_in_model",
    "sampling_gradients",
    "sampling_shapes",
    "sampling_statistics",
]


def _random_inputs(rng):
    """A random t_mean, t_log_var and noise of a random shape with n_repeats != n_samples."""
    n_repeats = random_size(rng, 2, 40, avoid=4)
    n_samples = random_size(rng, 2, 30, avoid=n_repeats)
    t_mean = float(np.round(rng.uniform(-3.0, 3.0), 3))
    t_log_var = float(np.round(rng.uniform(-2.0, 1.5), 3))
    return t_mean, t_log_var, rng.standard_normal((n_repeats, n_samples))


def pathwise_shapes(pathwise_gradient):
    """Random shapes, including one sample per row and a single row."""
    rng = fresh_rng()
    t_mean, t_log_var, _ = _random_inputs(rng)
    for shape in ((random_size(rng, 2, 50, avoid=4), 1), (1, random_size(rng, 2, 50, avoid=6))):
        visible.pathwise_estimates(pathwise_gradient, t_mean, t_log_var, rng.standard_normal(shape))
    passed("pathwise_gradient handles random shapes.")


def pathwise_on_random_inputs(pathwise_gradient, name, trials=3):
    """One component (`grad_mean` or `grad_log_var`) at random parameters and shapes."""
    rng = fresh_rng()
    for _ in range(trials):
        t_mean, t_log_var, epsilon = _random_inputs(rng)
        values = visible.pathwise_estimates(pathwise_gradient, t_mean, t_log_var, epsilon)
        grad_mean, grad_log_var = reference.pathwise_gradient(t_mean, t_log_var, epsilon)
        visible.compare_component(
            values, {"grad_mean": grad_mean, "grad_log_var": grad_log_var},
            pathwise_mistake_values(t_mean, t_log_var, epsilon), name,
            f"at t_mean = {t_mean}, t_log_var = {t_log_var} (epsilon of shape {epsilon.shape})",
        )  # fmt: skip
    passed(f"{name} matches the reference at random parameters and shapes.")


def pathwise_on_hidden_fixture(pathwise_gradient, name):
    """A fixed input whose values are never shown to students."""
    spec = PRIVATE["pathwise_hidden_fixture"]
    epsilon = np.random.default_rng(spec["seed"]).standard_normal(
        (spec["n_repeats"], spec["n_samples"])
    )
    values = visible.pathwise_estimates(pathwise_gradient, spec["t_mean"], spec["t_log_var"],
                                        epsilon)  # fmt: skip
    visible.compare_component(
        values, spec, pathwise_mistake_values(spec["t_mean"], spec["t_log_var"], epsilon), name,
        "on a hidden input",
    )  # fmt: skip
    passed(f"{name} matches the reference on a hidden input.")


def pathwise_unbiased_on_fresh_noise(pathwise_gradient):
    """500 x 20 fresh samples at random parameters (false-fail rate below 1e-6)."""
    rng = fresh_rng()
    t_mean = float(np.round(rng.uniform(-3.0, 3.0), 3))
    t_log_var = float(np.round(rng.uniform(-2.0, 1.5), 3))
    spec = visible.PATHWISE_FIXTURES["unbiased"]
    epsilon = rng.standard_normal((spec["n_repeats"], spec["n_samples"]))
    visible.check_unbiased(
        pathwise_gradient, t_mean, t_log_var, epsilon,
        reference.exact_gradient(t_mean, t_log_var),
        f"at t_mean = {t_mean}, t_log_var = {t_log_var}",
    )  # fmt: skip
    passed("averaged over fresh noise at random parameters, the estimates are unbiased.")
