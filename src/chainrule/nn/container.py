"""Containers: Sequential (layers applied in order), and lists and dicts of modules or parameters whose
contents register, so that ``parameters()``, ``state_dict()`` and ``to()`` find them."""

from __future__ import annotations

from .module import Module
from .parameter import Parameter


def _key(owner: Module, key) -> str:
    if not isinstance(key, str) or not key or "." in key:
        raise KeyError(f"{type(owner).__name__}: keys are non-empty strings without '.', got {key!r}")
    return key


class ModuleList(Module):
    """A list of modules whose parameters are registered."""

    def __init__(self, modules=()):
        super().__init__()
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"{type(self).__name__}: argument {index} is a {type(module).__name__}, not a Module")
            self.append(module)

    def append(self, module: Module) -> "ModuleList":
        setattr(self, str(len(self._modules)), module)
        return self

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


class Sequential(ModuleList):
    """Apply the given modules one after another: Sequential(Linear(2, 8), ReLU(), Linear(8, 1))."""

    def __init__(self, *modules: Module):
        super().__init__(modules)

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x


class _Dict(Module):
    """A dict whose values register in one of the Module's registries (``_registry``: "_modules" or
    "_parameters"), in insertion order; ``_value`` checks or converts what is stored."""

    _registry = "_modules"

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self.update(values)

    def _value(self, key, value):  # pragma: no cover - each subclass says what it stores
        raise NotImplementedError

    def __setitem__(self, key: str, value) -> None:
        setattr(self, _key(self, key), self._value(key, value))

    def __getitem__(self, key: str):
        return getattr(self, self._registry)[key]

    def __delitem__(self, key: str) -> None:
        delattr(self, key)

    def __contains__(self, key) -> bool:
        return key in getattr(self, self._registry)

    def __len__(self) -> int:
        return len(getattr(self, self._registry))

    def __iter__(self):
        return iter(getattr(self, self._registry))

    def keys(self):
        return getattr(self, self._registry).keys()

    def values(self):
        return getattr(self, self._registry).values()

    def items(self):
        return getattr(self, self._registry).items()

    def update(self, values) -> None:
        for key, value in values.items() if hasattr(values, "items") else values:
            self[key] = value

    def pop(self, key: str):
        value = self[key]
        del self[key]
        return value

    def clear(self) -> None:
        for key in list(getattr(self, self._registry)):
            del self[key]


class ModuleDict(_Dict):
    """A dict of modules whose parameters are registered, in insertion order."""

    def _value(self, key, module):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict: the value for {key!r} is a {type(module).__name__}, not a Module")
        return module


def _parameter(owner: Module, value) -> Parameter:
    """value as a Parameter: a Tensor is wrapped (sharing its memory), as PyTorch's containers do."""
    if isinstance(value, Parameter):
        return value
    if hasattr(value, "array"):
        return Parameter(value)
    raise TypeError(f"{type(owner).__name__}: expected a Parameter or a Tensor, got {type(value).__name__}")


class ParameterList(Module):
    """A list of parameters, registered as "0", "1", ... (so a state_dict names them as PyTorch's does)."""

    def __init__(self, values=None):
        super().__init__()
        for value in values or ():
            self.append(value)

    def append(self, value) -> "ParameterList":
        setattr(self, str(len(self._parameters)), _parameter(self, value))
        return self

    def extend(self, values) -> "ParameterList":
        for value in values:
            self.append(value)
        return self

    def __getitem__(self, index: int) -> Parameter:
        return list(self._parameters.values())[index]

    def __setitem__(self, index: int, value) -> None:
        setattr(self, str(range(len(self))[index]), _parameter(self, value))

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())


class ParameterDict(_Dict):
    """A dict of parameters, registered under their keys."""

    _registry = "_parameters"

    def _value(self, key, value):
        return _parameter(self, value)
