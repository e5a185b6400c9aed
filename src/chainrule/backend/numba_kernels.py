"""The fused CPU kernels themselves, compiled by Numba (imported only through backend/cpu.py).

Each loop is the arithmetic of a NumPy reference in ops/ or optim/, fused into one pass over memory;
max-pooling also spreads its planes over the cores with ``prange``. They are compiled on first use and
cached on disk (``cache=True``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

# NumPy's error model in every kernel, as the NumPy references they fuse: a float division by zero gives inf or NaN.
# Numba's default, Python's, guards each division with a test and a branch that raises ZeroDivisionError, and LLVM
# vectorises no loop with one in it (the Adam update over a million parameters: 3.4 ms so, 0.47 ms vectorised).
_base = {"cache": True, "boundscheck": False, "nogil": True, "error_model": "numpy"}
_options = {**_base, "parallel": True}


@njit(inline="always")
def _window_nan(a, b, c, d):
    """The window (a b / c d) holds a NaN (or inf - inf): PyTorch's rule, a NaN always wins."""
    best, index = a, 0
    for t, v in enumerate((a, b, c, d)):
        if v > best or v != v:
            best, index = v, t
    return best, index


@njit(**_options)
def max_pool_2x2_forward(x, out, argmax):
    """2x2 windows, stride 2, no padding, on channel-major (C, N, H, W) planes; out and argmax are
    (C, N, H // 2, W // 2). argmax is the window offset (0..3, row-major) of the first maximum."""
    channels, n = x.shape[0], x.shape[1]
    ho, wo = out.shape[2], out.shape[3]
    for p in prange(channels * n):
        c = p // n
        i = p - c * n
        for oy in range(ho):
            top, bottom = x[c, i, 2 * oy], x[c, i, 2 * oy + 1]
            out_row, argmax_row = out[c, i, oy], argmax[c, i, oy]
            for ox in range(wo):
                a, b = top[2 * ox], top[2 * ox + 1]
                d, e = bottom[2 * ox], bottom[2 * ox + 1]
                # a strictly greater value takes over, so ties keep the first maximum
                best, index = a, 0
                if b > best:
                    best, index = b, 1
                if d > best:
                    best, index = d, 2
                if e > best:
                    best, index = e, 3
                total = a + b + d + e  # NaN when the window holds one: rare, so one test instead of four
                if total != total:
                    best, index = _window_nan(a, b, d, e)
                out_row[ox] = best
                argmax_row[ox] = index


@njit(**_options)
def max_pool_2x2_backward(grad, argmax, grad_input):
    """Each window's gradient to the element its forward chose, every other element 0 (as is a last odd
    row or column that no window covers). All arrays channel-major (C, N, ...); written row by row."""
    channels, n = grad_input.shape[0], grad_input.shape[1]
    h, w = grad_input.shape[2], grad_input.shape[3]
    ho, wo = grad.shape[2], grad.shape[3]
    for p in prange(channels * n):
        c = p // n
        i = p - c * n
        for oy in range(ho):
            grad_row, argmax_row = grad[c, i, oy], argmax[c, i, oy]
            for r in range(2):  # input row 2 oy + r holds window offsets 2r and 2r + 1
                target = grad_input[c, i, 2 * oy + r]
                for ox in range(wo):
                    t = argmax_row[ox] - 2 * r
                    g = grad_row[ox]
                    target[2 * ox] = g if t == 0 else 0
                    target[2 * ox + 1] = g if t == 1 else 0
                if w > 2 * wo:
                    target[w - 1] = 0
        if h > 2 * ho:
            for x in range(w):
                grad_input[c, i, h - 1, x] = 0


# The optimizer updates: one pass over the parameter instead of NumPy's four (SGD with momentum) to
# twelve (Adam). Each does NumPy's operations in NumPy's order, in the parameter's dtype (every scalar
# comes in already cast to it), so the result is the reference path's to the bit. One thread: a
# parameter is small next to the cost of waking threads, and the pass is bound by memory anyway.
_serial = _base


@njit(**_serial)
def sgd_update(param, grad, velocity, scalars, decay, nesterov, first):
    """optim.SGD.update over C-contiguous arrays of any shape: d = g (+ wd p); v = d on the first step, else
    m v + (1 - dampening) d; p -= lr (d + m v if nesterov else v). scalars: lr, m, 1 - dampening, wd;
    ``decay``: whether wd != 0. velocity is not touched (the caller may pass param) when m is 0."""
    param, grad, velocity = param.reshape(-1), grad.reshape(-1), velocity.reshape(-1)  # flat views, no copies
    lr, momentum, damping, weight_decay = scalars[0], scalars[1], scalars[2], scalars[3]
    if momentum != 0 and damping == 1 and not (decay or nesterov or first):
        # the common case (momentum, after the first step) with no branch in the loop, which LLVM then
        # vectorizes: 46 instead of 57 us for a 784x256 float32 weight. The same operations as below.
        for k in range(param.size):
            v = velocity[k] * momentum
            v = v + grad[k]
            velocity[k] = v
            param[k] = param[k] - v * lr
        return
    for k in range(param.size):
        d = grad[k]
        if decay:
            d = param[k] * weight_decay + d
        if momentum != 0:
            if first:
                v = d
            else:
                v = velocity[k] * momentum
                v = v + (d * damping if damping != 1 else d)
            velocity[k] = v
            d = v * momentum + d if nesterov else v
        param[k] = param[k] - d * lr


@njit(**_serial)
def adam_update(param, grad, exp_avg, exp_avg_sq, scalars):
    """optim.Adam.update over C-contiguous arrays of any shape, after the weight decay: m += (1 - b1)(g - m);
    v = b2 v + (1 - b2) g^2; p += step m / (sqrt(v) / sqrt(1 - b2^t) + eps), with step = -lr / (1 - b1^t),
    after AdamW's decoupled decay p *= shrink (shrink = 1 - lr wd; 1 for Adam). scalars: 1 - b1, b2, 1 - b2,
    eps, sqrt(1 - b2^t), step, shrink. Vectorised (_base's error model), the same operations on each element."""
    param, grad, exp_avg, exp_avg_sq = param.reshape(-1), grad.reshape(-1), exp_avg.reshape(-1), exp_avg_sq.reshape(-1)
    one_minus_beta1, beta2, one_minus_beta2, eps = scalars[0], scalars[1], scalars[2], scalars[3]
    bias_correction2_sqrt, step, shrink = scalars[4], scalars[5], scalars[6]
    for k in range(param.size):
        gk = grad[k]
        m = exp_avg[k] + (gk - exp_avg[k]) * one_minus_beta1
        v = exp_avg_sq[k] * beta2 + (gk * gk) * one_minus_beta2
        exp_avg[k] = m
        exp_avg_sq[k] = v
        pk = param[k] * shrink if shrink != 1 else param[k]
        param[k] = pk + m / (np.sqrt(v) / bias_correction2_sqrt + eps) * step


@njit(inline="always")
def _block_sum(a, start, n, zero):
    """NumPy's sum of a[start : start + n], n <= 128: eight running sums combined as a tree, then the rest in
    order (pairwise_sum in numpy/_core/src/umath/loops_utils.h.src)."""
    if n < 8:
        total = zero
        for i in range(n):
            total += a[start + i]
        return total
    r0, r1, r2, r3 = a[start], a[start + 1], a[start + 2], a[start + 3]
    r4, r5, r6, r7 = a[start + 4], a[start + 5], a[start + 6], a[start + 7]
    i, end = 8, n - n % 8
    while i < end:
        k = start + i
        r0, r1, r2, r3 = r0 + a[k], r1 + a[k + 1], r2 + a[k + 2], r3 + a[k + 3]
        r4, r5, r6, r7 = r4 + a[k + 4], r5 + a[k + 5], r6 + a[k + 6], r7 + a[k + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += a[start + i]
        i += 1
    return total


@njit(**_serial)
def numpy_sum(a, zero):
    """np.add.reduce of a 1-D C-contiguous float array, to the bit: NumPy adds the identity 0 to its pairwise
    sum, which halves the array (at multiples of 8) until the pieces are at most 128 long. The halving is
    done here with an explicit stack instead of recursion. ``zero``: 0 in the array's dtype."""
    n = a.size
    starts, lengths = np.empty(64, np.int64), np.empty(64, np.int64)
    left, right_pending = np.empty(64, a.dtype), np.zeros(64, np.bool_)
    top, starts[0], lengths[0] = 0, 0, n
    while True:
        start, length = starts[top], lengths[top]
        if length > 128:  # split: the left half first
            half = length // 2
            half -= half % 8
            top += 1
            starts[top], lengths[top], right_pending[top] = start, half, False
            continue
        total = _block_sum(a, start, length, zero)
        while top > 0 and right_pending[top]:  # a right half is done: add it to its left half, go up
            total = left[top] + total
            top -= 1
        if top == 0:
            return zero + total
        # the range at this level, a left half, is done: keep its sum, and do the right half in its place
        right = starts[top] + lengths[top]
        left[top], right_pending[top] = total, True
        starts[top], lengths[top] = right, starts[top - 1] + lengths[top - 1] - right


@njit(**_serial)
def softmax_cross_entropy_forward(logits, target, smoothing, losses, probs, count, reduced):
    """ops.loss.SoftmaxCrossEntropy.forward with class-index targets, row by row in one pass: the
    log-sum-exp, the loss -log softmax(x)_t (mixed with the mean log-probability under label smoothing)
    and the row's softmax, as the GPU kernel of the same name; then reduced[0] = the losses' sum divided by
    ``count`` (the rows for a mean, 1 for a sum; 0: no reduction), as NumPy sums. Returns -1, or the first
    row whose target is not in [0, classes) (the caller raises; the rows after it are not computed)."""
    n, classes = logits.shape
    for i in range(n):
        if target[i] < 0 or target[i] >= classes:
            return i
        row, out = logits[i], probs[i]
        m = row[0]
        for j in range(1, classes):
            if not row[j] <= m:  # the maximum; a NaN takes over, so the loss is NaN as NumPy's
                m = row[j]
        # float64 (Numba types float32 * 0 as float64): each row's sums run in double, and the loss and the
        # softmax are stored in the logits' dtype
        total = sum_shifted = smoothing * 0
        for j in range(classes):
            shifted = row[j] - m
            e = np.exp(shifted)
            out[j] = e
            total += e
            sum_shifted += shifted
        log_total = np.log(total)
        nll = log_total - (row[target[i]] - m)  # -log softmax(x)_t = log sum_j exp(x_j - m) - (x_t - m)
        if smoothing != 0:
            nll = (1 - smoothing) * nll - smoothing * (sum_shifted / classes - log_total)
        losses[i] = nll
        for j in range(classes):
            out[j] /= total
    if count != 0:
        total = numpy_sum(losses, count - count)  # a 0 of the losses' dtype (smoothing * 0 would be float64)
        reduced[0] = total / count
    return -1


@njit(**_serial)
def softmax_cross_entropy_backward(probs, target, smoothing, scale, grad):
    """ops.loss.SoftmaxCrossEntropy.backward with class-index targets and one scale for every row:
    (softmax(x) - onehot(t) (1 - s) - s / C) * dL/dloss."""
    n, classes = probs.shape
    for i in range(n):
        for j in range(classes):
            g = probs[i, j] - smoothing / classes if smoothing != 0 else probs[i, j]
            if j == target[i]:
                g -= 1 - smoothing
            grad[i, j] = g * scale


@njit(**_serial)
def add_rows(a, row):
    """a += row for every row of a C-contiguous 2-D array (a bias added to a batch): NumPy's broadcast add,
    one addition per element, without its broadcasting machinery (7.7 us for 128x256)."""
    n, m = a.shape
    for i in range(n):
        out = a[i]
        for j in range(m):
            out[j] += row[j]


@njit(**_serial)
def sum_rows(a, out):
    """out = a.sum(axis=0) of a C-contiguous 2-D array, adding the rows in order as NumPy does (so to the bit),
    without NumPy's reduction machinery (8 us for a 128x256 layer's bias gradient, against 2.5)."""
    n, m = a.shape
    for j in range(m):
        out[j] = a[0, j]
    for i in range(1, n):
        row = a[i]
        for j in range(m):
            out[j] += row[j]


@njit(**_serial, fastmath={"reassoc", "contract"})
def layer_norm_forward(x, weight, bias, eps, out, x_hat, rstd):
    """Each row of the C-contiguous 2-D x normalised, x_hat = (x - mean) / sqrt(var + eps), then out = x_hat w + b
    (weight, bias of size 0 when absent): one read of x instead of NumPy's eight passes. The row's sums are
    taken in float64, in any order ("reassoc": LLVM vectorises them; forward and backward of 2048 rows of 128
    took 0.5 ms against 1.4 in sequence)."""
    rows, m = x.shape
    scale, shift = weight.size > 0, bias.size > 0
    for i in range(rows):
        row = x[i]
        total = 0.0
        for j in range(m):
            total += row[j]
        mean = total / m
        squares = 0.0
        for j in range(m):
            d = row[j] - mean
            squares += d * d
        inv = 1.0 / np.sqrt(squares / m + eps)
        rstd[i] = inv
        h, o = x_hat[i], out[i]
        for j in range(m):
            v = (row[j] - mean) * inv
            h[j] = v
            if scale:
                v = v * weight[j]
            if shift:
                v = v + bias[j]
            o[j] = v


@njit(**_serial, fastmath={"reassoc", "contract"})
def layer_norm_backward(grad, x_hat, rstd, weight, grad_x, grad_w, grad_b):
    """LayerNorm's backward over the rows of C-contiguous 2-D arrays (ops/regularize.py LayerNorm): with g = dy w
    (dy where weight has size 0), dx = rstd (g - mean(g) - x_hat mean(g x_hat)), the row's means in float64;
    grad_w += the columns' sums of dy x_hat and grad_b += of dy (float64 rows of the width, size 0 when not
    wanted). Two reads of each row instead of NumPy's eleven passes over the whole array."""
    rows, m = grad.shape
    scale, sums = weight.size > 0, grad_w.size > 0
    for i in range(rows):
        dy, h, r = grad[i], x_hat[i], rstd[i]
        total, total_h = 0.0, 0.0
        for j in range(m):
            g = dy[j] * weight[j] if scale else dy[j]
            total += g
            total_h += g * h[j]
        mean, mean_h = total / m, total_h / m
        out = grad_x[i]
        for j in range(m):
            g = dy[j] * weight[j] if scale else dy[j]
            out[j] = (g - mean - h[j] * mean_h) * r
        if sums:
            for j in range(m):
                grad_w[j] += dy[j] * h[j]
                grad_b[j] += dy[j]


@njit(**_serial)
def outer(a, b, out):
    """out[i, j] = a[i] b[j] for 1-D a and b (any strides) and a C-contiguous out: a matrix product whose inner
    dimension is 1, one product per element as BLAS and NumPy's matmul compute it."""
    n = b.size
    for i in range(a.size):
        ai, row = a[i], out[i]
        for j in range(n):
            row[j] = ai * b[j]


@njit(**_serial)
def relu_backward(grad, y, out):
    """out = grad where y > 0, else 0, over flat arrays: NumPy's grad * (y > 0) without the mask array."""
    for k in range(grad.size):
        out[k] = grad[k] if y[k] > 0 else 0


@njit(**_serial)
def relu_forward(x, out):
    """out = max(x, 0) over a 4-D view whose rows may have gaps between them (a stride-1 convolution's
    output does: its rows were computed wide and cropped); an array without gaps comes as one row. NaN stays
    NaN, as with np.maximum, which here ran about four times slower, element by element, than this loop."""
    a, b, c, d = x.shape
    for i in range(a):
        for j in range(b):
            for k in range(c):
                row, target = x[i, j, k], out[i, j, k]
                for m in range(d):
                    v = row[m]
                    target[m] = 0 if v <= 0 else v


# The wide-layout im2col and col2im of backend/conv.py (stride 1), one image plane at a time through a plane buffer
# that stays in L1 cache: the padded plane laid out flat in rows of Wp, plus kw - 1 spare zeros at the end.
# Kernel offset (i, j) reads (im2col) or adds onto (col2im) the contiguous run of Ho * Wp starting at i Wp + j,
# NumPy's slice copies and additions in NumPy's order, so the same bits. One thread: the spread over cores
# measured slower (a 16-image block's col2im 0.13 against 0.08 ms), the block being in one core's cache.
@njit(**_serial)
def im2col_wide(x, start, cols, ph, pw, wp):
    """cols (kh, kw, C, n, Ho*Wp) = the runs of the images start : start + n of the channel-major x (C, N, H, W),
    zero-padded by (ph, pw) into rows of Wp."""
    kh, kw, channels, n, length = cols.shape
    h, w = x.shape[2], x.shape[3]
    plane = np.zeros((h + 2 * ph) * wp + kw - 1, dtype=x.dtype)  # the padding stays zero: only the image is rewritten
    for c in range(channels):
        for k in range(n):
            image = x[c, start + k]
            for y in range(h):
                row, target = image[y], plane[(y + ph) * wp + pw :]
                for t in range(w):
                    target[t] = row[t]
            for i in range(kh):
                for j in range(kw):
                    run, target = plane[i * wp + j :], cols[i, j, c, k]
                    for t in range(length):
                        target[t] = run[t]


@njit(**_serial)
def col2im_wide(grad_cols, grad_x, start, ph, pw, wp):
    """grad_x[:, start : start + n] (C, N, H, W) = the sum of grad_cols (kh, kw, C, n, Ho*Wp) added back run by
    run onto zeroed padded planes, cropped."""
    kh, kw, channels, n, length = grad_cols.shape
    h, w = grad_x.shape[2], grad_x.shape[3]
    plane = np.empty((h + 2 * ph) * wp + kw - 1, dtype=grad_x.dtype)
    for c in range(channels):
        for k in range(n):
            for t in range(plane.size):
                plane[t] = 0
            for i in range(kh):
                for j in range(kw):
                    run, source = plane[i * wp + j :], grad_cols[i, j, c, k]
                    for t in range(length):
                        run[t] += source[t]
            image = grad_x[c, start + k]
            for y in range(h):
                row, source = image[y], plane[(y + ph) * wp + pw :]
                for t in range(w):
                    row[t] = source[t]


@njit(**_serial)
def erf(x, out):
    """out = erf(x) over flat arrays, by libm's erf (math.erf): the same values as Python's, one pass instead of
    one Python call per element (65,536 elements: 22 ms through np.frompyfunc)."""
    for k in range(x.size):
        out[k] = math.erf(np.float64(x[k]))  # in double precision, as math.erf: float32 rounds the same result


# GELU in float32 without a libm call in the loops, so that they vectorise: x Phi(x), Phi(x) = 1 - erfc(x / sqrt 2) / 2,
# with Numerical Recipes' Chebyshev fit erfc(z) = t exp(-z^2 + P(t)), t = 1 / (1 + z / 2), |relative error| < 1.2e-7
# (Press et al., Numerical Recipes, 6.2), the exponentials by NumPy's vectorised exp in float64 between two passes.
_vector = {**_base, "fastmath": {"contract"}}


@njit(**_vector)
def gelu_exponents(x, tail, gauss):
    """tail = -x^2 / 2 + P(t) (the erfc fit's exponent at z = |x| / sqrt 2) and gauss = -x^2 / 2, in float64."""
    for n in range(x.size):
        v = np.float64(x[n])
        t = 1.0 / (1.0 + 0.35355339059327373 * abs(v))  # 1 / (1 + z / 2)
        gauss[n] = -0.5 * v * v
        tail[n] = gauss[n] + (-1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
            -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277)))))))))  # fmt: skip


@njit(**_vector)
def gelu_finish(x, tail, gauss, out, slope):
    """out = x Phi(x) and slope = Phi(x) + x phi(x) (GELU's derivative), given exp of gelu_exponents' two."""
    for n in range(x.size):
        v = np.float64(x[n])
        t = 1.0 / (1.0 + 0.35355339059327373 * abs(v))
        half_erfc = 0.5 * t * tail[n]  # Phi(-|x|)
        phi = half_erfc if v < 0 else 1.0 - half_erfc
        out[n] = v * phi
        slope[n] = phi + v * gauss[n] * 0.3989422804014327  # + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi)


# backend/direct_conv.py's convolution with few input channels, stride 1, straight from the padded planes: each
# plane laid out flat in rows of Wp (the wide layout of the im2col kernels above), so kernel offset (i, j) reads one
# contiguous run from i Wp + j, and every loop below is a long unit-stride one that LLVM vectorises. "reassoc" lets
# it split a sum over lanes (the weight gradient's dot products), "contract" fuse a multiply and an add; NaN and inf
# keep their meaning (no "nnan", "ninf"). Runs are sliced out first: an index like t + offset would be checked for
# wrapping below zero, which stops the vectoriser (the weight gradient took 7.6 ms that way, 0.6-0.9 ms sliced).
_direct = {**_base, "fastmath": {"reassoc", "contract"}}


@njit(**_serial)
def pad_planes(x, flat, ph, pw, wp, n0, n1):
    """flat[c, n] = the plane x[n, c] (x: (N, C, H, W), any strides) zero-padded by (ph, pw) into rows of Wp, for
    the images n0 : n1 (flat: (C, N, Hp*Wp + kw - 1), the spare zeros at the end for the last runs)."""
    channels, h, w = x.shape[1], x.shape[2], x.shape[3]
    for c in range(channels):
        for n in range(n0, n1):
            plane, image = flat[c, n], x[n, c]
            for t in range(plane.size):
                plane[t] = 0
            for y in range(h):
                row, target = image[y], plane[(y + ph) * wp + pw :]
                for t in range(w):
                    target[t] = row[t]


@njit(**_direct)
def direct_conv_forward(flat, weight, bias, out, wp, n0, n1):
    """out[o, n] (out: (O, N, Ho*Wp), wide rows) = bias[o] + the sum over c, i, j of weight[o, c, i, j] times the run
    of flat[c, n] from i Wp + j, for the images n0 : n1. A 3x3 kernel's nine runs are read in one loop, so each
    output element is written once per channel: 0.5-0.6 ms against 1.1-1.5 ms tap by tap for the benchmark CNN's first
    layer."""
    out_channels, length = out.shape[0], out.shape[2]
    channels, kh, kw = weight.shape[1], weight.shape[2], weight.shape[3]
    for n in range(n0, n1):
        for o in range(out_channels):
            row, b = out[o, n], bias[o]
            for t in range(length):
                row[t] = b
            for c in range(channels):
                plane = flat[c, n]
                if kh == 3 and kw == 3:
                    x0, x1, x2 = plane[0:length], plane[1 : length + 1], plane[2 : length + 2]
                    s = wp
                    x3, x4, x5 = plane[s : s + length], plane[s + 1 : s + length + 1], plane[s + 2 : s + length + 2]
                    s = 2 * wp
                    x6, x7, x8 = plane[s : s + length], plane[s + 1 : s + length + 1], plane[s + 2 : s + length + 2]
                    k = weight[o, c]
                    w0, w1, w2, w3, w4 = k[0, 0], k[0, 1], k[0, 2], k[1, 0], k[1, 1]
                    w5, w6, w7, w8 = k[1, 2], k[2, 0], k[2, 1], k[2, 2]
                    for t in range(length):
                        row[t] += (
                            w0 * x0[t] + w1 * x1[t] + w2 * x2[t] + w3 * x3[t] + w4 * x4[t]
                            + w5 * x5[t] + w6 * x6[t] + w7 * x7[t] + w8 * x8[t]
                        )  # fmt: skip
                else:
                    for i in range(kh):
                        for j in range(kw):
                            run, wv = plane[i * wp + j : i * wp + j + length], weight[o, c, i, j]
                            for t in range(length):
                                row[t] += wv * run[t]


@njit(**_direct)
def _widen(grad, o, n, target, wp):
    """target[: Ho*Wp] = the gradient rows grad[o, n] (Ho, Wo) laid out in rows of Wp (the columns past Wo are left
    as they are: zeros); returns their sum."""
    image, total = grad[o, n], target.dtype.type(0)
    for y in range(image.shape[0]):
        row, out = image[y], target[y * wp :]
        for x in range(image.shape[1]):
            v = row[x]
            out[x] = v
            total += v
    return total


@njit(**_direct)
def direct_conv_weight_grad(grad, flat, grad_w, grad_b, wp, n0, n1, rows):
    """grad_w (O, C, kh, kw) and grad_b (O) += the images n0 : n1's share: each weight's gradient is the dot product
    of the output gradient grad[o, n] (O, N, Ho, Wo, any strides), laid out wide in ``rows`` (4, Ho*Wp; zeros past
    Wo), with the run of flat[c, n] its kernel offset reads. Four output channels at a time share each run's loads
    (one at a time took 1.2-1.6 times as long, measured on two days)."""
    out_channels = grad.shape[0]
    channels, kh, kw = grad_w.shape[1], grad_w.shape[2], grad_w.shape[3]
    length = grad.shape[2] * wp
    rows[:, :] = 0
    for n in range(n0, n1):
        for o0 in range(0, out_channels, 4):
            m = min(4, out_channels - o0)
            for k in range(m):
                grad_b[o0 + k] += _widen(grad, o0 + k, n, rows[k], wp)
            for k in range(m, 4):
                rows[k, :] = 0
            g0, g1, g2, g3 = rows[0, :length], rows[1, :length], rows[2, :length], rows[3, :length]
            for c in range(channels):
                plane = flat[c, n]
                for i in range(kh):
                    for j in range(kw):
                        run = plane[i * wp + j : i * wp + j + length]
                        s0 = s1 = s2 = s3 = grad_w.dtype.type(0)
                        for t in range(length):
                            v = run[t]
                            s0 += g0[t] * v
                            s1 += g1[t] * v
                            s2 += g2[t] * v
                            s3 += g3[t] * v
                        for k, s in enumerate((s0, s1, s2, s3)):
                            if k < m:
                                grad_w[o0 + k, c, i, j] += s


@njit(**_direct)
def direct_conv_input_grad(grad, weight, grad_x, ph, pw, wp, n0, n1, rows, plane):
    """grad_x[n] (N, C, H, W) for the images n0 : n1: every output gradient row, laid out wide in ``rows`` (O, Ho*Wp;
    zeros past Wo), added weighted at each kernel offset's run of a zeroed padded plane (Hp*Wp + kw - 1), which is
    then cropped: the forward's reads, turned into additions."""
    out_channels, channels, kh, kw = weight.shape
    h, w = grad_x.shape[2], grad_x.shape[3]
    length = grad.shape[2] * wp
    rows[:, :] = 0
    for n in range(n0, n1):
        for o in range(out_channels):
            _widen(grad, o, n, rows[o], wp)
        for c in range(channels):
            for t in range(plane.size):
                plane[t] = 0
            for o in range(out_channels):
                g = rows[o, :length]
                for i in range(kh):
                    for j in range(kw):
                        run, wv = plane[i * wp + j : i * wp + j + length], weight[o, c, i, j]
                        for t in range(length):
                            run[t] += wv * g[t]
            for y in range(h):
                source, target = plane[(y + ph) * wp + pw :], grad_x[n, c, y]
                for x in range(w):
                    target[x] = source[x]
