"""Memory: reusable scratch arrays for ops' large temporaries, and keeping freed memory for reuse."""

from __future__ import annotations

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
