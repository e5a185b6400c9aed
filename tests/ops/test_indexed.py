"""scatter, scatter_add, index_add, einsum, F.pad and F.normalize: values and gradients equal PyTorch's in
float64, pass gradcheck, and keep float32."""

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F
from tests.oracle import check_op

rng = np.random.default_rng(5)


def test_scatter_and_scatter_add():
    x, src = rng.standard_normal((3, 5)), rng.standard_normal((2, 5))
    index = np.array([[0, 1, 2, 0, 1], [2, 0, 1, 1, 0]])  # distinct per column, so scatter's result is defined
    ci, ti = cr.tensor(index), torch.tensor(index)
    check_op(lambda a, b: cr.scatter(a, 0, ci, b), lambda a, b: torch.scatter(a, 0, ti, b), x, src)
    check_op(lambda a, b: cr.scatter_add(a, 0, ci, b), lambda a, b: torch.scatter_add(a, 0, ti, b), x, src)
    repeated = np.array([[0, 0], [1, 1], [1, 1]])  # repeated indices add up
    check_op(
        lambda a, b: a.scatter_add(1, cr.tensor(repeated), b[:, :2]),
        lambda a, b: a.scatter_add(1, torch.tensor(repeated), b[:, :2]),
        x,
        rng.standard_normal((3, 2)),
    )
    check_op(lambda a: cr.scatter(a, 1, ci[:, :3], value=2.5), lambda a: torch.scatter(a, 1, ti[:, :3], 2.5), x)


def test_index_add():
    x, source = rng.standard_normal((4, 3)), rng.standard_normal((5, 3))
    index = [0, 2, 2, 3, 0]
    check_op(
        lambda a, b: cr.index_add(a, 0, cr.tensor(index), b, alpha=2.0),
        lambda a, b: torch.index_add(a, 0, torch.tensor(index), b, alpha=2.0),
        x,
        source,
    )


@pytest.mark.parametrize(
    "equation, shapes",
    [
        ("ij,jk->ik", [(3, 4), (4, 2)]),
        ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
        ("bhtd,bhsd->bhts", [(2, 2, 3, 4), (2, 2, 5, 4)]),  # attention scores
        ("i,j->ij", [(3,), (4,)]),
        ("ij->j", [(3, 4)]),  # a letter summed away: broadcast back
        ("ij,ij->", [(3, 4), (3, 4)]),
        ("...ij->...ji", [(2, 3, 4)]),
        ("ij,jk", [(2, 3), (3, 2)]),  # implicit output
    ],
)
def test_einsum(equation, shapes):
    arrays = [rng.standard_normal(s) for s in shapes]
    check_op(lambda *t: cr.einsum(equation, *t), lambda *t: torch.einsum(equation, *t), *arrays)


def test_einsum_trace_without_gradient_only():
    m = rng.standard_normal((3, 3))
    assert np.isclose(cr.einsum("ii->", cr.tensor(m)).item(), np.trace(m))
    with pytest.raises(NotImplementedError, match="einsum: a letter repeated within one operand"):
        cr.einsum("ii->", cr.tensor(m, requires_grad=True))


@pytest.mark.parametrize(
    "pad, mode",
    [
        ((1, 2), "constant"),
        ((1, 0, 2, 1), "constant"),
        ((-1, 2, 1, -1), "constant"),
        ((2, 1, 1, 3), "reflect"),
        ((1, 2, 2, 0), "replicate"),
        ((3, 1, 0, 2), "circular"),
    ],
)
def test_pad(pad, mode):
    x = rng.standard_normal((2, 3, 4, 5))
    check_op(lambda t: F.pad(t, pad, mode=mode), lambda t: torch.nn.functional.pad(t, pad, mode=mode), x)


def test_pad_value_and_errors():
    x = rng.standard_normal((2, 3))
    check_op(lambda t: F.pad(t, (1, 1), value=-2.0), lambda t: torch.nn.functional.pad(t, (1, 1), value=-2.0), x)
    with pytest.raises(ValueError, match="pad: expected an even number"):
        F.pad(cr.tensor(x), (1, 2, 3))
    with pytest.raises(ValueError, match="reflect padding of 3 must be smaller"):
        F.pad(cr.tensor(x), (3, 0), mode="reflect")
    with pytest.raises(ValueError, match="reflect padding of 1 dimension"):
        F.pad(cr.ones(2, 2, 2, 3), (1, 1), mode="reflect")


def test_normalize():
    x = rng.standard_normal((4, 3))
    check_op(F.normalize, torch.nn.functional.normalize, x)
    x[1] = 0  # a zero row stays zero, with PyTorch's finite gradient (1/eps: a kink that finite differences miss)
    check_op(F.normalize, torch.nn.functional.normalize, x, gradcheck=False)
    check_op(lambda t: F.normalize(t, p=1, dim=0), lambda t: torch.nn.functional.normalize(t, p=1, dim=0), x + 3)
