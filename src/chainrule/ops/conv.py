"""Convolution and pooling over (N, C, H, W) images.

A convolution is im2col and a matrix product (Conv2d; its faster blocked form is backend/conv.py). Pooling loops
over the kh*kw kernel offsets, each one strided slice of the input in channel-major order (backend/conv.py's
helpers), never over pixels, and never calls np.add.at.
"""

from __future__ import annotations

import numpy as np

from ..backend import array_module, fast, memory
from ..backend.conv import channel_major, kernel_offset, output_hw, unpad
from ..errors import ShapeError
from ..node import Node
from ..tensor import Tensor, as_tensor
from .broadcast import operands
from .linalg import matmul
from .pick import gather
from .unfold import Unfold, col2im, im2col, pair


class Conv2d(Node):
    """y[n] = W · im2col(x[n]) + b, with W reshaped to (O, C·kh·kw): a convolution is one matrix product per image.
    Backward: dW = Σ_n dY[n] · cols[n]ᵀ, db = Σ dY, dx = col2im(Wᵀ · dY[n]) (unfold.py has im2col and col2im).

    The backend's blocked form (backend/conv.py, through fast.conv2d) computes the same in cache-sized blocks,
    several times faster; this is the reference the tests compare it with."""

    op = "conv2d"
    saved_inputs = (0,)  # the blocked form rebuilds its im2col blocks from x
    saves_output = False

    def forward(self, x, weight, bias=None, stride=(1, 1), padding=(0, 0)):
        self.stride, self.padding, self.x_shape, self.kernel = stride, padding, x.shape, weight.shape[2:]
        self.blocked = fast.conv2d(x, weight, bias, stride, padding)
        if self.blocked is not None:
            return self.blocked.output
        n, out_channels = x.shape[0], weight.shape[0]
        self.cols = im2col(x, self.kernel, stride, padding)  # (N, C·kh·kw, Ho·Wo)
        self.weight = weight.reshape(out_channels, -1).copy()  # (O, C·kh·kw), kept as it was
        out = self.weight @ self.cols  # (N, O, Ho·Wo)
        if bias is not None:
            out += bias[:, None]
        ho, wo = output_hw(x.shape[2:], self.kernel, stride, padding)
        return out.reshape(n, out_channels, ho, wo)

    def backward(self, grad_output):
        needs = self.needs_input_grad
        if self.blocked is not None:
            return self.blocked.backward(grad_output, needs)
        n, out_channels = grad_output.shape[:2]
        grad = grad_output.reshape(n, out_channels, -1)  # dY (N, O, Ho·Wo)
        grad_x = (
            col2im(self.weight.T @ grad, self.x_shape, self.kernel, self.stride, self.padding) if needs[0] else None
        )
        grad_w = (grad @ self.cols.transpose(0, 2, 1)).sum(axis=0) if needs[1] else None
        grad_w = None if grad_w is None else grad_w.reshape(out_channels, self.x_shape[1], *self.kernel)
        if len(needs) == 2:
            return grad_x, grad_w
        return grad_x, grad_w, grad.sum(axis=(0, 2)) if needs[2] else None

    def composite(self, x, weight, bias=None):
        """The textbook convolution, for the recorded gradient: W (O, C*kh*kw) times the unfolded input."""
        ho, wo = output_hw(x.shape[2:], self.kernel, self.stride, self.padding)
        cols = Unfold.apply(x, kernel=self.kernel, stride=self.stride, padding=self.padding)  # (N, C*kh*kw, L)
        out = matmul(weight.reshape(weight.shape[0], -1), cols)  # (N, O, L)
        if bias is not None:
            out = out + bias.reshape(1, -1, 1)
        return out.reshape(x.shape[0], weight.shape[0], ho, wo)


def _tiles_2x2(kernel, stride, padding) -> bool:
    """The pooling that backend/cpu.py's kernels do in one pass: 2x2 windows, stride 2, no padding."""
    return kernel == stride == (2, 2) and padding == (0, 0)


class MaxPool2d(Node):
    op = "max_pool2d"
    saved_inputs = ()
    saves_output = False

    def forward(self, x, kernel, stride, padding):
        xp = array_module(x)
        n, c, h, w = x.shape
        out_hw = output_hw((h, w), kernel, stride, padding)
        self.geometry = (x.shape, kernel, stride, padding, out_hw)
        if _tiles_2x2(kernel, stride, padding):
            fused = fast.max_pool_2x2(x.transpose(1, 0, 2, 3))  # one multi-core pass, where Numba is installed
            if fused is not None:
                out, self.argmax = fused
                return out.transpose(1, 0, 2, 3)
        padded = channel_major(x, padding, fill=-np.inf)
        # Running maximum over the kernel offsets, remembering which offset first held it (the
        # element PyTorch sends the gradient to); a strictly greater value takes over.
        # the output in PyTorch's (N, C, Ho, Wo) memory order (a Flatten after it is then a view), seen channel-major
        out = xp.empty((n, c, *out_hw), dtype=x.dtype).transpose(1, 0, 2, 3)
        out[...] = kernel_offset(padded, 0, 0, stride, out_hw)
        self.argmax = xp.zeros(out.shape, dtype=np.uint8 if kernel[0] * kernel[1] < 256 else np.int32)
        for t in range(1, kernel[0] * kernel[1]):
            window = kernel_offset(padded, t // kernel[1], t % kernel[1], stride, out_hw)
            greater = window > out
            # argmax = t where greater, else unchanged (arithmetic: far faster than copyto(where=))
            self.argmax *= ~greater
            self.argmax += greater * self.argmax.dtype.type(t)
            xp.maximum(out, window, out=out)
        # A window holding a NaN gives NaN (np.maximum propagates it), but NaN > x is False, so argmax missed it:
        # PyTorch sends such a window's gradient to its last NaN. One pass to find them, more only if any.
        nan = out != out
        if nan.any():
            for t in range(kernel[0] * kernel[1]):
                window = kernel_offset(padded, t // kernel[1], t % kernel[1], stride, out_hw)
                self.argmax[nan & (window != window)] = t
        return out.transpose(1, 0, 2, 3)

    def backward(self, grad_output):
        xp = array_module(grad_output)
        (n, c, h, w), kernel, stride, padding, out_hw = self.geometry
        grad = grad_output.transpose(1, 0, 2, 3)
        if _tiles_2x2(kernel, stride, padding):
            fused = fast.max_pool_2x2_backward(grad, self.argmax, (c, n, h, w))
            if fused is not None:
                return fused.transpose(1, 0, 2, 3)
        tiles = stride == kernel  # each input pixel in at most one window: assign instead of add
        # windows that tile the whole padded input write every pixel: no need to zero it first
        covers = tiles and out_hw[0] * kernel[0] == h + 2 * padding[0] and out_hw[1] * kernel[1] == w + 2 * padding[1]
        grad_padded = memory.empty((c, n, h + 2 * padding[0], w + 2 * padding[1]), grad_output.dtype, xp)
        if not covers:
            grad_padded[...] = 0
        for t in range(kernel[0] * kernel[1]):
            target = kernel_offset(grad_padded, t // kernel[1], t % kernel[1], stride, out_hw)
            chosen = self.argmax == t
            if tiles:
                xp.multiply(grad, chosen, out=target)
            else:
                target += grad * chosen
        return unpad(grad_padded, padding, (h, w))

    def composite(self, x):
        """Each window's element at argmax, picked out of the unfolded input (so ties go where backward sends them)."""
        (n, c, _, _), kernel, stride, padding, (ho, wo) = self.geometry
        cols = Unfold.apply(x, kernel=kernel, stride=stride, padding=padding, fill=-np.inf)
        index = self.argmax.transpose(1, 0, 2, 3).reshape(n, c, 1, ho * wo).astype(np.int64)
        return gather(cols.reshape(n, c, kernel[0] * kernel[1], ho * wo), 2, index).reshape(n, c, ho, wo)


class AvgPool2d(Node):
    op = "avg_pool2d"
    saved_inputs = ()
    saves_output = False

    def forward(self, x, kernel, stride, padding):
        xp = array_module(x)
        n, c, h, w = x.shape
        out_hw = output_hw((h, w), kernel, stride, padding)
        padded = channel_major(x, padding)
        total = xp.zeros((c, n, *out_hw), dtype=x.dtype)
        for i in range(kernel[0]):
            for j in range(kernel[1]):
                total += kernel_offset(padded, i, j, stride, out_hw)
        self.geometry = (x.shape, kernel, stride, padding, out_hw)
        # Padding counts as zeros in the average (PyTorch's count_include_pad=True default).
        total /= kernel[0] * kernel[1]
        return total.transpose(1, 0, 2, 3)

    def backward(self, grad_output):
        xp = array_module(grad_output)
        (n, c, h, w), kernel, stride, padding, out_hw = self.geometry
        share = grad_output.transpose(1, 0, 2, 3) / (kernel[0] * kernel[1])
        grad_padded = xp.zeros((c, n, h + 2 * padding[0], w + 2 * padding[1]), dtype=grad_output.dtype)
        for i in range(kernel[0]):
            for j in range(kernel[1]):
                kernel_offset(grad_padded, i, j, stride, out_hw)[...] += share
        return unpad(grad_padded, padding, (h, w))

    def composite(self, x):
        """The mean of each window of the unfolded input (padding counted as zeros)."""
        (n, c, _, _), kernel, stride, padding, (ho, wo) = self.geometry
        cols = Unfold.apply(x, kernel=kernel, stride=stride, padding=padding)
        return cols.reshape(n, c, kernel[0] * kernel[1], ho * wo).mean(axis=2).reshape(n, c, ho, wo)


def _check_image(x: Tensor, op: str) -> None:
    if x.ndim != 4:
        raise ShapeError(f"{op}: expected a 4-D input (batch, channels, height, width), got shape {x.shape}")


def _check_geometry(x_shape, kernel, stride, padding, op):
    if min(kernel) < 1 or min(stride) < 1 or min(padding) < 0:
        raise ValueError(
            f"{op}: kernel_size and stride must be >= 1 and padding >= 0, got {kernel}, {stride}, {padding}"
        )
    h, w = x_shape[2:]
    if h + 2 * padding[0] < kernel[0] or w + 2 * padding[1] < kernel[1]:
        raise ShapeError(
            f"{op}: kernel {kernel} is larger than the padded input {h + 2 * padding[0]}x{w + 2 * padding[1]}"
        )


def conv2d(input, weight, bias=None, stride=1, padding=0) -> Tensor:
    """2-D cross-correlation (what deep learning calls convolution) of (N, C, H, W) by (O, C, kh, kw)."""
    input, weight = as_tensor(input), as_tensor(weight)
    _check_image(input, "conv2d")
    if weight.ndim != 4 or weight.shape[1] != input.shape[1]:
        raise ShapeError(
            f"conv2d: input has {input.shape[1]} channels (shape {input.shape}) but the weight of shape {weight.shape} "
            f"expects {weight.shape[1] if weight.ndim == 4 else '?'}"
        )
    input, weight = operands(
        input, weight, "conv2d"
    )  # as linear: integer input joins the weight's dtype; float32/64 raise
    stride, padding = pair(stride, "stride", "conv2d"), pair(padding, "padding", "conv2d")
    _check_geometry(input.shape, weight.shape[2:], stride, padding, "conv2d")
    if bias is None:
        return Conv2d.apply(input, weight, stride=stride, padding=padding)
    bias = as_tensor(bias)
    if bias.shape != (weight.shape[0],):
        raise ShapeError(
            f"conv2d: expected a bias of shape ({weight.shape[0]},), one per output channel, got {bias.shape}"
        )
    if bias.dtype != weight.dtype:
        raise TypeError(f"conv2d: weight is {weight.dtype} but bias is {bias.dtype}")
    return Conv2d.apply(input, weight, bias, stride=stride, padding=padding)


def max_pool2d(x, kernel_size, stride=None, padding=0) -> Tensor:
    x = as_tensor(x)
    _check_image(x, "max_pool2d")
    kernel = pair(kernel_size, "kernel_size", "max_pool2d")
    stride = kernel if stride is None else pair(stride, "stride", "max_pool2d")
    padding = pair(padding, "padding", "max_pool2d")
    _check_geometry(x.shape, kernel, stride, padding, "max_pool2d")
    if padding[0] * 2 > kernel[0] or padding[1] * 2 > kernel[1]:
        raise ValueError(f"max_pool2d: padding {padding} must be at most half the kernel {kernel}")
    return MaxPool2d.apply(x, kernel=kernel, stride=stride, padding=padding)


def avg_pool2d(input, kernel_size, stride=None, padding=0) -> Tensor:
    input = as_tensor(input)
    _check_image(input, "avg_pool2d")
    kernel = pair(kernel_size, "kernel_size", "avg_pool2d")
    stride = kernel if stride is None else pair(stride, "stride", "avg_pool2d")
    padding = pair(padding, "padding", "avg_pool2d")
    _check_geometry(input.shape, kernel, stride, padding, "avg_pool2d")
    return AvgPool2d.apply(input, kernel=kernel, stride=stride, padding=padding)
