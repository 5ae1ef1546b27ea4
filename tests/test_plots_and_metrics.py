"""course.plots draws without a screen and refuses bad shapes; course.metrics round-trips."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from scipy.stats import norm  # noqa: E402

from course import metrics, plots  # noqa: E402


@pytest.fixture(autouse=True)
def no_windows(monkeypatch):
    monkeypatch.setattr(plt, "show", lambda: None)
    yield
    plt.close("all")


def test_image_grid_takes_flat_square_images_and_labels():
    assert plots.image_grid(np.random.rand(12, 784), n_cols=6, row_labels=["a", "b"]) is None
    assert len(plt.gcf().axes) == 12


def test_image_grid_refuses_flat_images_that_are_not_square():
    with pytest.raises(ValueError, match="not a square"):
        plots.image_grid(np.random.rand(3, 560))


def test_latent_scatter_needs_two_dimensional_codes():
    _, ax = plt.subplots()
    plots.latent_scatter(
        np.random.randn(50, 2), np.arange(50) % 10, class_names=list("abcdefghij"), ax=ax
    )
    assert len(ax.get_legend().get_texts()) == 10
    with pytest.raises(ValueError, match="2-D codes"):
        plots.latent_scatter(np.random.randn(50, 3), np.zeros(50))


def test_manifold_grid_decodes_an_even_grid_in_probability():
    seen = []

    def decode(codes):
        seen.append(codes)
        return np.tile(codes[:, :1], (1, 28 * 20))

    canvas = plots.manifold_canvas(decode, image_shape=(28, 20), n=5)
    assert canvas.shape == (5 * 28, 5 * 20)
    codes = seen[0]
    assert codes.shape == (25, 2)
    np.testing.assert_allclose(codes[:5, 0], -codes[:5, 0][::-1], atol=1e-6)  # symmetric
    assert codes[0, 1] > codes[-1, 1]  # z2 grows upwards
    # Each grid value leaves an equal share of probability on either side of its tile.
    _, z_values = plots.manifold_codes(5)
    np.testing.assert_allclose(norm.cdf(z_values), [0.1, 0.3, 0.5, 0.7, 0.9], atol=1e-6)
    assert plots.manifold_grid(decode, image_shape=(28, 20), n=5) is None


def test_learning_curves_name_missing_keys():
    plots.learning_curves({"loss": [3, 2, 1], "val_loss": [3, 2.5, 2]})
    with pytest.raises(KeyError, match="no \\['kl'\\]"):
        plots.learning_curves({"loss": [1]}, keys=("loss", "kl"))


def test_metrics_are_printed_and_read_back(capsys):
    metrics.report("vae_val_loss", 151.234567, "nats/image")
    metrics.report("accuracy", 0.5)
    found = metrics.parse(capsys.readouterr().out)
    assert found == {"vae_val_loss": pytest.approx(151.235, rel=1e-5), "accuracy": 0.5}
    with pytest.raises(ValueError, match="lower_snake_case"):
        metrics.report("Bad Name", 1.0)
