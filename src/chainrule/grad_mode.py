"""Grad mode: no_grad, enable_grad, set_grad_enabled, inference_mode (PyTorch's torch/autograd/grad_mode.py).

While grad mode is off, ops run their forward and record no node. The flag is per thread, as PyTorch's.
"""

from __future__ import annotations

import contextlib

from .engine import grad_state as _state  # (on the walk's floor: the recorded walk turns recording on)


def is_grad_enabled() -> bool:
    """False inside ``no_grad()``: ops then record nothing."""
    return _state.grad_enabled


class _GradMode(contextlib.ContextDecorator):
    def __init__(self, enabled: bool):
        self.enabled = enabled

    def _recreate_cm(self):
        return _GradMode(self.enabled)  # a fresh one per decorated call: recursion keeps each previous mode

    def __enter__(self):
        self.previous = is_grad_enabled()
        _state.grad_enabled = self.enabled
        return self

    def __exit__(self, *exc):
        _state.grad_enabled = self.previous
        return False


class _FixedGradMode(_GradMode):
    """A grad mode usable as ``with m():``, ``@m()`` and bare ``@m`` (the mode is the class's ``enabled``)."""

    mode = True

    def __new__(cls, func=None):
        self = super().__new__(cls)
        if callable(func):  # used bare: @no_grad
            self.__init__()
            return self(func)
        return self

    def __init__(self, func=None):
        super().__init__(self.mode)


class no_grad(_FixedGradMode):  # noqa: N801 - PyTorch's name
    """Context manager and decorator (``@no_grad()`` or bare ``@no_grad``): ops inside record no
    graph (for evaluation and for updates written by hand)."""

    mode = False


class enable_grad(_FixedGradMode):  # noqa: N801
    """Context manager and decorator that turns recording back on inside ``no_grad``."""

    mode = True


class set_grad_enabled(_GradMode):  # noqa: N801
    """``set_grad_enabled(False)`` as a context manager or decorator; called alone it sets the mode."""

    def __init__(self, mode: bool):
        super().__init__(bool(mode))
        self.previous = is_grad_enabled()
        _state.grad_enabled = self.enabled

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _state.grad_enabled = self.previous
        return False


class inference_mode(no_grad):  # noqa: N801
    """As ``no_grad`` here (PyTorch's faster variant of it); ``inference_mode(False)`` records."""

    def __new__(cls, mode=True):
        if callable(mode):
            self = object.__new__(cls)
            _GradMode.__init__(self, False)
            return self(mode)
        return object.__new__(cls)

    def __init__(self, mode: bool = True):
        _GradMode.__init__(self, not mode)
