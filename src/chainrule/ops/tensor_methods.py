"""Operators (+, @, [], -=, ...) and methods (t.exp(), t.sum(dim=0), t.add_(1)) of Tensor, named as in
PyTorch: each is an op of this package; ``attach()`` puts them on the class (the package's __init__
calls it once, so tensor.py imports no op)."""

from __future__ import annotations

import numpy as np

from ..backend import DTYPE_ALIASES, array_module, check_device, numpy_generator, resolve_dtype
from ..tensor import Tensor, as_tensor
from . import (
    activation,
    arithmetic,
    arrange,
    compare,
    conversion,
    count,
    creation,
    elementwise,
    indexed,
    inplace,
    linalg,
    pick,
    random,
    reduce,
    shape,
)


def _reflected(op):
    return lambda self, other: op(as_tensor(other, like=self), self)


# ------------------------------------------------------------------ in place
def _binary_inplace(name: str, op, ufunc: str):
    def method(self, other, *, alpha=1):
        if alpha != 1:
            other = arithmetic.mul(other, alpha) if isinstance(other, Tensor) else other * alpha
        return inplace.binary_(self, other, name, op, ufunc)

    method.__name__ = name
    method.__doc__ = (
        f"In place: self <- {op.__name__}(self, other) (counted in the version; refused on a leaf that "
        "requires grad outside no_grad)."
    )
    return method


def _unary_inplace(name: str, op, compute):
    def method(self):
        return inplace.unary_(self, name, op, compute)

    method.__name__ = name
    return method


def _div_(self, other, *, rounding_mode=None):
    """In place: self / other, or its floor or trunc (``rounding_mode``), as div_ in PyTorch."""
    if rounding_mode is None:
        return inplace.binary_(self, other, "div_", arithmetic.div, "true_divide")
    divide = lambda t: arithmetic.div(t, other, rounding_mode=rounding_mode)  # noqa: E731
    return inplace.unary_(self, "div_", divide, lambda a: divide(Tensor.wrap(a, False)).array)


def _clamp_(self, min=None, max=None):  # noqa: A002 - PyTorch's names
    if min is None and max is None:
        raise ValueError("clamp_: at least one of min and max must be given")
    return inplace.unary_(
        self, "clamp_", lambda x: elementwise.clip(x, min, max), lambda a: array_module(a).clip(a, min, max)
    )


def _addcmul_(self, tensor1, tensor2, *, value=1):
    """self += value * tensor1 * tensor2."""
    return inplace.binary_(
        self, arithmetic.mul(arithmetic.mul(tensor1, tensor2), value), "addcmul_", arithmetic.add, "add"
    )


def _addcdiv_(self, tensor1, tensor2, *, value=1):
    """self += value * tensor1 / tensor2."""
    return inplace.binary_(
        self, arithmetic.mul(arithmetic.div(tensor1, tensor2), value), "addcdiv_", arithmetic.add, "add"
    )


def _masked_fill_(self, mask, value):
    mask = mask.array if isinstance(mask, Tensor) else np.asarray(mask)
    if inplace._recording(self, value):
        inplace._check_leaf(self, "masked_fill_")
        return inplace._rebind(self, pick.masked_fill(inplace._old_value(self), mask, value), "masked_fill_")
    self.array[array_module(self.array).broadcast_to(mask, self.array.shape)] = (
        value.item() if isinstance(value, Tensor) else value
    )
    self._bump_version()
    return self


def _normal_(self, mean=0.0, std=1.0, *, generator=None):
    rng = numpy_generator(generator, "normal_")
    return inplace.random_(self, lambda s: rng.normal(mean, std, s), "normal_")


def _uniform_(self, a=0.0, b=1.0, *, generator=None):  # PyTorch's names: from, to
    rng = numpy_generator(generator, "uniform_")
    return inplace.random_(self, lambda s: rng.uniform(a, b, s), "uniform_")


def _bernoulli_(self, p=0.5, *, generator=None):
    """In place: 1 with probability p (a number or a tensor of them), else 0."""
    rng = numpy_generator(generator, "bernoulli_")
    chances = random.probabilities(p, "bernoulli_")
    return inplace.random_(self, lambda s: rng.random(s) < chances, "bernoulli_")


def _zero_(self):
    return inplace.fill_(self, 0, "zero_")


# ------------------------------------------------------------------ conversion
def _to(self, *args, dtype=None, device=None, non_blocking=False, copy=False):
    """Cast to ``dtype`` and/or move to ``device``: ``to('cuda')``, ``to(float64)``, ``to(other)``,
    ``to(device, dtype)``; both are differentiable."""
    for arg in args:
        if isinstance(arg, Tensor):
            dtype, device = arg.dtype, arg.device
        elif isinstance(arg, str) and (arg in ("cpu", "cuda") or arg.startswith("cuda:")):
            device = arg
        else:
            dtype = arg
    out = self
    if device is not None and check_device(device) != self.device:
        out = conversion.to_device(out, check_device(device))
    if dtype is not None:
        out = conversion.cast(out, resolve_dtype(dtype))
    if copy and out is self:
        out = conversion.clone(self)
    return out


_TYPE_NAMES = {
    "float16": "Half",
    "float32": "Float",
    "float64": "Double",
    "uint8": "Byte",
    "int8": "Char",
    "int16": "Short",
    "int32": "Int",
    "int64": "Long",
    "bool": "Bool",
}


def _type(self, dtype=None, non_blocking=False):
    """Without an argument, the type's name ('chainrule.FloatTensor'); with one, a cast to it."""
    if dtype is None:
        return f"chainrule.{_TYPE_NAMES.get(str(self.dtype), str(self.dtype))}Tensor"
    if isinstance(dtype, str) and dtype.endswith("Tensor"):
        names = {v: k for k, v in _TYPE_NAMES.items()}
        dtype = names[dtype.rsplit(".", 1)[-1][: -len("Tensor")]]
    return _to(self, dtype=dtype)


def _caster(dtype):
    return lambda self: _to(self, dtype=dtype)


def _new(factory):
    def method(self, *size, dtype=None, device=None, requires_grad=False):
        return factory(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)

    return method


def _new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
    return creation.full(
        size, fill_value, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad
    )


def _new_tensor(self, data, dtype=None, device=None, requires_grad=False):
    from ..tensor import tensor

    return tensor(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad)


def _contiguous(self):
    """self where its memory is already in row-major order, else a row-major copy (differentiable)."""
    return self if self.array.flags.c_contiguous else conversion.clone(self)


def _where(self, condition, other):
    return elementwise.where(condition, self, other)


def _softmax(function):
    def method(self, dim=None, *, axis=None, dtype=None):
        return function(self, dim, axis=axis, dtype=dtype)

    return method


_METHODS = {
    "__add__": arithmetic.add_operator,
    "__radd__": arithmetic.add_operator,  # a + b == b + a
    "__sub__": arithmetic.sub_operator,
    "__rsub__": arithmetic.rsub,
    "__mul__": arithmetic.mul_operator,
    "__rmul__": arithmetic.mul_operator,
    "__truediv__": arithmetic.div_operator,
    "__rtruediv__": arithmetic.rdiv,
    "__floordiv__": arithmetic.floor_divide,
    "__rfloordiv__": _reflected(arithmetic.floor_divide),
    "__mod__": arithmetic.remainder,
    "__rmod__": _reflected(arithmetic.remainder),
    "__pow__": arithmetic.pow,
    "__rpow__": _reflected(arithmetic.pow),
    "__neg__": arithmetic.neg,
    "__pos__": lambda self: self,
    "__abs__": elementwise.abs,
    "__matmul__": linalg.matmul,
    "__rmatmul__": _reflected(linalg.matmul),
    "__getitem__": shape.getitem,
    "__setitem__": inplace.setitem,
    "__iadd__": _binary_inplace("add_", arithmetic.add, "add"),
    "__isub__": _binary_inplace("sub_", arithmetic.sub, "subtract"),
    "__imul__": _binary_inplace("mul_", arithmetic.mul, "multiply"),
    "__itruediv__": _binary_inplace("div_", arithmetic.div, "true_divide"),
    "__ipow__": _binary_inplace("pow_", arithmetic.pow, "power"),
    "__lt__": compare.lt,
    "__le__": compare.le,
    "__gt__": compare.gt,
    "__ge__": compare.ge,
    "__eq__": compare.eq,
    "__ne__": compare.ne,
    "__and__": compare.bitwise_and,
    "__or__": compare.bitwise_or,
    "__xor__": compare.bitwise_xor,
    "__invert__": compare.bitwise_not,
    # arithmetic and math
    "add": arithmetic.add,
    "sub": arithmetic.sub,
    "mul": arithmetic.mul,
    "div": arithmetic.div,
    "pow": arithmetic.pow,
    "neg": arithmetic.neg,
    "exp": elementwise.exp,
    "log": elementwise.log,
    "erf": elementwise.erf,
    "log1p": elementwise.log1p,
    "log2": elementwise.log2,
    "log10": elementwise.log10,
    "expm1": elementwise.expm1,
    "sqrt": elementwise.sqrt,
    "rsqrt": arithmetic.rsqrt,
    "square": arithmetic.square,
    "reciprocal": arithmetic.reciprocal,
    "abs": elementwise.abs,
    "sin": elementwise.sin,
    "cos": elementwise.cos,
    "tan": elementwise.tan,
    "sign": elementwise.sign,
    "floor": elementwise.floor,
    "ceil": elementwise.ceil,
    "round": elementwise.round,
    "trunc": elementwise.trunc,
    "clip": elementwise.clip,
    "clamp": elementwise.clip,
    "maximum": elementwise.maximum,
    "minimum": elementwise.minimum,
    "where": _where,
    "masked_fill": pick.masked_fill,
    # reductions
    "sum": reduce.sum,
    "mean": reduce.mean,
    "max": reduce.max,
    "min": reduce.min,
    "amax": reduce.amax,
    "amin": reduce.amin,
    "argmax": reduce.argmax,
    "argmin": reduce.argmin,
    "prod": reduce.prod,
    "cumsum": reduce.cumsum,
    "var": reduce.var,
    "std": reduce.std,
    "norm": reduce.norm,
    "logsumexp": reduce.logsumexp,
    "all": reduce.all,
    "any": reduce.any,
    # products
    "matmul": linalg.matmul,
    "mm": linalg.mm,
    "bmm": linalg.bmm,
    "mv": linalg.mv,
    "dot": linalg.dot,
    "outer": linalg.outer,
    # shape and indexing
    "reshape": shape.reshape,
    "view": shape.view,
    "view_as": lambda self, other: shape.reshape(self, other.shape),
    "reshape_as": lambda self, other: shape.reshape(self, other.shape),
    "expand": shape.expand,
    "expand_as": lambda self, other: shape.expand(self, other.shape),
    "repeat": shape.repeat,
    "flip": shape.flip,
    "roll": arrange.roll,
    "tril": arrange.tril,
    "triu": arrange.triu,
    "repeat_interleave": arrange.repeat_interleave,
    "masked_select": arrange.masked_select,
    "bincount": count.bincount,
    "scatter": indexed.scatter,
    "scatter_add": indexed.scatter_add,
    "index_add": indexed.index_add,
    "histc": count.histc,
    "t": shape.t,
    "transpose": shape.transpose,
    "swapaxes": lambda self, axis0, axis1: shape.transpose(self, axis0, axis1),  # PyTorch's names here
    "permute": shape.permute,
    "flatten": shape.flatten,
    "unsqueeze": shape.unsqueeze,
    "squeeze": shape.squeeze,
    "split": lambda self, split_size, dim=0: shape.split(self, split_size, dim),  # the method's name: split_size
    "chunk": shape.chunk,
    "unbind": shape.unbind,
    "narrow": shape.narrow,
    "gather": pick.gather,
    "index_select": pick.index_select,
    "sort": pick.sort,
    "argsort": pick.argsort,
    "topk": pick.topk,
    "contiguous": _contiguous,
    # activations
    "relu": activation.relu,
    "sigmoid": activation.sigmoid,
    "tanh": activation.tanh,
    "softmax": _softmax(activation.softmax),
    "log_softmax": _softmax(activation.log_softmax),
    # comparisons
    "eq": compare.eq,
    "ne": compare.ne,
    "lt": compare.lt,
    "le": compare.le,
    "gt": compare.gt,
    "ge": compare.ge,
    "equal": compare.equal,
    "allclose": compare.allclose,
    "isclose": compare.isclose,
    "isnan": compare.isnan,
    "isinf": compare.isinf,
    "isfinite": compare.isfinite,
    "logical_not": compare.logical_not,
    # in place
    "add_": _binary_inplace("add_", arithmetic.add, "add"),
    "sub_": _binary_inplace("sub_", arithmetic.sub, "subtract"),
    "mul_": _binary_inplace("mul_", arithmetic.mul, "multiply"),
    "div_": _div_,
    "pow_": lambda self, exponent: inplace.binary_(self, exponent, "pow_", arithmetic.pow, "power"),
    "addcmul_": _addcmul_,
    "addcdiv_": _addcdiv_,
    "clamp_": _clamp_,
    "clip_": _clamp_,
    "zero_": _zero_,
    "fill_": inplace.fill_,
    "copy_": lambda self, src, non_blocking=False: inplace.copy_(self, src),
    "masked_fill_": _masked_fill_,
    "normal_": _normal_,
    "bernoulli_": _bernoulli_,
    "bernoulli": lambda self, p=None, *, generator=None: random.bernoulli(self, p, generator=generator),
    "multinomial": random.multinomial,
    "uniform_": _uniform_,
    "neg_": _unary_inplace("neg_", arithmetic.neg, lambda a: -a),
    "abs_": _unary_inplace("abs_", elementwise.abs, lambda a: array_module(a).abs(a)),
    "exp_": _unary_inplace("exp_", elementwise.exp, lambda a: array_module(a).exp(a)),
    "log_": _unary_inplace("log_", elementwise.log, lambda a: array_module(a).log(a)),
    "sqrt_": _unary_inplace("sqrt_", elementwise.sqrt, lambda a: array_module(a).sqrt(a)),
    "relu_": _unary_inplace("relu_", activation.relu, lambda a: array_module(a).maximum(a, 0)),
    "sigmoid_": _unary_inplace("sigmoid_", activation.sigmoid, lambda a: 0.5 * array_module(a).tanh(0.5 * a) + 0.5),
    "tanh_": _unary_inplace("tanh_", activation.tanh, lambda a: array_module(a).tanh(a)),
    # conversion and new tensors
    "clone": lambda self, memory_format=None: conversion.clone(self),
    "to": _to,
    "cpu": lambda self: _to(self, device="cpu"),
    "cuda": lambda self, device=None, non_blocking=False: _to(self, device="cuda"),
    "type": _type,
    "half": _caster(DTYPE_ALIASES["half"]),
    "float": _caster(DTYPE_ALIASES["float"]),
    "double": _caster(DTYPE_ALIASES["double"]),
    "short": _caster(DTYPE_ALIASES["short"]),
    "int": _caster(DTYPE_ALIASES["int"]),
    "long": _caster(DTYPE_ALIASES["long"]),
    "bool": _caster(DTYPE_ALIASES["bool"]),
    "new_zeros": _new(creation.zeros),
    "new_ones": _new(creation.ones),
    "new_empty": _new(creation.empty),
    "new_full": _new_full,
    "new_tensor": _new_tensor,
}

PROPERTIES = {
    "T": property(lambda self: shape.transpose(self)),
    "mT": property(lambda self: shape.transpose(self, -2, -1)),
}


def attach(tensor_class=Tensor) -> None:
    """Give the Tensor class its operators and methods (once, from chainrule/__init__.py)."""
    for name, method in {**_METHODS, **PROPERTIES}.items():
        setattr(tensor_class, name, method)
