"""Grade a whole class: every submission in parallel, each confined and within its limits.

    python -m autograder.grading grade 08_conditional_vae [--jobs N] [--force]
        [--wall-seconds S] [--memory-gb G] [--output-mb M] [--scheduler tcp://HOST:PORT]

The grader's process (the only one that touches the gradebook) prepares each submission
with nbgrader's own code (`autograder.steps`), hands it to a worker as plain data, and saves
what comes back, again with nbgrader's code. A worker (`autograder.execute.execute`) runs
the notebook in a kernel forked from a preloaded zygote and confined by
`autograder.sandbox`. Workers are threads of this process (one per job), or the threads of a
Dask cluster's workers (`--scheduler`): the same tasks either way.

Every submission ends graded or with one named reason; nothing submitted is changed; a
re-run grades only new or changed submissions (unless `force`).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import nbformat

from autograder import execute, judge, limits, tamper
from autograder.steps import StepError, Steps

STATE_FOLDER = "grading"  # in the course folder: one state file and one log per assignment
SECRET_FILE = "secret"  # in STATE_FOLDER: the course's key for the hidden checks' seeds


def course_secret(folder: Path) -> str:
    """The course's secret (made once, readable by the instructor only). The hidden checks'
    seeds derive from it, so students cannot know them; it never goes into release/, the
    student copy or a kernel."""
    import os
    import secrets

    path = folder / SECRET_FILE
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as stream:
            stream.write(secrets.token_hex(32) + "\n")
    return path.read_text().strip()


@dataclass
class StudentResult:
    """One student's submission of one assignment, after grading."""

    student: str
    status: str  # "graded", or the named reason it was not (fully) graded
    scores: dict[str, float] = field(default_factory=dict)
    max_scores: dict[str, float] = field(default_factory=dict)
    manual: list[str] = field(default_factory=list)  # cells still waiting for a human grader
    detail: str = ""
    seconds: float = 0.0
    peak_bytes: int | None = None
    fresh: bool = False  # graded in this run (not unchanged since an earlier one)
    worker: str = ""  # host:pid of the process that ran the notebook
    prepare_seconds: float | None = None  # nbgrader's steps before the run
    kernel_start_seconds: float | None = None  # from asking for a kernel to its first cell
    cell_seconds: dict[str, float] = field(default_factory=dict)  # cell id -> seconds run
    save_seconds: float | None = None  # nbgrader's steps after the run
    seeds: dict[str, list[int]] = field(default_factory=dict)  # cell -> its hidden seeds
    flags: list[dict] = field(default_factory=list)  # tamper.Flag dicts: for review, not points
    repairs: list[str] = field(default_factory=list)  # what autograder.repair mended, named

    @property
    def total(self) -> float:
        return sum(self.scores.values())

    @property
    def graded(self) -> bool:
        """Whether the gradebook holds points for this submission (maybe partial ones)."""
        return bool(self.max_scores)


@dataclass
class Options:
    """How to grade a class; every limit defaults to `autograder.limits`."""

    jobs: int = field(default_factory=limits.default_jobs)
    threads: int | None = None  # TensorFlow threads per kernel (None: cores / jobs)
    wall_seconds: float | None = None  # None: the assignment's default (limits.wall_seconds)
    memory_bytes: int = limits.SUBMISSION_MEMORY_BYTES
    output_bytes: int = limits.OUTPUT_BYTES_PER_CELL
    force: bool = False
    scheduler: str | None = None  # a Dask scheduler's address, or None for this machine
    progress: bool = True
    memory_enforcement: str = "auto"
    all_cells: bool = False  # run the cells after the last graded one too, as nbgrader does
    isolate: bool = True  # False: limits only, no namespaces (to test that fallback)

    def kernel_threads(self) -> int:
        if self.threads:
            return self.threads
        return max(1, limits.default_jobs() // max(1, self.jobs))


# ----------------------------------------------------------------------------- submissions


def students(course: Path, assignment: str) -> list[str]:
    """Everyone with a folder for `assignment` under submitted/."""
    folder = course / "submitted"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / assignment).is_dir())


def check_submission(folder: Path, assignment: str) -> str | None:
    """Why this submission cannot be graded, or None if it can (read-only)."""
    path = folder / f"{assignment}.ipynb"
    if not path.is_file():
        found = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
        listing = ", ".join(found[:5]) + (" ..." if len(found) > 5 else "") if found else "nothing"
        return (f"no notebook named {assignment}.ipynb (the folder holds {listing}): ask the "
                "student to submit the assignment's notebook under its own name")  # fmt: skip
    try:
        nbformat.validate(nbformat.read(path, as_version=4))
    except Exception as error:  # any reason the file is not a notebook
        return (f"not a readable notebook ({type(error).__name__}); kept as {path}: "
                "ask the student to upload it again")  # fmt: skip
    return None


def fingerprint(folder: Path, grading_key: str) -> str:
    """What decides a submission's grade: its files, and `grading_key` (the grading code's
    version and the limits it was graded within)."""
    digest = hashlib.sha256(grading_key.encode())
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def graded_result(db_url: str, assignment: str, student: str) -> StudentResult:
    """What the gradebook holds for one submission, cell by cell."""
    from nbgrader.api import Gradebook, MissingEntry

    result = StudentResult(student, "graded")
    with Gradebook(db_url) as gradebook:
        try:
            notebook = gradebook.find_submission_notebook(assignment, assignment, student)
        except MissingEntry:
            result.status = "not graded: the gradebook holds no grades for it"
        else:
            for g in notebook.grades:
                result.scores[g.name] = g.score or 0.0
                result.max_scores[g.name] = g.max_score
                if g.needs_manual_grade and g.cell_type == "markdown":
                    result.manual.append(g.name)
    return result


def _add_student(db_url: str, student: str) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gradebook:
        gradebook.update_or_create_student(student)


def _remove_submission(db_url: str, assignment: str, student: str) -> None:
    """Forget an earlier grade of a submission that can no longer be graded."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gradebook:
        try:
            gradebook.remove_submission(assignment, student)
        except MissingEntry:
            pass


# ----------------------------------------------------------------------------- runners


class LocalRunner:
    """Workers as threads of this process: each drives one confined kernel at a time."""

    def __init__(self, options: Options, assignment: str):
        self.capacity = options.jobs
        self.warm = execute.warm_up(options.kernel_threads(), assignment)
        self.pool = concurrent.futures.ThreadPoolExecutor(options.jobs, thread_name_prefix="grade")

    def describe(self) -> str:
        return f"{self.capacity} jobs on this machine ({self.warm['host']})"

    def submit(self, task):
        return self.pool.submit(execute.execute, task)

    def wait(self, futures) -> set:
        first = concurrent.futures.FIRST_COMPLETED
        done, _ = concurrent.futures.wait(futures, timeout=1.0, return_when=first)
        return done

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class DaskRunner:
    """Workers on a Dask distributed cluster; the gradebook never leaves this machine."""

    def __init__(self, options: Options, assignment: str):
        try:
            from distributed import Client
        except ImportError as error:
            raise StepError(
                'grading on a cluster needs Dask: pip install -e ".[cluster]"'
            ) from error
        self.client = Client(options.scheduler, timeout=30)
        threads = options.kernel_threads() if options.threads else 1
        self.warm = self.client.run(execute.warm_up, threads, assignment)
        self.capacity = max(1, sum(self.client.nthreads().values()))
        self.threads = threads

    def describe(self) -> str:
        hosts = sorted({w["host"] for w in self.warm.values()})
        return f"{self.capacity} worker threads on a Dask cluster ({', '.join(hosts)})"

    def submit(self, task):
        task.threads = self.threads
        return self.client.submit(execute.execute, task, pure=False)

    def wait(self, futures) -> set:
        from distributed import wait

        try:
            done, _ = wait(list(futures), timeout=1.0, return_when="FIRST_COMPLETED")
        except TimeoutError:
            return set()
        return set(done)

    def close(self) -> None:
        self.client.close()


# ----------------------------------------------------------------------------- the class


class ClassGrader:
    """Grades one assignment of one course: see the module's docstring."""

    def __init__(self, course: Path, assignment: str, options: Options | None = None):
        import warnings

        from sqlalchemy.exc import SAWarning

        # nbgrader's own gradebook code trips these SQLAlchemy 2 notices; they mean nothing here.
        warnings.filterwarnings("ignore", category=SAWarning)
        self.course, self.assignment = course, assignment
        self.options = options or Options()
        self.steps = Steps(course)
        self.folder = course / STATE_FOLDER
        self.folder.mkdir(exist_ok=True)
        self.state_path = self.folder / f"{assignment}.json"
        self.log_path = self.folder / f"{assignment}.log"
        self.state = self._read_state()
        self.version = execute.course_version()
        self.secret = course_secret(self.folder)
        self._checks: dict[str, str] | None = None
        self._prepare_seconds: dict[str, float] = {}
        self._repairs: dict[str, list[str]] = {}
        self.wall_seconds = self.options.wall_seconds or limits.wall_seconds(assignment)
        # What decides a grade besides the submission: the grading code and the limits.
        options = self.options
        self.grading_key = json.dumps([self.version, self.wall_seconds, options.memory_bytes,
                                       options.output_bytes, options.all_cells])  # fmt: skip

    def _read_state(self) -> dict:
        try:
            return json.loads(self.state_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def _write_state(self) -> None:
        partial = self.state_path.with_suffix(".json.partial")
        partial.write_text(json.dumps(self.state, indent=1, sort_keys=True))
        partial.replace(self.state_path)

    def _log(self, result: StudentResult) -> None:
        points = f"{result.total:g}/{sum(result.max_scores.values()):g}" if result.graded else "-"
        peak = f"{result.peak_bytes / 2**20:.0f} MB" if result.peak_bytes else "-"
        when = datetime.now(timezone.utc).isoformat(timespec="seconds")
        fields = [when, result.student, result.status, points, f"{result.seconds:.1f} s", peak,
                  result.detail, *(f"repaired: {r}" for r in result.repairs)]  # fmt: skip
        line = "\t".join(fields)
        with open(self.log_path, "a") as stream:
            stream.write(line.replace("\n", " ") + "\n")

    def _record(self, result: StudentResult, print_ok: bool = True) -> StudentResult:
        folder = self.course / "submitted" / result.student / self.assignment
        result.flags = self._scan(folder)
        self.state[result.student] = {
            "fingerprint": fingerprint(folder, self.grading_key) if folder.is_dir() else None,
            "status": result.status,
            "detail": result.detail,
            "seconds": round(result.seconds, 2),
            "peak_bytes": result.peak_bytes,
            "final": not result.status.startswith(execute.STATUS_WORKER),
            "seeds": result.seeds or self.state.get(result.student, {}).get("seeds", {}),
            "flags": result.flags,
            "repairs": result.repairs,
        }
        self._write_state()
        self._log(result)
        return result

    def _unchanged(self, student: str) -> bool:
        if self.options.force:
            return False
        known = self.state.get(student)
        folder = self.course / "submitted" / student / self.assignment
        if not known or not known.get("final"):
            return False
        return known.get("fingerprint") == fingerprint(folder, self.grading_key)

    def _from_state(self, student: str) -> StudentResult:
        known = self.state[student]
        if known["status"] == "graded" or self._partial(known["status"]):
            result = graded_result(self.steps.db_url, self.assignment, student)
            result.status = known["status"]
        else:
            result = StudentResult(student, known["status"])
        result.detail = known.get("detail", "")
        result.seconds = known.get("seconds", 0.0)
        result.peak_bytes = known.get("peak_bytes")
        result.flags = known.get("flags", [])
        result.repairs = known.get("repairs", [])
        return result

    def _scan(self, folder: Path) -> list[dict]:
        """Tamper flags of the submission in `folder`, against the released notebook: for the
        instructor to review; they never change a grade. Never raises."""
        name = f"{self.assignment}.ipynb"
        released = self.course / self.steps.coursedir.release_directory / self.assignment / name
        return tamper.scan_file(folder / name, released)

    @staticmethod
    def _partial(status: str) -> bool:
        return status in (execute.STATUS_TIME, execute.STATUS_MEMORY, execute.STATUS_DIED)

    def private_paths(self) -> list[str]:
        """What of the graded course a kernel must not see: solutions, other students' work,
        feedback, the grading state and the gradebook (where it is a file)."""
        coursedir = self.steps.coursedir
        paths = [getattr(coursedir, f"{stage}_directory") for stage in
                 ("source", "submitted", "autograded", "feedback")]  # fmt: skip
        paths = [str(self.course / stage) for stage in paths]
        paths += [str(self.folder), str(self.course / "autograder"), str(self.course / ".git")]
        url = self.steps.db_url
        if url.startswith("sqlite:///"):
            database = Path(url.removeprefix("sqlite:///"))
            paths += [str(database), str(database) + "-journal"]
        return paths

    def _task(self, student: str) -> execute.Task:
        began = time.perf_counter()
        notebook, folder, self._repairs[student] = self.steps.prepare(self.assignment, student)
        if self._checks is None:
            self._checks = self.steps.test_sources(self.assignment)
        self._prepare_seconds[student] = time.perf_counter() - began
        return execute.Task(
            student=student,
            assignment=self.assignment,
            notebook=notebook,
            files=execute.encode_files(folder),
            wall_seconds=self.wall_seconds,
            memory_bytes=self.options.memory_bytes,
            output_bytes=self.options.output_bytes,
            execute_config=self.steps.execute_config(),
            threads=self.options.kernel_threads(),
            memory_enforcement=self.options.memory_enforcement,
            course_version=self.version,
            all_cells=self.options.all_cells,
            hide=self.private_paths(),
            isolate=self.options.isolate,
            checks=self._checks,
            seed_key=judge.submission_key(self.secret, self.assignment, student),
        )

    def _finish(self, student: str, run: execute.Result) -> StudentResult:
        began = time.perf_counter()
        result = self._save(student, run)
        result.seconds, result.peak_bytes, result.fresh = run.seconds, run.peak_bytes, True
        result.worker = f"{run.host}:{run.worker_pid}"
        result.prepare_seconds = self._prepare_seconds.pop(student, None)
        result.repairs = self._repairs.pop(student, [])
        result.kernel_start_seconds, result.cell_seconds = (
            run.kernel_start_seconds,
            run.cell_seconds,
        )
        result.save_seconds = time.perf_counter() - began
        result.seeds = {cell: info["seeds"] for cell, info in run.judged.items() if info["seeds"]}
        problems = {cell: info["detail"] for cell, info in run.judged.items() if "detail" in info}
        if problems:  # a check that could not finish: the instructor sees why, in the log
            with open(self.folder / f"{self.assignment}.checks.log", "a") as stream:
                for cell, detail in problems.items():
                    stream.write(f"--- {student} {cell}\n{detail}\n")
        return result

    def _save(self, student: str, run: execute.Result) -> StudentResult:
        if run.notebook is None:  # nothing ran: no grade, and no stale one either
            self.steps.discard(self.assignment, student)
            _remove_submission(self.steps.db_url, self.assignment, student)
            _add_student(self.steps.db_url, student)
            result = StudentResult(student, f"{run.status}: {run.detail}")
        else:
            try:
                self.steps.save(self.assignment, student, run.notebook)
            except StepError as error:
                self.steps.discard(self.assignment, student)
                _remove_submission(self.steps.db_url, self.assignment, student)
                result = StudentResult(student, f"nbgrader error: {error}")
            else:
                result = graded_result(self.steps.db_url, self.assignment, student)
                if run.status != execute.STATUS_GRADED:
                    result.status = run.status
                result.detail = run.detail
        return result

    def grade(self) -> list[StudentResult]:
        everyone = students(self.course, self.assignment)
        results: dict[str, StudentResult] = {}
        todo = deque()
        for student in everyone:
            folder = self.course / "submitted" / student / self.assignment
            problem = check_submission(folder, self.assignment)
            if problem is not None:
                _remove_submission(self.steps.db_url, self.assignment, student)
                _add_student(self.steps.db_url, student)
                results[student] = self._record(StudentResult(student, problem))
            elif self._unchanged(student):
                results[student] = self._from_state(student)
            else:
                todo.append(student)
        if todo:
            self._grade_all(todo, results)
        return [results[student] for student in everyone]

    def _grade_all(self, todo: deque, results: dict) -> None:
        from tqdm import tqdm

        runner_class = DaskRunner if self.options.scheduler else LocalRunner
        runner = runner_class(self.options, self.assignment)
        total, failures = len(todo), 0
        bar = tqdm(total=total, unit="submission", desc=self.assignment, file=sys.stderr,
                   disable=not self.options.progress, dynamic_ncols=True)  # fmt: skip
        if self.options.progress:
            how = execute.sandbox.describe(runner_capabilities(runner))
            bar.write(f"Grading {total} submission(s) of {self.assignment}: {runner.describe()}; "
                      f"{how}; at most {self.wall_seconds:g} s each")  # fmt: skip
        running: dict = {}
        try:
            while todo or running:
                while todo and len(running) < runner.capacity + 1:
                    student = todo.popleft()
                    try:
                        task = self._task(student)
                    except StepError as error:
                        self.steps.discard(self.assignment, student)
                        _remove_submission(self.steps.db_url, self.assignment, student)
                        _add_student(self.steps.db_url, student)
                        results[student] = self._record(
                            StudentResult(student, f"nbgrader error: {error}")
                        )
                        failures += 1
                        bar.update(1)
                        continue
                    running[runner.submit(task)] = (student, time.monotonic())
                for future in runner.wait(set(running)):
                    student, _ = running.pop(future)
                    try:
                        run = future.result()
                    except Exception as error:  # the worker itself failed (Dask lost it, say)
                        run = execute.Result(student, execute.STATUS_WORKER,
                                             f"{type(error).__name__}: {error}")  # fmt: skip
                    result = self._record(self._finish(student, run))
                    results[student] = result
                    failures += result.status != "graded"
                    bar.set_postfix_str(f"not fully graded: {failures}")
                    bar.update(1)
        finally:
            bar.close()
            runner.close()


def runner_capabilities(runner) -> dict:
    warm = runner.warm
    if "capabilities" in warm:
        return warm["capabilities"]
    return next(iter(warm.values()))["capabilities"]


def grade(course: Path, assignment: str, options: Options | None = None) -> list[StudentResult]:
    """Grade every submission of `assignment` in `course`; see `ClassGrader`."""
    return ClassGrader(course, assignment, options).grade()


__all__ = ["ClassGrader", "Options", "StudentResult", "check_submission", "grade", "students"]
