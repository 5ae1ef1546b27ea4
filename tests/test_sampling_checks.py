"""The shared `sampling` checks (graded in notebook 08) on their own: how a failure inside a
Keras model is explained, and that TensorFlow stays quiet while they run."""

from __future__ import annotations

import logging

import keras
import numpy as np
import pytest
from keras import ops

from autograder.mistakes import sampling as variants
from course.checks import sampling as checks
from course.checks.core import CheckFailed


def student_function(name: str):
    """A known `sampling` mistake as it stands in a notebook, with its own SeedGenerator."""
    mistake = next(m for m in variants.MISTAKES if m.name == name)
    namespace = {"keras": keras, "ops": ops, "np": np,
                 "seed_generator": keras.random.SeedGenerator(1)}  # fmt: skip
    exec(mistake.source(), namespace)
    return namespace["sampling"]


def shape_failure(name: str) -> str:
    with pytest.raises(CheckFailed) as failure:
        checks.check_sampling_shape(student_function(name))
    return str(failure.value)


def test_a_failure_inside_a_model_blames_the_batch_size_only_when_it_is_to_blame():
    static = shape_failure("sampling_static_batch_size")
    assert checks.HINTS["static_batch"] in static
    inline = shape_failure("sampling_generator_inside")
    assert checks.HINTS["runs_in_model"] in inline and checks.HINTS["static_batch"] not in inline
    assert "\x1b" not in inline and "Arguments received" not in inline  # Keras's noise trimmed


def test_checks_inside_a_model_keep_tensorflow_quiet_without_the_header():
    """Without course.setup() TensorFlow's logger warns about retracing on stderr, which
    nbgrader punishes; the checks hold it at ERROR while Keras runs, then restore it."""
    from autograder.reference.sampling import sampling

    class Records(logging.Handler):
        def __init__(self):
            super().__init__()
            self.records = []

        def emit(self, record):
            self.records.append(record)

    logger, records = logging.getLogger("tensorflow"), Records()
    level = logger.level
    logger.setLevel(logging.WARNING)
    logger.addHandler(records)
    try:
        generator = keras.random.SeedGenerator(0)
        for _ in range(4):  # 8 predictions: retracing warnings start at the 5th
            checks.check_sampling_shape_at_run_time(lambda a: sampling(a, generator))
        assert logger.level == logging.WARNING
    finally:
        logger.removeHandler(records)
        logger.setLevel(level)
    assert records.records == []
