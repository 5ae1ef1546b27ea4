"""Visible checks for notebook 04: the Monte Carlo ELBO `elbo_estimate`.

The model is linear-Gaussian: z ~ N(0, I_d) and x | z ~ N(W z + b, noise_std^2 I_D), and
q(z | x) = N(q_mean, diag(exp(q_log_var))). Each `check_*` function is one graded property;
the notebook calls it from its own test cell, so a mistake costs the points of the property
it breaks and no more.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from course.checks.core import (
    CheckFailed,
    call_student,
    close,
    diagnose,
    expected_values,
    fail,
    fixed_rng,
    passed,
    to_numpy,
)

# The checks pass float64 arrays. A float32 computation moves an ELBO of size 100 by about
# 1e-5, and summing in another order or taking log q(z) from z instead of epsilon by far
# less; every known mistake moves it by at least 0.3 nats.
ELBO_RTOL = 1e-4
ELBO_ATOL = 1e-4

# The unbiasedness check compares the average of ELBO_GROUPS independent estimates (each over
# ELBO_GROUP_SIZE samples) with the exact ELBO by a t-test. Each group average is close to
# normal (it averages hundreds of terms), so a correct estimator fails with probability
# ELBO_FALSE_FAIL_RATE.
ELBO_FALSE_FAIL_RATE = 1e-6
ELBO_GROUPS = 40
ELBO_GROUP_SIZE = 500

HINTS = {
    "per_sample": (
        "Return one number: the average over the samples (ops.mean over axis 0) of "
        "log p(x | z) + log p(z) - log q(z | x)."
    ),
    "missing_log_q": (
        "It looks as if -log q(z | x) is missing. The ELBO is "
        "E_q[log p(x | z) + log p(z) - log q(z | x)]; without the last term you estimate "
        "E_q[log p(x, z)], which is not a bound on log p(x)."
    ),
    "estimator_b": (
        "It looks as if you used the closed-form KL (the SGVB estimator B). Its average is "
        "right, but this exercise asks for the fully Monte Carlo estimate on the given samples: "
        "the average over l of log p(x | z_l) + log p(z_l) - log q(z_l | x). Only that one "
        "equals log p(x) for every sample when q is the true posterior."
    ),
    "ignores_epsilon": (
        "Two calls with the same epsilon gave different results. Build the samples from the "
        "epsilon you are given, z = q_mean + exp(0.5 * q_log_var) * epsilon, instead of "
        "drawing new noise."
    ),
    "sum_over_samples": (
        "The result grows with the number of samples: average over the samples "
        "(ops.mean over axis 0), don't sum."
    ),
    "no_normalizer": (
        "The Gaussian log-densities are missing their normalizing constants: "
        "log N(x; mu, s^2 I) = -D/2 * log(2 pi s^2) - ||x - mu||^2 / (2 s^2), and likewise for "
        "log p(z) and log q(z | x). They do not change gradients, but without them the ELBO "
        "is not a bound on log p(x)."
    ),
    "log_var_as_log_std": (
        "q_log_var is the log of the variance: the standard deviation is "
        "exp(0.5 * q_log_var), and log q(z | x) contains -0.5 * q_log_var per dimension. It "
        "looks as if it was read as the log of the standard deviation."
    ),
    "noise_std_as_variance": (
        "noise_std is the decoder's standard deviation s, not its variance: "
        "log p(x | z) = -D/2 * log(2 pi s^2) - ||x - W z - b||^2 / (2 s^2) with s^2 = noise_std**2."
    ),
}

DTYPE_HINT = (
    "The inputs are float64 and keras.ops keeps them so, but a constant made with keras.ops "
    "from a Python float (ops.log(noise_std), ops.convert_to_tensor(2.0)) is float32, and "
    "TensorFlow will not mix the two. Compute constants with NumPy or plain Python "
    "(np.log(noise_std), np.log(2 * np.pi)) instead."
)

GENERIC_HINT = (
    "Check each term for z_l = q_mean + exp(0.5 * q_log_var) * epsilon_l: log p(x | z_l) = "
    "log N(x; W z_l + b, noise_std^2 I), log p(z_l) = log N(z_l; 0, I), log q(z_l | x) = "
    "log N(z_l; q_mean, diag(exp(q_log_var))), then the average over the samples."
)


def make_model(rng, data_dim, latent_dim, orthogonal=False):
    """Decoder weights W (data_dim, latent_dim) and bias b (data_dim,), float64.

    With `orthogonal`, the columns of W are orthogonal, so the posterior is diagonal.
    """
    if orthogonal:
        basis, _ = np.linalg.qr(rng.normal(size=(data_dim, latent_dim)))
        weights = basis * rng.uniform(0.5, 2.0, size=latent_dim)
    else:
        weights = rng.normal(size=(data_dim, latent_dim)) / np.sqrt(latent_dim)
    return weights, rng.normal(0.0, 0.5, size=data_dim)


def make_elbo_inputs(rng, data_dim, latent_dim, n_samples, noise_std=0.7, orthogonal=False):
    """Arguments of `elbo_estimate`, in order, as a dict of float64 arrays (and a float).

    x is drawn from the model; q is a random diagonal Gaussian; epsilon is standard normal.
    """
    weights, bias = make_model(rng, data_dim, latent_dim, orthogonal)
    z = rng.normal(size=latent_dim)
    x = weights @ z + bias + noise_std * rng.normal(size=data_dim)
    return {
        "x": x,
        "q_mean": rng.normal(size=latent_dim),
        "q_log_var": rng.uniform(-2.0, 1.0, size=latent_dim),
        "epsilon": rng.normal(size=(n_samples, latent_dim)),
        "W": weights,
        "b": bias,
        "noise_std": float(noise_std),
    }


ELBO_FIXTURES = {
    "scalar": {"data_dim": 4, "latent_dim": 2, "n_samples": 10},
    "fixed_noise": {"data_dim": 6, "latent_dim": 3, "n_samples": 5},
    "unbiased": {"data_dim": 5, "latent_dim": 2, "n_samples": 1},
    "tight": {"data_dim": 7, "latent_dim": 3, "n_samples": 8, "orthogonal": True},
}


def elbo_fixture(name: str) -> dict:
    """The fixed inputs of the visible check `name` (see `ELBO_FIXTURES`)."""
    return make_elbo_inputs(fixed_rng(f"elbo-{name}"), **ELBO_FIXTURES[name])


def elbo_result(elbo_estimate, inputs, what="elbo_estimate"):
    """The student's result as a float64 array, exactly as returned."""
    args = [np.array(value, dtype=np.float64) if not isinstance(value, float) else value
            for value in inputs.values()]  # fmt: skip
    try:
        result = call_student(elbo_estimate, *args, what=what)
    except CheckFailed as error:
        if "double tensor but is a float tensor" in str(
            error
        ) or "float tensor but is a double" in str(error):
            raise CheckFailed(f"{error}\n{DTYPE_HINT}") from None
        raise
    return to_numpy(result, what)


def elbo_value(elbo_estimate, inputs, what="elbo_estimate"):
    """Call `elbo_estimate` on `inputs`, insisting on one finite number; return it."""
    result = elbo_result(elbo_estimate, inputs, what)
    if result.size != 1:
        n_samples = len(inputs["epsilon"])
        hint = HINTS["per_sample"] if result.size == n_samples else ""
        fail(
            f"{what} returned an array of shape {result.shape} for {n_samples} samples; "
            f"expected a single number. {hint}"
        )
    value = float(result.reshape(()))
    if not np.isfinite(value):
        fail(f"{what} returned {value}, not a finite number.")
    return value


def compare_elbo(elbo_estimate, inputs, value, expected, mistakes, where):
    """Fail with a diagnosis unless `value` matches `expected` within the tolerance."""
    if close(value, expected, ELBO_RTOL, ELBO_ATOL):
        return
    if elbo_value(elbo_estimate, inputs) != value:
        mistake = "ignores_epsilon"
    else:
        mistake = diagnose(value, mistakes, ELBO_RTOL, ELBO_ATOL)
    hint = HINTS[mistake] if mistake else GENERIC_HINT
    fail(f"elbo_estimate gave {value:.6f} {where}, expected {expected:.6f}. {hint}")


def check_elbo_scalar(elbo_estimate):
    """One finite number, for one sample and for several."""
    inputs = elbo_fixture("scalar")
    elbo_value(elbo_estimate, inputs)
    elbo_value(elbo_estimate, {**inputs, "epsilon": inputs["epsilon"][:1]})
    passed("elbo_estimate returns one finite number, for one sample and for ten.")


def check_elbo_fixed_noise(elbo_estimate):
    """For given noise, exactly the reference's estimate."""
    reference = expected_values("nb04")["fixed_noise"]
    inputs = elbo_fixture("fixed_noise")
    value = elbo_value(elbo_estimate, inputs)
    compare_elbo(elbo_estimate, inputs, value, reference["expected"], reference["mistakes"],
                 "on fixed inputs and noise")  # fmt: skip
    passed("elbo_estimate matches the reference for given noise.")


def group_estimates(elbo_estimate, inputs, rng, groups=ELBO_GROUPS, group_size=ELBO_GROUP_SIZE):
    """`groups` independent estimates, each on `group_size` fresh standard normal samples."""
    latent_dim = len(inputs["q_mean"])
    return np.array([
        elbo_value(elbo_estimate, {**inputs, "epsilon": rng.normal(size=(group_size, latent_dim))})
        for _ in range(groups)
    ])  # fmt: skip


def check_unbiased(estimates, exact, where):
    """t-test: the estimates' average must match the exact ELBO (false-fail rate above)."""
    groups = len(estimates)
    average = estimates.mean()
    standard_error = estimates.std(ddof=1) / np.sqrt(groups)
    threshold = stats.t.isf(ELBO_FALSE_FAIL_RATE / 2, df=groups - 1)
    if standard_error == 0.0:
        unbiased = close(average, exact, ELBO_RTOL, ELBO_ATOL)
    else:
        unbiased = abs(average - exact) <= threshold * standard_error
    if not unbiased:
        fail(
            f"elbo_estimate is biased {where}: over {groups * ELBO_GROUP_SIZE:,} fresh samples "
            f"it averages {average:.4f} ± {standard_error:.4f}, but the exact ELBO is "
            f"{exact:.4f}. {GENERIC_HINT}"
        )


def check_elbo_unbiased(elbo_estimate):
    """The average over fresh noise matches the exact ELBO (closed form for this model)."""
    exact = expected_values("nb04")["unbiased"]["exact_elbo"]
    estimates = group_estimates(elbo_estimate, elbo_fixture("unbiased"), fixed_rng("elbo-groups"))
    check_unbiased(estimates, exact, "on a fixed model")
    passed("on average over fresh noise, elbo_estimate equals the exact ELBO.")


def _diagnose_estimates(estimates, mistakes):
    """The one known mistake whose estimates (one sample at a time, then all) match, if any."""
    matches = [
        name for name, candidate in (mistakes or {}).items()
        if candidate is not None and len(candidate) == len(estimates)
        and np.allclose(estimates, candidate, rtol=ELBO_RTOL, atol=ELBO_ATOL)
    ]  # fmt: skip
    return matches[0] if len(matches) == 1 else None


def check_tight(elbo_estimate, inputs, log_evidence, where, mistakes=None):
    """With q the exact (diagonal) posterior, every estimate equals log p(x).

    `mistakes` maps hint keys to what each known mistake gives here: the single-sample
    estimates, then the estimate on all samples together (None where a mistake gives none).
    """
    n_samples = len(inputs["epsilon"])
    estimates = [elbo_value(elbo_estimate, {**inputs, "epsilon": row[None, :]})
                 for row in inputs["epsilon"]]  # fmt: skip
    estimates.append(elbo_value(elbo_estimate, inputs))
    estimates = np.array(estimates)
    if np.allclose(estimates, log_evidence, rtol=ELBO_RTOL, atol=ELBO_ATOL):
        return
    singles, together = estimates[:-1], estimates[-1]
    varies = np.ptp(singles) > ELBO_ATOL + ELBO_RTOL * abs(log_evidence)
    mistake = _diagnose_estimates(estimates, mistakes)
    singles_right = np.allclose(singles, log_evidence, rtol=ELBO_RTOL, atol=ELBO_ATOL)
    summed = n_samples * log_evidence
    if (
        mistake is None
        and singles_right
        and n_samples > 1
        and np.isclose(together, summed, rtol=ELBO_RTOL, atol=ELBO_ATOL)
    ):
        mistake = "sum_over_samples"
    noise_free = (
        "At the posterior, log p(x | z) + log p(z) - log q(z | x) = log p(x) for every z, "
        "so the estimate cannot depend on the noise. "
    )
    if mistake is not None:
        hint = (noise_free if varies else "") + HINTS[mistake]
    elif varies:
        hint = (
            "The single-sample estimates vary with the noise. " + noise_free
            + "So one of the three log-densities is wrong. " + GENERIC_HINT
        )  # fmt: skip
    else:
        hint = GENERIC_HINT
    fail(
        f"elbo_estimate, with q the exact posterior {where}, gave {np.round(estimates, 4)} "
        f"(one sample at a time, then {n_samples} together); each should equal "
        f"log p(x) = {log_evidence:.4f}. {hint}"
    )


def check_elbo_tight_at_posterior(elbo_estimate):
    """At the true posterior the estimate is log p(x), whatever the noise: zero variance."""
    reference = expected_values("nb04")["tight"]
    inputs = {**elbo_fixture("tight"), "q_mean": np.array(reference["q_mean"]),
              "q_log_var": np.array(reference["q_log_var"])}  # fmt: skip
    check_tight(elbo_estimate, inputs, reference["log_evidence"], "of a fixed model",
                reference["mistakes"])  # fmt: skip
    passed("at the true posterior, every estimate equals log p(x): the bound is tight.")
