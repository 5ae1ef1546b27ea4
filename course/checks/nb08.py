"""Visible checks for notebook 08: `vlb_binomial` and `sampling`.

Each `check_*` function is one graded property; the notebook calls it from its own test
cell, so a mistake costs the points of the property it breaks and no more.
"""

from __future__ import annotations

import warnings
import zlib

import numpy as np
from scipy import stats

from course.checks.core import (
    call_student,
    diagnose,
    expected_values,
    fail,
    passed,
    to_numpy,
)

N_PIXELS = 784

# Clipping epsilons from 1e-10 to 1e-5, float32 sums over 784 pixels and either order of
# summing and averaging move the bound by less than 2e-4 relative on these fixtures (decoder
# means lie in [0.1, 0.9] wherever they are not exactly 0 or 1): 1e-3 leaves a wide margin,
# while every known mistake moves the value by several percent.
VLB_RTOL = 1e-3
VLB_ATOL = 0.05

# The sampling checks together wrongly fail a correct `sampling` at most once in a million
# runs: each statistic's two-sided test gets an equal share of this false-fail rate.
SAMPLING_FALSE_FAIL_RATE = 1e-6
SAMPLING_N = 10_000

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
    "variance_as_std": (
        "The spread of the samples is wrong: the standard deviation is exp(0.5 * t_log_var); "
        "exp(t_log_var) is the variance."
    ),
    "ignores_variance": (
        "The samples have variance 1 whatever t_log_var says: scale the noise by the "
        "standard deviation exp(0.5 * t_log_var)."
    ),
    "log_var_as_std": (
        "The samples' standard deviation matches |t_log_var|: t_log_var is the log of the "
        "variance, so the standard deviation is exp(0.5 * t_log_var)."
    ),
    "same_noise": (
        "Two calls with the same inputs gave the same sample. Draw fresh noise on each call: "
        "keras.random.normal(shape, seed=seed_generator) with a keras.random.SeedGenerator, "
        "not a fixed integer seed."
    ),
    "shared_noise": (
        "Rows with the same mean and variance got the same sample: draw noise of shape "
        "ops.shape(t_mean), one independent draw per example and latent dimension."
    ),
    "static_batch": (
        "Inside a Keras model the batch size is only known at run time (t_mean.shape[0] is "
        "None). Take the noise's shape from ops.shape(t_mean) instead."
    ),
    "no_gradient": (
        "Is it used at all? If so, a NumPy function applied to it (np.exp, np.asarray, ...) "
        "cuts the computation graph: use keras.ops so that backpropagation reaches it."
    ),
}


def _rng(name: str, seed: int | None = None) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()) if seed is None else seed)


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
    return make_vlb_inputs(_rng(f"vlb-{name}"), **VLB_FIXTURES[name])


def _as_tensors(arrays):
    import keras

    return [keras.ops.convert_to_tensor(a) for a in arrays]


def vlb_value(vlb_binomial, inputs, what="vlb_binomial"):
    """Call `vlb_binomial` on `inputs`, insisting on one finite number; return it."""
    result = to_numpy(call_student(vlb_binomial, *_as_tensors(inputs), what=what), what)
    if result.size != 1:
        hint = HINTS["per_example"] if result.size == len(inputs[0]) else ""
        fail(f"{what} returned an array of shape {result.shape}, expected a single number. {hint}")
    value = float(result.reshape(()))
    if not np.isfinite(value):
        fail(f"{what} returned {value}. {HINTS['log_of_zero']}")
    return value


def compare_vlb(value, expected, mistakes, where):
    """Fail with a diagnosis unless `value` matches `expected` within the tolerance."""
    if abs(value - expected) <= VLB_ATOL + VLB_RTOL * abs(expected):
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


# ----------------------------------------------------------------------------- sampling


def sample(sampling, t_mean, t_log_var, what="sampling"):
    """Call `sampling([t_mean, t_log_var])` on float32 arrays; return a float64 array."""
    result = call_student(sampling, _as_tensors([t_mean, t_log_var]), what=what)
    values = to_numpy(result, what)
    if values.shape != t_mean.shape:
        fail(
            f"{what} returned shape {values.shape} for t_mean of shape {t_mean.shape}; "
            "a sample has the shape of t_mean: (batch_size, latent_dim)."
        )
    return values


def sampling_model(sampling, latent_dim, batch_size=None):
    """A Keras model that applies `sampling` to its two inputs, as the notebook's VAE does.

    With `batch_size=None` the batch size is only known when data arrives.
    """
    import keras

    t_mean = keras.Input(shape=(latent_dim,), batch_size=batch_size)
    t_log_var = keras.Input(shape=(latent_dim,), batch_size=batch_size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = keras.layers.Lambda(sampling)([t_mean, t_log_var])
    return keras.Model([t_mean, t_log_var], t)


def predict_quietly(model, inputs, batch_size):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.predict(inputs, batch_size=batch_size, verbose=0)


def check_sampling_shape_at_run_time(sampling, latent_dim=3, batch_sizes=(13, 1)):
    """Inside a Keras model, where the batch size is unknown until data arrives."""
    rng = _rng("sampling-run-time")
    try:
        model = sampling_model(sampling, latent_dim)
        for batch_size in batch_sizes:
            inputs = [
                rng.normal(size=(batch_size, latent_dim)).astype(np.float32) for _ in range(2)
            ]
            out = predict_quietly(model, inputs, batch_size)
            if out.shape != (batch_size, latent_dim):
                fail(
                    f"inside a model, sampling returned shape {out.shape} for a batch of "
                    f"{batch_size}; expected {(batch_size, latent_dim)}."
                )
    except AssertionError:
        raise
    except Exception as error:  # any failure of the student's code inside the model
        fail(
            f"sampling failed inside a Keras model ({type(error).__name__}: {error}). "
            f"{HINTS['static_batch']}"
        )


def check_sampling_shape(sampling):
    """The sample has the shape of t_mean, eagerly and inside a model."""
    rng = _rng("sampling-shape")
    for batch_size, latent_dim in ((7, 3), (1, 2)):
        t_mean = rng.normal(size=(batch_size, latent_dim)).astype(np.float32)
        t_log_var = rng.normal(size=(batch_size, latent_dim)).astype(np.float32)
        sample(sampling, t_mean, t_log_var)
    check_sampling_shape_at_run_time(sampling)
    passed(
        "sampling returns the shape of t_mean, also when the batch size is known only at run time."
    )


def _thresholds(n_tests, n):
    """z bound for sample means and chi-square bounds for sample variances."""
    alpha = SAMPLING_FALSE_FAIL_RATE / n_tests
    z = stats.norm.isf(alpha / 2)
    low, high = stats.chi2.ppf([alpha / 2, 1 - alpha / 2], df=n - 1) / (n - 1)
    return z, low, high


def check_statistics(samples, mean, log_var, what="sampling"):
    """Each column of `samples` must look like draws from N(mean, exp(log_var)).

    samples: (n, latent_dim); mean, log_var: (latent_dim,). Two tests per column
    (mean and variance), together wrong at most `SAMPLING_FALSE_FAIL_RATE` of the time.
    """
    n, latent_dim = samples.shape
    z, low, high = _thresholds(2 * latent_dim, n)
    variance = np.exp(log_var)
    sample_mean = samples.mean(axis=0)
    sample_var = samples.var(axis=0, ddof=1)
    if np.allclose(sample_var, 0.0):
        fail(f"{what}: {HINTS['shared_noise']}")
    bad_mean = np.abs(sample_mean - mean) > z * np.sqrt(variance / n)
    ratio = sample_var / variance
    bad_var = (ratio < low) | (ratio > high)
    if not (bad_mean.any() or bad_var.any()):
        return
    detail = (f"sample means {np.round(sample_mean, 3)} for means {np.round(mean, 3)}; "
              f"sample variances {np.round(sample_var, 3)} for variances "
              f"{np.round(variance, 3)} (over {n} samples)")  # fmt: skip
    guesses = {
        "variance_as_std": variance**2,
        "ignores_variance": np.ones_like(variance),
        "log_var_as_std": log_var**2,
    }
    hint = next(
        (HINTS[k] for k, v in guesses.items() if np.allclose(sample_var, v, rtol=0.1, atol=0.01)),
        "Is it t_mean + exp(0.5 * t_log_var) * epsilon with epsilon ~ N(0, I)?",
    )
    fail(f"{what}: the samples do not follow N(t_mean, exp(t_log_var)): {detail}. {hint}")


def check_sampling_statistics(sampling):
    """Mean and variance of 10,000 samples match N(t_mean, exp(t_log_var))."""
    mean = np.array([0.5, -1.0, 2.0], np.float32)
    log_var = np.array([0.3, -1.0, 1.5], np.float32)  # no 0: each mistake has its own spread
    t_mean = np.tile(mean, (SAMPLING_N, 1))
    t_log_var = np.tile(log_var, (SAMPLING_N, 1))
    check_statistics(sample(sampling, t_mean, t_log_var), mean, log_var)
    passed(f"the mean and variance of {SAMPLING_N:,} samples match N(t_mean, exp(t_log_var)).")


def check_sampling_fresh_noise(sampling):
    """Every call, and every row, draws its own noise."""
    t_mean = np.zeros((5, 3), np.float32)
    t_log_var = np.zeros((5, 3), np.float32)
    first = sample(sampling, t_mean, t_log_var)
    second = sample(sampling, t_mean, t_log_var)
    if np.allclose(first, second):
        fail(f"sampling: {HINTS['same_noise']}")
    if np.allclose(first, first[:1]):
        fail(f"sampling: {HINTS['shared_noise']}")
    passed("each call and each row of the batch draws fresh noise.")


def sampling_gradients(sampling, t_mean, t_log_var, weights):
    """Gradients of sum(weights * sampling([t_mean, t_log_var])) and the sample itself."""
    import tensorflow as tf

    mean_var = tf.Variable(t_mean)
    log_var_var = tf.Variable(t_log_var)
    with tf.GradientTape() as tape:
        t = call_student(sampling, [mean_var, log_var_var], what="sampling")
        objective = tf.reduce_sum(tf.convert_to_tensor(weights) * tf.cast(t, tf.float32))
    grad_mean, grad_log_var = tape.gradient(objective, [mean_var, log_var_var])
    return to_numpy(t, "sampling"), grad_mean, grad_log_var


def compare_gradients(t, grad_mean, grad_log_var, t_mean, weights):
    """With t = mean + exp(log_var / 2) * eps: dt/dmean = 1 and dt/dlog_var = (t - mean) / 2."""
    if grad_mean is None or grad_log_var is None:
        missing = "t_mean" if grad_mean is None else "t_log_var"
        fail(f"sampling: no gradient flows to {missing}. {HINTS['no_gradient']}")
    grad_mean = np.asarray(grad_mean, np.float64)
    grad_log_var = np.asarray(grad_log_var, np.float64)
    if not np.allclose(grad_mean, weights, rtol=1e-4, atol=1e-5):
        fail(
            "sampling: the gradient with respect to t_mean should be 1 per element "
            "(t = t_mean + ...); it is not. Is t_mean added to the scaled noise unchanged?"
        )
    if np.allclose(grad_log_var, 0.0):
        fail(
            f"sampling: the gradient with respect to t_log_var is zero. {HINTS['ignores_variance']}"
        )
    expected = 0.5 * weights * (t - t_mean)
    if not np.allclose(grad_log_var, expected, rtol=1e-3, atol=1e-5):
        fail(
            "sampling: the gradient with respect to t_log_var is not 0.5 * (t - t_mean), "
            "as it is for t = t_mean + exp(0.5 * t_log_var) * epsilon. Check how the "
            "standard deviation is computed from t_log_var."
        )


def check_sampling_gradients(sampling):
    """Gradients flow to t_mean and t_log_var, and have the values the trick implies."""
    rng = _rng("sampling-gradients")
    t_mean = rng.normal(size=(6, 4)).astype(np.float32)
    t_log_var = rng.uniform(-2, 1, size=(6, 4)).astype(np.float32)
    weights = rng.normal(size=(6, 4)).astype(np.float32)
    t, grad_mean, grad_log_var = sampling_gradients(sampling, t_mean, t_log_var, weights)
    compare_gradients(t, grad_mean, grad_log_var, t_mean, weights)
    passed("gradients flow to both t_mean and t_log_var, with the right values.")
