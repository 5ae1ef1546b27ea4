"""A figure a notebook measures, printed in one fixed form so benchmarks can read it back."""

from __future__ import annotations

import re

METRIC_LINE = re.compile(r"^\[metric\] (?P<name>[a-z0-9_]+) = (?P<value>\S+)(?: (?P<unit>.*))?$")


def report(name: str, value: float, unit: str = "") -> None:
    """Print `[metric] name = value unit`, e.g. `[metric] vae_val_loss = 151.2 nats/image`."""
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise ValueError(f"metric names are lower_snake_case; got {name!r}")
    print(f"[metric] {name} = {float(value):.6g} {unit}".rstrip())


def parse(text: str) -> dict[str, float]:
    """All metrics printed in `text` (the last value wins if one is printed twice)."""
    found = {}
    for line in text.splitlines():
        match = METRIC_LINE.match(line.strip())
        if match:
            found[match["name"]] = float(match["value"])
    return found
