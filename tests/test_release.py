"""release/ is exactly what `make release` makes from source/, and leaks nothing."""

from __future__ import annotations

import json
import re

import nbformat
import pytest

from autograder import grading
from tests.conftest import ROOT

RELEASED = sorted((ROOT / "release").glob("*/*.ipynb"))
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
           "BEGIN MARK SCHEME", "END MARK SCHEME")  # fmt: skip
REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS|MARK SCHEME)\n(.*?)### END \1", re.DOTALL)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    course = grading.copy_course(tmp_path_factory.mktemp("fresh") / "course")
    grading.release(course)
    return course


def test_every_assignment_is_released():
    assert [p.parent.name for p in RELEASED] == grading.assignments(ROOT)


@pytest.mark.parametrize("name", grading.assignments(ROOT))
def test_release_is_fresh(regenerated, name):
    """Compared as notebooks (every cell, field and value), not as text: another nbformat
    may indent or order the same JSON differently."""
    committed = json.loads(grading.notebook_path(ROOT, "release", name).read_text())
    fresh = json.loads(grading.notebook_path(regenerated, "release", name).read_text())
    assert committed == fresh, f"release/{name} is stale: run `make release` and commit it"


def _region_lines(source_text: str) -> tuple[set[str], set[str]]:
    """(inside, outside): the stripped lines of a source notebook inside its solution or
    hidden-test regions, and those outside them (shown to students)."""
    nb = nbformat.reads(source_text, as_version=4)
    inside, outside = set(), set()
    for cell in nb.cells:
        text = cell.source + "\n"
        regions = [m.group(2) for m in REGION.finditer(text)]
        for region in regions:
            inside |= {line.strip() for line in region.splitlines()}
        outside |= {line.strip() for line in REGION.sub("", text).splitlines()}
    return inside, outside


def _secret_lines(source_text: str) -> set[str]:
    """Lines only found inside solution or hidden-test regions of a source notebook."""
    inside, outside = _region_lines(source_text)
    return {line for line in inside - outside if len(line) > 8 and not line.startswith("#")}


@pytest.mark.parametrize("path", RELEASED, ids=lambda p: p.parent.name)
def test_release_holds_no_solution_or_hidden_test(path):
    text = path.read_text()
    for marker in MARKERS:
        assert marker not in text
    assert "autograder" not in text
    source = grading.notebook_path(ROOT, "source", path.parent.name).read_text()
    secrets = _secret_lines(source)
    assert secrets, "the source notebook should have solution lines to protect"
    released_lines = {line.strip() for cell in nbformat.reads(text, as_version=4).cells
                      for line in cell.source.splitlines()}  # fmt: skip
    assert secrets.isdisjoint(released_lines), secrets & released_lines


def _private_numbers():
    for path in (ROOT / "autograder" / "references").glob("*.json"):
        stack = [json.loads(path.read_text())]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, float):
                yield item


NUMBER = re.compile(r"(?<![\w.])-?\d+\.\d+(?:e-?\d+)?(?![\w.])")


def _significant_digits(text: str) -> int:
    mantissa = text.lstrip("-").split("e")[0].replace(".", "").lstrip("0").rstrip("0")
    return len(mantissa)


def test_no_private_reference_value_reaches_students():
    """No hidden value is written anywhere a student can read, in full or to 4 decimals.

    A round parameter of a hidden fixture (a drop probability of 0.37, say) is no secret and
    shows up in unrelated numbers by chance: only forms with 4 or more significant digits,
    which a coincidence would not produce, are looked for, as whole numbers, not substrings.
    """
    numbers = list(_private_numbers())
    assert numbers, "autograder/references should hold private values"
    public = [p.read_text() for p in RELEASED]
    public += [p.read_text() for p in (ROOT / "course").rglob("*") if p.suffix in {".py", ".json"}]
    public_numbers = {token for blob in public for token in NUMBER.findall(blob)}
    forms = {text for number in numbers for text in (f"{number}", f"{number:.4f}")
             if _significant_digits(text) >= 4}  # fmt: skip
    assert len(forms) >= len(numbers) // 2, "most private values should be specific numbers"
    assert not forms & public_numbers, f"private values are public: {forms & public_numbers}"


def test_the_leak_scan_finds_a_private_value_in_public_text():
    public_numbers = set(NUMBER.findall('"expected": 325.712176, "x": -68.0517 and 1e-3'))
    assert {"325.712176", "-68.0517"} <= public_numbers and "1e-3" not in public_numbers
    assert _significant_digits("0.0080") == 1 and _significant_digits("-68.0517") == 6


@pytest.mark.parametrize("path", RELEASED, ids=lambda p: p.parent.name)
def test_released_test_cells_are_locked_and_keep_their_points(path):
    source = nbformat.read(grading.notebook_path(ROOT, "source", path.parent.name), as_version=4)
    released = nbformat.read(path, as_version=4)

    def graded(nb):
        return {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]
                for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")}  # fmt: skip

    assert {k: v["points"] for k, v in graded(released).items()} == {
        k: v["points"] for k, v in graded(source).items()
    }
    # Test cells are locked; a written answer graded by hand is the student's to write in.
    assert all(meta["locked"] for meta in graded(released).values() if not meta.get("solution"))
    assert all(not meta["locked"] for meta in graded(released).values() if meta.get("solution"))


@pytest.mark.parametrize("path", RELEASED, ids=lambda p: p.parent.name)
def test_release_opens_with_the_header_and_has_no_outputs(path):
    released = nbformat.read(path, as_version=4)
    header = nbformat.read(ROOT / "source" / "header.ipynb", as_version=4)
    assert [c.source for c in released.cells[: len(header.cells)]] == [
        c.source for c in header.cells
    ]
    assert not any(c.get("outputs") for c in released.cells if c.cell_type == "code")


def test_colab_source_is_pinned_by_release(tmp_path):
    course = grading.copy_course(tmp_path / "course")
    grading.set_colab_source(course, "https://example.org/course.git", "v2027.1")
    header = (course / "source" / "header.ipynb").read_text()
    assert 'COURSE_REPO = \\"https://example.org/course.git\\"' in header
    assert 'COURSE_REF = \\"v2027.1\\"' in header
