"""Deterministic stand-ins for the course's datasets, used when the real data is out of reach.

They have the real datasets' shapes, dtypes and labels, and enough structure for the lessons
to work: each class has its own shape (so a classifier, or a conditional VAE, can tell the
classes apart) and varies smoothly in position, slant, thickness and brightness (so an
autoencoder has something to learn). They are drawings, not data: figures measured on them
say nothing about the real datasets.
"""

from __future__ import annotations

import numpy as np

STANDIN_SEED = 20261121

# Seven-segment layout: which of the segments a, b, c, d, e, f, g each digit lights.
_SEGMENTS = {
    0: "abcdef", 1: "bc", 2: "abdeg", 3: "abcdg", 4: "bcfg",
    5: "acdfg", 6: "acdefg", 7: "abc", 8: "abcdefg", 9: "abcdfg",
}  # fmt: skip
# Each segment as a line from (row, col) to (row, col) in a 28x28 frame.
_SEGMENT_ENDS = {
    "a": ((6, 10), (6, 18)), "b": ((6, 18), (14, 18)), "c": ((14, 18), (22, 18)),
    "d": ((22, 10), (22, 18)), "e": ((14, 10), (22, 10)), "f": ((6, 10), (14, 10)),
    "g": ((14, 10), (14, 18)),
}  # fmt: skip


def _grid(height, width):
    return np.mgrid[0:height, 0:width].astype(np.float32)


def _stroke(rows, cols, start, end, half_width):
    """Soft-edged line from `start` to `end`: 1 inside, fading to 0 over one pixel."""
    (r0, c0), (r1, c1) = start, end
    dr, dc = r1 - r0, c1 - c0
    length2 = max(dr * dr + dc * dc, 1e-6)
    along = np.clip(((rows - r0) * dr + (cols - c0) * dc) / length2, 0.0, 1.0)
    distance = np.hypot(rows - (r0 + along * dr), cols - (c0 + along * dc))
    return np.clip(half_width + 0.5 - distance, 0.0, 1.0)


def _digit_templates():
    """Templates of shape (10, slants, widths, 32, 32): each digit drawn several ways."""
    rows, cols = _grid(32, 32)
    slants, widths = (-0.25, -0.1, 0.05, 0.2), (0.9, 1.4, 2.0)
    templates = np.zeros((10, len(slants), len(widths), 32, 32), np.float32)
    for digit, lit in _SEGMENTS.items():
        for i, slant in enumerate(slants):
            sheared = cols - 2 + slant * (rows - 16)  # lean the glyph; centre it in 32x32
            for j, half_width in enumerate(widths):
                strokes = [_stroke(rows - 2, sheared, *_SEGMENT_ENDS[s], half_width) for s in lit]
                templates[digit, i, j] = np.max(strokes, axis=0)
    return templates


def _place(templates, labels, rng, height, width):
    """Pick a random variant of each label's template and a random crop (a shift)."""
    n = len(labels)
    variants = templates.reshape(templates.shape[0], -1, *templates.shape[-2:])
    pick = rng.integers(0, variants.shape[1], size=n)
    top = rng.integers(0, variants.shape[-2] - height + 1, size=n)
    left = rng.integers(0, variants.shape[-1] - width + 1, size=n)
    row_index = top[:, None, None] + np.arange(height)[None, :, None]
    col_index = left[:, None, None] + np.arange(width)[None, None, :]
    images = variants[labels[:, None, None], pick[:, None, None], row_index, col_index]
    brightness = rng.uniform(0.65, 1.0, size=(n, 1, 1)).astype(np.float32)
    noise = rng.normal(0.0, 0.04, size=images.shape).astype(np.float32)
    return _to_uint8(images * brightness + noise * (images > 0.05))


def _to_uint8(images):
    return np.round(np.clip(images, 0.0, 1.0) * 255).astype(np.uint8)


def _labelled_splits(templates, seed_offset, n_train=60000, n_test=10000):
    rng = np.random.default_rng(STANDIN_SEED + seed_offset)
    splits = []
    for n in (n_train, n_test):
        labels = np.tile(np.arange(10, dtype=np.uint8), n // 10)
        rng.shuffle(labels)
        splits.append((_place(templates, labels, rng, 28, 28), labels))
    return tuple(splits)


def mnist():
    """Seven-segment digits, shaped like MNIST: ((60000, 28, 28), (60000,)), ((10000, ...))."""
    return _labelled_splits(_digit_templates(), seed_offset=1)


def _fashion_templates():
    """Silhouettes of shape (10, sizes, 32, 32), one class per Fashion-MNIST label."""
    rows, cols = _grid(32, 32)
    sizes = (0.85, 1.0, 1.15)
    templates = np.zeros((10, len(sizes), 32, 32), np.float32)

    def box(top, bottom, half, centre=16.0):
        return ((rows >= top) & (rows <= bottom) & (np.abs(cols - centre) <= half)).astype(
            np.float32
        )

    def taper(top, bottom, half_top, half_bottom):
        t = np.clip((rows - top) / (bottom - top), 0.0, 1.0)
        half = half_top + t * (half_bottom - half_top)
        return ((rows >= top) & (rows <= bottom) & (np.abs(cols - 16) <= half)).astype(np.float32)

    for k, s in enumerate(sizes):
        body = box(6, 26, 6 * s)
        shapes = [
            np.maximum(body, box(6, 12, 11 * s)),  # T-shirt: short sleeves
            np.maximum(box(4, 28, 2.2 * s, 16 - 3.2 * s), box(4, 28, 2.2 * s, 16 + 3.2 * s))
            + box(4, 8, 5.4 * s),  # trouser: two legs joined at the waist
            np.maximum(body, box(6, 24, 11 * s)) * 0.8,  # pullover: long sleeves, darker
            taper(4, 28, 3 * s, 10 * s),  # dress: flares towards the hem
            np.maximum(box(4, 28, 7 * s), box(4, 26, 11 * s)) - 0.6 * box(4, 28, 0.6),  # coat
            box(22, 26, 10 * s) * 0.6 + box(16, 22, 1.2 * s, 11) + box(16, 22, 1.2 * s, 21),
            np.maximum(body, box(6, 24, 10 * s)) - 0.5 * box(6, 26, 0.8),  # shirt: placket
            box(18, 26, 11 * s) + box(14, 18, 5 * s, 12),  # sneaker: sole and heel
            box(12, 26, 9 * s) + box(6, 12, 5 * s) - box(8, 12, 3 * s),  # bag with handle
            box(6, 26, 4 * s, 12) + box(20, 26, 11 * s, 15),  # ankle boot
        ]
        for label, shape in enumerate(shapes):
            templates[label, k] = np.clip(shape, 0.0, 1.0)
    return templates


def fashion_mnist():
    """Clothing silhouettes, shaped like Fashion-MNIST (labels follow its ten classes)."""
    return _labelled_splits(_fashion_templates(), seed_offset=2)


def frey_faces(n=1965):
    """Cartoon faces of shape (n, 28, 20) whose gaze and smile vary smoothly: a 2-D manifold."""
    rng = np.random.default_rng(STANDIN_SEED + 3)
    gaze = rng.uniform(-1.0, 1.0, size=(n, 1, 1)).astype(np.float32)
    smile = rng.uniform(-1.0, 1.0, size=(n, 1, 1)).astype(np.float32)
    rows, cols = _grid(28, 20)
    centre_col = 10 + 1.5 * gaze
    face = np.clip(1.0 - np.hypot((rows - 14) / 11.5, (cols - centre_col) / 8.5), 0, 1) ** 0.4
    eyes = sum(
        np.exp(-(((rows - 11) ** 2) + (cols - (centre_col + side + 1.2 * gaze)) ** 2) / 1.6)
        for side in (-3.5, 3.5)
    )
    mouth_row = 20 + 1.6 * smile * ((cols - centre_col) / 4.0) ** 2 - 0.8 * smile
    mouth = np.exp(-((rows - mouth_row) ** 2) / 0.8) * (np.abs(cols - centre_col) < 4.5)
    images = 0.75 * face - 0.55 * eyes - 0.45 * mouth + 0.15
    images = images + rng.normal(0.0, 0.02, size=images.shape)
    return _to_uint8(images)
