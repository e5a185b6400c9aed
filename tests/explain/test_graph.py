import shutil

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F
from chainrule.errors import ChainruleError
from chainrule.explain import render, to_dot


def _graph():
    x = cr.tensor(np.ones((2, 3)))
    w = cr.tensor(np.full((4, 3), 0.5), requires_grad=True)
    w.name = "W"
    loss = F.cross_entropy(F.relu(F.linear(x, w)).sigmoid() * 2.0, cr.tensor([0, 1]))
    loss.backward(retain_graph=True)
    return loss


def _functions(t):
    seen, stack = {}, [t]
    while stack:
        fn = stack.pop().grad_fn
        if fn is not None and id(fn) not in seen:
            seen[id(fn)] = fn
            stack.extend(fn.inputs)
    return list(seen.values())


def test_dot_has_a_node_for_every_op():
    loss = _graph()
    dot = to_dot(loss, show_values=True, show_grads=True)
    functions = _functions(loss)
    assert dot.count("shape=ellipse") == len(functions) == 5
    for fn in functions:
        assert f'label="{fn.op_name()}"' in dot
    assert "W\\nshape (4, 3)" in dot and "grad [" in dot and "value [" in dot
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (apt-get install graphviz)")
def test_render_svg(tmp_path):
    path = render(_graph(), str(tmp_path / "graph.svg"))
    assert open(path).read().lstrip().startswith(("<?xml", "<svg"))


def test_missing_graphviz_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ChainruleError, match="apt-get install graphviz"):
        render(_graph(), str(tmp_path / "g.svg"))


def test_the_network_graph_reads_top_to_bottom_with_named_nodes():
    from chainrule.explain import EXAMPLE, parse_network
    from chainrule.explain.trace import build_graph, make_parameters

    spec = parse_network(EXAMPLE)
    loss, _ = build_graph(spec, make_parameters(spec))
    dot = to_dot(loss)
    assert "rankdir=TB" in dot
    for name in ("net_h1", "out_h1", "net_o", "out_o", "W1", "b2", "loss"):
        assert f'label="{name}\\n' in dot, name
    assert 'label="tensor\\n' not in dot
