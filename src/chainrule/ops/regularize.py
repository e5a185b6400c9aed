"""Dropout and batch normalisation: the ops whose behaviour differs between training and evaluation."""

from __future__ import annotations

import numpy as np

from .. import backend
from ..backend import array_module, fast, is_device_array, random_uniform
from ..errors import ShapeError
from ..node import Node
from ..tensor import Tensor, as_tensor
from .activation import in_place
from .broadcast import constant, operands
from .elementwise import clip, sqrt
from .reduce import norm
from .reduce import sum as reduce_sum


class Dropout(Node):
    saved_inputs = ()
    saves_output = False

    def forward(self, x, p, generator):
        # Inverted dropout: keep each unit with probability 1-p and scale it by 1/(1-p), so the
        # expected activation is unchanged and evaluation needs no rescaling.
        dtype = np.float64 if x.dtype == np.float64 else np.float32
        if is_device_array(x):  # a GPU array: draw the mask there, from CuPy's seeded generator
            self.mask = random_uniform(x.shape, dtype, like=x) >= p
        else:
            self.mask = generator.random(x.shape, dtype=dtype) >= p
        self.scale = x.dtype.type(1.0 / (1.0 - p))
        return x * self.mask * self.scale

    def backward(self, grad_output):
        return grad_output * self.mask * self.scale

    def backward_graph(self, grad_output):
        return grad_output * constant(self.mask * self.scale)


def _normalize(x, axes, eps):
    """(x_hat, 1/sqrt(var + eps), mean, var) of x over ``axes``, the variance biased, as both norms use it. x is
    an array (the fused ops' forward) or a Tensor (their composite form, differentiable for create_graph=True)."""
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=axes, keepdims=True)
    root = sqrt if isinstance(x, Tensor) else array_module(x).sqrt
    inv_std = 1.0 / root(var + x.dtype.type(eps))
    return centered * inv_std, inv_std, mean, var


def _normalized_grad(grad_xhat, x_hat, inv_std, axes):
    """dL/dx from g = dL/dx_hat: x_hat depends on x directly and through the mean and the variance, so
    dx = (1/sigma) (g - mean(g) - x_hat mean(g x_hat)), the means over ``axes``."""
    mean_g = grad_xhat.mean(axis=axes, keepdims=True)
    mean_gx = (grad_xhat * x_hat).mean(axis=axes, keepdims=True)
    return (grad_xhat - mean_g - x_hat * mean_gx) * inv_std


class BatchNormTrain(Node):
    op = "batch_norm"
    saved_inputs = (1,)
    saves_output = True

    def forward(self, x, weight=None, bias=None, axes=(0,), eps=1e-5, statistics=None):
        self.x_hat, self.inv_std, mean, var = _normalize(x, axes, eps)
        self.axes, self.weight, self.eps = axes, weight, eps
        self.saves_output = weight is None  # then the output is x_hat itself
        if statistics is not None:  # handed back to batch_norm() for the running averages
            statistics.extend((mean, var))
        shape = self.x_hat.shape
        self.param_shape = [1 if i in axes else s for i, s in enumerate(shape)]
        out = self.x_hat
        if weight is not None:
            out = out * weight.reshape(self.param_shape) + bias.reshape(self.param_shape)
        return out

    def backward(self, grad_output):
        x_hat, axes = self.x_hat, self.axes
        grad_weight = grad_bias = None
        if self.weight is not None:
            grad_weight = (grad_output * x_hat).sum(axis=axes)
            grad_bias = grad_output.sum(axis=axes)
            grad_xhat = grad_output * self.weight.reshape(self.param_shape)
        else:
            grad_xhat = grad_output
        grad_x = _normalized_grad(grad_xhat, x_hat, self.inv_std, axes) if self.needs_input_grad[0] else None
        if self.weight is None:
            return grad_x
        return grad_x, grad_weight, grad_bias

    def composite(self, x, weight=None, bias=None):
        out = _normalize(x, self.axes, self.eps)[0]
        if weight is None:
            return out
        return out * weight.reshape(self.param_shape) + bias.reshape(self.param_shape)


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False, *, generator=None) -> Tensor:
    """Zero each element with probability ``p`` during training (scaled by 1/(1-p)); identity in eval."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    if inplace and training and p > 0:
        return in_place(input, "dropout_", lambda t: dropout(t, p, True, generator=generator))
    input = as_tensor(input)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    return Dropout.apply(input, p=p, generator=backend.numpy_generator(generator, "dropout"))


def batch_norm(
    input,
    running_mean=None,
    running_var=None,
    weight=None,
    bias=None,
    training: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Normalise over the batch (and spatial) axes per channel (axis 1).

    In training it uses the batch's statistics and updates ``running_mean``/``running_var`` in place
    (r = (1 - momentum) r + momentum * batch, with the unbiased variance, as PyTorch); in
    evaluation it uses the running statistics.
    """
    input = as_tensor(input)
    if input.ndim < 2:
        raise ShapeError(f"batch_norm: expected input of shape (batch, channels, ...), got {input.shape}")
    axes = (0,) + tuple(range(2, input.ndim))
    shape = [1 if i in axes else s for i, s in enumerate(input.shape)]
    if training:
        count = input.array.size // input.shape[1]
        if count < 2:
            raise ShapeError(
                f"batch_norm: training needs more than one value per channel, got input shape {input.shape}"
            )
        affine = (weight, bias) if weight is not None else ()
        statistics = []
        out = BatchNormTrain.apply(input, *affine, axes=axes, eps=eps, statistics=statistics)
        if running_mean is not None:
            batch_mean, batch_var = (a.reshape(-1) for a in statistics)
            running_mean, running_var = (r.array if isinstance(r, Tensor) else r for r in (running_mean, running_var))
            running_mean *= 1 - momentum
            running_mean += momentum * batch_mean
            running_var *= 1 - momentum
            running_var += momentum * batch_var * (count / (count - 1))  # the unbiased variance, as PyTorch
        return out
    if running_mean is None:
        raise ValueError("batch_norm: evaluation mode needs running_mean and running_var")
    running_mean, running_var = (r.array if isinstance(r, Tensor) else r for r in (running_mean, running_var))
    inv_std = (1.0 / array_module(running_var).sqrt(running_var + eps)).astype(input.dtype).reshape(shape)
    out = (input - Tensor.wrap(running_mean.astype(input.dtype, copy=False).reshape(shape), False)) * Tensor.wrap(
        inv_std, False
    )
    if weight is not None:
        out = out * weight.reshape(shape) + bias.reshape(shape)
    return out


def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False, *, generator=None) -> Tensor:
    """Zero whole channels (x[n, c] of a (N, C, H, W) input) with probability ``p``, scaling the rest
    by 1/(1-p); identity in eval. Neighbouring pixels are correlated, so dropping single ones would
    regularise little."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d: p must be in [0, 1], got {p}")
    if inplace and training and p > 0:
        return in_place(input, "dropout2d_", lambda t: dropout2d(t, p, True, generator=generator))
    input = as_tensor(input)
    if input.ndim not in (3, 4):
        raise ShapeError(f"dropout2d: expected input of shape (N, C, H, W) or (C, H, W), got {tuple(input.shape)}")
    if not training or p == 0.0:
        return input
    shape = input.shape[:-2] + (1, 1)
    keep = (
        random_uniform(shape, input.dtype, like=input.array) >= p
        if input.is_cuda
        else backend.numpy_generator(generator, "dropout2d").random(shape, dtype=input.dtype) >= p
    )
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return input * Tensor.wrap((keep * scale).astype(input.dtype), False)


class LayerNorm(Node):
    """y = x̂ w + b with x̂ = (x - mean) / sqrt(var + eps) over the last axes (``axes``), in one op.

    Backward, with g = dy w (dy without a weight) and M the number of elements normalised together:
    dx = rstd (g - mean(g) - x̂ mean(g x̂)) (_normalized_grad, as batch norm's over its own axes);
    dw = sum over the other axes of dy x̂; db = sum of dy."""

    saves_output = False

    def saved(self):
        return (1,) if len(self.inputs) > 1 else ()  # the weight, if any (x̂ and rstd are kept from the forward)

    def forward(self, x, weight=None, bias=None, axes=(), eps=1e-5):
        self.weight, self.axes, self.eps = weight, axes, eps
        width = int(np.prod([x.shape[a] for a in axes]))
        if x.flags.c_contiguous and (weight is None or weight.flags.c_contiguous):
            flat = lambda p: None if p is None else p.reshape(-1)  # noqa: E731
            fused = fast.layer_norm(x.reshape(-1, width), flat(weight), flat(bias), eps)  # one pass, with Numba
            if fused is not None:
                out, x_hat, rstd = fused
                self.x_hat, self.rstd = (
                    x_hat.reshape(x.shape),
                    rstd.reshape(x.shape[: x.ndim - len(axes)] + (1,) * len(axes)),
                )
                return out.reshape(x.shape)
        self.x_hat, self.rstd = _normalize(x, axes, eps)[:2]
        out = self.x_hat * weight if weight is not None else self.x_hat.copy()
        if bias is not None:
            out += bias
        return out

    def backward(self, grad_output):
        x_hat, axes = self.x_hat, self.axes
        width = int(np.prod([x_hat.shape[a] for a in axes]))
        weight = None if self.weight is None else self.weight.reshape(-1)
        fused = fast.layer_norm_backward(  # two reads of each row, where Numba is installed
            grad_output.reshape(-1, width), x_hat.reshape(-1, width), self.rstd.reshape(-1), weight
        )
        if fused is not None:
            grad_x, grad_w, grad_b = fused
            grads = [grad_x.reshape(grad_output.shape)]
            for k, grad in ((1, grad_w), (2, grad_b)):
                if len(self.needs_input_grad) > k:
                    grads.append(grad.reshape(self.weight.shape) if self.needs_input_grad[k] else None)
            return tuple(grads) if len(grads) > 1 else grads[0]
        g = grad_output * self.weight if self.weight is not None else grad_output
        grad_x = _normalized_grad(g, x_hat, self.rstd, axes)
        lead = tuple(range(grad_output.ndim - len(axes)))
        grads = [grad_x]
        if len(self.needs_input_grad) > 1:
            grads.append((grad_output * x_hat).sum(axis=lead) if self.needs_input_grad[1] else None)
        if len(self.needs_input_grad) > 2:
            grads.append(grad_output.sum(axis=lead) if self.needs_input_grad[2] else None)
        return tuple(grads) if len(grads) > 1 else grads[0]

    def composite(self, x, weight=None, bias=None):
        out = _normalize(x, self.axes, self.eps)[0]
        if weight is not None:
            out = out * weight
        return out + bias if bias is not None else out


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Normalise each sample over its last dimensions (``normalized_shape``): (x - mean) / sqrt(var + eps),
    then scale and shift; one op, its backward written out (LayerNorm above)."""
    input = as_tensor(input)
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(input.shape[input.ndim - len(normalized_shape) :]) != normalized_shape:
        raise ShapeError(
            f"layer_norm: the input's last dimensions {tuple(input.shape)} do not end with normalized_shape "
            f"{normalized_shape}"
        )
    axes = tuple(range(input.ndim - len(normalized_shape), input.ndim))
    if bias is not None and weight is None:  # rare: a weight of ones keeps the op's inputs in their places
        weight = Tensor.wrap(array_module(input.array).ones(normalized_shape, dtype=input.array.dtype), False)
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != normalized_shape:
            raise ShapeError(f"layer_norm: {name} must have shape {normalized_shape}, got {tuple(p.shape)}")
    params = [p for p in (weight, bias) if p is not None]
    if params:
        input, params[0] = operands(input, params[0], "layer_norm")
        if len(params) == 2:
            input, params[1] = operands(input, params[1], "layer_norm")
    return LayerNorm.apply(input, *params, axes=axes, eps=eps)


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:  # noqa: A002 - PyTorch's names
    """input / max(||input||_p, eps) along ``dim``: unit vectors (a zero vector stays zero)."""
    x = as_tensor(input)
    if p == 2:
        # max(sqrt(s), eps) = sqrt(max(s, eps^2)): the clip keeps sqrt's derivative finite at a zero vector
        squares = reduce_sum(x * x, dim, True)
        return x / sqrt(clip(squares, eps * eps, None))
    return x / clip(norm(x, p, dim, True), eps, None)
