"""Adaptive-rate optimizers: Adagrad, Adadelta, RMSprop, Adam and AdamW (PyTorch's update rules)."""

from __future__ import annotations

import math

import numpy as np

from ..backend import array_module, fast
from .optimizer import Optimizer, check_range, scratch, with_weight_decay


def _zeros_like_state(state: dict, key: str, like: np.ndarray, value: float = 0.0) -> np.ndarray:
    array = state.get(key)
    if array is None:
        array = state[key] = array_module(like).full_like(like, value)
    return array


class Adagrad(Optimizer):
    """Per-parameter rate lr / sqrt(sum of squared gradients): frequent features learn slower."""

    rule = "G ← G + g²; w ← w − η·g/(√G + ε)"
    state_symbols = {"sum": "G"}

    def __init__(
        self,
        params,
        lr: float = 0.01,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                lr_decay=lr_decay,
                weight_decay=weight_decay,
                initial_accumulator_value=initial_accumulator_value,
                eps=eps,
            ),
        )

    def validate(self, group):
        super().validate(group)
        for key in ("lr_decay", "weight_decay", "initial_accumulator_value"):
            check_range("Adagrad", key, group[key], 0.0, float("inf"))
        check_range("Adagrad", "eps", group["eps"], 0.0, float("inf"))

    def update(self, param, grad, state, group):
        xp = array_module(param)
        step = state["step"] = state.get("step", 0) + 1
        total = _zeros_like_state(state, "sum", param, group["initial_accumulator_value"])
        grad = with_weight_decay(param, grad, state, group["weight_decay"])
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        work = scratch(state, param)
        xp.multiply(grad, grad, out=work)
        total += work  # G <- G + g^2
        xp.sqrt(total, out=work)
        work += group["eps"]
        xp.divide(grad, work, out=work)
        work *= clr
        param -= work  # p <- p - lr g / (sqrt(G) + eps)


class RMSprop(Optimizer):
    """Divide the gradient by a running root-mean-square of recent gradients (Hinton's RMSprop)."""

    rule = "s ← α·s + (1−α)·g²; w ← w − η·g/(√s + ε)"
    state_symbols = {"square_avg": "s"}

    def __init__(
        self,
        params,
        lr: float = 0.01,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ):
        super().__init__(
            params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered)
        )

    def validate(self, group):
        super().validate(group)
        check_range("RMSprop", "alpha", group["alpha"], 0.0, 1.0, high_open=False)
        check_range("RMSprop", "momentum", group["momentum"], 0.0, 1.0, high_open=False)
        check_range("RMSprop", "weight_decay", group["weight_decay"], 0.0, float("inf"))

    def update(self, param, grad, state, group):
        xp = array_module(param)
        alpha, eps, lr = group["alpha"], group["eps"], group["lr"]
        state["step"] = state.get("step", 0) + 1
        grad = with_weight_decay(param, grad, state, group["weight_decay"])
        square_avg = _zeros_like_state(state, "square_avg", param)
        work, avg = scratch(state, param), scratch(state, param, "_scratch2")
        # v <- alpha v + (1 - alpha) g^2
        square_avg *= alpha
        xp.multiply(grad, grad, out=work)
        work *= 1 - alpha
        square_avg += work
        if group["centered"]:
            # subtract the squared running mean of g: the variance instead of the raw second moment
            grad_avg = _zeros_like_state(state, "grad_avg", param)
            xp.subtract(grad, grad_avg, out=work)
            work *= 1 - alpha
            grad_avg += work
            xp.multiply(grad_avg, grad_avg, out=avg)
            xp.subtract(square_avg, avg, out=avg)
            xp.sqrt(avg, out=avg)
        else:
            xp.sqrt(square_avg, out=avg)
        avg += eps
        xp.divide(grad, avg, out=avg)  # g / (sqrt(v) + eps)
        if group["momentum"] > 0:
            buf = _zeros_like_state(state, "momentum_buffer", param)
            buf *= group["momentum"]
            buf += avg
            xp.multiply(buf, lr, out=avg)
        else:
            avg *= lr
        param -= avg


class Adadelta(Optimizer):
    """Zeiler's Adadelta: the step is the gradient scaled by RMS(past steps) / RMS(past gradients),
    so its units match the parameter's and ``lr`` (1.0 by default) is only a final factor."""

    rule = "s ← ρ·s + (1−ρ)·g²; Δ = g·√(u + ε)/√(s + ε); u ← ρ·u + (1−ρ)·Δ²; w ← w − η·Δ"
    state_symbols = {"square_avg": "s", "acc_delta": "u"}

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay))

    def validate(self, group):
        super().validate(group)
        check_range("Adadelta", "rho", group["rho"], 0.0, 1.0, high_open=False)
        check_range("Adadelta", "eps", group["eps"], 0.0, float("inf"))
        check_range("Adadelta", "weight_decay", group["weight_decay"], 0.0, float("inf"))

    def update(self, param, grad, state, group):
        xp = array_module(param)
        rho, eps = group["rho"], group["eps"]
        state["step"] = state.get("step", 0) + 1
        square_avg = _zeros_like_state(state, "square_avg", param)
        acc_delta = _zeros_like_state(state, "acc_delta", param)
        grad = with_weight_decay(param, grad, state, group["weight_decay"])
        work = scratch(state, param)
        square_avg *= rho  # v <- rho v + (1 - rho) g^2
        xp.multiply(grad, grad, out=work)
        work *= 1 - rho
        square_avg += work
        delta = scratch(state, param, "_delta")
        xp.add(acc_delta, eps, out=delta)  # delta = sqrt(u + eps) / sqrt(v + eps) * g
        xp.sqrt(delta, out=delta)
        xp.add(square_avg, eps, out=work)
        xp.sqrt(work, out=work)
        delta /= work
        delta *= grad
        acc_delta *= rho  # u <- rho u + (1 - rho) delta^2
        xp.multiply(delta, delta, out=work)
        work *= 1 - rho
        acc_delta += work
        delta *= group["lr"]
        param -= delta


class Adam(Optimizer):
    """Momentum (first moment m) and RMSprop (second moment v) with bias correction (Kingma & Ba).

    m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
    p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
    """

    rule = "m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; w ← w − η·m̂/(√v̂ + ε)"
    state_symbols = {"exp_avg": "m", "exp_avg_sq": "v"}

    decoupled = False

    def __init__(self, params, lr: float = 0.001, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    def validate(self, group):
        super().validate(group)
        name = type(self).__name__
        betas = group["betas"]
        if len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
        check_range(name, "beta1", betas[0], 0.0, 1.0)
        check_range(name, "beta2", betas[1], 0.0, 1.0)
        check_range(name, "eps", group["eps"], 0.0, float("inf"))
        check_range(name, "weight_decay", group["weight_decay"], 0.0, float("inf"))

    def update(self, param, grad, state, group):
        xp = array_module(param)
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        step = state["step"] = state.get("step", 0) + 1
        bias_correction1 = 1 - beta1**step
        bias_correction2_sqrt = math.sqrt(1 - beta2**step)
        m = _zeros_like_state(state, "exp_avg", param)
        v = _zeros_like_state(state, "exp_avg_sq", param)
        if not self.decoupled:
            grad = with_weight_decay(param, grad, state, wd)  # Adam's L2 penalty: g + wd p
        decoupled_decay = wd if self.decoupled else 0.0
        if fast.adam_update(param, grad, m, v, lr, beta1, beta2, eps, step, decoupled_decay):
            return  # one pass (a Numba or CUDA kernel) instead of a dozen; the NumPy passes below are the reference
        if self.decoupled:
            param *= 1 - lr * wd  # AdamW: decay the weights directly, not through the gradient
        work = scratch(state, param, "_scratch2")
        # m += (1 - b1)(g - m)  (PyTorch's lerp form of m = b1 m + (1 - b1) g)
        xp.subtract(grad, m, out=work)
        work *= 1 - beta1
        m += work
        v *= beta2
        xp.multiply(grad, grad, out=work)
        work *= 1 - beta2
        v += work
        xp.sqrt(v, out=work)
        work /= bias_correction2_sqrt
        work += eps
        xp.divide(m, work, out=work)
        work *= -lr / bias_correction1
        param += work


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p <- p (1 - lr wd) before the Adam step."""

    rule = "w ← w·(1 − η·λ); m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; w ← w − η·m̂/(√v̂ + ε)"

    decoupled = True

    def __init__(self, params, lr: float = 0.001, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.01):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
