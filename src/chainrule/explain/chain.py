"""One parameter's chain rule for one step: the equations of the full document, for that weight or bias only.

The playground shows this when a learner clicks a weight; the numbers are those of the StepTrace
(the engine's graph and backward), the equations the same ones ``chainrule explain`` writes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .equations import bias_equations, delta_equations, weight_equations
from .markup import Document, Names
from .trace import StepTrace


@dataclass
class ParameterChain:
    """A parameter's ∂E/∂p for one step, its factors and what the engine computed, with the equations."""

    name: str
    document: Document
    factors: list  # [(name, value)] of the chosen row: dE/dout, dout/dnet, dnet/dp (or dE/dnet, dnet/dp)
    row_product: float  # the chosen row's product of factors (its share of the gradient)
    data_gradient: float  # dE/dp summed over every row of the step: the sum of the rows' products
    engine_gradient: float  # what backward() left on the parameter (plus the penalty's share)
    old: float
    new: float


def parameter_chain(trace: StepTrace, layer: int, i: int, j: int | None = None, row: int | None = None, digits=6):
    """The chain for weight (i, j) of ``layer`` (1-based), or its bias i where ``j`` is None; ``row`` picks one
    example of the step (None: the whole batch)."""
    if not 1 <= layer <= len(trace.layers):
        raise ValueError(f"chain: layer must be 1 to {len(trace.layers)}, got {layer}")
    lt = trace.layers[layer - 1]
    following = trace.layers[layer] if layer < len(trace.layers) else None
    outputs, inputs = lt.weight.shape
    if not 0 <= i < outputs or (j is not None and not 0 <= j < inputs):
        raise ValueError(f"chain: layer {layer} has {outputs}×{inputs} weights, got index ({i}, {j})")
    rows = trace.spec.rows
    if row is not None and not 0 <= row < rows:
        raise ValueError(f"chain: the step had {rows} row(s), got row {row}")
    shown = 0 if row is None else row
    doc, names = Document(digits), Names(len(trace.layers))
    symbol = names.weight(layer, i, j) if j is not None else names.bias(layer, None if lt.bias.ndim == 0 else i)
    doc.heading(f"∂E/∂{symbol.u}: layer {layer}, {'weight' if j is not None else 'bias'}", 2)
    doc.para(
        f"Row {shown + 1} of the step's {rows}: the local derivatives along the path"
        + (" (∂E/∂out sums over the paths through the next layer)" if following is not None else "")
        + "."
    )
    delta_equations(doc, trace, lt, following, names, rows=[shown], neurons=[i])
    limit = 6
    if j is not None:
        if row is not None and rows > 1:
            weight_equations(doc, trace, lt, names, i, j, rows=[row])
            doc.para(f"Summed over all {rows} rows of the step:")
        data = weight_equations(doc, trace, lt, names, i, j, limit=limit)
        x = float(lt.inputs[shown, j])
        grad, old, new = float(lt.grad_weight[i, j]), float(lt.weight[i, j]), float(lt.new_weight[i, j])
    else:
        if row is not None and rows > 1:
            bias_equations(doc, trace, lt, names, i, rows=[row])
            doc.para(f"Summed over all {rows} rows of the step:")
        data = bias_equations(doc, trace, lt, names, i, limit=limit)
        x = 1.0
        shared = lt.bias.ndim == 0
        grad = float(lt.grad_bias if shared else lt.grad_bias[i])
        old = float(lt.bias if shared else lt.bias[i])
        new = float(lt.new_bias if shared else lt.new_bias[i])
    if lt.activation == "softmax":
        factors = [("∂E/∂net", float(lt.grad_net[shown, i])), ("∂net/∂p", x)]
    else:
        factors = [
            ("∂E/∂out", float(lt.grad_out[shown, i])),
            ("∂out/∂net", float(lt.local[shown, i])),
            ("∂net/∂p", x),
        ]
    product = float(np.prod([value for _, value in factors]))
    return ParameterChain(symbol.u, doc, factors, product, float(data), grad, old, new)
