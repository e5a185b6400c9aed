"""Ready-made architectures described by plain dicts, so a checkpoint can rebuild them: MLP."""

from __future__ import annotations

from .activation import ACTIVATIONS
from .container import Sequential
from .layers import BatchNorm1d, Dropout, Flatten, Linear


class MLP(Sequential):
    """A multilayer perceptron: [Linear -> (BatchNorm) -> activation -> (Dropout)] per hidden layer, then Linear.

    ``MLP(64, [128, 64], 10)`` maps 64 inputs through hidden layers of 128 and 64 units to 10 outputs.
    """

    def __init__(
        self,
        in_features: int,
        hidden=(128, 64),
        out_features: int = 10,
        activation: str = "relu",
        dropout: float = 0.0,
        batchnorm: bool = False,
        dtype=None,
    ):
        if activation not in ACTIVATIONS:
            raise ValueError(f"MLP: activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        layers = [Flatten()]
        width = in_features
        for units in hidden:
            layers.append(Linear(width, units, dtype=dtype))
            if batchnorm:
                layers.append(BatchNorm1d(units, dtype=dtype))
            layers.append(ACTIVATIONS[activation]())
            if dropout:
                layers.append(Dropout(dropout))
            width = units
        layers.append(Linear(width, out_features, dtype=dtype))
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


def build_model(config: dict, dtype=None):
    """Rebuild a model from its ``config`` dict (as saved in checkpoints)."""
    config = dict(config)
    kind = config.pop("type", None)
    if kind != "MLP":
        raise ValueError(f"build_model: unknown architecture {kind!r}")
    return MLP(dtype=dtype, **config)
