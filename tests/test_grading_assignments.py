"""Every assignment but 08 (whose own test goes further) under real `nbgrader autograde`.

Per assignment: the solution gets full marks on every autograded cell, the untouched student
version gets zero, and one submission holding the first known mistake of each graded function
loses exactly the points of the properties those mistakes break, with their hints shown.
"""

from __future__ import annotations

import importlib

import nbformat
import pytest

from autograder import grading
from autograder.grading import short_name
from tests.conftest import ROOT

pytestmark = pytest.mark.slow
ASSIGNMENTS = [name for name in grading.assignments(ROOT) if name != "08_conditional_vae"]


def known_mistakes(assignment):
    """The first known mistake of each graded function: their failing cells never overlap."""
    mistakes = importlib.import_module(f"autograder.mistakes.{short_name(assignment)}").MISTAKES
    first = {}
    for mistake in mistakes:
        first.setdefault(mistake.target, mistake)
    return list(first.values())


def hints(assignment):
    return importlib.import_module(f"course.checks.{short_name(assignment)}").HINTS


class GradedClass:
    """Each assignment released and graded the first time a test asks for it, in one
    scratch course."""

    def __init__(self, folder):
        self.course = grading.copy_course(folder / "course")
        self.results = {}

    def __getitem__(self, assignment):
        if assignment not in self.results:
            course = self.course
            grading.nbgrader(course, "generate_assignment", assignment, "--force")
            grading.make_submission(course, assignment, "solution")
            grading.make_submission(course, assignment, "stub", solved=False)
            wrong = {m.target: m.source() for m in known_mistakes(assignment)}
            grading.make_submission(course, assignment, "mistakes", wrong)
            self.results[assignment] = {r.student: r for r in grading.grade(course, assignment)}
        return self.results[assignment]

    def output(self, assignment, student):
        path = grading.notebook_path(self.course, "autograded", assignment, student)
        nb = nbformat.read(path, as_version=4)
        return "".join(
            str(out.get("evalue", "")) + out.get("text", "")
            for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs
        )  # fmt: skip


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return GradedClass(tmp_path_factory.mktemp("grading"))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_scores_full_marks_on_every_autograded_cell(graded, assignment):
    solution = graded[assignment]["solution"]
    assert solution.status == "graded"
    autograded = {cell for cell in solution.max_scores if cell not in solution.manual}
    assert autograded, "an assignment has at least one autograded cell"
    assert {c: solution.scores[c] for c in autograded} == {
        c: solution.max_scores[c] for c in autograded
    }


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_graded_cell_of_the_solution_writes_to_stderr(graded, assignment):
    from autograder.notebooks import stderr_text

    graded[assignment]  # noqa: B018 (grades the assignment if no test has yet)
    path = grading.notebook_path(graded.course, "autograded", assignment, "solution")
    assert stderr_text(nbformat.read(path, as_version=4), graded_only=True) == {}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_student_version_scores_zero_on_every_graded_cell(graded, assignment):
    stub = graded[assignment]["stub"]
    assert stub.status == "graded" and stub.max_scores
    assert set(stub.scores.values()) == {0}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_known_mistakes_lose_the_points_of_what_they_break(graded, assignment):
    mistakes = known_mistakes(assignment)
    assert mistakes, f"{assignment} needs known mistakes in autograder/mistakes/"
    result = graded[assignment]["mistakes"]
    # A written answer waits for a human grader (0 until graded): that is not a lost point.
    lost = {cell for cell, score in result.scores.items()
            if cell not in result.manual and score < result.max_scores[cell]}  # fmt: skip
    assert lost == {cell for m in mistakes for cell in m.loses}
    output = graded.output(assignment, "mistakes")
    for mistake in mistakes:
        assert hints(assignment)[mistake.hint] in output, f"{mistake.name}: its hint is not shown"
