"""Factories: tensors made from a shape, a range or the seeded generator, as PyTorch's.

Each takes ``dtype=``, ``device=`` and ``requires_grad=``; float results are float32 unless the
default dtype or ``dtype`` says otherwise, integer ones int64.
"""

from __future__ import annotations

import numpy as np

from ..backend import (
    check_device,
    get_default_device,
    get_default_dtype,
    is_device_array,
    numpy_generator,
    resolve_dtype,
    to_device,
)
from ..tensor import Tensor


def _shape(size, op: str) -> tuple:
    """``zeros(2, 3)``, ``zeros((2, 3))`` and ``zeros([2, 3])`` all mean the shape (2, 3)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or isinstance(s, bool) or s < 0:
            raise ValueError(f"{op}: sizes must be non-negative integers, got {size!r}")
    return tuple(int(s) for s in size)


def make(array, dtype, device, requires_grad: bool, default_float: bool = True) -> Tensor:
    """A new leaf from ``array``: in ``dtype`` (float data in the default dtype), on ``device``."""
    if dtype is not None:
        array = array.astype(resolve_dtype(dtype), copy=False)
    elif default_float and array.dtype.kind == "f":
        array = array.astype(get_default_dtype(), copy=False)
    if (get_default_device() if device is None else check_device(device)) == "cuda":
        array = to_device(array, "cuda")
    out = Tensor.wrap(array, False)
    return out.requires_grad_(True) if requires_grad else out


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return make(np.zeros(_shape(size, "zeros")), dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return make(np.ones(_shape(size, "ones")), dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uninitialised memory in PyTorch; zeros here (NumPy's fresh pages are zero anyway)."""
    return make(np.zeros(_shape(size, "empty")), dtype, device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``fill_value``; its dtype follows the value (bool, int64 or the default float) unless given."""
    size = _shape((size,) if isinstance(size, (int, np.integer)) else (size,), "full")
    if dtype is None:
        dtype = (
            np.bool_
            if isinstance(fill_value, bool)
            else np.int64
            if isinstance(fill_value, int)
            else get_default_dtype()
        )
    return make(np.full(size, fill_value), dtype, device, requires_grad)


def eye(n: int, m: int | None = None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return make(np.eye(n, m), dtype, device, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """[start, end) in steps; int64 when every bound is an integer, else the default float dtype."""
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be non-zero")
    integral = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (start, end, step))
    if dtype is None:
        dtype = np.int64 if integral else get_default_dtype()
    # float ranges are computed in float64 and then cast, so the end point is excluded exactly as in PyTorch
    count = max(int(np.ceil((end - start) / step)), 0)
    array = start + step * np.arange(count, dtype=np.int64 if integral else np.float64)
    return make(array, dtype, device, requires_grad)


def linspace(start, end, steps: int, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    if not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"linspace: steps must be a non-negative integer, got {steps!r}")
    return make(np.linspace(start, end, steps), dtype, device, requires_grad)


def logspace(
    start, end, steps: int, base: float = 10.0, dtype=None, device=None, requires_grad: bool = False
) -> Tensor:
    return make(np.logspace(start, end, steps, base=base), dtype, device, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad: bool = False, generator=None) -> Tensor:
    """Uniform samples in [0, 1) from the generator that ``manual_seed`` seeds."""
    gen = numpy_generator(generator, "rand")
    return make(gen.random(_shape(size, "rand")), dtype, device, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad: bool = False, generator=None) -> Tensor:
    """Standard normal samples from the generator that ``manual_seed`` seeds."""
    gen = numpy_generator(generator, "randn")
    return make(gen.standard_normal(_shape(size, "randn")), dtype, device, requires_grad)


def randint(low, high=None, size=None, dtype=None, device=None, requires_grad: bool = False, generator=None) -> Tensor:
    """Integers in [low, high) (``randint(high, size)`` starts at 0); int64 unless ``dtype``."""
    if size is None:
        if not isinstance(high, (tuple, list)):
            raise TypeError("randint: give size, e.g. randint(0, 10, (3,))")
        low, high, size = 0, low, high
    if high is None:
        raise TypeError("randint: give high (randint(high, size) or randint(low, high, size))")
    size = _shape((size,), "randint") if not isinstance(size, (int, np.integer)) else (int(size),)
    gen = numpy_generator(generator, "randint")
    array = gen.integers(low, high, size=size, dtype=np.int64)
    return make(array, dtype or np.int64, device, requires_grad)


def randperm(n: int, dtype=None, device=None, requires_grad: bool = False, generator=None) -> Tensor:
    gen = numpy_generator(generator, "randperm")
    return make(gen.permutation(n).astype(np.int64), dtype or np.int64, device, requires_grad)


def normal(mean, std, size=None, dtype=None, device=None, generator=None) -> Tensor:
    """Samples of N(mean, std^2): of shape ``size`` for number arguments, else of the tensors' shape."""
    gen = numpy_generator(generator, "normal")
    mean_array, std_array = (np.asarray(v.array if isinstance(v, Tensor) else v, dtype=np.float64) for v in (mean, std))
    shape = size if size is not None else np.broadcast_shapes(mean_array.shape, std_array.shape)
    return make(gen.normal(mean_array, std_array, shape), dtype, device, False)


def _like(op: str, tensor: Tensor, dtype, device):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(tensor).__name__}")
    return (
        tensor.array.shape,
        tensor.dtype if dtype is None else resolve_dtype(dtype),
        tensor.device if device is None else device,
    )


def zeros_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    shape, dtype, device = _like("zeros_like", input, dtype, device)
    return make(np.zeros(shape, dtype=dtype), None, device, requires_grad, default_float=False)


def ones_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    shape, dtype, device = _like("ones_like", input, dtype, device)
    return make(np.ones(shape, dtype=dtype), None, device, requires_grad, default_float=False)


def empty_like(input: Tensor, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    return zeros_like(input, dtype, device, requires_grad)


def full_like(input: Tensor, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    shape, dtype, device = _like("full_like", input, dtype, device)
    return make(np.full(shape, fill_value, dtype=dtype), None, device, requires_grad, default_float=False)


def rand_like(input: Tensor, *, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    shape, dtype, device = _like("rand_like", input, dtype, device)
    rng = numpy_generator(generator, "rand_like")
    return make(rng.random(shape).astype(dtype), None, device, requires_grad, default_float=False)


def randn_like(input: Tensor, *, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    shape, dtype, device = _like("randn_like", input, dtype, device)
    rng = numpy_generator(generator, "randn_like")
    return make(rng.standard_normal(shape).astype(dtype), None, device, requires_grad, default_float=False)


def randint_like(
    input: Tensor, low, high=None, *, generator=None, dtype=None, device=None, requires_grad: bool = False
) -> Tensor:
    if high is None:
        low, high = 0, low
    shape, dtype, device = _like("randint_like", input, dtype, device)
    rng = numpy_generator(generator, "randint_like")
    return make(rng.integers(low, high, size=shape).astype(dtype), None, device, requires_grad, default_float=False)


def from_numpy(ndarray) -> Tensor:
    """Wrap an ndarray (or a CuPy array in GPU memory) without copying or converting it (float64 stays
    float64): writes through either are seen by the other."""
    return Tensor.wrap(ndarray if is_device_array(ndarray) else np.asarray(ndarray), False)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Share ``data``'s memory where it already is an array of the asked dtype (as PyTorch's), else copy."""
    if isinstance(data, Tensor):
        out = data if dtype is None else data.to(dtype)
        return out if device is None else out.to(device=device)
    if isinstance(data, np.ndarray) or is_device_array(data):
        array = data if dtype is None else data.astype(resolve_dtype(dtype), copy=False)
        return make(array, None, device, False, default_float=False)
    return make(np.array(data), dtype, device, False)
