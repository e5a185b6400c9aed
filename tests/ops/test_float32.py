"""float32 in, float32 out, for every public op: the forward and every gradient (no silent upcast)."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F
from chainrule.ops import __all__ as OPS

rng = np.random.default_rng(9)


DEVICE = {"name": "cpu"}  # tests/test_device.py reruns the walk with 'cuda'


def f32(*shape, low=0.5, high=1.5):
    """A float32 leaf; on another device, the leaf stays on the CPU and the op sees its moved copy
    (so the walk also checks that gradients flow back across the move)."""
    leaf = cr.tensor(rng.uniform(low, high, shape).astype(np.float32), requires_grad=True)
    return leaf if DEVICE["name"] == "cpu" else leaf.to(DEVICE["name"])


def on(value):
    """A constant (targets, conditions) on the walk's device."""
    t = value if isinstance(value, cr.Tensor) else cr.tensor(value)
    return t if DEVICE["name"] == "cpu" else t.to(DEVICE["name"])


# op name -> a call on float32 tensors (positive values keep log/sqrt/pow defined)
CALLS = {
    "abs": lambda: F.abs(f32(3, 4)),
    "add": lambda: F.add(f32(3, 4), f32(4)),
    "sub": lambda: F.sub(f32(3, 4), 2.0),
    "mul": lambda: F.mul(f32(3, 4), f32(3, 1)),
    "div": lambda: F.div(f32(3, 4), f32(4)),
    "neg": lambda: F.neg(f32(3)),
    "pow": lambda: F.pow(f32(3), 2.5),
    "exp": lambda: F.exp(f32(3)),
    "log": lambda: F.log(f32(3)),
    "sqrt": lambda: F.sqrt(f32(3)),
    "clip": lambda: F.clip(f32(3, 4), 0.7, 1.2),
    "clamp": lambda: F.clamp(f32(3, 4), min=0.8),
    "maximum": lambda: F.maximum(f32(3, 4), f32(4)),
    "minimum": lambda: F.minimum(f32(3, 4), f32(4)),
    "where": lambda: F.where(on(np.array([True, False, True])), f32(3), f32(3)),
    "sum": lambda: F.sum(f32(3, 4), axis=0),
    "mean": lambda: F.mean(f32(3, 4), axis=1, keepdims=True),
    "max": lambda: F.max(f32(3, 4), axis=1).values,
    "min": lambda: F.min(f32(3, 4)),
    "amax": lambda: F.amax(f32(3, 4), dim=(0, 1)),
    "amin": lambda: F.amin(f32(3, 4), 1, keepdim=True),
    "prod": lambda: F.prod(f32(3, 4), 1),
    "cumsum": lambda: F.cumsum(f32(3, 4), dim=1),
    "var": lambda: F.var(f32(3, 4), 1),
    "std": lambda: F.std(f32(3, 4)),
    "norm": lambda: F.norm(f32(3, 4), dim=1),
    "logsumexp": lambda: F.logsumexp(f32(3, 4), dim=1),
    "sin": lambda: F.sin(f32(3)),
    "cos": lambda: F.cos(f32(3)),
    "tan": lambda: F.tan(f32(3)),
    "log1p": lambda: F.log1p(f32(3)),
    "erf": lambda: F.erf(f32(3)),
    "expm1": lambda: F.expm1(f32(3)),
    "square": lambda: F.square(f32(3)),
    "reciprocal": lambda: F.reciprocal(f32(3)),
    "rsqrt": lambda: F.rsqrt(f32(3)),
    "sign": lambda: F.sign(f32(3)),
    "floor": lambda: F.floor(f32(3)),
    "ceil": lambda: F.ceil(f32(3)),
    "round": lambda: F.round(f32(3)),
    "trunc": lambda: F.trunc(f32(3)),
    "silu": lambda: F.silu(f32(3, low=-2)),
    "softplus": lambda: F.softplus(f32(3, low=-2)),
    "elu": lambda: F.elu(f32(3, low=-2)),
    "mm": lambda: F.mm(f32(2, 3), f32(3, 4)),
    "bmm": lambda: F.bmm(f32(2, 2, 3), f32(2, 3, 4)),
    "mv": lambda: F.mv(f32(2, 3), f32(3)),
    "dot": lambda: F.dot(f32(3), f32(3)),
    "outer": lambda: F.outer(f32(2), f32(3)),
    "view": lambda: F.view(f32(3, 4), 2, 6),
    "expand": lambda: F.expand(f32(3, 1), 3, 4),
    "repeat": lambda: F.repeat(f32(2, 3), 2, 1),
    "flip": lambda: F.flip(f32(3, 4), 0),
    "t": lambda: F.t(f32(3, 4)),
    "narrow": lambda: F.narrow(f32(4, 3), 0, 1, 2),
    "split": lambda: F.split(f32(4, 3), 2)[1],
    "chunk": lambda: F.chunk(f32(4, 3), 2, dim=1)[0],
    "unbind": lambda: F.unbind(f32(4, 3))[2],
    "gather": lambda: F.gather(f32(3, 4), 1, on(np.array([[0, 0], [1, 3], [2, 2]]))),
    "index_select": lambda: F.index_select(f32(3, 4), 1, on(np.array([3, 0]))),
    "masked_fill": lambda: F.masked_fill(f32(3), on(np.array([True, False, True])), 0.0),
    "sort": lambda: F.sort(f32(3, 4), dim=1).values,
    "topk": lambda: F.topk(f32(3, 4), 2).values,
    "argsort": None,
    "argmin": None,
    "all": None,
    "any": None,
    "remainder": None,
    "floor_divide": None,  # no float gradient
    # factories make leaves, checked by test_factories_make_float32
    "arange": None,
    "empty": None,
    "empty_like": None,
    "eye": None,
    "from_numpy": None,
    "full": None,
    "full_like": None,
    "linspace": None,
    "logspace": None,
    "normal": None,
    "ones": None,
    "ones_like": None,
    "rand": None,
    "rand_like": None,
    "randint": None,
    "randint_like": None,
    "randn": None,
    "randn_like": None,
    "randperm": None,
    "zeros": None,
    "zeros_like": None,
    "reshape": lambda: F.reshape(f32(3, 4), (2, 6)),
    "transpose": lambda: F.transpose(f32(3, 4)),
    "permute": lambda: F.permute(f32(2, 3, 4), (2, 0, 1)),
    "flatten": lambda: F.flatten(f32(2, 3, 4), 1),
    "squeeze": lambda: F.squeeze(f32(3, 1)),
    "unsqueeze": lambda: F.unsqueeze(f32(3), 0),
    "getitem": lambda: F.getitem(f32(4, 3), [0, 0, 2]),
    "concatenate": lambda: F.concatenate([f32(2, 3), f32(1, 3)]),
    "cat": lambda: F.cat([f32(2, 3), f32(2, 3)], axis=1),
    "stack": lambda: F.stack([f32(3), f32(3)]),
    "matmul": lambda: F.matmul(f32(2, 3, 4), f32(4, 5)),
    "linear": lambda: F.linear(f32(3, 4), f32(5, 4), f32(5)),
    "relu": lambda: F.relu(f32(3, 4, low=-1)),
    "leaky_relu": lambda: F.leaky_relu(f32(3, 4, low=-1)),
    "sigmoid": lambda: F.sigmoid(f32(3)),
    "tanh": lambda: F.tanh(f32(3)),
    "softmax": lambda: F.softmax(f32(3, 4)),
    "log_softmax": lambda: F.log_softmax(f32(3, 4)),
    "gelu": lambda: F.gelu(f32(3, low=-2)),
    "cross_entropy": lambda: F.cross_entropy(f32(4, 3), on([0, 2, 1, 1])),
    "nll_loss": lambda: F.nll_loss(F.log_softmax(f32(4, 3)), on([0, 2, 1, 1])),
    "mse_loss": lambda: F.mse_loss(f32(4, 2), f32(4, 2)),
    "l1_loss": lambda: F.l1_loss(f32(4, 2), f32(4, 2)),
    "binary_cross_entropy": lambda: F.binary_cross_entropy(f32(4, low=0.1, high=0.9), on([0.0, 1.0, 1.0, 0.0])),
    "binary_cross_entropy_with_logits": lambda: F.binary_cross_entropy_with_logits(
        f32(4, low=-2, high=2), on([0.0, 1.0, 1.0, 0.0])
    ),
    "argmax": None,  # returns indices: no float output, no gradient
    "conv2d": lambda: F.conv2d(f32(2, 3, 6, 6), f32(4, 3, 3, 3), f32(4), stride=2, padding=1),
    "max_pool2d": lambda: F.max_pool2d(f32(2, 3, 6, 6), 2),
    "avg_pool2d": lambda: F.avg_pool2d(f32(2, 3, 6, 6), 3, 1, 1),
    "batch_norm": lambda: F.batch_norm(f32(5, 3), None, None, f32(3), f32(3), training=True),
    "dropout": lambda: F.dropout(f32(5, 3), 0.5, training=True),
    "dropout2d": lambda: F.dropout2d(f32(2, 3, 4, 4), 0.5, training=True),
    "layer_norm": lambda: F.layer_norm(f32(4, 3), 3, f32(3), f32(3)),
    "unfold": lambda: F.unfold(f32(2, 3, 5, 5), 3, padding=1, stride=2),
    "fold": lambda: F.fold(f32(2, 12, 4), (3, 3), 2),
    "embedding": lambda: F.embedding(on(np.array([[0, 2], [2, 1]])), f32(3, 4)),
    "log2": lambda: F.log2(f32(3)),
    "log10": lambda: F.log10(f32(3)),
    "tril": lambda: F.tril(f32(3, 3)),
    "triu": lambda: F.triu(f32(2, 3, 3), 1),
    "roll": lambda: F.roll(f32(3, 4), 1, 1),
    "repeat_interleave": lambda: F.repeat_interleave(f32(3, 2), 2, dim=0),
    "masked_select": lambda: F.masked_select(f32(3, 4), on(np.arange(12).reshape(3, 4) % 2 == 0)),
    "histc": None,  # counts, not differentiable (their dtypes: tests/compat/test_sequence_names.py)
    "histogram": None,
    "bincount": None,  # counts of integers
    "multinomial": None,  # int64 draws
    "bernoulli": None,  # draws, not differentiable
    "Generator": None,  # a class
    "einsum": lambda: F.einsum("ij,jk->ik", f32(2, 3), f32(3, 4)),
    "scatter": lambda: F.scatter(f32(3, 4), 0, on(np.array([[0, 1, 2, 0]])), f32(1, 4)),
    "scatter_add": lambda: F.scatter_add(f32(3, 4), 1, on(np.array([[0, 0], [1, 1], [2, 3]])), f32(3, 2)),
    "index_add": lambda: F.index_add(f32(3, 2), 0, on(np.array([0, 0, 2])), f32(3, 2)),
    "pad": lambda: F.pad(f32(2, 3, 4), (1, 1, 2, 0), mode="reflect"),
    "normalize": lambda: F.normalize(f32(3, 4)),
    "one_hot": None,  # int64 codes
    "scaled_dot_product_attention": lambda: F.scaled_dot_product_attention(f32(2, 3, 4), f32(2, 5, 4), f32(2, 5, 2)),
    "conv1d": lambda: F.conv1d(f32(2, 3, 8), f32(4, 3, 3), f32(4), padding=1),
    "max_pool1d": lambda: F.max_pool1d(f32(2, 3, 8), 2),
    "avg_pool1d": lambda: F.avg_pool1d(f32(2, 3, 8), 3, 1, 1),
    "adaptive_avg_pool1d": lambda: F.adaptive_avg_pool1d(f32(2, 3, 7), 3),
    "adaptive_avg_pool2d": lambda: F.adaptive_avg_pool2d(f32(2, 3, 5, 5), 2),
    "group_norm": lambda: F.group_norm(f32(2, 4, 3), 2, f32(4), f32(4)),
    "rms_norm": lambda: F.rms_norm(f32(3, 4), 4, f32(4)),
}


def test_every_public_op_is_walked():
    missing = sorted(set(F.__all__) - set(CALLS))
    assert not missing, f"add these ops to the float32 walk: {missing}"
    assert set(OPS) <= set(CALLS)


@pytest.mark.parametrize("name", sorted(k for k, v in CALLS.items() if v is not None))
def test_float32_in_float32_out(name):
    out = CALLS[name]()
    assert out.dtype == np.float32, f"{name} returned {out.dtype}"
    leaves = []
    stack, seen = [out], set()
    while stack:
        t = stack.pop()
        if t.grad_fn is None:
            if t.requires_grad:
                leaves.append(t)
            continue
        if id(t.grad_fn) in seen:
            continue
        seen.add(id(t.grad_fn))
        stack.extend(t.grad_fn.inputs)
    out.backward(np.ones(out.shape, dtype=np.float32))
    assert leaves
    for leaf in leaves:
        assert leaf.grad.dtype == np.float32, f"{name} gave a {leaf.grad.dtype} gradient"


def test_factories_make_float32():
    like = cr.ones(2, dtype=cr.float32)
    made = [
        cr.arange(0.0, 1.0, 0.25),
        cr.empty(2),
        cr.empty_like(like),
        cr.eye(2),
        cr.full((2,), 1.5),
        cr.full_like(like, 2.0),
        cr.linspace(0, 1, 3),
        cr.logspace(0, 1, 3),
        cr.normal(0.0, 1.0, (2,)),
        cr.ones(2),
        cr.ones_like(like),
        cr.rand(2),
        cr.rand_like(like),
        cr.randn(2),
        cr.randn_like(like),
        cr.zeros(2),
        cr.zeros_like(like),
    ]
    assert all(t.dtype == np.float32 for t in made)
    assert (
        cr.randint(0, 3, (2,)).dtype == np.int64 and cr.randperm(3).dtype == np.int64 and cr.arange(3).dtype == np.int64
    )
    assert cr.from_numpy(np.ones(2)).dtype == np.float64  # from_numpy keeps what it wraps
