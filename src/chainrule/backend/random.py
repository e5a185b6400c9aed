"""The seeded generators: one NumPy generator for the host, and CuPy's for the GPU, seeded alike."""

from __future__ import annotations

import numpy as np

from . import device

_start_seed = int(np.random.SeedSequence().entropy % 2**63)  # fresh each process, until manual_seed
_generator = np.random.default_rng(_start_seed)
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


def initial_seed() -> int:
    """The seed the global stream started from: manual_seed's, or the one drawn when the process started."""
    return _start_seed if _seed is None else _seed


def get_rng_state() -> dict:
    """The generator's state as a JSON-friendly dict (saved in checkpoints)."""
    return _generator.bit_generator.state


def set_rng_state(new_state: dict) -> None:
    """Restore a state returned by :func:`get_rng_state`."""
    _generator.bit_generator.state = new_state


def random_uniform(shape, dtype, like):
    """Uniform [0, 1) samples in ``like``'s memory, from the seeded generator of its module."""
    if device.is_device_array(like):
        _seed_device()  # CuPy may have been imported after manual_seed
        return device.loaded_cupy().random.random(shape, dtype=dtype)
    return _generator.random(shape, dtype=dtype)


def numpy_generator(generator=None, where: str = "generator") -> np.random.Generator:
    """The NumPy generator behind ``generator=``: the global one for None, a ``chainrule.Generator``'s own
    stream, or a NumPy Generator as it is."""
    if generator is None:
        return _generator
    rng = getattr(generator, "_rng", generator)  # a chainrule.Generator (ops/random.py) draws from its own
    if isinstance(rng, np.random.Generator):
        return rng
    raise TypeError(f"{where}: generator= expects a chainrule.Generator, got {type(generator).__name__}")
