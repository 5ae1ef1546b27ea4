"""Visible checks for `sampling(args)`, the reparameterized sample graded in notebook 08.

The checks, hints and known mistakes of `sampling` live in modules of their own so that any
notebook that grades the same contract can share them (notebook 06 did, until it graded the
score-function estimator instead). Each `check_sampling_*` is one graded property; notebook
08 reaches them through `course.checks.nb08`, which re-exports them.
"""

from __future__ import annotations

import re

import numpy as np
from scipy import stats

from course.checks.core import (
    call_student,
    fail,
    fixed_rng,
    kernel_side,
    passed,
    predict_quietly,
    quiet_keras,
    to_numpy,
)

# The statistics cell wrongly fails a correct `sampling` at most once in a million runs. It
# calls `check_statistics` twice (visible and hidden checks), so each call gets half of this
# rate, split equally between its tests (Bonferroni): one per mean, one per variance and one
# per pair of latent dimensions. Each test is exact for Gaussian samples.
SAMPLING_FALSE_FAIL_RATE = 1e-6
STATISTICS_CALLS_PER_CELL = 2
SAMPLING_N = 10_000

HINTS = {
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
        "keras.random.normal(shape, seed=seed_generator) with one keras.random.SeedGenerator "
        "created once, outside the function, not a fixed integer seed."
    ),
    "shared_noise": (
        "Rows with the same mean and variance got the same sample: draw noise of shape "
        "ops.shape(t_mean), one independent draw per example and latent dimension."
    ),
    "noise_per_dimension": (
        "The latent dimensions of a sample are not independent: draw noise of shape "
        "ops.shape(t_mean): one independent draw per example AND per latent dimension."
    ),
    "static_batch": (
        "Inside a Keras model the batch size is only known at run time (t_mean.shape[0] is "
        "None). Take the noise's shape from ops.shape(t_mean) instead."
    ),
    "runs_in_model": (
        "sampling must also run inside a Keras model, on symbolic tensors whose values arrive "
        "later: use keras.ops and keras.random only, and create the SeedGenerator once, "
        "outside the function."
    ),
    "no_gradient": (
        "Is it used at all? If so, a NumPy function applied to it (np.exp, np.asarray, ...) "
        "cuts the computation graph: use keras.ops so that backpropagation reaches it."
    ),
}


def as_tensors(arrays):
    """NumPy arrays -> Keras tensors, as a model would hand them to a student's function."""
    import keras

    return [keras.ops.convert_to_tensor(a) for a in arrays]


def sample(sampling, t_mean, t_log_var, what="sampling"):
    """Call `sampling([t_mean, t_log_var])` on float32 arrays; return a float64 array."""
    result = call_student(sampling, as_tensors([t_mean, t_log_var]), what=what)
    values = to_numpy(result, what)
    if values.shape != t_mean.shape:
        fail(
            f"{what} returned shape {values.shape} for t_mean of shape {t_mean.shape}; "
            "a sample has the shape of t_mean: (batch_size, latent_dim)."
        )
    if not np.all(np.isfinite(values)):  # a NaN would pass every statistical test
        fail(f"{what} returned values that are not finite (inf or NaN) for finite t_mean and "
             "t_log_var.")  # fmt: skip
    return values


@kernel_side
def sampling_model(sampling, latent_dim, batch_size=None):
    """A Keras model that applies `sampling` to its two inputs, as a VAE does.

    With `batch_size=None` the batch size is only known when data arrives.
    """
    import keras

    t_mean = keras.Input(shape=(latent_dim,), batch_size=batch_size)
    t_log_var = keras.Input(shape=(latent_dim,), batch_size=batch_size)
    with quiet_keras():
        t = keras.layers.Lambda(sampling)([t_mean, t_log_var])
    return keras.Model([t_mean, t_log_var], t)


def short_error(error: Exception) -> str:
    """`Type: message`, keeping only the highlighted part of a Keras layer's long message."""
    message = str(error)
    highlighted = re.search(r"\x1b\[1m(.*?)\x1b\[0m", message, flags=re.DOTALL)
    if highlighted:
        message = highlighted.group(1)
    return f"{type(error).__name__}: {message.strip()}"


@kernel_side
def model_failure_hint(sampling, latent_dim, batch_size):
    """Why `sampling` failed inside a model with a run-time batch size: a hint.

    If it runs once the batch size is fixed, the static batch size was the problem;
    otherwise the function cannot run on symbolic tensors at all.
    """
    inputs = [np.zeros((batch_size, latent_dim), np.float32) for _ in range(2)]
    try:
        predict_quietly(sampling_model(sampling, latent_dim, batch_size), inputs, batch_size)
    except Exception:  # any failure of the student's code, even with a fixed batch size
        return HINTS["runs_in_model"]
    return HINTS["static_batch"]


def check_sampling_shape_at_run_time(sampling, latent_dim=3, batch_sizes=(13, 1)):
    """Inside a Keras model, where the batch size is unknown until data arrives."""
    rng = fixed_rng("sampling-run-time")
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
        hint = model_failure_hint(sampling, latent_dim, batch_sizes[0])
        fail(f"sampling failed inside a Keras model ({short_error(error)}). {hint}")


def check_sampling_shape(sampling):
    """The sample has the shape of t_mean, eagerly and inside a model."""
    rng = fixed_rng("sampling-shape")
    for batch_size, latent_dim in ((7, 3), (1, 2)):
        t_mean = rng.normal(size=(batch_size, latent_dim)).astype(np.float32)
        t_log_var = rng.normal(size=(batch_size, latent_dim)).astype(np.float32)
        sample(sampling, t_mean, t_log_var)
    check_sampling_shape_at_run_time(sampling)
    passed(
        "sampling returns the shape of t_mean, also when the batch size is known only at run time."
    )


def _thresholds(latent_dim, n, false_fail_rate):
    """Bounds for the sample means (in standard errors), variance ratios and correlations.

    The rate is split equally between 2 * latent_dim + latent_dim * (latent_dim - 1) / 2
    two-sided tests, each exact for n Gaussian samples.
    """
    n_tests = 2 * latent_dim + latent_dim * (latent_dim - 1) // 2
    alpha = false_fail_rate / n_tests
    z = stats.norm.isf(alpha / 2)
    low, high = stats.chi2.ppf([alpha / 2, 1 - alpha / 2], df=n - 1) / (n - 1)
    # For independent Gaussian columns r * sqrt((n - 2) / (1 - r^2)) follows Student's t.
    t_bound = stats.t.isf(alpha / 2, df=n - 2)
    r_bound = t_bound / np.sqrt(n - 2 + t_bound**2)
    return z, low, high, r_bound


def check_statistics(samples, mean, log_var, what="sampling"):
    """Each column of `samples` must look like independent draws from N(mean, exp(log_var)).

    samples: (n, latent_dim); mean, log_var: (latent_dim,). Tests the mean and variance of
    each column and the correlation of each pair of columns; together they wrongly fail a
    correct function at most SAMPLING_FALSE_FAIL_RATE / STATISTICS_CALLS_PER_CELL of the
    time.
    """
    n, latent_dim = samples.shape
    if not np.all(np.isfinite(samples)):  # a NaN would pass every test below
        fail(f"{what} returned samples that are not finite (inf or NaN).")
    z, low, high, r_bound = _thresholds(
        latent_dim, n, SAMPLING_FALSE_FAIL_RATE / STATISTICS_CALLS_PER_CELL
    )
    variance = np.exp(log_var)
    sample_mean = samples.mean(axis=0)
    sample_var = samples.var(axis=0, ddof=1)
    if np.allclose(sample_var, 0.0):
        fail(f"{what}: {HINTS['shared_noise']}")
    bad_mean = np.abs(sample_mean - mean) > z * np.sqrt(variance / n)
    ratio = sample_var / variance
    bad_var = (ratio < low) | (ratio > high)
    if bad_mean.any() or bad_var.any():
        detail = (f"sample means {np.round(sample_mean, 3)} for means {np.round(mean, 3)}; "
                  f"sample variances {np.round(sample_var, 3)} for variances "
                  f"{np.round(variance, 3)} (over {n} samples)")  # fmt: skip
        guesses = {
            "variance_as_std": variance**2,
            "ignores_variance": np.ones_like(variance),
            "log_var_as_std": log_var**2,
        }
        hint = next(
            (HINTS[k] for k, v in guesses.items()
             if np.allclose(sample_var, v, rtol=0.1, atol=0.01)),
            "Is it t_mean + exp(0.5 * t_log_var) * epsilon with epsilon ~ N(0, I)?",
        )  # fmt: skip
        fail(f"{what}: the samples do not follow N(t_mean, exp(t_log_var)): {detail}. {hint}")
    if latent_dim > 1:
        correlation = np.corrcoef(samples, rowvar=False)[np.triu_indices(latent_dim, k=1)]
        largest = np.max(np.abs(correlation))
        if largest > r_bound:
            fail(
                f"{what}: two latent dimensions of the samples are correlated (correlation "
                f"{largest:.3f} over {n} samples; independent dimensions stay below "
                f"{r_bound:.3f}). {HINTS['noise_per_dimension']}"
            )


def check_sampling_statistics(sampling):
    """Mean and variance of 10,000 samples match N(t_mean, exp(t_log_var))."""
    mean = np.array([0.5, -1.0, 2.0], np.float32)
    log_var = np.array([0.3, -1.0, 1.5], np.float32)  # no 0: each mistake has its own spread
    t_mean = np.tile(mean, (SAMPLING_N, 1))
    t_log_var = np.tile(log_var, (SAMPLING_N, 1))
    check_statistics(sample(sampling, t_mean, t_log_var), mean, log_var)
    passed(
        f"the means, variances and correlations of {SAMPLING_N:,} samples match "
        "N(t_mean, exp(t_log_var))."
    )


def check_sampling_fresh_noise(sampling):
    """Every call, every row and every latent dimension draws its own noise."""
    t_mean = np.zeros((5, 3), np.float32)
    t_log_var = np.zeros((5, 3), np.float32)
    first = sample(sampling, t_mean, t_log_var)
    second = sample(sampling, t_mean, t_log_var)
    problem = stale_noise(first, second)
    if problem:
        fail(f"sampling: {HINTS[problem]}")
    passed("each call, each row and each latent dimension draws fresh noise.")


def stale_noise(first, second) -> str | None:
    """The hint key if two samples at mean 0 and log-variance 0 (so the noise itself) show
    noise that is not fresh: the same on both calls, or shared by the rows, or by the latent
    dimensions of a row. None if the noise is fresh everywhere."""
    if np.allclose(first, second):
        return "same_noise"
    if np.allclose(first, first[:1]):
        return "shared_noise"
    if np.allclose(first, first[:, :1]):
        return "noise_per_dimension"
    return None


@kernel_side
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
    rng = fixed_rng("sampling-gradients")
    t_mean = rng.normal(size=(6, 4)).astype(np.float32)
    t_log_var = rng.uniform(-2, 1, size=(6, 4)).astype(np.float32)
    weights = rng.normal(size=(6, 4)).astype(np.float32)
    t, grad_mean, grad_log_var = sampling_gradients(sampling, t_mean, t_log_var, weights)
    compare_gradients(t, grad_mean, grad_log_var, t_mean, weights)
    passed("gradients flow to both t_mean and t_log_var, with the right values.")
