"""The class report: one HTML page and one CSV for the instructor, after grading.

    grading/<assignment>-report.html   per-cell success, named mistakes, histogram, flags,
                                       submissions not (fully) graded
    grading/<assignment>-report.csv    one row per student: points per cell, mistakes, flags

Written by `python -m autograder.grading grade` and `demo`. It reads only what grading left:
the `StudentResult`s and the autograded notebooks. A check names a known mistake by putting
one of the hints of `course.checks.nbXX.HINTS` in its failure message, so the report counts
mistakes by finding those hints in the graded test cells' error outputs.

Everything shown comes from students (ids, messages, code): the page escapes all of it, and
is one self-contained file (inline CSS and picture, no script, nothing fetched).
"""

from __future__ import annotations

import base64
import csv
import html
import importlib
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import nbformat

from autograder.classgrade import STATE_FOLDER, StudentResult

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
NOT_RUN = "This cell was not run"  # the status autograder.execute writes into cells not run
UNNAMED = "unnamed"
MESSAGE_CHARS = 200  # an unnamed failure's first line is cut to this length
STUDENTS_LISTED = 30  # per row of the mistakes table; the rest are counted


@dataclass
class Cell:
    """One graded cell: its grade id and its points."""

    grade_id: str
    points: float


@dataclass
class Failure:
    """One student's failed graded test cell, as its error output tells it."""

    student: str
    cell: str
    hints: list[str] = field(default_factory=list)  # keys of the hints its message names
    message: str = ""  # the first line of its message
    not_run: bool = False  # the cell was never run (time limit, dead kernel...)


# ----------------------------------------------------------------------------- reading


def report_paths(course: Path, assignment: str) -> tuple[Path, Path]:
    """Where the report goes: beside the grading state and log of the assignment."""
    folder = course / STATE_FOLDER
    return folder / f"{assignment}-report.html", folder / f"{assignment}-report.csv"


def hints_for(assignment: str) -> dict[str, str]:
    """The hints of the assignment's checks ("08_conditional_vae" -> course.checks.nb08),
    or none if it has no such module: then every failure is listed as unnamed. A module that
    exists but fails to import is an error, not an assignment without hints."""
    name = f"course.checks.nb{assignment.split('_', 1)[0]}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:
            raise
        return {}
    return dict(getattr(module, "HINTS", {}))


def is_graded(cell) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("grade"))


def graded_cells(course: Path, assignment: str, results: list[StudentResult]) -> list[Cell]:
    """The graded cells in notebook order (from source/ or release/), with their points.

    Points come from the gradebook (the results) where it has them; a cell the gradebook
    knows but the notebook does not is added at the end.
    """
    max_scores: dict[str, float] = {}
    for result in results:
        max_scores.update(result.max_scores)
    cells: list[Cell] = []
    for stage in ("source", "release"):
        path = course / stage / assignment / f"{assignment}.ipynb"
        if path.is_file():
            for cell in nbformat.read(path, as_version=4).cells:
                if is_graded(cell):
                    meta = cell.metadata.nbgrader
                    points = max_scores.get(meta.grade_id, float(meta.get("points", 0)))
                    cells.append(Cell(meta.grade_id, points))
            break
    known = {c.grade_id for c in cells}
    cells += [Cell(g, max_scores[g]) for g in sorted(max_scores) if g not in known]
    return cells


def squeezed(text: str) -> str:
    """Text without ANSI colour codes and without whitespace, so that a hint wrapped over
    lines still reads as the hint: CheckFailed wraps with textwrap, which breaks at spaces
    and also after hyphens ("log-" / "likelihood"), so collapsing whitespace to one space
    would not be enough."""
    return "".join(ANSI.sub("", text).split())


def error_text(output) -> str:
    """All an error output says: its message and its traceback."""
    return "\n".join([str(output.get("evalue", "")), *map(str, output.get("traceback", []))])


def first_line(output) -> str:
    """The first line of an error's message (else the traceback's last line), with its
    exception's name, cut to MESSAGE_CHARS."""
    lines = [line.strip() for line in ANSI.sub("", str(output.get("evalue", ""))).splitlines()]
    traceback = ANSI.sub("", "\n".join(map(str, output.get("traceback", [])))).splitlines()
    line = next((x for x in lines if x), "") or next(
        (x.strip() for x in reversed(traceback) if x.strip()), ""
    )
    name = str(output.get("ename", ""))
    if name and not line.startswith(name):
        line = f"{name}: {line}" if line else name
    return line if len(line) <= MESSAGE_CHARS else line[: MESSAGE_CHARS - 1] + "…"


def cell_failure(student: str, cell, hints: dict[str, str]) -> Failure | None:
    """What a graded cell's error outputs say, or None if it has none."""
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if not errors:
        return None
    failure = Failure(student, cell.metadata.nbgrader.grade_id, message=first_line(errors[0]))
    text = squeezed("\n".join(error_text(o) for o in errors))
    if squeezed(NOT_RUN) in text:
        failure.not_run = True
        return failure
    failure.hints = [key for key, hint in hints.items() if squeezed(hint) in text]
    return failure


def read_failures(course: Path, assignment: str, results: list[StudentResult],
                  hints: dict[str, str]) -> list[Failure]:  # fmt: skip
    """Every failed graded cell in the autograded notebooks of the students in `results`
    (a student without an autograded notebook, or with an unreadable one, has none)."""
    failures = []
    for result in results:
        path = course / "autograded" / result.student / assignment / f"{assignment}.ipynb"
        try:
            notebook = nbformat.read(path, as_version=4)
        except (OSError, ValueError):  # not there (never graded), or not a notebook
            continue
        for cell in notebook.cells:
            if cell.cell_type == "code" and is_graded(cell):
                failure = cell_failure(result.student, cell, hints)
                if failure is not None:
                    failures.append(failure)
    return failures


# ----------------------------------------------------------------------------- counting


def cell_summary(cells: list[Cell], results: list[StudentResult],
                 failures: list[Failure]) -> list[dict]:  # fmt: skip
    """Per graded cell: how many graded students earned full points (and their share), the
    mean points, the students still waiting for a hand grade, and the cells not run."""
    graded = [r for r in results if r.graded]
    not_run = defaultdict(int)
    for failure in failures:
        not_run[failure.cell] += failure.not_run
    rows = []
    for cell in cells:
        scored = [r for r in graded if cell.grade_id not in r.manual]
        points = [r.scores.get(cell.grade_id, 0.0) for r in scored]
        full = sum(p >= cell.points - 1e-9 for p in points)
        rows.append({
            "cell": cell.grade_id,
            "points": cell.points,
            "full": full,
            "share": full / len(points) if points else None,
            "mean": sum(points) / len(points) if points else None,
            "manual": len(graded) - len(scored),
            "not_run": not_run[cell.grade_id],
        })  # fmt: skip
    return rows


def mistakes(failures: list[Failure], cells: list[Cell]) -> list[dict]:
    """Named mistakes per (cell, hint key), then unnamed failures per (cell, first line),
    in notebook order, each with the students whose failures say it."""
    order = {c.grade_id: i for i, c in enumerate(cells)}
    found: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for failure in failures:
        if failure.not_run:
            continue
        for key in failure.hints:
            found[(failure.cell, key, "")].add(failure.student)
        if not failure.hints:
            found[(failure.cell, UNNAMED, failure.message)].add(failure.student)
    rows = [
        {"cell": cell, "hint": key, "message": message, "students": sorted(students)}
        for (cell, key, message), students in found.items()
    ]
    rows.sort(key=lambda r: (order.get(r["cell"], len(order)), r["hint"] == UNNAMED,
                             -len(r["students"]), r["hint"], r["message"]))  # fmt: skip
    return rows


def student_mistakes(failures: list[Failure], cells: list[Cell]) -> dict[str, list[str]]:
    """student -> its named mistakes as "cell:hint_key", in notebook order."""
    order = {c.grade_id: i for i, c in enumerate(cells)}
    named = defaultdict(list)
    for failure in sorted(failures, key=lambda f: order.get(f.cell, len(order))):
        named[failure.student] += [f"{failure.cell}:{key}" for key in failure.hints]
    return named


# ----------------------------------------------------------------------------- histogram


def histogram_png(totals: list[float], max_points: float) -> bytes:
    """A bar per total from 0 to `max_points` (x), the number of students with it (y), as PNG.

    Drawn on a Figure of its own with the Agg canvas: no window, no pyplot state touched.
    """
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    top = int(np.ceil(max_points))
    figure = Figure(figsize=(6.4, 3.2), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.hist(totals, bins=np.arange(-0.5, top + 1.5), color="#4a7ab5", edgecolor="white")
    axes.set_xlim(-0.5, top + 0.5)
    axes.set_xlabel("total points")
    axes.set_ylabel("students")
    if top <= 20:
        axes.set_xticks(range(top + 1))
    else:
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    figure.tight_layout()
    stream = io.BytesIO()
    figure.savefig(stream, format="png")
    return stream.getvalue()


# ----------------------------------------------------------------------------- HTML

STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #eee; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
pre { margin: 0; white-space: pre-wrap; font-size: 0.9em; }
.note { color: #555; }
"""


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}".rstrip("0").rstrip(".")


class Code(str):
    """A table value shown as code, its line breaks kept."""


def td(value, numeric: bool) -> str:
    if isinstance(value, Code):
        return f"<td><pre>{esc(value)}</pre></td>"
    return f'<td class="n">{esc(value)}</td>' if numeric else f"<td>{esc(value)}</td>"


def table(headers: list[str], rows: list[list], numeric: set[int] = frozenset()) -> str:
    """An HTML table; every value is escaped (columns in `numeric` align right)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(td(v, i in numeric) for i, v in enumerate(row)) + "</tr>\n" for row in rows
    )
    return f"<table>\n<tr>{head}</tr>\n{body}</table>\n"


def listed(students: list[str]) -> str:
    shown = ", ".join(students[:STUDENTS_LISTED])
    more = len(students) - STUDENTS_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def cells_section(summary: list[dict], graded: int) -> str:
    rows = [[r["cell"], number(r["points"]), f"{r['full']}",
             "-" if r["share"] is None else f"{100 * r['share']:.0f} %", number(r["mean"]),
             r["manual"] or "", r["not_run"] or ""] for r in summary]  # fmt: skip
    return (
        "<h2>Graded cells</h2>\n"
        f'<p class="note">Over the {graded} graded student(s), a submission stopped by a limit '
        "with the points of the cells it ran; a cell waiting for a hand grade (formgrader) is "
        "left out of its share and mean until it is graded.</p>\n"
        + table(["cell", "points", "full points", "share with full points", "mean points",
                 "waiting for a hand grade", "not run"], rows, {1, 2, 3, 4, 5, 6})
    )  # fmt: skip


def mistakes_section(rows: list[dict], hints: dict[str, str]) -> str:
    if not hints:
        note = ("No hints found for this assignment (no course.checks module with HINTS): "
                "every failure is listed as unnamed.")  # fmt: skip
    else:
        note = ("A failed check names a known mistake by showing its hint; a failure that "
                "shows no known hint is listed as unnamed, with the first line of its message. "
                "Cells that were not run are counted in the table above, not here.")  # fmt: skip
    body = table(
        ["cell", "mistake", "students", "hint or message", "who"],
        [[r["cell"], r["hint"], len(r["students"]),
          r["message"] if r["hint"] == UNNAMED else hints.get(r["hint"], ""),
          listed(r["students"])] for r in rows],
        {2},
    ) if rows else "<p>No graded cell failed.</p>\n"  # fmt: skip
    return f'<h2>Mistakes found</h2>\n<p class="note">{esc(note)}</p>\n{body}'


def histogram_section(results: list[StudentResult], max_points: float) -> str:
    totals = [r.total for r in results if r.graded]
    missing = len(results) - len(totals)
    note = (f"{len(totals)} student(s) graded; {missing} not graded (no points at all, not "
            "counted here: see the last section).")  # fmt: skip
    if not totals:
        return f'<h2>Scores</h2>\n<p class="note">{esc(note)}</p>\n'
    picture = base64.b64encode(histogram_png(totals, max_points)).decode("ascii")
    return (
        f'<h2>Scores</h2>\n<p class="note">{esc(note)} Mean {number(sum(totals) / len(totals))} '
        f"of {number(max_points)} points.</p>\n"
        f'<img alt="histogram of total points: students per total, 0 to {number(max_points)}" '
        f'src="data:image/png;base64,{picture}">\n'
    )


def flags_section(results: list[StudentResult]) -> str:
    rows = [[r.student, f.get("cell", ""), f.get("line", ""), f.get("reason", ""),
             Code(f.get("code", ""))]
            for r in results for f in getattr(r, "flags", None) or []]  # fmt: skip
    note = ("Code that looks worth a human look. A flag never changes a grade: "
            "read the code and decide.")  # fmt: skip
    if not rows:
        return f'<h2>Flagged submissions</h2>\n<p class="note">{esc(note)}</p>\n<p>None.</p>\n'
    body = table(["student", "cell", "line", "reason", "code"], rows, {2})
    return f'<h2>Flagged submissions</h2>\n<p class="note">{esc(note)}</p>\n{body}'


def failures_section(results: list[StudentResult]) -> str:
    rows = [[r.student, r.status, r.detail] for r in results if r.status != "graded"]
    if not rows:
        return "<h2>Not (fully) graded</h2>\n<p>Every submission was graded.</p>\n"
    return ("<h2>Not (fully) graded</h2>\n<p class=\"note\">Each with the reason; a submission "
            "over a limit keeps the points of the cells it ran.</p>\n"
            + table(["student", "status", "detail"], rows))  # fmt: skip


def render_html(assignment: str, results: list[StudentResult], cells: list[Cell],
                failures: list[Failure], hints: dict[str, str]) -> str:  # fmt: skip
    """The whole page."""
    max_points = sum(c.points for c in cells)
    graded = sum(r.graded for r in results)
    when = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Class report: {esc(assignment)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n<h1>Class report: {esc(assignment)}</h1>\n"
        f'<p class="note">{len(results)} submission(s), {graded} graded; written {esc(when)}.</p>\n'
        + cells_section(cell_summary(cells, results, failures), graded)
        + mistakes_section(mistakes(failures, cells), hints)
        + histogram_section(results, max_points)
        + flags_section(results)
        + failures_section(results)
        + "</body>\n</html>\n"
    )


# ----------------------------------------------------------------------------- CSV


def csv_rows(results: list[StudentResult], cells: list[Cell],
             failures: list[Failure]) -> list[list]:  # fmt: skip
    """Header, then one row per student. A student not graded has empty points (not a 0 that
    would look earned); so has a cell still waiting for a hand grade."""
    named = student_mistakes(failures, cells)
    rows = [["student", "status", "total", "max", *(c.grade_id for c in cells), "mistakes",
             "flags"]]  # fmt: skip
    for r in results:
        if r.graded:
            points = [number(r.total, 4), number(sum(r.max_scores.values()), 4)]
            points += ["" if c.grade_id in r.manual else number(r.scores.get(c.grade_id, 0.0), 4)
                       for c in cells]  # fmt: skip
        else:
            points = ["", ""] + ["" for _ in cells]
        flags = getattr(r, "flags", None) or []
        rows.append([r.student, r.status, *points, ";".join(named.get(r.student, [])),
                     len(flags)])  # fmt: skip
    return rows


# ----------------------------------------------------------------------------- the report


def write_report(course: Path, assignment: str, results: list[StudentResult]) -> tuple[Path, Path]:
    """Write the class report of `assignment` (HTML and CSV); return both paths."""
    html_path, csv_path = report_paths(course, assignment)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    hints = hints_for(assignment)
    cells = graded_cells(course, assignment, results)
    failures = read_failures(course, assignment, results, hints)
    html_path.write_text(render_html(assignment, results, cells, failures, hints),
                         encoding="utf-8")  # fmt: skip
    with open(csv_path, "w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows(csv_rows(results, cells, failures))
    return html_path, csv_path


__all__ = ["report_paths", "write_report"]
