"""Locked cells and lost metadata in submissions (issue 12): `autograder.repair`.

Unit tests run `repair` on in-memory notebooks made from the committed student versions;
the sanitize tests run nbgrader's own sanitize step (`Steps.prepare`, no kernel) on a
released course, to show what nbgrader already restores by itself; one test grades a small
class of 08 for real.
"""

from __future__ import annotations

import copy
import hashlib
import json

import nbformat
import pytest

from autograder import classgrade, grading
from autograder.classgrade import Options
from autograder.repair import repair, visible_source
from autograder.steps import Steps
from tests.conftest import ROOT
from tests.nbgrader_cells import source_notebook

ASSIGNMENT = "08_conditional_vae"
SOURCE = source_notebook(ASSIGNMENT)
FULL = 20


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def released(assignment: str = ASSIGNMENT) -> nbformat.NotebookNode:
    return nbformat.read(grading.notebook_path(ROOT, "release", assignment), as_version=4)


def solved(assignment: str = ASSIGNMENT) -> nbformat.NotebookNode:
    """The student version with every solution cell filled in, as `make_submission` does."""
    notebook = released(assignment)
    solutions = {grade_id(c): grading.solution_code(c.source)
                 for c in source_notebook(assignment).cells
                 if c.metadata.get("nbgrader", {}).get("solution")}  # fmt: skip
    for cell in notebook.cells:
        if grade_id(cell) in solutions:
            cell.source = solutions[grade_id(cell)]
    return notebook


def position(notebook, wanted: str) -> int:
    return next(i for i, c in enumerate(notebook.cells) if grade_id(c) == wanted)


def ids(notebook) -> list:
    return [grade_id(c) for c in notebook.cells]


def source_cell(wanted: str):
    return next(c for c in SOURCE.cells if grade_id(c) == wanted)


def scratch(text: str = "print('trying things out')"):
    return nbformat.v4.new_code_cell(text)


# ----------------------------------------------------------------------------- untouched


@pytest.mark.parametrize("assignment", grading.assignments(ROOT))
def test_an_untouched_notebook_is_returned_equal_with_no_report(assignment):
    source = source_notebook(assignment)
    for notebook in (released(assignment), solved(assignment)):
        repaired, reports = repair(notebook, source)
        assert reports == []
        assert repaired == notebook and repaired is not notebook


def test_the_student_s_own_cells_anywhere_are_left_where_they_are_and_not_reported():
    notebook = solved()
    for wanted in ("vlb_kl", "sampling", "vae-train", "imports"):
        notebook.cells.insert(position(notebook, wanted) + 1, scratch())
    notebook.cells.insert(0, nbformat.v4.new_markdown_cell("My notes"))
    repaired, reports = repair(notebook, SOURCE)
    assert reports == [] and repaired == notebook


def test_repair_never_changes_the_notebook_it_is_given():
    notebook = solved()
    notebook.cells.insert(3, copy.deepcopy(notebook.cells[position(notebook, "vlb_kl")]))
    del notebook.cells[position(notebook, "sampling_shape")]
    before = copy.deepcopy(notebook)
    repaired, reports = repair(notebook, SOURCE)
    assert notebook == before and reports and repaired != notebook


# ----------------------------------------------------------------------------- each case


def test_a_duplicated_test_cell_keeps_the_first_and_drops_the_copy():
    notebook = solved()
    at = position(notebook, "vlb_full")
    copied = copy.deepcopy(notebook.cells[at])
    copied["id"] = "pasted-copy"
    notebook.cells.insert(position(notebook, "sampling"), copied)
    repaired, reports = repair(notebook, SOURCE)
    assert reports == ["test cell vlb_full was duplicated; the copy was dropped"]
    assert ids(repaired) == ids(solved())
    assert repaired.cells[at]["id"] == notebook.cells[at]["id"]  # the first one stays


def test_a_duplicated_solution_cell_keeps_the_student_s_code_as_an_ordinary_cell():
    notebook = solved()
    copied = copy.deepcopy(notebook.cells[position(notebook, "sampling")])
    copied.source = "def sampling(args):\n    return args[0]  # my second try\n"
    notebook.cells.insert(position(notebook, "sampling") + 1, copied)
    repaired, reports = repair(notebook, SOURCE)
    assert reports == ["solution cell sampling was duplicated; the copy was kept as an ordinary "
                       "cell that earns nothing"]  # fmt: skip
    kept = repaired.cells[position(repaired, "sampling") + 1]
    assert "my second try" in kept.source and "nbgrader" not in kept.metadata


def test_a_deleted_test_cell_is_restored_after_the_cell_it_follows_with_its_hidden_tests():
    notebook = solved()
    del notebook.cells[position(notebook, "sampling_shape")]
    repaired, reports = repair(notebook, SOURCE)
    assert reports == ["test cell sampling_shape was missing; restored from the assignment"]
    assert ids(repaired) == ids(solved())
    restored = repaired.cells[position(repaired, "sampling_shape")]
    assert restored.source == source_cell("sampling_shape").source  # what nbgrader restores
    assert restored.metadata["nbgrader"]["points"] == 1 and restored.cell_type == "code"
    assert len({c["id"] for c in repaired.cells}) == len(repaired.cells)


def test_deleted_cells_at_the_start_come_back_after_the_header_in_the_assignment_s_order():
    notebook = solved()
    for wanted in ("intro", "imports", "data-intro"):
        del notebook.cells[position(notebook, wanted)]
    repaired, reports = repair(notebook, SOURCE)
    assert ids(repaired) == ids(solved())
    assert [r.split()[2] for r in reports] == ["intro", "imports", "data-intro"]


def test_all_metadata_lost_is_recognised_by_the_functions_and_the_texts():
    """Cells copied into a new notebook: no cell has nbgrader metadata."""
    notebook = solved()
    for cell in notebook.cells:
        cell.metadata.pop("nbgrader", None)
    repaired, reports = repair(notebook, SOURCE)
    assert len(reports) == 1
    assert reports[0].startswith("the notebook had lost its nbgrader metadata; 3 solution cell(s) "
                                 "were recognised by the functions they define (build_cvae, "
                                 "sampling, vlb_binomial)")  # fmt: skip
    assert ids(repaired) == ids(solved())
    for original, cell in zip(solved().cells, repaired.cells):
        assert cell.source == original.source  # the student's code is kept as it is
        if grade_id(cell):
            assert cell.metadata["nbgrader"] == source_cell(grade_id(cell)).metadata["nbgrader"]


def test_a_solution_cell_without_metadata_is_found_by_the_function_it_defines():
    notebook = solved()
    at = position(notebook, "sampling")
    del notebook.cells[at].metadata["nbgrader"]
    notebook.cells.insert(at, scratch("def helper():\n    return 1\n"))  # defines no solution
    repaired, reports = repair(notebook, SOURCE)
    assert reports == ["solution cell(s) sampling had lost their nbgrader metadata; recognised "
                       "by the functions they define (sampling)"]  # fmt: skip
    assert grade_id(repaired.cells[at + 1]) == "sampling"
    assert "nbgrader" not in repaired.cells[at].metadata


def test_a_cell_without_metadata_showing_a_test_s_visible_part_becomes_that_test():
    notebook = solved()
    at = position(notebook, "vlb_kl")
    assert notebook.cells[at].source == visible_source(source_cell("vlb_kl"))
    del notebook.cells[at].metadata["nbgrader"]
    repaired, reports = repair(notebook, SOURCE)
    assert reports == ["cell(s) vlb_kl had lost their nbgrader metadata; recognised by their text"]
    assert ids(repaired) == ids(solved())


def test_a_name_two_solution_cells_define_identifies_neither():
    source = copy.deepcopy(SOURCE)
    for wanted in ("vlb_binomial", "sampling"):
        source.cells[position(source, wanted)].source += "\n\ndef shared_helper():\n    pass\n"
    notebook = solved()
    del notebook.cells[position(notebook, "sampling")]
    helper = scratch("def shared_helper():\n    pass\n")
    notebook.cells.insert(position(notebook, "sampling_shape") + 1, helper)  # not in its place
    repaired, reports = repair(notebook, source)
    assert "sampling" not in ids(repaired)
    assert reports == ["solution cell sampling was missing and no cell was recognised as it (by "
                       "what it defines: sampling, shared_helper; or by its place); its tests "
                       "run without it"]  # fmt: skip


def test_a_solution_cell_without_metadata_is_found_by_its_place():
    notebook = solved()
    at = position(notebook, "sampling")
    notebook.cells[at] = scratch("sampling = lambda args: args[0]  # defines no function")
    repaired, reports = repair(notebook, SOURCE)
    assert reports == ["solution cell(s) sampling had lost their nbgrader metadata; recognised "
                       "by their place between the locked cells"]  # fmt: skip
    assert grade_id(repaired.cells[at]) == "sampling" and ids(repaired) == ids(solved())


def test_a_deleted_written_answer_comes_back_as_its_stub_and_a_moved_one_is_found_by_place():
    source = source_notebook("04_elbo_derivation")
    notebook = solved("04_elbo_derivation")
    at = position(notebook, "written_gap")
    del notebook.cells[at]
    repaired, reports = repair(notebook, source)
    assert reports == ["answer cell written_gap was missing; its unanswered stub was restored, "
                       "so that it is graded"]  # fmt: skip
    assert repaired.cells[at].source == "YOUR ANSWER HERE" and ids(repaired) == ids(
        solved("04_elbo_derivation")
    )
    notebook = solved("04_elbo_derivation")
    del notebook.cells[at].metadata["nbgrader"]
    repaired, reports = repair(notebook, source)
    assert reports == ["solution cell(s) written_gap had lost their nbgrader metadata; "
                       "recognised by their place between the locked cells"]  # fmt: skip
    assert repaired.cells[at].source == solved("04_elbo_derivation").cells[at].source


@pytest.mark.parametrize("cell_type", ["markdown", "raw"])
def test_a_test_cell_converted_to_another_type_is_restored(cell_type):
    notebook = solved()
    at = position(notebook, "vlb_kl")
    old = notebook.cells[at]
    make = {"markdown": nbformat.v4.new_markdown_cell, "raw": nbformat.v4.new_raw_cell}[cell_type]
    notebook.cells[at] = make(old.source, metadata=old.metadata)
    repaired, reports = repair(notebook, SOURCE)
    assert reports == [f"test cell vlb_kl had been converted to {cell_type}; restored"]
    cell = repaired.cells[at]
    assert cell.cell_type == "code" and cell.outputs == [] and grade_id(cell) == "vlb_kl"
    nbformat.validate(repaired)


def test_reordered_test_cells_go_back_after_the_cells_they_follow():
    notebook = solved()
    full = notebook.cells.pop(position(notebook, "vlb_full"))
    notebook.cells.insert(position(notebook, "vlb_binomial"), full)  # above its solution
    shape = notebook.cells.pop(position(notebook, "sampling_shape"))
    notebook.cells.insert(position(notebook, "sampling_gradients") + 1, shape)
    mine = scratch()
    notebook.cells.insert(position(notebook, "sampling") + 1, mine)
    repaired, reports = repair(notebook, SOURCE)
    assert sorted(reports) == ["test cell sampling_shape was out of place; moved back to where "
                               "the assignment has it",
                               "test cell vlb_full was out of place; moved back to where the "
                               "assignment has it"]  # fmt: skip
    expected = ids(solved())
    expected.insert(expected.index("sampling_shape") + 1, None)  # a moved cell goes right after
    assert ids(repaired) == expected  # the cell it follows in the assignment
    assert repaired.cells[position(repaired, "sampling_shape") + 1] == mine


def test_changed_points_and_edits_of_a_locked_cell_are_reported_and_left_to_nbgrader():
    notebook = solved()
    kl = notebook.cells[position(notebook, "vlb_kl")]
    kl.metadata["nbgrader"]["points"] = 100
    kl.source = "pass  # nothing to check here"
    repaired, reports = repair(notebook, SOURCE)
    assert reports == ["test cell vlb_kl had its points changed to 100; nbgrader counts the "
                       "assignment's 2",
                       "test cell vlb_kl had been edited; nbgrader runs the assignment's "
                       "version"]  # fmt: skip
    assert repaired == notebook  # nbgrader's OverwriteCells restores both (tested below)


def test_flags_nbgrader_does_not_restore_are_restored():
    notebook = solved()
    meta = notebook.cells[position(notebook, "sampling_gradients")].metadata["nbgrader"]
    meta["grade"] = False
    meta["points"] = "lots"
    repaired, reports = repair(notebook, SOURCE)
    fixed = repaired.cells[position(repaired, "sampling_gradients")].metadata["nbgrader"]
    assert fixed["grade"] is True and fixed["points"] == 2
    flags = "test cell sampling_gradients had its nbgrader flags changed (grade); restored"
    assert reports[0] == flags
    assert "unreadable points ('lots')" in reports[1]


def made_up_graded_cell(grade_id: str, points: int):
    """A test cell the student made up, with nbgrader metadata of its own."""
    cell = scratch("assert True")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": grade_id, "locked": True,
                                 "points": points, "schema_version": 3, "solution": False,
                                 "task": False}  # fmt: skip
    return cell


def test_an_extra_graded_cell_is_ungraded():
    notebook = solved()
    notebook.cells.insert(position(notebook, "sampling") + 1, made_up_graded_cell("foo", 5))
    repaired, reports = repair(notebook, SOURCE)
    assert reports == ["an extra graded cell (grade_id foo, 5 points) is not part of the "
                       "assignment; it was ungraded"]  # fmt: skip
    kept = repaired.cells[position(repaired, "sampling") + 1]
    assert kept.source == "assert True" and "nbgrader" not in kept.metadata


@pytest.mark.parametrize(
    "notebook, said",
    [
        (nbformat.from_dict({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []}),
         "not nbformat 4"),
        (nbformat.v4.new_notebook(), "no cells"),
        (nbformat.from_dict({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                             "cells": [{"cell_type": "code", "metadata": None}]}),
         "malformed cells"),
        (nbformat.from_dict({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                             "cells": [{"cell_type": "code", "metadata": {"nbgrader": 7},
                                        "source": 3}]}),
         "unreadable nbgrader metadata"),
    ],
)  # fmt: skip
def test_a_strange_notebook_never_raises_and_says_why(notebook, said):
    before = copy.deepcopy(notebook)
    repaired, reports = repair(notebook, SOURCE)
    assert any(said in r for r in reports), reports
    assert notebook == before


def test_the_table_counts_repairs_and_shows_none_for_an_ungraded_submission():
    repairs = ["test cell vlb_kl was missing; restored from the assignment"]
    graded = classgrade.StudentResult("ann", "graded", {"vlb_kl": 2.0}, {"vlb_kl": 2.0},
                                      repairs=repairs)  # fmt: skip
    honest = classgrade.StudentResult("bob", "graded", {"vlb_kl": 2.0}, {"vlb_kl": 2.0})
    broken = classgrade.StudentResult("cut", "not a readable notebook")
    lines = grading.table([graded, honest, broken]).splitlines()
    assert lines[0].split() == ["student", "vlb_kl", "total", "repairs", "status", "flags"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["ann"][1:4] == ["2", "2", "1"] and rows["bob"][1:4] == ["2", "2", "0"]
    assert rows["cut"][1:4] == ["-", "-", "-"]


def damaged(notebook, rng) -> None:
    """One to five random student edits: delete, copy-paste, move, convert or unmark a cell,
    drop all metadata, add a made-up graded cell."""
    for step in range(rng.randint(1, 5)):
        cells, at = notebook.cells, rng.randrange(len(notebook.cells))
        edit = rng.choice(["delete", "paste", "move", "markdown", "raw", "unmark", "lost", "extra"])
        if edit == "delete" and len(cells) > 1:
            del cells[at]
        elif edit in ("paste", "move"):
            cell = copy.deepcopy(cells[at]) if edit == "paste" else cells.pop(at)
            cell["id"] = f"edit-{step}-{rng.randrange(10**9)}"
            cells.insert(rng.randrange(len(cells) + 1), cell)
        elif edit in ("markdown", "raw"):
            make = nbformat.v4.new_markdown_cell if edit == "markdown" else nbformat.v4.new_raw_cell
            cells[at] = make(cells[at].source, metadata=cells[at].metadata, id=cells[at]["id"])
        elif edit == "unmark":
            cells[at].metadata.pop("nbgrader", None)
        elif edit == "lost":
            for cell in cells:
                cell.metadata.pop("nbgrader", None)
        elif edit == "extra":
            meta = {"grade": True, "grade_id": f"made_up_{step}", "locked": True, "points": 9,
                    "schema_version": 3, "solution": False, "task": False}  # fmt: skip
            cells.insert(at, nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": meta}))


@pytest.mark.parametrize("assignment", grading.assignments(ROOT))
def test_random_damage_ends_with_every_graded_cell_once_in_the_assignment_s_order(assignment):
    """Whatever a student did to the cells, the result is a valid notebook that nbgrader's
    metadata check accepts, holding each test and locked cell of the assignment once, no
    made-up one, and the locked cells in the assignment's order after each solution cell."""
    import random

    from nbgrader.nbgraderformat import MetadataValidator

    source = source_notebook(assignment)
    meta = {grade_id(c): c.metadata["nbgrader"] for c in source.cells if grade_id(c)}
    rank = {name: i for i, name in enumerate(meta)}
    locked = {n for n, m in meta.items() if not m.get("solution") and (m["grade"] or m["locked"])}
    rng = random.Random(assignment)
    for _ in range(25):
        notebook = solved(assignment)
        damaged(notebook, rng)
        repaired, reports = repair(notebook, source)
        assert not [r for r in reports if "could not be checked" in r], reports
        nbformat.validate(repaired)
        MetadataValidator().validate_nb(repaired)
        names = [grade_id(c) for c in repaired.cells if grade_id(c)]
        assert len(names) == len(set(names)) and set(names) <= set(meta)
        assert locked <= set(names)
        runs = [[]]  # the locked cells after each solution cell
        for name in names:
            if name in locked:
                runs[-1].append(rank[name])
            else:
                runs.append([])
        assert all(run == sorted(run) for run in runs), names


# ----------------------------------------------------------------------------- sanitize


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A scratch course with 08 released (its gradebook knows the assignment)."""
    course = grading.copy_course(tmp_path_factory.mktemp("repair") / "course")
    grading.nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    return course


def submit(course, student: str, notebook) -> None:
    path = grading.notebook_path(course, "submitted", ASSIGNMENT, student)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)


def sanitized(course, student: str):
    """nbgrader's sanitize step on the submission, as grading runs it: (notebook, reports)."""
    text, _, reports = Steps(course).prepare(ASSIGNMENT, student)
    return nbformat.reads(text, as_version=4), reports


def test_an_honest_submission_is_sanitized_exactly_as_nbgrader_alone_does(course, monkeypatch):
    from autograder import steps

    submit(course, "honest", solved())
    ours, reports = sanitized(course, "honest")
    monkeypatch.setattr(steps, "repair", lambda submitted, source: (submitted, []))
    alone, _ = sanitized(course, "honest")
    assert reports == [] and ours == alone


def test_nbgrader_itself_restores_the_points_and_text_of_an_unlocked_test_cell(course):
    notebook = solved()
    kl = notebook.cells[position(notebook, "vlb_kl")]
    kl.metadata["nbgrader"].update(points=100, locked=False)
    kl.source = "pass  # nothing to check here"
    submit(course, "edited", notebook)
    ours, reports = sanitized(course, "edited")
    assert len(reports) == 2
    cell = ours.cells[position(ours, "vlb_kl")]
    assert cell.source == source_cell("vlb_kl").source  # hidden tests and all
    assert cell.metadata["nbgrader"]["points"] == 2


def test_a_test_cell_converted_to_raw_is_sanitized_as_the_assignment_s_code_cell(course):
    notebook = solved()
    at = position(notebook, "sampling_statistics")
    notebook.cells[at] = nbformat.v4.new_raw_cell("", metadata=notebook.cells[at].metadata)
    submit(course, "converted", notebook)
    ours, reports = sanitized(course, "converted")
    assert reports == ["test cell sampling_statistics had been converted to raw; restored"]
    cell = ours.cells[position(ours, "sampling_statistics")]
    assert cell.cell_type == "code" and cell.source == source_cell("sampling_statistics").source


def test_without_repair_nbgrader_refuses_a_duplicated_test_cell(course, monkeypatch):
    """Why duplicates are repaired: nbgrader refuses the whole submission, blaming an old
    version of the metadata (the copy it strips has none)."""
    from autograder import steps

    notebook = solved()
    notebook.cells.insert(3, copy.deepcopy(notebook.cells[position(notebook, "vlb_full")]))
    notebook.cells[3]["id"] = "pasted-copy"
    submit(course, "duplicated", notebook)
    ours, reports = sanitized(course, "duplicated")
    assert reports == ["test cell vlb_full was duplicated; the copy was dropped"]
    assert ids(ours) == ids(solved())
    monkeypatch.setattr(steps, "repair", lambda submitted, source: (submitted, []))
    with pytest.raises(steps.StepError) as refused:
        sanitized(course, "duplicated")
    assert "Outdated schema version" in str(refused.value.__cause__)


# ----------------------------------------------------------------------------- a real class


def digest(folder) -> dict:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


def test_a_class_with_broken_cells_gets_full_marks_and_named_repairs(course):
    """(a) a duplicated test cell, (b) a deleted one, (c) all metadata lost, (d) an extra
    graded cell worth 100 points: each correct submission gets 20/20 with a report, and the
    untouched one 20/20 with none."""
    import shutil

    shutil.rmtree(course / "submitted", ignore_errors=True)
    submit(course, "honest", solved())
    duplicated = solved()
    pasted = copy.deepcopy(duplicated.cells[position(duplicated, "vlb_kl")])
    pasted["id"] = "pasted-copy"
    duplicated.cells.insert(position(duplicated, "sampling"), pasted)
    submit(course, "a_duplicated", duplicated)
    deleted = solved()
    del deleted.cells[position(deleted, "sampling_statistics")]
    submit(course, "b_deleted", deleted)
    lost = solved()
    for cell in lost.cells:
        cell.metadata.pop("nbgrader", None)
    submit(course, "c_lost_metadata", lost)
    extra = solved()
    extra.cells.insert(position(extra, "sampling_gradients") + 1,
                       made_up_graded_cell("bonus", 100))  # fmt: skip
    submit(course, "d_extra_graded", extra)
    before = digest(course / "submitted")

    results = {r.student: r for r in grading.grade(course, ASSIGNMENT,
                                                   Options(jobs=2, progress=False))}  # fmt: skip
    assert digest(course / "submitted") == before
    for student, result in results.items():
        assert result.status == "graded", (student, result.status)
        assert result.total == FULL and sum(result.max_scores.values()) == FULL, student
        assert bool(result.repairs) == (student != "honest"), (student, result.repairs)
    assert "bonus" in results["d_extra_graded"].repairs[0]
    assert "bonus" not in results["d_extra_graded"].scores
    assert results["b_deleted"].repairs == ["test cell sampling_statistics was missing; restored "
                                            "from the assignment"]  # fmt: skip
    state = json.loads((course / classgrade.STATE_FOLDER / f"{ASSIGNMENT}.json").read_text())
    assert state["c_lost_metadata"]["repairs"] == results["c_lost_metadata"].repairs
    again = {r.student: r for r in grading.grade(course, ASSIGNMENT, Options(progress=False))}
    assert again["a_duplicated"].repairs == results["a_duplicated"].repairs  # from the state
    table = grading.table(list(results.values())).splitlines()
    assert table[0].split()[-3:] == ["repairs", "status", "flags"]
    rows = {line.split()[0]: line.split() for line in table}
    assert rows["honest"][-2:] == ["0", "graded"] and rows["a_duplicated"][-2:] == ["1", "graded"]
