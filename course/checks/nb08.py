"""Visible checks for notebook 08: `vlb_binomial`, and `sampling`.

Each `check_*` function is one graded property; the notebook calls it from its own test
cell, so a mistake costs the points of the property it breaks and no more. The `sampling`
checks live in `course.checks.sampling` and are re-exported here under the same names.
"""

from __future__ import annotations

import numpy as np

from course.checks.core import (
    call_student,
    close,
    diagnose,
    expected_values,
    fail,
    passed,
    to_numpy,
)
from course.checks.sampling import HINTS as SAMPLING_HINTS
from course.checks.sampling import (
    SAMPLING_FALSE_FAIL_RATE,
    SAMPLING_N,
    as_tensors,
    check_sampling_fresh_noise,
    check_sampling_gradients,
    check_sampling_shape,
    check_sampling_shape_at_run_time,
    check_sampling_statistics,
    check_statistics,
    compare_gradients,
    fixed_rng,
    predict_quietly,
    sample,
    sampling_gradients,
    sampling_model,
)

__all__ = [
    "HINTS",
    "SAMPLING_FALSE_FAIL_RATE",
    "SAMPLING_N",
    "VLB_ATOL",
    "VLB_FIXTURES",
    "VLB_RTOL",
    "check_sampling_fresh_noise",
    "check_sampling_gradients",
    "check_sampling_shape",
    "check_sampling_shape_at_run_time",
    "check_sampling_statistics",
    "check_statistics",
    "check_vlb_full",
    "check_vlb_kl",
    "check_vlb_reconstruction",
    "check_vlb_scalar",
    "compare_gradients",
    "compare_vlb",
    "make_vlb_inputs",
    "predict_quietly",
    "sample",
    "sampling_gradients",
    "sampling_model",
    "vlb_fixture",
    "vlb_value",
]

N_PIXELS = 784

# Clipping epsilons from 1e-10 to 1e-5, float32 sums over 784 pixels and either order of
# summing and averaging move the bound by less than 2e-4 relative on these fixtures (decoder
# means lie in [0.1, 0.9] wherever they are not exactly 0 or 1): 1e-3 leaves a wide margin,
# while every known mistake moves the value by several percent.
VLB_RTOL = 1e-3
VLB_ATOL = 0.05

HINTS = {
    "mean_over_pixels": (
        "It looks as if the log-likelihood was averaged over pixels. The bound sums "
        "log p(x | t) over all pixels (axis=1) and averages over the batch only."
    ),
    "kl_sign": (
        "The KL term has the wrong sign. KL(q || p) = 1/2 * sum(mu^2 + sigma^2 - 1 - log sigma^2) "
        "is never negative, and the negative bound adds it: KL - log-likelihood."
    ),
    "missing_half": (
        "The KL term is twice too large: did you drop the factor 1/2 in "
        "1/2 * sum(mu^2 + sigma^2 - 1 - log sigma^2)?"
    ),
    "log_var_as_log_std": (
        "t_log_var is the log of the variance: sigma^2 = exp(t_log_var), so log sigma^2 is "
        "t_log_var itself. It looks as if it was read as the log of the standard deviation."
    ),
    "sum_over_batch": (
        "The result is batch_size times too large: average over the batch with ops.mean, don't sum."
    ),
    "log_of_zero": (
        "The result is NaN or infinite: log(0) where x_decoded_mean is exactly 0 or 1. "
        "Keep it away from 0 and 1 first, e.g. ops.clip(x_decoded_mean, 1e-7, 1 - 1e-7)."
    ),
    "per_example": (
        "Return one number for the whole batch: average the per-example bounds with ops.mean."
    ),
    **SAMPLING_HINTS,
}


def make_vlb_inputs(rng, batch_size, latent_dim, *, zero_kl=False, binary_match=False):
    """Inputs for `vlb_binomial` as float32 arrays `(x, x_decoded_mean, t_mean, t_log_var)`.

    x holds grey levels with some exact 0s and 1s; x_decoded_mean lies in [0.1, 0.9] except
    where it is exactly 0 or 1, and there x has the same value, so the bound is finite but
    log(0) appears unless it is guarded against. With `zero_kl` the posterior is the prior
    (KL = 0); with `binary_match` x is binary and equals x_decoded_mean (log-likelihood 0).
    """
    shape = (batch_size, N_PIXELS)
    if binary_match:
        x = (rng.random(shape) < 0.3).astype(np.float64)
        x_decoded_mean = x.copy()
    else:
        x = rng.random(shape)
        x[rng.random(shape) < 0.15] = 0.0
        x[rng.random(shape) < 0.05] = 1.0
        x_decoded_mean = rng.uniform(0.1, 0.9, size=shape)
        if not zero_kl:
            x_decoded_mean[(x == 0.0) & (rng.random(shape) < 0.5)] = 0.0
            x_decoded_mean[(x == 1.0) & (rng.random(shape) < 0.5)] = 1.0
    if zero_kl:
        t_mean = np.zeros((batch_size, latent_dim))
        t_log_var = np.zeros((batch_size, latent_dim))
    else:
        t_mean = rng.normal(0.0, 1.5, size=(batch_size, latent_dim))
        t_log_var = rng.uniform(-2.0, 1.5, size=(batch_size, latent_dim))
    return tuple(a.astype(np.float32) for a in (x, x_decoded_mean, t_mean, t_log_var))


VLB_FIXTURES = {
    "reconstruction": {"batch_size": 5, "latent_dim": 3, "zero_kl": True},
    "kl": {"batch_size": 4, "latent_dim": 5, "binary_match": True},
    "full": {"batch_size": 6, "latent_dim": 4},
}


def vlb_fixture(name: str):
    """The fixed inputs of the visible check `name` (see `VLB_FIXTURES`)."""
    return make_vlb_inputs(fixed_rng(f"vlb-{name}"), **VLB_FIXTURES[name])


def vlb_value(vlb_binomial, inputs, what="vlb_binomial"):
    """Call `vlb_binomial` on `inputs`, insisting on one finite number; return it."""
    result = to_numpy(call_student(vlb_binomial, *as_tensors(inputs), what=what), what)
    if result.size != 1:
        hint = HINTS["per_example"] if result.size == len(inputs[0]) else ""
        fail(f"{what} returned an array of shape {result.shape}, expected a single number. {hint}")
    value = float(result.reshape(()))
    if not np.isfinite(value):
        fail(f"{what} returned {value}. {HINTS['log_of_zero']}")
    return value


def compare_vlb(value, expected, mistakes, where):
    """Fail with a diagnosis unless `value` matches `expected` within the tolerance."""
    if close(value, expected, VLB_RTOL, VLB_ATOL):
        return
    mistake = diagnose(value, mistakes, VLB_RTOL, VLB_ATOL)
    hint = HINTS[mistake] if mistake else (
        "Check each part: the Bernoulli log-likelihood summed over pixels, the closed-form "
        "KL summed over latent dimensions, and the mean over the batch."
    )  # fmt: skip
    fail(f"vlb_binomial gave {value:.4f} {where}, expected {expected:.4f}. {hint}")


def _check_fixture(vlb_binomial, name, where):
    reference = expected_values("nb08")["vlb"][name]
    value = vlb_value(vlb_binomial, vlb_fixture(name))
    compare_vlb(value, reference["expected"], reference["mistakes"], where)
    return value


def check_vlb_scalar(vlb_binomial):
    """One finite number for the batch, even where x_decoded_mean is exactly 0 or 1."""
    vlb_value(vlb_binomial, vlb_fixture("kl"))
    passed("vlb_binomial returns one finite number, even where x_decoded_mean is 0 or 1.")


def check_vlb_reconstruction(vlb_binomial):
    """The reconstruction term alone (the posterior equals the prior, so KL = 0)."""
    _check_fixture(vlb_binomial, "reconstruction", "when KL = 0 (t_mean = 0, t_log_var = 0)")
    passed("the reconstruction term is right.")


def check_vlb_kl(vlb_binomial):
    """The KL term alone (the decoder reproduces a binary x exactly)."""
    _check_fixture(vlb_binomial, "kl", "when the decoder reproduces a binary x exactly")
    passed("the KL term is right.")


def check_vlb_full(vlb_binomial):
    """The whole bound on grey-level images."""
    _check_fixture(vlb_binomial, "full", "on grey-level images")
    passed("vlb_binomial matches the reference on grey-level images.")
