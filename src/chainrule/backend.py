"""The array module (NumPy), the default floating dtype and the seeded random generator.

Everything above this file asks here for arrays, dtypes and random numbers, so that a later
backend (CuPy) and ``manual_seed`` have one place to act.
"""
from __future__ import annotations

import numpy as np

xp = np

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)

_FLOAT_DTYPES = (float32, float64)
_default_dtype = float32
_generator = np.random.default_rng()


def get_default_dtype() -> np.dtype:
    """The dtype that float data becomes when no dtype is given (float32 unless changed)."""
    return _default_dtype


def set_default_dtype(dtype) -> None:
    """Make ``dtype`` (float32 or float64) the default for new float tensors and parameters."""
    global _default_dtype
    dtype = np.dtype(dtype)
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


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the one generator that initialisation, dropout and shuffling draw from."""
    global _generator
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"manual_seed: expected a non-negative integer, got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def default_generator() -> np.random.Generator:
    """The generator behind ``manual_seed``: use it for anything random that must be reproducible."""
    return _generator


def get_rng_state() -> dict:
    """The generator's state as a JSON-friendly dict (saved in checkpoints)."""
    return _generator.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore a state returned by :func:`get_rng_state`."""
    _generator.bit_generator.state = state
