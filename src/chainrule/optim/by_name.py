"""Optimizers by name: the one registry that configs, the command, the playground and explain use.

``momentum`` and ``nesterov`` are shorthands for SGD with momentum (PyTorch has no such names; the command and the
playground offer them because learners meet them as optimizers of their own).
"""

from __future__ import annotations

from .adaptive import Adadelta, Adagrad, Adam, AdamW, RMSprop
from .optimizer import Optimizer
from .sgd import SGD

OPTIMIZERS = {"sgd": SGD, "adagrad": Adagrad, "adadelta": Adadelta, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW}
SHORTHANDS = {"momentum": {"nesterov": False}, "nesterov": {"nesterov": True}}  # SGD with momentum
OPTIMIZER_NAMES = tuple(OPTIMIZERS) + tuple(SHORTHANDS)
# How explanations name them.
OPTIMIZER_TITLES = {
    "sgd": "SGD",
    "momentum": "SGD with momentum",
    "nesterov": "SGD with Nesterov momentum",
    "adagrad": "Adagrad",
    "adadelta": "Adadelta",
    "rmsprop": "RMSprop",
    "adam": "Adam",
    "adamw": "AdamW",
}


def make_optimizer(name: str, params, lr: float, weight_decay: float = 0.0, momentum: float = 0.9) -> Optimizer:
    """The optimizer called ``name`` (one of OPTIMIZER_NAMES) over ``params``; ``momentum`` is used by the SGD
    shorthands only."""
    if name in SHORTHANDS:
        return SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay, **SHORTHANDS[name])
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer: expected one of {', '.join(OPTIMIZER_NAMES)}, got {name!r}")
    return OPTIMIZERS[name](params, lr=lr, weight_decay=weight_decay)
