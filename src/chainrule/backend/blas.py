"""The BLAS libraries' thread counts, through threadpoolctl (the ``all`` extra): found once, read and set by
backend/threads.py's budget."""

from __future__ import annotations

import os

_state: dict = {"controllers": None, "default": None}


def controllers() -> list:
    """threadpoolctl's controllers of every BLAS library loaded (NumPy's OpenBLAS), found once; an empty list
    without threadpoolctl."""
    if _state["controllers"] is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _state["controllers"] = []
        else:
            _state["controllers"] = ThreadpoolController().select(user_api="blas").lib_controllers
        _state["default"] = get_threads()  # before anyone here changed it
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
    """Every loaded BLAS on ``threads`` threads (nothing without threadpoolctl)."""
    for controller in controllers():
        controller.set_num_threads(threads)
