"""chainrule.autograd, as torch.autograd: custom Functions with a ctx, grad(), backward().

A custom Function is written as in PyTorch, on Tensors::

    class Cube(chainrule.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * 3 * x ** 2      # d(x^3)/dx = 3 x^2, times the output's gradient

    y = Cube.apply(x)

Underneath, ``apply`` records one node of the engine's own kind (``node.Node``), whose
forward and backward call the user's two static methods.
"""

from __future__ import annotations

from ..engine import run_backward, run_backward_graph
from ..errors import GraphError
from ..grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: F401 - PyTorch has them here too
from ..gradcheck import gradcheck, gradgradcheck  # noqa: F401
from ..node import Node
from ..tensor import Tensor, graph_gradient, initial_gradient


class FunctionCtx:
    """The ``ctx`` of a custom Function: what forward keeps for backward."""

    def __init__(self):
        self.saved = ()
        self.needs_input_grad = ()
        self.node = None

    def save_for_backward(self, *tensors) -> None:
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"save_for_backward: expects Tensors (or None), got {type(t).__name__}; keep other values as ctx "
                    f"attributes"
                )
        self.saved = tensors
        self.saved_versions = [None if t is None else (t._counter(), t._counter()[0]) for t in tensors]

    @property
    def saved_tensors(self) -> tuple:
        if self.node is not None and self.node.freed:
            raise GraphError(
                "saved_tensors: the graph was already freed by an earlier backward(); pass retain_graph=True to it"
            )
        for index, version in enumerate(getattr(self, "saved_versions", ())):
            if version is not None and version[0][0] != version[1]:
                raise GraphError(
                    f"saved_tensors: saved tensor {index} has been modified by an in-place operation since "
                    f"forward (version {version[0][0]}; expected {version[1]})"
                )
        return tuple(self.saved)

    def mark_non_differentiable(self, *tensors) -> None:
        self.non_differentiable = bool(tensors)

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = value


class _CustomNode(Node):
    """The engine's node for one call of a user's custom Function."""

    saved_inputs = ()  # the ctx checks the tensors the user saved
    saves_output = False

    def forward(self, *arrays, user_class, ctx, args):
        # The user's forward runs on Tensors with recording off, as in PyTorch.
        # detach() shares memory and version counter: an in-place change of an input shows at backward
        call_args = [a.detach() if isinstance(a, Tensor) else a for a in args]
        with no_grad():
            output = user_class.forward(ctx, *call_args)
        if isinstance(output, tuple):
            raise NotImplementedError(
                f"{user_class.__name__}.forward: returning several outputs is not supported by chainrule; "
                "return one tensor (or split the function in two)"
            )
        if not isinstance(output, Tensor):
            raise TypeError(f"{user_class.__name__}.forward must return a Tensor, got {type(output).__name__}")
        self.user_class, self.ctx, self.output_shape, self.output_dtype = user_class, ctx, output.shape, output.dtype
        # for backward_graph: which detached copy stands for which input, and the output (to refuse it)
        self.originals = {id(c): a for c, a in zip(call_args, args) if isinstance(a, Tensor)}
        self.output_id = id(output)
        return output.array

    def backward(self, grad_output):
        return self._gradients(self.user_class.backward(self.ctx, Tensor.wrap(grad_output, False)), False)

    def backward_graph(self, grad_output):
        """The user's backward run on the inputs themselves with recording on (create_graph=True): its result is
        differentiable where it is written in chainrule's ops, as in PyTorch. A saved output would be a constant
        here, which would make the derivative silently wrong, so it is refused."""
        ctx, name = self.ctx, self.user_class.__name__
        if any(t is not None and id(t) == self.output_id for t in ctx.saved):
            raise NotImplementedError(
                f"create_graph=True: {name} saved its output for backward; chainrule can differentiate a custom "
                "Function's backward again only when it saves inputs (recompute the output from them in backward)"
            )
        detached = ctx.saved
        ctx.saved = tuple(None if t is None else self.originals.get(id(t), t) for t in detached)
        try:
            grads = self.user_class.backward(ctx, grad_output)
        finally:
            ctx.saved = detached
        return self._gradients(grads, True)

    def _gradients(self, grads, graph: bool):
        """The user's gradients, one per argument, checked and matched to the node's tensor inputs (as arrays for
        backward, as Tensors for backward_graph)."""
        grads = grads if isinstance(grads, tuple) else (grads,)
        tensor_slots = [i for i, a in enumerate(self.ctx.args) if isinstance(a, Tensor)]
        if len(grads) != len(self.ctx.args):
            raise GraphError(
                f"{self.user_class.__name__}.backward returned {len(grads)} gradients, but forward took "
                f"{len(self.ctx.args)} arguments (return None for the ones without a gradient)"
            )
        out = []
        for slot, needs in zip(tensor_slots, self.needs_input_grad):
            grad = grads[slot]
            if grad is None or not needs:
                out.append(None)
                continue
            if graph:
                grad = grad if isinstance(grad, Tensor) else Tensor.wrap(grad, False)
            else:
                grad = grad.array if isinstance(grad, Tensor) else grad
            expected = self.inputs[len(out)].array.shape
            if grad.shape != expected:
                raise GraphError(
                    f"{self.user_class.__name__}.backward: the gradient for argument {slot} has shape "
                    f"{tuple(grad.shape)}, expected {tuple(expected)}"
                )
            out.append(grad)
        return tuple(out) if len(out) != 1 else out[0]

    def name(self) -> str:
        return f"{self.user_class.__name__}Backward" if "user_class" in self.__dict__ else "CustomBackward"


class Function:
    """Base class of custom differentiable functions: define static ``forward(ctx, *args)`` and
    ``backward(ctx, *grad_outputs)`` on Tensors, and call ``YourFunction.apply(*args)``."""

    @staticmethod
    def forward(ctx, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError("a custom Function must define forward(ctx, ...) as a @staticmethod")

    @staticmethod
    def backward(ctx, *grad_outputs):  # pragma: no cover - abstract
        raise NotImplementedError("a custom Function must define backward(ctx, grad_output) as a @staticmethod")

    @classmethod
    def apply(cls, *args):
        ctx = FunctionCtx()
        ctx.args = args
        tensors = tuple(a for a in args if isinstance(a, Tensor))
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        if not tensors:
            with no_grad():
                return cls.forward(ctx, *args)
        out = _CustomNode.apply(*tensors, user_class=cls, ctx=ctx, args=args)
        if out._creator is not None:
            ctx.node = out._creator
            if getattr(ctx, "non_differentiable", None):  # the one output was marked non-differentiable
                out._creator, out.requires_grad = None, False
        return out


def _as_list(value) -> list:
    return [value] if isinstance(value, Tensor) else list(value)


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
    materialize_grads: bool = False,
) -> tuple:
    """d(outputs)/d(inputs) as a tuple, one per input, without touching any ``.grad``. With ``create_graph=True``
    the results have graphs of their own, so they can be differentiated again (Hessians, gradient penalties)."""
    outputs, inputs = _as_list(outputs), _as_list(inputs)
    grad_outputs = [None] * len(outputs) if grad_outputs is None else _as_list(grad_outputs)
    for out in outputs:
        if not out.requires_grad:
            raise GraphError("autograd.grad: an output does not require grad and has no graph")
    for t in inputs:
        if not t.requires_grad:
            raise GraphError(
                "autograd.grad: one of the inputs does not require grad; create it with requires_grad=True"
            )
    if create_graph:
        gradients = [graph_gradient(o, g, "autograd.grad") for o, g in zip(outputs, grad_outputs)]
        collected = run_backward_graph(outputs, gradients, inputs)
    else:
        gradients = [initial_gradient(o, g, "autograd.grad") for o, g in zip(outputs, grad_outputs)]
        collected = run_backward(outputs, gradients, bool(retain_graph), inputs)
    result = []
    for index, t in enumerate(inputs):
        array = collected.get(id(t))
        if array is None:
            if materialize_grads:
                result.append(Tensor.wrap(t.array * 0, False))
                continue
            if not allow_unused:
                raise GraphError(
                    f"autograd.grad: input {index} was not used to compute the outputs; pass allow_unused=True "
                    "to get None for it"
                )
            result.append(None)
            continue
        result.append(array if create_graph else Tensor.wrap(array, False))
    return tuple(result)


def backward(
    tensors, grad_tensors=None, retain_graph: bool | None = None, create_graph: bool = False, inputs=None
) -> None:
    """Add d(tensors)/d(leaf) into every leaf's ``.grad`` (``loss.backward()`` for several outputs at once)."""
    tensors = _as_list(tensors)
    grad_tensors = [None] * len(tensors) if grad_tensors is None else _as_list(grad_tensors)
    if create_graph:
        gradients = [graph_gradient(t, g, "autograd.backward") for t, g in zip(tensors, grad_tensors)]
        targets = None if inputs is None else _as_list(inputs)
        run_backward_graph(tensors, gradients, targets, accumulate=True)
        return
    gradients = [initial_gradient(t, g, "autograd.backward") for t, g in zip(tensors, grad_tensors)]
    targets = None if inputs is None else _as_list(inputs)
    run_backward(tensors, gradients, bool(retain_graph), targets, accumulate=targets is not None)


def Variable(data, requires_grad: bool = False, volatile: bool = False) -> Tensor:  # noqa: N802 - PyTorch's name
    """The wrapper of PyTorch before 0.4, kept in older tutorials: today, as in PyTorch, it returns the tensor
    itself (asked to require grad when ``requires_grad``)."""
    tensor = data if isinstance(data, Tensor) else Tensor(data)
    if requires_grad:
        tensor.requires_grad_(True)
    return tensor


__all__ = [
    "Function",
    "Variable",
    "FunctionCtx",
    "backward",
    "enable_grad",
    "grad",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
]


from . import functional  # noqa: E402,F401 - torch.autograd.functional; it builds on grad() above
