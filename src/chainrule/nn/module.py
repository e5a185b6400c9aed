"""Module: the base class of layers and networks (parameters, children, train/eval, state_dict)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

import numpy as np

from ..backend import device_of, is_device_array, to_device
from ..errors import StateDictError
from ..grad_mode import no_grad
from ..tensor import Tensor
from .parameter import Parameter


class Module:
    """Subclass it, create layers and Parameters in ``__init__``, and compute in ``forward``."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_forward_hooks", [])

    # ------------------------------------------------------------ registration
    def __setattr__(self, name: str, value) -> None:
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        if name in self._buffers and value is not None and not isinstance(value, (Parameter, Module)):
            self.register_buffer(name, value)  # assigning to a buffer's name replaces the buffer, as in PyTorch
            return
        for registry in (self._parameters, self._modules, self._buffers):
            registry.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._modules, self._buffers):
            registry.pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name: str, tensor) -> None:
        """A non-learnable tensor saved in the state_dict (e.g. BatchNorm's running mean)."""
        if tensor is not None and not isinstance(tensor, Tensor):
            tensor = Tensor.wrap(tensor if is_device_array(tensor) else np.asarray(tensor), False)
        self._buffers[name] = tensor
        object.__setattr__(self, name, tensor)

    def register_forward_hook(self, hook) -> None:
        """Call ``hook(module, inputs, output)`` after every forward (used by GradientMonitor)."""
        self._forward_hooks.append(hook)

    def remove_forward_hook(self, hook) -> None:
        self._forward_hooks.remove(hook)

    # ------------------------------------------------------------ calling
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        output = self.forward(*args, **kwargs)
        for hook in self._forward_hooks:
            hook(self, args, output)
        return output

    # ------------------------------------------------------------ traversal
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            yield name, module
            for child_name, child in reversed(module._modules.items()):
                stack.append((f"{name}.{child_name}" if name else child_name, child))

    def modules(self) -> Iterator["Module"]:
        for _, module in self.named_modules():
            yield module

    def children(self) -> Iterator["Module"]:
        yield from self._modules.values()

    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        yield from self._modules.items()

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        seen = set()
        for prefix, module in self.named_modules():
            for name, param in module._parameters.items():
                if param is not None and id(param) not in seen:
                    seen.add(id(param))
                    yield (f"{prefix}.{name}" if prefix else name), param

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        if not recurse:
            yield from (p for p in self._parameters.values() if p is not None)
            return
        for _, param in self.named_parameters():
            yield param

    def named_buffers(self) -> Iterator[tuple[str, Tensor]]:
        for prefix, module in self.named_modules():
            for name, buffer in module._buffers.items():
                if buffer is not None:
                    yield (f"{prefix}.{name}" if prefix else name), buffer

    def buffers(self) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers():
            yield buffer

    # ------------------------------------------------------------ modes and gradients
    def train(self, mode: bool = True) -> "Module":
        """Training mode: Dropout drops and BatchNorm uses batch statistics."""
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> "Module":
        """Evaluation mode: Dropout is off and BatchNorm uses its running statistics."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients before the next backward (they would otherwise add up)."""
        for param in self.parameters():
            if set_to_none or param._grad is None:
                param._grad = None
            else:
                param._grad.array[...] = 0

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Freeze (False) or unfreeze every parameter."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def apply(self, fn) -> "Module":
        """Call ``fn(module)`` on every submodule, children first, then on self (e.g. to initialise weights)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def add_module(self, name: str, module: "Module | None") -> None:
        setattr(self, name, module)

    register_module = add_module

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is None:
            self._parameters[name] = None
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, param)

    def to(self, dtype=None, device=None) -> "Module":
        """Cast every parameter and buffer to ``dtype`` (float32 or float64) and/or move them to
        ``device`` ('cpu' or 'cuda'), in place; ``model.to("cuda")`` names just the device."""
        from .. import backend

        if isinstance(dtype, str) and (dtype in ("cpu", "cuda") or dtype.startswith("cuda:")):
            dtype, device = None, dtype
        dtype = backend.resolve_dtype(dtype) if dtype is not None else None
        device = backend.check_device(device) if device is not None else None

        def convert(array):
            if device is not None:
                array = backend.to_device(array, device)
            if dtype is not None and array.dtype.kind == "f":
                array = array.astype(dtype)
            return array

        for module in self.modules():
            for param in module._parameters.values():
                if param is not None:
                    param.array = convert(param.array)
                    param._grad = None
            for name, buffer in list(module._buffers.items()):
                if buffer is not None:
                    module.register_buffer(name, convert(buffer.array))
        return self

    def cuda(self) -> "Module":
        return self.to(device="cuda")

    def cpu(self) -> "Module":
        return self.to(device="cpu")

    @property
    def device(self) -> str:
        """Where the parameters live ('cpu' or 'cuda')."""
        first = next(self.parameters(), None)
        return first.device if first is not None else "cpu"

    def double(self) -> "Module":
        return self.to(np.float64)

    def float(self) -> "Module":
        return self.to(np.float32)

    def num_parameters(self) -> int:
        return int(sum(p.array.size for p in self.parameters()))

    # ------------------------------------------------------------ state
    def state_dict(self) -> "OrderedDict[str, Tensor]":
        """Every parameter and buffer by dotted name, as Tensors holding copies (training on does not
        change a state dict taken earlier; PyTorch's share memory, see docs/pytorch.md)."""
        state = OrderedDict((name, Tensor.wrap(p.array.copy(), False)) for name, p in self.named_parameters())
        state.update((name, Tensor.wrap(b.array.copy(), False)) for name, b in self.named_buffers())
        return state

    def load_state_dict(self, state_dict, strict: bool = True) -> tuple[list, list]:
        """Copy arrays into parameters and buffers; with ``strict`` any key problem is an error.

        All missing, unexpected and wrongly shaped keys are reported together, by name.
        Returns (missing, unexpected) when not strict.
        """
        own = dict(self.named_parameters())
        buffers = {
            name: (module, key)
            for prefix, module in self.named_modules()
            for key in module._buffers
            for name in [f"{prefix}.{key}" if prefix else key]
        }
        expected = set(own) | set(buffers)
        given = {
            k: (v.array if isinstance(v, Tensor) else v if is_device_array(v) else np.asarray(v))
            for k, v in state_dict.items()
        }
        # checkpoints from before BatchNorm counted its batches lack num_batches_tracked: it starts at 0
        missing = sorted(k for k in expected - set(given) if not k.endswith("num_batches_tracked"))
        unexpected = sorted(set(given) - expected)
        mismatched = []
        for name in sorted(expected & set(given)):
            target = own[name].array if name in own else buffers[name][0]._buffers[buffers[name][1]].array
            if target.shape != given[name].shape:
                mismatched.append(f"{name}: checkpoint {given[name].shape}, model {target.shape}")
        problems = []
        if mismatched:
            problems.append("shape mismatch for " + "; ".join(mismatched))
        if strict and missing:
            problems.append("missing keys " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys " + ", ".join(unexpected))
        if problems:
            raise StateDictError(f"{type(self).__name__}.load_state_dict: " + " | ".join(problems))
        with no_grad():
            for name, array in given.items():
                if name in own:
                    param = own[name]
                    param.array = to_device(array.astype(param.array.dtype, copy=True), param.device)
                elif name in buffers:
                    module, key = buffers[name]
                    target = module._buffers[key].array
                    module.register_buffer(key, to_device(array.astype(target.dtype, copy=True), device_of(target)))
        return missing, unexpected

    # ------------------------------------------------------------ display
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, child in self._modules.items():
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_repr}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + (")" if not lines else "\n" + "\n".join(lines) + "\n)")

    def summary(self, input_shape: tuple | None = None, dtype=None) -> str:
        """A table of layers with output shapes (when ``input_shape`` is given) and parameter counts."""
        from ..backend import resolve_dtype

        shapes = {}
        hooks = []
        if input_shape is not None:
            for name, module in self.named_modules():

                def hook(mod, inputs, output, name=name):
                    shapes[name] = tuple(output.shape) if isinstance(output, Tensor) else "?"

                module.register_forward_hook(hook)
                hooks.append((module, hook))
            was_training = self.training
            self.eval()
            try:
                with no_grad():
                    sample = Tensor(
                        np.zeros((1,) + tuple(input_shape[1:] if len(input_shape) > 1 else input_shape)),
                        dtype=resolve_dtype(dtype),
                    )
                    self(sample.to(self.device))
            finally:
                for module, hook in hooks:
                    module.remove_forward_hook(hook)
                self.train(was_training)
        rows = [("layer", "type", "output shape", "params")]
        for name, module in self.named_modules():
            if not name:
                continue
            count = sum(p.array.size for p in module._parameters.values())
            out = shapes.get(name, "")
            rows.append(
                (
                    name,
                    type(module).__name__,
                    "(N" + "".join(f", {d}" for d in out[1:]) + ")" if out and out != "?" else str(out),
                    f"{count:,}",
                )
            )
        total = self.num_parameters()
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        fmt = "  ".join(f"{{:<{w}}}" for w in widths)
        out_lines = [fmt.format(*rows[0]), "-" * (sum(widths) + 6)] + [fmt.format(*r) for r in rows[1:]]
        out_lines.append(f"total parameters: {total:,}")
        return "\n".join(out_lines)
