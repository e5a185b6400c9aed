"""Small synthetic datasets made locally: xor, spirals, moons, circles, sine regression.

Each returns (X, y) as float32 inputs and int64 labels (float32 targets for sine).
"""

from __future__ import annotations

import numpy as np


def xor(n: int = 200, noise: float = 0.1, seed: int = 0):
    """The four corners of the unit square, labelled by XOR, jittered by ``noise``; n rows."""
    rng = np.random.default_rng(seed)
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    index = np.arange(n) % 4
    X = corners[index] + rng.normal(0, noise, (n, 2))
    y = np.array([0, 1, 1, 0])[index]
    return X.astype(np.float32), y.astype(np.int64)


def spirals(n: int = 300, classes: int = 3, noise: float = 0.2, seed: int = 0):
    """Interleaved spiral arms, one per class (CS231n's classic); not linearly separable."""
    rng = np.random.default_rng(seed)
    per = n // classes
    X, y = [], []
    for c in range(classes):
        r = np.linspace(0.0, 1.0, per)
        theta = np.linspace(c * 4, (c + 1) * 4, per) + rng.normal(0, noise, per)
        X.append(np.column_stack([r * np.sin(theta), r * np.cos(theta)]))
        y.append(np.full(per, c))
    return np.concatenate(X).astype(np.float32), np.concatenate(y).astype(np.int64)


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


def circles(n: int = 200, noise: float = 0.05, factor: float = 0.5, seed: int = 0):
    """A small circle inside a large one."""
    rng = np.random.default_rng(seed)
    half = n // 2
    t_out, t_in = np.linspace(0, 2 * np.pi, n - half, endpoint=False), np.linspace(0, 2 * np.pi, half, endpoint=False)
    X = np.concatenate(
        [np.column_stack([np.cos(t_out), np.sin(t_out)]), factor * np.column_stack([np.cos(t_in), np.sin(t_in)])]
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
