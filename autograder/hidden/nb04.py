"""Hidden checks for notebook 04: fresh random models, sizes and noise, against the reference.

Seeds come from `fresh_rng` (see `autograder.hidden`): a regrade draws the same inputs.
"""

from __future__ import annotations

import numpy as np

from autograder.hidden import fresh_rng, private_values
from autograder.mistakes.nb04 import elbo_mistake_values, tight_mistake_values
from autograder.reference import nb04 as reference
from course.checks import nb04 as visible
from course.checks.core import passed

PRIVATE = private_values("nb04")


def _random_inputs(rng, orthogonal=False, max_samples=50):
    latent_dim = int(rng.integers(1, 9))
    data_dim = latent_dim + int(rng.integers(1, 25))
    return visible.make_elbo_inputs(
        rng, data_dim, latent_dim, n_samples=int(rng.integers(1, max_samples + 1)),
        noise_std=float(rng.uniform(0.3, 1.5)), orthogonal=orthogonal,
    )  # fmt: skip


def _sizes(inputs):
    data_dim, latent_dim = inputs["W"].shape
    return f"data_dim {data_dim}, latent_dim {latent_dim}, {len(inputs['epsilon'])} samples"


def elbo_on_random_inputs(elbo_estimate, trials=3):
    """Random models, sizes and noise, against the reference for the same noise."""
    rng = fresh_rng()
    for _ in range(trials):
        inputs = _random_inputs(rng)
        value = visible.elbo_value(elbo_estimate, inputs)
        visible.compare_elbo(
            elbo_estimate, inputs, value, reference.elbo_estimate(**inputs),
            elbo_mistake_values(inputs), f"on a random model ({_sizes(inputs)})",
        )  # fmt: skip
    passed("elbo_estimate matches the reference on random models and noise.")


def elbo_on_hidden_fixture(elbo_estimate):
    """Fixed inputs whose estimate is never shown to students."""
    spec = PRIVATE["elbo_hidden_fixture"]
    inputs = visible.make_elbo_inputs(
        np.random.default_rng(spec["seed"]), spec["data_dim"], spec["latent_dim"], spec["n_samples"]
    )
    value = visible.elbo_value(elbo_estimate, inputs)
    visible.compare_elbo(elbo_estimate, inputs, value, spec["expected"],
                         elbo_mistake_values(inputs), "on hidden inputs")  # fmt: skip
    passed("elbo_estimate matches the reference on hidden inputs.")


def elbo_unbiased_random(elbo_estimate):
    """On a random model, fresh noise averages to the exact ELBO.

    False-fail rate: visible.ELBO_FALSE_FAIL_RATE (a t-test on independent group averages).
    """
    rng = fresh_rng()
    inputs = _random_inputs(rng)
    exact = reference.exact_elbo(**{k: v for k, v in inputs.items() if k != "epsilon"})
    estimates = visible.group_estimates(elbo_estimate, inputs, rng)
    visible.check_unbiased(estimates, exact, f"on a random model ({_sizes(inputs)})")
    passed("on a random model, elbo_estimate averages to the exact ELBO.")


def elbo_tight_random(elbo_estimate, trials=2):
    """Random models whose posterior is diagonal: at q = posterior, every estimate is log p(x)."""
    rng = fresh_rng()
    for _ in range(trials):
        inputs = _random_inputs(rng, orthogonal=True, max_samples=8)
        model = (inputs["x"], inputs["W"], inputs["b"], inputs["noise_std"])
        mean, covariance = reference.posterior(*model)
        inputs = {**inputs, "q_mean": mean, "q_log_var": np.log(np.diag(covariance))}
        visible.check_tight(elbo_estimate, inputs, reference.log_evidence(*model),
                            f"of a random model ({_sizes(inputs)})",
                            tight_mistake_values(inputs))  # fmt: skip
    passed("at the true posterior of random models, every estimate equals log p(x).")
