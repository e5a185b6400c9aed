"""GradientMonitor: per-layer gradient norms and activation statistics by epoch, with warnings
when gradients vanish or explode, saved as gradients.json and drawn as gradients.png."""

from __future__ import annotations

import json
import math
import os
import sys

import numpy as np

from ..nn.layers import Conv2d, Linear
from ..serialization import atomic_write
from ..train.callbacks import Callback


class GradientMonitor(Callback):
    """Watch every Linear/Conv2d layer: the mean L2 norm of its weight gradient per epoch, and the
    mean, standard deviation and fraction of zeros of its output.

    A norm below ``vanishing`` or above ``exploding`` adds a warning (printed unless ``quiet``).
    """

    def __init__(
        self,
        out_dir: str | None = None,
        vanishing: float = 1e-5,
        exploding: float = 1e3,
        quiet: bool = False,
        stream=None,
    ):
        self.out_dir, self.vanishing, self.exploding, self.quiet = out_dir, vanishing, exploding, quiet
        self.stream = stream or sys.stderr
        self.records: list[dict] = []
        self.warnings: list[str] = []
        self._hooks = []

    def on_train_begin(self, ctx) -> None:
        self.layers = [
            (name, module) for name, module in ctx.model.named_modules() if isinstance(module, (Linear, Conv2d))
        ]
        for name, module in self.layers:

            def hook(mod, inputs, output, name=name):
                if mod.training:
                    data = output.array
                    stats = self._activations.setdefault(name, [0.0, 0.0, 0.0, 0])
                    stats[0] += float(data.mean())
                    stats[1] += float(data.std())
                    stats[2] += float((data == 0).mean())
                    stats[3] += 1

            module.register_forward_hook(hook)
            self._hooks.append((module, hook))
        self._reset()

    def _reset(self) -> None:
        self._norms = {name: [0.0, 0] for name, _ in self.layers}
        self._activations = {}

    def on_batch_end(self, ctx, logs) -> None:
        for name, module in self.layers:
            grad = None if module.weight._grad is None else module.weight._grad.array
            if grad is not None:
                entry = self._norms[name]
                entry[0] += float(np.sqrt(np.sum(grad.astype(np.float64) ** 2)))
                entry[1] += 1

    def on_epoch_end(self, ctx, logs) -> None:
        record = {"epoch": logs["epoch"], "layers": {}}
        for name, _ in self.layers:
            total, count = self._norms[name]
            norm = total / count if count else float("nan")
            act = self._activations.get(name)
            record["layers"][name] = {
                "grad_norm": norm,
                **({"act_mean": act[0] / act[3], "act_std": act[1] / act[3]} if act else {}),
            }
            if count and (norm < self.vanishing or not math.isfinite(norm) or norm > self.exploding):
                kind = "vanishing" if norm < self.vanishing else "exploding"
                remedy = (
                    "deep sigmoid/tanh stacks shrink gradients layer by layer; try ReLU with He (kaiming) init, or "
                    "BatchNorm"
                    if kind == "vanishing"
                    else "try a smaller learning rate, or normalise the inputs"
                )
                message = f"epoch {logs['epoch']}: layer {name} gradient norm {norm:.3g} ({kind} gradient): {remedy}"
                self.warnings.append(message)
                if not self.quiet:
                    print(f"warning: {message}", file=self.stream)
        self.records.append(record)
        self._reset()

    def on_train_end(self, ctx) -> None:
        for module, hook in self._hooks:
            module.remove_forward_hook(hook)
        self._hooks = []
        if self.out_dir:
            self.save(self.out_dir)

    def save(self, out_dir: str) -> None:
        os.makedirs(out_dir, exist_ok=True)
        atomic_write(
            os.path.join(out_dir, "gradients.json"),
            json.dumps({"epochs": self.records, "warnings": self.warnings}, indent=1).encode(),
        )
        from ..plots import plots_available

        if plots_available() and self.records:
            plot_gradient_norms(self.records, os.path.join(out_dir, "gradients.png"))


def plot_gradient_norms(records: list[dict], path: str, title: str = "gradient norm per layer") -> None:
    from ..plots import figure, save_figure

    fig, ax = figure(figsize=(7, 4))
    names = list(records[0]["layers"])
    for name in names:
        ax.plot(
            [r["epoch"] for r in records],
            [r["layers"][name]["grad_norm"] for r in records],
            marker="o",
            markersize=3,
            label=f"layer {name}",
        )
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean ‖∂E/∂W‖ per step")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    save_figure(fig, path)


# ---------------------------------------------------------------------- what is going wrong, step by step
# (the playground asks these after every frame; each returns None while all is well)
def dead_units(outputs: np.ndarray) -> list:
    """The units of a ReLU layer whose output is 0 for every example: they pass no gradient back, so nothing
    can change their weights again ("dead" ReLUs)."""
    return [int(k) for k in np.flatnonzero((outputs <= 0).all(axis=0))]


def vanishing_layer(norms: list, orders: float = 4.0) -> tuple | None:
    """(layer index, how many orders of magnitude its gradient norm lies below the last layer's), for the first
    layer at least ``orders`` below it, or None."""
    last = norms[-1] if norms else 0.0
    if not last > 0:
        return None
    for index, norm in enumerate(norms[:-1]):
        gap = math.log10(last / norm) if norm > 0 else math.inf
        if gap >= orders:
            return index, gap
    return None


def growing_loss(losses: list, window: int = 30) -> int | None:
    """The number of recent records over which the training loss has been growing, or staying far above its best
    (at least ``window``, the loss now above 1.5 times its best), or None: the sign of too large a learning rate,
    before the loss is NaN or where it never becomes NaN (tanh saturates and the loss sits high)."""
    finite = [v for v in losses if v is not None and math.isfinite(v)]
    if len(finite) < window or not finite[-1] > 1.5 * min(finite):
        return None
    recent = finite[-window:]
    rises = sum(b > a for a, b in zip(recent, recent[1:]))
    stuck = min(finite[:-window] or [math.inf]) * 1.5 < min(recent)  # the whole window far above an earlier best
    return window if stuck or (rises >= 0.6 * (window - 1) and recent[-1] > recent[0]) else None


def overfitting(train: list, test: list, window: int = 30, rise: float = 0.05) -> tuple | None:
    """(best test loss, test loss now) where the test loss has risen more than ``rise`` above its best over the
    last ``window`` records while the training loss kept falling, or None."""
    if len(test) < 2 * window:
        return None
    best = min(test[:-window] or test)
    now, train_before, train_now = test[-1], train[-window], train[-1]
    if now > best * (1 + rise) and train_now < train_before and test[-1] >= max(test[-window:]) * 0.98:
        return best, now
    return None
