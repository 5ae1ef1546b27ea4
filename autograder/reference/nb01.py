"""Reference answers for notebook 01 (the dense autoencoder, PCA by SVD, PCA as a Keras
autoencoder and the principal angles between subspaces)."""

from __future__ import annotations

import numpy as np


def architecture(input_dim, hidden_dims, code_dim):
    """(units, activation) of each Dense layer of the (encoder, decoder) the exercise asks for."""
    encoder = [(units, "relu") for units in hidden_dims] + [(code_dim, "linear")]
    decoder = [(units, "relu") for units in reversed(hidden_dims)] + [(input_dim, "sigmoid")]
    return encoder, decoder


def dense_parameters(input_width, layer_widths):
    """Weights and biases of a chain of Dense layers: (a + 1) * b for a layer from a to b."""
    widths = [input_width, *layer_widths]
    return sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:]))


def parameter_counts(input_dim, hidden_dims, code_dim):
    """{"encoder": ..., "decoder": ...}: the parameter counts of the reference models."""
    encoder, decoder = architecture(input_dim, hidden_dims, code_dim)
    return {
        "encoder": dense_parameters(input_dim, [units for units, _ in encoder]),
        "decoder": dense_parameters(code_dim, [units for units, _ in decoder]),
    }


def pca_fit(x, n_components):
    """(mean, components): the mean (n_features,) and the top principal directions as rows
    (n_components, n_features), in decreasing order of variance, in float64."""
    x = np.asarray(x, np.float64)
    mean = x.mean(axis=0)
    _, _, vt = np.linalg.svd(x - mean, full_matrices=False)
    return mean, vt[:n_components]


def pca_summary(x, n_components):
    """What the PCA checks compare: the mean, the reconstruction error, the code variances."""
    from course.checks.nb01 import code_variances, reconstruction_mse

    mean, components = pca_fit(x, n_components)
    return {
        "n_components": n_components,
        "mean": [round(float(m), 8) for m in mean],
        "reconstruction_mse": round(reconstruction_mse(x, mean, components), 10),
        "code_variances": [round(float(v), 8) for v in code_variances(x, mean, components)],
    }


def pca_encode(x, mean, components):
    """The codes (n, k) of PCA's encoder f(x) = C (x - mu), for rows x (n, D), in float64."""
    x, mean = np.asarray(x, np.float64), np.asarray(mean, np.float64)
    return (x - mean) @ np.asarray(components, np.float64).T


def pca_decode(codes, mean, components):
    """The reconstructions (n, D) of PCA's decoder g(z) = C^T z + mu, for codes (n, k)."""
    codes, mean = np.asarray(codes, np.float64), np.asarray(mean, np.float64)
    return codes @ np.asarray(components, np.float64) + mean


def subspace_cosines(a, b):
    """The cosines (k,) of the principal angles between the row spaces of a and b (k, D),
    in decreasing order: the singular values of Qa^T Qb, with Qa and Qb orthonormal bases."""
    basis_a, _ = np.linalg.qr(np.asarray(a, np.float64).T)
    basis_b, _ = np.linalg.qr(np.asarray(b, np.float64).T)
    return np.clip(np.linalg.svd(basis_a.T @ basis_b, compute_uv=False), 0.0, 1.0)


def pca_autoencoder_summary(mean, components, x, z):
    """What the PCA-autoencoder checks compare: the codes of x and the reconstructions of z."""
    return {
        "codes": pca_encode(x, mean, components).tolist(),
        "reconstructions": pca_decode(z, mean, components).tolist(),
    }


HIDDEN_PCA = {"seed": 1_2026, "n_samples": 230, "n_features": 17, "n_components": 6}
HIDDEN_AE = (97, (70, 31, 9), 3)


def references():
    """(public, private) reference values for notebook 01 (see autograder.make_references)."""
    from autograder.mistakes.nb01 import (
        cosine_mistake_values,
        parameter_mistake_values,
        pca_autoencoder_mistake_values,
        pca_mistake_values,
    )
    from course.checks import nb01 as checks

    public = {"autoencoder": {}, "pca": {}}
    for name, sizes in checks.AE_FIXTURES.items():
        expected = parameter_counts(*sizes)
        mistakes = parameter_mistake_values(*sizes)
        public["autoencoder"][name] = {
            **expected,
            # Only the mistakes that change a count can be named by one.
            "mistakes": {hint: value for hint, value in mistakes.items() if value != expected},
        }
    for name in checks.PCA_FIXTURES:
        x, n_components = checks.pca_fixture(name)
        summary = pca_summary(x, n_components)
        mistakes = pca_mistake_values(x, n_components)
        public["pca"][name] = {
            **summary,
            # Only the mistakes that change the reconstruction can be named by it.
            "mistakes": {
                hint: None if value is None else round(value, 10)
                for hint, value in mistakes.items()
                if value is None or not np.isclose(value, summary["reconstruction_mse"])
            },
        }

    mean, components, x, z = checks.pca_ae_fixture("main")
    public["pca_autoencoder"] = {"main": {
        **pca_autoencoder_summary(mean, components, x, z),
        "mistakes": pca_autoencoder_mistake_values(mean, components, x, z),
    }}  # fmt: skip
    a, b = checks.cosine_fixture("random")
    public["cosines"] = {"random": {
        "cosines": subspace_cosines(a, b).tolist(),
        "mistakes": cosine_mistake_values(a, b),
    }}  # fmt: skip

    spec = HIDDEN_PCA
    x = checks.make_pca_inputs(np.random.default_rng(spec["seed"]), spec["n_samples"],
                               spec["n_features"])  # fmt: skip
    private = {
        "pca_hidden_fixture": {**spec, **pca_summary(x, spec["n_components"])},
        "ae_hidden_fixture": {
            "sizes": [HIDDEN_AE[0], list(HIDDEN_AE[1]), HIDDEN_AE[2]],
            **parameter_counts(*HIDDEN_AE),
        },
    }
    return public, private
