"""Grading a class beyond one process: on a Dask cluster, into a PostgreSQL gradebook.

Both run for real: a `distributed.LocalCluster` of two worker processes, and a PostgreSQL
server that the test starts itself from the Debian package's binaries (`.ci/run` installs
them). Where PostgreSQL is not installed the test is skipped with a reason, except in CI
(`COURSE_REQUIRE_SERVICES=1`), where it fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from autograder import grading
from autograder.classgrade import Options
from tests.test_class_grading import (
    ASSIGNMENT,
    FULL,
    PATHWISE_POINTS,
    SCORE_POINTS,
    autograded,
    by_student,
    pathwise_with,
    printed,
    submit,
)

pytestmark = pytest.mark.slow
CLASS = {
    "solution": {},
    "no_score": {"score_function_gradient": "def score_function_gradient(*args):\n"
                                            "    raise NotImplementedError()\n"},
    "no_pathwise": {"pathwise_gradient": "def pathwise_gradient(t_mean, t_log_var, epsilon):\n"
                                         "    raise NotImplementedError()\n"},
}  # fmt: skip


def make_class(course):
    for student, cells in CLASS.items():
        submit(course, student, **cells)


@pytest.fixture
def course(tmp_path):
    course = grading.copy_course(tmp_path / "course")
    grading.nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    return course


def test_a_dask_cluster_grades_a_class_as_this_machine_does(course):
    from distributed import LocalCluster

    make_class(course)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:  # fmt: skip
        results = by_student(
            grading.grade(
                course, ASSIGNMENT, Options(scheduler=cluster.scheduler_address, progress=False)
            )
        )
    assert results["solution"].total == FULL
    assert results["no_score"].total == FULL - SCORE_POINTS
    assert results["no_pathwise"].total == FULL - PATHWISE_POINTS
    assert all(r.status == "graded" for r in results.values())
    workers = {r.worker for r in results.values()}
    assert all(not w.endswith(f":{os.getpid()}") for w in workers), "ran here, not on workers"
    assert len(workers) == 2, "both worker processes graded"
    rows = grading.read_grades_csv(grading.feedback_and_export(course, ASSIGNMENT,
                                                               list(results.values())))  # fmt: skip
    assert {r["student_id"]: float(r["score"]) for r in rows if r["assignment"] == ASSIGNMENT} == {
        s: r.total for s, r in results.items()
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server of our own on 127.0.0.1, and the URL of an empty database in it."""
    binaries = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not binaries or shutil.which("runuser") is None and os.geteuid() == 0:
        message = "PostgreSQL is not installed (apt-get install postgresql)"
        if os.environ.get("COURSE_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    import tempfile

    bin_folder = binaries[-1].parent
    # Not under pytest's own folder, which only root may enter.
    folder = Path(tempfile.mkdtemp(prefix="course-postgres-"))
    as_owner = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(folder, "postgres", "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()

    def run(*command):
        done = subprocess.run([*as_owner, *command], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{command[0]} failed: {done.stdout}{done.stderr}"

    run(str(bin_folder / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres")
    run(str(bin_folder / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w",
        "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "start")  # fmt: skip
    import psycopg

    for _ in range(50):
        try:
            connection = psycopg.connect(host="127.0.0.1", port=port, user="postgres",
                                         dbname="postgres", autocommit=True)  # fmt: skip
            break
        except psycopg.OperationalError:
            time.sleep(0.2)
    connection.execute("CREATE DATABASE gradebook")
    connection.close()
    yield f"postgresql://postgres@127.0.0.1:{port}/gradebook"
    run(str(bin_folder / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
    shutil.rmtree(folder, ignore_errors=True)


def test_a_class_is_graded_in_parallel_into_postgresql_and_exported(tmp_path, monkeypatch,
                                                                    postgres):  # fmt: skip
    monkeypatch.setenv("NBGRADER_DB_URL", postgres)
    course = grading.copy_course(tmp_path / "course")
    grading.nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    make_class(course)
    attack = (f"import psycopg\ntry:\n    psycopg.connect({postgres!r}, connect_timeout=3)\n"
              "    print('REACHED THE GRADEBOOK')\nexcept Exception as error:\n"
              "    print('no database:', type(error).__name__)\n")  # fmt: skip
    submit(course, "intruder", pathwise_gradient=pathwise_with(attack))
    results = by_student(grading.grade(course, ASSIGNMENT, Options(jobs=2, progress=False)))
    assert not (course / "gradebook.db").exists(), "grades went to sqlite, not PostgreSQL"
    export = grading.nbgrader(course, "export", "--to=exported.csv")
    assert export.returncode == 0
    rows = {r["student_id"]: r for r in grading.read_grades_csv(course / "exported.csv")
            if r["assignment"] == ASSIGNMENT}  # fmt: skip
    assert {s: float(r["score"]) for s, r in rows.items()} == {
        "solution": FULL, "no_score": FULL - SCORE_POINTS, "no_pathwise": FULL - PATHWISE_POINTS,
        "intruder": FULL,
    }  # fmt: skip
    assert results["intruder"].status == "graded"
    said = printed(autograded(course, "intruder"))
    assert "no database:" in said and "REACHED" not in said
