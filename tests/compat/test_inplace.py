"""In-place updates: the hand-written gradient-descent step, .data and .grad as tensors, version counters."""

import pytest

from .harness import check, data, idioms, same_init


def _x(L, *shape, seed=0, **kw):
    return L.tensor(data(*shape, seed=seed), **kw)


def _leaf_update_in_no_grad(L):
    w = _x(L, 3, requires_grad=True)
    (w * w).sum().backward()
    with L.no_grad():
        w -= 0.1 * w.grad
    return w, w.requires_grad, w.is_leaf, w.grad


def _module_update_in_no_grad(L):
    model = same_init(L.nn.Linear(3, 2), L)
    model(_x(L, 4, 3)).pow(2).sum().backward()
    with L.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    return model.weight, model.bias


def _leaf_update_outside_no_grad(L):
    w = _x(L, 3, requires_grad=True)
    w -= 1.0
    return w


def _grad_zero_(L):
    w = _x(L, 3, requires_grad=True)
    (w * 2).sum().backward()
    w.grad.zero_()
    (w * 3).sum().backward()
    return w.grad


def _grad_none(L):
    w = _x(L, 3, requires_grad=True)
    (w * 2).sum().backward()
    w.grad = None
    (w * 3).sum().backward()
    return w.grad


def _grad_assign(L):
    w = _x(L, 3, requires_grad=True)
    w.grad = L.ones(3)
    (w * 3).sum().backward()
    return w.grad


def _grad_assign_wrong_shape(L):
    w = _x(L, 3, requires_grad=True)
    w.grad = L.ones(4)


def _data_mul_(L):
    model = same_init(L.nn.Linear(2, 2), L)
    model.weight.data.mul_(0.5)
    return model.weight, model.weight.requires_grad


def _data_assign(L):
    w = _x(L, 3, requires_grad=True)
    w.data = L.zeros(3)
    return w, w.requires_grad


def _grad_norm(L):
    w = _x(L, 3, requires_grad=True)
    (w * w).sum().backward()
    return w.grad.norm(), w.grad.requires_grad, w.grad.is_leaf


def _saved_tensor_modified(L):
    x = _x(L, 3, requires_grad=True)
    y = x.exp()
    y.add_(1)
    y.sum().backward()


def _input_modified_after_mul(L):
    x = _x(L, 3, requires_grad=True)
    a = x * 1
    b = a * a
    a.mul_(2)
    b.sum().backward()


def _unsaved_input_modified_is_fine(L):
    x = _x(L, 3, requires_grad=True)
    a = x * 1
    b = a + 1
    a.mul_(2)
    b.sum().backward()
    return x.grad


def _inplace_on_nonleaf_recorded(L):
    x = _x(L, 3, requires_grad=True)
    y = x * 2
    y.add_(1)
    y.mul_(x)
    y.sum().backward()
    return y, x.grad


def _setitem_nonleaf(L):
    x = _x(L, 4, requires_grad=True)
    y = x * 1
    y[1] = 0.0
    y[2:] = y[2:] * 3
    (y * y).sum().backward()
    return y, x.grad


def _setitem_value_grad(L):
    v = _x(L, 2, requires_grad=True)
    y = L.zeros(4)
    y[1:3] = v
    (y * L.arange(4.0)).sum().backward()
    return y, v.grad


def _setitem_leaf_raises(L):
    w = _x(L, 3, requires_grad=True)
    w[0] = 1.0


def _setitem_in_no_grad(L):
    w = _x(L, 3, requires_grad=True)
    with L.no_grad():
        w[0] = 1.0
    return w


def _inplace_on_advanced_index_copy(L):
    x = _x(L, 4, requires_grad=True)
    y = (x * 1)[[0, 2]]  # advanced indexing copies: y is not a view
    y.mul_(3)
    (y * y).sum().backward()
    return y, x.grad


def _inplace_on_indexed_view(L):
    x = _x(L, 2, 3, requires_grad=True)
    y = x * 1
    row = y[0]  # a view into y
    row.mul_(2)
    y.sum().backward()
    return y, x.grad


def _version_counts_writes(L):
    x = L.zeros(3)
    v0 = x._version
    x.add_(1)
    x[0] = 2
    return x._version - v0


def _view_shares_memory(L):
    x = L.zeros(2, 3)
    x[0].fill_(1.0)
    x[:, 2] = 5.0
    x.view(-1)[1] = 7.0
    return x


def _int_plus_float_inplace_raises(L):
    x = L.tensor([1, 2])
    x += 1.5


def _float_plus_double_inplace(L):
    x = L.zeros(2)
    x += L.ones(2, dtype=L.float64)
    return x


def _broadcast_self_raises(L):
    x = L.zeros(3)
    x += L.ones(2, 3)


def _iadd_keeps_identity(L):
    x = L.zeros(3)
    y = x
    y += 1
    return x is y, x


def _polynomial_gradient_descent(L):
    """The tutorial's loop: a cubic fitted to sin(x) by hand-written gradient descent."""
    import math

    x = L.linspace(-math.pi, math.pi, 200)
    y = L.sin(x)
    coefficients = [L.tensor(v, requires_grad=True) for v in (0.1, -0.2, 0.3, -0.1)]
    for _ in range(200):
        a, b, c, d = coefficients
        loss = (a + b * x + c * x**2 + d * x**3 - y).pow(2).sum()
        loss.backward()
        with L.no_grad():
            for p in coefficients:
                p -= 1e-5 * p.grad
                p.grad = None
    return loss.detach(), coefficients


INPLACE = idioms(
    ("leaf_update_in_no_grad", _leaf_update_in_no_grad),
    ("module_update_in_no_grad", _module_update_in_no_grad),
    ("leaf_update_outside_no_grad_raises", _leaf_update_outside_no_grad),
    ("grad_zero_", _grad_zero_),
    ("grad_set_none", _grad_none),
    ("grad_assign_tensor", _grad_assign),
    ("grad_assign_wrong_shape_raises", _grad_assign_wrong_shape),
    ("data_mul_", _data_mul_),
    ("data_assign", _data_assign),
    ("grad_norm_is_a_tensor", _grad_norm),
    ("saved_output_modified_raises", _saved_tensor_modified),
    ("saved_input_modified_raises", _input_modified_after_mul),
    ("unsaved_input_modified_is_fine", _unsaved_input_modified_is_fine),
    ("inplace_on_nonleaf_is_recorded", _inplace_on_nonleaf_recorded),
    ("setitem_on_nonleaf", _setitem_nonleaf),
    ("setitem_value_gets_grad", _setitem_value_grad),
    ("setitem_leaf_raises", _setitem_leaf_raises),
    ("inplace_on_advanced_index_copy", _inplace_on_advanced_index_copy),
    ("inplace_on_indexed_view_reaches_base", _inplace_on_indexed_view),
    ("setitem_in_no_grad", _setitem_in_no_grad),
    ("version_counts_writes", _version_counts_writes),
    ("views_share_memory", _view_shares_memory),
    ("int_plus_float_inplace_raises", _int_plus_float_inplace_raises),
    ("float_plus_double_inplace_casts", _float_plus_double_inplace),
    ("inplace_cannot_broadcast_self", _broadcast_self_raises),
    ("iadd_keeps_identity", _iadd_keeps_identity),
    (
        "methods",
        lambda L: tuple(
            op(L.tensor(data(3, seed=1)))
            for op in (
                lambda t: t.add_(2),
                lambda t: t.sub_(L.ones(3)),
                lambda t: t.mul_(3),
                lambda t: t.div_(2),
                lambda t: t.add_(L.ones(3), alpha=2),
                lambda t: t.zero_(),
                lambda t: t.fill_(4),
                lambda t: t.copy_(L.arange(3.0)),
                lambda t: t.clamp_(-0.1, 0.1),
                lambda t: t.clamp_(min=0.0),
                lambda t: t.neg_(),
                lambda t: t.abs_(),
                lambda t: t.exp_(),
                lambda t: t.relu_(),
                lambda t: t.pow_(2),
                lambda t: t.addcmul_(L.ones(3), L.arange(3.0), value=0.5),
                lambda t: t.addcdiv_(L.ones(3), L.full((3,), 2.0)),
                lambda t: t.masked_fill_(t > 0, 0.0),
                lambda t: t.sigmoid_(),
                lambda t: t.tanh_(),
                lambda t: t.sqrt_().isnan().float(),
            )
        ),
    ),
    ("copy_broadcasts_and_casts", lambda L: L.zeros(2, 3).copy_(L.tensor([1, 2, 3]))),
    (
        "normal_uniform_shapes",
        lambda L: (L.zeros(100).normal_(2.0, 0.5).shape, bool((L.zeros(50).uniform_(-1, 1).abs() <= 1).all())),
    ),
    ("polynomial_gradient_descent", _polynomial_gradient_descent),
)


@pytest.mark.parametrize("idiom", INPLACE, ids=str)
def test_idiom(idiom):
    check(idiom)
