"""Ready-made architectures described by plain dicts, so a checkpoint can rebuild them: MLP, CNN, and CharLM
(character-level language models: bigram, MLP, RNN, GRU, LSTM, transformer)."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .activation import ACTIVATIONS
from .container import Sequential
from .layers import (
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Embedding,
    Flatten,
    LayerNorm,
    Linear,
    MaxPool2d,
    Unflatten,
)
from .module import Module
from .recurrent import GRU, LSTM, RNN
from .transformer import TransformerEncoder, TransformerEncoderLayer


def _check_activation(model: str, activation) -> None:
    for name in [activation] if isinstance(activation, str) else activation:
        if name not in ACTIVATIONS:
            raise ValueError(f"{model}: activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")


def _per_layer(activation, hidden) -> list:
    """One activation name per hidden layer: ``activation`` is one name for all, or a list of one per layer."""
    if isinstance(activation, str):
        return [activation] * len(hidden)
    activation = list(activation)
    if len(activation) != len(hidden):
        raise ValueError(
            f"MLP: a list of activations needs one per hidden layer ({len(hidden)}), "
            f"got {len(activation)}: {activation}"
        )
    return activation


def dense_layers(features: int, hidden, out_features: int, activation, dropout: float, batchnorm: bool, dtype):
    """[Linear -> (BatchNorm1d) -> activation -> (Dropout)] per hidden size, then the output Linear.
    ``activation``: one name for every hidden layer, or a list with one name per layer."""
    layers = []
    for units, name in zip(hidden, _per_layer(activation, hidden)):
        layers.append(Linear(features, units, dtype=dtype))
        if batchnorm:
            layers.append(BatchNorm1d(units, dtype=dtype))
        layers.append(ACTIVATIONS[name]())
        if dropout:
            layers.append(Dropout(dropout))
        features = units
    return layers + [Linear(features, out_features, dtype=dtype)]


class MLP(Sequential):
    """A multilayer perceptron: [Linear -> (BatchNorm) -> activation -> (Dropout)] per hidden layer, then Linear.

    ``MLP(64, [128, 64], 10)`` maps 64 inputs through hidden layers of 128 and 64 units to 10 outputs;
    ``activation`` is one name for every hidden layer or a list of one per layer (["tanh", "relu"]).
    """

    def __init__(
        self,
        in_features: int,
        hidden=(128, 64),
        out_features: int = 10,
        activation="relu",
        dropout: float = 0.0,
        batchnorm: bool = False,
        dtype=None,
    ):
        _check_activation("MLP", activation)
        activation = activation if isinstance(activation, str) else list(activation)
        layers = [Flatten(), *dense_layers(in_features, hidden, out_features, activation, dropout, batchnorm, dtype)]
        super().__init__(*layers)
        self.config = {
            "type": "MLP",
            "in_features": int(in_features),
            "hidden": [int(h) for h in hidden],
            "out_features": int(out_features),
            "activation": activation,
            "dropout": float(dropout),
            "batchnorm": bool(batchnorm),
        }


class CNN(Sequential):
    """A convolutional network for images given as flat rows: the row is unflattened to ``in_shape``
    (channels, height, width), then [Conv2d 3x3 -> (BatchNorm2d) -> activation -> MaxPool2d 2] per entry
    of ``channels``, then Flatten and the MLP's dense layers (``hidden``, then the output Linear).

    ``CNN((1, 28, 28), [16, 32], [], 10)`` is the classic small MNIST network: 28x28 -> 16 maps of
    14x14 -> 32 maps of 7x7 -> 10 outputs.
    """

    def __init__(
        self,
        in_shape,
        channels=(16, 32),
        hidden=(),
        out_features: int = 10,
        activation: str = "relu",
        dropout: float = 0.0,
        batchnorm: bool = False,
        dtype=None,
    ):
        if not isinstance(activation, str):
            raise ValueError(
                f"CNN: activation must be one name (its conv and dense layers share it), got {activation!r}"
            )
        _check_activation("CNN", activation)
        in_shape = tuple(int(s) for s in in_shape)
        if len(in_shape) != 3:
            raise ValueError(f"CNN: in_shape must be (channels, height, width), got {in_shape}")
        depth, (c, h, w) = len(channels), in_shape
        if min(h, w) < 2**depth:
            raise ValueError(
                f"CNN: {depth} pooling steps halve a {h}x{w} image below one pixel; use fewer channels entries"
            )
        layers = [Unflatten(1, in_shape)]
        for width in channels:
            layers.append(Conv2d(c, width, 3, padding=1, dtype=dtype))
            if batchnorm:
                layers.append(BatchNorm2d(width, dtype=dtype))
            layers += [ACTIVATIONS[activation](), MaxPool2d(2)]
            c, h, w = width, h // 2, w // 2
        layers += [Flatten(), *dense_layers(c * h * w, hidden, out_features, activation, dropout, batchnorm, dtype)]
        super().__init__(*layers)
        self.config = {
            "type": "CNN",
            "in_shape": list(in_shape),
            "channels": [int(c) for c in channels],
            "hidden": [int(u) for u in hidden],
            "out_features": int(out_features),
            "activation": activation,
            "dropout": float(dropout),
            "batchnorm": bool(batchnorm),
        }


LANGUAGE_MODELS = ("bigram", "mlp", "rnn", "gru", "lstm", "transformer")
_RECURRENT = {"rnn": (RNN, 1), "gru": (GRU, 3), "lstm": (LSTM, 4)}  # the layer and its gates per hidden unit


class CharLM(Module):
    """A character-level language model: the ids of ``block`` characters (N, block) -> the logits of the next
    character (N, vocab_size).

    - ``bigram``: a table of logits for each character after each (only the last character is read).
    - ``mlp``: Bengio et al. (2003): the characters' embeddings side by side, tanh hidden layers (``hidden``).
    - ``rnn``, ``gru``, ``lstm``: embeddings through ``layers`` recurrent layers of ``hidden[0]`` units; the last
      step's state gives the logits.
    - ``transformer``: embeddings plus learned positions through ``layers`` pre-norm encoder layers with causal
      self-attention (``heads`` heads, a GELU feed-forward block 4 times as wide); the last position's output,
      normalised, gives the logits.
    """

    def __init__(self, kind, vocab_size, block, embed=32, hidden=(128,), layers=1, heads=4, dtype=None):
        super().__init__()
        if kind not in LANGUAGE_MODELS:
            raise ValueError(f"CharLM: kind must be one of {', '.join(LANGUAGE_MODELS)}, got {kind!r}")
        if kind == "transformer" and embed % heads:
            raise ValueError(
                f"CharLM: {heads} heads do not divide the width {embed} (--embed must be a multiple of --heads)"
            )
        hidden = [int(h) for h in hidden]
        self.kind, self.block = kind, int(block)
        if kind == "bigram":
            self.table = Embedding(vocab_size, vocab_size, dtype=dtype)
        else:
            self.embedding = Embedding(vocab_size, embed, dtype=dtype)
        if kind == "mlp":
            self.net = Sequential(
                Flatten(), *dense_layers(block * embed, hidden, vocab_size, "tanh", 0.0, False, dtype)
            )
        elif kind in _RECURRENT:
            self.rnn = _RECURRENT[kind][0](embed, hidden[0], num_layers=layers, batch_first=True, dtype=dtype)
            self.head = Linear(hidden[0], vocab_size, dtype=dtype)
        elif kind == "transformer":
            self.position = Embedding(block, embed, dtype=dtype)
            layer = TransformerEncoderLayer(
                embed, heads, 4 * embed, dropout=0.0, activation="gelu", batch_first=True, norm_first=True, dtype=dtype
            )
            self.blocks = TransformerEncoder(layer, layers)
            self.norm = LayerNorm(embed, dtype=dtype)
            self.head = Linear(embed, vocab_size, dtype=dtype)
        self.config = {
            "type": "CharLM",
            "kind": kind,
            "vocab_size": int(vocab_size),
            "block": int(block),
            "embed": int(embed),
            "hidden": hidden,
            "layers": int(layers),
            "heads": int(heads),
        }

    def forward(self, ids):
        if self.kind == "bigram":
            return self.table(ids[:, -1])
        x = self.embedding(ids)  # (N, block, embed)
        if self.kind == "mlp":
            return self.net(x)
        if self.kind == "transformer":
            x = x + self.position.weight
            causal = Tensor.wrap(np.triu(np.ones((self.block, self.block), dtype=bool), 1), False)  # True: no
            x = self.blocks(x, mask=causal, is_causal=True)
            return self.head(self.norm(x[:, -1]))
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def _language_model_size(config: dict) -> tuple[int, int]:
    kind, v, block, e = config["kind"], int(config["vocab_size"]), int(config["block"]), int(config["embed"])
    hidden, layers = [int(h) for h in config["hidden"]], int(config["layers"])
    if kind == "bigram":
        return v * v, v
    parameters = v * e
    if kind == "mlp":
        features = block * e
        for units in hidden + [v]:
            parameters += features * units + units
            features = units
        return parameters, block * e + 2 * sum(hidden) + v
    if kind in _RECURRENT:
        gates, h = _RECURRENT[kind][1], hidden[0]
        parameters += gates * h * (e + h + 2) + (layers - 1) * gates * h * (2 * h + 2) + h * v + v
        return parameters, block * (e + layers * (gates + 2) * h) + v
    per_layer = 4 * e * e + 4 * e + 8 * e * e + 5 * e + 4 * e  # attention, feed-forward, two LayerNorms
    parameters += block * e + layers * per_layer + 2 * e + e * v + v
    return parameters, block * layers * (12 * e + 2 * block) + v


ARCHITECTURES = {"MLP": MLP, "CNN": CNN, "CharLM": CharLM}


def model_size(config: dict) -> tuple[int, int]:
    """(parameters, activation values per example) of the model a config dict describes, counted without
    building it: a size check before allocating (two hidden layers of 100,000 are 10^10 weights)."""
    if config.get("type") == "CharLM":
        return _language_model_size(config)
    batchnorm = bool(config.get("batchnorm"))
    parameters = activations = 0
    if config.get("type") == "CNN":
        c, h, w = (int(s) for s in config["in_shape"])
        for width in config["channels"]:
            width = int(width)
            parameters += width * c * 9 + width + (2 * width if batchnorm else 0)  # 3x3 kernels, biases, BatchNorm
            activations += 2 * width * h * w  # the convolution's output and its activation's, before pooling
            c, h, w = width, h // 2, w // 2
        features = c * h * w
    else:
        features = int(config["in_features"])
    sizes = [int(units) for units in config["hidden"]] + [int(config["out_features"])]
    for index, units in enumerate(sizes):
        last = index == len(sizes) - 1
        parameters += features * units + units + (2 * units if batchnorm and not last else 0)
        activations += units if last else 2 * units
        features = units
    return parameters, activations


def build_model(config: dict, dtype=None):
    """Rebuild a model from its ``config`` dict (as saved in checkpoints)."""
    config = dict(config)
    kind = config.pop("type", None)
    if kind not in ARCHITECTURES:
        raise ValueError(f"build_model: unknown architecture {kind!r}; known: {', '.join(ARCHITECTURES)}")
    return ARCHITECTURES[kind](dtype=dtype, **config)
