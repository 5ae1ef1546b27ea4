"""End to end with real `nbgrader autograde`: full marks for the solution, zero for the stub,
each known mistake loses exactly its points with its hint shown, and a broken file stops
nothing."""

from __future__ import annotations

import itertools

import nbformat
import pytest

from autograder import grading, report
from autograder.mistakes.nb08 import MISTAKES
from course.checks.nb08 import HINTS

pytestmark = pytest.mark.slow
ASSIGNMENT = "08_conditional_vae"
VLB = [m for m in MISTAKES if m.target == "vlb_binomial"]
SAMPLING = [m for m in MISTAKES if m.target == "sampling"]
CVAE = [m for m in MISTAKES if m.target == "build_cvae"]
# Up to three mistakes per submission, one in each function. The cells that train the CVAE do
# so with stand-ins for vlb_binomial and sampling, so each mistake costs its own cells only;
# a submission loses the union of its mistakes' cells.
PAIRS = list(itertools.zip_longest(VLB, SAMPLING, CVAE))
FULL = 20


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = grading.copy_course(tmp_path_factory.mktemp("grading") / "course")
    grading.release(course)
    grading.make_submission(course, ASSIGNMENT, "solution")
    grading.make_submission(course, ASSIGNMENT, "stub", solved=False)
    for index, pair in enumerate(PAIRS):
        mistakes = [m for m in pair if m is not None]
        grading.make_submission(course, ASSIGNMENT, f"mistakes_{index}",
                                {m.target: m.source() for m in mistakes})  # fmt: skip
    broken = grading.make_submission(course, ASSIGNMENT, "broken")
    broken.write_text(broken.read_text()[:5000])
    results = {r.student: r for r in grading.grade(course, ASSIGNMENT)}
    grading.feedback_and_export(course, ASSIGNMENT)
    return course, results


def autograded(course, student):
    return nbformat.read(grading.notebook_path(course, "autograded", ASSIGNMENT, student),
                         as_version=4)  # fmt: skip


def test_solution_scores_full_marks(graded):
    _, results = graded
    solution = results["solution"]
    assert solution.status == "graded"
    assert solution.scores == solution.max_scores
    assert solution.total == FULL


def test_no_graded_cell_of_the_solution_writes_to_stderr(graded):
    course, _ = graded
    from autograder.notebooks import stderr_text

    assert stderr_text(autograded(course, "solution"), graded_only=True) == {}


def test_student_version_scores_zero_on_every_graded_cell(graded):
    _, results = graded
    stub = results["stub"]
    assert stub.status == "graded" and stub.max_scores
    assert set(stub.scores.values()) == {0}


@pytest.mark.parametrize("index", range(len(PAIRS)))
def test_each_mistake_loses_the_points_of_what_it_breaks(graded, index):
    course, results = graded
    mistakes = [m for m in PAIRS[index] if m is not None]
    result = results[f"mistakes_{index}"]
    lost = {cell for cell, score in result.scores.items() if score < result.max_scores[cell]}
    assert lost == {cell for m in mistakes for cell in m.loses}
    output = "".join(
        str(out.get("evalue", "")) + out.get("text", "")
        for cell in autograded(course, f"mistakes_{index}").cells
        if cell.cell_type == "code"
        for out in cell.outputs
    )
    for mistake in mistakes:
        assert HINTS[mistake.hint] in output, f"{mistake.name}: its hint is not shown"


def test_a_broken_file_is_reported_kept_and_stops_nothing(graded):
    course, results = graded
    broken = results["broken"]
    assert "not a readable notebook" in broken.status and "upload it again" in broken.status
    assert grading.notebook_path(course, "submitted", ASSIGNMENT, "broken").is_file()
    assert sum(r.status == "graded" for r in results.values()) == len(results) - 1


def test_grades_are_exported_for_every_student(graded):
    course, results = graded
    rows = grading.read_grades_csv(course / "grades.csv")
    by_student = {row["student_id"]: row for row in rows}
    assert set(by_student) == set(results)
    assert float(by_student["solution"]["raw_score"]) == FULL
    assert float(by_student["stub"]["raw_score"]) == 0


def test_feedback_is_written_for_graded_students(graded):
    course, _ = graded
    feedback = course / "feedback" / "solution" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    assert feedback.is_file() and "vlb_binomial" in feedback.read_text()


def test_the_table_shows_points_per_cell(graded):
    _, results = graded
    text = grading.table(list(results.values()))
    assert "vlb_kl" in text and "sampling_gradients" in text
    assert "solution" in text and str(FULL) in text and "not a readable notebook" in text


def test_the_class_report_names_the_mistakes_the_checks_hint_at(graded):
    course, results = graded
    html_path, csv_path = report.write_report(course, ASSIGNMENT, list(results.values()))
    rows = {row["student"]: row for row in grading.read_grades_csv(csv_path)}
    assert set(rows) == set(results)
    assert rows["solution"]["mistakes"] == "" and rows["solution"]["total"] == str(FULL)
    for index, pair in enumerate(PAIRS):
        row, mistakes = rows[f"mistakes_{index}"], [m for m in pair if m is not None]
        named = set(row["mistakes"].split(";"))
        lost = {cell for cell in results[f"mistakes_{index}"].scores
                if row[cell] != rows["solution"][cell]}  # fmt: skip
        assert {item.split(":")[0] for item in named} <= lost
        for mistake in mistakes:
            named_where = {f"{cell}:{mistake.hint}" for cell in mistake.loses}
            assert named & named_where, f"{mistake.name}: no lost cell names {mistake.hint}"
    assert rows["broken"]["total"] == "" and "1 not graded" in html_path.read_text()
