"""Gradients that reach a tensor through many slices of it (an RNN reading x[t] each step, split, chunk,
unbind) are added into its gradient in place by the backward walk (tensor.SliceGradient). Whatever the
mix of slices, overlaps, whole-tensor uses, leaves and autograd.grad, the result equals PyTorch's."""

import numpy as np
import pytest
import torch

import chainrule as cr

rng = np.random.default_rng(21)


def both(shape, leaf=True):
    a = rng.standard_normal(shape)
    return torch.tensor(a, requires_grad=True), cr.tensor(a, dtype=cr.float64, requires_grad=True)


CASES = {
    "rnn_loop_over_steps": lambda L, x, w: sum(
        (L.tanh(x[:, t : t + 1] * w[t]) * (t + 1)).sum() for t in range(x.shape[1])
    ),
    "overlapping_slices": lambda L, x, w: (x[:, 0:3] * 2).sum() + (x[:, 1:4] ** 2).sum() + x[0].sum(),
    "slices_and_the_whole": lambda L, x, w: (x[:, 2] * 3).sum() + (x * x).sum() + x[1:, 1].sum(),
    "unbind_split_chunk": lambda L, x, w: sum(
        (p * (k + 1)).sum() for k, p in enumerate(list(x.unbind(1)) + list(x.split(2, dim=1)) + list(x.chunk(3, 0)))
    ),
    "slice_of_an_intermediate": lambda L, x, w: sum((L.sigmoid(y) ** 2).sum() for y in (x @ w.t() @ w).unbind(1)),
    "one_slice_only": lambda L, x, w: (x[1, 2:5] * 5).sum(),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_slice_gradients_equal_pytorch(name):
    xt, xc = both((4, 6))
    wt, wc = both((6, 6))
    CASES[name](torch, xt, wt).backward()
    CASES[name](cr, xc, wc).backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    if wt.grad is not None:
        np.testing.assert_allclose(wc.grad.numpy(), wt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_accumulating_twice_autograd_grad_and_anomaly_mode():
    xt, xc = both((3, 5))
    for x in (xt, xc):
        for _ in range(2):  # .grad accumulates across backward calls, slice by slice
            sum((x[:, t] * t).sum() for t in range(5)).backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy())
    (gt,) = torch.autograd.grad(sum((xt[i] ** 2).sum() for i in range(3)), [xt])
    (gc,) = cr.autograd.grad(sum((xc[i] ** 2).sum() for i in range(3)), [xc])
    np.testing.assert_allclose(gc.numpy(), gt.numpy())
    xc.grad = None
    with cr.autograd.detect_anomaly() if hasattr(cr.autograd, "detect_anomaly") else cr.detect_anomaly():
        sum((xc[:, t] * 2).sum() for t in range(5)).backward()
    np.testing.assert_allclose(xc.grad.numpy(), np.full((3, 5), 2.0))


def test_a_shared_gradient_is_never_written_into():
    """Add hands the same gradient array to both its inputs; adding a slice into one must copy it first."""
    xt, xc = both((2, 3))
    for x in (xt, xc):
        y = x * 1.0
        z = y + y  # y's two gradients: the very same array
        (z.sum() + (y[0] * 4).sum()).backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy())
