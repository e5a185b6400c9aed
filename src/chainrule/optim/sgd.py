"""Stochastic gradient descent, with optional momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from ..backend import array_module, cpu, is_device_array, kernels
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

    def validate(self, group: dict) -> None:
        super().validate(group)
        check_range("SGD", "momentum", group["momentum"], 0.0, 1.0, high_open=False)
        check_range("SGD", "dampening", group["dampening"], 0.0, 1.0, high_open=False)
        check_range("SGD", "weight_decay", group["weight_decay"], 0.0, float("inf"))
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ConfigError("SGD: nesterov needs momentum > 0 and dampening = 0")

    def update(self, param, grad, state, group):
        if is_device_array(param) and self._update_fused(param, grad, state, group):
            return
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        weight_decay = group["weight_decay"]
        velocity = state.get("momentum_buffer")
        first = momentum and velocity is None
        if first:  # the momentum buffer, which the first update fills with d
            velocity = array_module(param).empty_like(param)
        # one pass on the CPU where Numba is installed (backend/cpu.py); the NumPy passes below are the reference
        if cpu.sgd_update(param, grad, velocity, lr, momentum, dampening, weight_decay, group["nesterov"], first):
            if first:
                state["momentum_buffer"] = velocity
            return
        xp = array_module(param)
        work = scratch(state, param)
        direction = with_weight_decay(param, grad, state, weight_decay)  # may be `work`
        if momentum:
            if first:  # the buffer allocated above: v = d
                xp.copyto(velocity, direction)
                state["momentum_buffer"] = velocity
            else:
                velocity *= momentum
                if dampening:
                    xp.multiply(direction, 1 - dampening, out=work)
                    velocity += work
                else:
                    velocity += direction
            if group["nesterov"]:
                ahead = scratch(state, param, "_scratch2")
                xp.multiply(velocity, momentum, out=ahead)  # d = g + m v
                ahead += direction
                direction = ahead
            else:
                direction = velocity
        xp.multiply(direction, lr, out=work)
        param -= work

    def _update_fused(self, param, grad, state, group) -> bool:
        """The update above as one GPU kernel per parameter (backend.kernels), instead of two to six launches."""
        t = param.dtype.type
        lr, momentum, weight_decay = t(group["lr"]), group["momentum"], t(group["weight_decay"])
        if not momentum:
            kernel = kernels.sgd_update()
            if kernel is not None:
                kernel(grad, lr, weight_decay, param)
            return kernel is not None
        kernel = kernels.sgd_momentum_update()
        if kernel is None:
            return False
        velocity = state.get("momentum_buffer")
        first = velocity is None
        if first:
            velocity = state["momentum_buffer"] = array_module(param).empty_like(param)
        kernel(grad, lr, t(momentum), t(group["dampening"]), weight_decay, group["nesterov"], first, param, velocity)
        return True
