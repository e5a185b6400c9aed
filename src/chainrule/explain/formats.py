"""One training step's chain rule in a format: text, Markdown, LaTeX or HTML (equations.py builds the document,
writers.py writes it), or JSON (every number of the StepTrace).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np

from .equations import build_document
from .writers import render_document

if TYPE_CHECKING:
    from .trace import StepTrace

FORMATS = ("text", "markdown", "latex", "html", "json")


def render(trace: StepTrace, fmt: str = "text", digits: int = 9) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"explain: format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "json":
        return to_json(trace)
    return render_document(build_document(trace, digits), fmt)


def to_json(trace: StepTrace) -> str:
    """Every intermediate value, the loss, every gradient and every updated parameter (full precision)."""
    spec = trace.spec

    def arr(a):
        return None if a is None else np.asarray(a, dtype=np.float64).tolist()

    data = {
        "inputs": arr(spec.inputs),
        "targets": spec.targets.tolist(),
        "loss": {"name": spec.loss, "value": float(trace.loss), "terms": arr(trace.errors)},
        "lr": spec.lr,
        "layers": [
            {
                "index": layer.index,
                "activation": layer.activation,
                "input": arr(layer.inputs),
                "weight": arr(layer.weight),
                "bias": arr(layer.bias),
                "net": arr(layer.net),
                "out": arr(layer.out),
                "dE_dout": arr(layer.grad_out),
                "dout_dnet": arr(layer.local),
                "dE_dnet": arr(layer.grad_net),
                "grad_weight": arr(layer.grad_weight),
                "grad_bias": arr(layer.grad_bias),
                "updated_weight": arr(layer.new_weight),
                "updated_bias": arr(layer.new_bias),
                "dropout": layer.dropout,
                "penalty_grad": arr(layer.penalty_grad),
            }
            for layer in trace.layers
        ],
        "losses": [float(v) for v in trace.losses],
        "optimizer": trace.optimizer,
        "penalty": None if trace.penalty is None else {"kind": trace.penalty[0], "rate": trace.penalty[1]},
    }
    return json.dumps(data, indent=2) + "\n"
