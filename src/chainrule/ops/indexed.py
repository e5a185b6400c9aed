"""Writing into a tensor at given indices: scatter (put), scatter_add and index_add (add). The backward
of each is gather's mirror: the written values get the gradient at the places they went to."""

from __future__ import annotations

import numpy as np

from ..backend import array_module
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor, as_tensor
from .broadcast import operands
from .pick import _index_array
from .place import Scatter
from .shape import full_index


def _check(op: str, x: Tensor, dim: int, index, src):
    if not -x.ndim <= dim < max(x.ndim, 1):
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor of {x.ndim} dimensions")
    index = _index_array(index, x)
    if index.dtype.kind not in "iu":
        raise DTypeError(f"{op}: index must be an integer tensor, got {index.dtype}")
    if index.ndim != x.ndim:
        raise ShapeError(f"{op}: index must have as many dimensions as the input ({x.ndim}), got shape {index.shape}")
    axis = dim % x.ndim
    for d, size in enumerate(index.shape):
        limit = x.shape[d] if d != axis else None
        if (limit is not None and size > limit) or (src is not None and size > src.shape[d]):
            raise ShapeError(
                f"{op}: index of shape {index.shape} is larger than the input {x.shape} or src "
                f"{None if src is None else src.shape} along dim {d}"
            )
    if index.size and (index.min() < -x.shape[axis] or index.max() >= x.shape[axis]):
        raise IndexError(f"{op}: index out of range for dim {axis} of size {x.shape[axis]}")
    return index % x.shape[axis], axis


def scatter(input, dim: int, index, src=None, *, value=None, reduce=None) -> Tensor:  # noqa: A002
    """A copy of ``input`` with src[i][j] (or ``value``) written at row index[i][j] of dim 0 (and so on for
    other dims); where an index repeats, one of the writes wins. ``reduce='add'`` adds instead."""
    x = as_tensor(input)
    if reduce not in (None, "add"):
        raise ValueError(f"scatter: reduce must be None or 'add', got {reduce!r}")
    if src is None and value is None:
        raise TypeError("scatter: give src (a tensor) or value (a number)")
    if src is not None and not isinstance(src, Tensor):  # scatter(x, dim, index, 2.0) gives a value
        src, value = None, src
    if src is not None:
        x, src = operands(x, src, "scatter")
        if src.ndim != x.ndim:
            raise ShapeError(f"scatter: src must have as many dimensions as the input ({x.ndim}), got {src.shape}")
    index, axis = _check("scatter", x, dim, index, src)
    places = full_index(index, axis)
    if src is None:
        if reduce == "add":
            return _add_value(x, places, value)
        return Scatter.apply(x, places=places, add=False, value=value)
    return Scatter.apply(x, _crop(src, index), places=places, add=reduce == "add")


def _crop(src: Tensor, index: np.ndarray) -> Tensor:
    """src's elements that index covers (its leading part along every dim)."""
    return src if src.shape == index.shape else src[tuple(slice(0, n) for n in index.shape)]


def _add_value(x: Tensor, places, value) -> Tensor:
    """scatter(..., value=v, reduce='add'): v added at every place (a constant src, no gradient of its own)."""
    values = Tensor.wrap(array_module(x.array).full(places[0].shape, value, dtype=x.array.dtype), False)
    return Scatter.apply(x, values, places=places, add=True)


def scatter_add(input, dim: int, index, src) -> Tensor:  # noqa: A002
    """A copy of ``input`` with every src[i][j] added at row index[i][j] of dim 0 (and so on); repeated
    indices add up: counts, sums by group."""
    x, src = operands(as_tensor(input), src, "scatter_add")
    index, axis = _check("scatter_add", x, dim, index, src)
    return Scatter.apply(x, _crop(src, index), places=full_index(index, axis), add=True)


def index_add(input, dim: int, index, source, *, alpha=1) -> Tensor:  # noqa: A002
    """A copy of ``input`` with alpha * source[k] added at position index[k] of ``dim`` (source's slice k
    along dim, whole)."""
    x, source = operands(as_tensor(input), source, "index_add")
    index = _index_array(index, x)
    if index.ndim != 1 or index.dtype.kind not in "iu":
        raise ShapeError(f"index_add: index must be a 1-D integer tensor, got {index.dtype} of shape {index.shape}")
    axis = dim % max(x.ndim, 1)
    expected = x.shape[:axis] + (len(index),) + x.shape[axis + 1 :]
    if source.shape != expected:
        raise ShapeError(
            f"index_add: source must have shape {expected} (the input's, {len(index)} along dim), got {source.shape}"
        )
    if index.size and (index.min() < -x.shape[axis] or index.max() >= x.shape[axis]):
        raise IndexError(f"index_add: index out of range for dim {axis} of size {x.shape[axis]}")
    # index_add is scatter_add with index[k] repeated across source's slice k
    shape = [1] * x.ndim
    shape[axis] = len(index)
    spread = array_module(index).broadcast_to((index % x.shape[axis]).astype(np.int64).reshape(shape), source.shape)
    return Scatter.apply(x, source * alpha if alpha != 1 else source, places=full_index(spread, axis), add=True)
