"""Optimizers (SGD, Adagrad, Adadelta, RMSprop, Adam, AdamW) and learning-rate schedulers, as torch.optim."""

from . import lr_scheduler
from .adaptive import Adadelta, Adagrad, Adam, AdamW, RMSprop
from .optimizer import Optimizer
from .sgd import SGD

# Optimizers by the names configs and the command use.
OPTIMIZERS = {"sgd": SGD, "adagrad": Adagrad, "adadelta": Adadelta, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW}

__all__ = ["OPTIMIZERS", "SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
