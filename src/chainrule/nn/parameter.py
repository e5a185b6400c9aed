"""Parameter: a Tensor that a Module registers as learnable (it always requires grad)."""

from __future__ import annotations

from ..tensor import Tensor


class Parameter(Tensor):
    """A learnable tensor: assigning one to a Module attribute registers it in ``parameters()``."""

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True, dtype=None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
