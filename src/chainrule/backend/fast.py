"""The one dispatch: where an op or an optimizer asks "is there a faster kernel for this?".

Ops in ops/ and optimizers in optim/ write their math once, in NumPy, as the reference; before it they call one
function here. It runs the faster variant that fits the arrays (a CUDA kernel from kernels.py for CuPy arrays, a
Numba pass from cpu.py for NumPy arrays) and returns its result, or True where it wrote in place; it returns None
(or False) where no variant applies (Numba not installed or switched off, arrays too small to pay, a layout or
dtype the kernel does not take, no kernel for that device), and the caller then runs its reference. The tests run
every op and optimizer on each path and compare (the kernel_path fixture; tests/backend/test_fast.py).

Why each variant exists, with its measurement, is in the docstrings of cpu.py, kernels.py and conv.py.
"""

from __future__ import annotations

from . import conv, cpu, direct_conv, kernels, threads
from .cpu import (  # NumPy arrays only: the GPU has no kernel of its own for these, so a CuPy array gets None
    add_rows,
    col2im_wide,
    gelu,
    im2col_wide,
    layer_norm,
    layer_norm_backward,
    max_pool_2x2,
    max_pool_2x2_backward,
    outer,
    relu,
    relu_backward,
    sum_rows,
)
from .device import cupy_module, is_device_array

__all__ = [
    "adam_update",
    "conv2d",
    "set_blocked_conv",
    "add_rows",
    "col2im_wide",
    "erf",
    "gelu",
    "im2col_wide",
    "layer_norm",
    "layer_norm_backward",
    "max_pool_2x2",
    "max_pool_2x2_backward",
    "outer",
    "relu",
    "relu_backward",
    "sgd_update",
    "softmax_cross_entropy",
    "softmax_cross_entropy_backward",
    "sum_rows",
]


def sgd_update(param, grad, velocity, lr, momentum, dampening, weight_decay, nesterov, first) -> bool:
    """optim.SGD's update of one parameter in one pass (``velocity``: the momentum buffer, None without momentum;
    ``first``: the step that fills it)."""
    if not is_device_array(param):
        return cpu.sgd_update(param, grad, velocity, lr, momentum, dampening, weight_decay, nesterov, first)
    t = param.dtype.type
    if not momentum:
        kernel = kernels.sgd_update()
        if kernel is None:
            return False
        kernel(grad, t(lr), t(weight_decay), param)
        return True
    kernel = kernels.sgd_momentum_update()
    if kernel is None:
        return False
    kernel(grad, t(lr), t(momentum), t(dampening), t(weight_decay), nesterov, first, param, velocity)
    return True


def adam_update(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, step, decoupled_weight_decay) -> bool:
    """optim.Adam's update of one parameter in one pass (AdamW's decoupled decay with ``decoupled_weight_decay``;
    Adam's L2 penalty is already in ``grad``)."""
    if not is_device_array(param):
        shrink = 1 - lr * decoupled_weight_decay
        return cpu.adam_update(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, step, shrink)
    kernel = kernels.adam_update()
    if kernel is None:
        return False
    t = param.dtype.type
    bias_correction1, bias_correction2_sqrt = 1 - beta1**step, (1 - beta2**step) ** 0.5
    decay = t(decoupled_weight_decay)
    kernel(grad, t(lr), t(beta1), t(beta2), t(eps), decay, t(bias_correction1), t(bias_correction2_sqrt), True, param,
           exp_avg, exp_avg_sq)  # fmt: skip
    return True


def softmax_cross_entropy(logits, target, smoothing, reduction: str):
    """(loss reduced as asked, softmax probabilities, index of the first class index out of range or -1), or None.
    Class-index targets only (probability targets take the reference)."""
    if not is_device_array(logits):
        return cpu.softmax_cross_entropy(logits, target, smoothing, reduction)
    kernel = kernels.softmax_cross_entropy_forward() if target.ndim == 1 else None
    if kernel is None:
        return None
    xp = cupy_module()
    n, classes = logits.shape
    invalid = (target < 0) | (target >= classes)
    if n and bool(invalid.any()):  # one number back from the GPU, as the reference's check
        return None, None, int(xp.argmax(invalid))
    probs, losses = xp.empty_like(logits), xp.empty(n, dtype=logits.dtype)
    kernel(logits, target, classes, logits.dtype.type(smoothing), losses, probs)
    dtype = losses.dtype
    if reduction == "none":
        return losses, probs, -1
    loss = losses.mean(dtype=dtype) if reduction == "mean" else losses.sum(dtype=dtype)
    return xp.asarray(loss), probs, -1


def softmax_cross_entropy_backward(probs, target, smoothing, scale):
    """(softmax - target distribution) * scale in one pass, or None."""
    if not is_device_array(probs):
        return cpu.softmax_cross_entropy_backward(probs, target, smoothing, scale)
    kernel = kernels.softmax_cross_entropy_backward() if target.ndim == 1 else None
    if kernel is None:
        return None
    return kernel(probs, target, scale, probs.shape[1], probs.dtype.type(smoothing))


def erf(x):
    """The error function element-wise (NumPy has none; the reference calls math.erf per element), or None."""
    if not is_device_array(x):
        return cpu.erf(x)
    from cupyx.scipy.special import erf as cupy_erf  # an optional package: imported only on the GPU path

    return cupy_erf(x)


_blocked = {"enabled": True}


def conv2d(x, weight, bias, stride, padding):
    """A conv2d call in cache-sized blocks (backend/conv.py BlockedConv2d: ``.output``, ``.backward``), or None
    where the blocked form is switched off (``set_blocked_conv(False)``: the textbook form runs)."""
    if not _blocked["enabled"]:
        return None
    if not is_device_array(x):
        threads.convolution_starts()  # the cores shared out as convolutions use them best
        if direct_conv.fits(x, weight, stride):  # few input channels: straight from the planes, no im2col
            return direct_conv.DirectConv2d(x, weight, bias, padding)
    return conv.BlockedConv2d(x, weight, bias, stride, padding)


def set_blocked_conv(enabled: bool) -> bool:
    """Switch the blocked convolution on (the default) or off; returns the previous setting."""
    previous, _blocked["enabled"] = _blocked["enabled"], bool(enabled)
    return previous
