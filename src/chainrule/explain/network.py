"""The small fully connected network that ``chainrule explain`` walks through, read from JSON.

    {"inputs": [[0.05, 0.10]], "targets": [[0.01, 0.99]],
     "layers": [{"weight": [[0.15, 0.20], [0.25, 0.30]], "bias": 0.35, "activation": "sigmoid"},
                {"weight": [[0.40, 0.45], [0.50, 0.55]], "bias": 0.60, "activation": "sigmoid"}],
     "loss": "half_sse", "lr": 0.5}

``weight[i][j]`` connects input j to neuron i (the (out, in) layout of nn.Linear); ``bias`` is a
list (one per neuron) or one number shared by the whole layer, as in the textbook example.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

ACTIVATIONS = (
    "sigmoid",
    "tanh",
    "relu",
    "identity",
    "softmax",
    "leaky_relu",
    "gelu",
)  # those whose derivative equations.py writes out
LOSSES = ("half_sse", "mse", "cross_entropy", "bce")
MAX_EQUATIONS = 50_000  # rows × weights: every one is an equation written out, so more is unreadable and slow
MAX_STEPS = 10_000  # updates in the loss table (each is a full step of the small network; 10,000 take 2 s)
MAX_FILE = 10 * 2**20  # bytes of a network file

# The worked example of a 2-2-2 sigmoid network with squared error that many learners first meet
# (inputs 0.05, 0.10; targets 0.01, 0.99): its first-step error is 0.298371109.
EXAMPLE = {
    "inputs": [[0.05, 0.10]],
    "targets": [[0.01, 0.99]],
    "layers": [
        {"weight": [[0.15, 0.20], [0.25, 0.30]], "bias": 0.35, "activation": "sigmoid"},
        {"weight": [[0.40, 0.45], [0.50, 0.55]], "bias": 0.60, "activation": "sigmoid"},
    ],
    "loss": "half_sse",
    "lr": 0.5,
}


@dataclass
class LayerSpec:
    weight: np.ndarray  # (out, in)
    bias: np.ndarray  # (out,) or () when shared by the layer
    activation: str


@dataclass
class NetworkSpec:
    inputs: np.ndarray  # (rows, features)
    targets: np.ndarray  # (rows, outputs) floats, or (rows,) class indices for cross_entropy
    layers: list
    loss: str
    lr: float

    @property
    def rows(self) -> int:
        return self.inputs.shape[0]


def _matrix(value, what: str) -> np.ndarray:
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"explain: {what} must be numbers, got {value!r}") from None
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.size == 0:
        raise ConfigError(f"explain: {what} must be a list of numbers or a list of rows, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ConfigError(f"explain: {what} contain NaN or infinite values")
    return array


def parse_network(spec: dict) -> NetworkSpec:
    """Validate a network description (see the module docstring) with errors that say what is wrong."""
    if not isinstance(spec, dict):
        raise ConfigError("explain: the network file must hold a JSON object")
    unknown = sorted(set(spec) - {"inputs", "targets", "layers", "loss", "lr"})
    if unknown:
        raise ConfigError(f"explain: unknown key(s) {', '.join(unknown)}; expected inputs, targets, layers, loss, lr")
    for key in ("inputs", "targets", "layers"):
        if key not in spec:
            raise ConfigError(f"explain: the network description needs {key!r}")
    inputs = _matrix(spec["inputs"], "inputs")
    loss = spec.get("loss", "half_sse")
    if loss not in LOSSES:
        raise ConfigError(f"explain: loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    lr = spec.get("lr", 0.5)
    if not isinstance(lr, (int, float)) or isinstance(lr, bool) or not math.isfinite(lr) or lr <= 0:
        raise ConfigError(f"explain: lr must be a positive number, got {lr!r}")
    if not isinstance(spec["layers"], list) or not spec["layers"]:
        raise ConfigError("explain: layers must be a non-empty list")
    layers, width = [], inputs.shape[1]
    for index, layer in enumerate(spec["layers"], start=1):
        if not isinstance(layer, dict) or "weight" not in layer:
            raise ConfigError(f"explain: layer {index} needs a 'weight' (a list of rows, one per neuron)")
        weight = _matrix(layer["weight"], f"layer {index} weight")
        if weight.shape[1] != width:
            raise ConfigError(
                f"explain: layer {index} weight has {weight.shape[1]} columns but its input has {width} values; "
                f"weight[i][j] connects input j to neuron i"
            )
        bias = np.array(layer.get("bias", 0.0), dtype=np.float64)
        if bias.ndim > 1 or (bias.ndim == 1 and bias.shape[0] != weight.shape[0]):
            raise ConfigError(
                f"explain: layer {index} bias must be one number or {weight.shape[0]} numbers, got "
                f"{layer.get('bias')!r}"
            )
        activation = layer.get("activation", "sigmoid")
        if activation not in ACTIVATIONS:
            raise ConfigError(
                f"explain: layer {index} activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}"
            )
        if activation == "softmax" and (index != len(spec["layers"]) or loss != "cross_entropy"):
            raise ConfigError("explain: softmax is only for the last layer, together with loss cross_entropy")
        layers.append(LayerSpec(weight, bias, activation))
        width = weight.shape[0]
    if loss == "cross_entropy" and layers[-1].activation != "softmax":
        raise ConfigError("explain: cross_entropy needs a softmax last layer")
    weights = sum(layer.weight.size for layer in layers)
    if inputs.shape[0] * weights > MAX_EQUATIONS:
        raise ConfigError(
            f"explain: {inputs.shape[0]} row(s) × {weights:,} weights are {inputs.shape[0] * weights:,} equations to "
            f"write out, more than {MAX_EQUATIONS:,}; explain is for small networks (fewer rows or neurons)"
        )
    targets = _targets(spec["targets"], inputs.shape[0], width, loss)
    return NetworkSpec(inputs, targets, layers, loss, float(lr))


def _targets(value, rows: int, outputs: int, loss: str) -> np.ndarray:
    array = np.array(value, dtype=np.float64)
    if loss == "cross_entropy" and array.ndim <= 1 and array.size == rows and np.all(array == np.round(array)):
        if array.min() < 0 or array.max() >= outputs:
            raise ConfigError(f"explain: class targets must be in [0, {outputs}), got {value!r}")
        return array.reshape(rows).astype(np.int64)
    array = _matrix(value, "targets")
    if array.shape != (rows, outputs):
        raise ConfigError(
            f"explain: targets must have {rows} row(s) of {outputs} value(s) (one per output neuron), got shape "
            f"{array.shape}"
        )
    if loss in ("bce", "cross_entropy") and (array.min() < 0 or array.max() > 1):
        raise ConfigError(f"explain: {loss} targets must lie in [0, 1]")
    return array


def load_network(path: str | None) -> NetworkSpec:
    """The network in a JSON file, or the built-in example when ``path`` is None."""
    if path is None:
        return parse_network(EXAMPLE)
    return parse_network(read_json(path))


def read_json(path: str):
    """A small JSON file's contents, or a ConfigError saying why it cannot be read."""
    if not os.path.isfile(path):
        raise ConfigError(f"explain: network file {path!r} does not exist")
    if os.path.getsize(path) > MAX_FILE:
        raise ConfigError(f"explain: {path} is over {MAX_FILE // 2**20} MB; explain is for small networks")
    try:
        with open(path, encoding="utf-8") as f:
            spec = json.load(f)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"explain: {path} is not valid JSON ({exc})") from None
    except RecursionError:
        raise ConfigError(f"explain: {path} is nested too deeply to be a network description") from None
    return spec
