"""Shared test fixtures: where the repository and the offline data are."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path | None:
    """The folder of real offline data: COURSE_DATA_DIR, else ../shared/data beside the repo."""
    candidates = [os.environ.get("COURSE_DATA_DIR"), ROOT.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate).resolve()
    return None


# `make test` runs the tests on two processes (pytest-xdist, --dist loadgroup). A file's
# tests stay together on one, so that its module fixtures (a graded class, a JupyterLab) are
# made once; every test of a notebook's execution goes to one process, which executes each
# notebook once; the many small checks of the graded cells are spread over both.
SPREAD = {"test_graded_cells.py", "test_tamper.py", "test_references.py", "test_config.py"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "executed" in getattr(item, "fixturenames", ()):
            group = "executed-notebooks"
        elif item.path.name in SPREAD:
            continue
        else:
            group = item.path.name
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No data folder, an empty cache, downloads that fail at once, no system copies and no
    5,000-digit MNIST subset."""
    from course import data

    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    dead = "http://127.0.0.1:9/unreachable"
    for key, remotes in data.REMOTE_FILES.items():
        monkeypatch.setitem(
            data.REMOTE_FILES,
            key,
            tuple(type(r)(r.name, (f"{dead}/{r.name}",), r.sha256, r.gunzip) for r in remotes),
        )
    monkeypatch.setitem(data.SYSTEM_FOLDERS, "fashion_mnist", tmp_path / "no-system-folder")
    monkeypatch.setattr(data, "MNIST_5K_PACKAGE", "no_package_with_mnist_digits")
    return tmp_path


class ExecutedNotebooks:
    """Source notebooks executed in fast mode, in a fresh kernel, as CI and grading do.

    Each is executed the first time a test asks for it, so a test file about one notebook
    runs only that notebook. `executed[name]` is (the subprocess run, the executed notebook).
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.results = {}

    def __getitem__(self, name: str):
        if name not in self.results:
            import nbformat

            source = ROOT / "source" / name / f"{name}.ipynb"
            target = self.folder / source.name
            env = dict(os.environ, COURSE_FAST="1", COURSE_CACHE_DIR=str(self.folder / "cache"))
            env.pop("MPLBACKEND", None)  # students get Jupyter's inline backend: test with it
            data = shared_data_dir()
            if data is not None:
                env["COURSE_DATA_DIR"] = str(data)
            run = subprocess.run(
                [sys.executable, "-m", "autograder.notebooks", str(source), str(target)],
                env=env, capture_output=True, text=True, timeout=900,
            )  # fmt: skip
            if not target.is_file():
                raise AssertionError(f"{name} did not execute:\n{run.stdout}{run.stderr}")
            self.results[name] = (run, nbformat.read(target, as_version=4))
        return self.results[name]

    def text(self, name: str) -> str:
        """Everything the executed notebook printed (stdout streams and plain-text results)."""
        _, nb = self[name]
        return "\n".join(
            output.get("text", "") + output.get("data", {}).get("text/plain", "")
            for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs
        )  # fmt: skip


@pytest.fixture(scope="session")
def executed(tmp_path_factory):
    return ExecutedNotebooks(tmp_path_factory.mktemp("executed"))
