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
        ("char_lm.py", "sample: Alice"),
        ("newton.py", "newton: x = 1.0000000000 after 7 steps"),
        ("gradient_penalty.py", "step 200: gradient penalty 0.000"),
        ("hessian_vector.py", "largest difference: "),
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


def _losses(output: str) -> list:
    return [float(line.rsplit(" ", 1)[1]) for line in output.splitlines() if line.startswith("step ")]


@pytest.mark.parametrize("model", ["lstm", "transformer"])
def test_char_lm_is_pytorch_code_with_one_import_changed(tmp_path, model):
    """The language model example runs on PyTorch once its imports name torch, and both libraries learn."""
    pytest.importorskip("torch")
    source = open(os.path.join(EXAMPLES, "char_lm.py"), encoding="utf-8").read()
    lines = [line for line in source.splitlines() if line.startswith("import chainrule")]
    assert lines == [
        "import chainrule as torch  # the only line that differs from the PyTorch program",
        "import chainrule.nn as nn",
        "import chainrule.nn.functional as F",
    ]
    as_torch = tmp_path / "char_lm_torch.py"
    as_torch.write_text(source.replace("import chainrule", "import torch").replace("torch as torch", "torch"))
    outputs = {}
    for name, path in (("chainrule", os.path.join(EXAMPLES, "char_lm.py")), ("torch", str(as_torch))):
        done = subprocess.run(
            [sys.executable, path, "--model", model, "--steps", "100"], capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-2000:]
        outputs[name] = _losses(done.stdout)
        assert "sample: Alice" in done.stdout
    for losses in outputs.values():
        assert losses[0] > 3.5 and losses[-1] < 2.6  # from guessing (ln 42 = 3.74) to having learned
