"""Convolution and pooling over (N, C, H, W) images, by im2col and matrix products.

im2col gathers, for each of the kh*kw kernel offsets, one strided slice of a block of images, so the
convolution becomes one product W cols per block. Backward rebuilds each block's cols (cheaper than
keeping the whole batch's matrix in memory) and turns the gradient back by col2im. col2im and
pooling loop over the same kernel offsets, never over pixels, and never call np.add.at.
"""

from __future__ import annotations

import numpy as np

from ..backend import array_module, fast, memory, workspace
from ..errors import ShapeError
from ..node import Node
from ..tensor import Tensor, as_tensor
from .broadcast import operands
from .linalg import matmul
from .pick import gather
from .unfold import Unfold, out_size, pair


# The ops below work in "channel-major" axis order (C, N, H, W): every per-channel array then is one
# block of memory, the im2col matrix needs no transpose, and a convolution's output comes out of
# the matrix product as (O, N, Ho, Wo), handed on as an (N, O, Ho, Wo) view without a copy.
def _channel_major(x: np.ndarray, padding, fill=0.0) -> np.ndarray:
    """x (N, C, H, W) as a (C, N, H+2ph, W+2pw) array (a view when there is no padding)."""
    (ph, pw), xt = padding, x.transpose(1, 0, 2, 3)
    if not (ph or pw):
        return xt
    c, n, h, w = xt.shape
    padded = array_module(x).full((c, n, h + 2 * ph, w + 2 * pw), fill, dtype=x.dtype)
    padded[:, :, ph : ph + h, pw : pw + w] = xt
    return padded


def _offset(a: np.ndarray, i: int, j: int, stride, out_hw) -> np.ndarray:
    """The strided view of ``a`` that kernel offset (i, j) reads for every output pixel."""
    (sh, sw), (ho, wo) = stride, out_hw
    return a[:, :, i : i + sh * (ho - 1) + 1 : sh, j : j + sw * (wo - 1) + 1 : sw]


def _flat_images(channels: int, n: int, hp: int, wp: int, kw: int, dtype, xp):
    """(flat, images): zeros for the wide layout, each padded Hp x Wp image laid out flat in rows of Wp, with
    kw - 1 spare zeros at the end for the last runs; ``images`` is its (C, N, Hp, Wp) view. flat comes from
    the workspace: give it back."""
    flat = workspace.take((channels, n, hp * wp + kw - 1), dtype, xp)
    flat[...] = 0
    return flat, flat[:, :, : hp * wp].reshape(channels, n, hp, wp)


def _run(flat: np.ndarray, i: int, j: int, wp: int, ho: int) -> np.ndarray:
    """The contiguous run of ``flat`` that kernel offset (i, j) reads for a whole wide output of Ho rows of Wp
    (the wide layout's ``_offset``)."""
    return flat[:, :, i * wp + j : i * wp + j + ho * wp]


def _front(buffer: np.ndarray, columns: int) -> np.ndarray:
    """A C-contiguous (rows, columns) array on the front of the 2-D buffer's memory: a block narrower than the
    buffer (the last, shorter one) without the gaps that ``buffer[:, :columns]`` would have."""
    return buffer if columns == buffer.shape[1] else buffer.reshape(-1)[: len(buffer) * columns].reshape(-1, columns)


def _unpad(grad: np.ndarray, padding, hw) -> np.ndarray:
    """Crop the padding off a (C, N, Hp, Wp) gradient and hand it back as (N, C, H, W)."""
    (ph, pw), (h, w) = padding, hw
    return grad[:, :, ph : ph + h, pw : pw + w].transpose(1, 0, 2, 3)


# im2col matrices are built this many bytes at a time (a few images), so that each block is written, multiplied
# and (in backward) turned back by col2im while it is still in cache, instead of a whole batch's matrix
# (16 MB for 128 MNIST images at 16 channels) going out to memory and back. For the benchmark CNN's second
# convolution, forward and backward took 3.9 and 9.3 ms with 1 MB blocks, 3.7 and 8.8 ms with 2 MB, 4.0 and
# 8.9 ms with 4 MB, and 4.7 and 11.1 ms as one block (a 1 MB L2 cache per core here).
BLOCK_BYTES = 1 << 21


class Conv2d(Node):
    op = "conv2d"
    saved_inputs = (0,)  # backward rebuilds the im2col blocks from x
    saves_output = False

    def forward(self, x, weight, bias=None, stride=(1, 1), padding=(0, 0)):
        xp = array_module(x)
        out_channels, channels, kh, kw = weight.shape
        n, _, h, w = x.shape
        ho, wo = out_size(h, kh, stride[0], padding[0]), out_size(w, kw, stride[1], padding[1])
        # The wide layout pays when the im2col matrix (kh*kw*C rows) outweighs the gradient it forces to
        # be widened in backward (O rows); a first layer with one input channel stays narrow.
        wide = stride == (1, 1) and kh * kw * channels >= out_channels
        out_w = w + 2 * padding[1] if wide else wo
        rows = kh * kw * channels
        weight_matrix = weight.transpose(0, 2, 3, 1).reshape(out_channels, rows)  # (O, kh*kw*C), a copy
        if bias is not None:
            # The bias rides in the product as one more column of W (and a row of ones in cols): no pass
            # of its own over the output, and backward's dW product gives db as its last column.
            weight_matrix = xp.concatenate([weight_matrix, bias[:, None]], axis=1)
        self.x, self.weight_matrix = x, weight_matrix
        self.geometry = (x.shape, weight.shape, stride, padding, (ho, wo), out_w)
        out = memory.empty((out_channels, n, ho, out_w), x.dtype, xp)  # recycled from step to step
        for start, stop, cols in self._blocks(xp):
            # one product per block: (O, kh*kw*C [+1]) x (kh*kw*C [+1], images*Ho*W'), into the output's slice
            xp.matmul(weight_matrix, cols, out=out[:, start:stop].reshape(out_channels, -1))
        return out[..., :wo].transpose(1, 0, 2, 3)

    def _blocks(self, xp):
        """(start, stop, cols) for successive blocks of images: cols is their im2col matrix, row (i, j, c) input
        channel c at kernel offset (i, j) for every output pixel, plus a row of ones when there is a bias. The
        matrix is one workspace buffer, rewritten for each block."""
        x, weight_matrix = self.x, self.weight_matrix
        (n, channels, h, w), (_, _, kh, kw), stride, padding, (ho, wo), out_w = self.geometry
        rows = kh * kw * channels
        per_image = weight_matrix.shape[1] * ho * out_w
        step = n if xp is not np else max(1, min(n, BLOCK_BYTES // (per_image * x.itemsize)))
        buffer = workspace.take((weight_matrix.shape[1], step * ho * out_w), x.dtype, xp)
        buffer[rows:] = 1
        try:
            for start in range(0, n, step):
                stop = min(n, start + step)
                cols = _front(buffer, (stop - start) * ho * out_w)
                if cols.shape[1] < buffer.shape[1]:
                    cols[rows:] = 1
                self._im2col(x, start, stop, cols[:rows])
                yield start, stop, cols
        finally:
            workspace.give(buffer)

    def _im2col(self, x, start, stop, cols):
        """cols = the im2col matrix of the images x[start:stop]."""
        xp = array_module(x)
        _, (_, _, kh, kw), stride, padding, (ho, wo), out_w = self.geometry
        _, channels, h, w = x.shape
        n = stop - start
        if out_w != wo:
            # The wide layout (stride 1): lay each padded image out flat, rows of width Wp. Kernel offset
            # (i, j) then reads one contiguous run, starting at i*Wp + j, for a whole "wide" output of Ho rows
            # of Wp columns; the Wp - Wo extra columns per row are computed and dropped. Long contiguous
            # copies instead of short strided ones, for ~Wp/Wo more arithmetic.
            wp = out_w
            cols = cols.reshape(kh, kw, channels, n, ho * wp)
            # the same copies, plane by plane, where Numba is installed
            if fast.im2col_wide(x.transpose(1, 0, 2, 3), start, cols, padding, wp):
                return
            flat, images = _flat_images(channels, n, h + 2 * padding[0], wp, kw, x.dtype, xp)
            images[:, :, padding[0] : padding[0] + h, padding[1] : padding[1] + w] = x[start:stop].transpose(1, 0, 2, 3)
            for i in range(kh):
                for j in range(kw):
                    cols[i, j] = _run(flat, i, j, wp, ho)
            workspace.give(flat)
        else:
            padded = _channel_major(x[start:stop], padding)
            cols = cols.reshape(kh, kw, channels, n, ho, wo)
            for i in range(kh):
                for j in range(kw):
                    cols[i, j] = _offset(padded, i, j, stride, (ho, wo))

    def _col2im(self, grad_cols, grad_x_cm, start, stop):
        """Add each kernel offset's slice of grad_cols back onto the block of images start:stop of the (C, N, H, W)
        gradient grad_x_cm."""
        xp = array_module(grad_cols)
        _, (_, _, kh, kw), stride, padding, (ho, wo), out_w = self.geometry
        channels, _, h, w = grad_x_cm.shape
        n, grad_x = stop - start, grad_x_cm[:, start:stop]
        if out_w != wo:
            wp = out_w
            grad_cols = grad_cols.reshape(kh, kw, channels, n, ho * wp)
            if fast.col2im_wide(grad_cols, grad_x_cm, start, padding, wp):  # plane by plane, where Numba is installed
                return
            flat, grad_padded = _flat_images(channels, n, h + 2 * padding[0], wp, kw, grad_cols.dtype, xp)
            for i in range(kh):
                for j in range(kw):
                    _run(flat, i, j, wp, ho)[...] += grad_cols[i, j]
        else:
            grad_cols = grad_cols.reshape(kh, kw, channels, n, ho, wo)
            flat = grad_padded = workspace.take(
                (channels, n, h + 2 * padding[0], w + 2 * padding[1]), grad_cols.dtype, xp
            )
            grad_padded[...] = 0
            for i in range(kh):
                for j in range(kw):
                    _offset(grad_padded, i, j, stride, (ho, wo))[...] += grad_cols[i, j]
        grad_x[...] = grad_padded[:, :, padding[0] : padding[0] + h, padding[1] : padding[1] + w]
        workspace.give(flat)

    def backward(self, grad_output):
        xp = array_module(grad_output)
        x_shape, w_shape, stride, padding, (ho, wo), out_w = self.geometry
        out_channels, channels, kh, kw = w_shape
        n, _, h, w = x_shape
        rows = kh * kw * channels
        weight_matrix = self.weight_matrix
        needs = self.needs_input_grad
        grad_x_cm = memory.empty((channels, n, h, w), grad_output.dtype, xp) if needs[0] else None
        needs_wb = needs[1] or (len(needs) > 2 and needs[2])
        grad_wb = xp.zeros(weight_matrix.shape, dtype=grad_output.dtype) if needs_wb else None
        grad_cm = grad_output.transpose(1, 0, 2, 3)  # (O, N, Ho, Wo)
        wide = grad_cols = None
        for start, stop, cols in self._blocks(xp):
            images = stop - start
            if out_w != wo:  # the wide layout: zero gradient for the dropped columns
                if wide is None:
                    wide = workspace.take((out_channels, cols.shape[1] // (ho * out_w), ho, out_w), cols.dtype, xp)
                    wide[..., wo:] = 0
                block = wide[:, :images]
                block[..., :wo] = grad_cm[:, start:stop]
                grad = block.reshape(out_channels, -1)
            else:
                grad = grad_cm[:, start:stop].reshape(out_channels, -1)  # a copy only if not laid out so
            if grad_wb is not None:
                # [dW db] += dY [cols; ones]^T
                grad_wb += grad @ cols.T
            if grad_x_cm is not None:
                # dcols = W^T dY, then col2im: each kernel offset adds its slice back onto the input
                if grad_cols is None:
                    grad_cols = workspace.take((rows, cols.shape[1]), grad.dtype, xp)
                block_cols = xp.matmul(weight_matrix[:, :rows].T, grad, out=_front(grad_cols, grad.shape[1]))
                self._col2im(block_cols, grad_x_cm, start, stop)
        for buffer in (wide, grad_cols):
            if buffer is not None:
                workspace.give(buffer)
        grad_x = grad_x_cm.transpose(1, 0, 2, 3) if grad_x_cm is not None else None
        grad_w = grad_b = None
        if needs[1]:
            # back in the weight's (O, C, kh, kw) layout
            grad_w = xp.ascontiguousarray(
                grad_wb[:, :rows].reshape(out_channels, kh, kw, channels).transpose(0, 3, 1, 2)
            )
        if len(needs) > 2 and needs[2]:
            grad_b = grad_wb[:, rows].copy()
        return (grad_x, grad_w) if len(needs) == 2 else (grad_x, grad_w, grad_b)

    def composite(self, x, weight, bias=None):
        """The textbook convolution, for the recorded gradient: W (O, C*kh*kw) times the unfolded input."""
        _, _, stride, padding, (ho, wo), _ = self.geometry
        cols = Unfold.apply(x, kernel=tuple(weight.shape[2:]), stride=stride, padding=padding)  # (N, C*kh*kw, L)
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
        out_hw = out_size(h, kernel[0], stride[0], padding[0]), out_size(w, kernel[1], stride[1], padding[1])
        self.geometry = (x.shape, kernel, stride, padding, out_hw)
        if _tiles_2x2(kernel, stride, padding):
            fused = fast.max_pool_2x2(x.transpose(1, 0, 2, 3))  # one multi-core pass, where Numba is installed
            if fused is not None:
                out, self.argmax = fused
                return out.transpose(1, 0, 2, 3)
        padded = _channel_major(x, padding, fill=-np.inf)
        # Running maximum over the kernel offsets, remembering which offset first held it (the
        # element PyTorch sends the gradient to); a strictly greater value takes over.
        out = _offset(padded, 0, 0, stride, out_hw).copy()
        self.argmax = xp.zeros(out.shape, dtype=np.uint8 if kernel[0] * kernel[1] < 256 else np.int32)
        for t in range(1, kernel[0] * kernel[1]):
            window = _offset(padded, t // kernel[1], t % kernel[1], stride, out_hw)
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
                window = _offset(padded, t // kernel[1], t % kernel[1], stride, out_hw)
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
            target = _offset(grad_padded, t // kernel[1], t % kernel[1], stride, out_hw)
            chosen = self.argmax == t
            if tiles:
                xp.multiply(grad, chosen, out=target)
            else:
                target += grad * chosen
        return _unpad(grad_padded, padding, (h, w))

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
        out_hw = out_size(h, kernel[0], stride[0], padding[0]), out_size(w, kernel[1], stride[1], padding[1])
        padded = _channel_major(x, padding)
        total = xp.zeros((c, n, *out_hw), dtype=x.dtype)
        for i in range(kernel[0]):
            for j in range(kernel[1]):
                total += _offset(padded, i, j, stride, out_hw)
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
                _offset(grad_padded, i, j, stride, out_hw)[...] += share
        return _unpad(grad_padded, padding, (h, w))

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
