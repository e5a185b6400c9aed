"""chainrule.cuda, as torch.cuda: is there a GPU that chainrule can use (through CuPy)?"""

from __future__ import annotations

from . import backend
from .errors import DeviceError


def is_available() -> bool:
    """True where CuPy is installed and sees an NVIDIA GPU; never raises."""
    try:
        backend.cupy_module()
    except DeviceError:
        return False
    return True


def device_count() -> int:
    if not is_available():
        return 0
    return int(backend.cupy_module().cuda.runtime.getDeviceCount())


def manual_seed(seed: int) -> None:
    """Seed the GPU's generator (``chainrule.manual_seed`` seeds both)."""
    if is_available():
        backend.cupy_module().random.seed(seed)


manual_seed_all = manual_seed


def synchronize() -> None:
    """Wait for the GPU to finish what was queued (for timing)."""
    if is_available():
        backend.cupy_module().cuda.Device().synchronize()


__all__ = ["device_count", "is_available", "manual_seed", "manual_seed_all", "synchronize"]
