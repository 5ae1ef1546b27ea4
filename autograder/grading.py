"""The instructor's loop, scripted: release, build a demo class, autograde, feedback, export.

    python -m autograder.grading release [--repo URL --ref REF]   # source/ -> release/
    python -m autograder.grading grade ASSIGNMENT                 # autograde every submission
    python -m autograder.grading demo [--folder demo]             # the whole loop on a demo class

`grade` grades a whole class in parallel, each submission confined and within its limits
(`autograder.classgrade`); one broken submission is reported by name while the rest of the
class is graded, and nothing submitted is ever changed or deleted. `grade` and `demo` end
with the class report (`autograder.report`): grading/ASSIGNMENT-report.html and .csv.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from autograder import classgrade, limits, report
from autograder.classgrade import ClassGrader, Options, StudentResult

ROOT = Path(__file__).resolve().parent.parent
SOLUTION_MARKERS = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$\n?", re.MULTILINE)
HEADER_SETTINGS = re.compile(r'^(COURSE_REPO|COURSE_REF) = ".*"$', re.MULTILINE)


class GradingError(RuntimeError):
    """A step of the grading loop failed; the message says which and why."""


# ----------------------------------------------------------------------------- course layout


def assignments(course: Path = ROOT) -> list[str]:
    """Assignment names: the folders of source/ that hold a notebook of the same name."""
    return sorted(
        p.name for p in (course / "source").iterdir()
        if p.is_dir() and (p / f"{p.name}.ipynb").is_file()
    )  # fmt: skip


def short_name(assignment: str) -> str:
    """Its modules' name in course/ and autograder/: "08_conditional_vae" -> "nb08"."""
    return "nb" + assignment.split("_", 1)[0]


def notebook_path(course: Path, stage: str, assignment: str, student: str | None = None) -> Path:
    """Where nbgrader keeps an assignment's notebook at `stage` (source, release, submitted...)."""
    folder = course / stage
    if student is not None:
        folder = folder / student
    return folder / assignment / f"{assignment}.ipynb"


def nbgrader_env() -> dict:
    """The environment for nbgrader: this interpreter's bin/ on PATH (nbgrader runs alembic).

    Fast mode and quiet TensorFlow for grading come from nbgrader_config.py, so a plain
    `nbgrader autograde` gets them too.
    """
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def nbgrader(course: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run `nbgrader ARGS` in `course`; raise GradingError with its log when it fails."""
    command = [sys.executable, "-m", "nbgrader", *args]
    result = subprocess.run(command, cwd=course, env=nbgrader_env(), capture_output=True,
                            text=True)  # fmt: skip
    if check and result.returncode != 0:
        raise GradingError(
            f"`nbgrader {' '.join(args)}` failed in {course} (exit {result.returncode}):\n"
            + (result.stdout + result.stderr)[-4000:]
        )
    return result


# ----------------------------------------------------------------------------- release


def set_colab_source(course: Path, repo: str | None, ref: str | None) -> None:
    """Pin the repository and ref that the header installs the course package from in Colab."""
    if not repo and not ref:
        return
    header = course / "source" / "header.ipynb"
    nb = nbformat.read(header, as_version=4)
    values = {"COURSE_REPO": repo, "COURSE_REF": ref}
    for cell in nb.cells:
        if cell.cell_type == "code" and HEADER_SETTINGS.search(cell.source):
            cell.source = HEADER_SETTINGS.sub(
                lambda m: f'{m[1]} = "{values[m[1]]}"' if values[m[1]] else m[0], cell.source
            )
    nbformat.write(nb, header)


def release(course: Path = ROOT, repo: str | None = None, ref: str | None = None) -> list[Path]:
    """Generate the student version of every assignment into `course`/release."""
    set_colab_source(course, repo, ref)
    written = []
    for name in assignments(course):
        nbgrader(course, "generate_assignment", name, "--force")
        written.append(notebook_path(course, "release", name))
    return written


def copy_course(destination: Path, source: Path = ROOT) -> Path:
    """A scratch course directory (config, source/) whose gradebook is its own."""
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    shutil.copy2(source / "nbgrader_config.py", destination / "nbgrader_config.py")
    shutil.copytree(source / "source", destination / "source",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))  # fmt: skip
    return destination


# ----------------------------------------------------------------------------- submissions


def solution_code(source_cell_text: str) -> str:
    """A solution cell as a student who solved it would leave it: markers gone."""
    return SOLUTION_MARKERS.sub("", source_cell_text)


def make_submission(course: Path, assignment: str, student: str,
                    replacements: dict[str, str] | None = None,
                    solved: bool = True) -> Path:  # fmt: skip
    """Write a submission made from the released notebook.

    solved: fill every solution cell with the reference solution.
    replacements: grade_id -> code to put in that solution cell instead.
    """
    released = nbformat.read(notebook_path(course, "release", assignment), as_version=4)
    source = nbformat.read(notebook_path(course, "source", assignment), as_version=4)
    solutions = {
        c.metadata["nbgrader"]["grade_id"]: solution_code(c.source)
        for c in source.cells if c.metadata.get("nbgrader", {}).get("solution")
    }  # fmt: skip
    for cell in released.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if replacements and grade_id in replacements:
            cell.source = replacements[grade_id]
        elif solved and grade_id in solutions:
            cell.source = solutions[grade_id]
    path = notebook_path(course, "submitted", assignment, student)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(released, path)
    return path


def demo_class(course: Path, assignment: str = "08_conditional_vae") -> dict[str, str]:
    """A small class: the solution, the untouched stub, three wrong answers, a broken file.

    Returns student id -> what the submission is.
    """
    from course.config import import_tensorflow_quietly

    import_tensorflow_quietly()
    from autograder.mistakes.nb08 import MISTAKES

    by_name = {m.name: m for m in MISTAKES}
    make_submission(course, assignment, "ada_solution")
    make_submission(course, assignment, "ben_stub", solved=False)
    wrong = {
        "cleo_mean_pixels": ("vlb_mean_over_pixels", "sampling_variance_as_std"),
        "dev_kl_sign": ("vlb_kl_sign", "sampling_static_batch_size"),
        "eli_no_clip": ("vlb_log_of_zero", "sampling_same_noise_every_call"),
    }
    described = {"ada_solution": "reference solution", "ben_stub": "untouched student version"}
    for student, names in wrong.items():
        make_submission(course, assignment, student,
                        {by_name[n].target: by_name[n].source() for n in names})  # fmt: skip
        described[student] = " + ".join(names)
    broken = make_submission(course, assignment, "fay_broken_file")
    broken.write_text(broken.read_text()[: len(broken.read_text()) // 2])  # a cut-off upload
    described["fay_broken_file"] = "notebook file cut off half-way (invalid JSON)"
    return described


# ----------------------------------------------------------------------------- grading


def grade(course: Path, assignment: str, options: Options | None = None) -> list[StudentResult]:
    """Autograde every submission of `assignment` in parallel, confined (see classgrade)."""
    return ClassGrader(course, assignment, options).grade()


def graded_result(course: Path, assignment: str, student: str,
                  db_url: str | None = None) -> StudentResult:  # fmt: skip
    """What the gradebook (the course's own, unless `db_url` names one) holds for one
    autograded submission, cell by cell."""
    return classgrade.graded_result(db_url or _db_url(course), assignment, student)


def _db_url(course: Path) -> str:
    return os.environ.get("NBGRADER_DB_URL", f"sqlite:///{course / 'gradebook.db'}")


def feedback_and_export(course: Path, assignment: str,
                        results: list[StudentResult] | None = None) -> Path:  # fmt: skip
    """Write feedback for every graded student and export grades.csv; return its path.

    The export is nbgrader's, with one column added: `grading_status` ("graded", or why a
    submission was not, or not fully, graded). A submission that was not graded, or never
    made, has empty scores rather than a 0 that would look earned.
    """
    nbgrader(course, "generate_feedback", assignment, "--force")
    nbgrader(course, "export", "--to=grades.csv")
    path = course / "grades.csv"
    mark_ungraded(path, _db_url(course), assignment, results or [])
    return path


def mark_ungraded(path: Path, db_url: str, assignment: str, results: list[StudentResult]) -> None:
    """Add `grading_status` to an nbgrader export and empty the scores nobody earned."""
    from nbgrader.api import Gradebook, SubmittedAssignment

    with Gradebook(db_url) as gradebook:
        submitted = {(s.assignment.name, s.student.id)
                     for s in gradebook.db.query(SubmittedAssignment)}  # fmt: skip
    by_student = {r.student: r for r in results}
    rows = read_grades_csv(path)
    for row in rows:
        key = (row["assignment"], row["student_id"])
        result = by_student.get(row["student_id"]) if row["assignment"] == assignment else None
        if result is not None:
            row["grading_status"] = result.status
        elif key in submitted:
            row["grading_status"] = "graded"
        else:
            row["grading_status"] = "no submission"
        if key not in submitted or (result is not None and not result.graded):
            for column in ("raw_score", "late_submission_penalty", "score"):
                row[column] = ""
    if rows:
        with open(path, "w", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


def table(results: list[StudentResult]) -> str:
    """Points per graded cell, one row per student, as fixed-width text.

    A written answer waiting for a human grader shows as "hand" (grade it in formgrader);
    `repairs` counts what `autograder.repair` mended in the submission (see the state file).
    The last column counts a submission's tamper flags and names the first (`flag_lines`).
    """
    cells = sorted({cell for r in results for cell in r.max_scores})
    if not cells:
        return "no grades"
    max_scores = next(r.max_scores for r in results if r.max_scores)
    header = ["student", *cells, "total", "repairs", "status", "flags"]
    rows = [["(max)", *(f"{max_scores[c]:g}" for c in cells), f"{sum(max_scores.values()):g}",
             "", "", ""]]  # fmt: skip
    for r in results:
        repairs = str(len(r.repairs)) if r.repairs or r.scores else "-"
        flags = f"{len(r.flags)} ({r.flags[0]['cell']}: {r.flags[0]['reason']})" if r.flags else ""
        if r.scores:
            rows.append([r.student,
                         *("hand" if c in r.manual else f"{r.scores.get(c, 0):g}" for c in cells),
                         f"{r.total:g}", repairs, r.status, flags])  # fmt: skip
        else:
            rows.append([r.student, *("-" for _ in cells), "-", repairs, r.status, flags])
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(row, widths)).rstrip()
             for row in [header, *rows]]  # fmt: skip
    return "\n".join(lines)


def flag_lines(results: list[StudentResult]) -> list[str]:
    """One line per flagged submission, its first flag: "student: cell, line N: reason: code".

    A flag is code that reaches into grading (autograder.tamper); it never changes a grade.
    Every flag is in grading/<assignment>.json.
    """
    lines = []
    for r in results:
        if r.flags:
            first, more = r.flags[0], len(r.flags) - 1
            lines.append(f"{r.student}: {first['cell']}, line {first['line']}: {first['reason']}: "
                         f"{first['code']}" + (f" (and {more} more)" if more else ""))  # fmt: skip
    return lines


def demo(folder: Path, assignment: str = "08_conditional_vae") -> list[StudentResult]:
    """The instructor's whole loop on a demo class in `folder` (its own gradebook)."""
    course = copy_course(folder)
    print(f"Demo course in {course}")
    print("1. nbgrader generate_assignment (student version)")
    release(course)
    print("2. a class of submissions:")
    for student, what in demo_class(course, assignment).items():
        print(f"  {student}: {what}")
    print("3. autograde: every submission at once, each in its own sandbox:")
    results = grade(course, assignment, Options(progress=False))
    for result in results:
        print(f"  {result.student}: {result.status}")
    print("4. nbgrader generate_feedback and nbgrader export")
    grades_csv = feedback_and_export(course, assignment, results)
    print(f"  feedback in {course / 'feedback'}, grades in {grades_csv}")
    html_path, _ = report.write_report(course, assignment, results)
    print(f"  class report: {html_path}")
    print("\nPoints per graded cell:\n" + table(results))
    (course / "results.json").write_text(json.dumps(
        [r.__dict__ for r in results], indent=2))  # fmt: skip
    return results


def read_grades_csv(path: Path) -> list[dict]:
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rel = sub.add_parser("release", help="generate release/ from source/")
    rel.add_argument("--repo", help="repository Colab installs the course package from")
    rel.add_argument("--ref", help="git ref (tag or commit) of that repository")
    gr = sub.add_parser("grade", help="autograde all submissions, then feedback and export")
    gr.add_argument("assignment")
    gr.add_argument(
        "--jobs",
        type=int,
        default=limits.default_jobs(),
        help="submissions graded at once (default: one per core, %(default)s here)",
    )
    gr.add_argument(
        "--threads",
        type=int,
        default=None,
        help="TensorFlow threads per kernel (default: cores / jobs)",
    )
    gr.add_argument(
        "--wall-seconds",
        type=float,
        default=None,
        help="wall time for a whole submission (default: the assignment's own, "
        "in autograder/limits.py)",
    )
    gr.add_argument(
        "--memory-gb",
        type=float,
        default=limits.SUBMISSION_MEMORY_BYTES / 2**30,
        help="memory for a submission's whole process tree (default %(default)s)",
    )
    gr.add_argument(
        "--output-mb",
        type=float,
        default=limits.OUTPUT_BYTES_PER_CELL / 2**20,
        help="output kept per cell (default %(default)s)",
    )
    gr.add_argument(
        "--force",
        action="store_true",
        help="grade every submission again, not only new or changed ones",
    )
    gr.add_argument(
        "--all-cells",
        action="store_true",
        help="also run the cells after the last graded one (no grade depends on them)",
    )
    gr.add_argument(
        "--scheduler",
        metavar="tcp://HOST:PORT",
        help="send the submissions to this Dask scheduler's workers",
    )
    gr.add_argument("--no-progress", action="store_true", help="no progress bar")
    de = sub.add_parser("demo", help="run the instructor loop on a demo class")
    de.add_argument("--folder", type=Path, default=ROOT / "demo")
    args = parser.parse_args(argv)
    try:
        if args.command == "release":
            for path in release(ROOT, args.repo, args.ref):
                print(f"wrote {path.relative_to(ROOT)}")
        elif args.command == "grade":
            if args.assignment not in assignments(ROOT):
                raise GradingError(f"no assignment {args.assignment!r}; there are "
                                   f"{', '.join(assignments(ROOT))}")  # fmt: skip
            if (
                args.jobs < 1
                or (args.wall_seconds is not None and args.wall_seconds <= 0)
                or args.memory_gb <= 0
                or args.output_mb <= 0
            ):
                raise GradingError("--jobs, --wall-seconds, --memory-gb and --output-mb must be "
                                   "positive")  # fmt: skip
            options = Options(
                jobs=args.jobs, threads=args.threads, wall_seconds=args.wall_seconds,
                memory_bytes=int(args.memory_gb * 2**30), output_bytes=int(args.output_mb * 2**20),
                force=args.force, scheduler=args.scheduler, progress=not args.no_progress,
                all_cells=args.all_cells,
            )  # fmt: skip
            results = grade(ROOT, args.assignment, options)
            grades_csv = feedback_and_export(ROOT, args.assignment, results)
            print(table(results))
            flagged = flag_lines(results)
            if flagged:
                print("\nCode that reaches into grading (grades unchanged; review it, every flag "
                      f"is in {classgrade.STATE_FOLDER}/{args.assignment}.json):")  # fmt: skip
                print("\n".join(flagged))
            html_path, csv_path = report.write_report(ROOT, args.assignment, results)
            print(f"\ngrades: {grades_csv}; feedback: {ROOT / 'feedback'}; log: "
                  f"{ROOT / classgrade.STATE_FOLDER / (args.assignment + '.log')}")  # fmt: skip
            print(f"class report: {html_path} and {csv_path}")
        else:
            results = demo(args.folder)
            if not any(r.status == "graded" for r in results):
                return 1
    except (GradingError, classgrade.StepError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
