"""Shared checks: an op against numerical gradients (gradcheck) and against PyTorch, and dtype keeping."""

from __future__ import annotations

import numpy as np
import torch

import chainrule as cr


def _is_float(a) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def _inputs(arrays, dtype, grad=True):
    out = []
    for a in arrays:
        if _is_float(a):
            out.append(cr.tensor(a, dtype=dtype, requires_grad=grad))
        elif isinstance(a, np.ndarray):
            out.append(cr.tensor(a))
        else:
            out.append(a)
    return out


def _torch_inputs(arrays):
    out = []
    for a in arrays:
        if _is_float(a):
            out.append(torch.tensor(a, dtype=torch.float64, requires_grad=True))
        elif isinstance(a, np.ndarray):
            out.append(torch.tensor(a))
        else:
            out.append(a)
    return out


def check_op(cr_fn, torch_fn, *arrays, rtol=1e-7, atol=1e-9, gradcheck=True, seed=0):
    """Forward and gradients equal PyTorch's (float64), pass gradcheck, and float32 stays float32."""
    ours = _inputs(arrays, cr.float64)
    out = cr_fn(*ours)
    theirs = _torch_inputs(arrays)
    expected = torch_fn(*theirs)
    np.testing.assert_allclose(out.array, expected.detach().numpy(), rtol=rtol, atol=atol, err_msg="forward")
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for index, (a, b) in enumerate(zip(ours, theirs)):
        if isinstance(a, cr.Tensor) and a.requires_grad:
            assert a.grad is not None, f"input {index} got no gradient"
            assert a.grad.shape == a.shape and a.grad.dtype == a.dtype
            np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=rtol, atol=atol, err_msg=f"grad of input {index}")
    if gradcheck:
        assert cr.gradcheck(cr_fn, _inputs(arrays, cr.float64))
    check_float32(cr_fn, *arrays)


def check_float32(cr_fn, *arrays):
    ours = _inputs(arrays, cr.float32)
    out = cr_fn(*ours)
    assert out.dtype == np.float32, f"float32 in gave {out.dtype} out"
    out.backward(np.ones(out.shape, dtype=np.float32))
    for t in ours:
        if isinstance(t, cr.Tensor) and t.requires_grad:
            assert t.grad.dtype == np.float32, f"float32 input got a {t.grad.dtype} gradient"
