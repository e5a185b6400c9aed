"""Conv1d, 1-D pooling, adaptive average pooling, GroupNorm and RMSNorm against PyTorch in float64 (values
and gradients, from the same weights), with gradcheck; BatchNorm1d over (N, C, L)."""

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from tests.oracle import check_op

rng = np.random.default_rng(13)
TF = torch.nn.functional


@pytest.mark.parametrize("stride, padding", [(1, 0), (2, 1), (1, "same"), (3, "valid")])
def test_conv1d(stride, padding):
    x, w, b = rng.standard_normal((2, 3, 9)), rng.standard_normal((4, 3, 3)), rng.standard_normal(4)
    check_op(
        lambda *t: F.conv1d(*t, stride=stride, padding=padding),
        lambda *t: TF.conv1d(*t, stride=stride, padding=padding),
        x,
        w,
        b,
    )


@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), (3, 1, 0)])
def test_pool1d(kernel, stride, padding):
    x = rng.standard_normal((2, 3, 10))
    check_op(lambda t: F.max_pool1d(t, kernel, stride, padding), lambda t: TF.max_pool1d(t, kernel, stride, padding), x)
    check_op(lambda t: F.avg_pool1d(t, kernel, stride, padding), lambda t: TF.avg_pool1d(t, kernel, stride, padding), x)


@pytest.mark.parametrize("size", [1, 3, 5, 7])
def test_adaptive_avg_pool(size):
    check_op(
        lambda t: F.adaptive_avg_pool1d(t, size),
        lambda t: TF.adaptive_avg_pool1d(t, size),
        rng.standard_normal((2, 3, 10)),
    )
    x = rng.standard_normal((2, 3, 7, 6))
    check_op(lambda t: F.adaptive_avg_pool2d(t, size), lambda t: TF.adaptive_avg_pool2d(t, size), x)
    check_op(lambda t: F.adaptive_avg_pool2d(t, (size, 2)), lambda t: TF.adaptive_avg_pool2d(t, (size, 2)), x)


def test_group_and_rms_norm():
    x, w, b = rng.standard_normal((3, 6, 5)), rng.standard_normal(6), rng.standard_normal(6)
    check_op(lambda *t: F.group_norm(t[0], 3, t[1], t[2]), lambda *t: TF.group_norm(t[0], 3, t[1], t[2]), x, w, b)
    check_op(lambda t: F.group_norm(t, 2), lambda t: TF.group_norm(t, 2), x)
    g = rng.standard_normal(5)
    check_op(lambda a, c: F.rms_norm(a, 5, c), lambda a, c: TF.rms_norm(a, (5,), c), x, g)
    check_op(lambda a: F.rms_norm(a, (6, 5), eps=1e-3), lambda a: TF.rms_norm(a, (6, 5), eps=1e-3), x)


@pytest.mark.parametrize(
    "make",
    [
        lambda L: L.nn.Conv1d(3, 4, 3, stride=2, padding=1),
        lambda L: L.nn.Sequential(L.nn.Conv1d(3, 4, 2), L.nn.MaxPool1d(2), L.nn.AdaptiveAvgPool1d(2)),
        lambda L: L.nn.Sequential(L.nn.GroupNorm(3, 3), L.nn.AvgPool1d(3, 1)),
        lambda L: L.nn.RMSNorm(8),
        lambda L: L.nn.BatchNorm1d(3),
    ],
    ids=["Conv1d", "conv-pool-adaptive", "GroupNorm-AvgPool1d", "RMSNorm", "BatchNorm1d-NCL"],
)
def test_modules_load_pytorch_weights(make):
    torch.manual_seed(0)
    theirs = make(torch).double()
    ours = make(cr)
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    ours.to(cr.float64)
    x = rng.standard_normal((4, 3, 8))
    xt, xc = torch.tensor(x, requires_grad=True), cr.tensor(x, dtype=cr.float64, requires_grad=True)
    yt, yc = theirs(xt), ours(xc)
    np.testing.assert_allclose(yc.detach().numpy(), yt.detach().numpy(), rtol=1e-9, atol=1e-12)
    (yt**2).sum().backward()
    (yc**2).sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    named = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), named[name].grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


def test_errors():
    with pytest.raises(cr.errors.ShapeError, match=r"Conv1d\(3, 4\): expected input of shape \(N, 3, L\)"):
        nn.Conv1d(3, 4, 3)(cr.randn(2, 5, 9))
    with pytest.raises(ValueError, match=r"GroupNorm: num_channels \(6\) must be divisible by num_groups \(4\)"):
        nn.GroupNorm(4, 6)
    with pytest.raises(NotImplementedError, match="conv1d: dilation and groups"):
        F.conv1d(cr.randn(1, 2, 5), cr.randn(2, 2, 3), dilation=2)


@pytest.mark.parametrize("shape, normalized", [((3, 4), (4,)), ((2, 5, 6), (6,)), ((4, 2, 3), (2, 3))])
def test_layer_norm_op_matches_pytorch(shape, normalized):
    x, w, b = rng.standard_normal(shape), rng.standard_normal(normalized), rng.standard_normal(normalized)
    check_op(
        lambda *t: F.layer_norm(t[0], normalized, t[1], t[2]),
        lambda *t: TF.layer_norm(t[0], normalized, t[1], t[2]),
        x,
        w,
        b,
    )
    check_op(lambda t: F.layer_norm(t, normalized), lambda t: TF.layer_norm(t, normalized), x)
    check_op(lambda t, c: F.layer_norm(t, normalized, c), lambda t, c: TF.layer_norm(t, normalized, c), x, w)


def test_layer_norm_weight_written_in_place_is_caught():
    weight = cr.ones(4, requires_grad=True)
    y = F.layer_norm(cr.randn(3, 4, requires_grad=True), 4, weight)
    with cr.no_grad():
        weight.mul_(2)
    with pytest.raises(cr.errors.GraphError, match="layer_norm"):
        y.sum().backward()


@pytest.mark.parametrize("fast", [True, False], ids=["Numba kernel", "NumPy path"])
def test_layer_norm_large_rows_on_both_paths(fast):
    """Rows large enough for backend/cpu.py's one-pass kernel (where Numba is installed) and the NumPy path."""
    from chainrule.backend import cpu

    previous = cpu.set_fast_kernels(fast)
    try:
        x, w, b = rng.standard_normal((8, 64, 128)), rng.standard_normal(128), rng.standard_normal(128)
        check_op(
            lambda *t: F.layer_norm(t[0], 128, t[1], t[2]),
            lambda *t: TF.layer_norm(t[0], (128,), t[1], t[2]),
            x,
            w,
            b,
            gradcheck=False,
        )
        check_op(lambda t: F.layer_norm(t, (64, 128)), lambda t: TF.layer_norm(t, (64, 128)), x, gradcheck=False)
    finally:
        cpu.set_fast_kernels(previous)


@pytest.mark.parametrize("fast", [True, False], ids=["Numba kernel", "NumPy path"])
def test_layer_norm_in_float32_matches_pytorch_on_both_paths(fast, monkeypatch):
    """float32 rows through the forward and backward kernels (their sums in float64, taken in any order) or the
    NumPy path: output and the three gradients equal PyTorch's to float32's tolerance, and a weight that needs
    no gradient gets none."""
    from chainrule.backend import cpu
    from chainrule.backend import fast as dispatch

    previous = cpu.set_fast_kernels(fast)
    ran, original = [], dispatch.layer_norm_backward
    monkeypatch.setattr(dispatch, "layer_norm_backward", lambda *a: ran.append(original(*a)) or ran[-1])
    try:
        x, w, b, g = (rng.standard_normal(s).astype(np.float32) for s in ((6, 50, 96), (96,), (96,), (6, 50, 96)))
        ours = [cr.tensor(a, requires_grad=True) for a in (x, w, b)]
        theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
        F.layer_norm(ours[0], 96, ours[1], ours[2]).backward(cr.tensor(g))
        TF.layer_norm(theirs[0], (96,), theirs[1], theirs[2]).backward(torch.tensor(g))
        for a, t in zip(ours, theirs):
            assert a.grad.dtype == np.float32
            np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-4, atol=2e-5)
        out = F.layer_norm(cr.tensor(x), 96, cr.tensor(w), cr.tensor(b))
        np.testing.assert_allclose(
            out.numpy(),
            TF.layer_norm(torch.tensor(x), (96,), torch.tensor(w), torch.tensor(b)).numpy(),
            rtol=1e-5,
            atol=1e-5,
        )
        frozen = cr.tensor(w)
        inputs = cr.tensor(x, requires_grad=True)
        F.layer_norm(inputs, 96, frozen, cr.tensor(b)).backward(cr.tensor(g))
        assert frozen.grad is None and inputs.grad is not None
    finally:
        cpu.set_fast_kernels(previous)
    assert all((r is not None) == fast for r in ran) and ran  # the kernel ran exactly on the Numba path


def test_layer_norm_of_an_empty_batch_has_empty_gradients():
    x = cr.randn(0, 5000, requires_grad=True)
    norm = nn.LayerNorm(5000)
    y = norm(x)
    y.backward(cr.ones_like(y))
    assert x.grad.shape == (0, 5000) and norm.weight.grad.shape == (5000,)
    assert not norm.weight.grad.numpy().any() and not norm.bias.grad.numpy().any()
