"""explain.derivatives: y, dy/dx, d2y/dx2 ... of a formula, each a recorded graph; the formula's grammar; the
command's --derivative."""

import math
import shutil
import subprocess
import sys

import pytest

from chainrule.explain.derivatives import derivatives, describe, parse_expression
from chainrule.explain.graph import to_dot


def test_derivatives_of_x_squared_and_tanh():
    found = derivatives("x**2", 3.0, 2)
    assert [t.item() for t in found.values()] == [9.0, 6.0, 2.0]
    t = math.tanh(1.0)
    found = derivatives("tanh(x)", 1.0, 3)
    values = [v.item() for v in found.values()]
    expected = [t, 1 - t * t, -2 * t * (1 - t * t), -2 * (1 - t * t) * (1 - 3 * t * t)]
    assert values == pytest.approx(expected, rel=1e-12)


def test_each_derivative_is_a_graph_of_ordinary_ops():
    text, found = describe("tanh(x) * x", 0.5, 2)
    assert found["dy/dx"].grad_fn is not None and found["d2y/dx2"].grad_fn is not None
    assert "dy/dx" in text and "a graph of" in text
    dot = to_dot(found, show_values=True)
    for label in ("y\\nshape ()", "dy/dx\\nshape ()", "d2y/dx2\\nshape ()", "x = 0.5"):
        assert label in dot
    assert 'label="tanh"' in dot and 'label="mul"' in dot
    assert "a constant" in describe("x**2", 1.0, 3)[0]  # d3/dx3 of x^2: nothing left to differentiate


@pytest.mark.parametrize(
    "text, message",
    [
        ("__import__('os').system('true')", "is not allowed"),
        ("x.__class__", "is not allowed"),
        ("open('f')", "is not allowed"),
        ("x**", "not a formula"),
        ("2 + 3", "does not depend on x"),
    ],
)
def test_only_the_small_grammar_is_evaluated(text, message):
    with pytest.raises(ValueError, match=message):
        parse_expression(text)(derivatives("x", 1.0, 1)["y"])


def test_command(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "chainrule", "explain", "--derivative", "x**2", "--at", "3"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "dy/dx   = 6" in done.stdout and "d2y/dx2 = 2" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "chainrule", "explain", "--derivative", "exec('1')"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "not allowed" in bad.stderr
    if shutil.which("dot"):
        drawn = subprocess.run(
            [
                sys.executable,
                "-m",
                "chainrule",
                "explain",
                "--derivative",
                "tanh(x)",
                "--graph",
                str(tmp_path / "d.svg"),
            ],
            capture_output=True,
            text=True,
        )
        assert drawn.returncode == 0 and (tmp_path / "d.svg").read_text().count('<g id="node') >= 10
