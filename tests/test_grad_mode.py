"""Grad mode (grad_mode.py): no_grad as a context manager and a decorator."""

import chainrule as cr


def test_no_grad_context_and_decorator():
    x = cr.tensor([1.0], requires_grad=True)
    with cr.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None

    @cr.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    assert cr.is_grad_enabled()
