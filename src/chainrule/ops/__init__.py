"""The differentiable ops, one file per family; each op's forward and backward side by side."""
from .activation import gelu, leaky_relu, log_softmax, relu, sigmoid, softmax, tanh
from .elementwise import abs, add, clamp, clip, div, exp, log, maximum, minimum, mul, neg, pow, sqrt, sub, where
from .linalg import linear, matmul
from .loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
    nll_loss,
)
from .reduce import argmax, max, mean, min, sum
from .shape import cat, concatenate, flatten, getitem, permute, reshape, squeeze, stack, transpose, unsqueeze

__all__ = [
    "abs", "add", "argmax", "binary_cross_entropy", "binary_cross_entropy_with_logits", "cat", "clamp",
    "clip", "concatenate", "cross_entropy", "div", "exp", "flatten", "gelu", "getitem", "l1_loss",
    "leaky_relu", "linear", "log", "log_softmax", "matmul", "max", "maximum", "mean", "min", "minimum",
    "mse_loss", "mul", "neg", "nll_loss", "permute", "pow", "relu", "reshape", "sigmoid", "softmax",
    "sqrt", "squeeze", "stack", "sub", "sum", "tanh", "transpose", "unsqueeze", "where",
]
