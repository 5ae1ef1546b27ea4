"""Notebook 07. Its test cells, run directly: the solution and every acceptable variant pass,
each known mistake fails exactly the cells of the property it breaks, naming its hint."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers, ops

from course import SEED
from course.metrics import parse
from tests.nbgrader_cells import GradedCells, cells_by_role, source_notebook

ASSIGNMENT = "07_frey_face_vae"
SOLUTIONS, TESTS, POINTS = cells_by_role(ASSIGNMENT)
# The locked cell the VAE class relies on: the model's parts (Sampling, kl_divergence).
MODEL_CELLS = [cell.source for cell in source_notebook(ASSIGNMENT).cells
               if cell.get("id") == "model-parts"]  # fmt: skip


GRADED = GradedCells(
    ASSIGNMENT,
    {"keras": keras, "ops": ops, "np": np, "tf": tf, "layers": layers, "SEED": SEED},
    then=MODEL_CELLS,
)
namespace_with = GRADED.namespace
run_cells = GRADED.run


def test_the_graded_code_has_its_test_cells():
    assert len(MODEL_CELLS) == 1
    assert set(SOLUTIONS) == {"gaussian_nll", "VAE", "kl_monte_carlo"}  # the last: not graded
    assert set(TESTS) == {"nll_shape", "nll_known_values", "nll_random", "vae_loss",
                          "vae_train_step", "vae_learns"}  # fmt: skip
    assert sum(POINTS.values()) == 12
    assert POINTS["vae_train_step"] == 3 and POINTS["vae_learns"] == 2


def test_the_given_part_of_the_vae_class_is_the_notebooks():
    """The mistakes' GivenVAE is the class cell's given code: docstring, constructor,
    metrics and test_step, statement for statement."""
    import ast

    from autograder.mistakes.nb07 import GivenVAE, Variant

    def members(code):
        (node,) = ast.parse(code).body
        found = {"__doc__": ast.get_docstring(node), "__bases__": ast.dump(node.bases[0])}
        for item in node.body:
            if isinstance(item, ast.FunctionDef):
                found[item.name] = ast.dump(item)
        return found

    notebook = members(SOLUTIONS["VAE"])
    given = members(Variant(GivenVAE, "VAE").source())
    assert set(given) == {"__doc__", "__bases__", "__init__", "metrics", "test_step"}
    assert all(notebook[name] == value for name, value in given.items())


def test_a_class_variant_is_one_class_under_the_graded_name():
    from autograder.mistakes.nb07 import MISTAKES

    mistake = next(m for m in MISTAKES if m.name == "vae_trackers_not_updated")
    code = mistake.source()
    assert code.startswith("class VAE(keras.Model):\n")
    assert "GivenVAE" not in code and "_Right" not in code
    assert code.count("def update_trackers(") == 1 and code.count("def train_step(") == 1
    assert "update_state" not in code.split("def update_trackers(")[1].split("def ")[0]


def test_the_hand_computed_gradients_are_tensorflows():
    """The reference's backpropagation, written out in float64, against TensorFlow's."""
    from autograder.reference import nb07 as reference
    from course.checks import nb07 as checks

    fixture = checks.make_vae_fixture(np.random.default_rng(3), 5, 3, 7, image_shape=(3, 4))
    expected = reference.standin_step(fixture)
    w = {k: tf.Variable(np.asarray(v, np.float64)) for k, v in fixture.items()
         if k not in ("x", "epsilon")}  # fmt: skip
    x = tf.constant(np.asarray(fixture["x"], np.float64).reshape(5, -1))
    epsilon = tf.constant(np.asarray(fixture["epsilon"], np.float64))

    def dense(name, a):
        return a @ w[f"{name}_kernel"] + w[f"{name}_bias"]

    with tf.GradientTape(persistent=True) as tape:
        h = tf.nn.relu(dense("encoder_hidden", x))
        t_mean, t_log_var = dense("encoder_mean", h), dense("encoder_log_var", h)
        g = tf.nn.relu(dense("decoder_hidden", t_mean + tf.exp(0.5 * t_log_var) * epsilon))
        x_mean, x_log_std = tf.sigmoid(dense("decoder_mean", g)), dense("decoder_log_std", g)
        nll = tf.reduce_mean(checks.standin_nll(x, x_mean, x_log_std))
        kl = tf.reduce_mean(checks._closed_form_kl(t_mean, t_log_var))
    for term, value in (("nll", nll), ("kl", kl)):
        assert np.isclose(expected[term], float(value), rtol=1e-12)
        found = tape.gradient(value, w)
        for name in checks.WEIGHT_NAMES:
            got = np.zeros_like(w[name].numpy()) if found[name] is None else found[name].numpy()
            assert np.allclose(expected[f"grad_{term}"][name], got, rtol=1e-10, atol=1e-12)
    assert reference.STANDIN_SCALE == checks.STANDIN_SCALE


def test_the_vae_checks_restore_the_students_gaussian_nll():
    from course.checks import nb07 as checks

    namespace = namespace_with({})
    own = namespace["gaussian_nll"]
    checks.vae_step(namespace["VAE"], checks.step_fixture(), checks.STEP_LEARNING_RATE)
    assert namespace["gaussian_nll"] is own


def test_the_loss_check_depends_on_the_noise_it_fixes():
    """The fixed noise matters: the loss with other noise would not match the reference."""
    from course.checks import nb07 as checks

    namespace = namespace_with({})
    fixture = checks.vae_fixture()
    shifted = dict(fixture, epsilon=fixture["epsilon"] + 1.0)
    logs = checks.vae_losses(namespace["gaussian_nll"], shifted)
    expected = checks.expected_values("nb07")["vae_loss"]["expected"]
    assert not checks.close(logs["loss"], expected["loss"])
    assert checks.close(logs["kl"], expected["kl"])  # the closed-form KL ignores the noise


def test_the_learning_check_measures_the_returned_weights_itself():
    """The loss comes from the weights the training hands back, computed in NumPy as the
    notebook's Keras models would compute it; a forged loss or foreign weights earn nothing."""
    from course.checks import CheckFailed
    from course.checks import nb07 as checks

    vae_class = namespace_with({})["VAE"]
    result = checks.vae_trained(vae_class)
    indices = np.arange(checks.LEARN_EVAL_FACES)
    measured = checks.learned_loss(result, indices, checks.LEARN_SEED)
    encoder, decoder, _ = checks._train(vae_class)
    _, other_faces = checks._learning_faces()
    x = other_faces[indices]
    t_mean, t_log_var = (np.asarray(a, np.float64) for a in encoder(x))
    epsilon = np.random.default_rng(checks.LEARN_SEED).normal(size=t_mean.shape)
    x_mean, x_log_std = decoder((t_mean + np.exp(t_log_var / 2) * epsilon).astype("float32"))
    nll = checks.standin_nll(ops.convert_to_tensor(x), x_mean, x_log_std)
    kl = checks._closed_form_kl(t_mean, t_log_var)
    assert measured["loss"] == pytest.approx(float(np.mean(nll) + np.mean(kl)), rel=1e-4)
    assert measured["loss"] < checks.LEARN_LOSS_MAX
    assert measured["losses"] == result["losses"]

    forged = {"losses": [1.0], "loss": 0.0, "nll": 0.0, "kl": 0.0}
    assert "no weights" in checks.learned_loss(forged, indices, checks.LEARN_SEED)["error"]
    foreign = dict(result["weights"], **{"decoder/x_mean": [np.zeros((3, 3)), np.zeros(3)]})
    error = checks.learned_loss({**result, "weights": foreign}, indices, checks.LEARN_SEED)
    assert "decoder/x_mean" in error["error"]
    with pytest.raises(CheckFailed, match="decoder/x_mean"):
        checks.compare_learning(error, "here")


def test_the_monte_carlo_kl_solution_is_unbiased():
    namespace = namespace_with({})
    rng = np.random.default_rng(0)
    t_mean = np.tile(rng.normal(size=(1, 3)), (200_000, 1)).astype("float32")
    t_log_var = np.tile(rng.uniform(-2, 0.5, size=(1, 3)), (200_000, 1)).astype("float32")
    t = t_mean + np.exp(0.5 * t_log_var) * rng.normal(size=t_mean.shape).astype("float32")
    estimates = ops.convert_to_numpy(namespace["kl_monte_carlo"](t, t_mean, t_log_var))
    closed_form = ops.convert_to_numpy(namespace["kl_divergence"](t_mean[:1], t_log_var[:1]))
    standard_error = estimates.std() / np.sqrt(len(estimates))
    assert abs(estimates.mean() - closed_form[0]) < 5 * standard_error  # fails once in 3.5e6


@pytest.mark.slow
def test_notebook_07_reports_its_figures(executed):
    text = executed.text(ASSIGNMENT)
    found = parse(text)
    assert {"val_elbo", "val_kl", "epochs_trained", "best_epoch", "training_seconds"} <= set(found)
    assert found["epochs_trained"] == 2 and 1 <= found["best_epoch"] <= 2
    # After two short epochs the decoder has barely begun: its ELBO is finite and far below
    # the full run's +800, but above that of a decoder that outputs sigma = 1 everywhere
    # (-560 * 0.5 * log(2 pi) = -515 nats, minus the squared errors).
    assert -515 < found["val_elbo"] < 800
    assert 0 <= found["val_kl"] < 100
    assert "Mode: FAST" in text


def test_a_training_history_that_holds_no_numbers_does_not_break_the_learning_check():
    """The losses per epoch only inform the message: a train_step that reports a string, or a
    fit that returns no history, is graded on the weights it trained like any other."""
    from course.checks import nb07 as checks

    namespace = namespace_with({})
    exec(  # in the notebook's namespace, as a student's cell would define them
        "class Wordy(VAE):\n"
        "    def train_step(self, data):\n"
        "        super().train_step(data)\n"
        "        return {'loss': 'abc'}\n"
        "class Silent(VAE):\n"
        "    def fit(self, *args, **kwargs):\n"
        "        super().fit(*args, **kwargs)\n",
        namespace,
    )
    for name in ("Wordy", "Silent"):
        result = checks.vae_trained(namespace[name])
        assert "error" not in result, result["error"]
        assert result["losses"] == []
        indices = np.arange(checks.LEARN_EVAL_FACES)
        assert checks.learned_loss(result, indices, checks.LEARN_SEED)["loss"] < 290
        checks.check_vae_learns(namespace[name])
