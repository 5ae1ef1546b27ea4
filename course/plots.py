"""Plots the notebooks share: image grids, latent scatter plots, the 2-D manifold, curves.

Each function draws and shows its figure and returns nothing, so a cell that ends with one
shows the figure once (a returned Figure would be shown a second time by Jupyter).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import norm


def image_grid(images, n_cols=10, titles=None, row_labels=None, suptitle=None, scale=1.0):
    """Show images in a grid, `n_cols` per row.

    images: array of shape (n, height, width), or (n, height * width) for square images,
        with values in [0, 1] or 0..255.
    titles: optional list of n strings, one above each image.
    row_labels: optional list of strings, one to the left of each row.
    """
    images = np.asarray(images)
    if images.ndim == 2:
        side = int(round(np.sqrt(images.shape[1])))
        if side * side != images.shape[1]:
            raise ValueError(
                f"image_grid got flat images of {images.shape[1]} pixels, which is not a "
                "square; reshape them to (n, height, width) first."
            )
        images = images.reshape(-1, side, side)
    n = len(images)
    n_rows = max(1, int(np.ceil(n / n_cols)))
    height, width = images.shape[1:3]
    fig, axes = plt.subplots(
        n_rows, n_cols, squeeze=False,
        figsize=(scale * n_cols * width / 20, scale * n_rows * height / 20 + 0.3),
    )  # fmt: skip
    vmax = 255 if images.max() > 1.0 else 1.0
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_frame_on(False)
        if i < n:
            ax.imshow(images[i], cmap="gray", vmin=0, vmax=vmax)
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
    if row_labels is not None:
        for row, label in enumerate(row_labels):
            axes[row, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    plt.show()


def latent_scatter(
    codes, labels, class_names=None, title="Codes of test images", ax=None, symbol="z"
):
    """Scatter 2-D codes, one colour per class, with a legend of class names.

    codes: (n, 2) array of latent codes; labels: (n,) integer classes.
    ax: a Matplotlib Axes to draw on (then showing the figure is up to you), or None for a
        figure of its own, shown at once.
    symbol: the letter the notebook uses for the code, for the axis labels.
    """
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[1] != 2:
        raise ValueError(
            f"latent_scatter draws 2-D codes; got an array of shape {codes.shape}. Use a "
            "latent size of 2, or project the codes to two dimensions first."
        )
    labels = np.asarray(labels).astype(int)
    own_figure = ax is None
    if own_figure:
        _, ax = plt.subplots(figsize=(6, 5))
    cmap = plt.get_cmap("tab10")
    for label in np.unique(labels):
        chosen = labels == label
        name = class_names[label] if class_names is not None else str(label)
        ax.scatter(*codes[chosen].T, s=6, color=cmap(label % 10), label=name, alpha=0.8)
    ax.set_xlabel(f"${symbol}_1$")
    ax.set_ylabel(f"${symbol}_2$")
    ax.set_title(title)
    ax.legend(markerscale=3, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    if own_figure:
        plt.tight_layout()
        plt.show()


def manifold_codes(n=15):
    """An n x n grid of 2-D codes, even in probability under N(0, I), and its axis values.

    Each coordinate runs over Phi^{-1}(p_k) with p_k = (k - 1/2) / n for k = 1..n, where Phi
    is the standard normal CDF, so each grid point stands for an equal share (1 / n^2) of the
    prior's mass. Returns (codes of shape (n * n, 2), row by row from the top, with z2
    growing upwards; the n values of each coordinate, increasing).
    """
    probabilities = (np.arange(1, n + 1) - 0.5) / n
    z_values = norm.ppf(probabilities)
    z1, z2 = np.meshgrid(z_values, z_values[::-1])  # z2 grows upwards, as on a plot
    return np.stack([z1.ravel(), z2.ravel()], axis=1).astype("float32"), z_values


def manifold_canvas(decode, image_shape, n=15):
    """Decode the grid of `manifold_codes(n)` and tile the images: (n * height, n * width).

    decode: function from codes of shape (m, 2) to images of shape (m, *image_shape)
        or (m, prod(image_shape)).
    """
    codes, _ = manifold_codes(n)
    images = np.asarray(decode(codes)).reshape(n, n, *image_shape)
    height, width = image_shape
    return images.transpose(0, 2, 1, 3).reshape(n * height, n * width)


def manifold_grid(decode, image_shape, n=15, title="The learned 2-D manifold", symbol="z"):
    """Show the decoded n x n grid of `manifold_canvas`, with the codes at the tiles' centres.

    symbol: the letter the notebook uses for the code, for the axis labels.
    """
    canvas = manifold_canvas(decode, image_shape, n)
    _, z_values = manifold_codes(n)
    height, width = image_shape
    fig, ax = plt.subplots(figsize=(7, 7 * height / width))
    ax.imshow(canvas, cmap="gray")
    ticks = np.arange(0, n, max(1, n // 5))
    ax.set_xticks(ticks * width + width / 2, [f"{z_values[k]:.1f}" for k in ticks])
    ax.set_yticks(ticks * height + height / 2, [f"{z_values[::-1][k]:.1f}" for k in ticks])
    ax.set_xlabel(f"${symbol}_1$ (at tile centres)")
    ax.set_ylabel(f"${symbol}_2$")
    ax.set_title(title)
    plt.show()


def learning_curves(history, keys=("loss",), title="Learning curves", ylabel="loss"):
    """Plot training and validation curves from a Keras `History` (or its `.history` dict).

    For each key, draws `key` and `val_key` when present.
    """
    logs = getattr(history, "history", history)
    missing = [key for key in keys if key not in logs]
    if missing:
        raise KeyError(f"learning_curves: no {missing} in the history; it holds {sorted(logs)}.")
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.5), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        epochs = np.arange(1, len(logs[key]) + 1)
        ax.plot(epochs, logs[key], label="training")
        if f"val_{key}" in logs:
            ax.plot(epochs, logs[f"val_{key}"], label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key if len(keys) > 1 else ylabel)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    plt.show()
