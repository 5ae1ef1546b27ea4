# The course's commands. Each one creates the virtual environment first if it is missing.
#   make demo        the instructor's whole loop on a demo class (release, autograde, feedback)
#   make test        everything CI runs
#   make release     source/ -> release/ (COURSE_REPO=... COURSE_REF=... pins Colab's install)
#   make lab         JupyterLab on the course folder
#   make grade ASSIGNMENT=08_conditional_vae [JOBS=N] [GRADE_ARGS="--force ..."]
#                    autograde every new or changed submission, in parallel, each confined
#   make references  regenerate every reference value from autograder/reference/
#   make bench       run every notebook (full and fast) and autograde; writes benchmarks/results.*
#   make student-repo DEST=../course-students [TAG=v2027.1]   the copy students get
#   make lint        ruff

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
export PATH := $(BIN):$(PATH)

.PHONY: demo test release lab grade references bench lint venv student-repo

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 not found: install it, or run make PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (course)" >/dev/null
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m autograder.grading demo

test: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadgroup

release: $(STAMP)
	$(BIN)/python -m autograder.grading release $(if $(COURSE_REPO),--repo "$(COURSE_REPO)") $(if $(COURSE_REF),--ref "$(COURSE_REF)")

lab: $(STAMP)
	$(BIN)/python -m course.lab

grade: $(STAMP)
	@test -n "$(ASSIGNMENT)" || { echo "Say which: make grade ASSIGNMENT=08_conditional_vae"; exit 1; }
	$(BIN)/python -m autograder.grading grade $(ASSIGNMENT) $(if $(JOBS),--jobs $(JOBS)) $(GRADE_ARGS)

references: $(STAMP)
	$(BIN)/python -m autograder.make_references

student-repo: $(STAMP)
	@test -n "$(DEST)" || { echo "Say where: make student-repo DEST=../course-students"; exit 1; }
	$(BIN)/python -m autograder.student_repo "$(DEST)" $(if $(TAG),--tag "$(TAG)")

bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check course autograder tests benchmarks
