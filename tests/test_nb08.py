"""Notebook 08. Its test cells, run directly: the solution and every acceptable variant pass,
each known mistake fails exactly the cells of the property it breaks, naming its hint."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from autograder.mistakes.nb08 import ACCEPTABLE, MISTAKES
from course.checks import CheckFailed
from course.checks.nb08 import HINTS
from course.metrics import parse
from tests.nbgrader_cells import cells_by_role

SOLUTIONS, TESTS, POINTS = cells_by_role("08_conditional_vae")


def namespace_with(replacements: dict[str, str]) -> dict:
    """A notebook-like namespace holding the solution, with some functions replaced."""
    namespace = {"keras": keras, "ops": ops, "np": np,
                 "seed_generator": keras.random.SeedGenerator(1)}  # fmt: skip
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
    assert set(SOLUTIONS) == {"vlb_binomial", "sampling"}
    assert sum(POINTS.values()) == 13
    assert all(grade_id.split("_")[0] in {"vlb", "sampling"} for grade_id in TESTS)


def test_reference_solution_passes_every_cell():
    assert run_cells(namespace_with({})) == {}


@pytest.mark.parametrize("variant", ACCEPTABLE, ids=lambda v: v.name)
def test_reasonable_numerical_choices_are_accepted(variant):
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


def test_a_wrong_shape_is_reported_as_such():
    per_example = (
        "def vlb_binomial(x, x_decoded_mean, t_mean, t_log_var):\n"
        "    return ops.sum(ops.square(t_mean), axis=1)\n"
    )
    failures = run_cells(namespace_with({"vlb_binomial": per_example}))
    assert HINTS["per_example"] in failures["vlb_scalar"]


def test_noise_shared_across_latent_dimensions_is_caught():
    """One draw per example reused in every latent dimension passes shape and gradients only."""
    mistake = next(m for m in MISTAKES if m.name == "sampling_one_noise_per_example")
    failures = run_cells(namespace_with({"sampling": mistake.source()}))
    assert set(failures) == {"sampling_statistics", "sampling_fresh_noise"}
    assert HINTS["noise_per_dimension"] in failures["sampling_fresh_noise"]


def test_the_grading_tests_still_submit_the_same_first_sampling_mistake():
    """New sampling mistakes go after the first, which the end-to-end grading tests submit."""
    first = next(m for m in MISTAKES if m.target == "sampling")
    assert first.name == "sampling_variance_as_std"


@pytest.mark.slow
def test_notebook_08_reports_its_figures(executed):
    text = executed.text("08_conditional_vae")
    found = parse(text)
    assert {"vae_val_loss", "cvae_val_loss", "cvae_nearest_mean_accuracy"} <= set(found)
    assert 0 < found["vae_val_loss"] < 550  # below log(2) * 784 nats: it learned something
    assert "Mode: FAST" in text
