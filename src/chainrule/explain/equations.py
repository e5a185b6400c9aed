"""The chain rule of one training step written out with numbers: a StepTrace (trace.py) into a markup Document.

Backward from the loss: each layer's dE/dnet = dE/dout * dout/dnet (delta_equations), then dE/dW[i,j] = sum over
rows of dE/dnet[i] * input[j] (weight_equations), dE/db[i] (bias_equations), and the update each optimizer makes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..optim import OPTIMIZER_TITLES
from .markup import Document, E, M, Names, eq, paren, partial, plus, times

if TYPE_CHECKING:  # trace.py builds on this module (StepTrace shows itself in Jupyter through it)
    from .trace import LayerTrace, StepTrace


_ACTIVATION_TEXT = {
    "sigmoid": ("sigmoid", r"\sigma"),
    "tanh": ("tanh", r"\tanh"),
    "relu": ("relu", r"\mathrm{relu}"),
    "identity": ("", ""),
    "softmax": ("softmax", r"\mathrm{softmax}"),
    "leaky_relu": ("leaky_relu", r"\mathrm{leaky\_relu}"),
    "gelu": ("gelu", r"\mathrm{gelu}"),
}


# The derivative of the activations whose formula reads the net rather than the out (the number is the node's).
_LOCAL_NOTE = {
    "relu": M("1 if net > 0 else 0", r"[\mathrm{net} > 0]"),
    "identity": M("1"),
    "leaky_relu": M("1 if net > 0 else 0.01", r"\begin{cases}1 & \mathrm{net} > 0\\ 0.01 & \text{else}\end{cases}"),
    "gelu": M("Φ(net) + net · φ(net)", r"\Phi(\mathrm{net}) + \mathrm{net}\,\varphi(\mathrm{net})"),
}


_LOCAL_FORMULA = {
    "sigmoid": lambda o: M(f"{o.u}(1 − {o.u})", o.t + r"\left(1 - " + o.t + r"\right)"),
    "tanh": lambda o: M(f"1 − {o.u}²", "1 - " + o.t + "^2"),
}


_LOSS_TEXT = {
    "half_sse": M("E = ½ Σ (target − out)²", r"E = \tfrac{1}{2} \sum (t - \mathrm{out})^2"),
    "mse": M("E = mean over rows and outputs of (target − out)²", r"E = \frac{1}{NK} \sum (t - \mathrm{out})^2"),
    "bce": M(
        "E = mean of −(t log out + (1 − t) log(1 − out))",
        r"E = -\frac{1}{NK} \sum t \log \mathrm{out} + (1 - t) \log(1 - \mathrm{out})",
    ),
    "cross_entropy": M(
        "E = mean over rows of −Σ t log softmax(net)",
        r"E = -\frac{1}{N} \sum_n \sum_k t_k \log \mathrm{softmax}(\mathrm{net})_k",
    ),
}


def build_document(trace: StepTrace, digits: int = 9) -> Document:
    spec, doc, names = trace.spec, Document(digits), Names(len(trace.layers))
    num = doc.num
    rows = spec.rows
    doc.heading("One step of backpropagation", 1)
    doc.para(
        f"{len(trace.layers)} layers, {rows} input row{'s' if rows > 1 else ''}, loss {spec.loss}, learning rate η = "
        f"{spec.lr:g}. "
        "Every number comes from chainrule's own graph: forward values, gradients left by backward(), "
        f"each activation's local derivative from its node, and the update from the optimizer's step "
        f"({OPTIMIZER_TITLES.get(trace.optimizer, trace.optimizer)})."
    )
    doc.heading("Forward pass")
    for layer in trace.layers:
        doc.heading(f"Layer {layer.index} ({'output' if layer.is_output else 'hidden'}, {layer.activation})", 3)
        for n in range(rows):
            if rows > 1:
                doc.para(f"row {n + 1}")
            for i in range(layer.net.shape[1]):
                bias = layer.bias if layer.bias.ndim == 0 else layer.bias[i]
                symbols = [
                    times(names.weight(layer.index, i, j), names.input(layer.index, j))
                    for j in range(layer.weight.shape[1])
                ]
                symbols.append(names.bias(layer.index, None if layer.bias.ndim == 0 else i))
                values = [
                    times(num(layer.weight[i, j]), doc.signed(layer.inputs[n, j])) for j in range(layer.weight.shape[1])
                ]
                values.append(doc.signed(bias))
                doc.equation(eq(names.net(layer.index, i), plus(*symbols), plus(*values), num(layer.net[n, i])))
                fn_u, fn_t = _ACTIVATION_TEXT[layer.activation]
                if layer.activation != "softmax":
                    applied = (
                        M(f"{fn_u}({num(layer.net[n, i]).u})", fn_t + r"\left(" + num(layer.net[n, i]).t + r"\right)")
                        if fn_u
                        else num(layer.net[n, i])
                    )
                    doc.equation(eq(names.out(layer.index, i), applied, num(layer.out[n, i])))
            if layer.activation == "softmax":
                for i in range(layer.net.shape[1]):
                    doc.equation(
                        eq(
                            names.out(layer.index, i),
                            M(
                                f"exp(net_{names.neuron(layer.index, i).u}) / Σ_k exp(net_k)",
                                r"\frac{e^{\mathrm{net}_{"
                                + names.neuron(layer.index, i).t
                                + r"}}}{\sum_k e^{\mathrm{net}_k}}",
                            ),
                            num(layer.out[n, i]),
                        )
                    )
    _error_section(doc, trace, names)
    doc.heading("Backward pass")
    doc.para("For every weight: ∂E/∂w = ∂E/∂out · ∂out/∂net · ∂net/∂w, summed over the rows; then w ← w − η · ∂E/∂w.")
    for position in range(len(trace.layers) - 1, -1, -1):
        layer = trace.layers[position]
        following = trace.layers[position + 1] if position + 1 < len(trace.layers) else None
        doc.heading(f"Layer {layer.index} ({'output' if layer.is_output else 'hidden'}, {layer.activation})", 3)
        delta_equations(doc, trace, layer, following, names)
        _parameter_equations(doc, trace, layer, names)
    if len(trace.losses) > 2:
        doc.heading("Loss after each update")
        doc.table(["update", "loss"], [[str(k), num(v).u] for k, v in enumerate(trace.losses)])
    return doc


def _error_section(doc: Document, trace: StepTrace, names: Names) -> None:
    spec, num = trace.spec, doc.num
    doc.heading("Error")
    doc.equation(_LOSS_TEXT[spec.loss])
    last = trace.layers[-1]
    if spec.loss == "cross_entropy":
        for n in range(spec.rows):
            doc.equation(eq(M(f"E_row{n + 1}", rf"E_{{\mathrm{{row}}\,{n + 1}}}"), num(trace.errors[n])))
    else:
        for n in range(spec.rows):
            for k in range(last.out.shape[1]):
                t, o = spec.targets[n, k], last.out[n, k]
                tu, ou, tt, ot = num(t).u, num(o).u, num(t).t, num(o).t
                if spec.loss == "half_sse":
                    expr = M(f"½ ({tu} − {ou})²", rf"\tfrac{{1}}{{2}}({tt} - {ot})^2")
                elif spec.loss == "mse":
                    expr = M(f"({tu} − {ou})²", rf"({tt} - {ot})^2")
                else:
                    expr = M(
                        f"−({tu} · log {ou} + (1 − {tu}) · log(1 − {ou}))",
                        rf"-({tt} \log {ot} + (1 - {tt}) \log(1 - {ot}))",
                    )
                row_u, row_t = (f"[row {n + 1}]", rf",\,\mathrm{{row}}\,{n + 1}") if spec.rows > 1 else ("", "")
                label = M(
                    f"E_{names.neuron(last.index, k).u}{row_u}", "E_{" + names.neuron(last.index, k).t + row_t + "}"
                )
                doc.equation(eq(label, expr, num(trace.errors[n, k])))
    doc.equation(eq(M("E_total", r"E_{\mathrm{total}}"), num(trace.loss)))


def delta_equations(
    doc: Document,
    trace: StepTrace,
    layer: LayerTrace,
    following: LayerTrace | None,
    names: Names,
    rows=None,
    neurons=None,
) -> None:
    """dE/dout (from the loss, or summed over the paths through the next layer) and dE/dnet, for the given
    rows and neurons of the layer (all of them by default)."""
    num, spec = doc.num, trace.spec
    rows = range(spec.rows) if rows is None else rows
    neurons = range(layer.net.shape[1]) if neurons is None else neurons
    for n in rows:
        if spec.rows > 1:
            doc.para(f"row {n + 1}")
        for i in neurons:
            net, out = names.net(layer.index, i), names.out(layer.index, i)
            if layer.activation == "softmax":
                t = spec.targets[n, i] if spec.targets.ndim == 2 else float(spec.targets[n] == i)
                scale = f" / {spec.rows}" if spec.rows > 1 else ""
                doc.equation(
                    eq(
                        partial(E, net),
                        M(f"(out − t){scale}  (softmax and cross-entropy fused)", r"\frac{\mathrm{out} - t}{N}"),
                        M(
                            f"({num(layer.out[n, i]).u} − {num(t).u}){scale}",
                            f"({num(layer.out[n, i]).t} - {num(t).t})" + (f"/{spec.rows}" if spec.rows > 1 else ""),
                        ),
                        num(layer.grad_net[n, i]),
                    )
                )
                continue
            if following is None:
                doc.equation(eq(partial(E, out), _loss_derivative(doc, spec, layer, n, i), num(layer.grad_out[n, i])))
            else:
                # The multivariable chain rule: out_i feeds every neuron k of the next layer.
                terms_u = [
                    times(partial(E, names.net(following.index, k)), names.weight(following.index, k, i))
                    for k in range(following.net.shape[1])
                ]
                terms_v = [
                    times(doc.signed(following.grad_net[n, k]), doc.signed(following.weight[k, i]))
                    for k in range(following.net.shape[1])
                ]
                doc.equation(eq(partial(E, out), plus(*terms_u), plus(*terms_v), num(layer.grad_out[n, i])))
            formula = _LOCAL_FORMULA.get(layer.activation)
            local_value = num(layer.local[n, i])
            if layer.dropout:
                fn_u, fn_t = _ACTIVATION_TEXT[layer.activation]
                keep = 1 - layer.dropout
                doc.equation(
                    eq(
                        partial(out, net),
                        M(
                            f"{fn_u or 'identity'}′(net) · mask / {keep:g}  (dropout {layer.dropout:g})",
                            (fn_t or r"\mathrm{id}") + rf"'(\mathrm{{net}}) \cdot \mathrm{{mask}} / {keep:g}",
                        ),
                        local_value,
                    )
                )
            elif formula is not None:
                o = doc.signed(layer.out[n, i])  # a negative out in parentheses: 1 − (−0.5)²
                doc.equation(eq(partial(out, net), formula(out), formula(o), local_value))
            else:
                doc.equation(eq(partial(out, net), _LOCAL_NOTE[layer.activation], local_value))
            doc.equation(
                eq(
                    partial(E, net),
                    times(partial(E, out), partial(out, net)),
                    times(doc.signed(layer.grad_out[n, i]), local_value),
                    num(layer.grad_net[n, i]),
                )
            )


def _loss_derivative(doc: Document, spec, layer: LayerTrace, n: int, i: int) -> M:
    num = doc.num
    t, o = num(spec.targets[n, i]), num(layer.out[n, i])
    count = spec.targets.size
    if spec.loss == "half_sse":
        return M(f"−(t − out) = {o.u} − {t.u}", rf"-(t - \mathrm{{out}}) = {o.t} - {t.t}")
    if spec.loss == "mse":
        return M(f"2 (out − t) / {count} = 2 ({o.u} − {t.u}) / {count}", rf"\frac{{2(\mathrm{{out}} - t)}}{{{count}}}")
    return M(
        f"(out − t) / (out (1 − out)) / {count}",
        rf"\frac{{\mathrm{{out}} - t}}{{\mathrm{{out}}(1 - \mathrm{{out}}) \cdot {count}}}",
    )


def _row_terms(doc: Document, layer: LayerTrace, rows, i: int, j: int) -> list:
    """Each row's ∂E/∂out · ∂out/∂net · ∂net/∂w (or ∂E/∂net · ∂net/∂w where softmax is fused)."""
    if layer.activation == "softmax":
        return [times(doc.signed(layer.grad_net[n, i]), doc.signed(layer.inputs[n, j])) for n in rows]
    return [
        times(doc.signed(layer.grad_out[n, i]), doc.signed(layer.local[n, i]), doc.signed(layer.inputs[n, j]))
        for n in rows
    ]


def _elide(terms: list, limit: int | None, total: int) -> list:
    if limit is None or len(terms) <= limit:
        return terms
    return terms[:limit] + [M(f"… ({total - limit} more rows)", rf"\dots\ (\text{{{total - limit} more rows}})")]


def weight_equations(
    doc: Document, trace: StepTrace, layer: LayerTrace, names: Names, i: int, j: int, rows=None, limit=None
) -> float:
    """∂E/∂w for weight (i, j) as the sum over ``rows`` (all by default) of the chain's products, then the
    penalty's share and the update. Returns the data part of the gradient over those rows."""
    all_rows = rows is None
    rows = list(range(trace.spec.rows)) if all_rows else list(rows)
    w, net = names.weight(layer.index, i, j), names.net(layer.index, i)
    if layer.activation == "softmax":
        symbolic = times(partial(E, net), partial(net, w))
    else:
        out = names.out(layer.index, i)
        symbolic = times(partial(E, out), partial(out, net), partial(net, w))
    per_row = _row_terms(doc, layer, rows, i, j)
    if layer.activation == "softmax":
        value = float(sum(layer.grad_net[n, i] * layer.inputs[n, j] for n in rows))
    else:
        value = float(sum(layer.grad_out[n, i] * layer.local[n, i] * layer.inputs[n, j] for n in rows))
    many = trace.spec.rows > 1
    prefix = M("Σ_rows ", r"\sum_{n} ") if many and all_rows else M("")
    lhs = partial(E, w) if all_rows else M(f"row {rows[0] + 1}'s share of ∂E/∂{w.u}", rf"\text{{row {rows[0] + 1}: }}")
    shown = _elide([paren(p) if many and all_rows else p for p in per_row], limit, len(rows))
    doc.equation(eq(lhs, prefix + symbolic, plus(*shown), doc.num(value)))
    if all_rows:
        data = value
        if layer.penalty_grad is not None:
            data = _penalty_equation(doc, trace, w, layer.penalty_grad[i, j], layer.grad_weight[i, j])
        _update_equation(doc, trace, w, layer.weight[i, j], layer.grad_weight[i, j], layer.new_weight[i, j])
        return data
    return value


def bias_equations(doc: Document, trace: StepTrace, layer: LayerTrace, names: Names, i, rows=None, limit=None):
    """∂E/∂b for neuron i's bias (i None: one bias shared by the layer), summed over ``rows``, then the update."""
    all_rows = rows is None
    rows = list(range(trace.spec.rows)) if all_rows else list(rows)
    shared = layer.bias.ndim == 0
    b = names.bias(layer.index, None if shared else i)
    columns = range(layer.net.shape[1]) if shared else [i]
    terms = _elide([doc.signed(layer.grad_net[n, k]) for n in rows for k in columns], limit, len(rows) * len(columns))
    value = float(sum(layer.grad_net[n, k] for n in rows for k in columns))
    symbolic = M(
        "Σ ∂E/∂net · 1 (the bias feeds " + ("every neuron of the layer" if shared else "one neuron") + ")",
        r"\sum \frac{\partial E}{\partial \mathrm{net}} \cdot 1",
    )
    lhs = partial(E, b) if all_rows else M(f"row {rows[0] + 1}'s share of ∂E/∂{b.u}", rf"\text{{row {rows[0] + 1}: }}")
    doc.equation(eq(lhs, symbolic, plus(*terms), doc.num(value)))
    if all_rows:
        grad = layer.grad_bias if shared else layer.grad_bias[i]
        old = layer.bias if shared else layer.bias[i]
        new = layer.new_bias if shared else layer.new_bias[i]
        _update_equation(doc, trace, b, old, grad, new)
    return value


def _penalty_equation(doc: Document, trace: StepTrace, w: M, penalty: float, total: float) -> float:
    """∂L/∂w = ∂E/∂w + ∂R/∂w for an L1 (R = λ Σ|w|) or L2 (R = λ/2 Σ w²) penalty; returns ∂E/∂w."""
    kind, rate = trace.penalty
    data = float(total - penalty)
    form = (
        M(f"λ · sign({w.u})", rf"\lambda\,\mathrm{{sign}}({w.t})")
        if kind == "l1"
        else M(f"λ · {w.u}", rf"\lambda {w.t}")
    )
    doc.equation(
        eq(
            partial(M("L"), w),
            plus(partial(E, w), partial(M("R"), w)),
            plus(partial(E, w), form),
            plus(doc.num(data), doc.signed(penalty)),
            doc.num(total),
        )
    )
    doc.para(f"{kind.upper()} penalty with λ = {rate:g}: the optimizer steps on ∂L/∂w.")
    return data


def _update_equation(doc: Document, trace: StepTrace, p: M, old, grad, new) -> None:
    """The update the optimizer applied: w − η·g for plain SGD; for any other rule, w plus the step it took."""
    num, lr, g = doc.num, trace.spec.lr, "L" if trace.penalty else "E"
    if trace.optimizer == "sgd":
        doc.equation(
            eq(
                M(
                    f"{p.u} ← {p.u} − η · ∂{g}/∂{p.u}",
                    p.t + r" \leftarrow " + p.t + rf" - \eta \frac{{\partial {g}}}{{\partial " + p.t + "}",
                ),
                M(
                    f"{num(old).u} − {lr:g} · {doc.signed(grad).u}",
                    f"{num(old).t} - {lr:g} \\cdot {doc.signed(grad).t}",
                ),
                num(new),
            )
        )
        return
    name = OPTIMIZER_TITLES.get(trace.optimizer, trace.optimizer)
    step = float(new - old)
    doc.equation(
        eq(
            M(f"{p.u} ← {p.u} + Δ{p.u}  ({name})", p.t + r" \leftarrow " + p.t + r" + \Delta " + p.t),
            M(f"{num(old).u} + {doc.signed(step).u}", f"{num(old).t} + {doc.signed(step).t}"),
            num(new),
        )
    )


def _parameter_equations(doc: Document, trace: StepTrace, layer: LayerTrace, names: Names) -> None:
    for i in range(layer.weight.shape[0]):
        for j in range(layer.weight.shape[1]):
            weight_equations(doc, trace, layer, names, i, j)
    for i in [None] if layer.bias.ndim == 0 else range(layer.weight.shape[0]):
        bias_equations(doc, trace, layer, names, i)
