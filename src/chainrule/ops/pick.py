"""Picking elements by index: gather, index_select, masked_fill, sort/topk and embedding (x[index] itself is in
shape.py). Each backward puts the output's gradient back at the places the elements came from (place.py's Scatter).
"""

from __future__ import annotations

import numpy as np

from ..backend import array_module, is_device_array, scatter_add, to_device
from ..errors import DTypeError, ShapeError
from ..node import Node
from ..tensor import Tensor, as_tensor
from .broadcast import constant
from .elementwise import where
from .place import add_into_zeros
from .reduce import ValuesIndices
from .shape import full_index, getitem, narrow


class Gather(Node):
    saved_inputs = ()
    saves_output = False

    def forward(self, x, index, axis):
        xp = array_module(x)
        self.shape, self.index, self.axis = x.shape, index, axis
        try:
            return xp.take_along_axis(x, index, axis=axis)
        except (IndexError, ValueError) as exc:
            raise ShapeError(
                f"gather: index of shape {index.shape} does not fit input of shape {x.shape} along dim {axis} ({exc})"
            ) from None

    def backward(self, grad_output):
        xp = array_module(grad_output)
        grad = xp.zeros(self.shape, dtype=grad_output.dtype)
        # an index taken twice receives both gradients: scatter with addition
        scatter_add(grad, full_index(self.index, self.axis), grad_output)
        return grad

    def backward_graph(self, grad_output):
        return add_into_zeros(self.shape, full_index(self.index, self.axis), grad_output)


def _index_array(index, like: Tensor):
    """An index as an array in the memory of the tensor it indexes."""
    index = index.array if isinstance(index, Tensor) else index if is_device_array(index) else np.asarray(index)
    return to_device(index, like.device)


def gather(input, dim: int, index, *, sparse_grad: bool = False) -> Tensor:
    """out[i][j] = x[index[i][j]][j] for dim 0 (and so on): values picked along ``dim`` by ``index``."""
    input = as_tensor(input)
    if sparse_grad:
        raise NotImplementedError("gather: sparse_grad=True (a sparse gradient) is not supported in chainrule")
    index = _index_array(index, input)
    if index.dtype.kind not in "iu":
        raise DTypeError(f"gather: index must be an integer tensor, got dtype {index.dtype}")
    if index.ndim != input.ndim:
        raise ShapeError(
            f"gather: index must have as many dimensions as the input ({input.ndim}), got shape {index.shape}"
        )
    return Gather.apply(input, index=index, axis=dim % input.ndim)


def index_select(input, dim: int, index) -> Tensor:
    input = as_tensor(input)
    index = _index_array(index, input)
    if index.ndim != 1:
        raise ShapeError(f"index_select: index must be 1-D, got shape {index.shape}")
    return getitem(input, (slice(None),) * (dim % input.ndim) + (index,))


def masked_fill(x, mask, value) -> Tensor:
    """x with ``value`` where ``mask`` is True (the gradient of those elements is 0)."""
    x = as_tensor(x)
    return where(mask, as_tensor(value, like=x), x)


def sort(input, dim: int = -1, descending: bool = False, stable: bool = False):
    """(values, indices) sorted along ``dim``; the values carry gradients back to where they came from."""
    input = as_tensor(input)
    xp = array_module(input.array)
    key = -input.array if descending else input.array
    indices = xp.argsort(key, axis=dim, kind="stable")
    return ValuesIndices(gather(input, dim, indices), Tensor.wrap(indices.astype(np.int64, copy=False), False))


def argsort(input, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim`` (always a stable sort here, so ``stable`` changes nothing)."""
    return sort(input, dim, descending).indices


def topk(input, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002 - PyTorch's name
    """(values, indices) of the ``k`` largest (or smallest) elements along ``dim``."""
    input = as_tensor(input)
    if not 0 <= k <= input.shape[dim]:
        raise ShapeError(f"topk: k={k} is out of range for dim {dim} of size {input.shape[dim]}")
    values, indices = sort(input, dim, descending=largest)
    indices = narrow(indices, dim, 0, k)
    return ValuesIndices(gather(input, dim, indices), indices)


class Embedding(Node):
    """weight[indices]: rows looked up by index; backward adds each row's gradients into the rows used."""

    saved_inputs = ()
    saves_output = False

    def forward(self, weight, indices, padding_idx):
        self.shape, self.indices, self.padding_idx = weight.shape, indices, padding_idx
        return weight[indices]

    def backward(self, grad_output):
        xp = array_module(grad_output)
        grad = xp.zeros(self.shape, dtype=grad_output.dtype)
        scatter_add(grad, self.indices.reshape(-1), grad_output.reshape(-1, self.shape[1]))
        if self.padding_idx is not None:
            grad[self.padding_idx] = 0  # the padding row never learns
        return grad

    def backward_graph(self, grad_output):
        grad = add_into_zeros(self.shape, self.indices.reshape(-1), grad_output.reshape(-1, self.shape[1]))
        if self.padding_idx is None:
            return grad
        keep = array_module(grad.array).ones((self.shape[0], 1), dtype=grad.dtype)
        keep[self.padding_idx] = 0
        return grad * constant(keep)


def embedding(input, weight, padding_idx: int | None = None) -> Tensor:
    """Look up rows of ``weight`` (num_embeddings, dim) for integer ``indices`` of any shape."""
    weight = as_tensor(weight)
    index = _index_array(input, weight)
    if index.dtype.kind not in "iu":
        raise DTypeError(f"embedding: indices must be integers, got dtype {index.dtype}")
    if index.size and (int(index.min()) < 0 or int(index.max()) >= weight.shape[0]):
        raise IndexError(
            f"embedding: indices must be in [0, {weight.shape[0]}), got values from {int(index.min())} to "
            f"{int(index.max())}"
        )
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    return Embedding.apply(weight, indices=index, padding_idx=padding_idx)
