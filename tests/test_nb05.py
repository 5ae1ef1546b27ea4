"""Notebook 05. Its test cells, run directly: the solution and every acceptable variant pass,
each known mistake fails exactly the cells of the property it breaks, naming its hint."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from course.checks.nb05 import HINTS
from course.metrics import parse
from tests.nbgrader_cells import GradedCells, cells_by_role

SOLUTIONS, TESTS, POINTS = cells_by_role("05_closed_form_kl")


GRADED = GradedCells("05_closed_form_kl", {"keras": keras, "ops": ops, "np": np})
namespace_with = GRADED.namespace
run_cells = GRADED.run


def test_every_graded_function_has_test_cells():
    assert set(SOLUTIONS) == {"kl_divergence", "gaussian_kl"}
    assert sum(POINTS.values()) == 10
    assert POINTS["kl_gradient"] == 1  # gradients must reach the encoder, visibly
    assert all(grade_id.startswith(("kl_", "gaussian_kl_")) for grade_id in TESTS)


def test_an_absolute_value_of_the_mean_is_told_to_square_it():
    absolute = (
        "def kl_divergence(t_mean, t_log_var):\n"
        "    return 0.5 * ops.sum(ops.abs(t_mean) + ops.exp(t_log_var) - 1 - t_log_var, axis=1)\n"
    )
    failures = run_cells(namespace_with({"kl_divergence": absolute}))
    assert "kl_symmetry" not in failures  # |mu| is symmetric: the hint must not claim otherwise
    assert HINTS["mean_not_squared"] in failures["kl_known_values"]
    assert HINTS["mean_not_squared"].startswith("The KL depends on mu only through mu^2")


def test_known_values_come_from_the_reference():
    from autograder.reference.nb05 import kl_divergence
    from course.checks.core import expected_values
    from course.checks.nb05 import known_values_fixture

    expected = expected_values("nb05")["kl"]["known_values"]["expected"]
    assert expected == pytest.approx(kl_divergence(*known_values_fixture()), abs=1e-6)
    assert expected[1:] == pytest.approx([2.0, 0.5 * (np.exp(2.0) - 3.0)], abs=1e-6)


@pytest.mark.slow
def test_notebook_05_reports_its_figures(executed):
    text = executed.text("05_closed_form_kl")
    found = parse(text)
    assert found["kl_quad_max_abs_error"] < 1e-6  # quadrature agrees with the closed form
    assert found["gaussian_kl_diagonal_max_abs_diff"] < 1e-9  # the two exercises agree
    # A correct formula gives z-scores like N(0, 1) draws: above 6 once in 10^8 runs.
    assert found["kl_mc_max_abs_z"] < 6
    assert found["gaussian_kl_mc_max_abs_z"] < 6
    assert "Mode: FAST" in text
