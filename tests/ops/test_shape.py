import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.errors import DTypeError, ShapeError
from tests.oracle import check_op

rng = np.random.default_rng(2)


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda x: x.reshape(4, 6), lambda x: x.reshape(4, 6)),
        (lambda x: cr.reshape(x, (-1,)), lambda x: x.reshape(-1)),
        (lambda x: x.T, lambda x: x.permute(2, 1, 0)),
        (lambda x: x.transpose(0, 2), lambda x: x.transpose(0, 2)),
        (lambda x: x.permute(1, 2, 0), lambda x: x.permute(1, 2, 0)),
        (lambda x: x.flatten(), lambda x: x.flatten()),
        (lambda x: cr.flatten(x, 1), lambda x: torch.flatten(x, 1)),
        (lambda x: x.unsqueeze(1), lambda x: x.unsqueeze(1)),
        (lambda x: x[1], lambda x: x[1]),
        (lambda x: x[:, 1:3], lambda x: x[:, 1:3]),
        (lambda x: x[..., ::2], lambda x: x[..., ::2]),
        (lambda x: x[-1, :, 0], lambda x: x[-1, :, 0]),
        (lambda x: x[[0, 1, 0]], lambda x: x[[0, 1, 0]]),
        (lambda x: x[:, [3, 3, 1]], lambda x: x[:, [3, 3, 1]]),
        (lambda x: x[np.array([0, 1]), np.array([2, 2])], lambda x: x[[0, 1], [2, 2]]),
        (lambda x: x[x.array > 0], lambda x: x[x > 0]),
    ],
)
def test_shape_ops_match_pytorch(ours, theirs):
    check_op(ours, theirs, rng.standard_normal((2, 4, 3)))


def test_repeated_indices_accumulate():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_allclose(x.grad, [3.0, 0.0, 1.0])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_and_stack(axis):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    check_op(lambda x, y: cr.concatenate([x, y], axis=axis), lambda x, y: torch.cat([x, y], dim=axis), a, b)
    check_op(lambda x, y: cr.stack([x, y], axis=axis), lambda x, y: torch.stack([x, y], dim=axis), a, b)


def test_concatenate_uneven_sizes():
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((5, 3))
    check_op(lambda x, y: cr.concatenate([x, y]), lambda x, y: torch.cat([x, y]), a, b)


def test_shape_errors_name_the_op():
    with pytest.raises(ShapeError, match=r"reshape.*\(2, 3\).*\(4, 2\)"):
        cr.ones(2, 3).reshape(4, 2)
    with pytest.raises(ShapeError, match="concatenate"):
        cr.concatenate([cr.ones(2, 3), cr.ones(2, 4)])
    with pytest.raises(ShapeError, match="stack"):
        cr.stack([cr.ones(2, 3), cr.ones(3, 2)])
    with pytest.raises(DTypeError):
        cr.stack([cr.ones(2), cr.ones(2, dtype="float64")])
    with pytest.raises(IndexError, match="getitem"):
        cr.ones(2, 3)[5]
