"""`make bench`: its targets, how it checks them, and one real run of the script.

The benchmark itself (every notebook in full mode) does not run here; one notebook in fast
mode, with its autograde, does.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import keras
import nbformat
import pytest

from autograder.grading import assignments
from benchmarks import bench
from course.metrics import parse
from tests.conftest import ROOT

RESULTS = ROOT / "benchmarks" / "results.json"


def run(notebook="07_frey_face_vae", mode="full", variant=None, **fields):
    base = {"notebook": notebook, "variant": variant, "mode": mode, "wall_seconds": 100.0,
            "peak_memory_mb": 900.0, "metrics": {}, "data": {}, "errors": []}  # fmt: skip
    return {**base, **fields}


def target(**fields):
    base = {"id": "t", "what": "a target", "mode": "full", "measure": "wall_seconds",
            "source": "a test", "at_most": 300.0}  # fmt: skip
    return bench.Target(**{**base, **fields})


# ----------------------------------------------------------------------------- checking a target


@pytest.mark.parametrize(
    ("limit", "figure", "status"),
    [({"at_most": 300.0}, 299.9, "met"), ({"at_most": 300.0}, 300.0, "met"),
     ({"at_most": 300.0}, 300.1, "not met"), ({"at_most": None, "at_least": 800.0}, 800.5, "met"),
     ({"at_most": None, "at_least": 800.0}, 799.0, "not met")],
)  # fmt: skip
def test_a_figure_is_held_to_its_limit(limit, figure, status):
    verdict = bench.evaluate(target(**limit), run(wall_seconds=figure))
    assert (verdict["status"], verdict["figure"]) == (status, figure)


def test_a_quality_figure_comes_from_the_metrics_the_notebook_printed():
    elbo = target(measure="metric:val_elbo", at_most=None, at_least=800.0, real_data="Frey Face")
    real = {"Frey Face": "real"}
    assert bench.evaluate(elbo, run(metrics={"val_elbo": 868.5}, data=real))["status"] == "met"
    assert bench.evaluate(elbo, run(metrics={"val_elbo": 790.0}, data=real))["status"] == "not met"
    missing = bench.evaluate(elbo, run(metrics={"val_kl": 9.0}, data=real))
    assert missing["status"] == "not checked" and "metric:val_elbo" in missing["why"]


def test_a_target_set_on_real_data_is_not_checked_on_the_stand_in():
    loss = target(notebook="08_conditional_vae", measure="metric:vae_val_loss", at_most=160.0,
                  real_data="MNIST")  # fmt: skip
    figures = {"vae_val_loss": 134.8}
    standin = bench.evaluate(loss, run("08_conditional_vae", metrics=figures,
                                       data={"MNIST": "synthetic"}))  # fmt: skip
    assert standin["status"] == "not checked" and "stand-in" in standin["why"]
    assert standin["figure"] == 134.8, "the figure is still reported"
    folder = bench.evaluate(loss, run("08_conditional_vae", metrics=figures,
                                      data={"MNIST": "data folder"}))  # fmt: skip
    assert folder["status"] == "met"
    unloaded = bench.evaluate(loss, run("08_conditional_vae", metrics=figures))
    assert unloaded["status"] == "not checked" and "did not load MNIST" in unloaded["why"]
    subset = bench.evaluate(loss, run("08_conditional_vae", metrics=figures,
                                      data={"MNIST": "real subset"}))  # fmt: skip
    assert subset["status"] == "not checked" and "5,000-digit subset" in subset["why"]


def test_a_dataset_source_nobody_recognises_is_not_taken_for_real_data():
    elbo = target(measure="metric:val_elbo", at_most=None, at_least=800.0, real_data="Frey Face")
    verdict = bench.evaluate(elbo, run(metrics={"val_elbo": 900.0}, data={"Frey Face": "unknown"}))
    assert verdict["status"] == "not checked" and "not recognised" in verdict["why"]


def test_a_failed_run_meets_no_target():
    verdict = bench.evaluate(target(), run(wall_seconds=10.0, errors=["cell x: ValueError"]))
    assert verdict["status"] == "not checked" and "failed" in verdict["why"]


def test_targets_apply_to_their_own_rows_only():
    latent_20 = target(notebook="08_conditional_vae", variant="latent_dim=20")
    assert latent_20.applies_to(run("08_conditional_vae", variant="latent_dim=20"))
    assert not latent_20.applies_to(run("08_conditional_vae"))
    assert not latent_20.applies_to(run("08_conditional_vae", mode="fast",
                                        variant="latent_dim=20"))  # fmt: skip
    every = target()
    assert every.applies_to(run("01_autoencoder")) and not every.applies_to(run(mode="fast"))
    assert not every.applies_to(run(variant="latent_dim=20")), "a variant is not the notebook"


# ----------------------------------------------------------------------------- the targets file


def test_the_targets_file_holds_the_issues_targets_each_with_its_source():
    targets = {t.id: t for t in bench.load_targets()}
    expected = {
        "full_mode_time": ("wall_seconds", "at_most", 300),
        "cnn_ae_lecture_bce": ("metric:test_bce_per_pixel", "at_most", 0.33),
        "cnn_ae_wide_code_bce": ("metric:test_bce_per_pixel", "at_most", 0.28),
        "frey_test_elbo": ("metric:test_elbo", "at_least", 870),
        "mnist_vae_latent_2": ("metric:vae_val_loss", "at_most", 160),
        "mnist_vae_latent_20": ("metric:vae_val_loss", "at_most", 110),
        "autograde_time": ("wall_seconds", "at_most", 60),
        "class_time": ("wall_seconds", "at_most", 1200),
        "class_speedup": ("metric:speedup_per_submission", "at_least", 4),
        "class_every_end_named": ("metric:unnamed", "at_most", 0),
        "class_in_gradebook": ("metric:not_in_gradebook", "at_most", 0),
    }
    for name, (measure, side, limit) in expected.items():
        assert name in targets, f"targets.toml lost {name}"
        assert (targets[name].measure, getattr(targets[name], side)) == (measure, limit)
    assert all(t.source.strip() for t in targets.values())


def test_every_target_names_a_notebook_variant_and_metric_that_exist():
    variants = {(v.notebook, v.name) for v in bench.VARIANTS}
    for t in bench.load_targets():
        if t.notebook is not None:
            assert t.notebook in assignments(ROOT), t.id
        if t.variant is not None:
            assert (t.notebook, t.variant) in variants, t.id
        if t.measure.startswith("metric:") and t.mode in bench.MODES:
            assert t.notebook is not None, f"{t.id}: a quality target names its notebook"
            name = t.measure.removeprefix("metric:")
            source = (ROOT / "source" / t.notebook / f"{t.notebook}.ipynb").read_text()
            assert f'report(\\"{name}\\"' in source, f"{t.notebook} prints no [metric] {name}"


GOOD = "id='a'\nwhat='w'\nmode='full'\nmeasure='wall_seconds'\nsource='s'\n"
HEAD = "[[target]]\n"
BAD_TARGETS = [
    (HEAD + GOOD, "exactly one of at_most and at_least"),
    (HEAD + GOOD.replace("source='s'", "source=''") + "at_most=1\n", "source must be a non-empty"),
    (HEAD + GOOD.replace("full", "slow") + "at_most=1\n", "use full, fast, autograde, grade"),
    (HEAD + GOOD.replace("wall_seconds", "speed") + "at_most=1\n", "is not wall_seconds"),
    (HEAD + GOOD + "at_most=1\nmaximum=2\n", "maximum"),
    (HEAD + GOOD + "at_most='300'\n", "must be a number"),
    (HEAD + GOOD + "at_most=1\n" + HEAD + GOOD + "at_most=2\n", "repeated: a"),
    ("[[targets]]\n" + GOOD + "at_most=1\n", r"only \[\[target\]\] tables"),
    ("[target]\n" + GOOD + "at_most=1\n", r"only \[\[target\]\] tables"),
    (HEAD + GOOD + "at_most=1\nnotebook='09_gan'\n", "no notebook '09_gan'"),
    (
        HEAD + GOOD + "at_most=1\nnotebook='07_frey_face_vae'\nvariant='latent_dim=9'\n",
        "has no variant 'latent_dim=9'",
    ),
    (
        HEAD
        + GOOD.replace("full", "autograde").replace("wall_seconds", "metric:pts")
        + "at_most=1\n",
        "not 'pts'",
    ),
    ("[[target]\nid='a'\n", "cannot read"),
]


@pytest.mark.parametrize(("text", "complaint"), BAD_TARGETS)
def test_a_broken_targets_file_is_refused_with_the_reason(tmp_path, text, complaint):
    path = tmp_path / "targets.toml"
    path.write_text(text)
    with pytest.raises(bench.BenchError, match=complaint):
        bench.load_targets(path)


@pytest.mark.parametrize("variant", bench.VARIANTS, ids=lambda v: v.name)
def test_a_variant_adds_its_code_after_its_cell(tmp_path, variant):
    source = ROOT / "source" / variant.notebook / f"{variant.notebook}.ipynb"
    written = nbformat.read(bench.with_variant(source, variant, tmp_path / "v.ipynb"), 4)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in written.cells]
    added = written.cells[ids.index(variant.after_cell) + 1]
    assert added.source.startswith(variant.code)
    assert len(written.cells) == len(nbformat.read(source, 4).cells) + 1
    wrong = bench.Variant("x", variant.notebook, "no-such-cell", "pass")
    with pytest.raises(bench.BenchError, match="no cell 'no-such-cell'"):
        bench.with_variant(source, wrong, tmp_path / "w.ipynb")


LONGER_WIDE_CODE = bench.Variant(
    "code_dim=64,epochs=20", "02_cnn_autoencoder", "code-size", "code_dim = 64",
    edits=(("lecture-train", "num_epochs = pick(full=10,", "num_epochs = pick(full=20,"),),
)  # fmt: skip


def test_a_variant_edits_its_cells_and_names_a_stale_edit(tmp_path):
    variant = LONGER_WIDE_CODE
    source = ROOT / "source" / variant.notebook / f"{variant.notebook}.ipynb"
    written = nbformat.read(bench.with_variant(source, variant, tmp_path / "v.ipynb"), 4)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in written.cells}
    for cell_id, text, replacement in variant.edits:
        assert replacement in by_id[cell_id] and text not in by_id[cell_id]
    cell_id, text, _ = variant.edits[0]
    stale = bench.Variant("x", variant.notebook, variant.after_cell, "pass",
                          edits=((cell_id, text + "no such text", "y"),))  # fmt: skip
    with pytest.raises(bench.BenchError, match="0 times, not once"):
        bench.with_variant(source, stale, tmp_path / "w.ipynb")


def test_an_unknown_notebook_is_named_in_the_error():
    with pytest.raises(bench.BenchError, match="no notebook matches 99"):
        bench.chosen(["99"])
    assert bench.chosen(["07"]) == ["07_frey_face_vae"]


# ----------------------------------------------------------------------------- measuring


def python(code):
    return [sys.executable, "-c", code]


def test_peak_memory_is_the_largest_process_in_the_runs_tree(tmp_path):
    # Like the notebook runner and its kernel: the child, in a session of its own, holds
    # 300 MB for a second; its parent very little. This test process (TensorFlow loaded) is
    # larger than both, and must not count.
    child = "x = b'x' * (300 * 2**20); import time; time.sleep(1)"
    parent = ("import subprocess, sys; subprocess.run([sys.executable, '-c', "
              f"{child!r}], start_new_session=True)")  # fmt: skip
    measured = bench.measure(python(parent), tmp_path / "log", dict(os.environ), tmp_path, 60)
    assert measured.returncode == 0 and not measured.timed_out
    assert 300 <= measured.peak_memory_mb < 450
    small = bench.measure(python("import time; time.sleep(1)"), tmp_path / "log",
                          dict(os.environ), tmp_path, 60)  # fmt: skip
    assert small.peak_memory_mb < 100


def test_a_run_past_its_time_limit_is_stopped_with_everything_it_started(tmp_path):
    psutil = pytest.importorskip("psutil")
    pid_file = tmp_path / "pid"
    code = (
        "import subprocess, sys, time; p = subprocess.Popen(['sleep', '60'], "
        "start_new_session=True); open(sys.argv[1], 'w').write(str(p.pid)); time.sleep(60)"
    )
    measured = bench.measure([*python(code), str(pid_file)], tmp_path / "log", dict(os.environ),
                             tmp_path, timeout=2)  # fmt: skip
    assert measured.timed_out and measured.wall_seconds < 30
    grandchild = int(pid_file.read_text())
    time.sleep(0.5)
    assert not psutil.pid_exists(grandchild) or psutil.Process(grandchild).status() == "zombie"
    errors = bench.failures(measured, "the notebook runner", tmp_path / "log", [])
    assert errors and errors[0].startswith("stopped after the time limit")


def test_a_runner_that_crashes_without_a_cell_error_is_a_failed_run(tmp_path):
    crashed = bench.Measured(1, 12.0, 700.0, 20.0, False)
    assert "exited 1 without a cell error" in bench.failures(crashed, "runner", tmp_path, [])[0]
    cell = ["cell-3: ValueError: bad shape"]
    assert bench.failures(crashed, "runner", tmp_path, cell) == cell, "cell errors exit 1 too"
    assert bench.failures(bench.Measured(0, 12.0, 700.0, 20.0, False), "runner", tmp_path, []) == []


def test_the_report_keeps_every_row_in_its_cells_whatever_an_error_says():
    nasty = "cell x: ValueError: a | b\r\nc <module>\n"
    runs = [run("01_autoencoder", errors=[nasty]), run("02_cnn_autoencoder", mode="fast",
                                                       metrics={"bce": 0.33})]  # fmt: skip
    targets = bench.load_targets()
    results = {"command": "python -m benchmarks.bench", "started": "now", "total_seconds": 1.0,
               "commit": "abc", "machine": bench.machine(), "versions": bench.versions(),
               "targets_file": "benchmarks/targets.toml",
               "targets": [bench.asdict(t) for t in targets], "runs": runs,
               "verdicts": bench.verdicts(targets, runs)}  # fmt: skip
    markdown = bench.render(results)
    rows = table_rows(markdown, "Runs")
    assert len(rows) == 3 and all(len(row) == len(bench.RUN_COLUMNS) for row in rows)
    assert rows[1][5].startswith("FAILED: cell x: ValueError: a \\| b c &lt;module>")
    assert rows[1][7] == "not checked" and rows[2][5] == "bce = 0.33"
    targets_rows = table_rows(markdown, "Targets")
    assert all(len(row) == len(bench.TARGET_COLUMNS) for row in targets_rows)


# ----------------------------------------------------------------------------- one real run


def table_rows(markdown: str, heading: str) -> list[list[str]]:
    """The cells of the table under `## heading`, header row first."""
    section = markdown.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    lines = [line for line in lines if not re.fullmatch(r"\|(---\|)+", line)]
    return [[c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]] for line in lines]


@pytest.fixture(scope="module")
def one_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    command = [sys.executable, "-m", "benchmarks.bench", "--notebooks", "07", "--modes", "fast",
               "--out", str(out), "--work", str(out / "work"), "--timeout", "600",
               "--class-size", "0"]  # fmt: skip
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    return finished, out


@pytest.mark.slow
def test_the_benchmark_runs_one_notebook_in_fast_mode_and_its_autograde(one_run):
    finished, out = one_run
    assert finished.returncode == 0, finished.stdout + finished.stderr
    results = json.loads((out / "results.json").read_text())
    assert [(r["notebook"], r["mode"]) for r in results["runs"]] == [
        ("07_frey_face_vae", "fast"),
        ("07_frey_face_vae", "autograde"),
        ("07_frey_face_vae", "grade"),
    ]
    assert results["machine"]["cpu_count"] == os.cpu_count()
    assert results["versions"]["keras"] == keras.__version__
    assert "nbgrader" in results["versions"] and "tensorflow-cpu" in results["versions"]
    fast, graded, ours = results["runs"]
    assert 0 < fast["wall_seconds"] < results["total_seconds"]
    # The kernel imports TensorFlow (several hundred MB); the runner alone stays far below.
    assert fast["peak_memory_mb"] > 300 and graded["peak_memory_mb"] > 300
    assert graded["metrics"]["autograded_score"] == graded["metrics"]["autograded_max"] > 0
    assert ours["metrics"]["autograded_fraction"] == 1.0
    assert 0 < ours["metrics"]["submission_seconds"] < ours["wall_seconds"]
    share = ours["metrics"]["budget_share"]
    assert {v["target"]: v["status"] for v in results["verdicts"]} == {
        "autograde_time": "met" if graded["wall_seconds"] <= 60 else "not met",
        "autograde_full_marks": "met",
        "grade_full_marks": "met",
        "grade_within_budget": "met" if share <= 0.25 else "not met",
    }


@pytest.mark.slow
def test_quality_figures_are_read_from_the_executed_notebook(one_run):
    _, out = one_run
    results = json.loads((out / "results.json").read_text())
    fast = results["runs"][0]
    executed = nbformat.read(ROOT / fast["executed"] if not fast["executed"].startswith("/")
                             else fast["executed"], as_version=4)  # fmt: skip
    printed = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code"
                      for o in c.outputs if o.get("name") == "stdout")  # fmt: skip
    assert fast["metrics"] == parse(printed) and "val_elbo" in fast["metrics"]
    assert fast["data"]["Frey Face"] in ("real", "data folder", "synthetic")


@pytest.mark.slow
def test_the_benchmark_writes_a_well_formed_table(one_run):
    _, out = one_run
    results = json.loads((out / "results.json").read_text())
    markdown = (out / "results.md").read_text()
    rows = table_rows(markdown, "Runs")
    assert rows[0] == bench.RUN_COLUMNS
    assert all(len(row) == len(bench.RUN_COLUMNS) for row in rows)
    by_mode = {row[1]: dict(zip(rows[0], row)) for row in rows[1:]}
    assert set(by_mode) == {"fast", "autograde", "grade"}
    fast = by_mode["fast"]
    assert fast["notebook"] == "07_frey_face_vae" and fast["data"].startswith("Frey Face: ")
    assert re.fullmatch(r"\d+\.\d s|\d+ min \d\d s", fast["wall time"])
    assert re.fullmatch(r"\d+ MB|\d+\.\d\d GB", fast["peak memory"])
    assert "val_elbo = " in fast["quality figures"]
    graded = [v["status"] for v in results["verdicts"] if v["mode"] == "autograde"]
    assert by_mode["autograde"]["met"] == ", ".join(graded) and len(graded) == 2
    targets = table_rows(markdown, "Targets")
    assert targets[0] == bench.TARGET_COLUMNS
    assert len(targets) == 1 + len(bench.load_targets()), "every target has a row"
    assert all(len(row) == len(bench.TARGET_COLUMNS) for row in targets)
    result = {row[0]: row[3] for row in targets[1:]}
    assert result["the solution submission scores full marks on every autograded cell"] == "met: 1"
    assert result["full mode runs in at most 5 minutes per notebook on 2 CPU cores"] == "not run"


# ----------------------------------------------------------------------------- committed results


def test_the_committed_results_cover_every_notebook_target_and_mode():
    results = json.loads(RESULTS.read_text())
    runs = {(r["notebook"], r["variant"], r["mode"]) for r in results["runs"]}
    for name in assignments(ROOT):
        for mode in ("full", "fast", "autograde", "grade"):
            assert (name, None, mode) in runs, f"results.json has no {mode} run of {name}"
    assert ("08_conditional_vae", None, "class") in runs and (
        "08_conditional_vae", None, "class_plain") in runs  # fmt: skip
    class_run = next(r for r in results["runs"] if r["mode"] == "class")
    assert class_run["metrics"]["submissions"] == bench.CLASS_SIZE
    for variant in bench.VARIANTS:
        assert (variant.notebook, variant.name, "full") in runs
    assert not [r for r in results["runs"] if r["errors"]], "a committed run failed"


def test_the_committed_results_agree_with_the_targets_file_and_their_table():
    results = json.loads(RESULTS.read_text())
    targets = bench.load_targets()
    assert results["targets"] == [bench.asdict(t) for t in targets], (
        "benchmarks/targets.toml changed since the committed run: run make bench again"
    )
    assert results["verdicts"] == bench.verdicts(targets, results["runs"])
    assert (RESULTS.parent / "results.md").read_text() == bench.render(results)
