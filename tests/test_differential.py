"""Differential testing: random computation graphs (op sequences, broadcasting shapes, reductions
along random axes, indexing) built in chainrule and in PyTorch, values and gradients compared."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr

# name: (arity, chainrule, torch). Guards (tanh before exp, |b| + 0.5 as a divisor) keep values finite.
UNARY = {
    "tanh": (cr.tanh, torch.tanh),
    "sigmoid": (cr.sigmoid, torch.sigmoid),
    "relu": (cr.relu, torch.relu),
    "abs": (cr.abs, torch.abs),
    "neg": (lambda x: -x, lambda x: -x),
    "square": (lambda x: x**2, lambda x: x**2),
    "exp_tanh": (lambda x: cr.exp(cr.tanh(x)), lambda x: torch.exp(torch.tanh(x))),
    "log_sigmoid": (lambda x: cr.log(cr.sigmoid(x) + 0.5), lambda x: torch.log(torch.sigmoid(x) + 0.5)),
    "sqrt_abs": (lambda x: cr.sqrt(cr.abs(x) + 0.1), lambda x: torch.sqrt(torch.abs(x) + 0.1)),
    "scale": (lambda x: 0.5 * x - 1.5, lambda x: 0.5 * x - 1.5),
    "clip": (lambda x: cr.clip(x, -0.5, 0.8), lambda x: torch.clamp(x, -0.5, 0.8)),
    "gelu": (cr.gelu, torch.nn.functional.gelu),
}
BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / (cr.abs(b) + 0.5), lambda a, b: a / (torch.abs(b) + 0.5)),
    "maximum": (cr.maximum, torch.maximum),
    "minimum": (cr.minimum, torch.minimum),
}


def _reduce(name, axis, keepdims):
    ours = {"sum": cr.sum, "mean": cr.mean, "max": cr.amax, "min": cr.amin}[name]
    theirs = {"sum": torch.sum, "mean": torch.mean, "max": torch.amax, "min": torch.amin}[name]
    return (lambda x: ours(x, axis=axis, keepdims=keepdims)), (lambda x: theirs(x, dim=axis, keepdim=keepdims))


@st.composite
def graphs(draw):
    ndim = draw(st.integers(1, 3))
    base = draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim))
    shapes = []
    for _ in range(draw(st.integers(1, 3))):
        shape = [1 if draw(st.booleans()) and draw(st.booleans()) else s for s in base]
        drop = draw(st.integers(0, len(shape) - 1))
        shapes.append(tuple(shape[drop:]))
    ops = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["unary", "unary", "binary", "binary", "reduce", "shape", "softmax"]))
        if kind == "unary":
            ops.append(("unary", draw(st.sampled_from(sorted(UNARY)))))
        elif kind == "binary":
            ops.append(("binary", draw(st.sampled_from(sorted(BINARY))), draw(st.integers(0, 10))))
        elif kind == "reduce":
            ops.append(
                (
                    "reduce",
                    draw(st.sampled_from(["sum", "mean", "max", "min"])),
                    draw(st.integers(0, 2)),
                    draw(st.booleans()),
                )
            )
        elif kind == "shape":
            ops.append(
                (
                    "shape",
                    draw(
                        st.sampled_from(
                            [
                                "transpose",
                                "flatten",
                                "slice",
                                "index",
                                "reshape_back",
                                "gram",
                                "stack",
                                "concat",
                                "where",
                            ]
                        )
                    ),
                )
            )
        else:
            ops.append(("softmax", draw(st.sampled_from(["softmax", "log_softmax"])), draw(st.integers(0, 2))))
    return shapes, ops, draw(st.integers(0, 2**32 - 1))


def _apply(op, pool_ours, pool_theirs):
    x, tx = pool_ours[-1], pool_theirs[-1]
    kind = op[0]
    if kind == "unary":
        fo, ft = UNARY[op[1]]
        return fo(x), ft(tx)
    if kind == "binary":
        other = op[2] % len(pool_ours)
        y, ty = pool_ours[other], pool_theirs[other]
        try:
            np.broadcast_shapes(x.shape, y.shape)
        except ValueError:
            return None
        fo, ft = BINARY[op[1]]
        return fo(x, y), ft(tx, ty)
    if kind == "reduce":
        if x.ndim == 0:
            return None
        fo, ft = _reduce(op[1], op[2] % x.ndim, op[3])
        return fo(x), ft(tx)
    if kind == "softmax":
        if x.ndim == 0:
            return None
        axis = op[2] % x.ndim
        if op[1] == "softmax":
            return cr.softmax(x, axis=axis), torch.softmax(tx, dim=axis)
        return cr.log_softmax(x, axis=axis), torch.log_softmax(tx, dim=axis)
    name = op[1]
    if x.ndim == 0:
        return None
    if name == "transpose":
        return x.T, tx.permute(*reversed(range(tx.ndim)))
    if name == "flatten":
        return x.flatten(), tx.flatten()
    if name == "slice":
        stop = max(1, x.shape[0] - 1)
        return x[:stop], tx[:stop]
    if name == "index":
        index = [0, x.shape[0] - 1, 0]  # repeated rows: backward must accumulate
        return x[index], tx[index]
    if name == "gram":  # x @ x^T: one tensor used twice in a matrix product
        if x.ndim == 1:
            return x @ x, tx @ tx
        return x @ cr.transpose(x, -1, -2), tx @ tx.transpose(-1, -2)
    if name == "stack":
        return cr.stack([x, x * 2.0], axis=0), torch.stack([tx, tx * 2.0], dim=0)
    if name == "concat":
        return cr.concatenate([x, -x], axis=-1), torch.cat([tx, -tx], dim=-1)
    if name == "where":
        condition = x.array > 0
        return cr.where(condition, x, x * x), torch.where(torch.tensor(condition), tx, tx * tx)
    return x.reshape(*x.shape[::-1]), tx.reshape(*tx.shape[::-1])


@settings(max_examples=500, deadline=None, derandomize=True)
@given(graphs())
def test_random_graphs_match_pytorch(case):
    shapes, ops, seed = case
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(-1.5, 1.5, shape) for shape in shapes]
    ours = [cr.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    pool_ours, pool_theirs = list(ours), list(theirs)
    for op in ops:
        result = _apply(op, pool_ours, pool_theirs)
        if result is not None:
            pool_ours.append(result[0])
            pool_theirs.append(result[1])
    out, tout = pool_ours[-1], pool_theirs[-1]
    np.testing.assert_allclose(out.array, tout.detach().numpy(), rtol=1e-9, atol=1e-12, err_msg=f"forward of {ops}")
    weights = rng.standard_normal(out.shape)
    (out * cr.tensor(weights, dtype="float64")).sum().backward()
    (tout * torch.tensor(weights)).sum().backward()
    for a, b in zip(ours, theirs):
        if b.grad is None:
            assert a.grad is None or not np.any(a.grad), f"gradient where PyTorch has none: {ops}"
            continue
        assert a.grad is not None, f"missing gradient: {ops}"
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-8, atol=1e-10, err_msg=f"gradient of {ops}")
