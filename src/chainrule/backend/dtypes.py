"""Dtypes: the names (float32, long, ...), the default floating dtype, and reading a user's dtype spec."""

from __future__ import annotations

import numpy as np

float16 = np.dtype(np.float16)  # storage only: cast to float32 to compute
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
uint8 = np.dtype(np.uint8)
int8 = np.dtype(np.int8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)
# PyTorch's other names for them (chainrule.float is float32, chainrule.long is int64, ...)
DTYPE_ALIASES = {
    "half": float16,
    "float": float32,
    "double": float64,
    "short": int16,
    "int": int32,
    "long": int64,
    "bool": bool_,
}

_FLOAT_DTYPES = (float32, float64)
_default_dtype = float32


def get_default_dtype() -> np.dtype:
    """The dtype that float data becomes when no dtype is given (float32 unless changed)."""
    return _default_dtype


def set_default_dtype(d) -> None:
    """Make ``d`` (float32 or float64) the default for new float tensors and parameters."""
    global _default_dtype
    dtype = np.dtype(d)
    if dtype not in _FLOAT_DTYPES:
        raise TypeError(f"set_default_dtype: expected float32 or float64, got {dtype}")
    _default_dtype = dtype


def resolve_dtype(dtype) -> np.dtype:
    """Turn a user's dtype spec (None, 'float64', np.float32, chainrule.float64) into a NumPy dtype."""
    if dtype is None:
        return _default_dtype
    if hasattr(dtype, "dtype") and not isinstance(dtype, type):
        dtype = dtype.dtype
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}; expected e.g. 'float32' or 'float64'") from None


def is_float(dtype) -> bool:
    return np.dtype(dtype).kind == "f"
