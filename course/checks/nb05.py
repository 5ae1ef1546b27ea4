"""Visible checks for notebook 05: `kl_divergence` and `gaussian_kl`.

Each `check_*` function is one graded property; the notebook calls it from its own test
cell, so a mistake costs the points of the property it breaks and no more.
"""

from __future__ import annotations

import numpy as np

from course.checks.core import (
    call_student,
    close,
    diagnose,
    expected_values,
    fail,
    fixed_rng,
    kernel_side,
    passed,
    to_numpy,
)

# kl_divergence gets float32 tensors, as an encoder's outputs are: float32 rounding moves
# a KL of size 20 by about 1e-5, and any correct formula (with exp(0.5 * log_var) squared,
# log(exp(log_var)), tf or keras.ops) stays within 1e-4 relative. Every known mistake
# moves at least one value by 30% or more.
KL_RTOL = 1e-4
KL_ATOL = 1e-5

# The gradient check compares the tape's gradients with central differences of the student's
# own function (step GRADIENT_STEP, float32): those are accurate to better than 1e-3 here,
# while a part of the formula the tape cannot see moves a gradient by at least 0.025.
GRADIENT_STEP = 1e-2
GRADIENT_RTOL = 1e-3
GRADIENT_ATOL = 5e-3

# gaussian_kl gets float64 arrays. inv or solve, det or slogdet, Cholesky factors and even
# a float32 computation agree to about 1e-6 relative on these well-conditioned matrices.
GAUSSIAN_KL_RTOL = 1e-5
GAUSSIAN_KL_ATOL = 1e-7

HINTS = {
    "not_per_example": (
        "Return one KL per example, shape (batch_size,): sum over the latent axis only "
        "(ops.sum(..., axis=1)), not over the whole batch."
    ),
    "keepdims": (
        "The result has shape (batch_size, 1); return shape (batch_size,). Sum with "
        "ops.sum(..., axis=1) and no keepdims: a (batch_size, 1) KL silently broadcasts "
        "against a (batch_size,) log-likelihood into a (batch_size, batch_size) matrix."
    ),
    "mean_over_latent": (
        "It looks as if the KL was averaged over the latent dimensions. The dimensions of a "
        "diagonal Gaussian are independent, so their KLs add up: use ops.sum(..., axis=1)."
    ),
    "missing_half": (
        "The KL is twice too large: did you drop the factor 1/2 in "
        "1/2 * sum(mu^2 + sigma^2 - 1 - log sigma^2)?"
    ),
    "log_var_as_log_std": (
        "t_log_var is the log of the variance: sigma^2 = exp(t_log_var), so log sigma^2 is "
        "t_log_var itself. It looks as if it was read as the log of the standard deviation."
    ),
    "kl_sign": (
        "The KL is negative, but a KL divergence is never negative: you computed -KL. "
        "KL = 1/2 * sum(mu^2 + sigma^2 - 1 - log sigma^2)."
    ),
    "mean_not_squared": (
        "The KL depends on mu only through mu^2: did you square t_mean? (The prior is "
        "symmetric about 0, so the KL of t_mean and of -t_mean must be the same.)"
    ),
    "no_gradient": (
        "No gradient reaches t_mean or t_log_var: a NumPy function (np.exp, np.sum, ...) cuts "
        "the computation graph. Use keras.ops so that the KL can train an encoder."
    ),
    "numpy_part": (
        "Part of the formula was computed with NumPy (np.exp, np.square, ...), so it is a "
        "constant to the tape and no gradient flows through it; use keras.ops throughout."
    ),
    "not_a_number": "Return a single number: KL(q || p) for the one pair of Gaussians given.",
    "direction": (
        "This is KL(p || q), the other direction: the KL is not symmetric. In KL(q || p) "
        "the expectation is under q, so cov_q sits inside the trace, the inverse of cov_p "
        "appears in the trace and the quadratic term, and the log-determinant term is "
        "log det(cov_p) - log det(cov_q)."
    ),
    "log_det_ratio": (
        "The log-determinant term is upside down: it is log det(cov_p) - log det(cov_q), "
        "from E_q[log q] - E_q[log p]."
    ),
    "missing_dimension": (
        "KL(p || p) must be 0, and yours is not: did you forget the -d (the dimension) "
        "inside the bracket? The trace term alone gives d when q = p."
    ),
    "elementwise_product": (
        "Right for diagonal covariances, wrong for full ones: `*` multiplies element by "
        "element. The trace term needs the matrix product inv(cov_p) @ cov_q (or "
        "np.linalg.solve(cov_p, cov_q))."
    ),
    "missing_half_general": (
        "The KL is twice too large: the general formula starts with a factor 1/2 in front "
        "of the bracket."
    ),
}


# ----------------------------------------------------------------------------- kl_divergence


def known_values_fixture():
    """(t_mean, t_log_var) of shape (3, 3), float32, whose KLs the notebook derives by hand.

    Row 0 is the prior itself (KL 0); row 1 has mu = 2 and sigma = 1 in one dimension;
    row 2 has mu = 0 and log sigma^2 = 2 in one dimension. The other dimensions sit at the
    prior, so they add nothing to a correct sum (but do to an average).
    """
    t_mean = np.zeros((3, 3), np.float32)
    t_log_var = np.zeros((3, 3), np.float32)
    t_mean[1, 0] = 2.0
    t_log_var[2, 1] = 2.0
    return t_mean, t_log_var


def make_kl_inputs(rng, batch_size, latent_dim):
    """Random (t_mean, t_log_var) of shape (batch_size, latent_dim), float32."""
    t_mean = rng.normal(0.0, 1.5, size=(batch_size, latent_dim))
    t_log_var = rng.uniform(-3.0, 2.0, size=(batch_size, latent_dim))
    return t_mean.astype(np.float32), t_log_var.astype(np.float32)


KL_RANDOM_FIXTURE = {"batch_size": 8, "latent_dim": 5}


def random_fixture():
    return make_kl_inputs(fixed_rng("kl-random"), **KL_RANDOM_FIXTURE)


def _as_tensors(arrays):
    import keras

    return [keras.ops.convert_to_tensor(a) for a in arrays]


def kl_result(kl_divergence, t_mean, t_log_var, what="kl_divergence"):
    """The student's result as a float64 array, exactly as returned (any shape)."""
    result = call_student(kl_divergence, *_as_tensors([t_mean, t_log_var]), what=what)
    return to_numpy(result, what)


def kl_values(kl_divergence, t_mean, t_log_var, what="kl_divergence"):
    """One finite KL per example, shape (batch_size,).

    A result with one value per example in another shape, such as (batch_size, 1), is
    flattened here: the shape check alone takes the points for the shape.
    """
    values = kl_result(kl_divergence, t_mean, t_log_var, what)
    batch_size = t_mean.shape[0]
    if values.size != batch_size:
        hint = HINTS["not_per_example"] if values.size == 1 else ""
        fail(
            f"{what} returned shape {values.shape} for a batch of {batch_size} examples with "
            f"{t_mean.shape[1]} latent dimensions; expected ({batch_size},). {hint}"
        )
    values = values.reshape(batch_size)
    if not np.all(np.isfinite(values)):
        fail(f"{what} returned {values}: some values are not finite.")
    return values


def _close(values, expected, rtol=KL_RTOL, atol=KL_ATOL):
    return np.allclose(values, expected, rtol=rtol, atol=atol)


def compare_kl(values, expected, mistakes, where, generic):
    """Fail with a diagnosis unless `values` match `expected` within the tolerance."""
    expected = np.asarray(expected, np.float64)
    if _close(values, expected):
        return
    mistakes = {k: None if v is None else np.asarray(v) for k, v in mistakes.items()}
    mistake = diagnose(values, mistakes, KL_RTOL, KL_ATOL)
    if mistake is None and np.all(values <= 0.0) and np.any(values < 0.0):
        mistake = "kl_sign"
    hint = HINTS[mistake] if mistake else generic
    fail(
        f"kl_divergence gave {np.round(values, 6)} {where}, expected "
        f"{np.round(expected, 6)}. {hint}"
    )


def check_kl_shape(kl_divergence):
    """One KL per example: shape (batch_size,) for several batch and latent sizes."""
    rng = fixed_rng("kl-shape")
    for batch_size, latent_dim in ((7, 3), (1, 5), (4, 1)):
        t_mean, t_log_var = make_kl_inputs(rng, batch_size, latent_dim)
        values = kl_result(kl_divergence, t_mean, t_log_var)
        if values.shape == (batch_size,):
            continue
        if values.shape == (batch_size, 1):
            hint = HINTS["keepdims"]
        elif values.size == 1:
            hint = HINTS["not_per_example"]
        else:
            hint = "Sum over the latent dimensions (axis=1) only."
        fail(
            f"kl_divergence returned shape {values.shape} for t_mean of shape "
            f"{(batch_size, latent_dim)}; expected ({batch_size},). {hint}"
        )
    passed("kl_divergence returns one value per example, shape (batch_size,).")


def check_kl_known_values(kl_divergence):
    """The three values the notebook derives by hand (see `known_values_fixture`)."""
    reference = expected_values("nb05")["kl"]["known_values"]
    t_mean, t_log_var = known_values_fixture()
    values = kl_values(kl_divergence, t_mean, t_log_var)
    compare_kl(
        values, reference["expected"], reference["mistakes"],
        "for [the prior; mu = 2 and sigma = 1 in one dimension; mu = 0 and log sigma^2 = 2 "
        "in one dimension] (the other dimensions at the prior)",
        "Derive each case from 1/2 * sum(mu^2 + sigma^2 - 1 - log sigma^2) and compare.",
    )  # fmt: skip
    zero, shifted, wider = reference["expected"]
    passed(
        f"KL is {zero:g} at the prior, {shifted:g} for mu = 2 and {wider:.6f} for log sigma^2 = 2."
    )


def check_kl_symmetry(kl_divergence):
    """KL(N(mu, sigma^2) || N(0, 1)) does not change when mu changes sign."""
    t_mean, t_log_var = make_kl_inputs(fixed_rng("kl-symmetry"), 6, 4)
    values = kl_values(kl_divergence, t_mean, t_log_var)
    mirrored = kl_values(kl_divergence, -t_mean, t_log_var)
    if not _close(values, mirrored):
        fail(
            f"kl_divergence gave {np.round(values, 4)} for t_mean and {np.round(mirrored, 4)} "
            f"for -t_mean. {HINTS['mean_not_squared']}"
        )
    passed("kl_divergence is the same for t_mean and -t_mean.")


@kernel_side
def _tape_gradients(kl_divergence, t_mean, t_log_var):
    """The gradients of the summed KL with respect to (t_mean, t_log_var), from the tape.

    A gradient is None where no gradient reaches that input; both are None when the result
    is not a tensor at all (a NumPy array cannot join the tape).
    """
    import tensorflow as tf

    mean_var, log_var_var = tf.Variable(t_mean), tf.Variable(t_log_var)
    with tf.GradientTape() as tape:
        values = call_student(kl_divergence, mean_var, log_var_var, what="kl_divergence")
        total = tf.reduce_sum(values) if tf.is_tensor(values) else None
    return [None, None] if total is None else tape.gradient(total, [mean_var, log_var_var])


def _central_differences(kl_divergence, arrays, which):
    """d(sum of the KL) / d(arrays[which]) by central differences, element by element."""
    gradient = np.zeros(arrays[which].shape)
    for index in np.ndindex(*arrays[which].shape):
        totals = []
        for sign in (1.0, -1.0):
            moved = [a.copy() for a in arrays]
            moved[which][index] += np.float32(sign * GRADIENT_STEP)
            totals.append(np.sum(kl_result(kl_divergence, *moved)))
        step = float(arrays[which][index] + np.float32(GRADIENT_STEP)) - float(
            arrays[which][index] - np.float32(GRADIENT_STEP)
        )
        gradient[index] = (totals[0] - totals[1]) / step
    return gradient


def check_gradients(kl_divergence, t_mean, t_log_var, where):
    """Gradients reach t_mean and t_log_var, and agree with the function's own slopes."""
    gradients = _tape_gradients(kl_divergence, t_mean, t_log_var)
    if all(g is None for g in gradients):
        fail(f"kl_divergence {where}: {HINTS['no_gradient']}")
    for which, (gradient, name) in enumerate(zip(gradients, ("t_mean", "t_log_var"))):
        if gradient is None:
            fail(
                f"kl_divergence {where}: no gradient reaches {name}, though the KL depends on "
                f"it. {HINTS['numpy_part']}"
            )
        slopes = _central_differences(kl_divergence, [t_mean, t_log_var], which)
        tape = np.asarray(gradient, np.float64)
        if not np.allclose(tape, slopes, rtol=GRADIENT_RTOL, atol=GRADIENT_ATOL):
            fail(
                f"kl_divergence {where}: the gradient with respect to {name} is "
                f"{np.round(tape, 3).tolist()}, but the KL itself changes at the rate "
                f"{np.round(slopes, 3).tolist()}. {HINTS['numpy_part']}"
            )


def check_kl_gradient(kl_divergence):
    """Gradients reach t_mean and t_log_var, so that the KL can train an encoder."""
    t_mean, t_log_var = make_kl_inputs(fixed_rng("kl-gradient"), 3, 4)
    check_gradients(kl_divergence, t_mean, t_log_var, "on a fixed batch")
    passed("gradients flow through kl_divergence to t_mean and t_log_var.")


def check_kl_random(kl_divergence):
    """A random batch, against the reference."""
    reference = expected_values("nb05")["kl"]["random"]
    values = kl_values(kl_divergence, *random_fixture())
    compare_kl(
        values, reference["expected"], reference["mistakes"], "on a random batch",
        "Check each part of 1/2 * sum(mu^2 + sigma^2 - 1 - log sigma^2), with sigma^2 = "
        "exp(t_log_var), summed over the latent axis.",
    )  # fmt: skip
    passed("kl_divergence matches the reference on a random batch.")


# ----------------------------------------------------------------------------- gaussian_kl


def random_covariance(rng, dim):
    """A random, well-conditioned, non-diagonal covariance matrix (dim, dim), float64."""
    factor = rng.normal(size=(dim, dim))
    return factor @ factor.T / dim + 0.5 * np.eye(dim)


def make_gaussian_pair(rng, dim):
    """(mean_q, cov_q, mean_p, cov_p): two random Gaussians in `dim` dimensions."""
    return (rng.normal(size=dim), random_covariance(rng, dim),
            rng.normal(size=dim), random_covariance(rng, dim))  # fmt: skip


def diagonal_fixture():
    """Three (mean_q, cov_q, mean_p, cov_p) with q = N(mu, diag(sigma^2)) and p = N(0, I)."""
    rng = fixed_rng("gaussian-kl-diagonal")
    cases = []
    for dim in (1, 3, 4):
        t_mean, t_log_var = make_kl_inputs(rng, 1, dim)
        mean_q = t_mean[0].astype(np.float64)
        cov_q = np.diag(np.exp(t_log_var[0].astype(np.float64)))
        cases.append((mean_q, cov_q, np.zeros(dim), np.eye(dim)))
    return cases


GAUSSIAN_KL_FULL_DIMS = (2, 3, 5)


def full_fixture():
    """Three pairs of Gaussians with full covariances, in 2, 3 and 5 dimensions."""
    rng = fixed_rng("gaussian-kl-full")
    return [make_gaussian_pair(rng, dim) for dim in GAUSSIAN_KL_FULL_DIMS]


def gaussian_kl_value(gaussian_kl, pair, what="gaussian_kl"):
    """Call `gaussian_kl` on copies of the four arrays; insist on one finite number."""
    args = [np.array(a, dtype=np.float64) for a in pair]
    result = to_numpy(call_student(gaussian_kl, *args, what=what), what)
    if result.size != 1:
        fail(f"{what} returned shape {result.shape}. {HINTS['not_a_number']}")
    value = float(result.reshape(()))
    if not np.isfinite(value):
        fail(f"{what} returned {value}, not a finite number.")
    return value


def compare_gaussian_kl(value, expected, mistakes, where, generic):
    if close(value, expected, GAUSSIAN_KL_RTOL, GAUSSIAN_KL_ATOL):
        return
    mistake = diagnose(value, mistakes, GAUSSIAN_KL_RTOL, GAUSSIAN_KL_ATOL)
    fail(
        f"gaussian_kl gave {value:.6f} {where}, expected {expected:.6f}. "
        + (HINTS[mistake] if mistake else generic)
    )


GENERAL_FORMULA = (
    "Compare with 1/2 * [tr(inv(cov_p) @ cov_q) + (mean_p - mean_q)^T inv(cov_p) "
    "(mean_p - mean_q) - d + log det(cov_p) - log det(cov_q)]."
)


def zero_fixture():
    """(mean, cov, mean, cov): one 4-D Gaussian with a full covariance, twice."""
    mean, cov, _, _ = make_gaussian_pair(fixed_rng("gaussian-kl-zero"), 4)
    return mean, cov, mean, cov


def check_gaussian_kl_zero(gaussian_kl):
    """KL(p || p) = 0 for a Gaussian with a full covariance."""
    reference = expected_values("nb05")["gaussian_kl"]["zero"]
    value = gaussian_kl_value(gaussian_kl, zero_fixture())
    compare_gaussian_kl(
        value, reference["expected"], reference["mistakes"],
        "for two identical 4-D Gaussians (q = p)", GENERAL_FORMULA,
    )  # fmt: skip
    passed("KL(p || p) = 0.")


def check_gaussian_kl_diagonal(gaussian_kl):
    """With q = N(mu, diag(sigma^2)) and p = N(0, I) it agrees with the diagonal formula."""
    reference = expected_values("nb05")["gaussian_kl"]["diagonal"]
    for pair, expected, mistakes in zip(diagonal_fixture(), reference["expected"],
                                        reference["mistakes"]):  # fmt: skip
        value = gaussian_kl_value(gaussian_kl, pair)
        compare_gaussian_kl(
            value, expected, mistakes,
            f"for q = N(mu, diag(sigma^2)) and p = N(0, I) in {len(pair[0])} dimension(s), "
            "where it must equal 1/2 * sum(mu^2 + sigma^2 - 1 - log sigma^2)",
            GENERAL_FORMULA,
        )  # fmt: skip
    passed("gaussian_kl agrees with the diagonal formula when p = N(0, I).")


def check_gaussian_kl_full(gaussian_kl):
    """Full covariances in 2, 3 and 5 dimensions, against the reference."""
    reference = expected_values("nb05")["gaussian_kl"]["full"]
    for pair, expected, mistakes in zip(full_fixture(), reference["expected"],
                                        reference["mistakes"]):  # fmt: skip
        value = gaussian_kl_value(gaussian_kl, pair)
        compare_gaussian_kl(
            value, expected, mistakes,
            f"for two Gaussians with full covariances in {len(pair[0])} dimensions",
            GENERAL_FORMULA,
        )  # fmt: skip
    passed("gaussian_kl matches the reference for full covariances.")
