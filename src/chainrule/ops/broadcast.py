"""Undoing NumPy broadcasting in backward, and checking operand dtypes before an op runs."""

from __future__ import annotations

import numpy as np

from ..backend import fast
from ..errors import DTypeError
from ..tensor import Tensor, as_tensor


def sum_to(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` down to ``shape``: the backward of broadcasting an input of that shape.

    If x of shape (3, 1) was broadcast to (2, 3, 4), each x[i, 0] fed 2*4 outputs, so its
    gradient is the sum of those outputs' gradients (the multivariable chain rule).
    """
    if grad.shape == shape:
        return grad
    if grad.ndim == 2 and len(shape) == 1 and grad.shape[1] == shape[0]:  # a bias added to a batch of rows
        summed = fast.sum_rows(grad)  # one pass where Numba is installed
        if summed is not None:
            return summed
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, size in enumerate(shape) if size == 1 and grad.shape[lead + i] != 1
    )
    summed = grad.sum(axis=axes, keepdims=True) if axes else grad
    if lead:
        summed = summed.reshape(shape)
    return summed


def operands(a, b, op: str) -> tuple[Tensor, Tensor]:
    """Make both operands Tensors of one dtype; float32 with float64 is an error, never an upcast."""
    if not isinstance(a, Tensor):
        a = as_tensor(a, like=b, where=op)
    elif not isinstance(b, Tensor):
        b = as_tensor(b, like=a, where=op)
    da, db = a.array.dtype, b.array.dtype
    if da is not db and da != db:
        fa, fb = da.kind == "f", db.kind == "f"
        if fa and fb:
            raise DTypeError(
                f"{op}: cannot combine {da} and {db} tensors (chainrule never upcasts silently); "
                "convert one with .float() or .double()"
            )
        if fa:  # an integer or boolean constant joins the float tensor's dtype
            b = Tensor.wrap(b.array.astype(da), False)
        elif fb:
            a = Tensor.wrap(a.array.astype(db), False)
    return a, b


def sum_to_tensor(grad: Tensor, shape: tuple) -> Tensor:
    """sum_to for a recorded gradient (``create_graph=True``): the same sums, as differentiable ops."""
    shape = tuple(shape)
    if tuple(grad.shape) == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, size in enumerate(shape) if size == 1 and grad.shape[lead + i] != 1
    )
    summed = grad.sum(axis=axes, keepdims=True) if axes else grad
    return summed.reshape(shape) if lead else summed


def constant(array) -> Tensor:
    """An array as a Tensor outside the graph: a factor of a recorded gradient that has no derivative of its own
    (a mask, a sign, a step)."""
    return Tensor.wrap(array, False)
