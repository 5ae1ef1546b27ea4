"""Notebook 01. Its test cells, run directly: the solution and every acceptable variant pass,
each known mistake fails exactly the cells of the property it breaks, naming its hint."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from autograder.mistakes.nb01 import ACCEPTABLE, MISTAKES
from course.checks import CheckFailed
from course.checks.nb01 import HINTS
from course.metrics import parse
from tests.nbgrader_cells import cells_by_role

SOLUTIONS, TESTS, POINTS = cells_by_role("01_autoencoder")


def namespace_with(replacements: dict[str, str]) -> dict:
    """A notebook-like namespace holding the solution, with some functions replaced."""
    namespace = {"keras": keras, "layers": layers, "np": np}
    for grade_id, code in SOLUTIONS.items():
        exec(replacements.get(grade_id, code), namespace)
    return namespace


def run_cells(namespace) -> dict[str, str]:
    """grade_id -> failure message, for each test cell that fails."""
    failures = {}
    for grade_id, code in TESTS.items():
        try:
            exec(code, dict(namespace))
        except CheckFailed as error:
            failures[grade_id] = str(error)
    return failures


def test_every_graded_function_has_test_cells():
    assert set(SOLUTIONS) == {"build_autoencoder", "pca_fit"}
    assert sum(POINTS.values()) == 13
    assert all(grade_id.split("_")[0] in {"ae", "pca"} for grade_id in TESTS)


def test_reference_solution_passes_every_cell():
    assert run_cells(namespace_with({})) == {}


@pytest.mark.parametrize("variant", ACCEPTABLE, ids=lambda v: v.name)
def test_reasonable_choices_are_accepted(variant):
    assert run_cells(namespace_with({variant.target: variant.source()})) == {}


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.name)
def test_each_mistake_fails_exactly_its_cells_and_names_itself(mistake):
    failures = run_cells(namespace_with({mistake.target: mistake.source()}))
    assert set(failures) == set(mistake.loses)
    assert any(HINTS[mistake.hint] in message for message in failures.values()), failures


def test_the_stub_fails_every_cell_with_a_plain_message():
    stub = "def {}(*args):\n    raise NotImplementedError()\n"
    failures = run_cells(namespace_with({name: stub.format(name) for name in SOLUTIONS}))
    assert set(failures) == set(TESTS)
    assert all("not implemented yet" in message for message in failures.values())


def test_a_wrong_return_value_is_reported_as_such():
    only_one = (
        "def build_autoencoder(input_dim, hidden_dims, code_dim):\n"
        "    return keras.Sequential([keras.Input(shape=(input_dim,)), layers.Dense(input_dim)])\n"
    )
    failures = run_cells(namespace_with({"build_autoencoder": only_one}))
    assert set(failures) == {cell for cell in TESTS if cell.startswith("ae_")}
    assert all(HINTS["not_three_models"] in message for message in failures.values())


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
