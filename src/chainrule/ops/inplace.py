"""In-place ops (``p -= lr * p.grad``, ``x.add_(1)``, ``x[0] = 5``), with PyTorch's rules.

The write goes into the tensor's own memory, so every name for it (a parameter in a model, a view,
``.data``) sees the new values, and the tensor's version counter goes up. Under ``no_grad`` (the
hand-written gradient-descent step) that is all. When the graph is recording, the new value is
recorded as an op of the old one: ``y += b`` becomes ``y = add(y_old, b)`` with ``y_old`` a copy, so
backward still flows through it; on a leaf that requires grad it is refused, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from ..backend import array_module, check_device, device_of, is_device_array, to_device
from ..engine import record_history
from ..errors import DeviceError, DTypeError, GraphError, ShapeError
from ..grad_mode import is_grad_enabled
from ..node import Node
from ..tensor import Tensor, as_tensor
from .broadcast import sum_to, sum_to_tensor
from .place import Scatter
from .shape import GetItem, plain_index


def _operand(self: Tensor, other, op: str):
    """``other`` as an array in ``self``'s dtype and memory (PyTorch casts the operand of an in-place op)."""
    array = other.array if isinstance(other, Tensor) else other
    if isinstance(array, (list, tuple)):
        array = np.asarray(array)
    if hasattr(array, "dtype"):
        kind, target = array.dtype.kind, self.array.dtype.kind
        if kind == "f" and target in "iub" or kind in "iu" and target == "b":
            raise DTypeError(
                f"{op}: result type {array.dtype} can't be cast to the tensor's dtype {self.dtype} in place"
            )
        if is_device_array(self.array) != is_device_array(array) and getattr(array, "ndim", 0):
            raise DeviceError(
                f"{op}: expected the operand on {self.device}, got {device_of(array)}; move it with .to(device)"
            )
    elif isinstance(array, float) and self.array.dtype.kind in "iub":
        raise DTypeError(f"{op}: result type float can't be cast to the tensor's dtype {self.dtype} in place")
    return array


def _check_leaf(self: Tensor, op: str) -> None:
    if self.requires_grad and self._creator is None:
        raise GraphError(
            f"{op}: a leaf tensor that requires grad is being used in an in-place operation; write the update "
            "inside `with chainrule.no_grad():` (or change .data), as in PyTorch"
        )


def _recording(self: Tensor, other=None) -> bool:
    return is_grad_enabled() and (self.requires_grad or (isinstance(other, Tensor) and other.requires_grad))


def _write(self: Tensor, values, op: str, index=None) -> None:
    """Copy ``values`` into ``self``'s memory (all of it, or ``self[index]``) and count the write."""
    target = self.array
    try:
        if index is None:
            target[...] = values
        else:
            target[index] = values
    except ValueError as exc:
        where = "" if index is None else " at the index"
        shape = np.shape(values)
        raise ShapeError(
            f"{op}: cannot write values of shape {tuple(shape)} into a tensor of shape {tuple(self.shape)}{where} "
            f"({exc})"
        ) from None
    self._bump_version()


def _rebind(self: Tensor, result: Tensor, op: str) -> Tensor:
    """Make ``self`` hold ``result``'s values and graph node: the recorded form of an in-place op."""
    if result.array.shape != self.array.shape:
        raise ShapeError(
            f"{op}: the result has shape {tuple(result.shape)}, which is not the tensor's shape {tuple(self.shape)} "
            "(an in-place op cannot broadcast the tensor itself)"
        )
    creator = self._creator
    counter = self._version_counter
    if (
        creator is not None
        and creator.view
        and isinstance(counter, list)
        and counter is creator.inputs[0]._version_counter
    ):
        # self is a view into another tensor of the graph: write through the base, then view it again.
        if not isinstance(creator, GetItem):
            raise GraphError(
                f"{op}: in-place ops on the output of {creator.op_name()} (a view) are not supported while "
                "recording the graph; use the out-of-place op (y = y * 2)"
            )
        base = creator.inputs[0]
        setitem(base, creator.index, result)
        self._creator = GetItem.apply(base, index=creator.index)._creator
        return self
    _write(self, result.array.astype(self.array.dtype, copy=False), op)
    if creator is not None:  # ops that consumed the old value keep walking back through its creator
        record_history(self, creator)
    self._creator = result._creator
    self.requires_grad = result.requires_grad
    return self


def _old_value(self: Tensor) -> Tensor:
    """A copy of self's current value that stands for it in the graph (what came before the write)."""
    old = Tensor.wrap(self.array.copy(), self.requires_grad)
    old._creator = self._creator
    return old


def binary_(self: Tensor, other, op: str, out_of_place, ufunc_name: str) -> Tensor:
    """self <- self (op) other, in place; ``out_of_place`` is the differentiable op used when recording."""
    if _recording(self, other):
        _check_leaf(self, op)
        other = as_tensor(other, like=self, where=op)
        if other.dtype != self.dtype and other.dtype.kind == "f" and self.dtype.kind == "f":
            other = other.to(self.dtype)
        return _rebind(self, out_of_place(_old_value(self), other), op)
    array = _operand(self, other, op)
    xp = array_module(self.array)
    try:
        getattr(xp, ufunc_name)(self.array, array, out=self.array, casting="same_kind")
    except ValueError as exc:
        raise ShapeError(
            f"{op}: cannot apply an operand of shape {tuple(np.shape(array))} in place to a tensor of shape "
            f"{tuple(self.shape)} ({exc})"
        ) from None
    except TypeError as exc:
        raise DTypeError(f"{op}: {exc}") from None
    self._bump_version()
    return self


def unary_(self: Tensor, op: str, out_of_place, compute) -> Tensor:
    """self <- f(self), in place; ``compute(array)`` gives the new values without recording."""
    if _recording(self):
        _check_leaf(self, op)
        return _rebind(self, out_of_place(_old_value(self)), op)
    _write(self, compute(self.array), op)
    return self


def fill_(self: Tensor, value, op: str = "fill_") -> Tensor:
    """Set every element to ``value`` (a number or a one-element tensor)."""
    if _recording(self, value):
        _check_leaf(self, op)
        # recorded as value broadcast to self's shape: its gradient is the sum of self's
        value = as_tensor(value, like=self, where=op).to(self.dtype)
        return _rebind(self, value.expand(self.shape), op)
    _write(self, _operand(self, value, op), op)
    return self


def copy_(self: Tensor, source) -> Tensor:
    """Copy ``source``'s values into self (broadcast, cast to self's dtype, moved to self's device)."""
    if _recording(self, source):
        _check_leaf(self, "copy_")
        source = as_tensor(source, like=self, where="copy_").to(self.dtype).to(device=self.device)
        return _rebind(self, source.expand(self.shape), "copy_")
    array = source.array if isinstance(source, Tensor) else np.asarray(source)
    array = to_device(array, check_device(self.device))
    _write(self, array.astype(self.array.dtype, copy=False), "copy_")
    return self


class SetItem(Node):
    """x[index] = v as an op: the gradient of the overwritten elements goes to v, not to x."""

    op = "setitem"
    saved_inputs = ()
    saves_output = False

    def forward(self, x, value, index):
        self.index, self.value_shape = index, value.shape
        out = x.copy()
        out[index] = value
        return out

    def backward(self, grad_output):
        grad_x = grad_value = None
        if self.needs_input_grad[0]:
            grad_x = grad_output.copy()
            grad_x[self.index] = 0
        if self.needs_input_grad[1]:
            grad_value = sum_to(grad_output[self.index], self.value_shape)
        return grad_x, grad_value

    def backward_graph(self, grad_output):
        grad_x = grad_value = None
        if self.needs_input_grad[0]:
            grad_x = Scatter.apply(grad_output, places=self.index, add=False, value=0)
        if self.needs_input_grad[1]:
            grad_value = sum_to_tensor(grad_output[self.index], self.value_shape)
        return grad_x, grad_value


def setitem(self: Tensor, index, value) -> None:
    """``self[index] = value``: in place; recorded as an op when either side is in the graph."""
    index = plain_index(index)
    if _recording(self, value):
        _check_leaf(self, "setitem")
        value = as_tensor(value, like=self, where="setitem")
        if value.dtype != self.dtype:
            value = value.to(self.dtype)
        _rebind(self, SetItem.apply(_old_value(self), value, index=index), "setitem")
        return
    _write(self, _operand(self, value, "setitem"), "setitem", index)


def random_(self: Tensor, draw, op: str) -> Tensor:
    """Fill with random values from ``draw(shape)`` (the seeded generator); never recorded."""
    if is_grad_enabled():
        _check_leaf(self, op)
    _write(self, to_device(np.asarray(draw(self.array.shape)).astype(self.array.dtype), self.device), op)
    return self
