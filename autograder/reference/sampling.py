"""Reference `sampling(args)` of notebook 08 (re-exported by `autograder.reference.nb08`)."""

from __future__ import annotations

import keras
from keras import ops


def sampling(args, seed_generator):
    """Reparameterized sample from N(t_mean, diag(exp(t_log_var))), any batch size."""
    t_mean, t_log_var = args
    epsilon = keras.random.normal(ops.shape(t_mean), seed=seed_generator)
    return t_mean + ops.exp(0.5 * t_log_var) * epsilon
