"""One training step of a small network, run on the engine, with every value the chain rule uses.

Forward values (net, out) are the graph's tensors; dE/dout and dE/dnet are the gradients
backward() left on them (retain_grad); the local derivative dout/dnet is the activation node's own
backward applied to ones (its saved values); the parameter gradients are autograd's; the updated
parameters come from an SGD step. Nothing here re-derives a formula by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import functional as F
from .. import optim
from ..function import no_grad
from ..nn.activation import ACTIVATIONS
from ..tensor import Tensor
from .network import NetworkSpec


@dataclass
class LayerTrace:
    index: int
    activation: str
    is_output: bool
    inputs: np.ndarray  # (rows, in): what the layer's weights multiply
    weight: np.ndarray  # (out, in), before the update
    bias: np.ndarray  # (out,) or () shared
    net: np.ndarray  # (rows, out): weighted sums
    out: np.ndarray  # (rows, out): activations
    grad_out: np.ndarray | None  # dE/dout (None where softmax and cross-entropy are fused)
    local: np.ndarray | None  # dout/dnet
    grad_net: np.ndarray  # dE/dnet
    grad_weight: np.ndarray
    grad_bias: np.ndarray
    new_weight: np.ndarray
    new_bias: np.ndarray


@dataclass
class StepTrace:
    spec: NetworkSpec
    layers: list
    loss: float
    errors: np.ndarray  # each output's (or row's, for cross-entropy) share of the loss
    losses: list = field(default_factory=list)  # loss before the first update and after each one


def make_parameters(spec: NetworkSpec) -> list:
    """(weight, bias) float64 tensors per layer, named W1, b1, ... for the graph drawing."""
    params = []
    for index, layer in enumerate(spec.layers, start=1):
        weight = Tensor(layer.weight, requires_grad=True, dtype=np.float64)
        bias = Tensor(layer.bias, requires_grad=True, dtype=np.float64)
        weight.name, bias.name = f"W{index}", f"b{index}"
        params.append((weight, bias))
    return params


def build_graph(spec: NetworkSpec, params: list) -> tuple:
    """Forward pass on the engine: returns (loss, per-layer (input, net, out) tensors)."""
    h = Tensor(spec.inputs, dtype=np.float64)
    h.name = "x"
    records = []
    for index, (layer, (weight, bias)) in enumerate(zip(spec.layers, params), start=1):
        net = (h @ weight.T + bias).retain_grad()
        if layer.activation == "identity":
            out = net
        elif layer.activation == "softmax":
            out = F.softmax(net, axis=1)
        else:
            out = ACTIVATIONS[layer.activation]()(net).retain_grad()
        # the textbook's names: net_h1 and out_h1 for hidden layer 1, net_o and out_o for the output layer
        unit = "o" if index == len(spec.layers) else f"h{index}"
        net.name = f"net_{unit}"
        if out is not net:
            out.name = f"out_{unit}"
        records.append((h, net, out))
        h = out
    return _loss(spec, records[-1]), records


def _loss(spec: NetworkSpec, last) -> Tensor:
    _, net, out = last
    targets = spec.targets
    t = Tensor(targets) if targets.dtype.kind == "i" else Tensor(targets, dtype=np.float64)
    t.name = "t"  # the targets, as the formulas call them
    if spec.loss == "half_sse":
        return 0.5 * F.mse_loss(out, t, reduction="sum")  # E = 1/2 sum (t - o)^2
    if spec.loss == "mse":
        return F.mse_loss(out, t)
    if spec.loss == "bce":
        return F.binary_cross_entropy(out, t)
    return F.cross_entropy(net, t)  # softmax and cross-entropy fused: dE/dnet = (p - t) / N


def _errors(spec: NetworkSpec, out: np.ndarray) -> np.ndarray:
    """Each output's term of the loss (each row's, for cross-entropy), as the formula's summands."""
    t = spec.targets
    if spec.loss == "half_sse":
        return 0.5 * (t - out) ** 2
    if spec.loss == "mse":
        return (t - out) ** 2
    if spec.loss == "bce":
        return -(t * np.log(out) + (1 - t) * np.log(1 - out))
    onehot = np.eye(out.shape[1])[t] if t.dtype.kind == "i" else t
    return -(onehot * np.log(out)).sum(axis=1)


def _local_derivative(out: Tensor, activation: str) -> np.ndarray | None:
    """dout/dnet from the activation node itself: its backward applied to a gradient of ones."""
    if activation == "identity":
        return np.ones_like(out._array)
    if activation == "softmax":
        return None
    return out.grad_fn.backward(np.ones_like(out._array))


def trace_step(spec: NetworkSpec, steps: int = 1) -> StepTrace:
    """Run the first update in detail and ``steps - 1`` more, recording the loss after each."""
    params = make_parameters(spec)
    loss, records = build_graph(spec, params)
    loss.backward(retain_graph=True)
    before = [(w._array.copy(), b._array.copy()) for w, b in params]
    optimizer = optim.SGD([p for pair in params for p in pair], lr=spec.lr)
    optimizer.step()
    layers = []
    for index, (layer, (h, net, out), (weight, bias), (w0, b0)) in enumerate(
        zip(spec.layers, records, params, before), start=1
    ):
        fused = layer.activation == "softmax"
        layers.append(
            LayerTrace(
                index=index,
                activation=layer.activation,
                is_output=index == len(spec.layers),
                inputs=h._array,
                weight=w0,
                bias=b0,
                net=net._array,
                out=out._array,
                grad_out=None if fused else out._grad._array,
                local=_local_derivative(out, layer.activation),
                grad_net=net._grad._array,
                grad_weight=weight._grad._array.copy(),
                grad_bias=np.asarray(bias._grad._array).copy(),
                new_weight=weight._array.copy(),
                new_bias=bias._array.copy(),
            )
        )
    trace = StepTrace(spec, layers, loss.item(), _errors(spec, records[-1][2]._array), [loss.item()])
    for _ in range(steps):
        if len(trace.losses) > 1:
            optimizer.zero_grad()
            step_loss, _ = build_graph(spec, params)
            step_loss.backward()
            optimizer.step()
        with no_grad():
            trace.losses.append(build_graph(spec, params)[0].item())
    return trace
