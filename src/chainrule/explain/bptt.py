"""Backpropagation through time, written out with a small RNN's own numbers (``chainrule explain --rnn``).

h_t = tanh(W_xh x_t + W_hh h_{t-1} + b) for t = 1..T from h_0 = 0, and E = ½ Σ (h_T − target)², the error of the
last state only, so every earlier step is reached through the steps after it. The forward values and every
gradient shown are the engine's own (the tensors of one forward and one backward()); the text writes them
into the formulas of the chain rule through time:

    ∂E/∂a_t = ∂E/∂h_t ⊙ (1 − h_t²),   ∂E/∂h_{t−1} = W_hhᵀ ∂E/∂a_t,   ∂E/∂W_hh = Σ_t ∂E/∂a_t h_{t−1}ᵀ,

and the product of the per-step factors diag(1 − h_t²) W_hh that carries the error from the last step back to
step k: it shrinks (or grows) with the distance, which is why a plain RNN forgets.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from .. import ops
from ..errors import ConfigError
from ..tensor import Tensor
from .markup import Document, M, eq
from .writers import render_document

EXAMPLE_RNN = {
    "inputs": [[1.0, 0.0], [0.5, -1.0], [0.0, 1.0]],
    "target": [0.5, -0.5],
    "w_xh": [[0.5, -0.3], [0.8, 0.2]],
    "w_hh": [[0.9, -0.4], [0.3, 0.7]],
    "b": [0.1, -0.1],
}
MAX_SIZE = 8  # inputs, hidden units and steps: each a row of equations


@dataclass
class RNNTrace:
    inputs: np.ndarray  # (T, inputs)
    target: np.ndarray
    w_xh: np.ndarray
    w_hh: np.ndarray
    b: np.ndarray
    a: list  # a_t, the pre-activations, t = 1..T
    h: list  # h_0 .. h_T
    loss: float
    grad_h: list  # ∂E/∂h_t, t = 1..T (the engine's .grad of each h_t)
    grad_a: list  # ∂E/∂a_t
    grad_w_hh: np.ndarray  # the engine's W_hh.grad
    grad_w_xh: np.ndarray
    grad_b: np.ndarray
    carried: list  # ∂h_T/∂h_k = Π_{t=k+1..T} diag(1 − h_t²) W_hh, k = T−1 .. 0


def parse_rnn(values: dict | None) -> dict:
    """The RNN a JSON dict describes (EXAMPLE_RNN's keys), checked: a clear error naming what does not fit."""
    values = EXAMPLE_RNN if values is None else values
    if not isinstance(values, dict):
        raise ConfigError(f"explain --rnn: expected a JSON object with the keys {', '.join(EXAMPLE_RNN)}")
    unknown, missing = sorted(set(values) - set(EXAMPLE_RNN)), [k for k in EXAMPLE_RNN if k not in values]
    if unknown or missing:
        problem = f"unknown key(s) {', '.join(unknown)}" if unknown else f"missing key(s) {', '.join(missing)}"
        raise ConfigError(f"explain --rnn: {problem}; the keys are {', '.join(EXAMPLE_RNN)}")
    try:
        arrays = {k: np.asarray(values[k], dtype=np.float64) for k in EXAMPLE_RNN}
    except (KeyError, ValueError, TypeError) as exc:
        raise ConfigError(f"explain --rnn: every key of {', '.join(EXAMPLE_RNN)} holds numbers ({exc})") from None
    x, w_xh, w_hh = arrays["inputs"], arrays["w_xh"], arrays["w_hh"]
    if x.ndim != 2 or not 1 <= len(x) <= MAX_SIZE or not 1 <= x.shape[1] <= MAX_SIZE:
        raise ConfigError(f"explain --rnn: inputs must be 1 to {MAX_SIZE} steps of 1 to {MAX_SIZE} numbers")
    hidden = w_hh.shape[0] if w_hh.ndim == 2 else 0
    if w_hh.shape != (hidden, hidden) or not 1 <= hidden <= MAX_SIZE:
        raise ConfigError(f"explain --rnn: w_hh must be a square matrix of 1 to {MAX_SIZE} hidden units")
    if w_xh.shape != (hidden, x.shape[1]):
        raise ConfigError(
            f"explain --rnn: w_xh must be {hidden} rows (hidden) of {x.shape[1]} (inputs), got {w_xh.shape}"
        )
    for key in ("b", "target"):
        if arrays[key].shape != (hidden,):
            raise ConfigError(f"explain --rnn: {key} must hold {hidden} numbers, one per hidden unit")
    if not all(np.isfinite(a).all() for a in arrays.values()):
        raise ConfigError("explain --rnn: every number must be finite")
    return arrays


def trace_rnn(values: dict | None = None) -> RNNTrace:
    """One forward and backward pass of the RNN on the engine, every intermediate kept."""
    p = parse_rnn(values)
    w_xh, w_hh, b = (Tensor(p[k], requires_grad=True, dtype=np.float64) for k in ("w_xh", "w_hh", "b"))
    h = Tensor(np.zeros(len(p["b"])), dtype=np.float64)
    hs, pre = [h], []
    for x in p["inputs"]:
        a = ops.matmul(w_xh, Tensor(x, dtype=np.float64)) + ops.matmul(w_hh, h) + b
        h = ops.tanh(a)
        a.retain_grad()
        h.retain_grad()
        pre.append(a)
        hs.append(h)
    difference = h - Tensor(p["target"], dtype=np.float64)
    loss = (difference * difference).sum() * 0.5
    loss.backward()
    states = [t.detach().numpy() for t in hs]
    carried, product = [], np.eye(len(p["b"]))
    for t in range(len(pre), 0, -1):  # the factor of step t: d h_t / d h_{t-1} = diag(1 - h_t^2) W_hh
        product = product @ (np.diag(1 - states[t] ** 2) @ p["w_hh"])
        carried.append(product.copy())
    return RNNTrace(
        p["inputs"], p["target"], p["w_xh"], p["w_hh"], p["b"],
        [a.detach().numpy() for a in pre], states, loss.item(),
        [t.grad.numpy() for t in hs[1:]], [a.grad.numpy() for a in pre],
        w_hh.grad.numpy(), w_xh.grad.numpy(), b.grad.numpy(), carried,
    )  # fmt: skip


def _vec(doc: Document, v) -> M:
    return M(
        "[" + ", ".join(doc.num(x).u for x in v) + "]",
        r"\begin{bmatrix}" + r" \\ ".join(doc.num(x).t for x in v) + r"\end{bmatrix}",
    )


def _sym(name: str, t) -> M:
    """h_3, a_2: a quantity of step t."""
    return M(f"{name}_{t}", f"{name}_{{{t}}}")


def _d(of: M) -> M:
    """∂E/∂(of)."""
    return M(f"∂E/∂{of.u}", r"\frac{\partial E}{\partial " + of.t + "}")


W_HH, W_XH = M("W_hh", r"W_{hh}"), M("W_xh", r"W_{xh}")


def build_rnn_document(trace: RNNTrace, digits: int = 6) -> Document:
    doc = Document(digits)
    steps, hidden = len(trace.a), len(trace.b)
    doc.heading("Backpropagation through time: a small RNN, one step at a time", 1)
    doc.para(
        f"{steps} time steps, {trace.inputs.shape[1]} inputs, {hidden} hidden units. h_t = tanh(a_t) with "
        "a_t = W_xh x_t + W_hh h_(t-1) + b, from h_0 = 0; the error is E = ½ Σ (h_T − target)², of the last state."
    )
    doc.heading("Forward, step by step")
    for t in range(1, steps + 1):
        step = M(f"W_xh x_{t} + W_hh h_{t - 1} + b", rf"W_{{xh}} x_{{{t}}} + W_{{hh}} h_{{{t - 1}}} + b")
        doc.equation(eq(_sym("a", t), step, _vec(doc, trace.a[t - 1])))
        doc.equation(eq(_sym("h", t), M(f"tanh(a_{t})", rf"\tanh(a_{{{t}}})"), _vec(doc, trace.h[t])))
    error = M(f"½ Σ (h_{steps} − target)²", rf"\tfrac12 \sum (h_{{{steps}}} - \mathrm{{target}})^2")
    doc.equation(eq(M("E"), error, doc.num(trace.loss)))
    doc.heading("Backward through time")
    doc.para(
        f"∂E/∂h_{steps} = h_{steps} − target; then for t = {steps} down to 1 the chain rule through tanh and W_hh:"
    )
    for t in range(steps, 0, -1):
        h, a = _sym("h", t), _sym("a", t)
        local = M(f"(1 − h_{t}²)", rf"(1 - h_{{{t}}}^2)")
        doc.equation(eq(_d(h), _vec(doc, trace.grad_h[t - 1])))
        product = M(f"{_vec(doc, trace.grad_h[t - 1]).u} ⊙ {_vec(doc, 1 - trace.h[t] ** 2).u}")
        product.t = _vec(doc, trace.grad_h[t - 1]).t + r" \odot " + _vec(doc, 1 - trace.h[t] ** 2).t
        rule = M(f"{_d(h).u} ⊙ {local.u}", _d(h).t + r" \odot " + local.t)
        doc.equation(eq(_d(a), rule, product, _vec(doc, trace.grad_a[t - 1])))
        if t > 1:
            doc.para(f"and on to the step before: ∂E/∂h_{t - 1} = W_hhᵀ ∂E/∂a_{t}")
    doc.heading("The gradient of W_hh is a sum over time")
    doc.para("W_hh is used at every step, so its gradient adds one term per step: ∂E/∂W_hh = Σ_t ∂E/∂a_t h_(t−1)ᵀ.")
    for i in range(hidden):
        for j in range(hidden):
            factors = [(trace.grad_a[t - 1][i], trace.h[t - 1][j]) for t in range(1, steps + 1)]
            written = M(
                " + ".join(f"{doc.signed(g).u}·{doc.signed(x).u}" for g, x in factors),
                " + ".join(rf"{doc.signed(g).t} \cdot {doc.signed(x).t}" for g, x in factors),
            )
            terms = M(
                " + ".join(doc.signed(g * x).u for g, x in factors), " + ".join(doc.signed(g * x).t for g, x in factors)
            )
            name = M(f"W_hh[{i + 1},{j + 1}]", rf"W_{{hh}}[{i + 1},{j + 1}]")
            doc.equation(eq(_d(name), written, terms, doc.num(trace.grad_w_hh[i, j])))
    doc.para(
        "(the term of step 1 is 0: h_0 = 0.) The totals are the engine's W_hh.grad; W_xh and b add up the same way:"
    )
    rows = [(name, g) for name, g in (("W_hh", trace.grad_w_hh), ("W_xh", trace.grad_w_xh), ("b", trace.grad_b))]
    doc.table(["parameter", "gradient (engine)"], [[name, str(np.round(g, digits).tolist())] for name, g in rows])
    doc.heading("Why a plain RNN forgets")
    doc.para(
        f"The error reaches step k through every step after it: ∂h_{steps}/∂h_k is the product of the factors "
        "diag(1 − h_t²) W_hh of the steps between. Each tanh′ is at most 1, so unless W_hh is large the product "
        "shrinks with the distance (vanishing gradients); a large W_hh can make it grow instead (exploding)."
    )
    doc.table(
        ["distance", "path", "norm of the product of factors"],
        [
            [str(k), f"h_{steps} ← h_{steps - k}", f"{np.linalg.norm(product, 2):.{digits}g}"]
            for k, product in enumerate(trace.carried, start=1)
        ],
    )
    return doc


def rnn_to_json(trace: RNNTrace) -> str:
    def arr(a):
        return np.asarray(a, dtype=np.float64).tolist()

    return json.dumps(
        {
            "inputs": arr(trace.inputs), "target": arr(trace.target), "w_xh": arr(trace.w_xh), "w_hh": arr(trace.w_hh),
            "b": arr(trace.b), "a": arr(trace.a), "h": arr(trace.h), "loss": trace.loss, "dE_dh": arr(trace.grad_h),
            "dE_da": arr(trace.grad_a), "grad_w_hh": arr(trace.grad_w_hh), "grad_w_xh": arr(trace.grad_w_xh),
            "grad_b": arr(trace.grad_b), "carried": arr(trace.carried),
            "carried_norms": [float(np.linalg.norm(p, 2)) for p in trace.carried],
        },
        indent=2,
    ) + "\n"  # fmt: skip


def explain_rnn(values: dict | None = None, fmt: str = "text", digits: int = 6) -> str:
    """The whole explanation in one of the formats (text, markdown, latex, html, json)."""
    trace = trace_rnn(values)
    if fmt == "json":
        return rnn_to_json(trace)
    if not math.isfinite(trace.loss):
        raise ConfigError("explain --rnn: the error is not finite; use smaller weights")
    return render_document(build_rnn_document(trace, digits), fmt)
