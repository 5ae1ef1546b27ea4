"""Reference answers for notebook 07 (a Gaussian-likelihood VAE on Frey Face)."""

from __future__ import annotations

import numpy as np

LOG_2PI = np.log(2.0 * np.pi)


def gaussian_nll(x, x_mean, x_log_std):
    """-log N(x; x_mean, exp(x_log_std)^2) summed over pixels: shape (batch_size,), in nats."""
    x, x_mean, x_log_std = (np.asarray(a, np.float64) for a in (x, x_mean, x_log_std))
    per_pixel = 0.5 * ((x - x_mean) / np.exp(x_log_std)) ** 2 + x_log_std + 0.5 * LOG_2PI
    return per_pixel.reshape(len(x), -1).sum(axis=1)


def kl_divergence(t_mean, t_log_var):
    """KL(N(t_mean, diag(exp(t_log_var))) || N(0, I)) per example: shape (batch_size,)."""
    t_mean, t_log_var = np.asarray(t_mean, np.float64), np.asarray(t_log_var, np.float64)
    return 0.5 * np.sum(t_mean**2 + np.exp(t_log_var) - 1.0 - t_log_var, axis=1)


def _relu(a):
    return np.maximum(a, 0.0)


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def vae_forward(fixture):
    """The fixture VAE's tensors in float64 (see course.checks.nb07.make_vae_fixture).

    Returns (x, x_mean, x_log_std, t_mean, t_log_var): images and decoder outputs of shape
    (batch_size, 28, 20), posterior parameters of shape (batch_size, latent_dim).
    """
    w = {name: np.asarray(a, np.float64) for name, a in fixture.items()}

    def dense(name, inputs):
        return inputs @ w[f"{name}_kernel"] + w[f"{name}_bias"]

    x = w["x"]
    h = _relu(dense("encoder_hidden", x.reshape(len(x), -1)))
    t_mean, t_log_var = dense("encoder_mean", h), dense("encoder_log_var", h)
    t = t_mean + np.exp(0.5 * t_log_var) * w["epsilon"]
    g = _relu(dense("decoder_hidden", t))
    x_mean = _sigmoid(dense("decoder_mean", g)).reshape(x.shape)
    x_log_std = dense("decoder_log_std", g).reshape(x.shape)
    return x, x_mean, x_log_std, t_mean, t_log_var


def vae_losses(fixture):
    """The negative ELBO and its two terms, averaged over the batch (nats per image)."""
    x, x_mean, x_log_std, t_mean, t_log_var = vae_forward(fixture)
    nll = gaussian_nll(x, x_mean, x_log_std)
    kl = kl_divergence(t_mean, t_log_var)
    return {"loss": float(np.mean(nll + kl)), "nll": float(np.mean(nll)),
            "kl": float(np.mean(kl))}  # fmt: skip


STANDIN_SCALE = 50.0  # course.checks.nb07.STANDIN_SCALE; a test keeps the two equal


def standin_nll(x, x_mean, x_log_std):
    """The checks' stand-in for gaussian_nll, per image (see course.checks.nb07)."""
    x, x_mean, x_log_std = (np.asarray(a, np.float64) for a in (x, x_mean, x_log_std))
    per_pixel = STANDIN_SCALE * (x - x_mean) ** 2 + 0.5 * x_log_std**2
    return per_pixel.reshape(len(x), -1).sum(axis=1)


def standin_step(fixture):
    """The training step's reference on the fixture, with the stand-in NLL, in float64.

    Returns the batch averages `loss`, `nll`, `kl` before the step, `nll_of_mean_code` (the
    NLL had the decoder been given t_mean), `batch_size`, and the gradients of mean(nll) and
    of mean(kl) with respect to every weight ({weight name: array}), by backpropagation
    written out by hand.
    """
    w = {name: np.asarray(a, np.float64) for name, a in fixture.items()}
    x = w["x"]
    batch_size = len(x)
    flat = x.reshape(batch_size, -1)

    def dense(name, inputs):
        return inputs @ w[f"{name}_kernel"] + w[f"{name}_bias"]

    def decode(t):
        g_in = dense("decoder_hidden", t)
        g = _relu(g_in)
        x_mean = _sigmoid(dense("decoder_mean", g))
        return g_in, g, x_mean, dense("decoder_log_std", g)

    h_in = dense("encoder_hidden", flat)
    h = _relu(h_in)
    t_mean, t_log_var = dense("encoder_mean", h), dense("encoder_log_var", h)
    std = np.exp(0.5 * t_log_var)
    t = t_mean + std * w["epsilon"]
    g_in, g, x_mean, x_log_std = decode(t)
    nll = standin_nll(flat, x_mean, x_log_std)
    kl = kl_divergence(t_mean, t_log_var)
    nll_of_mean_code = standin_nll(flat, *decode(t_mean)[2:])

    def backward(d_x_mean, d_x_log_std, d_t_mean, d_t_log_var):
        """Gradients of the weights, given those of the decoder's outputs (through t) and
        those that reach t_mean and t_log_var directly."""
        grads = {}

        def dense_back(name, inputs, d_out):
            grads[f"{name}_kernel"] = inputs.T @ d_out
            grads[f"{name}_bias"] = d_out.sum(axis=0)
            return d_out @ w[f"{name}_kernel"].T

        d_mean_in = d_x_mean * x_mean * (1.0 - x_mean)
        d_g = dense_back("decoder_mean", g, d_mean_in) + dense_back(
            "decoder_log_std", g, d_x_log_std
        )
        d_t = dense_back("decoder_hidden", t, d_g * (g_in > 0))
        d_t_mean = d_t_mean + d_t
        d_t_log_var = d_t_log_var + d_t * 0.5 * std * w["epsilon"]
        d_h = dense_back("encoder_mean", h, d_t_mean) + dense_back(
            "encoder_log_var", h, d_t_log_var
        )
        dense_back("encoder_hidden", flat, d_h * (h_in > 0))
        return grads

    zeros_code, zeros_image = np.zeros_like(t_mean), np.zeros_like(x_mean)
    grad_nll = backward(-2.0 * STANDIN_SCALE * (flat - x_mean) / batch_size,
                        x_log_std / batch_size, zeros_code, zeros_code)  # fmt: skip
    grad_kl = backward(zeros_image, zeros_image, t_mean / batch_size,
                       0.5 * (np.exp(t_log_var) - 1.0) / batch_size)  # fmt: skip
    return {
        "loss": float(np.mean(nll + kl)),
        "nll": float(np.mean(nll)),
        "kl": float(np.mean(kl)),
        "nll_of_mean_code": float(np.mean(nll_of_mean_code)),
        "batch_size": batch_size,
        "grad_nll": grad_nll,
        "grad_kl": grad_kl,
    }


def _significant(values):
    """Values to 9 significant digits (gradients span many orders of magnitude)."""
    if isinstance(values, dict):
        return {key: _significant(value) for key, value in values.items()}
    return (
        np.asarray([float(f"{v:.9g}") for v in np.ravel(values)]).reshape(np.shape(values)).tolist()
    )


def _rounded(values):
    if isinstance(values, dict):
        return {key: _rounded(value) for key, value in values.items()}
    if values is None:
        return None
    return np.round(np.asarray(values, np.float64), 6).tolist()


def references():
    """(public, private) reference values for notebook 07 (see autograder.make_references)."""
    from autograder.mistakes.nb07 import nll_mistake_values, vae_mistake_values
    from course.checks import nb07 as checks

    def wrong_only(mistakes, expected):
        """The mistakes' values, without those of mistakes that give the right value here."""
        return {hint: value for hint, value in _rounded(mistakes).items()
                if value is None or not checks.close(value, expected)}  # fmt: skip

    public = {}
    for name, inputs in (("nll_known", checks.known_nll_inputs()),
                         ("nll_random", checks.nll_fixture())):  # fmt: skip
        expected = gaussian_nll(*inputs)
        public[name] = {
            "expected": _rounded(expected),
            "mistakes": wrong_only(nll_mistake_values(inputs), expected),
        }
    fixture = checks.vae_fixture()
    expected = vae_losses(fixture)
    public["vae_loss"] = {
        "expected": _rounded(expected),
        "mistakes": wrong_only(vae_mistake_values(fixture), expected["loss"]),
    }
    step = standin_step(checks.step_fixture())
    public["vae_train_step"] = {key: value if key == "batch_size" else _significant(value)
                                for key, value in step.items()}  # fmt: skip

    nll_seed, vae_seed = 7_2026, 7_2027
    nll_inputs = checks.make_nll_inputs(np.random.default_rng(nll_seed), 23)
    vae_spec = {"batch_size": 11, "latent_dim": 2, "hidden": 24}
    hidden_fixture = checks.make_vae_fixture(np.random.default_rng(vae_seed), **vae_spec)
    private = {
        "nll_hidden_fixture": {
            "seed": nll_seed,
            "batch_size": 23,
            "expected": _rounded(gaussian_nll(*nll_inputs)),
        },
        "vae_hidden_fixture": {
            "seed": vae_seed,
            **vae_spec,
            "expected": _rounded(vae_losses(hidden_fixture)),
        },
    }
    return public, private
