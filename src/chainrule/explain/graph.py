"""Draw the computational graph that produced a tensor, as Graphviz DOT (and SVG/PNG with `dot`).

It walks the graph through the public Tensor API (grad_fn, its inputs), with an explicit stack.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np

from ..errors import ChainruleError
from ..serialization import atomic_write
from ..tensor import Tensor


def _values(array, limit: int = 6) -> str:
    flat = np.asarray(array).reshape(-1)
    text = ", ".join(f"{v:.4g}" for v in flat[:limit])
    return ("[" + text + (", …" if flat.size > limit else "") + "]") if np.ndim(array) else text


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _name(t: Tensor, roots: dict) -> str:
    """A tensor's name, or what it is: the loss (or the label it was drawn under), an op's result, a parameter
    or a constant."""
    if t.name:
        return t.name
    if id(t) in roots:
        return roots[id(t)]
    if t.grad_fn is not None:
        return f"{t.grad_fn.op_name()} result"
    return "parameter" if t.requires_grad else "constant"


def to_dot(tensor, show_values: bool = False, show_grads: bool = False) -> str:
    """DOT source: a box per tensor (name or shape, optional values and gradients), an ellipse per op.
    ``tensor`` is one Tensor (drawn as the loss) or a {label: Tensor} dict of several, drawn in one picture
    (a function and its recorded derivatives share their nodes)."""
    roots = {"loss": tensor} if isinstance(tensor, Tensor) else dict(tensor)
    labels = {id(t): label for label, t in roots.items()}
    # top to bottom: inputs above, the loss at the foot (a left-to-right row grows thousands of pixels wide)
    lines = ["digraph chainrule {", "  rankdir=TB;", '  node [fontname="Helvetica", fontsize=10];']
    ids: dict = {}

    def node_id(obj) -> str:
        if id(obj) not in ids:
            ids[id(obj)] = f"n{len(ids)}"
        return ids[id(obj)]

    def tensor_node(t: Tensor) -> str:
        label = [_name(t, labels), f"shape {tuple(t.shape)}"]
        if show_values:
            label.append("value " + _values(t.array))
        if show_grads and t.grad is not None:
            label.append("grad " + _values(t._grad.array))
        color = "lightblue" if t.requires_grad and t.is_leaf else "khaki" if id(t) in labels else "white"
        text = "\\n".join(_escape(part) for part in label)  # DOT's line break inside a label
        lines.append(f'  {node_id(t)} [shape=box, style=filled, fillcolor={color}, label="{text}"];')
        return node_id(t)

    seen_fn = set()
    for root in roots.values():
        if id(root) not in ids:
            tensor_node(root)
    stack = list(roots.values())
    while stack:
        t = stack.pop()
        fn = t.grad_fn
        if fn is None or id(fn) in seen_fn:
            if fn is not None:
                lines.append(f"  {node_id(fn)} -> {node_id(t)};")
            continue
        seen_fn.add(id(fn))
        lines.append(f'  {node_id(fn)} [shape=ellipse, label="{fn.op_name()}"];')
        lines.append(f"  {node_id(fn)} -> {node_id(t)};")
        for parent in fn.inputs:
            if id(parent) not in ids:
                tensor_node(parent)
                stack.append(parent)
            lines.append(f"  {node_id(parent)} -> {node_id(fn)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(tensor: Tensor, path: str, show_values: bool = True, show_grads: bool = True) -> str:
    """Draw the graph to ``path`` (format from its suffix: .svg, .png, .pdf) with Graphviz's `dot`."""
    dot = shutil.which("dot")
    if dot is None:
        raise ChainruleError(
            "drawing a graph needs Graphviz's `dot` program: install it with `apt-get install graphviz` "
            "(Debian/Ubuntu), `brew install graphviz` (macOS), or use to_dot() for the DOT text"
        )
    fmt = path.rsplit(".", 1)[-1].lower() if "." in path else "svg"
    if fmt not in ("svg", "png", "pdf"):
        raise ValueError(f"render: path must end in .svg, .png or .pdf, got {path!r}")
    result = subprocess.run(
        [dot, f"-T{fmt}"], input=to_dot(tensor, show_values, show_grads).encode(), capture_output=True
    )
    if result.returncode != 0:
        raise ChainruleError(f"dot failed: {result.stderr.decode(errors='replace').strip()[:500]}")
    atomic_write(path, result.stdout)  # the drawing comes back on stdout: one writer for every file
    return path
