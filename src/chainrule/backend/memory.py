"""Memory: reusable scratch arrays for ops' large temporaries, recycled large outputs, and keeping freed
memory for reuse."""

from __future__ import annotations

import math
import os
import sys
import threading
from collections import OrderedDict

import numpy as np

from .device import array_module


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
        self._lock = threading.Lock()  # a convolution's blocks may take and give from several threads

    def take(self, shape, dtype, module=np):
        with self._lock:
            arrays = self.free.get((module.__name__, tuple(shape), np.dtype(dtype)))
            if arrays:
                return arrays.pop()
        return module.empty(shape, dtype=dtype)

    def give(self, array) -> None:
        with self._lock:
            arrays = self.free.setdefault((array_module(array).__name__, array.shape, array.dtype), [])
            if len(arrays) < self.keep:
                arrays.append(array)

    def clear(self) -> None:
        self.free.clear()


workspace = Workspace()


def _free_count() -> int:
    """What sys.getrefcount reports for an array held by a list alone (the list's reference and the call's
    argument in CPython up to 3.13; measured rather than assumed, since newer interpreters count stack
    references differently)."""
    held = [np.empty(1)]
    return sys.getrefcount(held[0])


class ArrayPool:
    """Large op outputs (a convolution's, ReLU's, max-pooling's, and their gradients), recycled from step to step.

    A training step allocates the same large arrays every step, and NumPy gets each from the operating system as
    fresh pages whose first write faults: in the benchmark CNN about 45 MB a step, 13 of its 32 ms. The pool keeps
    a reference to each large array it hands out, and hands an array out again once that reference is the only
    one left: no tensor, view, graph node or user variable can reach it any more (a view holds its base; so do
    ``torch.from_numpy`` and a memoryview). Its contents are stale, as ``np.empty``'s are. Arrays under
    ``min_bytes`` or over a quarter of ``max_bytes`` come from NumPy as usual; the pool holds at most ``max_bytes``
    (the least recently used shapes go first) and ``per_shape`` arrays of one shape; ``clear()`` forgets them all.
    ``min_bytes`` is glibc's first mmap threshold, 128 KiB: from there up an array may come as fresh pages. The
    benchmark CNN's pooling outputs and argmax (100-400 KB) faulted in 285 pages a step under a 1 MB minimum, and the
    step went from 507 page faults to none.
    Off where the interpreter has no GIL, and with ``CHAINRULE_ARRAY_POOL=0``.
    """

    def __init__(self, min_bytes: int = 1 << 17, max_bytes: int = 256 << 20, per_shape: int = 8):
        self.min_bytes, self.max_bytes, self.per_shape = min_bytes, max_bytes, per_shape
        self.arrays: OrderedDict = OrderedDict()  # (shape, dtype) -> arrays of that shape, oldest first
        self.bytes = 0
        gil = getattr(sys, "_is_gil_enabled", None)  # Python 3.13+; before it, always a GIL
        self.enabled = os.environ.get("CHAINRULE_ARRAY_POOL", "1") != "0" and (gil is None or gil())
        self._free = _free_count()
        self._lock = threading.Lock()

    def empty(self, shape, dtype) -> np.ndarray:
        """np.empty(shape, dtype): a recycled array when one of that shape and dtype is no longer used."""
        dtype = np.dtype(dtype)
        nbytes = math.prod(shape) * dtype.itemsize
        if not (self.enabled and self.min_bytes <= nbytes <= self.max_bytes // 4):  # a huge array: not kept either
            return np.empty(shape, dtype=dtype)
        shape = tuple(shape)
        key = (shape, dtype)
        with self._lock:
            arrays = self.arrays.get(key)
            if arrays is None:
                arrays = self.arrays[key] = []
            else:
                self.arrays.move_to_end(key)
                for i in range(len(arrays)):
                    if sys.getrefcount(arrays[i]) == self._free:  # nobody else holds it
                        return arrays[i]
            array = np.empty(shape, dtype=dtype)
            if len(arrays) >= self.per_shape:
                self.bytes -= arrays.pop(0).nbytes
            arrays.append(array)
            self.bytes += nbytes
            while self.bytes > self.max_bytes:  # the least recently used shapes first, then this one's oldest
                if len(self.arrays) > 1:
                    _, dropped = self.arrays.popitem(last=False)
                    self.bytes -= sum(a.nbytes for a in dropped)
                else:
                    self.bytes -= arrays.pop(0).nbytes
            return array

    def clear(self) -> None:
        """Forget every array (those still in use stay valid: they are simply no longer recycled)."""
        with self._lock:
            self.arrays.clear()
            self.bytes = 0


pool = ArrayPool()


def empty(shape, dtype, module=np):
    """An uninitialised array for an op's output: from the pool on the CPU (recycled once nothing holds it),
    module.empty on a GPU (CuPy has a pool of its own)."""
    return pool.empty(shape, dtype) if module is np else module.empty(shape, dtype=dtype)


def keep_freed_memory(max_array_mb: int = 32, keep_mb: int = 512) -> bool:
    """Ask glibc's malloc to reuse freed memory for arrays up to ``max_array_mb`` instead of
    returning it to the operating system (and faulting fresh pages in again on the next step).

    Training allocates the same large arrays every step. The array pool already recycles the large outputs
    of convolutions, ReLU and pooling; this covers every other allocation (NumPy's own results, the
    matrix products'), and made the benchmark CNN's step a third faster before the pool. It is process-wide,
    so it is opt-in: the ``chainrule`` command turns it on for its own process. Returns False where it is
    not available (not glibc).
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
