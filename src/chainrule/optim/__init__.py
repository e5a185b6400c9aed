"""Optimizers (SGD, Adagrad, Adadelta, RMSprop, Adam, AdamW) and learning-rate schedulers, as torch.optim."""

from . import lr_scheduler
from .adaptive import Adadelta, Adagrad, Adam, AdamW, RMSprop
from .by_name import OPTIMIZER_NAMES, OPTIMIZER_TITLES, OPTIMIZERS, make_optimizer
from .optimizer import Optimizer
from .sgd import SGD

__all__ = [
    "OPTIMIZERS",
    "OPTIMIZER_NAMES",
    "OPTIMIZER_TITLES",
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
    "lr_scheduler",
    "make_optimizer",
]
