"""Reference models for notebook 02 (the CNN autoencoder on Fashion-MNIST and its redesign)."""

from __future__ import annotations

import keras
from keras import layers

# The hidden training check's batch and code size: never shown to students.
HIDDEN_TRAINS_SEED = 2_2026
HIDDEN_TRAINS_CODE_DIM = 3


def build_lecture_autoencoder(code_dim=2):
    """The lecture's CNN autoencoder: pooling in the encoder, upsampling in the decoder.

    Returns (encoder, decoder, autoencoder): (n, 28, 28, 1) -> (n, code_dim) -> (n, 28, 28, 1).
    """
    encoder = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(16, 5, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(8, 5, activation="relu"),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(code_dim),
        ]
    )
    decoder = keras.Sequential(
        [
            keras.Input(shape=(code_dim,)),
            layers.Dense(64, activation="relu"),
            layers.Dense(8 * 8 * 8, activation="relu"),
            layers.Reshape((8, 8, 8)),
            layers.Conv2DTranspose(16, 5, activation="relu"),
            layers.UpSampling2D(2),
            layers.Conv2DTranspose(1, 5, activation="sigmoid"),
        ]
    )
    inputs = keras.Input(shape=(28, 28, 1))
    return encoder, decoder, keras.Model(inputs, decoder(encoder(inputs)))


def build_strided_autoencoder(code_dim=2):
    """The strided redesign: two stride-2 convolutions down, two stride-2 transposed ones up."""
    encoder = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(16, 5, strides=2, padding="same", activation="relu"),
            layers.Conv2D(8, 5, strides=2, padding="same", activation="relu"),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(code_dim),
        ]
    )
    decoder = keras.Sequential(
        [
            keras.Input(shape=(code_dim,)),
            layers.Dense(64, activation="relu"),
            layers.Dense(7 * 7 * 8, activation="relu"),
            layers.Reshape((7, 7, 8)),
            layers.Conv2DTranspose(16, 5, strides=2, padding="same", activation="relu"),
            layers.Conv2DTranspose(1, 5, strides=2, padding="same", activation="sigmoid"),
        ]
    )
    inputs = keras.Input(shape=(28, 28, 1))
    return encoder, decoder, keras.Model(inputs, decoder(encoder(inputs)))


def references():
    """(public, private) reference values for notebook 02 (see autograder.make_references)."""
    from course.checks import nb02 as checks

    _, _, lecture = build_lecture_autoencoder(checks.CODE_DIM)
    public = {"max_parameters": lecture.count_params()}
    private = {
        "trains_fixture": {"seed": HIDDEN_TRAINS_SEED, "code_dim": HIDDEN_TRAINS_CODE_DIM},
    }
    return public, private
