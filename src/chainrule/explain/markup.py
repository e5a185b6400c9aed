"""A small math-markup language: ``M`` fragments carry one equation in two forms at once, Unicode (text, Markdown,
HTML) and LaTeX, so the formats never disagree; ``Document`` is a list of blocks (headings, paragraphs, equations,
tables) that writers.py puts into each format.
"""

from __future__ import annotations


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
