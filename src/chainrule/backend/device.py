"""Devices: NumPy arrays live on 'cpu', CuPy arrays on 'cuda'; ops ask ``array_module(x)`` for the
module that holds their input and call it as ``xp``, so the same code runs on either.
"""

from __future__ import annotations

import sys

import numpy as np

from ..errors import DeviceError

_cupy = None  # CuPy, once imported by cupy_module()
_default_device = "cpu"


def array_module(array):
    """NumPy for NumPy arrays (and numbers), CuPy for CuPy arrays: ``xp = array_module(x)``."""
    if type(array) is np.ndarray:
        return np
    return _cupy if is_device_array(array) else np


def is_device_array(array) -> bool:
    """True for a CuPy array (an array in GPU memory)."""
    if type(array) is np.ndarray:  # the common case, asked at every step for every parameter
        return False
    if _cupy is None:  # no tensor has been moved yet, but the user may have made CuPy arrays
        cupy = sys.modules.get("cupy")
        if cupy is None or not isinstance(array, getattr(cupy, "ndarray", ())):
            return False
        cupy_module()
    return isinstance(array, _cupy.ndarray)


def cupy_module():
    """Import CuPy (once), with a clear error where it or a GPU is missing."""
    global _cupy
    if _cupy is None:
        try:
            import cupy
        except ImportError:
            raise DeviceError(
                "device 'cuda' needs CuPy and an NVIDIA GPU: pip install 'chainrule[cuda]' (cupy-cuda12x)"
            ) from None
        try:
            cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:  # CUDA's own error types vary with the driver
            raise DeviceError(f"device 'cuda': CuPy is installed but no GPU is usable ({exc})") from None
        _cupy = cupy
    return _cupy


def loaded_cupy():
    """CuPy if chainrule has started using it, else None (never imports it)."""
    return _cupy


def device_of(array) -> str:
    return "cuda" if is_device_array(array) else "cpu"


def check_device(device) -> str:
    device = str(device)
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise ValueError(f"unknown device {device!r}; expected 'cpu' or 'cuda'")
    return "cuda" if device.startswith("cuda") else "cpu"


def set_default_device(device) -> None:
    """Where factories (zeros, randn, tensor, ...) put new tensors when no ``device`` is given."""
    global _default_device
    _default_device = check_device(device if device is not None else "cpu")
    if _default_device == "cuda":
        cupy_module()  # fail now, with the clear error, rather than at the first tensor


def get_default_device() -> str:
    return _default_device


def to_device(array, device: str):
    """The array in the memory of ``device`` ('cpu' or 'cuda'), copied only if it must move."""
    device = check_device(device)
    if device == "cpu":
        return _cupy.asnumpy(array) if is_device_array(array) else array
    return cupy_module().asarray(array)


_device_scalars: dict = {}  # (value, dtype) -> a 0-d CuPy array; constants are never written to


def device_constant(array):
    """A constant (from ``as_tensor``) in GPU memory. Scalars such as the 2.0 in ``x * 2.0`` come
    up every step: each distinct one is copied to the GPU once (a host-to-device copy waits for
    the GPU) and reused from then on."""
    if array.ndim:
        return cupy_module().asarray(array)
    key = (array.item(), array.dtype.str)
    scalar = _device_scalars.get(key)
    if scalar is None:
        if len(_device_scalars) >= 1024:
            _device_scalars.clear()
        scalar = _device_scalars[key] = cupy_module().asarray(array)
    return scalar


def scatter_add(target, index, values) -> None:
    """target[index] += values with repeated indices each adding (np.add.at / cupyx.scatter_add)."""
    if is_device_array(target):
        import cupyx  # an optional package: imported only on the GPU path

        cupyx.scatter_add(target, index, values)
    else:
        np.add.at(target, index, values)
