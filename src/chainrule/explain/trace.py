"""One training step of a small network, run on the engine, with every value the chain rule uses.

Forward values (net, out) are the graph's tensors; dE/dout and dE/dnet are the gradients
backward() left on them (retain_grad); the local derivative dout/dnet is the activation node's own
backward applied to ones (its saved values); the parameter gradients are autograd's; the updated
parameters come from the optimizer's step. Nothing here re-derives a formula by hand.

``forward`` and ``layer_traces`` are shared with the playground, which trains with this same graph
and turns its latest step into a StepTrace when a learner asks for a weight's chain rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import functional as F
from .. import optim
from ..errors import ConfigError
from ..grad_mode import no_grad
from ..nn.activation import ACTIVATIONS
from ..tensor import Tensor
from .equations import build_document
from .network import MAX_STEPS, NetworkSpec
from .writers import html_fragment


@dataclass
class LayerTrace:
    index: int
    activation: str
    is_output: bool
    inputs: np.ndarray  # (rows, in): what the layer's weights multiply
    weight: np.ndarray  # (out, in), before the update
    bias: np.ndarray  # (out,) or () shared
    net: np.ndarray  # (rows, out): weighted sums
    out: np.ndarray  # (rows, out): activations (after dropout, where the layer has it)
    grad_out: np.ndarray | None  # dE/dout (None where softmax and cross-entropy are fused)
    local: np.ndarray | None  # dout/dnet
    grad_net: np.ndarray  # dE/dnet
    grad_weight: np.ndarray  # what the optimizer used: dE/dW, plus dR/dW where a penalty is on
    grad_bias: np.ndarray
    new_weight: np.ndarray
    new_bias: np.ndarray
    dropout: float = 0.0  # the layer's dropout probability; out and local then carry the mask / (1 - p)
    penalty_grad: np.ndarray | None = None  # dR/dW of an L1/L2 penalty, from the engine's backward


@dataclass
class StepTrace:
    spec: NetworkSpec
    layers: list
    loss: float
    errors: np.ndarray  # each output's (or row's, for cross-entropy) share of the loss
    losses: list = field(default_factory=list)  # loss before the first update and after each one
    optimizer: str = "sgd"  # plain SGD writes w - lr * g; any other rule is shown as w + its step
    penalty: tuple | None = None  # ("l1" or "l2", rate) where the loss has a weight penalty

    def _repr_html_(self) -> str:
        """In Jupyter: the step's equations as HTML with LaTeX, typeset by the notebook's MathJax (the
        playground typesets the same HTML with KaTeX)."""
        return html_fragment(build_document(self, digits=6))


def make_parameters(spec: NetworkSpec) -> list:
    """(weight, bias) float64 tensors per layer, named W1, b1, ... for the graph drawing."""
    params = []
    for index, layer in enumerate(spec.layers, start=1):
        weight = Tensor(layer.weight, requires_grad=True, dtype=np.float64)
        bias = Tensor(layer.bias, requires_grad=True, dtype=np.float64)
        weight.name, bias.name = f"W{index}", f"b{index}"
        params.append((weight, bias))
    return params


def forward(h: Tensor, params: list, activations: list, dropouts=None, training: bool = True) -> list:
    """The network on the engine, layer by layer: [(input, net, out)] with net and out keeping their grads.

    ``dropouts`` gives each hidden layer's dropout probability (applied after its activation while training).
    """
    records = []
    last = len(params)
    for index, ((weight, bias), activation) in enumerate(zip(params, activations), start=1):
        net = (h @ weight.T + bias).retain_grad()
        if activation == "identity":
            out = net
        elif activation == "softmax":
            out = F.softmax(net, axis=1)
        else:
            out = ACTIVATIONS[activation]()(net).retain_grad()
        p = dropouts[index - 1] if dropouts else 0.0
        if p and training and index < last:
            out = F.dropout(out, p, training=True).retain_grad()
        # the textbook's names: net_h1 and out_h1 for hidden layer 1, net_o and out_o for the output layer
        unit = "o" if index == last else f"h{index}"
        net.name = f"net_{unit}"
        if out is not net:
            out.name = f"out_{unit}"
        records.append((h, net, out))
        h = out
    return records


def build_graph(spec: NetworkSpec, params: list) -> tuple:
    """Forward pass on the engine: returns (loss, per-layer (input, net, out) tensors)."""
    h = Tensor(spec.inputs, dtype=np.float64)
    h.name = "x"
    records = forward(h, params, [layer.activation for layer in spec.layers])
    return loss_of(spec.loss, records[-1], spec.targets), records


def loss_of(loss: str, last, targets: np.ndarray) -> Tensor:
    """The loss node on the last layer's (input, net, out); class targets are integer indices."""
    _, net, out = last
    t = Tensor(targets) if targets.dtype.kind == "i" else Tensor(targets, dtype=np.float64)
    t.name = "t"  # the targets, as the formulas call them
    if loss == "half_sse":
        return 0.5 * F.mse_loss(out, t, reduction="sum")  # E = 1/2 sum (t - o)^2
    if loss == "mse":
        return F.mse_loss(out, t)
    if loss == "bce":
        return F.binary_cross_entropy(out, t)
    return F.cross_entropy(net, t)  # softmax and cross-entropy fused: dE/dnet = (p - t) / N


def loss_terms(loss: str, out: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Each output's term of the loss (each row's, for cross-entropy), as the formula's summands."""
    if loss == "half_sse":
        return 0.5 * (t - out) ** 2
    if loss == "mse":
        return (t - out) ** 2
    if loss == "bce":
        return -(t * np.log(out) + (1 - t) * np.log(1 - out))
    onehot = np.eye(out.shape[1])[t] if t.dtype.kind == "i" else t
    return -(onehot * np.log(out)).sum(axis=1)


def _local_derivative(out: Tensor, net: Tensor, activation: str) -> np.ndarray | None:
    """dout/dnet from the graph's own nodes: each one's backward applied to a gradient of ones, multiplied
    along the (element-wise) path from out back to net: the activation, and dropout's mask where it is on."""
    if activation == "softmax":
        return None
    local = np.ones_like(out.array)
    node = out
    while node is not net:
        local = local * node.grad_fn.backward(np.ones_like(node.array))
        node = node._creator.inputs[0]
    return local


def layer_traces(records, params, before, activations, dropouts=None, penalty_grads=None) -> list:
    """LayerTrace per layer from a graph that ran backward (``records`` from ``forward``) and the parameters
    before the update (``before``: (weight, bias) arrays); ``params`` hold the updated values and the grads."""
    layers = []
    last = len(params)
    for index, ((h, net, out), (weight, bias), (w0, b0), activation) in enumerate(
        zip(records, params, before, activations), start=1
    ):
        fused = activation == "softmax"
        layers.append(
            LayerTrace(
                index=index,
                activation=activation,
                is_output=index == last,
                inputs=h.array,
                weight=w0,
                bias=b0,
                net=net.array,
                out=out.array,
                grad_out=None if fused else out._grad.array,
                local=_local_derivative(out, net, activation),
                grad_net=net._grad.array,
                grad_weight=weight._grad.array.copy(),
                grad_bias=np.asarray(bias._grad.array).copy(),
                new_weight=weight.array.copy(),
                new_bias=bias.array.copy(),
                dropout=(dropouts[index - 1] if dropouts and index < last else 0.0),
                penalty_grad=None if penalty_grads is None else penalty_grads[index - 1],
            )
        )
    return layers


def trace_step(spec: NetworkSpec, steps: int = 1) -> StepTrace:
    """Run the first update in detail and ``steps - 1`` more, recording the loss after each."""
    if not 1 <= steps <= MAX_STEPS:
        raise ConfigError(f"explain: steps must be 1 to {MAX_STEPS:,}, got {steps:,}")
    params = make_parameters(spec)
    loss, records = build_graph(spec, params)
    loss.backward(retain_graph=True)
    before = [(w.array.copy(), b.array.copy()) for w, b in params]
    optimizer = optim.SGD([p for pair in params for p in pair], lr=spec.lr)
    optimizer.step()
    layers = layer_traces(records, params, before, [layer.activation for layer in spec.layers])
    trace = StepTrace(spec, layers, loss.item(), loss_terms(spec.loss, records[-1][2].array, spec.targets))
    trace.losses.append(loss.item())
    for _ in range(steps):
        if len(trace.losses) > 1:
            optimizer.zero_grad()
            step_loss, _ = build_graph(spec, params)
            step_loss.backward()
            optimizer.step()
        with no_grad():
            trace.losses.append(build_graph(spec, params)[0].item())
    return trace
