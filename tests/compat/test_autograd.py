"""autograd: backward, grad modes, custom Functions with a ctx, autograd.grad, the graph's nodes."""

import pytest

from .harness import check, data, idioms


def _x(L, *shape, seed=0, **kw):
    return L.tensor(data(*shape, seed=seed), **kw)


def _cube(L):
    class Cube(L.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * 3 * x**2

    return Cube


def _custom_function(L):
    x = _x(L, 4, requires_grad=True)
    y = _cube(L).apply(x)
    (y * 2).sum().backward()
    return y, x.grad, y.requires_grad


def _legendre(L):
    class LegendrePolynomial3(L.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input**3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input**2 - 1)

    x = _x(L, 5, requires_grad=True)
    P3 = LegendrePolynomial3.apply
    y = P3(0.3 + 0.7 * x).pow(2).sum()
    y.backward()
    return y, x.grad


def _custom_with_constant(L):
    class Scale(L.autograd.Function):
        @staticmethod
        def forward(ctx, x, factor):
            ctx.factor = factor
            return x * factor

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * ctx.factor, None

    x = _x(L, 3, requires_grad=True)
    Scale.apply(x, 2.5).sum().backward()
    return x.grad


def _custom_saved_modified(L):
    x = _x(L, 3, requires_grad=True)
    a = x * 1
    y = _cube(L).apply(a)
    a.add_(1)
    y.sum().backward()


def _autograd_grad(L):
    x = _x(L, 3, requires_grad=True)
    w = _x(L, 3, seed=1, requires_grad=True)
    y = (x * w).pow(2).sum()
    gx, gw = L.autograd.grad(y, (x, w))
    return gx, gw, x.grad is None, w.grad is None


def _autograd_grad_unused(L):
    x = _x(L, 3, requires_grad=True)
    z = _x(L, 3, requires_grad=True)
    L.autograd.grad(x.sum(), [x, z])


def _autograd_grad_allow_unused(L):
    x = _x(L, 3, requires_grad=True)
    z = _x(L, 3, requires_grad=True)
    return L.autograd.grad(x.sum(), [x, z], allow_unused=True)


def _autograd_grad_nonleaf(L):
    x = _x(L, 3, requires_grad=True)
    h = x * 2
    y = (h * h).sum()
    return L.autograd.grad(y, h)


def _backward_gradient(L):
    x = _x(L, 2, 3, requires_grad=True)
    y = x * x
    y.backward(L.ones_like(y))
    return x.grad


def _backward_non_scalar_raises(L):
    x = _x(L, 3, requires_grad=True)
    (x * 2).backward()


def _retain_graph(L):
    inp = L.eye(4, 5, requires_grad=True)
    out = (inp + 1).pow(2).t()
    out.backward(L.ones_like(out), retain_graph=True)
    first = inp.grad.clone()
    out.backward(L.ones_like(out), retain_graph=True)
    second = inp.grad.clone()
    inp.grad.zero_()
    out.backward(L.ones_like(out), retain_graph=True)
    return first, second, inp.grad


def _second_backward_raises(L):
    x = _x(L, 3, requires_grad=True)
    y = (x.exp()).sum()
    y.backward()
    y.backward()


def _accumulate(L):
    x = _x(L, 3, requires_grad=True)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    return x.grad


def _reuse(L):
    a = _x(L, 3, requires_grad=True)
    b = a + a
    (b * a).sum().backward()
    return a.grad


def _no_grad_block(L):
    x = _x(L, 3, requires_grad=True)
    with L.no_grad():
        y = x * 2
    return y.requires_grad, y.grad_fn is None, L.is_grad_enabled()


def _no_grad_decorators(L):
    @L.no_grad()
    def f(x):
        return x * 2

    @L.no_grad
    def g(x):
        return x * 2

    x = _x(L, 3, requires_grad=True)
    return f(x).requires_grad, g(x).requires_grad, (x * 2).requires_grad


def _set_grad_enabled(L):
    x = _x(L, 3, requires_grad=True)
    with L.set_grad_enabled(False):
        a = x * 2
    with L.set_grad_enabled(True):
        b = x * 2
    return a.requires_grad, b.requires_grad


def _inference_mode(L):
    x = _x(L, 3, requires_grad=True)
    with L.inference_mode():
        y = x * 2
    return y.requires_grad


def _enable_grad_inside_no_grad(L):
    x = _x(L, 3, requires_grad=True)
    with L.no_grad():
        with L.enable_grad():
            y = x * 2
    return y.requires_grad


def _grad_fn_and_leaves(L):
    x = _x(L, 3, requires_grad=True)
    c = _x(L, 3)
    y = x * c + 1
    return (
        x.grad_fn is None,
        x.is_leaf,
        y.is_leaf,
        y.grad_fn is not None,
        len(y.grad_fn.next_functions),
        c.is_leaf,
        c.requires_grad,
        y.requires_grad,
    )


def _next_functions(L):
    x = _x(L, 3, requires_grad=True)
    c = _x(L, 3)
    y = (x * c).sum()
    mul = y.grad_fn.next_functions[0][0]
    return (
        len(mul.next_functions),
        mul.next_functions[1][0] is None,
        type(mul.next_functions[0][0]).__name__.replace("AccumulateGrad", "leaf"),
    )


def _retain_grad(L):
    x = _x(L, 3, requires_grad=True)
    h = x * 2
    h.retain_grad()
    (h * h).sum().backward()
    return h.grad, x.grad


def _detach(L):
    x = _x(L, 3, requires_grad=True)
    d = (x * 2).detach()
    return d.requires_grad, d.grad_fn is None, d


def _requires_grad_(L):
    x = _x(L, 3)
    x.requires_grad_()
    (x * x).sum().backward()
    return x.grad


def _int_requires_grad_raises(L):
    L.tensor([1, 2], requires_grad=True)


def _backward_without_graph_raises(L):
    _x(L, 3).sum().backward()


def _requires_grad_propagates(L):
    x = _x(L, 3, requires_grad=True)
    return (x + 1).requires_grad, (x.detach() + 1).requires_grad, (x > 0).requires_grad, x.argmax().requires_grad


def _chain_rule_by_hand(L):
    """y = sigmoid(w x + b): the gradient equals the product of the local derivatives."""
    x, w, b = L.tensor(0.5), L.tensor(-1.2, requires_grad=True), L.tensor(0.3, requires_grad=True)
    z = w * x + b
    y = L.sigmoid(z)
    y.backward()
    by_hand = (y * (1 - y) * x).item()
    return w.grad, b.grad, abs(w.grad.item() - by_hand) < 1e-6


def _binary_cross_entropy_tutorial(L):
    x = L.ones(5)
    y = L.zeros(3)
    w = L.tensor(data(5, 3), requires_grad=True)
    b = L.tensor(data(3, seed=1), requires_grad=True)
    z = L.matmul(x, w) + b
    loss = L.nn.functional.binary_cross_entropy_with_logits(z, y)
    loss.backward()
    return loss, w.grad, b.grad


AUTOGRAD = idioms(
    ("custom_function", _custom_function),
    ("custom_function_legendre", _legendre),
    ("custom_function_constant_argument", _custom_with_constant),
    ("custom_function_saved_modified_raises", _custom_saved_modified),
    ("autograd_grad", _autograd_grad),
    ("autograd_grad_unused_raises", _autograd_grad_unused),
    ("autograd_grad_allow_unused", _autograd_grad_allow_unused),
    ("autograd_grad_non_leaf", _autograd_grad_nonleaf),
    ("backward_with_gradient", _backward_gradient),
    ("backward_non_scalar_raises", _backward_non_scalar_raises),
    ("retain_graph_accumulates", _retain_graph),
    ("second_backward_raises", _second_backward_raises),
    ("grads_accumulate", _accumulate),
    ("value_used_twice", _reuse),
    ("no_grad_block", _no_grad_block),
    ("no_grad_decorators", _no_grad_decorators),
    ("set_grad_enabled", _set_grad_enabled),
    ("inference_mode", _inference_mode),
    ("enable_grad_inside_no_grad", _enable_grad_inside_no_grad),
    ("grad_fn_and_leaves", _grad_fn_and_leaves),
    ("next_functions", _next_functions),
    ("retain_grad", _retain_grad),
    ("detach", _detach),
    ("requires_grad_", _requires_grad_),
    ("int_requires_grad_raises", _int_requires_grad_raises),
    ("backward_without_graph_raises", _backward_without_graph_raises),
    ("requires_grad_propagates", _requires_grad_propagates),
    ("chain_rule_by_hand", _chain_rule_by_hand),
    ("bce_with_logits_tutorial", _binary_cross_entropy_tutorial),
)


@pytest.mark.parametrize("idiom", AUTOGRAD, ids=str)
def test_idiom(idiom):
    check(idiom)
