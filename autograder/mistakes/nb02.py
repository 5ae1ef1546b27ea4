"""Notebook 02: known mistakes in `build_strided_autoencoder`, and acceptable variants.

The functions use the names a student's notebook has: `keras` and `layers`.
"""

from __future__ import annotations

import keras
from keras import layers

from autograder.mistakes import Variant

SHAPES = "strided_shapes"
NO_POOLING = "strided_no_pooling"
ENCODER_STRIDES = "strided_encoder_strides"
DECODER_MIRROR = "strided_decoder_mirror"
BUDGET = "strided_budget"
TRAINS = "strided_trains"
CELLS = (SHAPES, NO_POOLING, ENCODER_STRIDES, DECODER_MIRROR, BUDGET, TRAINS)


# ----------------------------------------------------------------------------- mistakes


def build_upsampling_in_decoder(code_dim=2):
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
            layers.UpSampling2D(2),
            layers.Conv2DTranspose(1, 5, padding="same", activation="sigmoid"),
        ]
    )
    inputs = keras.Input(shape=(28, 28, 1))
    autoencoder = keras.Model(inputs, decoder(encoder(inputs)))
    return encoder, decoder, autoencoder


def build_pooling_instead_of_strides(code_dim=2):
    encoder = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(16, 5, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(8, 5, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
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
            layers.UpSampling2D(2),
            layers.Conv2DTranspose(16, 5, padding="same", activation="relu"),
            layers.UpSampling2D(2),
            layers.Conv2DTranspose(1, 5, padding="same", activation="sigmoid"),
        ]
    )
    inputs = keras.Input(shape=(28, 28, 1))
    autoencoder = keras.Model(inputs, decoder(encoder(inputs)))
    return encoder, decoder, autoencoder


def build_valid_padding(code_dim=2):
    encoder = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(16, 5, strides=2, activation="relu"),
            layers.Conv2D(8, 5, strides=2, activation="relu"),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(code_dim),
        ]
    )
    decoder = keras.Sequential(
        [
            keras.Input(shape=(code_dim,)),
            layers.Dense(64, activation="relu"),
            layers.Dense(4 * 4 * 8, activation="relu"),
            layers.Reshape((4, 4, 8)),
            layers.Conv2DTranspose(16, 5, strides=2, activation="relu"),
            layers.Conv2DTranspose(1, 5, strides=2, activation="sigmoid"),
        ]
    )
    inputs = keras.Input(shape=(28, 28, 1))
    autoencoder = keras.Model(inputs, decoder(encoder(inputs)))
    return encoder, decoder, autoencoder


def build_too_many_parameters(code_dim=2):
    encoder = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
            layers.Conv2D(64, 3, strides=2, padding="same", activation="relu"),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(code_dim),
        ]
    )
    decoder = keras.Sequential(
        [
            keras.Input(shape=(code_dim,)),
            layers.Dense(64, activation="relu"),
            layers.Dense(7 * 7 * 64, activation="relu"),
            layers.Reshape((7, 7, 64)),
            layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu"),
            layers.Conv2DTranspose(1, 3, strides=2, padding="same", activation="sigmoid"),
        ]
    )
    inputs = keras.Input(shape=(28, 28, 1))
    autoencoder = keras.Model(inputs, decoder(encoder(inputs)))
    return encoder, decoder, autoencoder


def build_forgotten_stride(code_dim=2):
    encoder = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(16, 5, strides=2, padding="same", activation="relu"),
            layers.Conv2D(8, 5, padding="same", activation="relu"),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(code_dim),
        ]
    )
    decoder = keras.Sequential(
        [
            keras.Input(shape=(code_dim,)),
            layers.Dense(64, activation="relu"),
            layers.Dense(14 * 14 * 8, activation="relu"),
            layers.Reshape((14, 14, 8)),
            layers.Conv2DTranspose(16, 5, padding="same", activation="relu"),
            layers.Conv2DTranspose(1, 5, strides=2, padding="same", activation="sigmoid"),
        ]
    )
    inputs = keras.Input(shape=(28, 28, 1))
    autoencoder = keras.Model(inputs, decoder(encoder(inputs)))
    return encoder, decoder, autoencoder


def build_linear_output(code_dim=2):
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
            layers.Conv2DTranspose(1, 5, strides=2, padding="same"),
        ]
    )
    inputs = keras.Input(shape=(28, 28, 1))
    autoencoder = keras.Model(inputs, decoder(encoder(inputs)))
    return encoder, decoder, autoencoder


def build_relu_output(code_dim=2):
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
            layers.Conv2DTranspose(1, 5, strides=2, padding="same", activation="relu"),
        ]
    )
    inputs = keras.Input(shape=(28, 28, 1))
    autoencoder = keras.Model(inputs, decoder(encoder(inputs)))
    return encoder, decoder, autoencoder


def build_separate_autoencoder(code_dim=2):
    def make_encoder():
        return keras.Sequential(
            [
                keras.Input(shape=(28, 28, 1)),
                layers.Conv2D(16, 5, strides=2, padding="same", activation="relu"),
                layers.Conv2D(8, 5, strides=2, padding="same", activation="relu"),
                layers.Flatten(),
                layers.Dense(64, activation="relu"),
                layers.Dense(code_dim),
            ]
        )

    def make_decoder():
        return keras.Sequential(
            [
                keras.Input(shape=(code_dim,)),
                layers.Dense(64, activation="relu"),
                layers.Dense(7 * 7 * 8, activation="relu"),
                layers.Reshape((7, 7, 8)),
                layers.Conv2DTranspose(16, 5, strides=2, padding="same", activation="relu"),
                layers.Conv2DTranspose(1, 5, strides=2, padding="same", activation="sigmoid"),
            ]
        )

    encoder = make_encoder()
    decoder = make_decoder()
    autoencoder = keras.Sequential([make_encoder(), make_decoder()])
    return encoder, decoder, autoencoder


def build_feature_map_code(code_dim=2):
    encoder = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(16, 5, strides=2, padding="same", activation="relu"),
            layers.Conv2D(code_dim, 5, strides=2, padding="same"),
        ]
    )
    decoder = keras.Sequential(
        [
            keras.Input(shape=(7, 7, code_dim)),
            layers.Conv2DTranspose(16, 5, strides=2, padding="same", activation="relu"),
            layers.Conv2DTranspose(1, 5, strides=2, padding="same", activation="sigmoid"),
        ]
    )
    inputs = keras.Input(shape=(28, 28, 1))
    autoencoder = keras.Model(inputs, decoder(encoder(inputs)))
    return encoder, decoder, autoencoder


def build_returns_autoencoder_only(code_dim=2):
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
    return keras.Model(inputs, decoder(encoder(inputs)))


# ----------------------------------------------------------------------------- acceptable


def build_functional_small_kernels(code_dim=2):
    images = keras.Input(shape=(28, 28, 1))
    h = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(images)
    h = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(h)
    code = layers.Dense(code_dim)(layers.Flatten()(h))
    encoder = keras.Model(images, code, name="encoder")

    codes = keras.Input(shape=(code_dim,))
    h = layers.Dense(7 * 7 * 16, activation="relu")(codes)
    h = layers.Reshape((7, 7, 16))(h)
    h = layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(h)
    reconstruction = layers.Conv2DTranspose(1, 3, strides=2, padding="same",
                                            activation="sigmoid")(h)  # fmt: skip
    decoder = keras.Model(codes, reconstruction, name="decoder")

    autoencoder = keras.Model(images, decoder(encoder(images)), name="autoencoder")
    return encoder, decoder, autoencoder


def build_final_stride_one_convolution(code_dim=2):
    encoder = keras.Sequential(
        [
            layers.Input((28, 28, 1)),
            layers.Conv2D(16, 3, strides=(2, 2), padding="same", activation="relu"),
            layers.Conv2D(32, 3, strides=(2, 2), padding="same", activation="relu"),
            layers.Flatten(),
            layers.Dense(16, activation="relu"),
            layers.Dense(code_dim),
        ]
    )
    decoder = keras.Sequential(
        [
            layers.Input((code_dim,)),
            layers.Dense(16, activation="relu"),
            layers.Dense(7 * 7 * 32, activation="relu"),
            layers.Reshape((7, 7, 32)),
            layers.Conv2DTranspose(32, 3, strides=(2, 2), padding="same", activation="relu"),
            layers.Conv2DTranspose(16, 3, strides=(2, 2), padding="same", activation="relu"),
            layers.Conv2D(1, 3, padding="same", activation="sigmoid"),
        ]
    )
    autoencoder = keras.Sequential([encoder, decoder])
    return encoder, decoder, autoencoder


def build_valid_padding_sizes_that_fit(code_dim=2):
    encoder = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(16, 4, strides=2, activation="relu"),  # 28 -> 13
            layers.Conv2D(8, 3, strides=2, activation="relu"),  # 13 -> 6
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(code_dim),
        ]
    )
    decoder = keras.Sequential(
        [
            keras.Input(shape=(code_dim,)),
            layers.Dense(64, activation="relu"),
            layers.Dense(6 * 6 * 8, activation="relu"),
            layers.Reshape((6, 6, 8)),
            layers.Conv2DTranspose(16, 3, strides=2, activation="relu"),  # 6 -> 13
            layers.Conv2DTranspose(1, 4, strides=2, activation="sigmoid"),  # 13 -> 28
        ]
    )
    inputs = keras.Input(shape=(28, 28, 1))
    autoencoder = keras.Model(inputs, decoder(encoder(inputs)))
    return encoder, decoder, autoencoder


def build_leaky_relu_stride_four(code_dim=2):
    encoder = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(16, 4, strides=4, padding="same", activation="leaky_relu"),  # 28 -> 7
            layers.Flatten(),
            layers.Dense(32, activation="leaky_relu"),
            layers.Dense(code_dim),
        ]
    )
    decoder = keras.Sequential(
        [
            keras.Input(shape=(code_dim,)),
            layers.Dense(32, activation="leaky_relu"),
            layers.Dense(7 * 7 * 16, activation="leaky_relu"),
            layers.Reshape((7, 7, 16)),
            layers.Conv2DTranspose(1, 4, strides=4, padding="same", activation="sigmoid"),
        ]
    )
    inputs = keras.Input(shape=(28, 28, 1))
    autoencoder = keras.Model(inputs, decoder(encoder(inputs)))
    return encoder, decoder, autoencoder


def build_hard_sigmoid_output(code_dim=2):
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
            layers.Conv2DTranspose(1, 5, strides=2, padding="same", activation="hard_sigmoid"),
        ]
    )
    inputs = keras.Input(shape=(28, 28, 1))
    autoencoder = keras.Model(inputs, decoder(encoder(inputs)))
    return encoder, decoder, autoencoder


TARGET = "build_strided_autoencoder"

MISTAKES = (
    Variant(build_upsampling_in_decoder, TARGET, (NO_POOLING, DECODER_MIRROR), "upsampling"),
    Variant(build_pooling_instead_of_strides, TARGET,
            (NO_POOLING, ENCODER_STRIDES, DECODER_MIRROR), "pooling"),
    Variant(build_valid_padding, TARGET, (SHAPES, TRAINS), "padding"),
    Variant(build_too_many_parameters, TARGET, (BUDGET,), "budget"),
    Variant(build_forgotten_stride, TARGET, (ENCODER_STRIDES, BUDGET), "stride_one"),
    Variant(build_linear_output, TARGET, (TRAINS,), "sigmoid"),
    Variant(build_relu_output, TARGET, (TRAINS,), "sigmoid"),
    Variant(build_separate_autoencoder, TARGET, (TRAINS,), "not_composed"),
    Variant(build_feature_map_code, TARGET, (SHAPES,), "code_shape"),
    Variant(build_returns_autoencoder_only, TARGET, CELLS, "not_a_triple"),
)  # fmt: skip

ACCEPTABLE = (
    Variant(build_functional_small_kernels, TARGET),
    Variant(build_final_stride_one_convolution, TARGET),
    Variant(build_valid_padding_sizes_that_fit, TARGET),
    Variant(build_leaky_relu_stride_four, TARGET),
    Variant(build_hard_sigmoid_output, TARGET),
)
