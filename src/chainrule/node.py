"""Node: one recorded op of the graph, its forward and backward over plain arrays (PyTorch's autograd Node).

Every op in ops/ is a Node subclass: ``forward(*arrays)`` computes and saves what the derivative needs,
``backward(grad_output)`` applies the chain rule, one gradient per input. ``apply`` runs the forward on the inputs'
arrays and, while grad mode is on, records the node: the output Tensor keeps the node as its creator and the node
keeps its inputs, never its output, so the graph holds no reference cycle and is freed by reference counting alone.
(``autograd.Function``, a node written by the user, is built on this class.)
"""

from __future__ import annotations

import itertools
import re

import numpy as np

from . import anomaly, engine
from .backend import device_of
from .engine import grad_state
from .errors import ChainruleError, DeviceError, GraphError, ShapeError
from .grad_mode import enable_grad
from .tensor import Tensor

_ndarray, _asarray, _new, _wrap = np.ndarray, np.asarray, object.__new__, Tensor.wrap
_NEEDS_ONE = (True,)
_zero_d: dict = {}  # {dtype: {number: 0-d array}}: apply_scalar's numbers, made once each

# Every recorded node's number, in the order of creation. A node's inputs existed before it ran, so their
# nodes have smaller numbers: backward runs the nodes by decreasing number (as PyTorch's sequence_nr).
_sequence = itertools.count()


def _reraise(cls, exc, inputs):
    """A forward's ValueError or TypeError from NumPy, said as the op's: which op, which shapes or devices."""
    if isinstance(exc, ValueError):
        # NumPy's message alone ("operands could not be broadcast ...") does not say which op.
        shapes = " and ".join(str(t.array.shape) for t in inputs)
        if "broadcast" in str(exc):
            raise ShapeError(
                f"{cls.op_name()}: shapes {shapes} cannot be broadcast together "
                "(from the right, each pair of sizes must be equal or one of them 1)"
            ) from None
        raise ShapeError(f"{cls.op_name()}: {exc} (input shapes {shapes})") from None
    devices = [device_of(t.array) for t in inputs]
    if len(set(devices)) > 1:  # CuPy refuses host arrays; say which op and which devices
        raise DeviceError(
            f"{cls.op_name()}: expected all inputs on one device, got {', '.join(devices)}; move them with .to(device)"
        ) from None
    raise exc


def _record(fn: Node, inputs: tuple, needs: tuple, out: Tensor) -> None:
    """Make ``fn`` a node of the graph: it keeps its inputs, the clock's tick and its creation number; the output
    keeps it as its creator."""
    fn.inputs = inputs
    fn.needs_input_grad = needs
    fn.tick = engine._tick
    fn.seq = next(_sequence)
    out.requires_grad = True
    out._creator = fn


class Node:
    """Base class of every op. Subclasses define ``forward(*arrays)`` and ``backward(grad_output)``.

    ``backward`` returns one gradient per input (or None where ``needs_input_grad`` is False). It
    may return ``grad_output`` itself or a view of it; anything else it returns must be a fresh
    array, which the engine then owns.
    """

    # The node's links, set when it is recorded, as slots: they outlive release(), which empties the
    # instance's dict (what the forward saved). inputs: the input Tensors; tick: the clock's tick when
    # recorded (see next_tick); seq: its creation number.
    __slots__ = ("inputs", "needs_input_grad", "tick", "seq", "__dict__")
    # Set by backward() once the saved arrays are released (unless retain_graph=True).
    freed = False
    retained = None  # a weak reference to the output, where retain_grad() asked to keep its grad
    # What the backward reads of the forward's arrays, so that an in-place write to one of them since
    # the forward is caught: the input indices (None: all) and whether the output is read.
    saved_inputs: tuple | None = None
    saves_output = True
    # True for ops whose output may share the input's memory (reshape, transpose, basic indexing):
    # such an output shares the input's version counter, so a write through either is seen.
    view = False
    # True for ops that can hand the walk a SliceGradient (tensor.py) through ``backward_sparse``: a gradient
    # that is zero except on a slice, added into the whole's gradient in place
    sparse_grad = False

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the forward on the inputs' arrays and, when grad is on, record the node."""
        fn = _new(cls)  # (no __init__: the forward sets what it saves)
        try:
            if len(inputs) == 1:  # the common case, without building a list
                output = fn.forward(inputs[0].array, **params)
            else:
                output = fn.forward(*[t.array for t in inputs], **params)
        except ChainruleError:
            raise
        except (ValueError, TypeError) as exc:
            _reraise(cls, exc, inputs)
        if anomaly.active:
            anomaly.check_forward(fn, output, inputs)
        out = _wrap(output, False)
        if (
            cls.view
            and output.base is not None
            and (output.base is inputs[0].array or output.base is inputs[0].array.base)
        ):
            out._version_counter = inputs[0]._counter()
        if grad_state.grad_enabled:
            if len(inputs) == 1:
                needs = _NEEDS_ONE if inputs[0].requires_grad else None
            else:
                needs = tuple([t.requires_grad for t in inputs])
                if True not in needs:
                    needs = None
            if needs is not None:
                _record(fn, inputs, needs, out)
                if fn.saves_output:
                    fn.output_version = out._counter()
        return out

    @classmethod
    def apply_scalar(cls, x, scalar, reflected=False):
        """apply() for one tensor and a Python number (x * 2.5, 1 - x): the same node, without apply's general
        bookkeeping, because for small arrays the cost of such an op is this Python, not NumPy. Only for ops
        that save no output and make no view (the scalar ops in ops/elementwise.py)."""
        array = x.array
        if type(array) is _ndarray:
            # The number as a 0-d array of x's dtype: the value NumPy would cast it to anyway (a Python number is
            # 'weak', NEP 50), and a NumPy call with it costs half as much (0.43 against 0.81 us, 4 elements).
            numbers = _zero_d.get(array.dtype)
            if numbers is None:
                numbers = _zero_d[array.dtype] = {}
            zero_d = numbers.get(scalar)
            if zero_d is None:
                zero_d = _asarray(scalar, array.dtype)
                if scalar and scalar == scalar:  # not 0 (0.0 == -0.0 as keys) nor NaN (never equal to itself)
                    if len(numbers) >= 256:
                        numbers.clear()
                    zero_d.flags.writeable = False
                    numbers[scalar] = zero_d
            scalar = zero_d
        fn = _new(cls)
        fn.freed = False  # a slot of the scalar ops (ops/elementwise.py _ScalarOp), not the class default
        try:
            output = fn.forward(array, scalar, reflected)
        except ChainruleError:
            raise
        except (ValueError, TypeError) as exc:
            _reraise(cls, exc, (x,))
        if anomaly.active:
            anomaly.check_forward(fn, output, (x,))
        out = _wrap(output, False)
        if x.requires_grad and grad_state.grad_enabled:
            _record(fn, (x,), _NEEDS_ONE, out)
        return out

    def check_saved_versions(self, graph: bool = False) -> None:
        """Refuse to run backward on arrays that were written in place after the forward saved them. ``graph``:
        for backward_graph, which reads the inputs themselves (an op that saved its output recomputes it from
        them) and never the saved output."""
        tick = getattr(self, "tick", None)
        if tick is None or tick == engine.current_tick():  # nothing anywhere was written since this node was recorded
            return
        if graph:
            for i in range(len(self.inputs)) if self.saves_output else self.saved():
                if self.inputs[i]._version_counter[0] > tick:
                    self._modified(f"its input {i}", self.inputs[i]._version)
            return
        for i in self.saved():
            stamp = self.inputs[i]._version_counter[0]
            if stamp > tick:
                self._modified(f"its input {i}", self.inputs[i]._version)
        if self.saves_output and self.output_version[0] > tick:
            self._modified("its output", self.output_version[1])

    def saved(self):
        """The indices of the inputs whose arrays backward reads (``saved_inputs``; None: all)."""
        return range(len(self.inputs)) if self.saved_inputs is None else self.saved_inputs

    def _modified(self, what: str, writes: int):
        raise GraphError(
            f"backward(): a tensor that {self.op_name()} saved for its gradient ({what}) has been modified by an "
            f"in-place operation since the forward (it has been written {writes} time{'s' if writes != 1 else ''} in "
            f"all). "
            "Use an out-of-place op (y = y + 1 instead of y += 1) or .clone() it before modifying."
        )

    @property
    def next_functions(self) -> tuple:
        """((Node or AccumulateGrad or None, 0), ...) for each input, as PyTorch's grad_fn."""
        nodes = []
        for t, needs in zip(self.inputs, self.needs_input_grad):
            if t._creator is not None:
                nodes.append((t._creator, 0))
            elif needs:
                nodes.append((AccumulateGrad(t), 0))
            else:
                nodes.append((None, 0))
        return tuple(nodes)

    def forward(self, *arrays):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad_output):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward_graph(self, grad_output: Tensor):
        """backward() for ``create_graph=True``: the same derivative, computed from the input Tensors
        (``self.inputs``) with differentiable ops, so that it is recorded and can be differentiated again. Ops
        define it beside their backward; a fused op may instead define ``composite``, its forward written in
        simpler ops, whose derivative is then taken (``composite_backward``)."""
        if type(self).composite is not Node.composite:
            return composite_backward(self, grad_output)
        raise NotImplementedError(
            f"create_graph=True: {self.op_name()} has no backward written in differentiable ops, so its gradient "
            "cannot be differentiated again"
        )

    def composite(self, *inputs: Tensor) -> Tensor:  # pragma: no cover - a fused op's own, where it has one
        raise NotImplementedError

    def name(self) -> str:
        """The node's name as PyTorch prints it: the backward of ``Mul`` is ``MulBackward``."""
        return f"{type(self).__name__}Backward"

    # The name users know the op by, where snake_case of the class name would not give it.
    op: str | None = None

    @classmethod
    def op_name(cls) -> str:
        """The op's public name: ``matmul`` for MatMul, ``log_softmax`` for LogSoftmax, ``lstm_sequence`` for
        LSTMSequence (a run of capitals is one word)."""
        return (
            cls.__dict__.get("op")
            or re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", cls.__name__).lower()
        )

    def release(self) -> None:
        """Drop the arrays saved for backward, keeping only the graph's structure (the slots)."""
        state = self.__dict__
        site = state.get("site")
        state.clear()
        self.freed = True
        if site is not None:
            self.site = site

    def __repr__(self) -> str:
        return f"<{self.name()}>"


def composite_backward(fn: Node, grad_output: Tensor) -> tuple:
    """A fused op's recorded gradient: its forward recomputed in simpler ops from the same input Tensors, and
    the partial derivatives of that, each of its inputs a place where the walk stops."""
    inputs = fn.inputs
    with enable_grad():
        output = fn.composite(*inputs)
    wanted = [t for t, needed in zip(inputs, fn.needs_input_grad) if needed]
    collected = engine.run_backward_graph([output], [grad_output], wanted, partial=True)
    grads, given = [], set()
    for t, needed in zip(inputs, fn.needs_input_grad):
        grad = collected.get(id(t)) if needed and id(t) not in given else None
        given.add(id(t))  # an input passed twice (x * x) gets its whole gradient once
        grads.append(grad)
    return tuple(grads)


def each_for_the_other(needs_input_grad) -> list:
    """``saved()`` of a two-input op whose inputs are each read only for the other one's gradient (a product):
    input 0 is read where input 1 needs a gradient, and the other way round."""
    return [i for i, other in ((0, 1), (1, 0)) if needs_input_grad[other]]


class AccumulateGrad:
    """The node at a leaf that requires grad, where backward adds into ``.grad`` (``next_functions``)."""

    def __init__(self, variable):
        self.variable = variable
        self.next_functions = ()

    def name(self) -> str:
        return "AccumulateGrad"

    def __repr__(self) -> str:
        return "<AccumulateGrad>"
