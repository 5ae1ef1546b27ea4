"""Course settings, read once from environment variables.

| variable           | values                         | default                         |
|--------------------|--------------------------------|---------------------------------|
| `COURSE_FAST`      | `1` (seconds per notebook), `0`| `0`: the full lesson            |
| `COURSE_DATA`      | `auto`, `real`, `synthetic`    | `auto`: real data, else stand-in |
| `COURSE_DATA_DIR`  | a folder holding dataset files | none                            |
| `COURSE_CACHE_DIR` | where downloads are kept       | `~/.cache/autoencoders-course`  |
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

SEED = 42
DATA_MODES = ("auto", "real", "synthetic")


class ConfigError(ValueError):
    """An environment variable holds a value the course cannot use."""


def _read_fast(value: str | None) -> bool:
    text = (value or "0").strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(
        f"COURSE_FAST={value!r} is not understood. Use COURSE_FAST=1 for the quick run "
        "(CI and grading) or COURSE_FAST=0 (or leave it unset) for the full lesson."
    )


def _read_data_mode(value: str | None) -> str:
    mode = (value or "auto").strip().lower()
    if mode not in DATA_MODES:
        raise ConfigError(
            f"COURSE_DATA={value!r} is not a data mode. Use one of {', '.join(DATA_MODES)}: "
            "'real' insists on the real datasets, 'synthetic' uses the built-in stand-ins, "
            "'auto' tries the real data and falls back to a stand-in it announces."
        )
    return mode


def _read_data_dir(value: str | None) -> Path | None:
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise ConfigError(
            f"COURSE_DATA_DIR={value!r} is not a folder. Point it at the folder that holds the "
            "dataset files (for example mnist.npz or frey_rawface.mat), or unset it."
        )
    return path.resolve()


def _in_colab() -> bool:
    return "google.colab" in sys.modules


FAST: bool = _read_fast(os.environ.get("COURSE_FAST"))
DATA_MODE: str = _read_data_mode(os.environ.get("COURSE_DATA"))
IN_COLAB: bool = _in_colab()


def data_dir() -> Path | None:
    """The folder of dataset files already on disk (`COURSE_DATA_DIR`), or None."""
    return _read_data_dir(os.environ.get("COURSE_DATA_DIR"))


def cache_dir() -> Path:
    """Where downloaded datasets are kept between runs."""
    default = Path.home() / ".cache" / "autoencoders-course"
    return Path(os.environ.get("COURSE_CACHE_DIR") or default).expanduser()


def pick(*, full, fast):
    """Return `fast` in fast mode (`COURSE_FAST=1`) and `full` otherwise.

    Notebooks use it for every size that makes a run slow, so the two values sit side by
    side: `num_epochs = pick(full=20, fast=1)`.
    """
    return fast if FAST else full


@contextlib.contextmanager
def _stderr_silenced():
    """Send file descriptor 2 to /dev/null for a moment (C++ libraries write there directly)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def import_tensorflow_quietly():
    """Import TensorFlow with its start-up log lines silenced, and return it.

    TensorFlow prints C++ log lines at import whatever the log level; importing it once,
    with stderr silenced, keeps those lines out of every later cell.
    """
    with _stderr_silenced():
        import tensorflow as tf
    # Its Python logger warns about things like retracing; none of it is for students.
    tf.get_logger().setLevel("ERROR")
    return tf


def setup(seed: int = SEED) -> None:
    """Import TensorFlow quietly, seed every random generator and say how the course runs.

    In a notebook it also makes an unfinished exercise say so in one line (see
    `explain_unfinished`).
    """
    import_tensorflow_quietly()
    import keras

    keras.utils.set_random_seed(seed)
    try:
        from IPython import get_ipython
    except ImportError:  # not in IPython: nothing to set up
        shell = None
    else:
        shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((NotImplementedError,), explain_unfinished)
    print(describe(seed))


def _in_a_cell(filename: str) -> bool:
    """Whether code comes from a notebook cell (ipykernel and IPython name them so)."""
    return "ipykernel_" in filename or filename.startswith("<ipython-input")


def _unfinished_exercise(error):
    """The code of the notebook cell that raised NotImplementedError, if this error or one it
    was raised while handling (a library may turn it into its own) comes from one."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        innermost = error.__traceback__
        while innermost is not None and innermost.tb_next is not None:
            innermost = innermost.tb_next
        if isinstance(error, NotImplementedError) and innermost is not None:
            code = innermost.tb_frame.f_code
            if _in_a_cell(code.co_filename):
                return code
        error = error.__cause__ or error.__context__
    return None


def explain_unfinished(shell, etype, value, tb, tb_offset=None):
    """IPython's handler for a NotImplementedError that reaches the top of a cell.

    When it comes from an exercise still holding its `raise NotImplementedError()`, the
    cell says in one line which exercise to finish first, instead of a bare traceback.
    Any other NotImplementedError (from a library) keeps its usual traceback. Either way the
    cell fails, so nbgrader scores it as failed.
    """
    code = _unfinished_exercise(value)
    if code is not None:
        red, plain = "\x1b[1;31m", "\x1b[0m"
        if code.co_name == "<module>":
            line = f"{red}Not done yet:{plain} replace `raise NotImplementedError()` with your code"
        else:
            line = f"{red}Finish `{code.co_name}` first:{plain} its exercise is not written yet"
        value._render_traceback_ = lambda: [line]  # IPython shows this instead of a traceback
    shell.showtraceback((etype, value, tb), tb_offset=tb_offset)


def describe(seed: int = SEED) -> str:
    """One paragraph: which mode, which data, which versions."""
    import keras
    import numpy as np

    folder = data_dir()
    lines = [
        f"Mode: {'FAST (shortened training, for CI and grading)' if FAST else 'full lesson'}",
        f"Data: COURSE_DATA={DATA_MODE}"
        + (f", data folder {folder}" if folder else ", no data folder set"),
        f"Keras {keras.__version__} on {keras.backend.backend()}, NumPy {np.__version__}"
        + (", running in Google Colab" if IN_COLAB else ""),
        f"Random seed: {seed}",
    ]
    return "\n".join(lines)
