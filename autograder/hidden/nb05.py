"""Hidden checks for notebook 05: fresh random inputs and shapes, against the reference.

Seeds come from `fresh_rng` (see `autograder.hidden`): a regrade draws the same inputs.
"""

from __future__ import annotations

import numpy as np

from autograder.hidden import fresh_rng, private_values
from autograder.mistakes.nb05 import gaussian_kl_mistake_values, kl_mistake_values
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
