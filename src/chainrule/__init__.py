"""chainrule: a deep-learning library built on NumPy, from the chain rule up.

A Tensor records the ops applied to it; ``loss.backward()`` applies the chain rule backwards over
that graph to give every parameter its gradient in one pass.
"""
import numpy as np

from . import backend, errors
from .anomaly import detect_anomaly
from .backend import float32, float64, get_default_dtype, int64, manual_seed, set_default_dtype
from .function import Function, enable_grad, is_grad_enabled, no_grad
from .gradcheck import gradcheck, numerical_grad
from .ops import *  # noqa: F401,F403
from .ops import __all__ as _ops_all
from .tensor import Tensor, tensor

__version__ = "0.1.0"


def save(state_dict: dict, path: str, metadata: dict | None = None) -> None:
    """Save a dict of arrays (e.g. ``model.state_dict()``) as a safetensors file, atomically; never pickle."""
    from .train.checkpoint import save as _save

    _save(state_dict, path, metadata)


def load(path: str) -> dict:
    """Load the arrays of a safetensors file written by ``save`` (data only: loading runs no code)."""
    from .train.checkpoint import load as _load

    return _load(path)


def zeros(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return Tensor(backend.xp.zeros(shape), requires_grad=requires_grad, dtype=backend.resolve_dtype(dtype))


def ones(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return Tensor(backend.xp.ones(shape), requires_grad=requires_grad, dtype=backend.resolve_dtype(dtype))


def randn(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the generator that ``manual_seed`` seeds."""
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    data = backend.default_generator().standard_normal(shape).astype(backend.resolve_dtype(dtype))
    return Tensor(data, requires_grad=requires_grad, dtype=backend.resolve_dtype(dtype))


def rand(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    data = backend.default_generator().random(shape).astype(backend.resolve_dtype(dtype))
    return Tensor(data, requires_grad=requires_grad, dtype=backend.resolve_dtype(dtype))


def from_numpy(array) -> Tensor:
    """Wrap an ndarray (or a CuPy array in GPU memory) without copying or converting it (float64 stays
    float64)."""
    return Tensor._wrap(array if backend.is_device_array(array) else np.asarray(array), False)


__all__ = [
    "Function", "Tensor", "backend", "detect_anomaly", "enable_grad", "errors", "float32", "float64", "from_numpy",
    "get_default_dtype", "gradcheck", "int64", "is_grad_enabled", "manual_seed", "no_grad",
    "load", "numerical_grad", "ones", "save", "rand", "randn", "set_default_dtype", "tensor", "zeros",
] + _ops_all
