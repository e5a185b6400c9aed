"""Derivatives of derivatives for learners: y = f(x), dy/dx and d²y/dx² at a point, each a graph the engine
recorded (create_graph=True), drawn together, so the learner sees that a derivative is a graph of the same kind
of nodes as the function: the backward pass is itself a composition of differentiable ops.

The expression is a formula in x (``x**2``, ``tanh(x) * x``, ``exp(-x**2 / 2)``), read with Python's parser
and evaluated only through the operators and functions listed below: nothing else in it runs.
"""

from __future__ import annotations

import ast
import math

import numpy as np

from .. import ops
from ..autograd import grad
from ..errors import ConfigError
from ..tensor import Tensor

FUNCTIONS = {
    name: getattr(ops, name)
    for name in ("exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "abs", "erf")
}
_OPERATORS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}


def parse_expression(text: str):
    """``text`` as a function of the Tensor x; a clear ValueError for anything outside the small grammar."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ConfigError(f"expression {text!r}: not a formula ({exc.msg})") from None

    def evaluate(node, x):
        if isinstance(node, ast.Name) and node.id == "x":
            return x
        if isinstance(node, ast.Name) and node.id in ("pi", "e"):
            return getattr(math, node.id)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return float(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = evaluate(node.operand, x)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](evaluate(node.left, x), evaluate(node.right, x))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in FUNCTIONS
            and len(node.args) == 1
            and not node.keywords
        ):
            return FUNCTIONS[node.func.id](evaluate(node.args[0], x))
        raise ConfigError(
            f"expression {text!r}: {ast.unparse(node)!r} is not allowed; use x, numbers, + - * / **, and "
            f"{', '.join(sorted(FUNCTIONS))}"
        )

    def function(x: Tensor) -> Tensor:
        y = evaluate(tree, x)
        if not isinstance(y, Tensor):
            raise ConfigError(f"expression {text!r} does not depend on x")
        return y

    return function


def _label(order: int) -> str:
    return "y" if order == 0 else "dy/dx" if order == 1 else f"d{order}y/dx{order}"


def derivatives(expression: str, at: float, order: int = 2) -> dict:
    """{label: Tensor} for y and its derivatives up to ``order`` at x = ``at``, every one a recorded graph (each
    derivative the gradient of the one before, with create_graph=True)."""
    if not 1 <= order <= 6:
        raise ConfigError(f"derivatives: order must be from 1 to 6, got {order}")
    x = Tensor(np.float64(at), requires_grad=True, dtype=np.float64)  # learners compare with exact values
    x.name = f"x = {at:g}"
    results = {_label(0): parse_expression(expression)(x)}
    current = results[_label(0)]
    for k in range(1, order + 1):
        if not current.requires_grad:  # an earlier derivative was a constant: every later one is 0
            current = Tensor(np.float64(0.0))
        else:
            (current,) = grad(current, x, create_graph=True, allow_unused=True, materialize_grads=True)
        results[_label(k)] = current
    return results


def describe(expression: str, at: float, order: int = 2) -> tuple[str, dict]:
    """The values as text, and the tensors (for graph.to_dot) of ``derivatives``."""
    found = derivatives(expression, at, order)
    width = max(len(label) for label in found)
    lines = [f"y = {expression} at x = {at:g}; each derivative is the gradient of the graph above it"]
    for label, t in found.items():
        nodes = _count_nodes(t)
        shape = (
            f"a graph of {nodes} op{'s' if nodes != 1 else ''}"
            if nodes
            else "a constant: nothing left to differentiate"
        )
        lines.append(f"{label:<{width}} = {t.item():.10g}   ({shape})")
    return "\n".join(lines), found


def _count_nodes(t: Tensor) -> int:
    seen, stack = set(), [t.grad_fn] if t.grad_fn is not None else []
    while stack:
        fn = stack.pop()
        if id(fn) not in seen:
            seen.add(id(fn))
            stack.extend(i.grad_fn for i in fn.inputs if i.grad_fn is not None)
    return len(seen)
