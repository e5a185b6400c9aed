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


class Workspace:
    """Reusable scratch arrays for ops' large temporaries (im2col matrices and the like).

    Freshly allocated large arrays come from the operating system as untouched pages, and the
    first write to each page faults: for a convolution's 16 MB im2col matrix that costs more than
    the matrix product. ``take`` hands out an array of the asked shape that nobody else holds;
    ``give`` returns it once its owner is done (an op's backward, or a node releasing its saved
    values). Arrays never given back are simply garbage collected.
    """

    def __init__(self, keep: int = 4):
        self.free: dict = {}
        self.keep = keep

    def take(self, shape, dtype) -> np.ndarray:
        arrays = self.free.get((tuple(shape), np.dtype(dtype)))
        return arrays.pop() if arrays else np.empty(shape, dtype=dtype)

    def give(self, array: np.ndarray) -> None:
        arrays = self.free.setdefault((array.shape, array.dtype), [])
        if len(arrays) < self.keep:
            arrays.append(array)

    def clear(self) -> None:
        self.free.clear()


workspace = Workspace()


def keep_freed_memory(max_array_mb: int = 32, keep_mb: int = 512) -> bool:
    """Ask glibc's malloc to reuse freed memory for arrays up to ``max_array_mb`` instead of
    returning it to the operating system (and faulting fresh pages in again on the next step).

    Training allocates the same large arrays every step; on Linux this makes a CNN step about a
    third faster. It is process-wide, so it is opt-in: the ``chainrule`` command turns it on for
    its own process. Returns False where it is not available (not glibc).
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
    ok = mallopt(m_mmap_threshold, max_array_mb * 2**20) == 1
    ok &= mallopt(m_trim_threshold, keep_mb * 2**20) == 1
    ok &= mallopt(m_top_pad, 64 * 2**20) == 1
    return bool(ok)


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
