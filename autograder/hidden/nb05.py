"""Hidden checks for notebook 05: fresh random inputs and shapes, against the reference.

Seeds come from `fresh_rng` (see `autograder.hidden`): a regrade draws the same inputs.
The `moment_matched_gaussian` checks draw fresh mixtures (at least two components, at least
two dimensions wherever a formula is judged, so that no known mistake coincides with the
right answer) and compare with the reference or with the minimum itself; they are exact,
not statistical.
"""

from __future__ import annotations

import numpy as np

from autograder.hidden import fresh_rng, private_values
from autograder.mistakes.nb05 import (
    gaussian_kl_mistake_values,
    kl_mistake_values,
    moment_mistake_values,
)
from autograder.reference import nb05 as reference
from course.checks import nb05 as visible
from course.checks.core import close, fail, passed

PRIVATE = private_values("nb05")


def kl_shapes(kl_divergence, trials=3):
    """Random batch and latent sizes: always one value per example."""
    rng = fresh_rng()
    for _ in range(trials):
        batch_size, latent_dim = int(rng.integers(1, 300)), int(rng.integers(1, 40))
        t_mean, t_log_var = visible.make_kl_inputs(rng, batch_size, latent_dim)
        values = visible.kl_result(kl_divergence, t_mean, t_log_var)
        if values.shape != (batch_size,):
            fail(
                f"kl_divergence returned shape {values.shape} for t_mean of shape "
                f"{(batch_size, latent_dim)}; expected ({batch_size},)."
            )
    passed("kl_divergence returns one value per example at random sizes.")


def kl_on_random_inputs(kl_divergence, trials=3):
    """Random batch and latent sizes, against the reference."""
    rng = fresh_rng()
    for _ in range(trials):
        batch_size, latent_dim = int(rng.integers(2, 200)), int(rng.integers(2, 33))
        inputs = visible.make_kl_inputs(rng, batch_size, latent_dim)
        values = visible.kl_values(kl_divergence, *inputs)
        visible.compare_kl(
            values, reference.kl_divergence(*inputs), kl_mistake_values(inputs),
            f"on random inputs (batch {batch_size}, latent {latent_dim})",
            "Compare with 1/2 * sum(mu^2 + sigma^2 - 1 - log sigma^2) over the latent axis.",
        )  # fmt: skip
    passed("kl_divergence matches the reference on random inputs.")


def kl_on_hidden_fixture(kl_divergence):
    """A fixed batch whose total KL is never shown to students."""
    spec = PRIVATE["kl_hidden_fixture"]
    inputs = visible.make_kl_inputs(
        np.random.default_rng(spec["seed"]), spec["batch_size"], spec["latent_dim"]
    )
    total = float(np.sum(visible.kl_values(kl_divergence, *inputs)))
    if not close(total, spec["total"], visible.KL_RTOL, visible.KL_ATOL):
        fail(f"kl_divergence: the total KL over a hidden batch is {total:.4f}, which is wrong.")
    passed("kl_divergence matches the reference on a hidden batch.")


def kl_gradient(kl_divergence, trials=2):
    """Random batch and latent sizes: gradients reach both inputs and match the KL's slopes."""
    rng = fresh_rng()
    for _ in range(trials):
        batch_size, latent_dim = int(rng.integers(1, 7)), int(rng.integers(1, 6))
        t_mean, t_log_var = visible.make_kl_inputs(rng, batch_size, latent_dim)
        visible.check_gradients(
            kl_divergence,
            t_mean,
            t_log_var,
            f"on random inputs (batch {batch_size}, latent {latent_dim})",
        )
    passed("gradients flow through kl_divergence at random sizes.")


def gaussian_kl_diagonal_random(gaussian_kl, trials=3):
    """Random diagonal q against N(0, I): the closed form of the first exercise."""
    rng = fresh_rng()
    for _ in range(trials):
        dim = int(rng.integers(2, 12))
        t_mean, t_log_var = visible.make_kl_inputs(rng, 1, dim)
        pair = (t_mean[0].astype(np.float64), np.diag(np.exp(t_log_var[0].astype(np.float64))),
                np.zeros(dim), np.eye(dim))  # fmt: skip
        value = visible.gaussian_kl_value(gaussian_kl, pair)
        visible.compare_gaussian_kl(
            value, float(reference.kl_divergence(t_mean, t_log_var)[0]),
            gaussian_kl_mistake_values(pair),
            f"for a random diagonal q and p = N(0, I) in {dim} dimensions",
            visible.GENERAL_FORMULA,
        )  # fmt: skip
    passed("gaussian_kl agrees with the diagonal formula at random sizes.")


def gaussian_kl_random(gaussian_kl, trials=4):
    """Random full covariances in random dimensions, both directions."""
    rng = fresh_rng()
    for _ in range(trials):
        dim = int(rng.integers(1, 11))
        pair = visible.make_gaussian_pair(rng, dim)
        for q_then_p in (pair, (pair[2], pair[3], pair[0], pair[1])):
            value = visible.gaussian_kl_value(gaussian_kl, q_then_p)
            visible.compare_gaussian_kl(
                value, reference.gaussian_kl(*q_then_p), gaussian_kl_mistake_values(q_then_p),
                f"for two random Gaussians in {dim} dimension(s)", visible.GENERAL_FORMULA,
            )  # fmt: skip
    passed("gaussian_kl matches the reference on random Gaussians.")


def gaussian_kl_hidden_fixture(gaussian_kl):
    """A fixed pair whose KL is never shown to students."""
    spec = PRIVATE["gaussian_kl_hidden_fixture"]
    pair = visible.make_gaussian_pair(np.random.default_rng(spec["seed"]), spec["dim"])
    value = visible.gaussian_kl_value(gaussian_kl, pair)
    expected = spec["expected"]
    if not close(value, expected, visible.GAUSSIAN_KL_RTOL, visible.GAUSSIAN_KL_ATOL):
        fail(f"gaussian_kl gave {value:.4f} for a hidden pair of Gaussians, which is wrong.")
    passed("gaussian_kl matches the reference on a hidden pair of Gaussians.")


# ----------------------------------------------------------------------------- moment matching

# The sizes of the hidden mixtures: (K range, d range), both inclusive.
MOMENT_RANGES = {
    "shapes": ((2, 6), (1, 6)),
    "weights": ((2, 5), (2, 4)),
    "random": ((2, 6), (2, 5)),
    "stationary": ((2, 5), (2, 4)),
}


def random_mixture(rng, name):
    """(weights, means, covariances) of a fresh mixture for the hidden check `name`.

    For "weights" they sum to a total between 0.01 and 0.3 or between 3 and 100, never near
    1, and one component may have weight 0; for the others they sum to 1.
    """
    (k_low, k_high), (d_low, d_high) = MOMENT_RANGES[name]
    n_components = int(rng.integers(k_low, k_high + 1))
    dim = int(rng.integers(d_low, d_high + 1))
    if name != "weights":
        return visible.make_mixture(rng, n_components, dim)
    exponent = rng.uniform(0.5, 2.0) * rng.choice([-1.0, 1.0])
    weights, means, covariances = visible.make_mixture(rng, n_components, dim, 10.0**exponent)
    if n_components > 2 and rng.random() < 0.5:
        weights[rng.integers(n_components)] = 0.0
    return weights, means, covariances


def _where(inputs):
    n_components, dim = np.shape(inputs[1])
    return f"a hidden mixture of K = {n_components} components in d = {dim} dimension(s)"


def moment_shapes(moment_matched_gaussian, trials=3):
    """Random numbers of components and dimensions: shapes, finite, symmetric."""
    rng = fresh_rng()
    for _ in range(trials):
        inputs = random_mixture(rng, "shapes")
        _, covariance = visible.moment_result(moment_matched_gaussian, inputs)
        if not np.allclose(covariance, covariance.T, rtol=visible.MOMENT_RTOL,
                           atol=visible.MOMENT_ATOL):  # fmt: skip
            fail(f"moment_matched_gaussian returned a covariance that is not symmetric for "
                 f"{_where(inputs)}.")  # fmt: skip
    passed("moment_matched_gaussian returns the right shapes at random sizes.")


def moment_on_random_inputs(moment_matched_gaussian, name, trials=3):
    """Fresh mixtures of kind `name` ("weights" or "random"), against the reference."""
    rng = fresh_rng()
    generic = visible.WEIGHTS_GENERIC if name == "weights" else visible.RANDOM_GENERIC
    for _ in range(trials):
        inputs = random_mixture(rng, name)
        result = visible.moment_result(moment_matched_gaussian, inputs)
        mean, covariance = reference.moment_matched_gaussian(*inputs)
        visible.compare_moments(
            result, {"mean": mean, "covariance": covariance}, moment_mistake_values(inputs),
            _where(inputs), generic, reveal=False,
        )  # fmt: skip
    what = "weights that do not sum to 1" if name == "weights" else "random mixtures"
    passed(f"moment_matched_gaussian matches the reference on hidden {what}.")


def moment_stationary(moment_matched_gaussian, trials=2):
    """Fresh mixtures: no nudge of one entry of the returned q lowers KL(p || q)."""
    rng = fresh_rng()
    for _ in range(trials):
        inputs = random_mixture(rng, "stationary")
        result = visible.moment_result(moment_matched_gaussian, inputs)
        visible.check_stationary(result, inputs, moment_mistake_values(inputs),
                                 f"for {_where(inputs)}")  # fmt: skip
    passed("no nudge of q's mean or covariance lowers KL(p || q) on hidden mixtures.")
