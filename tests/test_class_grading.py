"""Grading a class: parallel, confined, within limits, every submission named (issue 11).

Each test grades a small class of notebook 06 (no dataset, quick) with the real pipeline:
nbgrader's own steps in this process, every notebook run in a kernel forked from the
zygote and confined by the sandbox.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from autograder import classgrade, execute, grading, limits, sandbox
from autograder.classgrade import Options
from tests.conftest import ROOT
from tests.nbgrader_cells import cells_by_role

pytestmark = pytest.mark.slow
ASSIGNMENT = "06_reparameterization"
SOLUTIONS, _, POINTS = cells_by_role(ASSIGNMENT)
# The notebook's first two exercises: when the second stops the kernel, the first keeps its
# points (and the third, best_baseline, after them, gets none).
SCORE = {"score_shape", "score_mean", "score_log_var", "score_unbiased", "score_baseline"}
PATHWISE = {"pathwise_shape", "pathwise_mean", "pathwise_log_var", "pathwise_unbiased"}
FULL = sum(POINTS.values())
SCORE_POINTS = sum(POINTS[c] for c in SCORE)
PATHWISE_POINTS = sum(POINTS[c] for c in PATHWISE)


def digest(paths) -> dict:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.is_file()}


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A scratch course with 06 released, copied afresh for each test that needs a class."""
    course = grading.copy_course(tmp_path_factory.mktemp("released") / "course")
    grading.nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    return course


@pytest.fixture
def course(released, tmp_path):
    import shutil

    copy = tmp_path / "course"
    shutil.copytree(released, copy)
    return copy


def submit(course, student, **cells):
    """A submission: the solution, with some solution cells replaced by other code."""
    return grading.make_submission(course, ASSIGNMENT, student, cells)


LOOP = "def pathwise_gradient(*args):\n    while True:\n        pass\n"
STUB = "def pathwise_gradient(*args):\n    raise NotImplementedError()\n"


def exits(status: int) -> str:
    """A `pathwise_gradient` whose first call ends the kernel with this exit status."""
    return f"import os\n\ndef pathwise_gradient(*args):\n    os._exit({status})\n"


def pathwise_with(prefix: str) -> str:
    """The solution's `pathwise_gradient` cell with code run first (when the cell runs)."""
    return prefix + "\n" + SOLUTIONS["pathwise_gradient"]


def autograded(course, student) -> nbformat.NotebookNode:
    return nbformat.read(grading.notebook_path(course, "autograded", ASSIGNMENT, student),
                         as_version=4)  # fmt: skip


def printed(notebook) -> str:
    return "".join(out.get("text", "") + str(out.get("evalue", ""))
                   for cell in notebook.cells if cell.cell_type == "code"
                   for out in cell.outputs)  # fmt: skip


def by_student(results):
    return {r.student: r for r in results}


# ----------------------------------------------------------------------------- isolation


ATTACK = """
import json, os, subprocess
report = {{}}
for path in {writes!r}:
    try:
        with open(path, "a") as stream:
            stream.write("# tampered")
        report[path] = "WROTE"
    except OSError as error:
        report[path] = type(error).__name__
for path in {reads!r}:
    try:
        found = os.listdir(path) if os.path.isdir(path) else open(path).read()
        report[path] = "READ " + str(len(found))
    except OSError as error:
        report[path] = type(error).__name__
report["env"] = sorted(key for key in os.environ if "DB" in key or "SECRET" in key)
report["uid"] = os.getuid()
report["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
subprocess.Popen(["sleep", "{marker}"], start_new_session=True)
print("ATTACK " + json.dumps(report))
"""


def test_a_submission_cannot_touch_the_course_the_gradebook_or_the_next_student(
    course, monkeypatch
):
    gradebook = course / "gradebook.db"
    monkeypatch.setenv("NBGRADER_DB_URL", f"sqlite:///{gradebook}")  # must not reach the kernel
    checks = [ROOT / "course" / "checks" / "nb06.py", ROOT / "course" / "checks" / "core.py",
              ROOT / "autograder" / "hidden" / "nb06.py"]  # fmt: skip
    sources = [ROOT / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
               course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"]  # fmt: skip
    marker = "987.654"
    writes = [str(p) for p in [*checks, *sources, gradebook]]
    reads = [str(p) for p in [sources[1], course / "submitted", ROOT / "autograder" / "references"]]
    attack = ATTACK.format(writes=writes, reads=reads, marker=marker)
    submit(course, "a_attacker", pathwise_gradient=pathwise_with(attack))
    submit(course, "b_honest")
    before = digest([*checks, *sources])
    results = by_student(grading.grade(course, ASSIGNMENT, Options(jobs=1, progress=False)))

    assert digest([*checks, *sources]) == before
    line = next(x for x in printed(autograded(course, "a_attacker")).splitlines()
                if x.startswith("ATTACK "))  # fmt: skip
    report = json.loads(line.removeprefix("ATTACK "))
    assert not [p for p in writes if report[p] == "WROTE"], report
    assert not [p for p in reads if report[p].startswith("READ")], report
    assert report["env"] == [], "the kernel saw the grader's database settings"
    assert report["uid"] != 0 and report["pids"] == [1], "the kernel sees other processes"
    assert results["a_attacker"].total == FULL  # the attack itself costs no points
    assert results["b_honest"].status == "graded" and results["b_honest"].total == FULL
    left = [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", marker]]
    assert left == [], "a process the submission started outlived its grading"
    cgroups = sandbox.cgroup_folder("memory")
    if cgroups is not None:
        # A cgroup is named after its supervisor: one whose process has ended was left behind
        # (a live one may belong to a kernel of tests running alongside).
        left = [c for c in cgroups.glob("autograder-*")
                if not psutil.pid_exists(int(c.name.rsplit("-", 1)[1]))]  # fmt: skip
        assert left == [], "a submission's cgroup was left behind"


# ----------------------------------------------------------------------------- limits


def test_an_infinite_loop_is_stopped_at_the_submissions_limit_and_keeps_earlier_points(course):
    submit(course, "loop", pathwise_gradient=LOOP)
    start = time.monotonic()
    result = grading.grade(course, ASSIGNMENT, Options(jobs=1, wall_seconds=12,
                                                       progress=False))[0]  # fmt: skip
    elapsed = time.monotonic() - start
    assert result.status == execute.STATUS_TIME and "12 s" in result.detail
    assert elapsed < 12 + 25, "the loop ran on past the submission's limit"
    assert {c: result.scores[c] for c in SCORE} == {c: POINTS[c] for c in SCORE}
    assert all(result.scores[c] == 0 for c in PATHWISE)
    assert "over the time limit" in printed(autograded(course, "loop"))


@pytest.mark.parametrize("enforcement", ["auto", "watchdog"])
def test_memory_beyond_the_limit_stops_that_submission_only(course, enforcement):
    hog = "import numpy as np\nhog = np.ones(int(3e8))  # 2.4 GB\n"
    submit(course, "a_hog", pathwise_gradient=pathwise_with(hog))
    submit(course, "b_honest")
    options = Options(jobs=2, memory_bytes=2**30, memory_enforcement=enforcement, progress=False)
    results = by_student(grading.grade(course, ASSIGNMENT, options))
    hog_result = results["a_hog"]
    assert hog_result.status == execute.STATUS_MEMORY, hog_result
    assert {c: hog_result.scores[c] for c in SCORE} == {c: POINTS[c] for c in SCORE}
    assert results["b_honest"].status == "graded" and results["b_honest"].total == FULL


def test_a_50_mb_print_is_cut_and_makes_a_small_feedback_file(course):
    flood = 'for _ in range(50_000):\n    print("y" * 999)\n'  # 50 MB
    submit(course, "flood", pathwise_gradient=pathwise_with(flood))
    results = grading.grade(course, ASSIGNMENT, Options(jobs=1, progress=False))
    assert results[0].total == FULL
    grading.feedback_and_export(course, ASSIGNMENT, results)
    feedback = course / "feedback" / "flood" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    assert feedback.stat().st_size < 3 * 2**20
    assert "[output cut" in printed(autograded(course, "flood"))


def test_a_kernel_that_dies_keeps_the_points_of_the_cells_before(course):
    submit(course, "dies", pathwise_gradient=exits(3))
    result = grading.grade(course, ASSIGNMENT, Options(jobs=1, progress=False))[0]
    assert result.status == execute.STATUS_DIED and "exit status 3" in result.detail
    assert result.total == SCORE_POINTS
    assert {c for c, s in result.scores.items() if s} == SCORE


# ----------------------------------------------------------------------------- every end named


def test_every_submission_ends_graded_or_named_and_nothing_submitted_changes(course):
    submit(course, "ok")
    cut = submit(course, "cut")
    cut.write_text(cut.read_text()[:3000])
    renamed = submit(course, "renamed")
    renamed.rename(renamed.with_name("my notebook.ipynb"))
    old = submit(course, "old_metadata")
    notebook = nbformat.read(old, as_version=4)
    next(c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade"))["metadata"][
        "nbgrader"
    ]["schema_version"] = 1
    nbformat.write(notebook, old)
    submitted = sorted((course / "submitted").rglob("*"))
    before = digest(submitted)

    results = by_student(grading.grade(course, ASSIGNMENT, Options(jobs=2, progress=False)))
    assert results["ok"].status == "graded" and results["ok"].total == FULL
    assert results["cut"].status.startswith("not a readable notebook")
    assert results["renamed"].status.startswith(f"no notebook named {ASSIGNMENT}.ipynb")
    assert "my notebook.ipynb" in results["renamed"].status
    assert results["old_metadata"].status.startswith("nbgrader error:")
    assert "nbgrader" in results["old_metadata"].status.lower()
    assert digest(sorted((course / "submitted").rglob("*"))) == before

    rows = {r["student_id"]: r for r in grading.read_grades_csv(
        grading.feedback_and_export(course, ASSIGNMENT, list(results.values())))
        if r["assignment"] == ASSIGNMENT}  # fmt: skip
    assert float(rows["ok"]["score"]) == FULL and rows["ok"]["grading_status"] == "graded"
    for student in ("cut", "renamed", "old_metadata"):
        assert rows[student]["score"] == "" and rows[student]["raw_score"] == ""
        assert rows[student]["grading_status"] == results[student].status
    table = grading.table(list(results.values()))
    row = next(line for line in table.splitlines() if line.startswith("cut "))
    assert " 0 " not in row and "-" in row


def test_a_rerun_grades_only_new_or_changed_submissions_unless_forced(course):
    for student in ("a", "b", "c"):
        submit(course, student)
    first = grading.grade(course, ASSIGNMENT, Options(jobs=2, progress=False))
    assert all(r.fresh and r.total == FULL for r in first)
    again = grading.grade(course, ASSIGNMENT, Options(jobs=2, progress=False))
    assert [(r.fresh, r.total, r.status) for r in again] == [(False, FULL, "graded")] * 3
    submit(course, "b", pathwise_gradient=STUB)
    changed = by_student(grading.grade(course, ASSIGNMENT, Options(jobs=2, progress=False)))
    assert {s for s, r in changed.items() if r.fresh} == {"b"}
    assert changed["b"].total == FULL - PATHWISE_POINTS
    forced = grading.grade(course, ASSIGNMENT, Options(jobs=2, force=True, progress=False))
    assert all(r.fresh for r in forced)
    log = (course / classgrade.STATE_FOLDER / f"{ASSIGNMENT}.log").read_text().splitlines()
    assert len(log) == 3 + 1 + 3  # one line per submission graded, runs that graded nothing none


def test_progress_shows_done_total_and_failures(course, capfd):
    submit(course, "fine")
    submit(course, "dies", pathwise_gradient=exits(1))
    grading.grade(course, ASSIGNMENT, Options(jobs=2, progress=True))
    shown = capfd.readouterr().err
    assert "2/2" in shown and "not fully graded: 1" in shown and "submission" in shown


# ----------------------------------------------------------------------------- same grades


def test_grades_are_those_of_plain_nbgrader_autograde(course, tmp_path):
    """The solution, the stub and one submission per known mistake of 06: every cell's
    points, from the parallel pipeline, equal those of one plain `nbgrader autograde`."""
    import importlib

    mistakes = importlib.import_module("autograder.mistakes.nb06").MISTAKES
    first = {}
    for mistake in mistakes:
        first.setdefault(mistake.target, mistake)
    submissions = {"solution": {}, "stub": None,
                   **{f"m_{m.name}": {m.target: m.source()} for m in first.values()}}  # fmt: skip
    plain = grading.copy_course(tmp_path / "plain")
    grading.nbgrader(plain, "generate_assignment", ASSIGNMENT, "--force")
    for target in (course, plain):
        for student, cells in submissions.items():
            grading.make_submission(target, ASSIGNMENT, student, cells, solved=cells is not None)
    ours = by_student(grading.grade(course, ASSIGNMENT, Options(jobs=2, progress=False)))
    grading.nbgrader(plain, "autograde", ASSIGNMENT)
    for student in submissions:
        theirs = grading.graded_result(plain, ASSIGNMENT, student)
        assert ours[student].scores == theirs.scores, student
        assert ours[student].max_scores == theirs.max_scores
    assert ours["solution"].total == FULL and ours["stub"].total == 0


# ----------------------------------------------------------------------------- the machinery


def test_each_default_time_limit_covers_the_measured_grading_time_with_a_margin():
    """Every assignment's default limit is at least MARGIN_FACTOR times the time its solution
    took to grade in the committed benchmark, plus MARGIN_SECONDS."""
    results = json.loads((ROOT / "benchmarks" / "results.json").read_text())
    measured = {run["notebook"]: run["metrics"]["submission_seconds"]
                for run in results["runs"] if run["mode"] == "grade"}  # fmt: skip
    assert set(measured) == set(grading.assignments(ROOT)), "the benchmark grades every one"
    for assignment, seconds in measured.items():
        need = limits.MARGIN_FACTOR * seconds + limits.MARGIN_SECONDS
        assert limits.wall_seconds(assignment) >= need, (assignment, seconds)


def test_the_sandbox_says_what_this_machine_allows():
    caps = sandbox.capabilities()
    assert set(caps) == {
        "root",
        "namespaces",
        "user_switch",
        "memory_cgroup",
        "cpu_cgroup",
        "pids_cgroup",
    }
    text = sandbox.describe(caps)
    assert ("a file system of their own" in text) == caps["namespaces"]
    assert ("own PID and network namespaces" in text) == caps["namespaces"]
    if caps["root"]:
        assert caps["namespaces"], "as root on Linux, grading must isolate submissions"


def test_a_worker_with_other_course_code_refuses_the_task():
    task = execute.Task(student="x", assignment=ASSIGNMENT, notebook="{}", course_version="0" * 16)
    result = execute.execute(task)
    assert result.status == execute.STATUS_WORKER and "other course code" in result.detail


def test_without_namespaces_the_limits_still_hold_and_nothing_is_left_running(course):
    """The fallback where namespaces are not allowed (not root): the time limit, and the
    stopping of every process the submission started, do not depend on them."""
    marker = "876.543"
    spawn = f'import subprocess\nsubprocess.Popen(["sleep", "{marker}"])\n'
    submit(course, "spawner",
           score_function_gradient=spawn + SOLUTIONS["score_function_gradient"],
           pathwise_gradient=LOOP)  # fmt: skip
    options = Options(jobs=1, wall_seconds=12, isolate=False, progress=False)
    result = grading.grade(course, ASSIGNMENT, options)[0]
    assert result.status == execute.STATUS_TIME
    assert result.total == SCORE_POINTS
    left = [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", marker]]
    assert left == []


def test_kernels_running_at_once_never_share_a_user_nor_inherit_each_other_s_files(course):
    """Two kernels at once (two jobs): each runs as a user of its own, and each starts with
    the same open files, so none holds a pipe or lock of the other's (through the zygote)."""
    probe = ('import os, time\nprint("PROBE", os.getuid(), len(os.listdir("/proc/self/fd")))\n'
             "time.sleep(2)\n")  # fmt: skip
    for student in ("a", "b", "c", "d"):
        submit(course, student, pathwise_gradient=probe + SOLUTIONS["pathwise_gradient"])
    results = grading.grade(course, ASSIGNMENT, Options(jobs=2, progress=False))
    assert all(r.total == FULL for r in results)
    probes = {}
    for result in results:
        line = next(x for x in printed(autograded(course, result.student)).splitlines()
                    if x.startswith("PROBE"))  # fmt: skip
        _, uid, fds = line.split()
        probes[result.student] = (int(uid), int(fds))
    assert all(uid >= 64000 for uid, _ in probes.values())
    assert len({uid for uid, _ in probes.values()}) >= 2, "kernels at once shared a user"
    assert len({fds for _, fds in probes.values()}) == 1, f"open files differ: {probes}"


# ----------------------------------------------------------------------------- hardening


def test_the_kernel_s_file_system_holds_only_what_a_kernel_needs(course, tmp_path):
    """No course folder, no other copy of the course, no /var or /run with their sockets."""
    import socket

    outside = Path("/var/tmp") / f"course-test-{os.getpid()}"
    outside.mkdir(exist_ok=True)
    (outside / "notes.txt").write_text("anyone may read this file")
    (outside / "notes.txt").chmod(0o644)
    outside.chmod(0o755)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(outside / "server.sock"))
    listener.listen(1)
    os.chmod(outside / "server.sock", 0o777)
    readable = [str(outside / "notes.txt"), str(ROOT / "README.md"),
                str(course / "nbgrader_config.py")]  # fmt: skip
    probe = f"""
import json, os, socket
seen = {{"top": sorted(os.listdir("/")), "main": sorted(os.listdir({str(ROOT)!r}))}}
for path in {readable!r}:
    try:
        open(path).read()
        seen[path] = "READ"
    except OSError as error:
        seen[path] = type(error).__name__
try:
    socket.socket(socket.AF_UNIX).connect({str(outside / "server.sock")!r})
    seen["socket"] = "CONNECTED"
except OSError as error:
    seen["socket"] = type(error).__name__
print("SEEN " + json.dumps(seen))
"""
    try:
        submit(course, "looker", pathwise_gradient=pathwise_with(probe))
        result = grading.grade(course, ASSIGNMENT, Options(jobs=1, progress=False))[0]
    finally:
        listener.close()
        shutil.rmtree(outside, ignore_errors=True)
    assert result.total == FULL
    line = next(x for x in printed(autograded(course, "looker")).splitlines()
                if x.startswith("SEEN "))  # fmt: skip
    seen = json.loads(line.removeprefix("SEEN "))
    assert not {"var", "run", "home", "srv", "mnt", "opt"} & set(seen["top"]), seen["top"]
    allowed = {".venv", "course"}  # and the datasets' cache, when it lies in the checkout
    cache = Path(os.environ.get("COURSE_CACHE_DIR", "/nonexistent")).resolve()
    if cache.is_relative_to(ROOT):
        allowed.add(cache.relative_to(ROOT).parts[0])
    assert set(seen["main"]) <= allowed, seen["main"]
    assert not [k for k, v in seen.items() if v in ("READ", "CONNECTED")], seen


def test_a_kernel_holds_no_hidden_check_reference_or_private_value_in_memory(course):
    """The test cells are judged in the grader (autograder.judge): a kernel has nothing of
    the instructor's `autograder` package, not even its own assignment's hidden checks."""
    probe = """
import sys
loaded = sorted(name for name in sys.modules if name.startswith("autograder"))
for name in ("autograder.reference.nb06", "autograder.hidden.nb06"):
    try:
        __import__(name)
        loaded.append("IMPORTED " + name)
    except ImportError:
        pass
print("LOADED", " ".join(loaded) or "nothing")
"""
    submit(course, "curious", pathwise_gradient=pathwise_with(probe))
    (result,) = grading.grade(course, ASSIGNMENT, Options(jobs=1, progress=False))
    line = next(x for x in printed(autograded(course, "curious")).splitlines()
                if x.startswith("LOADED"))  # fmt: skip
    # The supervisor's own `autograder.sandbox` is there (it confines the kernel); nothing
    # that decides a grade is.
    private = ("autograder.hidden", "autograder.reference", "autograder.mistakes",
               "autograder.judge", "IMPORTED")  # fmt: skip
    assert line.startswith("LOADED ") and not [n for n in line.split() if n.startswith(private)]
    assert "autograder.sandbox" in line.split(), "the probe saw the kernel's modules"
    assert result.total == FULL  # and the hidden checks still ran, in the grader
    assert result.seeds


def test_a_kernel_cannot_make_the_grader_read_a_file_or_hang(course, tmp_path):
    """The grader never reads a path the kernel controls: a symlink or a FIFO in the
    submission's folder, where a start error once was, costs nothing but the kernel."""
    secret = tmp_path / "secret.txt"
    secret.write_text("ROOT ONLY 31415")
    secret.chmod(0o600)
    attack = (f"import os\nos.symlink({str(secret)!r}, 'kernel-start-error.txt')\n"
              "os.mkfifo('kernel.log.fifo')\nos._exit(1)\n")  # fmt: skip
    submit(course, "prober", pathwise_gradient=attack)
    start = time.monotonic()
    result = grading.grade(course, ASSIGNMENT, Options(jobs=1, progress=False))[0]
    assert time.monotonic() - start < 60
    assert result.status == execute.STATUS_DIED and result.total == SCORE_POINTS
    assert "31415" not in nbformat.writes(autograded(course, "prober")) + result.detail


def test_a_kernel_that_cannot_start_says_why_through_its_supervisor(tmp_path):
    for name in ("work", "kernel", "root"):
        (tmp_path / name).mkdir()
    spec = sandbox.SandboxSpec(scratch=str(tmp_path), workdir=str(tmp_path / "work"),
                               runtime=str(tmp_path / "kernel"), root=str(tmp_path / "root"),
                               wall_seconds=10, memory_bytes=2**30, isolate=False,
                               memory_enforcement="watchdog")  # fmt: skip
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)

        def cannot_start(started):
            raise RuntimeError("no kernel today")

        sandbox.supervise(
            spec,
            cannot_start,
            lambda message: os.write(write, (json.dumps(message) + "\n").encode()),
        )
    os.close(write)
    said = b""
    while chunk := os.read(read, 65536):
        said += chunk
    os.waitpid(pid, 0)
    messages = [json.loads(line) for line in said.decode().splitlines()]
    outcome = next(m["outcome"] for m in messages if "outcome" in m)
    assert outcome["start_error"] == "RuntimeError: no kernel today"
    assert outcome["exit_code"] == 70
    for path in next(m["cgroups"] for m in messages if "cgroups" in m):
        sandbox.remove_cgroup(path)


def _dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


def test_scratch_folders_of_a_dead_grader_are_unmounted_and_removed(tmp_path):
    """A killed grader leaves its folder, with a tmpfs per running submission, behind; the
    next grader sweeps it. A live grader's folder and a folder without owner stay."""
    if not sandbox.capabilities()["namespaces"]:
        pytest.skip("mounting a tmpfs needs root (the grader then has no tmpfs to leave)")
    dead, live, unowned = (tmp_path / f"{execute.SCRATCH_PREFIX}{n}" for n in "abc")
    for folder, owner in ((dead, _dead_pid()), (live, os.getpid()), (unowned, None)):
        (folder / "submission").mkdir(parents=True)
        if owner is not None:
            (folder / execute.OWNER_FILE).write_text(f"{owner}\n")
        sandbox.mount_tmpfs(str(folder / "submission"), 2**20)
        (folder / "submission" / "work").mkdir()
        sandbox.mount_tmpfs(str(folder / "submission" / "work"), 2**20)
    try:
        assert execute._mounts_under(dead) == [str(dead / "submission" / "work"),
                                               str(dead / "submission")]  # fmt: skip
        assert execute.sweep_stale_scratch(tmp_path) == [dead]
        assert not dead.exists() and execute._mounts_under(dead) == []
        for kept in (live, unowned):
            assert len(execute._mounts_under(kept)) == 2 and (kept / "submission").is_dir()
        own = execute._Worker.scratch()  # this process's folder says whose it is
        assert (own / execute.OWNER_FILE).read_text() == f"{os.getpid()}\n"
    finally:
        for folder in (dead, live, unowned):
            for point in execute._mounts_under(folder):
                sandbox.unmount(point)


def test_huge_results_and_errors_are_cut_and_still_fail_their_cell(course):
    flood = SOLUTIONS["pathwise_gradient"] + "\nraise ValueError('y' * 3_000_000)\n"
    loud = SOLUTIONS["score_function_gradient"] + "\n'x' * 3_000_000\n"
    submit(course, "loud", pathwise_gradient=flood, score_function_gradient=loud)
    result = grading.grade(course, ASSIGNMENT, Options(jobs=1, progress=False))[0]
    assert result.total == FULL
    notebook = autograded(course, "loud")
    assert len(nbformat.writes(notebook)) < 3 * 2**20
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error" and o.ename == "ValueError"]  # fmt: skip
    assert len(errors) == 1 and errors[0].traceback[-1] == "[traceback cut]"


def test_a_submission_cannot_fill_the_disk(course):
    writer = ("try:\n    with open('big.bin', 'wb') as stream:\n"
              "        for _ in range(600):\n            stream.write(b'0' * 2**20)\n"
              "    print('WROTE 600 MB')\nexcept OSError as error:\n"
              "    print('DISK FULL', error.errno)\n")  # fmt: skip
    submit(course, "writer", pathwise_gradient=pathwise_with(writer))
    result = grading.grade(course, ASSIGNMENT, Options(jobs=1, progress=False))[0]
    said = printed(autograded(course, "writer"))
    assert "DISK FULL" in said and "WROTE" not in said
    assert result.total == FULL


def test_a_submission_that_hogs_the_cpu_does_not_slow_another(course):
    """Thirty spinning processes in one submission (each in a session of its own) take its
    own share of the CPU only; the other submission, graded beside it, is as quick as ever."""
    if not sandbox.capabilities()["cpu_cgroup"]:
        pytest.skip("this machine has no cpu cgroup to share the CPU with")
    spin = ("import os\nfor _ in range(30):\n    if os.fork() == 0:\n        os.setsid()\n"
            "        while True:\n            pass\n")  # fmt: skip
    submit(course, "a_hog", score_function_gradient=spin + SOLUTIONS["score_function_gradient"],
           pathwise_gradient=LOOP)  # fmt: skip
    submit(course, "b_honest")
    options = Options(jobs=2, wall_seconds=25, progress=False)
    results = by_student(grading.grade(course, ASSIGNMENT, options))
    assert results["a_hog"].status == execute.STATUS_TIME
    assert results["b_honest"].status == "graded" and results["b_honest"].total == FULL
    assert results["b_honest"].seconds < 15, results["b_honest"].seconds


def test_without_namespaces_a_process_in_a_session_of_its_own_is_stopped_too(course):
    marker = "765.432"
    spawn = f'import subprocess\nsubprocess.Popen(["sleep", "{marker}"], start_new_session=True)\n'
    submit(course, "escaper", pathwise_gradient=spawn + SOLUTIONS["pathwise_gradient"])
    result = grading.grade(course, ASSIGNMENT, Options(jobs=1, isolate=False, progress=False))[0]
    assert result.total == FULL
    left = [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", marker]]
    assert left == []
