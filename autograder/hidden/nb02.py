"""Hidden checks for notebook 02: the same properties at other code sizes and on another batch.

Every check that draws a code size takes its seed from `fresh_rng` (see `autograder.hidden`).
The training check is deterministic (a fixed batch and a fixed build seed), so it never
fails a correct answer by chance.
"""

from __future__ import annotations

from autograder.hidden import fresh_rng, private_values
from course.checks import nb02 as visible
from course.checks.core import passed

PRIVATE = private_values("nb02")

# Code sizes a student's builder must handle; 2 is the visible checks' own.
OTHER_CODE_DIMS = (1, 3, 4, 5, 8, 10, 16, 32)


def _code_dims(count: int) -> list[int]:
    rng = fresh_rng()
    return [int(d) for d in rng.choice(OTHER_CODE_DIMS, size=count, replace=False)]


def shapes_at_other_code_dims(build_strided_autoencoder):
    """Output shapes at two random code sizes other than 2."""
    for code_dim in _code_dims(2):
        visible.check_shapes(build_strided_autoencoder, code_dim)
    passed("the shapes are right at other code sizes too.")


def no_pooling_at_another_code_dim(build_strided_autoencoder):
    (code_dim,) = _code_dims(1)
    visible.check_no_pooling(build_strided_autoencoder, code_dim)


def encoder_strides_at_another_code_dim(build_strided_autoencoder):
    (code_dim,) = _code_dims(1)
    visible.check_encoder_strides(build_strided_autoencoder, code_dim)


def decoder_mirror_at_another_code_dim(build_strided_autoencoder):
    (code_dim,) = _code_dims(1)
    visible.check_decoder_mirror(build_strided_autoencoder, code_dim)


def trains_on_hidden_batch(build_strided_autoencoder):
    """A few steps cut the loss on a batch and at a code size never shown to students."""
    spec = PRIVATE["trains_fixture"]
    visible.check_trains(build_strided_autoencoder, spec["code_dim"], batch_seed=spec["seed"])
