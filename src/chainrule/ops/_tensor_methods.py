"""Operators (+, @, [], ...) and methods (t.exp(), t.sum(axis=0)) on Tensor, named as in PyTorch."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor, as_tensor
from . import activation, elementwise, linalg, reduce, shape


def _reflected(op):
    return lambda self, other: op(as_tensor(other, like=self), self)


def _compare(ufunc):
    def method(self, other):
        other = other.data if isinstance(other, Tensor) else as_tensor(other, like=self).data
        return Tensor._wrap(ufunc(self.data, other), False)

    return method


_METHODS = {
    "__add__": elementwise.add,
    "__radd__": _reflected(elementwise.add),
    "__sub__": elementwise.sub,
    "__rsub__": _reflected(elementwise.sub),
    "__mul__": elementwise.mul,
    "__rmul__": _reflected(elementwise.mul),
    "__truediv__": elementwise.div,
    "__rtruediv__": _reflected(elementwise.div),
    "__pow__": elementwise.pow,
    "__rpow__": _reflected(elementwise.pow),
    "__neg__": elementwise.neg,
    "__matmul__": linalg.matmul,
    "__rmatmul__": _reflected(linalg.matmul),
    "__getitem__": shape.getitem,
    "__lt__": _compare(np.less),
    "__le__": _compare(np.less_equal),
    "__gt__": _compare(np.greater),
    "__ge__": _compare(np.greater_equal),
    "__eq__": _compare(np.equal),
    "__ne__": _compare(np.not_equal),
    "add": elementwise.add,
    "sub": elementwise.sub,
    "mul": elementwise.mul,
    "div": elementwise.div,
    "pow": elementwise.pow,
    "neg": elementwise.neg,
    "exp": elementwise.exp,
    "log": elementwise.log,
    "sqrt": elementwise.sqrt,
    "abs": elementwise.abs,
    "clip": elementwise.clip,
    "clamp": elementwise.clip,
    "maximum": elementwise.maximum,
    "minimum": elementwise.minimum,
    "sum": reduce.sum,
    "mean": reduce.mean,
    "max": reduce.max,
    "min": reduce.min,
    "argmax": reduce.argmax,
    "matmul": linalg.matmul,
    "reshape": shape.reshape,
    "view": shape.reshape,
    "transpose": shape.transpose,
    "permute": shape.permute,
    "flatten": shape.flatten,
    "unsqueeze": shape.unsqueeze,
    "squeeze": shape.squeeze,
    "relu": activation.relu,
    "sigmoid": activation.sigmoid,
    "tanh": activation.tanh,
    "softmax": activation.softmax,
    "log_softmax": activation.log_softmax,
}

for _name, _fn in _METHODS.items():
    setattr(Tensor, _name, _fn)

Tensor.T = property(lambda self: shape.transpose(self))
