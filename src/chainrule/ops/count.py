"""Counting: one-hot codes, counts of integers, histograms. Their results are counts and codes, not
functions of the input's values that a gradient could flow through, so none is recorded in the graph."""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..backend import to_device
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor, as_tensor

# torch.return_types.histogram: a tuple with names
Histogram = namedtuple("histogram", ["hist", "bin_edges"])


def _host(x: Tensor) -> np.ndarray:
    return to_device(x.array, "cpu")


def _result(array: np.ndarray, like: Tensor) -> Tensor:
    return Tensor.wrap(to_device(array, like.device), False)


def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """Class indices as one-hot rows: shape (*, num_classes), int64, a 1 at each index (num_classes=-1: the
    largest index + 1)."""
    x = as_tensor(tensor)
    if x.array.dtype != np.int64:
        raise DTypeError(f"one_hot: expected an int64 tensor of class indices, got {x.dtype}")
    indices = _host(x)
    if indices.size and indices.min() < 0:
        raise ValueError(f"one_hot: class indices must be non-negative, got {int(indices.min())}")
    if num_classes == -1:
        if indices.size == 0:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; give num_classes")
        num_classes = int(indices.max()) + 1
    if indices.size and indices.max() >= num_classes:
        raise ValueError(f"one_hot: class index {int(indices.max())} is not below num_classes={num_classes}")
    codes = np.zeros(indices.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(codes, indices[..., None], 1, axis=-1)
    return _result(codes, x)


def bincount(input, weights=None, minlength: int = 0) -> Tensor:  # noqa: A002 - PyTorch's names
    """How often each non-negative integer occurs in the 1-D ``input`` (or the sum of its ``weights``), of
    length max(input) + 1 or ``minlength``, whichever is larger."""
    x = as_tensor(input)
    values = _host(x)
    if values.ndim != 1 or values.dtype.kind not in "iu":
        raise ShapeError(f"bincount: expected a 1-D tensor of integers, got {x.dtype} of shape {x.shape}")
    if values.size and values.min() < 0:
        raise ValueError(f"bincount: values must be non-negative, got {int(values.min())}")
    if weights is None:
        return _result(np.bincount(values, minlength=minlength).astype(np.int64), x)
    weights = as_tensor(weights)
    if weights.shape != x.shape:
        raise ShapeError(f"bincount: weights must have the input's shape {x.shape}, got {weights.shape}")
    w = _host(weights)
    dtype = w.dtype if w.dtype.kind == "f" else np.float64  # PyTorch: float weights keep their dtype
    return _result(np.bincount(values, weights=w.astype(np.float64), minlength=minlength).astype(dtype), x)


def histc(input, bins: int = 100, min: float = 0, max: float = 0) -> Tensor:  # noqa: A002
    """Counts of ``input`` in ``bins`` equal bins over [min, max] (both 0: the data's own range); elements
    outside are left out. The counts come in the input's float dtype."""
    x = as_tensor(input)
    values = _host(x)
    if values.dtype.kind != "f":
        raise DTypeError(f"histc: expected a floating-point tensor, got {x.dtype}")
    if not isinstance(bins, (int, np.integer)) or bins <= 0:
        raise ValueError(f"histc: bins must be a positive integer, got {bins!r}")
    low, high = float(min), float(max)
    if low == high and values.size:
        low, high = float(values.min()), float(values.max())
    if low == high:  # every value the same (or none): PyTorch widens the range by 1 each way
        low, high = low - 1, high + 1
    if low > high:
        raise ValueError(f"histc: max ({high}) must be larger than min ({low})")
    counts, _ = np.histogram(values.reshape(-1), bins=int(bins), range=(low, high))
    return _result(counts.astype(values.dtype), x)


def histogram(input, bins=100, *, range=None, weight=None, density: bool = False):  # noqa: A002
    """(hist, bin_edges): counts (or weights summed, or a density) of ``input`` in ``bins`` (a number of equal
    bins over ``range`` or the data's range, or a tensor of increasing edges), the last bin closed."""
    x = as_tensor(input)
    values = _host(x)
    if values.dtype.kind != "f":
        raise DTypeError(f"histogram: expected a floating-point tensor, got {x.dtype}")
    edges = _host(bins).astype(np.float64) if isinstance(bins, Tensor) else int(bins)
    w = None if weight is None else _host(as_tensor(weight)).reshape(-1)
    if w is not None and w.size != values.size:
        raise ShapeError(f"histogram: weight must have the input's shape {x.shape}, got {tuple(weight.shape)}")
    try:
        counts, edges = np.histogram(values.reshape(-1), bins=edges, range=range, weights=w, density=density)
    except ValueError as exc:
        raise ValueError(f"histogram: {exc}") from None
    return Histogram(_result(counts.astype(values.dtype), x), _result(edges.astype(values.dtype), x))
