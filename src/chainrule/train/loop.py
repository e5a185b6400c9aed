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
from ..grad_mode import no_grad
from ..nn.module import Module
from ..optim.lr_scheduler import ReduceLROnPlateau
from .history import History
from .metrics import accuracy, confusion_matrix, mean_absolute_error, predicted_classes, r2_score, true_classes


@dataclass
class EpochTotals:
    """The running sums of one epoch: the mean loss and accuracy so far are loss_sum / seen, correct / seen."""

    loss_sum: float = 0.0
    correct: int = 0
    seen: int = 0
    classification: bool | None = None  # decided from the first batch's targets

    def to_list(self) -> list:
        """As checkpoints store them (mid-epoch resume)."""
        return [self.loss_sum, self.correct, self.seen, self.classification]

    @classmethod
    def from_list(cls, values) -> "EpochTotals":
        loss_sum, correct, seen, classification = values
        return cls(loss_sum, correct, seen, classification)


@dataclass
class Resume:
    """Where a resumed run goes on: after ``step`` steps of epoch ``epoch`` (0-based), with the history so
    far and, mid-epoch, that epoch's running totals and the run's first loss (the divergence guard's base)."""

    epoch: int = 0
    step: int = 0
    history: History = field(default_factory=History)
    totals: EpochTotals | None = None
    first_loss: float | None = None


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
    totals: EpochTotals = field(default_factory=EpochTotals)
    first_loss: float | None = None
    stop: bool = False
    stop_reason: str = ""
    interrupt: int = 0  # a signal number, set by GracefulInterrupt: stop after the current step
    divergence_factor: float | None = 100.0  # the guard: a loss above this times the first loss stops the run
    sum_over_ranks: object = None  # data-parallel training: sums a list of numbers over every rank (else None)


def _is_classification(target: np.ndarray, output: np.ndarray) -> bool:
    return target.dtype.kind in "iub" or (
        output.ndim == 2 and output.shape[1] == 1 and target.dtype.kind == "f" and ((target == 0) | (target == 1)).all()
    )


def fit(
    model: Module,
    loss_fn,
    optimizer,
    train_loader,
    val_loader=None,
    epochs: int = 10,
    callbacks=(),
    scheduler=None,
    divergence_factor: float | None = 100.0,
    resume: Resume | None = None,
    sum_over_ranks=None,
) -> History:
    """Train ``model`` for ``epochs`` epochs and return the History.

    Each step (``train_step``): zero_grad, forward, loss, backward, step. After each epoch
    (``train_epoch``) the validation set (if any) is evaluated and the scheduler stepped
    (ReduceLROnPlateau on the validation loss). ``resume`` continues a run, mid-epoch if need be.
    The loss becoming NaN/infinite, or rising above ``divergence_factor`` times its first value,
    raises TrainingDiverged. A callback that sets ``ctx.interrupt`` (GracefulInterrupt) stops after
    the current step: callbacks' on_interrupt runs (ModelCheckpoint saves) and TrainingInterrupted is
    raised. ``sum_over_ranks`` (data-parallel training) sums a list of numbers over all ranks: the
    epoch's totals, and each step's stop flag so that every rank stops at the same step.
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ConfigError(f"fit: epochs must be a positive integer, got {epochs!r}")
    resume = resume or Resume()
    history = resume.history
    callbacks = list(callbacks)
    ctx = FitContext(model, optimizer, scheduler, history, callbacks, epochs, resume.epoch, len(train_loader))
    ctx.divergence_factor, ctx.sum_over_ranks = divergence_factor, sum_over_ranks
    ctx.first_loss = history.epochs[0].get("first_loss") if history.epochs else resume.first_loss
    for cb in callbacks:
        cb.on_train_begin(ctx)
    try:
        for epoch in range(resume.epoch, epochs):
            record = train_epoch(
                ctx, epoch, loss_fn, train_loader, val_loader, resume if epoch == resume.epoch else None
            )
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


def train_epoch(
    ctx: FitContext,
    epoch: int,
    loss_fn,
    train_loader,
    val_loader=None,
    resume: Resume | None = None,
) -> dict:
    """One epoch of ``train_step``s (mid-epoch after ``resume.step`` batches, with ``resume.totals`` so far), then
    validation and the scheduler; returns the epoch's record for the history."""
    model, optimizer, scheduler = ctx.model, ctx.optimizer, ctx.scheduler
    skip, totals = (resume.step, resume.totals) if resume is not None and resume.step else (0, None)
    sum_over_ranks = ctx.sum_over_ranks
    ctx.epoch = epoch
    model.train()
    if hasattr(train_loader, "set_epoch"):
        train_loader.set_epoch(epoch, skip=skip)
    elif skip:
        raise ConfigError("fit: resuming mid-epoch needs a DataLoader (it must be able to skip batches)")
    for cb in ctx.callbacks:
        cb.on_epoch_begin(ctx)
    ctx.totals = totals if totals is not None else EpochTotals()
    device = model.device  # batches come from the loader in host memory; they follow the model
    for step, (x, y) in enumerate(train_loader, start=skip + 1):
        if device != "cpu":
            x, y = x.to(device=device), y.to(device=device)
        train_step(ctx, x, y, loss_fn, step)
        if ctx.callbacks:
            totals = ctx.totals
            logs = {
                "step": step,
                "running_loss": totals.loss_sum / totals.seen,
                "running_accuracy": totals.correct / totals.seen if totals.classification else None,
            }
            for cb in ctx.callbacks:
                cb.on_batch_end(ctx, logs)
        if sum_over_ranks is not None:  # if any rank was signalled, every rank stops at this step
            if sum_over_ranks([ctx.interrupt])[0] and not ctx.interrupt:
                ctx.interrupt = int(signal.SIGTERM)
        if ctx.interrupt:
            for cb in ctx.callbacks:
                cb.on_interrupt(ctx)
            raise TrainingInterrupted(ctx.interrupt, epoch + 1, step)
    ctx.step = 0
    totals = ctx.totals
    loss_sum, correct, seen = totals.loss_sum, totals.correct, totals.seen
    if sum_over_ranks is not None:
        loss_sum, correct, seen = sum_over_ranks([loss_sum, correct, seen])
    record = {"epoch": epoch + 1, "loss": loss_sum / seen, "lr": optimizer.param_groups[0]["lr"]}
    if epoch == 0:
        record["first_loss"] = ctx.first_loss
    if totals.classification:
        record["accuracy"] = correct / seen
    if val_loader is not None:
        results = evaluate(model, val_loader, loss_fn)
        record.update({f"val_{k}": v for k, v in results.items() if k != "confusion"})
    if scheduler is not None:
        if isinstance(scheduler, ReduceLROnPlateau):
            scheduler.step(record.get("val_loss", record["loss"]))
        else:
            scheduler.step()
    return record


def train_step(ctx: FitContext, x, y, loss_fn, step: int) -> float:
    """One gradient-descent step on a batch: zero_grad, forward, loss, backward, the divergence guard,
    optimizer.step; the running totals are updated and the loss returned."""
    model, optimizer = ctx.model, ctx.optimizer
    optimizer.zero_grad()
    output = model(x)
    loss = loss_fn(output, y)
    loss.backward()
    loss_value = loss.item()
    first_loss, divergence_factor = ctx.first_loss, ctx.divergence_factor
    if not math.isfinite(loss_value) or (
        divergence_factor and first_loss and loss_value > divergence_factor * max(first_loss, 1e-3)
    ):
        lr = optimizer.param_groups[0]["lr"]
        what = (
            "became " + str(loss_value)
            if not math.isfinite(loss_value)
            else f"exploded to {loss_value:.4g} from {first_loss:.4g}"
        )
        error = TrainingDiverged(
            f"training diverged at epoch {ctx.epoch + 1}, step {step}: the loss {what}; "
            f"try a smaller learning rate (now {lr:g}, e.g. {lr / 10:g})"
        )
        error.epoch, error.step, error.loss, error.history = ctx.epoch + 1, step, loss_value, ctx.history.to_list()
        raise error
    if first_loss is None:
        ctx.first_loss = loss_value
    optimizer.step()
    totals = ctx.totals
    n = len(y)
    totals.loss_sum += loss_value * n
    totals.seen += n
    if totals.classification is None:
        totals.classification = _is_classification(y.array, output.array)
    if totals.classification:
        totals.correct += int((predicted_classes(output.array) == true_classes(y.array)).sum())
    ctx.step = step
    return loss_value


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
                return to_device(model(x.to(device=device)).array, "cpu")
            return np.concatenate([to_device(model(x.to(device=device)).array, "cpu") for x, *_ in loader_or_inputs])
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
                outputs.append(to_device(output.array, "cpu"))  # metrics are computed on the host
                targets.append(to_device(y.array, "cpu"))
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
