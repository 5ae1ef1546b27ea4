"""Shared test fixtures: where the repository and the offline data are."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path | None:
    """The folder of real offline data: COURSE_DATA_DIR, else ../shared/data beside the repo."""
    candidates = [os.environ.get("COURSE_DATA_DIR"), ROOT.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate).resolve()
    return None


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No data folder, an empty cache, and downloads that fail at once."""
    from course import data

    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    dead = "http://127.0.0.1:9/unreachable"
    for key, remotes in data.REMOTE_FILES.items():
        monkeypatch.setitem(
            data.REMOTE_FILES,
            key,
            tuple(type(r)(r.name, (f"{dead}/{r.name}",), r.sha256, r.gunzip) for r in remotes),
        )
    monkeypatch.setitem(data.SYSTEM_FOLDERS, "fashion_mnist", tmp_path / "no-system-folder")
    return tmp_path
