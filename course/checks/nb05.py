"""Visible checks for notebook 05: `kl_divergence`, `gaussian_kl` and `moment_matched_gaussian`.

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
    returned_pair,
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

# moment_matched_gaussian gets float64 arrays. Every float64 route (einsum, loops, np.cov with
# bias=True, E[t t^T] - mu mu^T) agrees with the reference to about 1e-13, and a float32
# computation to within a twentieth of this tolerance; a known mistake is either exactly
# right on a mixture (the unweighted mean when the weights are equal, say) or moves some entry
# of the mean or the covariance by 1e-3 or more, a hundred times the tolerance, on every
# fixture and hidden draw tests/test_nb05.py tries.
MOMENT_RTOL = 1e-5
MOMENT_ATOL = 1e-5

# The stationarity check nudges the returned mean and covariance, one coordinate (or one
# symmetric pair of entries) at a time, by MOMENT_STEP times the matching standard deviations,
# both ways. At the true minimiser the forward KL rises by a second-order amount, at least
# MOMENT_STEP^2 / 4 = 2.5e-7 nats (tests/test_nb05.py); an answer within the value tolerance
# lowers it by at most about 1e-8 nats to first order. So a fall of more than MOMENT_KL_DROP
# is a q that is not the minimiser; every known mistake that keeps q a Gaussian lowers it by
# 1e-6 nats or more on the hidden draws tests/test_nb05.py tries (the others fail as such).
MOMENT_STEP = 1e-3
MOMENT_KL_DROP = 1e-7

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
    "no_spread": (
        "Your covariance is the weighted average of the components' covariances C_k, and "
        "nothing more. p is wider than that: its components sit at different places, and "
        "that spread is part of p's covariance too. Write t - mu = (t - mu_k) + (mu_k - mu) "
        "inside E_p[(t - mu)(t - mu)^T], one component at a time."
    ),
    "no_within": (
        "Your covariance is only the spread of the component means around mu; each "
        "component's own covariance C_k belongs in it too (weighted by w_k)."
    ),
    "unweighted": (
        "Your answer does not depend on the weights: it treats every component as equally "
        "likely. Weight each component's mean, covariance and spread by w_k (a component "
        "with weight 0 must not count at all)."
    ),
    "spread_unweighted": (
        "The spread term is counted with weight 1 for every component: each "
        "(mu_k - mu)(mu_k - mu)^T is weighted by w_k, just like C_k."
    ),
    "uncentered": (
        "Your covariance is the second moment E_p[t t^T] about 0, not the covariance about "
        "the mean: use mu_k - mu, not mu_k, in the spread term (or subtract mu mu^T)."
    ),
    "inner_not_outer": (
        "The same number was added to every entry of the covariance: (mu_k - mu).T @ "
        "(mu_k - mu) is an inner product, a scalar, because .T does nothing to a 1-D NumPy "
        "array. The spread term needs the outer product, np.outer(mu_k - mu, mu_k - mu), a "
        "(d, d) matrix."
    ),
    "spread_per_coordinate": (
        "The diagonal of your covariance is right, but the off-diagonal entries miss the "
        "spread term: (mu_k - mu)**2 squares each coordinate on its own. The spread is the "
        "outer product (mu_k - mu)(mu_k - mu)^T, which couples the coordinates."
    ),
    "not_normalised": (
        "These weights do not sum to 1, and your answer used them as they are. The mixture's "
        "weights are weights / weights.sum(): divide by the sum first."
    ),
    "covariance_not_normalised": (
        "Your mean is right, but your covariance used weights that do not sum to 1: divide "
        "by weights.sum() in the covariance too."
    ),
    "np_cov_unbiased": (
        "np.cov divides by a corrected count by default (ddof=1), as for an estimate from "
        "samples, and gives NaN for one component. p's covariance is exact: use "
        "np.cov(means, rowvar=False, aweights=weights, bias=True)."
    ),
    "outer_wrong_way": (
        "Your covariance has one row and column per component, (K, K), not per dimension: "
        "offsets @ offsets.T sums over the dimensions. The spread term sums over the "
        "components: offsets.T @ (weights[:, None] * offsets), a (d, d) matrix."
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


# ----------------------------------------------------------------------------- moment matching


def make_mixture(rng, n_components, dim, total=1.0):
    """(weights, means, covariances) of a random Gaussian mixture, float64.

    weights: (K,) summing to `total`, each at least total / (2K), the largest at least 1.5
    times the smallest. means: (K, dim), at least 1 apart, spread as widely as the components
    themselves around a centre 2 to 4 away from 0 in every coordinate (so that p's mean is
    far from 0, and a covariance taken about 0 instead is far off). covariances:
    (K, dim, dim), random, full and well conditioned.
    """
    # Half of the weight spread evenly, half at random: no component is negligible, and the
    # largest weight is at least 1.5 times the smallest, so that the weights matter.
    while True:
        weights = 0.5 / n_components + 0.5 * rng.dirichlet(np.full(n_components, 2.0))
        if n_components == 1 or weights.max() >= 1.5 * weights.min():
            break
    weights = weights * total
    centre = rng.choice([-1.0, 1.0], size=dim) * rng.uniform(2.0, 4.0, size=dim)
    while True:  # components at least 1 apart, so that their spread is never negligible
        means = centre + rng.normal(0.0, 1.5, size=(n_components, dim))
        gaps = np.linalg.norm(means[:, None] - means[None], axis=-1) + np.eye(n_components)
        if gaps.min() >= 1.0:
            break
    covariances = np.stack([random_covariance(rng, dim) for _ in range(n_components)])
    return weights, means, covariances


def known_moment_fixtures():
    """The three mixtures the notebook works out by hand, as (weights, means, covariances).

    1. Section 1's target: 0.5 N(-2, 0.6^2) + 0.5 N(2, 0.6^2), mean 0 and variance 4.36.
    2. Two equally likely 2-D components with covariance 0.5 I at (3, 1) and (1, 0): mean
       (2, 0.5); their offsets from it are +-(1, 0.5).
    3. A single 3-D component: the mixture is that Gaussian itself.
    """
    one_d = (np.array([0.5, 0.5]), np.array([[-2.0], [2.0]]), np.full((2, 1, 1), 0.36))
    two_d = (np.array([0.5, 0.5]), np.array([[3.0, 1.0], [1.0, 0.0]]),
             np.stack([0.5 * np.eye(2)] * 2))  # fmt: skip
    single = (np.array([1.0]), np.array([[0.5, -1.0, 2.0]]),
              np.array([[[2.0, 0.5, 0.0], [0.5, 1.0, 0.3], [0.0, 0.3, 0.5]]]))  # fmt: skip
    return [one_d, two_d, single]


KNOWN_MOMENT_WHERE = (
    "Section 1's mixture 0.5 N(-2, 0.6^2) + 0.5 N(2, 0.6^2)",
    "two equally likely 2-D components with covariance 0.5 I at (3, 1) and (1, 0)",
    "a single 3-D component (the mixture is that Gaussian itself)",
)
# (K, dim) of the other fixtures: K never equals dim, so a (K, K) answer shows as such.
MOMENT_SHAPES = ((3, 2), (2, 4), (5, 1))
MOMENT_RANDOM = ((4, 3), (2, 5))
MOMENT_STATIONARY = (3, 2)


def moment_weights_fixtures():
    """Two mixtures whose weights do not sum to 1: (3, 1, 0), with a component of weight 0
    far from the others, and small ones summing to 0.1."""
    rng = fixed_rng("moment-weights")
    _, means, covariances = make_mixture(rng, 3, 2)
    means[2] = (6.0, -6.0)
    counts = (np.array([3.0, 1.0, 0.0]), means, covariances)
    _, means, covariances = make_mixture(rng, 4, 3)
    small = (np.array([0.02, 0.05, 0.01, 0.02]), means, covariances)
    return [counts, small]


def moment_fixtures(name):
    """The inputs of the visible check `name`: a list of (weights, means, covariances)."""
    rng = fixed_rng(f"moment-{name}")
    if name == "known":
        return known_moment_fixtures()
    if name == "weights":
        return moment_weights_fixtures()
    sizes = {"shapes": MOMENT_SHAPES, "random": MOMENT_RANDOM,
             "stationary": (MOMENT_STATIONARY,)}[name]  # fmt: skip
    return [make_mixture(rng, n_components, dim) for n_components, dim in sizes]


def moment_result(moment_matched_gaussian, inputs, what="moment_matched_gaussian"):
    """Call the student's function on copies of `inputs`; return (mean, covariance) as
    float64 arrays of shapes (d,) and (d, d), finite, or fail saying what is wrong."""
    weights, means, covariances = (np.array(a, dtype=np.float64) for a in inputs)
    n_components, dim = means.shape
    result = call_student(moment_matched_gaussian, weights, means, covariances, what=what)
    mean, covariance = returned_pair(result, what, ("mean", "covariance"), " of two arrays")
    mean, covariance = to_numpy(mean, what), to_numpy(covariance, what)
    call = f"{what} for K = {n_components} components in d = {dim} dimension(s)"
    if mean.shape != (dim,):
        fail(f"{call} returned a mean of shape {mean.shape}; expected ({dim},), one entry per "
             "dimension: the mean of p.")  # fmt: skip
    if covariance.shape != (dim, dim):
        hint = HINTS["outer_wrong_way"] if covariance.shape == (n_components,) * 2 else (
            "The covariance of p is one (d, d) matrix: sum over the components.")  # fmt: skip
        fail(f"{call} returned a covariance of shape {covariance.shape}; expected "
             f"({dim}, {dim}). {hint}")  # fmt: skip
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(covariance))):
        hint = HINTS["np_cov_unbiased"] if n_components == 1 else ""
        fail(f"{call} returned values that are not finite (NaN or inf). {hint}")
    return mean, covariance


def _flat(mean, covariance):
    return np.concatenate([np.ravel(mean), np.ravel(covariance)])


def _mistake_flats(mistakes):
    return {hint: None if value is None else _flat(value["mean"], value["covariance"])
            for hint, value in mistakes.items()}  # fmt: skip


def compare_moments(result, expected, mistakes, where, generic, reveal=True):
    """Fail, naming a likely mistake, unless `result` = (mean, covariance) matches `expected`.

    expected: {"mean", "covariance"}; mistakes: as `moment_mistake_values` makes them. Hidden
    checks pass reveal=False, so that the message shows no value.
    """
    mean, covariance = result
    expected_mean = np.asarray(expected["mean"], np.float64)
    expected_covariance = np.asarray(expected["covariance"], np.float64)
    mean_ok = close(mean, expected_mean, MOMENT_RTOL, MOMENT_ATOL)
    covariance_ok = close(covariance, expected_covariance, MOMENT_RTOL, MOMENT_ATOL)
    if mean_ok and covariance_ok:
        return
    mistake = diagnose(_flat(mean, covariance), _mistake_flats(mistakes), MOMENT_RTOL,
                       MOMENT_ATOL)  # fmt: skip
    wrong = "the mean and the covariance of q differ" if not (mean_ok or covariance_ok) else (
        "the covariance of q differs" if mean_ok else "the mean of q differs")  # fmt: skip
    detail = ""
    if reveal:
        detail = (f" You returned mean {np.round(mean, 4).tolist()} and covariance "
                  f"{np.round(covariance, 4).tolist()}; p has mean "
                  f"{np.round(expected_mean, 4).tolist()} and covariance "
                  f"{np.round(expected_covariance, 4).tolist()}.")  # fmt: skip
    fail(f"moment_matched_gaussian: for {where}, {wrong} from p's.{detail} "
         + (HINTS[mistake] if mistake else generic))  # fmt: skip


def forward_kl_up_to_constant(inputs, mean_q, cov_q):
    """sum_k w_k KL(N(mu_k, C_k) || N(mean_q, cov_q)), with the weights normalised, in nats.

    It differs from KL(p || q) for the mixture p by E_p[log p] - sum_k w_k E_k[log N_k], which
    does not depend on q: so both have the same minimiser and rise or fall together. None if
    cov_q (symmetric) is not positive definite, or nearly singular: then q is no Gaussian.
    """
    weights, means, covariances = (np.asarray(a, np.float64) for a in inputs)
    weights = weights / np.sum(weights)
    eigenvalues = np.linalg.eigvalsh(cov_q)
    # A covariance this close to singular is no Gaussian's for our purpose (and solve fails).
    if eigenvalues.min() <= 1e-10 * max(1.0, eigenvalues.max()):
        return None
    dim = len(mean_q)
    log_det_q = np.sum(np.log(eigenvalues))
    total = 0.0
    for weight, mean, covariance in zip(weights, means, covariances):
        if weight == 0.0:
            continue
        offset = mean_q - mean
        trace_term = np.trace(np.linalg.solve(cov_q, covariance))
        quadratic_term = offset @ np.linalg.solve(cov_q, offset)
        log_det = np.linalg.slogdet(covariance)[1]
        total += weight * 0.5 * (trace_term + quadratic_term - dim + log_det_q - log_det)
    return float(total)


def nudges(mean, covariance):
    """Small moves of (mean, covariance): each coordinate of the mean and each symmetric pair
    of entries of the covariance, by MOMENT_STEP times the matching standard deviations,
    both ways. Yields (what was moved, how, as words; moved mean; moved covariance)."""
    std = np.sqrt(np.abs(np.diag(covariance)))
    dim = len(mean)
    for sign, verb in ((1.0, "raising"), (-1.0, "lowering")):
        for i in range(dim):
            moved = mean.copy()
            moved[i] += sign * MOMENT_STEP * std[i]
            yield f"{verb} entry {i} of the mean", moved, covariance
        for i in range(dim):
            for j in range(i, dim):
                moved = covariance.copy()
                moved[i, j] += sign * MOMENT_STEP * std[i] * std[j]
                moved[j, i] = moved[i, j]
                yield f"{verb} entry ({i}, {j}) of the covariance", mean, moved


def check_stationary(result, inputs, mistakes, where):
    """No nudge of one entry of q = N(mean, covariance) lowers the forward KL from the mixture."""
    mean, covariance = result
    mistake = diagnose(_flat(mean, covariance), _mistake_flats(mistakes), MOMENT_RTOL,
                       MOMENT_ATOL)  # fmt: skip
    hint = HINTS[mistake] if mistake else ""
    if not np.allclose(covariance, covariance.T, rtol=MOMENT_RTOL, atol=MOMENT_ATOL):
        fail(f"moment_matched_gaussian {where}: the covariance is not symmetric, so it is no "
             f"Gaussian's covariance. {hint}")  # fmt: skip
    at_answer = forward_kl_up_to_constant(inputs, mean, covariance)
    if at_answer is None:
        fail(f"moment_matched_gaussian {where}: the covariance is not positive definite, so "
             "it is no Gaussian's covariance (p's covariance is: each C_k is, and the spread "
             f"adds to it). {hint}")  # fmt: skip
    drops = {}
    for what, moved_mean, moved_covariance in nudges(mean, covariance):
        moved = forward_kl_up_to_constant(inputs, moved_mean, moved_covariance)
        if moved is not None:
            drops[what] = at_answer - moved
    what = max(drops, key=drops.get, default=None)
    if what is None or drops[what] <= MOMENT_KL_DROP:
        return
    generic = ("The mean of q that minimises KL(p || q) is the mean of p." if "mean" in what
               else "The covariance of q that minimises KL(p || q) is the covariance of p, "
               "the spread of its component means included.")  # fmt: skip
    fail(f"moment_matched_gaussian {where}: {what} of your q a little lowers KL(p || q), "
         f"by {drops[what]:.3g} nats, so your q is not the Gaussian closest to p. "
         + (hint or generic))  # fmt: skip


def check_moment_shapes(moment_matched_gaussian):
    """(mean, covariance) of shapes (d,) and (d, d), finite and symmetric, for three sizes."""
    for inputs in moment_fixtures("shapes"):
        _, covariance = moment_result(moment_matched_gaussian, inputs)
        if not np.allclose(covariance, covariance.T, rtol=MOMENT_RTOL, atol=MOMENT_ATOL):
            fail(f"moment_matched_gaussian returned a covariance that is not symmetric: "
                 f"{np.round(covariance, 4).tolist()}. A covariance matrix equals its "
                 "transpose.")  # fmt: skip
    passed("moment_matched_gaussian returns a mean (d,) and a symmetric covariance (d, d) for "
           "K = 3, 2, 5 components in d = 2, 4, 1 dimensions.")  # fmt: skip


def _check_moment_values(moment_matched_gaussian, name, where, generic):
    references = expected_values("nb05")["moment"][name]
    for inputs, reference, place in zip(moment_fixtures(name), references, where):
        result = moment_result(moment_matched_gaussian, inputs)
        compare_moments(result, reference["expected"], reference["mistakes"], place, generic)


def check_moment_known(moment_matched_gaussian):
    """The three mixtures worked out by hand (see `known_moment_fixtures`)."""
    _check_moment_values(
        moment_matched_gaussian, "known", KNOWN_MOMENT_WHERE,
        "Work these cases out by hand: the mean is the weighted average of the component "
        "means, and the covariance is E_p[(t - mu)(t - mu)^T], taken one component at a time.",
    )  # fmt: skip
    passed("q has mean 0 and variance 4.36 for Section 1's mixture, mean (2, 0.5) and "
           "covariance [[1.5, 0.5], [0.5, 0.75]] for the 2-D one, and is the component itself "
           "when there is only one.")  # fmt: skip


WEIGHTS_GENERIC = (
    "The weights need not sum to 1: the mixture's weights are weights / weights.sum(), and "
    "they weight each component's mean, covariance and spread."
)


def check_moment_weights(moment_matched_gaussian):
    """Weights that do not sum to 1: (3, 1, 0), and small ones summing to 0.1."""
    _check_moment_values(
        moment_matched_gaussian, "weights",
        ("weights (3, 1, 0): K = 3 components in 2-D, the last far away",
         "weights (0.02, 0.05, 0.01, 0.02): K = 4 components in 3-D"),
        WEIGHTS_GENERIC,
    )  # fmt: skip
    passed("moment_matched_gaussian normalises the weights; a component of weight 0 counts "
           "for nothing.")  # fmt: skip


RANDOM_GENERIC = (
    "Check both parts: the mean sum_k w_k mu_k, and the covariance of p, which holds the "
    "components' own covariances and the spread of their means around mu."
)


def check_moment_random(moment_matched_gaussian):
    """Random mixtures with full covariances, against the reference."""
    _check_moment_values(
        moment_matched_gaussian, "random",
        [f"a random mixture of K = {k} components in d = {d} dimensions" for k, d in
         MOMENT_RANDOM], RANDOM_GENERIC,
    )  # fmt: skip
    passed("moment_matched_gaussian matches the reference on random mixtures.")


def check_moment_stationary(moment_matched_gaussian):
    """Nudging one entry of the returned q's mean or covariance never lowers KL(p || q)."""
    (inputs,) = moment_fixtures("stationary")
    (reference,) = expected_values("nb05")["moment"]["stationary"]
    result = moment_result(moment_matched_gaussian, inputs)
    where = "for a mixture of K = {} components in d = {} dimensions".format(*MOMENT_STATIONARY)
    check_stationary(result, inputs, reference["mistakes"], where)
    passed("nudging any one entry of your q's mean or covariance, either way, raises "
           "KL(p || q), as at its minimum.")  # fmt: skip
