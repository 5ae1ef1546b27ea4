"""Visible checks for notebook 03: the corruption function `corrupt`, and `posterior_mean`.

Each `check_*` function is one graded property; the notebook calls it from its own test
cell, so a mistake costs the points of the property it breaks and no more. `corrupt` is
random, so most of its checks are statistical: they measure about 200,000 pixels, with
tolerances set so that a correct `corrupt` fails a check cell at most
`CORRUPT_FALSE_FAIL_RATE` of the time. `posterior_mean` is exact, and its checks compare
it with the exact posterior on fixed inputs.
"""

from __future__ import annotations

import re
import textwrap
import zlib

import numpy as np
from scipy import stats

from course.checks.core import (
    call_student,
    diagnose,
    expected_values,
    fail,
    fixed_rng,
    kernel_side,
    passed,
    predict_quietly,
    quiet_keras,
    returned_pair,
    to_numpy,
)
from course.probe import type_name

IMAGE_SHAPE = (28, 28)
N_IMAGES = 250  # 250 images of 28 x 28: 196,000 pixels for each statistic

# Each statistical check cell wrongly fails a correct `corrupt` at most once in a million
# runs: the tests inside one cell share this false-fail rate equally.
CORRUPT_FALSE_FAIL_RATE = 1e-6
# keras.random.uniform draws from a grid of 2**-23 steps, so `uniform > p` and `uniform >= p`
# differ for about one pixel in eight million; this allowance on a dropped fraction (20
# pixels in 196,000) lets either comparison pass.
TIE_ALLOWANCE = 1e-4
# A wrong fraction or spread is put down to a known mistake only if it is this close to
# what that mistake gives on the same fixture (many standard errors wide, far narrower
# than the gaps between the mistakes).
DIAGNOSE_FRACTION_ATOL = 0.01
DIAGNOSE_STD_RTOL = 0.05
# A kept pixel must be the input pixel itself; 1e-5 relative admits float32 round-off
# such as x / (1 - p) * (1 - p).
KEPT_RTOL = 1e-5

DROP_LEVELS = (0.0, 0.3, 0.8)
DROP_VALUES_LEVEL = 0.5
NOISE = {"grey": 0.5, "noise_std": 0.1}  # 5 standard deviations from either bound
RANGE_NOISE_STD = 0.5
COMBINED = {"grey": 0.5, "drop_probability": 0.5, "noise_std": 0.02}

HINTS = {
    "keeps_with_p": (
        "It looks as if each pixel was *kept* with probability drop_probability. It is the "
        "probability that a pixel is dropped: keep a pixel where "
        "keras.random.uniform(...) >= drop_probability."
    ),
    "inverted_dropout": (
        "Kept pixels were scaled up by 1 / (1 - drop_probability), as dropout does "
        "(keras.random.dropout, layers.Dropout). Masking noise leaves the pixels it keeps "
        "unchanged: multiply by a 0/1 mask (or use ops.where), without rescaling."
    ),
    "no_clipping": (
        "Some pixels lie outside [0, 1]. Clip after adding the Gaussian noise: "
        "ops.clip(x + noise, 0.0, 1.0)."
    ),
    "noise_as_variance": (
        "The noise's standard deviation is about sqrt(noise_std): it looks as if noise_std "
        "was used as a variance. It is the standard deviation: "
        "keras.random.normal(shape, stddev=noise_std, seed=seed_generator)."
    ),
    "truncated_noise": (
        "The noise's standard deviation is about 12% too small, as with "
        "keras.random.truncated_normal, which throws away draws beyond two standard "
        "deviations. Gaussian noise comes from keras.random.normal."
    ),
    "mask_then_noise": (
        "Dropped pixels did not stay at 0 when Gaussian noise was added as well. Add the "
        "noise and clip first, then apply the mask, so that a dropped pixel reads exactly 0."
    ),
    "same_noise": (
        "Two calls with the same seed_generator gave the same result. Pass "
        "seed=seed_generator to keras.random: a fixed integer seed gives the same noise on "
        "every call, and NumPy noise inside a model is drawn once, when the model is built. "
        "Either way the network would see the same corruption in every epoch."
    ),
    "shared_noise": (
        "Every image in the batch got the same noise. Draw noise of shape ops.shape(x): "
        "one independent draw for each pixel of each image."
    ),
    "static_shape": (
        "Inside a Keras model the batch size is unknown until data arrives (x.shape[0] is "
        "None) and x is a symbolic tensor that NumPy cannot handle. Take the shape from "
        "ops.shape(x) and draw the noise with keras.random."
    ),
    "ignores_seed_generator": (
        "Two new SeedGenerators with the same seed gave different results, so a run cannot "
        "be repeated. Draw all randomness with keras.random and seed=seed_generator; "
        "np.random and unseeded tf.random ignore the generator."
    ),
    "posterior_no_clipping": (
        "It looks as if every pixel got the Gaussian density, also the ones that read exactly "
        "0 or 1. Those were clipped: the noise pushed them to 0 or below (probability "
        "Phi(-x / sigma)) or to 1 or above (probability 1 - Phi((1 - x) / sigma)), and that "
        "probability is their likelihood."
    ),
    "posterior_lower_tail": (
        "The pixels that read 0 have the wrong likelihood: it looks as if Phi(x / sigma) was "
        "used. A pixel reads 0 when x + sigma * eps <= 0, that is eps <= -x / sigma, which has "
        "probability Phi(-x / sigma) (norm.logcdf(-x / noise_std))."
    ),
    "posterior_upper_tail": (
        "The pixels that read 1 have the wrong likelihood: it looks as if Phi((1 - x) / sigma) "
        "was used, the probability of landing *below* 1. A pixel reads 1 when eps >= "
        "(1 - x) / sigma, which has probability 1 - Phi((1 - x) / sigma) "
        "(norm.logsf((1 - x) / noise_std))."
    ),
    "posterior_std_as_variance": (
        "It looks as if sqrt(noise_std) was used as the noise's standard deviation, as if "
        "noise_std were a variance. noise_std is sigma itself: standardise with "
        "(x_tilde - x) / noise_std and subtract log(noise_std) from the log density."
    ),
    "posterior_naive_exp": (
        "Some probabilities are NaN or wrong because exp over- or underflowed. A log-likelihood "
        "summed over 784 pixels is hundreds or thousands of nats: exp(-800) is exactly 0 in "
        "float64 (giving 0 / 0) and exp(1000) is inf (giving inf / inf). Subtract each row's "
        "largest log-likelihood before exp (this changes no probability), or use "
        "scipy.special.softmax(..., axis=1) or logsumexp."
    ),
    "posterior_not_normalised": (
        "Each row holds likelihoods (up to a common factor), not probabilities: divide each row "
        "by its sum, so that the probabilities of the candidates add up to 1 for every image."
    ),
    "posterior_wrong_axis": (
        "The probabilities were normalised over the images (axis 0) instead of over the "
        "candidates: each *row* (one corrupted image) must sum to 1. Use axis=1."
    ),
    "posterior_uniform_mean": (
        "The means are the plain average of the candidates, the same for every image. The "
        "posterior mean weights candidate k by its posterior probability: "
        "sum over k of probabilities[i, k] * candidates[k]."
    ),
    "posterior_unnormalised_mean": (
        "The means use weights that do not sum to 1 (likelihoods shifted by their maximum, "
        "before dividing by their sum). Weight each candidate by the probabilities you return."
    ),
}


def seed_generator(name: str):
    """A keras.random.SeedGenerator whose seed is fixed by `name`, so checks repeat exactly."""
    import keras

    return keras.random.SeedGenerator(zlib.crc32(name.encode()) % 2**31)


def bright_images(name: str, n_images: int = N_IMAGES, shape=IMAGE_SHAPE) -> np.ndarray:
    """Images with every pixel in [0.1, 1], so a pixel that reads 0 was dropped."""
    return fixed_rng(name).uniform(0.1, 1.0, size=(n_images, *shape)).astype(np.float32)


def grey_images(grey: float, n_images: int = N_IMAGES, shape=IMAGE_SHAPE) -> np.ndarray:
    """Images with every pixel equal to `grey`, far enough from 0 and 1 for noise tests."""
    return np.full((n_images, *shape), grey, np.float32)


def _dtype_name(result) -> str:
    import keras

    try:
        return keras.backend.standardize_dtype(result.dtype)
    except (AttributeError, TypeError, ValueError):
        return type_name(result)


def corrupted(corrupt, x, generator, drop_probability=0.0, noise_std=0.0, as_array=False):
    """Call `corrupt` on the float32 array `x`; return (its result, the result as float64).

    `corrupt` gets x as a tensor, or as the NumPy array itself if `as_array` (the notebook
    calls it both ways). Fails unless the result has the shape of x.
    """
    import keras

    what = f"corrupt(x, seed_generator, drop_probability={drop_probability}, noise_std={noise_std})"
    given = x if as_array else keras.ops.convert_to_tensor(x)
    result = call_student(
        lambda: corrupt(given, generator, drop_probability=drop_probability, noise_std=noise_std),
        what="corrupt",
    )
    values = to_numpy(result, "corrupt")
    if values.shape != x.shape:
        fail(
            f"{what} returned shape {values.shape} for x of shape {x.shape}: the corrupted "
            "images must have the shape of x."
        )
    if not np.all(np.isfinite(values)):  # a NaN would pass every comparison below
        fail(f"{what} returned values that are not finite (inf or NaN): every corrupted pixel "
             "is a number.")  # fmt: skip
    if drop_probability == 0 and np.any(x != 0) and np.all(values == 0):
        fail(
            f"{what} set every pixel to 0, but with drop_probability=0 no pixel should be "
            f"dropped. {HINTS['keeps_with_p']}"
        )
    return result, values


def zero_fraction(values) -> float:
    """The fraction of pixels that read exactly 0."""
    return float(np.mean(np.asarray(values) == 0.0))


def _z(n_tests: int) -> float:
    """The two-sided z bound for one of `n_tests` tests sharing the false-fail rate."""
    return float(stats.norm.isf(CORRUPT_FALSE_FAIL_RATE / n_tests / 2))


def fraction_tolerance(expected: float, n_pixels: int, n_tests: int) -> float:
    """How far a binomial fraction over `n_pixels` may stray from `expected`."""
    return _z(n_tests) * np.sqrt(expected * (1.0 - expected) / n_pixels) + TIE_ALLOWANCE


def _name_mistake(value, mistakes, **tolerance):
    name = diagnose(value, mistakes, rtol=tolerance.get("rtol", 0.0),
                    atol=tolerance.get("atol", 0.0))  # fmt: skip
    return HINTS[name] if name else ""


# ----------------------------------------------------------------------------- shape and dtype


@kernel_side
def corrupting_model(corrupt, drop_probability, noise_std, shape=IMAGE_SHAPE, batch_size=None):
    """A Keras model whose layer owns a SeedGenerator and applies `corrupt` to its input.

    This is how the notebook uses `corrupt`. With `batch_size=None` the batch size is only
    known when data arrives.
    """
    import keras

    class Corrupting(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.seed_generator = keras.random.SeedGenerator(7)

        def call(self, x):
            return corrupt(x, self.seed_generator, drop_probability=drop_probability,
                           noise_std=noise_std)  # fmt: skip

    inputs = keras.Input(shape=shape, batch_size=batch_size)
    with quiet_keras():
        return keras.Model(inputs, Corrupting()(inputs))


def check_shape_at_run_time(corrupt, shape=IMAGE_SHAPE, batch_sizes=(13, 1)):
    """Inside a Keras model, where the batch size is unknown until data arrives."""
    rng = fixed_rng("run-time-shape")
    try:
        model = corrupting_model(corrupt, 0.3, 0.1, shape)
        for batch_size in batch_sizes:
            x = rng.uniform(0.1, 1.0, size=(batch_size, *shape)).astype(np.float32)
            out = predict_quietly(model, x, batch_size)
            if out.shape != x.shape:
                fail(
                    f"inside a model, corrupt returned shape {out.shape} for a batch of shape "
                    f"{x.shape}: the corrupted images must have the shape of x."
                )
    except AssertionError:
        raise
    except Exception as error:  # any failure of the student's code inside the model
        fail(
            f"corrupt failed inside a Keras model ({type(error).__name__}: "
            f"{short_error(error)}). {HINTS['static_shape']}"
        )


def short_error(error: Exception) -> str:
    """The part of an error message that is about the student's code, on one short line.

    Keras wraps an error inside a layer in a long explanation of its own.
    """
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
    text = text.split("Error encountered:")[-1].split("Arguments received by")[0]
    return textwrap.shorten(text, 240).rstrip(" .")


def check_result_shape_and_dtype(corrupt, x, generator, drop_probability, noise_std,
                                 as_array=False):  # fmt: skip
    result, values = corrupted(corrupt, x, generator, drop_probability, noise_std, as_array)
    dtype = _dtype_name(result)
    given = "a float32 NumPy array" if as_array else "float32 images"
    if dtype != "float32":
        fail(
            f"corrupt returned {dtype} for {given}; return float32 (keras.random draws "
            "float32 by default; np.random draws float64)."
        )
    if np.array_equal(values, x):
        fail(
            f"corrupt returned x unchanged with drop_probability={drop_probability} and "
            f"noise_std={noise_std}: it should corrupt it."
        )


def check_corrupt_shape_dtype(corrupt):
    """A float32 result of x's shape, for flat or image batches, NumPy arrays and in a model."""
    # The notebook passes NumPy arrays as well as tensors: the (5, 28, 28) batch is one.
    for i, (shape, as_array) in enumerate(
        (((7, 784), False), ((5, 28, 28), True), ((3, 28, 28, 1), False))
    ):
        x = bright_images(f"shape-{i}", shape[0], shape[1:])
        check_result_shape_and_dtype(corrupt, x, seed_generator(f"shape-{i}"), 0.3, 0.1, as_array)
    check_shape_at_run_time(corrupt)
    passed(
        "corrupt returns float32 images of x's shape, for tensors and NumPy arrays, also when "
        "the batch size is known only at run time."
    )


# ----------------------------------------------------------------------------- range


def check_in_range(values, noise_std):
    low, high = values.min(), values.max()
    if low < 0.0 or high > 1.0:
        fail(
            f"with noise_std={noise_std}, corrupt returned values from {low:.3f} to "
            f"{high:.3f}. {HINTS['no_clipping']}"
        )


def check_corrupt_range(corrupt):
    """Gaussian noise, however strong, leaves the pixels in [0, 1]."""
    x = fixed_rng("range").uniform(0.0, 1.0, size=(N_IMAGES, *IMAGE_SHAPE)).astype(np.float32)
    _, values = corrupted(corrupt, x, seed_generator("range"), 0.0, RANGE_NOISE_STD)
    if np.allclose(values, x):
        fail(f"corrupt added no noise with noise_std={RANGE_NOISE_STD}.")
    check_in_range(values, RANGE_NOISE_STD)
    passed(f"with noise_std={RANGE_NOISE_STD} every pixel stays in [0, 1].")


# ----------------------------------------------------------------------------- masking


def measure_drop_fractions(corrupt) -> list[float]:
    """The fraction of pixels `corrupt` drops at each of `DROP_LEVELS` (noise_std = 0)."""
    x = bright_images("drop-fraction")
    return [
        zero_fraction(corrupted(corrupt, x, seed_generator(f"drop-fraction-{p}"), p)[1])
        for p in DROP_LEVELS
    ]


def compare_drop_fraction(fraction, expected, drop_probability, n_pixels, n_tests, mistakes):
    """Fail, naming a likely mistake, unless `fraction` is within the binomial tolerance."""
    tolerance = fraction_tolerance(expected, n_pixels, n_tests)
    if abs(fraction - expected) <= tolerance:
        return
    hint = _name_mistake(fraction, mistakes, atol=DIAGNOSE_FRACTION_ATOL) or (
        "Drop each pixel independently with probability drop_probability: compare "
        "keras.random.uniform(ops.shape(x), seed=seed_generator) with it."
    )
    fail(
        f"with drop_probability={drop_probability}, corrupt dropped {fraction:.2%} of "
        f"{n_pixels:,} pixels; expected {expected:.2%} (within {tolerance:.2%}). {hint}"
    )


def check_corrupt_drop_fraction(corrupt):
    """Each pixel is dropped with probability drop_probability."""
    reference = expected_values("nb03")["drop_fraction"]
    n_pixels = N_IMAGES * int(np.prod(IMAGE_SHAPE))
    fractions = measure_drop_fractions(corrupt)
    for i, (p, fraction) in enumerate(zip(DROP_LEVELS, fractions)):
        mistakes = {
            hint: values[i] if values is not None else None
            for hint, values in reference["mistakes"].items()
        }
        compare_drop_fraction(fraction, reference["expected"][i], p, n_pixels,
                              len(DROP_LEVELS), mistakes)  # fmt: skip
    passed(
        "corrupt drops the right fraction of pixels at drop_probability = "
        + ", ".join(str(p) for p in DROP_LEVELS)
        + "."
    )


def kept_ratio(values, x) -> float:
    """The median of corrupted / original over the pixels that were not dropped."""
    kept = values != 0.0
    return float(np.median(values[kept] / x[kept])) if kept.any() else float("nan")


def measure_kept_ratio(corrupt) -> float:
    x = bright_images("drop-values")
    _, values = corrupted(corrupt, x, seed_generator("drop-values"), DROP_VALUES_LEVEL)
    return kept_ratio(values, x)


def check_dropped_and_kept(values, x, drop_probability, mistakes):
    """Every pixel is exactly 0 or exactly its input value; some pixels are of each kind."""
    dropped = values == 0.0
    if not 0.05 < dropped.mean() < 0.95:
        fail(
            f"with drop_probability={drop_probability}, corrupt set {dropped.mean():.1%} of "
            "the pixels to 0; this check needs some pixels dropped and some kept."
        )
    kept = ~dropped
    if np.allclose(values[kept], x[kept], rtol=KEPT_RTOL, atol=0.0):
        return
    ratio = kept_ratio(values, x)
    hint = _name_mistake(ratio, mistakes, rtol=0.01) or (
        "A kept pixel must keep its value, and a dropped one must read exactly 0."
    )
    fail(
        f"with drop_probability={drop_probability} and noise_std=0, pixels that were not "
        f"dropped changed: their median ratio to the input is {ratio:.3f}, not 1. {hint}"
    )


def check_corrupt_drop_values(corrupt):
    """A dropped pixel reads exactly 0; a kept pixel keeps its value (no rescaling)."""
    reference = expected_values("nb03")["drop_values"]
    x = bright_images("drop-values")
    _, values = corrupted(corrupt, x, seed_generator("drop-values"), DROP_VALUES_LEVEL)
    check_dropped_and_kept(values, x, DROP_VALUES_LEVEL, reference["mistakes"])
    passed("dropped pixels read exactly 0 and kept pixels keep their values.")


# ----------------------------------------------------------------------------- Gaussian noise


def measure_noise(corrupt, grey=NOISE["grey"], noise_std=NOISE["noise_std"], name="noise"):
    """The noise `corrupt` adds to grey images: (mean, standard deviation, number of pixels)."""
    x = grey_images(grey)
    _, values = corrupted(corrupt, x, seed_generator(name), 0.0, noise_std)
    residual = values - x
    return float(residual.mean()), float(residual.std(ddof=1)), residual.size


def compare_noise(mean, std, n, expected_mean, expected_std, noise_std, mistakes):
    """Fail unless mean and spread match N(expected_mean, expected_std**2) within tolerance.

    A z-test on the mean and a chi-square test on the variance share the false-fail rate.
    """
    if std == 0.0:
        fail(f"corrupt added no noise with noise_std={noise_std}.")
    z = _z(2)
    alpha = CORRUPT_FALSE_FAIL_RATE / 2
    low, high = stats.chi2.ppf([alpha / 2, 1 - alpha / 2], df=n - 1) / (n - 1)
    mean_ok = abs(mean - expected_mean) <= z * expected_std / np.sqrt(n)
    ratio = std**2 / expected_std**2
    if mean_ok and low <= ratio <= high:
        return
    hint = _name_mistake(std, mistakes, rtol=DIAGNOSE_STD_RTOL) or (
        "Add keras.random.normal(ops.shape(x), stddev=noise_std, seed=seed_generator) to x."
    )
    fail(
        f"with noise_std={noise_std} on {n:,} mid-grey pixels, the added noise has mean "
        f"{mean:.5f} and standard deviation {std:.5f}; expected {expected_mean:.5f} and "
        f"{expected_std:.5f}. {hint}"
    )


def check_corrupt_noise_statistics(corrupt):
    """The Gaussian noise has mean 0 and standard deviation noise_std."""
    reference = expected_values("nb03")["noise"]
    mean, std, n = measure_noise(corrupt)
    compare_noise(mean, std, n, reference["mean"], reference["std"], NOISE["noise_std"],
                  reference["mistakes"])  # fmt: skip
    passed(f"the noise has mean 0 and standard deviation {NOISE['noise_std']} (over {n:,} pixels).")


# ----------------------------------------------------------------------------- both at once


def measure_combined(corrupt, grey=COMBINED["grey"], drop_probability=COMBINED["drop_probability"],
                     noise_std=COMBINED["noise_std"], name="combined"):  # fmt: skip
    """The fraction of pixels that read 0 when both corruptions are applied to grey images."""
    x = grey_images(grey)
    _, values = corrupted(corrupt, x, seed_generator(name), drop_probability, noise_std)
    return zero_fraction(values), values.size


def check_corrupt_combined(corrupt):
    """With both corruptions, a dropped pixel still reads exactly 0 (noise first, then mask)."""
    reference = expected_values("nb03")["combined"]
    fraction, n = measure_combined(corrupt)
    tolerance = fraction_tolerance(reference["expected"], n, 1)
    if abs(fraction - reference["expected"]) > tolerance:
        hint = _name_mistake(fraction, reference["mistakes"], atol=DIAGNOSE_FRACTION_ATOL)
        fail(
            f"with drop_probability={COMBINED['drop_probability']} and "
            f"noise_std={COMBINED['noise_std']} on mid-grey images, {fraction:.2%} of the "
            f"pixels read 0; expected {reference['expected']:.2%} (within {tolerance:.2%}). "
            + (hint or "Add the noise and clip, then drop pixels by setting them to 0.")
        )
    passed("with both corruptions, dropped pixels read exactly 0.")


# ----------------------------------------------------------------------------- randomness


def check_fresh(first, second, what):
    if np.array_equal(first, second):
        fail(f"corrupt, {what}: {HINTS['same_noise']}")
    if all(np.array_equal(row, first[0]) for row in first[1:]):
        fail(f"corrupt, {what}: {HINTS['shared_noise']}")


def check_corrupt_fresh_noise(corrupt):
    """Each call, and each image of a batch, gets its own noise."""
    x = np.repeat(bright_images("fresh", 1), 6, axis=0)
    for drop_probability, noise_std, what in ((0.5, 0.0, "masking"), (0.0, 0.1, "Gaussian noise")):
        generator = seed_generator(f"fresh-{what}")
        _, first = corrupted(corrupt, x, generator, drop_probability, noise_std)
        _, second = corrupted(corrupt, x, generator, drop_probability, noise_std)
        check_fresh(first, second, what)
    passed("every call, and every image in a batch, gets fresh masking and Gaussian noise.")


def check_repeatable(corrupt, x, seed, drop_probability, noise_std):
    """Two SeedGenerators made with `seed` give the same two successive corruptions."""
    import keras

    runs = []
    for _ in range(2):
        generator = keras.random.SeedGenerator(seed)
        runs.append([corrupted(corrupt, x, generator, drop_probability, noise_std)[1]
                     for _ in range(2)])  # fmt: skip
    if np.array_equal(runs[0][0], x):
        fail(
            f"corrupt returned x unchanged with drop_probability={drop_probability} and "
            f"noise_std={noise_std}: it should corrupt it."
        )
    for call in range(2):
        if not np.array_equal(runs[0][call], runs[1][call]):
            fail(f"corrupt: {HINTS['ignores_seed_generator']}")


def check_corrupt_seeded(corrupt):
    """Two SeedGenerators with the same seed give the same corruptions."""
    x = bright_images("seeded", 4)
    for seed in (0, 1234):
        check_repeatable(corrupt, x, seed, 0.5, 0.1)
    passed("two SeedGenerators with the same seed give the same corruptions: runs repeat.")


# ----------------------------------------------------------------------------- the posterior

# On these fixtures float32 arithmetic (log-likelihoods of about -1,000 nats summed in
# float32) moves a probability by up to 6e-5, and every known mistake moves one by more
# than 0.05: a probability may be off by this much.
POSTERIOR_ATOL = 5e-4
# Rows sum to 1 up to round-off (float32: about 1e-7 per term).
SUM_ATOL = 1e-5
# The means are probability-weighted averages of images in [0, 1]; float32 round-off is
# about 1e-7 there, every known mistake is off by more than 0.01 on some pixel.
MEAN_ATOL = 1e-4

# Each visible fixture: how its inputs are made (see `posterior_inputs`). The noise levels
# put some image's log-likelihoods outside exp's range (all below -745 nats, where exp is
# 0; at noise_std = 0.05 above +709, where it overflows), and stay away from 1, where a
# standard deviation used as a variance would not show.
POSTERIOR_FIXTURES = {
    "shape_two": {"kind": "world", "n_candidates": 2, "n_images": 5, "noise_std": 2.5},
    "shape_three": {"kind": "world", "n_candidates": 3, "n_images": 4, "noise_std": 2.5},
    "unclipped": {"kind": "unclipped", "n_candidates": 2, "n_images": 8, "noise_std": 2.0},
    "clipped": {"kind": "clipped", "n_candidates": 2, "n_images": 8, "noise_std": 1.5},
    "stable": {"kind": "stable", "n_candidates": 3, "n_images": 6, "noise_std": 0.05},
    "average": {"kind": "world", "n_candidates": 3, "n_images": 6, "noise_std": 2.5},
    "world": {"kind": "world", "n_candidates": 3, "n_images": 8, "noise_std": 2.5},
}
POSTERIOR_WHERE = {
    "unclipped": "corrupted images with no clipped pixel (every pixel strictly between 0 and 1)",
    "clipped": "corrupted images whose every pixel was clipped (each reads 0 or 1)",
    "stable": (
        "images with so little noise that each log-likelihood is near a thousand nats, "
        "two candidates a close call"
    ),
    "world": "corruptions of the candidates, as in the notebook",
}
POSTERIOR_GENERIC_HINTS = {
    "unclipped": (
        "A pixel strictly between 0 and 1 was not clipped: its likelihood is the Gaussian "
        "density phi((x_tilde - x) / sigma) / sigma."
    ),
    "clipped": (
        "A pixel that reads exactly 0 was pushed to 0 or below, with probability "
        "Phi(-x / sigma); one that reads 1 was pushed to 1 or above, with probability "
        "1 - Phi((1 - x) / sigma). Sum the logs over the pixels."
    ),
    "stable": (
        "Each log-likelihood here is near a thousand nats, so exp of it overflows, yet two "
        "candidates can differ by only a few nats: compute the probabilities from differences "
        "of log-likelihoods (subtract the largest before exp), never from exp of a "
        "log-likelihood itself."
    ),
    "world": (
        "Each candidate's log-likelihood is the sum over pixels of the three cases; the "
        "probabilities are their softmax over the candidates."
    ),
}


def garment_candidates(rng, n_candidates, changed=0.3, background=0.2, shape=IMAGE_SHAPE):
    """(K, 28, 28) float32 candidates that share most pixels, like garments of one outline.

    A random image (pixels uniform in [0, 1], a `background` share of them exactly 0, as on
    Fashion-MNIST's black background); each candidate redraws a `changed` share of them.
    """
    base = rng.uniform(0.0, 1.0, shape)
    base[rng.random(shape) < background] = 0.0
    candidates = np.repeat(base[None], n_candidates, axis=0)
    redrawn = rng.random(candidates.shape) < changed
    candidates[redrawn] = rng.uniform(0.0, 1.0, int(redrawn.sum()))
    return candidates.astype(np.float32)


def corrupted_candidates(rng, candidates, n_images, noise_std):
    """Clipped Gaussian corruptions, float32: image i is a corruption of candidate i % K."""
    clean = candidates[np.arange(n_images) % len(candidates)].astype(np.float64)
    noisy = clean + noise_std * rng.standard_normal(clean.shape)
    return np.clip(noisy, 0.0, 1.0).astype(np.float32)


def posterior_inputs(rng, kind, n_candidates, n_images, noise_std):
    """(x_tilde, candidates) of one kind of fixture, float32.

    world: corruptions of garment-like candidates. unclipped: pixels uniform in
    [0.02, 0.98], none clipped. clipped: every pixel 0 or 1. stable: candidates with every
    pixel in [0.2, 0.8], corrupted by little noise; the second is the first with four pixels
    moved by noise_std, so the images of those two are close calls (their log-likelihoods
    differ by a few nats, while each is near a thousand nats and exp of it overflows).
    """
    if kind == "stable":
        candidates = rng.uniform(0.2, 0.8, (n_candidates, *IMAGE_SHAPE))
        if n_candidates >= 2:
            candidates[1] = candidates[0]
            moved = rng.choice(candidates[1].size, 4, replace=False)
            candidates[1].reshape(-1)[moved] += noise_std * rng.choice([-1.0, 1.0], 4)
        candidates = candidates.astype(np.float32)
        return corrupted_candidates(rng, candidates, n_images, noise_std), candidates
    candidates = garment_candidates(rng, n_candidates)
    if kind == "world":
        return corrupted_candidates(rng, candidates, n_images, noise_std), candidates
    shape = (n_images, *IMAGE_SHAPE)
    if kind == "unclipped":
        return rng.uniform(0.02, 0.98, shape).astype(np.float32), candidates
    if kind == "clipped":
        return (rng.random(shape) < 0.5).astype(np.float32), candidates
    raise ValueError(f"no fixture of kind {kind!r}")


def posterior_fixture(name: str):
    """The fixed inputs `(x_tilde, candidates, noise_std)` of the visible check `name`."""
    spec = POSTERIOR_FIXTURES[name]
    x_tilde, candidates = posterior_inputs(
        fixed_rng(f"posterior-{name}"), spec["kind"], spec["n_candidates"], spec["n_images"],
        spec["noise_std"],
    )  # fmt: skip
    return x_tilde, candidates, spec["noise_std"]


def posterior_result(posterior_mean, x_tilde, candidates, noise_std, what="posterior_mean"):
    """Call the student's function; return (probabilities, means) as float64 arrays.

    Fails unless it returns a pair of finite arrays of shapes (n, K) and x_tilde's shape.
    """
    expected = (len(x_tilde), len(candidates))
    result = call_student(posterior_mean, x_tilde.copy(), candidates.copy(), noise_std,
                          what=what)  # fmt: skip
    probabilities, means = returned_pair(result, what, ("probabilities", "means"))
    probabilities, means = to_numpy(probabilities, what), to_numpy(means, what)
    call = f"{what} for {expected[0]} images and {expected[1]} candidates"
    if probabilities.shape != expected:
        fail(
            f"{call} returned probabilities of shape {probabilities.shape}; expected "
            f"{expected}: one row per image, one column per candidate."
        )
    if means.shape != x_tilde.shape:
        fail(
            f"{call} returned means of shape {means.shape}; expected {x_tilde.shape}, one "
            "image E[x | x_tilde] per corrupted image."
        )
    if not np.all(np.isfinite(probabilities)) or not np.all(np.isfinite(means)):
        fail(f"{call} returned values that are not finite (NaN or inf). "
             f"{HINTS['posterior_naive_exp']}")  # fmt: skip
    return (probabilities, means)


def check_normalised(probabilities, where):
    """Every probability in [0, 1], and every row (one image) sums to 1."""
    sums = probabilities.sum(axis=1)
    if np.all(np.abs(sums - 1.0) <= SUM_ATOL) and probabilities.min() >= -SUM_ATOL:
        return
    if np.all(np.abs(probabilities.sum(axis=0) - 1.0) <= SUM_ATOL):
        hint = HINTS["posterior_wrong_axis"]
    elif np.all(np.abs(probabilities.max(axis=1) - 1.0) <= SUM_ATOL) or sums.max() < 1.0:
        hint = HINTS["posterior_not_normalised"]
    else:
        hint = "p(candidate k | x_tilde) is a distribution over k: each row must sum to 1."
    fail(
        f"{where}, the rows of probabilities sum to {np.round(sums, 4)}, not 1 (smallest "
        f"entry {probabilities.min():.3g}). {hint}"
    )


def compare_probabilities(probabilities, expected, mistakes, name, reveal=True):
    """Fail, naming a likely mistake, unless `probabilities` match the exact `expected`.

    name: the kind of fixture (a key of POSTERIOR_WHERE). Hidden checks pass reveal=False,
    so that the message shows no value of the exact posterior.
    """
    expected = np.asarray(expected, np.float64)
    error = np.abs(probabilities - expected)
    if np.all(error <= POSTERIOR_ATOL):
        return
    mistake = diagnose(probabilities, mistakes, rtol=0.0, atol=POSTERIOR_ATOL)
    hint = HINTS[mistake] if mistake else POSTERIOR_GENERIC_HINTS[name]
    detail = ""
    if reveal:
        row = int(np.argmax(error.max(axis=1)))
        detail = (f" For image {row} you give {np.round(probabilities[row], 4)}, the exact "
                  f"posterior is {np.round(expected[row], 4)}.")  # fmt: skip
    fail(
        f"posterior_mean: on {POSTERIOR_WHERE[name]}, the probabilities are off by up to "
        f"{error.max():.3g} (allowed: {POSTERIOR_ATOL:g}).{detail} {hint}"
    )


def check_weighted_average(probabilities, means, candidates, where):
    """means[i] = sum_k probabilities[i, k] candidates[k], with the probabilities returned."""
    clean = np.asarray(candidates, np.float64).reshape(len(candidates), -1)
    flat = means.reshape(len(means), -1)
    expected = probabilities @ clean
    if np.all(np.abs(flat - expected) <= MEAN_ATOL):
        return
    # Which weights the student's means use: least squares against the candidates.
    weights = np.linalg.lstsq(clean.T, flat.T, rcond=None)[0].T
    uniform = np.full(len(candidates), 1.0 / len(candidates))
    if np.allclose(flat, uniform @ clean, atol=MEAN_ATOL):
        hint = HINTS["posterior_uniform_mean"]
    elif not np.allclose(weights.sum(axis=1), 1.0, atol=1e-3):
        hint = HINTS["posterior_unnormalised_mean"]
    else:
        hint = ("E[x | x_tilde] = sum over k of p(candidate k | x_tilde) * candidates[k], with "
                "the probabilities you return.")  # fmt: skip
    fail(
        f"posterior_mean {where}: the means differ from the probability-weighted average of "
        f"the candidates by up to {np.abs(flat - expected).max():.3g} (allowed: "
        f"{MEAN_ATOL:g}). {hint}"
    )


def check_posterior_shape(posterior_mean):
    """A pair of finite arrays of the right shapes, for 2 and 3 candidates; rows sum to 1."""
    for name in ("shape_two", "shape_three"):
        x_tilde, candidates, noise_std = posterior_fixture(name)
        probabilities, _ = posterior_result(posterior_mean, x_tilde, candidates, noise_std)
        check_normalised(probabilities, f"for {len(candidates)} candidates")
    passed(
        "posterior_mean returns probabilities (n, K) whose rows sum to 1 and means of "
        "x_tilde's shape, for 2 and 3 candidates."
    )


def _check_posterior_values(posterior_mean, name):
    reference = expected_values("nb03")["posterior"][name]
    probabilities, _ = posterior_result(posterior_mean, *posterior_fixture(name))
    compare_probabilities(probabilities, reference["expected"], reference["mistakes"],
                          POSTERIOR_FIXTURES[name]["kind"])  # fmt: skip


def check_posterior_unclipped(posterior_mean):
    """The Gaussian density where no pixel is clipped."""
    _check_posterior_values(posterior_mean, "unclipped")
    passed("on unclipped pixels the probabilities match the exact posterior.")


def check_posterior_clipped(posterior_mean):
    """The two tail probabilities where every pixel is clipped to 0 or 1."""
    _check_posterior_values(posterior_mean, "clipped")
    passed("on pixels clipped to 0 or 1 the probabilities match the exact posterior.")


def check_posterior_stable(posterior_mean):
    """Log-likelihoods beyond the range of exp, with close calls among them: no NaN, right
    probabilities."""
    _check_posterior_values(posterior_mean, "stable")
    passed(
        "with log-likelihoods near a thousand nats the probabilities are right, close calls "
        "included, without NaN."
    )


def check_posterior_average(posterior_mean):
    """The means are the probability-weighted averages of the candidates (3 candidates)."""
    x_tilde, candidates, noise_std = posterior_fixture("average")
    probabilities, means = posterior_result(posterior_mean, x_tilde, candidates, noise_std)
    check_weighted_average(probabilities, means, candidates, "for 3 candidates")
    passed("each mean is the average of the candidates weighted by their probabilities.")


def check_posterior_world(posterior_mean):
    """Corruptions of the candidates, with clipped and unclipped pixels, as in the notebook."""
    _check_posterior_values(posterior_mean, "world")
    passed("on corrupted candidates the probabilities match the exact posterior.")
