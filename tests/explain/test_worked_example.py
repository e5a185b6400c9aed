"""`chainrule explain`: the numbers printed are the engine's, and agree with autograd, numerical
gradients and PyTorch, in every format."""

import json
import re

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.errors import ConfigError
from chainrule.explain import EXAMPLE, explain, parse_network, render_step, trace_step
from chainrule.explain.formats import FORMATS
from chainrule.explain.trace import build_graph, make_parameters


def test_builtin_example_gives_the_textbook_numbers():
    trace = trace_step(parse_network(EXAMPLE))
    assert trace.loss == pytest.approx(0.298371109, abs=1e-9)
    hidden, output = trace.layers
    assert output.out[0] == pytest.approx([0.75136507, 0.772928465], abs=1e-9)
    assert output.new_weight[0, 0] == pytest.approx(0.35891648, abs=1e-8)  # w5
    assert output.new_weight[1, 1] == pytest.approx(0.561370121, abs=1e-8)  # w8
    assert hidden.new_weight[0, 0] == pytest.approx(0.149780716, abs=1e-9)  # w1
    assert hidden.new_weight[1, 1] == pytest.approx(0.29950229, abs=1e-8)  # w4
    text = explain(None)
    for expected in (
        "0.298371109",
        "0.35891648",
        "0.149780716",
        "0.74136507 · 0.186815602 · 0.593269992 = 0.0821670406",
    ):
        assert expected in text


def _random_spec(rng, sizes, activations, loss, rows):
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        bias = rng.uniform(-0.5, 0.5, n_out).tolist() if i % 2 == 0 else float(rng.uniform(-0.5, 0.5))
        layers.append(
            {"weight": rng.uniform(-1, 1, (n_out, n_in)).tolist(), "bias": bias, "activation": activations[i]}
        )
    inputs = rng.uniform(-1, 1, (rows, sizes[0])).tolist()
    if loss == "cross_entropy":
        targets = rng.integers(0, sizes[-1], rows).tolist()
    else:
        targets = rng.uniform(0.05, 0.95, (rows, sizes[-1])).tolist()
    return {"inputs": inputs, "targets": targets, "layers": layers, "loss": loss, "lr": 0.3}


CASES = [
    ([2, 3, 2], ["sigmoid", "sigmoid"], "half_sse", 1),
    ([3, 4, 2], ["tanh", "identity"], "mse", 3),
    ([2, 4, 3, 3], ["relu", "tanh", "softmax"], "cross_entropy", 4),
    ([4, 3, 1], ["relu", "sigmoid"], "bce", 2),
    ([2, 2, 2, 2], ["identity", "sigmoid", "tanh"], "half_sse", 2),
]


def _torch_grads(spec):
    h = torch.tensor(spec.inputs)
    params = []
    for layer in spec.layers:
        w = torch.tensor(layer.weight, requires_grad=True)
        b = torch.tensor(layer.bias, requires_grad=True)
        params += [w, b]
        net = h @ w.T + b
        h = {
            "sigmoid": torch.sigmoid,
            "tanh": torch.tanh,
            "relu": torch.relu,
            "identity": lambda z: z,
            "softmax": lambda z: z,
        }[layer.activation](net)
    t = torch.tensor(spec.targets)
    loss = {
        "half_sse": lambda: 0.5 * ((h - t) ** 2).sum(),
        "mse": lambda: ((h - t) ** 2).mean(),
        "bce": lambda: torch.nn.functional.binary_cross_entropy(h, t),
        "cross_entropy": lambda: torch.nn.functional.cross_entropy(h, t),
    }[spec.loss]()
    loss.backward()
    return loss.item(), [p.grad.numpy() for p in params]


def _numerical_grads(spec):
    flat = [p for pair in make_parameters(spec) for p in pair]

    def loss_of(*tensors):
        pairs = list(zip(tensors[0::2], tensors[1::2]))
        return build_graph(spec, pairs)[0]

    return cr.numerical_grad(loss_of, flat)


@pytest.mark.parametrize("sizes, activations, loss, rows", CASES)
def test_printed_gradients_equal_autograd_numerical_and_pytorch_in_every_format(sizes, activations, loss, rows):
    rng = np.random.default_rng(sum(sizes) + rows)
    spec = parse_network(_random_spec(rng, sizes, activations, loss, rows))
    trace = trace_step(spec)
    data = json.loads(render_step(trace, "json"))
    printed = [np.array(g) for layer in data["layers"] for g in (layer["grad_weight"], layer["grad_bias"])]
    torch_loss, torch_grads = _torch_grads(spec)
    numerical = _numerical_grads(spec)
    assert data["loss"]["value"] == pytest.approx(torch_loss, rel=1e-12)
    for ours, theirs, approx in zip(printed, torch_grads, numerical):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours, approx, rtol=1e-5, atol=1e-7)
    for layer in data["layers"]:
        # the chain: dE/dnet = dE/dout * dout/dnet wherever they are printed separately
        if layer["dE_dout"] is not None:
            np.testing.assert_allclose(
                np.array(layer["dE_dout"]) * np.array(layer["dout_dnet"]), layer["dE_dnet"], rtol=1e-12, atol=1e-15
            )
        np.testing.assert_allclose(
            np.array(layer["updated_weight"]),
            np.array(layer["weight"]) - 0.3 * np.array(layer["grad_weight"]),
            rtol=1e-12,
        )
    for fmt in ("text", "markdown", "html", "latex"):
        text = render_step(trace, fmt, digits=9)
        for grad in printed:
            for value in np.atleast_1d(grad).ravel():
                number = f"{float(value) + 0.0:.9g}"
                shown = number if fmt == "latex" else number.replace("-", "−")
                assert shown in text, f"{fmt} lacks gradient {number}"


def test_json_has_full_precision():
    data = json.loads(explain(None, fmt="json"))
    value = data["layers"][1]["grad_weight"][0][0]
    assert len(re.sub(r"[^0-9]", "", repr(value)).lstrip("0")) >= 9
    assert data["loss"]["value"] == pytest.approx(0.2983711087600027, rel=1e-15)


def test_steps_add_a_loss_table_that_falls():
    trace = trace_step(parse_network(EXAMPLE), steps=5)
    assert len(trace.losses) == 6 and all(a > b for a, b in zip(trace.losses, trace.losses[1:]))
    assert "Loss after each update" in render_step(trace, "text")


def test_digits_option_controls_precision():
    text = explain(None, digits=4)
    assert "0.2984" in text and "0.298371109" not in text


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"inputs": [[1, 2]], "targets": [[1]], "layers": [{"weight": [[1, 2, 3]]}]}, "3 columns"),
        ({"inputs": [[1, 2]], "targets": [[1]], "layers": [{"weight": [[1, 2]], "activation": "swish"}]}, "activation"),
        ({"inputs": [[1, 2]], "targets": [[1, 0]], "layers": [{"weight": [[1, 2]]}]}, "targets"),
        (
            {
                "inputs": [[1, 2]],
                "targets": [0],
                "layers": [{"weight": [[1, 2], [3, 4]], "activation": "sigmoid"}],
                "loss": "cross_entropy",
            },
            "softmax",
        ),
        ({"inputs": [[1, 2]], "targets": [[1]], "layers": [{"weight": [[1, 2]]}], "lr": -1}, "lr"),
        ({"inputs": [[1, 2]], "targets": [[1]], "layers": [{"weight": [[1, 2]]}], "momentum": 0.9}, "unknown key"),
    ],
)
def test_bad_network_descriptions_are_named(spec, message):
    with pytest.raises(ConfigError, match=message):
        parse_network(spec)


def test_every_format_renders():
    for fmt in FORMATS:
        assert explain(None, fmt=fmt).strip()
    assert explain(None, fmt="html").startswith("<!DOCTYPE html>")
    assert "\\begin{document}" in explain(None, fmt="latex")


@pytest.mark.skipif(
    __import__("shutil").which("pdflatex") is None, reason="no pdflatex here (apt-get install texlive-latex-base)"
)
def test_latex_output_compiles(tmp_path):
    import subprocess

    for name, spec in (
        ("example", EXAMPLE),
        (
            "batch",
            _random_spec(np.random.default_rng(1), [2, 4, 3, 3], ["relu", "tanh", "softmax"], "cross_entropy", 2),
        ),
    ):
        (tmp_path / f"{name}.tex").write_text(explain(spec, fmt="latex", steps=3))
        result = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout[-2000:]
        assert (tmp_path / f"{name}.pdf").stat().st_size > 1000
