"""Gradient clipping, as torch.nn.utils (call between backward() and step())."""

from __future__ import annotations

import math

import numpy as np

from ...backend import array_module
from ...ops.shape import cat
from ...tensor import Tensor


def _with_grads(parameters) -> list:
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """Scale all gradients together so that their joint norm is at most ``max_norm``; returns the
    norm before clipping. The direction of the update is kept, only its length is limited."""
    params = _with_grads(parameters)
    if not params:
        return Tensor(0.0)
    grads = [p.grad.array for p in params]
    if norm_type == math.inf:
        total = max(float(array_module(g).abs(g).max()) for g in grads)
    else:
        # ||(g_1, ..., g_n)||_p = (sum_i ||g_i||_p^p)^(1/p), accumulated in float64
        total = float(
            sum(float((array_module(g).abs(g.astype(np.float64)) ** norm_type).sum()) for g in grads)
            ** (1.0 / norm_type)
        )
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of the gradients is {total}; set error_if_nonfinite=False to clip anyway"
        )
    scale = max_norm / (total + 1e-6)  # PyTorch's epsilon
    if scale < 1.0:
        for p in params:
            p.grad.array *= p.grad.dtype.type(scale)
            p.grad._bump_version()
    return Tensor(total, dtype=grads[0].dtype)


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient element to [-clip_value, clip_value]."""
    for p in _with_grads(parameters):
        array_module(p.grad.array).clip(p.grad.array, -clip_value, clip_value, out=p.grad.array)
        p.grad._bump_version()


def parameters_to_vector(parameters) -> Tensor:
    """All parameters flattened into one vector (a copy)."""
    return cat([p.reshape(-1) for p in parameters])


__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector"]
