"""Node.apply and its scalar fast path (node.py): the same graph either way, and a bounded cache of numbers."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import GraphError


def test_the_scalar_fast_path_records_the_same_graph():
    """x * 2.5 and friends take Function.apply_scalar: the same nodes, order, retain_grad and freeing."""
    import chainrule as cr

    x = cr.tensor([1.0, 2.0, -3.0], requires_grad=True)
    h = ((x * 2.5 + 1) - 0.5) / 4
    h.retain_grad()
    y = (1 - h) * (h * 3.0)  # reflected scalar ops, and h used twice
    y.sum().backward()
    # y = (1 - h) * 3h, dy/dh = 3 - 6h; dh/dx = 2.5 / 4
    hv = ((x.detach().numpy() * 2.5 + 1) - 0.5) / 4
    np.testing.assert_allclose(h.grad.numpy(), 3 - 6 * hv, rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), (3 - 6 * hv) * 2.5 / 4, rtol=1e-6)
    assert y.grad_fn.next_functions[0][0].next_functions == ((h.grad_fn, 0),)
    with pytest.raises(GraphError, match="second time"):
        y.sum().backward()
    with cr.no_grad():
        assert (x * 2.0).grad_fn is None and not (x * 2.0).requires_grad


def test_the_scalar_ops_number_cache_stays_small():
    """apply_scalar keeps the 0-d arrays of the numbers it has seen (a loop reuses its constants), at most 256
    per dtype: a stream of different numbers (a schedule, random values) must not grow it without end."""
    from chainrule import node

    x = cr.tensor([1.0, 2.0])
    for k in range(1000):
        x * (1.0 + k / 1000)
    assert 0 < len(node._zero_d[np.dtype(np.float32)]) <= 256
    cached = node._zero_d[np.dtype(np.float32)][1.999]
    assert not cached.flags.writeable and cached.dtype == np.float32  # shared: nobody may write into it


def test_op_names_read_as_words():
    """An op's name is its class's in snake_case, a run of capitals one word: what errors, graphs and the
    profile tables print (the recurrent ops read l_s_t_m_sequence before)."""
    from chainrule.ops.activation import LogSoftmax
    from chainrule.ops.conv import MaxPool2d
    from chainrule.ops.recurrent import GRUSequence, LSTMSequence, RNNSequence

    names = [cls.op_name() for cls in (LSTMSequence, GRUSequence, RNNSequence, LogSoftmax, MaxPool2d)]
    assert names == ["lstm_sequence", "gru_sequence", "rnn_sequence", "log_softmax", "max_pool2d"]
