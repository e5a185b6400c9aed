"""Convolution and pooling over (N, C, H, W) images, by im2col and one matrix product.

im2col gathers every kernel-sized window into a row (a strided view, then one copy), so the
convolution becomes cols @ W^T. Backward scatters the windows' gradients back by looping over the
kh*kw kernel offsets (each a strided slice of the whole batch), never over pixels.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import ShapeError
from ..function import Function
from ..tensor import Tensor, as_tensor


def _pair(value, name: str, op: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or any(int(v) != v for v in pair):
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def _out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def _windows(x: np.ndarray, kernel, stride, padding, fill=0.0) -> np.ndarray:
    """A (N, C, Ho, Wo, kh, kw) view of every window of the padded input (no copy yet)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    return sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]


def _scatter_windows(grad_windows, input_shape, kernel, stride, padding, dtype) -> np.ndarray:
    """col2im: add each window's gradient (N, C, Ho, Wo, kh, kw) back onto the input's pixels."""
    n, c, h, w = input_shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    ho, wo = grad_windows.shape[2:4]
    grad = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=dtype)
    for i in range(kh):
        for j in range(kw):
            grad[:, :, i : i + sh * ho : sh, j : j + sw * wo : sw] += grad_windows[:, :, :, :, i, j]
    return grad[:, :, ph : ph + h, pw : pw + w] if (ph or pw) else grad


class Conv2d(Function):
    def forward(self, x, weight, bias=None, stride=(1, 1), padding=(0, 0)):
        out_channels, _, kh, kw = weight.shape
        self.x_shape, self.weight, self.geometry = x.shape, weight, ((kh, kw), stride, padding)
        windows = _windows(x, (kh, kw), stride, padding)
        n, c, ho, wo = windows.shape[:4]
        # rows: one per output pixel (n, ho, wo); columns: (c, kh, kw), matching weight's layout
        self.cols = np.ascontiguousarray(windows.transpose(0, 2, 3, 1, 4, 5)).reshape(n * ho * wo, c * kh * kw)
        out = self.cols @ weight.reshape(out_channels, -1).T
        if bias is not None:
            out += bias
        return out.reshape(n, ho, wo, out_channels).transpose(0, 3, 1, 2)

    def backward(self, grad_output):
        weight, cols = self.weight, self.cols
        n, out_channels, ho, wo = grad_output.shape
        grad2 = grad_output.transpose(0, 2, 3, 1).reshape(-1, out_channels)
        needs = self.needs_input_grad
        grad_x = grad_w = grad_b = None
        if needs[1]:
            grad_w = (grad2.T @ cols).reshape(weight.shape)
        if len(needs) > 2 and needs[2]:
            grad_b = grad2.sum(axis=0)
        if needs[0]:
            kernel, stride, padding = self.geometry
            c = self.x_shape[1]
            grad_cols = (grad2 @ weight.reshape(out_channels, -1)).reshape(n, ho, wo, c, *kernel)
            grad_x = _scatter_windows(grad_cols.transpose(0, 3, 1, 2, 4, 5), self.x_shape, kernel, stride, padding, grad_output.dtype)
        return (grad_x, grad_w) if len(needs) == 2 else (grad_x, grad_w, grad_b)


class MaxPool2d(Function):
    def forward(self, x, kernel, stride, padding):
        self.x_shape, self.geometry = x.shape, (kernel, stride, padding)
        n, c, h, w = x.shape
        (kh, kw), (sh, sw) = kernel, stride
        if (kh, kw) == (sh, sw) and padding == (0, 0) and h % kh == 0 and w % kw == 0:
            # The windows tile the image: a reshape exposes them with no copy.
            tiles = x.reshape(n, c, h // kh, kh, w // kw, kw).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, h // kh, w // kw, kh * kw)
        else:
            tiles = _windows(x, kernel, stride, padding, fill=-np.inf).reshape(n, c, *self._out(h, w), kh * kw)
        self.argmax = tiles.argmax(axis=-1)  # the first maximum wins, as in PyTorch
        return np.take_along_axis(tiles, self.argmax[..., None], axis=-1)[..., 0]

    def _out(self, h, w):
        (kh, kw), (sh, sw), (ph, pw) = self.geometry
        return _out_size(h, kh, sh, ph), _out_size(w, kw, sw, pw)

    def backward(self, grad_output):
        kernel, stride, padding = self.geometry
        kh, kw = kernel
        # Each window's gradient goes to its maximal element only.
        grad_windows = np.zeros(grad_output.shape + (kh * kw,), dtype=grad_output.dtype)
        np.put_along_axis(grad_windows, self.argmax[..., None], grad_output[..., None], axis=-1)
        grad_windows = grad_windows.reshape(grad_output.shape + (kh, kw))
        return _scatter_windows(grad_windows, self.x_shape, kernel, stride, padding, grad_output.dtype)


class AvgPool2d(Function):
    def forward(self, x, kernel, stride, padding):
        self.x_shape, self.geometry = x.shape, (kernel, stride, padding)
        # Padding counts as zeros in the average (PyTorch's count_include_pad=True default).
        return _windows(x, kernel, stride, padding).mean(axis=(-2, -1))

    def backward(self, grad_output):
        kernel, stride, padding = self.geometry
        share = grad_output / (kernel[0] * kernel[1])
        grad_windows = np.broadcast_to(share[..., None, None], grad_output.shape + kernel)
        return _scatter_windows(grad_windows, self.x_shape, kernel, stride, padding, grad_output.dtype)


def _check_image(x: Tensor, op: str) -> None:
    if x.ndim != 4:
        raise ShapeError(f"{op}: expected a 4-D input (batch, channels, height, width), got shape {x.shape}")


def _check_geometry(x_shape, kernel, stride, padding, op):
    if min(kernel) < 1 or min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"{op}: kernel_size and stride must be >= 1 and padding >= 0, got {kernel}, {stride}, {padding}")
    h, w = x_shape[2:]
    if h + 2 * padding[0] < kernel[0] or w + 2 * padding[1] < kernel[1]:
        raise ShapeError(f"{op}: kernel {kernel} is larger than the padded input {h + 2 * padding[0]}x{w + 2 * padding[1]}")


def conv2d(x, weight, bias=None, stride=1, padding=0) -> Tensor:
    """2-D cross-correlation (what deep learning calls convolution) of (N, C, H, W) by (O, C, kh, kw)."""
    x, weight = as_tensor(x), as_tensor(weight)
    _check_image(x, "conv2d")
    if weight.ndim != 4 or weight.shape[1] != x.shape[1]:
        raise ShapeError(f"conv2d: input has {x.shape[1]} channels (shape {x.shape}) but the weight of shape {weight.shape} expects {weight.shape[1] if weight.ndim == 4 else '?'}")
    if x.dtype != weight.dtype:
        raise TypeError(f"conv2d: input is {x.dtype} but weight is {weight.dtype}")
    stride, padding = _pair(stride, "stride", "conv2d"), _pair(padding, "padding", "conv2d")
    _check_geometry(x.shape, weight.shape[2:], stride, padding, "conv2d")
    if bias is None:
        return Conv2d.apply(x, weight, stride=stride, padding=padding)
    return Conv2d.apply(x, weight, as_tensor(bias), stride=stride, padding=padding)


def max_pool2d(x, kernel_size, stride=None, padding=0) -> Tensor:
    x = as_tensor(x)
    _check_image(x, "max_pool2d")
    kernel = _pair(kernel_size, "kernel_size", "max_pool2d")
    stride = kernel if stride is None else _pair(stride, "stride", "max_pool2d")
    padding = _pair(padding, "padding", "max_pool2d")
    _check_geometry(x.shape, kernel, stride, padding, "max_pool2d")
    if padding[0] * 2 > kernel[0] or padding[1] * 2 > kernel[1]:
        raise ValueError(f"max_pool2d: padding {padding} must be at most half the kernel {kernel}")
    return MaxPool2d.apply(x, kernel=kernel, stride=stride, padding=padding)


def avg_pool2d(x, kernel_size, stride=None, padding=0) -> Tensor:
    x = as_tensor(x)
    _check_image(x, "avg_pool2d")
    kernel = _pair(kernel_size, "kernel_size", "avg_pool2d")
    stride = kernel if stride is None else _pair(stride, "stride", "avg_pool2d")
    padding = _pair(padding, "padding", "avg_pool2d")
    _check_geometry(x.shape, kernel, stride, padding, "avg_pool2d")
    return AvgPool2d.apply(x, kernel=kernel, stride=stride, padding=padding)
