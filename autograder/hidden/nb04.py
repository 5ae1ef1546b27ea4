"""Hidden checks for notebook 04: fresh random models, sizes and noise, against the reference.

Seeds come from `fresh_rng` (see `autograder.hidden`): a regrade draws the same inputs. The
`iwae_bound` checks also draw k and the number of draws; their random models keep every log
weight above -700 (so that exp does not underflow) except in the stability check, whose x lies
so far from the model that every log weight lies below -745.2 (tests/test_nb04.py checks both
over many seeds).
"""

from __future__ import annotations

import numpy as np

from autograder.hidden import fresh_rng, private_values
from autograder.mistakes.nb04 import (
    elbo_mistake_values,
    iwae_mistake_values,
    iwae_tight_mistake_values,
    tight_mistake_values,
)
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


# ----------------------------------------------------------------------------- iwae_bound


def random_iwae_inputs(rng, kind):
    """Inputs of `iwae_bound` for the hidden check of `kind`, drawn from `rng`.

    "values": a random model and q, 2 to 8 draws of k = 2 to 12 samples (n_draws != k);
    "k1": the same with k = 1; "stable": x far from the model, log weights near -1000 to
    -1500; "grows": a model and a q whose gap to log p(x) is at least a nat (q's mean one to
    two posterior standard deviations off, its variances off by a factor of 2 to 4);
    "tight": an orthogonal model whose posterior q is.
    """
    latent_dim = int(rng.integers(1, 5))
    data_dim = latent_dim + int(rng.integers(1, 9))
    noise_std = float(rng.uniform(0.6, 1.5))
    n_draws = int(rng.integers(2, 9))
    k = 1 if kind == "k1" else int(rng.integers(2, 13))
    if k == n_draws:
        k += 1
    offset = 0.0
    if kind == "stable":
        # E[log p(x | z)] is about -data_dim * offset^2 / (2 noise_std^2): aim at -1000 to -1500.
        offset = noise_std * np.sqrt(2 * rng.uniform(1000.0, 1500.0) / data_dim)
    inputs = visible.make_iwae_inputs(rng, data_dim, latent_dim, n_draws, k, noise_std,
                                      orthogonal=kind == "tight", offset=offset)  # fmt: skip
    model = (inputs["x"], inputs["W"], inputs["b"], noise_std)
    if kind in ("grows", "tight"):
        mean, covariance = reference.posterior(*model)
        std = np.sqrt(np.diag(covariance))
        if kind == "tight":
            return {**inputs, "q_mean": mean, "q_log_var": np.log(std**2)}
        shift = rng.choice([-1.0, 1.0], size=latent_dim) * rng.uniform(1.0, 2.0, latent_dim)
        scale = rng.choice([0.25, 4.0]) ** rng.uniform(0.5, 1.0, size=latent_dim)
        return {**inputs, "q_mean": mean + shift * std, "q_log_var": np.log(scale * std**2)}
    return inputs


def _iwae_sizes(inputs):
    data_dim, latent_dim = inputs["W"].shape
    n_draws, k = inputs["epsilon"].shape[:2]
    return f"data_dim {data_dim}, latent_dim {latent_dim}, {n_draws} draws of k = {k}"


def iwae_shapes_random(iwae_bound):
    """Random sizes, with one draw and with k = 1 among them: one finite number each time."""
    rng = fresh_rng()
    inputs = random_iwae_inputs(rng, "values")
    n_draws, k = inputs["epsilon"].shape[:2]
    for shape in ((n_draws, k), (1, k), (n_draws, 1)):
        visible.iwae_value(
            iwae_bound, {**inputs, "epsilon": inputs["epsilon"][: shape[0], : shape[1]]}
        )
    passed(f"iwae_bound returns one finite number for random sizes ({_iwae_sizes(inputs)}).")


def iwae_on_random_inputs(iwae_bound, kind, where):
    """A fresh model, q and noise of `kind`, against the reference."""
    inputs = random_iwae_inputs(fresh_rng(), kind)
    value = visible.iwae_value(iwae_bound, inputs)
    detail = f"{where} ({_iwae_sizes(inputs)})"
    expected = reference.iwae_bound(**inputs)
    visible.compare_iwae(iwae_bound, inputs, value, expected, iwae_mistake_values(inputs), detail)
    passed(f"iwae_bound matches the reference {where}.")


def iwae_on_hidden_fixture(iwae_bound):
    """Fixed inputs whose bound is never shown to students."""
    spec = PRIVATE["iwae_hidden_fixture"]
    sizes = {key: spec[key] for key in ("data_dim", "latent_dim", "n_draws", "k")}
    inputs = visible.make_iwae_inputs(np.random.default_rng(spec["seed"]), **sizes)
    value = visible.iwae_value(iwae_bound, inputs)
    visible.compare_iwae(iwae_bound, inputs, value, spec["expected"], iwae_mistake_values(inputs),
                         "on hidden inputs")  # fmt: skip
    passed("iwae_bound matches the reference on hidden inputs.")


def iwae_grows_random(iwae_bound):
    """On a random model and a poor q, the bound starts at the ELBO, rises with k and stays
    below log p(x).

    False-fail rate: visible.IWAE_FALSE_FAIL_RATE.
    """
    rng = fresh_rng()
    inputs = random_iwae_inputs(rng, "grows")
    evidence = reference.log_evidence(inputs["x"], inputs["W"], inputs["b"], inputs["noise_std"])
    elbo = reference.exact_elbo(**{key: v for key, v in inputs.items() if key != "epsilon"})
    averages, errors = visible.bound_averages(iwae_bound, inputs, rng)
    data_dim, latent_dim = inputs["W"].shape
    where = f"on a random model (data_dim {data_dim}, latent_dim {latent_dim})"
    visible.check_growth(averages, errors, evidence, elbo, where)
    passed("on a random model, the bound starts at the ELBO, rises with k and stays below "
           "log p(x).")  # fmt: skip


def iwae_tight_random(iwae_bound):
    """A random model whose posterior is diagonal: at q = posterior the bound is log p(x)."""
    rng = fresh_rng()
    inputs = random_iwae_inputs(rng, "tight")
    # Every call of the tightness check slices this epsilon: up to 4 draws of k = 10.
    inputs["epsilon"] = rng.normal(size=(4, 10, len(inputs["q_mean"])))
    evidence = reference.log_evidence(inputs["x"], inputs["W"], inputs["b"], inputs["noise_std"])
    data_dim, latent_dim = inputs["W"].shape
    visible.check_iwae_tight(iwae_bound, inputs, evidence,
                             f"of a random model (data_dim {data_dim}, latent_dim {latent_dim})",
                             iwae_tight_mistake_values(inputs))  # fmt: skip
    passed("at the true posterior of a random model, the bound is log p(x) for every k.")
