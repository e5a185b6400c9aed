"""Ops that keep, move or repeat elements: a triangle of a matrix, a roll, repeats, the elements a mask
picks. Each backward sends every gradient back to where its element came from (and 0 where an element
was dropped)."""

from __future__ import annotations

import numpy as np

from ..backend import array_module, to_device
from ..errors import DTypeError, ShapeError
from ..node import Node
from ..tensor import Tensor, as_tensor
from .pick import index_select
from .shape import expand, flatten, getitem


class Tril(Node):
    """The lower triangle (elements on or below diagonal k) of the last two axes; the rest 0."""

    saved_inputs = ()
    saves_output = False

    def forward(self, x, diagonal):
        self.diagonal = diagonal
        return array_module(x).tril(x, diagonal)

    def backward(self, grad_output):
        return array_module(grad_output).tril(grad_output, self.diagonal)  # kept elements pass, dropped get 0

    def backward_graph(self, grad_output):
        return Tril.apply(grad_output, diagonal=self.diagonal)


class Triu(Node):
    """The upper triangle (elements on or above diagonal k) of the last two axes; the rest 0."""

    saved_inputs = ()
    saves_output = False

    def forward(self, x, diagonal):
        self.diagonal = diagonal
        return array_module(x).triu(x, diagonal)

    def backward(self, grad_output):
        return array_module(grad_output).triu(grad_output, self.diagonal)

    def backward_graph(self, grad_output):
        return Triu.apply(grad_output, diagonal=self.diagonal)


class Roll(Node):
    saved_inputs = ()
    saves_output = False

    def forward(self, x, shifts, axes):
        self.shifts, self.axes = shifts, axes
        return array_module(x).roll(x, shifts, axes)

    def backward(self, grad_output):
        return array_module(grad_output).roll(grad_output, tuple(-s for s in self.shifts), self.axes)  # roll back

    def backward_graph(self, grad_output):
        return Roll.apply(grad_output, shifts=tuple(-s for s in self.shifts), axes=self.axes)


def _triangle(op: str, function, x, diagonal: int) -> Tensor:
    x = as_tensor(x)
    if x.ndim < 2:
        raise ShapeError(f"{op}: expected a matrix or a batch of them (2 or more dimensions), got shape {x.shape}")
    if not isinstance(diagonal, (int, np.integer)) or isinstance(diagonal, bool):
        raise TypeError(f"{op}: diagonal must be an integer, got {diagonal!r}")
    return function.apply(x, diagonal=int(diagonal))


def tril(input, diagonal: int = 0) -> Tensor:  # noqa: A002 - PyTorch's names
    """The elements on and below the ``diagonal``-th diagonal (0 the main one, > 0 above it), others 0:
    the causal mask of attention is ``tril(ones(T, T))``."""
    return _triangle("tril", Tril, input, diagonal)


def triu(input, diagonal: int = 0) -> Tensor:  # noqa: A002
    """The elements on and above the ``diagonal``-th diagonal, others 0."""
    return _triangle("triu", Triu, input, diagonal)


def roll(input, shifts, dims=None) -> Tensor:  # noqa: A002
    """Elements shifted along ``dims`` by ``shifts``, those pushed off one end coming back at the other; with
    no dims, over the flattened tensor (the shape kept)."""
    x = as_tensor(input)
    shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    if dims is None:
        if len(shifts) != 1:
            raise ValueError(f"roll: without dims, give one shift, got {shifts}")
        return Roll.apply(flatten(x), shifts=shifts, axes=(0,)).reshape(x.shape)
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: give one shift per dim, got shifts {shifts} for dims {dims}")
    for d in dims:
        if not -x.ndim <= d < x.ndim:
            raise IndexError(f"roll: dim {d} is out of range for a tensor of {x.ndim} dimensions")
    return Roll.apply(x, shifts=tuple(int(s) for s in shifts), axes=tuple(int(d) % x.ndim for d in dims))


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None) -> Tensor:  # noqa: A002
    """Each element repeated ``repeats`` times (a number, or one count per element along ``dim``), the
    repeats side by side: [1, 2] -> [1, 1, 2, 2]. With no dim, over the flattened tensor. The gradient of
    an element is the sum over its copies. ``repeat_interleave(counts)`` alone repeats each index."""
    if repeats is None:
        counts = as_tensor(input)
        return repeat_interleave(Tensor.wrap(np.arange(counts.numel()), False), counts, output_size=output_size)
    x = as_tensor(input)
    if dim is None:
        x, dim = flatten(x), 0
    if not -x.ndim <= dim < max(x.ndim, 1):
        raise IndexError(f"repeat_interleave: dim {dim} is out of range for a tensor of {x.ndim} dimensions")
    dim = dim % x.ndim
    counts = np.asarray(to_device(repeats.array, "cpu") if isinstance(repeats, Tensor) else repeats)
    if counts.dtype.kind not in "iu":
        raise DTypeError(f"repeat_interleave: repeats must be integers, got {counts.dtype}")
    if counts.ndim > 1 or (counts.ndim == 1 and len(counts) not in (1, x.shape[dim])):
        raise ShapeError(
            f"repeat_interleave: repeats must be a number or hold one count per element along dim {dim} "
            f"({x.shape[dim]}), got shape {counts.shape}"
        )
    if np.any(counts < 0):
        raise ValueError("repeat_interleave: repeats must be non-negative")
    index = np.repeat(np.arange(x.shape[dim]), counts.reshape(-1) if counts.ndim else int(counts))
    if output_size is not None and len(index) != output_size:
        raise ValueError(f"repeat_interleave: output_size is {output_size} but the repeats make {len(index)}")
    return index_select(x, dim, index)


def masked_select(input, mask) -> Tensor:  # noqa: A002
    """The elements where the boolean ``mask`` (broadcast against ``input``) is True, as a 1-D tensor."""
    x = as_tensor(input)
    mask = as_tensor(mask)
    if mask.dtype != np.bool_:
        raise DTypeError(f"masked_select: mask must be a bool tensor, got {mask.dtype}")
    try:
        shape = np.broadcast_shapes(x.shape, mask.shape)
    except ValueError:
        raise ShapeError(f"masked_select: mask of shape {mask.shape} does not broadcast with {x.shape}") from None
    x = expand(x, shape) if x.shape != shape else x
    chosen = array_module(mask.array).broadcast_to(mask.array, shape)
    return getitem(x, chosen)
