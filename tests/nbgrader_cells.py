"""Read a source notebook's graded cells, for tests that run them outside nbgrader."""

from __future__ import annotations

import contextlib
from pathlib import Path
from unittest import mock

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


class GradedCells:
    """One notebook's graded cells, run outside nbgrader in a notebook-like namespace.

    names: what the notebook's own cells have imported by the time the graded cells run.
    skip: solution cells not to run (a written answer is prose, not code).
    then: locked code cells that run after the solutions (e.g. a model class using them).
    hidden_seed: if given, the hidden checks draw this seed instead of a fresh one and Keras
        is seeded, so that a check with a tiny stated false-fail rate cannot flake a test.
    """

    def __init__(self, assignment: str, names: dict, skip=(), then=(), hidden_seed=None):
        self.assignment = assignment
        self.hidden_seed = hidden_seed
        solutions, self.tests, self.points = cells_by_role(assignment)
        self.solutions = {k: v for k, v in solutions.items() if k not in skip}
        self.names = names
        self.then = list(then)

    def namespace(self, replacements: dict[str, str] | None = None) -> dict:
        """The solutions' namespace, with some solution cells replaced by other code."""
        namespace = dict(self.names)
        for grade_id, code in self.solutions.items():
            exec((replacements or {}).get(grade_id, code), namespace)
        for code in self.then:
            exec(code, namespace)
        return namespace

    def run(self, namespace: dict) -> dict[str, str]:
        """grade_id -> failure message, for each test cell that fails in `namespace`."""
        from course.checks import CheckFailed

        failures = {}
        with self._seeded():
            for grade_id, code in self.tests.items():
                try:
                    exec(code, dict(namespace))
                except CheckFailed as error:
                    failures[grade_id] = str(error)
        return failures

    def run_judged(self, namespace: dict, key: str = "test") -> dict[str, str]:
        """Like `run`, but as the class grader does it: each test cell judged outside the
        notebook's namespace (`autograder.judge`), reaching it only through requests."""
        from autograder.judge import Loopback, judge

        failures = {}
        loopback = Loopback(dict(namespace))
        with self._seeded():
            for grade_id, code in self.tests.items():
                verdict = judge(code, grade_id, loopback.link, key)
                if not verdict.passed:
                    failures[grade_id] = verdict.message + verdict.detail
        return failures

    def _seeded(self):
        if self.hidden_seed is None:
            return contextlib.nullcontext()
        import keras

        keras.utils.set_random_seed(0)
        return mock.patch("secrets.randbits", lambda bits: self.hidden_seed)

    def failures(self, replacements: dict[str, str] | None = None,
                 judged: bool = False) -> dict[str, str]:  # fmt: skip
        namespace = self.namespace(replacements)
        return self.run_judged(namespace) if judged else self.run(namespace)
