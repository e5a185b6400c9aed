"""Containers: Sequential (layers applied in order) and ModuleList (a list whose parameters register)."""

from __future__ import annotations

from .module import Module


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
