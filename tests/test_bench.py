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
        "cnn_ae_test_bce": ("metric:test_bce_per_pixel", "at_most", 0.28),
        "frey_val_elbo": ("metric:val_elbo", "at_least", 800),
        "mnist_vae_latent_2": ("metric:vae_val_loss", "at_most", 160),
        "mnist_vae_latent_20": ("metric:vae_val_loss", "at_most", 110),
        "autograde_time": ("wall_seconds", "at_most", 60),
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
        if t.measure.startswith("metric:") and t.mode != "autograde":
            name = t.measure.removeprefix("metric:")
            source = (ROOT / "source" / t.notebook / f"{t.notebook}.ipynb").read_text()
            assert f'report(\\"{name}\\"' in source, f"{t.notebook} prints no [metric] {name}"


@pytest.mark.parametrize(
    ("text", "complaint"),
    [("[[target]]\nid='a'\nwhat='w'\nmode='full'\nmeasure='wall_seconds'\nsource='s'\n",
      "exactly one of at_most and at_least"),
     ("[[target]]\nid='a'\nwhat='w'\nmode='full'\nmeasure='wall_seconds'\nsource=''\n"
      "at_most=1\n", "say where the target comes from"),
     ("[[target]]\nid='a'\nwhat='w'\nmode='slow'\nmeasure='wall_seconds'\nsource='s'\n"
      "at_most=1\n", "use full, fast or autograde"),
     ("[[target]]\nid='a'\nwhat='w'\nmode='full'\nmeasure='speed'\nsource='s'\nat_most=1\n",
      "is not wall_seconds"),
     ("[[target]]\nid='a'\nwhat='w'\nmode='full'\nmeasure='wall_seconds'\nsource='s'\n"
      "at_most=1\nmaximum=2\n", "maximum")],
)  # fmt: skip
def test_a_broken_targets_file_is_refused_with_the_reason(tmp_path, text, complaint):
    path = tmp_path / "targets.toml"
    path.write_text(text)
    with pytest.raises(bench.BenchError, match=complaint):
        bench.load_targets(path)


def test_a_variant_adds_its_code_after_its_cell(tmp_path):
    variant = bench.VARIANTS[0]
    source = ROOT / "source" / variant.notebook / f"{variant.notebook}.ipynb"
    written = nbformat.read(bench.with_variant(source, variant, tmp_path / "v.ipynb"), 4)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in written.cells]
    added = written.cells[ids.index(variant.after_cell) + 1]
    assert added.source.startswith(variant.code)
    assert len(written.cells) == len(nbformat.read(source, 4).cells) + 1
    wrong = bench.Variant("x", variant.notebook, "no-such-cell", "pass")
    with pytest.raises(bench.BenchError, match="no cell 'no-such-cell'"):
        bench.with_variant(source, wrong, tmp_path / "w.ipynb")


def test_an_unknown_notebook_is_named_in_the_error():
    with pytest.raises(bench.BenchError, match="no notebook matches 99"):
        bench.chosen(["99"])
    assert bench.chosen(["07"]) == ["07_frey_face_vae"]


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
               "--out", str(out), "--work", str(out / "work")]  # fmt: skip
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
    ]
    assert results["machine"]["cpu_count"] == os.cpu_count()
    assert results["versions"]["keras"] == keras.__version__
    assert "nbgrader" in results["versions"] and "tensorflow-cpu" in results["versions"]
    fast, graded = results["runs"]
    assert 0 < fast["wall_seconds"] < results["total_seconds"]
    # The kernel imports TensorFlow (several hundred MB); the runner alone stays far below.
    assert fast["peak_memory_mb"] > 300 and graded["peak_memory_mb"] > 300
    assert graded["metrics"]["autograded_score"] == graded["metrics"]["autograded_max"] > 0
    assert {v["target"]: v["status"] for v in results["verdicts"]} == {
        "autograde_time": "met" if graded["wall_seconds"] <= 60 else "not met",
        "autograde_full_marks": "met",
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
    assert markdown == bench.render(results)
    rows = table_rows(markdown, "Runs")
    assert rows[0] == bench.RUN_COLUMNS
    assert all(len(row) == len(bench.RUN_COLUMNS) for row in rows)
    by_mode = {row[1]: dict(zip(rows[0], row)) for row in rows[1:]}
    assert set(by_mode) == {"fast", "autograde"}
    fast = by_mode["fast"]
    assert fast["notebook"] == "07_frey_face_vae" and fast["data"].startswith("Frey Face: ")
    assert re.fullmatch(r"\d+\.\d s|\d+ min \d\d s", fast["wall time"])
    assert re.fullmatch(r"\d+ MB|\d+\.\d\d GB", fast["peak memory"])
    assert "val_elbo = " in fast["quality figures"]
    assert by_mode["autograde"]["met"] == "met, met"
    targets = table_rows(markdown, "Targets")
    assert targets[0] == bench.TARGET_COLUMNS and len(targets) == 3
    assert all(len(row) == len(bench.TARGET_COLUMNS) for row in targets)


# ----------------------------------------------------------------------------- committed results


def test_the_committed_results_cover_every_notebook_target_and_mode():
    results = json.loads(RESULTS.read_text())
    runs = {(r["notebook"], r["variant"], r["mode"]) for r in results["runs"]}
    for name in assignments(ROOT):
        for mode in ("full", "fast", "autograde"):
            assert (name, None, mode) in runs, f"results.json has no {mode} run of {name}"
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
