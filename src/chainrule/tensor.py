"""Tensor: an array, its ``.grad``, and the Function that made it; ``backward()`` walks the graph.

The walk is one reverse topological pass found with an explicit stack (no recursion, so a chain
of 100,000 ops works). Gradients add into ``.grad`` like PyTorch's, and each node's saved arrays are
released as soon as its backward has run, unless ``retain_graph=True``.
"""
from __future__ import annotations

import weakref

import numpy as np

from . import backend, function
from .errors import DTypeError, GraphError, ShapeError
from .function import Function

_SCALAR_TYPES = (int, float, np.number, bool, np.bool_)


class Tensor:
    """An n-dimensional array that records the ops applied to it so it can compute gradients."""

    __slots__ = ("data", "grad", "requires_grad", "_creator", "name", "_hooks", "__weakref__")
    __array_priority__ = 100  # ndarray + Tensor defers to Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        self.data = _to_array(data, dtype, "tensor")
        self.grad = None
        self.requires_grad = False
        self._creator = None
        self.name = None
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array, requires_grad: bool) -> "Tensor":
        """Fast path for ops: wrap an array the op just made, with no checks or copies."""
        t = object.__new__(cls)
        t.data = array if type(array) is np.ndarray or backend.is_device_array(array) else np.asarray(array)
        t.grad = None
        t.requires_grad = requires_grad
        t._creator = None
        t.name = None
        return t

    # ---------------------------------------------------------------- properties
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def device(self) -> str:
        """'cpu' (a NumPy array) or 'cuda' (a CuPy array in GPU memory)."""
        return backend.device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        """True for tensors the user made (parameters, inputs); False for op results."""
        return self._creator is None

    @property
    def grad_fn(self) -> Function | None:
        """The Function that produced this tensor (None for leaves)."""
        return self._creator

    def size(self, dim: int | None = None):
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self) -> int:
        return int(self.data.size)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    # ---------------------------------------------------------------- conversion
    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item(): only a one-element tensor can be converted, got shape {self.shape}")
        return self.data.item()

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied); a 'cuda' tensor must be moved with .cpu() first."""
        if backend.is_device_array(self.data):
            raise TypeError("numpy(): this tensor is on 'cuda'; call .cpu() first to copy it to host memory")
        return self.data

    def tolist(self):
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        data = backend.to_device(self.data, "cpu")
        return data if dtype is None else data.astype(dtype)

    def detach(self) -> "Tensor":
        """A new leaf that shares this tensor's data and records nothing."""
        return Tensor._wrap(self.data, False)

    def clone(self) -> "Tensor":
        from .ops.elementwise import clone

        return clone(self)

    def to(self, dtype=None, device=None) -> "Tensor":
        """Cast to ``dtype`` and/or move to ``device`` ('cpu' or 'cuda'); both are differentiable.
        A string that names a device (``t.to("cuda")``) is taken as the device."""
        if isinstance(dtype, str) and (dtype in ("cpu", "cuda") or dtype.startswith("cuda:")):
            dtype, device = None, dtype
        out = self
        if device is not None and backend.check_device(device) != self.device:
            from .ops.elementwise import to_device

            out = to_device(out, backend.check_device(device))
        if dtype is not None:
            from .ops.elementwise import cast

            out = cast(out, backend.resolve_dtype(dtype))
        return out

    def cpu(self) -> "Tensor":
        return self.to(device="cpu")

    def cuda(self) -> "Tensor":
        return self.to(device="cuda")

    def float(self) -> "Tensor":
        return self.to(backend.float32)

    def double(self) -> "Tensor":
        return self.to(backend.float64)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and not backend.is_float(self.data.dtype):
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
        self.grad = None

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
    def backward(self, gradient=None, retain_graph: bool = False) -> None:
        """Compute d(self)/d(leaf) for every leaf that requires grad and add it into ``leaf.grad``.

        ``gradient`` is d(loss)/d(self); it may be left out only when self has one element.
        Calling backward twice adds the gradients, as in PyTorch: zero them between steps.
        """
        if not self.requires_grad:
            raise GraphError(
                "backward(): this tensor does not require grad and has no graph; "
                "did you create the inputs with requires_grad=True, or compute it under no_grad()?"
            )
        if gradient is None:
            if self.data.size != 1:
                raise GraphError(
                    f"backward(): a gradient can be created implicitly only for a one-element tensor, "
                    f"this one has shape {self.shape}; pass backward(gradient) of that shape"
                )
            gradient = backend.array_module(self.data).ones_like(self.data)
        else:
            gradient = gradient.data if isinstance(gradient, Tensor) else gradient
            gradient = backend.to_device(np.asarray(gradient) if not backend.is_device_array(gradient) else gradient, self.device)
            gradient = backend.array_module(gradient).array(gradient, dtype=self.dtype, copy=True)
            if gradient.shape != self.shape:
                raise ShapeError(
                    f"backward(): gradient has shape {gradient.shape}, expected the tensor's shape {self.shape}"
                )
        if self._creator is None:
            _accumulate_leaf(self, gradient, gradient)
            return
        _run_backward(self._creator, gradient, retain_graph)

    # ---------------------------------------------------------------- repr
    def __repr__(self) -> str:
        body = np.array2string(backend.to_device(self.data, "cpu"), separator=", ", prefix="tensor(", precision=4)
        extras = []
        if self.dtype != backend.get_default_dtype() and backend.is_float(self.dtype) or not backend.is_float(self.dtype):
            extras.append(f"dtype={self.dtype}")
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self._creator is not None:
            extras.append(f"grad_fn=<{self._creator.name}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}{''.join(', ' + e for e in extras)})"

    __hash__ = object.__hash__


def _to_array(data, dtype, where: str) -> np.ndarray:
    """Copy user data into an array: float -> the default dtype unless ``dtype`` says otherwise."""
    if backend.is_device_array(data):  # already in GPU memory: copy it there
        array = data.copy()
    else:
        try:
            array = np.array(data, copy=True)
        except (ValueError, TypeError) as exc:
            raise TypeError(f"{where}: cannot make an array from {type(data).__name__}: {exc}") from None
    if dtype is not None:
        return array.astype(backend.resolve_dtype(dtype), copy=False)
    kind = array.dtype.kind
    if kind == "f":
        return array.astype(backend.get_default_dtype(), copy=False)
    if kind in "iu":
        return array.astype(np.int64, copy=False)
    if kind == "b":
        return array
    raise TypeError(f"{where}: expected numbers, got an array of dtype {array.dtype}")


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """Make a Tensor from a number, list or array (float data becomes float32 unless ``dtype``)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


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
        if backend.is_device_array(like.data):  # a constant joins the tensor it meets on the GPU
            array = backend.device_constant(array)
        return Tensor._wrap(array, False)
    return Tensor(value)


def _accumulate_leaf(leaf: Tensor, grad, grad_output) -> None:
    if leaf.grad is None:
        # Own the array: copy when it may be shared with another consumer (a view or grad_output).
        owned = grad is not grad_output and getattr(grad, "base", None) is None and (type(grad) is np.ndarray or backend.is_device_array(grad))
        leaf.grad = grad if owned else backend.array_module(leaf.data).array(grad, dtype=leaf.data.dtype, copy=True)
    else:
        leaf.grad += grad
    hooks = getattr(leaf, "_hooks", None)
    if hooks:
        for hook in hooks:
            hook(leaf)


def _topological_order(root: Function) -> list:
    """Functions reachable from ``root``, each after every Function that consumes its output."""
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        fn, expanded = stack.pop()
        if expanded:
            order.append(fn)
            continue
        if fn in visited:
            continue
        visited.add(fn)
        stack.append((fn, True))
        for t, needs in zip(fn.inputs, fn.needs_input_grad):
            creator = t._creator
            if needs and creator is not None and creator not in visited:
                stack.append((creator, False))
    order.reverse()
    return order


def _run_backward(root: Function, gradient, retain_graph: bool) -> None:
    grads = {root: gradient}
    for fn in _topological_order(root):
        grad_output = grads.pop(fn, None)
        if grad_output is None:
            continue
        if fn.freed:
            raise GraphError(
                f"backward(): trying to go through the graph a second time (at op {fn.op_name()}); its saved "
                "values were freed by the first backward(). Pass retain_graph=True to the first call "
                "if you need to backward twice."
            )
        retained = fn.__dict__.get("retained")
        if retained is not None and (out := retained()) is not None:
            _accumulate_leaf(out, grad_output, grad_output)
        input_grads = fn.backward(grad_output)
        if function._anomaly_hook is not None:
            from .anomaly import check_backward

            check_backward(fn, input_grads)
        if not retain_graph:
            fn.release()
        if len(fn.inputs) == 1:
            input_grads = (input_grads,) if not isinstance(input_grads, tuple) else input_grads
        for t, needs, grad in zip(fn.inputs, fn.needs_input_grad, input_grads):
            if not needs or grad is None:
                continue
            creator = t._creator
            if creator is None:
                _accumulate_leaf(t, grad, grad_output)
            else:
                previous = grads.get(creator)
                grads[creator] = grad if previous is None else previous + grad


function._tensor_class = Tensor

# Operators and methods live with their ops; attach them here, after Tensor exists.
from .ops import _tensor_methods  # noqa: E402,F401
