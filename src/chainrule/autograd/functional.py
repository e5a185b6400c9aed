"""chainrule.autograd.functional, as torch.autograd.functional: vjp, jvp, jacobian, hessian, hvp and vhp of a
function of Tensors, each built from reverse-mode gradients (``autograd.grad``), the second-order ones from
gradients recorded with ``create_graph=True``.

A Jacobian-vector product J v needs forward mode, which chainrule does not have; it is taken by two vjps
instead: g(u) = J^T u is linear in u, so the gradient of v . g(u) with respect to u is J v.
"""

from __future__ import annotations

from ..errors import GraphError
from ..grad_mode import enable_grad
from ..ops import stack, zeros_like
from ..tensor import Tensor
from . import grad


def _as_tuple(value, what: str) -> tuple[tuple, bool]:
    if isinstance(value, Tensor):
        return (value,), False
    if isinstance(value, (tuple, list)) and all(isinstance(t, Tensor) for t in value):
        return tuple(value), True
    raise TypeError(f"autograd.functional: {what} must be a Tensor or a tuple of Tensors, got {type(value).__name__}")


def _leaves(inputs: tuple, create_graph: bool) -> tuple:
    """The inputs as tensors to differentiate by: detached copies, unless create_graph keeps their graph."""
    return tuple(t if create_graph and t.requires_grad else t.detach().requires_grad_(True) for t in inputs)


def _grads(outputs, inputs, grad_outputs, create_graph: bool, strict: bool, retain: bool = True) -> tuple:
    """autograd.grad with zeros for inputs the outputs do not depend on (an error under ``strict``)."""
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs or [None] * len(outputs)) if o.requires_grad]
    found = (None,) * len(inputs)
    if pairs:
        outs, gs = zip(*pairs)
        found = grad(list(outs), inputs, list(gs), retain_graph=retain, create_graph=create_graph, allow_unused=True)
    result = []
    for index, (t, g) in enumerate(zip(inputs, found)):
        if g is None:
            if strict:
                raise GraphError(f"autograd.functional: the output does not depend on input {index} (strict=True)")
            g = zeros_like(t)
        result.append(g if create_graph else g.detach())
    return tuple(result)


def _shaped(values: tuple, is_tuple: bool):
    return values if is_tuple else values[0]


def _check_v(v, like: tuple, what: str, left_out: str = "a function with one-element output") -> tuple:
    """v as a tuple shaped as ``like`` (the outputs, or the inputs for jvp and vhp); ones where v is left out, which
    only one-element ``like`` allows."""
    if v is None:
        if any(t.numel() != 1 for t in like):
            raise GraphError(f"autograd.functional.{what}: v can be left out only for {left_out}")
        return tuple(Tensor.wrap(t.array * 0 + 1, False) for t in like)
    vs, _ = _as_tuple(v, "v")
    if len(vs) != len(like) or any(a.shape != b.shape for a, b in zip(vs, like)):
        raise GraphError(
            f"autograd.functional.{what}: v must match the shapes {[tuple(t.shape) for t in like]}, got "
            f"{[tuple(a.shape) for a in vs]}"
        )
    return vs


def _call(func, inputs: tuple) -> tuple[tuple, bool]:
    with enable_grad():
        return _as_tuple(func(*inputs), "the function's output")


def _result(outputs: tuple, is_tuple: bool, create_graph: bool):
    return _shaped(tuple(o if create_graph else o.detach() for o in outputs), is_tuple)


def vjp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), v^T J): the gradient of the outputs weighted by v, one per input."""
    xs, inputs_tuple = _as_tuple(inputs, "inputs")
    xs = _leaves(xs, create_graph)
    outputs, outputs_tuple = _call(func, xs)
    vs = _check_v(v, outputs, "vjp")
    return _result(outputs, outputs_tuple, create_graph), _shaped(
        _grads(outputs, xs, vs, create_graph, strict), inputs_tuple
    )


def jvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), J v): how the outputs move when the inputs move along v (two vjps, see above)."""
    xs, inputs_tuple = _as_tuple(inputs, "inputs")
    xs = _leaves(xs, create_graph)
    outputs, outputs_tuple = _call(func, xs)
    vs = _check_v(v, xs, "jvp", "one-element inputs")
    dummies = tuple(Tensor.wrap(o.array * 0, False).requires_grad_(True) for o in outputs)
    transposed = _grads(outputs, xs, dummies, True, strict)  # J^T u, linear in the dummy u
    products = _grads(transposed, dummies, vs, create_graph, strict)
    return _result(outputs, outputs_tuple, create_graph), _shaped(products, outputs_tuple)


def jacobian(
    func,
    inputs,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: str = "reverse-mode",
):
    """d output_i / d input_j, each of shape output_i.shape + input_j.shape: one vjp per output element."""
    if strategy != "reverse-mode":
        raise NotImplementedError("jacobian: only strategy='reverse-mode' is supported in chainrule")
    xs, inputs_tuple = _as_tuple(inputs, "inputs")
    xs = _leaves(xs, create_graph)
    outputs, outputs_tuple = _call(func, xs)
    blocks = []
    for out in outputs:
        rows = []
        for k in range(out.numel()):
            onehot = Tensor.wrap((out.array * 0).reshape(-1), False)
            onehot.array[k] = 1
            rows.append(_grads([out], xs, [onehot.reshape(out.shape)], create_graph, strict))
        blocks.append(
            tuple(
                stack([row[j] for row in rows]).reshape(tuple(out.shape) + tuple(x.shape))
                if rows
                else zeros_like(x).reshape(tuple(out.shape) + tuple(x.shape))
                for j, x in enumerate(xs)
            )
        )
    if outputs_tuple:
        return tuple(_shaped(b, inputs_tuple) for b in blocks)
    return _shaped(blocks[0], inputs_tuple)


def _gradient_function(func, inputs_tuple: bool, strict: bool, what: str):
    """x -> grad of the one-element func at x, recorded (so that it can be differentiated again)."""

    def gradient(*xs):
        outputs, _ = _call(func, xs)
        if len(outputs) != 1 or outputs[0].numel() != 1:
            raise GraphError(f"autograd.functional.{what}: the function must return a single one-element Tensor")
        return _shaped(_grads(outputs, xs, None, True, strict), inputs_tuple)

    return gradient


def hessian(
    func,
    inputs,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: str = "reverse-mode",
):
    """The matrix of second derivatives of a one-element func: the Jacobian of its gradient."""
    _, inputs_tuple = _as_tuple(inputs, "inputs")
    return jacobian(
        _gradient_function(func, inputs_tuple, strict, "hessian"),
        inputs,
        create_graph,
        strict,
        strategy=outer_jacobian_strategy,
    )


def vhp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), v^T H): the gradient of (grad f) . v, by a second backward through the recorded gradient."""
    xs, inputs_tuple = _as_tuple(inputs, "inputs")
    xs = _leaves(xs, create_graph)
    outputs, _ = _call(func, xs)
    if len(outputs) != 1 or outputs[0].numel() != 1:
        raise GraphError("autograd.functional.vhp: the function must return a single one-element Tensor")
    vs = _check_v(v, xs, "vhp", "one-element inputs")
    gradients = _grads(outputs, xs, None, True, strict)
    return _result(outputs, False, create_graph), _shaped(_grads(gradients, xs, vs, create_graph, strict), inputs_tuple)


def hvp(func, inputs, v=None, create_graph: bool = False, strict: bool = False):
    """(func(inputs), H v): the jvp of the gradient (equal to vhp where H is symmetric, as for any twice
    continuously differentiable f)."""
    xs, inputs_tuple = _as_tuple(inputs, "inputs")
    outputs, _ = _call(func, _leaves(xs, False))
    _, product = jvp(_gradient_function(func, inputs_tuple, strict, "hvp"), inputs, v, create_graph, strict)
    return _result(outputs, False, create_graph), product
