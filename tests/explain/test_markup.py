"""The math markup (explain/markup.py): every fragment carries the same mathematics in Unicode and in LaTeX."""

import pytest

from chainrule.explain.markup import Document, E, M, Names, eq, paren, partial, plus, times


def test_fragments_build_both_notations_at_once():
    w, x = M("w", "w"), M("x1", "x_{1}")
    m = eq(partial(E, w), times(partial(E, M("net", r"\mathrm{net}")), x))
    assert m.u == "∂E/∂w = ∂E/∂net · x1"
    assert m.t == r"\frac{\partial E}{\partial w} = \frac{\partial E}{\partial \mathrm{net}} \cdot x_{1}"
    assert (paren(plus("a", "b")).u, paren(plus("a", "b")).t) == ("(a + b)", r"\left(a + b\right)")
    assert ("y = " + M("x", "x")).t == "y = x"  # a plain string joins as the same text in both


@pytest.mark.parametrize(
    "value, text, latex", [(0.5, "0.5", "0.5"), (-2.0, "−2", "-2"), (5.3e-05, "5.3e-05", r"5.3 \times 10^{-5}")]
)
def test_numbers_are_written_for_each_notation(value, text, latex):
    doc = Document(digits=6)
    assert (doc.num(value).u, doc.num(value).t) == (text, latex)
    assert doc.num(-0.0).u == "0"  # no negative zero in an explanation


def test_a_negative_number_after_an_operator_is_parenthesised():
    doc = Document(digits=4)
    assert doc.signed(-1.5).u == "(−1.5)" and doc.signed(1.5).u == "1.5"


def test_names_follow_the_network_depth():
    two, three = Names(2), Names(3)
    assert two.neuron(1, 0).u == "h1" and two.neuron(2, 1).u == "o2"
    assert three.neuron(2, 0).u == "h2.1" and three.neuron(2, 0).t == "h^{(2)}_{1}"
    assert two.input(1, 1).u == "x2" and two.input(2, 0).u == "out_h1"
    assert Names.weight(2, 0, 1).u == "w2[1,2]" and Names.bias(1, None).t == "b^{(1)}"
