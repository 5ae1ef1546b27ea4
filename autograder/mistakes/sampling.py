"""Known mistakes in `sampling(args)` and acceptable variants, for notebook 08.

Notebook 08 grades `sampling` in the test cells named in `CELLS`. The functions use the names
a student's notebook has: `keras`, `ops`, `np` and a module-level `seed_generator`; one that
needs TensorFlow imports it, as a student would.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from autograder.mistakes import Variant

# In a notebook, the notebook's own SeedGenerator stands here. Called from this module, the
# variants draw from Keras's global generator (seeded by keras.utils.set_random_seed): a
# SeedGenerator made at import would start TensorFlow's runtime in every process that imports
# this module, and the grader forks its kernels from one that must not have started it.
seed_generator = None

CELLS = ("sampling_shape", "sampling_statistics", "sampling_fresh_noise", "sampling_gradients")


# ----------------------------------------------------------------------- mistakes


def sampling_variance_as_std(args):
    t_mean, t_log_var = args
    epsilon = keras.random.normal(ops.shape(t_mean), seed=seed_generator)
    return t_mean + ops.exp(t_log_var) * epsilon


def sampling_one_noise_per_example(args):
    t_mean, t_log_var = args
    epsilon = keras.random.normal((ops.shape(t_mean)[0], 1), seed=seed_generator)
    return t_mean + ops.exp(0.5 * t_log_var) * epsilon


def sampling_same_noise_every_call(args):
    t_mean, t_log_var = args
    epsilon = keras.random.normal(ops.shape(t_mean), seed=42)
    return t_mean + ops.exp(0.5 * t_log_var) * epsilon


def sampling_static_batch_size(args):
    t_mean, t_log_var = args
    epsilon = keras.random.normal(t_mean.shape, seed=seed_generator)
    return t_mean + ops.exp(0.5 * t_log_var) * epsilon


def sampling_generator_inside(args):
    t_mean, t_log_var = args
    epsilon = keras.random.normal(ops.shape(t_mean), seed=keras.random.SeedGenerator(42))
    return t_mean + ops.exp(0.5 * t_log_var) * epsilon


def sampling_numpy_std(args):
    t_mean, t_log_var = args
    std = np.exp(0.5 * np.asarray(t_log_var))
    epsilon = np.random.normal(size=std.shape).astype("float32")
    return t_mean + std * epsilon


def sampling_ignores_variance(args):
    t_mean, t_log_var = args
    return t_mean + keras.random.normal(ops.shape(t_mean), seed=seed_generator)


# ----------------------------------------------------------------------- acceptable variants


def sampling_tf_random(args):
    import tensorflow as tf

    t_mean, t_log_var = args
    epsilon = tf.random.normal(tf.shape(t_mean))
    return t_mean + tf.exp(t_log_var / 2) * epsilon


def sampling_sqrt_of_variance(args):
    t_mean, t_log_var = args
    epsilon = keras.random.normal(ops.shape(t_mean), seed=seed_generator)
    return t_mean + ops.sqrt(ops.exp(t_log_var)) * epsilon


# The first mistake is the one the end-to-end grading tests put into a submission.
MISTAKES = (
    Variant(sampling_variance_as_std, "sampling",
            ("sampling_statistics", "sampling_gradients"), "variance_as_std"),
    Variant(sampling_one_noise_per_example, "sampling",
            ("sampling_statistics", "sampling_fresh_noise"), "noise_per_dimension"),
    Variant(sampling_same_noise_every_call, "sampling", ("sampling_fresh_noise",), "same_noise"),
    Variant(sampling_static_batch_size, "sampling", ("sampling_shape",), "static_batch"),
    Variant(sampling_generator_inside, "sampling",
            ("sampling_shape", "sampling_fresh_noise"), "runs_in_model"),
    Variant(sampling_numpy_std, "sampling",
            ("sampling_shape", "sampling_gradients"), "no_gradient"),
    Variant(sampling_ignores_variance, "sampling",
            ("sampling_statistics", "sampling_gradients"), "ignores_variance"),
)  # fmt: skip

ACCEPTABLE = (
    Variant(sampling_tf_random, "sampling"),
    Variant(sampling_sqrt_of_variance, "sampling"),
)
