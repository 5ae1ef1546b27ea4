"""Hidden checks for notebook 03: fresh random shapes, levels and seeds, against the reference.

Seeds come from `fresh_rng` (see `autograder.hidden`): a regrade draws the same inputs. The
statistical checks reuse the visible checks' tolerances: the hidden tests of one cell
together fail a correct `corrupt` at most `visible.CORRUPT_FALSE_FAIL_RATE` (one in a
million) of the time, so with its visible tests a cell fails one at most twice in a million.
The `posterior_mean` checks draw fresh candidates, noise and numbers of candidates and
compare with the exact posterior; they are not statistical.
"""

from __future__ import annotations

import numpy as np

from autograder.hidden import fresh_rng, private_values
from autograder.mistakes.nb03 import mistake_values, posterior_mistake_values
from autograder.reference import nb03 as reference
from course.checks import nb03 as visible
from course.checks.core import diagnose, fail, passed

PRIVATE = private_values("nb03")

# At least this many pixels for each statistic, as in the visible checks.
MIN_PIXELS = 150_000


def _seed(rng) -> int:
    return int(rng.integers(0, 2**31))


def _generator(seed):
    import keras

    return keras.random.SeedGenerator(seed)


def _mistakes(cell, statistic, x, seed, drop_probability, noise_std):
    """What `statistic(corrupted values)` is for each known mistake that loses `cell`."""

    def measure(function):
        _, values = visible.corrupted(function, x, _generator(seed), drop_probability, noise_std)
        return statistic(values)

    return mistake_values(cell, measure)


def _random_shape(rng, min_pixels=1):
    """A batch shape of rank 2 to 4 (flat vectors, images, images with a channel axis)."""
    rank = int(rng.integers(2, 5))
    inner = [int(rng.integers(5, 40)) for _ in range(rank - 1)]
    if rank == 4:
        inner[-1] = int(rng.integers(1, 4))
    per_example = int(np.prod(inner))
    batch_size = max(int(rng.integers(1, 60)), -(-min_pixels // per_example))
    return (batch_size, *inner)


def _levels(rng):
    return float(rng.uniform(0.1, 0.9)), float(rng.uniform(0.05, 0.5))


def shapes_and_dtypes(corrupt):
    """Random shapes eagerly (the first as a NumPy array); batches of 1 and 257 in a model."""
    rng = fresh_rng()
    for i in range(3):
        shape = _random_shape(rng)
        x = rng.uniform(0.1, 1.0, size=shape).astype(np.float32)
        visible.check_result_shape_and_dtype(
            corrupt, x, _generator(_seed(rng)), *_levels(rng), as_array=i == 0
        )
    image_shape = (int(rng.integers(5, 33)), int(rng.integers(5, 33)))
    visible.check_shape_at_run_time(corrupt, image_shape, batch_sizes=(1, 257))
    passed("corrupt handles random shapes and run-time batch sizes.")


def range_on_random_inputs(corrupt):
    """Strong Gaussian noise on random images of random shapes stays in [0, 1]."""
    rng = fresh_rng()
    for _ in range(3):
        x = rng.uniform(0.0, 1.0, size=_random_shape(rng)).astype(np.float32)
        noise_std = float(rng.uniform(0.3, 2.0))
        _, values = visible.corrupted(corrupt, x, _generator(_seed(rng)), 0.0, noise_std)
        visible.check_in_range(values, noise_std)
    passed("strong noise on random inputs stays in [0, 1].")


def drop_fraction_at_random_level(corrupt):
    """The fraction dropped at a random drop_probability, over a random shape."""
    rng = fresh_rng()
    drop_probability = float(rng.uniform(0.05, 0.95))
    x = rng.uniform(0.1, 1.0, size=_random_shape(rng, MIN_PIXELS)).astype(np.float32)
    seed = _seed(rng)
    _, values = visible.corrupted(corrupt, x, _generator(seed), drop_probability, 0.0)
    expected = reference.zero_fraction(0.1, drop_probability, 0.0)
    mistakes = _mistakes("corrupt_drop_fraction", visible.zero_fraction, x, seed,
                         drop_probability, 0.0)  # fmt: skip
    visible.compare_drop_fraction(visible.zero_fraction(values), expected, drop_probability,
                                  x.size, 1, mistakes)  # fmt: skip
    passed(f"corrupt drops the right fraction at drop_probability = {drop_probability:.3f}.")


def dropped_and_kept_at_random_level(corrupt):
    """Dropped pixels read 0 and kept ones are unchanged, at a random level and shape."""
    rng = fresh_rng()
    drop_probability = float(rng.uniform(0.2, 0.8))
    x = rng.uniform(0.1, 1.0, size=_random_shape(rng, 5_000)).astype(np.float32)
    seed = _seed(rng)
    _, values = visible.corrupted(corrupt, x, _generator(seed), drop_probability, 0.0)
    mistakes = _mistakes("corrupt_drop_values", lambda v: visible.kept_ratio(v, x), x, seed,
                         drop_probability, 0.0)  # fmt: skip
    visible.check_dropped_and_kept(values, x, drop_probability, mistakes)
    passed(f"kept pixels keep their values at drop_probability = {drop_probability:.3f}.")


def noise_at_random_level(corrupt):
    """Mean and spread of the noise at a random grey level and noise_std.

    The grey level stays 5 or more standard deviations from 0 and 1, so clipping touches a
    pixel with probability below 6e-7; the expected moments account for it exactly anyway.
    """
    rng = fresh_rng()
    grey = float(rng.uniform(0.35, 0.65))
    noise_std = float(rng.uniform(0.02, 0.07))
    x = np.full(_random_shape(rng, MIN_PIXELS), grey, np.float32)
    seed = _seed(rng)
    _, values = visible.corrupted(corrupt, x, _generator(seed), 0.0, noise_std)
    expected_mean, expected_std = reference.clipped_noise_moments(grey, noise_std)
    mistakes = _mistakes("corrupt_noise_statistics", lambda v: float((v - x).std(ddof=1)), x,
                         seed, 0.0, noise_std)  # fmt: skip
    residual = values - x
    visible.compare_noise(float(residual.mean()), float(residual.std(ddof=1)), residual.size,
                          expected_mean, expected_std, noise_std, mistakes)  # fmt: skip
    passed(f"the noise is right at noise_std = {noise_std:.3f} on grey level {grey:.2f}.")


def _combined(corrupt, rng, grey, drop_probability, noise_std, where):
    x = np.full(_random_shape(rng, MIN_PIXELS), grey, np.float32)
    seed = _seed(rng)
    _, values = visible.corrupted(corrupt, x, _generator(seed), drop_probability, noise_std)
    fraction = visible.zero_fraction(values)
    expected = reference.zero_fraction(grey, drop_probability, noise_std)
    tolerance = visible.fraction_tolerance(expected, x.size, 2)
    if abs(fraction - expected) > tolerance:
        mistakes = _mistakes("corrupt_combined", visible.zero_fraction, x, seed,
                             drop_probability, noise_std)  # fmt: skip
        name = diagnose(fraction, mistakes, rtol=0.0, atol=visible.DIAGNOSE_FRACTION_ATOL)
        fail(
            f"with drop_probability={drop_probability:.3f} and noise_std={noise_std:.4f} "
            f"{where}, {fraction:.2%} of the pixels read 0; expected {expected:.2%}. "
            + (visible.HINTS[name] if name else "Add the noise and clip, then drop pixels.")
        )


def combined_at_random_levels(corrupt):
    """Both corruptions at a random level, and on a hidden fixture.

    The noise is small (at most 0.01, with grey levels near 0.5), so that only the order of
    noise and masking decides the share of zeros.
    """
    rng = fresh_rng()
    _combined(corrupt, rng, float(rng.uniform(0.4, 0.6)), float(rng.uniform(0.2, 0.8)),
              float(rng.uniform(0.002, 0.01)), "on random grey images")  # fmt: skip
    spec = PRIVATE["combined_hidden_fixture"]
    _combined(corrupt, np.random.default_rng(spec["seed"]), spec["grey"],
              spec["drop_probability"], spec["noise_std"], "on a hidden fixture")  # fmt: skip
    passed("dropped pixels read 0 at random levels of both corruptions.")


def fresh_noise_in_model(corrupt):
    """Two predictions of the same Keras model on the same inputs differ.

    The model's batch size is fixed, so this checks fresh noise only: a function that needs
    a static batch size loses its points in the shape check, not here.
    """
    rng = fresh_rng()
    x = np.repeat(rng.uniform(0.1, 1.0, size=(1, 28, 28)).astype(np.float32), 8, axis=0)
    for drop_probability, noise_std, what in ((0.5, 0.0, "masking"), (0.0, 0.1, "noise")):
        try:
            model = visible.corrupting_model(corrupt, drop_probability, noise_std, batch_size=8)
        except Exception as error:
            # If it cannot run on symbolic tensors at all, the shape check already takes the
            # points for that: judge fresh noise only where the function can run. But one
            # that builds in a model whose batch size is unknown has no reason to fail here.
            try:
                visible.corrupting_model(corrupt, drop_probability, noise_std)
            except Exception:
                print("(corrupt cannot build inside a model; fresh noise was checked eagerly)")
                return
            fail(f"corrupt failed inside a Keras model of batch size 8 "
                 f"({visible.short_error(error)}).")  # fmt: skip
        try:
            first = visible.predict_quietly(model, x, batch_size=8)
            second = visible.predict_quietly(model, x, batch_size=8)
        except Exception as error:  # the student's code failed inside the model
            fail(
                "corrupt failed inside a Keras model: "
                f"{type(error).__name__}: {visible.short_error(error)}"
            )
        visible.check_fresh(first, second, f"{what} inside a model")
    passed("a model built on corrupt draws fresh noise on every prediction.")


def repeatable_with_random_seed(corrupt):
    """Two SeedGenerators with a random seed agree, at random levels and shapes."""
    rng = fresh_rng()
    x = rng.uniform(0.1, 1.0, size=_random_shape(rng)).astype(np.float32)
    visible.check_repeatable(corrupt, x, int(rng.integers(0, 2**31)), *_levels(rng))
    passed("corrupt repeats exactly with a random seed.")


# ----------------------------------------------------------------------------- the posterior

# Each kind of hidden fixture: the range of the number of candidates, of images and of the
# noise level. The noise levels stay as far from exp's range and from 1 as the visible
# fixtures' do (see `visible.POSTERIOR_FIXTURES`); tests/test_nb03.py checks over many seeds
# that every known mistake still loses its cells on them.
POSTERIOR_RANGES = {
    "shape": {"kind": "world", "n_candidates": (2, 5), "n_images": (1, 9), "noise_std": (1.8, 3.0)},
    "unclipped": {"kind": "unclipped", "n_candidates": (2, 4), "n_images": (6, 10),
                  "noise_std": (1.5, 3.0)},
    "clipped": {"kind": "clipped", "n_candidates": (2, 4), "n_images": (6, 10),
                "noise_std": (1.3, 1.7)},
    "stable": {"kind": "stable", "n_candidates": (2, 4), "n_images": (5, 10),
               "noise_std": (0.03, 0.08)},
    "average": {"kind": "world", "n_candidates": (3, 5), "n_images": (4, 10),
                "noise_std": (1.8, 3.0)},
    "world": {"kind": "world", "n_candidates": (2, 5), "n_images": (6, 12),
              "noise_std": (1.8, 3.0)},
}  # fmt: skip


def random_posterior_inputs(rng, name):
    """(x_tilde, candidates, noise_std) of the hidden fixture `name`, drawn from `rng`."""
    spec = POSTERIOR_RANGES[name]
    n_candidates = int(rng.integers(spec["n_candidates"][0], spec["n_candidates"][1] + 1))
    n_images = int(rng.integers(spec["n_images"][0], spec["n_images"][1] + 1))
    n_images = max(n_images, n_candidates + 1) if name != "shape" else n_images
    noise_std = float(np.round(rng.uniform(*spec["noise_std"]), 4))
    x_tilde, candidates = visible.posterior_inputs(rng, spec["kind"], n_candidates, n_images,
                                                   noise_std)  # fmt: skip
    return x_tilde, candidates, noise_std


def posterior_shapes(posterior_mean):
    """Random numbers of images (one, too) and of candidates: shapes, finite, rows sum to 1."""
    rng = fresh_rng()
    for _ in range(2):
        x_tilde, candidates, noise_std = random_posterior_inputs(rng, "shape")
        probabilities, _ = visible.posterior_result(posterior_mean, x_tilde, candidates,
                                                    noise_std)  # fmt: skip
        visible.check_normalised(probabilities, f"for {len(candidates)} candidates")
    passed("posterior_mean handles random numbers of images and candidates.")


def posterior_on_random_inputs(posterior_mean, name):
    """The probabilities on a fresh fixture of kind `name`, against the exact posterior."""
    x_tilde, candidates, noise_std = random_posterior_inputs(fresh_rng(), name)
    probabilities, _ = visible.posterior_result(posterior_mean, x_tilde, candidates, noise_std)
    expected, _ = reference.posterior_mean(x_tilde, candidates, noise_std)
    visible.compare_probabilities(
        probabilities, expected, posterior_mistake_values(x_tilde, candidates, noise_std),
        POSTERIOR_RANGES[name]["kind"], reveal=False,
    )  # fmt: skip
    passed(f"the probabilities match the exact posterior on fresh inputs "
           f"({len(candidates)} candidates, noise_std = {noise_std}).")  # fmt: skip


def posterior_average_on_random_inputs(posterior_mean):
    """The means are the probability-weighted averages, for fresh candidates."""
    x_tilde, candidates, noise_std = random_posterior_inputs(fresh_rng(), "average")
    probabilities, means = visible.posterior_result(posterior_mean, x_tilde, candidates,
                                                    noise_std)  # fmt: skip
    visible.check_weighted_average(probabilities, means, candidates,
                                   f"for {len(candidates)} fresh candidates")  # fmt: skip
    passed(f"each mean is the probability-weighted average of {len(candidates)} candidates.")
