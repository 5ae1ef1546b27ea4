"""What `nbgrader autograde` does before and after it runs a submission, by nbgrader's own code.

`nbgrader autograde` does three things per submission: it prepares it (creates the student
and the submission in the gradebook, copies the assignment's files, and sanitizes the
notebook: clears outputs, restores every locked cell from the gradebook; here it sanitizes
a copy that `autograder.repair` mended first), runs it, and saves
it (limits its output, stores each graded cell's points in the gradebook, applies late
penalties, writes `autograded/`). `Steps` calls nbgrader's own `Autograde` converter for the
first and the last, one submission at a time, in the grader's process, and leaves the
running to `autograder.execute`, which never sees the gradebook. The result is what
`nbgrader autograde` would have written, so formgrader, `nbgrader generate_feedback` and
`nbgrader export` work unchanged.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbconvert.writers import FilesWriter
from nbgrader.converters import Autograde
from nbgrader.converters.base import BaseConverter
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    IgnorePattern,
    LimitOutput,
    NbGraderPreprocessor,
    SaveAutoGrades,
)
from traitlets import List
from traitlets.config.loader import PyFileConfigLoader

from autograder.repair import repair


class StepError(RuntimeError):
    """nbgrader refused a submission; the message holds its own words."""


class ReplayExecution(NbGraderPreprocessor):
    """Stands where nbgrader's `Execute` stands: puts in the outputs of the run that
    `autograder.execute` made, cell by cell, into the notebook nbgrader sanitized."""

    def preprocess(self, nb, resources):
        executed = self.parent.parent.executed
        if executed is None or len(executed.cells) != len(nb.cells):
            raise StepError("the executed notebook does not match the sanitized one")
        for cell, ran in zip(nb.cells, executed.cells):
            if cell.cell_type != ran.cell_type or cell.source != ran.source:
                raise StepError("a cell changed while the notebook ran")
            if cell.cell_type == "code":
                cell.outputs = ran.outputs
                cell.execution_count = ran.execution_count
        if "language_info" in executed.metadata:
            nb.metadata["language_info"] = executed.metadata["language_info"]
        return nb, resources


class ClassAutograde(Autograde):
    """nbgrader's Autograde converter, driven one submission at a time by `Steps`."""

    autograde_preprocessors = List([
        ReplayExecution,
        IgnorePattern,
        ClearMetadataPreprocessor,
        LimitOutput,
        SaveAutoGrades,
        AssignLatePenalties,
        CheckCellMetadata,
    ])  # fmt: skip

    executed = None  # the run to replay into the notebook being saved


def load_config(course: Path):
    """The course's nbgrader configuration, as `nbgrader` loads it from `nbgrader_config.py`."""
    path = course / "nbgrader_config.py"
    if not path.is_file():
        raise StepError(f"{course} holds no nbgrader_config.py: it is not a course folder")
    config = PyFileConfigLoader(path.name, path=str(course)).load_config()
    config.CourseDirectory.root = str(course)
    return config


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(
            record.getMessage().strip().splitlines()[0] if record.getMessage() else ""
        )


class Steps:
    """Prepare and save submissions of one course with nbgrader's code (one thread only)."""

    def __init__(self, course: Path):
        self.course = course
        self.config = load_config(course)
        self.coursedir = CourseDirectory(config=self.config)
        self.converter = ClassAutograde(coursedir=self.coursedir, config=self.config)
        self.converter.writer = FilesWriter(parent=self.converter, config=self.config)
        self.converter.exporter = self.converter.exporter_class(parent=self.converter,
                                                                config=self.config)  # fmt: skip
        self.converter.force = True

    @property
    def db_url(self) -> str:
        return self.coursedir.db_url

    def execute_config(self) -> dict:
        """The `Execute` settings of the course (cell timeout and so on), for the workers."""
        return {key: value for key, value in self.config.get("Execute", {}).items()}

    def _paths(self, assignment: str, student: str) -> tuple[Path, Path]:
        submitted = Path(self.coursedir.format_path(self.coursedir.submitted_directory,
                                                    student, assignment))  # fmt: skip
        autograded = Path(self.coursedir.format_path(self.coursedir.autograded_directory,
                                                     student, assignment))  # fmt: skip
        return submitted / f"{assignment}.ipynb", autograded / f"{assignment}.ipynb"

    def _run(self, what: str, step):
        capture = _Capture()
        self.converter.log.addHandler(capture)
        try:
            return step()
        except StepError:
            raise
        except Exception as error:  # nbgrader's own exceptions carry its reason
            said = [line for line in capture.lines if line] or [f"{type(error).__name__}: {error}"]
            raise StepError(f"nbgrader could not {what}: {said[-1]}") from error
        finally:
            self.converter.log.removeHandler(capture)

    def _select(self, assignment: str, student: str, sanitizing: bool, notebook: Path) -> None:
        """Point nbgrader's converter at one submission's notebook, for one of its halves."""
        converter = self.converter
        converter.coursedir.assignment_id = assignment
        converter.coursedir.student_id = student
        converter._sanitizing = sanitizing
        converter.notebooks = [str(notebook)]

    def prepare(self, assignment: str, student: str) -> tuple[str, Path, list[str]]:
        """Sanitize one submission as `nbgrader autograde` would, after `autograder.repair`
        mended its cells in a copy; return the notebook to run (JSON), the folder holding
        the files that go with it, and what was repaired."""
        submitted, autograded = self._paths(assignment, student)
        converter = self.converter

        def step():
            self._select(assignment, student, True, submitted)
            converter.init_destination(assignment, student)
            converter.init_assignment(assignment, student)
            if not converter.notebooks:
                raise StepError(f"the gradebook has no notebook {assignment} in {assignment}: "
                                f"run `nbgrader generate_assignment {assignment}`")  # fmt: skip
            converter._init_preprocessors()
            with tempfile.TemporaryDirectory(prefix="repaired-") as folder:
                repaired, reports = self._repaired(assignment, submitted, Path(folder))
                # BaseConverter.convert_single_notebook, reading the repaired copy: the
                # resources (student, assignment) still come from the submission's path.
                resources = converter.init_single_notebook_resources(str(submitted))
                output, resources = converter.exporter.from_filename(str(repaired), resources)
                converter.write_single_notebook(output, resources)
            return autograded.read_text(), autograded.parent, reports

        return self._run("prepare the submission", step)

    def _repaired(self, assignment: str, submitted: Path, folder: Path) -> tuple[Path, list[str]]:
        """The submission with its cells repaired, written into `folder` (never into
        submitted/), and the reports of what was repaired."""
        source_folder = self.coursedir.format_path(self.coursedir.source_directory, ".", assignment)
        source_path = Path(source_folder) / f"{assignment}.ipynb"
        notebook = nbformat.read(submitted, as_version=4)
        try:
            source = nbformat.read(source_path, as_version=4)
        except (OSError, ValueError) as error:  # no source/ here: grade it as submitted
            reports = [f"its cells were not checked: the assignment's notebook {source_path} "
                       f"could not be read ({type(error).__name__})"]  # fmt: skip
        else:
            notebook, reports = repair(notebook, source)
        path = folder / submitted.name
        nbformat.write(notebook, path)
        return path, reports

    def save(self, assignment: str, student: str, executed: str) -> None:
        """Replay the run into the sanitized notebook and save its grades, as nbgrader would."""
        _, autograded = self._paths(assignment, student)
        converter = self.converter

        def step():
            self._select(assignment, student, False, autograded)
            converter.executed = nbformat.reads(executed, as_version=4)
            converter._init_preprocessors()
            try:
                BaseConverter.convert_single_notebook(converter, str(autograded))
            finally:
                converter.executed = None
                converter._sanitizing = True
            converter.set_permissions(assignment, student)

        self._run("save the grades", step)

    def test_sources(self, assignment: str) -> dict[str, str]:
        """grade_id -> code of every test cell of `assignment`, as the gradebook holds it
        (visible and hidden checks): what the judge runs, whatever a submission's cells say."""
        from nbgrader.api import Gradebook, MissingEntry

        try:
            with Gradebook(self.db_url) as gradebook:
                notebook = gradebook.find_notebook(assignment, assignment)
                solutions = {cell.name for cell in notebook.solution_cells}
                return {
                    cell.name: gradebook.find_source_cell(cell.name, assignment, assignment).source
                    for cell in notebook.grade_cells
                    if cell.cell_type == "code" and cell.name not in solutions
                }
        except MissingEntry as error:
            raise StepError(f"the gradebook has no notebook {assignment} in {assignment}: run "
                            f"`nbgrader generate_assignment {assignment}`") from error  # fmt: skip

    def discard(self, assignment: str, student: str) -> None:
        """Remove a half-made autograded folder of a submission that could not be graded."""
        import shutil

        _, autograded = self._paths(assignment, student)
        shutil.rmtree(autograded.parent, ignore_errors=True)
