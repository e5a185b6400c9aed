"""Casts, moves between devices and copies, each recorded so that the gradient goes back the same way."""

from __future__ import annotations

from ..backend import device_of
from ..backend import to_device as to_device_array
from ..grad_mode import is_grad_enabled
from ..node import Node
from ..tensor import Tensor


class Cast(Node):
    saved_inputs = ()
    saves_output = False

    def forward(self, x, dtype):
        self.source = x.dtype
        return x.astype(dtype)

    def backward(self, grad_output):
        return grad_output.astype(self.source)

    def backward_graph(self, grad_output):
        return Cast.apply(grad_output, dtype=self.source)


class ToDevice(Node):
    op = "to"
    saved_inputs = ()
    saves_output = False

    def forward(self, x, device):
        self.source = device_of(x)
        return to_device_array(x, device)

    def backward(self, grad_output):
        return to_device_array(grad_output, self.source)  # the gradient goes back where x lives

    def backward_graph(self, grad_output):
        return ToDevice.apply(grad_output, device=self.source)


class Clone(Node):
    saved_inputs = ()
    saves_output = False

    def forward(self, x):
        return x.copy()

    def backward(self, grad_output):
        return grad_output

    def backward_graph(self, grad_output):
        return grad_output


def cast(x: Tensor, dtype) -> Tensor:
    """x as ``dtype``; differentiable between float dtypes (an integer result has no gradient)."""
    if x.dtype == dtype:
        return x
    if not x.requires_grad or dtype.kind != "f" or not is_grad_enabled():
        return Tensor.wrap(x.array.astype(dtype), False)
    return Cast.apply(x, dtype=dtype)


def to_device(x: Tensor, device: str) -> Tensor:
    """x in the memory of ``device`` ('cpu' or 'cuda'); backward moves the gradient back."""
    if not x.requires_grad:
        return Tensor.wrap(to_device_array(x.array, device), False)
    return ToDevice.apply(x, device=device)


def clone(x: Tensor) -> Tensor:
    return Clone.apply(x)
