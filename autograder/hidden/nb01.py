"""Hidden checks for notebook 01: fresh random sizes and data, against the reference.

Seeds come from `fresh_rng` (see `autograder.hidden`): a regrade draws the same inputs.
"""

from __future__ import annotations

import numpy as np

from autograder.hidden import fresh_rng, private_values
from autograder.mistakes.nb01 import (
    cosine_mistake_values,
    parameter_mistake_values,
    pca_autoencoder_mistake_values,
    pca_mistake_values,
)
from autograder.reference import nb01 as reference
from course.checks import nb01 as visible
from course.checks.core import fail, passed

PRIVATE = private_values("nb01")


def random_sizes(rng):
    """(input_dim, hidden_dims, code_dim) never used in the notebook: input_dim is not 784.

    The hidden widths are distinct, so a decoder that does not mirror the encoder shows.
    """
    input_dim = int(rng.integers(5, 400))
    n_hidden = int(rng.integers(1, 4))
    hidden_dims = tuple(int(w) for w in rng.choice(np.arange(3, 300), n_hidden, replace=False))
    code_dim = int(rng.integers(1, 20))
    return input_dim, hidden_dims, code_dim


def ae_shapes(build_autoencoder, trials=3):
    """Shapes at random sizes, with a random batch size."""
    rng = fresh_rng()
    for _ in range(trials):
        visible.check_ae_shapes_at(build_autoencoder, *random_sizes(rng),
                                   batch_size=int(rng.integers(1, 40)))  # fmt: skip
    passed("the shapes are right at random sizes.")


def ae_mirror(build_autoencoder, trials=3):
    """Layer widths at random sizes."""
    rng = fresh_rng()
    for _ in range(trials):
        visible.check_ae_mirror_at(build_autoencoder, *random_sizes(rng))
    passed("the decoder mirrors the encoder at random sizes.")


def ae_activations(build_autoencoder):
    """Activations at a random size."""
    visible.check_ae_activations_at(build_autoencoder, *random_sizes(fresh_rng()))
    passed("the activations are right at a random size.")


# With all-positive inputs, a freshly built network whose ReLU units in one layer are all dead
# outputs exactly sigmoid(0) = 0.5, where this loss has all-zero gradients. At the sizes
# `random_sizes` draws (widths down to 3, codes down to 1) a correct answer hits that about once
# in 1,800 models (simulated), so the check fails only if it happens on GRADIENT_ATTEMPTS models
# built afresh at new random sizes: a false fail then has a rate of about (1/1800)**3.
GRADIENT_ATTEMPTS = 3
FALSE_FAIL_RATE = 1e-9


def _gradients_by_part(build_autoencoder, sizes, x, what):
    """{"encoder": [...], "decoder": [...]}: gradients of a loss of the output, on new models."""
    encoder, decoder, autoencoder = visible.build(build_autoencoder, *sizes)
    for name, model in (("encoder", encoder), ("decoder", decoder)):
        if model.weights and not model.trainable_weights:
            fail(f"{what}: the {name} has no trainable weights. {visible.HINTS['frozen']}")
    return visible.gradients_by_part(encoder, decoder, autoencoder, x, what)


def ae_gradients(build_autoencoder):
    """Training the autoencoder trains the encoder and the decoder: gradients reach both."""
    rng = fresh_rng()
    visible.check_ae_composition_at(build_autoencoder, *random_sizes(rng))
    for _ in range(GRADIENT_ATTEMPTS):
        sizes = random_sizes(rng)
        what = visible.describe_call(*sizes)
        x = rng.random((16, sizes[0])).astype(np.float32)
        gradients = _gradients_by_part(build_autoencoder, sizes, x, what)
        for name, mine in gradients.items():
            if not mine or any(g is None for g in mine):
                fail(
                    f"{what}: training the autoencoder would not train the {name}: no gradient "
                    f"reaches some of its weights. {visible.HINTS['not_composed']}"
                )
        all_zero = [name for name, mine in gradients.items()
                    if not any(np.any(np.asarray(g)) for g in mine)]  # fmt: skip
        if not all_zero:
            passed(
                "gradients of the reconstruction loss reach every weight of the encoder and "
                "decoder."
            )
            return
    fail(
        f"on {GRADIENT_ATTEMPTS} autoencoders built at random sizes, every gradient reaching "
        f"the {all_zero[0]}'s weights is zero (the last: {what}). Zero initializers "
        "(kernel_initializer='zeros')? Or an activation whose gradient is always 0?"
    )


def ae_parameters(build_autoencoder, trials=2):
    """Parameter counts at random sizes and at a hidden size, against the reference."""
    rng = fresh_rng()
    spec = PRIVATE["ae_hidden_fixture"]
    hidden = (spec["sizes"][0], tuple(spec["sizes"][1]), spec["sizes"][2])
    for sizes in [*(random_sizes(rng) for _ in range(trials)), hidden]:
        counts = visible.parameter_counts(build_autoencoder, *sizes)
        expected = spec if sizes == hidden else reference.parameter_counts(*sizes)
        visible.compare_parameters(counts, expected, parameter_mistake_values(*sizes),
                                   visible.describe_call(*sizes))  # fmt: skip
    passed("the parameter counts are right at random and hidden sizes.")


# ----------------------------------------------------------------------------- pca_fit


def random_pca_sizes(rng):
    """(n_samples, n_features, n_components) with more samples than features.

    At most 25 features: the smallest singular value, 10 * 0.75**24, stays far above float32
    rounding, so every direction is well defined for a student computing in float32.
    """
    n_features = int(rng.integers(3, 26))
    n_samples = int(rng.integers(n_features + 5, 300))
    n_components = int(rng.integers(1, n_features + 1))
    return n_samples, n_features, n_components


def pca_shapes(pca_fit, trials=3):
    """Shapes at random sizes."""
    rng = fresh_rng()
    for _ in range(trials):
        n_samples, n_features, n_components = random_pca_sizes(rng)
        x = visible.make_pca_inputs(rng, n_samples, n_features)
        mean, components = visible.fit(pca_fit, x, n_components)
        problem = visible.shape_problem(mean, components, x, n_components)
        if problem:
            fail(f"pca_fit(x, {n_components}) with x of shape {x.shape}: {problem}")
    passed("the shapes are right at random sizes.")


def pca_orthonormal(pca_fit):
    """Orthonormal rows on random data."""
    rng = fresh_rng()
    n_samples, n_features, n_components = random_pca_sizes(rng)
    x = visible.make_pca_inputs(rng, n_samples, n_features)
    _, components = visible.fit(pca_fit, x, n_components)
    problem = visible.orthonormality_problem(components)
    if problem:
        fail(f"pca_fit on x of shape {x.shape}: {problem}")
    passed("the components are orthonormal on random data.")


def _random_reference(rng):
    n_samples, n_features, n_components = random_pca_sizes(rng)
    # Fewer components than features: with all of them every subspace is the whole space.
    n_components = min(n_components, n_features - 1)
    x = visible.make_pca_inputs(rng, n_samples, n_features)
    return x, reference.pca_summary(x, n_components)


def pca_subspace(pca_fit):
    """The subspace on random data and on a hidden dataset, against the reference."""
    x, summary = _random_reference(fresh_rng())
    n_components = summary["n_components"]
    mean, components = visible.fit(pca_fit, x, n_components)
    visible.compare_subspace(x, mean, components, summary, pca_mistake_values(x, n_components),
                             f"on random data of shape {x.shape}")  # fmt: skip
    spec = PRIVATE["pca_hidden_fixture"]
    x = visible.make_pca_inputs(np.random.default_rng(spec["seed"]), spec["n_samples"],
                                spec["n_features"])  # fmt: skip
    mean, components = visible.fit(pca_fit, x, spec["n_components"])
    mistakes = pca_mistake_values(x, spec["n_components"])
    visible.compare_subspace(x, mean, components, spec, mistakes, "on a hidden dataset")
    passed("the components span the top principal subspace on random and hidden data.")


def pca_order(pca_fit):
    """The order of the components on random data."""
    x, summary = _random_reference(fresh_rng())
    _, components = visible.fit(pca_fit, x, summary["n_components"])
    visible.compare_order(x, components, summary, f"on random data of shape {x.shape}")
    passed("the components come in decreasing order of variance on random data.")


# --------------------------------------------------------------------- pca_autoencoder


def random_pca_ae_sizes(rng):
    """(n_components, n_features) with 2 to 60 features, never the notebook's (32, 784)."""
    n_features = int(rng.integers(2, 61))
    return int(rng.integers(1, n_features + 1)), n_features


def pca_ae_shapes(pca_autoencoder, trials=3):
    """Shapes at random sizes, with float32 or float64 arguments and a random batch size."""
    rng = fresh_rng()
    for _ in range(trials):
        visible.check_pca_ae_shapes_at(pca_autoencoder, *random_pca_ae_sizes(rng),
                                       dtype=rng.choice([np.float32, np.float64]),
                                       batch_size=int(rng.integers(1, 40)))  # fmt: skip
    passed("the shapes are right at random sizes.")


def pca_ae_maps(pca_autoencoder, trials=2):
    """The maps on random orthonormal components, means and inputs, against the reference."""
    rng = fresh_rng()
    for _ in range(trials):
        n_components, n_features = random_pca_ae_sizes(rng)
        mean, components, x, z = visible.make_pca_autoencoder_inputs(rng, n_components,
                                                                     n_features)  # fmt: skip
        expected = reference.pca_autoencoder_summary(mean, components, x, z)
        mistakes = pca_autoencoder_mistake_values(mean, components, x, z)
        dtype = rng.choice([np.float32, np.float64])
        visible.compare_pca_maps(pca_autoencoder, mean.astype(dtype), components.astype(dtype),
                                 x, z, expected, mistakes, "on random data")  # fmt: skip
    passed("the encoder and decoder compute PCA's maps on random data.")


def pca_ae_structure(pca_autoencoder):
    """Linear layers and shared weights at a random size."""
    rng = fresh_rng()
    visible.check_pca_ae_structure_at(pca_autoencoder, *random_pca_ae_sizes(rng), rng=rng)
    passed("linear layers and shared weights at a random size.")


# ---------------------------------------------------------------------- subspace_cosines


def random_cosine_sizes(rng):
    """(k, n_features) with room for two orthogonal k-dimensional subspaces."""
    k = int(rng.integers(1, 9))
    return k, int(rng.integers(2 * k, 61))


def cosines_extremes(subspace_cosines, trials=2):
    """Ones and zeros at random sizes."""
    rng = fresh_rng()
    for _ in range(trials):
        visible.check_cosines_extremes_at(subspace_cosines, *random_cosine_sizes(rng), rng=rng)
    passed("ones for one subspace given twice and zeros for orthogonal ones, at random sizes.")


def cosines_values(subspace_cosines, trials=3):
    """Random pairs against the reference."""
    rng = fresh_rng()
    for _ in range(trials):
        a, b = visible.make_cosine_inputs(rng, *random_cosine_sizes(rng))
        mistakes = {hint: value for hint, value in cosine_mistake_values(a, b).items()
                    if value is not None}  # fmt: skip
        what = visible.describe_cosines_call(a)
        visible.compare_cosines(visible.cosines_of(subspace_cosines, a, b, what),
                                reference.subspace_cosines(a, b), mistakes,
                                f"{what}, on a random pair")  # fmt: skip
    passed("the cosines are right on random pairs.")
