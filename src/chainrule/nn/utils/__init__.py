"""nn.utils, as torch.nn.utils: gradient clipping (call between backward() and step()) and, in ``rnn``,
batches of sequences of different lengths."""

from . import rnn
from .clip import clip_grad_norm_, clip_grad_value_, parameters_to_vector

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "rnn"]
