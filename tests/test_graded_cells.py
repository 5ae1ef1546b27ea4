"""Every notebook's test cells, run directly against real code: the reference solution and
every acceptable variant pass every cell, each known mistake fails exactly the cells of the
property it breaks and names itself, and the untouched stub fails every cell plainly.

They run as the class grader judges a test cell (`autograder.judge`: outside the namespace
of the student's code, reaching the student's objects only through the kernel's requests and
answers, here a loopback); the solution and the stub also run as the notebook runs the cell,
in that namespace. (tests/test_class_grading.py grades the same mistakes both ways, by this
grader and by plain `nbgrader autograde`, and compares every cell.)"""

from __future__ import annotations

import importlib

import pytest

from autograder.grading import assignments, short_name
from tests.conftest import ROOT

ASSIGNMENTS = assignments(ROOT)


def graded_cells(assignment):
    """The GradedCells object of tests/test_nbNN.py (its namespace is notebook-specific)."""
    return importlib.import_module(f"tests.test_{short_name(assignment)}").GRADED


def variants(kind):
    return [
        pytest.param(assignment, variant, id=f"{short_name(assignment)}-{variant.name}")
        for assignment in ASSIGNMENTS
        for variant in getattr(importlib.import_module(
            f"autograder.mistakes.{short_name(assignment)}"), kind)
    ]  # fmt: skip


def hints(assignment):
    return importlib.import_module(f"course.checks.{short_name(assignment)}").HINTS


def test_every_assignment_has_graded_cells_and_known_mistakes():
    for assignment in ASSIGNMENTS:
        cells = graded_cells(assignment)
        assert cells.tests and cells.solutions, assignment
        assert [v for v in variants("MISTAKES") if v.values[0] == assignment], assignment


JUDGED = pytest.mark.parametrize("judged", [False, True], ids=["in-notebook", "judged"])


@JUDGED
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_solution_passes_every_cell(assignment, judged):
    assert graded_cells(assignment).failures(judged=judged) == {}


@pytest.mark.parametrize(("assignment", "variant"), variants("ACCEPTABLE"))
def test_reasonable_numerical_choices_are_accepted(assignment, variant):
    replacement = {variant.target: variant.source()}
    assert graded_cells(assignment).failures(replacement, judged=True) == {}


@pytest.mark.parametrize(("assignment", "mistake"), variants("MISTAKES"))
def test_each_mistake_fails_exactly_its_cells_and_names_itself(assignment, mistake):
    replacement = {mistake.target: mistake.source()}
    failures = graded_cells(assignment).failures(replacement, judged=True)
    assert set(failures) == set(mistake.loses)
    assert any(hints(assignment)[mistake.hint] in message for message in failures.values()), (
        failures
    )


@JUDGED
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_stub_fails_every_cell_with_a_plain_message(assignment, judged):
    cells = graded_cells(assignment)
    stub = "def {}(*args, **kwargs):\n    raise NotImplementedError()\n"
    stubs = {name: stub.format(name) for name in cells.solutions}
    failures = cells.failures(stubs, judged=judged)
    assert set(failures) == set(cells.tests)
    assert all("not implemented yet" in message for message in failures.values())
