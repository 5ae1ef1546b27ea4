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
    assert set(SOLUTIONS) == {"build_autoencoder", "pca_fit"}
    assert sum(POINTS.values()) == 13
    assert all(grade_id.split("_")[0] in {"ae", "pca"} for grade_id in TESTS)


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


@pytest.mark.slow
def test_notebook_01_reports_its_figures(executed):
    text = executed.text("01_autoencoder")
    found = parse(text)
    expected = {"mean_image_test_mse", "pca_test_mse", "ae_test_mse", "sample_nn_distance_ratio"}
    assert expected <= set(found)
    assert 0 < found["pca_test_mse"] < found["mean_image_test_mse"] < 0.25
    assert 0 < found["ae_test_mse"] < 0.25  # a sigmoid output that learned nothing gives ~0.25
    assert found["sample_nn_distance_ratio"] > 0
    assert "Mode: FAST" in text
    assert "PCA's path is the pixel path, projected: True" in text
