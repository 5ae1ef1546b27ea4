"""Visible checks for notebook 02: `build_strided_autoencoder(code_dim)`.

Each `check_*` function is one graded property; the notebook calls it from its own test
cell, so a mistake costs the points of the property it breaks and no more. Every check
builds the student's models afresh (with a fixed seed), so the checks can run in any order.
"""

from __future__ import annotations

import numpy as np

from course.checks.core import (
    call_student,
    expected_values,
    fail,
    fixed_rng,
    kernel_side,
    passed,
    quiet_keras,
    seed_where,
    to_numpy,
)
from course.probe import type_name

IMAGE_SHAPE = (28, 28, 1)
CODE_DIM = 2
BUILD_SEED = 2

# The training check: a few Adam steps on one fixed batch of 64 smooth blob images.
TRAIN_BATCH_SIZE = 64
TRAIN_STEPS = 25
TRAIN_LEARNING_RATE = 3e-3
# On such batches every acceptable design cuts the loss by 15-40% in 25 steps (the decoder's
# biases alone learn the mean image), whatever the seed; a model that cannot learn stays
# within a percent of where it started. Asking for 5% leaves a wide margin on both sides.
MIN_RELATIVE_DECREASE = 0.05
# Standard-normal codes times this scale push the decoder's last layer far from zero, so that
# an unbounded activation (relu, none) leaves [0, 1] there even when it stays inside on images.
LARGE_CODE_SCALE = 1e3
# autoencoder(x) and decoder(encoder(x)) run the same float32 layers: they agree to
# rounding unless the autoencoder holds layers of its own.
COMPOSITION_ATOL = 1e-5
# Keeps log(0) out of the cross-entropy when a sigmoid saturates.
BCE_EPSILON = 1e-7

HINTS = {
    "not_a_triple": ("Return the three models as a tuple: `return encoder, decoder, autoencoder`."),
    "code_shape": (
        "The encoder should end in Flatten() and then Dense(code_dim): one row of code_dim "
        "numbers per image, not a feature map."
    ),
    "padding": (
        "With padding='valid' a convolution loses pixels at the border, so the sizes do not "
        "come back to 28. With padding='same', a stride of 2 halves the size (28 -> 14 -> 7) "
        "and a Conv2DTranspose with a stride of 2 doubles it (7 -> 14 -> 28)."
    ),
    "image_shape": (
        "The decoder (and so the autoencoder) must return images of shape (28, 28, 1): end "
        "with a Conv2DTranspose with one filter, on a 28 x 28 grid."
    ),
    "pooling": (
        "Let the convolutions downsample: give each Conv2D strides=2 (with padding='same') "
        "instead of following it with MaxPooling2D."
    ),
    "upsampling": (
        "The mirror of a strided Conv2D is a Conv2DTranspose with the same stride: it learns "
        "how to upsample. Replace UpSampling2D (which only repeats pixels) by strides=2 in "
        "the Conv2DTranspose."
    ),
    "stride_one": (
        "Every Conv2D in the encoder should downsample by itself: strides=2 (or more) in both "
        "directions."
    ),
    "mirror": (
        "Undo each downsampling step of the encoder with one Conv2DTranspose of the same "
        "stride in the decoder, in reverse order."
    ),
    "budget": (
        "Most parameters sit in the Dense layers next to Flatten and Reshape. Downsample "
        "further, or use fewer filters in the last convolution, so that the flattened "
        "feature map is small (7 x 7 x 8 = 392 numbers, say)."
    ),
    "sigmoid": (
        "The autoencoder's outputs are pixel probabilities for the binary cross-entropy: end "
        "the decoder with activation='sigmoid'."
    ),
    "not_composed": (
        "Build the autoencoder from the encoder and decoder you return, e.g. "
        "`autoencoder = keras.Model(inputs, decoder(encoder(inputs)))`, so that training it "
        "trains them."
    ),
}


# ----------------------------------------------------------------------------- helpers


def make_images(rng: np.random.Generator, n: int) -> np.ndarray:
    """n smooth grey-level images, float32 of shape (n, 28, 28, 1) in [0, 1].

    Each is a few soft blobs of random size, place and brightness on a black background,
    with some pixels exactly 0 or 1, like Fashion-MNIST's.
    """
    rows, cols = np.mgrid[0:28, 0:28].astype(np.float64)
    images = np.zeros((n, 28, 28))
    for image in images:
        for _ in range(rng.integers(2, 5)):
            centre = rng.uniform(7, 21, size=2)
            width = rng.uniform(2.5, 7.0, size=2)
            brightness = rng.uniform(0.4, 1.3)
            image += brightness * np.exp(
                -0.5 * (((rows - centre[0]) / width[0]) ** 2 + ((cols - centre[1]) / width[1]) ** 2)
            )
    images[images < 0.05] = 0.0
    return np.clip(images, 0.0, 1.0)[..., None].astype(np.float32)


def bce_per_pixel(x, x_decoded) -> float:
    """Binary cross-entropy in nats per pixel, averaged over every pixel (float64)."""
    x = np.asarray(x, np.float64)
    p = np.clip(np.asarray(x_decoded, np.float64), BCE_EPSILON, 1.0 - BCE_EPSILON)
    return float(np.mean(-(x * np.log(p) + (1.0 - x) * np.log(1.0 - p))))


def build(build_strided_autoencoder, code_dim: int = CODE_DIM, seed: int = BUILD_SEED):
    """Call the student's builder with a fixed seed; insist on three Keras models."""
    import keras

    seed_where(build_strided_autoencoder, seed)
    what = f"build_strided_autoencoder(code_dim={code_dim})"
    models = call_student(build_strided_autoencoder, code_dim, what=what)
    if not isinstance(models, (tuple, list)) or len(models) != 3:
        got = f"a {type_name(models)}"
        if isinstance(models, (tuple, list)):
            got += f" of {len(models)} items"
        fail(f"{what} returned {got}. {HINTS['not_a_triple']}")
    for name, model in zip(("encoder", "decoder", "autoencoder"), models):
        if not isinstance(model, keras.Model):
            fail(
                f"{what}: the {name} is a {type_name(model)}, not a Keras model. "
                "Build it with keras.Sequential or keras.Model. " + HINTS["not_a_triple"]
            )
    return models


def run(model, inputs, what: str) -> np.ndarray:
    """The model's output on `inputs` (inference mode), as a float64 array."""
    return to_numpy(call_student(lambda: model(inputs, training=False), what=what), what)


def layers_of(model) -> list:
    """Every layer inside `model`, looking inside nested models, in order."""
    import keras

    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found.extend(layers_of(layer))
        else:
            found.append(layer)
    return found


def _is_kind(layer, word: str) -> bool:
    return any(word in cls.__name__ for cls in layer.__class__.__mro__)


def _describe(layer) -> str:
    return f"'{layer.name}' ({type_name(layer)})"


def encoder_convolutions(encoder) -> list:
    import keras

    return [layer for layer in layers_of(encoder) if isinstance(layer, keras.layers.Conv2D)]


def strided(layer) -> bool:
    return min(layer.strides) >= 2


def parameter_count(autoencoder) -> int:
    """Parameters of the autoencoder (shared layers counted once), after building it."""
    run(autoencoder, np.zeros((1, *IMAGE_SHAPE), np.float32), "autoencoder(x)")
    return int(autoencoder.count_params())


# ----------------------------------------------------------------------------- the checks


def check_shapes(build_strided_autoencoder, code_dim: int = CODE_DIM):
    """encoder: (n, 28, 28, 1) -> (n, code_dim); decoder and autoencoder give (n, 28, 28, 1)."""
    encoder, decoder, autoencoder = build(build_strided_autoencoder, code_dim)
    rng = fixed_rng(f"shapes-{code_dim}")
    for n in (5, 1):
        x = make_images(rng, n)
        codes = run(encoder, x, "encoder(x)")
        if codes.shape != (n, code_dim):
            hint = HINTS["code_shape"]
            fail(
                f"with code_dim={code_dim}, the encoder turned images of shape {x.shape} into "
                f"codes of shape {codes.shape}; expected {(n, code_dim)}. {hint}"
            )
        images = run(decoder, codes.astype(np.float32), "decoder(codes)")
        if images.shape != (n, *IMAGE_SHAPE):
            odd_size = images.ndim == 4 and images.shape[1:3] != IMAGE_SHAPE[:2]
            hint = HINTS["padding"] if odd_size else HINTS["image_shape"]
            fail(
                f"the decoder turned codes of shape {codes.shape} into images of shape "
                f"{images.shape}; expected {(n, *IMAGE_SHAPE)}. {hint}"
            )
        reconstructions = run(autoencoder, x, "autoencoder(x)")
        if reconstructions.shape != (n, *IMAGE_SHAPE):
            fail(
                f"the autoencoder turned images of shape {x.shape} into shape "
                f"{reconstructions.shape}; expected {(n, *IMAGE_SHAPE)}. {HINTS['not_composed']}"
            )
    passed(
        f"encoder (None, 28, 28, 1) -> (None, {code_dim}), decoder (None, {code_dim}) -> "
        "(None, 28, 28, 1), autoencoder (None, 28, 28, 1) -> (None, 28, 28, 1)."
    )


def check_no_pooling(build_strided_autoencoder, code_dim: int = CODE_DIM):
    """No pooling layer anywhere, and no UpSampling2D: the convolutions resample."""
    models = build(build_strided_autoencoder, code_dim)
    for model, role in zip(models, ("encoder", "decoder", "autoencoder")):
        for layer in layers_of(model):
            if _is_kind(layer, "Pooling"):
                fail(f"the {role} has a pooling layer, {_describe(layer)}. {HINTS['pooling']}")
            if _is_kind(layer, "UpSampling"):
                fail(f"the {role} has an upsampling layer, {_describe(layer)}. "
                     f"{HINTS['upsampling']}")  # fmt: skip
    passed("no pooling and no UpSampling2D layers: the convolutions do the resampling.")


def check_encoder_strides(build_strided_autoencoder, code_dim: int = CODE_DIM):
    """The encoder has Conv2D layers, and each has strides of at least 2."""
    encoder, _, _ = build(build_strided_autoencoder, code_dim)
    convolutions = encoder_convolutions(encoder)
    if not convolutions:
        fail(
            "the encoder has no Conv2D layer. Start it with strided convolutions, e.g. "
            "layers.Conv2D(16, 5, strides=2, padding='same', activation='relu')."
        )
    for layer in convolutions:
        if not strided(layer):
            pooled = any(_is_kind(other, "Pooling") for other in layers_of(encoder))
            fail(
                f"the encoder's Conv2D layer {_describe(layer)} has strides {layer.strides}. "
                + HINTS["pooling" if pooled else "stride_one"]
            )
    passed(f"every Conv2D layer of the encoder ({len(convolutions)} of them) has strides of at "
           "least 2.")  # fmt: skip


def check_decoder_mirror(build_strided_autoencoder, code_dim: int = CODE_DIM):
    """The decoder has one Conv2DTranspose with strides >= 2 per strided Conv2D of the encoder."""
    import keras

    encoder, decoder, _ = build(build_strided_autoencoder, code_dim)
    down = [layer for layer in encoder_convolutions(encoder) if strided(layer)]
    up = [layer for layer in layers_of(decoder)
          if isinstance(layer, keras.layers.Conv2DTranspose) and strided(layer)]  # fmt: skip
    if not down:
        fail(
            "the encoder has no Conv2D layer with strides of at least 2, so there is nothing "
            f"for the decoder to mirror. {HINTS['stride_one']}"
        )
    if len(up) != len(down):
        upsampled = any(_is_kind(layer, "UpSampling") for layer in layers_of(decoder))
        fail(
            f"the encoder downsamples {len(down)} times (strided Conv2D layers) but the decoder "
            f"upsamples {len(up)} times (Conv2DTranspose layers with strides of at least 2). "
            + HINTS["upsampling" if upsampled else "mirror"]
        )
    passed(f"the decoder undoes each of the encoder's {len(down)} strided convolutions with a "
           "strided Conv2DTranspose.")  # fmt: skip


def check_budget(build_strided_autoencoder):
    """At most as many parameters as the lecture's CNN autoencoder, with a 2-D code."""
    budget = expected_values("nb02")["max_parameters"]
    _, _, autoencoder = build(build_strided_autoencoder, CODE_DIM)
    count = parameter_count(autoencoder)
    if count > budget:
        fail(
            f"the autoencoder has {count:,} parameters, more than the budget of {budget:,} "
            f"(the lecture's CNN autoencoder). {HINTS['budget']}"
        )
    passed(f"the autoencoder has {count:,} parameters, within the budget of {budget:,}.")


@kernel_side
def train_on_batch(autoencoder, x):
    """TRAIN_STEPS Adam steps of binary cross-entropy on the batch `x` (in place)."""
    import keras

    autoencoder.compile(
        optimizer=keras.optimizers.Adam(TRAIN_LEARNING_RATE), loss="binary_crossentropy"
    )
    # One epoch over the batch repeated: TRAIN_STEPS steps on the same 64 images.
    repeated = np.tile(x, (TRAIN_STEPS, 1, 1, 1))
    with quiet_keras():
        autoencoder.fit(repeated, repeated, batch_size=TRAIN_BATCH_SIZE, epochs=1,
                        shuffle=False, verbose=0)  # fmt: skip


def check_trains(build_strided_autoencoder, code_dim: int = CODE_DIM, batch_seed=None):
    """Outputs in [0, 1] even for huge codes, autoencoder = decoder(encoder(x)), and training."""

    encoder, decoder, autoencoder = build(build_strided_autoencoder, code_dim)
    x = make_images(fixed_rng("trains", batch_seed), TRAIN_BATCH_SIZE)
    before = run(autoencoder, x, "autoencoder(x)")
    if before.shape != x.shape:
        fail(
            f"the autoencoder returned shape {before.shape} for images of shape {x.shape}, so "
            "it cannot be trained to reproduce them: fix the shapes first."
        )
    if before.min() < 0.0 or before.max() > 1.0:
        fail(
            f"the autoencoder's outputs run from {before.min():.3g} to {before.max():.3g}, "
            f"outside [0, 1]. {HINTS['sigmoid']}"
        )
    codes = run(encoder, x, "encoder(x)").astype(np.float32)
    composed = run(decoder, codes, "decoder(codes)")
    if not np.allclose(before, composed, atol=COMPOSITION_ATOL):
        fail(f"autoencoder(x) differs from decoder(encoder(x)). {HINTS['not_composed']}")
    large_codes = LARGE_CODE_SCALE * fixed_rng("large-codes").standard_normal(codes.shape)
    far = run(decoder, large_codes.astype(np.float32), "decoder(codes)")
    if far.min() < 0.0 or far.max() > 1.0:
        fail(
            f"for codes of size about {LARGE_CODE_SCALE:,.0f} the decoder's outputs run from "
            f"{far.min():.3g} to {far.max():.3g}, outside [0, 1]: its last activation does not "
            f"keep pixel values between 0 and 1. {HINTS['sigmoid']}"
        )
    first_kernel = encoder.weights[0].numpy().copy() if encoder.weights else None

    call_student(train_on_batch, autoencoder, x, what="training the autoencoder")
    after = run(autoencoder, x, "autoencoder(x)")
    loss_before, loss_after = bce_per_pixel(x, before), bce_per_pixel(x, after)
    if not loss_after <= (1.0 - MIN_RELATIVE_DECREASE) * loss_before:
        fail(
            f"{TRAIN_STEPS} Adam steps on one batch took the binary cross-entropy from "
            f"{loss_before:.4f} to {loss_after:.4f} nats per pixel; a trainable autoencoder "
            f"cuts it by at least {MIN_RELATIVE_DECREASE:.0%}. Are all layers trainable, and "
            "does the decoder end in a sigmoid?"
        )
    if first_kernel is not None and np.array_equal(first_kernel, encoder.weights[0].numpy()):
        fail(f"training the autoencoder did not change the encoder. {HINTS['not_composed']}")
    passed(
        f"{TRAIN_STEPS} training steps took the loss on a fixed batch from {loss_before:.4f} "
        f"to {loss_after:.4f} nats per pixel."
    )
