"""The fused GPU kernels: each does in one CuPy launch what a NumPy function of chainrule does in
several passes, and is named after it. The NumPy code stays the reference; the GPU tests compare.

A launch from Python costs about 10 µs, more than the arithmetic of a small layer: optimizer
updates (a dozen passes for Adam) and softmax cross-entropy are fused on the GPU, while the CPU keeps
the NumPy passes. Each function returns the compiled kernel (compiled once, then cached), or None
where CuPy has no kernels (the test suite's stand-in); the caller then takes the NumPy path.
"""

from __future__ import annotations

from .device import cupy_module

_kernels: dict = {}


def _compile(name: str, in_params: str, out_params: str, body: str):
    kernel = _kernels.get(name)
    if kernel is None:
        cupy = cupy_module()
        if not hasattr(cupy, "ElementwiseKernel"):
            return None
        kernel = _kernels[name] = cupy.ElementwiseKernel(in_params, out_params, body, f"chainrule_{name}")
    return kernel


def sgd_update():
    """optim.SGD.update without momentum: p -= lr (g + wd p)."""
    return _compile(
        "sgd_update",
        "T grad, T lr, T weight_decay",
        "T param",
        "param -= lr * (weight_decay != 0 ? grad + weight_decay * param : grad);",
    )


def sgd_momentum_update():
    """optim.SGD.update with momentum (and dampening, Nesterov, weight decay)."""
    return _compile(
        "sgd_momentum_update",
        "T grad, T lr, T momentum, T dampening, T weight_decay, bool nesterov, bool first",
        "T param, T velocity",
        """
        T d = weight_decay != 0 ? grad + weight_decay * param : grad;
        velocity = first ? d : momentum * velocity + (1 - dampening) * d;
        param -= lr * (nesterov ? d + momentum * velocity : velocity);
    """,
    )


def adam_update():
    """optim.Adam.update and AdamW's (``decoupled``)."""
    return _compile(
        "adam_update",
        "T grad, T lr, T beta1, T beta2, T eps, T weight_decay, T bias_correction1, T bias_correction2_sqrt, bool "
        "decoupled",
        "T param, T exp_avg, T exp_avg_sq",
        """
        T g = grad;
        if (decoupled) param *= 1 - lr * weight_decay;
        else if (weight_decay != 0) g += weight_decay * param;
        exp_avg += (1 - beta1) * (g - exp_avg);
        exp_avg_sq = beta2 * exp_avg_sq + (1 - beta2) * g * g;
        param -= lr / bias_correction1 * exp_avg / (sqrt(exp_avg_sq) / bias_correction2_sqrt + eps);
    """,
    )


def softmax_cross_entropy_forward():
    """ops.loss.SoftmaxCrossEntropy.forward with class-index targets: a thread per row computes the
    log-sum-exp, the loss and the row's softmax."""
    return _compile(
        "softmax_cross_entropy_forward",
        "raw T logits, raw I target, int32 classes, T smoothing",
        "T loss, raw T probs",
        """
        const ptrdiff_t row = i * classes;
        T m = logits[row];
        for (int j = 1; j < classes; j++) m = max(m, logits[row + j]);
        T total = 0, sum_x = 0;
        for (int j = 0; j < classes; j++) {
            T e = exp(logits[row + j] - m);
            probs[row + j] = e;
            total += e;
            sum_x += logits[row + j];
        }
        for (int j = 0; j < classes; j++) probs[row + j] /= total;
        T log_total = log(total);
        T nll = log_total - (logits[row + target[i]] - m);  // -log softmax(x)_t
        loss = smoothing != 0 ? (1 - smoothing) * nll - smoothing * (sum_x / classes - m - log_total) : nll;
    """,
    )


def softmax_cross_entropy_backward():
    """ops.loss.SoftmaxCrossEntropy.backward with class-index targets: (p - onehot) * scale."""
    return _compile(
        "softmax_cross_entropy_backward",
        "T probs, raw I target, T scale, int32 classes, T smoothing",
        "T grad",
        """
        T onehot = (i % classes) == target[i / classes] ? 1 - smoothing : 0;
        grad = (probs - onehot - smoothing / classes) * scale;
    """,
    )
