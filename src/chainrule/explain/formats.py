"""The chain rule written out with numbers, in text, Markdown, LaTeX, HTML or JSON.

The walk through a StepTrace builds one document of blocks (headings, equations, tables); each
equation carries a Unicode form (text, Markdown, HTML) and a LaTeX form, built together by the
small ``M`` fragments below, so the formats never disagree.
"""

from __future__ import annotations

import html
import json

import numpy as np

from .trace import LayerTrace, StepTrace

FORMATS = ("text", "markdown", "latex", "html", "json")


class M:
    """A math fragment in two notations: Unicode (u) and LaTeX (t)."""

    def __init__(self, u: str, t: str | None = None):
        self.u, self.t = u, u if t is None else t

    def __add__(self, other):
        other = other if isinstance(other, M) else M(other)
        return M(self.u + other.u, self.t + other.t)

    def __radd__(self, other):
        return M(other) + self


def join(parts, u_sep: str, t_sep: str) -> M:
    parts = [p if isinstance(p, M) else M(p) for p in parts]
    return M(u_sep.join(p.u for p in parts), t_sep.join(p.t for p in parts))


def times(*parts) -> M:
    return join(parts, " · ", r" \cdot ")


def plus(*parts) -> M:
    return join(parts, " + ", " + ")


def eq(*parts) -> M:
    return join(parts, " = ", " = ")


def paren(m: M) -> M:
    return M("(" + m.u + ")", r"\left(" + m.t + r"\right)")


def partial(f: M, x: M) -> M:
    return M(f"∂{f.u}/∂{x.u}", r"\frac{\partial " + f.t + r"}{\partial " + x.t + "}")


class Names:
    """Symbols of the network's quantities: x1, h1 (or h2.1 in deeper nets), o1, w2[1,1], b2[1]."""

    def __init__(self, layers: int):
        self.layers = layers

    def neuron(self, layer: int, i: int) -> M:
        if layer == self.layers:
            return M(f"o{i + 1}", f"o_{{{i + 1}}}")
        if self.layers == 2:
            return M(f"h{i + 1}", f"h_{{{i + 1}}}")
        return M(f"h{layer}.{i + 1}", f"h^{{({layer})}}_{{{i + 1}}}")

    def input(self, layer: int, j: int) -> M:
        """What feeds input j of ``layer``: x_j for the first layer, else the previous layer's out."""
        if layer == 1:
            return M(f"x{j + 1}", f"x_{{{j + 1}}}")
        return self.out(layer - 1, j)

    def net(self, layer: int, i: int) -> M:
        n = self.neuron(layer, i)
        return M(f"net_{n.u}", r"\mathrm{net}_{" + n.t + "}")

    def out(self, layer: int, i: int) -> M:
        n = self.neuron(layer, i)
        return M(f"out_{n.u}", r"\mathrm{out}_{" + n.t + "}")

    def target(self, i: int) -> M:
        return M(f"t{i + 1}", f"t_{{{i + 1}}}")

    @staticmethod
    def weight(layer: int, i: int, j: int) -> M:
        return M(f"w{layer}[{i + 1},{j + 1}]", f"w^{{({layer})}}_{{{i + 1},{j + 1}}}")

    @staticmethod
    def bias(layer: int, i: int | None) -> M:
        if i is None:
            return M(f"b{layer}", f"b^{{({layer})}}")
        return M(f"b{layer}[{i + 1}]", f"b^{{({layer})}}_{{{i + 1}}}")


E = M("E")


class Document:
    """Blocks: ('h', level, text), ('p', text), ('eq', M), ('table', header, rows)."""

    def __init__(self, digits: int):
        self.blocks: list = []
        self.digits = digits

    def num(self, x: float) -> M:
        text = f"{float(x) + 0.0:.{self.digits}g}"  # + 0.0 turns -0.0 into 0.0
        latex = text
        if "e" in text:  # 5.3e-05 is written 5.3 \times 10^{-5} in the mathematics
            mantissa, exponent = text.split("e")
            latex = rf"{mantissa} \times 10^{{{int(exponent)}}}"
        return M(text if not text.startswith("-") else "−" + text[1:], latex)

    def signed(self, x: float) -> M:
        """A number that may follow an operator: negative ones in parentheses."""
        return paren(self.num(x)) if x < 0 else self.num(x)

    def heading(self, text: str, level: int = 2):
        self.blocks.append(("h", level, text))

    def para(self, text: str):
        self.blocks.append(("p", text))

    def equation(self, m: M):
        self.blocks.append(("eq", m))

    def table(self, header: list, rows: list):
        self.blocks.append(("table", header, rows))


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
_OPTIMIZER_NAMES = {"sgd": "SGD", "momentum": "SGD with momentum", "nesterov": "SGD with Nesterov momentum"}
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
        f"({_OPTIMIZER_NAMES.get(trace.optimizer, trace.optimizer)})."
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
    name = _OPTIMIZER_NAMES.get(trace.optimizer, trace.optimizer)
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


# ---------------------------------------------------------------------- the formats
def render(trace: StepTrace, fmt: str = "text", digits: int = 9) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"explain: format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt == "json":
        return to_json(trace)
    return render_document(build_document(trace, digits), fmt)


def render_document(doc: Document, fmt: str) -> str:
    """A document in one of the formats that write blocks (all but json)."""
    writers = {"text": _text, "markdown": _markdown, "latex": _latex, "html": _html}
    if fmt not in writers:
        raise ValueError(f"explain: format must be one of {', '.join(writers)}, got {fmt!r}")
    return writers[fmt](doc)


def _text(doc: Document) -> str:
    lines = []
    for block in doc.blocks:
        if block[0] == "h":
            title = block[2]
            lines += ["", title, ("=" if block[1] == 1 else "-" if block[1] == 2 else "·") * len(title)]
        elif block[0] == "p":
            lines.append(block[1])
        elif block[0] == "eq":
            lines.append("  " + block[1].u)
        else:
            header, rows = block[1], block[2]
            widths = [max(len(str(r[c])) for r in [header] + rows) for c in range(len(header))]
            lines += ["  " + "  ".join(str(v).rjust(w) for v, w in zip(r, widths)) for r in [header] + rows]
    return "\n".join(lines).lstrip("\n") + "\n"


def _markdown(doc: Document) -> str:
    lines = []
    for block in doc.blocks:
        if block[0] == "h":
            lines += ["", "#" * block[1] + " " + block[2], ""]
        elif block[0] == "p":
            lines += [block[1], ""]
        elif block[0] == "eq":
            lines.append("    " + block[1].u)
        else:
            header, rows = block[1], block[2]
            lines += ["", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + [
                "| " + " | ".join(r) + " |" for r in rows
            ]
    return "\n".join(lines).lstrip("\n") + "\n"


def _latex(doc: Document) -> str:
    sections = {1: "section*", 2: "subsection*", 3: "subsubsection*"}
    lines = [
        r"\documentclass{article}",
        r"\usepackage{amsmath}",
        r"\usepackage[margin=2cm]{geometry}",
        r"\begin{document}",
    ]
    for block in doc.blocks:
        if block[0] == "h":
            lines.append(f"\\{sections[block[1]]}{{{_latex_text(block[2])}}}")
        elif block[0] == "p":
            lines.append(_latex_text(block[1]) + "\n")
        elif block[0] == "eq":
            lines.append(r"\[ " + block[1].t + r" \]")
        else:
            header, rows = block[1], block[2]
            lines += [r"\begin{tabular}{" + "r" * len(header) + "}", " & ".join(header) + r" \\ \hline"]
            lines += [" & ".join(_latex_text(c) for c in r) + r" \\" for r in rows] + [r"\end{tabular}"]
    lines.append(r"\end{document}")
    return "\n".join(lines) + "\n"


# Text outside the equations: its mathematical characters as LaTeX math, its underscores escaped
_LATEX_TEXT = {
    "_": r"\_",
    "η": r"$\eta$",
    "∂": r"$\partial$",
    "·": r"$\cdot$",
    "←": r"$\leftarrow$",
    "−": "-",
    "Σ": r"$\Sigma$",
    "½": r"$\frac{1}{2}$",
    "²": r"$^2$",
    "ᵀ": r"$^T$",
    "⊙": r"$\odot$",
    "′": r"$'$",
}


def _latex_text(text: str) -> str:
    return "".join(_LATEX_TEXT.get(c, c) for c in text)


def _html_blocks(doc: Document, shift: int, equation) -> list:
    """The blocks as HTML elements: headings moved ``shift`` levels down, equations written by ``equation``."""
    body = []
    for block in doc.blocks:
        if block[0] == "h":
            level = min(block[1] + shift, 6)
            body.append(f"<h{level}>{html.escape(block[2])}</h{level}>")
        elif block[0] == "p":
            body.append(f"<p>{html.escape(block[1])}</p>")
        elif block[0] == "eq":
            body.append(equation(block[1]))
        else:
            header, rows = block[1], block[2]
            body.append(
                "<table><tr>"
                + "".join(f"<th>{html.escape(h)}</th>" for h in header)
                + "</tr>"
                + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
                + "</table>"
            )
    return body


def _html(doc: Document) -> str:
    body = _html_blocks(doc, 0, lambda m: f'<div class="eq">{html.escape(m.u)}</div>')
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:2em auto}"
        ".eq{font-family:monospace;margin:.2em 0 .2em 1.5em;white-space:pre}td,th{padding:0 1em;text-align:right}"
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>chainrule explain</title>'
        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def html_fragment(doc: Document) -> str:
    """The document as HTML without a page around it, each equation as LaTeX display math (\\[ … \\]):
    the playground typesets it with KaTeX and Jupyter with its MathJax, so both show the same mathematics."""
    body = _html_blocks(doc, 2, lambda m: f'<div class="eq" title="{html.escape(m.u)}">\\[{html.escape(m.t)}\\]</div>')
    return '<div class="chainrule-explain">' + "\n".join(body) + "</div>"


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
