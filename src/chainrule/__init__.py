"""chainrule: a deep-learning library built on NumPy, from the chain rule up.

A Tensor records the ops applied to it; ``loss.backward()`` applies the chain rule backwards over
that graph to give every parameter its gradient in one pass. The names follow PyTorch's, so that
``import chainrule as torch`` runs most PyTorch beginner code (docs/pytorch.md lists what differs).
"""

# The packages PyTorch users reach for as attributes: torch.nn, torch.optim, torch.autograd, ...
from . import accelerator, autograd, backend, cuda, data, errors, functional, nn, optim, utils  # noqa: E402,I001
from .anomaly import detect_anomaly
from .backend import (
    float16,
    float32,
    float64,
    get_default_device,
    get_default_dtype,
    get_rng_state,
    initial_seed,
    int8,
    int16,
    int32,
    int64,
    manual_seed,
    set_default_device,
    set_default_dtype,
    set_rng_state,
    uint8,
)
from .function import Function, enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import gradcheck, numerical_grad
from .ops import *  # noqa: F401,F403
from .ops import __all__ as _ops_all
from .ops.compare import (
    allclose,
    bitwise_not,
    eq,
    equal,
    ge,
    gt,
    isclose,
    isfinite,
    isinf,
    isnan,
    le,
    logical_and,
    logical_not,
    logical_or,
    lt,
    ne,
)
from .ops.creation import as_tensor
from .ops.random import default_generator_object as default_generator
from .serialization import load, save
from .tensor import Size, Tensor, device, tensor
from .ops import tensor_methods

tensor_methods.attach(Tensor)  # the operators and methods of Tensor come from the ops, attached here

__version__ = "0.1.0"

# PyTorch's dtype names (these shadow the builtins inside this module only: nothing below uses them).
bool = backend.DTYPE_ALIASES["bool"]  # noqa: A001
double = backend.DTYPE_ALIASES["double"]
float = backend.DTYPE_ALIASES["float"]  # noqa: A001
half = backend.DTYPE_ALIASES["half"]
int = backend.DTYPE_ALIASES["int"]  # noqa: A001
long = backend.DTYPE_ALIASES["long"]
short = backend.DTYPE_ALIASES["short"]


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def is_floating_point(t: Tensor) -> bool:
    return t.is_floating_point()


def numel(t: Tensor):
    return t.numel()


def clone(t: Tensor) -> Tensor:
    return t.clone()


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, sci_mode=None) -> None:
    """How tensors print (NumPy's print options underneath)."""
    import numpy

    options = {
        k: v
        for k, v in dict(precision=precision, threshold=threshold, edgeitems=edgeitems, linewidth=linewidth).items()
        if v is not None
    }
    if sci_mode is not None:
        options["suppress"] = not sci_mode
    numpy.set_printoptions(**options)


__all__ = [
    "Function",
    "Size",
    "Tensor",
    "accelerator",
    "allclose",
    "as_tensor",
    "autograd",
    "backend",
    "bitwise_not",
    "bool",
    "clone",
    "cuda",
    "data",
    "detect_anomaly",
    "device",
    "double",
    "enable_grad",
    "eq",
    "equal",
    "errors",
    "float",
    "float16",
    "float32",
    "float64",
    "functional",
    "ge",
    "get_default_device",
    "get_default_dtype",
    "get_rng_state",
    "gradcheck",
    "gt",
    "half",
    "inference_mode",
    "int",
    "int8",
    "int16",
    "int32",
    "int64",
    "default_generator",
    "initial_seed",
    "is_floating_point",
    "is_grad_enabled",
    "is_tensor",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "le",
    "load",
    "logical_and",
    "logical_not",
    "logical_or",
    "long",
    "lt",
    "manual_seed",
    "ne",
    "nn",
    "no_grad",
    "numel",
    "numerical_grad",
    "optim",
    "save",
    "set_default_device",
    "set_default_dtype",
    "set_grad_enabled",
    "set_printoptions",
    "set_rng_state",
    "short",
    "tensor",
    "uint8",
    "utils",
] + _ops_all
