"""The array modules (NumPy; CuPy for tensors moved to "cuda"), the default floating dtype and
the seeded random generator.

Ops ask ``array_module(x)`` for the module that holds their input and call it as ``xp``: the same
code then runs on NumPy arrays and on CuPy arrays. Everything random draws from the generator that
``manual_seed`` seeds.
"""
from __future__ import annotations

import sys

import numpy as np

from .errors import DeviceError

xp = np  # the default array module
_cupy = None  # set once CuPy has been imported by to_device("cuda")


def array_module(array):
    """NumPy for NumPy arrays (and numbers), CuPy for CuPy arrays: ``xp = array_module(x)``."""
    if type(array) is np.ndarray:
        return np
    return _cupy if is_device_array(array) else np


def is_device_array(array) -> bool:
    """True for a CuPy array (an array in GPU memory)."""
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
            raise DeviceError("device 'cuda' needs CuPy and an NVIDIA GPU: pip install 'chainrule[cuda]' (cupy-cuda12x)") from None
        try:
            cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:  # CUDA's own error types vary with the driver
            raise DeviceError(f"device 'cuda': CuPy is installed but no GPU is usable ({exc})") from None
        _cupy = cupy
        if _seed is not None:
            cupy.random.seed(_seed)
    return _cupy


def device_of(array) -> str:
    return "cuda" if is_device_array(array) else "cpu"


def check_device(device) -> str:
    device = str(device)
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise ValueError(f"unknown device {device!r}; expected 'cpu' or 'cuda'")
    return "cuda" if device.startswith("cuda") else "cpu"


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


_kernels: dict = {}


def fused_kernel(name: str, in_params: str, out_params: str, body: str):
    """One CuPy ElementwiseKernel (compiled once, then cached) doing in one GPU launch what the NumPy
    code does in several passes; None where CuPy has no kernels (the test suite's stand-in).

    A launch from Python costs about 10 µs, more than the arithmetic of a small layer: optimizer
    updates (a dozen passes for Adam) and softmax cross-entropy are fused on the GPU, while the CPU
    keeps the NumPy passes, which stay the reference the GPU tests compare the kernels with.
    """
    kernel = _kernels.get(name)
    if kernel is None:
        cupy = cupy_module()
        if not hasattr(cupy, "ElementwiseKernel"):
            return None
        kernel = _kernels[name] = cupy.ElementwiseKernel(in_params, out_params, body, f"chainrule_{name}")
    return kernel


def erf(array):
    """The error function, element-wise, on either module (NumPy has none of its own)."""
    if is_device_array(array):
        from cupyx.scipy.special import erf as cupy_erf

        return cupy_erf(array)
    import math

    return np.asarray(np.frompyfunc(math.erf, 1, 1)(array), dtype=array.dtype)


def scatter_add(target, index, values) -> None:
    """target[index] += values with repeated indices each adding (np.add.at / cupyx.scatter_add)."""
    if is_device_array(target):
        import cupyx

        cupyx.scatter_add(target, index, values)
    else:
        np.add.at(target, index, values)


def random_uniform(shape, dtype, like):
    """Uniform [0, 1) samples in ``like``'s memory, from the seeded generator of its module."""
    if is_device_array(like):
        return _cupy.random.random(shape, dtype=dtype)
    return _generator.random(shape, dtype=dtype)

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
DTYPE_ALIASES = {"half": float16, "float": float32, "double": float64, "short": int16, "int": int32, "long": int64, "bool": bool_}

_FLOAT_DTYPES = (float32, float64)
_default_device = "cpu"


def set_default_device(device) -> None:
    """Where factories (zeros, randn, tensor, ...) put new tensors when no ``device`` is given."""
    global _default_device
    _default_device = check_device(device if device is not None else "cpu")
    if _default_device == "cuda":
        cupy_module()  # fail now, with the clear error, rather than at the first tensor


def get_default_device() -> str:
    return _default_device
_default_dtype = float32
_generator = np.random.default_rng()
_seed = None


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

    def take(self, shape, dtype, module=np):
        arrays = self.free.get((module.__name__, tuple(shape), np.dtype(dtype)))
        return arrays.pop() if arrays else module.empty(shape, dtype=dtype)

    def give(self, array) -> None:
        arrays = self.free.setdefault((array_module(array).__name__, array.shape, array.dtype), [])
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
    global _generator, _seed
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"manual_seed: expected a non-negative integer, got {seed!r}")
    _seed = int(seed)
    _generator = np.random.default_rng(_seed)
    if _cupy is not None:
        _cupy.random.seed(_seed)
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
