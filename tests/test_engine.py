"""The backward walk (engine.py): gradients accumulate, each node runs once after all its consumers, graphs are freed
as they are walked, deep chains need no recursion, and the error messages say what to do.
"""

import gc
import weakref

import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import GraphError, ShapeError


def test_backward_accumulates_and_zero_grad_resets():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, [4.0, 8.0])
    x.zero_grad()
    assert x.grad is None


def test_backward_on_non_scalar_needs_a_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    with pytest.raises(GraphError, match="one-element"):
        y.backward()
    y.backward(np.array([1.0, 10.0]))
    np.testing.assert_allclose(x.grad, [3.0, 30.0])
    with pytest.raises(ShapeError):
        (x * 3).backward(np.ones(3))


def test_backward_without_graph_is_a_clear_error():
    with pytest.raises(GraphError, match="does not require grad"):
        cr.tensor([1.0]).sum().backward()


def test_second_backward_through_freed_graph_raises_and_retain_graph_allows_it():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (x.exp() * x).sum()
    loss.backward()
    with pytest.raises(GraphError, match="second time"):
        loss.backward()
    x.grad = None
    loss = (x.exp() * x).sum()
    loss.backward(retain_graph=True)
    first = x.grad.clone()
    loss.backward()
    np.testing.assert_allclose(x.grad, 2 * first)


def test_saved_arrays_are_freed_after_backward():
    x = cr.tensor(np.ones(4), requires_grad=True)
    y = x.exp()
    fn = y.grad_fn
    y.sum().backward()
    assert fn.freed and not hasattr(fn, "y")


def test_a_chain_of_100000_ops_has_no_recursion_limit():
    x = cr.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad == 1.0


def test_the_walk_runs_a_shared_node_once_after_all_its_consumers():
    """A diamond whose middle fans out to 50 branches that meet again: h's node must run once, with the sum."""
    x = _fan_out_and_in(cr)
    # d/dx of sum_k k e^x = (0 + 1 + ... + 49) e^x
    np.testing.assert_allclose(x.grad, 1225 * np.exp(x.array), rtol=1e-5)
    torch = pytest.importorskip("torch", reason="PyTorch is the comparison oracle")
    np.testing.assert_allclose(x.grad, _fan_out_and_in(torch).grad.numpy(), rtol=1e-6)


def test_a_chain_hands_each_gradient_straight_on_with_retain_grad_and_grad_of_a_middle_tensor():
    """In a chain the walk runs each node's input's node next, without the heap: retain_grad and
    autograd.grad with respect to a tensor in the middle of it must still see their gradients."""
    x = cr.tensor([0.5, 2.0], requires_grad=True)
    middle = (x.exp() * 0.3).tanh()
    middle.retain_grad()
    y = ((middle - 0.5) * 2.0).exp().sum()
    (g_middle,) = cr.autograd.grad(y, middle, retain_graph=True)
    y.backward()
    torch = pytest.importorskip("torch", reason="PyTorch is the comparison oracle")
    tx = torch.tensor([0.5, 2.0], requires_grad=True)
    tm = (tx.exp() * 0.3).tanh()
    tm.retain_grad()
    ((tm - 0.5) * 2.0).exp().sum().backward()
    for ours, theirs in ((g_middle, tm.grad), (middle.grad, tm.grad), (x.grad, tx.grad)):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-5)  # float32 through six ops: a few ulps


def test_autograd_grad_with_one_output_an_ancestor_of_another():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()  # dy/dx = 2x
    z = y * 3.0  # dz/dx = 6x
    (g,) = cr.autograd.grad([y, z], [x])
    np.testing.assert_allclose(g, 8 * x.array)


def test_a_branch_no_gradient_reaches_is_not_run():
    """Nodes upstream of inputs that need no grad are never visited (nor freed)."""
    a = cr.tensor([1.0], requires_grad=True)
    b = cr.tensor([2.0], requires_grad=True)
    side = b.exp()
    y = a * side.detach()
    y.sum().backward()
    assert not side.grad_fn.freed and b.grad is None
    np.testing.assert_allclose(a.grad, np.exp([2.0]), rtol=1e-6)


def test_graph_has_no_reference_cycles():
    x = cr.tensor(np.ones(3), requires_grad=True)
    gc.disable()
    try:
        y = (x * 2).relu().sum()
        ref = weakref.ref(y.grad_fn)
        del y
        assert ref() is None, "the graph should be freed by reference counting alone"
    finally:
        gc.enable()


def test_retain_grad_keeps_intermediate_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = (x * 3).retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad, 2 * h.array)


def test_grad_is_not_shared_between_leaves():
    a = cr.tensor([1.0], requires_grad=True)
    b = cr.tensor([1.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad += 5
    assert b.grad[0] == 1.0


def _fan_out_and_in(lib):
    """x -> h = e^x -> 50 branches h * k that meet again in one sum; returns x after backward."""
    x = lib.tensor([0.5, -1.0], requires_grad=True)
    h = x.exp()
    total = h * 0.0
    for k in range(50):
        total = total + h * float(k)
    total.sum().backward()
    return x
