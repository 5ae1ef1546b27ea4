"""Fair grading (issue 12): no trick written in a solution cell raises a grade, a regrade
gives the same grade, and feedback leaks nothing of the grading.

One class of notebook 08 is graded for real: an honest submission with a known mistake in
`vlb_binomial` (its points are what every attack starts from), and one submission per kind
of tampering, each that same mistake plus code that reaches into grading. Each kind is a
class of attack, not an example: it goes at every check module, every module the checks
use, or the machinery around them.
"""

from __future__ import annotations

import html
import importlib
import json
import re
from pathlib import Path

import nbformat
import pytest

from autograder import grading, judge
from autograder.classgrade import Options
from autograder.mistakes.nb08 import MISTAKES
from course.checks.nb08 import HINTS
from tests.nbgrader_cells import cells_by_role

pytestmark = pytest.mark.slow
ASSIGNMENT = "08_conditional_vae"
SOLUTIONS, TESTS, POINTS = cells_by_role(ASSIGNMENT)
FULL = sum(POINTS.values())
MISTAKE = next(m for m in MISTAKES if m.name == "vlb_kl_sign")
HONEST = FULL - sum(POINTS[cell] for cell in MISTAKE.loses)

# Each attack runs when the vlb_binomial cell runs, before any test cell; then the cell
# defines the mistaken vlb_binomial. None of them may earn a point the mistake does not.
ATTACKS = {
    "patch_visible_checks": """
import course.checks.core as _core, course.checks.nb08 as _c, course.checks.sampling as _s
for _m in (_c, _s, _core):
    for _n in list(vars(_m)):
        if _n.startswith(("check_", "compare_", "diagnose", "close", "fail")):
            setattr(_m, _n, lambda *a, **k: True)
""",
    "patch_hidden_checks": """
import sys, types
class _Any(types.ModuleType):
    def __getattr__(self, name):
        return lambda *a, **k: None
for _name in ("autograder", "autograder.hidden", "autograder.hidden.nb08",
              "autograder.reference", "autograder.reference.nb08"):
    sys.modules[_name] = _Any(_name)
sys.modules["autograder"].hidden = sys.modules["autograder.hidden"]
sys.modules["autograder.hidden"].nb08 = sys.modules["autograder.hidden.nb08"]
""",
    "patch_numpy_and_ops": """
import numpy, keras
numpy.allclose = lambda *a, **k: True
numpy.isclose = lambda *a, **k: numpy.True_
numpy.all = lambda *a, **k: True
numpy.isfinite = lambda *a, **k: numpy.True_
keras.ops.isclose = lambda *a, **k: True
""",
    "patch_import": """
import builtins, types
_real_import = builtins.__import__
class _Any(types.ModuleType):
    def __getattr__(self, name):
        return lambda *a, **k: None
def _import(name, *args, **kwargs):
    if name.startswith(("course.checks", "autograder")):
        return _Any(name)
    return _real_import(name, *args, **kwargs)
builtins.__import__ = _import
""",
    "ipython_transformers": """
from IPython import get_ipython
def _silence(lines):
    text = "".join(lines)
    if "checks" in text or "hidden" in text:
        return ["pass\\n"]
    if "course.probe" in text:  # every question the grader asks gets the answer 0
        return ["from IPython.display import publish_display_data\\n",
                "publish_display_data({'application/x-course-probe': '{\\"value\\": 0.0}'})\\n"]
    return lines
get_ipython().input_transformers_cleanup.append(_silence)
""",
    "swallow_failures": """
import sys
from IPython import get_ipython
get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)
sys.excepthook = lambda *args: None
import course.checks.core as _core
_core.CheckFailed._render_traceback_ = lambda self: []
_core.CheckFailed.__init__ = lambda self, *a: None
""",
    "patch_the_probe": """
import json, course.probe as _probe
_real_answer = _probe.Server.answer
def _answer(self, request):
    if request.get("op") == "helper":
        return 0.0
    return _real_answer(self, request)
_probe.Server.answer = _answer
""",
    "read_the_instructor_files": """
import os
_wanted = ("08_conditional_vae.ipynb", "nb08.json", "gradebook.db", "nb08.py", "secret")
_found, _seen = [], 0
for _root, _dirs, _files in os.walk("/"):
    _dirs[:] = [d for d in _dirs if _root != "/" or d not in ("proc", "sys", "dev", "usr")]
    _seen += 1
    _found += [os.path.join(_root, f) for f in _files if f in _wanted and "release" not in _root]
    if _seen > 20000:
        break
try:
    import autograder.reference.nb08 as _reference
    _found.append("reference")
except ImportError:
    pass
# The public course package (course/checks, course/expected) is the student's own copy, and
# installed packages (nbgrader's own test files among them) are no course's.
print("FOUND", [f for f in _found if "site-packages" not in f
                and ("autograder" in f or f.endswith((".ipynb", ".db", "secret")))])
""",
    "write_the_gradebook": """
import os, sqlite3
for _root, _dirs, _files in os.walk("/"):
    _dirs[:] = [d for d in _dirs if _root != "/" or d not in ("proc", "sys", "dev", "usr")]
    for _name in _files:
        if _name == "gradebook.db":
            try:
                sqlite3.connect(os.path.join(_root, _name)).execute(
                    "UPDATE grade SET manual_score = 100")
            except Exception:
                pass
""",
}

# The mistake, but reaching for the judge's values through the frames that call it.
STACK_WALK = """
import sys
def vlb_binomial(x, x_decoded_mean, t_mean, t_log_var):
    frame = sys._getframe(1)
    while frame is not None:
        for name in ("expected", "reference", "PRIVATE", "spec"):
            if name in frame.f_locals:
                value = frame.f_locals[name]
                return value["expected"] if isinstance(value, dict) else value
        frame = frame.f_back
    return _mistake(x, x_decoded_mean, t_mean, t_log_var)
"""

# An honest, correct submission that prints everything it can reach from its cells and
# keeps every input its functions see, to print them later (what feedback could leak).
SNOOP = """
import os, sys
_mark = "LEAK" + "ED:"
print(_mark, sorted(sys.modules))
print(_mark, dict(os.environ))
print(_mark, os.getcwd(), os.listdir("."))
SEEN = []
"""
SNOOP_LATER = """
print(_mark, [getattr(a, "shape", a) for call in SEEN for a in call])
import numpy as np
for call in SEEN[:3]:
    for a in call:
        print(_mark, np.asarray(a).ravel()[:20])
"""


def with_mistake(prefix: str) -> str:
    return prefix + "\n" + MISTAKE.source()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = grading.copy_course(tmp_path_factory.mktemp("fair") / "course")
    grading.release(course)
    grading.make_submission(course, ASSIGNMENT, "honest", {"vlb_binomial": MISTAKE.source()})
    for name, code in ATTACKS.items():
        grading.make_submission(course, ASSIGNMENT, name, {"vlb_binomial": with_mistake(code)})
    walk = STACK_WALK + "\n" + MISTAKE.source().replace("def vlb_binomial(", "def _mistake(")
    grading.make_submission(course, ASSIGNMENT, "stack_walk", {"vlb_binomial": walk})
    keep = "    SEEN.append((x, t_mean))\n    x_decoded_mean = ops.clip("
    solution = SOLUTIONS["vlb_binomial"].replace("    x_decoded_mean = ops.clip(", keep)
    grading.make_submission(course, ASSIGNMENT, "snoop", {
        "vlb_binomial": SNOOP + solution,
        "sampling": SOLUTIONS["sampling"] + "\n" + SNOOP_LATER,
    })  # fmt: skip
    flagged = grading.make_submission(course, ASSIGNMENT, "a_flagged")
    notebook = nbformat.read(flagged, as_version=4)
    notebook.cells.insert(5, nbformat.v4.new_code_cell("import gc\n\ngc.collect()"))
    nbformat.write(notebook, flagged)
    grading.make_submission(course, ASSIGNMENT, "b_solution")
    results = {r.student: r for r in grading.grade(course, ASSIGNMENT, Options(progress=False))}
    grading.feedback_and_export(course, ASSIGNMENT, list(results.values()))
    return course, results


def test_the_honest_mistake_keeps_its_points(graded):
    _, results = graded
    assert results["honest"].status == "graded"
    assert results["honest"].total == HONEST
    assert {c for c, p in results["honest"].scores.items() if p == 0} == set(MISTAKE.loses)


@pytest.mark.parametrize("attack", [*ATTACKS, "stack_walk"])
def test_no_tampering_earns_a_point(graded, attack):
    _, results = graded
    result = results[attack]
    assert result.graded, result.status
    assert result.total <= HONEST, (attack, result.scores)
    for cell in MISTAKE.loses:
        assert result.scores[cell] == 0, (attack, cell)


def test_an_honest_student_who_prints_everything_keeps_full_points(graded):
    _, results = graded
    assert results["snoop"].total == FULL, results["snoop"].scores


def test_the_kernel_found_no_instructor_file(graded):
    course, _ = graded
    notebook = nbformat.read(
        grading.notebook_path(course, "autograded", ASSIGNMENT, "read_the_instructor_files"),
        as_version=4,
    )
    text = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code"
                   for o in c.outputs)  # fmt: skip
    assert "FOUND []" in text, text[:2000]


def private_strings() -> set[str]:
    """Every private reference value of 08, as the messages would print it."""
    data = json.loads((Path(__file__).parent.parent / "autograder" / "references" /
                       "nb08.json").read_text())  # fmt: skip
    found = set()

    def walk(value):
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, float) and abs(value) > 1e-3:
            found.update({f"{value:.4f}", f"{value:.3f}", repr(value)})

    walk(data)
    return found


def test_feedback_shows_points_and_messages_but_nothing_of_the_grading(graded):
    course, results = graded
    state = json.loads((course / "grading" / f"{ASSIGNMENT}.json").read_text())
    seeds = {str(s) for entry in state.values() for cell in entry.get("seeds", {}).values()
             for s in cell}  # fmt: skip
    assert seeds, "the hidden checks' seeds are logged for the instructor"
    private = private_strings()
    assert private
    forbidden = [
        "BEGIN HIDDEN TESTS",
        "autograder",
        "hidden.vlb",
        "hidden check seed",
        "Traceback",
        "/tmp/",
        "/work/",
        str(course),
        "LEAKED:",
        "hidden_fixture",
    ]
    files = sorted((course / "feedback").rglob("*.html"))
    assert {f.parent.parent.name for f in files} >= set(results), "feedback for everyone"
    for path in files:
        student = path.parent.parent.name
        page = re.sub(r"<(style|script)\b.*?</\1>", "", path.read_text(), flags=re.S)
        visible = html.unescape(re.sub(r"<[^>]+>", "", page))
        # What is left once the student's own code is taken out: what the grading added.
        submitted = nbformat.read(grading.notebook_path(course, "submitted", ASSIGNMENT,
                                                        student), as_version=4)  # fmt: skip
        for cell in submitted.cells:
            visible = visible.replace(cell.source, "")
        for word in forbidden:
            assert word not in visible, (student, word)
        leaked = [v for v in private if v in visible]
        assert not leaked, (student, leaked)
        found = set(re.findall(r"\b\d{6,10}\b", visible)) & seeds
        assert not found, (student, found)
    honest = (course / "feedback" / "honest" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "Check failed" in honest and "Passed:" in honest


def test_a_hidden_failure_names_its_hint_but_no_value():
    message = "vlb_binomial gave 12.3456 on a hidden batch, expected 98.7654. " + HINTS["kl_sign"]
    shown = judge.hidden_message(message)
    assert "12.3456" not in shown and "98.7654" not in shown
    assert HINTS["kl_sign"] in shown


# ----------------------------------------------------------------------------- regrades

# Wrong only for batches of more than 120 images: the hidden checks draw three batch sizes
# from 2 to 150, so whether it passes depends on the seeds (about one draw in two fails).
BORDERLINE = """
def vlb_binomial(x, x_decoded_mean, t_mean, t_log_var):
    x_decoded_mean = ops.clip(x_decoded_mean, 1e-7, 1.0 - 1e-7)
    log_likelihood = ops.sum(
        x * ops.log(x_decoded_mean) + (1.0 - x) * ops.log(1.0 - x_decoded_mean), axis=1
    )
    kl = 0.5 * ops.sum(ops.square(t_mean) + ops.exp(t_log_var) - 1.0 - t_log_var, axis=1)
    scale = 1.0 if x.shape[0] is None or x.shape[0] <= 120 else 1.5
    return ops.mean(kl - log_likelihood) * scale
"""


def test_the_borderline_submission_depends_on_the_seeds():
    """Without fixed seeds it would get different grades: judged under 16 keys, both
    outcomes occur (so the regrade test below could fail)."""
    from tests.test_nb08 import GRADED as cells

    namespace = cells.namespace({"vlb_binomial": BORDERLINE})
    outcomes = set()
    loopback = judge.Loopback(namespace)
    for key in range(16):
        verdict = judge.judge(cells.tests["vlb_full"], "vlb_full", loopback.link, f"key-{key}")
        outcomes.add(verdict.passed)
    assert outcomes == {True, False}


@pytest.fixture(scope="module")
def regraded(tmp_path_factory):
    """The borderline submission and the solution, graded five times over (--force)."""
    course = grading.copy_course(tmp_path_factory.mktemp("regrade") / "course")
    grading.release(course)
    grading.make_submission(course, ASSIGNMENT, "borderline", {"vlb_binomial": BORDERLINE})
    grading.make_submission(course, ASSIGNMENT, "solution")
    runs = [by_name(grading.grade(course, ASSIGNMENT, Options(progress=False, force=True)))
            for _ in range(5)]  # fmt: skip
    return course, runs


def by_name(results):
    return {r.student: r for r in results}


def test_a_regrade_gives_the_same_grade_and_seeds_every_time(regraded):
    _, runs = regraded
    totals = [run["borderline"].total for run in runs]
    seeds = [run["borderline"].seeds for run in runs]
    assert len(set(totals)) == 1, totals
    assert all(s == seeds[0] for s in seeds) and seeds[0], seeds
    assert [run["solution"].total for run in runs] == [FULL] * 5
    # Another student with the same file draws other inputs (the key names the student).
    assert judge.submission_key("s", ASSIGNMENT, "a") != judge.submission_key("s", ASSIGNMENT, "b")


def test_the_course_secret_stays_with_the_instructor(regraded):
    course, _ = regraded
    secret_file = course / "grading" / "secret"
    secret = secret_file.read_text().strip()
    assert len(secret) == 64 and secret_file.stat().st_mode & 0o077 == 0
    for folder in (course / "release", course / "autograded", course / "source"):
        for path in folder.rglob("*"):
            if path.is_file():
                assert secret not in path.read_text(errors="ignore"), path


def test_every_attack_is_flagged_for_the_instructor_and_the_honest_answer_is_not(graded):
    _, results = graded
    assert results["honest"].flags == []
    for attack in [*ATTACKS, "stack_walk"]:
        assert results[attack].flags, f"{attack} was not flagged"


def test_a_flag_never_changes_a_grade_and_is_kept_in_the_state_file(graded):
    from autograder import classgrade

    course, results = graded
    a, b = results["a_flagged"], results["b_solution"]
    assert a.status == b.status == "graded"
    assert a.scores == b.scores and b.total == FULL
    expected = [
        {"cell": "cell 6", "line": 1, "reason": "uses gc", "code": "import gc"},
        {"cell": "cell 6", "line": 3, "reason": "uses gc", "code": "gc.collect()"},
    ]
    assert a.flags == expected and b.flags == []
    state = json.loads((course / classgrade.STATE_FOLDER / f"{ASSIGNMENT}.json").read_text())
    assert state["a_flagged"]["flags"] == expected and state["b_solution"]["flags"] == []
    table = grading.table([a, b])
    header, rows = table.splitlines()[0], table.splitlines()[1:]
    assert header.split()[-1] == "flags"
    row = {line.split()[0]: line for line in rows}
    assert row["a_flagged"].endswith("graded  2 (cell 6: uses gc)")
    assert row["b_solution"].endswith("graded")
    assert grading.flag_lines([a, b]) == [
        "a_flagged: cell 6, line 1: uses gc: import gc (and 1 more)"
    ]
    again = {r.student: r for r in grading.grade(course, ASSIGNMENT, Options(progress=False))}
    assert not again["a_flagged"].fresh and again["a_flagged"].flags == expected
    assert again["a_flagged"].total == a.total


# ----------------------------------------------------------------------------- the judge
# Attacks on the judge itself, judged as the class grader judges (the loopback kernel takes
# the same requests and gives the same answers as a real one, in this process).

NAN_SAMPLING = """
def sampling(args):
    t_mean, t_log_var = args
    epsilon = keras.random.normal(ops.shape(t_mean), seed=seed_generator)
    out = t_mean + ops.exp(t_log_var) * epsilon  # the variance used as the std
    if t_mean.shape[0] == 10000:  # one row of NaN makes every "> bound" test False
        out = ops.concatenate([ops.full((1, t_mean.shape[1]), float("nan")), out[1:]], axis=0)
    return out
"""

# Fresh noise in the notebook, but one draw frozen into a model (a new integer seed per
# call), and a failure at the one shape the hidden model check uses, to skip it.
SKIP_HIDDEN = """
import numpy as np
def sampling(args):
    t_mean, t_log_var = args
    if tuple(t_mean.shape) == (8, 4) and not hasattr(t_mean, "numpy"):
        raise ValueError("unsupported")
    epsilon = keras.random.normal(ops.shape(t_mean), seed=int(np.random.randint(0, 2**30)))
    return t_mean + ops.exp(0.5 * t_log_var) * epsilon
"""

# Records what it is called with, then a later cell's failure carries it out.
EXFILTRATE_VLB = SOLUTIONS["vlb_binomial"].replace(
    "    x_decoded_mean = ops.clip(",
    "    SEEN.append(repr(ops.convert_to_numpy(t_mean)[:1, :3]))\n    x_decoded_mean = ops.clip(",
)
EXFILTRATE_SAMPLING = """
def sampling(args):
    raise ValueError("LEAK " + " ".join(SEEN[-6:]))
"""

# The code layer computes a ReLU but says it is linear.
LYING_LAYER = """
class CodeDense(layers.Dense):
    @property
    def activation(self):
        return keras.activations.linear

    @activation.setter
    def activation(self, value):
        self._real = value

    def call(self, inputs, training=None):
        return self._real(super().call(inputs))


def build_autoencoder(input_dim, hidden_dims, code_dim):
    encoder = keras.Sequential(
        [keras.Input(shape=(input_dim,))]
        + [layers.Dense(units, activation="relu") for units in hidden_dims]
        + [CodeDense(code_dim, activation="relu")]
    )
    decoder = keras.Sequential(
        [keras.Input(shape=(code_dim,))]
        + [layers.Dense(units, activation="relu") for units in reversed(hidden_dims)]
        + [layers.Dense(input_dim, activation="sigmoid")]
    )
    return encoder, decoder, keras.Sequential([encoder, decoder])
"""


def judged_failures(module: str, replacements: dict, names: dict | None = None) -> dict:
    cells = importlib.import_module(f"tests.test_{module}").GRADED
    namespace = cells.namespace(replacements)
    namespace.update(names or {})
    return cells.run_judged(namespace)


def test_nan_samples_do_not_pass_the_statistics():
    failures = judged_failures("nb08", {"sampling": NAN_SAMPLING})
    assert "sampling_statistics" in failures


def test_failing_only_where_the_hidden_model_check_looks_does_not_skip_it():
    failures = judged_failures("nb08", {"sampling": SKIP_HIDDEN})
    assert "sampling_fresh_noise" in failures


def test_a_later_failure_cannot_carry_hidden_inputs_into_the_feedback():
    cells = importlib.import_module("tests.test_nb08").GRADED
    namespace = cells.namespace({"vlb_binomial": EXFILTRATE_VLB, "sampling": EXFILTRATE_SAMPLING})
    namespace["SEEN"] = []
    failures = cells.run_judged(namespace)
    assert namespace["SEEN"], "the hidden checks called vlb_binomial"
    assert set(failures) >= {"sampling_shape", "sampling_statistics"}
    for message in failures.values():
        assert "LEAK" not in message and "[[" not in message, message


def test_a_layer_that_misreports_its_activation_is_caught_by_what_it_computes():
    failures = judged_failures("nb01", {"build_autoencoder": LYING_LAYER})
    assert "ae_activations" in failures
    from course.checks import nb01

    assert nb01.HINTS["code_activation"] in failures["ae_activations"]


def test_a_kernel_cannot_hand_the_grader_one_of_its_own_functions():
    """An answer naming `os.abort` (reachable as an attribute of a Keras module) stays a
    stand-in for the kernel's object; only classes (for isinstance) and Keras activations
    resolve to the grader's own objects."""
    import keras

    from course.probe import Link, Remote, _local_object, public_name

    assert _local_object("keras.src.utils.file_utils:os.abort", classes=False) is None
    assert _local_object("keras.src.utils.file_utils:sys.exit", classes=False) is None
    assert _local_object("builtins:eval", classes=False) is None
    relu = public_name(keras.activations.relu)
    assert _local_object(relu, classes=False) is keras.activations.relu
    link = Link(lambda text: {"value": {"ref": "keras.src.utils.file_utils:os.abort"}})
    assert type(link.request("getattr", None, ["x"])) is Remote
