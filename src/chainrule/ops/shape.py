"""Shape ops: reshape, transpose/permute, flatten, indexing, concatenate, stack.

They move elements without changing them, so backward moves the gradient back the same way.
"""

from __future__ import annotations

import builtins

import numpy as np

from ..backend import array_module, scatter_add
from ..engine import SliceGradient
from ..errors import DTypeError, ShapeError
from ..node import Node
from ..tensor import Tensor, as_tensor
from .broadcast import sum_to, sum_to_tensor
from .place import add_into_zeros


class Reshape(Node):
    saved_inputs = ()
    saves_output = False
    view = True

    def forward(self, x, shape):
        self.shape = x.shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ShapeError(
                f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) into {shape}"
            ) from None

    def backward(self, grad_output):
        return grad_output.reshape(self.shape)

    def backward_graph(self, grad_output):
        return Reshape.apply(grad_output, shape=self.shape)


class Permute(Node):
    saved_inputs = ()
    saves_output = False
    view = True

    def forward(self, x, axes):
        self.axes = axes
        return x.transpose(axes)

    def backward(self, grad_output):
        inverse = sorted(range(len(self.axes)), key=self.axes.__getitem__)  # the permutation that undoes axes
        return grad_output.transpose(inverse)

    def backward_graph(self, grad_output):
        return Permute.apply(grad_output, axes=tuple(sorted(range(len(self.axes)), key=self.axes.__getitem__)))


class GetItem(Node):
    op = "getitem"
    saved_inputs = ()
    saves_output = False
    view = True
    sparse_grad = True

    def forward(self, x, index):
        self.shape, self.dtype, self.index = x.shape, x.dtype, index
        try:
            return x[index]
        except IndexError as exc:
            raise IndexError(f"getitem: {exc} (tensor shape {x.shape})") from None

    def backward_sparse(self, grad_output):
        """In the backward walk: a basic slice's gradient as a SliceGradient, added into the whole's in place."""
        if _is_basic(self.index):
            return SliceGradient(self.shape, self.index, grad_output)
        return self.backward(grad_output)

    def backward(self, grad_output):
        xp = array_module(grad_output)
        grad = xp.zeros(self.shape, dtype=grad_output.dtype)
        if _is_basic(self.index):
            grad[self.index] = grad_output
        else:
            # Repeated indices each add their share: x[[0, 0]] sends two gradients to x[0].
            scatter_add(grad, self.index, grad_output)
        return grad

    def backward_graph(self, grad_output):
        return add_into_zeros(self.shape, self.index, grad_output)


def _is_basic(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, np.integer, slice)) or p is None or p is Ellipsis for p in parts)


class Concatenate(Node):
    saved_inputs = ()
    saves_output = False

    def forward(self, *arrays, axis):
        xp = array_module(arrays[0])
        self.axis = axis
        self.splits = np.cumsum([a.shape[axis] for a in arrays])[:-1].tolist()
        try:
            return xp.concatenate(arrays, axis=axis)
        except ValueError:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise ShapeError(f"concatenate: shapes {shapes} differ outside axis {axis}") from None

    def backward(self, grad_output):
        xp = array_module(grad_output)
        return tuple(xp.split(grad_output, self.splits, axis=self.axis))

    def backward_graph(self, grad_output):
        axis = self.axis % grad_output.ndim
        bounds = [0, *self.splits, grad_output.shape[axis]]
        before = (slice(None),) * axis
        return tuple(GetItem.apply(grad_output, index=before + (slice(a, b),)) for a, b in zip(bounds, bounds[1:]))


class Stack(Node):
    saved_inputs = ()
    saves_output = False

    def forward(self, *arrays, axis):
        xp = array_module(arrays[0])
        self.axis, self.count = axis, len(arrays)
        try:
            return xp.stack(arrays, axis=axis)
        except ValueError:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise ShapeError(f"stack: all tensors must have the same shape, got {shapes}") from None

    def backward(self, grad_output):
        xp = array_module(grad_output)
        return tuple(xp.take(grad_output, i, axis=self.axis) for i in range(self.count))

    def backward_graph(self, grad_output):
        before = (slice(None),) * (self.axis % grad_output.ndim)
        return tuple(GetItem.apply(grad_output, index=before + (i,)) for i in range(self.count))


def reshape(input, *shape) -> Tensor:
    shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
    return Reshape.apply(as_tensor(input), shape=shape)


def transpose(input, dim0: int | None = None, dim1: int | None = None) -> Tensor:
    """Swap two axes (``dim0``, ``dim1``); with none given, reverse all axes (NumPy's ``.T``)."""
    input = as_tensor(input)
    axes = list(range(input.ndim))
    if dim0 is None and dim1 is None:
        axes.reverse()
    else:
        if dim0 is None or dim1 is None:
            raise ValueError("transpose: give both dim0 and dim1, or neither")
        for d in (dim0, dim1):
            if not -input.ndim <= d < input.ndim:
                raise ShapeError(f"transpose: dim {d} is out of range for shape {input.shape}")
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    return Permute.apply(input, axes=tuple(axes))


def permute(input, *axes, dims=None) -> Tensor:
    """The axes in the order ``dims`` gives: permute(x, 2, 0, 1), permute(x, (2, 0, 1)) or permute(x, dims=...)."""
    input = as_tensor(input)
    if dims is not None:
        if axes:
            raise TypeError("permute: give the order as arguments or as dims=, not both")
        axes = (dims,)
    axes = tuple(axes[0]) if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
    if sorted(a % max(input.ndim, 1) for a in axes) != list(range(input.ndim)):
        raise ShapeError(f"permute: {axes} is not a permutation of the {input.ndim} axes of shape {input.shape}")
    return Permute.apply(input, axes=tuple(a % input.ndim for a in axes))


def flatten(input, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge axes start_dim..end_dim into one (``Flatten`` uses start_dim=1 to keep the batch)."""
    input = as_tensor(input)
    if input.ndim == 0:
        return reshape(input, (1,))
    start, end = start_dim % input.ndim, end_dim % input.ndim
    shape = input.shape[:start] + (int(np.prod(input.shape[start : end + 1])),) + input.shape[end + 1 :]
    return reshape(input, shape)


def unsqueeze(input, dim: int) -> Tensor:
    input = as_tensor(input)
    if not -input.ndim - 1 <= dim <= input.ndim:
        raise ShapeError(f"unsqueeze: dim {dim} is out of range for a tensor with {input.ndim} dimensions")
    return reshape(input, np.expand_dims(np.empty(input.shape, dtype=np.bool_), dim).shape)


def squeeze(input, dim: int | None = None) -> Tensor:
    input = as_tensor(input)
    if dim is None:
        shape = tuple(s for s in input.shape if s != 1)
    else:
        dims_ = (dim,) if isinstance(dim, int) else tuple(dim)
        drop = {d % builtins.max(input.ndim, 1) for d in dims_ if input.ndim and input.shape[d] == 1}
        shape = tuple(s for i, s in enumerate(input.shape) if i not in drop)
    return reshape(input, shape)


def getitem(x, index) -> Tensor:
    index = plain_index(index)
    return GetItem.apply(as_tensor(x), index=index)


def plain_index(index):
    """An index for the array: tensors and lists inside it become arrays."""
    if isinstance(index, tuple):
        return tuple(plain_index(i) for i in index)
    if isinstance(index, Tensor):
        return index.array
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _same_dtype(tensors, op):
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty sequence of tensors")
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:
        raise DTypeError(f"{op}: tensors have different dtypes {sorted(map(str, dtypes))}; convert them first")
    return tensors


def _dim(op: str, dim, axis, default=0):
    if axis is not None and dim is not None:
        raise TypeError(f"{op}: give dim or axis (its alias), not both")
    return axis if axis is not None else default if dim is None else dim


def concatenate(tensors, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    tensors = _same_dtype(tensors, "concatenate")
    return Concatenate.apply(*tensors, axis=_dim("cat", dim, axis))


cat = concatenate


def stack(tensors, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    tensors = _same_dtype(tensors, "stack")
    return Stack.apply(*tensors, axis=_dim("stack", dim, axis))


class Expand(Node):
    saved_inputs = ()
    saves_output = False

    def forward(self, x, shape):
        self.shape = x.shape
        try:
            return array_module(x).broadcast_to(x, shape)
        except ValueError:
            raise ShapeError(
                f"expand: a tensor of shape {x.shape} cannot be expanded to {shape} "
                "(only dimensions of size 1 grow, and new ones go in front)"
            ) from None

    def backward(self, grad_output):
        return sum_to(grad_output, self.shape)  # each copy's gradient adds up: the backward of broadcasting

    def backward_graph(self, grad_output):
        return sum_to_tensor(grad_output, self.shape)


class Flip(Node):
    saved_inputs = ()
    saves_output = False

    def forward(self, x, axes):
        self.axes = axes
        return array_module(x).flip(x, axes).copy()

    def backward(self, grad_output):
        return array_module(grad_output).flip(grad_output, self.axes)

    def backward_graph(self, grad_output):
        return Flip.apply(grad_output, axes=self.axes)


def full_index(index, axis: int) -> tuple:
    """The full index that ``index`` along ``axis`` means (gather's and scatter's): element (i, j, ...) of index
    points at the position with index[i, j, ...] on ``axis`` and i, j, ... on the other axes."""
    xp = array_module(index)
    full = [xp.arange(s).reshape([-1 if k == d else 1 for k in range(index.ndim)]) for d, s in enumerate(index.shape)]
    full[axis] = index
    return tuple(full)


def view(x, *shape) -> Tensor:
    """As reshape (NumPy reshapes without copying where the memory allows, as PyTorch's view)."""
    if len(shape) == 1 and not isinstance(shape[0], (tuple, list, int, np.integer)):  # view(dtype)
        raise TypeError(f"view: expected a shape, got {shape[0]!r}")
    return reshape(x, *shape)


def expand(x, *sizes) -> Tensor:
    """A view that repeats size-1 dimensions (-1 keeps a size), without copying."""
    x = as_tensor(x)
    sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ShapeError(f"expand: the {len(sizes)} sizes given are fewer than the tensor's {x.ndim} dimensions")
    shape = tuple(x.shape[i - lead] if s == -1 else int(s) for i, s in enumerate(sizes))
    return x if shape == x.shape else Expand.apply(x, shape=shape)


def repeat(x, *sizes) -> Tensor:
    """Tile the tensor ``sizes[i]`` times along each dimension (a copy, as PyTorch's repeat)."""
    x = as_tensor(x)
    sizes = tuple(sizes[0]) if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)) else sizes
    if len(sizes) < x.ndim:
        raise ShapeError(
            f"repeat: the {len(sizes)} repeat counts given are fewer than the tensor's {x.ndim} dimensions"
        )
    x = reshape(x, (1,) * (len(sizes) - x.ndim) + tuple(x.shape))
    # repeat = expand along a new axis before each dimension, then merge the pairs
    expanded = expand(
        reshape(x, [d for s in x.shape for d in (1, s)]), [d for r, s in zip(sizes, x.shape) for d in (r, s)]
    )
    return reshape(expanded * 1, [r * s for r, s in zip(sizes, x.shape)])


def flip(input, dims) -> Tensor:
    input = as_tensor(input)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    return Flip.apply(input, axes=tuple(d % input.ndim for d in dims))


def t(input) -> Tensor:
    """The transpose of a matrix (a vector or scalar is returned as it is), as ``torch.t``."""
    input = as_tensor(input)
    if input.ndim > 2:
        raise ShapeError(
            f"t: expects a tensor with at most 2 dimensions, got shape {tuple(input.shape)}; use transpose(dim0, dim1)"
        )
    return transpose(input, 0, 1) if input.ndim == 2 else input


def split(tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the sizes listed."""
    tensor = as_tensor(tensor)
    length = tensor.shape[dim]
    if isinstance(split_size_or_sections, int):
        sizes = [split_size_or_sections] * (length // split_size_or_sections)
        if length % split_size_or_sections:
            sizes.append(length % split_size_or_sections)
    else:
        sizes = list(split_size_or_sections)
        if sum(sizes) != length:
            raise ShapeError(f"split: sizes {sizes} add up to {sum(sizes)}, but dim {dim} has size {length}")
    pieces, start = [], 0
    prefix = (slice(None),) * (dim % tensor.ndim)
    for size in sizes:
        pieces.append(getitem(tensor, prefix + (slice(start, start + size),)))
        start += size
    return tuple(pieces)


def chunk(input, chunks: int, dim: int = 0) -> tuple:
    input = as_tensor(input)
    size = -(-input.shape[dim] // chunks)
    return split(input, size, dim)


def unbind(input, dim: int = 0) -> tuple:
    input = as_tensor(input)
    prefix = (slice(None),) * (dim % input.ndim)
    return tuple(getitem(input, prefix + (i,)) for i in range(input.shape[dim]))


def narrow(input, dim: int, start: int, length: int) -> Tensor:
    input = as_tensor(input)
    return getitem(input, (slice(None),) * (dim % input.ndim) + (slice(start, start + length),))
