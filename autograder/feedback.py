"""What a student's feedback shows: their code, each graded cell's points, and the checks'
messages; nothing of the grading behind them.

`nbgrader generate_feedback` renders the autograded notebook, which holds what the
instructor needs (the hidden tests' code in each test cell, the whole run's outputs). The
course's nbgrader configuration adds `FeedbackFilter` to its steps, so that the feedback
holds instead:
- test cells with their visible code only, and the judge's outputs (`autograder.judge`):
  "Passed: ..." or the check's message and hint, never a traceback into the grader;
- every other code cell without outputs: the student's own run shows them, and a run on the
  grading machine could show what a submission dug up there (paths, hidden inputs).
"""

from __future__ import annotations

from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor

from autograder.judge import split_hidden

NOTE = "[outputs are not part of the feedback: run the notebook to see them]\n"


def is_test_cell(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


class FeedbackFilter(NbGraderPreprocessor):
    """Strip a notebook down to what its student may see (see the module's docstring)."""

    def preprocess(self, nb, resources):
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            if is_test_cell(cell):
                cell.source = split_hidden(cell.source)[0].rstrip("\n")
                cell.outputs = [o for o in cell.outputs if _shown(o)]
            else:
                had = bool(cell.outputs)
                cell.outputs = []
                if had:
                    cell.outputs.append(new_output("stream", name="stdout", text=NOTE))
            cell.execution_count = None
        return nb, resources


def _shown(output) -> bool:
    """A judge's output: its printed lines (stdout) and its verdict (an error)."""
    kind = output.get("output_type")
    return kind == "error" or (kind == "stream" and output.get("name") == "stdout")
