"""Visible checks for notebook 08: `vlb_binomial`, `sampling` and `build_cvae`, the
conditional VAE's wiring.

Each `check_*` function is one graded property; the notebook calls it from its own test
cell, so a mistake costs the points of the property it breaks and no more. The `sampling`
checks live in `course.checks.sampling` and are re-exported here under the same names.
"""

from __future__ import annotations

import numpy as np

from course.checks.core import (
    call_student,
    close,
    diagnose,
    expected_values,
    fail,
    kernel_side,
    notebook_names,
    passed,
    quiet_keras,
    replaced_names,
    to_numpy,
)
from course.checks.sampling import HINTS as SAMPLING_HINTS
from course.checks.sampling import (
    SAMPLING_FALSE_FAIL_RATE,
    SAMPLING_N,
    as_tensors,
    check_sampling_fresh_noise,
    check_sampling_gradients,
    check_sampling_shape,
    check_sampling_shape_at_run_time,
    check_sampling_statistics,
    check_statistics,
    compare_gradients,
    fixed_rng,
    predict_quietly,
    sample,
    sampling_gradients,
    sampling_model,
)

__all__ = [
    "HINTS",
    "SAMPLING_FALSE_FAIL_RATE",
    "SAMPLING_N",
    "VLB_ATOL",
    "VLB_FIXTURES",
    "VLB_RTOL",
    "check_sampling_fresh_noise",
    "check_sampling_gradients",
    "check_sampling_shape",
    "check_sampling_shape_at_run_time",
    "check_sampling_statistics",
    "check_statistics",
    "check_vlb_full",
    "check_vlb_kl",
    "check_vlb_reconstruction",
    "check_vlb_scalar",
    "compare_gradients",
    "compare_vlb",
    "make_vlb_inputs",
    "predict_quietly",
    "sample",
    "sampling_gradients",
    "sampling_model",
    "vlb_fixture",
    "vlb_value",
]

N_PIXELS = 784

# Clipping epsilons from 1e-10 to 1e-5, float32 sums over 784 pixels and either order of
# summing and averaging move the bound by less than 2e-4 relative on these fixtures (decoder
# means lie in [0.1, 0.9] wherever they are not exactly 0 or 1): 1e-3 leaves a wide margin,
# while every known mistake moves the value by several percent.
VLB_RTOL = 1e-3
VLB_ATOL = 0.05

HINTS = {
    "mean_over_pixels": (
        "It looks as if the log-likelihood was averaged over pixels. The bound sums "
        "log p(x | t) over all pixels (axis=1) and averages over the batch only."
    ),
    "kl_sign": (
        "The KL term has the wrong sign. KL(q || p) = 1/2 * sum(mu^2 + sigma^2 - 1 - log sigma^2) "
        "is never negative, and the negative bound adds it: KL - log-likelihood."
    ),
    "missing_half": (
        "The KL term is twice too large: did you drop the factor 1/2 in "
        "1/2 * sum(mu^2 + sigma^2 - 1 - log sigma^2)?"
    ),
    "log_var_as_log_std": (
        "t_log_var is the log of the variance: sigma^2 = exp(t_log_var), so log sigma^2 is "
        "t_log_var itself. It looks as if it was read as the log of the standard deviation."
    ),
    "sum_over_batch": (
        "The result is batch_size times too large: average over the batch with ops.mean, don't sum."
    ),
    "log_of_zero": (
        "The result is NaN or infinite: log(0) where x_decoded_mean is exactly 0 or 1. "
        "Keep it away from 0 and 1 first, e.g. ops.clip(x_decoded_mean, 1e-7, 1 - 1e-7)."
    ),
    "per_example": (
        "Return one number for the whole batch: average the per-example bounds with ops.mean."
    ),
    **SAMPLING_HINTS,
}


def make_vlb_inputs(rng, batch_size, latent_dim, *, zero_kl=False, binary_match=False):
    """Inputs for `vlb_binomial` as float32 arrays `(x, x_decoded_mean, t_mean, t_log_var)`.

    x holds grey levels with some exact 0s and 1s; x_decoded_mean lies in [0.1, 0.9] except
    where it is exactly 0 or 1, and there x has the same value, so the bound is finite but
    log(0) appears unless it is guarded against. With `zero_kl` the posterior is the prior
    (KL = 0); with `binary_match` x is binary and equals x_decoded_mean (log-likelihood 0).
    """
    shape = (batch_size, N_PIXELS)
    if binary_match:
        x = (rng.random(shape) < 0.3).astype(np.float64)
        x_decoded_mean = x.copy()
    else:
        x = rng.random(shape)
        x[rng.random(shape) < 0.15] = 0.0
        x[rng.random(shape) < 0.05] = 1.0
        x_decoded_mean = rng.uniform(0.1, 0.9, size=shape)
        if not zero_kl:
            x_decoded_mean[(x == 0.0) & (rng.random(shape) < 0.5)] = 0.0
            x_decoded_mean[(x == 1.0) & (rng.random(shape) < 0.5)] = 1.0
    if zero_kl:
        t_mean = np.zeros((batch_size, latent_dim))
        t_log_var = np.zeros((batch_size, latent_dim))
    else:
        t_mean = rng.normal(0.0, 1.5, size=(batch_size, latent_dim))
        t_log_var = rng.uniform(-2.0, 1.5, size=(batch_size, latent_dim))
    return tuple(a.astype(np.float32) for a in (x, x_decoded_mean, t_mean, t_log_var))


VLB_FIXTURES = {
    "reconstruction": {"batch_size": 5, "latent_dim": 3, "zero_kl": True},
    "kl": {"batch_size": 4, "latent_dim": 5, "binary_match": True},
    "full": {"batch_size": 6, "latent_dim": 4},
}


def vlb_fixture(name: str):
    """The fixed inputs of the visible check `name` (see `VLB_FIXTURES`)."""
    return make_vlb_inputs(fixed_rng(f"vlb-{name}"), **VLB_FIXTURES[name])


def vlb_value(vlb_binomial, inputs, what="vlb_binomial"):
    """Call `vlb_binomial` on `inputs`, insisting on one finite number; return it."""
    result = to_numpy(call_student(vlb_binomial, *as_tensors(inputs), what=what), what)
    if result.size != 1:
        hint = HINTS["per_example"] if result.size == len(inputs[0]) else ""
        fail(f"{what} returned an array of shape {result.shape}, expected a single number. {hint}")
    value = float(result.reshape(()))
    if not np.isfinite(value):
        fail(f"{what} returned {value}. {HINTS['log_of_zero']}")
    return value


def compare_vlb(value, expected, mistakes, where):
    """Fail with a diagnosis unless `value` matches `expected` within the tolerance."""
    if close(value, expected, VLB_RTOL, VLB_ATOL):
        return
    mistake = diagnose(value, mistakes, VLB_RTOL, VLB_ATOL)
    hint = HINTS[mistake] if mistake else (
        "Check each part: the Bernoulli log-likelihood summed over pixels, the closed-form "
        "KL summed over latent dimensions, and the mean over the batch."
    )  # fmt: skip
    fail(f"vlb_binomial gave {value:.4f} {where}, expected {expected:.4f}. {hint}")


def _check_fixture(vlb_binomial, name, where):
    reference = expected_values("nb08")["vlb"][name]
    value = vlb_value(vlb_binomial, vlb_fixture(name))
    compare_vlb(value, reference["expected"], reference["mistakes"], where)
    return value


def check_vlb_scalar(vlb_binomial):
    """One finite number for the batch, even where x_decoded_mean is exactly 0 or 1."""
    vlb_value(vlb_binomial, vlb_fixture("kl"))
    passed("vlb_binomial returns one finite number, even where x_decoded_mean is 0 or 1.")


def check_vlb_reconstruction(vlb_binomial):
    """The reconstruction term alone (the posterior equals the prior, so KL = 0)."""
    _check_fixture(vlb_binomial, "reconstruction", "when KL = 0 (t_mean = 0, t_log_var = 0)")
    passed("the reconstruction term is right.")


def check_vlb_kl(vlb_binomial):
    """The KL term alone (the decoder reproduces a binary x exactly)."""
    _check_fixture(vlb_binomial, "kl", "when the decoder reproduces a binary x exactly")
    passed("the KL term is right.")


def check_vlb_full(vlb_binomial):
    """The whole bound on grey-level images."""
    _check_fixture(vlb_binomial, "full", "on grey-level images")
    passed("vlb_binomial matches the reference on grey-level images.")


# ----------------------------------------------------------------------------- build_cvae

# The notebook's sizes. Hidden checks build the model at other sizes too.
CVAE_LATENT_DIM = 2
CVAE_N_CLASSES = 10

# The short training that grading runs: the first 1,000 training digits, 4 epochs of batches
# of 100 (40 steps), weights seeded, Adam with a step of 1e-2 so that 40 steps are enough.
# (RMSprop's first step at that size moves every weight by about 0.03 and saturates the
# sigmoid, and then a vlb_binomial with an honest epsilon of 1e-10 gives NaN.) About 1.5 s.
CVAE_TRAIN_DIGITS = 1_000
CVAE_EPOCHS = 4
CVAE_BATCH_SIZE = 100
CVAE_LEARNING_RATE = 1e-2
CVAE_SEED = 8
# The loss is measured on this many test digits (the first ones; hidden checks draw others).
CVAE_EVAL_DIGITS = 500
# Conditional samples drawn per digit for the statistics and the nearest-mean accuracy.
CVAE_SAMPLES_PER_DIGIT = 100

# Thresholds for the trained model, which trains with `standin_loss` (squared error plus KL,
# per image) and is measured with it by `measured_loss`. Trained as above, on the 5,000 real
# MNIST digits, the reference solution (3 weight seeds) goes from about 182 before training to
# 42.9-44.2 on held-out digits, and the two acceptable variants reach 42.9-43.2 (always
# predicting the average training digit, with a code that carries nothing: 53.8). The
# reference's generated images have a mean intensity 0.99-1.02 times the digits' and a
# per-pixel variance 0.23-0.24 times the digits' (the decoder's mean images are smoother
# than digits), and a nearest-mean accuracy of 0.91-1.00. A decoder that ignores the label
# learns less (49.5) and reaches an accuracy of 0.09-0.10, chance; one that is not the cvae's
# own decoder draws flat images (variance 0.003).
CVAE_LOSS_MAX = 47.0  # per image, in standin_loss's units
CVAE_MEAN_RATIO = (0.7, 1.4)
CVAE_VARIANCE_RATIO = (0.08, 0.8)
CVAE_ACCURACY_MIN = 0.5
# The checks measure the loss themselves, from the cvae's reconstructions and cond_encoder's
# outputs (not from what the cvae reports), before and after the short training; it must fall
# by at least this much. The reference falls from about 182 to 43. A model that needs no
# training, such as a lookup of each digit's mean image (about 43 from the start, whatever
# it reports), does not fall.
CVAE_MIN_DROP = 15.0
# A label must move the encoder's and the decoder's outputs by more than this (at random
# weights a correct model moves them by 0.05 or more).
CVAE_LABEL_EFFECT_MIN = 1e-5

HINTS.update(
    {
        "not_three_models": (
            "build_cvae must return three Keras models, in this order: "
            "(cond_encoder, cond_decoder, cvae)."
        ),
        "input_width": (
            "A conditional network reads its input and the label side by side, so its input "
            "is wider than the unconditional one's: build the encoder with "
            "build_encoder(original_dim + n_classes, latent_dim) and the decoder with "
            "build_decoder(latent_dim + n_classes)."
        ),
        "label_added": (
            "The label cannot be added to the image or to the code: their shapes differ. "
            "Concatenate it instead (layers.Concatenate() or ops.concatenate along axis 1), "
            "so that the network sees both side by side."
        ),
        "label_not_in_encoder": (
            "Changing the label does not change the encoder's output: the encoder must see "
            "the image and its label, q(t | x, y). Feed it the concatenation of x and label."
        ),
        "label_not_in_decoder": (
            "Changing the label does not change the decoder's output: the decoder must see "
            "the code and the label, p(x | t, y). Feed it the concatenation of t and label."
        ),
        "decoder_gets_mean": (
            "The CVAE's output is the same on every call, so no noise reaches the decoder: "
            "feed the decoder the sample t = sampling([t_mean, t_log_var]) (through "
            "layers.Lambda(sampling)), not t_mean."
        ),
        "loss_omitted": (
            "The CVAE has no loss: pass x, x_decoded_mean, t_mean and t_log_var through "
            "NegativeVLB(), which adds vlb_binomial as the model's loss, and make its output "
            "the model's output."
        ),
        "encoder_not_shared": (
            "The cvae does not hold the cond_encoder's weights, so training the cvae would not "
            "train it: build the encoder once and use it in both models (or call cond_encoder "
            "inside the cvae)."
        ),
        "decoder_not_shared": (
            "The cvae does not hold the cond_decoder's weights, so training the cvae would not "
            "train the decoder that draws the samples: build the decoder once and use it in "
            "both models (or call cond_decoder inside the cvae)."
        ),
        "label_ignored_in_samples": (
            "The conditional samples are not the digits asked for. Does the decoder inside the "
            "CVAE get the label, and is it the same decoder as cond_decoder (shared layers)?"
        ),
    }
)

CVAE_CONTRACT = (
    "The contract: cond_encoder maps [x, label] to [t_mean, t_log_var]; cond_decoder maps "
    "[t, label] to pixel probabilities; cvae maps [x, label] to x_decoded_mean."
)


def _error_text(error: Exception) -> str:
    from course.checks.sampling import short_error

    return short_error(error)[:600]


def _seeded_sampling(seed):
    """A reparameterized sample with noise from its own seeded generator.

    The CVAE's checks build the student's model with it in place of the notebook's
    `sampling`, which Exercise 2 grades: so a mistake there costs its own points only, and a
    grading run draws the same noise whatever ran before it.
    """
    import keras
    from keras import ops

    generator = keras.random.SeedGenerator(seed)

    def sampling(args):
        t_mean, t_log_var = args
        epsilon = keras.random.normal(ops.shape(t_mean), seed=generator)
        return t_mean + ops.exp(t_log_var / 2) * epsilon

    return sampling


def standin_loss(x, x_decoded_mean, t_mean, t_log_var):
    """The loss the CVAE's checks train and measure with, in place of `vlb_binomial`.

    Per image, the sum of squared pixel errors plus the closed-form KL to N(0, I), averaged
    over the batch: the negative ELBO of a decoder with Gaussian pixels of variance 1/2, up to
    a constant. Exercise 1 grades `vlb_binomial`; with this loss a mistake there costs
    Exercise 1's points only, and no Bernoulli bound is written out here.
    """
    from keras import ops

    squared_error = ops.sum(ops.square(x - x_decoded_mean), axis=-1)
    kl = -0.5 * ops.sum(1.0 + t_log_var - ops.square(t_mean) - ops.exp(t_log_var), axis=-1)
    return ops.mean(squared_error + kl)


def _swapped(build_cvae, seed):
    """The checks' seeded `sampling` and stand-in loss in place of the notebook's `sampling`
    and `vlb_binomial` (the names build_cvae and the notebook's NegativeVLB look up)."""
    return replaced_names(build_cvae, {"sampling": _seeded_sampling(seed),
                                       "vlb_binomial": standin_loss})  # fmt: skip


def _build_cvae(build_cvae, latent_dim, n_classes, seed):
    """The student's three models, built with seeded weights, or a failure message."""
    import keras

    what = f"build_cvae({latent_dim}, {n_classes})"
    keras.utils.set_random_seed(seed)
    try:
        with _swapped(build_cvae, seed), quiet_keras():
            result = build_cvae(latent_dim, n_classes)
    except NotImplementedError:
        fail(f"{what} is not implemented yet: replace `raise NotImplementedError()` with "
             "your code.")  # fmt: skip
    except Exception as error:  # any error in student code is reported, with a hint
        return None, f"{what} raised {_error_text(error)}"
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        return None, f"{what} returned {type(result).__name__}. {HINTS['not_three_models']}"
    for name, model in zip(("cond_encoder", "cond_decoder", "cvae"), result):
        if not isinstance(model, keras.Model):
            return None, (f"{what}: the {name} is a {type(model).__name__}, not a Keras "
                          f"model. {HINTS['not_three_models']}")  # fmt: skip
    return tuple(result), None


def _one_hot(labels, n_classes):
    return np.eye(n_classes, dtype=np.float32)[labels]


def _outputs(model, inputs, name):
    """A model's outputs on `inputs` as a list of float64 arrays, or a failure message."""
    try:
        with quiet_keras():
            out = model(inputs, training=False)
    except Exception as error:  # any error in the student's model
        return None, f"the {name} failed on a batch: {_error_text(error)}"
    out = list(out) if isinstance(out, (tuple, list)) else [out]
    return [np.asarray(to_numpy(o, name)) for o in out], None


@kernel_side
def cvae_facts(build_cvae, latent_dim, n_classes, seed):
    """What the student's CVAE does on a small random batch, as plain data.

    Returns {"error": message} if it cannot be built or run, else the output shapes of the
    three models, the losses the CVAE added, the largest change between two calls of the
    CVAE on the same batch (its noise), and whether the CVAE holds the encoder's and the
    decoder's weights.
    """
    models, error = _build_cvae(build_cvae, latent_dim, n_classes, seed)
    if error:
        return {"error": error}
    cond_encoder, cond_decoder, cvae = models
    rng = np.random.default_rng(seed)
    batch = 6
    x = rng.random((batch, N_PIXELS)).astype(np.float32)
    label = _one_hot(rng.integers(0, n_classes, batch), n_classes)
    t = rng.normal(size=(batch, latent_dim)).astype(np.float32)
    facts = {}
    for name, model, inputs in (("cond_encoder", cond_encoder, [x, label]),
                                ("cond_decoder", cond_decoder, [t, label]),
                                ("cvae", cvae, [x, label])):  # fmt: skip
        out, error = _outputs(model, inputs, name)
        if error:
            return {"error": error}
        facts[name] = [list(o.shape) for o in out]
        if name == "cvae":
            first = out[0]
            try:
                facts["losses"] = [float(to_numpy(v, "a loss")) for v in cvae.losses]
            except (AssertionError, TypeError, ValueError):
                facts["losses"] = []
    again, error = _outputs(cvae, [x, label], "cvae")
    same_shape = not error and again[0].shape == first.shape
    facts["noise"] = float(np.max(np.abs(again[0] - first))) if same_shape else 0.0
    held = {id(w) for w in cvae.weights}
    facts["shares_encoder"] = all(id(w) in held for w in cond_encoder.weights)
    facts["shares_decoder"] = all(id(w) in held for w in cond_decoder.weights)
    return facts


def _build_failure(message):
    """Fail with `message` and the hint its error points to."""
    hint = ""
    if "expected shape" in message or "expected axis" in message:
        hint = HINTS["input_width"]
    elif "broadcast" in message.lower() or "incompatible shapes" in message.lower():
        hint = HINTS["label_added"]
    fail(f"{message} {hint} {CVAE_CONTRACT}".replace("  ", " "))


def describe_sizes(latent_dim, n_classes):
    return f"build_cvae({latent_dim}, {n_classes})"


def compare_structure(facts, latent_dim, n_classes):
    """Fail unless the facts of `cvae_facts` show the contract's shapes, noise and loss."""
    if "error" in facts:
        _build_failure(facts["error"])
    what = describe_sizes(latent_dim, n_classes)
    expected = {
        "cond_encoder": [[6, latent_dim], [6, latent_dim]],
        "cond_decoder": [[6, N_PIXELS]],
        "cvae": [[6, N_PIXELS]],
    }
    for name, shapes in expected.items():
        if facts[name] != shapes:
            fail(f"{what}: on a batch of 6, the {name} returned shapes {facts[name]}; expected "
                 f"{shapes}. {CVAE_CONTRACT}")  # fmt: skip
    if not facts["losses"]:
        fail(f"{what}: {HINTS['loss_omitted']}")
    if not all(np.isfinite(facts["losses"])):
        fail(f"{what}: the CVAE's loss is not finite on a batch of random images.")
    if facts["noise"] == 0.0:
        fail(f"{what}: {HINTS['decoder_gets_mean']}")
    for part in ("encoder", "decoder"):
        if not facts[f"shares_{part}"]:
            fail(f"{what}: {HINTS[f'{part}_not_shared']}")


def check_cvae_structure(build_cvae):
    """Shapes of the three models at the notebook's sizes, the loss added, noise inside."""
    facts = cvae_facts(build_cvae, CVAE_LATENT_DIM, CVAE_N_CLASSES, CVAE_SEED)
    compare_structure(facts, CVAE_LATENT_DIM, CVAE_N_CLASSES)
    passed(
        "cond_encoder, cond_decoder and cvae have the contract's inputs and outputs, the cvae "
        "adds its loss and samples its code."
    )


@kernel_side
def cvae_label_effects(build_cvae, latent_dim, n_classes, seed):
    """How far changing the label moves the encoder's and the decoder's outputs, at the
    seeded initial weights: {"encoder": largest change, "decoder": largest change}, or
    {"error": message}."""
    models, error = _build_cvae(build_cvae, latent_dim, n_classes, seed)
    if error:
        return {"error": error}
    cond_encoder, cond_decoder, _ = models
    rng = np.random.default_rng(seed)
    batch = 8
    x = rng.random((batch, N_PIXELS)).astype(np.float32)
    t = rng.normal(size=(batch, latent_dim)).astype(np.float32)
    digits = rng.integers(0, n_classes, batch)
    label_a = _one_hot(digits, n_classes)
    label_b = _one_hot((digits + rng.integers(1, n_classes, batch)) % n_classes, n_classes)
    effects = {}
    for name, model, first in (("encoder", cond_encoder, x), ("decoder", cond_decoder, t)):
        out_a, error = _outputs(model, [first, label_a], f"cond_{name}")
        out_b, error_b = _outputs(model, [first, label_b], f"cond_{name}")
        if error or error_b:
            return {"error": error or error_b}
        effects[name] = max(float(np.max(np.abs(a - b))) for a, b in zip(out_a, out_b))
    return effects


def compare_label_effects(effects, latent_dim, n_classes):
    if "error" in effects:
        _build_failure(effects["error"])
    what = describe_sizes(latent_dim, n_classes)
    for name in ("encoder", "decoder"):
        if not effects[name] > CVAE_LABEL_EFFECT_MIN:
            fail(f"{what}: {HINTS[f'label_not_in_{name}']}")


def check_cvae_label_reaches_both(build_cvae):
    """Changing the label changes the encoder's and the decoder's outputs (fixed weights)."""
    effects = cvae_label_effects(build_cvae, CVAE_LATENT_DIM, CVAE_N_CLASSES, CVAE_SEED)
    compare_label_effects(effects, CVAE_LATENT_DIM, CVAE_N_CLASSES)
    passed("the label reaches both the encoder and the decoder.")


# The last trained model, so that the cells that judge one training share it: the student's
# objects it was built from, and what the training left.
_TRAINED: list = []


def _grading_digits():
    """The notebook's digits, quietly: training images and labels (the first
    CVAE_TRAIN_DIGITS), and the first 1,000 test images and labels; pixels in [0, 1]."""
    import contextlib
    import io

    from course.data import load_mnist

    with contextlib.redirect_stdout(io.StringIO()):
        (x_train, y_train), (x_test, y_test) = load_mnist()
    n = CVAE_TRAIN_DIGITS
    x_train = x_train[:n].reshape(n, -1).astype(np.float32) / 255.0
    x_test = x_test[:1000].reshape(len(x_test[:1000]), -1).astype(np.float32) / 255.0
    return x_train, y_train[:n].astype(np.int64), x_test, y_test[:1000].astype(np.int64)


def _ingredients(build_cvae):
    """What a trained model depends on: build_cvae and the notebook's objects it uses."""
    names = ("vlb_binomial", "NegativeVLB", "build_encoder", "build_decoder")
    found = notebook_names(build_cvae)
    return [build_cvae, *(found.get(name) for name in names)]


def measured_loss(build_cvae, cond_encoder, cvae, x, labels):
    """(standin_loss per image, None), computed here from the models' outputs and not taken
    from what the cvae reports as its loss: the cvae's reconstruction of x (its sample drawn
    by the checks' seeded sampling) and cond_encoder's t_mean and t_log_var; or (None,
    message)."""
    encoded, error = _outputs(cond_encoder, [x, labels], "cond_encoder")
    if error:
        return None, error
    if len(encoded) != 2 or encoded[0].shape != encoded[1].shape or encoded[0].ndim != 2:
        return None, f"the cond_encoder returned {len(encoded)} output(s). {CVAE_CONTRACT}"
    t_mean, t_log_var = (np.asarray(e, np.float64) for e in encoded)
    with _swapped(build_cvae, CVAE_SEED):
        decoded, error = _outputs(cvae, [x, labels], "cvae")
    if error:
        return None, error
    x_decoded_mean = np.asarray(decoded[0], np.float64)
    if x_decoded_mean.shape != x.shape:
        return None, (f"the cvae returned images of shape {x_decoded_mean.shape}, expected "
                      f"{x.shape}. {CVAE_CONTRACT}")  # fmt: skip
    loss = standin_loss(x.astype(np.float64), x_decoded_mean, t_mean, t_log_var)
    return float(to_numpy(loss, "the stand-in loss")), None


def _train(build_cvae):
    """(cvae, cond_encoder, cond_decoder, history losses, loss before training, digits),
    trained once per build_cvae."""
    import keras

    ingredients = _ingredients(build_cvae)
    if (len(_TRAINED) == 2 and len(_TRAINED[0]) == len(ingredients)
            and all(a is b for a, b in zip(_TRAINED[0], ingredients))):  # fmt: skip
        return _TRAINED[1]
    _TRAINED.clear()
    models, error = _build_cvae(build_cvae, CVAE_LATENT_DIM, CVAE_N_CLASSES, CVAE_SEED)
    if error:
        return error
    cond_encoder, cond_decoder, cvae = models
    digits = _grading_digits()
    x_train, y_train = digits[0], _one_hot(digits[1], CVAE_N_CLASSES)
    x_before = digits[2][:CVAE_EVAL_DIGITS]
    y_before = _one_hot(digits[3][:CVAE_EVAL_DIGITS], CVAE_N_CLASSES)
    before, error = measured_loss(build_cvae, cond_encoder, cvae, x_before, y_before)
    if error:
        return error
    try:
        with _swapped(build_cvae, CVAE_SEED), quiet_keras():
            cvae.compile(optimizer=keras.optimizers.Adam(CVAE_LEARNING_RATE))
            history = cvae.fit([x_train, y_train], epochs=CVAE_EPOCHS,
                               batch_size=CVAE_BATCH_SIZE, shuffle=True, verbose=0)  # fmt: skip
    except Exception as error:  # any failure of the student's model in training
        text = _error_text(error)
        hint = HINTS["loss_omitted"] if "loss" in text.lower() else ""
        return f"training the cvae failed: {text}. {hint}"
    losses = [float(v) for v in history.history["loss"]]
    trained = (cvae, cond_encoder, cond_decoder, losses, before, digits)
    _TRAINED.append(ingredients)
    _TRAINED.append(trained)
    return trained


@kernel_side
def cvae_trained(build_cvae, eval_indices, code_seed):
    """Train the student's CVAE as grading does (once per build_cvae), then measure it.

    eval_indices: which of the first 1,000 test digits the loss is measured on. code_seed:
    the seed of the prior codes of the conditional samples. Returns {"error": message}, or
    the training losses per epoch, the checks' own stand-in loss (`measured_loss`) on the
    first test digits before training and on those digits after it (per image), the
    conditional samples (CVAE_SAMPLES_PER_DIGIT per digit) with their labels, the training
    digits' per-digit mean images, their mean intensity and their per-pixel variance.
    """
    trained = _train(build_cvae)
    if isinstance(trained, str):
        return {"error": trained}
    cvae, cond_encoder, cond_decoder, losses, before, digits = trained
    x_train, y_train, x_test, y_test = digits
    eval_indices = np.asarray(eval_indices, np.int64)
    x_eval = x_test[eval_indices]
    y_eval = _one_hot(y_test[eval_indices], CVAE_N_CLASSES)
    eval_loss, error = measured_loss(build_cvae, cond_encoder, cvae, x_eval, y_eval)
    if error:
        return {"error": error}
    labels = np.repeat(np.arange(CVAE_N_CLASSES), CVAE_SAMPLES_PER_DIGIT)
    codes = np.random.default_rng(code_seed).normal(size=(len(labels), CVAE_LATENT_DIM))
    codes = codes.astype(np.float32)
    samples, error = _outputs(cond_decoder, [codes, _one_hot(labels, CVAE_N_CLASSES)],
                              "cond_decoder")  # fmt: skip
    if error:
        return {"error": error}
    return {
        "losses": losses,
        "loss_before": before,
        "eval_loss": eval_loss,
        "samples": samples[0].astype(np.float32),
        "sample_labels": labels,
        "mean_images": np.stack(
            [x_train[y_train == d].mean(axis=0) for d in range(CVAE_N_CLASSES)]
        ),
        "data_mean": float(x_train.mean()),
        "data_pixel_variance": float(x_train.var(axis=0).mean()),
    }


def nearest_mean_accuracy(images, labels, mean_images):
    """Fraction of images whose nearest per-digit mean image is their own digit's."""
    distances = ((images[:, None, :] - mean_images[None, :, :]) ** 2).sum(axis=2)
    return float(np.mean(distances.argmin(axis=1) == labels))


def require_training_effect(result, where):
    """Fail unless the short training lowered the checks' own loss by CVAE_MIN_DROP."""
    before, after = result["loss_before"], result["eval_loss"]
    if not (np.isfinite(after) and before - after >= CVAE_MIN_DROP):
        fail(
            f"The short training hardly changed your models: measured from the cvae's "
            f"reconstructions and cond_encoder's outputs, the loss {where} went from "
            f"{before:.1f} per image before training to {after:.1f} after it (a CVAE that "
            f"learns falls by far more than {CVAE_MIN_DROP:.0f}). Does the cvae train the "
            "encoder and decoder it is built from, with the loss NegativeVLB adds?"
        )


def compare_learning(result, where):
    if "error" in result:
        _build_failure(result["error"])
    require_training_effect(result, where)
    loss = result["eval_loss"]
    if not np.isfinite(loss) or loss > CVAE_LOSS_MAX:
        fail(
            f"After the short training, the CVAE's loss {where} is {loss:.1f} per image; "
            f"a CVAE wired as the contract says gets below {CVAE_LOSS_MAX:.0f} "
            f"(training losses per epoch: {np.round(result['losses'], 1).tolist()}). Does "
            "the decoder get the sample and the label, and the loss the encoder's outputs?"
        )


def compare_samples(result, where):
    if "error" in result:
        _build_failure(result["error"])
    require_training_effect(result, where)
    samples = np.asarray(result["samples"], np.float64)
    expected = (len(result["sample_labels"]), N_PIXELS)
    if samples.shape != expected or not np.all(np.isfinite(samples)):
        fail(f"cond_decoder returned samples of shape {samples.shape}, or values that are not "
             f"finite; expected finite values of shape {expected}.")  # fmt: skip
    mean_ratio = samples.mean() / result["data_mean"]
    variance_ratio = samples.var(axis=0).mean() / result["data_pixel_variance"]
    low, high = CVAE_MEAN_RATIO
    if not low <= mean_ratio <= high:
        fail(f"The generated images {where} have a mean intensity {mean_ratio:.2f} times the "
             f"digits'; a trained CVAE gives {low}-{high} times. Is the loss the one of the "
             "sample's decoding, and does the decoder end in its sigmoid?")  # fmt: skip
    low, high = CVAE_VARIANCE_RATIO
    if not low <= variance_ratio <= high:
        fail(f"The generated images {where} vary from sample to sample {variance_ratio:.2f} "
             f"times as much as the digits (per pixel); a trained CVAE gives {low}-{high} "
             "times. Does the decoder use the code t and the label?")  # fmt: skip
    accuracy = nearest_mean_accuracy(samples, np.asarray(result["sample_labels"]),
                                     np.asarray(result["mean_images"]))  # fmt: skip
    if accuracy < CVAE_ACCURACY_MIN:
        fail(f"Of the conditional samples {where}, {accuracy:.0%} are nearest to their own "
             f"digit's mean image (chance: 10%; a trained CVAE: above "
             f"{CVAE_ACCURACY_MIN:.0%}). {HINTS['label_ignored_in_samples']}")  # fmt: skip


def check_cvae_learns(build_cvae):
    """A short seeded training brings the loss on held-out digits below the threshold."""
    result = cvae_trained(build_cvae, np.arange(CVAE_EVAL_DIGITS), 0)
    compare_learning(result, "on held-out digits")
    passed(
        f"after {CVAE_EPOCHS} short epochs the CVAE's loss on held-out digits is below "
        f"{CVAE_LOSS_MAX:.0f} per image (squared error plus KL)."
    )


def check_cvae_samples(build_cvae):
    """After the short training, generated images look like digits, of the digit asked for."""
    result = cvae_trained(build_cvae, np.arange(CVAE_EVAL_DIGITS), 0)
    compare_samples(result, "from the prior")
    passed(
        "the generated images have the digits' intensity and variety, and most conditional "
        "samples are nearest to their own digit's mean image."
    )
