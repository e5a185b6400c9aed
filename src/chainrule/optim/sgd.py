"""Stochastic gradient descent, with optional momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from ..backend import array_module, fast
from ..errors import ConfigError
from .optimizer import Optimizer, check_range, scratch, with_weight_decay


class SGD(Optimizer):
    """p <- p - lr * d, where d is the gradient (plain SGD) or the velocity (momentum).

    With momentum m: v <- m v + (1 - dampening) g, and d = v (or g + m v with Nesterov),
    exactly as torch.optim.SGD.
    """

    def __init__(
        self,
        params,
        lr: float = 0.01,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ):
        super().__init__(
            params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov)
        )

    state_symbols = {"momentum_buffer": "v"}

    def update_rule(self, group: dict) -> str:
        if not group["momentum"]:
            return self.rule
        return "v ← μ·v + g; w ← w − η·" + ("(g + μ·v)" if group["nesterov"] else "v")

    def validate(self, group: dict) -> None:
        super().validate(group)
        check_range("SGD", "momentum", group["momentum"], 0.0, 1.0, high_open=False)
        check_range("SGD", "dampening", group["dampening"], 0.0, 1.0, high_open=False)
        check_range("SGD", "weight_decay", group["weight_decay"], 0.0, float("inf"))
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ConfigError("SGD: nesterov needs momentum > 0 and dampening = 0")

    def update(self, param, grad, state, group):
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        weight_decay, nesterov = group["weight_decay"], group["nesterov"]
        velocity = state.get("momentum_buffer")
        first = bool(momentum) and velocity is None
        if first:  # the momentum buffer, which the first update fills with d
            velocity = state["momentum_buffer"] = array_module(param).empty_like(param)
        if fast.sgd_update(param, grad, velocity, lr, momentum, dampening, weight_decay, nesterov, first):
            return  # one pass (a Numba or CUDA kernel); the NumPy passes below are the reference
        xp = array_module(param)
        work = scratch(state, param)
        # d = g + wd p;  v = m v + (1 - dampening) d (v = d at first);  p -= lr (d + m v if nesterov else v)
        direction = with_weight_decay(param, grad, state, weight_decay)  # may be `work`
        if momentum:
            if first:  # the buffer allocated above: v = d
                xp.copyto(velocity, direction)
            else:
                velocity *= momentum
                if dampening:
                    xp.multiply(direction, 1 - dampening, out=work)
                    velocity += work
                else:
                    velocity += direction
            if nesterov:
                ahead = scratch(state, param, "_scratch2")
                xp.multiply(velocity, momentum, out=ahead)  # d = g + m v
                ahead += direction
                direction = ahead
            else:
                direction = velocity
        xp.multiply(direction, lr, out=work)
        param -= work
