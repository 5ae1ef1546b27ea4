"""Read a source notebook's graded cells, for tests that run them outside nbgrader."""

from __future__ import annotations

from pathlib import Path

import nbformat

from autograder.grading import solution_code

ROOT = Path(__file__).resolve().parent.parent


def source_notebook(assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "source" / assignment / f"{assignment}.ipynb", as_version=4)


def cells_by_role(assignment: str) -> tuple[dict[str, str], dict[str, str], dict[str, float]]:
    """(solutions, tests, points): grade_id -> code for solution and test cells."""
    solutions, tests, points = {}, {}, {}
    for cell in source_notebook(assignment).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            solutions[meta["grade_id"]] = solution_code(cell.source)
        if meta.get("grade") and cell.cell_type == "code":
            tests[meta["grade_id"]] = cell.source
            points[meta["grade_id"]] = meta["points"]
    return solutions, tests, points
