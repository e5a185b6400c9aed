"""Comparisons and tests: eq, lt, isclose, isnan, ... They give bool tensors (or a bool), no gradient."""

from __future__ import annotations

import numpy as np

from ..backend import array_module, is_device_array
from ..tensor import Tensor, as_tensor


def _arrays(a, b):
    if not isinstance(a, Tensor):
        a = as_tensor(a, like=b if isinstance(b, Tensor) else None)
    b = b.array if isinstance(b, Tensor) else as_tensor(b, like=a).array
    return a.array, b


_OPERANDS = (Tensor, int, float, bool, np.number, np.bool_, np.ndarray, list, tuple)


def _comparison(ufunc):
    def compare(input, other) -> Tensor:  # noqa: A002 - PyTorch's names
        if not isinstance(other, _OPERANDS) and not is_device_array(other):
            return NotImplemented  # let the other side decide (pytest.approx, ...)
        x, y = _arrays(input, other)
        return Tensor.wrap(ufunc(x, y), False)

    compare.__name__ = ufunc.__name__
    return compare


eq, ne, lt, le, gt, ge = (
    _comparison(u) for u in (np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal)
)


def _logical(ufunc, name: str):
    def logical(a, b) -> Tensor:
        x, y = _arrays(a, b)
        if x.dtype.kind == "f" or y.dtype.kind == "f":
            raise TypeError(
                f"{name}: bitwise and logical operators need bool or integer tensors, got {x.dtype} and {y.dtype}"
            )
        return Tensor.wrap(ufunc(x, y), False)

    return logical


bitwise_and, bitwise_or, bitwise_xor = (
    _logical(u, n) for u, n in ((np.bitwise_and, "&"), (np.bitwise_or, "|"), (np.bitwise_xor, "^"))
)


def logical_and(input, other) -> Tensor:
    x, y = _arrays(input, other)
    return Tensor.wrap(np.logical_and(x, y), False)


def logical_or(input, other) -> Tensor:
    x, y = _arrays(input, other)
    return Tensor.wrap(np.logical_or(x, y), False)


def logical_not(input) -> Tensor:
    return Tensor.wrap(np.logical_not(as_tensor(input).array), False)


def bitwise_not(input) -> Tensor:
    x = as_tensor(input).array
    if x.dtype.kind == "f":
        raise TypeError(f"~: bitwise not needs a bool or integer tensor, got {x.dtype}")
    return Tensor.wrap(~x, False)


def equal(input, other) -> bool:
    """True when both have the same shape and the same values."""
    x, y = _arrays(input, other)
    return x.shape == y.shape and bool((x == y).all())


def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    x, y = _arrays(input, other)
    return bool(array_module(x).allclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan))


def isclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    x, y = _arrays(input, other)
    return Tensor.wrap(array_module(x).isclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan), False)


def _test(name: str):
    def test(input) -> Tensor:  # noqa: A002
        x = as_tensor(input).array
        return Tensor.wrap(getattr(array_module(x), name)(x), False)

    test.__name__ = name
    return test


isnan, isinf, isfinite = (_test(n) for n in ("isnan", "isinf", "isfinite"))
