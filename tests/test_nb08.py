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
    # Fast mode's CVAE draws the digit asked for (0.72 measured; chance is 0.10).
    assert found["cvae_nearest_mean_accuracy"] > 0.4
    assert "Mode: FAST" in text


def cvae_result(seed=None, monkeypatch=None):
    """The solution's CVAE trained as grading trains it (with another weight seed if given)."""
    from course.checks import nb08

    if seed is not None:
        monkeypatch.setattr(nb08, "CVAE_SEED", seed)
    build_cvae = namespace_with()["build_cvae"]
    return nb08, build_cvae, nb08.cvae_trained(build_cvae, np.arange(nb08.CVAE_EVAL_DIGITS), 0)


def test_one_grading_run_trains_the_cvae_once():
    """The cells that judge the trained CVAE share one training per build_cvae."""
    nb08, build_cvae, first = cvae_result()
    trained = nb08._TRAINED[1]
    again = nb08.cvae_trained(build_cvae, np.arange(10, 20), 7)
    assert nb08._TRAINED[1] is trained and again["losses"] == first["losses"]
    assert not np.array_equal(again["samples"], first["samples"])  # other codes


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_the_reference_cvae_passes_with_a_margin(seed, monkeypatch):
    """Other weight seeds than grading's stay well inside every threshold of the trained CVAE."""
    nb08, _, result = cvae_result(seed, monkeypatch)
    samples = result["samples"].astype(np.float64)
    assert result["eval_loss"] < nb08.CVAE_LOSS_MAX - 2
    mean_ratio = samples.mean() / result["data_mean"]
    variance_ratio = samples.var(axis=0).mean() / result["data_pixel_variance"]
    assert nb08.CVAE_MEAN_RATIO[0] + 0.1 < mean_ratio < nb08.CVAE_MEAN_RATIO[1] - 0.1
    assert nb08.CVAE_VARIANCE_RATIO[0] * 2 < variance_ratio < nb08.CVAE_VARIANCE_RATIO[1] / 2
    accuracy = nb08.nearest_mean_accuracy(samples, result["sample_labels"], result["mean_images"])
    assert accuracy > nb08.CVAE_ACCURACY_MIN + 0.15


LOOKUP = """
class _ReportsNothing(layers.Layer):
    def call(self, x, x_decoded_mean, t_mean, t_log_var):
        self.add_loss(0.0 * ops.mean(t_mean) + 0.0 * ops.mean(x_decoded_mean))
        return x_decoded_mean


def build_cvae(latent_dim, n_classes):
    from course.checks.nb08 import _grading_digits

    x_train, y_train = _grading_digits()[:2]
    means = np.stack([x_train[y_train == d].mean(axis=0) for d in range(n_classes)])
    encoder = build_encoder(784 + n_classes, latent_dim)
    x, label = keras.Input(shape=(784,)), keras.Input(shape=(n_classes,))
    t_mean, t_log_var = encoder(layers.Concatenate()([x, label]))
    cond_encoder = keras.Model([x, label], [t_mean, t_log_var])
    t, t_label = keras.Input(shape=(latent_dim,)), keras.Input(shape=(n_classes,))
    from_label = layers.Dense(784, use_bias=False, trainable=False,
                              kernel_initializer=keras.initializers.Constant(means))(t_label)
    from_code = layers.Dense(784, use_bias=False,
                             kernel_initializer=keras.initializers.RandomNormal(stddev=0.05))(t)
    pixels = layers.Activation("relu")(layers.Add()([from_label, from_code]))
    cond_decoder = keras.Model([t, t_label], pixels)
    sample = layers.Lambda(sampling)([t_mean, t_log_var])
    decoded = cond_decoder([sample, label])
    cvae = keras.Model([x, label], _ReportsNothing()(x, decoded, t_mean, t_log_var))
    return cond_encoder, cond_decoder, cvae
"""


@pytest.mark.slow
def test_a_model_that_needs_no_training_does_not_pass_for_one_that_learned():
    """A decoder that looks up each digit's mean image, with a loss that reports 0, has
    digit-like samples from the start: the checks measure the loss themselves, before and
    after training, and it does not fall."""
    failures = run_cells(namespace_with({"build_cvae": LOOKUP}))
    assert {"cvae_learns", "cvae_samples"} <= set(failures)
    assert "hardly changed your models" in failures["cvae_learns"]
