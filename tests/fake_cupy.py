"""A stand-in for CuPy, for machines without a GPU: "device" arrays are a NumPy subclass that
refuses to be mixed with host arrays in any operation, as CuPy refuses implicit transfers.

It checks the plumbing (every op takes its array module from its inputs, nothing creates a host
array where a device one is needed, results come back to the host only through to_device), not
CUDA's numerics: that needs a real GPU.
"""

from __future__ import annotations

import sys
import types

import numpy as np


class ndarray(np.ndarray):  # noqa: N801 - CuPy's name
    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        _refuse_host(ufunc.__name__, inputs + (out or ()))
        inputs = tuple(_host(x) for x in inputs)
        if out is not None:
            kwargs["out"] = tuple(_host(o) for o in out)
        result = getattr(ufunc, method)(*inputs, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _device(result)

    def __array_function__(self, func, types_, args, kwargs):
        _refuse_host(func.__name__, list(args) + list(kwargs.values()))
        result = func(*_unwrap(args), **_unwrap(kwargs))
        return _device(result)

    def __float__(self):
        return float(self.view(np.ndarray))


def _is_host(x) -> bool:
    return type(x) is np.ndarray  # 0-d too: CuPy takes Python and NumPy scalars, not NumPy arrays


# CuPy functions whose first argument may be a Python sequence (a shape, or a list of arrays); the
# others want an array there, and CuPy refuses lists and tuples (cupy.prod([2, 3]) is a TypeError).
_SEQUENCE_FIRST = {"zeros", "ones", "empty", "full", "concatenate", "stack", "asarray", "array", "broadcast_shapes"}


def _refuse_host(name, values) -> None:
    for value in values:
        items = value if isinstance(value, (list, tuple)) else (value,)
        for item in items:
            if _is_host(item):
                raise TypeError(f"fake cupy: {name} mixes a device array with a host array of shape {item.shape}")


def _host(x):
    return x.view(np.ndarray) if isinstance(x, ndarray) else x


def _unwrap(value):
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    return _host(value)


def _device(result):
    if isinstance(result, np.ndarray) and not isinstance(result, ndarray):
        return result.view(ndarray)
    if isinstance(result, (list, tuple)):
        return type(result)(_device(r) for r in result)
    if isinstance(result, np.generic):
        return np.asarray(result).view(ndarray)
    return result


class _Module(types.ModuleType):
    """cupy.<name>: NumPy's function of that name, on and returning device arrays."""

    ndarray = ndarray

    def __getattr__(self, name):
        target = getattr(np, name)
        if not callable(target) or isinstance(target, type):
            return target

        def call(*args, **kwargs):
            if name not in _SEQUENCE_FIRST and args and isinstance(args[0], (list, tuple)):
                raise TypeError(f"fake cupy: {name} takes an array, not a Python {type(args[0]).__name__}")
            _refuse_host(name, list(args) + list(kwargs.values()))
            return _device(target(*_unwrap(args), **_unwrap(kwargs)))

        return call

    @staticmethod
    def asarray(value, dtype=None):
        """Host to device, explicitly (cupy.asarray)."""
        return np.array(_host(value), dtype=dtype).view(ndarray) if not isinstance(value, ndarray) or dtype else value

    @staticmethod
    def asnumpy(value):
        return np.array(_host(value))

    @staticmethod
    def array(value, dtype=None, copy=True):
        return np.array(_host(value), dtype=dtype, copy=copy).view(ndarray)


def install(monkeypatch):
    """Make chainrule's backend use the fake CuPy for the rest of a test."""
    from chainrule import backend

    cupy = _Module("cupy")
    state = {"rng": np.random.default_rng(0)}
    cupy.random = types.SimpleNamespace(
        seed=lambda s: state.__setitem__("rng", np.random.default_rng(s)),
        random=lambda shape, dtype=np.float64: state["rng"].random(shape, dtype=dtype).view(ndarray),
    )
    cupy.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 1))
    cupyx = types.ModuleType("cupyx")
    cupyx.scatter_add = lambda target, index, values: np.add.at(_host(target), _unwrap(index), _host(values))
    special = types.ModuleType("cupyx.scipy.special")

    def erf(x):
        import math

        return np.asarray(np.frompyfunc(math.erf, 1, 1)(_host(x)), dtype=x.dtype).view(ndarray)

    special.erf = erf
    cupyx.scipy = types.SimpleNamespace(special=special)
    for name, module in (
        ("cupy", cupy),
        ("cupyx", cupyx),
        ("cupyx.scipy", cupyx.scipy),
        ("cupyx.scipy.special", special),
    ):
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(backend.device, "_cupy", cupy)
    # What the backend caches for CuPy: on a GPU machine real CuPy's would otherwise reach the fake.
    monkeypatch.setattr(backend.workspace, "free", {})
    monkeypatch.setattr(backend.device, "_device_scalars", {})
    monkeypatch.setattr(backend.kernels, "_kernels", {})  # compiled real-CuPy kernels would be handed fake arrays
    monkeypatch.setattr(backend.random, "_device_seeded", None)  # seed the fake's generator as a new CuPy's
    return cupy
