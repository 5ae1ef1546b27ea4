"""Notebook 08. Its test cells, run directly: the solution and every acceptable variant pass,
each known mistake fails exactly the cells of the property it breaks, naming its hint."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers, ops

from autograder.mistakes.nb08 import MISTAKES
from course import pick
from course.checks.nb08 import HINTS
from course.metrics import parse
from tests.nbgrader_cells import GradedCells, cells_by_role, source_notebook

SOLUTIONS, TESTS, POINTS = cells_by_role("08_conditional_vae")
# The given builders and the NegativeVLB layer, which build_cvae uses.
BUILDERS = next(
    cell.source
    for cell in source_notebook("08_conditional_vae").cells
    if cell.get("id") == "vae-builders"
)

GRADED = GradedCells(
    "08_conditional_vae",
    {"keras": keras, "layers": layers, "ops": ops, "np": np, "pick": pick,
     "seed_generator": keras.random.SeedGenerator(1)},
    then=(BUILDERS,),
)  # fmt: skip
namespace_with = GRADED.namespace
run_cells = GRADED.run


def test_every_graded_function_has_test_cells():
    assert set(SOLUTIONS) == {"vlb_binomial", "sampling", "build_cvae"}
    assert sum(POINTS.values()) == 20
    assert all(grade_id.split("_")[0] in {"vlb", "sampling", "cvae"} for grade_id in TESTS)


def test_a_wrong_shape_is_reported_as_such():
    per_example = (
        "def vlb_binomial(x, x_decoded_mean, t_mean, t_log_var):\n"
        "    return ops.sum(ops.square(t_mean), axis=1)\n"
    )
    failures = run_cells(namespace_with({"vlb_binomial": per_example}))
    assert HINTS["per_example"] in failures["vlb_scalar"]


def test_noise_shared_across_latent_dimensions_is_caught():
    """One draw per example reused in every latent dimension passes shape and gradients only."""
    mistake = next(m for m in MISTAKES if m.name == "sampling_one_noise_per_example")
    failures = run_cells(namespace_with({"sampling": mistake.source()}))
    assert set(failures) == {"sampling_statistics", "sampling_fresh_noise"}
    assert HINTS["noise_per_dimension"] in failures["sampling_fresh_noise"]


def test_the_grading_tests_still_submit_the_same_first_sampling_mistake():
    """New sampling mistakes go after the first, which the end-to-end grading tests submit."""
    first = next(m for m in MISTAKES if m.target == "sampling")
    assert first.name == "sampling_variance_as_std"


@pytest.mark.slow
def test_notebook_08_reports_its_figures(executed):
    text = executed.text("08_conditional_vae")
    found = parse(text)
    assert {"vae_val_loss", "cvae_val_loss", "cvae_nearest_mean_accuracy"} <= set(found)
    assert 0 < found["vae_val_loss"] < 550  # below log(2) * 784 nats: it learned something
    assert "Mode: FAST" in text
