"""TrainConfig: every option of ``chainrule train``, with types, defaults and validation.

The same keys work on the command line (``--batch-size 64``) and in a TOML file
(``batch_size = 64``); the command line wins where both give one.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from dataclasses import dataclass, field

from .. import nn, optim
from ..data.datasets import ALIASES, DATASETS
from ..errors import ConfigError
from ..optim import lr_scheduler
from .folders import inside

# The choices, from the registries beside what they name; the command adds its own shorthands
# (momentum and nesterov are SGD with those options, auto picks the loss by the task, none: no schedule).
OPTIMIZERS = optim.OPTIMIZER_NAMES
LOSSES = ("auto",) + tuple(nn.LOSSES)
ACTIVATIONS = tuple(nn.ACTIVATIONS)
MODELS = ("mlp", "cnn") + tuple(m for m in nn.LANGUAGE_MODELS if m != "mlp")
TEXT_MODES = ("auto", "lines", "running")
# a language model's context when --block is not given: a bigram reads one character, the MLP three (Bengio et
# al.'s and makemore's choice), the sequence models 16 (longer than every name of the bundled set)
DEFAULT_BLOCK = {"bigram": 1, "mlp": 3}
SCHEDULERS = ("none",) + tuple(lr_scheduler.SCHEDULERS)


@dataclass
class TrainConfig:
    data: str = "digits"
    data_dir: str | None = None
    delimiter: str | None = None  # of a CSV file; found by csv.Sniffer when not given
    standardize: bool = True  # scale a CSV's (or scikit-learn set's) inputs to mean 0, variance 1 on the train part
    model: str = "mlp"
    text: str = "auto"  # a text --data file: one word a line ("lines"), running text, or detected
    block: int = 0  # a language model's context in characters (0: the model's default, DEFAULT_BLOCK)
    embed: int = 32  # a language model's embedding width
    layers: int = 1  # a recurrent or transformer language model's layers
    heads: int = 4  # a transformer's attention heads (they must divide --embed)
    hidden: list = field(default_factory=lambda: [128, 64])
    channels: list = field(default_factory=lambda: [16, 32])  # --model cnn: one 3x3 conv and 2x2 pool each
    activation: str | list = "relu"  # or, for an MLP, one per hidden layer: ["tanh", "relu"]
    dropout: float = 0.0
    batchnorm: bool = False
    loss: str = "auto"
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int | str = 32
    epochs: int = 50
    seed: int = 0
    early_stopping: int = 10
    scheduler: str = "none"
    label_smoothing: float = 0.0
    dtype: str = "float32"
    device: str = "cpu"
    out: str | None = None
    monitor_gradients: bool = False
    tensorboard: bool = False
    overwrite: bool = False
    distributed: bool = False
    quiet: bool = False

    def validate(self) -> "TrainConfig":
        """Raise ConfigError on the first option that makes no sense; returns self."""

        def fail(key, expected):
            raise ConfigError(f"option {key}: expected {expected}, got {getattr(self, key)!r}")

        if not isinstance(self.hidden, list) or not all(
            isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in self.hidden
        ):
            fail("hidden", "a list of positive integers such as 128,64")
        if (
            not isinstance(self.channels, list)
            or not self.channels
            or not all(isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in self.channels)
        ):
            fail("channels", "a list of positive integers such as 16,32")
        for key, choices in (
            ("model", MODELS),
            ("loss", LOSSES),
            ("optimizer", OPTIMIZERS),
            ("scheduler", SCHEDULERS),
            ("dtype", ("float32", "float64")),
            ("text", TEXT_MODES),
            ("device", ("cpu", "cuda")),
        ):
            if getattr(self, key) not in choices:
                fail(key, f"one of {', '.join(choices)}")
        if isinstance(self.activation, list):
            if (
                self.model != "mlp"
                or len(self.activation) != len(self.hidden)
                or any(a not in ACTIVATIONS for a in self.activation)
            ):
                fail(
                    "activation",
                    f"one of {', '.join(ACTIVATIONS)}, or for an MLP a list of them with one per hidden layer "
                    f"({len(self.hidden)})",
                )
        elif self.activation not in ACTIVATIONS:
            fail("activation", f"one of {', '.join(ACTIVATIONS)}")
        if not _number(self.lr) or not self.lr > 0 or not math.isfinite(self.lr):
            fail("lr", "a positive learning rate such as 0.001")
        if not _number(self.dropout) or not 0 <= self.dropout < 1:
            fail("dropout", "a probability in [0, 1)")
        if not _number(self.momentum) or not 0 <= self.momentum <= 1:
            fail("momentum", "a number in [0, 1]")
        if not _number(self.weight_decay) or self.weight_decay < 0:
            fail("weight_decay", "a non-negative number")
        if not _number(self.label_smoothing) or not 0 <= self.label_smoothing <= 1:
            fail("label_smoothing", "a number in [0, 1]")
        if self.batch_size != "full" and (not _int(self.batch_size) or self.batch_size < 1):
            fail("batch_size", "a positive integer, or 'full' for the whole training set per step")
        if not _int(self.epochs) or self.epochs < 1:
            fail("epochs", "a positive integer")
        for key in ("embed", "layers", "heads"):
            if not _int(getattr(self, key)) or getattr(self, key) < 1:
                fail(key, "a positive integer")
        if not _int(self.block) or self.block < 0:
            fail("block", "a positive number of characters (0: the model's default)")
        if self.model == "transformer" and self.embed % self.heads:
            raise ConfigError(
                f"option heads: {self.heads} heads do not divide the transformer's width --embed {self.embed}; use "
                f"--heads {', '.join(str(h) for h in range(1, self.embed + 1) if self.embed % h == 0 and h <= 16)}"
            )
        if not _int(self.seed) or self.seed < 0:
            fail("seed", "a non-negative integer")
        if not _int(self.early_stopping) or self.early_stopping < 0:
            fail("early_stopping", "a patience in epochs (0 turns it off)")
        return self

    def context(self) -> int:
        """A language model's context: --block, or the model's default."""
        return self.block or DEFAULT_BLOCK.get(self.model, 16)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def fields(cls) -> dict:
        return {f.name: f for f in dataclasses.fields(cls)}

    @classmethod
    def from_dict(cls, values: dict, where: str = "config") -> "TrainConfig":
        known = cls.fields()
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(
                f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; known keys: "
                f"{', '.join(known)}"
            )
        config = cls()
        for key, value in values.items():
            setattr(config, key, _coerce(key, value, known[key], where))
        return config.validate()


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _coerce(key, value, spec, where):
    default = spec.default if spec.default is not dataclasses.MISSING else spec.default_factory()
    kind = type(default)
    wrong = ConfigError(
        f"{where}: key {key!r} should be {kind.__name__ if default is not None else 'a string'}, got "
        f"{type(value).__name__} {value!r}"
    )
    if key == "activation" and isinstance(value, list):
        return value  # one per hidden layer; validate() checks the names and the count
    if key == "batch_size":
        if value == "full" or _int(value):
            return value
        raise ConfigError(f"{where}: key 'batch_size' should be a positive integer or 'full', got {value!r}")
    if default is None:
        if value is not None and not isinstance(value, str):
            raise wrong
        return value
    if kind is float and _number(value):
        return float(value)
    if kind is list and isinstance(value, list):
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise wrong
        return value
    if kind is int and _int(value):
        return value
    if kind is str and isinstance(value, str):
        return value
    raise wrong


def load_toml(path: str) -> tuple[dict, str]:
    """The table of a TOML config file, and the folder its relative paths are resolved against."""
    if not os.path.isfile(path):
        raise ConfigError(f"config file {path!r} does not exist")
    try:
        with open(path, "rb") as f:
            values = tomllib.load(f)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    values = values.get("train", values) if isinstance(values.get("train"), dict) else values
    return values, os.path.dirname(os.path.abspath(path))


# The keys of a config file that name paths: each is checked before anything is opened.
PATH_KEYS = ("data_dir", "out", "data")


def resolve_config_paths(values: dict, base: str, where: str) -> dict:
    """Relative data_dir/out/data paths in a config file are relative to the file's folder, and may not
    climb out of it with '..' or through a symlink (a config file from elsewhere must not reach into the rest
    of the disk).
    ``data`` is a path unless it names a built-in dataset."""
    values = dict(values)
    for key in PATH_KEYS:
        value = values.get(key)
        if not isinstance(value, str) or (key == "data" and (value in DATASETS or value in ALIASES)):
            continue
        if os.path.isabs(value):
            raise ConfigError(
                f"{where}: {key} must be a path relative to the config file's folder, got the absolute path "
                f"{value!r}; give it on the command line instead"
            )
        resolved = os.path.normpath(os.path.join(base, value))
        if os.path.commonpath([resolved, base]) != base:
            raise ConfigError(f"{where}: {key} {value!r} points outside the config file's folder")
        inside(resolved, base, f"{where}: {key} {value!r}")  # and no symlink on the way leads out of it either
        values[key] = resolved
    return values
