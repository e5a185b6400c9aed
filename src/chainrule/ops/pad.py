"""F.pad: widen (or, with negative widths, crop) the last dimensions of a tensor. Constant padding is an
op of its own (its backward crops the gradient back); reflect, replicate and circular padding pick
input elements by index along each axis, so their backward is index_select's (copies add up)."""

from __future__ import annotations

import numpy as np

from ..backend import array_module
from ..node import Node
from ..tensor import Tensor, as_tensor
from .pick import index_select
from .shape import getitem

# PyTorch's mode names and NumPy's for the same rule of which input element fills a padded place
_INDEX_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


class ConstantPad(Node):
    saved_inputs = ()
    saves_output = False

    def forward(self, x, widths, value):
        self.widths = widths
        return array_module(x).pad(x, widths, mode="constant", constant_values=value)

    def backward(self, grad_output):
        # the gradient of the original elements is the gradient at their place in the padded output
        return grad_output[tuple(slice(b, size - a) for size, (b, a) in zip(grad_output.shape, self.widths))]

    def backward_graph(self, grad_output):
        return grad_output[tuple(slice(b, size - a) for size, (b, a) in zip(grad_output.shape, self.widths))]


def pad(input, pad, mode: str = "constant", value=None) -> Tensor:  # noqa: A002 - PyTorch's names
    """``pad`` = (left, right) for the last dim, then (top, bottom) for the one before, and so on; widths may
    be negative for ``constant`` (cropping). ``mode``: constant (``value``, default 0), reflect, replicate,
    circular."""
    x = as_tensor(input)
    pad = tuple(pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim or not all(isinstance(p, (int, np.integer)) for p in pad):
        raise ValueError(
            f"pad: expected an even number of integers, at most two per dimension ({2 * x.ndim}), got {pad}"
        )
    widths = [(0, 0)] * x.ndim
    for k in range(len(pad) // 2):
        widths[x.ndim - 1 - k] = (int(pad[2 * k]), int(pad[2 * k + 1]))
    if mode == "constant":
        crop = tuple(slice(max(0, -b), x.shape[k] - max(0, -a)) for k, (b, a) in enumerate(widths))
        if any(b < 0 or a < 0 for b, a in widths):
            x = getitem(x, crop)
        grow = tuple((max(0, b), max(0, a)) for b, a in widths)
        return ConstantPad.apply(x, widths=grow, value=0 if value is None else value) if any(map(any, grow)) else x
    if mode not in _INDEX_MODES:
        raise ValueError(f"pad: mode must be constant, reflect, replicate or circular, got {mode!r}")
    dims = len(pad) // 2
    if not dims + 1 <= x.ndim <= dims + 2:  # PyTorch's rule: (N,) C and the padded dims
        raise ValueError(
            f"pad: {mode} padding of {dims} dimension(s) takes a {dims + 1}-D or {dims + 2}-D input "
            f"((N,) C, then the padded dims), got shape {x.shape}"
        )
    if value not in (None, 0):
        raise ValueError(f"pad: value is only for mode='constant', got value={value} with mode={mode!r}")
    for axis, (before, after) in enumerate(widths):
        if not (before or after):
            continue
        if before < 0 or after < 0:
            raise ValueError(f"pad: {mode} padding takes non-negative widths, got {pad}")
        size = x.shape[axis]
        if mode == "reflect" and max(before, after) >= size:
            raise ValueError(f"pad: reflect padding of {max(before, after)} must be smaller than the dim's size {size}")
        if mode == "circular" and max(before, after) > size:
            raise ValueError(f"pad: circular padding of {max(before, after)} is larger than the dim's size {size}")
        source = np.pad(np.arange(size), (before, after), mode=_INDEX_MODES[mode])  # which element fills each place
        x = index_select(x, axis, source)
    return x
