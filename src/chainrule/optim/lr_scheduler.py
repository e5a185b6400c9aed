"""Learning-rate schedulers: StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, CosineAnnealingWarmRestarts,
LinearLR, LambdaLR, OneCycleLR, SequentialLR, ReduceLROnPlateau.

Call ``scheduler.step()`` once per epoch (OneCycleLR: once per batch) after ``optimizer.step()``, as in
PyTorch. Each schedule is a formula of the epoch (``lr_at``), so resuming at an epoch gives its rate.
"""

from __future__ import annotations

import bisect
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

    def set_base_lr(self, lr: float) -> None:
        """Make ``lr`` the rate the schedule scales, for every group, from its current position on (resuming a run
        with a new learning rate)."""
        self.base_lrs = [lr for _ in self.base_lrs]

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


class MultiStepLR(LRScheduler):
    """lr = base * gamma^(how many milestones the epoch has reached)."""

    def __init__(self, optimizer, milestones, gamma: float = 0.1):
        milestones = sorted(milestones)
        if not milestones or any(not isinstance(m, int) or m < 0 for m in milestones):
            raise ConfigError(f"MultiStepLR: milestones must be non-negative integers, got {milestones!r}")
        _positive("MultiStepLR", "gamma", gamma)
        self.milestones, self.gamma = milestones, gamma
        super().__init__(optimizer)

    def lr_at(self, base_lr, epoch):
        return base_lr * self.gamma ** bisect.bisect_right(self.milestones, epoch)


class LambdaLR(LRScheduler):
    """lr = base * lr_lambda(epoch): a function of yours, or one per parameter group."""

    def __init__(self, optimizer, lr_lambda):
        count = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 0
        lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * count
        if len(lambdas) != count or not all(callable(f) for f in lambdas):
            raise ConfigError(f"LambdaLR: expected a function or one per parameter group ({count}), got {lr_lambda!r}")
        self.lr_lambdas = lambdas
        super().__init__(optimizer)

    def _apply(self) -> None:
        for group, base, factor in zip(self.optimizer.param_groups, self.base_lrs, self.lr_lambdas):
            group["lr"] = base * factor(self.last_epoch)


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine annealing from base to eta_min over T_0 epochs, then again from base over T_0 * T_mult, and so
    on (SGDR, Loshchilov and Hutter 2017)."""

    def __init__(self, optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0):  # noqa: N803 - PyTorch's names
        _positive("CosineAnnealingWarmRestarts", "T_0", T_0, integer=True)
        if not isinstance(T_mult, int) or T_mult < 1:
            raise ConfigError(f"CosineAnnealingWarmRestarts: T_mult must be an integer >= 1, got {T_mult!r}")
        self.T_0, self.T_mult, self.eta_min = T_0, T_mult, eta_min
        super().__init__(optimizer)

    def lr_at(self, base_lr, epoch):
        if self.T_mult == 1:
            t_cur, t_i = epoch % self.T_0, self.T_0
        else:  # restart n begins at T_0 (T_mult^n - 1) / (T_mult - 1)
            n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
            t_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
            t_i = self.T_0 * self.T_mult**n
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2

    def step(self, epoch=None) -> None:
        """The next epoch, or the (possibly fractional) ``epoch`` given, as PyTorch's."""
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        self._apply()


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith 2018), stepped once per batch: the rate warms up from max_lr / div_factor to
    max_lr over the first pct_start of total_steps, then anneals to that / final_div_factor; momentum (or
    Adam's beta1) cycles the other way, between max_momentum and base_momentum."""

    def __init__(
        self,
        optimizer,
        max_lr,
        total_steps=None,
        epochs=None,
        steps_per_epoch=None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float = 0.85,
        max_momentum: float = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
    ):
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ConfigError("OneCycleLR: give total_steps, or epochs and steps_per_epoch")
            total_steps = epochs * steps_per_epoch
        _positive("OneCycleLR", "total_steps", total_steps, integer=True)
        if not 0 <= pct_start <= 1 or anneal_strategy not in ("cos", "linear"):
            raise ConfigError(
                f"OneCycleLR: pct_start must be in [0, 1] and anneal_strategy 'cos' or 'linear', got {pct_start}, "
                f"{anneal_strategy!r}"
            )
        groups = optimizer.param_groups if isinstance(optimizer, Optimizer) else []
        max_lrs = list(max_lr) if isinstance(max_lr, (list, tuple)) else [max_lr] * len(groups)
        self.total_steps, self.anneal_strategy, self.cycle_momentum = total_steps, anneal_strategy, cycle_momentum
        up = float(pct_start * total_steps) - 1
        phases = [(up, "initial_lr", "max_lr", max_momentum, base_momentum)]
        if three_phase:
            phases.append((2 * float(pct_start * total_steps) - 2, "max_lr", "initial_lr", base_momentum, max_momentum))
            phases.append((total_steps - 1, "initial_lr", "min_lr", max_momentum, max_momentum))
        else:
            phases.append((total_steps - 1, "max_lr", "min_lr", base_momentum, max_momentum))
        self.phases = phases
        for group, peak in zip(groups, max_lrs):
            group["initial_lr"] = peak / div_factor
            group["max_lr"], group["min_lr"] = peak, peak / div_factor / final_div_factor
        if cycle_momentum and groups:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ConfigError("OneCycleLR: cycle_momentum needs an optimizer with momentum or betas")
            self._betas = "betas" in optimizer.defaults
        super().__init__(optimizer)

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _apply(self) -> None:
        step = self.last_epoch
        if step > self.total_steps:
            raise ConfigError(
                f"OneCycleLR: tried to step {step} times; the schedule has total_steps={self.total_steps}"
            )
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for k, (end_step, start_lr, end_lr, start_m, end_m) in enumerate(self.phases):
                if step <= end_step or k == len(self.phases) - 1:
                    pct = (step - start_step) / (end_step - start_step)
                    group["lr"] = self._anneal(group[start_lr], group[end_lr], pct)
                    if self.cycle_momentum:
                        momentum = self._anneal(start_m, end_m, pct)
                        if self._betas:
                            group["betas"] = (momentum, *group["betas"][1:])
                        else:
                            group["momentum"] = momentum
                    break
                start_step = end_step


class SequentialLR(LRScheduler):
    """schedulers[0] until milestones[0], then schedulers[1] (from its own epoch 0), and so on."""

    def __init__(self, optimizer, schedulers, milestones):
        if len(milestones) != len(schedulers) - 1 or list(milestones) != sorted(milestones):
            raise ConfigError(
                f"SequentialLR: expected {len(schedulers) - 1} increasing milestones for {len(schedulers)} "
                f"schedulers, got {list(milestones)}"
            )
        for s in schedulers:
            if getattr(s, "optimizer", None) is not optimizer or not isinstance(s, LRScheduler):
                raise ConfigError("SequentialLR: every scheduler must be an LRScheduler of the same optimizer")
        self._schedulers, self._milestones = list(schedulers), list(milestones)
        super().__init__(optimizer)

    def _apply(self) -> None:
        k = bisect.bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[k]
        scheduler.last_epoch = self.last_epoch - (self._milestones[k - 1] if k else 0)
        scheduler._apply()


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
