"""Attention against PyTorch: scaled_dot_product_attention, MultiheadAttention and the transformer layers
and stacks, from the same weights (a PyTorch state_dict loaded as it is), in float64: outputs, attention
weights and the gradients of inputs and every parameter; gradcheck; errors naming the layer."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn

rng = np.random.default_rng(11)
F64 = cr.float64


def load(theirs, ours):
    ours.load_state_dict({k: cr.tensor(v.detach().numpy(), dtype=F64) for k, v in theirs.state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())


def both(*shape):
    a = rng.standard_normal(shape)
    return torch.tensor(a, requires_grad=True), cr.tensor(a, dtype=F64, requires_grad=True)


def same(a, b, what):
    np.testing.assert_allclose(
        a.detach().numpy() if isinstance(a, cr.Tensor) else a, b.detach().numpy(), rtol=1e-9, atol=1e-12, err_msg=what
    )


def same_grads(theirs, ours, pairs):
    named = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        same(p.grad, named[name].grad, f"gradient of {name}")
    for k, (t, c) in enumerate(pairs):
        same(c.grad, t.grad, f"gradient of input {k}")


@pytest.mark.parametrize("mask", ["none", "causal", "bool", "float"])
def test_scaled_dot_product_attention(mask):
    (qt, qc), (kt, kc), (vt, vc) = both(2, 3, 5, 4), both(2, 3, 6, 4), both(2, 3, 6, 2)
    kwargs_t, kwargs_c = {}, {}
    if mask == "causal":
        kwargs_t = kwargs_c = {"is_causal": True}
    elif mask == "bool":
        m = rng.random((5, 6)) > 0.3
        m[:, 0] = True  # every query sees a key
        kwargs_t, kwargs_c = {"attn_mask": torch.tensor(m)}, {"attn_mask": cr.tensor(m)}
    elif mask == "float":
        m = rng.standard_normal((2, 1, 5, 6))
        kwargs_t, kwargs_c = {"attn_mask": torch.tensor(m)}, {"attn_mask": cr.tensor(m, dtype=F64)}
    yt = torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, scale=0.7, **kwargs_t)
    yc = nn.functional.scaled_dot_product_attention(qc, kc, vc, scale=0.7, **kwargs_c)
    w = rng.standard_normal(tuple(yt.shape))
    (yt * torch.tensor(w)).sum().backward()
    (yc * cr.tensor(w, dtype=F64)).sum().backward()
    same(yc, yt, "output")
    for t, c in ((qt, qc), (kt, kc), (vt, vc)):
        same(c.grad, t.grad, "gradient")


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("average", [True, False])
def test_multihead_attention(batch_first, average):
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first).double()
    ours = nn.MultiheadAttention(8, 2, batch_first=batch_first, dtype=F64)
    load(theirs, ours)
    shape = (3, 5, 8) if batch_first else (5, 3, 8)
    kshape = (3, 4, 8) if batch_first else (4, 3, 8)
    (qt, qc), (kt, kc), (vt, vc) = both(*shape), both(*kshape), both(*kshape)
    padding = np.zeros((3, 4), bool)
    padding[0, 3] = padding[2, 0] = True
    blocked = np.triu(np.ones((5, 4), bool), 2)
    ot, wt = theirs(
        qt,
        kt,
        vt,
        key_padding_mask=torch.tensor(padding),
        attn_mask=torch.tensor(blocked),
        average_attn_weights=average,
    )
    oc, wc = ours(
        qc, kc, vc, key_padding_mask=cr.tensor(padding), attn_mask=cr.tensor(blocked), average_attn_weights=average
    )
    same(oc, ot, "output")
    same(wc, wt, "attention weights")
    ((ot**2).sum() + (wt * 3).sum()).backward()
    ((oc**2).sum() + (wc * 3).sum()).backward()
    same_grads(theirs, ours, [(qt, qc), (kt, kc), (vt, vc)])


def test_multihead_attention_unbatched_float_mask_and_no_weights():
    torch.manual_seed(1)
    theirs, ours = torch.nn.MultiheadAttention(6, 3).double(), nn.MultiheadAttention(6, 3, dtype=F64)
    load(theirs, ours)
    (xt, xc) = both(4, 6)
    m = rng.standard_normal((4, 4))
    ot, wt = theirs(xt, xt, xt, attn_mask=torch.tensor(m))
    oc, wc = ours(xc, xc, xc, attn_mask=cr.tensor(m, dtype=F64))
    same(oc, ot, "unbatched output")
    same(wc, wt, "unbatched weights")
    assert ours(xc, xc, xc, need_weights=False)[1] is None


@pytest.mark.filterwarnings("ignore:Support for mismatched src_key_padding_mask:UserWarning")  # PyTorch's own
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_encoder_stack(norm_first, activation):
    torch.manual_seed(0)
    layer_t = torch.nn.TransformerEncoderLayer(
        8, 2, 16, dropout=0.0, activation=activation, norm_first=norm_first, batch_first=True
    )
    theirs = torch.nn.TransformerEncoder(layer_t, 2, norm=torch.nn.LayerNorm(8), enable_nested_tensor=False).double()
    layer_c = nn.TransformerEncoderLayer(
        8, 2, 16, dropout=0.0, activation=activation, norm_first=norm_first, batch_first=True, dtype=F64
    )
    ours = nn.TransformerEncoder(layer_c, 2, norm=nn.LayerNorm(8, dtype=F64))
    load(theirs, ours)
    xt, xc = both(2, 6, 8)
    padding = np.zeros((2, 6), bool)
    padding[1, 4:] = True
    mask_t = torch.nn.Transformer.generate_square_subsequent_mask(6, dtype=torch.float64)
    mask_c = nn.Transformer.generate_square_subsequent_mask(6, dtype=F64)
    yt = theirs(xt, mask=mask_t, src_key_padding_mask=torch.tensor(padding), is_causal=True)
    yc = ours(xc, mask=mask_c, src_key_padding_mask=cr.tensor(padding), is_causal=True)
    same(yc, yt, "encoder output")
    (yt**3).sum().backward()
    (yc**3).sum().backward()
    same_grads(theirs, ours, [(xt, xc)])


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True:UserWarning")  # PyTorch's own
def test_transformer():
    torch.manual_seed(0)
    theirs = torch.nn.Transformer(8, 2, 2, 2, 16, dropout=0.0).double()
    ours = nn.Transformer(8, 2, 2, 2, 16, dropout=0.0, dtype=F64)
    load(theirs, ours)
    (st, sc), (tt, tc) = both(5, 2, 8), both(4, 2, 8)
    yt = theirs(st, tt, tgt_mask=theirs.generate_square_subsequent_mask(4, dtype=torch.float64))
    yc = ours(sc, tc, tgt_mask=ours.generate_square_subsequent_mask(4, dtype=F64))
    same(yc, yt, "transformer output")
    (yt * yt.detach()).sum().backward()
    (yc * yc.detach()).sum().backward()
    same_grads(theirs, ours, [(st, sc), (tt, tc)])


def test_gradcheck_attention():
    cr.manual_seed(0)
    attention = nn.MultiheadAttention(4, 2, dtype=F64)
    x = cr.tensor(rng.standard_normal((3, 2, 4)), dtype=F64, requires_grad=True)
    causal = cr.tensor(np.triu(np.ones((3, 3), bool), 1))
    assert cr.gradcheck(lambda t: attention(t, t, t, attn_mask=causal)[0], [x])


def test_dropout_acts_only_in_training_and_float32_stays():
    cr.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5, batch_first=True)
    x = cr.randn(2, 5, 8)
    assert layer(x).dtype == cr.float32
    assert not cr.equal(layer(x), layer(x))
    layer.eval()
    assert cr.equal(layer(x), layer(x))


def test_errors_name_the_layer():
    ShapeError = cr.errors.ShapeError
    with pytest.raises(ValueError, match=r"embed_dim \(10\) must be divisible by num_heads \(3\)"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ShapeError, match=r"MultiheadAttention\(embed_dim=8\): expected query of shape \(N, L, E\)"):
        nn.MultiheadAttention(8, 2, batch_first=True)(cr.randn(2, 3, 5), cr.randn(2, 3, 8), cr.randn(2, 3, 8))
    with pytest.raises(ShapeError, match=r"attn_mask must have shape \(3, 3\) or \(4, 3, 3\)"):
        x = cr.randn(3, 2, 8)
        nn.MultiheadAttention(8, 2)(x, x, x, attn_mask=cr.zeros(2, 2))
    with pytest.raises(ValueError, match="is_causal is a hint"):
        x = cr.randn(3, 2, 8)
        nn.MultiheadAttention(8, 2)(x, x, x, is_causal=True)
    with pytest.raises(ShapeError, match="scaled_dot_product_attention: expected query"):
        nn.functional.scaled_dot_product_attention(cr.randn(2, 3), cr.randn(2, 4), cr.randn(2, 4))
    with pytest.raises(ValueError, match="activation must be 'relu', 'gelu' or a callable"):
        nn.TransformerEncoderLayer(8, 2, activation="swish")
