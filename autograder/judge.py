"""Decide a test cell's points where the student's code cannot reach: the judge.

A graded test cell is not run in the student's kernel. The grading worker runs the cell's
code itself, as the instructor wrote it in the gradebook (visible and hidden checks), in a
namespace where each name the notebook defines (`vlb_binomial`, `sampling`, ...) stands for
the student's object: a `course.probe.Remote`. Calling it, or reading its attributes, sends
a request to the kernel, which answers with plain data (arrays, numbers, strings) or with
handles for objects that stay there. Helpers that must run next to the student's objects
(a Keras model around `sampling`, gradients through it) are marked `kernel_side` and run
there the same way. Everything that decides (the reference values, the comparisons, the
known mistakes, the seeds of the hidden tests) stays in this process.

So nothing a submission does in its kernel (patching the check modules, NumPy, Keras,
`sys.modules`, IPython, the probe itself) can change a verdict: the most it can change is
what its own functions answer, and an answer only scores if it is right.

The hidden checks draw their random inputs from `autograder.hidden.fresh_rng`, which takes
its seeds from the `Seeds` of the cell being judged: derived from a key per submission (made
from the course's secret, the assignment and the student), the cell and the draw. Regrading
the same submission draws the same inputs; the seeds are logged for the instructor and never
shown to the student.
"""

from __future__ import annotations

import ast
import builtins
import contextvars
import functools
import hashlib
import hmac
import io
import sys
import threading
import traceback
from dataclasses import dataclass, field

from course.probe import Link, ProbeDied, ProbeTimeout, Remote

SEEDS: contextvars.ContextVar[Seeds | None] = contextvars.ContextVar("seeds", default=None)


class Seeds:
    """The seeds of one test cell's hidden checks: the n-th draw of cell c of a submission
    with key k is the first 32 bits of HMAC-SHA256(k, "c/n")."""

    def __init__(self, key: str, grade_id: str):
        self.key, self.grade_id = key.encode(), grade_id
        self.drawn: list[int] = []

    def next(self) -> int:
        message = f"{self.grade_id}/{len(self.drawn)}".encode()
        seed = int.from_bytes(hmac.new(self.key, message, hashlib.sha256).digest()[:4], "big")
        self.drawn.append(seed)
        return seed


def submission_key(secret: str, assignment: str, student: str) -> str:
    """The key of one submission's hidden seeds (the course's secret never leaves the grader)."""
    message = f"{assignment}/{student}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


@dataclass
class Verdict:
    """How one test cell was judged."""

    grade_id: str
    passed: bool
    output: str = ""  # what the checks printed ("Passed: ...")
    ename: str = ""
    message: str = ""  # for the student
    seeds: list[int] = field(default_factory=list)
    requests: int = 0
    detail: str = ""  # for the instructor only: an unexpected error's traceback
    stop: str | None = None  # the kernel timed out or died: the rest cannot run


def free_names(source: str) -> list[str]:
    """The names a cell's code reads without defining or importing them, and that are not
    built-ins: the notebook's objects it checks."""
    tree = ast.parse(source)
    bound, read = set(), []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                bound.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Store):
                bound.add(node.id)
            elif node.id not in read:
                read.append(node.id)
    return [name for name in read if name not in bound and not hasattr(builtins, name)]


# ----------------------------------------------------------------------------- output


class _ThreadOutput(io.TextIOBase):
    """sys.stdout (or stderr) for a process whose threads judge cells at the same time:
    a thread that judges writes into its own buffer, every other write goes on as before."""

    def __init__(self, fallback):
        self.fallback = fallback
        self.local = threading.local()

    def write(self, text):
        buffer = getattr(self.local, "buffer", None)
        return (buffer if buffer is not None else self.fallback).write(text)

    def flush(self):
        if getattr(self.local, "buffer", None) is None:
            self.fallback.flush()

    def __getattr__(self, name):
        return getattr(self.fallback, name)


_install_lock = threading.Lock()


def _outputs() -> tuple[_ThreadOutput, _ThreadOutput]:
    with _install_lock:
        if not isinstance(sys.stdout, _ThreadOutput):
            sys.stdout = _ThreadOutput(sys.stdout)
        if not isinstance(sys.stderr, _ThreadOutput):
            sys.stderr = _ThreadOutput(sys.stderr)
    return sys.stdout, sys.stderr


# ----------------------------------------------------------------------------- judging

# What the student reads when a check could not finish for a reason that is not a failed
# check (their object did something the check did not expect): no traceback into the
# grader, no path of the grading machine.
UNEXPECTED = (
    "The check could not finish on what your code gave it ({name}). Run this cell in your "
    "notebook: the message there shows what went wrong."
)
HIDDEN_FAILED = (
    "A hidden test of this cell failed: it runs your code on other inputs than the notebook's "
    "(other sizes, other values). Make sure your code works for any valid input, not only "
    "for the examples above."
)
TIMED_OUT = "Your code did not answer the check in time ({seconds:g} s), so the cell failed."
DIED = "The kernel ended while the check ran your code, so the cell failed."


BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def split_hidden(source: str) -> tuple[str, str]:
    """(visible code, hidden code) of a test cell, each runnable on its own."""
    visible, hidden, inside = [], [], False
    for line in source.splitlines():
        if line.strip() == BEGIN_HIDDEN:
            inside = True
        elif line.strip() == END_HIDDEN:
            inside = False
        else:
            (hidden if inside else visible).append(line)
    return "\n".join(visible) + "\n", "\n".join(hidden) + "\n"


@functools.lru_cache(maxsize=1)
def _known_hints() -> tuple[str, ...]:
    """Every hint the course's checks give (`HINTS` of each `course.checks` module)."""
    import importlib
    import pkgutil

    import course.checks

    hints = []
    for module in pkgutil.iter_modules(course.checks.__path__, "course.checks."):
        found = getattr(importlib.import_module(module.name), "HINTS", {})
        hints += [text for text in found.values() if isinstance(text, str)]
    return tuple(sorted(set(hints), key=len, reverse=True))


def hidden_message(message: str) -> str:
    """What a student reads when a hidden test fails: that it failed, and the hint the
    check gave (the named mistake), but no value: neither the reference's on inputs the
    student never sees, nor their own there (which could carry those inputs out)."""
    return "\n".join([HIDDEN_FAILED, *hints_in(message)])


def hints_in(message: str) -> list[str]:
    """The course's hints that `message` gives (each once; longest first)."""
    flat = " ".join(message.split())
    found: list[str] = []
    for hint in _known_hints():  # longest first: a hint inside a longer one is not repeated
        if " ".join(hint.split()) in flat and not any(hint in other for other in found):
            found.append(hint)
    return found


def judge(source: str, grade_id: str, link: Link, key: str | None = None) -> Verdict:
    """Run one test cell's checks (`source`, the instructor's code) against the student's
    objects behind `link`; say whether it passed, and what to show.

    The visible checks run first, as in the notebook; then the hidden ones. What the student
    will read leaks nothing hidden (see `shown`): once a hidden input has reached the kernel
    (`link.tainted`), nothing the kernel says can be trusted not to carry it, so from then on
    a cell shows fixed text and the hints of its failure only.
    """
    from course.checks.core import CheckFailed

    seeds = Seeds(key or "unkeyed", grade_id)
    stdout, stderr = _outputs()
    visible_output, hidden_output, errors = io.StringIO(), io.StringIO(), io.StringIO()
    namespace = {"__builtins__": builtins, "__name__": "__judge__"}
    verdict = Verdict(grade_id, passed=False)
    before, tainted = link.requests, bool(getattr(link, "tainted", False))
    stdout.local.buffer, stderr.local.buffer = visible_output, errors
    token = SEEDS.set(seeds)
    hidden = False
    try:
        visible_code, hidden_code = split_hidden(source)
        parts = [compile(code, f"<test cell {grade_id}>", "exec")
                 for code in (visible_code, hidden_code)]  # fmt: skip
        for name in free_names(source):
            namespace[name] = Remote(link, {"name": name})
        exec(parts[0], namespace)
        if hidden_code.strip():
            hidden, link.tainted = True, True
            stdout.local.buffer = hidden_output
            exec(parts[1], namespace)
        verdict.passed = True
    except CheckFailed as error:
        verdict.ename = "CheckFailed"
        verdict.message = shown(str(error), hidden, tainted)
    except ProbeTimeout as error:
        verdict.ename, verdict.message = "Timeout", TIMED_OUT.format(seconds=float(str(error)))
        verdict.stop = "timeout"
    except ProbeDied:
        verdict.ename, verdict.message, verdict.stop = "DeadKernel", DIED, "died"
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # noqa: BLE001  (whatever the student's objects made a check do)
        verdict.ename = type(error).__name__ if isinstance(error, Exception) else "Error"
        verdict.message = UNEXPECTED.format(name=verdict.ename)
        verdict.detail = "".join(traceback.format_exception(error))[-4000:]
    finally:
        SEEDS.reset(token)
        stdout.local.buffer = stderr.local.buffer = None
    if tainted:
        verdict.output = PASSED_SAFE if verdict.passed else ""
    else:
        verdict.output = visible_output.getvalue()
        if hidden and verdict.passed:
            verdict.output += PASSED_HIDDEN
    verdict.seeds = seeds.drawn
    verdict.requests = link.requests - before
    return verdict


PASSED_HIDDEN = "Passed: the hidden tests of this cell too.\n"
PASSED_SAFE = "Passed: every check of this cell.\n"
AFTER_HIDDEN = (
    "A check of this cell failed. Run the cell in your notebook to read its full message; "
    "feedback shows no values once the hidden tests have run."
)


def shown(message: str, hidden: bool, tainted: bool) -> str:
    """A failed check's message as the student's feedback shows it: the whole message while no
    hidden input has reached the kernel; otherwise what failed and its hints, no value."""
    if hidden:
        return hidden_message(message)
    if tainted:
        return "\n".join([AFTER_HIDDEN, *hints_in(message)])
    return message


def outputs(verdict: Verdict) -> list[dict]:
    """The cell's outputs (nbformat dicts) for a verdict: what the checks printed, and an
    error if it failed (which is what costs the cell its points in nbgrader)."""
    import nbformat

    from course.checks.core import CheckFailed

    cells = []
    if verdict.output:
        cells.append(nbformat.v4.new_output("stream", name="stdout", text=verdict.output))
    if not verdict.passed:
        if verdict.ename == "CheckFailed":
            lines = CheckFailed(verdict.message)._render_traceback_()
        else:
            lines = [f"\x1b[1;31m{verdict.ename}\x1b[0m", verdict.message]
        cells.append(nbformat.v4.new_output(
            "error", ename=verdict.ename, evalue=verdict.message, traceback=lines))  # fmt: skip
    return cells


class Loopback:
    """A stand-in kernel in this process, for tests: the same requests and answers (through
    JSON), served from a namespace instead of a kernel."""

    def __init__(self, namespace: dict):
        import json

        from course.probe import Server

        self.server = Server(namespace)
        self.link = Link(lambda text: json.loads(json.dumps(self.server.serve(text))))
