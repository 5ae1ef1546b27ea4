"""Helpers shared by the course notebooks: configuration, datasets, plots and checks.

Importing this package first keeps TensorFlow's C++ logging quiet. nbgrader gives zero
points to a test cell that writes anything to stderr, so the course never lets
TensorFlow's start-up chatter reach a graded cell.
"""

import os

# Must be set before TensorFlow is imported anywhere in the process.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from course.config import (  # noqa: E402
    DATA_MODE,
    FAST,
    IN_COLAB,
    SEED,
    data_dir,
    describe,
    pick,
    setup,
)

__all__ = ["DATA_MODE", "FAST", "IN_COLAB", "SEED", "data_dir", "describe", "pick", "setup"]
