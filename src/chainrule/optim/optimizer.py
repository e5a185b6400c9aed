"""Optimizer: the base of every update rule; parameter groups, state, zero_grad and state_dict.

Updates happen in place on the parameters' arrays (and on preallocated state arrays), so a
step allocates nothing new once the state exists.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import array_module, threads, to_device
from ..errors import ConfigError
from ..tensor import Tensor


def check_lr(owner: str, lr) -> float:
    if (
        not isinstance(lr, (int, float, np.floating))
        or isinstance(lr, bool)
        or math.isnan(lr)
        or lr <= 0
        or math.isinf(lr)
    ):
        raise ConfigError(f"{owner}: lr (learning rate) must be a positive finite number, got {lr!r}")
    return float(lr)


def check_range(owner: str, name: str, value, low: float, high: float, high_open: bool = True) -> float:
    ok = (
        isinstance(value, (int, float, np.floating))
        and not isinstance(value, bool)
        and low <= value
        and (value < high if high_open else value <= high)
    )
    if not ok:
        bracket = ")" if high_open else "]"
        raise ConfigError(f"{owner}: {name} must be in [{low}, {high}{bracket}, got {value!r}")
    return float(value)


class Optimizer:
    """Holds parameter groups (each a dict of 'params' and hyperparameters) and per-parameter state."""

    def __init__(self, params, defaults: dict):
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(
                f"{name}: params should be an iterable of Parameters (e.g. model.parameters()), got a single Tensor"
            )
        params = list(params)
        if not params:
            raise ConfigError(f"{name}: got an empty parameter list; did the model register its layers as attributes?")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.defaults = defaults
        self.param_groups: list[dict] = []
        self.state: dict = {}
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict) -> None:
        name = type(self).__name__
        group = dict(group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        for p in group["params"]:
            if not isinstance(p, Tensor) or not p.requires_grad:
                raise ConfigError(
                    f"{name}: every parameter must be a Tensor that requires grad, got {type(p).__name__}"
                )
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self.validate(group)
        self.param_groups.append(group)

    def validate(self, group: dict) -> None:
        check_lr(type(self).__name__, group["lr"])

    def set_lr(self, lr: float) -> None:
        """Set every group's learning rate, and the rate a schedule starts from (``initial_lr``): resuming a run with
        a new learning rate (PyTorch's users write ``param_groups[i]["lr"]`` for the first part)."""
        lr = check_lr(type(self).__name__, lr)
        for group in self.param_groups:
            group["lr"] = group["initial_lr"] = lr

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients before the next backward (they would otherwise add up)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p._grad is not None:
                    p._grad.array[...] = 0

    def step(self) -> None:
        threads.step_mark()  # one step passed: the thread tuner's clock (set_num_threads("auto"); else nothing)
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is None:
                    continue
                state = self.state.setdefault(id(p), {})
                self.update(p.array, p._grad.array, state, group)
                p._bump_version()  # an in-place write, as any other: a graph that saved p sees it

    # For explanations (the playground's chain panel): the update rule in symbols, and the symbol of each state entry.
    rule = "w ← w − η·g"
    state_symbols: dict = {}

    def update_rule(self, group: dict) -> str:
        """The rule this group's settings apply, in symbols (η the learning rate, g the gradient)."""
        return self.rule

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict, group: dict) -> None:  # pragma: no cover
        raise NotImplementedError

    # ------------------------------------------------------------ state
    def _all_params(self) -> list:
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self) -> dict:
        """{'state': {index: {name: array or number}}, 'param_groups': [hyperparameters, 'params': indices]}."""
        index = {id(p): i for i, p in enumerate(self._all_params())}
        state = {}
        for key, value in self.state.items():
            state[index[key]] = {
                k: (v.copy() if hasattr(v, "shape") else v) for k, v in value.items() if not k.startswith("_")
            }
        groups = []
        for group in self.param_groups:
            saved = {k: v for k, v in group.items() if k != "params"}
            saved["params"] = [index[id(p)] for p in group["params"]]
            groups.append(saved)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
            len(g["params"]) != len(o["params"]) for g, o in zip(groups, self.param_groups)
        ):
            raise ConfigError(
                f"{type(self).__name__}.load_state_dict: the saved parameter groups do not match this optimizer's"
            )
        name = f"{type(self).__name__}.load_state_dict"
        params = self._all_params()
        for group, saved in zip(self.param_groups, groups):
            for key, value in saved.items():
                if key != "params" and key in group and not _same_kind(group[key], value):
                    raise ConfigError(f"{name}: the saved {key!r} is {value!r}, not a value like {group[key]!r}")
        for group, saved in zip(self.param_groups, groups):
            group.update({k: v for k, v in saved.items() if k != "params"})
        self.state = {}
        for key, value in state_dict["state"].items():
            index = int(key)
            if not 0 <= index < len(params) or not isinstance(value, dict):
                raise ConfigError(f"{name}: saved state for parameter {key!r}, which this optimizer does not have")
            p = params[index]
            entries = {}
            for k, v in value.items():
                if hasattr(v, "shape"):
                    if tuple(v.shape) != tuple(p.shape):
                        raise ConfigError(f"{name}: {k!r} of parameter {index} has shape {v.shape}, not {p.shape}")
                    v = to_device(np.asarray(v, dtype=p.dtype), p.device)
                elif not isinstance(v, (int, float)) or isinstance(v, bool):
                    raise ConfigError(f"{name}: {k!r} of parameter {index} is {v!r}, not an array or a number")
                entries[k] = v
            self.state[id(p)] = entries

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"  group {i}: " + ", ".join(f"{k}={v}" for k, v in group.items() if k != "params"))
        return "\n".join(lines + [")"])


def _same_kind(current, saved) -> bool:
    """A saved hyperparameter is of the kind the optimizer holds: a number for a number, a pair for a pair."""
    if isinstance(current, bool) or current is None:
        return isinstance(saved, bool) if isinstance(current, bool) else True
    if isinstance(current, (int, float)):
        return isinstance(saved, (int, float)) and not isinstance(saved, bool)
    if isinstance(current, (tuple, list)):
        return isinstance(saved, (tuple, list)) and len(saved) == len(current) and all(map(_same_kind, current, saved))
    return True


def scratch(state: dict, like: np.ndarray, key: str = "_scratch") -> np.ndarray:
    """A per-parameter work array, allocated once (keys starting with _ are not saved in state_dict)."""
    buffer = state.get(key)
    if buffer is None:
        buffer = state[key] = array_module(like).empty_like(like)
    return buffer


def with_weight_decay(param: np.ndarray, grad: np.ndarray, state: dict, weight_decay: float) -> np.ndarray:
    """g + wd * p (L2 regularisation's gradient), written into the scratch array."""
    if not weight_decay:
        return grad
    out = scratch(state, grad, "_decayed")
    array_module(param).multiply(param, weight_decay, out=out)
    out += grad
    return out
