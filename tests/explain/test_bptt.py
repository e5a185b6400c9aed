"""explain --rnn: backpropagation through time written out; its numbers are the engine's, its sums equal
the engine's gradient and PyTorch's, and the product of per-step factors is the true Jacobian ∂h_T/∂h_k."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from chainrule.errors import ConfigError
from chainrule.explain.bptt import EXAMPLE_RNN, explain_rnn, trace_rnn

OTHER = {
    "inputs": [[0.3, -0.2, 1.0], [1.0, 0.5, 0.0], [-0.4, 0.1, 0.2], [0.9, -0.9, 0.3]],
    "target": [0.2, -0.1, 0.4],
    "w_xh": [[0.2, -0.5, 0.1], [0.7, 0.3, -0.2], [0.0, 0.4, 0.6]],
    "w_hh": [[1.2, -0.3, 0.5], [0.2, 0.9, -0.7], [-0.4, 0.6, 1.1]],
    "b": [0.05, -0.2, 0.1],
}


def _torch(values):
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=k in ("w_xh", "w_hh", "b")) for k, v in values.items()}
    h, hs, pre = torch.zeros(len(values["b"]), dtype=torch.float64), [], []
    hs.append(h)
    for x in p["inputs"]:
        a = p["w_xh"] @ x + p["w_hh"] @ h + p["b"]
        a.retain_grad()
        h = torch.tanh(a)
        pre.append(a)
        hs.append(h)
    loss = 0.5 * ((h - p["target"]) ** 2).sum()
    loss.backward()
    return p, pre, hs, loss


@pytest.mark.parametrize("values", [EXAMPLE_RNN, OTHER], ids=["example", "three-by-four"])
def test_the_sums_equal_the_engine_and_pytorch(values):
    trace = trace_rnn(values)
    by_hand = sum(np.outer(trace.grad_a[t], trace.h[t]) for t in range(len(trace.a)))  # Σ_t ∂E/∂a_t h_(t-1)^T
    np.testing.assert_allclose(by_hand, trace.grad_w_hh, rtol=1e-12, atol=1e-15)
    p, pre, hs, loss = _torch(values)
    assert trace.loss == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(trace.grad_w_hh, p["w_hh"].grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(trace.grad_w_xh, p["w_xh"].grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(trace.grad_b, p["b"].grad.numpy(), rtol=1e-10)
    for ours, theirs in zip(trace.grad_a, pre):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("values", [EXAMPLE_RNN, OTHER], ids=["example", "three-by-four"])
def test_the_carried_products_are_the_jacobians_of_the_last_state(values):
    trace = trace_rnn(values)
    steps = len(trace.a)
    w_xh, w_hh, b = (torch.tensor(values[k], dtype=torch.float64) for k in ("w_xh", "w_hh", "b"))
    inputs = torch.tensor(values["inputs"], dtype=torch.float64)
    for distance, product in enumerate(trace.carried, start=1):
        k = steps - distance

        def last_state(h, k=k):
            for x in inputs[k:]:
                h = torch.tanh(w_xh @ x + w_hh @ h + b)
            return h

        jacobian = torch.autograd.functional.jacobian(last_state, torch.tensor(trace.h[k]))
        np.testing.assert_allclose(product, jacobian.numpy(), rtol=1e-10, atol=1e-14)


def test_every_format_and_the_numbers_in_the_text():
    text = explain_rnn()
    trace = trace_rnn()
    assert "∂E/∂W_hh[2,1]" in text and f"{trace.grad_w_hh[1, 0]:.6g}" in text
    assert "norm of the product of factors" in text
    norms = [float(np.linalg.norm(p, 2)) for p in trace.carried]
    assert norms == sorted(norms, reverse=True)  # the example forgets: the carried error shrinks with distance
    for fmt, mark in (
        ("markdown", "## Backward through time"),
        ("html", "<h2>Backward"),
        ("latex", r"\begin{bmatrix}"),
    ):
        assert mark in explain_rnn(fmt=fmt)
    data = json.loads(explain_rnn(fmt="json"))
    assert data["grad_w_hh"] == trace.grad_w_hh.tolist() and len(data["carried_norms"]) == 3


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no pdflatex here (apt-get install texlive-latex-base)")
def test_latex_compiles(tmp_path):
    (tmp_path / "rnn.tex").write_text(explain_rnn(fmt="latex"), encoding="utf-8")
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "rnn.tex"], cwd=tmp_path, capture_output=True
    )
    assert done.returncode == 0, done.stdout[-2000:]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"w_hh": [[1.0, 2.0]]}, "w_hh must be a square matrix"),
        ({"target": [1.0]}, "target must hold 2 numbers"),
        ({"speed": 1}, "unknown key"),
        ({"inputs": [[1.0, 0.0]] * 9}, "1 to 8 steps"),
    ],
)
def test_bad_networks_are_named(change, message):
    with pytest.raises(ConfigError, match=message):
        trace_rnn({**EXAMPLE_RNN, **change})


def test_command(tmp_path):
    done = subprocess.run([sys.executable, "-m", "chainrule", "explain", "--rnn"], capture_output=True, text=True)
    assert done.returncode == 0 and "Backpropagation through time" in done.stdout
    network = tmp_path / "rnn.json"
    network.write_text(json.dumps(OTHER))
    done = subprocess.run(
        [sys.executable, "-m", "chainrule", "explain", "--rnn", str(network), "--format", "json"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and len(json.loads(done.stdout)["a"]) == 4
    network.write_text(json.dumps({"inputs": [[1.0]]}))
    bad = subprocess.run(
        [sys.executable, "-m", "chainrule", "explain", "--rnn", str(network)], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "missing key(s)" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
