"""The class benchmark: a generated class of notebook 08, graded as an instructor grades it.

    python -m benchmarks.grading_class make COURSE [--size 300] [--plain PLAIN --sample 20]
    python -m benchmarks.grading_class grade COURSE SUMMARY.json [--jobs N] [--threads T]
    python -m benchmarks.grading_class solo COURSE ASSIGNMENT SUMMARY.json

`make` writes a scratch course with 08 released and a class of `size` submissions: 60%
correct, 25% with the known mistakes (each pair of one `vlb_binomial` and one `sampling`
mistake in turn), 10% untouched student versions and 5% broken or hostile (a cut-off file,
an infinite loop, a kernel that exits, an allocation beyond the memory limit, in turn). With
`--plain`, it also writes a second course holding a sample of the same class for plain
serial `nbgrader autograde`: the same shares of correct, mistaken and untouched work, and
one cut-off file (no infinite loop or memory hog: plain nbgrader has no limit to stop them).

`solo` grades the solution of one assignment alone with the class grader, for the time one
submission takes (the "grade" rows of the benchmark).

`grade` grades a course with the class grader (the defaults of `make grade`) and writes a
summary: wall time, how every submission ended, whether each is in the gradebook, whether
every correct one got full marks, and a profile of where a submission's time goes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

ASSIGNMENT = "08_conditional_vae"
SHARES = {"correct": 0.60, "mistakes": 0.25, "stub": 0.10, "faulty": 0.05}
FAULTS = ("cut_off_file", "infinite_loop", "kernel_exit", "over_memory")
FAULT_CODE = {
    "infinite_loop": (
        "vlb_binomial",
        "def vlb_binomial(x, x_decoded_mean, t_mean, t_log_var):\n    while True:\n        pass\n",
    ),
    "kernel_exit": ("sampling", "import os\n\n\ndef sampling(args):\n    os._exit(1)\n"),
    "over_memory": (
        "sampling",
        "import numpy as np\n\nhoard = np.ones(int(7e8))  # 5.6 GB\n\n\n"
        "def sampling(args):\n    raise NotImplementedError()\n",
    ),
}


def counts(size: int) -> dict[str, int]:
    """How many submissions of each kind a class of `size` holds (the shares, rounded)."""
    found = {kind: round(size * share) for kind, share in SHARES.items()}
    found["correct"] += size - sum(found.values())
    return found


def make_class(course: Path, size: int) -> dict[str, str]:
    """Write the class's submissions into `course`; return student id -> what it is."""
    from course.config import import_tensorflow_quietly

    import_tensorflow_quietly()
    from autograder import grading
    from autograder.mistakes.nb08 import MISTAKES

    vlb = [m for m in MISTAKES if m.target == "vlb_binomial"]
    sampling = [m for m in MISTAKES if m.target == "sampling"]
    pairs = itertools.cycle(list(itertools.zip_longest(vlb, sampling)))
    faults = itertools.cycle(FAULTS)
    kinds, number = {}, itertools.count()
    for kind, how_many in counts(size).items():
        for _ in range(how_many):
            student = f"s{next(number):03d}"
            if kind == "correct":
                grading.make_submission(course, ASSIGNMENT, student)
                kinds[student] = "correct"
            elif kind == "stub":
                grading.make_submission(course, ASSIGNMENT, student, solved=False)
                kinds[student] = "stub"
            elif kind == "mistakes":
                pair = [m for m in next(pairs) if m is not None]
                grading.make_submission(course, ASSIGNMENT, student,
                                        {m.target: m.source() for m in pair})  # fmt: skip
                kinds[student] = "mistakes: " + " + ".join(m.name for m in pair)
            else:
                fault = next(faults)
                if fault == "cut_off_file":
                    path = grading.make_submission(course, ASSIGNMENT, student)
                    path.write_text(path.read_text()[:5000])
                else:
                    cell, code = FAULT_CODE[fault]
                    grading.make_submission(course, ASSIGNMENT, student, {cell: code})
                kinds[student] = f"faulty: {fault}"
    (course / "class.json").write_text(json.dumps(kinds, indent=1))
    return kinds


def sample(kinds: dict[str, str], size: int) -> list[str]:
    """A sample of the class with its shares of correct, mistaken and untouched work, and
    one cut-off file as its only fault."""
    by_kind = {"correct": [], "mistakes": [], "stub": []}
    for student, kind in kinds.items():
        by_kind.setdefault(kind.split(":")[0], []).append(student)
    cut = [s for s, k in kinds.items() if k == "faulty: cut_off_file"][:1]
    wanted = counts(size - len(cut))
    wanted["correct"] += wanted.pop("faulty")
    return sorted(cut + [s for kind, n in wanted.items() for s in by_kind[kind][:n]])


def make(course: Path, size: int, plain: Path | None, sample_size: int, only_correct=False):
    from autograder import grading

    grading.copy_course(course)
    grading.nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    if only_correct:
        for number in range(size):
            grading.make_submission(course, ASSIGNMENT, f"s{number:03d}")
        kinds = {f"s{number:03d}": "correct" for number in range(size)}
        (course / "class.json").write_text(json.dumps(kinds, indent=1))
    else:
        kinds = make_class(course, size)
    if plain is not None:
        grading.copy_course(plain)
        grading.nbgrader(plain, "generate_assignment", ASSIGNMENT, "--force")
        chosen = sample(kinds, sample_size)
        for student in chosen:
            shutil.copytree(course / "submitted" / student, plain / "submitted" / student)
        (plain / "class.json").write_text(json.dumps({s: kinds[s] for s in chosen}, indent=1))


def summarize(course: Path, results, seconds: float) -> dict:
    """How the class ended: counts per status and kind, the gradebook, and the profile."""
    from autograder import execute
    from autograder.classgrade import graded_result
    from autograder.steps import Steps

    kinds = json.loads((course / "class.json").read_text())
    db_url = Steps(course).db_url
    named = {"graded", execute.STATUS_TIME, execute.STATUS_MEMORY, execute.STATUS_DIED}
    statuses, in_gradebook, unnamed, correct_full, correct = {}, 0, [], 0, 0
    for result in results:
        short = result.status.split(":")[0].split(" (")[0]
        statuses[short] = statuses.get(short, 0) + 1
        if result.status not in named and not short.startswith(("not a readable", "no notebook")):
            unnamed.append(f"{result.student}: {result.status}")
        if graded_result(db_url, ASSIGNMENT, result.student).max_scores:
            in_gradebook += 1
        if kinds[result.student] == "correct":
            correct += 1
            correct_full += result.total == sum(result.max_scores.values()) > 0
    ran = [r for r in results if r.kernel_start_seconds is not None]
    cells: dict[str, list[float]] = {}
    for result in ran:
        for cell, spent in result.cell_seconds.items():
            cells.setdefault(cell, []).append(spent)

    def mean(values):
        return round(statistics.fmean(values), 3) if values else None

    size = len(results)
    return {
        "submissions": size,
        "wall_seconds": round(seconds, 1),
        "seconds_per_submission": round(seconds / size, 3) if size else None,
        "statuses": statuses,
        "kinds": {k: sum(1 for v in kinds.values() if v.split(":")[0] == k) for k in SHARES},
        "unnamed": unnamed,
        "in_gradebook": in_gradebook,
        "expected_in_gradebook": sum(1 for r in results if r.graded),
        "correct": correct,
        "correct_full_marks": correct_full,
        "profile_seconds": {
            "prepare (nbgrader's steps before the run)": mean([r.prepare_seconds for r in ran]),
            "kernel start (fork from the zygote, sandbox)": mean(
                [r.kernel_start_seconds for r in ran]
            ),
            "cells run": mean([sum(r.cell_seconds.values()) for r in ran]),
            "save (nbgrader's steps after the run)": mean([r.save_seconds for r in ran]),
            **{f"cell {cell}": mean(values) for cell, values in cells.items()},
        },
    }


def grade(course: Path, out: Path, jobs: int | None, threads: int | None) -> dict:
    from autograder.classgrade import ClassGrader, Options

    options = Options(progress=False, force=True, threads=threads)
    if jobs:
        options.jobs = jobs
    start = time.perf_counter()
    results = ClassGrader(course, ASSIGNMENT, options).grade()
    summary = summarize(course, results, time.perf_counter() - start)
    summary["jobs"], summary["kernel_threads"] = options.jobs, options.kernel_threads()
    out.write_text(json.dumps(summary, indent=1))
    return summary


def solo(course: Path, assignment: str, out: Path) -> dict:
    """Grade the solution submission of one assignment alone, as `make grade` would."""
    from autograder import grading, limits
    from autograder.classgrade import ClassGrader, Options

    if not (course / "nbgrader_config.py").exists():
        grading.copy_course(course)
    grading.nbgrader(course, "generate_assignment", assignment, "--force")
    grading.make_submission(course, assignment, "solution")
    result = ClassGrader(course, assignment, Options(jobs=1, force=True, progress=False)).grade()[0]
    auto = [cell for cell in result.max_scores if cell not in result.manual]
    top = sum(result.max_scores[c] for c in auto)
    budget = limits.wall_seconds(assignment)
    summary = {
        "status": result.status,
        "submission_seconds": round(result.seconds, 3),
        "autograded_fraction": sum(result.scores[c] for c in auto) / top if top else 0.0,
        "budget_seconds": budget,
        "budget_share": result.seconds / budget,
        "peak_mb": (result.peak_bytes or 0) / 2**20,
    }
    out.write_text(json.dumps(summary, indent=1))
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    make_parser = sub.add_parser("make")
    make_parser.add_argument("course", type=Path)
    make_parser.add_argument("--size", type=int, default=300)
    make_parser.add_argument("--plain", type=Path)
    make_parser.add_argument("--sample", type=int, default=20)
    make_parser.add_argument("--only-correct", action="store_true")
    grade_parser = sub.add_parser("grade")
    grade_parser.add_argument("course", type=Path)
    grade_parser.add_argument("summary", type=Path)
    grade_parser.add_argument("--jobs", type=int)
    grade_parser.add_argument("--threads", type=int)
    solo_parser = sub.add_parser("solo")
    solo_parser.add_argument("course", type=Path)
    solo_parser.add_argument("assignment")
    solo_parser.add_argument("summary", type=Path)
    args = parser.parse_args(argv)
    if args.command == "solo":
        print(json.dumps(solo(args.course, args.assignment, args.summary)))
    elif args.command == "make":
        make(args.course, args.size, args.plain, args.sample, args.only_correct)
    else:
        summary = grade(args.course, args.summary, args.jobs, args.threads)
        print(json.dumps({k: v for k, v in summary.items() if k != "profile_seconds"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
