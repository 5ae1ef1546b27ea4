"""A failed check reads as its message alone, an unfinished exercise is named in one line,
and nbgrader still scores those cells as failed (real `nbgrader validate` and autograde)."""

from __future__ import annotations

import re
import textwrap

import nbformat
import pytest
from nbclient import NotebookClient

from autograder import grading
from autograder.classgrade import Options
from course.checks.core import MESSAGE_WIDTH, CheckFailed
from tests.conftest import ROOT

pytestmark = pytest.mark.slow
ANSI = re.compile(r"\x1b\[[0-9;]*m")
ASSIGNMENT = "06_reparameterization"


def plain(lines: list[str]) -> list[str]:
    return [ANSI.sub("", line) for part in lines for line in part.split("\n")]


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """One kernel: a failing check, an unfinished exercise used directly and through Keras,
    and a NotImplementedError from a library module."""
    folder = tmp_path_factory.mktemp("kernel")
    (folder / "library.py").write_text("def later():\n    raise NotImplementedError('later')\n")
    cells = {
        "setup": "import course\ncourse.setup()",
        "check": "from course.checks import nb06 as checks\n"
        "checks.check_pathwise_shape(lambda t_mean, t_log_var, epsilon: (epsilon, epsilon))",
        "stub": "def sampling(args):\n    t_mean, t_log_var = args\n"
        "    # YOUR CODE HERE\n    raise NotImplementedError()",
        "direct": "sampling([1.0, 2.0])",
        "keras": "import keras\nfrom keras import layers\n"
        "t = layers.Lambda(sampling)([keras.Input((2,)), keras.Input((2,))])",
        "cell_stub": "# YOUR CODE HERE\nraise NotImplementedError()",
        "library": "import library\nlibrary.later()",
    }
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(code, id=name) for name, code in cells.items()]
    NotebookClient(notebook, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}).execute()  # fmt: skip
    return {cell.id: cell.outputs for cell in notebook.cells}


def error_of(outputs) -> dict:
    errors = [o for o in outputs if o.output_type == "error"]
    assert len(errors) == 1, outputs
    return errors[0]


def test_a_failed_check_shows_its_message_alone_in_whole_words(ran):
    error = error_of(ran["check"])
    lines = plain(error["traceback"])
    assert error["ename"] == "CheckFailed"
    assert lines[0].startswith("Check failed")
    assert len(lines) <= 6 and not any("Traceback" in line or ".py" in line for line in lines)
    assert all(len(line) <= MESSAGE_WIDTH for line in lines[1:])
    assert " ".join(lines[1:]).split() == error["evalue"].split(), "the message lost words"


def test_long_messages_wrap_at_spaces_never_inside_a_word():
    message = "pathwise_gradient: " + " ".join(f"word{n:03d}" for n in range(60)) + " " + "x" * 95
    lines = CheckFailed(message)._render_traceback_()
    assert lines[1:] == textwrap.wrap(message, MESSAGE_WIDTH, break_long_words=False)
    assert "x" * 95 in lines  # a word longer than a line stays whole


@pytest.mark.parametrize("cell", ["direct", "keras"])
def test_a_cell_that_needs_an_unfinished_exercise_names_it_in_one_line(ran, cell):
    error = error_of(ran[cell])
    assert error["ename"] == "NotImplementedError"
    assert plain(error["traceback"]) == ["Finish `sampling` first: its exercise is not written yet"]


def test_an_unfinished_cell_says_so_in_one_line(ran):
    lines = plain(error_of(ran["cell_stub"])["traceback"])
    assert lines == ["Not done yet: replace `raise NotImplementedError()` with your code"]


def test_a_library_s_own_notimplementederror_keeps_its_traceback(ran):
    lines = plain(error_of(ran["library"])["traceback"])
    assert any("library.py" in line for line in lines) and len(lines) > 3


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = grading.copy_course(tmp_path_factory.mktemp("validate") / "course")
    grading.nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    return course


def test_nbgrader_validate_fails_the_stub_with_the_check_s_message(course):
    released = grading.notebook_path(course, "release", ASSIGNMENT)
    run = grading.nbgrader(course, "validate", str(released), check=False)
    said = run.stdout + run.stderr
    assert "VALIDATION FAILED" in said, said[-2000:]
    assert "Check failed" in said and "is not implemented yet" in said
    solved = grading.make_submission(course, ASSIGNMENT, "someone")
    run = grading.nbgrader(course, "validate", str(solved), check=False)
    assert "Success! Your notebook passes all the tests." in run.stdout, run.stdout[-2000:]


def test_autograde_scores_a_failed_check_zero_and_keeps_the_short_message(course):
    grading.make_submission(course, ASSIGNMENT, "stub", solved=False)
    result = next(r for r in grading.grade(course, ASSIGNMENT, Options(progress=False))
                  if r.student == "stub")  # fmt: skip
    assert result.max_scores and set(result.scores.values()) == {0}
    notebook = nbformat.read(grading.notebook_path(course, "autograded", ASSIGNMENT, "stub"),
                             as_version=4)  # fmt: skip
    graded = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")
              and c.cell_type == "code"]  # fmt: skip
    for cell in graded:
        error = error_of(cell.outputs)
        assert error["ename"] == "CheckFailed"
        assert plain(error["traceback"])[0].startswith("Check failed")
    assert str(ROOT / "course") not in nbformat.writes(notebook)
