"""The example scripts run and print what they promise (so they cannot rot unnoticed)."""

import os
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


@pytest.mark.parametrize(
    "script, expected",
    [
        ("quickstart.py", "epoch 10: mean loss"),
        ("see_the_gradients.py", "gradcheck: True"),
        ("custom_module.py", "reloaded accuracy"),
    ],
)
def test_example_runs(script, expected):
    result = subprocess.run(
        [sys.executable, os.path.join(EXAMPLES, script)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert expected in result.stdout


def test_examples_print_whole_what_they_teach():
    gradients = subprocess.run(
        [sys.executable, os.path.join(EXAMPLES, "see_the_gradients.py")], capture_output=True, text=True, timeout=300
    ).stdout
    dot = gradients[gradients.index("digraph") :]
    assert dot.count("{") == dot.count("}") >= 1 and "->" in dot  # the whole DOT text, not one line of it
    assert "caught: detect_anomaly: op log produced NaN" in gradients and "input shapes (2,)" in gradients
