"""Visible checks the notebooks' test cells call, one module per notebook.

Each check runs a student's function on fixed inputs, compares the result with values
made by `make references` (stored in `course/expected/`), and on failure raises a
`CheckFailed` whose message says what is wrong and which mistake most likely caused it.
"""

from course.checks.core import CheckFailed

__all__ = ["CheckFailed"]
