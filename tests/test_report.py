"""The class report: per-cell shares, named mistakes from the checks' hints, the histogram,
flags, failures and the CSV, on a made-up class of autograded notebooks (no grading run);
and that `grade` and `demo` write it and print where."""

from __future__ import annotations

import base64
import csv
import io
import re
import textwrap

import nbformat
import pytest

from autograder import grading, report
from autograder.classgrade import StudentResult
from course.checks.nb08 import HINTS

ASSIGNMENT = "08_conditional_vae"
CELLS = {"vlb_scalar": 2.0, "vlb_kl": 3.0, "sampling_shape": 2.0}  # in notebook order
NASTY = "<script>alert('x')</script>"
NOT_RUN = "This cell was not run: over the time limit (the submission went over 60 s)."


def graded_cell(grade_id: str, outputs=()) -> nbformat.NotebookNode:
    """A test cell as nbgrader marks it, with the outputs a run left."""
    cell = nbformat.v4.new_code_cell(f"checks.check_{grade_id}(f)")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                 "grade_id": grade_id, "points": CELLS[grade_id]}  # fmt: skip
    cell.outputs = list(outputs)
    return cell


def error(evalue: str = "", traceback=None, ename: str = "CheckFailed"):
    traceback = [evalue] if traceback is None else traceback
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=traceback)


def wrapped_in_colour(message: str) -> list[str]:
    """A failure as CheckFailed renders it: a red title, then the message wrapped in short
    lines by textwrap (at spaces and after hyphens), here with colour codes around words too."""
    lines = textwrap.wrap(message, 30, break_long_words=False)
    lines[1] = f"\x1b[1;31m{lines[1]}\x1b[0m"
    return ["\x1b[1;31mCheck failed\x1b[0m (this cell earns its points once it passes)", *lines]


def write_notebook(path, cells) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# 08"), *cells]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)


def result(student, scores, status="graded", detail="") -> StudentResult:
    return StudentResult(student, status, dict(scores), dict(CELLS) if scores else {},
                         detail=detail)  # fmt: skip


@pytest.fixture
def made_up_class(tmp_path):
    """Six students: full marks; the KL sign hint plainly and wrapped in colour; an unnamed
    failure; a time-out with cells not run; a broken file (its id is HTML); never graded."""
    course = tmp_path / "course"
    write_notebook(grading.notebook_path(course, "source", ASSIGNMENT),
                   [graded_cell(g) for g in CELLS])  # fmt: skip
    kl_sign = HINTS["kl_sign"]
    autograded = {
        "ada": [graded_cell(g) for g in CELLS],
        "ben": [
            graded_cell("vlb_scalar"),
            graded_cell("vlb_kl", [error(f"vlb_binomial: the KL is -3.2. {kl_sign}")]),
            graded_cell(
                "sampling_shape",
                [error("shapes (2, 3) and (3,) do not match\nmore", ename="ValueError")],
            ),  # fmt: skip
        ],
        "cleo": [
            graded_cell("vlb_scalar"),
            graded_cell("vlb_kl", [error("", wrapped_in_colour(f"vlb_binomial: {kl_sign}"))]),
            graded_cell("sampling_shape"),
        ],
        "dev": [
            graded_cell("vlb_scalar"),
            graded_cell("vlb_kl", [error(NOT_RUN, ename="NotGraded")]),
            graded_cell("sampling_shape", [error(NOT_RUN, ename="NotGraded")]),
        ],
    }
    for student, cells in autograded.items():
        write_notebook(grading.notebook_path(course, "autograded", ASSIGNMENT, student), cells)
    results = [
        result("ada", CELLS),
        result("ben", {"vlb_scalar": 2, "vlb_kl": 0, "sampling_shape": 0}),
        result("cleo", {"vlb_scalar": 2, "vlb_kl": 0, "sampling_shape": 2}),
        result(
            "dev",
            {"vlb_scalar": 2, "vlb_kl": 0, "sampling_shape": 0},
            status="over the time limit",
            detail="went over 60 s",
        ),  # fmt: skip
        result(NASTY, {}, status="not a readable notebook (JSONDecodeError)", detail=NASTY),
        result("fay", {}, status="kernel died", detail="the kernel ended by itself (signal 9)"),
    ]
    results[1].flags = [{"cell": "vlb_kl", "line": 3, "reason": "reads the reference values",
                         "code": f"open('x')\n{NASTY}"}]  # fmt: skip
    html_path, csv_path = report.write_report(course, ASSIGNMENT, results)
    return course, results, html_path, csv_path


def failures_of(course, results):
    return report.read_failures(course, ASSIGNMENT, results, HINTS)


def test_the_report_is_written_beside_the_grading_state(made_up_class):
    course, _, html_path, csv_path = made_up_class
    assert html_path == course / "grading" / f"{ASSIGNMENT}-report.html"
    assert csv_path == course / "grading" / f"{ASSIGNMENT}-report.csv"
    assert html_path.is_file() and csv_path.is_file()


def test_shares_and_means_per_cell_over_graded_students_in_notebook_order(made_up_class):
    course, results, _, _ = made_up_class
    cells = report.graded_cells(course, ASSIGNMENT, results)
    assert [(c.grade_id, c.points) for c in cells] == list(CELLS.items())
    summary = {row["cell"]: row for row in
               report.cell_summary(cells, results, failures_of(course, results))}  # fmt: skip
    assert summary["vlb_scalar"]["share"] == 1.0 and summary["vlb_scalar"]["mean"] == 2.0
    assert summary["vlb_kl"]["full"] == 1 and summary["vlb_kl"]["share"] == 0.25
    assert summary["vlb_kl"]["mean"] == 0.75
    assert summary["sampling_shape"]["share"] == 0.5 and summary["sampling_shape"]["mean"] == 1.0
    assert [summary[c]["not_run"] for c in CELLS] == [0, 1, 1]


def test_mistakes_are_counted_per_cell_and_hint_and_unnamed_ones_keep_their_first_line(
    made_up_class,
):
    course, results, html_path, _ = made_up_class
    rows = report.mistakes(failures_of(course, results), report.graded_cells(course, ASSIGNMENT,
                                                                             results))  # fmt: skip
    found = [(r["cell"], r["hint"], r["message"], r["students"]) for r in rows]
    assert found == [
        ("vlb_kl", "kl_sign", "", ["ben", "cleo"]),
        ("sampling_shape", "unnamed", "ValueError: shapes (2, 3) and (3,) do not match", ["ben"]),
    ]
    page = html_path.read_text()
    assert "kl_sign" in page and "ValueError: shapes (2, 3) and (3,) do not match" in page


def test_a_hint_wrapped_over_lines_with_colour_codes_is_recognised():
    traceback = wrapped_in_colour(f"vlb_binomial: {HINTS['kl_sign']}")
    assert not any(HINTS["kl_sign"] in line for line in traceback)  # split over lines,
    assert "\x1b[" in traceback[2] and any(line.endswith("log-") for line in traceback)  # hard
    cell = graded_cell("vlb_kl", [error("", traceback)])
    failure = report.cell_failure("cleo", cell, HINTS)
    assert failure.hints == ["kl_sign"] and not failure.not_run


def test_a_cell_not_run_is_counted_as_not_run_not_as_a_mistake():
    failure = report.cell_failure("dev", graded_cell("vlb_kl", [error(NOT_RUN, ename="NotGraded")]),
                                  HINTS)  # fmt: skip
    assert failure.not_run and failure.hints == []
    assert report.mistakes([failure], []) == []


def test_without_hints_for_the_assignment_every_failure_is_unnamed(made_up_class):
    course, results, _, _ = made_up_class
    assert report.hints_for("99_no_such_notebook") == {}
    failures = report.read_failures(course, ASSIGNMENT, results, {})
    assert all(f.hints == [] for f in failures)
    assert {r["hint"] for r in report.mistakes(failures, [])} == {"unnamed"}


def test_the_histogram_is_an_embedded_png_of_the_graded_students(made_up_class):
    import matplotlib.image

    _, _, html_path, _ = made_up_class
    page = html_path.read_text()
    pictures = re.findall(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(pictures) == 1
    png = base64.b64decode(pictures[0], validate=True)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    height, width, _ = matplotlib.image.imread(io.BytesIO(png), format="png").shape
    assert width > 200 and height > 100
    assert "4 student(s) graded; 2 not graded" in page


def test_the_page_is_self_contained_and_escapes_student_text(made_up_class):
    _, _, html_path, _ = made_up_class
    page = html_path.read_text()
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page  # id, detail and code
    assert page.count("&lt;script&gt;") == 3
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page) and "<link" not in page


def test_flags_are_listed_and_said_never_to_change_a_grade(made_up_class):
    _, _, html_path, _ = made_up_class
    page = html_path.read_text()
    assert "reads the reference values" in page and "A flag never changes a grade" in page
    assert "<pre>open(&#x27;x&#x27;)\n&lt;script&gt;" in page


def test_failures_are_listed_with_their_reasons(made_up_class):
    _, _, html_path, _ = made_up_class
    section = html_path.read_text().split("<h2>Not (fully) graded</h2>")[1]
    for text in ("dev", "over the time limit", "went over 60 s", "fay", "kernel died",
                 "signal 9", "not a readable notebook"):  # fmt: skip
        assert text in section
    assert "<td>ada</td>" not in section


def test_the_csv_has_one_row_per_student(made_up_class):
    _, results, _, csv_path = made_up_class
    with open(csv_path, newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == ["student", "status", "total", "max", *CELLS, "mistakes", "flags"]
    by_student = {row["student"]: row for row in rows}
    assert list(by_student) == [r.student for r in results]
    ada = {"student": "ada", "status": "graded", "total": "7", "max": "7", "vlb_scalar": "2",
           "vlb_kl": "3", "sampling_shape": "2", "mistakes": "", "flags": "0"}  # fmt: skip
    assert by_student["ada"] == ada
    assert by_student["ben"]["mistakes"] == "vlb_kl:kl_sign" and by_student["ben"]["flags"] == "1"
    assert by_student["cleo"]["total"] == "4" and by_student["cleo"]["mistakes"] == "vlb_kl:kl_sign"
    assert (
        by_student["dev"]["status"] == "over the time limit" and by_student["dev"]["total"] == "2"
    )
    assert [by_student[NASTY][c] for c in ("total", "max", *CELLS)] == [""] * 5


def fake_grading(monkeypatch, course, results):
    """`grade` and `feedback_and_export` that return at once, as after a real grading."""
    monkeypatch.setattr(grading, "grade", lambda *args, **kwargs: results)
    monkeypatch.setattr(grading, "feedback_and_export",
                        lambda course, *args: course / "grades.csv")  # fmt: skip


def test_grade_writes_the_report_and_prints_its_paths(made_up_class, monkeypatch, capsys):
    course, results, html_path, csv_path = made_up_class
    html_path.unlink()
    csv_path.unlink()
    monkeypatch.setattr(grading, "ROOT", course)
    fake_grading(monkeypatch, course, results)
    assert grading.main(["grade", ASSIGNMENT, "--no-progress"]) == 0
    assert f"class report: {html_path} and {csv_path}" in capsys.readouterr().out
    assert html_path.is_file() and csv_path.is_file()


def test_demo_writes_the_report_and_prints_its_path(made_up_class, tmp_path, monkeypatch,
                                                    capsys):  # fmt: skip
    _, results, _, _ = made_up_class
    monkeypatch.setattr(grading, "release", lambda course: [])
    monkeypatch.setattr(grading, "demo_class", lambda course, assignment: {"ada": "solution"})
    fake_grading(monkeypatch, None, results)
    grading.demo(tmp_path / "demo")
    html_path = tmp_path / "demo" / "grading" / f"{ASSIGNMENT}-report.html"
    assert f"  class report: {html_path}\n" in capsys.readouterr().out
    assert "sampling_gradients" in html_path.read_text()  # a cell of the real notebook
