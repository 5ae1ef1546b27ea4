"""Notebook 04. Its test cells, run directly: the solution and every acceptable variant pass,
each known mistake fails exactly the cells of the property it breaks, naming its hint; and the
hand-graded written answer keeps its rubric out of the student version, and in
autograder/rubrics/ for the graders."""

from __future__ import annotations

import keras
import nbformat
import numpy as np
import pytest
from keras import ops

from autograder.mistakes.nb04 import MISTAKES
from course.checks import CheckFailed
from course.checks.nb04 import HINTS
from course.metrics import parse
from tests.nbgrader_cells import ROOT, GradedCells, cells_by_role, source_notebook

ASSIGNMENT = "04_elbo_derivation"
ALL_SOLUTIONS, TESTS, POINTS = cells_by_role(ASSIGNMENT)
WRITTEN = {
    cell.metadata["nbgrader"]["grade_id"]: cell
    for cell in source_notebook(ASSIGNMENT).cells
    if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution")
}
SOLUTIONS = {k: v for k, v in ALL_SOLUTIONS.items() if k not in WRITTEN}
RUBRIC = ROOT / "autograder" / "rubrics" / f"{ASSIGNMENT}.md"


GRADED = GradedCells(ASSIGNMENT, {"keras": keras, "ops": ops, "np": np}, skip=WRITTEN)
namespace_with = GRADED.namespace
run_cells = GRADED.run


def test_every_graded_function_has_test_cells():
    assert set(SOLUTIONS) == {"elbo_estimate"}
    assert all(grade_id.startswith("elbo_") for grade_id in TESTS)
    assert sum(POINTS.values()) == 7


def test_the_written_answer_is_graded_by_hand():
    assert set(WRITTEN) == {"written_gap"}
    meta = WRITTEN["written_gap"].metadata["nbgrader"]
    assert meta["grade"] and meta["solution"] and not meta["locked"] and meta["points"] == 3
    assert "Rubric for the grader" in WRITTEN["written_gap"].source


def test_the_rubric_file_holds_the_notebooks_model_answer_and_rubric():
    # Graders read it outside formgrader; nb04's generator writes both from one text.
    source = WRITTEN["written_gap"].source
    solution = source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0].strip()
    header, body = RUBRIC.read_text().split("\n\n", 1)
    assert body.strip() == solution
    assert "written_gap" in header and "do not edit" in header
    assert RUBRIC.relative_to(ROOT).as_posix() in solution


TIGHT_LOSERS = [m for m in MISTAKES if "elbo_tight_at_posterior" in m.loses]


@pytest.mark.parametrize("mistake", TIGHT_LOSERS, ids=lambda m: m.name)
def test_the_tightness_check_names_each_mistake(mistake):
    failures = run_cells(namespace_with({mistake.target: mistake.source()}))
    assert HINTS[mistake.hint] in failures["elbo_tight_at_posterior"]


def tight_failure(function, mistakes=None) -> str:
    """The message of `check_tight` on the visible fixture, given or without known values."""
    from course.checks import nb04 as checks
    from course.checks.core import expected_values

    reference = expected_values("nb04")["tight"]
    inputs = {**checks.elbo_fixture("tight"), "q_mean": np.array(reference["q_mean"]),
              "q_log_var": np.array(reference["q_log_var"])}  # fmt: skip
    with pytest.raises(CheckFailed) as error:
        checks.check_tight(function, inputs, reference["log_evidence"], "here", mistakes)
    return str(error.value)


def test_a_sum_over_samples_is_named_without_known_values():
    # Hidden checks on random models have no stored values: the pattern alone names it.
    summed = next(m for m in MISTAKES if m.hint == "sum_over_samples")
    assert HINTS["sum_over_samples"] in tight_failure(summed.function)


def test_an_unknown_noisy_mistake_is_not_blamed_on_estimator_b():
    half_prior = (
        "def elbo_estimate(x, q_mean, q_log_var, epsilon, W, b, noise_std):\n"
        "    z = q_mean + ops.exp(0.5 * q_log_var) * epsilon\n"
        "    x_mean = ops.matmul(z, ops.transpose(W)) + b\n"
        "    log_likelihood = -0.5 * ops.sum(\n"
        "        ops.square((x - x_mean) / noise_std) + np.log(2 * np.pi * noise_std**2), axis=1\n"
        "    )\n"
        "    log_prior = -ops.sum(ops.square(z) + 0.5 * np.log(2 * np.pi), axis=1)\n"
        "    log_q = -0.5 * ops.sum(ops.square(epsilon) + q_log_var + np.log(2 * np.pi), axis=1)\n"
        "    return ops.mean(log_likelihood + log_prior - log_q)\n"
    )
    message = run_cells(namespace_with({"elbo_estimate": half_prior}))["elbo_tight_at_posterior"]
    assert "one of the three log-densities is wrong" in message
    assert not [key for key, hint in HINTS.items() if hint in message]


def test_a_per_sample_result_is_reported_as_such():
    per_sample = (
        "def elbo_estimate(x, q_mean, q_log_var, epsilon, W, b, noise_std):\n"
        "    return ops.sum(ops.square(epsilon), axis=1)\n"
    )
    failures = run_cells(namespace_with({"elbo_estimate": per_sample}))
    assert HINTS["per_sample"] in failures["elbo_scalar"]


def test_mixing_float32_constants_is_explained():
    float32_constant = (
        "def elbo_estimate(x, q_mean, q_log_var, epsilon, W, b, noise_std):\n"
        "    z = q_mean + ops.exp(0.5 * q_log_var) * epsilon\n"
        "    return ops.mean(ops.sum(ops.square(z), axis=1) - ops.log(noise_std))\n"
    )
    failures = run_cells(namespace_with({"elbo_estimate": float32_constant}))
    assert "np.log(noise_std)" in failures["elbo_scalar"]


@pytest.mark.slow
def test_the_student_version_has_neither_the_model_answer_nor_the_rubric(tmp_path):
    from autograder import grading

    course = grading.copy_course(tmp_path / "course")
    grading.nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    released = nbformat.read(grading.notebook_path(course, "release", ASSIGNMENT), as_version=4)
    cell = next(c for c in released.cells if c.get("id") == "written-gap")
    assert cell.source.strip() == "YOUR ANSWER HERE"
    text = "\n".join(c.source for c in released.cells)
    for secret in ("Rubric", "Model answer", "Cholesky factor $L$) contains"):
        assert secret not in text


@pytest.mark.slow
def test_notebook_04_reports_its_figures(executed):
    text = executed.text(ASSIGNMENT)
    found = parse(text)
    assert found["naive_mc_error_latent_50"] < -10  # prior sampling fails in 50 dimensions
    assert found["elbo_plus_kl_max_abs_error"] < 1e-8  # Bayes' rule, sample by sample
    # MC-vs-exact z-scores of a correct estimator: above 6 about once in 10^8 runs.
    assert found["elbo_mc_max_abs_z"] < 6
    assert found["best_diagonal_gap"] > 0.1  # a correlated posterior: no diagonal q is exact
    assert found["elbo_gap_at_posterior"] < 1e-8  # the bound is tight at the posterior...
    assert found["elbo_std_at_posterior"] < 1e-8  # ...with zero variance
    assert "Mode: FAST" in text
