"""Tamper evidence (issue 12): code in a submission that reaches into grading is flagged for
the instructor; honest code never is, and a flag never changes a grade."""

from __future__ import annotations

import copy
import functools
import importlib
from pathlib import Path

import nbformat
import pytest

from autograder import grading, tamper
from tests.conftest import ROOT

MISTAKE_MODULES = sorted(p.stem for p in (ROOT / "autograder" / "mistakes").glob("nb*.py"))
SAMPLING_NOTEBOOKS = ("08_conditional_vae",)


def notebook_of(*sources: str, grade_ids: dict[int, str] | None = None) -> nbformat.NotebookNode:
    """A notebook of code cells; grade_ids: cell index -> nbgrader grade_id."""
    nb = nbformat.v4.new_notebook()
    for index, source in enumerate(sources):
        cell = nbformat.v4.new_code_cell(source)
        if grade_ids and index in grade_ids:
            cell.metadata["nbgrader"] = {"grade_id": grade_ids[index], "solution": True}
        nb.cells.append(cell)
    return nb


def reasons(flags) -> set[str]:
    return {f.reason for f in flags}


def assignment_of(short: str) -> str:
    return next(a for a in grading.assignments(ROOT) if grading.short_name(a) == short)


@functools.cache
def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def released(assignment: str) -> nbformat.NotebookNode:
    return copy.deepcopy(_read(grading.notebook_path(ROOT, "release", assignment)))


def source(assignment: str) -> nbformat.NotebookNode:
    return copy.deepcopy(_read(grading.notebook_path(ROOT, "source", assignment)))


def solutions(assignment: str) -> dict[str, str]:
    cells = [c for c in source(assignment).cells if c.metadata.get("nbgrader", {}).get("solution")
             and c.cell_type == "code"]  # fmt: skip
    return {c.metadata["nbgrader"]["grade_id"]: grading.solution_code(c.source) for c in cells}


def submission(assignment: str, replacements: dict[str, str]) -> nbformat.NotebookNode:
    """The released notebook with every solution cell solved, some replaced by other code."""
    nb = released(assignment)
    code = {**solutions(assignment), **replacements}
    placed = set()
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in code:
            cell.source = code[grade_id]
            placed.add(grade_id)
    assert set(replacements) <= placed, f"no solution cell {set(replacements) - placed}"
    return nb


def describe(flags) -> str:
    return "\n".join(f"{f.cell}, line {f.line}: {f.reason}: {f.code}" for f in flags)


# ----------------------------------------------------------------------------- honest code


def variants():
    """(notebook, variant) for every known mistake and acceptable variant."""
    found = []
    for short in MISTAKE_MODULES:
        module = importlib.import_module(f"autograder.mistakes.{short}")
        for variant in (*module.MISTAKES, *module.ACCEPTABLE):
            found.append((assignment_of(short), variant))
    sampling = importlib.import_module("autograder.mistakes.sampling")
    for assignment in SAMPLING_NOTEBOOKS:
        for variant in (*sampling.MISTAKES, *sampling.ACCEPTABLE):
            found.append((assignment, variant))
    return found


def test_no_known_mistake_or_acceptable_variant_is_flagged():
    found = variants()
    assert len(found) > 100  # every module's variants, not an empty loop
    flagged = {}
    for assignment, variant in found:
        code = variant.source()
        for flags in (tamper.scan(submission(assignment, {variant.target: code}),
                                  released(assignment)),
                      tamper.scan(notebook_of(code), None)):  # fmt: skip
            if flags:
                flagged[f"{assignment}: {variant.name}"] = describe(flags)
    assert flagged == {}


def test_no_solution_nor_non_graded_cell_of_the_course_is_flagged():
    """Every solution, and every code cell students may edit and rerun (all but the test
    cells), of every source notebook and of the header: scanned as if all were changed."""
    scanned, flagged = 0, {}
    assignments = grading.assignments(ROOT)
    notebooks = [ROOT / "source" / "header.ipynb",
                 *(grading.notebook_path(ROOT, "source", a) for a in assignments)]  # fmt: skip
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        cells = [grading.solution_code(c.source) for c in nb.cells if c.cell_type == "code"
                 and not c.metadata.get("nbgrader", {}).get("grade")]  # fmt: skip
        scanned += len(cells)
        flags = tamper.scan(notebook_of(*cells), None)
        if flags:
            flagged[path.name] = describe(flags)
    assert scanned > 90  # 99 when written
    assert flagged == {}


def test_an_untouched_released_notebook_is_not_flagged_but_its_test_cells_would_be():
    """The test cells import the checks: skipped when unchanged, flagged once changed."""
    assignment = "08_conditional_vae"
    nb = submission(assignment, {})
    assert tamper.scan(nb, released(assignment)) == []
    assert "imports the check modules (course.checks)" in reasons(tamper.scan(nb, None))
    test_cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                     == "vlb_full")  # fmt: skip
    test_cell.source = test_cell.source.replace("checks.check_vlb_full(vlb_binomial)", "pass")
    flags = tamper.scan(nb, released(assignment))
    assert [(f.cell, f.line, f.reason) for f in flags] == [
        ("vlb_full", 2, "imports the check modules (course.checks)")
    ]
    assert flags[0].code == "from course.checks import nb08 as checks"


# ----------------------------------------------------------------------------- each rule fires

ATTACKS = [
    ('import sys; sys.modules["course.checks.nb08"].check_vlb_full = lambda f: None',
     {"reaches into sys.modules", "patches a module attribute (setattr on a module)",
      "imports the check modules (course.checks)"}),
    ("from autograder.hidden import nb08", {"imports the grader (autograder)"}),
    ("import autograder.hidden.nb08 as h", {"imports the grader (autograder)"}),
    ("import nbgrader.api", {"imports the grader (nbgrader)"}),
    ('__import__("autograder")',
     {"imports the grader (autograder)", "imports a module by name (__import__)"}),
    ("from course import checks", {"imports the check modules (course.checks)"}),
    ("import course.checks.core", {"imports the check modules (course.checks)"}),
    ("from sys import modules", {"reaches into sys.modules"}),
    ('import sys\nm = sys.modules.get("course")', {"reaches into sys.modules"}),
    ('import sys\nfor name in sys.modules:\n    pass', {"reaches into sys.modules"}),
    ('import sys as s\nlen(s.modules)', {"reaches into sys.modules"}),
    ('import sys\nalias = sys\nalias.modules.clear()', {"reaches into sys.modules"}),
    ('import sys\ngetattr(sys, "modules")', {"reaches into sys.modules"}),
    ('getattr(__import__("s"+"ys"), "mod"+"ules")',
     {"reaches into sys.modules", "dynamic attribute access (getattr with a computed name)",
      "imports a module by name (__import__)"}),
    ("def f(x):\n    return x\nf.__code__.co_consts", {"reads a code object (__code__)"}),
    ("import types\ntypes.CodeType", {"reads a code object (__code__)"}),
    ("import builtins; builtins.__import__ = None",
     {"touches builtins", "patches a module attribute (setattr on a module)",
      "imports a module by name (__import__)"}),
    ("__builtins__.print = None", {"touches builtins"}),
    ("get_ipython().input_transformers_post.append(lambda lines: lines)",
     {"uses IPython's shell or input transformers"}),
    ("shell.ast_transformers.append(None)", {"uses IPython's shell or input transformers"}),
    ("from IPython import get_ipython", {"uses IPython's shell or input transformers"}),
    ('open("/course/source/08_conditional_vae/08_conditional_vae.ipynb")',
     {"reads course files (open/Path on source/, autograder/, gradebook...)"}),
    ('from pathlib import Path\n(Path("/course") / "gradebook.db").read_bytes()',
     {"reads course files (open/Path on source/, autograder/, gradebook...)"}),
    ('import os\nos.listdir("../" + "autograder")',
     {"reads course files (open/Path on source/, autograder/, gradebook...)",
      "imports the grader (autograder)"}),
    ("import sqlite3", {"database access (sqlite3, sqlalchemy, psycopg)"}),
    ("from sqlalchemy import create_engine", {"database access (sqlite3, sqlalchemy, psycopg)"}),
    ("import ctypes", {"uses ctypes"}),
    ("import gc; gc.get_objects()", {"uses gc"}),
    ("import sys; sys._getframe(1)", {"walks the interpreter's frames (sys._getframe / "
                                      "inspect.stack / f_back)"}),
    ("import inspect\ninspect.stack()", {"walks the interpreter's frames (sys._getframe / "
                                         "inspect.stack / f_back)"}),
    ("def f(frame):\n    return frame.f_back.f_globals",
     {"walks the interpreter's frames (sys._getframe / inspect.stack / f_back)"}),
    ('exec("imp"+"ort sys")', {"runs code built from strings (exec/eval/compile)"}),
    ('eval("__im" + "port__(\'autogr\' + \'ader\')")',
     {"runs code built from strings (exec/eval/compile)", "imports a module by name (__import__)",
      "imports the grader (autograder)"}),
    ('code = compile(text, "x", "exec")', {"runs code built from strings (exec/eval/compile)"}),
    ('globals()["checks"]', {"reads a namespace as a dict (globals()/vars()/locals())"}),
    ("vars(checks)", {"reads a namespace as a dict (globals()/vars()/locals())"}),
    ("getattr(layer, name)", {"dynamic attribute access (getattr with a computed name)"}),
    ('setattr(obj, "x" + suffix, 1)', {"dynamic attribute access (getattr with a computed name)"}),
    ("import numpy as np\nnp.allclose = lambda *args, **kwargs: True",
     {"patches a module attribute (setattr on a module)"}),
    ('from course import plots\nsetattr(plots, "image_grid", print)',
     {"patches a module attribute (setattr on a module)"}),
    ("().__class__.__bases__[0].__subclasses__()",
     {"walks objects' internals (__class__, __subclasses__, __globals__, __dict__...)"}),
    ("f.__globals__", {"walks objects' internals (__class__, __subclasses__, __globals__, "
                       "__dict__...)"}),
    ("import importlib\nimportlib.import_module('course.checks.nb08')",
     {"uses importlib", "imports the check modules (course.checks)"}),
    ('import sys\n[sys][0].modules["numpy"]', {"reaches into sys.modules"}),
    ("import inspect\nchecker = inspect.getmodule(gaussian_nll)", {"reaches into sys.modules"}),
    ("import course\n(lambda m: m)(course).checks.nb08._TRAINED.clear()",
     {"imports the check modules (course.checks)"}),
    ('name = "course." + "checks" + ".nb08"', {"imports the check modules (course.checks)"}),
    ("where = f\"{'auto'}grader\"", {"imports the grader (autograder)"}),
    ('config = "nbgrader.apps"', {"imports the grader (nbgrader)"}),
    ('import os\nos.environ["NBGRADER_DB_URL"]',
     {"reads or changes environment variables (os.environ)"}),
    ("import subprocess", {"runs other programs or opens connections (subprocess, os.system, "
                           "socket, !shell)"}),
    ('import os\nos.system("ls")', {"runs other programs or opens connections (subprocess, "
                                    "os.system, socket, !shell)"}),
    ("import socket", {"runs other programs or opens connections (subprocess, os.system, "
                       "socket, !shell)"}),
    ("!cat /course/autograder/hidden/nb08.py",
     {"runs other programs or opens connections (subprocess, os.system, socket, !shell)",
      "reads course files (open/Path on source/, autograder/, gradebook...)"}),
    ("%%bash\nls /", {"runs other programs or opens connections (subprocess, os.system, "
                      "socket, !shell)"}),
    ("%%time\nimport gc", {"uses gc"}),
    ("class CodeDense(layers.Dense):\n    @property\n    def activation(self):\n"
     "        return keras.activations.linear\n", {tamper.DISGUISE}),
    ("class Quiet(keras.Model):\n    def __getattr__(self, name):\n        return 0\n",
     {tamper.DISGUISE}),
    ("%run other_notebook.ipynb", {"runs, loads or writes files by magic (%run, %load, "
                                   "%%writefile)",
                                   "reads course files (open/Path on source/, autograder/, "
                                   "gradebook...)"}),
]  # fmt: skip


@pytest.mark.parametrize(("code", "expected"), ATTACKS, ids=[a[0][:40] for a in ATTACKS])
def test_each_rule_fires_on_a_small_attack(code, expected):
    found = reasons(tamper.scan(notebook_of("x = 1", code), None))
    assert found == expected


def test_every_rule_of_the_table_is_exercised_by_an_attack():
    fired = set().union(*(expected for _, expected in ATTACKS))
    assert {rule.reason for rule in tamper.RULES} <= fired


def test_a_flag_names_the_cell_the_line_and_the_code():
    long_line = "import gc  # " + "x" * 200
    nb = notebook_of("x = 1", "y = 2\n\n    \nimport sys\nsys._getframe(0)", long_line,
                     grade_ids={1: "vlb_binomial"})  # fmt: skip
    flags = tamper.scan(nb, None)
    assert flags[0] == tamper.Flag("vlb_binomial", 5, tamper.FRAMES, "sys._getframe(0)")
    assert (flags[1].cell, flags[1].line, flags[1].reason) == ("cell 3", 1, "uses gc")
    assert len(flags[1].code) == 120 and flags[1].code.startswith("import gc")
    assert len(flags) == 2


def test_comments_strings_and_ordinary_code_are_not_flagged():
    honest = '''
# sys.modules holds every module; do not touch autograder or course.checks
print("sys.modules is a dict; import autograder; exec(...)")
note = """f.__code__ and gc.get_objects() and open('source/x.ipynb')"""
import math

import keras
import matplotlib.pyplot as plt
import numpy as np
import scipy
import tensorflow as tf
from keras import layers, ops, random

import course
from course import SEED, pick, plots
from course.data import load_mnist

(x_train, y_train), _ = load_mnist()
layer = layers.Dense(3, activation="relu")
activation = getattr(layer, "activation")
isinstance(layer, layers.Layer)
layer.trainable = False
plt.rcParams["figure.dpi"] = 100
x = ops.exp(random.normal((2, 3), seed=SEED)) + math.pi + np.pi
model = keras.Sequential([layer])
model.compile(optimizer="adam", loss="mse")
print(type(layer).__name__, tf.__version__, scipy.__name__)


class Noise(layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(SEED)
'''
    assert tamper.scan(notebook_of(honest), None) == []
    assert tamper.scan(notebook_of('import sys\nif "google.colab" in sys.modules:\n'
                                   '    %pip install --quiet course'), None) == []  # fmt: skip


def test_a_cell_that_does_not_parse_is_scanned_as_text():
    broken = "def f(:\n    # sys._getframe here is a comment\n    return sys.modules\nimport gc"
    flags = tamper.scan(notebook_of(broken), None)
    assert [(f.line, f.reason) for f in flags] == [(3, "reaches into sys.modules"),
                                                   (4, "uses gc")]  # fmt: skip
    assert tamper.scan(notebook_of("def f(:\n    return 1  # print('unbalanced"), None) == []


def test_scan_file_never_raises(tmp_path, monkeypatch):
    released_path = grading.notebook_path(ROOT, "release", "08_conditional_vae")
    path = tmp_path / "nb.ipynb"
    nbformat.write(notebook_of("import gc"), path)
    assert [f["reason"] for f in tamper.scan_file(path, released_path)] == ["uses gc"]
    assert [f["reason"] for f in tamper.scan_file(path, tmp_path / "missing.ipynb")] == ["uses gc"]
    path.write_text(path.read_text()[:40])  # not valid JSON: reported as not gradable instead
    assert tamper.scan_file(path, released_path) == []
    assert tamper.scan_file(tmp_path / "absent.ipynb", released_path) == []
    nbformat.write(notebook_of("import gc"), path)

    def broken(submitted, released):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(tamper, "scan", broken)
    flags = tamper.scan_file(path, released_path)
    assert len(flags) == 1 and flags[0]["reason"].startswith("could not be scanned: ")
    assert "RecursionError" in flags[0]["reason"]


# ----------------------------------------------------------------------------- grading


# A flagged submission graded for real (its points unchanged, its flags kept in the state
# file and shown in the table) is in tests/test_fair_grading.py, with the attacks' class.


def test_the_table_shows_the_count_and_the_first_flag():
    from autograder.classgrade import StudentResult

    flag = {"cell": "vlb_full", "line": 2, "reason": "imports the grader (autograder)",
            "code": "import autograder"}  # fmt: skip
    results = [StudentResult("ann", "graded", {"c": 1.0}, {"c": 1.0}, flags=[flag, flag]),
               StudentResult("bob", "graded", {"c": 0.0}, {"c": 1.0})]  # fmt: skip
    lines = grading.table(results).splitlines()
    assert lines[0].split()[-1] == "flags"
    assert lines[2].endswith("graded  2 (vlb_full: imports the grader (autograder))")
    assert lines[3].endswith("graded")
    assert grading.flag_lines(results) == [
        "ann: vlb_full, line 2: imports the grader (autograder): import autograder (and 1 more)"
    ]


def test_the_grade_command_prints_one_line_per_flagged_submission(monkeypatch, capsys, tmp_path):
    from autograder.classgrade import StudentResult

    flag = {"cell": "cell 6", "line": 1, "reason": "uses gc", "code": "import gc"}
    results = [StudentResult("ann", "graded", {"c": 1.0}, {"c": 1.0}, flags=[flag]),
               StudentResult("bob", "graded", {"c": 1.0}, {"c": 1.0})]  # fmt: skip
    monkeypatch.setattr(grading, "grade", lambda course, assignment, options: results)
    monkeypatch.setattr(grading, "feedback_and_export", lambda *args: tmp_path / "grades.csv")
    assert grading.main(["grade", "08_conditional_vae", "--no-progress"]) == 0
    printed = capsys.readouterr().out.splitlines()
    table_end = printed.index(grading.table(results).splitlines()[-1])
    after = printed[table_end + 1 :]
    assert "ann: cell 6, line 1: uses gc: import gc" in after
    assert not [line for line in after if line.startswith("bob")]
