"""Learning-rate schedulers: StepLR, ExponentialLR, CosineAnnealingLR, LinearLR, ReduceLROnPlateau.

Call ``scheduler.step()`` once per epoch after ``optimizer.step()``, as in PyTorch.
"""

from __future__ import annotations

import math

from ..errors import ConfigError
from .optimizer import Optimizer


class LRScheduler:
    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._apply()

    def lr_at(self, base_lr: float, epoch: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def _apply(self) -> None:
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self.lr_at(base, self.last_epoch)

    def step(self) -> None:
        self.last_epoch += 1
        self._apply()

    def get_last_lr(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        return {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs)}

    def load_state_dict(self, state: dict) -> None:
        self.last_epoch, self.base_lrs = int(state["last_epoch"]), list(state["base_lrs"])
        self._apply()


def _positive(owner, name, value, integer=False):
    if (integer and not isinstance(value, int)) or isinstance(value, bool) or not value > 0:
        raise ConfigError(f"{owner}: {name} must be a positive {'integer' if integer else 'number'}, got {value!r}")


class StepLR(LRScheduler):
    """lr = base * gamma^(epoch // step_size)."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1):
        _positive("StepLR", "step_size", step_size, integer=True)
        _positive("StepLR", "gamma", gamma)
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer)

    def lr_at(self, base_lr, epoch):
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """lr = base * gamma^epoch."""

    def __init__(self, optimizer, gamma: float):
        _positive("ExponentialLR", "gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer)

    def lr_at(self, base_lr, epoch):
        return base_lr * self.gamma**epoch


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base - eta_min) (1 + cos(pi epoch / T_max)) / 2."""

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0):  # noqa: N803 - PyTorch's name
        _positive("CosineAnnealingLR", "T_max", T_max, integer=True)
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer)

    def lr_at(self, base_lr, epoch):
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2


class LinearLR(LRScheduler):
    """Warm-up: the factor goes linearly from start_factor to end_factor over total_iters epochs."""

    def __init__(self, optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5):
        if not 0 < start_factor <= 1 or not 0 <= end_factor <= 1:
            raise ConfigError(
                f"LinearLR: start_factor must be in (0, 1] and end_factor in [0, 1], got {start_factor}, {end_factor}"
            )
        _positive("LinearLR", "total_iters", total_iters, integer=True)
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer)

    def lr_at(self, base_lr, epoch):
        progress = min(epoch, self.total_iters) / self.total_iters
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)


class ReduceLROnPlateau:
    """Multiply the lr by ``factor`` when the watched metric has not improved for ``patience`` epochs."""

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float = 0.0,
        eps: float = 1e-8,
    ):
        if mode not in ("min", "max") or threshold_mode not in ("rel", "abs"):
            raise ConfigError(
                f"ReduceLROnPlateau: mode must be 'min'/'max' and threshold_mode 'rel'/'abs', got {mode!r}, "
                f"{threshold_mode!r}"
            )
        if not 0 < factor < 1:
            raise ConfigError(f"ReduceLROnPlateau: factor must be in (0, 1), got {factor}")
        if not isinstance(patience, int) or patience < 0:
            raise ConfigError(f"ReduceLROnPlateau: patience must be a non-negative integer, got {patience!r}")
        self.optimizer, self.mode, self.factor, self.patience = optimizer, mode, factor, patience
        self.threshold, self.threshold_mode, self.cooldown, self.min_lr, self.eps = (
            threshold,
            threshold_mode,
            cooldown,
            min_lr,
            eps,
        )
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0

    def _better(self, value: float) -> bool:
        if self.mode == "min":
            limit = self.best * (1 - self.threshold) if self.threshold_mode == "rel" else self.best - self.threshold
            return value < limit
        limit = self.best * (1 + self.threshold) if self.threshold_mode == "rel" else self.best + self.threshold
        return value > limit

    def step(self, metric: float) -> None:
        value = float(metric)
        self.last_epoch += 1
        if self._better(value):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group in self.optimizer.param_groups:
                new_lr = max(group["lr"] * self.factor, self.min_lr)
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0

    def get_last_lr(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("best", "num_bad_epochs", "cooldown_counter", "last_epoch")}

    def load_state_dict(self, state: dict) -> None:
        for key, value in state.items():
            setattr(self, key, value)


# Schedulers by the names configs and the command use.
SCHEDULERS = {
    "step": StepLR,
    "exponential": ExponentialLR,
    "cosine": CosineAnnealingLR,
    "warmup": LinearLR,
    "plateau": ReduceLROnPlateau,
}
