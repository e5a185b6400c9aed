"""Tensor: an array, its ``.grad``, and the Function that made it; ``backward()`` walks the graph.

The walk runs each node once, in reverse topological order, from a heap of the nodes a gradient has
reached (no recursion, so a chain of 100,000 ops works). Gradients add into ``.grad`` like
PyTorch's, and each node's saved arrays are released as soon as its backward has run, unless
``retain_graph=True``.

A Tensor holds its array in ``_array`` (the library's floors read it directly: ops deal in plain
arrays). ``.data`` and ``.grad`` are Tensors sharing that memory, as in PyTorch. Every in-place write
bumps a version counter (shared by views of the same memory), and backward refuses to use an array
that an op saved and that was modified since.
"""

from __future__ import annotations

import heapq
import threading
import weakref
from typing import TYPE_CHECKING

import numpy as np

from . import anomaly, backend
from .errors import DTypeError, GraphError, ShapeError

if TYPE_CHECKING:  # function.py builds on this module, not the other way round
    from .function import Function

# Every in-place write takes the next tick of this clock and stamps it on the tensor it writes; a
# node (function.Function) remembers the tick it was recorded at. So "was anything written since
# this node?" is one comparison, and "was this input?" another.
_tick = 0


def next_tick() -> int:
    global _tick
    _tick += 1
    return _tick


def current_tick() -> int:
    return _tick


class _GradState(threading.local):
    grad_enabled = True  # per thread, as PyTorch's grad mode (function.py's no_grad and friends set it)


grad_state = _GradState()


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
        "_array",
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
            data, dtype = data._array, data._array.dtype if dtype is None else dtype
        self._array = _to_array(data, dtype, "tensor")
        self._grad = None
        self.requires_grad = False
        self._creator = None
        self.name = None
        self._hooks = None  # (set here, not in _wrap: leaves are mostly made here, and backward asks each for it)
        self._version_counter = _UNWRITTEN  # [tick of the last in-place write, number of writes]
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _wrap(array, requires_grad: bool) -> "Tensor":
        """Fast path for ops: wrap an array the op just made, with no checks or copies. (A static method and
        module-level names: every op calls it, and a class method's call costs twice as much.)"""
        t = _new(Tensor)
        t._array = array if type(array) is _ndarray or backend.is_device_array(array) else np.asarray(array)
        t._grad = t._creator = t.name = None
        t.requires_grad = requires_grad
        t._version_counter = _UNWRITTEN
        return t

    # ---------------------------------------------------------------- data, grad, version
    @property
    def data(self) -> "Tensor":
        """This tensor's values as a new Tensor sharing the memory, outside the graph (as PyTorch's
        ``.data``: writes through it are not seen by autograd; prefer ``detach()`` or ``no_grad``)."""
        return Tensor._wrap(self._array, False)

    @data.setter
    def data(self, value) -> None:
        self._array = value._array if isinstance(value, Tensor) else _to_array(value, None, "data")

    @property
    def grad(self) -> "Tensor | None":
        """d(loss)/d(self) summed over every backward() since it was last cleared (None before any)."""
        return self._grad

    @grad.setter
    def grad(self, value) -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"grad: assigned grad expected to be a Tensor or None but got {type(value).__name__}")
            if value._array.shape != self._array.shape:
                raise ShapeError(
                    f"grad: assigned grad has shape {tuple(value.shape)}, expected the tensor's shape "
                    f"{tuple(self.shape)}"
                )
            if value._array.dtype != self._array.dtype:
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
        return Size(self._array.shape)

    @property
    def dtype(self) -> np.dtype:
        return self._array.dtype

    @property
    def ndim(self) -> int:
        return self._array.ndim

    @property
    def device(self) -> device:
        """``device('cpu')`` (a NumPy array) or ``device('cuda')`` (a CuPy array in GPU memory)."""
        return _DEVICES[backend.device_of(self._array)]

    @property
    def is_cuda(self) -> bool:
        return backend.is_device_array(self._array)

    @property
    def is_leaf(self) -> bool:
        """True for tensors the user made (parameters, inputs) and for tensors that need no grad."""
        return self._creator is None

    @property
    def grad_fn(self) -> Function | None:
        """The Function that produced this tensor (None for leaves)."""
        return self._creator

    def size(self, dim: int | None = None):
        return Size(self._array.shape) if dim is None else self._array.shape[dim]

    def dim(self) -> int:
        return self._array.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._array.size)

    nelement = numel

    def element_size(self) -> int:
        return self._array.itemsize

    def is_contiguous(self) -> bool:
        return bool(self._array.flags.c_contiguous)

    def is_floating_point(self) -> bool:
        return backend.is_float(self._array.dtype)

    def __len__(self) -> int:
        if self._array.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._array.shape[0]

    # ---------------------------------------------------------------- conversion
    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._array.size != 1:
            raise ValueError(f"item(): only a one-element tensor can be converted, got shape {tuple(self.shape)}")
        return self._array.item()

    def __bool__(self) -> bool:
        if self._array.size != 1:
            raise RuntimeError(
                f"bool(): the truth value of a tensor with {self._array.size} values is ambiguous; use .any() or .all()"
            )
        return bool(self._array.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._array.dtype.kind not in "iub" or self._array.size != 1:
            raise TypeError(
                f"only one-element integer tensors can be used as an index, got dtype {self.dtype} and shape "
                f"{tuple(self.shape)}"
            )
        return int(self.item())

    def __format__(self, spec: str) -> str:
        # a 0-d tensor formats as its number, as PyTorch's: f"{loss}" and f"{loss:.4f}" both give the value
        if self._array.ndim == 0 or (spec and self._array.size == 1):
            return format(self.item(), spec)
        return format(repr(self), spec)

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The underlying array (shared, not copied); a 'cuda' tensor must be moved with .cpu() first.
        ``force=True``, as PyTorch's: a copy in host memory, whatever the tensor's device or grad."""
        if force:
            return np.array(backend.to_device(self._array, "cpu"), copy=True)
        if backend.is_device_array(self._array):
            raise TypeError("numpy(): this tensor is on 'cuda'; call .cpu() first to copy it to host memory")
        if self.requires_grad:
            raise RuntimeError(
                "numpy(): can't call numpy() on a tensor that requires grad; use tensor.detach().numpy()"
            )
        return self._array

    def tolist(self):
        return self._array.tolist()

    def __array__(self, dtype=None, copy=None):
        data = backend.to_device(self._array, "cpu")
        return data if dtype is None else data.astype(dtype)

    def detach(self) -> "Tensor":
        """A new leaf that shares this tensor's data (and version counter) and records nothing."""
        out = Tensor._wrap(self._array, False)
        out._version_counter = self._counter()
        return out

    def detach_(self) -> "Tensor":
        """Make this tensor a leaf that records nothing (in place)."""
        self._creator = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and not backend.is_float(self._array.dtype):
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
        if inputs is not None:
            run_backward([self], [gradient], bool(retain_graph), targets, accumulate=True)
            return
        if self._creator is None:
            _accumulate_leaf(self, gradient, gradient)
            return
        _run_backward(self._creator, gradient, bool(retain_graph))

    # ---------------------------------------------------------------- repr
    def __repr__(self) -> str:
        body = _array_text(backend.to_device(self._array, "cpu"))
        extras = []
        shown = (
            self.dtype != backend.get_default_dtype()
            if backend.is_float(self.dtype)
            else self.dtype.kind == "u" or (self.dtype.kind == "i" and self.dtype != np.int64)
        )  # as PyTorch: the default float dtype, int64 and bool go unsaid
        if shown:
            extras.append(f"dtype={self.dtype}")
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self._creator is not None:
            extras.append(f"grad_fn=<{self._creator.name()}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}{''.join(', ' + e for e in extras)})"

    __hash__ = object.__hash__


PRINT_OPTIONS = {"precision": 4, "sci_mode": None, "linewidth": 80}


def _float_format(array: np.ndarray):
    """PyTorch's choice of how to write a float tensor's elements (torch/_tensor_str.py): whole numbers as "2.",
    otherwise fixed-point with 4 decimals, or scientific where the magnitudes span more than 1000x, exceed 1e8
    or fall below 1e-4; every element padded to one width."""
    precision, sci = PRINT_OPTIONS["precision"], PRINT_OPTIONS["sci_mode"]
    finite = np.abs(array[np.isfinite(array) & (array != 0)]).astype(np.float64)
    whole = finite.size == 0 or bool(np.all(finite == np.ceil(finite)))
    spread = finite.size and (finite.max() / finite.min() > 1000 or finite.max() > 1e8)
    if sci is None:
        sci = bool(spread or (not whole and finite.size and finite.min() < 1e-4))
    if sci:
        text = lambda v: f"{v:.{precision}e}"  # noqa: E731
    elif whole:
        text = lambda v: f"{v:.0f}."  # noqa: E731
    else:
        text = lambda v: f"{v:.{precision}f}"  # noqa: E731

    def element(v):
        return "nan" if v != v else ("inf" if v > 0 else "-inf") if np.isinf(v) else text(v)

    width = max((len(element(v)) for v in array.reshape(-1)), default=0) if array.size <= 1000 else 0
    return lambda v: element(v).rjust(width)


def _array_text(array: np.ndarray) -> str:
    """The elements of a tensor's repr, laid out as PyTorch lays them out."""
    formatter = None
    if array.dtype.kind == "f":
        formatter = {"float_kind": _float_format(array)}
    elif array.dtype.kind == "b":  # padded to the longest word present, as PyTorch's
        width = 5 if array.size and not array.all() else 4  # len("False") where one is shown
        formatter = {"bool": lambda v: str(bool(v)).rjust(width)}
    if array.ndim == 0 and formatter:
        return formatter["float_kind"](array.item()).strip()
    return np.array2string(
        array, separator=", ", prefix="tensor(", formatter=formatter, max_line_width=PRINT_OPTIONS["linewidth"]
    )


def _to_array(data, dtype, where: str) -> np.ndarray:
    """Copy user data into an array: float -> the default dtype unless ``dtype`` says otherwise."""
    if backend.is_device_array(data):  # already in GPU memory: copy it there
        array = data.copy()
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in data):
            data = [d._array if isinstance(d, Tensor) else d for d in data]
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
        out._array = backend.to_device(out._array, device)
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
        if backend.is_device_array(like._array):  # a constant joins the tensor it meets on the GPU
            array = backend.device_constant(array)
        return Tensor._wrap(array, False)
    return Tensor(value)


def initial_gradient(output: Tensor, gradient, where: str):
    """d(loss)/d(output) to start a backward walk with: ones for a one-element output, else given."""
    if gradient is None:
        if output._array.size != 1:
            raise GraphError(
                f"{where}: a gradient can be created implicitly only for a one-element tensor, "
                f"this one has shape {tuple(output.shape)}; pass backward(gradient) of that shape"
            )
        return backend.array_module(output._array).ones_like(output._array)
    gradient = gradient._array if isinstance(gradient, Tensor) else gradient
    gradient = backend.to_device(
        np.asarray(gradient) if not backend.is_device_array(gradient) else gradient, output.device
    )
    gradient = backend.array_module(gradient).array(gradient, dtype=output.dtype, copy=True)
    if gradient.shape != output._array.shape:
        raise ShapeError(
            f"{where}: gradient has shape {gradient.shape}, expected the tensor's shape {tuple(output.shape)}"
        )
    return gradient


def _accumulate_leaf(leaf: Tensor, grad, grad_output) -> None:
    current = leaf._grad
    if type(grad) is SliceGradient:
        if current is not None:
            current._array[grad.index] += grad.values
            grad = None
        else:
            grad = grad.dense()  # a fresh array: .grad takes it as it is
    if grad is None:
        pass
    elif current is not None:
        current._array += grad
    elif type(grad) is _ndarray and grad.base is None and grad is not grad_output:
        leaf._grad = Tensor._wrap(grad, False)  # a fresh array of backward's own: .grad takes it as it is
    else:
        # Own the array: copy when it may be shared with another consumer (a view or grad_output).
        owned = grad is not grad_output and backend.is_device_array(grad) and grad.base is None
        leaf._grad = Tensor._wrap(
            grad if owned else backend.array_module(leaf._array).array(grad, dtype=leaf._array.dtype, copy=True), False
        )
    _after_accumulation(leaf)


def _after_accumulation(leaf: Tensor) -> None:
    """Run the leaf's post-accumulate-grad hooks (register_post_accumulate_grad_hook), in both walks."""
    hooks = getattr(leaf, "_hooks", None)
    if hooks:
        for hook in hooks:
            hook(leaf)


# Set once any in-place op has replaced the value of a tensor in a graph: until then the walk need
# not look at histories at all.
_histories_exist = False


def record_history(t: Tensor, creator) -> None:
    """After an in-place op wrote ``t`` and before it gives ``t`` a new creator: ops recorded before
    that write consumed the old value and must keep walking back through ``creator``."""
    global _histories_exist
    history = getattr(t, "_history", None)
    if history is None:
        t._history = history = []
    history.append((t._version_counter[0], creator))
    _histories_exist = True


def creator_at(t: Tensor, tick: int):
    """The Function that made the value ``t`` had when a node was recorded at ``tick``."""
    history = getattr(t, "_history", None)
    if history is not None:
        for written_at, creator in history:
            if tick < written_at:
                return creator
    return t._creator


def _run_backward(root: Function, gradient, retain_graph: bool) -> None:
    run_backward_from({root: gradient}, [root], retain_graph, None)


def run_backward(outputs, gradients, retain_graph: bool, targets=None, accumulate: bool = False) -> dict | None:
    """Walk back from several outputs at once. With ``targets``, collect d(outputs)/d(target) for
    those tensors only and return them by id (``autograd.grad``); ``accumulate`` then adds them into
    their ``.grad`` instead (``backward(inputs=...)``)."""
    grads: dict = {}
    collected: dict = {}
    for out, gradient in zip(outputs, gradients):
        if out._creator is None:
            if targets is None:
                _accumulate_leaf(out, gradient, gradient)
            else:
                collected[id(out)] = gradient
            continue
        previous = grads.get(out._creator)
        grads[out._creator] = gradient if previous is None else previous + gradient
    if grads:
        run_backward_from(grads, list(grads), retain_graph, None if targets is None else (targets, collected))
    if targets is None:
        return None
    if accumulate:
        for t in targets:
            grad = collected.get(id(t))
            if grad is not None:
                _accumulate_leaf(t, grad, None)
        return None
    return collected


class SliceGradient:
    """The gradient of a slice x[index] with respect to the whole x: zero except at ``index``, where it is
    ``values``. The walk adds it into x's gradient in place instead of making a zero array of x's size each
    time, so T slices of one array cost their own size rather than T times the whole's (an RNN reading x[t]
    at every step, split, chunk, unbind)."""

    __slots__ = ("shape", "index", "values")

    def __init__(self, shape, index, values):
        self.shape, self.index, self.values = shape, index, values

    def dense(self):
        out = backend.array_module(self.values).zeros(self.shape, dtype=self.values.dtype)
        out[self.index] = self.values
        return out


def _dense(grad):
    return grad.dense() if type(grad) is SliceGradient else grad


def _sum(previous, grad, owned: set):
    """previous + grad for two gradients of one tensor. A SliceGradient is added into an array the walk owns
    (made here, in no one else's hands: its id is in ``owned`` while it waits in the walk), in place."""
    if type(previous) is not SliceGradient and type(grad) is not SliceGradient:
        return previous + grad
    if type(previous) is SliceGradient:
        previous, grad = grad, previous  # the dense one (or the first slice) becomes the sum
        if type(previous) is SliceGradient:
            previous = previous.dense()
        elif id(previous) not in owned:
            previous = previous.copy()
    elif id(previous) not in owned:
        previous = previous.copy()
    if type(grad) is SliceGradient:
        previous[grad.index] += grad.values  # a basic index: no element twice
    else:
        previous += grad
    owned.add(id(previous))
    return previous


def run_backward_from(grads: dict, roots: list, retain_graph: bool, capture) -> None:
    """The walk: each node's backward once every node that consumes its output has added its gradient.

    A node is always made after the nodes of its inputs (its ``seq`` is larger), so running the nodes by
    decreasing ``seq`` does that (as PyTorch's sequence_nr). They wait in a max-heap, which a node enters
    when the first gradient reaches it: nodes no gradient reaches are never visited, and no separate
    topological sort is needed.
    """
    target_ids, collected = (None, None) if capture is None else ({id(t) for t in capture[0]}, capture[1])
    non_leaf_targets = {} if capture is None else {t._creator: t for t in capture[0] if t._creator is not None}
    histories, now = _histories_exist, _tick
    heap = [(-fn.seq, fn) for fn in roots]
    heapq.heapify(heap)
    pop, push = heapq.heappop, heapq.heappush
    fn = None  # the node to run next, when it was handed on directly (a chain) rather than through the heap
    owned: set = set()  # ids of the gradient arrays the walk made itself and may add into (see _sum)
    while fn is not None or heap:
        if fn is None:
            fn = pop(heap)[1]
            grad_output = grads.pop(fn)
            if type(grad_output) is SliceGradient:
                grad_output = grad_output.dense()
            elif owned:
                owned.discard(id(grad_output))
        if fn.freed:
            raise GraphError(
                f"backward(): trying to go through the graph a second time (at op {fn.op_name()}); its saved "
                "values were freed by the first backward(). Pass retain_graph=True to the first call "
                "if you need to backward twice."
            )
        if non_leaf_targets and fn in non_leaf_targets:
            collected[id(non_leaf_targets[fn])] = grad_output
        retained = fn.retained
        if retained is not None and capture is None and (out := retained()) is not None:
            _accumulate_leaf(out, grad_output, grad_output)
        if fn.tick != now:  # something was written in place since: was it what fn saved?
            fn.check_saved_versions()
        input_grads = fn.backward_sparse(grad_output) if fn.sparse_grad else fn.backward(grad_output)
        if anomaly.active:
            input_grads = _dense(input_grads) if type(input_grads) is not tuple else tuple(map(_dense, input_grads))
            anomaly.check_backward(fn, input_grads)
        if not retain_graph:
            fn.release()
        inputs, needs, tick = fn.inputs, fn.needs_input_grad, fn.tick
        fn = None
        if len(inputs) == 1:  # the common case, without the zip below: 14% of backward's time per op (measured)
            grad = input_grads[0] if type(input_grads) is tuple else input_grads
            if grad is None:
                continue
            t = inputs[0]
            creator = t._creator if not histories else creator_at(t, tick)
            if creator is None:
                _to_leaf(t, grad, grad_output, target_ids, collected)
            elif (previous := grads.get(creator)) is None:
                if not heap:  # nothing else is waiting, so nothing else can add to its gradient: run it next
                    fn, grad_output = creator, _dense(grad)
                    continue
                grads[creator] = grad
                push(heap, (-creator.seq, creator))
            else:
                grads[creator] = _sum(previous, grad, owned)
            continue
        for t, needed, grad in zip(inputs, needs, input_grads):
            if not needed or grad is None:
                continue
            creator = t._creator if not histories else creator_at(t, tick)
            if creator is None:
                _to_leaf(t, grad, grad_output, target_ids, collected)
            elif (previous := grads.get(creator)) is None:
                grads[creator] = grad
                push(heap, (-creator.seq, creator))
            else:
                grads[creator] = _sum(previous, grad, owned)


def _to_leaf(t: Tensor, grad, grad_output, target_ids, collected) -> None:
    """A gradient that reached a leaf: into its .grad, or, for autograd.grad, into the collected results."""
    if target_ids is None:
        _accumulate_leaf(t, grad, grad_output)
    elif id(t) in target_ids:
        previous, grad = collected.get(id(t)), _dense(grad)
        collected[id(t)] = grad.copy() if previous is None else previous + grad


# ------------------------------------------------------------------ create_graph=True
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
    return Tensor._wrap(initial_gradient(output, gradient, where), False)


def run_backward_graph(outputs, gradients, targets=None, accumulate=False, partial=False):
    """The backward walk with ``create_graph=True``: gradients are Tensors, and each node's gradient comes from its
    ``backward_graph``, the same derivative written in differentiable ops, recorded like any forward. So the
    gradients are graphs of ordinary nodes, and differentiating them again is one more walk.

    This is the textbook walk, without the default walk's fast paths: nodes run by decreasing creation number,
    each once every consumer of its output has added its gradient in. With ``targets`` the gradients reaching
    those tensors are collected and returned by id (``autograd.grad``; ``accumulate`` adds them into ``.grad``
    instead): only nodes on a path to a target run. ``partial`` stops at the targets (the partial derivatives of a
    fused op's composite form, function.py ``composite_backward``).
    """
    previous = grad_state.grad_enabled
    grad_state.grad_enabled = True  # the derivative ops record, even when called inside no_grad
    try:
        collected = _walk_graph(outputs, gradients, targets, partial)
    finally:
        grad_state.grad_enabled = previous
    if targets is None or not accumulate:
        return collected
    for t in targets:
        if id(t) in collected:
            _accumulate_graph(t, collected[id(t)])
    return None


def _walk_graph(outputs, gradients, targets, partial) -> dict:
    target_ids = None if targets is None else {id(t) for t in targets}
    reaching = None if targets is None or partial else _reaching(outputs, target_ids)
    grads: dict = {}
    collected: dict = {}
    heap: list = []

    def deliver(t: Tensor, grad: Tensor, tick) -> None:
        """Hand ``grad``, a gradient of ``t``, on: collected, into .grad, or to the node that made t."""
        if target_ids is not None and id(t) in target_ids:
            previous = collected.get(id(t))
            collected[id(t)] = grad if previous is None else previous + grad
            if partial:
                return
        creator = t._creator if tick is None else creator_at(t, tick)
        if creator is None:
            if target_ids is None:
                _accumulate_graph(t, grad)
            return
        if reaching is not None and creator not in reaching:
            return
        previous = grads.get(creator)
        if previous is None:
            grads[creator] = grad
            heapq.heappush(heap, (-creator.seq, creator))
        else:
            grads[creator] = previous + grad

    for out, gradient in zip(outputs, gradients):
        deliver(out, gradient, None)
    while heap:
        fn = heapq.heappop(heap)[1]
        grad_output = grads.pop(fn)
        if fn.freed:
            raise GraphError(
                f"backward(): trying to go through the graph a second time (at op {fn.op_name()}); its saved "
                "values were freed by the first backward(). Pass retain_graph=True to the first call."
            )
        retained = fn.retained
        if retained is not None and target_ids is None and (out := retained()) is not None:
            out._grad = grad_output
        fn.check_saved_versions(graph=True)
        input_grads = fn.backward_graph(grad_output)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        if anomaly.active:
            anomaly.check_backward(fn, tuple(None if g is None else g._array for g in input_grads))
        for t, needed, grad in zip(fn.inputs, fn.needs_input_grad, input_grads):
            if needed and grad is not None:
                deliver(t, grad, fn.tick)
    return collected


def _reaching(outputs, target_ids: set) -> set:
    """The nodes from which some target can be reached: the only ones autograd.grad's walk needs to run."""
    seen, stack = set(), [o._creator for o in outputs if o._creator is not None]
    while stack:
        fn = stack.pop()
        if fn not in seen:
            seen.add(fn)
            stack.extend(c for t in fn.inputs if (c := creator_at(t, fn.tick)) is not None)
    reaching: set = set()
    for fn in sorted(seen, key=lambda f: f.seq):  # inputs' nodes first
        for t in fn.inputs:
            if id(t) in target_ids or creator_at(t, fn.tick) in reaching:
                reaching.add(fn)
                break
    return reaching


def _accumulate_graph(leaf: Tensor, grad: Tensor) -> None:
    """A recorded gradient into ``leaf.grad``: out of place, so that the sum is recorded too; the first one
    cloned (as PyTorch's AccumulateGrad does), so that two leaves never share one gradient tensor."""
    current = leaf._grad
    leaf._grad = grad.clone() if current is None else current + grad
    _after_accumulation(leaf)
