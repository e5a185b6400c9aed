"""The BLAS libraries' thread counts, through threadpoolctl (the ``all`` extra): read, set, and set to one for a while
(a convolution's blocks spread over threads of chainrule's own)."""

from __future__ import annotations

import os
import threading

_state: dict = {"controllers": None, "default": None}
_lock = threading.Lock()


def controllers() -> list:
    """threadpoolctl's controllers of every BLAS library loaded (NumPy's OpenBLAS), found once; an empty list
    without threadpoolctl."""
    if _state["controllers"] is None:
        with _lock:
            if _state["controllers"] is None:
                try:
                    from threadpoolctl import ThreadpoolController
                except ImportError:
                    found = []
                else:
                    found = ThreadpoolController().select(user_api="blas").lib_controllers
                counts = [c.num_threads for c in found]
                _state["default"] = max(counts) if counts else os.cpu_count() or 1  # before anyone here changed it
                _state["controllers"] = found
    return _state["controllers"]


def available() -> bool:
    """Whether the BLAS thread count can be set here (threadpoolctl installed, a BLAS it knows loaded)."""
    return bool(controllers())


def get_threads() -> int:
    """The threads a matrix product uses now (the machine's cores where threadpoolctl cannot tell)."""
    counts = [c.num_threads for c in controllers()]
    return max(counts) if counts else os.cpu_count() or 1


def default_threads() -> int:
    """The count the process started with (OPENBLAS_NUM_THREADS, or the cores)."""
    controllers()
    return _state["default"]


def set_threads(threads: int) -> None:
    for controller in controllers():
        controller.set_num_threads(threads)
