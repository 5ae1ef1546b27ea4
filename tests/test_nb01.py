"""Notebook 01. Its test cells, run directly: the solution and every acceptable variant pass,
each known mistake fails exactly the cells of the property it breaks, naming its hint."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from course.checks.nb01 import HINTS
from course.metrics import parse
from tests.nbgrader_cells import GradedCells, cells_by_role

SOLUTIONS, TESTS, POINTS = cells_by_role("01_autoencoder")


# The hidden gradient check has a tiny false-fail rate on a correct answer (see
# GRADIENT_ATTEMPTS), and a mistake such as a ReLU code layer can lose it by chance: with a
# fixed hidden seed these tests cannot flake.
GRADED = GradedCells(
    "01_autoencoder", {"keras": keras, "layers": layers, "np": np}, hidden_seed=20_260_121
)
namespace_with = GRADED.namespace
run_cells = GRADED.run


def test_every_graded_function_has_test_cells():
    assert set(SOLUTIONS) == {"build_autoencoder", "pca_fit", "pca_autoencoder", "subspace_cosines"}
    assert sum(POINTS.values()) == 20
    assert all(grade_id.split("_")[0] in {"ae", "pca", "cosines"} for grade_id in TESTS)
    assert sum(POINTS[cell] for cell in TESTS if cell.startswith("pca_ae_")) == 4
    assert sum(POINTS[cell] for cell in TESTS if cell.startswith("cosines_")) == 3


def test_a_wrong_return_value_is_reported_as_such():
    only_one = (
        "def build_autoencoder(input_dim, hidden_dims, code_dim):\n"
        "    return keras.Sequential([keras.Input(shape=(input_dim,)), layers.Dense(input_dim)])\n"
    )
    failures = run_cells(namespace_with({"build_autoencoder": only_one}))
    assert set(failures) == {cell for cell in TESTS if cell.startswith("ae_")}
    assert all(HINTS["not_three_models"] in message for message in failures.values())


def test_zero_initializers_lose_the_gradient_check_with_a_hint():
    zeros = SOLUTIONS["build_autoencoder"].replace(
        'activation="relu")', 'activation="relu", kernel_initializer="zeros")'
    )
    assert zeros != SOLUTIONS["build_autoencoder"]
    failures = run_cells(namespace_with({"build_autoencoder": zeros}))
    assert set(failures) == {"ae_composition"}
    assert "Zero initializers" in failures["ae_composition"]


def test_the_reference_architecture_is_the_solution_s():
    from autograder.reference.nb01 import architecture, parameter_counts
    from course.checks.nb01 import AE_FIXTURES, dense_layers

    namespace = namespace_with({})
    for sizes in AE_FIXTURES.values():
        encoder, decoder, _ = namespace["build_autoencoder"](*sizes)
        assert (dense_layers(encoder), dense_layers(decoder)) == architecture(*sizes)
        counts = parameter_counts(*sizes)
        assert (encoder.count_params(), decoder.count_params()) == (
            counts["encoder"],
            counts["decoder"],
        )


def test_pca_fixture_has_the_spectrum_it_promises():
    from autograder.reference.nb01 import pca_fit
    from course.checks.nb01 import pca_fixture

    x, _ = pca_fixture("main")
    mean, components = pca_fit(x, x.shape[1])
    singular_values = np.linalg.svd(x - mean, compute_uv=False)
    assert np.allclose(singular_values, 10.0 * 0.75 ** np.arange(x.shape[1]), rtol=1e-5)
    assert np.allclose(components @ components.T, np.eye(x.shape[1]), atol=1e-10)


def test_each_numpy_description_of_a_pca_autoencoder_mistake_is_what_its_keras_code_does():
    from autograder.mistakes import nb01 as mistakes
    from course.checks.nb01 import make_pca_autoencoder_inputs

    mean, components, x, z = make_pca_autoencoder_inputs(np.random.default_rng(7), 5, 11)
    described = {m.hint for m in mistakes.MISTAKES if m.hint in mistakes.PCA_AE_MAPS}
    assert described == set(mistakes.PCA_AE_MAPS)
    for mistake in mistakes.MISTAKES:
        if mistake.hint not in mistakes.PCA_AE_MAPS:
            continue
        encoder, decoder, _ = mistake.function(mean, components)
        codes, reconstructions = mistakes.PCA_AE_MAPS[mistake.hint](mean, components, x, z)
        assert np.allclose(encoder.predict(x, verbose=0), codes, atol=1e-5), mistake.name
        assert np.allclose(decoder.predict(z, verbose=0), reconstructions, atol=1e-5), mistake.name


def test_the_pca_autoencoder_fixture_separates_every_mistake_from_the_answer():
    """Every known mistake moves some output of the fixed example by far more than the
    tolerance, and no two mistakes give the same outputs."""
    from course.checks.nb01 import PCA_AE_ATOL, expected_values

    reference = expected_values("nb01")["pca_autoencoder"]["main"]

    def flat(value):
        return np.concatenate([np.ravel(value["codes"]), np.ravel(value["reconstructions"])])

    values = [flat(reference)] + [flat(v) for v in reference["mistakes"].values()]
    for i, first in enumerate(values):
        for second in values[i + 1 :]:
            assert np.max(np.abs(first - second)) > 1000 * PCA_AE_ATOL


def test_the_cosine_fixture_separates_every_mistake_from_the_answer():
    from autograder.reference.nb01 import subspace_cosines
    from course.checks.nb01 import COSINE_ATOL, cosine_fixture, expected_values

    reference = expected_values("nb01")["cosines"]["random"]
    a, b = cosine_fixture("random")
    assert np.allclose(reference["cosines"], subspace_cosines(a, b))
    assert 0.1 < min(reference["cosines"]) < max(reference["cosines"]) < 0.99
    found = [np.asarray(v) for v in reference["mistakes"].values() if v is not None]
    for value in found:
        assert np.max(np.abs(value - reference["cosines"])) > 100 * COSINE_ATOL


@pytest.mark.slow
def test_notebook_01_reports_its_figures(executed):
    text = executed.text("01_autoencoder")
    found = parse(text)
    expected = {
        "mean_image_test_mse",
        "pca_test_mse",
        "ae_test_mse",
        "sample_nn_distance_ratio",
        "linear_ae_test_mse",
        "linear_ae_fit_excess",
        "linear_ae_min_subspace_cosine",
    }
    assert expected <= set(found)
    assert 0 < found["pca_test_mse"] < found["mean_image_test_mse"] < 0.25
    assert 0 < found["ae_test_mse"] < 0.25  # a sigmoid output that learned nothing gives ~0.25
    assert found["sample_nn_distance_ratio"] > 0
    assert found["linear_ae_fit_excess"] >= 0  # no linear autoencoder beats PCA where it is fitted
    assert 0 <= found["linear_ae_min_subspace_cosine"] <= 1
    assert "Mode: FAST" in text
    assert "PCA's path is the pixel path, projected: True" in text
