"""Function: one differentiable op, its forward and backward over plain arrays; and no_grad().

A Function keeps its inputs (Tensors) and whatever its forward saved for backward. The output
Tensor keeps the Function as its creator; the Function does not keep its output, so the graph
holds no reference cycle and is freed by reference counting alone.
"""
from __future__ import annotations

import contextlib
import re
import threading

from .backend import device_of
from .errors import ChainruleError, DeviceError, ShapeError

_state = threading.local()


def is_grad_enabled() -> bool:
    """False inside ``no_grad()``: ops then record nothing."""
    return getattr(_state, "grad_enabled", True)


class _GradMode(contextlib.ContextDecorator):
    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __enter__(self):
        self.previous = is_grad_enabled()
        _state.grad_enabled = self.enabled
        return self

    def __exit__(self, *exc):
        _state.grad_enabled = self.previous
        return False


def no_grad() -> _GradMode:
    """Context manager and decorator: ops inside record no graph (for evaluation and updates)."""
    return _GradMode(False)


def enable_grad() -> _GradMode:
    """Context manager and decorator that turns recording back on inside ``no_grad``."""
    return _GradMode(True)


class Function:
    """Base class of every op. Subclasses define ``forward(*arrays)`` and ``backward(grad_output)``.

    ``backward`` returns one gradient per input (or None where ``needs_input_grad`` is False). It
    may return ``grad_output`` itself or a view of it; anything else it returns must be a fresh
    array, which the engine then owns.
    """

    inputs: tuple
    needs_input_grad: tuple
    # Set by backward() once the saved arrays are released (unless retain_graph=True).
    freed = False

    @classmethod
    def apply(cls, *inputs, **params):
        """Run the forward on the inputs' arrays and, when grad is on, record the node."""
        fn = cls()
        try:
            output = fn.forward(*[t.data for t in inputs], **params)
        except ChainruleError:
            raise
        except ValueError as exc:
            # NumPy's message alone ("operands could not be broadcast ...") does not say which op.
            shapes = " and ".join(str(t.data.shape) for t in inputs)
            if "broadcast" in str(exc):
                raise ShapeError(f"{cls.op_name()}: shapes {shapes} cannot be broadcast together "
                                 "(from the right, each pair of sizes must be equal or one of them 1)") from None
            raise ShapeError(f"{cls.op_name()}: {exc} (input shapes {shapes})") from None
        except TypeError:
            devices = [device_of(t.data) for t in inputs]
            if len(set(devices)) > 1:  # CuPy refuses host arrays; say which op and which devices
                raise DeviceError(f"{cls.op_name()}: expected all inputs on one device, got {', '.join(devices)}; "
                                  "move them with .to(device)") from None
            raise
        if _anomaly_hook is not None:
            _anomaly_hook(fn, output, inputs)
        Tensor = _tensor_class
        if getattr(_state, "grad_enabled", True):
            needs = tuple(t.requires_grad for t in inputs)
            if True in needs:
                fn.inputs = inputs
                fn.needs_input_grad = needs
                out = Tensor._wrap(output, True)
                out._creator = fn
                return out
        return Tensor._wrap(output, False)

    def forward(self, *arrays):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad_output):  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def name(self) -> str:
        return type(self).__name__

    # The name users know the op by, where snake_case of the class name would not give it.
    op: str | None = None

    @classmethod
    def op_name(cls) -> str:
        """The op's public name: ``matmul`` for MatMul, ``log_softmax`` for LogSoftmax."""
        return cls.__dict__.get("op") or re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()

    def release(self) -> None:
        """Drop the arrays saved for backward, keeping only the graph's structure."""
        inputs, needs, site = self.inputs, self.needs_input_grad, self.__dict__.get("site")
        self.__dict__.clear()
        self.inputs, self.needs_input_grad, self.freed = inputs, needs, True
        if site is not None:
            self.site = site

    def __repr__(self) -> str:
        return f"<{self.name}>"


# Set by tensor.py once Tensor exists (tensor.py imports this module, so it cannot import back).
_tensor_class = None

# Installed by detect_anomaly(); None when off, so the normal path costs one comparison.
_anomaly_hook = None


def set_anomaly_hook(hook) -> None:
    global _anomaly_hook
    _anomaly_hook = hook

