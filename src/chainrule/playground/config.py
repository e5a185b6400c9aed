"""The playground's settings: one dict from the page (also the URL's state), validated field by field.

Every error names the field, what it expects and what it got; the page shows it and keeps the last
good settings.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from ..data.synthetic import MULTICLASS, REGRESSION
from ..errors import ConfigError
from .datasets import DATASETS, FEATURES

ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear", "leaky_relu", "gelu")
LOSSES = ("half_sse", "mse", "cross_entropy", "bce")
OPTIMIZERS = (
    "sgd",
    "momentum",
    "nesterov",
    "adagrad",
    "rmsprop",
    "adam",
)  # those the page offers, of optim.OPTIMIZER_NAMES
REGULARIZATION = ("none", "l1", "l2")
OUTPUTS = ("linear", "tanh", "sigmoid")  # the output activation under a squared loss
MAX_LAYERS = 6
MAX_UNITS = {"plane": 8, "digits": 64}


@dataclass
class Layer:
    units: int = 4
    activation: str = "tanh"


@dataclass
class PlaygroundConfig:
    dataset: str = "circle"
    classes: int = 3  # spiral and blobs
    noise: int = 0  # percent, 0..50
    train_percent: int = 50
    points: int = 500
    seed: int = 1
    features: list = field(default_factory=lambda: ["x1", "x2"])
    hidden: list = field(default_factory=lambda: [Layer(4, "tanh"), Layer(2, "tanh")])
    loss: str = "bce"
    output: str = "tanh"  # under half_sse or mse; bce has sigmoid and cross_entropy softmax
    optimizer: str = "sgd"
    lr: float = 0.03
    batch_size: int = 10
    regularization: str = "none"
    reg_rate: float = 0.0
    dropout: float = 0.0

    @property
    def task(self) -> str:
        return "regression" if self.dataset in REGRESSION else "classification"

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def output_activation(self) -> str:
        """explain's name for the output layer's activation."""
        if self.loss == "cross_entropy":
            return "softmax"
        if self.loss == "bce":
            return "sigmoid"
        return "identity" if self.output == "linear" else self.output


def _fail(key: str, expected: str, got) -> None:
    raise ConfigError(f"playground setting {key!r}: expected {expected}, got {got!r}")


def _int(value, key: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        _fail(key, f"an integer from {low} to {high}", value)
    return value


def _float(value, key: str, low: float, high: float, low_open: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not (low < value if low_open else low <= value) or value > high:
        _fail(key, f"a number {'above' if low_open else 'from'} {low:g} up to {high:g}", value)
    return float(value)


def _choice(value, key: str, choices) -> str:
    if value not in choices:
        _fail(key, f"one of {', '.join(choices)}", value)
    return value


def parse_config(values: dict, rows: int | None = None) -> PlaygroundConfig:
    """A PlaygroundConfig from the page's dict; missing fields keep their defaults, unknown ones are errors."""
    if not isinstance(values, dict):
        raise ConfigError(f"playground settings: expected an object of fields, got {type(values).__name__}")
    known = PlaygroundConfig.__dataclass_fields__
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ConfigError(
            f"playground settings: unknown field(s) {', '.join(map(repr, unknown))}; known: {', '.join(known)}"
        )
    c = PlaygroundConfig()
    v = {**c.to_dict(), **values}
    c.dataset = _choice(v["dataset"], "dataset", DATASETS)
    c.classes = _int(v["classes"], "classes", 2, 6)
    c.noise = _int(v["noise"], "noise", 0, 50)
    c.train_percent = _int(v["train_percent"], "train_percent", 10, 90)
    c.points = _int(v["points"], "points", 20, 2000)
    c.seed = _int(v["seed"], "seed", 0, 2**31 - 1)
    if (
        not isinstance(v["features"], list)
        or not v["features"]
        or any(f not in FEATURES for f in v["features"])
        or len(set(v["features"])) != len(v["features"])
    ):
        _fail("features", f"a non-empty list of distinct names from {', '.join(FEATURES)}", v["features"])
    c.features = [f for f in FEATURES if f in v["features"]]  # in the drawing's order
    kind = "digits" if c.dataset == "digits" else "plane"
    if not isinstance(v["hidden"], list) or len(v["hidden"]) > MAX_LAYERS:
        _fail("hidden", f"a list of at most {MAX_LAYERS} layers", v["hidden"])
    hidden = []
    for index, layer in enumerate(v["hidden"], start=1):
        layer = asdict(layer) if isinstance(layer, Layer) else layer
        if not isinstance(layer, dict) or set(layer) != {"units", "activation"}:
            _fail(f"hidden[{index}]", "an object with units and activation", layer)
        units = _int(layer["units"], f"hidden[{index}].units", 1, MAX_UNITS[kind])
        hidden.append(Layer(units, _choice(layer["activation"], f"hidden[{index}].activation", ACTIVATIONS)))
    c.hidden = hidden
    c.loss = _choice(v["loss"], "loss", LOSSES)
    c.output = _choice(v["output"], "output", OUTPUTS)
    c.optimizer = _choice(v["optimizer"], "optimizer", OPTIMIZERS)
    c.lr = _float(v["lr"], "lr", 0.0, 10.0, low_open=True)
    c.batch_size = _int(v["batch_size"], "batch_size", 1, 5000)
    c.regularization = _choice(v["regularization"], "regularization", REGULARIZATION)
    c.reg_rate = _float(v["reg_rate"], "reg_rate", 0.0, 10.0)
    c.dropout = _float(v["dropout"], "dropout", 0.0, 0.9)
    if c.task == "regression" and c.loss not in ("half_sse", "mse"):
        _fail("loss", "half_sse or mse for a regression set", c.loss)
    if c.dataset in MULTICLASS and c.classes > 2 and c.loss == "bce":
        _fail("loss", f"cross_entropy, half_sse or mse for {c.classes} classes (bce is for two)", c.loss)
    if c.dataset == "digits" and c.loss == "bce":
        _fail("loss", "cross_entropy, half_sse or mse for the 10 digits", c.loss)
    return c
