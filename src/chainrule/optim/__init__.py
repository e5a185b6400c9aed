"""Optimizers (SGD, Adagrad, Adadelta, RMSprop, Adam, AdamW) and learning-rate schedulers, as torch.optim."""
from . import lr_scheduler
from .adaptive import Adadelta, Adagrad, Adam, AdamW, RMSprop
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
