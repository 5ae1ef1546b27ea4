"""course.config: fast mode, data mode, data folder, and their error messages."""

import subprocess
import sys

import pytest

from course import config


@pytest.mark.parametrize(("value", "fast"), [(None, False), ("0", False), ("1", True),
                                             ("true", True), ("off", False)])  # fmt: skip
def test_fast_mode_reads_common_spellings(value, fast):
    assert config._read_fast(value) is fast


def test_fast_mode_rejects_nonsense_with_a_fix():
    with pytest.raises(config.ConfigError, match="COURSE_FAST=1"):
        config._read_fast("sometimes")


@pytest.mark.parametrize("mode", ["auto", "real", "synthetic", "REAL"])
def test_data_modes_are_accepted(mode):
    assert config._read_data_mode(mode) == mode.lower()


def test_data_mode_defaults_to_auto():
    assert config._read_data_mode(None) == "auto"


def test_unknown_data_mode_lists_the_choices():
    with pytest.raises(config.ConfigError, match="auto, real, synthetic"):
        config._read_data_mode("fake")


def test_data_folder_must_exist(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path / "missing"))
    with pytest.raises(config.ConfigError, match="is not a folder"):
        config.data_dir()
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    assert config.data_dir() == tmp_path.resolve()


def test_pick_follows_fast_mode(monkeypatch):
    monkeypatch.setattr(config, "FAST", True)
    assert config.pick(full=20, fast=1) == 1
    monkeypatch.setattr(config, "FAST", False)
    assert config.pick(full=20, fast=1) == 20


def test_a_bad_setting_stops_the_import_with_a_clear_message():
    run = subprocess.run(
        [sys.executable, "-c", "import course"],
        env={"COURSE_DATA": "fake", "PATH": ""},
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0
    assert "COURSE_DATA='fake' is not a data mode" in run.stderr


def test_describe_names_mode_data_and_seed():
    text = config.describe(seed=7)
    assert "COURSE_DATA=" in text and "Random seed: 7" in text and "Keras 3" in text
