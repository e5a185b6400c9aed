"""Ops over sequences (N, C, L), written with the 2-D ops on a height of 1, and the pooling and norms that
sequence models use (adaptive average pooling, GroupNorm, RMSNorm), composed of differentiable ops."""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from ..tensor import Tensor, as_tensor
from .conv import avg_pool2d, conv2d, max_pool2d
from .elementwise import sqrt
from .reduce import mean
from .shape import stack


def _sequence(x, op: str) -> Tensor:
    x = as_tensor(x)
    if x.ndim not in (2, 3):
        raise ShapeError(f"{op}: expected input of shape (N, C, L) or (C, L), got {x.shape}")
    return x


def _one(value, op: str, name: str) -> int:
    value = value[0] if isinstance(value, (tuple, list)) and len(value) == 1 else value
    if not isinstance(value, (int, np.integer)):
        raise ValueError(f"{op}: {name} must be an int (or a 1-tuple), got {value!r}")
    return int(value)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:  # noqa: A002
    """1-D cross-correlation of (N, C, L) by (O, C, k): conv2d over a height of 1."""
    x = _sequence(input, "conv1d")
    weight = as_tensor(weight)
    if _one(dilation, "conv1d", "dilation") != 1 or groups != 1:
        raise NotImplementedError("conv1d: dilation and groups other than 1 are not supported in chainrule")
    if weight.ndim != 3:
        raise ShapeError(f"conv1d: expected a weight of shape (out_channels, in_channels, kernel), got {weight.shape}")
    if padding == "valid":
        padding = 0
    elif padding == "same":
        if stride not in (1, (1,)):
            raise ValueError("conv1d: padding='same' needs stride 1")
        if weight.shape[-1] % 2 == 0:
            raise NotImplementedError("conv1d: padding='same' with an even kernel size is not supported in chainrule")
        padding = weight.shape[-1] // 2
    unbatched = x.ndim == 2
    x = x.unsqueeze(0) if unbatched else x
    out = conv2d(
        x.unsqueeze(2),
        weight.unsqueeze(2),
        bias,
        stride=(1, _one(stride, "conv1d", "stride")),
        padding=(0, _one(padding, "conv1d", "padding")),
    ).squeeze(2)
    return out.squeeze(0) if unbatched else out


def _pool1d(pool, x, kernel_size, stride, padding, op):
    x = _sequence(x, op)
    unbatched = x.ndim == 2
    x = x.unsqueeze(0) if unbatched else x
    kernel = _one(kernel_size, op, "kernel_size")
    stride = kernel if stride is None else _one(stride, op, "stride")
    out = pool(x.unsqueeze(2), (1, kernel), (1, stride), (0, _one(padding, op, "padding"))).squeeze(2)
    return out.squeeze(0) if unbatched else out


def max_pool1d(input, kernel_size, stride=None, padding=0) -> Tensor:  # noqa: A002
    return _pool1d(max_pool2d, input, kernel_size, stride, padding, "max_pool1d")


def avg_pool1d(input, kernel_size, stride=None, padding=0) -> Tensor:  # noqa: A002
    return _pool1d(avg_pool2d, input, kernel_size, stride, padding, "avg_pool1d")


def _bins(size: int, out: int) -> list:
    """PyTorch's adaptive windows: output i averages [floor(i size / out), ceil((i + 1) size / out))."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


def _adaptive(x: Tensor, sizes: tuple, op: str) -> Tensor:
    """Average over the adaptive windows of the trailing len(sizes) axes."""
    spatial = x.shape[x.ndim - len(sizes) :]
    sizes = tuple(s if s is not None else n for s, n in zip(sizes, spatial))
    if any(not isinstance(s, (int, np.integer)) or s <= 0 for s in sizes):
        raise ValueError(f"{op}: output_size must be positive integers (or None to keep a size), got {sizes}")
    if all(n % s == 0 for n, s in zip(spatial, sizes)):  # equal windows: one reshape and one mean
        shape = tuple(x.shape[: x.ndim - len(sizes)])
        for n, s in zip(spatial, sizes):
            shape += (s, n // s)
        axes = tuple(x.ndim - len(sizes) + 2 * k + 1 for k in range(len(sizes)))
        return mean(x.reshape(shape), axes)
    axis = x.ndim - len(sizes)
    parts = [mean(x.narrow(axis, a, b - a), axis, keepdim=True) for a, b in _bins(spatial[0], sizes[0])]
    pooled = stack(parts, axis).squeeze(axis + 1)
    if len(sizes) == 1:
        return pooled
    rows = [_adaptive(pooled.narrow(axis, i, 1), sizes[1:], op) for i in range(sizes[0])]
    return stack([r.squeeze(axis) for r in rows], axis)


def adaptive_avg_pool1d(input, output_size) -> Tensor:  # noqa: A002
    """Average over L / output_size windows of (N, C, L) (PyTorch's uneven windows where it does not divide)."""
    x = _sequence(input, "adaptive_avg_pool1d")
    return _adaptive(x, (_one(output_size, "adaptive_avg_pool1d", "output_size"),), "adaptive_avg_pool1d")


def adaptive_avg_pool2d(input, output_size) -> Tensor:  # noqa: A002
    """Average over windows that split (N, C, H, W) into output_size cells: (1, 1) is global average pooling."""
    x = as_tensor(input)
    if x.ndim not in (3, 4):
        raise ShapeError(f"adaptive_avg_pool2d: expected input of shape (N, C, H, W) or (C, H, W), got {x.shape}")
    sizes = (output_size, output_size) if isinstance(output_size, (int, np.integer)) else tuple(output_size)
    if len(sizes) != 2:
        raise ValueError(f"adaptive_avg_pool2d: output_size must be an int or a pair, got {output_size!r}")
    return _adaptive(x, sizes, "adaptive_avg_pool2d")


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5) -> Tensor:  # noqa: A002
    """Normalise each sample over groups of channels (and all positions): the channels (N, C, ...) split into
    num_groups groups, (x - mean) / sqrt(var + eps) within each, then a per-channel scale and shift."""
    x = as_tensor(input)
    if x.ndim < 2 or x.shape[1] % num_groups:
        raise ShapeError(f"group_norm: expected (N, C, ...) with C divisible by num_groups={num_groups}, got {x.shape}")
    grouped = x.reshape(x.shape[0], num_groups, -1)
    centered = grouped - mean(grouped, -1, keepdim=True)
    variance = mean(centered * centered, -1, keepdim=True)  # biased, as PyTorch normalises
    out = (centered / sqrt(variance + eps)).reshape(x.shape)
    channel = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(channel)
    if bias is not None:
        out = out + bias.reshape(channel)
    return out


def rms_norm(input, normalized_shape, weight=None, eps=None) -> Tensor:  # noqa: A002
    """x / sqrt(mean(x^2) + eps) over the last dimensions, times ``weight``: LayerNorm without the centring
    (eps defaults to the dtype's machine epsilon, as PyTorch's)."""
    x = as_tensor(input)
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(x.shape[x.ndim - len(normalized_shape) :]) != normalized_shape:
        raise ShapeError(f"rms_norm: the input's shape {x.shape} does not end with normalized_shape {normalized_shape}")
    eps = float(np.finfo(x.array.dtype).eps) if eps is None else eps
    axes = tuple(range(x.ndim - len(normalized_shape), x.ndim))
    out = x / sqrt(mean(x * x, axes, keepdim=True) + eps)
    return out * weight if weight is not None else out


__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "avg_pool1d",
    "conv1d",
    "group_norm",
    "max_pool1d",
    "rms_norm",
]
