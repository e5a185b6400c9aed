"""Tensor: an array, its ``.grad``, and the node that made it; ``backward()`` hands it to the walk (engine.py).

``Tensor.array`` is the NumPy (or CuPy) array holding the values, and ``Tensor.wrap(array)`` makes a Tensor around
an array an op just made: the floors above (ops, nn, optim, ...) deal in plain arrays through these two names.
``.data`` and ``.grad`` are Tensors sharing that memory, as in PyTorch. Every in-place write bumps a version
counter (shared by views of the same memory), and backward refuses to use an array that an op saved and that was
modified since. The methods users call (``x.sum()``, ``x + y``) are attached by ops/tensor_methods.py, one floor
up; tensor.pyi lists them all for editors and type checkers.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import numpy as np

from . import backend, printing
from .engine import next_tick, run_backward, run_backward_graph
from .errors import DTypeError, GraphError, ShapeError

if TYPE_CHECKING:  # node.py builds on this module, not the other way round
    from .node import Node

_SCALAR_TYPES = (int, float, np.number, bool, np.bool_)
_ndarray, _new = np.ndarray, object.__new__

# The version counter of a tensor never written in place: shared, immutable and not tracked by the
# garbage collector (a fresh list per op would make Python's collector run far more often). The first
# write, view or save that needs a counter of its own makes one (Tensor._counter).
_UNWRITTEN = (0, 0)


class Size(tuple):
    """A shape: a tuple of ints, as ``torch.Size`` (``x.size()``, ``x.shape``)."""

    def numel(self) -> int:
        count = 1
        for s in self:
            count *= s
        return count

    def __repr__(self) -> str:
        return f"chainrule.Size({list(self)})"

    __str__ = tuple.__repr__  # messages and f-strings show (2, 3)


class device(str):  # noqa: N801 - PyTorch's name
    """Where a tensor's memory is: ``device("cpu")`` or ``device("cuda")``; compares equal to the string."""

    def __new__(cls, type: str = "cpu", index: int | None = None):  # noqa: A002 - PyTorch's argument name
        name = backend.check_device(type)
        if isinstance(type, str) and ":" in type:
            index = int(type.split(":", 1)[1])
        self = super().__new__(cls, name)
        self.index = index
        return self

    @property
    def type(self) -> str:  # noqa: A003
        return str.__str__(self)

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        return (
            f"device(type='{self.type}')" if self.index is None else f"device(type='{self.type}', index={self.index})"
        )

    __hash__ = str.__hash__


_DEVICES = {"cpu": device("cpu"), "cuda": device("cuda")}


class Tensor:
    """An n-dimensional array that records the ops applied to it so it can compute gradients."""

    # _history: (last version, creator) pairs for the values an in-place op replaced, so that ops that
    # consumed an earlier value still walk back through the node that made it
    __slots__ = (
        "array",
        "_grad",
        "requires_grad",
        "_creator",
        "name",
        "_hooks",
        "_version_counter",
        "_history",
        "__weakref__",
    )
    __array_priority__ = 100  # ndarray + Tensor defers to Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        if isinstance(data, Tensor):  # a tensor keeps its dtype (nn.Parameter(float64 tensor)), as in PyTorch
            data, dtype = data.array, data.array.dtype if dtype is None else dtype
        self.array = _to_array(data, dtype, "tensor")
        self._grad = None
        self.requires_grad = False
        self._creator = None
        self.name = None
        self._hooks = None  # (set here, not in wrap: leaves are mostly made here, and backward asks each for it)
        self._version_counter = _UNWRITTEN  # [tick of the last in-place write, number of writes]
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def wrap(array, requires_grad: bool = False) -> "Tensor":
        """Fast path for ops: wrap an array the op just made, with no checks or copies. (A static method and
        module-level names: every op calls it, and a class method's call costs twice as much.)"""
        t = _new(Tensor)
        t.array = array if type(array) is _ndarray or backend.is_device_array(array) else np.asarray(array)
        t._grad = t._creator = t.name = None
        t.requires_grad = requires_grad
        t._version_counter = _UNWRITTEN
        return t

    # ---------------------------------------------------------------- data, grad, version
    @property
    def data(self) -> "Tensor":
        """This tensor's values as a new Tensor sharing the memory, outside the graph (as PyTorch's
        ``.data``: writes through it are not seen by autograd; prefer ``detach()`` or ``no_grad``)."""
        return Tensor.wrap(self.array, False)

    @data.setter
    def data(self, value) -> None:
        self.array = value.array if isinstance(value, Tensor) else _to_array(value, None, "data")

    @property
    def grad(self) -> "Tensor | None":
        """d(loss)/d(self) summed over every backward() since it was last cleared (None before any)."""
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"grad: assigned grad expected to be a Tensor or None but got {type(value).__name__}")
            if value.array.shape != self.array.shape:
                raise ShapeError(
                    f"grad: assigned grad has shape {tuple(value.shape)}, expected the tensor's shape "
                    f"{tuple(self.shape)}"
                )
            if value.array.dtype != self.array.dtype:
                raise DTypeError(
                    f"grad: assigned grad has dtype {value.dtype}, expected the tensor's dtype {self.dtype}"
                )
        self._grad = value

    @property
    def _version(self) -> int:
        """How many in-place writes this tensor's memory has had (PyTorch's ``_version``)."""
        return self._version_counter[1]

    def _bump_version(self) -> None:
        """Count an in-place write and stamp it with the clock's next tick (see next_tick)."""
        counter = self._counter()
        counter[0] = next_tick()
        counter[1] += 1

    def _counter(self) -> list:
        """This tensor's own version counter (made on first need), to share with views or keep watching."""
        counter = self._version_counter
        if counter is _UNWRITTEN:
            counter = self._version_counter = [0, 0]
        return counter

    # ---------------------------------------------------------------- properties
    @property
    def shape(self) -> Size:
        return Size(self.array.shape)

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def device(self) -> device:
        """``device('cpu')`` (a NumPy array) or ``device('cuda')`` (a CuPy array in GPU memory)."""
        return _DEVICES[backend.device_of(self.array)]

    @property
    def is_cuda(self) -> bool:
        return backend.is_device_array(self.array)

    @property
    def is_leaf(self) -> bool:
        """True for tensors the user made (parameters, inputs) and for tensors that need no grad."""
        return self._creator is None

    @property
    def grad_fn(self) -> Node | None:
        """The node that produced this tensor (None for leaves)."""
        return self._creator

    def size(self, dim: int | None = None):
        return Size(self.array.shape) if dim is None else self.array.shape[dim]

    def dim(self) -> int:
        return self.array.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self.array.size)

    nelement = numel

    def element_size(self) -> int:
        return self.array.itemsize

    def is_contiguous(self) -> bool:
        return bool(self.array.flags.c_contiguous)

    def is_floating_point(self) -> bool:
        return backend.is_float(self.array.dtype)

    def __len__(self) -> int:
        if self.array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    # ---------------------------------------------------------------- conversion
    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.array.size != 1:
            raise ValueError(f"item(): only a one-element tensor can be converted, got shape {tuple(self.shape)}")
        return self.array.item()

    def __bool__(self) -> bool:
        if self.array.size != 1:
            raise RuntimeError(
                f"bool(): the truth value of a tensor with {self.array.size} values is ambiguous; use .any() or .all()"
            )
        return bool(self.array.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.array.dtype.kind not in "iub" or self.array.size != 1:
            raise TypeError(
                f"only one-element integer tensors can be used as an index, got dtype {self.dtype} and shape "
                f"{tuple(self.shape)}"
            )
        return int(self.item())

    def __format__(self, spec: str) -> str:
        # a 0-d tensor formats as its number, as PyTorch's: f"{loss}" and f"{loss:.4f}" both give the value
        if self.array.ndim == 0 or (spec and self.array.size == 1):
            return format(self.item(), spec)
        return format(repr(self), spec)

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The underlying array (shared, not copied); a 'cuda' tensor must be moved with .cpu() first.
        ``force=True``, as PyTorch's: a copy in host memory, whatever the tensor's device or grad."""
        if force:
            return np.array(backend.to_device(self.array, "cpu"), copy=True)
        if backend.is_device_array(self.array):
            raise TypeError("numpy(): this tensor is on 'cuda'; call .cpu() first to copy it to host memory")
        if self.requires_grad:
            raise RuntimeError(
                "numpy(): can't call numpy() on a tensor that requires grad; use tensor.detach().numpy()"
            )
        return self.array

    def tolist(self):
        return self.array.tolist()

    def __array__(self, dtype=None, copy=None):
        data = backend.to_device(self.array, "cpu")
        return data if dtype is None else data.astype(dtype)

    def detach(self) -> "Tensor":
        """A new leaf that shares this tensor's data (and version counter) and records nothing."""
        out = Tensor.wrap(self.array, False)
        out._version_counter = self._counter()
        return out

    def detach_(self) -> "Tensor":
        """Make this tensor a leaf that records nothing (in place)."""
        self._creator = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and not backend.is_float(self.array.dtype):
            raise DTypeError(
                f"requires_grad: only floating-point tensors can require grad, got dtype {self.dtype}; "
                "create it with dtype=chainrule.float32 or float64"
            )
        if not requires_grad and self._creator is not None:
            raise GraphError("requires_grad_(False) is only allowed on leaves; use detach() instead")
        self.requires_grad = bool(requires_grad)
        return self

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``.grad`` becomes None)."""
        self._grad = None

    def register_post_accumulate_grad_hook(self, hook) -> None:
        """Call ``hook(tensor)`` each time backward adds into this leaf's ``.grad`` (data-parallel
        training uses it to start reducing gradients while backward goes on)."""
        if self._creator is not None:
            raise GraphError("register_post_accumulate_grad_hook: only leaves (parameters) accumulate gradients")
        hooks = getattr(self, "_hooks", None)
        if hooks is None:
            self._hooks = hooks = []
        hooks.append(hook)

    def retain_grad(self) -> "Tensor":
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep theirs)."""
        if self._creator is not None:
            self._creator.retained = weakref.ref(self)
        return self

    # ---------------------------------------------------------------- backward
    def backward(
        self, gradient=None, retain_graph: bool | None = None, create_graph: bool = False, inputs=None
    ) -> None:
        """Compute d(self)/d(leaf) for every leaf that requires grad and add it into ``leaf.grad``.

        ``gradient`` is d(loss)/d(self); it may be left out only when self has one element.
        Calling backward twice adds the gradients, as in PyTorch: zero them between steps.
        With ``create_graph=True`` each ``.grad`` is itself a Tensor with a graph (see run_backward_graph).
        """
        if not self.requires_grad:
            raise GraphError(
                "backward(): this tensor does not require grad and has no graph; "
                "did you create the inputs with requires_grad=True, or compute it under no_grad()?"
            )
        targets = None if inputs is None else [inputs] if isinstance(inputs, Tensor) else list(inputs)
        if create_graph:  # the gradients are recorded as ops: they can be differentiated again
            gradient = graph_gradient(self, gradient, "backward()")
            run_backward_graph([self], [gradient], targets, accumulate=True)
            return
        gradient = initial_gradient(self, gradient, "backward()")
        run_backward([self], [gradient], bool(retain_graph), targets, accumulate=targets is not None)

    # ---------------------------------------------------------------- repr
    def __repr__(self) -> str:
        return printing.tensor_repr(self)

    __hash__ = object.__hash__


def _to_array(data, dtype, where: str) -> np.ndarray:
    """Copy user data into an array: float -> the default dtype unless ``dtype`` says otherwise."""
    if backend.is_device_array(data):  # already in GPU memory: copy it there
        array = data.copy()
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in data):
            data = [d.array if isinstance(d, Tensor) else d for d in data]
        try:
            array = np.array(data, copy=True)
        except (ValueError, TypeError) as exc:
            raise TypeError(f"{where}: cannot make an array from {type(data).__name__}: {exc}") from None
    if dtype is not None:
        return array.astype(backend.resolve_dtype(dtype), copy=False)
    kind = array.dtype.kind
    if kind == "f":
        return array.astype(backend.get_default_dtype(), copy=False) if array.dtype.itemsize > 2 else array
    if kind in "iu":
        return array.astype(np.int64, copy=False)
    if kind == "b":
        return array
    raise TypeError(f"{where}: expected numbers, got an array of dtype {array.dtype}")


def tensor(data, requires_grad: bool = False, dtype=None, device=None) -> Tensor:
    """Make a Tensor from a number, list or array (float data becomes float32 unless ``dtype``)."""
    out = Tensor(data, requires_grad=False, dtype=dtype)
    if (backend.get_default_device() if device is None else backend.check_device(device)) != "cpu":
        out.array = backend.to_device(out.array, device)
    return out.requires_grad_(requires_grad) if requires_grad else out


def as_tensor(value, like: Tensor | None = None, where: str = "op") -> Tensor:
    """Tensors pass through; numbers and arrays become constants in ``like``'s dtype."""
    if isinstance(value, Tensor):
        return value
    if like is not None and isinstance(value, _SCALAR_TYPES + (np.ndarray, list, tuple)):
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"{where}: expected a number or array, got dtype {array.dtype}")
        if backend.is_float(like.dtype) or array.dtype.kind == "f":
            target = like.dtype if backend.is_float(like.dtype) else backend.get_default_dtype()
            array = array.astype(target, copy=False)
        if backend.is_device_array(like.array):  # a constant joins the tensor it meets on the GPU
            array = backend.device_constant(array)
        return Tensor.wrap(array, False)
    return Tensor(value)


def initial_gradient(output: Tensor, gradient, where: str):
    """d(loss)/d(output) to start a backward walk with: ones for a one-element output, else given."""
    if gradient is None:
        if output.array.size != 1:
            raise GraphError(
                f"{where}: a gradient can be created implicitly only for a one-element tensor, "
                f"this one has shape {tuple(output.shape)}; pass backward(gradient) of that shape"
            )
        return backend.array_module(output.array).ones_like(output.array)
    gradient = gradient.array if isinstance(gradient, Tensor) else gradient
    gradient = backend.to_device(
        np.asarray(gradient) if not backend.is_device_array(gradient) else gradient, output.device
    )
    gradient = backend.array_module(gradient).array(gradient, dtype=output.dtype, copy=True)
    if gradient.shape != output.array.shape:
        raise ShapeError(
            f"{where}: gradient has shape {gradient.shape}, expected the tensor's shape {tuple(output.shape)}"
        )
    return gradient


def graph_gradient(output: Tensor, gradient, where: str) -> Tensor:
    """The starting gradient of a recorded walk, as a Tensor: one given as a Tensor that requires grad is kept as
    it is, so the result can be differentiated with respect to it too (a Jacobian-vector product by two vjps)."""
    if isinstance(gradient, Tensor) and gradient.requires_grad:
        if gradient.shape != output.shape or gradient.dtype != output.dtype:
            raise ShapeError(
                f"{where}: gradient has shape {tuple(gradient.shape)} and dtype {gradient.dtype}, expected the "
                f"tensor's {tuple(output.shape)} and {output.dtype}"
            )
        return gradient
    return Tensor.wrap(initial_gradient(output, gradient, where), False)
