"""Convolution in cache-sized blocks: the backend's faster form of ops/conv.py's textbook Conv2d.

The textbook builds the whole batch's im2col matrix (16 MB for 128 MNIST images at 16 channels), multiplies, and in
backward keeps it for dW and col2im's it back. Here im2col runs a few images at a time (BLOCK_BYTES), so each block is
written, multiplied and, in backward, rebuilt and turned back while it is still in cache; in "channel-major" order
(C, N, H, W), so the product needs no transpose; with the bias as one more column of W; for stride 1 in the "wide"
layout, where each kernel offset reads one contiguous run (Numba copies the runs plane by plane where it is
installed, backend/cpu.py). Measured on the benchmark CNN's second convolution, forward and backward: 4.7 and 11.1
ms as one block against 3.7 and 8.8 ms in 2 MB blocks. The channel-major helpers serve ops/conv.py's pooling too.
"""

from __future__ import annotations

import os

import numpy as np

from . import cpu
from .device import array_module
from .memory import empty as _empty
from .memory import workspace


def output_hw(hw, kernel, stride, padding) -> tuple:
    """(Ho, Wo) of a kernel sliding over an (H, W) image: (size + 2 padding - kernel) // stride + 1 on each axis
    (the one formula of conv2d, the poolings, unfold and fold)."""
    return tuple((size + 2 * p - k) // s + 1 for size, k, s, p in zip(hw, kernel, stride, padding))


# The ops below work in "channel-major" axis order (C, N, H, W): every per-channel array then is one
# block of memory, the im2col matrix needs no transpose, and a convolution's output comes out of
# the matrix product as (O, N, Ho, Wo), handed on as an (N, O, Ho, Wo) view without a copy.
def channel_major(x: np.ndarray, padding, fill=0.0) -> np.ndarray:
    """x (N, C, H, W) as a (C, N, H+2ph, W+2pw) array (a view when there is no padding)."""
    (ph, pw), xt = padding, x.transpose(1, 0, 2, 3)
    if not (ph or pw):
        return xt
    c, n, h, w = xt.shape
    padded = array_module(x).full((c, n, h + 2 * ph, w + 2 * pw), fill, dtype=x.dtype)
    padded[:, :, ph : ph + h, pw : pw + w] = xt
    return padded


def kernel_offset(a: np.ndarray, i: int, j: int, stride, out_hw) -> np.ndarray:
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
    (the wide layout's ``kernel_offset``)."""
    return flat[:, :, i * wp + j : i * wp + j + ho * wp]


def _front(buffer: np.ndarray, columns: int) -> np.ndarray:
    """A C-contiguous (rows, columns) array on the front of the 2-D buffer's memory: a block narrower than the
    buffer (the last, shorter one) without the gaps that ``buffer[:, :columns]`` would have."""
    return buffer if columns == buffer.shape[1] else buffer.reshape(-1)[: len(buffer) * columns].reshape(-1, columns)


def unpad(grad: np.ndarray, padding, hw) -> np.ndarray:
    """Crop the padding off a (C, N, Hp, Wp) gradient and hand it back as (N, C, H, W)."""
    (ph, pw), (h, w) = padding, hw
    return grad[:, :, ph : ph + h, pw : pw + w].transpose(1, 0, 2, 3)


# Blocks of images can be spread over threads (set_block_threads): each thread takes every n-th block, with its own
# buffers and its own [dW db] sum (added in order at the end), each writing its images of the output and of dx.
# Measured on the benchmark CNN's two convolutions, forward and backward, at two threads: 13.8 ms with OpenBLAS's two
# threads in each product, 11.4 ms with the blocks spread over two threads and OpenBLAS on one (18.4 ms on one).
_threads: dict = {"blocks": 1, "pool": None, "workers": 0, "pid": None}


def set_block_threads(threads: int) -> None:
    """Spread a convolution's blocks of images over this many threads (1, the default: all in the calling thread).
    Only with BLAS on one thread: OpenBLAS's idle threads spin for a while after each product and would take the
    cores from these (backend/threads.py sets the two together)."""
    _threads["blocks"] = max(1, int(threads))


def block_threads() -> int:
    """How many threads a convolution's work is spread over (set_block_threads)."""
    return _threads["blocks"]


def run_parts(work, parts: int) -> list:
    """work(part, parts) for each part, on the pool's threads and this one (part 0); the results in part order."""
    if parts == 1:
        return [work(0, 1)]
    futures = [_pool(parts - 1).submit(work, part, parts) for part in range(1, parts)]
    first = work(0, parts)
    return [first] + [future.result() for future in futures]


def _pool(workers: int):
    """The worker threads that take the other parts: one pool, made again when more are asked for or in a process
    forked from the one that made it (threads do not survive a fork)."""
    if _threads["pool"] is None or _threads["workers"] < workers or _threads["pid"] != os.getpid():
        from concurrent.futures import ThreadPoolExecutor

        _threads["pool"] = ThreadPoolExecutor(workers, thread_name_prefix="chainrule-conv")
        _threads["workers"], _threads["pid"] = workers, os.getpid()
    return _threads["pool"]


# im2col matrices are built this many bytes at a time (a few images), so that each block is written, multiplied
# and (in backward) turned back by col2im while it is still in cache, instead of a whole batch's matrix
# (16 MB for 128 MNIST images at 16 channels) going out to memory and back. For the benchmark CNN's second
# convolution, forward and backward took 3.9 and 9.3 ms with 1 MB blocks, 3.7 and 8.8 ms with 2 MB, 4.0 and
# 8.9 ms with 4 MB, and 4.7 and 11.1 ms as one block (a 1 MB L2 cache per core here).
BLOCK_BYTES = 1 << 21


class BlockedConv2d:
    """One conv2d call in blocks: ``output`` is the forward's result; ``backward`` gives the gradients. It keeps
    the input (backward rebuilds each block's im2col matrix from it) and the weight matrix."""

    def __init__(self, x, weight, bias, stride, padding):
        self.output = self._forward(x, weight, bias, stride, padding)

    def _forward(self, x, weight, bias, stride, padding):
        xp = array_module(x)
        out_channels, channels, kh, kw = weight.shape
        n, _, h, w = x.shape
        ho, wo = output_hw((h, w), (kh, kw), stride, padding)
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
        out = _empty((out_channels, n, ho, out_w), x.dtype, xp)  # recycled from step to step

        def forward_part(part, parts):
            for start, stop, cols in self._blocks(xp, part, parts):
                # one product per block: (O, kh*kw*C [+1]) x (kh*kw*C [+1], images*Ho*W'), into the output's slice
                xp.matmul(weight_matrix, cols, out=out[:, start:stop].reshape(out_channels, -1))

        self._split(xp, forward_part)
        return out[..., :wo].transpose(1, 0, 2, 3)

    def _step(self, xp) -> int:
        """Images per block: BLOCK_BYTES of im2col matrix (the whole batch on a GPU)."""
        (n, _, _, _), _, _, _, (ho, _), out_w = self.geometry
        per_image = self.weight_matrix.shape[1] * ho * out_w
        return n if xp is not np else max(1, min(n, BLOCK_BYTES // (per_image * self.x.itemsize)))

    def _split(self, xp, work) -> list:
        """work(part, parts) for each part of the blocks, on up to set_block_threads' threads (this one among
        them); their results in part order."""
        blocks = -(-self.geometry[0][0] // self._step(xp))
        return run_parts(work, min(_threads["blocks"], blocks) if xp is np else 1)

    def _blocks(self, xp, part=0, parts=1):
        """(start, stop, cols) for successive blocks of images (every ``parts``-th, from block ``part``): cols is
        their im2col matrix, row (i, j, c) input channel c at kernel offset (i, j) for every output pixel, plus a
        row of ones when there is a bias. The matrix is one workspace buffer, rewritten for each block."""
        x, weight_matrix = self.x, self.weight_matrix
        (n, channels, h, w), (_, _, kh, kw), stride, padding, (ho, wo), out_w = self.geometry
        rows = kh * kw * channels
        step = self._step(xp)
        buffer = workspace.take((weight_matrix.shape[1], step * ho * out_w), x.dtype, xp)
        buffer[rows:] = 1
        try:
            for start in range(part * step, n, parts * step):
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
            if cpu.im2col_wide(x.transpose(1, 0, 2, 3), start, cols, padding, wp):
                return
            flat, images = _flat_images(channels, n, h + 2 * padding[0], wp, kw, x.dtype, xp)
            images[:, :, padding[0] : padding[0] + h, padding[1] : padding[1] + w] = x[start:stop].transpose(1, 0, 2, 3)
            for i in range(kh):
                for j in range(kw):
                    cols[i, j] = _run(flat, i, j, wp, ho)
            workspace.give(flat)
        else:
            padded = channel_major(x[start:stop], padding)
            cols = cols.reshape(kh, kw, channels, n, ho, wo)
            for i in range(kh):
                for j in range(kw):
                    cols[i, j] = kernel_offset(padded, i, j, stride, (ho, wo))

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
            if cpu.col2im_wide(grad_cols, grad_x_cm, start, padding, wp):  # plane by plane, where Numba is installed
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
                    kernel_offset(grad_padded, i, j, stride, (ho, wo))[...] += grad_cols[i, j]
        grad_x[...] = grad_padded[:, :, padding[0] : padding[0] + h, padding[1] : padding[1] + w]
        workspace.give(flat)

    def backward(self, grad_output, needs: tuple) -> tuple:
        """The gradients of x, the weight and the bias (None where ``needs`` says no)."""
        xp = array_module(grad_output)
        x_shape, w_shape, stride, padding, (ho, wo), out_w = self.geometry
        out_channels, channels, kh, kw = w_shape
        n, _, h, w = x_shape
        rows = kh * kw * channels
        weight_matrix = self.weight_matrix
        grad_x_cm = _empty((channels, n, h, w), grad_output.dtype, xp) if needs[0] else None
        needs_wb = needs[1] or (len(needs) > 2 and needs[2])
        # [dW db] is summed as its transpose, [cols; ones] dY^T, when W has more columns than rows: OpenBLAS's
        # product then has the longer side as its rows, which it runs faster (the benchmark CNN's second
        # convolution, (32, 145) from 16-image blocks: 3.3 against 4.7 ms at one thread, 2.1 against 3.8 at two;
        # its first, (16, 10): 1.17 against 1.15, so that one stays as it is).
        transposed = weight_matrix.shape[1] > out_channels
        grad_cm = grad_output.transpose(1, 0, 2, 3)  # (O, N, Ho, Wo)

        def backward_part(part, parts):
            """This part's blocks: dx written into grad_x_cm's images, [dW db] summed and returned."""
            grad_wb = (
                xp.zeros(weight_matrix.shape[::-1] if transposed else weight_matrix.shape, dtype=grad_output.dtype)
                if needs_wb
                else None
            )
            wide = grad_cols = None
            for start, stop, cols in self._blocks(xp, part, parts):
                images = stop - start
                if out_w != wo:  # the wide layout: zero gradient for the dropped columns
                    if wide is None:
                        shape = (out_channels, cols.shape[1] // (ho * out_w), ho, out_w)
                        wide = workspace.take(shape, cols.dtype, xp)
                        wide[..., wo:] = 0
                    block = wide[:, :images]
                    block[..., :wo] = grad_cm[:, start:stop]
                    grad = block.reshape(out_channels, -1)
                else:
                    grad = grad_cm[:, start:stop].reshape(out_channels, -1)  # a copy only if not laid out so
                if grad_wb is not None:
                    # [dW db] += dY [cols; ones]^T, or its transpose
                    grad_wb += cols @ grad.T if transposed else grad @ cols.T
                if grad_x_cm is not None:
                    # dcols = W^T dY, then col2im: each kernel offset adds its slice back onto the input
                    if grad_cols is None:
                        grad_cols = workspace.take((rows, cols.shape[1]), grad.dtype, xp)
                    block_cols = xp.matmul(weight_matrix[:, :rows].T, grad, out=_front(grad_cols, grad.shape[1]))
                    self._col2im(block_cols, grad_x_cm, start, stop)
            for buffer in (wide, grad_cols):
                if buffer is not None:
                    workspace.give(buffer)
            return grad_wb

        partial = self._split(xp, backward_part)
        grad_wb = partial[0]
        for more in partial[1:]:  # the parts' sums, added in part order
            grad_wb += more
        grad_x = grad_x_cm.transpose(1, 0, 2, 3) if grad_x_cm is not None else None
        grad_w = grad_b = None
        if grad_wb is not None and transposed:
            grad_wb = grad_wb.T  # back to (O, kh*kw*C [+1]): a view, copied below into the weight's layout
        if needs[1]:
            # back in the weight's (O, C, kh, kw) layout
            grad_w = xp.ascontiguousarray(
                grad_wb[:, :rows].reshape(out_channels, kh, kw, channels).transpose(0, 3, 1, 2)
            )
        if len(needs) > 2 and needs[2]:
            grad_b = grad_wb[:, rows].copy()
        return (grad_x, grad_w) if len(needs) == 2 else (grad_x, grad_w, grad_b)
