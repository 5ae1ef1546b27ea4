"""Known student mistakes and acceptable variants, written as a student would write them.

Each mistake is real code: the checks' tests run it to prove the checks catch it, the
reference script computes its values so a check can name it, and the grading tests put
it into a submission to prove it loses exactly the points of the property it breaks.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Variant:
    """One way of writing a graded function.

    function: the code, a function or a class (its name is replaced by `target` when put
        into a notebook). A class may extend one class of its own module that holds what the
        notebook's cell gives (see `source`).
    target: the name of the graded function or class it stands for, which is also the
        grade id of its solution cell.
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
        """The code as it would stand in a notebook cell, under the graded function's name.

        A class may extend classes of its own module: the given part of a cell (its
        constructor, its given methods), then perhaps a correct version that the variant
        changes in one method. It stands in the cell as one class, under the target's name
        and with the bases of the first class of its module: that class's code, then each
        later class's methods in turn, a method defined again taking the place of the
        earlier one (as it would in one class body); docstrings after the first are left out.
        """
        code = textwrap.dedent(inspect.getsource(self.function))
        if not inspect.isclass(self.function):
            return re.sub(rf"\bdef {self.name}\(", f"def {self.target}(", code, count=1)
        chain = [self.function]
        while own := [b for b in chain[-1].__bases__ if b.__module__ == self.function.__module__]:
            chain.extend(own[:1])
        chain.reverse()
        methods = [_class_body(cls) for cls in chain]
        lines = [re.sub(rf"\bclass {chain[0].__name__}\b", f"class {self.target}",
                        methods[0][0], count=1)]  # fmt: skip
        for index, body in enumerate(methods):
            later = {name for other in methods[index + 1 :] for name, _ in other[1]}
            for name, text in body[1]:
                if name in later or (name == "__doc__" and index > 0):
                    continue
                lines.append(text)
        return lines[0] + "\n" + "\n\n".join(lines[1:]) + "\n"


def _class_body(cls) -> tuple[str, list[tuple[str | None, str]]]:
    """A class's header and its body's statements as (name, source text): the method's name,
    "__doc__" for the docstring, None for anything else."""
    code = textwrap.dedent(inspect.getsource(cls))
    lines = code.splitlines()
    (node,) = ast.parse(code).body
    first = node.body[0]
    first_line = min([first.lineno, *(d.lineno for d in getattr(first, "decorator_list", []))])
    statements = []
    for position, item in enumerate(node.body):
        start = min([item.lineno, *(d.lineno for d in getattr(item, "decorator_list", []))])
        text = "\n".join(lines[start - 1 : item.end_lineno])
        name = None
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = item.name
        elif position == 0 and isinstance(item, ast.Expr) and isinstance(item.value, ast.Constant):
            name = "__doc__"
        statements.append((name, text))
    return "\n".join(lines[: first_line - 1]).rstrip(), statements
