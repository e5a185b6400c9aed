"""The ground floor: where arrays live and what they are made of. One file per concern: devices
(NumPy or CuPy arrays), dtypes, the seeded generators, scratch memory, and the fused GPU kernels."""
from . import kernels
from .device import (
    array_module,
    check_device,
    cupy_module,
    device_constant,
    device_of,
    erf,
    get_default_device,
    is_device_array,
    loaded_cupy,
    scatter_add,
    set_default_device,
    to_device,
)
from .dtypes import (
    DTYPE_ALIASES,
    bool_,
    float16,
    float32,
    float64,
    get_default_dtype,
    int8,
    int16,
    int32,
    int64,
    is_float,
    resolve_dtype,
    set_default_dtype,
    uint8,
)
from .memory import Workspace, keep_freed_memory, workspace
from .random import default_generator, get_rng_state, manual_seed, random_uniform, set_rng_state

__all__ = [
    "DTYPE_ALIASES", "Workspace", "array_module", "bool_", "check_device", "cupy_module", "default_generator",
    "device_constant", "device_of", "erf", "float16", "float32", "float64", "get_default_device", "get_default_dtype",
    "get_rng_state", "int8", "int16", "int32", "int64", "is_device_array", "is_float", "keep_freed_memory", "kernels",
    "loaded_cupy", "manual_seed", "random_uniform", "resolve_dtype", "scatter_add", "set_default_device",
    "set_default_dtype", "set_rng_state", "to_device", "uint8", "workspace",
]
