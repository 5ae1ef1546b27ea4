"""Execute a course notebook as a student's kernel would: header first, then the lesson.

    python -m autograder.notebooks SOURCE.ipynb EXECUTED.ipynb [--timeout SECONDS]

The kernel inherits this process's environment (COURSE_FAST, COURSE_DATA, ...).
Errors do not stop the run; they are recorded in the executed notebook.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def with_header(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook as students get it: the header's cells, then its own."""
    header = nbformat.read(ROOT / "source" / "header.ipynb", as_version=4)
    combined = nbformat.from_dict(notebook)
    combined.cells = [*header.cells, *notebook.cells]
    return combined


def execute(source: Path, executed: Path, timeout: int = 900) -> float:
    """Run `source` (with the header) in a fresh kernel; write the result; return seconds."""
    from nbclient import NotebookClient

    notebook = with_header(nbformat.read(source, as_version=4))
    executed.parent.mkdir(parents=True, exist_ok=True)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(executed.parent)}},
    )
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        elapsed = time.perf_counter() - start
        nbformat.write(notebook, executed)
    return elapsed


def errors(notebook: nbformat.NotebookNode) -> list[str]:
    """One line per cell that raised: its id and the error."""
    return [
        f"{cell.get('id')}: {out.ename}: {out.evalue}"
        for cell in notebook.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "error"
    ]


def stderr_text(notebook: nbformat.NotebookNode, graded_only: bool = False) -> dict[str, str]:
    """Cell id -> what the cell wrote to stderr (only graded test cells if asked)."""
    found = {}
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        if graded_only and not cell.metadata.get("nbgrader", {}).get("grade"):
            continue
        text = "".join(
            out.text for out in cell.outputs if out.output_type == "stream" and out.name == "stderr"
        )
        if text:
            found[cell.get("id")] = text
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("executed", type=Path)
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    args = parser.parse_args(argv)
    seconds = execute(args.source, args.executed, args.timeout)
    notebook = nbformat.read(args.executed, as_version=4)
    print(f"executed {args.source} in {seconds:.1f} s")
    for line in errors(notebook):
        print(f"error in cell {line}")
    return 1 if errors(notebook) else 0


if __name__ == "__main__":
    sys.exit(main())
