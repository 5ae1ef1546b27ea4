"""Notebook 04. Its test cells, run directly: the solution and every acceptable variant pass,
each known mistake fails exactly the cells of the property it breaks, naming its hint, also on
the hidden `iwae_bound` checks' fresh inputs; the fixtures lie where the checks say (log
weights below exp's range, a rise of many standard errors); and the hand-graded written answer
keeps its rubric out of the student version, and in autograder/rubrics/ for the graders."""

from __future__ import annotations

from unittest import mock

import keras
import nbformat
import numpy as np
import pytest
from keras import ops
from scipy import stats
from scipy.special import logsumexp

from autograder.hidden import nb04 as hidden
from autograder.mistakes.nb04 import ACCEPTABLE, IWAE_CELLS, MISTAKES
from autograder.reference import nb04 as reference
from course.checks import CheckFailed
from course.checks import nb04 as checks
from course.checks.nb04 import HINTS
from course.metrics import parse
from tests.nbgrader_cells import ROOT, GradedCells, cells_by_role, source_notebook

ASSIGNMENT = "04_elbo_derivation"
ALL_SOLUTIONS, TESTS, POINTS = cells_by_role(ASSIGNMENT)
WRITTEN = {
    cell.metadata["nbgrader"]["grade_id"]: cell
    for cell in source_notebook(ASSIGNMENT).cells
    if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("solution")
}
SOLUTIONS = {k: v for k, v in ALL_SOLUTIONS.items() if k not in WRITTEN}
RUBRIC = ROOT / "autograder" / "rubrics" / f"{ASSIGNMENT}.md"


GRADED = GradedCells(
    ASSIGNMENT,
    {"keras": keras, "ops": ops, "np": np, "stats": stats, "logsumexp": logsumexp},
    skip=WRITTEN,
)
namespace_with = GRADED.namespace
run_cells = GRADED.run


def test_every_graded_function_has_test_cells():
    assert set(SOLUTIONS) == {"elbo_estimate", "iwae_bound"}
    elbo_cells = {grade_id for grade_id in TESTS if grade_id.startswith("elbo_")}
    assert set(TESTS) == elbo_cells | set(IWAE_CELLS)
    assert sum(POINTS[cell] for cell in elbo_cells) == 7
    assert sum(POINTS[cell] for cell in IWAE_CELLS) == 7


def test_the_written_answer_is_graded_by_hand():
    assert set(WRITTEN) == {"written_gap"}
    meta = WRITTEN["written_gap"].metadata["nbgrader"]
    assert meta["grade"] and meta["solution"] and not meta["locked"] and meta["points"] == 3
    assert "Rubric for the grader" in WRITTEN["written_gap"].source


def test_the_rubric_file_holds_the_notebooks_model_answer_and_rubric():
    # Graders read it outside formgrader; nb04's generator writes both from one text.
    source = WRITTEN["written_gap"].source
    solution = source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0].strip()
    header, body = RUBRIC.read_text().split("\n\n", 1)
    assert body.strip() == solution
    assert "written_gap" in header and "do not edit" in header
    assert RUBRIC.relative_to(ROOT).as_posix() in solution


TIGHT_LOSERS = [m for m in MISTAKES if "elbo_tight_at_posterior" in m.loses]


@pytest.mark.parametrize("mistake", TIGHT_LOSERS, ids=lambda m: m.name)
def test_the_tightness_check_names_each_mistake(mistake):
    failures = run_cells(namespace_with({mistake.target: mistake.source()}))
    assert HINTS[mistake.hint] in failures["elbo_tight_at_posterior"]


def tight_failure(function, mistakes=None) -> str:
    """The message of `check_tight` on the visible fixture, given or without known values."""
    from course.checks import nb04 as checks
    from course.checks.core import expected_values

    reference = expected_values("nb04")["tight"]
    inputs = {**checks.elbo_fixture("tight"), "q_mean": np.array(reference["q_mean"]),
              "q_log_var": np.array(reference["q_log_var"])}  # fmt: skip
    with pytest.raises(CheckFailed) as error:
        checks.check_tight(function, inputs, reference["log_evidence"], "here", mistakes)
    return str(error.value)


def test_a_sum_over_samples_is_named_without_known_values():
    # Hidden checks on random models have no stored values: the pattern alone names it.
    summed = next(m for m in MISTAKES if m.hint == "sum_over_samples")
    assert HINTS["sum_over_samples"] in tight_failure(summed.function)


def test_an_unknown_noisy_mistake_is_not_blamed_on_estimator_b():
    half_prior = (
        "def elbo_estimate(x, q_mean, q_log_var, epsilon, W, b, noise_std):\n"
        "    z = q_mean + ops.exp(0.5 * q_log_var) * epsilon\n"
        "    x_mean = ops.matmul(z, ops.transpose(W)) + b\n"
        "    log_likelihood = -0.5 * ops.sum(\n"
        "        ops.square((x - x_mean) / noise_std) + np.log(2 * np.pi * noise_std**2), axis=1\n"
        "    )\n"
        "    log_prior = -ops.sum(ops.square(z) + 0.5 * np.log(2 * np.pi), axis=1)\n"
        "    log_q = -0.5 * ops.sum(ops.square(epsilon) + q_log_var + np.log(2 * np.pi), axis=1)\n"
        "    return ops.mean(log_likelihood + log_prior - log_q)\n"
    )
    message = run_cells(namespace_with({"elbo_estimate": half_prior}))["elbo_tight_at_posterior"]
    assert "one of the three log-densities is wrong" in message
    assert not [key for key, hint in HINTS.items() if hint in message]


EXACT_EVIDENCE = (
    "def {name}(x, q_mean, q_log_var, epsilon, W, b, noise_std):\n"
    "    # log N(x; b, W W^T + noise_std^2 I): exact, and blind to q and the noise\n"
    "    covariance = W @ W.T + noise_std**2 * np.eye(len(x))\n"
    "    return stats.multivariate_normal(b, covariance).logpdf(x)\n"
)


@pytest.mark.parametrize(
    "name, cell",
    [("elbo_estimate", "elbo_tight_at_posterior"), ("iwae_bound", "iwae_tight_at_posterior")],
)
def test_the_exact_evidence_alone_does_not_earn_tightness(name, cell):
    # It equals the bound at the posterior, so only moving q away from it tells the two apart.
    failures = run_cells(namespace_with({name: EXACT_EVIDENCE.format(name=name)}))
    assert cell in failures
    assert "standard deviations away from the posterior" in failures[cell]
    # The hidden check on a random model catches it too.
    namespace = namespace_with({name: EXACT_EVIDENCE.format(name=name)})
    hidden_check = hidden.elbo_tight_random if name == "elbo_estimate" else hidden.iwae_tight_random
    with pytest.raises(CheckFailed, match="standard deviations away"):
        hidden_check(namespace[name])


def test_a_per_sample_result_is_reported_as_such():
    per_sample = (
        "def elbo_estimate(x, q_mean, q_log_var, epsilon, W, b, noise_std):\n"
        "    return ops.sum(ops.square(epsilon), axis=1)\n"
    )
    failures = run_cells(namespace_with({"elbo_estimate": per_sample}))
    assert HINTS["per_sample"] in failures["elbo_scalar"]


def test_mixing_float32_constants_is_explained():
    float32_constant = (
        "def elbo_estimate(x, q_mean, q_log_var, epsilon, W, b, noise_std):\n"
        "    z = q_mean + ops.exp(0.5 * q_log_var) * epsilon\n"
        "    return ops.mean(ops.sum(ops.square(z), axis=1) - ops.log(noise_std))\n"
    )
    failures = run_cells(namespace_with({"elbo_estimate": float32_constant}))
    assert "np.log(noise_std)" in failures["elbo_scalar"]


@pytest.mark.slow
def test_the_student_version_has_neither_the_model_answer_nor_the_rubric(tmp_path):
    from autograder import grading

    course = grading.copy_course(tmp_path / "course")
    grading.nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    released = nbformat.read(grading.notebook_path(course, "release", ASSIGNMENT), as_version=4)
    cell = next(c for c in released.cells if c.get("id") == "written-gap")
    assert cell.source.strip() == "YOUR ANSWER HERE"
    text = "\n".join(c.source for c in released.cells)
    for secret in ("Rubric", "Model answer", "Cholesky factor $L$) contains"):
        assert secret not in text


@pytest.mark.slow
def test_notebook_04_reports_its_figures(executed):
    text = executed.text(ASSIGNMENT)
    found = parse(text)
    assert found["naive_mc_error_latent_50"] < -10  # prior sampling fails in 50 dimensions
    assert found["elbo_plus_kl_max_abs_error"] < 1e-8  # Bayes' rule, sample by sample
    # MC-vs-exact z-scores of a correct estimator: above 6 about once in 10^8 runs.
    assert found["elbo_mc_max_abs_z"] < 6
    assert found["best_diagonal_gap"] > 0.1  # a correlated posterior: no diagonal q is exact
    assert found["elbo_gap_at_posterior"] < 1e-8  # the bound is tight at the posterior...
    assert found["elbo_std_at_posterior"] < 1e-8  # ...with zero variance
    # The importance-weighted bound: at k = 1 the best diagonal q's gap is its ELBO's gap; the
    # wide q start far below and end closer to log p(x) than the narrow one (Section 7's text).
    assert abs(found["iwae_gap_best_diagonal_k1"] - found["best_diagonal_gap"]) < 0.2
    assert found["iwae_gap_prior_k1"] > 20 and found["iwae_gap_unit_variance_k1"] > 20
    assert 0.1 < found["iwae_gap_best_diagonal_k1024"] < 0.25
    assert found["iwae_gap_unit_variance_k1024"] < 0.05 and found["iwae_gap_prior_k1024"] < 0.05
    assert found["iwae_overtaken_by_k"] <= 64
    assert "Mode: FAST" in text


# ----------------------------------------------------------------------------- iwae_bound


def test_the_stability_fixtures_are_outside_the_range_of_exp():
    """Every log weight below -745.2, so that exp of each one is 0 and a naive log gives -inf;
    and the other hidden fixtures keep every log weight above -700, so that it does not."""
    assert reference.elbo_terms(**checks.iwae_fixture("stable")).max() < -745.2
    for seed in range(50):
        for kind in ("values", "k1", "stable", "grows", "tight"):
            inputs = hidden.random_iwae_inputs(np.random.default_rng(seed), kind)
            log_weights = reference.elbo_terms(**inputs)
            if kind == "stable":
                assert log_weights.max() < -745.2, (kind, seed)
            else:
                assert log_weights.min() > -700.0, (kind, seed)
    for name in ("k1", "fixed_noise", "tight"):
        assert reference.elbo_terms(**checks.iwae_fixture(name)).min() > -700.0, name


def test_k1_is_the_reference_elbo_on_the_same_samples():
    inputs = checks.iwae_fixture("k1")
    elbo = reference.elbo_estimate(**{**inputs, "epsilon": inputs["epsilon"][:, 0]})
    assert reference.iwae_bound(**inputs) == pytest.approx(elbo, abs=1e-12)


def _true_rise_in_standard_errors(inputs, rng, repeats=40):
    """(L_kmax - L_1) over the standard error of the check's difference, by simulation."""
    ks = checks.IWAE_KS
    latent_dim = len(inputs["q_mean"])
    sizes = (checks.IWAE_GROUPS, checks.IWAE_GROUP_DRAWS)
    means, errors = [], []
    for k in (ks[0], ks[-1]):
        shape = (sizes[1], k, latent_dim)
        groups = [
            [reference.iwae_bound(**{**inputs, "epsilon": rng.normal(size=shape)})
             for _ in range(sizes[0])]
            for _ in range(repeats)
        ]  # fmt: skip
        averages = np.mean(groups, axis=1)
        means.append(averages.mean())
        errors.append(np.std(groups, axis=1, ddof=1).mean() / np.sqrt(sizes[0]))
    return (means[1] - means[0]) / np.hypot(*errors)


@pytest.mark.slow
def test_the_growth_fixtures_rise_by_many_standard_errors():
    """The growth check's only test whose false-fail rate depends on the model: on the visible
    model and on hidden ones, the true rise is at least 12 standard errors (its threshold is
    7.8), so a correct bound fails it with probability far below 1e-6."""
    rng = np.random.default_rng(1)
    assert _true_rise_in_standard_errors(checks.iwae_fixture("grows"), rng) > 12
    for seed in range(40):
        inputs = hidden.random_iwae_inputs(np.random.default_rng(seed), "grows")
        assert _true_rise_in_standard_errors(inputs, rng, repeats=4) > 12, seed


HIDDEN_IWAE = {
    "iwae_shape": lambda f: hidden.iwae_shapes_random(f),
    "iwae_k1_is_elbo": lambda f: hidden.iwae_on_random_inputs(f, "k1", "with k = 1"),
    "iwae_fixed_noise": lambda f: hidden.iwae_on_random_inputs(f, "values", "on a random model"),
    "iwae_stable": lambda f: hidden.iwae_on_random_inputs(f, "stable", "far away"),
    "iwae_grows_with_k": lambda f: hidden.iwae_grows_random(f),
    "iwae_tight_at_posterior": lambda f: hidden.iwae_tight_random(f),
}


# The growth check reads only averages over fresh noise: the mistakes it can name by their
# pattern. The others it fails with the general hint; the cells with stored values name them.
NAMED_BY_GROWTH = {"iwae_missing_log_k", "iwae_divides_by_k", "iwae_max_not_added_back",
                   "iwae_mean_of_log_weights"}  # fmt: skip


def _hidden_verdict(function, cell, seed):
    """The failure message of the hidden check of `cell` at `seed` (None: passed)."""
    with mock.patch.object(hidden, "fresh_rng", lambda: np.random.default_rng(seed)):
        try:
            HIDDEN_IWAE[cell](function)
        except CheckFailed as error:
            return str(error)
    return None


@pytest.mark.parametrize("cell", list(HIDDEN_IWAE))
def test_hidden_iwae_checks_judge_every_variant_alike_over_many_seeds(cell, capsys):
    """On fresh inputs every known mistake loses the same cells as on the visible ones, with
    its hint, and every acceptable variant passes (the judged tests draw one seed only)."""
    variants = [v for v in MISTAKES + ACCEPTABLE if v.target == "iwae_bound"]
    seeds = range(3) if cell == "iwae_grows_with_k" else range(8)
    for seed in seeds:
        for variant in variants:
            message = _hidden_verdict(variant.function, cell, seed)
            assert (message is not None) == (cell in variant.loses), (variant.name, seed, message)
            named = cell != "iwae_grows_with_k" or variant.hint in NAMED_BY_GROWTH
            if message is not None and cell != "iwae_shape" and named:
                assert HINTS[variant.hint] in message, (variant.name, seed, message)
    capsys.readouterr()  # the checks' "Passed: ..." lines


def test_log_weights_returned_unreduced_are_explained():
    unreduced = (
        "def iwae_bound(x, q_mean, q_log_var, epsilon, W, b, noise_std):\n"
        "    return ops.sum(ops.square(epsilon), axis=-1)\n"
    )
    failures = run_cells(namespace_with({"iwae_bound": unreduced}))
    assert set(failures) == set(IWAE_CELLS)
    assert "look like the log weights" in failures["iwae_shape"]
