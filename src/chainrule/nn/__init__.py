"""Building blocks of networks with the names PyTorch users know: Module, Linear, ReLU, losses, init."""

from . import functional, init, utils
from .activation import ACTIVATIONS, ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Softplus, Tanh
from .container import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .layers import (
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Dropout2d,
    Embedding,
    Flatten,
    Identity,
    LayerNorm,
    Linear,
    MaxPool2d,
    Unflatten,
)
from .loss import LOSS_TASKS, LOSSES, BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .models import CNN, MLP, build_model, model_size
from .module import Module
from .parameter import Parameter

__all__ = [
    "CNN",
    "Unflatten",
    "ACTIVATIONS",
    "LOSSES",
    "LOSS_TASKS",
    "Dropout2d",
    "ELU",
    "Embedding",
    "LayerNorm",
    "SiLU",
    "Softplus",
    "functional",
    "utils",
    "AvgPool2d",
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "GELU",
    "Identity",
    "L1Loss",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "MLP",
    "MaxPool2d",
    "Module",
    "ModuleDict",
    "ModuleList",
    "ParameterDict",
    "ParameterList",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "build_model",
    "model_size",
    "init",
]
