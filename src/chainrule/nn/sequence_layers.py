"""Layers over sequences (N, C, L), adaptive pooling, and the norms of sequence models: Conv1d, MaxPool1d,
AvgPool1d, AdaptiveAvgPool1d/2d, GroupNorm, RMSNorm (the functions in ops/sequence.py)."""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..backend import resolve_dtype
from ..errors import ShapeError
from ..tensor import Tensor
from .layers import _check_input, _check_positive, _default_init
from .module import Module
from .parameter import Parameter


class Conv1d(Module):
    """1-D convolution over (N, C, L); weight of shape (out_channels, in_channels, kernel_size)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        stride=1,
        padding=0,
        dilation=1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device=None,
        dtype=None,
    ):
        super().__init__()
        _check_positive("Conv1d", in_channels=in_channels, out_channels=out_channels)
        if padding_mode != "zeros":
            raise NotImplementedError(f"Conv1d: padding_mode={padding_mode!r} is not supported (only 'zeros')")
        kernel = kernel_size[0] if isinstance(kernel_size, (tuple, list)) else kernel_size
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, (int(kernel),)
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        dtype = resolve_dtype(dtype)
        self.weight = Parameter(np.zeros((out_channels, in_channels, int(kernel))), dtype=dtype)
        self.bias = Parameter(np.zeros(out_channels), dtype=dtype) if bias else None
        _default_init(self.weight, self.bias)
        if device is not None:
            self.to(device=device)

    def forward(self, x: Tensor) -> Tensor:
        _check_input(self, x)
        if x.ndim not in (2, 3) or x.shape[-2] != self.in_channels:
            raise ShapeError(
                f"Conv1d({self.in_channels}, {self.out_channels}): expected input of shape "
                f"(N, {self.in_channels}, L) or ({self.in_channels}, L), got {tuple(x.shape)}"
            )
        return F.conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"


class _Pool1d(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}, padding={self.padding}"


class MaxPool1d(_Pool1d):
    def forward(self, x: Tensor) -> Tensor:
        _check_input(self, x)
        return F.max_pool1d(x, self.kernel_size, self.stride, self.padding)


class AvgPool1d(_Pool1d):
    def forward(self, x: Tensor) -> Tensor:
        _check_input(self, x)
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding)


class AdaptiveAvgPool1d(Module):
    """Average (N, C, L) down to (N, C, output_size)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x: Tensor) -> Tensor:
        _check_input(self, x)
        return F.adaptive_avg_pool1d(x, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(AdaptiveAvgPool1d):
    """Average (N, C, H, W) down to (N, C, *output_size); (1, 1) is global average pooling."""

    def forward(self, x: Tensor) -> Tensor:
        _check_input(self, x)
        return F.adaptive_avg_pool2d(x, self.output_size)


class GroupNorm(Module):
    """Normalise each sample over groups of channels: (N, C, ...) with C split into num_groups."""

    def __init__(
        self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True, device=None, dtype=None
    ):
        super().__init__()
        _check_positive("GroupNorm", num_groups=num_groups, num_channels=num_channels)
        if num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        dtype = resolve_dtype(dtype)
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        self.weight = Parameter(np.ones(num_channels), dtype=dtype) if affine else None
        self.bias = Parameter(np.zeros(num_channels), dtype=dtype) if affine else None
        if device is not None:
            self.to(device=device)

    def forward(self, x: Tensor) -> Tensor:
        _check_input(self, x)
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise ShapeError(
                f"GroupNorm({self.num_groups}, {self.num_channels}): expected input of shape (N, {self.num_channels}, "
                f"...), got {tuple(x.shape)}"
            )
        return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class RMSNorm(Module):
    """x / sqrt(mean(x^2) + eps) * weight over the last dimensions (``normalized_shape``)."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine: bool = True, device=None, dtype=None):
        super().__init__()
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        dtype = resolve_dtype(dtype)
        self.weight = Parameter(np.ones(self.normalized_shape), dtype=dtype) if elementwise_affine else None
        if device is not None:
            self.to(device=device)

    def forward(self, x: Tensor) -> Tensor:
        _check_input(self, x)
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
