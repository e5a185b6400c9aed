import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
from chainrule.errors import ShapeError
from tests.oracle import check_op

rng = np.random.default_rng(1)


def _torch_reduce(name, axis, keepdims):
    def fn(t):
        if axis is None:
            out = getattr(torch, name)(t, dim=tuple(range(t.ndim))) if name in ("amax", "amin") else getattr(t, name)()
            return out.reshape([1] * t.ndim) if keepdims else out
        dims = axis if isinstance(axis, tuple) else (axis,)
        return getattr(torch, name)(t, dim=dims, keepdim=keepdims)

    return fn


@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_match_pytorch(name, axis, keepdims):
    x = rng.standard_normal((3, 4, 5))
    check_op(lambda t: getattr(cr, name)(t, axis=axis, keepdims=keepdims), _torch_reduce(name, axis, keepdims), x)


def test_methods_and_functions_agree():
    x = cr.tensor(rng.standard_normal((3, 4)))
    np.testing.assert_allclose(x.sum(axis=0).array, cr.sum(x, axis=0).array)
    np.testing.assert_allclose(x.mean().array, x.array.mean(), rtol=1e-6)


def test_max_ties_share_the_gradient():
    x = cr.tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad, [0.0, 0.5, 0.5])


def test_bad_axis_is_a_clear_error():
    with pytest.raises(ShapeError, match="axis 3 is out of range"):
        cr.ones(2, 3).sum(axis=3)


@settings(max_examples=40, deadline=None)
@given(
    hnp.array_shapes(min_dims=1, max_dims=4, max_side=4),
    st.data(),
    st.sampled_from(["sum", "mean", "amax"]),
    st.booleans(),
)
def test_random_axes_property(shape, data, name, keepdims):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = rng.standard_normal(shape)
    check_op(
        lambda t: getattr(cr, name)(t, axis=axis, keepdims=keepdims),
        _torch_reduce(name, axis % len(shape), keepdims),
        x,
        gradcheck=False,
    )
