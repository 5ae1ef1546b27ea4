"""Known student mistakes and acceptable variants, written as a student would write them.

Each mistake is real code: the checks' tests run it to prove the checks catch it, the
reference script computes its values so a check can name it, and the grading tests put
it into a submission to prove it loses exactly the points of the property it breaks.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    """One way of writing a graded function.

    function: the code (its name is replaced by `target` when put into a notebook).
    target: the name of the graded function it stands for.
    loses: grade ids of the test cells it must fail; empty for an acceptable variant.
    hint: the hint key the failing check should name (see course.checks).
    """

    function: Callable
    target: str
    loses: tuple[str, ...] = ()
    hint: str | None = None

    @property
    def name(self) -> str:
        return self.function.__name__

    def source(self) -> str:
        """The code as it would stand in a notebook cell, under the graded function's name."""
        code = textwrap.dedent(inspect.getsource(self.function))
        return re.sub(rf"\bdef {self.name}\(", f"def {self.target}(", code, count=1)
