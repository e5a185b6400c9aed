"""Attention layers: MultiheadAttention, and the transformer's encoder and decoder layers and stacks, with
PyTorch's parameter names (``in_proj_weight`` holding W_q, W_k, W_v stacked; ``out_proj``;
``layers.0.self_attn...``) so a PyTorch state_dict loads as it is.

Attention lets each position take a weighted mix of the others: weights = softmax(Q K^T / sqrt(d) +
mask), output = weights V, with Q, K, V linear maps of the input, in ``num_heads`` heads of
embed_dim / num_heads features each. Everything is written with the engine's ops, so its gradient is
theirs.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from .. import functional as F
from ..backend import resolve_dtype
from ..errors import ShapeError
from ..ops.attention import attention_mask
from ..tensor import Tensor, as_tensor
from . import init
from .container import ModuleList
from .layers import Dropout, LayerNorm, Linear
from .module import Module
from .parameter import Parameter


def _allowed(mask) -> Tensor:
    """MultiheadAttention's bool masks say where a query may NOT attend (PyTorch's convention there); turned
    into attention_mask's, which says where it may. Float masks are added either way."""
    mask = as_tensor(mask)
    return Tensor.wrap(~mask.array, False) if mask.dtype == np.bool_ else mask


class MultiheadAttention(Module):
    """Attention over (L, N, E) queries and (S, N, E) keys and values (``batch_first``: (N, L, E)), in
    ``num_heads`` heads; returns (output, weights averaged over the heads, or per head, or None)."""

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim=None,
        vdim=None,
        batch_first: bool = False,
        device=None,
        dtype=None,
    ):
        super().__init__()
        if not isinstance(embed_dim, int) or not isinstance(num_heads, int) or embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"MultiheadAttention: embed_dim and num_heads must be positive integers, got "
                f"{embed_dim!r}, {num_heads!r}"
            )
        if embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})"
            )
        if add_bias_kv or add_zero_attn or kdim not in (None, embed_dim) or vdim not in (None, embed_dim):
            raise NotImplementedError(
                "MultiheadAttention: add_bias_kv, add_zero_attn and kdim/vdim other than embed_dim are not supported "
                "in chainrule"
            )
        dtype = resolve_dtype(dtype)
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.dropout, self.batch_first = float(dropout), batch_first
        self.kdim = self.vdim = embed_dim
        self.in_proj_weight = Parameter(np.zeros((3 * embed_dim, embed_dim)), dtype=dtype)
        self.in_proj_bias = Parameter(np.zeros(3 * embed_dim), dtype=dtype) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype)
        init.xavier_uniform_(self.in_proj_weight)  # PyTorch's initialisation; the biases start at 0
        if bias:
            init.zeros_(self.out_proj.bias)
        if device is not None:
            self.to(device=device)

    def forward(
        self,
        query,
        key,
        value,
        key_padding_mask=None,
        need_weights: bool = True,
        attn_mask=None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ):
        if is_causal and attn_mask is None:
            raise ValueError("MultiheadAttention: is_causal is a hint that attn_mask is causal; give the attn_mask too")
        layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
        for name, x in (("query", query), ("key", key), ("value", value)):
            if not isinstance(x, Tensor) or x.ndim not in (2, 3) or x.shape[-1] != self.embed_dim:
                got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
                raise ShapeError(
                    f"MultiheadAttention(embed_dim={self.embed_dim}): expected {name} of shape {layout} or (L, E) with "
                    f"E = {self.embed_dim}, got {got}"
                )
        unbatched = query.ndim == 2
        if unbatched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            key_padding_mask = None if key_padding_mask is None else as_tensor(key_padding_mask).unsqueeze(0)
        # work in the input's own layout, batch-major (N, L, E) or sequence-major (L, N, E), so that the
        # projections read contiguous rows; only the heads' split and merge move data
        batch_major = self.batch_first or unbatched
        length, batch = (query.shape[1], query.shape[0]) if batch_major else query.shape[:2]
        source = key.shape[1] if batch_major else key.shape[0]
        embed = query.shape[-1]
        if key.shape[:2] != value.shape[:2] or key.shape[0 if batch_major else 1] != batch:
            raise ShapeError(
                f"MultiheadAttention: key {key.shape} and value {value.shape} do not match the query {query.shape}"
            )
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        b_q, b_k, b_v = (None, None, None) if self.in_proj_bias is None else self.in_proj_bias.chunk(3)
        heads, width = self.num_heads, self.head_dim
        to_heads = (0, 2, 1, 3) if batch_major else (1, 2, 0, 3)

        def split(x, w, b):  # -> (N, heads, steps, head_dim)
            y = F.linear(x, w, b)
            return y.reshape(y.shape[0], y.shape[1], heads, width).permute(*to_heads)

        q, k, v = split(query, w_q, b_q), split(key, w_k, b_k), split(value, w_v, b_v)
        scores = (q * (1 / math.sqrt(width))) @ k.transpose(-2, -1)  # (N, heads, L, S)
        if attn_mask is not None:
            mask = _allowed(attn_mask)
            if mask.shape == (batch * heads, length, source):
                mask = mask.reshape(batch, heads, length, source)
            elif mask.shape != (length, source):
                raise ShapeError(
                    f"MultiheadAttention: attn_mask must have shape ({length}, {source}) or "
                    f"({batch * heads}, {length}, {source}), got {mask.shape}"
                )
            scores = attention_mask(mask, scores, "MultiheadAttention")
        if key_padding_mask is not None:
            mask = _allowed(key_padding_mask)
            if mask.shape != (batch, source):
                raise ShapeError(
                    f"MultiheadAttention: key_padding_mask must have shape ({batch}, {source}), got {mask.shape}"
                )
            scores = attention_mask(mask.reshape(batch, 1, 1, source), scores, "MultiheadAttention", "key_padding_mask")
        weights = F.softmax(scores, -1)
        if self.dropout and self.training:
            weights = F.dropout(weights, self.dropout, training=True)
        mixed = (weights @ v).permute(*((0, 2, 1, 3) if batch_major else (2, 0, 1, 3)))  # heads side by side again
        output = self.out_proj(mixed.reshape(mixed.shape[0], mixed.shape[1], embed))
        output = output.squeeze(0) if unbatched else output
        if not need_weights:
            return output, None
        shown = weights.mean(1) if average_attn_weights else weights
        return output, shown.squeeze(0) if unbatched else shown

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"


def _activation(activation):
    if callable(activation):
        return activation
    if activation not in ("relu", "gelu"):
        raise ValueError(f"transformer layer: activation must be 'relu', 'gelu' or a callable, got {activation!r}")
    return F.relu if activation == "relu" else F.gelu


class _TransformerLayer(Module):
    """What the encoder and decoder layers share: self-attention, the feed-forward block (Linear, activation,
    Linear), ``norms`` LayerNorms and a dropout after each block, under PyTorch's attribute names."""

    norms = 2

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation="relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        attention = dict(dropout=dropout, bias=bias, batch_first=batch_first, dtype=dtype)
        self.self_attn = MultiheadAttention(d_model, nhead, **attention)
        if self.norms == 3:  # the decoder's attention to the encoder's output
            self.multihead_attn = MultiheadAttention(d_model, nhead, **attention)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        for k in range(1, self.norms + 1):
            setattr(self, f"norm{k}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
            setattr(self, f"dropout{k}", Dropout(dropout))
        self.activation = _activation(activation)
        if device is not None:
            self.to(device=device)

    def _sa_block(self, x, mask, padding, is_causal):
        out = self.self_attn(x, x, x, attn_mask=mask, key_padding_mask=padding, need_weights=False, is_causal=is_causal)
        return self.dropout1(out[0])

    def _ff_block(self, x):
        last = getattr(self, f"dropout{self.norms}")
        return last(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoderLayer(_TransformerLayer):
    """Self-attention then a feed-forward block (Linear, activation, Linear), each with a residual connection
    and LayerNorm: after each (post-norm) or before it (``norm_first``)."""

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal: bool = False):
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))


class TransformerDecoderLayer(_TransformerLayer):
    """Self-attention over the target, attention to the encoder's output (``memory``), then a feed-forward
    block; each with a residual connection and LayerNorm."""

    norms = 3

    def _mha_block(self, x, memory, mask, padding, is_causal):
        out = self.multihead_attn(
            x, memory, memory, attn_mask=mask, key_padding_mask=padding, need_weights=False, is_causal=is_causal
        )
        return self.dropout2(out[0])

    def forward(
        self,
        tgt,
        memory,
        tgt_mask=None,
        memory_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ):
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            return x + self._ff_block(self.norm3(x))
        x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
        x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
        return self.norm3(x + self._ff_block(x))


class TransformerEncoder(Module):
    """``num_layers`` copies of an encoder layer (each with its own weights), then an optional final norm."""

    def __init__(self, encoder_layer: Module, num_layers: int, norm=None, enable_nested_tensor=True, mask_check=True):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers, self.norm = num_layers, norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        return self.norm(x) if self.norm is not None else x


class TransformerDecoder(Module):
    """``num_layers`` copies of a decoder layer, then an optional final norm."""

    def __init__(self, decoder_layer: Module, num_layers: int, norm=None):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(decoder_layer) for _ in range(num_layers)])
        self.num_layers, self.norm = num_layers, norm

    def forward(
        self,
        tgt,
        memory,
        tgt_mask=None,
        memory_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        tgt_is_causal=None,
        memory_is_causal: bool = False,
    ):
        x = tgt
        for layer in self.layers:
            x = layer(
                x,
                memory,
                tgt_mask=tgt_mask,
                memory_mask=memory_mask,
                tgt_key_padding_mask=tgt_key_padding_mask,
                memory_key_padding_mask=memory_key_padding_mask,
                tgt_is_causal=bool(tgt_is_causal),
                memory_is_causal=memory_is_causal,
            )
        return self.norm(x) if self.norm is not None else x


class Transformer(Module):
    """The encoder-decoder transformer of "Attention Is All You Need": an encoder stack over the source, a
    decoder stack over the target attending to it, each ending in LayerNorm."""

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation="relu",
        custom_encoder=None,
        custom_decoder=None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        shared = dict(
            dim_feedforward=dim_feedforward,
            dropout=dropout,
            activation=activation,
            layer_norm_eps=layer_norm_eps,
            batch_first=batch_first,
            norm_first=norm_first,
            bias=bias,
            dtype=dtype,
        )
        self.encoder = custom_encoder or TransformerEncoder(
            TransformerEncoderLayer(d_model, nhead, **shared),
            num_encoder_layers,
            LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype),
        )
        self.decoder = custom_decoder or TransformerDecoder(
            TransformerDecoderLayer(d_model, nhead, **shared),
            num_decoder_layers,
            LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype),
        )
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        for p in self.parameters():  # PyTorch's _reset_parameters
            if p.ndim > 1:
                init.xavier_uniform_(p)
        if device is not None:
            self.to(device=device)

    def forward(
        self,
        src,
        tgt,
        src_mask=None,
        tgt_mask=None,
        memory_mask=None,
        src_key_padding_mask=None,
        tgt_key_padding_mask=None,
        memory_key_padding_mask=None,
        src_is_causal=None,
        tgt_is_causal=None,
        memory_is_causal: bool = False,
    ):
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(
            tgt,
            memory,
            tgt_mask=tgt_mask,
            memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=tgt_is_causal,
            memory_is_causal=memory_is_causal,
        )

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
        """A float (sz, sz) mask: 0 on and below the diagonal, -inf above (position i sees 0..i)."""
        mask = np.triu(np.full((sz, sz), -np.inf), 1).astype(resolve_dtype(dtype))
        tensor = Tensor.wrap(mask, False)
        return tensor.to(device) if device is not None else tensor
