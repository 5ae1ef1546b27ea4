"""The student copy (`make student-repo`): what it holds, what it leaves out, and a released
notebook run top to bottom in a Colab-like environment that installs the course from it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder import student_repo
from tests.conftest import ROOT, shared_data_dir
from tests.nbgrader_cells import cells_by_role
from tests.test_release import MARKERS, _private_numbers, _region_lines, _secret_lines

TAG = "v-test"


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    return student_repo.write(tmp_path_factory.mktemp("students") / "course-students", tag=TAG)


def texts(folder: Path) -> dict[Path, str]:
    found = {}
    for path in folder.rglob("*"):
        if path.is_file() and ".git" not in path.parts and path.suffix != ".png":
            found[path] = path.read_text()
    return found


def test_the_student_copy_holds_the_course_package_the_notebooks_and_a_readme(copy):
    top = sorted(p.name for p in copy.iterdir())
    assert top == [".git", ".gitignore", "Makefile", "README.md", "course", "docs",
                   "pyproject.toml", "release"]  # fmt: skip
    assert sorted(p.name for p in (copy / "release").iterdir()) == sorted(
        p.name for p in (ROOT / "release").iterdir()
    )
    readme = (copy / "README.md").read_text()
    assert "## For students" in readme and "## For instructors" not in readme
    assert "docs/images/failed-check.png" in readme and (copy / student_repo.IMAGE).is_file()
    assert "make lab" in readme and "Check failed" in readme


def test_the_student_copy_has_no_solution_hidden_test_rubric_or_reference_value(copy):
    everything = texts(copy)
    assert not (copy / "source").exists() and not (copy / "autograder").exists()
    blob = "\n".join(everything.values())
    for marker in MARKERS:
        assert marker not in blob
    assert "autograder" not in blob, "students' files name the instructor's package"
    rubric = (ROOT / "autograder" / "rubrics" / "04_elbo_derivation.md").read_text()
    lines = {line.strip() for line in rubric.splitlines() if len(line.strip()) > 30}
    assert lines and not [line for line in lines if line in blob], "the rubric reached students"
    secrets, shown = set(), set()
    for source in (ROOT / "source").glob("*/*.ipynb"):
        secrets |= _secret_lines(source.read_text())
        shown |= _region_lines(source.read_text())[1]
    # A line one notebook gives openly (`with tf.GradientTape() as tape:` in 06) is no secret
    # of another's solution.
    secrets -= shown
    held = {line.strip() for text in everything.values() for line in text.splitlines()}
    assert secrets and not secrets & held, secrets & held
    private = {f"{number}" for number in _private_numbers() if len(f"{number}") > 6}
    assert private and not [n for n in private if n in blob], "a private value reached students"


def test_the_student_copy_installs_the_course_package_only(copy, tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(tmp_path), str(copy)],
                   check=True, capture_output=True)  # fmt: skip
    wheel = next(tmp_path.glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    packages = {name.split("/")[0] for name in names if not name.startswith("autoencoders")}
    assert packages == {"course"}, packages
    assert "course/expected/nb06.json" in names and "course/lab.py" in names


@pytest.mark.slow
def test_a_released_notebook_runs_in_a_colab_like_environment_from_the_student_copy(copy, tmp_path):
    """A fresh environment with only what Colab ships for this course (NumPy, SciPy,
    Matplotlib, TensorFlow, Keras and a kernel) and a `google.colab` module. The released
    notebook's first cell installs the course package from the student copy (a git URL at
    a tag, as `make release COURSE_REPO=... COURSE_REF=...` pins it); the data comes from
    a folder, or an announced stand-in."""
    import importlib.metadata as metadata

    from nbclient import NotebookClient

    venv = tmp_path / "colab"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    colab_ships = ("numpy", "scipy", "matplotlib", "tensorflow-cpu", "keras", "ipykernel")
    shipped = [f"{name}=={metadata.version(name)}" for name in colab_ships]
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *shipped], check=True,
                   capture_output=True, timeout=1200)  # fmt: skip
    where = "import site; print(site.getsitepackages()[0])"
    found = subprocess.run([str(python), "-c", where], check=True, capture_output=True, text=True)
    site = Path(found.stdout.strip())
    (site / "google" / "colab").mkdir(parents=True)
    (site / "google" / "colab" / "__init__.py").write_text('"""Stands in for Colab."""\n')
    # Colab's runtime has imported google.colab before the first cell runs.
    (site / "zz_colab_runtime.pth").write_text("import google.colab\n")
    specs = tmp_path / "jupyter" / "kernels" / "colab"
    specs.mkdir(parents=True)
    (specs / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab-like", "language": "python",
    }))  # fmt: skip

    assignment = "07_frey_face_vae"
    notebook = nbformat.read(copy / "release" / assignment / f"{assignment}.ipynb", as_version=4)
    solutions, tests, _ = cells_by_role(assignment)
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            cell.source = solutions[meta["grade_id"]]
    header = notebook.cells[1]
    assert 'COURSE_REPO = "' in header.source and "%pip install" in header.source
    header.source = header.source.replace(
        header.source.split("COURSE_REPO = ")[1].split("\n")[0], f'"file://{copy}"'
    ).replace(header.source.split("COURSE_REF = ")[1].split("\n")[0], f'"{TAG}"')
    notebook.cells.append(
        nbformat.v4.new_code_cell("import course\nprint('FROM', course.__file__)")
    )
    (tmp_path / "home").mkdir()
    env = dict(os.environ, JUPYTER_PATH=str(tmp_path / "jupyter"), COURSE_FAST="1",
               HOME=str(tmp_path / "home"))  # fmt: skip
    env.pop("PYTHONPATH", None)
    if shared_data_dir() is not None:
        env["COURSE_DATA_DIR"] = str(shared_data_dir())
    old = dict(os.environ)
    os.environ.update(env)
    try:
        NotebookClient(notebook, timeout=600, kernel_name="colab", allow_errors=True,
                       resources={"metadata": {"path": str(tmp_path)}}).execute()  # fmt: skip
    finally:
        os.environ.clear()
        os.environ.update(old)
    errors = [f"{c.get('id')}: {o.get('ename')}: {o.get('evalue')}" for c in notebook.cells
              if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]  # fmt: skip
    assert errors == [], "\n".join(o.get("text", "") for o in notebook.cells[1].outputs)
    printed = "\n".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code"
                        for o in c.outputs if o.output_type == "stream")  # fmt: skip
    assert "running in Google Colab" in printed
    assert f"FROM {site}" in printed, "the course package did not come from the student copy"
    assert "[course.data] Frey Face:" in printed
    assert printed.count("Passed:") >= len(tests)
    images = sum("image/png" in o.get("data", {}) for c in notebook.cells
                 if c.cell_type == "code" for o in c.outputs)  # fmt: skip
    assert images >= 3
