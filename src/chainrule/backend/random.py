"""The seeded generators: one NumPy generator for the host, and CuPy's for the GPU, seeded alike."""

from __future__ import annotations

import numpy as np

from . import device

_generator = np.random.default_rng()
_seed = None
_device_seeded = None  # the seed CuPy's generator was last given


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the one generator that initialisation, dropout and shuffling draw from (and the GPU's)."""
    global _generator, _seed, _device_seeded
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"manual_seed: expected a non-negative integer, got {seed!r}")
    _seed = int(seed)
    _generator = np.random.default_rng(_seed)
    _device_seeded = None
    _seed_device()
    return _generator


def _seed_device() -> None:
    global _device_seeded
    cupy = device.loaded_cupy()
    if cupy is not None and _seed is not None and _device_seeded != _seed:
        cupy.random.seed(_seed)
        _device_seeded = _seed


def default_generator() -> np.random.Generator:
    """The generator behind ``manual_seed``: use it for anything random that must be reproducible."""
    return _generator


def get_rng_state() -> dict:
    """The generator's state as a JSON-friendly dict (saved in checkpoints)."""
    return _generator.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore a state returned by :func:`get_rng_state`."""
    _generator.bit_generator.state = state


def random_uniform(shape, dtype, like):
    """Uniform [0, 1) samples in ``like``'s memory, from the seeded generator of its module."""
    if device.is_device_array(like):
        _seed_device()  # CuPy may have been imported after manual_seed
        return device.loaded_cupy().random.random(shape, dtype=dtype)
    return _generator.random(shape, dtype=dtype)
