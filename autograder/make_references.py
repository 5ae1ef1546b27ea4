"""Make every reference value the checks compare against, from the reference implementations.

    python -m autograder.make_references          # (re)write the files
    python -m autograder.make_references --check  # exit 1 if a file is out of date
    python -m autograder.make_references nb05     # only these notebooks

Writes, per notebook:
- `course/expected/<nb>.json`: public values for the visible checks (released with the
  course package), with the value each known mistake gives, so a check can name it;
- `autograder/references/<nb>.json`: private values for hidden checks (never released).
No reference value is typed by hand anywhere else.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from course.config import import_tensorflow_quietly

import_tensorflow_quietly()

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = ROOT / "course" / "expected"
PRIVATE = ROOT / "autograder" / "references"


def makers() -> dict:
    """Notebook name -> its `references()` function, from every `autograder/reference/nbNN.py`.

    Each returns `(public, private)`: the visible checks' values and the hidden checks' values.
    """
    import importlib
    import pkgutil

    from autograder import reference

    found = {}
    for module in pkgutil.iter_modules(reference.__path__):
        if module.name.startswith("nb"):
            imported = importlib.import_module(f"autograder.reference.{module.name}")
            found[module.name] = imported.references
    return dict(sorted(found.items()))


def _dump(data) -> str:
    return json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    parser.add_argument("notebooks", nargs="*", help="e.g. nb05 (default: every notebook)")
    args = parser.parse_args(argv)
    found = makers()
    unknown = sorted(set(args.notebooks) - set(found))
    if unknown:
        parser.error(f"no reference module for {unknown}; there are {sorted(found)}")
    stale = []
    for name, make in found.items():
        if args.notebooks and name not in args.notebooks:
            continue
        public, private = make()
        for folder, data in ((PUBLIC, public), (PRIVATE, private)):
            path = folder / f"{name}.json"
            text = _dump(data)
            if args.check:
                if not path.exists() or path.read_text() != text:
                    stale.append(path)
            else:
                folder.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
                print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print("out of date (run `make references`):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
