"""A convolution with few input channels, computed straight from its padded planes: the backend's faster form of
ops/conv.py's Conv2d for a first layer (a grayscale or RGB image in, more channels out), where im2col pays least.

Such a layer's im2col matrix has fewer rows (kh*kw*C: 9 for one channel and a 3x3 kernel) than the output has
channels (16 in the benchmark CNN), so the matrix products are thin: their inner dimension is 9 (+1 for the bias)
in forward and the weight gradient's output is 16 x 10. BLAS runs such products at the speed of memory, and
im2col writes the 9-row matrix first and rebuilds it in backward. The Numba kernels (numba_kernels.py
``direct_conv_*``) read each padded plane, laid out flat in rows of Wp, as contiguous runs instead, one per kernel
offset. The benchmark CNN's first layer at batch 128, one thread: forward 0.71 against 1.5 ms, the weight gradient
1.2 against 1.6 ms (im2col rebuilt, then the product) for an output gradient laid out channel-major, as the step's
ReLU passes it (2.0 against 2.2 ms for one in (N, C, H, W) order). The sums are taken in another order than the
products', so the bits differ from the NumPy path's (which stays the reference the tests compare with) in the last
places.
"""

from __future__ import annotations

import numpy as np

from . import conv, cpu
from .memory import empty


def fits(x, weight, stride) -> bool:
    """Whether this form runs: NumPy arrays, the kernels on, stride 1, and fewer im2col rows than output channels
    (where backend/conv.py would take its narrow layout)."""
    out_channels, channels, kh, kw = weight.shape
    return stride == (1, 1) and kh * kw * channels < out_channels and cpu.direct_conv_kernels(x, weight) is not None


class DirectConv2d:
    """One conv2d call (stride 1): ``output`` is the forward's result; ``backward`` gives the gradients. It keeps the
    padded planes (the weight gradient reads them) and the weight. The images are shared out over the convolution
    threads (backend/conv.py set_block_threads), each a run of whole images."""

    def __init__(self, x, weight, bias, padding):
        kernels = cpu.direct_conv_kernels(x, weight)
        n, channels, h, w = x.shape
        out_channels, _, kh, kw = weight.shape
        (ph, pw), dtype = padding, x.dtype
        hp, wp = h + 2 * ph, w + 2 * pw
        ho, wo = hp - kh + 1, wp - kw + 1
        self.kernels, self.geometry = kernels, (x.shape, weight.shape, padding, (ho, wo), wp)
        self.weight = weight.copy(order="C")  # kept as it was: the input gradient reads it
        self.flat = empty((channels, n, hp * wp + kw - 1), dtype)  # recycled once this call is freed
        bias = np.zeros(out_channels, dtype) if bias is None else np.ascontiguousarray(bias)
        out = empty((out_channels, n, ho, wp), dtype)  # the wide layout: Wp - Wo columns computed and dropped
        wide = out.reshape(out_channels, n, ho * wp)

        def forward(n0, n1):
            kernels.pad_planes(x, self.flat, ph, pw, wp, n0, n1)
            kernels.direct_conv_forward(self.flat, self.weight, bias, wide, wp, n0, n1)

        _share(n, forward)
        self.output = out[..., :wo].transpose(1, 0, 2, 3)

    def backward(self, grad_output, needs: tuple) -> tuple:
        """The gradients of x, the weight and the bias (None where ``needs`` says no)."""
        kernels, (x_shape, w_shape, (ph, pw), (ho, _), wp) = self.kernels, self.geometry
        n, channels, h, w = x_shape
        out_channels, _, kh, kw = w_shape
        dtype = grad_output.dtype
        grad = grad_output.transpose(1, 0, 2, 3)  # (O, N, Ho, Wo): the kernels take any strides
        grad_x = empty(x_shape, dtype) if needs[0] else None
        needs_wb = needs[1] or (len(needs) > 2 and needs[2])
        length = ho * wp

        def backward(n0, n1):
            grad_w = grad_b = None
            if needs_wb:
                grad_w, grad_b = np.zeros(w_shape, dtype), np.zeros(out_channels, dtype)
                rows = np.empty((4, length), dtype)
                kernels.direct_conv_weight_grad(grad, self.flat, grad_w, grad_b, wp, n0, n1, rows)
            if grad_x is not None:
                rows, plane = np.empty((out_channels, length), dtype), np.empty((h + 2 * ph) * wp + kw - 1, dtype)
                kernels.direct_conv_input_grad(grad, self.weight, grad_x, ph, pw, wp, n0, n1, rows, plane)
            return grad_w, grad_b

        parts = _share(n, backward)
        grad_w, grad_b = parts[0]
        for more_w, more_b in parts[1:]:  # the parts' sums, added in part order
            if grad_w is not None:
                grad_w += more_w
                grad_b += more_b
        if not needs[1]:
            grad_w = None
        if len(needs) == 2:
            return grad_x, grad_w
        return grad_x, grad_w, grad_b if needs[2] else None


def _share(n: int, work) -> list:
    """work(n0, n1) over the images 0 : n cut into one run per convolution thread; the results in run order."""
    parts = max(1, min(conv.block_threads(), n))
    bounds = [n * part // parts for part in range(parts + 1)]
    return conv.run_parts(lambda part, _: work(bounds[part], bounds[part + 1]), parts)
