"""Scaled dot-product attention, written with the engine's ops: softmax(q k^T / sqrt(E) + mask) v. Its
backward is theirs (matmul, softmax, where), so the gradient reaching each key and value is the chain
rule through the attention weights."""

from __future__ import annotations

import math

import numpy as np

from ..errors import DTypeError, ShapeError
from ..tensor import Tensor, as_tensor
from .activation import softmax
from .arrange import tril
from .elementwise import where
from .linalg import matmul
from .regularize import dropout


def attention_mask(mask, scores: Tensor, op: str, name: str = "attn_mask") -> Tensor:
    """scores with ``mask`` applied: a bool mask keeps where True (-inf elsewhere), a float mask is added."""
    mask = as_tensor(mask)
    try:
        np.broadcast_shapes(mask.shape, scores.shape)
    except ValueError:
        raise ShapeError(
            f"{op}: {name} of shape {mask.shape} does not broadcast to the scores' {scores.shape}"
        ) from None
    if mask.dtype == np.bool_:
        return where(mask, scores, float("-inf"))
    if mask.array.dtype.kind != "f":
        raise DTypeError(f"{op}: {name} must be bool or float, got {mask.dtype}")
    return scores + mask


def scaled_dot_product_attention(
    query, key, value, attn_mask=None, dropout_p: float = 0.0, is_causal: bool = False, scale=None, enable_gqa=False
) -> Tensor:
    """softmax(Q K^T * scale + mask) V over the last two axes: (..., L, E) queries, (..., S, E) keys, (..., S, Ev)
    values. ``attn_mask``: bool (True takes part) or float (added to the scores); ``is_causal``: query i sees
    keys 0..i; ``scale`` defaults to 1/sqrt(E); ``dropout_p`` drops attention weights (always, as PyTorch's)."""
    q, k, v = as_tensor(query), as_tensor(key), as_tensor(value)
    op = "scaled_dot_product_attention"
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2 or q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ShapeError(
            f"{op}: expected query (..., L, E), key (..., S, E) and value (..., S, Ev), got {q.shape}, {k.shape}, "
            f"{v.shape}"
        )
    if is_causal and attn_mask is not None:
        raise ValueError(f"{op}: give attn_mask or is_causal, not both")
    if enable_gqa:
        raise NotImplementedError(f"{op}: enable_gqa (grouped-query attention) is not supported in chainrule")
    factor = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = matmul(q, k.transpose(-2, -1)) * factor  # (..., L, S): how well query i matches key j
    if is_causal:
        causal = tril(Tensor.wrap(np.ones((q.shape[-2], k.shape[-2]), dtype=np.bool_), False))
        scores = attention_mask(causal, scores, op)
    elif attn_mask is not None:
        scores = attention_mask(attn_mask, scores, op)
    weights = softmax(scores, -1)  # each query's weights over the keys sum to 1
    if dropout_p > 0:
        weights = dropout(weights, dropout_p, training=True)
    return matmul(weights, v)
