"""The playground's data: the 2-D sets on the plane [-6, 6]² (data/synthetic.py, the command's too), scikit-learn's
8×8 digits, and the user's CSV; the input features drawn from the plane's two coordinates."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..data.csv_files import load_csv
from ..data.synthetic import EXTENT, PLANE, REGRESSION
from ..errors import DataError

DATASETS = tuple(PLANE) + ("csv", "digits")
FEATURES = {
    "x1": lambda X: X[:, 0],
    "x2": lambda X: X[:, 1],
    "x1^2": lambda X: X[:, 0] ** 2,
    "x2^2": lambda X: X[:, 1] ** 2,
    "x1x2": lambda X: X[:, 0] * X[:, 1],
    "sin_x1": lambda X: np.sin(X[:, 0]),
    "sin_x2": lambda X: np.sin(X[:, 1]),
}
MAX_UPLOAD = 5 * 1024 * 1024  # bytes of CSV text
MAX_ROWS = 5000


@dataclass
class PlaygroundData:
    """Train and test points (raw: the plane's coordinates, or the digits' 64 pixels) and their labels."""

    kind: str  # "plane" for 2-D sets and CSV files, "digits" for the 8×8 images
    task: str  # "classification" or "regression"
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: int | None
    class_names: list = field(default_factory=list)
    note: str = ""

    def inputs(self, X: np.ndarray, features: list) -> np.ndarray:
        """The network's input columns: the chosen features of plane points, or the pixels as they are."""
        if self.kind == "digits":
            return X
        return np.column_stack([FEATURES[f](X) for f in features])


def split(X, y, train_percent: int, rng) -> tuple:
    order = rng.permutation(len(X))
    cut = max(1, min(len(X) - 1, round(len(X) * train_percent / 100)))
    return X[order[:cut]], y[order[:cut]], X[order[cut:]], y[order[cut:]]


def make(name: str, n: int, noise: float, train_percent: int, seed: int, classes: int) -> PlaygroundData:
    rng = np.random.default_rng(seed)
    if name == "digits":
        return digits(train_percent, rng)
    X, y = PLANE[name](n, noise, rng, classes)
    X = np.clip(X.astype(np.float64), -EXTENT, EXTENT)  # the playground computes in float64
    y = y.astype(np.float64) if y.dtype.kind == "f" else y
    task = "regression" if name in REGRESSION else "classification"
    count = None if task == "regression" else int(y.max()) + 1
    return PlaygroundData("plane", task, *split(X, y, train_percent, rng), count)


def digits(train_percent: int, rng) -> PlaygroundData:
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DataError("the digits need scikit-learn: pip install 'chainrule[datasets]'") from None
    bunch = load_digits()
    X = bunch.data.astype(np.float64) / 16.0  # pixel intensities 0..16 to [0, 1]
    y = bunch.target.astype(np.int64)
    names = [str(d) for d in range(10)]
    return PlaygroundData("digits", "classification", *split(X, y, train_percent, rng), 10, names)


def from_csv(text: str, name: str, train_percent: int, seed: int) -> PlaygroundData:
    """The user's CSV: two numeric feature columns and a label (numeric, or text for classes). The points
    are scaled so that both columns span [-5, 5], the plane's drawing range; the page says so."""
    if len(text.encode("utf-8", "replace")) > MAX_UPLOAD:
        raise DataError(
            f"{name}: the CSV is larger than {MAX_UPLOAD // (1024 * 1024)} MB; the playground takes small sets"
        )
    X, y, task, class_names = load_csv(name, text=text)
    if X.shape[1] != 2:
        raise DataError(
            f"{name}: the playground needs two feature columns and a label (3 columns), got {X.shape[1] + 1} columns"
        )
    if len(X) < 4 or len(X) > MAX_ROWS:
        raise DataError(f"{name}: expected 4 to {MAX_ROWS} rows, got {len(X)}")
    X = X.astype(np.float64)
    if not np.isfinite(X).all():
        raise DataError(f"{name}: a feature column has an empty or non-finite cell")
    low, high = X.min(axis=0), X.max(axis=0)
    X = (X - low) / np.where(high > low, high - low, 1.0) * 10 - 5
    if task == "regression":
        y = y.astype(np.float64)
        y = (y - y.mean()) / (y.std() or 1.0)
    classes = None if task == "regression" else max(int(y.max()) + 1, len(class_names))
    if classes is not None and classes > 10:
        raise DataError(f"{name}: at most 10 classes in the playground, got {classes}")
    rng = np.random.default_rng(seed)
    note = f"{name}: {len(X)} rows, columns scaled to [-5, 5]"
    return PlaygroundData("plane", task, *split(X, y, train_percent, rng), classes, class_names, note)
