"""Notebook 02. Its test cells, run directly: the solution and every acceptable variant pass,
each known mistake fails exactly the cells of the property it breaks, naming its hint."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from keras import layers, ops

from autograder.hidden import nb02 as hidden
from autograder.mistakes.nb02 import ACCEPTABLE, CELLS, MISTAKES
from autograder.reference import nb02 as reference
from course.checks import CheckFailed
from course.checks import nb02 as checks
from course.metrics import parse
from tests.nbgrader_cells import GradedCells, cells_by_role

SOLUTIONS, TESTS, POINTS = cells_by_role("02_cnn_autoencoder")


GRADED = GradedCells("02_cnn_autoencoder", {"keras": keras, "layers": layers, "ops": ops, "np": np})
namespace_with = GRADED.namespace
run_cells = GRADED.run


def test_the_graded_function_has_one_test_cell_per_property():
    assert set(SOLUTIONS) == {"build_strided_autoencoder"}
    assert set(TESTS) == set(CELLS)
    assert sum(POINTS.values()) == 8


def test_the_notebook_solution_is_the_reference_design():
    namespace = namespace_with({})
    notebook = [m.count_params() for m in namespace["build_strided_autoencoder"](2)]
    assert notebook == [m.count_params() for m in reference.build_strided_autoencoder(2)]


@pytest.mark.parametrize("variant", ACCEPTABLE, ids=lambda v: v.name)
def test_reasonable_designs_are_accepted(variant):
    assert run_cells(namespace_with({variant.target: variant.source()})) == {}


def test_the_budget_is_the_lecture_models_size():
    _, _, lecture = reference.build_lecture_autoencoder(2)
    assert checks.expected_values("nb02")["max_parameters"] == lecture.count_params() == 73_675


def test_the_training_check_would_catch_a_model_that_cannot_learn():
    def frozen(code_dim=2):
        encoder, decoder, autoencoder = reference.build_strided_autoencoder(code_dim)
        for model in (encoder, decoder):
            model.trainable = False
        return encoder, decoder, autoencoder

    with pytest.raises(CheckFailed, match="cuts it by at least"):
        checks.check_trains(frozen)


@pytest.mark.parametrize(
    ("activation", "message"),
    [("relu", r"for codes of size about 1,000 .*outside \[0, 1\]"), (None, r"outside \[0, 1\]")],
)
def test_the_training_check_catches_an_unbounded_output(activation, message):
    def unbounded(code_dim=2):
        encoder, decoder, _ = reference.build_strided_autoencoder(code_dim)
        decoder.layers[-1].activation = keras.activations.get(activation)
        inputs = keras.Input(shape=(28, 28, 1))
        return encoder, decoder, keras.Model(inputs, decoder(encoder(inputs)))

    with pytest.raises(CheckFailed, match=message):
        checks.check_trains(unbounded)


def test_the_relu_output_mistake_passes_on_images_and_fails_on_large_codes():
    """A ReLU output stays in [0, 1] on the images at the build seed: only huge codes show it."""
    relu_output = next(m for m in MISTAKES if m.name == "build_relu_output").function
    encoder, decoder, autoencoder = checks.build(relu_output)
    outputs = checks.run(autoencoder, checks.make_images(checks.fixed_rng("trains"), 8), "x")
    assert 0.0 <= outputs.min() and outputs.max() <= 1.0  # the images alone do not catch it
    with pytest.raises(CheckFailed, match="for codes of size about"):
        checks.check_trains(relu_output)


def test_the_training_check_is_deterministic():
    first = checks.make_images(checks.fixed_rng("trains"), 4)
    assert np.array_equal(first, checks.make_images(checks.fixed_rng("trains"), 4))
    assert 0.0 <= first.min() and first.max() <= 1.0 and (first == 0.0).any()


def test_bce_per_pixel_matches_its_formula():
    x = np.array([[0.0, 1.0, 0.25]])
    p = np.array([[0.5, 0.5, 0.25]])
    expected = (2 * math.log(2) - 0.25 * math.log(0.25) - 0.75 * math.log(0.75)) / 3
    assert checks.bce_per_pixel(x, p) == pytest.approx(expected)


def test_hidden_checks_pass_the_reference_and_fail_a_mistake(capsys):
    build = reference.build_strided_autoencoder
    hidden.shapes_at_other_code_dims(build)
    hidden.no_pooling_at_another_code_dim(build)
    hidden.encoder_strides_at_another_code_dim(build)
    hidden.decoder_mirror_at_another_code_dim(build)
    hidden.trains_on_hidden_batch(build)
    assert "seed" not in capsys.readouterr().out  # seeds go to the grading log, not to students
    feature_map_code = next(m for m in MISTAKES if m.hint == "code_shape").function
    with pytest.raises(CheckFailed, match="expected"):
        hidden.shapes_at_other_code_dims(feature_map_code)


@pytest.mark.slow
def test_notebook_02_reports_its_figures(executed):
    text = executed.text("02_cnn_autoencoder")
    found = parse(text)
    names = {"test_bce_entropy_floor", "test_bce_mean_image", "test_bce_per_pixel",
             "strided_test_bce_per_pixel"}  # fmt: skip
    assert names <= set(found)
    floor = found["test_bce_entropy_floor"]
    assert 0 < floor < found["test_bce_mean_image"] < math.log(2)
    for name in ("test_bce_per_pixel", "strided_test_bce_per_pixel"):
        # Above the floor (no model beats a perfect reconstruction); below log 2, the loss
        # of predicting 0.5 everywhere (even one fast-mode epoch learns something).
        assert floor < found[name] < math.log(2), (name, found[name])
    assert "Mode: FAST" in text
