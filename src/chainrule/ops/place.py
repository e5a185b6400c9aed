"""Putting values at places of a tensor: Scatter, the op under scatter, scatter_add and index_add, and the
mirror of every op that picks elements (indexing, gather, embedding), whose gradient puts the output's
gradient back at the places the elements came from (``add_into_zeros``)."""

from __future__ import annotations

from ..backend import array_module
from ..backend import scatter_add as add_at
from ..node import Node
from ..tensor import Tensor


class Scatter(Node):
    """out = input with out[places] = src (src None: the number ``value``); add: out[places] += src."""

    saved_inputs = ()
    saves_output = False

    def forward(self, x, src=None, places=None, add=False, value=None):
        self.places, self.add = places, add
        out = x.copy()
        if add:
            add_at(out, places, src)  # repeated places each add
        else:
            out[places] = value if src is None else src
        return out

    def backward(self, grad_output):
        grad_x = grad_output
        if not self.add:  # overwritten places got nothing from the input
            grad_x = grad_output.copy()
            grad_x[self.places] = 0
        grad_src = grad_output[self.places]  # each written value's gradient, from where it went
        return (grad_x, grad_src) if len(self.needs_input_grad) == 2 else grad_x

    def backward_graph(self, grad_output):
        places = self.places
        grad_x = grad_output if self.add else Scatter.apply(grad_output, places=places, add=False, value=0)
        grad_src = grad_output[places] if len(self.needs_input_grad) == 2 else None
        return (grad_x, grad_src) if len(self.needs_input_grad) == 2 else grad_x


def add_into_zeros(shape, places, values: Tensor) -> Tensor:
    """zeros(shape) with ``values`` added at ``places`` (an index; repeated places add), recorded: the gradient
    of picking x[places], as differentiable ops (its own gradient picks values[places] again)."""
    zeros = Tensor.wrap(array_module(values.array).zeros(shape, dtype=values.array.dtype), False)
    return Scatter.apply(zeros, values, places=places, add=True)
