"""Shape ops: reshape, transpose/permute, flatten, indexing, concatenate, stack.

They move elements without changing them, so backward moves the gradient back the same way.
"""
from __future__ import annotations

import numpy as np

from ..backend import array_module, scatter_add
from ..errors import DTypeError, ShapeError
from ..function import Function
from ..tensor import Tensor, as_tensor


class Reshape(Function):
    def forward(self, x, shape):
        self.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ShapeError(f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) into {shape}") from None

    def backward(self, grad_output):
        return grad_output.reshape(self.shape)


class Permute(Function):
    def forward(self, x, axes):
        self.axes = axes
        return x.transpose(axes)

    def backward(self, grad_output):
        inverse = sorted(range(len(self.axes)), key=self.axes.__getitem__)  # the permutation that undoes axes
        return grad_output.transpose(inverse)


class GetItem(Function):
    op = "getitem"

    def forward(self, x, index):
        self.shape, self.dtype, self.index = x.shape, x.dtype, index
        try:
            return x[index]
        except IndexError as exc:
            raise IndexError(f"getitem: {exc} (tensor shape {x.shape})") from None

    def backward(self, grad_output):
        xp = array_module(grad_output)
        grad = xp.zeros(self.shape, dtype=grad_output.dtype)
        if _is_basic(self.index):
            grad[self.index] = grad_output
        else:
            # Repeated indices each add their share: x[[0, 0]] sends two gradients to x[0].
            scatter_add(grad, self.index, grad_output)
        return grad


def _is_basic(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, np.integer, slice)) or p is None or p is Ellipsis for p in parts)


class Concatenate(Function):
    def forward(self, *arrays, axis):
        xp = array_module(arrays[0])
        self.axis = axis
        self.splits = np.cumsum([a.shape[axis] for a in arrays])[:-1].tolist()
        try:
            return xp.concatenate(arrays, axis=axis)
        except ValueError:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise ShapeError(f"concatenate: shapes {shapes} differ outside axis {axis}") from None

    def backward(self, grad_output):
        xp = array_module(grad_output)
        return tuple(xp.split(grad_output, self.splits, axis=self.axis))


class Stack(Function):
    def forward(self, *arrays, axis):
        xp = array_module(arrays[0])
        self.axis, self.count = axis, len(arrays)
        try:
            return xp.stack(arrays, axis=axis)
        except ValueError:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise ShapeError(f"stack: all tensors must have the same shape, got {shapes}") from None

    def backward(self, grad_output):
        xp = array_module(grad_output)
        return tuple(xp.take(grad_output, i, axis=self.axis) for i in range(self.count))


def reshape(x, *shape) -> Tensor:
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return Reshape.apply(as_tensor(x), shape=shape)


def transpose(x, dim0: int | None = None, dim1: int | None = None) -> Tensor:
    """Swap two axes (``dim0``, ``dim1``); with none given, reverse all axes (NumPy's ``.T``)."""
    x = as_tensor(x)
    axes = list(range(x.ndim))
    if dim0 is None and dim1 is None:
        axes.reverse()
    else:
        if dim0 is None or dim1 is None:
            raise ValueError("transpose: give both dim0 and dim1, or neither")
        for d in (dim0, dim1):
            if not -x.ndim <= d < x.ndim:
                raise ShapeError(f"transpose: dim {d} is out of range for shape {x.shape}")
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    return Permute.apply(x, axes=tuple(axes))


def permute(x, *axes) -> Tensor:
    x = as_tensor(x)
    axes = tuple(axes[0]) if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
    if sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
        raise ShapeError(f"permute: {axes} is not a permutation of the {x.ndim} axes of shape {x.shape}")
    return Permute.apply(x, axes=tuple(a % x.ndim for a in axes))


def flatten(x, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge axes start_dim..end_dim into one (``Flatten`` uses start_dim=1 to keep the batch)."""
    x = as_tensor(x)
    if x.ndim == 0:
        return reshape(x, (1,))
    start, end = start_dim % x.ndim, end_dim % x.ndim
    shape = x.shape[:start] + (int(np.prod(x.shape[start : end + 1])),) + x.shape[end + 1 :]
    return reshape(x, shape)


def unsqueeze(x, dim: int) -> Tensor:
    x = as_tensor(x)
    return reshape(x, np.expand_dims(x.data, dim).shape)


def squeeze(x, dim: int | None = None) -> Tensor:
    x = as_tensor(x)
    shape = x.data.squeeze().shape if dim is None else (x.data.squeeze(dim).shape if x.shape[dim] == 1 else x.shape)
    return reshape(x, shape)


def getitem(x, index) -> Tensor:
    index = _plain_index(index)
    return GetItem.apply(as_tensor(x), index=index)


def _plain_index(index):
    if isinstance(index, tuple):
        return tuple(_plain_index(i) for i in index)
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _same_dtype(tensors, op):
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty sequence of tensors")
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:
        raise DTypeError(f"{op}: tensors have different dtypes {sorted(map(str, dtypes))}; convert them first")
    return tensors


def concatenate(tensors, axis: int = 0) -> Tensor:
    tensors = _same_dtype(tensors, "concatenate")
    return Concatenate.apply(*tensors, axis=axis)


cat = concatenate


def stack(tensors, axis: int = 0) -> Tensor:
    tensors = _same_dtype(tensors, "stack")
    return Stack.apply(*tensors, axis=axis)
