"""Reference answers for notebook 03 (the denoising autoencoder).

`corrupt` is random, so the checks compare statistics, and the values they expect are
exact probabilities and moments computed here in float64. `posterior_mean` is exact: the
posterior over a few equally likely clean images, in float64.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops
from scipy import special, stats


def corrupt(x, seed_generator, drop_probability=0.0, noise_std=0.0):
    """The notebook's answer: Gaussian noise, clipping to [0, 1], then masking."""
    shape = ops.shape(x)
    noise = keras.random.normal(shape, stddev=noise_std, seed=seed_generator)
    noisy = ops.clip(x + noise, 0.0, 1.0)
    keep = keras.random.uniform(shape, seed=seed_generator) >= drop_probability
    return ops.where(keep, noisy, 0.0)


def corrupt_numpy(x, rng, drop_probability=0.0, noise_std=0.0):
    """The same corruption in NumPy float64, drawing from the Generator `rng`."""
    x = np.asarray(x, np.float64)
    noisy = np.clip(x + noise_std * rng.standard_normal(x.shape), 0.0, 1.0)
    return np.where(rng.random(x.shape) >= drop_probability, noisy, 0.0)


def clipped_noise_moments(grey, noise_std):
    """Exact mean and standard deviation of clip(grey + noise_std * eps, 0, 1) - grey.

    eps ~ N(0, 1). The clipped value is a censored normal: it is 0 with probability
    Phi(a), 1 with probability 1 - Phi(b), and grey + noise_std * eps in between, where
    a = -grey / noise_std and b = (1 - grey) / noise_std.
    """
    if noise_std == 0:
        return 0.0, 0.0
    a, b = -grey / noise_std, (1.0 - grey) / noise_std
    inside = stats.norm.cdf(b) - stats.norm.cdf(a)
    pdf_a, pdf_b = stats.norm.pdf(a), stats.norm.pdf(b)
    above = stats.norm.sf(b)
    mean_y = above + grey * inside + noise_std * (pdf_a - pdf_b)
    second_y = (
        above
        + grey**2 * inside
        + 2.0 * grey * noise_std * (pdf_a - pdf_b)
        + noise_std**2 * (inside + a * pdf_a - b * pdf_b)
    )
    return float(mean_y - grey), float(np.sqrt(second_y - mean_y**2))


def zero_fraction(grey, drop_probability, noise_std):
    """Probability that a pixel of value `grey` > 0 reads exactly 0 after `corrupt`.

    It is dropped (probability p), or kept with its noise pushing it below 0.
    """
    clipped_to_zero = stats.norm.cdf(-grey / noise_std) if noise_std > 0 else 0.0
    return float(drop_probability + (1.0 - drop_probability) * clipped_to_zero)


def references():
    """(public, private) reference values for notebook 03 (see autograder.make_references)."""
    from autograder.mistakes import nb03 as mistakes
    from course.checks import nb03 as checks

    # The fixtures hold no pixel below 0.1, so a pixel that reads 0 was dropped.
    drop_mistakes = mistakes.mistake_values("corrupt_drop_fraction", checks.measure_drop_fractions)
    public = {
        "drop_fraction": {
            "expected": [zero_fraction(0.1, p, 0.0) for p in checks.DROP_LEVELS],
            "mistakes": {
                hint: None if values is None else [round(v, 5) for v in values]
                for hint, values in drop_mistakes.items()
            },
        },
        "drop_values": {
            "mistakes": _rounded(
                mistakes.mistake_values("corrupt_drop_values", checks.measure_kept_ratio)
            )
        },
        "noise": dict(
            # + 0.0 turns a rounded -0.0 into 0.0
            zip(
                ("mean", "std"), (round(m, 10) + 0.0 for m in clipped_noise_moments(**checks.NOISE))
            ),
            mistakes=_rounded(
                mistakes.mistake_values(
                    "corrupt_noise_statistics", lambda corrupt: checks.measure_noise(corrupt)[1]
                )
            ),
        ),
        "combined": {
            "expected": zero_fraction(**checks.COMBINED),
            "mistakes": _rounded(
                mistakes.mistake_values(
                    "corrupt_combined", lambda corrupt: checks.measure_combined(corrupt)[0]
                )
            ),
        },
    }
    public["posterior"] = {name: _posterior_values(*checks.posterior_fixture(name))
                           for name in ("unclipped", "clipped", "stable", "world")}  # fmt: skip
    # A hidden fixture for the combined check: its levels and expected share of zeros are
    # never shown. Its noise is small enough that clipping cannot tell mistakes in the
    # noise's spread apart from correct answers: this fixture is about the order only.
    hidden = {"grey": 0.43, "drop_probability": 0.37, "noise_std": 0.008}
    private = {
        "combined_hidden_fixture": {
            **hidden,
            "seed": 3_2026,
            "expected": zero_fraction(**hidden),
        }
    }
    return public, private


def _posterior_values(x_tilde, candidates, noise_std) -> dict:
    """The exact probabilities on one fixture, and each known mistake's (None: not finite)."""
    from autograder.mistakes.nb03 import posterior_mistake_values

    probabilities, _ = posterior_mean(x_tilde, candidates, noise_std)
    mistakes = posterior_mistake_values(x_tilde, candidates, noise_std)
    return {
        "expected": probabilities.tolist(),
        "mistakes": {k: None if v is None else v.tolist() for k, v in mistakes.items()},
    }


def _rounded(values: dict) -> dict:
    return {k: None if v is None else round(v, 5) for k, v in values.items()}


# ----------------------------------------------------------------------------- the posterior


def log_likelihoods(x_tilde, candidates, noise_std):
    """(n, K) float64: log q(x_tilde[i] | candidates[k]) for clipped Gaussian noise.

    Each pixel is independent: log Phi(-x / sigma) where x_tilde reads 0 (the noise pushed
    it below 0), log(1 - Phi((1 - x) / sigma)) where it reads 1, and the log density
    log phi((x_tilde - x) / sigma) - log sigma in between.
    """
    x_tilde = np.asarray(x_tilde, np.float64)[:, None]  # (n, 1, ...)
    x = np.asarray(candidates, np.float64)[None]  # (1, K, ...)
    below = stats.norm.logcdf(-x / noise_std)
    above = stats.norm.logsf((1.0 - x) / noise_std)
    inside = stats.norm.logpdf((x_tilde - x) / noise_std) - np.log(noise_std)
    per_pixel = np.where(x_tilde <= 0.0, below, np.where(x_tilde >= 1.0, above, inside))
    return per_pixel.reshape(*per_pixel.shape[:2], -1).sum(axis=-1)


def posterior_mean(x_tilde, candidates, noise_std):
    """The notebook's answer: (p(candidate k | x_tilde[i]) (n, K), E[x | x_tilde[i]] (n, ...)).

    The candidates are equally likely a priori, so the posterior is the softmax of the
    log-likelihoods over k (scipy's softmax subtracts each row's maximum first).
    """
    probabilities = special.softmax(log_likelihoods(x_tilde, candidates, noise_std), axis=1)
    return probabilities, np.tensordot(probabilities, np.asarray(candidates, np.float64), axes=1)
