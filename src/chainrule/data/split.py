"""Splitting data into train/validation/test parts, and Standardize fitted on the training part only."""

from __future__ import annotations

import numpy as np

from ..errors import DataError
from .dataset import Dataset, Subset


def _check_ratios(ratios) -> tuple:
    ratios = tuple(float(r) for r in ratios)
    if len(ratios) != 3 or any(r < 0 for r in ratios) or abs(sum(ratios) - 1) > 1e-6:
        raise DataError(f"train_val_test_split: ratios must be three non-negative numbers summing to 1, got {ratios}")
    return ratios


def _counts(n: int, ratios) -> tuple[int, int, int]:
    n_val = int(round(n * ratios[1]))
    n_test = int(round(n * ratios[2]))
    return n - n_val - n_test, n_val, n_test


def train_val_test_split(X, y, ratios=(0.8, 0.1, 0.1), stratify: bool = True, seed: int = 0):
    """Shuffle and split into ((X_train, y_train), (X_val, y_val), (X_test, y_test)).

    With ``stratify`` (classification labels) each class is split in the same proportions, so a
    rare class appears in every part.
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise DataError(f"train_val_test_split: X has {len(X)} rows but y has {len(y)}")
    ratios = _check_ratios(ratios)
    rng = np.random.default_rng(seed)
    parts = ([], [], [])
    if stratify and y.ndim == 1 and y.dtype.kind in "iub":
        for label in np.unique(y):
            members = rng.permutation(np.flatnonzero(y == label))
            n_train, n_val, _ = _counts(len(members), ratios)
            for part, chunk in zip(parts, np.split(members, [n_train, n_train + n_val])):
                part.append(chunk)
        indices = [rng.permutation(np.concatenate(p)) for p in parts]
    else:
        order = rng.permutation(len(X))
        n_train, n_val, _ = _counts(len(X), ratios)
        indices = np.split(order, [n_train, n_train + n_val])
    for name, index, ratio in zip(("train", "validation", "test"), indices, ratios):
        if len(index) == 0 and ratio > 0:
            raise DataError(
                f"train_val_test_split: the {name} split is empty ({len(X)} rows, ratios {ratios}); use more data or "
                f"other ratios"
            )
    return tuple((X[i], y[i]) for i in indices)


def random_split(dataset: Dataset, lengths, seed: int = 0) -> list[Subset]:
    """Split a dataset into non-overlapping Subsets of the given lengths (or fractions summing to 1)."""
    n = len(dataset)
    lengths = list(lengths)
    if all(isinstance(x, float) for x in lengths) and abs(sum(lengths) - 1) < 1e-6:
        counts = [int(np.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if sum(lengths) != n or any(x < 0 for x in lengths):
        raise DataError(f"random_split: lengths {lengths} must be non-negative and sum to the dataset's {n} rows")
    order = np.random.default_rng(seed).permutation(n)
    bounds = np.cumsum(lengths)[:-1]
    return [Subset(dataset, part) for part in np.split(order, bounds)]


class Standardize:
    """x -> (x - mean) / std per feature, with mean and std taken from the training data only.

    Fitting on all the data would leak the test set's statistics into training.
    """

    def __init__(self, eps: float = 1e-8):
        self.eps = eps
        self.mean = self.std = None

    def fit(self, X) -> "Standardize":
        X = np.asarray(X)
        if len(X) == 0:
            raise DataError("Standardize.fit: got no rows")
        self.mean = X.mean(axis=0)
        self.std = X.std(axis=0)
        self.std = np.where(self.std < self.eps, 1.0, self.std).astype(X.dtype)  # constant features stay as they are
        return self

    def transform(self, X) -> np.ndarray:
        if self.mean is None:
            raise DataError("Standardize.transform: call fit() on the training data first")
        X = np.asarray(X)
        return ((X - self.mean) / self.std).astype(X.dtype, copy=False)

    def fit_transform(self, X) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, X) -> np.ndarray:
        return np.asarray(X) * self.std + self.mean

    def state_dict(self) -> dict:
        return {"mean": self.mean, "std": self.std}

    def load_state_dict(self, state: dict) -> None:
        self.mean, self.std = np.asarray(state["mean"]), np.asarray(state["std"])
