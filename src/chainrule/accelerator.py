"""chainrule.accelerator, as torch.accelerator (PyTorch's newer tutorials pick their device with it)."""

from __future__ import annotations

from . import cuda
from .tensor import device


def is_available() -> bool:
    return cuda.is_available()


def current_accelerator() -> device | None:
    """``device('cuda')`` where a GPU is usable, else None."""
    return device("cuda") if cuda.is_available() else None


def device_count() -> int:
    return cuda.device_count()


__all__ = ["current_accelerator", "device_count", "is_available"]
