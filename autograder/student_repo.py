"""Write the student copy of the course: what an instructor publishes for students.

    python -m autograder.student_repo DEST [--tag v2027.1]   # or: make student-repo DEST=...

The copy holds the `course` package, `release/` (the student notebooks), a README for
students (the "For students" part of this README, with the notebook table), the picture of a
failed check it shows, and an install that brings the `course` package only. It holds no
`source/`, no `autograder/`, no rubric, no reference value and no hidden test (a test checks
each). With `--tag`, DEST becomes a git repository with one commit and that tag, ready to
push; Colab installs the course package from it (`make release COURSE_REPO=... COURSE_REF=TAG`).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGE = Path("docs") / "images" / "failed-check.png"

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "autoencoders-course"
version = "{version}"
description = "Autoencoders and variational autoencoders: the student notebooks and their helpers"
readme = "README.md"
requires-python = ">=3.10"
dependencies = [
{dependencies}
]

[project.optional-dependencies]
# 5,000 real MNIST digits, for a machine that cannot download MNIST.
digits = [{digits}]

[tool.setuptools.packages.find]
include = ["course*"]

[tool.setuptools.package-data]
course = ["expected/*.json"]
"""

# What the notebooks need; the grading tools (nbgrader, Dask, ...) stay with the instructor.
STUDENT_DEPENDENCIES = ("tensorflow-cpu", "keras", "numpy", "scipy", "matplotlib",
                        "jupyterlab", "ipykernel")  # fmt: skip

MAKEFILE = """\
# make lab   JupyterLab on the course's notebooks (creates .venv first if it is missing)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
BIN := $(CURDIR)/.venv/bin

lab: .venv/.installed
\t$(BIN)/python -m course.lab

.venv/.installed: pyproject.toml
\t$(PYTHON) -m venv .venv
\t$(BIN)/python -m pip install --quiet --upgrade pip
\t$(BIN)/python -m pip install --quiet -e .
\ttouch .venv/.installed
"""

GITIGNORE = ".venv/\n__pycache__/\n*.egg-info/\n.ipynb_checkpoints/\n"


def _section(readme: str, title: str) -> str:
    """The text of one `## title` section of a README, without its heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", readme, re.M | re.S)
    if match is None:
        raise ValueError(f"README.md has no section '## {title}'")
    return match.group(1).strip()


def student_readme(readme: str) -> str:
    """The students' README, made from this README's parts for students."""
    intro = readme.split("\n## ", 1)[0].strip()
    # The table's note to instructors (where the Colab links point) is not for students.
    table = _section(readme, "The notebooks").split("\n\nThe Colab links point", 1)[0]
    return (
        f"{intro}\n\nThis is the students' copy of the course: the notebooks and the helper "
        "package they import.\n\n"
        f"## The notebooks\n\n{table}\n\n"
        f"## For students\n\n{_section(readme, 'For students')}\n"
    )


def _project() -> dict:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _dependencies() -> str:
    wanted = []
    for requirement in _project()["dependencies"]:
        name = re.split(r"[<>=!~ \[]", requirement, maxsplit=1)[0]
        if name in STUDENT_DEPENDENCIES:
            wanted.append(f'    "{requirement}",')
    return "\n".join(wanted)


def _digits() -> str:
    return ", ".join(f'"{r}"' for r in _project()["optional-dependencies"]["digits"])


def write(destination: Path, tag: str | None = None) -> Path:
    """Write the student copy into `destination` (which must not exist, or be empty)."""
    if destination.exists() and any(destination.iterdir()):
        raise SystemExit(f"{destination} is not empty: give a new folder for the student copy")
    destination.mkdir(parents=True, exist_ok=True)
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
    shutil.copytree(ROOT / "course", destination / "course", ignore=skip)
    shutil.copytree(ROOT / "release", destination / "release", ignore=skip)
    (destination / IMAGE).parent.mkdir(parents=True)
    shutil.copy2(ROOT / IMAGE, destination / IMAGE)
    version = _project()["version"]
    (destination / "pyproject.toml").write_text(
        PYPROJECT.format(version=version, dependencies=_dependencies(), digits=_digits())
    )
    (destination / "README.md").write_text(student_readme((ROOT / "README.md").read_text()))
    (destination / "Makefile").write_text(MAKEFILE)
    (destination / ".gitignore").write_text(GITIGNORE)
    if tag:

        def git(*args):
            subprocess.run(["git", *args], cwd=destination, check=True, capture_output=True)

        git("init", "--quiet")
        git("add", "--all")
        git("-c", "user.name=course", "-c", "user.email=course@localhost", "commit",
            "--quiet", "-m", f"Student copy of the course ({tag})")  # fmt: skip
        git("tag", tag)
    return destination


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("destination", type=Path)
    parser.add_argument("--tag", help="make it a git repository with one commit and this tag")
    args = parser.parse_args(argv)
    path = write(args.destination, args.tag)
    print(f"wrote the student copy to {path}" + (f" (git tag {args.tag})" if args.tag else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
