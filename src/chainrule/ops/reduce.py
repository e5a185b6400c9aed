"""Reductions: sum, mean, max, min, prod, var, std, norm, ... over ``dim`` (or all), with ``keepdim``.

Backward spreads the output gradient back over the reduced axis: evenly for sum and mean
(divided by the count for mean), to the maximal (minimal) elements for max (min).
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from ..backend import array_module
from ..errors import DTypeError, ShapeError
from ..node import Node
from ..tensor import Tensor, as_tensor
from .arithmetic import pow
from .broadcast import constant
from .elementwise import abs, exp, log, maximum, minimum, sqrt


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


def _expand_graph(grad_output: Tensor, axes, keepdims, shape) -> Tensor:
    """_expand for a recorded gradient: the reduced axes back as size 1."""
    if keepdims or not axes or not shape:
        return grad_output
    return grad_output.reshape([1 if i in axes else s for i, s in enumerate(shape)])


class Sum(Node):
    saved_inputs = ()
    saves_output = False

    def forward(self, x, axes, keepdims):
        xp = array_module(x)
        self.shape, self.axes, self.keepdims = x.shape, axes, keepdims
        return xp.asarray(x.sum(axis=axes, keepdims=keepdims))

    def backward(self, grad_output):
        xp = array_module(grad_output)
        grad = _expand(grad_output, self.axes, self.keepdims, len(self.shape))
        return xp.broadcast_to(grad, self.shape)

    def backward_graph(self, grad_output):
        return _expand_graph(grad_output, self.axes, self.keepdims, self.shape).expand(self.shape)


class Mean(Node):
    saved_inputs = ()
    saves_output = False

    def forward(self, x, axes, keepdims):
        xp = array_module(x)
        self.shape, self.axes, self.keepdims = x.shape, axes, keepdims
        self.count = math.prod(x.shape[a] for a in axes) if axes else 1
        return xp.asarray(x.mean(axis=axes, keepdims=keepdims))

    def backward(self, grad_output):
        xp = array_module(grad_output)
        grad = _expand(grad_output, self.axes, self.keepdims, len(self.shape)) / self.count
        return xp.broadcast_to(grad, self.shape)

    def backward_graph(self, grad_output):
        return (_expand_graph(grad_output, self.axes, self.keepdims, self.shape) / self.count).expand(self.shape)


class _Extreme(Node):
    reducer = ""  # "max" or "min": the array module's function of that name
    saved_inputs = (0,)
    saves_output = True

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

    def backward_graph(self, grad_output):
        mask = self.x == self.y
        share = mask / mask.sum(axis=self.axes, keepdims=True)  # the tie rule of backward, a constant
        return _expand_graph(grad_output, self.axes, self.keepdims, self.x.shape) * constant(share.astype(self.x.dtype))


class Max(_Extreme):
    reducer = "max"


class Min(_Extreme):
    reducer = "min"


class Prod(Node):
    saved_inputs = (0,)
    saves_output = False

    def forward(self, x, axis, keepdims):
        xp = array_module(x)
        self.x, self.axis, self.keepdims = x, axis, keepdims
        return xp.asarray(x.prod(axis=axis, keepdims=keepdims))

    def backward(self, grad_output):
        xp = array_module(grad_output)
        # d(prod x)/dx_i = the product of all the others: the products before i times those after i
        # (exact where some x_j is 0, unlike prod / x_i)
        x = self.x.reshape(-1) if self.axis is None else self.x
        axis = 0 if self.axis is None else self.axis
        ones = xp.ones_like(xp.take(x, [0], axis=axis))
        before = xp.cumprod(
            xp.concatenate([ones, xp.take(x, range(x.shape[axis] - 1), axis=axis)], axis=axis), axis=axis
        )
        flipped = xp.flip(x, axis=axis)
        after = xp.flip(
            xp.cumprod(
                xp.concatenate([ones, xp.take(flipped, range(x.shape[axis] - 1), axis=axis)], axis=axis), axis=axis
            ),
            axis=axis,
        )
        grad = grad_output if self.axis is None or self.keepdims else xp.expand_dims(grad_output, self.axis)
        return (grad * before * after).reshape(self.x.shape)

    def backward_graph(self, grad_output):
        # d(prod x)/dx_i = prod x / x_i, which, written in ops, holds only where no x_i is 0
        x = self.inputs[0]
        if not array_module(x.array).all(x.array):
            raise NotImplementedError("create_graph=True: prod's recorded gradient needs every element nonzero")
        axes = tuple(range(x.ndim)) if self.axis is None else (self.axis % x.ndim,)
        total = Prod.apply(x, axis=self.axis, keepdims=True)
        return _expand_graph(grad_output, axes, self.keepdims, x.shape) * total / x


class CumSum(Node):
    op = "cumsum"
    saved_inputs = ()
    saves_output = False

    def forward(self, x, axis):
        self.axis = axis
        return array_module(x).cumsum(x, axis=axis)

    def backward(self, grad_output):
        xp = array_module(grad_output)
        # y_j = sum_{i<=j} x_i, so dL/dx_i = sum_{j>=i} dL/dy_j: a cumulative sum from the end
        return xp.flip(xp.cumsum(xp.flip(grad_output, self.axis), axis=self.axis), self.axis)

    def backward_graph(self, grad_output):
        return grad_output.flip((self.axis,)).cumsum(self.axis).flip((self.axis,))


class ValuesIndices(tuple):
    """(values, indices) of ``max(x, dim)``, ``sort``, ``topk``; also ``.values`` and ``.indices``."""

    def __new__(cls, values, indices):
        return super().__new__(cls, (values, indices))

    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]

    def __repr__(self) -> str:
        return f"chainrule.return_types(values={self[0]!r}, indices={self[1]!r})"


def dims(op: str, dim, keepdim, axis, keepdims):
    """PyTorch's ``dim``/``keepdim`` with NumPy's ``axis``/``keepdims`` accepted as aliases."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op}: give dim or axis (its alias), not both")
        dim = axis
    return dim, bool(keepdim or keepdims)


def sum(input, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool = False, dtype=None) -> Tensor:  # noqa: A001 - PyTorch's name
    input = as_tensor(input)
    if dtype is not None:
        input = input.to(dtype)
    dim, keepdim = dims("sum", dim, keepdim, axis, keepdims)
    return Sum.apply(input, axes=normalize_axis(dim, input.ndim, "sum"), keepdims=keepdim)


def mean(input, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool = False, dtype=None) -> Tensor:
    input = as_tensor(input)
    if dtype is not None:
        input = input.to(dtype)
    if not input.is_floating_point():
        raise DTypeError(f"mean: expected a floating-point tensor, got dtype {input.dtype}; convert it with .float()")
    dim, keepdim = dims("mean", dim, keepdim, axis, keepdims)
    return Mean.apply(input, axes=normalize_axis(dim, input.ndim, "mean"), keepdims=keepdim)


def _extreme(cls, arg, op, x, dim, keepdim, axis, keepdims):
    x = as_tensor(x)
    if isinstance(dim, Tensor):  # torch.max(a, b): the element-wise maximum
        return (maximum if op == "max" else minimum)(x, dim)
    dim, keepdim = dims(op, dim, keepdim, axis, keepdims)
    if dim is None:
        return cls.apply(x, axes=normalize_axis(None, x.ndim, op), keepdims=keepdim)
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(
            f"{op}: dim must be one integer when indices are returned, got {dim!r}; use amax/amin for several"
        )
    values = cls.apply(x, axes=normalize_axis(dim, x.ndim, op), keepdims=keepdim)
    return ValuesIndices(values, arg(x, dim, keepdim))


def max(input, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool = False):  # noqa: A001
    """The largest element; with ``dim``, (values, indices) along it, as ``torch.max(x, dim)``;
    with a tensor as second argument, the element-wise maximum."""
    return _extreme(Max, argmax, "max", input, dim, keepdim, axis, keepdims)


def min(input, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool = False):  # noqa: A001
    """The smallest element; with ``dim``, (values, indices) along it, as ``torch.min(x, dim)``."""
    return _extreme(Min, argmin, "min", input, dim, keepdim, axis, keepdims)


def amax(input, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool = False) -> Tensor:
    """The largest values over one or several dims (no indices)."""
    input = as_tensor(input)
    dim, keepdim = dims("amax", dim, keepdim, axis, keepdims)
    return Max.apply(input, axes=normalize_axis(dim, input.ndim, "amax"), keepdims=keepdim)


def amin(input, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool = False) -> Tensor:
    input = as_tensor(input)
    dim, keepdim = dims("amin", dim, keepdim, axis, keepdims)
    return Min.apply(input, axes=normalize_axis(dim, input.ndim, "amin"), keepdims=keepdim)


def _arg(reducer, op, x, dim, keepdim, axis, keepdims) -> Tensor:
    data = as_tensor(x).array
    dim, keepdim = dims(op, dim, keepdim, axis, keepdims)
    xp = array_module(data)
    if dim is not None:
        normalize_axis(dim, data.ndim, op)
    out = getattr(xp, reducer)(data, axis=dim)
    if keepdim:
        out = xp.expand_dims(out, dim) if dim is not None else out.reshape((1,) * data.ndim)
    return Tensor.wrap(xp.asarray(out).astype(np.int64, copy=False), False)


def argmax(input, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool = False) -> Tensor:
    """Index of the largest element (no gradient: indices are not differentiable)."""
    return _arg("argmax", "argmax", input, dim, keepdim, axis, keepdims)


def argmin(input, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool = False) -> Tensor:
    return _arg("argmin", "argmin", input, dim, keepdim, axis, keepdims)


def prod(input, dim=None, keepdim: bool = False, *, axis=None, keepdims: bool = False, dtype=None) -> Tensor:
    input = as_tensor(input)
    if dtype is not None:
        input = input.to(dtype)
    dim, keepdim = dims("prod", dim, keepdim, axis, keepdims)
    if dim is not None:
        dim = normalize_axis(dim, input.ndim, "prod")[0]
    return Prod.apply(input, axis=dim, keepdims=keepdim)


def cumsum(input, dim=None, *, axis=None, dtype=None) -> Tensor:
    input = as_tensor(input)
    if dtype is not None:
        input = input.to(dtype)
    dim, _ = dims("cumsum", dim, False, axis, False)
    if dim is None:
        raise TypeError("cumsum: dim is required")
    return CumSum.apply(input, axis=normalize_axis(dim, input.ndim, "cumsum")[0])


def var(
    input,
    dim=None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction=None,
    axis=None,
    keepdims: bool = False,
) -> Tensor:
    """Variance, (sum (x - mean)^2) / (N - correction); correction 1 (Bessel's) unless unbiased=False."""
    input = as_tensor(input)
    if isinstance(dim, bool):  # var(x, False): the old positional `unbiased`
        dim, unbiased = None, dim
    dim, keepdim = dims("var", dim, keepdim, axis, keepdims)
    correction = (0 if unbiased is False else 1) if correction is None else correction
    axes = normalize_axis(dim, input.ndim, "var")
    count = math.prod(input.shape[a] for a in axes) if axes else 1
    centered = input - mean(input, axes, keepdim=True)
    return sum(centered * centered, axes, keepdim=keepdim) / builtins.max(count - correction, 0)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None, keepdims=False) -> Tensor:
    """Standard deviation: the square root of ``var`` with the same arguments."""
    return sqrt(var(input, dim, unbiased, keepdim, correction=correction, axis=axis, keepdims=keepdims))


def norm(input, p="fro", dim=None, keepdim: bool = False, *, axis=None, keepdims: bool = False) -> Tensor:
    """The p-norm over ``dim`` (all elements by default): 2 ('fro'), 1, inf or any p > 0."""
    input = as_tensor(input)
    dim, keepdim = dims("norm", dim, keepdim, axis, keepdims)
    if p in ("fro", 2, 2.0):
        return sqrt(sum(input * input, dim, keepdim))
    if p in (1, 1.0):
        return sum(abs(input), dim, keepdim)
    if p in (math.inf, "inf"):
        return amax(abs(input), dim, keepdim)
    if isinstance(p, (int, float)) and p > 0:
        return pow(sum(pow(abs(input), p), dim, keepdim), 1.0 / p)
    raise ValueError(f"norm: p must be 'fro', a positive number or inf, got {p!r}")


def logsumexp(x, dim, keepdim: bool = False, *, axis=None, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``dim``, computed as m + log(sum(exp(x - m))) with m the maximum: no overflow."""
    x = as_tensor(x)
    dim, keepdim = dims("logsumexp", dim, keepdim, axis, keepdims)
    shift = Tensor.wrap(array_module(x.array).max(x.array, axis=dim, keepdims=True), False)
    out = log(sum(exp(x - shift), dim, keepdim=True)) + shift
    return out if keepdim else out.squeeze(dim)


def all(input, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    data = as_tensor(input).array
    return Tensor.wrap(array_module(data).asarray(data.all(axis=dim, keepdims=keepdim)), False)


def any(input, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    data = as_tensor(input).array
    return Tensor.wrap(array_module(data).asarray(data.any(axis=dim, keepdims=keepdim)), False)
