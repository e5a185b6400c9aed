"""im2col as an op of its own: ``unfold`` lays every kernel-sized patch of an image out as a column, and
``fold`` adds columns back onto an image, its mirror (each one's gradient is the other). A convolution is a
matrix product with the unfolded input, and pooling a reduction over its patches: the textbook forms of
conv2d and the poolings, by which their recorded gradients (create_graph=True) are taken. The fused ops in
conv.py compute the same in blocks, for speed."""

from __future__ import annotations

import math

import numpy as np

from ..backend import array_module
from ..backend.conv import output_hw
from ..errors import ShapeError
from ..node import Node
from ..tensor import Tensor, as_tensor


def pair(value, name: str, op: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or any(int(v) != v for v in pair):
        raise ValueError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def _window(i: int, j: int, stride, out_hw) -> tuple:
    """The strided slices of the last two axes that kernel offset (i, j) reads for every output pixel."""
    (sh, sw), (ho, wo) = stride, out_hw
    return slice(i, i + sh * (ho - 1) + 1, sh), slice(j, j + sw * (wo - 1) + 1, sw)


def im2col(x, kernel, stride, padding, fill=0.0):
    """(N, C, H, W) -> (N, C*kh*kw, Ho*Wo): row (c, i, j) holds input channel c at kernel offset (i, j) for every
    output pixel, the padding filled with ``fill``."""
    xp = array_module(x)
    (n, c, h, w), (kh, kw), (ph, pw) = x.shape, kernel, padding
    out_hw = output_hw((h, w), kernel, stride, padding)
    padded = xp.full((n, c, h + 2 * ph, w + 2 * pw), fill, dtype=x.dtype)
    padded[:, :, ph : ph + h, pw : pw + w] = x
    cols = xp.empty((n, c, kh, kw) + out_hw, dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = padded[(Ellipsis,) + _window(i, j, stride, out_hw)]
    return cols.reshape(n, c * kh * kw, out_hw[0] * out_hw[1])


def col2im(cols, shape, kernel, stride, padding):
    """The mirror of im2col: each column's values added back onto the (N, C, H, W) image places they came from."""
    xp = array_module(cols)
    (n, c, h, w), (kh, kw), (ph, pw) = shape, kernel, padding
    out_hw = output_hw((h, w), kernel, stride, padding)
    cols = cols.reshape((n, c, kh, kw) + out_hw)
    padded = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            padded[(Ellipsis,) + _window(i, j, stride, out_hw)] += cols[:, :, i, j]
    return padded[:, :, ph : ph + h, pw : pw + w]


class Unfold(Node):
    op = "unfold"
    saved_inputs = ()
    saves_output = False

    def forward(self, x, kernel, stride, padding, fill=0.0):
        self.shape, self.geometry = x.shape, (kernel, stride, padding)
        return im2col(x, kernel, stride, padding, fill)

    def backward(self, grad_output):
        return col2im(grad_output, self.shape, *self.geometry)

    def backward_graph(self, grad_output):
        return Fold.apply(grad_output, shape=self.shape, geometry=self.geometry)


class Fold(Node):
    op = "fold"
    saved_inputs = ()
    saves_output = False

    def forward(self, cols, shape, geometry):
        self.geometry = geometry
        return col2im(cols, shape, *geometry)

    def backward(self, grad_output):
        return im2col(grad_output, *self.geometry)

    def backward_graph(self, grad_output):
        return Unfold.apply(grad_output, kernel=self.geometry[0], stride=self.geometry[1], padding=self.geometry[2])


def _geometry(op: str, kernel_size, dilation, padding, stride):
    if pair(dilation, "dilation", op) != (1, 1):
        raise NotImplementedError(f"{op}: dilation other than 1 is not supported in chainrule")
    return pair(kernel_size, "kernel_size", op), pair(stride, "stride", op), pair(padding, "padding", op)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Every kernel-sized patch of a (N, C, H, W) batch as a column: (N, C*kh*kw, L), as ``F.unfold`` (im2col)."""
    x = as_tensor(input)
    if x.ndim != 4:
        raise ShapeError(f"unfold: expected a 4-D input (batch, channels, height, width), got shape {tuple(x.shape)}")
    kernel, stride, padding = _geometry("unfold", kernel_size, dilation, padding, stride)
    if x.shape[2] + 2 * padding[0] < kernel[0] or x.shape[3] + 2 * padding[1] < kernel[1]:
        raise ShapeError(f"unfold: kernel {kernel} is larger than the padded input of shape {tuple(x.shape)}")
    return Unfold.apply(x, kernel=kernel, stride=stride, padding=padding)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Columns (N, C*kh*kw, L) added back onto a (N, C, H, W) image of ``output_size``, as ``F.fold`` (col2im)."""
    cols = as_tensor(input)
    kernel, stride, padding = _geometry("fold", kernel_size, dilation, padding, stride)
    h, w = pair(output_size, "output_size", "fold")
    blocks = math.prod(output_hw((h, w), kernel, stride, padding))
    if cols.ndim != 3 or cols.shape[1] % (kernel[0] * kernel[1]) or cols.shape[2] != blocks:
        raise ShapeError(
            f"fold: expected columns of shape (N, C*{kernel[0]}*{kernel[1]}, {blocks}) for output size {(h, w)}, got "
            f"{tuple(cols.shape)}"
        )
    shape = (cols.shape[0], cols.shape[1] // (kernel[0] * kernel[1]), h, w)
    return Fold.apply(cols, shape=shape, geometry=(kernel, stride, padding))
