"""What every check needs: quiet calls, conversion to NumPy, clear failures."""

from __future__ import annotations

import contextlib
import json
import logging
import textwrap
import warnings
import zlib
from importlib import resources

import numpy as np

# Failure messages are wrapped at spaces to this width, so that a notebook never breaks a
# word across lines.
MESSAGE_WIDTH = 88


class CheckFailed(AssertionError):
    """A check failed; the message is written for the student.

    In a notebook it shows as its message alone, in a few wrapped lines, without the
    traceback through the course's code that would bury it (IPython asks an exception for
    `_render_traceback_`). The cell still fails, so nbgrader still gives it no points.
    """

    def _render_traceback_(self) -> list[str]:
        lines = ["\x1b[1;31mCheck failed\x1b[0m (this cell earns its points once it passes)"]
        for paragraph in str(self).split("\n"):
            lines += textwrap.wrap(paragraph, MESSAGE_WIDTH, break_long_words=False) or [""]
        return lines


def fail(message: str):
    raise CheckFailed(message)


def passed(message: str) -> None:
    print(f"Passed: {message}")


def to_numpy(value, what: str) -> np.ndarray:
    """Convert a function's result (a tensor, an array or a number) to a float64 array."""
    if value is None:
        fail(f"{what} returned None. Did you forget the `return` statement?")
    try:
        import keras

        return np.asarray(keras.ops.convert_to_numpy(value), dtype=np.float64)
    except (TypeError, ValueError) as error:
        fail(f"{what} returned {type(value).__name__}, which is not a tensor or an array: {error}")


@contextlib.contextmanager
def quiet_keras():
    """Silence Python warnings and TensorFlow's logger (retracing notices) while code runs.

    nbgrader gives zero to a test cell that writes anything to stderr, and a harmless
    warning must not cost a student their points.
    """
    logger = logging.getLogger("tensorflow")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def predict_quietly(model, inputs, batch_size):
    """`model.predict` without progress bars, warnings or TensorFlow log lines."""
    with quiet_keras():
        return model.predict(inputs, batch_size=batch_size, verbose=0)


def call_student(function, *args, what: str):
    """Call a student's function quietly (see `quiet_keras`), turning an exception into a
    readable failure."""
    try:
        with quiet_keras():
            return function(*args)
    except NotImplementedError:
        fail(
            f"{what} is not implemented yet: replace `raise NotImplementedError()` with your code."
        )
    except CheckFailed:
        raise
    except Exception as error:  # any error in student code becomes a failed check
        fail(f"{what} raised {type(error).__name__}: {error}")


def expected_values(notebook: str) -> dict:
    """The reference values of one notebook's visible checks (made by `make references`)."""
    text = resources.files("course").joinpath("expected", f"{notebook}.json").read_text()
    return json.loads(text)


def close(value, expected, rtol: float, atol: float) -> bool:
    """Whether `value` matches `expected` (a number, or an array of the same shape):
    |value - expected| <= atol + rtol * |expected| everywhere. Every check's tolerance is this."""
    value, expected = np.asarray(value, np.float64), np.asarray(expected, np.float64)
    return value.shape == expected.shape and bool(
        np.all(np.abs(value - expected) <= atol + rtol * np.abs(expected))
    )


def diagnose(value, candidates: dict, rtol: float, atol: float) -> str | None:
    """The name of the known mistake whose value `value` matches, if exactly one does.

    value and each candidate: a number, or an array. A candidate of None (or with values that
    are not finite) is a mistake that gives no finite value on these inputs.
    """
    matches = [
        name for name, candidate in candidates.items()
        if candidate is not None and np.all(np.isfinite(candidate))
        and close(value, candidate, rtol, atol)
    ]  # fmt: skip
    return matches[0] if len(matches) == 1 else None


def fixed_rng(name: str, seed: int | None = None) -> np.random.Generator:
    """A generator seeded from a check's name, so each visible fixture is fixed and its own."""
    return np.random.default_rng(zlib.crc32(name.encode()) if seed is None else seed)
