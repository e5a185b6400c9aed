"""The example scripts run and print what they promise (so they cannot rot unnoticed)."""

import os
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


@pytest.mark.parametrize(
    "script, expected",
    [
        ("quickstart.py", "epoch 10: loss"),
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
