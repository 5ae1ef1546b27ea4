"""Hidden checks, run only at grading time: random inputs against the references.

When a class is graded (`autograder.judge`), the seeds come from the submission's key and
the cell, so a regrade draws the same inputs, and the grading log holds them; they are
never printed where a student could read them. Run anywhere else, a check draws a fresh
seed.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import numpy as np


def fresh_rng() -> np.random.Generator:
    """A generator for one hidden check's inputs: the judge's next seed for this cell, or a
    fresh one outside grading."""
    from autograder.judge import SEEDS

    seeds = SEEDS.get()
    return np.random.default_rng(seeds.next() if seeds is not None else secrets.randbits(32))


def random_size(rng, low, high, avoid):
    """An integer in [low, high], never `avoid` (the size the notebook itself uses)."""
    size = int(rng.integers(low, high + 1))
    return size + 1 if size == avoid else size


def private_values(notebook: str) -> dict:
    """The private reference values of one notebook (made by `make references`)."""
    path = Path(__file__).parent.parent / "references" / f"{notebook}.json"
    return json.loads(path.read_text())
