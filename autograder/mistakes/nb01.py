"""Notebook 01: known mistakes in `build_autoencoder`, `pca_fit`, `pca_autoencoder` and
`subspace_cosines`, and acceptable variants.

The functions use the names a student's notebook has: `keras`, `layers` and `np`; one that
needs TensorFlow imports it, as a student would.
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
from keras import layers

from autograder.mistakes import Variant

AE_CELLS = ("ae_shapes", "ae_mirror", "ae_activations", "ae_composition", "ae_parameters")
PCA_CELLS = ("pca_shapes", "pca_orthonormal", "pca_subspace", "pca_order")
PCA_AE_CELLS = ("pca_ae_shapes", "pca_ae_maps", "pca_ae_structure")
COSINE_CELLS = ("cosines_extremes", "cosines_values")


# ------------------------------------------------------------------ build_autoencoder mistakes


def build_decoder_not_mirrored(input_dim, hidden_dims, code_dim):
    x = keras.Input(shape=(input_dim,))
    h = x
    for units in hidden_dims:
        h = layers.Dense(units, activation="relu")(h)
    encoder = keras.Model(x, layers.Dense(code_dim)(h))
    z = keras.Input(shape=(code_dim,))
    h = z
    for units in hidden_dims:
        h = layers.Dense(units, activation="relu")(h)
    decoder = keras.Model(z, layers.Dense(input_dim, activation="sigmoid")(h))
    inputs = keras.Input(shape=(input_dim,))
    return encoder, decoder, keras.Model(inputs, decoder(encoder(inputs)))


def build_hard_coded_784(input_dim, hidden_dims, code_dim):
    x = keras.Input(shape=(784,))
    h = x
    for units in hidden_dims:
        h = layers.Dense(units, activation="relu")(h)
    encoder = keras.Model(x, layers.Dense(code_dim)(h))
    z = keras.Input(shape=(code_dim,))
    h = z
    for units in reversed(hidden_dims):
        h = layers.Dense(units, activation="relu")(h)
    decoder = keras.Model(z, layers.Dense(784, activation="sigmoid")(h))
    inputs = keras.Input(shape=(784,))
    return encoder, decoder, keras.Model(inputs, decoder(encoder(inputs)))


def build_linear_output(input_dim, hidden_dims, code_dim):
    x = keras.Input(shape=(input_dim,))
    h = x
    for units in hidden_dims:
        h = layers.Dense(units, activation="relu")(h)
    encoder = keras.Model(x, layers.Dense(code_dim)(h))
    z = keras.Input(shape=(code_dim,))
    h = z
    for units in reversed(hidden_dims):
        h = layers.Dense(units, activation="relu")(h)
    decoder = keras.Model(z, layers.Dense(input_dim)(h))
    inputs = keras.Input(shape=(input_dim,))
    return encoder, decoder, keras.Model(inputs, decoder(encoder(inputs)))


def build_relu_code(input_dim, hidden_dims, code_dim):
    encoder = keras.Sequential(
        [keras.Input(shape=(input_dim,))]
        + [layers.Dense(units, activation="relu") for units in hidden_dims]
        + [layers.Dense(code_dim, activation="relu")]
    )
    decoder = keras.Sequential(
        [keras.Input(shape=(code_dim,))]
        + [layers.Dense(units, activation="relu") for units in reversed(hidden_dims)]
        + [layers.Dense(input_dim, activation="sigmoid")]
    )
    return encoder, decoder, keras.Sequential([encoder, decoder])


def build_sigmoid_hidden(input_dim, hidden_dims, code_dim):
    encoder = keras.Sequential(
        [keras.Input(shape=(input_dim,))]
        + [layers.Dense(units, activation="sigmoid") for units in hidden_dims]
        + [layers.Dense(code_dim)]
    )
    decoder = keras.Sequential(
        [keras.Input(shape=(code_dim,))]
        + [layers.Dense(units, activation="sigmoid") for units in reversed(hidden_dims)]
        + [layers.Dense(input_dim, activation="sigmoid")]
    )
    return encoder, decoder, keras.Sequential([encoder, decoder])


def build_separate_autoencoder(input_dim, hidden_dims, code_dim):
    def encoder_layers():
        return [layers.Dense(units, activation="relu") for units in hidden_dims] + [
            layers.Dense(code_dim)
        ]

    def decoder_layers():
        return [layers.Dense(units, activation="relu") for units in reversed(hidden_dims)] + [
            layers.Dense(input_dim, activation="sigmoid")
        ]

    encoder = keras.Sequential([keras.Input(shape=(input_dim,)), *encoder_layers()])
    decoder = keras.Sequential([keras.Input(shape=(code_dim,)), *decoder_layers()])
    autoencoder = keras.Sequential(
        [keras.Input(shape=(input_dim,)), *encoder_layers(), *decoder_layers()]
    )
    return encoder, decoder, autoencoder


def build_without_biases(input_dim, hidden_dims, code_dim):
    x = keras.Input(shape=(input_dim,))
    h = x
    for units in hidden_dims:
        h = layers.Dense(units, activation="relu", use_bias=False)(h)
    encoder = keras.Model(x, layers.Dense(code_dim, use_bias=False)(h))
    z = keras.Input(shape=(code_dim,))
    h = z
    for units in reversed(hidden_dims):
        h = layers.Dense(units, activation="relu", use_bias=False)(h)
    decoder = keras.Model(z, layers.Dense(input_dim, activation="sigmoid", use_bias=False)(h))
    inputs = keras.Input(shape=(input_dim,))
    return encoder, decoder, keras.Model(inputs, decoder(encoder(inputs)))


def build_forgets_output_layer(input_dim, hidden_dims, code_dim):
    x = keras.Input(shape=(input_dim,))
    h = x
    for units in hidden_dims:
        h = layers.Dense(units, activation="relu")(h)
    encoder = keras.Model(x, layers.Dense(code_dim)(h))
    z = keras.Input(shape=(code_dim,))
    h = z
    for units in reversed(hidden_dims):
        h = layers.Dense(units, activation="relu")(h)
    decoder = keras.Model(z, h)
    inputs = keras.Input(shape=(input_dim,))
    return encoder, decoder, keras.Model(inputs, decoder(encoder(inputs)))


def build_frozen_encoder(input_dim, hidden_dims, code_dim):
    x = keras.Input(shape=(input_dim,))
    h = x
    for units in hidden_dims:
        h = layers.Dense(units, activation="relu")(h)
    encoder = keras.Model(x, layers.Dense(code_dim)(h))
    encoder.trainable = False
    z = keras.Input(shape=(code_dim,))
    h = z
    for units in reversed(hidden_dims):
        h = layers.Dense(units, activation="relu")(h)
    decoder = keras.Model(z, layers.Dense(input_dim, activation="sigmoid")(h))
    inputs = keras.Input(shape=(input_dim,))
    return encoder, decoder, keras.Model(inputs, decoder(encoder(inputs)))


# ----------------------------------------------------------------------------- pca_fit mistakes


def pca_not_centred(x, n_components):
    mean = np.mean(x, axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    return mean, vt[:n_components]


def pca_columns_of_u(x, n_components):
    mean = np.mean(x, axis=0)
    u, _, _ = np.linalg.svd(x - mean, full_matrices=False)
    return mean, u[:, :n_components].T


def pca_smallest_components(x, n_components):
    mean = np.mean(x, axis=0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    return mean, vt[-n_components:]


def pca_columns_of_vt(x, n_components):
    mean = np.mean(x, axis=0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    return mean, vt[:, :n_components].T


def pca_eigh_ascending(x, n_components):
    mean = np.mean(x, axis=0)
    covariance = np.cov(x, rowvar=False)
    _, eigenvectors = np.linalg.eigh(covariance)
    return mean, eigenvectors[:, -n_components:].T


def pca_scaled_by_singular_values(x, n_components):
    mean = np.mean(x, axis=0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    return mean, s[:n_components, None] * vt[:n_components]


def pca_centres_in_place(x, n_components):
    mean = np.mean(x, axis=0)
    x -= mean
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    return mean, vt[:n_components]


# ---------------------------------------------------------------------- pca_autoencoder mistakes


def pca_ae_no_centring(mean, components):
    n_components, n_features = components.shape
    encoder = keras.Sequential([keras.Input(shape=(n_features,)), layers.Dense(n_components)])
    decoder = keras.Sequential([keras.Input(shape=(n_components,)), layers.Dense(n_features)])
    encoder.layers[0].set_weights([components.T, np.zeros(n_components)])
    decoder.layers[0].set_weights([components, mean])
    return encoder, decoder, keras.Sequential([encoder, decoder])


def pca_ae_bias_sign(mean, components):
    n_components, n_features = components.shape
    encoder = keras.Sequential([keras.Input(shape=(n_features,)), layers.Dense(n_components)])
    decoder = keras.Sequential([keras.Input(shape=(n_components,)), layers.Dense(n_features)])
    encoder.layers[0].set_weights([components.T, components @ mean])
    decoder.layers[0].set_weights([components, mean])
    return encoder, decoder, keras.Sequential([encoder, decoder])


def pca_ae_no_mean(mean, components):
    n_components, n_features = components.shape
    encoder = keras.Sequential([keras.Input(shape=(n_features,)), layers.Dense(n_components)])
    decoder = keras.Sequential([keras.Input(shape=(n_components,)), layers.Dense(n_features)])
    encoder.layers[0].set_weights([components.T, -components @ mean])
    decoder.layers[0].set_weights([components, np.zeros(n_features)])
    return encoder, decoder, keras.Sequential([encoder, decoder])


def pca_ae_no_biases(mean, components):
    n_components, n_features = components.shape
    encoder = keras.Sequential([keras.Input(shape=(n_features,)),
                                layers.Dense(n_components, use_bias=False)])  # fmt: skip
    decoder = keras.Sequential([keras.Input(shape=(n_components,)),
                                layers.Dense(n_features, use_bias=False)])  # fmt: skip
    encoder.layers[0].set_weights([components.T])
    decoder.layers[0].set_weights([components])
    return encoder, decoder, keras.Sequential([encoder, decoder])


def pca_ae_reshaped_kernel(mean, components):
    n_components, n_features = components.shape
    encoder = keras.Sequential([keras.Input(shape=(n_features,)), layers.Dense(n_components)])
    decoder = keras.Sequential([keras.Input(shape=(n_components,)), layers.Dense(n_features)])
    encoder.layers[0].set_weights([components.reshape(n_features, n_components),
                                   -components @ mean])  # fmt: skip
    decoder.layers[0].set_weights([components, mean])
    return encoder, decoder, keras.Sequential([encoder, decoder])


def pca_ae_relu_code(mean, components):
    n_components, n_features = components.shape
    encoder = keras.Sequential([keras.Input(shape=(n_features,)),
                                layers.Dense(n_components, activation="relu")])  # fmt: skip
    decoder = keras.Sequential([keras.Input(shape=(n_components,)), layers.Dense(n_features)])
    encoder.layers[0].set_weights([components.T, -components @ mean])
    decoder.layers[0].set_weights([components, mean])
    return encoder, decoder, keras.Sequential([encoder, decoder])


def pca_ae_untied(mean, components):
    n_components, n_features = components.shape
    encoder = keras.Sequential([keras.Input(shape=(n_features,)), layers.Dense(n_components)])
    decoder = keras.Sequential([keras.Input(shape=(n_components,)), layers.Dense(n_features)])
    encoder.layers[0].set_weights([components.T, -components @ mean])
    decoder.layers[0].set_weights([components, mean])
    autoencoder = keras.Sequential(
        [keras.Input(shape=(n_features,)), layers.Dense(n_components), layers.Dense(n_features)]
    )
    autoencoder.set_weights(encoder.get_weights() + decoder.get_weights())
    return encoder, decoder, autoencoder


def pca_ae_lambda_beside_dense(mean, components):
    """PCA's maps computed by Lambda layers, added to Dense layers that hold zeros."""
    n_components, n_features = components.shape
    kernel, bias = np.transpose(components).astype("float32"), -(components @ mean)
    x = keras.Input(shape=(n_features,))
    dense = layers.Dense(n_components, kernel_initializer="zeros")(x)
    code = layers.Add()([layers.Lambda(lambda v: keras.ops.matmul(v, kernel) + bias)(x), dense])
    encoder = keras.Model(x, code)
    z = keras.Input(shape=(n_components,))
    dense = layers.Dense(n_features, kernel_initializer="zeros")(z)
    back = layers.Lambda(lambda v: keras.ops.matmul(v, components.astype("float32")) + mean)(z)
    decoder = keras.Model(z, layers.Add()([back, dense]))
    inputs = keras.Input(shape=(n_features,))
    return encoder, decoder, keras.Model(inputs, decoder(encoder(inputs)))


def pca_ae_identity_then_lambda(mean, components):
    """Dense layers that pass their input on, and Lambda layers after them that do the work."""
    n_components, n_features = components.shape
    c = components.astype("float32")
    encoder = keras.Sequential([
        keras.Input(shape=(n_features,)),
        layers.Dense(n_features, kernel_initializer="identity"),
        layers.Lambda(lambda v: keras.ops.matmul(v - mean, keras.ops.transpose(c))),
    ])  # fmt: skip
    decoder = keras.Sequential([
        keras.Input(shape=(n_components,)),
        layers.Dense(n_components, kernel_initializer="identity"),
        layers.Lambda(lambda v: keras.ops.matmul(v, c) + mean),
    ])  # fmt: skip
    return encoder, decoder, keras.Sequential([encoder, decoder])


# What each known mistake computes, in float64 NumPy: (codes of x, reconstructions of z).
# tests/test_nb01.py proves each one against the Keras mistake it describes.
PCA_AE_MAPS = {
    "pca_no_centring": lambda mean, c, x, z: (x @ c.T, z @ c + mean),
    "pca_bias_sign": lambda mean, c, x, z: (x @ c.T + c @ mean, z @ c + mean),
    "pca_no_mean": lambda mean, c, x, z: ((x - mean) @ c.T, z @ c),
    "pca_no_biases": lambda mean, c, x, z: (x @ c.T, z @ c),
    "pca_reshaped": lambda mean, c, x, z: (
        x @ c.reshape(c.shape[1], c.shape[0]) - c @ mean,
        z @ c + mean,
    ),  # fmt: skip
    "pca_activation": lambda mean, c, x, z: (np.maximum((x - mean) @ c.T, 0.0), z @ c + mean),
}


# --------------------------------------------------------------------- subspace_cosines mistakes


def cosines_of_raw_rows(a, b):
    return np.linalg.svd(a @ b.T, compute_uv=False)


def cosines_qr_of_rows(a, b):
    q_a, _ = np.linalg.qr(a)
    q_b, _ = np.linalg.qr(b)
    return np.linalg.svd(q_a.T @ q_b, compute_uv=False)


def cosines_as_angles(a, b):
    q_a, _ = np.linalg.qr(a.T)
    q_b, _ = np.linalg.qr(b.T)
    cosines = np.linalg.svd(q_a.T @ q_b, compute_uv=False)
    return np.arccos(np.clip(cosines, 0.0, 1.0))


def cosines_increasing(a, b):
    q_a, _ = np.linalg.qr(a.T)
    q_b, _ = np.linalg.qr(b.T)
    return np.sort(np.linalg.svd(q_a.T @ q_b, compute_uv=False))


def cosines_by_eigenvalues(a, b):
    q_a, _ = np.linalg.qr(a.T)
    q_b, _ = np.linalg.qr(b.T)
    m = q_a.T @ q_b
    return np.linalg.eigvalsh(m @ m.T)[::-1]


def cosines_as_matrix(a, b):
    q_a, _ = np.linalg.qr(a.T)
    q_b, _ = np.linalg.qr(b.T)
    return q_a.T @ q_b


# ----------------------------------------------------------------------- acceptable variants


def build_sequential(input_dim, hidden_dims, code_dim):
    encoder = keras.Sequential(name="encoder")
    encoder.add(keras.Input(shape=(input_dim,)))
    for units in hidden_dims:
        encoder.add(layers.Dense(units, activation="relu"))
    encoder.add(layers.Dense(code_dim))
    decoder = keras.Sequential(name="decoder")
    decoder.add(keras.Input(shape=(code_dim,)))
    for units in hidden_dims[::-1]:
        decoder.add(layers.Dense(units, activation="relu"))
    decoder.add(layers.Dense(input_dim, activation="sigmoid"))
    autoencoder = keras.Sequential([encoder, decoder], name="autoencoder")
    return encoder, decoder, autoencoder


def build_separate_activation_layers(input_dim, hidden_dims, code_dim):
    x = keras.Input(shape=(input_dim,))
    h = x
    for units in hidden_dims:
        h = layers.ReLU()(layers.Dense(units)(h))
    encoder = keras.Model(x, layers.Dense(code_dim, activation=None)(h))
    z = keras.Input(shape=(code_dim,))
    h = z
    for units in reversed(hidden_dims):
        h = layers.Activation("relu")(layers.Dense(units)(h))
    x_decoded = layers.Activation("sigmoid")(layers.Dense(input_dim)(h))
    decoder = keras.Model(z, x_decoded)
    return encoder, decoder, keras.Model(encoder.input, decoder(encoder.output))


def build_tf_activation_functions(input_dim, hidden_dims, code_dim):
    import tensorflow as tf

    x = keras.Input(shape=(input_dim,))
    h = x
    for units in hidden_dims:
        h = layers.Dense(units, activation=tf.nn.relu)(h)
    code = layers.Dense(code_dim, activation="linear")(h)
    encoder = keras.Model(x, code)
    z = keras.Input(shape=(code_dim,))
    h = z
    for units in list(hidden_dims)[::-1]:
        h = layers.Dense(units, activation=keras.activations.relu)(h)
    decoder = keras.Model(z, layers.Dense(input_dim, activation=tf.nn.sigmoid)(h))
    inputs = keras.Input(shape=(input_dim,))
    autoencoder = keras.Model(inputs, decoder(encoder(inputs)))
    return encoder, decoder, autoencoder


def pca_eigh_descending(x, n_components):
    mean = x.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(x, rowvar=False))
    order = np.argsort(eigenvalues)[::-1]
    return mean, eigenvectors[:, order[:n_components]].T


def pca_tf_svd(x, n_components):
    import tensorflow as tf

    x = tf.convert_to_tensor(x)
    mean = tf.reduce_mean(x, axis=0)
    _, _, v = tf.linalg.svd(x - mean)
    return mean, tf.transpose(v[:, :n_components])


def pca_sign_convention(x, n_components):
    mean = np.mean(x, axis=0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    components = vt[:n_components]
    signs = np.sign(components[np.arange(n_components), np.abs(components).argmax(axis=1)])
    return mean, components * signs[:, None]


def pca_float64_keepdims(x, n_components):
    x = np.asarray(x, dtype=np.float64)
    mean = x.mean(axis=0, keepdims=True)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    return mean, vt[:n_components, :]


def pca_svd_of_transpose(x, n_components):
    mean = np.mean(x, axis=0)
    u, _, _ = np.linalg.svd((x - mean).T, full_matrices=False)
    return mean, u[:, :n_components].T


def pca_ae_functional_constant(mean, components):
    n_components, n_features = np.shape(components)
    x = keras.Input(shape=(n_features,))
    code = layers.Dense(
        n_components,
        kernel_initializer=keras.initializers.Constant(np.transpose(components)),
        bias_initializer=keras.initializers.Constant(-(mean @ np.transpose(components))),
    )(x)
    encoder = keras.Model(x, code)
    z = keras.Input(shape=(n_components,))
    x_decoded = layers.Dense(
        n_features,
        kernel_initializer=keras.initializers.Constant(components),
        bias_initializer=keras.initializers.Constant(mean),
    )(z)
    decoder = keras.Model(z, x_decoded)
    inputs = keras.Input(shape=(n_features,))
    return encoder, decoder, keras.Model(inputs, decoder(encoder(inputs)))


def pca_ae_built_layers(mean, components):
    mean = np.asarray(mean, dtype="float32")
    components = np.asarray(components, dtype="float32")
    n_components, n_features = components.shape
    encode = layers.Dense(n_components, activation="linear")
    encode.build((None, n_features))
    encode.set_weights([components.T, -(components @ mean)])
    decode = layers.Dense(n_features, activation=None)
    decode.build((None, n_components))
    decode.kernel.assign(components)
    decode.bias.assign(mean)
    encoder = keras.Sequential([keras.Input(shape=(n_features,)), encode])
    decoder = keras.Sequential([keras.Input(shape=(n_components,)), decode])
    return encoder, decoder, keras.Sequential([encoder, decoder])


def pca_ae_sequential_tensorflow(mean, components):
    import tensorflow as tf

    n_components, n_features = components.shape
    encoder = keras.Sequential([keras.Input(shape=(n_features,)), layers.Dense(n_components)])
    decoder = keras.Sequential([keras.Input(shape=(n_components,)), layers.Dense(n_features)])
    kernel = tf.transpose(tf.constant(components, tf.float32))
    bias = -tf.linalg.matvec(tf.transpose(kernel), tf.constant(mean, tf.float32))
    encoder.layers[-1].set_weights([kernel.numpy(), bias.numpy()])
    decoder.layers[-1].set_weights([components.astype("float32"), mean.astype("float32")])
    x = keras.Input(shape=(n_features,))
    return encoder, decoder, keras.Model(x, decoder(encoder(x)))


def cosines_by_svd_bases(a, b):
    _, _, basis_a = np.linalg.svd(a, full_matrices=False)
    _, _, basis_b = np.linalg.svd(b, full_matrices=False)
    return np.linalg.svd(basis_a @ basis_b.T, compute_uv=False)


def cosines_scipy(a, b):
    from scipy.linalg import subspace_angles

    return np.cos(np.sort(subspace_angles(a.T, b.T)))


def cosines_float32(a, b):
    q_a, _ = np.linalg.qr(np.asarray(a, np.float32).T)
    q_b, _ = np.linalg.qr(np.asarray(b, np.float32).T)
    singular_values = np.linalg.svd(q_a.T @ q_b, compute_uv=False)
    return np.minimum(singular_values, 1.0)


MISTAKES = (
    Variant(build_decoder_not_mirrored, "build_autoencoder",
            ("ae_mirror", "ae_parameters"), "not_mirrored"),
    Variant(build_hard_coded_784, "build_autoencoder",
            ("ae_shapes", "ae_mirror", "ae_composition", "ae_parameters"), "hard_coded"),
    Variant(build_linear_output, "build_autoencoder", ("ae_activations",), "output_activation"),
    Variant(build_relu_code, "build_autoencoder", ("ae_activations",), "code_activation"),
    Variant(build_sigmoid_hidden, "build_autoencoder", ("ae_activations",), "hidden_activation"),
    Variant(build_separate_autoencoder, "build_autoencoder", ("ae_composition",), "not_composed"),
    Variant(build_without_biases, "build_autoencoder", ("ae_parameters",), "no_bias"),
    Variant(build_forgets_output_layer, "build_autoencoder",
            ("ae_shapes", "ae_mirror", "ae_activations", "ae_parameters"),
            "missing_output_layer"),
    Variant(build_frozen_encoder, "build_autoencoder", ("ae_composition",), "frozen"),
    Variant(pca_not_centred, "pca_fit", ("pca_subspace", "pca_order"), "not_centred"),
    Variant(pca_columns_of_u, "pca_fit",
            ("pca_shapes", "pca_subspace", "pca_order"), "columns_of_u"),
    Variant(pca_smallest_components, "pca_fit", ("pca_subspace", "pca_order"), "smallest"),
    Variant(pca_columns_of_vt, "pca_fit", ("pca_subspace", "pca_order"), "columns_of_vt"),
    Variant(pca_eigh_ascending, "pca_fit", ("pca_order",), "ascending"),
    Variant(pca_scaled_by_singular_values, "pca_fit",
            ("pca_orthonormal", "pca_subspace", "pca_order"), "scaled"),
    Variant(pca_centres_in_place, "pca_fit", PCA_CELLS, "in_place"),
    Variant(pca_ae_no_centring, "pca_autoencoder", ("pca_ae_maps",), "pca_no_centring"),
    Variant(pca_ae_bias_sign, "pca_autoencoder", ("pca_ae_maps",), "pca_bias_sign"),
    Variant(pca_ae_no_mean, "pca_autoencoder", ("pca_ae_maps",), "pca_no_mean"),
    Variant(pca_ae_no_biases, "pca_autoencoder", ("pca_ae_maps",), "pca_no_biases"),
    Variant(pca_ae_reshaped_kernel, "pca_autoencoder", ("pca_ae_maps",), "pca_reshaped"),
    Variant(pca_ae_relu_code, "pca_autoencoder",
            ("pca_ae_maps", "pca_ae_structure"), "pca_activation"),
    Variant(pca_ae_untied, "pca_autoencoder", ("pca_ae_structure",), "pca_untied"),
    Variant(pca_ae_lambda_beside_dense, "pca_autoencoder", ("pca_ae_structure",),
            "pca_dense_only"),
    Variant(pca_ae_identity_then_lambda, "pca_autoencoder", ("pca_ae_structure",),
            "pca_dense_only"),
    Variant(cosines_of_raw_rows, "subspace_cosines", COSINE_CELLS, "cosines_not_orthonormal"),
    Variant(cosines_qr_of_rows, "subspace_cosines", COSINE_CELLS, "cosines_qr_of_rows"),
    Variant(cosines_as_angles, "subspace_cosines", COSINE_CELLS, "cosines_angles"),
    Variant(cosines_increasing, "subspace_cosines", ("cosines_values",), "cosines_increasing"),
    Variant(cosines_by_eigenvalues, "subspace_cosines", ("cosines_values",), "cosines_squared"),
    Variant(cosines_as_matrix, "subspace_cosines", COSINE_CELLS, "cosines_matrix"),
)  # fmt: skip

ACCEPTABLE = (
    Variant(build_sequential, "build_autoencoder"),
    Variant(build_separate_activation_layers, "build_autoencoder"),
    Variant(build_tf_activation_functions, "build_autoencoder"),
    Variant(pca_eigh_descending, "pca_fit"),
    Variant(pca_tf_svd, "pca_fit"),
    Variant(pca_sign_convention, "pca_fit"),
    Variant(pca_float64_keepdims, "pca_fit"),
    Variant(pca_svd_of_transpose, "pca_fit"),
    Variant(pca_ae_functional_constant, "pca_autoencoder"),
    Variant(pca_ae_built_layers, "pca_autoencoder"),
    Variant(pca_ae_sequential_tensorflow, "pca_autoencoder"),
    Variant(cosines_by_svd_bases, "subspace_cosines"),
    Variant(cosines_scipy, "subspace_cosines"),
    Variant(cosines_float32, "subspace_cosines"),
)


def _quietly(function, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args)


def parameter_mistake_values(input_dim, hidden_dims, code_dim) -> dict[str, dict | None]:
    """The (encoder, decoder) parameter counts each `build_autoencoder` mistake gives, by hint.

    None where a mistake cannot be built or counted at these sizes.
    """
    values = {}
    for mistake in MISTAKES:
        if mistake.target != "build_autoencoder":
            continue
        try:
            encoder, decoder, _ = _quietly(mistake.function, input_dim, list(hidden_dims),
                                           code_dim)  # fmt: skip
            values[mistake.hint] = {"encoder": int(encoder.count_params()),
                                    "decoder": int(decoder.count_params())}  # fmt: skip
        except Exception:  # a mistake may well fail to build at these sizes
            values[mistake.hint] = None
    return values


def pca_mistake_values(x, n_components) -> dict[str, float | None]:
    """The reconstruction error each `pca_fit` mistake leaves on x, keyed by its hint.

    The error is measured through the true mean, as the visible check measures it. None where
    a mistake crashes, returns components of the wrong shape or leaves the right error (as one
    that changes x in place does, on its own copy of x): such a value names no mistake.
    """
    from course.checks.nb01 import reconstruction_mse

    mean = np.mean(np.asarray(x, np.float64), axis=0)
    values = {}
    for mistake in MISTAKES:
        if mistake.target != "pca_fit":
            continue
        try:
            _, components = _quietly(mistake.function, np.array(x, copy=True), n_components)
            components = np.asarray(keras.ops.convert_to_numpy(components), np.float64)
        except Exception:  # a mistake may well crash on these inputs
            values[mistake.hint] = None
            continue
        if components.shape != (n_components, x.shape[1]):
            values[mistake.hint] = None
            continue
        values[mistake.hint] = reconstruction_mse(x, mean, components)
    _, _, vt = np.linalg.svd(np.asarray(x, np.float64) - mean, full_matrices=False)
    best = reconstruction_mse(x, mean, vt[:n_components])
    return {hint: None if value is not None and np.isclose(value, best) else value
            for hint, value in values.items()}  # fmt: skip


def pca_autoencoder_mistake_values(mean, components, x, z) -> dict[str, dict]:
    """{"codes": ..., "reconstructions": ...} of each known `pca_autoencoder` mistake, by hint."""
    mean, components = np.asarray(mean, np.float64), np.asarray(components, np.float64)
    x, z = np.asarray(x, np.float64), np.asarray(z, np.float64)
    values = {}
    for hint, maps in PCA_AE_MAPS.items():
        codes, reconstructions = maps(mean, components, x, z)
        values[hint] = {"codes": codes.tolist(), "reconstructions": reconstructions.tolist()}
    return values


def cosine_mistake_values(a, b) -> dict[str, list | None]:
    """The cosines each known `subspace_cosines` mistake gives for (a, b), by hint; None where
    a mistake gives no vector of k cosines (a k x k matrix, say)."""
    values = {}
    for mistake in MISTAKES:
        if mistake.target != "subspace_cosines":
            continue
        value = np.asarray(mistake.function(np.array(a, np.float64), np.array(b, np.float64)))
        values[mistake.hint] = value.tolist() if value.shape == (len(a),) else None
    return values
