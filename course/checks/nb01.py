"""Visible checks for notebook 01: `build_autoencoder`, `pca_fit`, `pca_autoencoder` and
`subspace_cosines`.

Each `check_*` function is one graded property; the notebook calls it from its own test
cell, so a mistake costs the points of the property it breaks and no more.
"""

from __future__ import annotations

import numpy as np

from course.checks.core import (
    call_student,
    close,
    diagnose,
    expected_values,
    fail,
    fixed_rng,
    kernel_side,
    passed,
    to_numpy,
)
from course.probe import type_name

MNIST_PIXELS = 784

# Sizes the visible checks build autoencoders at: (input_dim, hidden_dims, code_dim). Hidden
# widths differ from each other so that a decoder that does not mirror the encoder shows, and
# one fixture's widths are not monotone so that sorting hidden_dims shows too.
AE_FIXTURES = {
    "mnist": (784, (256, 64), 16),
    "small": (30, (24, 12), 4),
    "one_hidden": (12, (8,), 2),
    "three_hidden": (50, (20, 40, 10), 5),
}

# The decoder's output must equal the autoencoder's in float32 arithmetic: the same layers run
# on the same numbers, so only the order of operations can differ.
COMPOSITION_ATOL = 1e-5

# PCA fixtures: (n_samples, n_features, n_components). The data have exactly known singular
# values (see `make_pca_inputs`), so every correct answer agrees on the components up to sign.
PCA_FIXTURES = {
    "main": (150, 12, 4),
}
PCA_SHAPE_SIZES = ((150, 12, 4), (60, 25, 1), (40, 8, 8))

# A float32 SVD of these small, well-conditioned fixtures is exact to about 1e-6 relative; the
# mean of float32 data to about 1e-6 absolute. These tolerances leave a wide margin, while every
# known mistake moves a value by more than 10 percent.
PCA_RTOL = 1e-3
PCA_ATOL = 1e-6
MEAN_ATOL = 1e-4
ORTHONORMAL_ATOL = 1e-4

HINTS = {
    "not_three_models": (
        "build_autoencoder must return three keras Models: `return encoder, decoder, autoencoder`."
    ),
    "hard_coded": (
        "It looks as if 784 (or another fixed size) is written into the function. Use the "
        "arguments input_dim, hidden_dims and code_dim everywhere, so that it builds any size."
    ),
    "not_mirrored": (
        "The decoder should mirror the encoder: its hidden layers are hidden_dims in reverse "
        "order (e.g. [256, 64] in the encoder gives 64 then 256 in the decoder)."
    ),
    "missing_output_layer": (
        "The decoder must end with a layer of input_dim units, so that it gives back an "
        "image of the input's size: Dense(input_dim, activation='sigmoid')."
    ),
    "code_activation": (
        "The code layer should be linear (no activation), so that a code coordinate can take "
        "any real value: layers.Dense(code_dim)."
    ),
    "output_activation": (
        "The decoder's last layer should use a sigmoid, so that every output pixel lies in "
        "(0, 1) like the input pixels: Dense(input_dim, activation='sigmoid')."
    ),
    "hidden_activation": "Every hidden layer, in the encoder and in the decoder, uses ReLU.",
    "not_composed": (
        "The autoencoder must be the decoder applied to the encoder's output, reusing their "
        "layers, e.g. `x = keras.Input(shape=(input_dim,))` and "
        "`keras.Model(x, decoder(encoder(x)))`. New layers would train weights that the "
        "encoder and decoder never see."
    ),
    "frozen": (
        "Did you set trainable=False on the encoder or the decoder (or one of their layers)? "
        "Training the autoencoder must train both, so leave them trainable."
    ),
    "no_bias": (
        "Some parameters are missing: did you switch off the biases (use_bias=False)? "
        "A Dense layer from a inputs to b units has a * b weights and b biases."
    ),
    "in_place": (
        "pca_fit changed x in place; compute `x - mean` into a new array (`x -= mean` would "
        "also centre the caller's data, e.g. x_train in this notebook)."
    ),
    "not_two_arrays": "pca_fit must return two arrays: `return mean, components`.",
    "columns_of_u": (
        "components has one column per example: those are columns of U. The principal "
        "directions live in feature space: they are the first rows of V^T."
    ),
    "transposed": (
        "components has shape (n_features, n_components); return one direction per row, "
        "shape (n_components, n_features)."
    ),
    "all_components": (
        "components has more rows than n_components: keep only the first n_components rows."
    ),
    "not_centred": (
        "The components look as if the SVD was taken of x itself. Subtract the mean first: "
        "the principal directions are those of x - mean."
    ),
    "smallest": (
        "These are the directions of *least* variance. np.linalg.svd sorts the singular values "
        "in decreasing order, so the first rows of V^T are the ones to keep."
    ),
    "columns_of_vt": (
        "The components look like columns of V^T. np.linalg.svd returns V^T, whose *rows* are "
        "the principal directions: take vt[:n_components]."
    ),
    "scaled": (
        "The rows do not have length 1: return the directions themselves (rows of V^T), not "
        "scaled by the singular values."
    ),
    "ascending": (
        "The components span the right subspace but come in increasing order of variance. "
        "Sort them so that the first component has the largest variance (np.linalg.eigh, for "
        "example, returns eigenvalues in increasing order)."
    ),
    "pca_not_three_models": (
        "pca_autoencoder must return three keras Models, the encoder, the decoder and the "
        "autoencoder, in that order."
    ),
    "pca_widths": (
        "With components of shape (k, D), the encoder maps D pixels to a code of k numbers "
        "and the decoder maps k numbers back to D pixels: each is one Dense layer of that "
        "many units."
    ),
    "pca_encoder": (
        "A Dense layer computes x W + b, with a kernel W of shape (inputs, outputs) and a "
        "bias b of shape (outputs,). Write f(x) = C(x - mu) in that form: which W, which b?"
    ),
    "pca_decoder": (
        "A Dense layer computes z W + b, with a kernel W of shape (inputs, outputs) and a "
        "bias b of shape (outputs,). Write g(z) = C^T z + mu in that form: which W, which b?"
    ),
    "pca_no_centring": (
        "Your encoder computes C x: it does not take the mean off. Multiply out C(x - mu): "
        "the part that does not depend on x is the encoder's bias."
    ),
    "pca_bias_sign": (
        "Your encoder computes C x + C mu, not C(x - mu) = C x - C mu: check the sign of its bias."
    ),
    "pca_no_mean": (
        "Your decoder computes C^T z and leaves out the mean image: g(z) = C^T z + mu puts "
        "mu back, and in a Dense layer that is the bias."
    ),
    "pca_no_biases": (
        "Neither layer adds a bias (use_bias=False?), so the encoder cannot take the mean "
        "off nor the decoder put it back. PCA's maps are affine: each needs its bias."
    ),
    "pca_reshaped": (
        "Your encoder's kernel holds the numbers of components, but in the wrong places: a "
        "reshape keeps their order, so it does not turn rows into columns. Entry j of x W is "
        "sum_i x_i W[i, j]; entry j of C x is sum_i C[j, i] x_i. Which matrix must W be?"
    ),
    "pca_activation": (
        "PCA's encoder and decoder are affine maps, with no activation: a ReLU, say, sets "
        "every negative code coordinate to 0. Leave the Dense layers linear (the default)."
    ),
    "pca_dense_only": (
        "The encoder and the decoder are each one Dense layer, and that layer computes the "
        "map: x W + b with W and b set from mu and C. Layers that compute it beside or after "
        "the Dense layer (a Lambda, an Add) hide what the Dense layer holds."
    ),
    "pca_untied": (
        "The autoencoder must reuse the encoder and the decoder, as in Exercise 1 "
        "(call them on a new keras.Input). New layers given the same numbers hold other "
        "weights: training the autoencoder would move them and leave the encoder's alone."
    ),
    "cosines_shape": (
        "subspace_cosines(a, b) returns one number per principal angle: k of them for two "
        "k-dimensional subspaces, as a vector of shape (k,)."
    ),
    "cosines_matrix": (
        "This is a k x k matrix: the cosines are its singular values, not its entries."
    ),
    "cosines_not_orthonormal": (
        "The cosines of the same subspace, given by other rows, should all be 1. The rows of "
        "a and b are not orthonormal (nor of length 1), so a @ b.T mixes the angles with the "
        "rows' lengths and their angles to each other. Find an orthonormal basis of each "
        "subspace first: np.linalg.qr of a (D, k) matrix gives one, as the columns of Q."
    ),
    "cosines_qr_of_rows": (
        "Orthogonal subspaces should give cosines 0, and yours are 1. The Q of "
        "np.linalg.qr(a) for a of shape (k, D) is a k x k matrix: an orthonormal basis of "
        "R^k, not of the subspace of R^D that the rows span. The basis vectors should be "
        "columns of length D."
    ),
    "cosines_angles": (
        "These look like the angles themselves (0 for the same subspace): return their "
        "cosines, which are the singular values themselves, without an arccos."
    ),
    "cosines_increasing": (
        "The values are right but in increasing order: return them in decreasing order, "
        "the largest cosine (the smallest angle) first. np.linalg.svd already sorts them so."
    ),
    "cosines_squared": (
        "These are the squares of the cosines: the eigenvalues of M M^T are the squared "
        "singular values of M. Take the singular values of Qa^T Qb instead (or the square "
        "roots)."
    ),
}

# What a few activations would do to the code, for the message on a code layer that has one.
CODE_ACTIVATION_EFFECTS = {
    "relu": "A ReLU makes every negative code coordinate 0 and throws away half the code space.",
    "sigmoid": "A sigmoid squeezes every code coordinate into (0, 1).",
    "tanh": "A tanh squeezes every code coordinate into (-1, 1).",
    "softmax": "A softmax makes the code coordinates positive and sum to 1.",
}


# ----------------------------------------------------------------------- build_autoencoder


def describe_call(input_dim, hidden_dims, code_dim) -> str:
    return f"build_autoencoder({input_dim}, {list(hidden_dims)}, {code_dim})"


def build(build_autoencoder, input_dim, hidden_dims, code_dim):
    """Call the student's `build_autoencoder`; return its three models, each built."""
    import keras

    what = describe_call(input_dim, hidden_dims, code_dim)
    result = call_student(build_autoencoder, input_dim, list(hidden_dims), code_dim, what=what)
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        fail(f"{what} returned {type_name(result)}. {HINTS['not_three_models']}")
    for name, model in zip(("encoder", "decoder", "autoencoder"), result):
        if not isinstance(model, keras.Model):
            fail(
                f"{what}: the {name} is a {type_name(model)}, not a keras Model. "
                f"{HINTS['not_three_models']}"
            )
    for model, width in zip(result, (input_dim, code_dim, input_dim)):
        if not model.built:
            # A Sequential model without keras.Input is built by its first call; the shape
            # check reports it if that call fails.
            try:
                call_student(model, np.zeros((1, width), np.float32), what=what)
            except AssertionError:
                pass
    return tuple(result)


def output_of(model, x, name, what):
    """The model's output on `x` as a float64 array."""
    return to_numpy(call_student(model, x, what=f"{what}: the {name}"), f"{what}: the {name}")


@kernel_side
def gradients_by_part(encoder, decoder, autoencoder, x, what):
    """{"encoder": [...], "decoder": [...]}: the gradients of a loss of the autoencoder's
    output on `x` with respect to each trainable weight of the encoder and of the decoder
    (None where none reaches it), as arrays."""
    import tensorflow as tf

    parts = (("encoder", encoder), ("decoder", decoder))
    weights = [w for _, model in parts for w in model.trainable_weights]
    with tf.GradientTape() as tape:
        x_decoded = call_student(autoencoder, tf.constant(x), what=f"{what}: the autoencoder")
        # Any loss of the output will do, and this one needs no particular output shape.
        loss = tf.reduce_mean(tf.square(tf.cast(x_decoded, tf.float32) - 0.5))
    found = [None if g is None else np.asarray(g) for g in tape.gradient(loss, weights)]
    result, start = {}, 0
    for name, model in parts:
        result[name] = found[start : start + len(model.trainable_weights)]
        start += len(model.trainable_weights)
    return result


def _input_width(model):
    """The input width a model declares (its keras.Input), or None if it declares none."""
    try:
        return model.inputs[0].shape[-1]
    except (AttributeError, IndexError, TypeError, ValueError):
        return None


def _shape_hint(width, expected, input_dim, hidden_dims):
    if width == MNIST_PIXELS and expected != MNIST_PIXELS:
        return HINTS["hard_coded"]
    if hidden_dims and width == hidden_dims[0] and expected == input_dim:
        return HINTS["missing_output_layer"]
    return ""


def check_ae_shapes_at(build_autoencoder, input_dim, hidden_dims, code_dim, batch_size=5):
    """Encoder, decoder and autoencoder map batches between the right widths."""
    encoder, decoder, autoencoder = build(build_autoencoder, input_dim, hidden_dims, code_dim)
    what = describe_call(input_dim, hidden_dims, code_dim)
    rng = fixed_rng(f"shapes-{input_dim}-{code_dim}")
    x = rng.random((batch_size, input_dim)).astype(np.float32)
    z = rng.normal(size=(batch_size, code_dim)).astype(np.float32)
    check_widths(
        (encoder, decoder, autoencoder),
        x,
        z,
        (code_dim, input_dim, input_dim),
        what,
        output_of,
        width_hint=lambda declared: HINTS["hard_coded"] if declared == MNIST_PIXELS else "",
        shape_hint=lambda out, width: _shape_hint(
            out.shape[-1] if out.ndim else None, width, input_dim, hidden_dims
        ),
    )


def check_widths(models, x, z, widths, what, outputs_of, width_hint, shape_hint):
    """The encoder takes x, the decoder z and the autoencoder x (if they declare a width), and
    each maps its batch to (batch_size, its width in `widths`); else fail with the hints,
    `width_hint(declared width)` and `shape_hint(output, expected width)`."""
    batch_size = len(x)
    for name, model, inputs, width in zip(("encoder", "decoder", "autoencoder"), models,
                                          (x, z, x), widths):  # fmt: skip
        declared = _input_width(model)
        if declared is not None and declared != inputs.shape[1]:
            fail(
                f"{what}: the {name} takes inputs of width {declared}; expected "
                f"{inputs.shape[1]}. {width_hint(declared)}"
            )
        out = outputs_of(model, inputs, name, what)
        if out.shape != (batch_size, width):
            fail(
                f"{what}: the {name} maps a batch of shape {inputs.shape} to shape {out.shape}; "
                f"expected {(batch_size, width)}. {shape_hint(out, width)}"
            )


def check_ae_shapes(build_autoencoder):
    """Encoder: input_dim -> code_dim; decoder: code_dim -> input_dim; autoencoder: x -> x."""
    for sizes in AE_FIXTURES.values():
        check_ae_shapes_at(build_autoencoder, *sizes)
    passed("the encoder, decoder and autoencoder have the right input and output shapes.")


def _flat_layers(model):
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _flat_layers(layer)
        else:
            yield layer


def _activation_name(function) -> str:
    return str(getattr(function, "__name__", type_name(function))).lower()


def dense_layers(model) -> list[tuple[int, str]]:
    """(units, activation) of each Dense layer, in order.

    An activation layer (`layers.Activation`, `layers.ReLU`, ...) that follows a Dense layer
    counts as that layer's activation.
    """
    import keras

    separate = {keras.layers.ReLU: "relu", keras.layers.LeakyReLU: "leaky_relu",
                keras.layers.ELU: "elu", keras.layers.Softmax: "softmax"}  # fmt: skip
    found = []
    for layer in _flat_layers(model):
        if isinstance(layer, keras.layers.Dense):
            found.append([int(layer.units), _activation_name(layer.activation)])
            continue
        if isinstance(layer, keras.layers.Activation):
            name = _activation_name(layer.activation)
        elif layer.__class__ in separate:  # __class__: a stand-in's class, in the grader
            name = separate[layer.__class__]
        else:
            continue
        if found:
            found[-1][1] = name if found[-1][1] == "linear" else f"{found[-1][1]}+{name}"
    return [(units, activation) for units, activation in found]


def expected_widths(input_dim, hidden_dims, code_dim):
    """The Dense widths of (encoder, decoder) that the exercise asks for."""
    return [*hidden_dims, code_dim], [*reversed(hidden_dims), input_dim]


def check_ae_mirror_at(build_autoencoder, input_dim, hidden_dims, code_dim):
    """The encoder's Dense layers are hidden_dims then code_dim; the decoder mirrors them."""
    encoder, decoder, _ = build(build_autoencoder, input_dim, hidden_dims, code_dim)
    what = describe_call(input_dim, hidden_dims, code_dim)
    encoder_widths, decoder_widths = expected_widths(input_dim, hidden_dims, code_dim)
    for name, model, expected in (("encoder", encoder, encoder_widths),
                                  ("decoder", decoder, decoder_widths)):  # fmt: skip
        widths = [units for units, _ in dense_layers(model)]
        if widths == expected:
            continue
        if MNIST_PIXELS in widths and MNIST_PIXELS not in expected:
            hint = HINTS["hard_coded"]
        elif name == "decoder" and widths == [*hidden_dims, input_dim]:
            hint = HINTS["not_mirrored"]
        elif name == "decoder" and widths and widths[-1] != input_dim:
            hint = HINTS["missing_output_layer"]
        else:
            hint = (
                "The encoder has one Dense layer per entry of hidden_dims, then one of "
                "code_dim units; the decoder has the same hidden layers in reverse order, "
                "then one of input_dim units."
            )
        fail(f"{what}: the {name}'s Dense layers have widths {widths}; expected {expected}. {hint}")


def check_ae_mirror(build_autoencoder):
    """The layer widths: hidden_dims, then the code; the decoder in reverse order."""
    for sizes in AE_FIXTURES.values():
        check_ae_mirror_at(build_autoencoder, *sizes)
    passed("the decoder's layers mirror the encoder's.")


def check_ae_activations_at(build_autoencoder, input_dim, hidden_dims, code_dim):
    """ReLU hidden layers, a linear code layer and a sigmoid output layer."""
    encoder, decoder, _ = build(build_autoencoder, input_dim, hidden_dims, code_dim)
    what = describe_call(input_dim, hidden_dims, code_dim)
    for name, model, last, last_hint in (
        ("encoder", encoder, "linear", "code_activation"),
        ("decoder", decoder, "sigmoid", "output_activation"),
    ):
        found = dense_layers(model)
        if not found:
            fail(f"{what}: the {name} has no Dense layer. Build it from layers.Dense.")
        activations = [activation for _, activation in found]
        if activations[-1] != last:
            effect = CODE_ACTIVATION_EFFECTS.get(activations[-1], "") if name == "encoder" else ""
            fail(
                f"{what}: the {name}'s last Dense layer has activation '{activations[-1]}'; "
                f"expected '{last}'. {HINTS[last_hint]} {effect}"
            )
        if any(activation != "relu" for activation in activations[:-1]):
            fail(
                f"{what}: the {name}'s hidden layers have activations {activations[:-1]}. "
                f"{HINTS['hidden_activation']}"
            )
    # What the layers do must agree with what they say: a linear code takes negative values
    # (a ReLU code never does), and a sigmoid output stays in [0, 1] even for huge codes.
    # Batches of 6, as the composition check feeds them: an encoder cannot tell them apart.
    # The inputs are spread out and of both signs: on images in [0, 1], which all look alike to
    # a fresh network, a correct linear code of one or two coordinates is often positive on
    # every image (2% of correct models at the hidden check's random sizes, simulated); on 48
    # such inputs none of 300 was. (A model built for another width, e.g. 784 written in,
    # loses its points in the shape check; it is not run here.)
    rng = fixed_rng(f"activations-{input_dim}-{code_dim}")
    if _input_width(encoder) not in (None, input_dim) or _input_width(decoder) not in (
        None,
        code_dim,
    ):
        return
    codes = np.concatenate([
        output_of(encoder, (3.0 * rng.standard_normal((6, input_dim))).astype(np.float32),
                  "encoder", what)
        for _ in range(8)
    ])  # fmt: skip
    if codes.size and codes.min() >= 0 and codes.max() > 0:
        fail(f"{what}: on 48 random inputs no code coordinate is negative, as if the code "
             f"layer had a ReLU. {HINTS['code_activation']}")  # fmt: skip
    large = (1e3 * rng.standard_normal((6, code_dim))).astype(np.float32)
    images = output_of(decoder, large, "decoder", what)
    if images.size and (images.min() < 0 or images.max() > 1):
        fail(f"{what}: for large codes the decoder's outputs run from {images.min():.3g} to "
             f"{images.max():.3g}, outside [0, 1]. {HINTS['output_activation']}")  # fmt: skip


def check_ae_activations(build_autoencoder):
    """ReLU hidden layers, a linear code and a sigmoid output."""
    for key in ("small", "three_hidden"):
        check_ae_activations_at(build_autoencoder, *AE_FIXTURES[key])
    passed("ReLU hidden layers, a linear code layer and a sigmoid output layer.")


def check_ae_composition_at(build_autoencoder, input_dim, hidden_dims, code_dim):
    """autoencoder(x) is decoder(encoder(x)) and owns exactly their weights."""
    encoder, decoder, autoencoder = build(build_autoencoder, input_dim, hidden_dims, code_dim)
    what = describe_call(input_dim, hidden_dims, code_dim)
    x = fixed_rng(f"composition-{input_dim}").random((6, input_dim)).astype(np.float32)
    direct = output_of(autoencoder, x, "autoencoder", what)
    two_step = output_of(decoder, output_of(encoder, x, "encoder", what).astype(np.float32),
                         "decoder", what)  # fmt: skip
    if direct.shape != two_step.shape or not np.allclose(direct, two_step, atol=COMPOSITION_ATOL):
        fail(f"{what}: autoencoder(x) differs from decoder(encoder(x)). {HINTS['not_composed']}")
    own = {id(v) for v in autoencoder.weights}
    parts = {id(v) for v in encoder.weights} | {id(v) for v in decoder.weights}
    if own != parts:
        fail(
            f"{what}: the autoencoder's weights are not exactly the encoder's and the "
            f"decoder's. {HINTS['not_composed']}"
        )
    frozen = [name for name, model in (("encoder", encoder), ("decoder", decoder),
                                       ("autoencoder", autoencoder))
              if len(model.trainable_weights) < len(model.weights)]  # fmt: skip
    if frozen:
        fail(
            f"{what}: some of the {frozen[0]}'s weights are not trainable, so training the "
            f"autoencoder would not change them. {HINTS['frozen']}"
        )


def check_ae_composition(build_autoencoder):
    """The autoencoder is the decoder applied to the encoder, with shared weights."""
    check_ae_composition_at(build_autoencoder, *AE_FIXTURES["small"])
    check_ae_composition_at(build_autoencoder, *AE_FIXTURES["one_hidden"])
    passed("the autoencoder is decoder(encoder(x)) and shares their weights.")


def parameter_counts(build_autoencoder, input_dim, hidden_dims, code_dim):
    """(encoder, decoder, autoencoder) parameter counts of the student's models."""
    models = build(build_autoencoder, input_dim, hidden_dims, code_dim)
    what = describe_call(input_dim, hidden_dims, code_dim)
    counts = []
    for name, model in zip(("encoder", "decoder", "autoencoder"), models):
        try:
            counts.append(int(model.count_params()))
        except ValueError as error:  # an unbuilt model cannot count its weights
            fail(
                f"{what}: the {name}'s parameters cannot be counted ({error}). Start it with "
                "keras.Input so that Keras knows the input width."
            )
    return tuple(counts)


def compare_parameters(counts, expected, mistakes, what):
    """Fail unless the encoder and decoder have the `expected` counts and the autoencoder both.

    counts: the student's (encoder, decoder, autoencoder) counts; expected: a dict with keys
    "encoder" and "decoder"; mistakes: hint -> the counts that mistake gives (or None).
    """
    encoder_count, decoder_count, autoencoder_count = counts
    for name, count in (("encoder", encoder_count), ("decoder", decoder_count)):
        if count == expected[name]:
            continue
        matches = [hint for hint, value in mistakes.items()
                   if value and (value["encoder"], value["decoder"]) == counts[:2]]  # fmt: skip
        hint = HINTS[matches[0]] if len(matches) == 1 else (
            "A Dense layer from a inputs to b units has (a + 1) * b parameters: check "
            "each layer's width, and that each layer has its bias."
        )  # fmt: skip
        fail(f"{what}: the {name} has {count:,} parameters; expected {expected[name]:,}. {hint}")
    if autoencoder_count != encoder_count + decoder_count:
        fail(
            f"{what}: the autoencoder has {autoencoder_count:,} parameters, but the encoder "
            f"and decoder have {encoder_count + decoder_count:,} together. It should hold "
            f"nothing but them. {HINTS['not_composed']}"
        )


def check_ae_parameters(build_autoencoder):
    """Parameter counts against the reference architecture."""
    reference = expected_values("nb01")["autoencoder"]
    for key, sizes in AE_FIXTURES.items():
        counts = parameter_counts(build_autoencoder, *sizes)
        compare_parameters(counts, reference[key], reference[key]["mistakes"],
                           describe_call(*sizes))  # fmt: skip
    passed("the parameter counts match the reference architecture.")


# ----------------------------------------------------------------------------- pca_fit


def make_pca_inputs(rng, n_samples, n_features):
    """Data of shape (n_samples, n_features), float32, with exactly known principal directions.

    x = offset + Q diag(s) V^T, where Q has orthonormal, zero-mean columns, V is a random
    rotation and the singular values s shrink by a factor 0.75 from one to the next. So the
    mean of x is `offset`, far from 0, and the principal directions are the columns of V,
    each well separated from the next. Needs n_samples > n_features.
    """
    noise = rng.normal(size=(n_samples, n_features))
    q, _ = np.linalg.qr(noise - noise.mean(axis=0))
    v, _ = np.linalg.qr(rng.normal(size=(n_features, n_features)))
    singular_values = 10.0 * 0.75 ** np.arange(n_features)
    offset = rng.uniform(1.0, 3.0, size=n_features)
    return (offset + (q * singular_values) @ v.T).astype(np.float32)


def pca_fixture(name: str):
    """(x, n_components) of the visible check `name` (see `PCA_FIXTURES`)."""
    n_samples, n_features, n_components = PCA_FIXTURES[name]
    return make_pca_inputs(fixed_rng(f"pca-{name}"), n_samples, n_features), n_components


def fit(pca_fit, x, n_components):
    """Call the student's `pca_fit`; return (mean, components) as float64 arrays."""
    what = f"pca_fit(x, {n_components}) with x of shape {x.shape}"
    x_given = x.copy()
    result = call_student(pca_fit, x_given, n_components, what=what)
    if not np.array_equal(x_given, x):
        fail(f"{what}: x is not the same after the call. {HINTS['in_place']}")
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        fail(f"{what} returned {type_name(result)}. {HINTS['not_two_arrays']}")
    return to_numpy(result[0], f"{what}: mean"), to_numpy(result[1], f"{what}: components")


def shape_problem(mean, components, x, n_components):
    """A sentence on what is wrong with the shapes, or None if they are right."""
    n_samples, n_features = x.shape
    if mean.size != n_features:
        return (f"mean has shape {mean.shape}; expected ({n_features},), the mean of each "
                "feature (column) over the examples: np.mean(x, axis=0).")  # fmt: skip
    if components.shape == (n_components, n_features):
        return None
    hints = {
        (n_components, n_samples): HINTS["columns_of_u"],
        (n_features, n_components): HINTS["transposed"],
        (min(n_samples, n_features), n_features): HINTS["all_components"],
    }
    return (f"components has shape {components.shape}; expected "
            f"{(n_components, n_features)}. {hints.get(components.shape, '')}")  # fmt: skip


def check_pca_shapes(pca_fit):
    """mean: (n_features,); components: (n_components, n_features)."""
    for n_samples, n_features, n_components in PCA_SHAPE_SIZES:
        x = make_pca_inputs(fixed_rng(f"pca-shapes-{n_features}"), n_samples, n_features)
        mean, components = fit(pca_fit, x, n_components)
        problem = shape_problem(mean, components, x, n_components)
        if problem:
            fail(f"pca_fit(x, {n_components}) with x of shape {x.shape}: {problem}")
    passed("mean has shape (n_features,) and components (n_components, n_features).")


def orthonormality_problem(components):
    """A sentence on how the rows fail to be orthonormal, or None if they are orthonormal."""
    if components.ndim != 2:
        return f"components should be a 2-D array; it has shape {components.shape}."
    gram = components @ components.T
    if np.allclose(gram, np.eye(len(gram)), atol=ORTHONORMAL_ATOL):
        return None
    lengths = np.sqrt(np.clip(np.diag(gram), 0.0, None))
    if not np.allclose(lengths, 1.0, atol=ORTHONORMAL_ATOL):
        return f"the rows have lengths {np.round(lengths, 4)}, not 1. {HINTS['scaled']}"
    return ("the rows are not orthogonal to each other. The rows of V^T from "
            "np.linalg.svd are.")  # fmt: skip


def check_pca_orthonormal(pca_fit):
    """The rows of components are orthonormal: components @ components.T is the identity."""
    x, n_components = pca_fixture("main")
    _, components = fit(pca_fit, x, n_components)
    problem = orthonormality_problem(components)
    if problem:
        fail(f"pca_fit: {problem}")
    passed("the components are orthonormal.")


def reconstruction_mse(x, mean, components):
    """Mean squared error of projecting x onto the components (through the given mean)."""
    x = np.asarray(x, np.float64)
    mean = np.asarray(mean, np.float64).reshape(-1)
    components = np.asarray(components, np.float64)
    codes = (x - mean) @ components.T
    return float(np.mean((x - mean - codes @ components) ** 2))


def code_variances(x, mean, components):
    """Variance of the data along each component, shape (n_components,)."""
    x = np.asarray(x, np.float64)
    mean = np.asarray(mean, np.float64).reshape(-1)
    return np.var((x - mean) @ np.asarray(components, np.float64).T, axis=0)


def compare_subspace(x, mean, components, reference, mistakes, where):
    """Fail unless mean and the subspace of components give the reference reconstruction."""
    n_components = reference["n_components"]
    problem = shape_problem(mean, components, x, n_components)
    if problem:
        fail(f"pca_fit {where}: {problem}")
    expected_mean = np.asarray(reference["mean"])
    if not np.allclose(mean.reshape(-1), expected_mean, atol=MEAN_ATOL):
        fail(f"pca_fit {where}: mean is not the mean of the rows of x: use np.mean(x, axis=0).")
    value = reconstruction_mse(x, expected_mean, components)
    expected = reference["reconstruction_mse"]
    if close(value, expected, PCA_RTOL, PCA_ATOL):
        return
    mistake = diagnose(value, mistakes, PCA_RTOL, PCA_ATOL)
    hint = HINTS[mistake] if mistake else (
        "Centre x, take its SVD (np.linalg.svd(x - mean, full_matrices=False)) and keep "
        "the first n_components rows of V^T."
    )  # fmt: skip
    fail(
        f"pca_fit {where}: projecting x onto your components leaves a mean squared error of "
        f"{value:.6g}; the best {n_components} directions leave {expected:.6g}. {hint}"
    )


def check_pca_subspace(pca_fit):
    """The mean is right and the components span the top principal subspace."""
    reference = expected_values("nb01")["pca"]["main"]
    x, n_components = pca_fixture("main")
    mean, components = fit(pca_fit, x, n_components)
    compare_subspace(x, mean, components, reference, reference["mistakes"], "on a fixed dataset")
    passed("the components span the directions of largest variance.")


def compare_order(x, components, reference, where):
    """Fail unless the variance along each component is the reference's, in order."""
    n_components = reference["n_components"]
    if components.shape != (n_components, x.shape[1]):
        fail(f"pca_fit {where}: {shape_problem(np.zeros(x.shape[1]), components, x, n_components)}")
    variances = code_variances(x, reference["mean"], components)
    expected = np.asarray(reference["code_variances"])
    if np.allclose(variances, expected, rtol=PCA_RTOL, atol=PCA_ATOL):
        return
    if np.allclose(np.sort(variances)[::-1], expected, rtol=PCA_RTOL, atol=PCA_ATOL):
        hint = HINTS["ascending"]
    else:
        hint = "The variances should be the n_components largest, in decreasing order."
    fail(
        f"pca_fit {where}: the variances of the data along your components are "
        f"{np.round(variances, 4)}; expected {np.round(expected, 4)}. {hint}"
    )


def check_pca_order(pca_fit):
    """Component i is the direction of the i-th largest variance (up to sign)."""
    reference = expected_values("nb01")["pca"]["main"]
    x, n_components = pca_fixture("main")
    _, components = fit(pca_fit, x, n_components)
    compare_order(x, components, reference, "on a fixed dataset")
    passed("the components come in decreasing order of variance.")


# --------------------------------------------------------------------- pca_autoencoder

# (n_components, n_features) of the shape checks. In the last one the components are square,
# so a kernel that is not transposed still fits: the shapes must not depend on luck.
PCA_AE_SHAPE_SIZES = ((4, 12), (1, 7), (6, 6))
# (n_components, n_features) of the visible value checks (see `pca_ae_fixture`).
PCA_AE_FIXTURES = {"main": (4, 12)}
PCA_AE_BATCH = 6

# A float32 Dense layer of these widths gives C(x - mu) to about 1e-6 of the size of the
# values, which is at most about 10 here; every known mistake moves some output by more than
# 0.1. The linearity check compares f(x1 + x2) - f(0) with (f(x1) - f(0)) + (f(x2) - f(0))
# relative to the largest output, which float32 rounding keeps below 1e-6; a ReLU anywhere
# makes it of order 1.
PCA_AE_RTOL = 1e-4
PCA_AE_ATOL = 1e-4
LINEARITY_RTOL = 1e-4


def make_pca_autoencoder_inputs(rng, n_components, n_features):
    """(mean, components, x, z), float64: a random mean (n_features,) in [0.2, 1], random
    orthonormal components (n_components, n_features), images x (6, n_features) in [0, 1]
    and codes z (6, n_components) of both signs."""
    q, _ = np.linalg.qr(rng.normal(size=(n_features, n_components)))
    mean = rng.uniform(0.2, 1.0, size=n_features)
    x = rng.uniform(0.0, 1.0, size=(PCA_AE_BATCH, n_features))
    z = rng.normal(scale=2.0, size=(PCA_AE_BATCH, n_components))
    return mean, q.T, x, z


def pca_ae_fixture(name: str):
    """(mean, components, x, z) of the visible check `name` (see `PCA_AE_FIXTURES`)."""
    return make_pca_autoencoder_inputs(fixed_rng(f"pca-ae-{name}"), *PCA_AE_FIXTURES[name])


def describe_pca_call(components) -> str:
    return f"pca_autoencoder(mean, components) with components of shape {np.shape(components)}"


def build_pca(pca_autoencoder, mean, components):
    """Call the student's `pca_autoencoder`; return its three models, each built."""
    import keras

    what = describe_pca_call(components)
    result = call_student(pca_autoencoder, mean.copy(), components.copy(), what=what)
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        fail(f"{what} returned {type_name(result)}. {HINTS['pca_not_three_models']}")
    for name, model in zip(("encoder", "decoder", "autoencoder"), result):
        if not isinstance(model, keras.Model):
            fail(f"{what}: the {name} is a {type_name(model)}, not a keras Model. "
                 f"{HINTS['pca_not_three_models']}")  # fmt: skip
    n_components, n_features = components.shape
    for model, width in zip(result, (n_features, n_components, n_features)):
        if not model.built:
            try:
                call_student(model, np.zeros((1, width), np.float32), what=what)
            except AssertionError:
                pass  # the shape check reports it
    return tuple(result)


def pca_outputs(model, inputs, name, what):
    """The model's output on `inputs` (given as float32, as a Keras model takes them)."""
    return output_of(model, np.asarray(inputs, np.float32), name, what)


def check_pca_ae_shapes_at(pca_autoencoder, n_components, n_features, dtype=np.float32,
                           batch_size=5):  # fmt: skip
    """Encoder: n_features -> n_components; decoder: back; autoencoder: x -> x."""
    rng = fixed_rng(f"pca-ae-shapes-{n_components}-{n_features}")
    mean, components, _, _ = make_pca_autoencoder_inputs(rng, n_components, n_features)
    mean, components = mean.astype(dtype), components.astype(dtype)
    encoder, decoder, autoencoder = build_pca(pca_autoencoder, mean, components)
    what = describe_pca_call(components)
    x = rng.uniform(0.0, 1.0, size=(batch_size, n_features))
    z = rng.normal(size=(batch_size, n_components))
    check_widths((encoder, decoder, autoencoder), x, z, (n_components, n_features, n_features),
                 what, pca_outputs, width_hint=lambda declared: HINTS["pca_widths"],
                 shape_hint=lambda out, width: HINTS["pca_widths"])  # fmt: skip


def check_pca_ae_shapes(pca_autoencoder):
    """The three models map between the right widths, at several sizes."""
    for sizes in PCA_AE_SHAPE_SIZES:
        check_pca_ae_shapes_at(pca_autoencoder, *sizes)
    passed("the encoder, decoder and autoencoder have the right input and output shapes.")


def compare_pca_maps(pca_autoencoder, mean, components, x, z, expected, mistakes, where):
    """Fail unless the encoder gives PCA's codes of x and the decoder PCA's reconstructions
    of z. expected: {"codes": ..., "reconstructions": ...}; mistakes: hint -> the same for
    each known mistake, so that a failure can name it."""
    encoder, decoder, _ = build_pca(pca_autoencoder, mean, components)
    what = f"{describe_pca_call(components)} {where}"
    codes = pca_outputs(encoder, x, "encoder", what)
    reconstructions = pca_outputs(decoder, z, "decoder", what)
    wanted = np.asarray(expected["codes"]), np.asarray(expected["reconstructions"])
    for name, found, target in (("encoder", codes, wanted[0]),
                                ("decoder", reconstructions, wanted[1])):  # fmt: skip
        if found.shape != target.shape:
            fail(f"{what}: the {name} gives outputs of shape {found.shape}; expected "
                 f"{target.shape}. {HINTS['pca_widths']}")  # fmt: skip
    right = [close(found, target, PCA_AE_RTOL, PCA_AE_ATOL)
             for found, target in zip((codes, reconstructions), wanted)]  # fmt: skip
    if all(right):
        return
    both = np.concatenate([codes.ravel(), reconstructions.ravel()])
    candidates = {hint: np.concatenate([np.ravel(value["codes"]),
                                        np.ravel(value["reconstructions"])])
                  for hint, value in mistakes.items()}  # fmt: skip
    mistake = diagnose(both, candidates, PCA_AE_RTOL, PCA_AE_ATOL)
    name = "encoder" if not right[0] else "decoder"
    found, target = (codes, wanted[0]) if not right[0] else (reconstructions, wanted[1])
    formula = "C(x - mu)" if name == "encoder" else "C^T z + mu"
    hint = HINTS[mistake] if mistake else HINTS[f"pca_{name}"]
    fail(f"{what}: the {name}'s outputs differ from PCA's {formula} by up to "
         f"{np.max(np.abs(found - target)):.3g}. {hint}")  # fmt: skip


def check_pca_ae_maps(pca_autoencoder):
    """The encoder computes C(x - mu) and the decoder C^T z + mu, on a fixed example."""
    reference = expected_values("nb01")["pca_autoencoder"]["main"]
    mean, components, x, z = pca_ae_fixture("main")
    compare_pca_maps(pca_autoencoder, mean, components, x, z, reference,
                     reference["mistakes"], "on a fixed example")  # fmt: skip
    passed("the encoder computes C(x - mu) and the decoder C^T z + mu.")


def compose_dense(model, inputs, name, what):
    """inputs passed through x W + b of each of the model's Dense layers in turn, in float64
    NumPy, with the kernels and biases the layers hold."""
    import keras

    out = np.asarray(inputs, np.float64)
    for layer in _flat_layers(model):
        if not isinstance(layer, keras.layers.Dense):
            continue
        weights = call_student(layer.get_weights, what=what)
        try:
            arrays = [np.asarray(w, np.float64) for w in weights]
        except (TypeError, ValueError):
            arrays = []
        kernel, bias = (arrays + [np.zeros(1)])[:2] if len(arrays) in (1, 2) else (None, None)
        if (kernel is None or kernel.ndim != 2 or kernel.shape[0] != out.shape[1]
                or bias.shape not in ((1,), (kernel.shape[1],))):  # fmt: skip
            fail(f"{what}: a Dense layer of the {name} does not hold a kernel that takes "
                 f"{out.shape[1]} inputs. {HINTS['pca_widths']}")  # fmt: skip
        out = out @ kernel + bias
    return out


def check_pca_ae_structure_at(pca_autoencoder, n_components, n_features, rng=None):
    """Linear layers only (no activation), and an autoencoder that is the decoder applied to
    the encoder, sharing their weights."""
    rng = rng if rng is not None else fixed_rng(f"pca-ae-structure-{n_features}")
    mean, components, x, _ = make_pca_autoencoder_inputs(rng, n_components, n_features)
    encoder, decoder, autoencoder = build_pca(pca_autoencoder, mean, components)
    what = describe_pca_call(components)
    for name, model in (("encoder", encoder), ("decoder", decoder)):
        found = dense_layers(model)
        if not found:
            fail(f"{what}: the {name} has no Dense layer. Build it from layers.Dense.")
        activations = [activation for _, activation in found if activation != "linear"]
        if activations:
            fail(f"{what}: the {name}'s Dense layer has activation '{activations[0]}'. "
                 f"{HINTS['pca_activation']}")  # fmt: skip
    # The maps must be the Dense layers' own: x W + b through each in turn gives the model's
    # output. A Lambda (or any other layer) that computes the map beside or after a Dense
    # layer fails here, whatever its Dense layers hold.
    for name, model, width in (("encoder", encoder, n_features),
                               ("decoder", decoder, n_components)):  # fmt: skip
        inputs = rng.uniform(0.0, 1.0, size=(PCA_AE_BATCH, width))
        composed = compose_dense(model, inputs, name, what)
        out = pca_outputs(model, inputs, name, what)
        if composed.shape != out.shape or not close(out, composed, PCA_AE_RTOL, PCA_AE_ATOL):
            fail(
                f"{what}: the {name}'s outputs are not what its Dense layers compute "
                f"(x W + b with their own kernels and biases). {HINTS['pca_dense_only']}"
            )
    # What the layers do must agree with what they say, whatever computes it: an affine map
    # f has f(x1 + x2) - f(0) = (f(x1) - f(0)) + (f(x2) - f(0)).
    for name, model, width in (("encoder", encoder, n_features),
                               ("decoder", decoder, n_components)):  # fmt: skip
        first, second = 3.0 * rng.standard_normal((2, PCA_AE_BATCH, width))
        inputs = np.concatenate([first, second, first + second, np.zeros_like(first)])
        out = pca_outputs(model, inputs, name, what).reshape(4, PCA_AE_BATCH, -1)
        gap = np.max(np.abs(out[2] - out[0] - out[1] + out[3]))
        if gap > LINEARITY_RTOL * max(1.0, np.max(np.abs(out))):
            fail(f"{what}: the {name} is not an affine map: f(x1 + x2) - f(0) differs from "
                 f"(f(x1) - f(0)) + (f(x2) - f(0)) by up to {gap:.3g}. "
                 f"{HINTS['pca_activation']}")  # fmt: skip
    direct = pca_outputs(autoencoder, x, "autoencoder", what)
    two_step = pca_outputs(decoder, pca_outputs(encoder, x, "encoder", what), "decoder", what)
    if direct.shape != two_step.shape or not close(direct, two_step, PCA_AE_RTOL, PCA_AE_ATOL):
        fail(f"{what}: autoencoder(x) differs from decoder(encoder(x)). {HINTS['pca_untied']}")
    own = {id(v) for v in autoencoder.weights}
    parts = {id(v) for v in encoder.weights} | {id(v) for v in decoder.weights}
    if own != parts:
        fail(f"{what}: the autoencoder's weights are not exactly the encoder's and the "
             f"decoder's. {HINTS['pca_untied']}")  # fmt: skip


def check_pca_ae_structure(pca_autoencoder):
    """Linear layers, and an autoencoder made of the encoder and decoder themselves."""
    check_pca_ae_structure_at(pca_autoencoder, *PCA_AE_FIXTURES["main"])
    passed("the layers are linear and the autoencoder is decoder(encoder(x)), sharing weights.")


# ---------------------------------------------------------------------- subspace_cosines

# (k, n_features) of the shape checks.
COSINE_SHAPE_SIZES = ((3, 10), (1, 5), (4, 9))
# (k, n_features) of the visible check against the reference (see `cosine_fixture`).
COSINE_FIXTURES = {"random": (3, 8)}
# Float64 QR and SVD of these small, well-conditioned matrices are exact to about 1e-12; a
# float32 computation to about 1e-6. Every known mistake moves a cosine of the fixtures by
# more than 0.05.
COSINE_ATOL = 1e-4


def random_invertible(rng, k):
    """A random k x k matrix, far from singular: I plus a random matrix of norm below 1/2."""
    m = rng.normal(size=(k, k))
    return np.eye(k) + 0.45 * m / np.linalg.norm(m, 2)


def spanning_rows(rng, basis):
    """Rows (k, D) that span the same subspace as the orthonormal rows `basis` (k, D), but are
    neither orthogonal to each other nor of length 1."""
    k = len(basis)
    scales = rng.uniform(0.5, 3.0, size=(k, 1))
    return scales * (random_invertible(rng, k) @ basis)


def cosine_fixture(name: str):
    """(a, b) of the visible check `name`: two random subspaces of R^D, at angles spread over
    (0, 90) degrees, each given by rows that are not orthonormal."""
    rng = fixed_rng(f"cosines-{name}")
    return make_cosine_inputs(rng, *COSINE_FIXTURES[name])


def make_cosine_inputs(rng, k, n_features):
    """(a, b), each (k, n_features): b is a plus noise of its own size, so the cosines spread
    out between 0 and 1."""
    a = rng.normal(size=(k, n_features))
    b = random_invertible(rng, k) @ (a + rng.normal(size=(k, n_features)))
    return a, b


def cosines_of(subspace_cosines, a, b, what):
    """The student's cosines as a float64 array, checked for shape (k,)."""
    value = to_numpy(call_student(subspace_cosines, a.copy(), b.copy(), what=what), what)
    k = len(a)
    if value.shape == (k, k) and k > 1:
        fail(f"{what} returned an array of shape {value.shape}; expected ({k},). "
             f"{HINTS['cosines_matrix']}")  # fmt: skip
    if value.shape != (k,):
        fail(f"{what} returned an array of shape {value.shape}; expected ({k},). "
             f"{HINTS['cosines_shape']}")  # fmt: skip
    return value


def describe_cosines_call(a) -> str:
    return f"subspace_cosines(a, b) for a and b of shape {a.shape}"


def check_cosines_extremes_at(subspace_cosines, k, n_features, rng=None):
    """Shape (k,); the same subspace through other rows gives ones; orthogonal ones zeros."""
    rng = rng if rng is not None else fixed_rng(f"cosines-extremes-{k}-{n_features}")
    basis, _ = np.linalg.qr(rng.normal(size=(n_features, 2 * k)))
    first, second = basis[:, :k].T, basis[:, k:].T
    a = spanning_rows(rng, first)
    what = describe_cosines_call(a)
    same = cosines_of(subspace_cosines, a, spanning_rows(rng, first), what)
    if not np.allclose(same, 1.0, atol=COSINE_ATOL):
        if np.allclose(same, 0.0, atol=COSINE_ATOL):
            hint = HINTS["cosines_angles"]
        else:
            hint = HINTS["cosines_not_orthonormal"]
        fail(f"{what}: b = R a for an invertible R spans the same subspace as a, so every "
             f"cosine should be 1; yours are {np.round(same, 4)}. {hint}")  # fmt: skip
    apart = cosines_of(subspace_cosines, a, spanning_rows(rng, second), what)
    if not np.allclose(apart, 0.0, atol=COSINE_ATOL):
        hint = HINTS["cosines_qr_of_rows"] if np.allclose(apart, 1.0, atol=COSINE_ATOL) else ""
        fail(f"{what}: every row of b is orthogonal to every row of a, so every cosine "
             f"should be 0; yours are {np.round(apart, 4)}. {hint}")  # fmt: skip


def check_cosines_extremes(subspace_cosines):
    """Shape (k,), ones for one subspace given twice, zeros for orthogonal subspaces."""
    for sizes in COSINE_SHAPE_SIZES:
        check_cosines_extremes_at(subspace_cosines, *sizes)
    passed("the same subspace gives cosines 1 and orthogonal subspaces give 0.")


def compare_cosines(value, expected, mistakes, what):
    """Fail unless `value` is `expected`, naming a known mistake where one matches."""
    expected = np.asarray(expected, np.float64)
    if close(value, expected, 0.0, COSINE_ATOL):
        return
    mistake = diagnose(value, mistakes, 0.0, COSINE_ATOL)
    if mistake is None and close(np.sort(value)[::-1], expected, 0.0, COSINE_ATOL):
        mistake = "cosines_increasing"
    hint = HINTS[mistake] if mistake else (
        "Take an orthonormal basis of each subspace, then the singular values of the matrix "
        "of their inner products."
    )  # fmt: skip
    fail(f"{what}: the cosines are {np.round(value, 4)}; expected {np.round(expected, 4)}. "
         f"{hint}")  # fmt: skip


def known_angle_mistakes(cosines) -> dict:
    """What two known mistakes give for a hand-worked case with these cosines."""
    cosines = np.asarray(cosines, np.float64)
    return {"cosines_squared": cosines**2, "cosines_angles": np.arccos(cosines)}


def check_cosines_values(subspace_cosines):
    """A fixed random pair against the reference, and hand-worked angles."""
    reference = expected_values("nb01")["cosines"]["random"]
    a, b = cosine_fixture("random")
    what = describe_cosines_call(a)
    compare_cosines(cosines_of(subspace_cosines, a, b, what), reference["cosines"],
                    reference["mistakes"], f"{what}, on a fixed random pair")  # fmt: skip
    # A line in the plane at 45 degrees to the first axis, given by a row of length 2.
    line, axis = np.array([[2.0, 2.0]]), np.array([[3.0, 0.0]])
    expected = [np.cos(np.pi / 4)]
    compare_cosines(cosines_of(subspace_cosines, line, axis, describe_cosines_call(line)),
                    expected, known_angle_mistakes(expected),
                    "subspace_cosines for the lines along (2, 2) and (3, 0), 45 degrees "
                    "apart")  # fmt: skip
    # In R^3, the plane of the first two axes, and the plane of the first axis and a line at
    # 60 degrees to the second axis: the principal angles are 0 and 60 degrees.
    sixty = np.pi / 3
    plane = np.array([[1.0, 1.0, 0.0], [1.0, -1.0, 0.0]])
    tilted = np.array([[0.0, np.cos(sixty), np.sin(sixty)], [2.0, 0.0, 0.0]])
    expected = [1.0, np.cos(sixty)]
    compare_cosines(cosines_of(subspace_cosines, plane, tilted, describe_cosines_call(plane)),
                    expected, known_angle_mistakes(expected),
                    "subspace_cosines for two planes in R^3 that share a line and are 60 "
                    "degrees apart across it")  # fmt: skip
    passed("the cosines of a random pair and of hand-worked angles are right, largest first.")
