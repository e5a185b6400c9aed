"""Datasets by name, split into train/validation/test and standardised on the training part.

``load_dataset('digits')`` gives a ``DataSplits`` ready for ``DataLoader``; see ``DATASETS``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError
from . import synthetic, text
from .csv_files import load_csv
from .dataset import check_finite
from .mnist import load_idx_pair
from .sklearn_datasets import LOADERS as SKLEARN
from .split import Standardize, train_val_test_split

# Made locally (data/synthetic.py): the playground's 2-D sets, the two moons and a sine.
SYNTHETIC = {**synthetic.PLANE, "moons": synthetic.moons, "sine": synthetic.sine}
ALIASES = {"spirals": "spiral", "circles": "circle"}  # earlier names of two of them, still understood
PLANE_POINTS = 600  # the 2-D sets' size for the command (the playground draws 200): a few more steps an epoch
MNIST_LIKE = ("mnist", "fashion-mnist", "mnist-t10k", "fashion-mnist-t10k")
DATASETS = tuple(SYNTHETIC) + tuple(SKLEARN) + MNIST_LIKE + tuple(text.BUNDLED)
FASHION_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


@dataclass
class DataSplits:
    """Train/validation/test arrays of one dataset, and what a model needs to know about it."""

    name: str
    task: str  # "classification" or "regression"
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    num_classes: int | None = None
    class_names: list = field(default_factory=list)
    input_scaler: Standardize | None = None
    target_scaler: Standardize | None = None
    # text (load_text_splits): the rows are contexts of token ids, the classes the tokens
    text_mode: str | None = None
    baseline: dict = field(default_factory=dict)  # the count-based bigram's loss on the val and test splits

    @property
    def num_features(self) -> int:
        return int(np.prod(self.X_train.shape[1:]))

    @property
    def num_outputs(self) -> int:
        return self.num_classes if self.task == "classification" else self.y_train.shape[1]

    def sizes(self) -> dict:
        return {"train": len(self.X_train), "val": len(self.X_val), "test": len(self.X_test)}


def is_text(name: str, mode: str = "auto") -> bool:
    """Whether ``--data name`` is text for a language model: a bundled text, a .txt file, or any file with a
    --text mode said."""
    return name in text.BUNDLED or name.endswith(".txt") or (mode != "auto" and os.path.isfile(name))


def load_text_splits(name: str, block: int, seed: int = 0, mode: str = "auto") -> DataSplits:
    """A text (see data/text.py) as DataSplits: rows of ``block`` token ids, the next token as the class."""
    found = text.load_text(name, block, seed, mode)
    (X_tr, y_tr), (X_va, y_va), (X_te, y_te) = found["splits"]
    tokens = found["vocabulary"].tokens
    splits = DataSplits(found["name"], "classification", X_tr, y_tr, X_va, y_va, X_te, y_te, len(tokens), tokens)
    splits.text_mode = found["mode"]
    splits.baseline = {"val": found["bigram_val"], "test": found["bigram_test"]}
    return splits


def load_dataset(
    name: str,
    data_dir: str | None = None,
    seed: int = 0,
    ratios=(0.8, 0.1, 0.1),
    n: int | None = None,
    delimiter: str | None = None,
    standardize: bool = True,
) -> DataSplits:
    """Load ``name`` (see ``DATASETS``, or a path to a CSV file), split it and standardise it.

    MNIST and Fashion-MNIST read the idx files from ``data_dir``; ``mnist-t10k`` uses only the
    10,000 test images, split 8:1:1, for where only those are at hand. ``standardize=False`` keeps a
    CSV's or scikit-learn set's inputs (and regression targets) as they are.
    """
    class_names: list = []
    name = ALIASES.get(name, name)
    if name in SYNTHETIC:
        if n is None and name in synthetic.PLANE:
            n = PLANE_POINTS
        X, y = SYNTHETIC[name](seed=seed) if n is None else SYNTHETIC[name](n=n, seed=seed)
        task = "regression" if name in ("sine",) + synthetic.REGRESSION else "classification"
        standardize = False
    elif name in SKLEARN:
        from .sklearn_datasets import load_sklearn

        X, y, class_names = load_sklearn(name)
        task = "regression" if name == "diabetes" else "classification"
    elif name in MNIST_LIKE:
        if not data_dir:
            raise DataError(
                f"dataset {name!r} needs --data-dir: a folder with the idx files (e.g. t10k-images-idx3-ubyte.gz)"
            )
        X, y = _load_mnist_like(name, data_dir, seed, ratios)
        if isinstance(X, DataSplits):
            return X
        task, standardize = "classification", False
    elif name.endswith(".csv") or os.path.isfile(name):
        X, y, task, class_names = load_csv(name, delimiter)
    else:
        raise DataError(
            f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}, or give a .csv file (a table) or a .txt "
            "file (text, for a language model)"
        )
    check_finite(X, f"dataset {name!r}")
    if len(X) == 0:
        raise DataError(f"dataset {name!r} is empty")
    (X_tr, y_tr), (X_va, y_va), (X_te, y_te) = train_val_test_split(
        X, y, ratios, stratify=task == "classification", seed=seed
    )
    scaler = target_scaler = None
    if standardize:
        scaler = Standardize().fit(X_tr)
        X_tr, X_va, X_te = scaler.transform(X_tr), scaler.transform(X_va), scaler.transform(X_te)
    if task == "regression" and standardize:
        target_scaler = Standardize().fit(y_tr)
        y_tr, y_va, y_te = target_scaler.transform(y_tr), target_scaler.transform(y_va), target_scaler.transform(y_te)
    classes = max(int(y.max()) + 1, len(class_names)) if task == "classification" else None
    return DataSplits(name, task, X_tr, y_tr, X_va, y_va, X_te, y_te, classes, class_names, scaler, target_scaler)


def _load_mnist_like(name, data_dir, seed, ratios):
    names = FASHION_NAMES if name.startswith("fashion") else [str(i) for i in range(10)]
    if name.endswith("-t10k"):
        images, labels = load_idx_pair(data_dir, "test")
        return images.reshape(len(images), -1).astype(np.float32) / 255.0, labels
    train_images, train_labels = load_idx_pair(data_dir, "train")
    test_images, test_labels = load_idx_pair(data_dir, "test")
    X = train_images.reshape(len(train_images), -1).astype(np.float32) / 255.0
    X_test = test_images.reshape(len(test_images), -1).astype(np.float32) / 255.0
    # The official split: 60,000 train (of which 1/12 held out for validation), 10,000 test.
    (X_tr, y_tr), (X_va, y_va), _ = train_val_test_split(X, train_labels, (11 / 12, 1 / 12, 0.0), seed=seed)
    return DataSplits(name, "classification", X_tr, y_tr, X_va, y_va, X_test, test_labels, 10, names), None
