"""Loss functions, each one fused node with a numerically stable forward and a one-step backward.

softmax_cross_entropy: forward by log-sum-exp, backward (softmax - onehot) / N, the fused
"Softmax-with-Loss" layer of Deep Learning from Scratch.
"""

from __future__ import annotations

import numpy as np

from ..backend import array_module, fast, is_device_array, to_device
from ..errors import DataError, DeviceError, DTypeError, ShapeError
from ..node import Node
from ..tensor import Tensor, as_tensor
from .activation import sigmoid, softmax
from .broadcast import constant
from .elementwise import clip
from .place import add_into_zeros

REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str, op: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _reduce(losses: np.ndarray, reduction: str) -> np.ndarray:
    xp = array_module(losses)
    if reduction == "mean":
        if xp is np and losses.size:
            # losses.mean() is this sum divided by the count, to the bit, without mean()'s Python wrapper
            # (about 3 µs, a tenth of a small network's loss)
            return np.asarray(np.add.reduce(losses, axis=None, dtype=losses.dtype) / losses.size)
        return xp.asarray(losses.mean(dtype=losses.dtype))
    if reduction == "sum":
        return xp.asarray(losses.sum(dtype=losses.dtype))
    return losses


def _grad_scale(grad_output: np.ndarray, reduction: str, count: int, ndim: int):
    """The factor dL/d(loss_i) that each element's local gradient is multiplied by."""
    if reduction == "mean":
        return grad_output / count
    if reduction == "sum":
        return grad_output
    return grad_output.reshape(grad_output.shape + (1,) * (ndim - grad_output.ndim))


class SoftmaxCrossEntropy(Node):
    op = "cross_entropy"
    saved_inputs = ()
    saves_output = False

    def forward(self, logits, target, reduction, label_smoothing):
        xp = array_module(logits)
        n, classes = logits.shape
        self.reduction, self.target = reduction, target
        self.label_smoothing = label_smoothing
        # class-index targets are range-checked here: by the CPU kernel as it goes, else before the work
        fused = fast.softmax_cross_entropy(logits, target, label_smoothing, reduction)  # one pass per row, reduced
        if fused is not None:
            loss, self.probs, bad = fused
            if bad >= 0:
                _out_of_range(target[bad], classes, "cross_entropy")
            return loss
        if target.ndim == 1:
            _check_class_range(target, classes, "cross_entropy")
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = xp.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        log_total = xp.log(total)
        if target.ndim == 1:  # class indices
            # -log softmax(x)_t = log sum_j exp(x_j - m) - (x_t - m)
            losses = log_total[:, 0] - shifted[xp.arange(n), target]
            if label_smoothing:
                mean_log_prob = (shifted - log_total).mean(axis=1)
                losses = (1 - label_smoothing) * losses - label_smoothing * mean_log_prob
        else:  # probabilities
            dist = target if not label_smoothing else (1 - label_smoothing) * target + label_smoothing / classes
            losses = -(dist * (shifted - log_total)).sum(axis=1)
        exp /= total
        self.probs = exp
        return _reduce(losses.astype(logits.dtype, copy=False), reduction)

    def backward(self, grad_output):
        xp = array_module(grad_output)
        probs, target, smoothing = self.probs, self.target, self.label_smoothing
        n, classes = probs.shape
        scale = _grad_scale(grad_output, self.reduction, n, 2)
        grad = fast.softmax_cross_entropy_backward(probs, target, smoothing, scale)
        if grad is not None:
            return grad
        grad = probs.copy()
        if target.ndim == 1:
            # d/dx CE = softmax(x) - onehot(t); label smoothing mixes the onehot with 1/C
            if smoothing:
                grad -= smoothing / classes
            grad[xp.arange(n), target] -= 1 - smoothing
        else:
            dist = target if not smoothing else (1 - smoothing) * target + smoothing / classes
            # sum_j p_j = 1 only if the target rows sum to 1; the general form is p * sum(t) - t
            grad *= dist.sum(axis=1, keepdims=True)
            grad -= dist
        grad *= scale
        return grad

    def backward_graph(self, grad_output):
        target, smoothing = self.target, self.label_smoothing
        probs = softmax(self.inputs[0], 1)
        n, classes = probs.shape
        scale = _grad_scale(grad_output, self.reduction, n, 2)
        if target.ndim == 1:  # softmax(x) - onehot(t), the onehot mixed with 1/C by label smoothing
            onehot = array_module(target).full(probs.shape, smoothing / classes, dtype=probs.dtype)
            onehot[array_module(target).arange(n), target] += 1 - smoothing
            return (probs - constant(onehot)) * scale
        dist = target if not smoothing else (1 - smoothing) * target + smoothing / classes
        return (probs * constant(dist.sum(axis=1, keepdims=True)) - constant(dist)) * scale


class NLLLoss(Node):
    op = "nll_loss"
    saved_inputs = ()
    saves_output = False

    def forward(self, log_probs, target, reduction):
        xp = array_module(log_probs)
        n = log_probs.shape[0]
        self.shape, self.target, self.reduction = log_probs.shape, target, reduction
        return _reduce(-log_probs[xp.arange(n), target], reduction)

    def backward(self, grad_output):
        xp = array_module(grad_output)
        grad = xp.zeros(self.shape, dtype=grad_output.dtype)
        scale = _grad_scale(grad_output, self.reduction, self.shape[0], 1)
        grad[xp.arange(self.shape[0]), self.target] = -scale
        return grad

    def backward_graph(self, grad_output):
        n = self.shape[0]
        share = -_grad_scale(grad_output, self.reduction, n, 1)
        return add_into_zeros(self.shape, (array_module(self.target).arange(n), self.target), share.expand((n,)))


class MSELoss(Node):
    op = "mse_loss"
    saved_inputs = ()
    saves_output = False

    def forward(self, prediction, target, reduction):
        self.diff = prediction - target
        self.reduction = reduction
        return _reduce(self.diff * self.diff, reduction)

    def backward(self, grad_output):
        # d/dy mean((y - t)^2) = 2 (y - t) / N
        grad = self.diff * _grad_scale(grad_output * 2, self.reduction, self.diff.size, 0)
        return grad, (-grad if self.needs_input_grad[1] else None)

    def backward_graph(self, grad_output):
        prediction, target = self.inputs
        grad = (prediction - target) * _grad_scale(grad_output * 2, self.reduction, prediction.numel(), 0)
        return grad, (-grad if self.needs_input_grad[1] else None)


class L1Loss(Node):
    op = "l1_loss"
    saved_inputs = ()
    saves_output = False

    def forward(self, prediction, target, reduction):
        xp = array_module(prediction)
        self.diff = prediction - target
        self.reduction = reduction
        return _reduce(xp.abs(self.diff), reduction)

    def backward(self, grad_output):
        xp = array_module(grad_output)
        grad = xp.sign(self.diff) * _grad_scale(grad_output, self.reduction, self.diff.size, 0)
        return grad, (-grad if self.needs_input_grad[1] else None)

    def backward_graph(self, grad_output):
        sign = constant(array_module(self.diff).sign(self.diff))
        grad = sign * _grad_scale(grad_output, self.reduction, self.diff.size, 0)
        return grad, (-grad if self.needs_input_grad[1] else None)


class BinaryCrossEntropy(Node):
    saved_inputs = (0,)
    saves_output = False

    def forward(self, p, target, reduction):
        xp = array_module(p)
        self.p, self.target, self.reduction = p, target, reduction
        # PyTorch clamps each log at -100 so p = 0 or 1 gives a finite loss
        log_p = xp.maximum(xp.log(p), -100)
        log_q = xp.maximum(xp.log1p(-p), -100)
        return _reduce(-(target * log_p + (1 - target) * log_q), reduction)

    def backward(self, grad_output):
        xp = array_module(grad_output)
        p, t = self.p, self.target
        # dL/dp = (p - t) / (p (1 - p)), the denominator kept away from 0 (PyTorch's eps 1e-12)
        grad = (p - t) / xp.maximum(p * (1 - p), p.dtype.type(1e-12))
        return grad * _grad_scale(grad_output, self.reduction, p.size, 0)

    def backward_graph(self, grad_output):
        p, t = self.inputs[0], constant(self.target)
        grad = (p - t) / clip(p * (1 - p), 1e-12, None)
        return grad * _grad_scale(grad_output, self.reduction, p.numel(), 0)


class BCEWithLogits(Node):
    op = "binary_cross_entropy_with_logits"
    saved_inputs = (0,)
    saves_output = False

    def forward(self, logits, target, reduction):
        xp = array_module(logits)
        self.logits, self.target, self.reduction = logits, target, reduction
        # -(t log s(x) + (1-t) log(1 - s(x))) = max(x, 0) - x t + log(1 + exp(-|x|)), stable for any x
        return _reduce(xp.maximum(logits, 0) - logits * target + xp.log1p(xp.exp(-xp.abs(logits))), reduction)

    def backward(self, grad_output):
        xp = array_module(grad_output)
        x = self.logits
        sigmoid = 0.5 * xp.tanh(0.5 * x) + 0.5
        return (sigmoid - self.target) * _grad_scale(grad_output, self.reduction, x.size, 0)

    def backward_graph(self, grad_output):
        x = self.inputs[0]
        return (sigmoid(x) - constant(self.target)) * _grad_scale(grad_output, self.reduction, x.numel(), 0)


# ------------------------------------------------------------------ validation and public functions
def _target_array(target, like: Tensor, op: str):
    """A loss's target as an array on the device of the predictions it is compared with."""
    if isinstance(target, Tensor):
        if target.device != like.device:
            raise DeviceError(
                f"{op}: the target is on '{target.device}' but the input is on '{like.device}'; "
                f"move one with .to('{like.device}')"
            )
        return target.array
    return to_device(target if is_device_array(target) else np.asarray(target), like.device)


def _class_targets(logits: Tensor, target: np.ndarray, op: str, check_range: bool = True) -> np.ndarray:
    """Check class-index targets (an array from _target_array) against the logits: shape, dtype and (unless the
    op checks it itself) range."""
    if logits.ndim != 2:
        raise ShapeError(f"{op}: expected logits of shape (batch, classes), got {logits.shape}")
    n, classes = logits.shape
    if target.ndim != 1 or target.shape[0] != n:
        raise ShapeError(f"{op}: expected class-index targets of shape ({n},), got {target.shape}")
    if target.dtype.kind not in "iu":
        raise DTypeError(
            f"{op}: class-index targets must be integers, got dtype {target.dtype} "
            "(for class probabilities pass a float target of the logits' shape)"
        )
    if check_range:
        _check_class_range(target, classes, op)
    return target


def _check_class_range(target, classes: int, op: str) -> None:
    """Refuse class indices outside [0, classes). One pass, one number back from the GPU: viewed as unsigned, a
    negative index is a huge one (two's complement), so max(unsigned) < C checks 0 <= t < C for every t."""
    if target.size and int(target.view(target.dtype.str.replace("i", "u")).max()) >= classes:
        _out_of_range(target[(target < 0) | (target >= classes)][0], classes, op)


def _out_of_range(bad, classes: int, op: str):
    raise DataError(f"{op}: target class {bad} is out of range for {classes} classes [0, {classes})")


def refuse_size_average(size_average, reduce, op: str) -> None:
    if size_average is not None or reduce is not None:
        raise TypeError(f"{op}: size_average and reduce were replaced by reduction= in PyTorch 0.4; use reduction")


def _weighted_nll(log_probs, target, weight, ignore_index: int, reduction: str, smoothing: float, op: str):
    """-log p[target] per sample, times weight[target]; samples whose target is ignore_index count for nothing.
    With label smoothing ε the loss of a sample is (1 - ε) w_y (-log p_y) + ε/C sum_c w_c (-log p_c). The mean
    divides by the summed weight of the counted samples (PyTorch's rule). Composed of differentiable ops."""
    from .activation import log_softmax  # noqa: F401 - callers pass log-probabilities
    from .elementwise import where
    from .pick import gather
    from .reduce import sum as total

    classes = log_probs.shape[1]
    counted = target != ignore_index
    _check_class_range(target[counted], classes, op)
    safe = Tensor.wrap(array_module(target).where(counted, target, 0), False)
    picked = -gather(log_probs, 1, safe.unsqueeze(1)).squeeze(1)
    if weight is not None:
        weight = as_tensor(weight, like=log_probs)
        if weight.shape != (classes,):
            raise ShapeError(f"{op}: weight must hold one number per class ({classes},), got {weight.shape}")
        per_sample = weight[safe]
    else:
        per_sample = Tensor.wrap(array_module(target).ones(target.shape, dtype=log_probs.array.dtype), False)
    mask = Tensor.wrap(counted, False)
    per_sample = where(mask, per_sample, 0.0)
    losses = picked * per_sample
    if smoothing:
        spread = -log_probs * weight if weight is not None else -log_probs
        losses = (1 - smoothing) * losses + where(mask, total(spread, 1), 0.0) * (smoothing / classes)
    if reduction == "none":
        return losses
    if reduction == "sum":
        return total(losses)
    return total(losses) / total(per_sample)


def cross_entropy(
    input,
    target,
    weight=None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax then negative log-likelihood, fused; ``target`` is class indices (N,) or probabilities (N, C).
    ``weight`` scales each class's loss; targets equal to ``ignore_index`` (-100 by default, as PyTorch's; -1
    for padding in many language models) count for nothing."""
    _check_reduction(reduction, "cross_entropy")
    refuse_size_average(size_average, reduce, "cross_entropy")
    input = as_tensor(input)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    target_data = _target_array(target, input, "cross_entropy")
    if target_data.dtype.kind == "f" and target_data.ndim == 2:
        if target_data.shape != input.shape:
            raise ShapeError(
                f"cross_entropy: probability targets must have the logits' shape {input.shape}, got {target_data.shape}"
            )
        if weight is not None:
            raise NotImplementedError("cross_entropy: weight with probability targets is not supported in chainrule")
        target_data = target_data.astype(input.dtype, copy=False)
    else:
        target_data = _class_targets(input, target_data, "cross_entropy", check_range=False)  # forward checks it
        if weight is not None or bool((target_data == ignore_index).any()):
            from .activation import log_softmax

            return _weighted_nll(
                log_softmax(input, 1), target_data, weight, ignore_index, reduction, label_smoothing, "cross_entropy"
            )
    return SoftmaxCrossEntropy.apply(input, target=target_data, reduction=reduction, label_smoothing=label_smoothing)


def nll_loss(
    input, target, weight=None, size_average=None, ignore_index: int = -100, reduce=None, reduction: str = "mean"
) -> Tensor:
    """Negative log-likelihood of class indices, given log-probabilities (e.g. from log_softmax); ``weight`` and
    ``ignore_index`` as in cross_entropy."""
    _check_reduction(reduction, "nll_loss")
    refuse_size_average(size_average, reduce, "nll_loss")
    input = as_tensor(input)
    target = _class_targets(input, _target_array(target, input, "nll_loss"), "nll_loss", check_range=False)
    if weight is not None or bool((target == ignore_index).any()):
        return _weighted_nll(input, target, weight, ignore_index, reduction, 0.0, "nll_loss")
    _check_class_range(target, input.shape[1], "nll_loss")
    return NLLLoss.apply(input, target=target, reduction=reduction)


def _same_shape(prediction, target, op: str):
    prediction = as_tensor(prediction)
    target = as_tensor(target, like=prediction, where=op)
    if prediction.shape != target.shape:
        raise ShapeError(
            f"{op}: prediction shape {prediction.shape} and target shape {target.shape} differ; chainrule does "
            "not broadcast losses (an (n, 1) against (n,) would silently become (n, n)). Reshape one of them."
        )
    if prediction.dtype != target.dtype:
        if target.dtype.kind == "f" and prediction.dtype.kind == "f":
            raise DTypeError(f"{op}: prediction is {prediction.dtype} but target is {target.dtype}; convert one")
        target = Tensor.wrap(target.array.astype(prediction.dtype), False)
    return prediction, target


def mse_loss(input, target, reduction: str = "mean") -> Tensor:
    """Mean squared error. The textbook E = 1/2 sum (y - t)^2 is ``0.5 * mse_loss(y, t, reduction='sum')``."""
    _check_reduction(reduction, "mse_loss")
    return MSELoss.apply(*_same_shape(input, target, "mse_loss"), reduction=reduction)


def l1_loss(input, target, reduction: str = "mean") -> Tensor:
    _check_reduction(reduction, "l1_loss")
    return L1Loss.apply(*_same_shape(input, target, "l1_loss"), reduction=reduction)


def binary_cross_entropy(input, target, reduction: str = "mean") -> Tensor:
    """BCE of probabilities in [0, 1] (after a sigmoid); prefer the ``_with_logits`` form for stability."""
    _check_reduction(reduction, "binary_cross_entropy")
    input, target = _same_shape(input, target, "binary_cross_entropy")
    p, t = input.array, target.array
    if p.size and (p.min() < 0 or p.max() > 1 or array_module(p).isnan(p).any()):
        raise DataError(
            "binary_cross_entropy: input must be probabilities in [0, 1]; apply sigmoid first or use "
            "binary_cross_entropy_with_logits"
        )
    if t.size and (t.min() < 0 or t.max() > 1):
        raise DataError(f"binary_cross_entropy: targets must lie in [0, 1], got values from {t.min()} to {t.max()}")
    return BinaryCrossEntropy.apply(input, target=t, reduction=reduction)


def binary_cross_entropy_with_logits(input, target, reduction: str = "mean") -> Tensor:
    """sigmoid + BCE fused: finite for any logit, gradient sigmoid(x) - t."""
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    input, target = _same_shape(input, target, "binary_cross_entropy_with_logits")
    t = target.array
    if t.size and (t.min() < 0 or t.max() > 1):
        raise DataError(
            f"binary_cross_entropy_with_logits: targets must lie in [0, 1], got values from {t.min()} to {t.max()}"
        )
    return BCEWithLogits.apply(input, target=t, reduction=reduction)
