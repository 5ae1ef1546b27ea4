"""Notebook 05. Its test cells, run directly: the solution and every acceptable variant pass,
each known mistake fails exactly the cells of the property it breaks, naming its hint, also on
the hidden checks' fresh inputs; and what Section 7 claims about the forward KL holds."""

from __future__ import annotations

from unittest import mock

import keras
import numpy as np
import pytest
from keras import ops
from scipy import stats
from scipy.special import logsumexp

from autograder.hidden import nb05 as hidden
from autograder.mistakes.nb05 import ACCEPTABLE, MISTAKES, MOMENT_CELLS
from autograder.reference import nb05 as reference
from course.checks import CheckFailed
from course.checks import nb05 as checks
from course.checks.nb05 import HINTS
from course.metrics import parse
from tests.nbgrader_cells import GradedCells, cells_by_role

SOLUTIONS, TESTS, POINTS = cells_by_role("05_closed_form_kl")


GRADED = GradedCells("05_closed_form_kl", {"keras": keras, "ops": ops, "np": np})
namespace_with = GRADED.namespace
run_cells = GRADED.run


def test_every_graded_function_has_test_cells():
    assert set(SOLUTIONS) == {"kl_divergence", "gaussian_kl", "moment_matched_gaussian"}
    assert sum(POINTS.values()) == 16
    assert sum(POINTS[cell] for cell in MOMENT_CELLS) == 6
    assert POINTS["kl_gradient"] == 1  # gradients must reach the encoder, visibly
    assert all(grade_id.startswith(("kl_", "gaussian_kl_", "moment_")) for grade_id in TESTS)


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


MOMENT_VARIANTS = [v for v in MISTAKES + ACCEPTABLE if v.target == "moment_matched_gaussian"]


def test_the_known_mixtures_give_the_values_worked_out_by_hand():
    known = checks.expected_values("nb05")["moment"]["known"]
    one_d, two_d, single = (case["expected"] for case in known)
    assert one_d["mean"] == pytest.approx([0.0]) and one_d["covariance"] == [[pytest.approx(4.36)]]
    assert two_d["mean"] == pytest.approx([2.0, 0.5])
    assert np.allclose(two_d["covariance"], [[1.5, 0.5], [0.5, 0.75]], rtol=0, atol=1e-12)
    _, means, covariances = checks.known_moment_fixtures()[2]
    assert np.allclose(single["mean"], means[0]) and np.allclose(single["covariance"],
                                                                 covariances[0])  # fmt: skip


def _grid_kl(log_first, log_second, grid):
    return np.trapezoid(np.exp(log_first) * (log_first - log_second), grid)


def test_the_forward_kl_is_the_components_kls_plus_a_constant_and_moment_matching_wins():
    """Section 7's claims, by quadrature on a 1-D mixture: KL(p || q) minus
    sum_k w_k KL(p_k || q) is the same for every q; KL(p || q) = KL(p || g) + KL(g || q); and
    no q on a grid beats g."""
    grid = np.linspace(-20.0, 20.0, 80_001)
    inputs = (np.array([2.0, 1.0, 1.0]), np.array([[-2.0], [0.5], [3.0]]),
              np.array([[[0.3]], [[1.0]], [[0.5]]]))  # fmt: skip
    weights = inputs[0] / inputs[0].sum()
    log_p = logsumexp([np.log(w) + stats.norm.logpdf(grid, m[0], np.sqrt(c[0, 0]))
                       for w, m, c in zip(weights, *inputs[1:])], axis=0)  # fmt: skip
    mean, covariance = reference.moment_matched_gaussian(*inputs)
    log_g = stats.norm.logpdf(grid, mean[0], np.sqrt(covariance[0, 0]))
    gaps, forward = [], {}
    for m in np.linspace(-1.0, 2.0, 7):
        for s in np.linspace(1.0, 3.5, 6):
            log_q = stats.norm.logpdf(grid, m, s)
            forward[m, s] = _grid_kl(log_p, log_q, grid)
            gaps.append(forward[m, s] - checks.forward_kl_up_to_constant(
                inputs, np.array([m]), np.array([[s**2]])))  # fmt: skip
            pythagoras = _grid_kl(log_p, log_g, grid) + _grid_kl(log_g, log_q, grid)
            assert forward[m, s] == pytest.approx(pythagoras, abs=1e-9)
    assert np.ptp(gaps) < 1e-9
    assert min(forward.values()) > _grid_kl(log_p, log_g, grid)


@pytest.mark.parametrize("seed", range(40))
def test_the_stationarity_check_has_the_margins_its_constants_state(seed):
    """At the reference answer every nudge raises the KL by at least MOMENT_STEP^2 / 4; an
    answer off by the value tolerance lowers it by far less than MOMENT_KL_DROP; and every
    known mistake that keeps q a Gaussian lowers it by 1e-6 nats or more."""
    rng = np.random.default_rng(seed)
    inputs = hidden.random_mixture(rng, "stationary")
    mean, covariance = reference.moment_matched_gaussian(*inputs)
    at_answer = checks.forward_kl_up_to_constant(inputs, mean, covariance)
    rises = [checks.forward_kl_up_to_constant(inputs, m, c) - at_answer
             for _, m, c in checks.nudges(mean, covariance)]  # fmt: skip
    assert min(rises) >= 0.99 * checks.MOMENT_STEP**2 / 4
    error = rng.uniform(-1, 1, covariance.shape) * (checks.MOMENT_ATOL + checks.MOMENT_RTOL
                                                    * np.abs(covariance))  # fmt: skip
    off_mean = mean + checks.MOMENT_ATOL * rng.uniform(-1, 1, mean.shape)
    off_covariance = covariance + (error + error.T) / 2
    off = checks.forward_kl_up_to_constant(inputs, off_mean, off_covariance)
    drops = [off - checks.forward_kl_up_to_constant(inputs, m, c)
             for _, m, c in checks.nudges(off_mean, off_covariance)]  # fmt: skip
    assert max(drops) < checks.MOMENT_KL_DROP / 3
    for mistake in MISTAKES:
        if "moment_stationary" in mistake.loses:
            wrong_mean, wrong_covariance = mistake.function(*(np.array(a) for a in inputs))
            wrong = checks.forward_kl_up_to_constant(inputs, wrong_mean, wrong_covariance)
            if wrong is None:  # no Gaussian at all: the check says so
                with pytest.raises(CheckFailed, match="not positive definite"):
                    checks.check_stationary((wrong_mean, wrong_covariance), inputs, {}, "")
                continue
            moved = [checks.forward_kl_up_to_constant(inputs, m, c)
                     for _, m, c in checks.nudges(wrong_mean, wrong_covariance)]  # fmt: skip
            assert max(wrong - f for f in moved if f is not None) >= 1e-6, mistake.name


def _moment_fixtures_and_hidden_draws():
    for name in ("known", "weights", "random", "stationary"):
        yield from checks.moment_fixtures(name)
    for name in hidden.MOMENT_RANGES:
        for seed in range(30):
            yield hidden.random_mixture(np.random.default_rng(seed), name)


def test_every_mistake_is_right_or_far_off_and_every_variant_is_close():
    """The value tolerance's reasons: a known mistake is exactly right on a fixture or off by
    1e-3 or more; each acceptable variant (float32 included) is well within the tolerance."""
    smallest = np.inf
    for inputs in _moment_fixtures_and_hidden_draws():
        mean, covariance = reference.moment_matched_gaussian(*inputs)
        expected = np.concatenate([mean, covariance.ravel()])
        for variant in MOMENT_VARIANTS:
            with np.errstate(all="ignore"):
                try:
                    value = [np.asarray(ops.convert_to_numpy(a), np.float64) for a in
                             variant.function(*(np.array(a) for a in inputs))]  # fmt: skip
                except ValueError:
                    continue  # shapes that do not broadcast: the shape checks name those
            if value[1].shape != covariance.shape:
                continue
            flat = np.concatenate([value[0], value[1].ravel()])
            error = np.max(np.abs(flat - expected))
            if variant.loses:
                if np.isfinite(error) and error > 1e-9:
                    smallest = min(smallest, error)
            else:
                assert checks.close(flat, expected, checks.MOMENT_RTOL / 10,
                                    checks.MOMENT_ATOL / 10), variant.name  # fmt: skip
    assert smallest >= 1e-3


def _hidden_verdict(function, name, seed):
    """The failure message of the hidden moment check `name` at `seed` (None: passed)."""
    with mock.patch.object(hidden, "fresh_rng", lambda: np.random.default_rng(seed)):
        try:
            if name == "shapes":
                hidden.moment_shapes(function)
            elif name == "stationary":
                hidden.moment_stationary(function)
            else:
                hidden.moment_on_random_inputs(function, name)
        except CheckFailed as error:
            return str(error)
    return None


@pytest.mark.parametrize("name", list(hidden.MOMENT_RANGES))
def test_hidden_moment_checks_judge_every_variant_alike_over_many_seeds(name, capsys):
    """On fresh mixtures every known mistake loses the same cells as on the visible ones, with
    its hint, and every acceptable variant passes (the judged tests draw one seed only)."""
    cell = f"moment_{name}"
    for seed in range(12):
        for variant in MOMENT_VARIANTS:
            message = _hidden_verdict(variant.function, name, seed)
            assert (message is not None) == (cell in variant.loses), (variant.name, seed)
            if message is not None:
                assert HINTS[variant.hint] in message, (variant.name, seed, message)
    capsys.readouterr()  # the checks' "Passed: ..." lines


def test_a_covariance_per_component_is_told_to_sum_over_them():
    per_component = (
        "def moment_matched_gaussian(weights, means, covariances):\n"
        "    return weights @ means / weights.sum(), covariances\n"
    )
    failures = run_cells(namespace_with({"moment_matched_gaussian": per_component}))
    assert set(failures) == set(MOMENT_CELLS)
    assert "sum over the components" in failures["moment_shapes"]


def test_a_k_by_k_covariance_is_named():
    wrong_way = (
        "def moment_matched_gaussian(weights, means, covariances):\n"
        "    weights = weights / weights.sum()\n"
        "    offsets = means - weights @ means\n"
        "    return weights @ means, offsets @ (weights[:, None] * offsets).T\n"
    )
    failures = run_cells(namespace_with({"moment_matched_gaussian": wrong_way}))
    assert set(failures) == set(MOMENT_CELLS)
    assert HINTS["outer_wrong_way"] in failures["moment_shapes"]


@pytest.mark.slow
def test_notebook_05_reports_its_figures(executed):
    text = executed.text("05_closed_form_kl")
    found = parse(text)
    assert found["kl_quad_max_abs_error"] < 1e-6  # quadrature agrees with the closed form
    assert found["gaussian_kl_diagonal_max_abs_diff"] < 1e-9  # the two exercises agree
    # A correct formula gives z-scores like N(0, 1) draws: above 6 once in 10^8 runs.
    assert found["kl_mc_max_abs_z"] < 6
    assert found["gaussian_kl_mc_max_abs_z"] < 6
    # Section 8: the grid agrees with quad, and the numerical forward minimum is moment matching.
    assert found["fits_grid_vs_quad_max_abs_error"] < 1e-8
    assert found["forward_fit_vs_moments_max_abs_diff"] < 1e-6
    # Each fit wins in its own direction and loses in the other; the reverse fit is narrower.
    assert found["moment_fit_forward_kl"] < found["reverse_fit_forward_kl"]
    assert found["reverse_fit_reverse_kl"] < found["moment_fit_reverse_kl"]
    assert found["reverse_fit_std"] < 0.5 * np.sqrt(0.3 * 0.25 + 0.7 * 0.64 + 0.21 * 3.5**2)
    assert "Mode: FAST" in text
