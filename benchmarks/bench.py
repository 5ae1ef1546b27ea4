"""Measure every notebook: run time, peak memory and the quality its models reach.

    python -m benchmarks.bench                     # everything (what `make bench` runs)
    python -m benchmarks.bench --notebooks 02 07   # some notebooks only
    python -m benchmarks.bench --modes fast --no-autograde --no-variants --out /tmp/bench
    python -m benchmarks.bench --render            # rewrite results.md from results.json

Each notebook runs in full mode, then in fast mode, one run at a time, in a fresh kernel (as
`python -m autograder.notebooks` runs it). Then real `nbgrader autograde` grades each
assignment's solution submission in a scratch course. For every run it records the wall time,
the peak resident memory of the run's processes (the kernel is the largest of them), the CPU
time, which data the notebook loaded, and the `[metric]` lines the executed notebook printed.
Nothing is recomputed here: quality figures are the notebook's own.

Results go to benchmarks/results.json and benchmarks/results.md, rewritten after every run, so
an interrupted benchmark keeps what it measured. Targets come from benchmarks/targets.toml.
Exit status 1 means a run failed (a cell raised, a run crashed or hit the time limit, autograde
broke); targets that are not met are results, shown in the table, not failures.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
TARGETS_FILE = HERE / "targets.toml"
MODES = ("full", "fast")
PACKAGES = (
    "tensorflow-cpu",
    "tensorflow",
    "keras",
    "numpy",
    "scipy",
    "matplotlib",
    "nbgrader",
    "nbclient",
    "jupyter_client",
    "ipykernel",
)
# What an autograde run reports, read from the gradebook (not printed by a notebook).
AUTOGRADE_METRICS = ("autograded_score", "autograded_max", "autograded_fraction")
# The class runs (`run_class`): the class grader on a generated class, plain serial nbgrader on
# a sample of it, and the class grader at one and two TensorFlow threads per kernel.
CLASS_MODES = ("class", "class_plain", "class_threads")
# The "grade" runs: the class grader on one assignment's solution alone.
GRADE_METRICS = ("submission_seconds", "autograded_fraction", "budget_share")
CLASS_METRICS = (
    "submissions",
    "seconds_per_submission",
    "speedup_per_submission",
    "unnamed",
    "not_in_gradebook",
    "correct_not_full_marks",
    "kernel_threads",
)
# Data a target set on a real dataset can be checked on: checksum-verified files, or files an
# instructor put in the data folder (real data whose checksum this course does not know).
REAL_KINDS = ("real", "data folder")


@dataclass(frozen=True)
class Variant:
    """A notebook run with one cell of code added after a named cell, e.g. another latent size,
    and optionally edits of other cells, e.g. a longer training.

    This is the change a student makes for a "Going further" exercise, made by the benchmark.
    """

    name: str
    notebook: str
    after_cell: str  # the nbgrader grade_id of the cell the code goes after
    code: str
    # (grade_id of a cell, text it holds exactly once, the text that replaces it)
    edits: tuple[tuple[str, str, str], ...] = ()


VARIANTS = [
    Variant("latent_dim=20", "08_conditional_vae", "vae-builders", "latent_dim = 20"),
    Variant("code_dim=16", "02_cnn_autoencoder", "code-size", "code_dim = 16"),
]


class BenchError(RuntimeError):
    """The benchmark cannot run as asked; the message says why and what to do."""


# ----------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    id: str
    what: str
    mode: str
    measure: str
    source: str
    notebook: str | None = None
    variant: str | None = None
    at_most: float | None = None
    at_least: float | None = None
    real_data: str | None = None

    @property
    def limit(self) -> str:
        """The limit in words, e.g. "≤ 5 min 00 s" or "≥ 800"."""
        if self.at_most is not None:
            return f"≤ {_figure(self.at_most, self.measure)}"
        return f"≥ {_figure(self.at_least, self.measure)}"

    @property
    def rows(self) -> str:
        """The runs it applies to, in words."""
        if self.mode in CLASS_MODES:
            return f"{self.mode}: the generated class of {ASSIGNMENT_OF_CLASS}"
        if self.notebook is None:
            every = "every notebook" if self.mode in MODES else "every assignment"
            return f"{self.mode}, {every}"
        return f"{self.notebook}{f' ({self.variant})' if self.variant else ''}, {self.mode}"

    def applies_to(self, run: dict) -> bool:
        return (
            run["mode"] == self.mode
            and self.notebook in (None, run["notebook"])
            and self.variant == run["variant"]
        )


def load_targets(path: Path = TARGETS_FILE) -> list[Target]:
    """The targets in `path`, each checked before anything runs."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        raise BenchError(
            "make bench reads targets.toml with tomllib: use Python 3.11 or later "
            f"(this is {platform.python_version()})."
        ) from None
    try:
        with open(path, "rb") as file:
            content = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise BenchError(f"cannot read {path}: {error}") from None
    entries = content.get("target")
    if set(content) != {"target"} or not isinstance(entries, list):
        raise BenchError(
            f"{path.name} must hold only [[target]] tables (found {sorted(content)}); "
            "write each target under its own [[target]] line."
        )
    targets = [_target(entry, f"{path.name}, target {n}") for n, entry in enumerate(entries, 1)]
    ids = [t.id for t in targets]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise BenchError(f"{path.name}: target ids must differ; repeated: {', '.join(repeated)}.")
    return targets


def _target(entry: dict, where: str) -> Target:
    from autograder.grading import assignments

    where = f"{where} ({entry.get('id', 'no id')})"
    try:
        target = Target(**entry)
    except TypeError as error:
        raise BenchError(
            f"{where}: {error}. The keys a target takes are listed at the top of the file."
        ) from None
    for key in ("id", "what", "mode", "measure", "source"):
        if not isinstance(getattr(target, key), str) or not getattr(target, key).strip():
            raise BenchError(f"{where}: {key} must be a non-empty string.")
    if (target.at_most is None) == (target.at_least is None):
        raise BenchError(f"{where}: give exactly one of at_most and at_least.")
    limit = target.at_most if target.at_most is not None else target.at_least
    if isinstance(limit, bool) or not isinstance(limit, int | float):
        raise BenchError(f"{where}: the limit must be a number, not {limit!r}.")
    if target.mode not in (*MODES, "autograde", "grade", *CLASS_MODES):
        raise BenchError(
            f"{where}: mode is {target.mode!r}; use full, fast, autograde, grade or "
            f"{', '.join(CLASS_MODES)}."
        )
    if not (
        target.measure in ("wall_seconds", "peak_memory_mb") or target.measure.startswith("metric:")
    ):
        raise BenchError(
            f"{where}: measure {target.measure!r} is not wall_seconds, peak_memory_mb or "
            "metric:NAME."
        )
    name = target.measure.removeprefix("metric:")
    if target.mode == "autograde" and target.measure.startswith("metric:"):
        if name not in AUTOGRADE_METRICS:
            raise BenchError(
                f"{where}: autograde runs report {', '.join(AUTOGRADE_METRICS)}, not {name!r}."
            )
    if target.mode == "grade" and target.measure.startswith("metric:"):
        if name not in GRADE_METRICS:
            raise BenchError(
                f"{where}: grade runs report {', '.join(GRADE_METRICS)}, not {name!r}."
            )
    if target.mode in CLASS_MODES and target.measure.startswith("metric:"):
        if name not in CLASS_METRICS:
            raise BenchError(
                f"{where}: class runs report {', '.join(CLASS_METRICS)}, not {name!r}."
            )
    if target.notebook is not None and target.notebook not in assignments(ROOT):
        raise BenchError(f"{where}: there is no notebook {target.notebook!r} in source/.")
    if target.variant is not None and (target.notebook, target.variant) not in {
        (v.notebook, v.name) for v in VARIANTS
    }:
        raise BenchError(
            f"{where}: {target.notebook} has no variant {target.variant!r}; the variants are "
            "listed in VARIANTS in benchmarks/bench.py."
        )
    return target


def figure_of(run: dict, measure: str) -> float | None:
    if measure.startswith("metric:"):
        return run["metrics"].get(measure.removeprefix("metric:"))
    return run.get(measure)


def evaluate(target: Target, run: dict) -> dict:
    """The target checked on one run: its figure, and "met", "not met" or "not checked"."""
    figure = figure_of(run, target.measure)
    verdict = {
        "target": target.id,
        "notebook": run["notebook"],
        "variant": run["variant"],
        "mode": run["mode"],
        "figure": figure,
        "limit": target.limit,
    }
    data = run.get("data", {}).get(target.real_data) if target.real_data else None
    if run.get("errors"):
        verdict.update(status="not checked", why="the run failed")
    elif figure is None:
        verdict.update(status="not checked", why=f"the run reported no {target.measure}")
    elif target.real_data and data is None:
        verdict.update(status="not checked", why=f"the run did not load {target.real_data}")
    elif target.real_data and data == "synthetic":
        verdict.update(
            status="not checked",
            why=f"set for the real {target.real_data}; this run used the stand-in",
        )
    elif target.real_data and data == "real subset":
        verdict.update(
            status="not checked",
            why=f"set for the full {target.real_data}; this run used its 5,000-digit subset",
        )
    elif target.real_data and data not in REAL_KINDS:
        verdict.update(
            status="not checked", why=f"the run's {target.real_data} source is not recognised"
        )
    elif target.at_most is not None:
        verdict.update(status="met" if figure <= target.at_most else "not met", why="")
    else:
        verdict.update(status="met" if figure >= target.at_least else "not met", why="")
    return verdict


def verdicts(targets: list[Target], runs: list[dict]) -> list[dict]:
    return [evaluate(t, run) for t in targets for run in runs if t.applies_to(run)]


# ----------------------------------------------------------------------------- measuring


@dataclass
class Measured:
    returncode: int
    wall_seconds: float
    peak_memory_mb: float | None  # None where /proc cannot be read (not Linux)
    cpu_seconds: float
    timed_out: bool


def measure(command: list[str], log: Path, env: dict, cwd: Path, timeout: float) -> Measured:
    """Run `command`, its output to `log`; its wall time, peak resident memory and CPU time.

    The peak is the largest high-water mark (VmHWM, Linux's own record of a process's largest
    resident set) of any process in the run's tree: the runner, and the kernel it starts in a
    session of its own. It is read every SAMPLE_SECONDS while the run lasts; a process's
    high-water mark only grows, so a sample misses only growth in its last moments.
    wait4()'s ru_maxrss would be simpler, but a child inherits its parent's high-water mark
    across fork and exec, so it can report the benchmark's own size rather than the kernel's.
    A run that outlives `timeout`, or a benchmark stopped with Ctrl-C, ends with the whole tree
    killed.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    stopped, finished = threading.Event(), threading.Event()
    peaks: dict[int, int] = {}
    with open(log, "w") as out:
        start = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True
        )
        timer = threading.Timer(timeout, _stop, [process.pid, stopped])
        sampler = threading.Thread(target=_sample, args=(process.pid, peaks, finished))
        timer.start()
        sampler.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:  # Ctrl-C: leave no kernel training in the background
            _stop(process.pid, stopped)
            process.wait()
            raise
        finally:
            timer.cancel()
            finished.set()
            sampler.join()
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return Measured(
        returncode=process.returncode,
        wall_seconds=wall,
        peak_memory_mb=max(peaks.values()) / 1024 if peaks else None,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        timed_out=stopped.is_set(),
    )


SAMPLE_SECONDS = 0.2


def _sample(pid: int, peaks: dict[int, int], finished: threading.Event) -> None:
    """Keep, for every process in `pid`'s tree, the largest VmHWM seen (in KiB)."""
    import psutil

    while True:
        try:
            root = psutil.Process(pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            tree = []
        for member in tree:
            hwm = _high_water_kib(member.pid)
            if hwm is not None:
                peaks[member.pid] = max(hwm, peaks.get(member.pid, 0))
        if finished.wait(SAMPLE_SECONDS):
            return


def _high_water_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None  # gone, a zombie, or not Linux


def _stop(pid: int, stopped: threading.Event) -> None:
    """Kill a process and all its descendants (found before any of them dies)."""
    import psutil

    stopped.set()
    try:
        parent = psutil.Process(pid)
        family = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for process in family:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass


def failures(measured: Measured, what: str, log: Path, cell_errors: list[str]) -> list[str]:
    """Why a run failed, or []: its cells' errors, a crash, or the time limit."""
    if measured.timed_out:
        return [
            f"stopped after the time limit of {_seconds(measured.wall_seconds)}; see {_shown(log)}",
            *cell_errors,
        ]
    if measured.returncode != 0 and not cell_errors:
        return [f"{what} exited {measured.returncode} without a cell error; see {_shown(log)}"]
    return cell_errors


def notebook_text(notebook: nbformat.NotebookNode) -> str:
    """Everything the code cells printed to stdout, in order, each cell on its own lines."""
    return "\n".join(
        "".join(
            out.get("text", "")
            for out in cell.outputs
            if out.output_type == "stream" and out.name == "stdout"
        )
        for cell in notebook.cells
        if cell.cell_type == "code"
    )


def read_executed(path: Path) -> dict:
    """Metrics, data sources and errors of an executed notebook, as it printed them."""
    from autograder.notebooks import errors
    from course.data import sources_in
    from course.metrics import parse

    notebook = nbformat.read(path, as_version=4)
    text = notebook_text(notebook)
    return {"metrics": parse(text), "data": sources_in(text), "errors": errors(notebook)}


def with_variant(source: Path, variant: Variant, destination: Path) -> Path:
    """A copy of `source` with the variant's code in a new cell after its named cell."""
    notebook = nbformat.read(source, as_version=4)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in notebook.cells]
    if variant.after_cell not in ids:
        raise BenchError(
            f"variant {variant.name}: {source.name} has no cell "
            f"{variant.after_cell!r}; update VARIANTS in benchmarks/bench.py."
        )
    for cell_id, text, replacement in variant.edits:
        if cell_id not in ids:
            raise BenchError(
                f"variant {variant.name}: {source.name} has no cell {cell_id!r} to edit; "
                "update VARIANTS in benchmarks/bench.py."
            )
        edited = notebook.cells[ids.index(cell_id)]
        if edited.source.count(text) != 1:
            raise BenchError(
                f"variant {variant.name}: cell {cell_id!r} of {source.name} holds "
                f"{text!r} {edited.source.count(text)} times, not once; update VARIANTS in "
                "benchmarks/bench.py."
            )
        edited.source = edited.source.replace(text, replacement)
    cell = nbformat.v4.new_code_cell(f"{variant.code}  # set by make bench ({variant.name})")
    notebook.cells.insert(ids.index(variant.after_cell) + 1, cell)
    destination.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, destination)
    return destination


def _row(assignment: str, variant: str | None, mode: str, measured: Measured, load: float):
    return {
        "notebook": assignment,
        "variant": variant,
        "mode": mode,
        "wall_seconds": measured.wall_seconds,
        "peak_memory_mb": measured.peak_memory_mb,
        "cpu_seconds": measured.cpu_seconds,
        "load_before": load,
        "executed": None,
        "metrics": {},
        "data": {},
        "errors": [],
    }


def run_notebook(
    assignment: str, mode: str, work: Path, timeout: float, variant: Variant | None = None
) -> dict:
    """Execute one notebook in a fresh kernel and read back what it reported."""
    source = ROOT / "source" / assignment / f"{assignment}.ipynb"
    label = assignment if variant is None else f"{assignment}@{variant.name}"
    if variant is not None:
        source = with_variant(source, variant, work / "variants" / f"{label}.ipynb")
    executed, log = work / mode / f"{label}.ipynb", work / mode / f"{label}.log"
    executed.unlink(missing_ok=True)  # never read an earlier run's notebook as this one's
    env = dict(os.environ, COURSE_FAST="1" if mode == "fast" else "0")
    command = [
        sys.executable,
        "-m",
        "autograder.notebooks",
        str(source),
        str(executed),
        "--timeout",
        str(int(timeout)),
    ]
    load = os.getloadavg()[0]
    measured = measure(command, log, env, ROOT, timeout)
    run = _row(assignment, variant.name if variant else None, mode, measured, load)
    cell_errors = []
    if executed.is_file():
        run.update(read_executed(executed), executed=_shown(executed))
        cell_errors = run["errors"]
    run["errors"] = failures(measured, "the notebook runner", log, cell_errors)
    return run


def autograde_env() -> dict:
    """nbgrader's environment, always in fast mode and with the scratch course's own gradebook."""
    from autograder.grading import nbgrader_env

    env = nbgrader_env()
    env["COURSE_FAST"] = "1"
    env.pop("NBGRADER_DB_URL", None)  # never write the benchmark's student into a real gradebook
    return env


def run_autograde(course: Path, assignment: str, work: Path, timeout: float) -> dict:
    """Time real `nbgrader autograde` of the solution submission of one assignment."""
    from autograder import grading

    student, log = "solution", work / "autograde" / f"{assignment}.log"
    load = os.getloadavg()[0]
    try:
        grading.nbgrader(course, "generate_assignment", assignment, "--force")
        grading.make_submission(course, assignment, student)
    except (grading.GradingError, OSError) as error:
        failed = Measured(1, 0.0, None, 0.0, False)
        return {
            **_row(assignment, None, "autograde", failed, load),
            "errors": [f"could not make the solution submission: {error}"[:500]],
        }
    command = [
        sys.executable,
        "-m",
        "nbgrader",
        "autograde",
        assignment,
        f"--student={student}",
        "--force",
    ]
    measured = measure(command, log, autograde_env(), course, timeout)
    run = _row(assignment, None, "autograde", measured, load)
    run["errors"] = failures(measured, "nbgrader autograde", log, [])
    if run["errors"]:
        return run
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    result = grading.graded_result(course, assignment, student, db_url)
    auto = [cell for cell in result.max_scores if cell not in result.manual]
    score, top = sum(result.scores[c] for c in auto), sum(result.max_scores[c] for c in auto)
    run["metrics"] = dict(zip(AUTOGRADE_METRICS, (score, top, score / top if top else 0.0)))
    graded = grading.notebook_path(course, "autograded", assignment, student)
    if graded.is_file():
        run["data"] = read_executed(graded)["data"]
    if result.status != "graded":
        run["errors"] = [result.status]
    elif not top:
        run["errors"] = ["the gradebook holds no autograded cell for this submission"]
    return run


def run_grade(course: Path, assignment: str, work: Path, timeout: float) -> dict:
    """Time the class grader on one assignment's solution submission alone (a fresh grader:
    its wall time includes starting the zygote; `submission_seconds` is the submission's)."""
    summary, log = work / "grade" / f"{assignment}.json", work / "grade" / f"{assignment}.log"
    summary.unlink(missing_ok=True)
    load = os.getloadavg()[0]
    command = [sys.executable, "-m", "benchmarks.grading_class", "solo", str(course),
               assignment, str(summary)]  # fmt: skip
    measured = measure(command, log, autograde_env(), ROOT, timeout)
    run = _row(assignment, None, "grade", measured, load)
    run["errors"] = failures(measured, "the class grader", log, [])
    if summary.is_file():
        found = json.loads(summary.read_text())
        run["metrics"] = {name: found[name] for name in GRADE_METRICS}
        if found["status"] != "graded":
            run["errors"].append(found["status"])
    elif not run["errors"]:
        run["errors"] = ["the class grader wrote no summary"]
    return run


def run_class(work: Path, size: int, sample_size: int, timeout: float) -> list[dict]:
    """Grade a generated class of 08 with the class grader, then a sample of it with plain
    serial `nbgrader autograde`, then 30 correct submissions at 1 and at 2 TensorFlow threads
    per kernel. Each run is measured as a whole (wall time, peak memory of its processes)."""
    folder = work / "class"
    shutil.rmtree(folder, ignore_errors=True)
    course, plain = folder / "course", folder / "plain"
    make = [sys.executable, "-m", "benchmarks.grading_class", "make", str(course),
            "--size", str(size), "--plain", str(plain), "--sample", str(sample_size)]  # fmt: skip
    made = measure(make, folder / "make.log", autograde_env(), ROOT, timeout)
    rows = []
    if made.returncode != 0:
        failed = _row(ASSIGNMENT_OF_CLASS, None, "class", made, os.getloadavg()[0])
        failed["errors"] = failures(made, "making the class", folder / "make.log", [])
        return [failed]
    ours = _grade_class(course, folder / "summary.json", folder / "grade.log", timeout, [])
    rows.append(ours)
    load = os.getloadavg()[0]
    command = [sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT_OF_CLASS]
    measured = measure(command, folder / "plain.log", autograde_env(), plain, timeout)
    row = _row(ASSIGNMENT_OF_CLASS, None, "class_plain", measured, load)
    count = len(json.loads((plain / "class.json").read_text()))
    row["metrics"] = {"submissions": count, "seconds_per_submission": measured.wall_seconds / count}
    row["errors"] = [] if not measured.timed_out else [f"stopped after {timeout:g} s"]
    rows.append(row)
    if not ours["errors"]:
        ours["metrics"]["speedup_per_submission"] = (
            row["metrics"]["seconds_per_submission"] / ours["metrics"]["seconds_per_submission"]
        )
    threads = folder / "threads"
    make = [sys.executable, "-m", "benchmarks.grading_class", "make", str(threads),
            "--size", "30", "--only-correct"]  # fmt: skip
    made = measure(make, folder / "make-threads.log", autograde_env(), ROOT, timeout)
    for count in (1, 2):
        summary, log = folder / f"threads-{count}.json", folder / f"threads-{count}.log"
        variant = f"{count} TF thread(s) per kernel"
        options = ["--threads", str(count)]
        rows.append(_grade_class(threads, summary, log, timeout, options, "class_threads", variant))
    return rows


ASSIGNMENT_OF_CLASS = "08_conditional_vae"


def _grade_class(course, summary, log, timeout, extra, mode="class", variant=None) -> dict:
    load = os.getloadavg()[0]
    command = [sys.executable, "-m", "benchmarks.grading_class", "grade", str(course),
               str(summary), *extra]  # fmt: skip
    measured = measure(command, log, autograde_env(), ROOT, timeout)
    row = _row(ASSIGNMENT_OF_CLASS, variant, mode, measured, load)
    row["errors"] = failures(measured, "the class grader", log, [])
    if summary.is_file():
        found = json.loads(summary.read_text())
        row["class"] = found
        row["metrics"] = {
            "submissions": found["submissions"],
            "seconds_per_submission": measured.wall_seconds / found["submissions"],
            "unnamed": len(found["unnamed"]),
            "not_in_gradebook": found["expected_in_gradebook"] - found["in_gradebook"],
            "correct_not_full_marks": found["correct"] - found["correct_full_marks"],
            "kernel_threads": found["kernel_threads"],
        }
    elif not row["errors"]:
        row["errors"] = ["the class grader wrote no summary"]
    return row


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


# ----------------------------------------------------------------------------- the machine


def machine() -> dict:
    """CPU count, memory, CPU model, operating system and Python of this machine."""
    info = {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    for path, key, field_name in (
        ("/proc/cpuinfo", "cpu_model", "model name"),
        ("/proc/meminfo", "memory", "MemTotal"),
    ):
        try:
            lines = Path(path).read_text().splitlines()
        except OSError:
            continue
        found = [line.split(":", 1)[1].strip() for line in lines if line.startswith(field_name)]
        if found:
            info[key] = found[0]
    if "memory" in info and info["memory"].endswith(" kB"):
        info["memory"] = f"{int(info['memory'].split()[0]) / 1024**2:.1f} GB"
    return info


def versions() -> dict:
    found = {}
    for package in PACKAGES:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def commit() -> str | None:
    """The commit measured, flagged if the course or the benchmark had uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--",
                "source",
                "course",
                "autograder",
                "benchmarks/bench.py",
                "benchmarks/targets.toml",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + (" (with uncommitted changes)" if dirty.strip() else "")


# ----------------------------------------------------------------------------- the report


def _seconds(value: float) -> str:
    if value < 60:
        return f"{value:.1f} s"
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes} min {seconds:02d} s"


def _memory(megabytes: float | None) -> str:
    if megabytes is None:
        return "not measured"
    return f"{megabytes / 1024:.2f} GB" if megabytes >= 1024 else f"{megabytes:.0f} MB"


def _figure(value: float | None, measure: str) -> str:
    if value is None:
        return "none"
    if measure == "wall_seconds":
        return _seconds(value)
    if measure == "peak_memory_mb":
        return _memory(value)
    return f"{value:.6g}"


def _row_name(run: dict) -> str:
    return run["notebook"] + (f" ({run['variant']})" if run["variant"] else "")


def _data(run: dict) -> str:
    if not run["data"]:
        return "none loaded"
    names = {"synthetic": "stand-in", "data folder": "real (data folder, checksum not verified)",
             "real subset": "5,000 real digits (not the full set)"}  # fmt: skip
    return ", ".join(f"{title}: {names.get(kind, kind)}" for title, kind in run["data"].items())


def _result(target: dict, found: list[dict]) -> str:
    """What the runs showed for one target, in a few words."""
    if not found:
        return "not run"
    shown = [(v, f"{_figure(v['figure'], target['measure'])}") for v in found]
    if len(found) == 1:
        verdict, figure = shown[0]
        return f"{verdict['status']}: {figure}" + (f" ({verdict['why']})" if verdict["why"] else "")
    parts = []
    for status in ("met", "not met", "not checked"):
        some = [(v, f) for v, f in shown if v["status"] == status]
        if not some:
            continue
        if status == "met":
            figures = [v["figure"] for v, _ in some]
            edge = max(figures) if target["at_most"] is not None else min(figures)
            parts.append(
                f"met by {len(some)} of {len(found)} (closest to the limit: "
                f"{_figure(edge, target['measure'])})"
            )
        else:
            listed = ", ".join(f"{v['notebook']} {f}" for v, f in some)
            parts.append(f"{status}: {listed}")
    return "; ".join(parts)


RUN_COLUMNS = [
    "notebook",
    "mode",
    "data",
    "wall time",
    "peak memory",
    "quality figures",
    "targets",
    "met",
]
TARGET_COLUMNS = ["target", "limit", "runs", "result", "source"]


def _cell(text: str) -> str:
    """Text that stays inside one table cell: one line, pipes and tags escaped."""
    return " ".join(text.split()).replace("|", "\\|").replace("<", "&lt;")


def _table(columns: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _load_range(runs: list[dict]) -> str:
    loads = [r["load_before"] for r in runs if r.get("load_before") is not None]
    return f"{min(loads):.2f} to {max(loads):.2f}" if loads else "not recorded"


def _same_run(verdict: dict, run: dict) -> bool:
    return (run["notebook"], run["variant"], run["mode"]) == (
        verdict["notebook"],
        verdict["variant"],
        verdict["mode"],
    )


def render(results: dict) -> str:
    """results.md from results.json's content: a page a course author can read."""
    runs, info = results["runs"], results["machine"]
    counts = {
        s: sum(v["status"] == s for v in results["verdicts"])
        for s in ("met", "not met", "not checked")
    }
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` ({results['command'].strip()}), started {results['started']}, "
        f"{_seconds(results['total_seconds'])} in all, from commit {results['commit']}.",
        "",
        f"Machine: {info['cpu_count']} CPUs ({info.get('cpu_model', 'model unknown')}), "
        f"{info.get('memory', 'memory unknown')}, {info['platform']}, Python {info['python']}.",
        "Libraries: " + ", ".join(f"{k} {v}" for k, v in results["versions"].items()) + ".",
        "",
        "Wall time is the whole run: a fresh kernel, imports, data, training and plots. Peak "
        "memory is the largest resident set of the run's processes, which is the kernel's. "
        "A notebook's quality figures are the `[metric]` lines it printed; an autograde run's "
        "are the solution's points, read from the gradebook. A target set on a real dataset is "
        "not checked on a run that used its stand-in; the data column says which data each run "
        "used. The time target applies to each notebook as written; a variant (the same "
        "notebook with one setting changed, as in its exercises) is measured but not held to "
        "it. The 1-minute load average before each run was "
        f"{_load_range(runs)}; on 2 CPUs most of it is the benchmark's own previous run.",
        "",
        "## Targets",
        "",
        f"Over all runs: {counts['met']} met, {counts['not met']} not met, "
        f"{counts['not checked']} not checked. Targets and their sources: "
        f"`{results['targets_file']}`.",
        "",
    ]
    rows = []
    for target in results["targets"]:
        found = [v for v in results["verdicts"] if v["target"] == target["id"]]
        rows.append(
            [
                target["what"],
                Target(**target).limit,
                Target(**target).rows,
                _result(target, found),
                target["source"],
            ]
        )
    lines += _table(TARGET_COLUMNS, rows)
    lines += ["", "## Runs", ""]
    rows = []
    for run in runs:
        figures = ", ".join(f"{name} = {value:.6g}" for name, value in run["metrics"].items())
        if run["errors"]:
            figures = "FAILED: " + "; ".join(run["errors"])[:300]
        checked = [v for v in results["verdicts"] if _same_run(v, run)]
        rows.append(
            [
                _row_name(run),
                run["mode"],
                _data(run),
                _seconds(run["wall_seconds"]),
                _memory(run["peak_memory_mb"]),
                figures or "none printed",
                ", ".join(f"{v['target']} {v['limit']}" for v in checked) or "none",
                ", ".join(v["status"] for v in checked) or "-",
            ]
        )
    lines += _table(RUN_COLUMNS, rows)
    return "\n".join(lines) + "\n"


def write(results: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "results.md").write_text(render(results))


# ----------------------------------------------------------------------------- the run


def chosen(names: list[str] | None) -> list[str]:
    """Assignments whose names start with one of `names` (all when None)."""
    from autograder.grading import assignments

    every = assignments(ROOT)
    if not names:
        return every
    picked = [a for a in every if any(a.startswith(n) for n in names)]
    unknown = [n for n in names if not any(a.startswith(n) for a in every)]
    if unknown:
        raise BenchError(
            f"no notebook matches {', '.join(unknown)}; the notebooks are {', '.join(every)}."
        )
    return picked


def bench(
    notebooks: list[str],
    modes: list[str],
    out: Path,
    work: Path,
    timeout: float,
    autograde: bool = True,
    variants: bool = True,
    command: str = "",
    class_size: int = 0,
) -> dict:
    """Run everything asked for, one run at a time; write the results after each run."""
    targets = load_targets()
    modes = [mode for mode in MODES if mode in modes]  # full before fast, each once
    results = {
        "command": command,
        "started": _now(),
        "total_seconds": 0.0,
        "commit": commit(),
        "machine": machine(),
        "versions": versions(),
        "targets_file": _shown(TARGETS_FILE),
        "targets": [asdict(t) for t in targets],
        "runs": [],
        "verdicts": [],
    }
    start = time.perf_counter()

    def record(run: dict) -> None:
        results["runs"].append(run)
        results["verdicts"] = verdicts(targets, results["runs"])
        results["total_seconds"] = time.perf_counter() - start
        write(results, out)
        state = "FAILED" if run["errors"] else "ok"
        print(
            f"{_row_name(run):>36} {run['mode']:>9}: {state}, {_seconds(run['wall_seconds'])}, "
            f"{_memory(run['peak_memory_mb'])}",
            flush=True,
        )

    for assignment in notebooks:
        for mode in modes:
            record(run_notebook(assignment, mode, work, timeout))
        if variants and "full" in modes:
            for variant in VARIANTS:
                if variant.notebook == assignment:
                    record(run_notebook(assignment, "full", work, timeout, variant))
    if autograde:
        from autograder.grading import copy_course

        course = copy_course(work / "course")
        for assignment in notebooks:
            record(run_autograde(course, assignment, work, timeout))
        graded = copy_course(work / "grade-course")
        for assignment in notebooks:
            record(run_grade(graded, assignment, work, timeout))
    if class_size:
        for run in run_class(work, class_size, CLASS_SAMPLE, 4 * timeout):
            record(run)
    return results


CLASS_SIZE = 300  # issue 11: a class of 300, graded on this machine's 2 cores
CLASS_SAMPLE = 20  # submissions graded by plain serial nbgrader for the comparison


def _now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--notebooks",
        nargs="+",
        metavar="NAME",
        help="assignments to run, by name or prefix (default: all)",
    )
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--no-autograde", action="store_true", help="skip timing autograde")
    parser.add_argument("--no-variants", action="store_true", help="skip notebook variants")
    parser.add_argument(
        "--class-size",
        type=int,
        default=CLASS_SIZE,
        help="submissions in the generated class of 08 (0: skip the class runs)",
    )
    parser.add_argument("--out", type=Path, default=HERE, help="where results.* go")
    parser.add_argument(
        "--work",
        type=Path,
        default=HERE / "executed",
        help="where executed notebooks, logs and the scratch course go",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=1800,
        help="seconds a single run may take before it is stopped",
    )
    parser.add_argument(
        "--render",
        action="store_true",
        help="only rewrite results.md from --out's results.json "
        "(after changing how the report is written)",
    )
    args = parser.parse_args(argv)
    if args.render:
        path = args.out / "results.json"
        if not path.is_file():
            print(f"make bench: no {path} to render; run the benchmark first.", file=sys.stderr)
            return 2
        write(json.loads(path.read_text()), args.out)
        return 0
    try:
        results = bench(
            chosen(args.notebooks),
            args.modes,
            args.out,
            args.work,
            args.timeout,
            autograde=not args.no_autograde,
            variants=not args.no_variants,
            command=" ".join(["python -m benchmarks.bench", *argv]),
            class_size=args.class_size,
        )
    except BenchError as error:
        print(f"make bench: {error}", file=sys.stderr)
        return 2
    failed = [f"{_row_name(r)} ({r['mode']})" for r in results["runs"] if r["errors"]]
    counts = {
        s: sum(v["status"] == s for v in results["verdicts"])
        for s in ("met", "not met", "not checked")
    }
    print(
        f"targets: {counts['met']} met, {counts['not met']} not met, "
        f"{counts['not checked']} not checked; see {_shown(args.out / 'results.md')}"
    )
    if failed:
        print("runs that failed: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
