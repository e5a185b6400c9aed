"""Reductions: sum, mean, max, min over an axis (or all), with keepdims.

Backward spreads the output gradient back over the reduced axis: evenly for sum and mean
(divided by the count for mean), to the maximal (minimal) elements for max (min).
"""
from __future__ import annotations

import builtins
import math

import numpy as np

from ..backend import array_module
from ..errors import ShapeError
from ..function import Function
from ..tensor import Tensor, as_tensor


def normalize_axis(axis, ndim: int, op: str):
    """Axis as a sorted tuple of non-negative ints (None means all), or a clear error."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < builtins.max(ndim, 1):
            raise ShapeError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(int(a) % builtins.max(ndim, 1))
    return tuple(sorted(set(out)))


def _expand(grad_output, axes, keepdims, ndim):
    """Give the reduced gradient back its reduced axes (as size 1) so it broadcasts over the input."""
    if keepdims or not axes or ndim == 0:
        return grad_output
    return array_module(grad_output).expand_dims(grad_output, axes)


class Sum(Function):
    def forward(self, x, axes, keepdims):
        xp = array_module(x)
        self.shape, self.axes, self.keepdims = x.shape, axes, keepdims
        return xp.asarray(x.sum(axis=axes, keepdims=keepdims))

    def backward(self, grad_output):
        xp = array_module(grad_output)
        grad = _expand(grad_output, self.axes, self.keepdims, len(self.shape))
        return xp.broadcast_to(grad, self.shape)


class Mean(Function):
    def forward(self, x, axes, keepdims):
        xp = array_module(x)
        self.shape, self.axes, self.keepdims = x.shape, axes, keepdims
        self.count = math.prod(x.shape[a] for a in axes) if axes else 1
        return xp.asarray(x.mean(axis=axes, keepdims=keepdims))

    def backward(self, grad_output):
        xp = array_module(grad_output)
        grad = _expand(grad_output, self.axes, self.keepdims, len(self.shape)) / self.count
        return xp.broadcast_to(grad, self.shape)


class _Extreme(Function):
    reducer = ""  # "max" or "min": the array module's function of that name

    def forward(self, x, axes, keepdims):
        xp = array_module(x)
        self.x, self.axes, self.keepdims = x, axes, keepdims
        if x.size == 0:
            raise ShapeError(f"{self.op_name()}: cannot reduce an empty tensor of shape {x.shape}")
        self.y = xp.asarray(getattr(xp, type(self).reducer)(x, axis=axes, keepdims=True))
        return self.y if keepdims else xp.asarray(self.y.reshape([s for i, s in enumerate(x.shape) if i not in axes]))

    def backward(self, grad_output):
        # Ties share the gradient evenly (the subgradient PyTorch's amax/amin use).
        mask = self.x == self.y
        count = mask.sum(axis=self.axes, keepdims=True)
        grad = _expand(grad_output, self.axes, self.keepdims, self.x.ndim)
        return mask * (grad / count).astype(grad_output.dtype, copy=False)


class Max(_Extreme):
    reducer = "max"


class Min(_Extreme):
    reducer = "min"


def sum(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001 - PyTorch's name
    x = as_tensor(x)
    return Sum.apply(x, axes=normalize_axis(axis, x.ndim, "sum"), keepdims=keepdims)


def mean(x, axis=None, keepdims: bool = False) -> Tensor:
    x = as_tensor(x)
    return Mean.apply(x, axes=normalize_axis(axis, x.ndim, "mean"), keepdims=keepdims)


def max(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    x = as_tensor(x)
    return Max.apply(x, axes=normalize_axis(axis, x.ndim, "max"), keepdims=keepdims)


def min(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    x = as_tensor(x)
    return Min.apply(x, axes=normalize_axis(axis, x.ndim, "min"), keepdims=keepdims)


def argmax(x, axis=None) -> Tensor:
    """Index of the largest element (no gradient: indices are not differentiable)."""
    data = as_tensor(x).data
    xp = array_module(data)
    return Tensor._wrap(xp.asarray(xp.argmax(data, axis=axis)), False)
