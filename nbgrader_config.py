"""nbgrader settings for the course. The course directory is the folder of this file."""

import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821  (nbgrader provides get_config)

ROOT = Path(__file__).resolve().parent

c.CourseDirectory.course_id = "autoencoders"
c.CourseDirectory.root = str(ROOT)
# sqlite in the course folder by default; set NBGRADER_DB_URL for a shared database,
# e.g. postgresql://user@host/autoencoders.
c.CourseDirectory.db_url = os.environ.get("NBGRADER_DB_URL", f"sqlite:///{ROOT / 'gradebook.db'}")

# The exchange (release, fetch, submit, collect) is a folder of the course, so that a course
# on one machine works without setting one up; a shared one goes in the site's config.
c.Exchange.root = str(ROOT / "exchange")

# Every student notebook opens with the header: Colab set-up, imports, seeds, data source.
c.IncludeHeaderFooter.header = str(ROOT / "source" / "header.ipynb")

# What replaces each solution in the student version.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Feedback shows the student's code, each graded cell's points and the checks' messages;
# not the hidden tests' code, nor outputs of the grading run (see autograder/feedback.py).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "autograder.feedback.FeedbackFilter",
]

# A cell that runs longer than this is stopped and counted as failed; the rest still runs.
c.Execute.timeout = 300
c.Execute.interrupt_on_timeout = True

# Grading runs the notebooks in fast mode (short training; graded checks never depend on
# it) with TensorFlow's C++ logging off, because nbgrader gives zero to a test cell that
# writes to stderr. Only the command-line `nbgrader autograde` and `validate` set this;
# JupyterLab and formgrader keep the environment they were started with.
if len(sys.argv) > 1 and sys.argv[1] in {"autograde", "validate"}:
    os.environ.setdefault("COURSE_FAST", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
