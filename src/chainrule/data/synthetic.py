"""Small synthetic data sets made locally, one set for the command and the playground.

The 2-D sets are TensorFlow Playground's, on the plane [-6, 6]² (the playground draws them): circle, xor, gauss,
spiral and blobs to classify, plane and bumps to regress. Each maker takes (n, noise in [0, 0.5], seed, classes),
``seed`` an int or a NumPy Generator (the playground draws the split from the same stream), and returns (X (n, 2)
float32, y): int64 labels, or float32 targets of shape (n, 1). Beside them, scikit-learn's two moons and a 1-D sine
regression.
"""

from __future__ import annotations

import numpy as np

EXTENT = 6.0  # the plane shown runs from -EXTENT to EXTENT on both axes


def _as_data(X, y):
    """float32 inputs (the library's default dtype) and targets; labels stay int64."""
    return X.astype(np.float32), y if y.dtype.kind == "i" else y.astype(np.float32)


def circle(n: int = 200, noise: float = 0.1, seed=0, classes=2):
    """Class 1 inside a radius of 2.5, class 0 in a ring from 3.5 to 5."""
    rng = np.random.default_rng(seed)
    inner = n // 2
    r = np.concatenate([rng.uniform(0, 2.5, inner), rng.uniform(3.5, 5.0, n - inner)])
    angle = rng.uniform(0, 2 * np.pi, n)
    X = np.column_stack([r * np.cos(angle), r * np.sin(angle)]) + rng.normal(0, 2 * noise, (n, 2))
    return _as_data(X, np.concatenate([np.ones(inner), np.zeros(n - inner)]).astype(np.int64))


def xor(n: int = 200, noise: float = 0.1, seed=0, classes=2):
    """Points in the four quadrants, class 1 where x1 · x2 > 0; noise moves points, not labels."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-5, 5, (n, 2))
    X += np.sign(X) * 0.3  # a small gap around the axes, as in TensorFlow Playground
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    return _as_data(X + rng.normal(0, 2 * noise, (n, 2)), y)


def gauss(n: int = 200, noise: float = 0.1, seed=0, classes=2):
    """Two Gaussian clouds around (2, 2) and (-2, -2); noise widens them."""
    rng = np.random.default_rng(seed)
    half = n // 2
    spread = 0.5 + 4 * noise
    X = np.concatenate([rng.normal(2, spread, (half, 2)), rng.normal(-2, spread, (n - half, 2))])
    return _as_data(X, np.concatenate([np.ones(half), np.zeros(n - half)]).astype(np.int64))


def spiral(n: int = 200, noise: float = 0.1, seed=0, classes=2):
    """``classes`` interleaved spiral arms."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for c in range(classes):
        count = n // classes + (c < n % classes)
        t = np.linspace(0, 1, count)
        r = 5 * t
        angle = 1.75 * 2 * np.pi * t + 2 * np.pi * c / classes
        arm = np.column_stack([r * np.sin(angle), r * np.cos(angle)])
        X.append(arm + rng.normal(0, 2 * noise, arm.shape))
        y.append(np.full(count, c))
    return _as_data(np.concatenate(X), np.concatenate(y).astype(np.int64))


def blobs(n: int = 200, noise: float = 0.1, seed=0, classes=3):
    """``classes`` Gaussian blobs on a circle of radius 3.5."""
    rng = np.random.default_rng(seed)
    angle = 2 * np.pi * np.arange(classes) / classes
    centres = 3.5 * np.column_stack([np.cos(angle), np.sin(angle)])
    y = np.arange(n) % classes
    return _as_data(centres[y] + rng.normal(0, 0.6 + 3 * noise, (n, 2)), y.astype(np.int64))


def plane(n: int = 200, noise: float = 0.1, seed=0, classes=None):
    """Regression: the target rises across the plane, t = (x1 + x2) / 10, plus noise."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-5, 5, (n, 2))
    t = (X[:, 0] + X[:, 1]) / 10 + rng.normal(0, noise, n)
    return _as_data(X, t.reshape(-1, 1))


def bumps(n: int = 200, noise: float = 0.1, seed=0, classes=None):
    """Regression: a sum of six Gaussian bumps of heights ±1, plus noise."""
    rng = np.random.default_rng(seed)
    centres = np.array([[-4, 2.5], [0, 2.5], [4, 2.5], [-4, -2.5], [0, -2.5], [4, -2.5]])
    heights = np.array([-1.0, 1.0, -1.0, 1.0, -1.0, 1.0])
    X = rng.uniform(-5, 5, (n, 2))
    d2 = ((X[:, None, :] - centres[None]) ** 2).sum(axis=2)
    t = (heights * np.exp(-d2 / 2)).sum(axis=1) + rng.normal(0, noise, n)
    return _as_data(X, t.reshape(-1, 1))


# The 2-D sets by name.
PLANE = {
    "circle": circle,
    "xor": xor,
    "gauss": gauss,
    "spiral": spiral,
    "blobs": blobs,
    "plane": plane,
    "bumps": bumps,
}
REGRESSION = ("plane", "bumps")
MULTICLASS = ("spiral", "blobs")  # the sets whose number of classes can be chosen


def moons(n: int = 200, noise: float = 0.1, seed: int = 0):
    """Two interleaving half circles."""
    rng = np.random.default_rng(seed)
    half = n // 2
    t_out, t_in = np.linspace(0, np.pi, n - half), np.linspace(0, np.pi, half)
    X = np.concatenate(
        [np.column_stack([np.cos(t_out), np.sin(t_out)]), np.column_stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)])]
    )
    X += rng.normal(0, noise, X.shape)
    y = np.concatenate([np.zeros(n - half), np.ones(half)])
    return X.astype(np.float32), y.astype(np.int64)


def sine(n: int = 256, noise: float = 0.05, seed: int = 0):
    """Regression: y = sin(x) + noise for x in [-pi, pi]; targets of shape (n, 1)."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-np.pi, np.pi, (n, 1))
    y = np.sin(X) + rng.normal(0, noise, (n, 1))
    return X.astype(np.float32), y.astype(np.float32)
