"""Broadcasting (ops/broadcast.py): sum_to undoes what the forward broadcast."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from chainrule.ops.broadcast import sum_to

rng = np.random.default_rng(0)


@settings(max_examples=30, deadline=None)
@given(hnp.array_shapes(min_dims=0, max_dims=4, max_side=4), st.data())
def test_sum_to_inverts_broadcast(shape, data):
    extra = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3))
    target = tuple(extra) + tuple(shape)
    x = rng.standard_normal(shape)
    grad = rng.standard_normal(np.broadcast_shapes(target, shape))
    np.testing.assert_allclose(sum_to(grad, x.shape).reshape(x.shape).sum(), grad.sum())
    assert sum_to(grad, x.shape).shape == x.shape
