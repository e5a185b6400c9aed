"""fit() and evaluate(): the training loop a user would otherwise write by hand, with its habits built in.

fit zeroes the gradients itself each step, switches train()/eval() itself, and stops with a clear
message when the loss diverges.
"""
from __future__ import annotations

import math
import signal
from dataclasses import dataclass, field

import numpy as np

from ..backend import to_device
from ..errors import ConfigError, TrainingDiverged, TrainingInterrupted
from ..function import no_grad
from ..nn.module import Module
from ..optim.lr_scheduler import ReduceLROnPlateau
from .history import History
from .metrics import accuracy, confusion_matrix, mean_absolute_error, predicted_classes, r2_score, true_classes


@dataclass
class FitContext:
    """What callbacks see: the model, optimizer and scheduler, where training is, and a stop flag."""

    model: Module
    optimizer: object
    scheduler: object
    history: History
    callbacks: list
    epochs: int
    start_epoch: int
    steps_per_epoch: int
    epoch: int = 0
    step: int = 0  # steps done in the current epoch
    totals: list = field(default_factory=lambda: [0.0, 0, 0, None])  # loss sum, correct, seen, classification?
    first_loss: float | None = None
    stop: bool = False
    stop_reason: str = ""
    interrupt: int = 0  # a signal number, set by GracefulInterrupt: stop after the current step


def _is_classification(target: np.ndarray, output: np.ndarray) -> bool:
    return target.dtype.kind in "iub" or (output.ndim == 2 and output.shape[1] == 1 and target.dtype.kind == "f" and ((target == 0) | (target == 1)).all())


def fit(model: Module, loss_fn, optimizer, train_loader, val_loader=None, epochs: int = 10, callbacks=(),
        scheduler=None, start_epoch: int = 0, history: History | None = None, divergence_factor: float | None = 100.0,
        start_step: int = 0, partial: dict | None = None, sum_over_ranks=None) -> History:
    """Train ``model`` for ``epochs`` epochs and return the History.

    Each step: zero_grad, forward, loss, backward, step. After each epoch the validation set
    (if any) is evaluated and the scheduler stepped (ReduceLROnPlateau on the validation loss).
    ``start_epoch``, ``history``, ``start_step`` and ``partial`` (the epoch's running totals)
    continue a resumed run, mid-epoch if need be. The loss becoming NaN/infinite, or rising above
    ``divergence_factor`` times its first value, raises TrainingDiverged. A callback that sets
    ``ctx.interrupt`` (GracefulInterrupt) stops after the current step: callbacks' on_interrupt
    runs (ModelCheckpoint saves) and TrainingInterrupted is raised. ``sum_over_ranks`` (data-parallel
    training) sums a list of numbers over all ranks: the epoch's totals, and each step's stop flag so
    that every rank stops at the same step.
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ConfigError(f"fit: epochs must be a positive integer, got {epochs!r}")
    history = history if history is not None else History()
    callbacks = list(callbacks)
    ctx = FitContext(model, optimizer, scheduler, history, callbacks, epochs, start_epoch, len(train_loader))
    for cb in callbacks:
        cb.on_train_begin(ctx)
    first_loss = history.epochs[0].get("first_loss") if history.epochs else (partial or {}).get("first_loss")
    device = model.device  # batches come from the loader in host memory; they follow the model
    try:
        for epoch in range(start_epoch, epochs):
            ctx.epoch = epoch
            model.train()
            skip = start_step if epoch == start_epoch else 0
            if hasattr(train_loader, "set_epoch"):
                train_loader.set_epoch(epoch, skip=skip)
            elif skip:
                raise ConfigError("fit: resuming mid-epoch needs a DataLoader (it must be able to skip batches)")
            for cb in callbacks:
                cb.on_epoch_begin(ctx)
            if skip and partial:
                total_loss, total_correct, seen, classification = partial["totals"]
            else:
                total_loss, total_correct, seen, classification = 0.0, 0, 0, None
            for step, (x, y) in enumerate(train_loader, start=skip + 1):
                if device != "cpu":
                    x, y = x.to(device=device), y.to(device=device)
                optimizer.zero_grad()
                output = model(x)
                loss = loss_fn(output, y)
                loss.backward()
                loss_value = loss.item()
                if not math.isfinite(loss_value) or (divergence_factor and first_loss and loss_value > divergence_factor * max(first_loss, 1e-3)):
                    lr = optimizer.param_groups[0]["lr"]
                    what = "became " + str(loss_value) if not math.isfinite(loss_value) else f"exploded to {loss_value:.4g} from {first_loss:.4g}"
                    error = TrainingDiverged(
                        f"training diverged at epoch {epoch + 1}, step {step}: the loss {what}; "
                        f"try a smaller learning rate (now {lr:g}, e.g. {lr / 10:g})"
                    )
                    error.epoch, error.step, error.loss, error.history = epoch + 1, step, loss_value, history.to_list()
                    raise error
                if first_loss is None:
                    first_loss = loss_value
                optimizer.step()
                n = len(y)
                total_loss += loss_value * n
                seen += n
                if classification is None:
                    classification = _is_classification(y._array, output._array)
                if classification:
                    total_correct += int((predicted_classes(output._array) == true_classes(y._array)).sum())
                ctx.step, ctx.totals, ctx.first_loss = step, [total_loss, total_correct, seen, classification], first_loss
                if callbacks:
                    logs = {"step": step, "running_loss": total_loss / seen,
                            "running_accuracy": total_correct / seen if classification else None}
                    for cb in callbacks:
                        cb.on_batch_end(ctx, logs)
                if sum_over_ranks is not None:  # if any rank was signalled, every rank stops at this step
                    if sum_over_ranks([ctx.interrupt])[0] and not ctx.interrupt:
                        ctx.interrupt = int(signal.SIGTERM)
                if ctx.interrupt:
                    for cb in callbacks:
                        cb.on_interrupt(ctx)
                    raise TrainingInterrupted(ctx.interrupt, epoch + 1, step)
            ctx.step = 0
            if sum_over_ranks is not None:
                total_loss, total_correct, seen = sum_over_ranks([total_loss, total_correct, seen])
            record = {"epoch": epoch + 1, "loss": total_loss / seen, "lr": optimizer.param_groups[0]["lr"]}
            if epoch == 0:
                record["first_loss"] = first_loss
            if classification:
                record["accuracy"] = total_correct / seen
            if val_loader is not None:
                results = evaluate(model, val_loader, loss_fn)
                record.update({f"val_{k}": v for k, v in results.items() if k != "confusion"})
            if scheduler is not None:
                if isinstance(scheduler, ReduceLROnPlateau):
                    scheduler.step(record.get("val_loss", record["loss"]))
                else:
                    scheduler.step()
            history.append(record)
            for cb in callbacks:
                cb.on_epoch_end(ctx, record)
            if ctx.stop:
                break
    finally:
        model.train()
    for cb in callbacks:
        cb.on_train_end(ctx)
    history.stop_reason = ctx.stop_reason
    return history


def predict(model: Module, loader_or_inputs) -> np.ndarray:
    """The model's outputs in evaluation mode, as one array (from a loader or an array/Tensor)."""
    from ..tensor import Tensor

    was_training = model.training
    model.eval()
    try:
        with no_grad():
            device = model.device
            if isinstance(loader_or_inputs, (np.ndarray, Tensor)):
                x = loader_or_inputs if isinstance(loader_or_inputs, Tensor) else Tensor(loader_or_inputs)
                return to_device(model(x.to(device=device))._array, "cpu")
            return np.concatenate([to_device(model(x.to(device=device))._array, "cpu") for x, *_ in loader_or_inputs])
    finally:
        model.train(was_training)


def evaluate(model: Module, loader, loss_fn, num_classes: int | None = None) -> dict:
    """Loss and metrics over a whole loader, in evaluation mode and without recording a graph.

    Classification: loss, accuracy and confusion (matrix); regression: loss, r2 and mae.
    """
    was_training = model.training
    model.eval()
    outputs, targets, total_loss, seen = [], [], 0.0, 0
    try:
        with no_grad():
            device = model.device
            for x, y in loader:
                if device != "cpu":
                    x, y = x.to(device=device), y.to(device=device)
                output = model(x)
                total_loss += loss_fn(output, y).item() * len(y)
                seen += len(y)
                outputs.append(to_device(output._array, "cpu"))  # metrics are computed on the host
                targets.append(to_device(y._array, "cpu"))
    finally:
        model.train(was_training)
    output, target = np.concatenate(outputs), np.concatenate(targets)
    results = {"loss": total_loss / seen}
    if _is_classification(target, output):
        predicted, actual = predicted_classes(output), true_classes(target)
        classes = num_classes or max(output.shape[1] if output.shape[1] > 1 else 2, int(actual.max()) + 1)
        results["accuracy"] = accuracy(output, target)
        results["confusion"] = confusion_matrix(predicted, actual, classes)
    else:
        results["r2"] = r2_score(output, target)
        results["mae"] = mean_absolute_error(output, target)
    return results
