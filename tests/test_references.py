"""Reference values are made by one script, are up to date, and do not depend on the machine."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from autograder import make_references
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def made():
    """What every reference module returns, computed once: name -> (public, private)."""
    return {name: make() for name, make in make_references.makers().items()}


@pytest.fixture
def scratch_files(tmp_path, monkeypatch):
    """Copies of the committed reference files, which the script reads and writes instead."""
    public, private = tmp_path / "expected", tmp_path / "references"
    shutil.copytree(make_references.PUBLIC, public)
    shutil.copytree(make_references.PRIVATE, private)
    monkeypatch.setattr(make_references, "PUBLIC", public)
    monkeypatch.setattr(make_references, "PRIVATE", private)
    return public, private


def perturbed(data, rng, relative):
    """`data` with every float moved as round-off would move it: by up to `relative` of
    itself, and a zero by up to 1e-17 of either sign (a negative zero on some machines)."""
    if isinstance(data, float):
        return data * (1 + relative * rng.uniform(-1, 1)) if data else rng.uniform(-1e-17, 1e-17)
    if isinstance(data, dict):
        return {k: perturbed(v, rng, relative) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [perturbed(v, rng, relative) for v in data]
    return data


def negative_zeros(data) -> int:
    """How many floats in `data` (parsed JSON) are a negative zero."""
    if isinstance(data, float):
        return int(data == 0.0 and math.copysign(1.0, data) < 0)
    if isinstance(data, dict):
        return sum(negative_zeros(v) for v in data.values())
    if isinstance(data, list):
        return sum(negative_zeros(v) for v in data)
    return 0


def as_makers(outputs):
    return {name: (lambda pair=pair: pair) for name, pair in outputs.items()}


def test_reference_files_match_what_the_script_makes(capsys):
    assert make_references.main(["--check"]) == 0, capsys.readouterr().out


def test_the_check_passes_when_results_move_at_round_off_level(made, scratch_files, capsys):
    rng = np.random.default_rng(16)
    moved = {name: tuple(perturbed(part, rng, 1e-13) for part in pair)
             for name, pair in made.items()}  # fmt: skip
    assert make_references.main(["--check"], found=as_makers(moved)) == 0, capsys.readouterr().out


def test_regenerating_after_round_off_leaves_every_file_unchanged(made, scratch_files):
    before = {p.name + p.parent.name: p.read_bytes()
              for folder in scratch_files for p in folder.glob("*.json")}  # fmt: skip
    rng = np.random.default_rng(17)
    moved = {name: tuple(perturbed(part, rng, 1e-13) for part in pair)
             for name, pair in made.items()}  # fmt: skip
    assert make_references.main([], found=as_makers(moved)) == 0
    after = {p.name + p.parent.name: p.read_bytes()
             for folder in scratch_files for p in folder.glob("*.json")}  # fmt: skip
    assert after == before
    # (a substring test for "-0.0" would also flag values such as -0.095)
    assert not any(negative_zeros(json.loads(text)) for text in after.values())


def test_a_real_change_of_one_value_is_caught_and_named(made, scratch_files, capsys):
    changed = json.loads(json.dumps(made["nb05"]))
    old = changed[0]["gaussian_kl"]["diagonal"]["expected"][1]
    changed[0]["gaussian_kl"]["diagonal"]["expected"][1] = old * (1 + 1e-6)
    outputs = {**made, "nb05": tuple(changed)}
    assert make_references.main(["--check"], found=as_makers(outputs)) == 1
    report = capsys.readouterr().out
    assert "nb05.json /gaussian_kl/diagonal/expected[1]: committed" in report
    assert f"{old:.9f}"[:10] in report and report.count("committed") == 1


def test_the_check_passes_on_another_blas_cpu_and_thread_count():
    """The script itself, with oneDNN limited to AVX2 (or off), one thread and another
    OpenBLAS kernel: the sums run in another order, the committed files still agree."""
    env = dict(os.environ, ONEDNN_MAX_CPU_ISA="AVX2", TF_ENABLE_ONEDNN_OPTS="0",
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", OPENBLAS_CORETYPE="Haswell",
               TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")  # fmt: skip
    command = [sys.executable, "-m", "autograder.make_references", "--check"]
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr


def test_canonical_values_have_no_negative_zero_and_twelve_digits():
    data = make_references.canonical({"a": -0.0, "b": [np.float64(1 / 3), -1e-300 * 1e-300],
                                      "c": np.int64(7), "d": (None, "x")})  # fmt: skip
    assert data == {"a": 0.0, "b": [0.333333333333, 0.0], "c": 7, "d": [None, "x"]}
    assert "-0.0" not in make_references.dump(data)
    assert all(type(v) is float for v in (data["a"], *data["b"]))


def test_a_value_that_is_not_finite_is_refused_by_name():
    with pytest.raises(ValueError, match=r"/kl/total is nan"):
        make_references.canonical({"kl": {"total": float("nan")}})


def test_differences_compare_numbers_within_tolerance_and_structure_exactly():
    differences = make_references.differences
    assert differences({"x": 0.0, "y": [1.0, 2.0]}, {"x": -0.0, "y": [1.0, 2.0 + 1e-14]}) == []
    assert differences({"x": 1.0}, {"x": 1.000001}) == ["/x: committed 1.0, now 1.000001"]
    assert differences({"x": [1.0]}, {"x": [1.0, 2.0]}) == ["/x: committed 1 values, now 2"]
    assert differences({"x": None}, {"x": 0.0}) == ["/x: committed None, now 0.0"]
    assert differences({"x": 1}, {"y": 1}) == [
        "/x: only in the committed file", "/y: new, not in the committed file"
    ]  # fmt: skip
    assert differences({"seed": 5}, {"seed": 6}) == ["/seed: committed 5, now 6"]
