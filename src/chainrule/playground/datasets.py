"""The playground's data: 2-D sets on the plane [-6, 6]², scikit-learn's 8×8 digits, and the user's CSV.

Each maker takes (n, noise in [0, 0.5], rng, classes) and returns (X (n, 2) float64, y): int class
labels for classification, float targets (n, 1) for regression.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..data.csv_files import load_csv
from ..errors import DataError

EXTENT = 6.0  # the plane shown runs from -EXTENT to EXTENT on both axes


def circle(n, noise, rng, classes=2):
    """Class 1 inside a radius of 2.5, class 0 in a ring from 3.5 to 5."""
    inner = n // 2
    r = np.concatenate([rng.uniform(0, 2.5, inner), rng.uniform(3.5, 5.0, n - inner)])
    angle = rng.uniform(0, 2 * np.pi, n)
    X = np.column_stack([r * np.cos(angle), r * np.sin(angle)]) + rng.normal(0, 2 * noise, (n, 2))
    return X, np.concatenate([np.ones(inner), np.zeros(n - inner)]).astype(np.int64)


def xor(n, noise, rng, classes=2):
    """Points in the four quadrants, class 1 where x1 · x2 > 0; noise moves points, not labels."""
    X = rng.uniform(-5, 5, (n, 2))
    X += np.sign(X) * 0.3  # a small gap around the axes, as in TensorFlow Playground
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    return X + rng.normal(0, 2 * noise, (n, 2)), y


def gauss(n, noise, rng, classes=2):
    """Two Gaussian clouds around (2, 2) and (-2, -2); noise widens them."""
    half = n // 2
    spread = 0.5 + 4 * noise
    X = np.concatenate([rng.normal(2, spread, (half, 2)), rng.normal(-2, spread, (n - half, 2))])
    return X, np.concatenate([np.ones(half), np.zeros(n - half)]).astype(np.int64)


def spiral(n, noise, rng, classes=2):
    """``classes`` interleaved spiral arms."""
    X, y = [], []
    for c in range(classes):
        count = n // classes + (c < n % classes)
        t = np.linspace(0, 1, count)
        r = 5 * t
        angle = 1.75 * 2 * np.pi * t + 2 * np.pi * c / classes
        arm = np.column_stack([r * np.sin(angle), r * np.cos(angle)])
        X.append(arm + rng.normal(0, 2 * noise, arm.shape))
        y.append(np.full(count, c))
    return np.concatenate(X), np.concatenate(y).astype(np.int64)


def blobs(n, noise, rng, classes=3):
    """``classes`` Gaussian blobs on a circle of radius 3.5."""
    angle = 2 * np.pi * np.arange(classes) / classes
    centres = 3.5 * np.column_stack([np.cos(angle), np.sin(angle)])
    y = np.arange(n) % classes
    return centres[y] + rng.normal(0, 0.6 + 3 * noise, (n, 2)), y.astype(np.int64)


def plane(n, noise, rng, classes=None):
    """Regression: the target rises across the plane, t = (x1 + x2) / 10, plus noise."""
    X = rng.uniform(-5, 5, (n, 2))
    t = (X[:, 0] + X[:, 1]) / 10 + rng.normal(0, noise, n)
    return X, t.reshape(-1, 1)


def bumps(n, noise, rng, classes=None):
    """Regression: a sum of six Gaussian bumps of heights ±1, plus noise."""
    centres = np.array([[-4, 2.5], [0, 2.5], [4, 2.5], [-4, -2.5], [0, -2.5], [4, -2.5]])
    heights = np.array([-1.0, 1.0, -1.0, 1.0, -1.0, 1.0])
    X = rng.uniform(-5, 5, (n, 2))
    d2 = ((X[:, None, :] - centres[None]) ** 2).sum(axis=2)
    t = (heights * np.exp(-d2 / 2)).sum(axis=1) + rng.normal(0, noise, n)
    return X, t.reshape(-1, 1)


MAKERS = {
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
DATASETS = tuple(MAKERS) + ("csv", "digits")
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
    X, y = MAKERS[name](n, noise, rng, classes)
    X = np.clip(X, -EXTENT, EXTENT)
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
