"""chainrule: a deep-learning library built on NumPy, from the chain rule up.

A Tensor records the ops applied to it; ``loss.backward()`` applies the chain rule backwards over
that graph to give every parameter its gradient in one pass. The names follow PyTorch's, so that
``import chainrule as torch`` runs most PyTorch beginner code (docs/pytorch.md lists what differs).
"""

# The packages PyTorch users reach for as attributes: torch.nn, torch.optim, torch.autograd, ...
from . import accelerator, autograd, backend, backends, cuda, data, errors, functional, nn, optim, utils  # noqa: E402,I001
from .anomaly import detect_anomaly
from .backend import (
    float16,
    float32,
    float64,
    get_default_device,
    get_default_dtype,
    get_num_threads,
    get_rng_state,
    initial_seed,
    int8,
    int16,
    int32,
    int64,
    manual_seed,
    set_default_device,
    set_default_dtype,
    set_num_threads,
    set_rng_state,
    uint8,
)
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
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


def is_floating_point(input: Tensor) -> bool:
    return input.is_floating_point()


def numel(input: Tensor):
    return input.numel()


def clone(input: Tensor) -> Tensor:
    return input.clone()


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """How tensors print, as PyTorch's options: decimals, when to summarise with '...', line width, and
    scientific notation forced on or off (None: chosen from the values). ``profile``: 'default', 'short'
    (2 decimals) or 'full' (never summarise)."""
    import numpy

    from .printing import PRINT_OPTIONS

    if profile is not None:
        presets = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80), "full": (4, 2**63 - 1, 3, 80)}
        if profile not in presets:
            raise ValueError(f"set_printoptions: profile must be 'default', 'short' or 'full', got {profile!r}")
        precision, threshold, edgeitems, linewidth = (
            given if given is not None else preset
            for given, preset in zip((precision, threshold, edgeitems, linewidth), presets[profile])
        )
    for key, value in (("precision", precision), ("linewidth", linewidth)):
        if value is not None:
            PRINT_OPTIONS[key] = int(value)
    PRINT_OPTIONS["sci_mode"] = sci_mode
    numpy.set_printoptions(**{k: v for k, v in dict(threshold=threshold, edgeitems=edgeitems).items() if v is not None})


__all__ = [
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
    "backends",
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
    "get_num_threads",
    "set_num_threads",
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
