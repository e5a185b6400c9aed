"""Layers with parameters: Linear, Conv2d, BatchNorm1d/2d, LayerNorm, Embedding; and the ones without:
Flatten, pooling, dropout.

Default initialisation follows PyTorch: Linear and Conv2d weights kaiming_uniform_(a=sqrt(5)),
i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and their biases U(-1/sqrt(fan_in), 1/sqrt(fan_in));
BatchNorm weight 1 and bias 0, running mean 0 and running variance 1. For deep ReLU networks,
re-initialise with ``nn.init.kaiming_normal_(w, nonlinearity="relu")`` (He); for tanh/sigmoid,
``nn.init.xavier_uniform_`` (Glorot).
"""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..backend import resolve_dtype
from ..errors import ShapeError
from ..ops.linalg import Linear as LinearFunction
from ..tensor import Tensor
from . import init
from .module import Module
from .parameter import Parameter


def _default_init(weight: Parameter, bias: Parameter | None) -> None:
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in = weight.shape[1] * int(np.prod(weight.shape[2:]))
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(bias, -bound, bound)


def _check_input(layer: Module, x) -> None:
    """A layer's input must be a Tensor: a list or array gets a TypeError naming the layer, not an AttributeError."""
    if not isinstance(x, Tensor):
        raise TypeError(
            f"{type(layer).__name__}({layer.extra_repr()}): expected a Tensor as input, got {type(x).__name__}; "
            "make one with chainrule.tensor(...)"
        )


def _check_positive(layer: str, **values) -> None:
    for name, value in values.items():
        if not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError(f"{layer}: {name} must be a positive integer, got {value!r}")


class Linear(Module):
    """y = x W^T + b, the affine layer; weight of shape (out_features, in_features)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None):
        super().__init__()
        _check_positive("Linear", in_features=in_features, out_features=out_features)
        dtype = resolve_dtype(dtype)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(np.zeros((out_features, in_features)), dtype=dtype)
        self.bias = Parameter(np.zeros(out_features), dtype=dtype) if bias else None
        _default_init(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        _check_input(self, x)
        shape = x.array.shape  # (the array's plain tuple: this runs every step)
        if not shape or shape[-1] != self.in_features:
            raise ShapeError(
                f"Linear({self.in_features}, {self.out_features}): expected input with {self.in_features} "
                f"features in the last dimension, got shape {tuple(x.shape)} ({x.shape[-1] if x.ndim else 0} features)"
            )
        if x.array.dtype == self.weight.array.dtype:  # the hot path: F.linear's checks are done
            return (
                LinearFunction.apply(x, self.weight, self.bias)
                if self.bias is not None
                else LinearFunction.apply(x, self.weight)
            )
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Conv2d(Module):
    """2-D convolution over (N, C, H, W); weight of shape (out, in, kh, kw)."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, bias: bool = True, dtype=None
    ):
        super().__init__()
        _check_positive("Conv2d", in_channels=in_channels, out_channels=out_channels)
        kernel = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        dtype = resolve_dtype(dtype)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel
        self.stride, self.padding = stride, padding
        self.weight = Parameter(np.zeros((out_channels, in_channels, *kernel)), dtype=dtype)
        self.bias = Parameter(np.zeros(out_channels), dtype=dtype) if bias else None
        _default_init(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        _check_input(self, x)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ShapeError(
                f"Conv2d({self.in_channels}, {self.out_channels}): expected input of shape "
                f"(batch, {self.in_channels}, height, width), got {tuple(x.shape)}"
            )
        return F.conv2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}"
        )


class _Pool(Module):
    op = None

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x: Tensor) -> Tensor:
        _check_input(self, x)
        return type(self).op(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride or self.kernel_size}, padding={self.padding}"


class MaxPool2d(_Pool):
    op = staticmethod(F.max_pool2d)


class AvgPool2d(_Pool):
    op = staticmethod(F.avg_pool2d)


class Flatten(Module):
    """Merge all axes after the batch axis: (N, C, H, W) -> (N, C*H*W)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        _check_input(self, x)
        return F.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size``: (N, 784) -> (N, 1, 28, 28) with Unflatten(1, (1, 28, 28))."""

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x: Tensor) -> Tensor:
        _check_input(self, x)
        dim = self.dim % x.ndim
        if math.prod(self.unflattened_size) != x.shape[dim]:
            raise ShapeError(
                f"Unflatten({self.dim}, {self.unflattened_size}): dimension {dim} of the input has "
                f"{x.shape[dim]} values, not {math.prod(self.unflattened_size)}; input shape {tuple(x.shape)}"
            )
        return F.reshape(x, tuple(x.shape[:dim]) + self.unflattened_size + tuple(x.shape[dim + 1 :]))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class _BatchNorm(Module):
    expected_dims: tuple = ()

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype=None,
    ):
        super().__init__()
        _check_positive(type(self).__name__, num_features=num_features)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{type(self).__name__}: momentum must be in [0, 1], got {momentum}")
        dtype = resolve_dtype(dtype)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = Parameter(np.ones(num_features), dtype=dtype) if affine else None
        self.bias = Parameter(np.zeros(num_features), dtype=dtype) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(num_features, dtype=dtype))
            self.register_buffer("running_var", np.ones(num_features, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def forward(self, x: Tensor) -> Tensor:
        _check_input(self, x)
        name = type(self).__name__
        if x.ndim not in self.expected_dims or x.shape[1] != self.num_features:
            raise ShapeError(
                f"{name}({self.num_features}): expected input with {self.num_features} channels in axis 1 "
                f"and {' or '.join(map(str, self.expected_dims))} dimensions, got shape {tuple(x.shape)}"
            )
        use_batch = self.training or not self.track_running_stats
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array += 1
        return F.batch_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            training=use_batch,
            momentum=self.momentum,
            eps=self.eps,
        )

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"


class BatchNorm1d(_BatchNorm):
    """Normalise each feature over the batch: input (N, C) or (N, C, L)."""

    expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Normalise each channel over the batch and the image: input (N, C, H, W)."""

    expected_dims = (4,)


class Dropout(Module):
    """Inverted dropout: zeroes a fraction ``p`` in training (scaling the rest by 1/(1-p)); off in eval."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, training=self.training, inplace=self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Identity(Module):
    """Returns its input; any arguments are accepted and ignored (a placeholder, as PyTorch's)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


class Dropout2d(Module):
    """Channel dropout: zeroes whole feature maps with probability ``p`` in training; off in eval."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout2d: p must be in [0, 1], got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout2d(x, self.p, training=self.training, inplace=self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Embedding(Module):
    """A lookup table: row i of ``weight`` (num_embeddings, embedding_dim) is the vector of index i.
    Initialised N(0, 1) as PyTorch's; the ``padding_idx`` row starts at 0 and gets no gradient."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None, dtype=None):
        super().__init__()
        _check_positive("Embedding", num_embeddings=num_embeddings, embedding_dim=embedding_dim)
        if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
            raise ValueError(
                f"Embedding: padding_idx must be within [-{num_embeddings}, {num_embeddings}), got {padding_idx}"
            )
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx % num_embeddings if padding_idx is not None else None
        self.weight = Parameter(np.zeros((num_embeddings, embedding_dim)), dtype=resolve_dtype(dtype))
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.array[self.padding_idx] = 0

    def forward(self, indices) -> Tensor:
        return F.embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}" + (
            f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        )


class LayerNorm(Module):
    """Normalise each sample over its last dimensions, then scale by ``weight`` (1) and shift by ``bias`` (0)."""

    def __init__(
        self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True, dtype=None
    ):
        super().__init__()
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        dtype = resolve_dtype(dtype)
        self.weight = Parameter(np.ones(self.normalized_shape), dtype=dtype) if elementwise_affine else None
        self.bias = Parameter(np.zeros(self.normalized_shape), dtype=dtype) if elementwise_affine and bias else None

    def forward(self, x: Tensor) -> Tensor:
        _check_input(self, x)
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
