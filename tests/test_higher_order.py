"""Gradients of gradients (create_graph=True): for every op, the first and second derivatives equal PyTorch's in
float64, and a parametrised test checks that every op class of chainrule is reached by some case here.

Each case is one function written once, as PyTorch code, run on both libraries (``L`` is chainrule or torch).
For inputs xs and fixed random weights v, w it compares g = d sum(f(xs) v)/dxs (recorded) and
h = d sum(g w)/dxs: a Hessian-vector product of every input with every input.
"""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.errors import GraphError

from .compat.test_autograd import _cube


def _data(shape, seed, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, shape)


def _x(shape, low=-1.0, high=1.0):
    return (shape, low, high)


POS = dict(low=0.5, high=2.0)
LABELS = np.array([2, 0, 1, 2])
PROBS = np.random.default_rng(7).dirichlet(np.ones(3), size=4)
CONDITION = _data((3, 4), 9) > 0
INDEX = np.array([[0, 1, 1, 0], [2, 0, 1, 1], [1, 2, 0, 2]])


def _t(L, array):
    return L.tensor(array, dtype=L.float64) if array.dtype.kind == "f" else L.tensor(array)


def _f(L):
    return L.nn.functional


# name: (f(L, *xs), [input specs: (shape, low, high)])
CASES = {
    # element-wise
    "add_broadcast": (lambda L, a, b: (a + b) ** 2, [_x((3, 4)), _x((4,))]),
    "sub": (lambda L, a, b: (a - b) * a, [_x((3, 4)), _x((3, 1))]),
    "mul": (lambda L, a, b: a * b * a, [_x((3, 4)), _x((4,))]),
    "div": (lambda L, a, b: a / b, [_x((3, 4)), _x((3, 4), **POS)]),
    "scalars": (lambda L, x: ((x * 2.5 + 1) - 3) / 4 * x, [_x((5,))]),
    "reflected_scalars": (lambda L, x: (1 - x) * (2 / x), [_x((5,), **POS)]),
    "neg": (lambda L, x: -x * x, [_x((5,))]),
    "pow_scalar": (lambda L, x: x**3 + x**2 + x**0.5 + x**0, [_x((5,), **POS)]),
    "pow_tensor": (lambda L, a, b: a**b, [_x((4,), **POS), _x((4,))]),
    "exp_log": (lambda L, x: L.exp(x) + L.log(x) + L.log2(x) + L.log10(x), [_x((5,), **POS)]),
    "sqrt_abs": (lambda L, x: L.sqrt(x) * L.abs(x - 1), [_x((5,), **POS)]),
    "trigonometry": (lambda L, x: L.sin(x) * L.cos(x) + L.tan(x), [_x((5,))]),
    "log1p_expm1": (lambda L, x: L.log1p(x) * L.expm1(x), [_x((5,), **POS)]),
    "erf": (lambda L, x: L.erf(x) * x, [_x((5,))]),
    "stepwise": (lambda L, x: L.floor(x * 3) * x + L.sign(x) * x * x, [_x((6,))]),
    "clip": (lambda L, x: L.clamp(x, -0.5, 0.5) * x, [_x((8,))]),
    "maximum_minimum": (lambda L, a, b: L.maximum(a, b) * a + L.minimum(a, b) ** 2, [_x((6,)), _x((6,))]),
    "where": (lambda L, a, b: L.where(_t(L, CONDITION), a * a, b * a), [_x((3, 4)), _x((4,))]),
    "clone": (lambda L, x: x.clone() * x, [_x((4,))]),
    "cast": (lambda L, x: (x.float() * 2).double() * x, [_x((4,))]),
    # activations
    "relu": (lambda L, x: L.relu(x) * x, [_x((8,))]),
    "leaky_relu": (lambda L, x: _f(L).leaky_relu(x, 0.1) * x, [_x((8,))]),
    "sigmoid_tanh": (lambda L, x: L.sigmoid(x) * L.tanh(x), [_x((6,))]),
    "softmax": (lambda L, x: L.softmax(x, dim=1) * x, [_x((3, 4))]),
    "log_softmax": (lambda L, x: L.log_softmax(x, dim=0) * x, [_x((3, 4))]),
    "gelu": (lambda L, x: _f(L).gelu(x) + _f(L).gelu(x, approximate="tanh") * x, [_x((6,), low=-3, high=3)]),
    "softplus_silu_elu": (
        lambda L, x: _f(L).softplus(x) + _f(L).silu(x) + _f(L).elu(x) * x,
        [_x((6,), low=-2, high=2)],
    ),
    # reductions
    "sum_mean": (lambda L, x: x.sum(1, keepdim=True) ** 2 + x.mean(0, keepdim=True).sum() * x, [_x((3, 4))]),
    "amax_amin": (lambda L, x: x.amax(1) ** 2 + (x.amin(0) ** 3).sum(), [_x((3, 4))]),
    "prod": (lambda L, x: x.prod(1) * x.sum(1) + x.prod() * 0.1, [_x((3, 4), **POS)]),
    "cumsum": (lambda L, x: L.cumsum(x * x, dim=1), [_x((3, 4))]),
    "var_std_norm": (lambda L, x: x.var(1).sum() + x.std(0) + x.norm() * x.sum(), [_x((3, 4))]),
    "logsumexp": (lambda L, x: L.logsumexp(x, dim=1) * x.sum(1), [_x((3, 4))]),
    # shapes and indexing
    "reshape_permute": (lambda L, x: (x.reshape(2, 6).t() ** 2).permute(1, 0), [_x((3, 4))]),
    "basic_index": (lambda L, x: x[1:, ::2] ** 2 + x[0, 1] * x[2:, 1:3], [_x((3, 4))]),
    "advanced_index": (lambda L, x: x[[0, 0, 2]] ** 2, [_x((3, 4))]),
    "cat_stack": (
        lambda L, a, b: L.cat([a * b, a], 0) ** 2 + L.stack([a, b * b], 0).sum(0).repeat(2, 1),
        [_x((2, 3)), _x((2, 3))],
    ),
    "expand_flip": (lambda L, x: (x.expand(3, 4) * x).flip(0) ** 2, [_x((1, 4))]),
    "gather": (lambda L, x: L.gather(x, 0, _t(L, INDEX)) ** 2, [_x((3, 4))]),
    "embedding": (lambda L, w: _f(L).embedding(_t(L, np.array([[0, 2], [2, 1]])), w, padding_idx=1) ** 2, [_x((3, 4))]),
    "tril_triu_roll": (lambda L, x: L.tril(x * x) + L.triu(x, 1) * x + L.roll(x, 1, 0) ** 2, [_x((3, 3))]),
    "pad": (lambda L, x: _f(L).pad(x * x, (1, 2), value=0.5) * _f(L).pad(x, (1, 2)), [_x((2, 3))]),
    "scatter": (lambda L, x, s: L.scatter(x * x, 0, _t(L, INDEX[:2]), s * s), [_x((3, 4)), _x((2, 4))]),
    "scatter_add_index_add": (
        lambda L, x, s: (
            L.scatter_add(x, 0, _t(L, INDEX[:2]), s * s) * x + L.index_add(x, 0, _t(L, np.array([2, 0])), s) ** 2
        ),
        [_x((3, 4)), _x((2, 4))],
    ),
    # products
    "matmul": (lambda L, a, b: (a @ b) ** 2, [_x((3, 4)), _x((4, 2))]),
    "matmul_batched_vector": (lambda L, a, b, v: ((a @ b) @ v) ** 2, [_x((2, 3, 4)), _x((4, 2)), _x((2,))]),
    "linear": (
        lambda L, x, w, b: L.tanh(_f(L).linear(x, w, b)) + _f(L).linear(x, w) ** 2,
        [_x((3, 4)), _x((2, 4)), _x((2,))],
    ),
    "einsum": (
        lambda L, a, b: L.einsum("bij,jk->bik", a, b) ** 2 + L.einsum("bij->j", a * a).sum(),
        [_x((2, 3, 4)), _x((4, 2))],
    ),
    # losses
    "cross_entropy": (lambda L, x: _f(L).cross_entropy(x * x, _t(L, LABELS)), [_x((4, 3))]),
    "cross_entropy_sum_smoothing": (
        lambda L, x: _f(L).cross_entropy(x * x, _t(L, LABELS), reduction="sum", label_smoothing=0.1),
        [_x((4, 3))],
    ),
    "cross_entropy_none": (lambda L, x: _f(L).cross_entropy(x * x, _t(L, LABELS), reduction="none"), [_x((4, 3))]),
    "cross_entropy_probabilities": (lambda L, x: _f(L).cross_entropy(x * x, _t(L, PROBS)), [_x((4, 3))]),
    "nll_loss": (lambda L, x: _f(L).nll_loss(L.log_softmax(x, 1) * x, _t(L, LABELS), reduction="none"), [_x((4, 3))]),
    "mse_l1": (
        lambda L, a, b: _f(L).mse_loss(a * a, b) + _f(L).l1_loss(a * b, b, reduction="sum") * a.sum(),
        [_x((3, 4)), _x((3, 4))],
    ),
    "bce": (lambda L, x: _f(L).binary_cross_entropy(L.sigmoid(x), _t(L, _data((6,), 3, 0, 1))) * x.sum(), [_x((6,))]),
    "bce_with_logits": (
        lambda L, x: _f(L).binary_cross_entropy_with_logits(x * x, _t(L, _data((6,), 3, 0, 1)), reduction="sum"),
        [_x((6,))],
    ),
    # images
    "conv2d": (
        lambda L, x, w, b: L.tanh(_f(L).conv2d(x, w, b, stride=(1, 2), padding=1)),
        [_x((2, 2, 5, 5)), _x((3, 2, 3, 3)), _x((3,))],
    ),
    "conv2d_no_bias": (lambda L, x, w: _f(L).conv2d(x * x, w) ** 2, [_x((1, 1, 4, 4)), _x((2, 1, 2, 2))]),
    "pools": (
        lambda L, x: (
            _f(L).max_pool2d(x * x, 2) ** 2 + _f(L).avg_pool2d(x, 2) * _f(L).max_pool2d(x, 3, 1, 1)[:, :, ::2, ::2]
        ),
        [_x((2, 2, 4, 4))],
    ),
    "unfold_fold": (
        lambda L, x: _f(L).fold(_f(L).unfold(x * x, 2, padding=1) ** 2, (3, 4), 2, padding=1),
        [_x((1, 2, 3, 4))],
    ),
    # normalisation
    "batch_norm": (
        lambda L, x, w, b: (
            L.tanh(_f(L).batch_norm(x, None, None, w, b, training=True))
            + _f(L).batch_norm(x * x, None, None, training=True) ** 2
        ),
        [_x((4, 3)), _x((3,)), _x((3,))],
    ),
    "batch_norm_2d": (lambda L, x: L.tanh(_f(L).batch_norm(x, None, None, training=True)), [_x((2, 2, 3, 3))]),
    "layer_norm": (
        lambda L, x, w, b: L.tanh(_f(L).layer_norm(x, (4,), w, b)) + _f(L).layer_norm(x * x, (4,)) ** 2,
        [_x((3, 4)), _x((4,)), _x((4,))],
    ),
    "group_rms_norm": (lambda L, x: L.tanh(_f(L).group_norm(x, 2)) + _f(L).rms_norm(x, (3,)) ** 2, [_x((2, 4, 3))]),
    "attention": (
        lambda L, q, k, v: _f(L).scaled_dot_product_attention(q, k, v, is_causal=True) ** 2,
        [_x((1, 3, 4)), _x((1, 3, 4)), _x((1, 3, 4))],
    ),
}


def _run(L, name):
    """(g, h): the recorded first derivatives and the Hessian-vector products of every input."""
    fn, specs = CASES[name]
    xs = [
        L.tensor(_data(shape, seed, low, high), dtype=L.float64, requires_grad=True)
        for seed, (shape, low, high) in enumerate(specs)
    ]
    y = fn(L, *xs)
    v = L.tensor(_data(tuple(y.shape), 11), dtype=L.float64)
    g = L.autograd.grad((y * v).sum(), xs, create_graph=True)
    ws = [L.tensor(_data(tuple(x.shape), 20 + i), dtype=L.float64) for i, x in enumerate(xs)]
    total = sum((gi * wi).sum() for gi, wi in zip(g, ws))
    h = L.autograd.grad(total, xs, allow_unused=True)
    return [gi.detach().numpy() for gi in g], [np.zeros(x.shape) if hi is None else hi.numpy() for hi, x in zip(h, xs)]


@pytest.mark.parametrize("name", sorted(CASES))
def test_second_derivatives_equal_pytorchs(name):
    (g, h), (g_torch, h_torch) = _run(cr, name), _run(torch, name)
    for i, (ours, theirs) in enumerate(zip(g, g_torch)):
        np.testing.assert_allclose(
            ours, theirs, rtol=1e-9, atol=1e-10, err_msg=f"{name}: first derivative of input {i}"
        )
    for i, (ours, theirs) in enumerate(zip(h, h_torch)):
        np.testing.assert_allclose(
            ours, theirs, rtol=1e-8, atol=1e-9, err_msg=f"{name}: second derivative of input {i}"
        )


# gradgradcheck (numerical second derivatives) on a spread of the cases: it costs two forward passes per element
GRADGRADCHECK = [
    "mul",
    "div",
    "pow_tensor",
    "exp_log",
    "gelu",
    "softmax",
    "log_softmax",
    "prod",
    "gather",
    "einsum",
    "linear",
    "cross_entropy",
    "bce_with_logits",
    "conv2d_no_bias",
    "pools",
    "layer_norm",
    "batch_norm_2d",
    "attention",
]


@pytest.mark.parametrize("name", GRADGRADCHECK)
def test_gradgradcheck(name):
    fn, specs = CASES[name]
    xs = [
        cr.tensor(_data(shape, seed, low, high), dtype=cr.float64, requires_grad=True)
        for seed, (shape, low, high) in enumerate(specs)
    ]
    assert cr.autograd.gradgradcheck(lambda *a: fn(cr, *a), xs)


def _node_classes(outputs) -> set:
    seen, stack, classes = set(), [o.grad_fn for o in outputs if o.grad_fn is not None], set()
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        classes.add(type(fn))
        stack.extend(t._creator for t in fn.inputs if t._creator is not None)
    return classes


def _all_function_classes():
    found, stack = set(), [cr.node.Node]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            if sub.__module__.startswith("chainrule.") and sub.__name__ != "_CustomNode":
                found.add(sub)
    return found


# Reached by the recurrent-layer, in-place and dropout tests below rather than by CASES; ToDevice needs a GPU.
COVERED_ELSEWHERE = {"RNNSequence", "LSTMSequence", "GRUSequence", "SetItem", "Dropout", "ToDevice"}


def test_every_op_class_has_a_case():
    reached = set()
    for fn, specs in CASES.values():
        xs = [
            cr.tensor(_data(shape, seed, low, high), dtype=cr.float64, requires_grad=True)
            for seed, (shape, low, high) in enumerate(specs)
        ]
        reached |= {c.__name__ for c in _node_classes([fn(cr, *xs)])}
    missing = (
        {c.__name__ for c in _all_function_classes() if not c.__name__.startswith("_")} - reached - COVERED_ELSEWHERE
    )
    assert not missing, f"op classes without a second-derivative case: {sorted(missing)}"


def test_every_op_class_has_a_recorded_backward():
    base = cr.node.Node
    for cls in _all_function_classes():
        if cls.__name__.startswith("_"):  # a base class (_ScalarOp, _Extreme): its subclasses are checked
            continue
        own = cls.backward_graph is not base.backward_graph or cls.composite is not base.composite
        assert own, f"{cls.__name__} has neither backward_graph nor composite"


def test_third_derivative_of_tanh_as_in_dezero():
    # DeZero's example: tanh''' at x = 1, against the closed form -2 (1 - t^2)(1 - 3 t^2), t = tanh 1
    x = cr.tensor(1.0, dtype=cr.float64, requires_grad=True)
    y = cr.tanh(x)
    (g1,) = cr.autograd.grad(y, x, create_graph=True)
    (g2,) = cr.autograd.grad(g1, x, create_graph=True)
    (g3,) = cr.autograd.grad(g2, x)
    t = np.tanh(1.0)
    assert g1.item() == pytest.approx(1 - t * t, rel=1e-12)
    assert g2.item() == pytest.approx(-2 * t * (1 - t * t), rel=1e-12)
    assert g3.item() == pytest.approx(-2 * (1 - t * t) * (1 - 3 * t * t), rel=1e-12)


@pytest.mark.parametrize("op", ["tanh", "sigmoid", "exp", "sin", "log", "sqrt", "erf"])
def test_third_derivatives_of_element_wise_ops_equal_pytorchs(op):
    def third(L):
        x = L.tensor([0.3, 0.7, 1.4], dtype=L.float64, requires_grad=True)
        y = getattr(L, op)(x).sum()
        for _ in range(2):
            (y,) = L.autograd.grad(y, x, create_graph=True)
            y = y.sum()
        (g,) = L.autograd.grad(y, x)
        return g.numpy()

    np.testing.assert_allclose(third(cr), third(torch), rtol=1e-10)


def test_backward_create_graph_makes_grad_differentiable():
    x = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    (x**3).sum().backward(create_graph=True)
    assert x.grad.requires_grad and x.grad.grad_fn is not None
    first = x.grad
    x.grad = None
    first.sum().backward()  # d/dx sum(3 x^2) = 6 x
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 12.0])


def test_backward_create_graph_accumulates_out_of_place_and_never_shares():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward(create_graph=True)
    assert a.grad is not b.grad
    a.grad.data.mul_(10)
    np.testing.assert_allclose(b.grad.detach().numpy(), [1.0, 1.0])
    (a * a).sum().backward(create_graph=True)
    np.testing.assert_allclose(a.grad.detach().numpy(), [12.0, 14.0])


def test_off_by_default_gradients_have_no_graph():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x**3).sum().backward()
    assert not x.grad.requires_grad
    (g,) = cr.autograd.grad((x**3).sum(), x)
    assert not g.requires_grad


def test_create_graph_records_even_inside_no_grad():
    x = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    y = (x**3).sum()
    with cr.no_grad():
        (g,) = cr.autograd.grad(y, x, create_graph=True)
    assert g.requires_grad


def _torch_layer_copy(layer, torch_layer):
    with torch.no_grad():
        for (_, p), (_, q) in zip(layer.named_parameters(), torch_layer.named_parameters()):
            q.copy_(torch.tensor(p.detach().numpy()))


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_recurrent_layers_second_derivatives_equal_pytorchs(kind):
    cr.manual_seed(0)
    layer = getattr(cr.nn, kind)(3, 4, batch_first=True).double()
    theirs = getattr(torch.nn, kind)(3, 4, batch_first=True).double()
    _torch_layer_copy(layer, theirs)
    data = _data((2, 5, 3), 4)

    def run(L, module):
        x = L.tensor(data, dtype=L.float64, requires_grad=True)
        out = module(x)[0]
        (g,) = L.autograd.grad((out**2).sum(), x, create_graph=True)
        params = list(module.parameters())
        return [g.detach().numpy()] + [p.numpy() for p in L.autograd.grad((g * g).sum(), [x] + params)]

    for ours, expected in zip(run(cr, layer), run(torch, theirs)):
        np.testing.assert_allclose(ours, expected, rtol=1e-8, atol=1e-10)


def test_dropout_second_derivative_uses_its_mask():
    x = cr.tensor(_data((50,), 1), dtype=cr.float64, requires_grad=True)
    y = cr.nn.functional.dropout(x, 0.4)
    kept = (y.detach().numpy() != 0).astype(float) / 0.6
    (g,) = cr.autograd.grad((y**2).sum(), x, create_graph=True)
    (h,) = cr.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 2 * kept**2)


def test_in_place_ops_record_and_the_version_counter_still_holds():
    x = cr.tensor([0.5, 1.5, 2.5], dtype=cr.float64, requires_grad=True)
    y = x * 1.0
    y.mul_(x)  # y = x^2
    y[0] = x[1] * x[2]
    (g,) = cr.autograd.grad(y.sum(), x, create_graph=True)
    (h,) = cr.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(g.detach().numpy(), [0.0, 3.0 + 2.5, 5.0 + 1.5])
    np.testing.assert_allclose(h.numpy(), [0.0, 3.0, 3.0])
    a = cr.tensor([0.5, 1.5], dtype=cr.float64, requires_grad=True)
    b = a * 1.0
    out = cr.exp(b)  # exp's recorded gradient recomputes exp(b): a write to b must be refused
    with cr.no_grad():
        b.add_(1.0)
    with pytest.raises(GraphError, match="exp"):
        cr.autograd.grad(out.sum(), a, create_graph=True)


Cube = _cube(cr)


class SavesOutput(cr.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_output):
        (y,) = ctx.saved_tensors
        return grad_output * y


def test_custom_function_backward_in_ops_is_differentiable():
    x = cr.tensor([1.0, 2.0], dtype=cr.float64, requires_grad=True)
    (g,) = cr.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    (h,) = cr.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), [6.0, 12.0])
    with pytest.raises(NotImplementedError, match="SavesOutput saved its output"):
        cr.autograd.grad(SavesOutput.apply(x).sum(), x, create_graph=True)


def test_prod_with_a_zero_refuses_rather_than_being_wrong():
    x = cr.tensor([0.0, 2.0, 3.0], dtype=cr.float64, requires_grad=True)
    with pytest.raises(NotImplementedError, match="prod"):
        cr.autograd.grad(x.prod(), x, create_graph=True)


def test_gradgradcheck_names_a_wrong_second_derivative():
    class WrongSecond(Cube):  # the right first derivative (3 x^2), written so that its own derivative is 0
        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * cr.tensor(3 * x.detach().numpy() ** 2, dtype=cr.float64)

    x = cr.tensor([0.5, 1.0], dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(WrongSecond.apply, [x])
    with pytest.raises(cr.errors.GradcheckError, match="gradgradcheck: the gradient of input 0"):
        cr.autograd.gradgradcheck(WrongSecond.apply, [x])
