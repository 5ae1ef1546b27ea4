"""Hidden checks, run only at grading time: fresh random inputs against the references.

Every check prints the seed it drew, so a disputed grade can be reproduced exactly.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import numpy as np


def fresh_rng() -> np.random.Generator:
    """A generator with a new seed, printed so that the check can be rerun exactly."""
    seed = secrets.randbits(32)
    print(f"(hidden check seed: {seed})")
    return np.random.default_rng(seed)


def random_size(rng, low, high, avoid):
    """An integer in [low, high], never `avoid` (the size the notebook itself uses)."""
    size = int(rng.integers(low, high + 1))
    return size + 1 if size == avoid else size


def private_values(notebook: str) -> dict:
    """The private reference values of one notebook (made by `make references`)."""
    path = Path(__file__).parent.parent / "references" / f"{notebook}.json"
    return json.loads(path.read_text())
