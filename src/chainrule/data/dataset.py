"""Dataset (anything with __len__ and __getitem__), TensorDataset over arrays, and Subset."""

from __future__ import annotations

import numpy as np

from ..errors import DataError, ShapeError
from ..tensor import Tensor


def check_finite(X: np.ndarray, what: str) -> None:
    """DataError naming ``what`` and the first bad row if float data holds NaN or infinity."""
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        bad = np.argwhere(~np.isfinite(X))[0]
        raise DataError(
            f"{what}: contains NaN or infinite values (first at row {bad[0]}); clean or impute the data first"
        )


class Dataset:
    """Subclass and define ``__len__`` and ``__getitem__(i)`` returning a tuple of arrays or numbers."""

    def __len__(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def __getitem__(self, index):  # pragma: no cover - abstract
        raise NotImplementedError


class TensorDataset(Dataset):
    """Rows of equally long arrays (e.g. inputs X and targets y); batches are taken by fancy indexing."""

    def __init__(self, *arrays):
        if not arrays:
            raise DataError("TensorDataset: give at least one array")
        self.arrays = tuple(a.array if isinstance(a, Tensor) else np.asarray(a) for a in arrays)
        lengths = {len(a) for a in self.arrays}
        if len(lengths) != 1:
            raise ShapeError(f"TensorDataset: arrays have different lengths {[len(a) for a in self.arrays]}")
        for index, array in enumerate(self.arrays):
            check_finite(array, f"TensorDataset: array {index}")

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)


class Subset(Dataset):
    """The rows of ``dataset`` at ``indices``."""

    def __init__(self, dataset: Dataset, indices):
        self.dataset, self.indices = dataset, np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[self.indices[index]]
