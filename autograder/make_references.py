"""Make every reference value the checks compare against, from the reference implementations.

    python -m autograder.make_references          # (re)write the files
    python -m autograder.make_references --check  # exit 1 if a file is out of date
    python -m autograder.make_references nb05     # only these notebooks

Writes, per notebook:
- `course/expected/<nb>.json`: public values for the visible checks (released with the
  course package), with the value each known mistake gives, so a check can name it;
- `autograder/references/<nb>.json`: private values for hidden checks (never released).
No reference value is typed by hand anywhere else.

A reference value must not depend on the machine that computes it. Every number is written
in canonical form (`canonical`: 12 significant digits, never a negative zero), files are
compared as numbers, not as text (`differences`), and a regenerated number that agrees with
the committed one within the tolerance keeps the committed text, so that regenerating on
another machine (another BLAS, CPU or thread count) leaves the files unchanged.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from course.config import import_tensorflow_quietly

import_tensorflow_quietly()

ROOT = Path(__file__).resolve().parent.parent
PUBLIC = ROOT / "course" / "expected"
PRIVATE = ROOT / "autograder" / "references"

# Float64 round-off is about 1e-16 relative; 12 significant digits keep every digit that
# means something here and drop the ones that only record the order of a machine's sums.
SIGNIFICANT_DIGITS = 12
# Two honest runs can round to canonical values one unit apart in the 12th digit (at most
# 1e-11 relative), so the comparison allows ten times that; a change of 1e-6 relative is
# caught with four orders of magnitude to spare. The smallest non-zero reference value is
# about 2e-3, so an absolute 1e-12 only forgives round-off around values that are zero.
CHECK_RTOL = 1e-10
CHECK_ATOL = 1e-12


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


def canonical(data, where: str = ""):
    """`data` with every float in canonical form: 12 significant digits, no negative zero.

    NumPy scalars become Python numbers; tuples become lists. A value that is not finite has
    no place in a reference file and raises ValueError naming its key.
    """
    if hasattr(data, "item") and not isinstance(data, (list, dict)):
        data = data.item()  # a NumPy scalar
    if isinstance(data, float):
        if not math.isfinite(data):
            raise ValueError(f"reference value {where or '(top)'} is {data}, not a finite number")
        return float(f"{data:.{SIGNIFICANT_DIGITS}g}") + 0.0  # + 0.0 turns -0.0 into 0.0
    if isinstance(data, dict):
        return {str(k): canonical(v, f"{where}/{k}") for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [canonical(v, f"{where}[{i}]") for i, v in enumerate(data)]
    return data


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= CHECK_ATOL + CHECK_RTOL * abs(b)


def differences(committed, fresh, where: str = "") -> list[str]:
    """One line per value that differs between two reference trees: its key and both values.

    Numbers are equal when they agree within CHECK_RTOL and CHECK_ATOL (so -0.0 == 0.0);
    everything else (keys, list lengths, None, strings, booleans) must match exactly.
    """
    label = where or "(top)"
    if _is_number(committed) and _is_number(fresh):
        if _close(fresh, committed):
            return []
        return [f"{label}: committed {committed!r}, now {fresh!r}"]
    if isinstance(committed, dict) and isinstance(fresh, dict):
        gone, new = committed.keys() - fresh.keys(), fresh.keys() - committed.keys()
        lines = [f"{where}/{k}: only in the committed file" for k in gone]
        lines += [f"{where}/{k}: new, not in the committed file" for k in new]
        for key in sorted(committed.keys() & fresh.keys()):
            lines += differences(committed[key], fresh[key], f"{where}/{key}")
        return sorted(lines)
    if isinstance(committed, list) and isinstance(fresh, list):
        if len(committed) != len(fresh):
            return [f"{label}: committed {len(committed)} values, now {len(fresh)}"]
        return [line for i, (a, b) in enumerate(zip(committed, fresh))
                for line in differences(a, b, f"{where}[{i}]")]  # fmt: skip
    if type(committed) is type(fresh) and committed == fresh:
        return []
    return [f"{label}: committed {committed!r}, now {fresh!r}"]


def merged(committed, fresh):
    """`fresh`, but keeping every committed number that agrees with it (see `differences`)
    and is already canonical, so that regenerating rewrites only the values that changed."""
    if _is_number(committed) and _is_number(fresh):
        keep = _close(fresh, committed) and canonical(committed) == committed
        return committed if keep else fresh
    if isinstance(committed, dict) and isinstance(fresh, dict):
        return {k: merged(committed[k], v) if k in committed else v for k, v in fresh.items()}
    if isinstance(committed, list) and isinstance(fresh, list) and len(committed) == len(fresh):
        return [merged(a, b) for a, b in zip(committed, fresh)]
    return fresh


def dump(data) -> str:
    """The text of a reference file."""
    return json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _committed(path: Path):
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except json.JSONDecodeError as error:
        raise SystemExit(
            f"{path} is not valid JSON ({error}): delete it and run `make references`"
        ) from None


def main(argv=None, found: dict | None = None) -> int:
    """Write (or with --check, compare) the reference files; `found` replaces `makers()`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    parser.add_argument("notebooks", nargs="*", help="e.g. nb05 (default: every notebook)")
    args = parser.parse_args(argv)
    found = makers() if found is None else found
    unknown = sorted(set(args.notebooks) - set(found))
    if unknown:
        parser.error(f"no reference module for {unknown}; there are {sorted(found)}")
    stale = []
    for name, make in found.items():
        if args.notebooks and name not in args.notebooks:
            continue
        for folder, data in zip((PUBLIC, PRIVATE), make()):
            path = folder / f"{name}.json"
            fresh = canonical(data)
            committed = _committed(path)
            if args.check:
                if committed is None:
                    stale.append(f"{_shown(path)}: missing")
                else:
                    stale += [f"{_shown(path)} {line}"
                              for line in differences(committed, fresh)]  # fmt: skip
                continue
            text = dump(fresh if committed is None else merged(committed, fresh))
            if committed is None or path.read_text() != text:
                folder.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
                print(f"wrote {_shown(path)}")
            else:
                print(f"unchanged {_shown(path)}")
    if stale:
        print("out of date (run `make references`):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
