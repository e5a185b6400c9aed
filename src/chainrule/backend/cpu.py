"""Fused CPU kernels through Numba (the optional ``[fast]`` extra), for the work whose NumPy form makes
several passes over memory or many small calls: each becomes one pass.

- 2x2 max-pooling, forward (NumPy: three comparisons, three maxima, six argmax updates) and backward
  (four masked products), spread over the cores;
- ReLU forward and backward (np.maximum's loop is slow, and the backward built a mask array);
- LayerNorm's backward (NumPy: eleven passes over the array);
- GELU's exact form in float32 (erf one libm call per element) with its derivative, for backward's one product;
- softmax cross-entropy with class indices (about ten small NumPy calls);
- a bias added to a batch of rows, and its gradient summed over them (NumPy's broadcasting and reduction
  machinery cost more than the additions);
- a matrix product whose inner dimension is 1, an outer product (NumPy's matmul does it without BLAS);
- a stride-1 convolution's im2col and col2im in its wide layout (NumPy's nine slice copies or additions per
  block go through memory; the kernel's go plane by plane through a buffer in L1 cache);
- a first layer's convolution straight from its padded planes, no im2col (backend/direct_conv.py);
- the SGD and Adam/AdamW updates (four to twelve passes over each parameter).

Each function returns its result (or True), or None (False) where Numba is not installed, is switched
off (``set_fast_kernels(False)``, or ``CHAINRULE_NUMBA=0`` in the environment), or the arrays are
too small or laid out so that the kernel would not pay; the op then takes its NumPy path, which stays
the reference that the tests compare these kernels against.
"""

from __future__ import annotations

import math
import os
import threading

import numpy as np

from .memory import empty

# Below this many elements one NumPy pass costs less than waking the threads (about 10 µs).
MIN_SIZE = 1 << 15
# Below this many elements NumPy's passes cost less than calling a kernel (about 2 µs).
RELU_MIN_SIZE = 1 << 12
# Summing the rows of a (128, 10) array took NumPy 3.9 us and the kernel 2.0; of (16, 8), 1.6 and 1.5. Below
# this, NumPy (and small networks never import Numba for it).
SUM_MIN_SIZE = 1 << 10

_state = {"enabled": os.environ.get("CHAINRULE_NUMBA", "1") != "0", "kernels": None, "threads": None}
# Numba's workqueue threads serve one caller at a time: a second thread waits for the first (_run_parallel).
_lock = threading.Lock()


def _kernels():
    """backend/numba_kernels.py, imported on first use (Numba takes about half a second to import), or
    None where Numba is not installed."""
    if _state["kernels"] is None:
        try:
            import numba
        except ImportError:
            _state["kernels"] = False
            return None
        if "NUMBA_THREADING_LAYER" not in os.environ:
            # OpenMP's threads spin for a while after a parallel loop and starve OpenBLAS's threads: the
            # next matrix product took 4x as long. The workqueue's threads sleep when idle.
            numba.config.THREADING_LAYER = "workqueue"
        from . import numba_kernels

        _state["kernels"], _state["numba"] = numba_kernels, numba
    return _state["kernels"] or None


def fast_kernels_available() -> bool:
    """True when Numba is installed, so that ``set_fast_kernels(True)`` has an effect."""
    return _kernels() is not None


def fast_kernels_enabled() -> bool:
    """True when the fused kernels are switched on and Numba is installed."""
    return _state["enabled"] and _kernels() is not None


def set_fast_kernels(enabled: bool) -> bool:
    """Switch the fused kernels on or off for this process; returns the previous setting."""
    previous, _state["enabled"] = _state["enabled"], bool(enabled)
    return previous


def set_num_threads(threads: int) -> None:
    """How many threads the multi-core kernels use (Numba's default: every core). MPI ranks sharing one
    machine split its cores, as they do for BLAS (train/distributed.py)."""
    _state["threads"] = max(1, int(threads))


def _run_parallel(kernel, *args) -> None:
    """Call a multi-core kernel: one caller at a time, on the threads set_num_threads asked for."""
    with _lock:
        if _state["threads"] is not None:  # Numba's thread count is a setting of the calling thread
            numba = _state["numba"]
            numba.set_num_threads(min(_state["threads"], numba.config.NUMBA_NUM_THREADS))
        kernel(*args)


def _usable(*arrays, min_size: int = 0, contiguous: bool = False):
    """The kernel module, when the kernels are on and these arrays are NumPy float arrays of one dtype (and
    C-contiguous where asked), the first of at least ``min_size`` elements; else None. The optimizers ask for
    every parameter at every step, so it is kept lean."""
    if not _state["enabled"]:
        return None
    first = arrays[0]
    dtype = first.dtype
    if first.size < min_size or (dtype != np.float32 and dtype != np.float64):
        return None
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype != dtype or (contiguous and not a.flags.c_contiguous):
            return None
    return _state["kernels"] or _kernels()


def max_pool_2x2(x: np.ndarray):
    """2x2 max-pooling with stride 2 of a channel-major (C, N, H, W) array: (out, argmax), both
    (C, N, H // 2, W // 2), argmax C-contiguous and the offset of the first maximum in its window (row-major,
    0..3), out a view of a C-contiguous (N, C, H // 2, W // 2) array: PyTorch's layout, so that a Flatten after
    it is a view, not a copy (0.6 ms of the benchmark CNN's step); None where the NumPy path should run."""
    kernels = _usable(x, min_size=MIN_SIZE)
    if kernels is None:
        return None
    c, n, h, w = x.shape
    out = empty((n, c, h // 2, w // 2), x.dtype).transpose(1, 0, 2, 3)
    argmax = empty(out.shape, np.uint8)
    _run_parallel(kernels.max_pool_2x2_forward, x, out, argmax)
    return out, argmax


def max_pool_2x2_backward(grad: np.ndarray, argmax: np.ndarray, shape: tuple):
    """The gradient of ``max_pool_2x2`` for the channel-major input ``shape``; None where the NumPy path
    should run."""
    kernels = _usable(grad, min_size=MIN_SIZE)
    if kernels is None:
        return None
    grad_input = empty(shape, grad.dtype)
    _run_parallel(kernels.max_pool_2x2_backward, grad, argmax, grad_input)
    return grad_input


def sgd_update(param, grad, velocity, lr, momentum, dampening, weight_decay, nesterov, first) -> bool:
    """optim.SGD's update in one pass (velocity: the momentum buffer, written; unused without momentum);
    False where the NumPy path should run."""
    velocity = param if velocity is None else velocity
    kernels = _usable(param, grad, velocity, contiguous=True)
    if kernels is None:
        return False
    scalars = _scalars((lr, momentum, 1 - dampening, weight_decay), param.dtype)
    kernels.sgd_update(param, grad, velocity, scalars, weight_decay != 0, nesterov, first)
    return True


# The optimizers' hyperparameters as arrays, by value: every parameter of a group at every step asks for the
# same ones, and making the array (1 us) cost more than the update of a small parameter. (By value, so a
# hyperparameter of -0.0 may share 0.0's array; both act alike but for the sign of a zero parameter.)
_scalar_arrays: dict = {}


def _scalars(values: tuple, dtype) -> np.ndarray:
    """``values`` as a read-only array of ``dtype``: cast as NumPy casts Python floats, and one argument is
    quicker to pass to a kernel than several."""
    key = (values, dtype)
    array = _scalar_arrays.get(key)
    if array is None:
        if len(_scalar_arrays) >= 64:  # a scheduler changes lr every step: keep only the recent ones
            _scalar_arrays.clear()
        array = _scalar_arrays[key] = np.array(values, dtype=dtype)
        array.flags.writeable = False
    return array


def adam_update(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, step, shrink) -> bool:
    """optim.Adam's update (after L2 weight decay, which the caller adds to grad) in one pass; ``step`` is the
    step count t, ``shrink`` AdamW's factor 1 - lr wd (1 for Adam). False where the NumPy path should run."""
    kernels = _usable(param, grad, exp_avg, exp_avg_sq, contiguous=True)
    if kernels is None:
        return False
    scalars = _scalars(
        (1 - beta1, beta2, 1 - beta2, eps, math.sqrt(1 - beta2**step), -lr / (1 - beta1**step), shrink), param.dtype
    )
    kernels.adam_update(param, grad, exp_avg, exp_avg_sq, scalars)
    return True


def softmax_cross_entropy(logits, target, smoothing, reduction: str = "none"):
    """(loss, probs, bad) of softmax cross-entropy with class-index targets, each row in one pass: ``loss`` the
    rows' losses, or their mean or sum as a 0-d array (NumPy's sum, to the bit); ``bad`` -1, or the first row
    whose target is out of range (the caller raises). None where the NumPy path should run.

    The range check and the reduction happen here because, in a training loop, the caches are cold after the
    matrix products, and the NumPy reductions they replace cost a 128-row batch about 15 and 10 us."""
    kernels = _usable(logits, contiguous=True)
    if kernels is None or target.ndim != 1 or type(target) is not np.ndarray or not len(logits):
        return None
    t, n = logits.dtype.type, logits.shape[0]
    losses, probs, reduced = np.empty(n, dtype=logits.dtype), np.empty_like(logits), np.empty(1, dtype=logits.dtype)
    count = n if reduction == "mean" else 1 if reduction == "sum" else 0
    bad = kernels.softmax_cross_entropy_forward(logits, target, t(smoothing), losses, probs, t(count), reduced)
    return (reduced.reshape(()) if count else losses), probs, bad


def softmax_cross_entropy_backward(probs, target, smoothing, scale):
    """The gradient (softmax - onehot) * scale for one scale shared by every row (mean or sum reduction);
    None where the NumPy path should run."""
    if np.ndim(scale) != 0 or target.ndim != 1:
        return None
    kernels = _usable(probs, contiguous=True)
    if kernels is None:
        return None
    t = probs.dtype.type
    grad = np.empty_like(probs)
    kernels.softmax_cross_entropy_backward(probs, target, t(smoothing), t(scale), grad)
    return grad


def add_rows(a: np.ndarray, row: np.ndarray) -> bool:
    """``a += row`` for a C-contiguous 2-D float array and a row of its width and dtype (a bias added to a
    batch) in one pass; False where the NumPy path should run."""
    kernels = _usable(a, row, min_size=SUM_MIN_SIZE, contiguous=True)
    if kernels is None or a.ndim != 2 or row.shape != (a.shape[1],):
        return False
    kernels.add_rows(a, row)
    return True


def sum_rows(a: np.ndarray):
    """``a.sum(axis=0)`` of a C-contiguous 2-D float array (a bias gradient) in one pass, to NumPy's bits;
    None where the NumPy path should run."""
    kernels = _usable(a, min_size=SUM_MIN_SIZE, contiguous=True)
    if kernels is None or a.ndim != 2 or a.shape[0] == 0:
        return None
    out = np.empty(a.shape[1], dtype=a.dtype)
    kernels.sum_rows(a, out)
    return out


def layer_norm(x: np.ndarray, weight, bias, eps: float):
    """(out, x_hat, rstd) of layer normalisation over the last axis of a C-contiguous 2-D float array in one
    pass (weight and bias: rows of its width, or None); None where the NumPy path should run."""
    kernels = _usable(x, *(p for p in (weight, bias) if p is not None), min_size=RELU_MIN_SIZE, contiguous=True)
    if kernels is None or x.ndim != 2:
        return None
    none = np.empty(0, dtype=x.dtype)
    out, x_hat = empty(x.shape, x.dtype), empty(x.shape, x.dtype)
    rstd = np.empty(x.shape[0], dtype=x.dtype)
    kernels.layer_norm_forward(
        x, none if weight is None else weight, none if bias is None else bias, eps, out, x_hat, rstd
    )
    return out, x_hat, rstd


def layer_norm_backward(grad: np.ndarray, x_hat: np.ndarray, rstd: np.ndarray, weight):
    """(dx, dw, db) of ``layer_norm`` over the last axis of 2-D arrays (dw and db None without a weight); None
    where the NumPy path should run."""
    arrays = (grad, x_hat) + (() if weight is None else (weight,))
    kernels = _usable(*arrays, min_size=RELU_MIN_SIZE, contiguous=True)
    if kernels is None or grad.ndim != 2 or not rstd.flags.c_contiguous:
        return None
    width = grad.shape[1] if weight is not None else 0
    grad_w, grad_b = np.zeros(width), np.zeros(width)  # the columns' sums, in float64
    grad_x = empty(grad.shape, grad.dtype)
    kernels.layer_norm_backward(
        grad, x_hat, rstd, np.empty(0, grad.dtype) if weight is None else weight, grad_x, grad_w, grad_b
    )
    if weight is None:
        return grad_x, None, None
    return grad_x, grad_w.astype(grad.dtype), grad_b.astype(grad.dtype)


def outer(a: np.ndarray, b: np.ndarray):
    """``a @ b`` for a 2-D a of shape (m, 1) and b of shape (1, n): the outer product a[:, 0] b[0], C-contiguous;
    None where the NumPy path should run. NumPy's matmul takes a loop of its own, not BLAS, for an inner dimension
    of 1: 287 us for 256x784 (batch-1 SGD's weight gradient), against 67 for a broadcast multiply and 17 here."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != 1 or b.shape[0] != 1 or a.shape[0] * b.shape[1] < SUM_MIN_SIZE:
        return None
    kernels = _usable(a, b)
    if kernels is None:
        return None
    out = empty((a.shape[0], b.shape[1]), a.dtype)
    kernels.outer(a[:, 0], b[0], out)
    return out


def _in_memory_order(a: np.ndarray):
    """(order, out, result): ``a``'s axes from the largest stride to the smallest (the order its elements lie
    in memory; None for a C-contiguous ``a``, the common case, taken without reordering), an empty
    C-contiguous array with its axes in that order, and that array seen in ``a``'s axis order (so it has
    ``a``'s layout where ``a`` has no gaps)."""
    if a.flags.c_contiguous:
        out = empty(a.shape, a.dtype)
        return None, out, out
    order = sorted(range(a.ndim), key=lambda k: -a.strides[k])
    out = empty([a.shape[k] for k in order], a.dtype)
    return order, out, out.transpose(np.argsort(order))


def erf(x: np.ndarray):
    """The error function in one compiled pass (GELU's exact form calls it on every activation); None where the
    NumPy path (one Python call per element) should run."""
    kernels = _usable(x)
    if kernels is None:
        return None
    flat = np.ascontiguousarray(x).reshape(-1)
    out = np.empty_like(flat)
    kernels.erf(flat, out)
    return out.reshape(x.shape)


def gelu(x: np.ndarray):
    """GELU's exact form in float32, (x Phi(x), its derivative Phi(x) + x phi(x)) in two vectorised passes and two
    of NumPy's exp, within 2 float32 ulps of x Phi(x) computed in float64 (Numba's libm erf, one element at a time,
    took 2.1 ms for 262,144 elements; this 0.75 ms); None where the NumPy path should run (float64 keeps math.erf's
    exact values)."""
    kernels = _usable(x, min_size=RELU_MIN_SIZE)
    if kernels is None or x.dtype != np.float32:
        return None
    flat = np.ascontiguousarray(x).reshape(-1)
    # the exponents are NumPy's own arrays, not the pool's: freed at once, glibc keeps their memory for the next
    # call (from the pool, the names transformer's step faulted in 2,500 pages against 1,000)
    tail, gauss = np.empty(flat.shape, np.float64), np.empty(flat.shape, np.float64)
    kernels.gelu_exponents(flat, tail, gauss)
    np.exp(tail, out=tail)
    np.exp(gauss, out=gauss)
    out, slope = empty(x.shape, np.float32), empty(x.shape, np.float32)
    kernels.gelu_finish(flat, tail, gauss, out.reshape(-1), slope.reshape(-1))
    return out, slope


def relu(x: np.ndarray):
    """max(x, 0) in one pass, written in x's axis order; None where the NumPy path should run."""
    kernels = _usable(x, min_size=RELU_MIN_SIZE)
    if kernels is None:
        return None
    order, out, result = _in_memory_order(x)
    ordered = x if order is None else x.transpose(order)
    if ordered.flags.c_contiguous:  # no gaps: any shape, as one row
        kernels.relu_forward(ordered.reshape(1, 1, 1, -1), out.reshape(1, 1, 1, -1))
    elif x.ndim == 4:  # gaps between the rows of a 4-D view (a convolution's cropped output)
        kernels.relu_forward(ordered, out)
    else:
        return None
    return result


def relu_backward(grad: np.ndarray, y: np.ndarray):
    """grad where y > 0, else 0, in one pass and in grad's layout; None where the NumPy path should run
    (different layouts, gaps, small arrays, the kernels off)."""
    kernels = _usable(grad, y, min_size=RELU_MIN_SIZE)
    if kernels is None or grad.strides != y.strides or grad.shape != y.shape:
        return None
    order, out, result = _in_memory_order(grad)
    if order is not None:  # y has grad's strides, so the same order
        grad, y = grad.transpose(order), y.transpose(order)
    if not grad.flags.c_contiguous:
        return None
    kernels.relu_backward(grad.reshape(-1), y.reshape(-1), out.reshape(-1))
    return result


def direct_conv_kernels(x: np.ndarray, weight: np.ndarray):
    """The kernel module for backend/direct_conv.py's convolution of x (any strides) by weight, or None where the
    NumPy path should run (the kernels off, other dtypes, a small input)."""
    return _usable(x, weight, min_size=RELU_MIN_SIZE)


def im2col_wide(x: np.ndarray, start: int, cols: np.ndarray, padding: tuple, wp: int) -> bool:
    """backend/conv.py's wide-layout im2col of the images start : start + n of the channel-major x (C, N, H, W, any
    strides) into the C-contiguous cols (kh, kw, C, n, Ho*Wp), padded by ``padding`` into rows of ``wp``; False
    where the NumPy path should run."""
    kernels = _usable(cols, x, min_size=RELU_MIN_SIZE)
    if kernels is None or not cols.flags.c_contiguous:
        return False
    kernels.im2col_wide(x, start, cols, padding[0], padding[1], wp)
    return True


def col2im_wide(grad_cols: np.ndarray, grad_x: np.ndarray, start: int, padding: tuple, wp: int) -> bool:
    """backend/conv.py's wide-layout col2im: grad_x[:, start : start + n] (channel-major) from grad_cols (kh, kw, C,
    n, Ho*Wp); False where the NumPy path should run."""
    kernels = _usable(grad_cols, grad_x, min_size=RELU_MIN_SIZE, contiguous=True)
    if kernels is None:
        return False
    kernels.col2im_wide(grad_cols, grad_x, start, padding[0], padding[1], wp)
    return True
