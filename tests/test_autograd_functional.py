"""autograd.functional against torch.autograd.functional: vjp, jvp, jacobian, hessian, hvp, vhp, with one input
and with tuples, and the errors for what they cannot do."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.errors import GraphError


def _data(shape, seed):
    return np.random.default_rng(seed).uniform(-1, 1, shape)


def _inputs(L, *shapes):
    return tuple(L.tensor(_data(s, i), dtype=L.float64) for i, s in enumerate(shapes))


def _tangents(L):
    return L.tensor(_data((2, 3), 5), dtype=L.float64), L.tensor(_data((3, 2), 6), dtype=L.float64)


def _energy(L):
    return lambda x: (L.tanh(x) ** 2).sum() + (x[:-1] * x[1:] ** 3).sum()


def _pair(L):
    return lambda a, b: L.sigmoid(a @ b) * a.sum()


def _numbers(value):
    if isinstance(value, (tuple, list)):
        return [_numbers(v) for v in value]
    return value.detach().numpy()


def _same(ours, theirs):
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same(a, b)
        return
    np.testing.assert_allclose(_numbers(ours), _numbers(theirs), rtol=1e-10, atol=1e-12)


CALLS = {
    "jacobian_one": lambda L: L.autograd.functional.jacobian(lambda x: L.sin(x) * x.sum(), _inputs(L, (4,))[0]),
    "jacobian_tuple": lambda L: L.autograd.functional.jacobian(_pair(L), _inputs(L, (2, 3), (3, 2))),
    "jacobian_tuple_outputs": lambda L: L.autograd.functional.jacobian(
        lambda x: (x * 2, x.exp().sum()), _inputs(L, (3,))[0]
    ),
    "hessian_one": lambda L: L.autograd.functional.hessian(_energy(L), _inputs(L, (5,))[0]),
    "hessian_tuple": lambda L: L.autograd.functional.hessian(
        lambda a, b: (a * b.exp()).sum() * a.sum(), _inputs(L, (3,), (3,))
    ),
    "vjp": lambda L: L.autograd.functional.vjp(_pair(L), _inputs(L, (2, 3), (3, 2)), L.ones(2, 2, dtype=L.float64)),
    "jvp": lambda L: L.autograd.functional.jvp(_pair(L), _inputs(L, (2, 3), (3, 2)), _tangents(L)),
    "hvp": lambda L: L.autograd.functional.hvp(_energy(L), _inputs(L, (5,))[0], L.tensor(_data(5, 9), dtype=L.float64)),
    "vhp": lambda L: L.autograd.functional.vhp(_energy(L), _inputs(L, (5,))[0], L.tensor(_data(5, 9), dtype=L.float64)),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_equals_pytorch(name):
    _same(CALLS[name](cr), CALLS[name](torch))


def test_hvp_equals_the_full_hessian_times_v():
    x = _inputs(cr, (6,))[0]
    v = cr.tensor(_data(6, 3), dtype=cr.float64)
    _, product = cr.autograd.functional.hvp(_energy(cr), x, v)
    full = cr.autograd.functional.hessian(_energy(cr), x).numpy() @ v.numpy()
    np.testing.assert_allclose(product.numpy(), full, rtol=1e-12)


def test_create_graph_keeps_the_results_differentiable():
    x = cr.tensor([0.5, 1.5], dtype=cr.float64, requires_grad=True)
    jac = cr.autograd.functional.jacobian(lambda t: t**3, x, create_graph=True)
    (g,) = cr.autograd.grad(jac.sum(), x)  # d/dx sum(diag(3 x^2)) = 6 x
    np.testing.assert_allclose(g.numpy(), [3.0, 9.0])


def test_strict_and_unused_inputs():
    a, b = _inputs(cr, (2,), (2,))
    jac = cr.autograd.functional.jacobian(lambda a, b: a * 2, (a, b))
    np.testing.assert_allclose(jac[1].numpy(), np.zeros((2, 2)))
    with pytest.raises(GraphError, match="does not depend on input 1"):
        cr.autograd.functional.jacobian(lambda a, b: a * 2, (a, b), strict=True)


def test_errors_name_what_is_wrong():
    x = _inputs(cr, (3,))[0]
    with pytest.raises(GraphError, match="one-element"):
        cr.autograd.functional.hessian(lambda t: t * 2, x)
    with pytest.raises(GraphError, match="v can be left out only"):
        cr.autograd.functional.vjp(lambda t: t * 2, x)
    with pytest.raises(TypeError, match="inputs must be a Tensor"):
        cr.autograd.functional.jacobian(lambda t: t, [1.0, 2.0])
