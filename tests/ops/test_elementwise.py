import numpy as np
import pytest
import torch

import chainrule as cr
from tests.oracle import check_op

rng = np.random.default_rng(0)


def r(*shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape)


BROADCAST_PAIRS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 3, 4), (3, 1)), ((1, 4), (3, 1)), ((3, 4), ())]


@pytest.mark.parametrize("shapes", BROADCAST_PAIRS)
@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda a, b: a + b, lambda a, b: a + b),
        (lambda a, b: a - b, lambda a, b: a - b),
        (lambda a, b: a * b, lambda a, b: a * b),
        (cr.maximum, torch.maximum),
        (cr.minimum, torch.minimum),
    ],
)
def test_binary_ops_with_broadcasting(ours, theirs, shapes):
    check_op(ours, theirs, r(*shapes[0]), r(*shapes[1]))


@pytest.mark.parametrize(
    "ours, theirs, low, high",
    [
        (cr.exp, torch.exp, -2, 2),
        (cr.log, torch.log, 0.1, 3),
        (cr.sqrt, torch.sqrt, 0.1, 3),
        (cr.abs, torch.abs, -2, 2),
        (lambda x: -x, lambda x: -x, -2, 2),
        (lambda x: cr.clip(x, -0.5, 0.7), lambda x: torch.clamp(x, -0.5, 0.7), -2, 2),
        (lambda x: cr.clip(x, min=0.0), lambda x: torch.clamp(x, min=0.0), -2, 2),
        (lambda x: 3.0 - x, lambda x: 3.0 - x, -2, 2),
        (lambda x: 2.0 / x, lambda x: 2.0 / x, 0.5, 2),
        (lambda x: 2.0**x, lambda x: 2.0**x, -1, 1),
    ],
)
def test_unary_ops(ours, theirs, low, high):
    check_op(ours, theirs, r(3, 5, low=low, high=high))


def test_where_routes_gradients():
    cond = r(3, 4) > 0
    check_op(lambda a, b: cr.where(cond, a, b), lambda a, b: torch.where(torch.tensor(cond), a, b), r(3, 4), r(4))


def test_ties_split_the_gradient_like_pytorch():
    a = np.array([1.0, 2.0, 3.0])
    b = np.array([1.0, 5.0, 3.0])
    check_op(cr.maximum, torch.maximum, a, b, gradcheck=False)
    check_op(cr.minimum, torch.minimum, a, b, gradcheck=False)


def test_abs_and_clip_edges_follow_pytorch():
    x = np.array([-1.0, 0.0, 0.5, 1.0])
    check_op(cr.abs, torch.abs, x, gradcheck=False)
    check_op(lambda t: cr.clip(t, 0.0, 0.5), lambda t: torch.clamp(t, 0.0, 0.5), x, gradcheck=False)
