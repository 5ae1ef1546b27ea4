"""Source notebooks: committed clean, graded cells intact, and each runs top to bottom."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder import notebooks
from autograder.grading import assignments
from tests.conftest import ROOT

SOURCES = [ROOT / "source" / name / f"{name}.ipynb" for name in assignments(ROOT)]
ALL_SOURCES = [ROOT / "source" / "header.ipynb", *SOURCES]


@pytest.mark.parametrize("path", ALL_SOURCES, ids=lambda p: p.name)
def test_source_notebooks_are_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [c.get("id") for c in nb.cells if c.cell_type == "code"
             and (c.outputs or c.execution_count)]  # fmt: skip
    assert not dirty, f"{path.name}: clear the outputs of cells {dirty}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_graded_cells_keep_their_nbgrader_metadata(path):
    nb = nbformat.read(path, as_version=4)
    ids = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        # Every cell is the course's: the text and code a student reads are locked, so that
        # the student version cannot change them unnoticed; only solution cells are open.
        assert meta is not None, f"cell {cell.get('id')} has no nbgrader metadata"
        assert meta.get("locked") or meta.get("solution"), f"cell {cell.get('id')} is not locked"
        ids.append(meta["grade_id"])
        if meta.get("grade") and cell.cell_type == "code":
            assert meta["locked"] and meta["points"] > 0, meta
            assert cell.source.startswith('"""'), "a test cell opens with a one-line docstring"
        if meta.get("solution"):
            assert "### BEGIN SOLUTION" in cell.source and "### END SOLUTION" in cell.source
    assert len(ids) == len(set(ids)), "grade ids must be unique"


@pytest.mark.slow
@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom_in_fast_mode(executed, path):
    run, nb = executed[path.stem]
    assert notebooks.errors(nb) == [], run.stdout + run.stderr
    assert run.returncode == 0


@pytest.mark.slow
@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_no_cell_writes_to_stderr(executed, path):
    """nbgrader gives zero to a test cell with stderr output; no cell at all writes any."""
    _, nb = executed[path.stem]
    assert notebooks.stderr_text(nb) == {}


@pytest.mark.slow
@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_no_figure_is_shown_twice_or_printed_as_an_object(executed, path):
    """A cell ending in a call that returns a Figure or Axes shows it twice, or prints
    `<Figure size ...>`: students should see each plot once and no object reprs."""
    _, nb = executed[path.stem]
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        results = [o for o in cell.outputs if o.output_type == "execute_result"]
        for result in results:
            data = result.get("data", {})
            assert "image/png" not in data, f"cell {cell.get('id')} shows a returned figure"
            text = data.get("text/plain", "")
            assert not text.startswith(("<Figure", "<Axes", "<matplotlib", "[<matplotlib")), (
                f"cell {cell.get('id')} prints {text[:60]!r}: end the line with `;` or `plt.show()`"
            )


@pytest.mark.slow
@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.stem)
def test_plots_are_drawn_inline(executed, path):
    _, nb = executed[path.stem]
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "display_data" and "image/png" in o.get("data", {})]  # fmt: skip
    assert len(images) >= 5


def test_header_pins_the_colab_install_and_seeds():
    nb = nbformat.read(ROOT / "source" / "header.ipynb", as_version=4)
    header = "\n".join(cell.source for cell in nb.cells)
    assert 'COURSE_REPO = "' in header and 'COURSE_REF = "' in header
    assert "--no-deps" in header  # Colab keeps its own TensorFlow
    assert "course.setup()" in header


def test_stderr_in_a_test_cell_is_what_nbgrader_punishes():
    """The premise of the stderr tests: nbgrader's own grading rule gives such a cell zero."""
    from nbgrader.utils import determine_grade

    cell = nbformat.v4.new_code_cell("pass")
    cell.metadata["nbgrader"] = {"grade": True, "points": 2, "grade_id": "x", "solution": False}
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="fine\n")]
    assert determine_grade(cell, None)[0] == 2
    cell.outputs.append(nbformat.v4.new_output("stream", name="stderr", text="a warning\n"))
    assert determine_grade(cell, None)[0] == 0


def test_executing_a_notebook_path_that_does_not_exist_fails_clearly(tmp_path):
    with pytest.raises(FileNotFoundError):
        notebooks.execute(Path(tmp_path / "missing.ipynb"), tmp_path / "out.ipynb")
