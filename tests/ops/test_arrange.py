"""tril, triu, roll, repeat_interleave, masked_select, log2 and log10: values and gradients equal PyTorch's
in float64, pass gradcheck, and keep float32."""

import numpy as np
import pytest
import torch

import chainrule as cr
from tests.oracle import check_op

rng = np.random.default_rng(4)


@pytest.mark.parametrize("k", [-2, 0, 1, 3])
def test_triangles(k):
    x = rng.standard_normal((2, 4, 5))
    check_op(lambda t: cr.tril(t, k), lambda t: torch.tril(t, k), x)
    check_op(lambda t: cr.triu(t, k), lambda t: torch.triu(t, k), x)


def test_roll():
    x = rng.standard_normal((3, 4))
    check_op(lambda t: cr.roll(t, 5), lambda t: torch.roll(t, 5), x)
    check_op(lambda t: cr.roll(t, (-1, 2), (0, 1)), lambda t: torch.roll(t, (-1, 2), (0, 1)), x)


def test_repeat_interleave():
    x = rng.standard_normal((3, 2))
    check_op(lambda t: cr.repeat_interleave(t, 2), lambda t: torch.repeat_interleave(t, 2), x)
    counts = [2, 0, 3]
    check_op(
        lambda t: cr.repeat_interleave(t, cr.tensor(counts), dim=0),
        lambda t: torch.repeat_interleave(t, torch.tensor(counts), dim=0),
        x,
    )


def test_masked_select():
    x = rng.standard_normal((3, 4))
    mask = rng.random((1, 4)) > 0.4
    check_op(lambda t: cr.masked_select(t, cr.tensor(mask)), lambda t: torch.masked_select(t, torch.tensor(mask)), x)


def test_logarithms():
    x = rng.uniform(0.1, 4.0, (3, 4))
    check_op(cr.log2, torch.log2, x)
    check_op(cr.log10, torch.log10, x)
