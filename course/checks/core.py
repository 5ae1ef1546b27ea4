"""What every check needs: quiet calls, conversion to NumPy, clear failures."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import textwrap
import warnings
import zlib
from importlib import resources

import numpy as np

from course.probe import remote_link, type_name

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
        fail(f"{what} returned {type_name(value)}, which is not a tensor or an array: {error}")


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


def notebook_names(obj) -> dict:
    """The global names a student's function, or class (through its methods), looks up at
    call time: the notebook's namespace. {} if there is none."""
    members = list(vars(obj).values()) if isinstance(obj, type) else []
    for value in (obj, *members):
        found = getattr(getattr(value, "fget", value), "__globals__", None)
        if isinstance(found, dict):
            return found
    return {}


@contextlib.contextmanager
def replaced_names(obj, replacements: dict):
    """Within the block, those of `replacements`' names that `obj`'s notebook defines are
    the checks' stand-ins (a stand-in loss, a seeded sampling); afterwards they are the
    student's again, whatever happened inside."""
    names = notebook_names(obj)
    own = {name: names[name] for name in replacements if name in names}
    names.update({name: replacements[name] for name in own})
    try:
        yield
    finally:
        names.update(own)


def kernel_side(function):
    """Mark a check's helper that must run where the student's objects live.

    A helper that builds a Keras model around a student's function, or takes gradients
    through it, needs the objects themselves. When a class is graded the checks run in the
    grader and hold only stand-ins for those objects (`course.probe.Remote`); called with
    one, the helper runs in the student's kernel instead, and what it returns comes back as
    data (arrays, numbers) that the check then judges. Called with ordinary objects (in a
    notebook, in tests) it simply runs.
    """
    path = f"{function.__module__}:{function.__qualname__}"

    @functools.wraps(function)
    def helper(*args, **kwargs):
        link = remote_link(*args, *kwargs.values())
        if link is None:
            return function(*args, **kwargs)
        return link.request("helper", None, args, kwargs, helper=path)

    return helper


@kernel_side
def predict_quietly(model, inputs, batch_size):
    """`model.predict` without progress bars, warnings or TensorFlow log lines."""
    with quiet_keras():
        return model.predict(inputs, batch_size=batch_size, verbose=0)


@kernel_side
def gradients(function, args, wrt, what: str, weights=None, constants: bool = True):
    """The student's `function(*args)` and its gradients, as arrays.

    The arguments at the indices `wrt` become variables; the others become constant tensors
    (NumPy arrays, if `constants` is False). The gradients are those of
    sum(weights * function(*args)) (of the plain sum without weights), one per index of
    `wrt`, and None where no gradient reaches that argument. The value is None when the
    function returns no tensor (a NumPy array cannot join the tape); then so is every
    gradient.
    """
    import tensorflow as tf

    args = [tf.constant(a) if constants and isinstance(a, np.ndarray) else a for a in args]
    variables = [tf.Variable(args[i]) for i in wrt]
    for index, variable in zip(wrt, variables):
        args[index] = variable
    with tf.GradientTape() as tape:
        value = call_student(function, *args, what=what)
        if not tf.is_tensor(value):
            return None, [None] * len(variables)
        objective = tf.cast(value, tf.float32)
        if weights is not None:
            objective = tf.convert_to_tensor(np.asarray(weights, np.float32)) * objective
        objective = tf.reduce_sum(objective)
    found = tape.gradient(objective, variables)
    arrays = [None if g is None else np.asarray(g, np.float64) for g in found]
    return np.asarray(value, np.float64), arrays


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


def returned_pair(result, what: str, names: tuple[str, str], described: str = ""):
    """The two parts of a student's `return first, second`, or a failure that says so
    (a missing `return`, or anything that is not a pair). `described` follows the pair in
    the message, e.g. " of two arrays"."""
    if result is None:
        to_numpy(result, what)  # fails with the message about a missing `return`
    try:
        first, second = result
    except (TypeError, ValueError):
        fail(
            f"{what} should return a pair ({names[0]}, {names[1]}){described}; it returned "
            f"{type_name(result)}. End it with `return {names[0]}, {names[1]}`."
        )
    return first, second


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


def seed_generator_from(state):
    """A Keras SeedGenerator in the state `state` ([seed, counter]): the kernel's copy of a
    check's generator, when the checks run in the grader (see `course.probe`)."""
    import keras

    state = np.asarray(state)
    generator = keras.random.SeedGenerator(int(state[0]))
    generator.state.assign(keras.ops.convert_to_tensor(state, dtype=generator.state.dtype))
    return generator


@kernel_side
def seed_where(anchor, seed: int) -> None:
    """Seed Keras, NumPy and Python where `anchor` (a student's object) lives: in this
    process, or in the student's kernel when the checks run in the grader."""
    import keras

    keras.utils.set_random_seed(seed)
