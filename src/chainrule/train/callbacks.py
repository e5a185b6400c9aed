"""Callbacks: small objects whose hooks fit() calls (progress bar, early stopping, checkpoints, logs).

Hooks: on_train_begin(ctx), on_epoch_begin(ctx), on_batch_end(ctx, logs), on_epoch_end(ctx, logs),
on_train_end(ctx). ``ctx`` is the FitContext (model, optimizer, epoch, history, stop flag).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import sys
import time

import numpy as np

from ..errors import ConfigError
from .checkpoint import atomic_write, save_checkpoint


class Callback:
    def on_train_begin(self, ctx) -> None: ...
    def on_epoch_begin(self, ctx) -> None: ...
    def on_batch_end(self, ctx, logs: dict) -> None: ...
    def on_epoch_end(self, ctx, logs: dict) -> None: ...
    def on_train_end(self, ctx) -> None: ...
    def on_interrupt(self, ctx) -> None: ...

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None: ...


def _format(logs: dict) -> str:
    parts = []
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "val_r2"):
        if logs.get(key) is not None:
            value = logs[key]
            parts.append(f"{key} {value:.2%}" if "accuracy" in key else f"{key} {value:.4f}")
    return "  ".join(parts)


class ProgressBar(Callback):
    """A tqdm bar per epoch (steps, loss, accuracy, steps/s); falls back to one line per epoch
    when output is not a terminal or tqdm is missing. ``quiet=True`` prints nothing."""

    def __init__(self, quiet: bool = False, stream=None):
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.bar = None
        try:
            import tqdm  # noqa: F401

            self.have_tqdm = True
        except ImportError:
            self.have_tqdm = False

    def _use_bar(self) -> bool:
        return not self.quiet and self.have_tqdm and getattr(self.stream, "isatty", lambda: False)()

    def on_epoch_begin(self, ctx) -> None:
        self.started = time.perf_counter()
        if self._use_bar():
            from tqdm import tqdm

            self.bar = tqdm(
                total=ctx.steps_per_epoch,
                desc=f"epoch {ctx.epoch + 1}/{ctx.epochs}",
                file=self.stream,
                leave=False,  # the epoch's summary line replaces the bar (a bar line is cut at the width)
                unit="step",
            )

    def on_batch_end(self, ctx, logs) -> None:
        if self.bar is not None:
            self.bar.update(1)
            if logs["step"] % 10 == 0 or logs["step"] == ctx.steps_per_epoch:
                self.bar.set_postfix(
                    loss=f"{logs['running_loss']:.4f}",
                    **({"acc": f"{logs['running_accuracy']:.1%}"} if logs.get("running_accuracy") is not None else {}),
                )

    def on_epoch_end(self, ctx, logs) -> None:
        """Each epoch's summary on a line of its own (after the bar is taken down), never cut short."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if not self.quiet:
            seconds = time.perf_counter() - self.started
            print(
                f"epoch {ctx.epoch + 1:>3}/{ctx.epochs}  {_format(logs)}  ({seconds:.2f} s, "
                f"{ctx.steps_per_epoch / max(seconds, 1e-9):.0f} steps/s)",
                file=self.stream,
                flush=True,
            )


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs; with
    ``restore_best`` the model gets back the weights of its best epoch."""

    def __init__(
        self,
        patience: int = 10,
        monitor: str = "val_loss",
        mode: str = "min",
        min_delta: float = 0.0,
        restore_best: bool = True,
    ):
        if not isinstance(patience, int) or patience < 1:
            raise ConfigError(f"EarlyStopping: patience must be a positive integer, got {patience!r}")
        if mode not in ("min", "max"):
            raise ConfigError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        self.patience, self.monitor, self.mode, self.min_delta, self.restore_best = (
            patience,
            monitor,
            mode,
            min_delta,
            restore_best,
        )
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch = None
        self.wait = 0
        self.best_weights = None

    def _improved(self, value: float) -> bool:
        return value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta

    def on_epoch_end(self, ctx, logs) -> None:
        value = logs.get(self.monitor)
        if value is None:
            raise ConfigError(
                f"EarlyStopping: metric {self.monitor!r} is not logged (have {sorted(logs)}); pass a validation loader"
            )
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, logs["epoch"], 0
            if self.restore_best:
                self.best_weights = ctx.model.state_dict()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                ctx.stop = True
                ctx.stop_reason = (
                    f"early stopping: {self.monitor} has not improved for {self.patience} epochs (best "
                    f"{self.best:.4f} at epoch {self.best_epoch})"
                )

    def on_train_end(self, ctx) -> None:
        if self.restore_best and self.best_weights is not None:
            ctx.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]


class ModelCheckpoint(Callback):
    """Save a resumable checkpoint (model, optimizer, RNG, epoch, history) after every epoch.

    ``metadata_fn(ctx)`` adds run-level metadata (config, architecture). Best weights kept by an
    EarlyStopping callback travel in the same file so a resumed run can still restore them.
    """

    def __init__(self, path: str, metadata_fn=None, every: int = 1):
        self.path, self.metadata_fn, self.every = path, metadata_fn, every

    def on_epoch_end(self, ctx, logs) -> None:
        if (ctx.epoch + 1) % self.every == 0 or ctx.stop:
            self.save(ctx)

    def on_interrupt(self, ctx) -> None:
        self.save(ctx, mid_epoch=True)

    def save(self, ctx, mid_epoch: bool = False) -> None:
        """Everything a resume needs; mid-epoch, also the step reached and the epoch's running totals."""
        from ..backend import get_rng_state

        meta = {
            "epoch": ctx.epoch if mid_epoch else ctx.epoch + 1,
            "rng_state": get_rng_state(),
            "history": ctx.history.to_list(),
            "callbacks": {type(cb).__name__: cb.state_dict() for cb in ctx.callbacks},
            "scheduler": ctx.scheduler.state_dict() if ctx.scheduler is not None else None,
        }
        if mid_epoch:
            meta["step"] = ctx.step
            meta["partial"] = {"totals": ctx.totals.to_list(), "first_loss": ctx.first_loss}
        if self.metadata_fn is not None:
            meta.update(self.metadata_fn(ctx))
        extra = {}
        for cb in ctx.callbacks:
            if isinstance(cb, EarlyStopping) and cb.best_weights is not None:
                extra.update({f"best.{k}": v for k, v in cb.best_weights.items()})
        save_checkpoint(self.path, ctx.model, ctx.optimizer, meta, extra)


class JSONLinesLogger(Callback):
    """One JSON object per epoch in ``path`` (metrics.jsonl). The file is written whole, atomically, after
    every epoch (it is small): never appended through whatever a symlink planted there points to."""

    def __init__(self, path: str):
        self.path, self.lines = path, []

    def on_train_begin(self, ctx) -> None:
        # resuming: only the epochs the checkpoint knows about
        self.lines = [json.dumps(r) + "\n" for r in ctx.history.to_list()] if ctx.start_epoch else []
        atomic_write(self.path, "".join(self.lines).encode())

    def on_epoch_end(self, ctx, logs) -> None:
        self.lines.append(json.dumps({k: _plain(v) for k, v in logs.items()}) + "\n")
        atomic_write(self.path, "".join(self.lines).encode())


class TensorBoardLogger(Callback):
    """Each epoch's numbers (loss, accuracy, their validation twins, the learning rate) as TensorBoard
    scalars in ``log_dir``, through tensorboardX: watch a run with ``tensorboard --logdir runs``."""

    def __init__(self, log_dir: str, every_steps: int = 50):
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ConfigError("TensorBoard logging needs tensorboardX: pip install 'chainrule[tensorboard]'") from None
        self.writer_class, self.log_dir, self.every_steps, self.writer = SummaryWriter, log_dir, every_steps, None

    def on_train_begin(self, ctx) -> None:
        self.writer = self.writer_class(self.log_dir)

    def on_batch_end(self, ctx, logs) -> None:  # the running loss within epochs, for a finer curve
        if self.every_steps and logs["step"] % self.every_steps == 0:
            self.writer.add_scalar(
                "step/running_loss", logs["running_loss"], ctx.epoch * ctx.steps_per_epoch + logs["step"]
            )

    def on_epoch_end(self, ctx, logs) -> None:
        for key, value in logs.items():
            if key != "epoch" and isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(key, value, logs["epoch"])
        self.writer.flush()

    def on_train_end(self, ctx) -> None:
        self.close()

    def on_interrupt(self, ctx) -> None:
        self.close()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


class CSVLogger(Callback):
    """One row per epoch in a CSV file, written whole and atomically after every epoch."""

    def __init__(self, path: str):
        self.path = path
        self.fields = None
        self.text = io.StringIO()

    def on_epoch_end(self, ctx, logs) -> None:
        new = self.fields is None
        if new:
            self.fields = list(logs)
        writer = csv.DictWriter(self.text, fieldnames=self.fields, extrasaction="ignore", lineterminator="\n")
        if new:
            writer.writeheader()
        writer.writerow({k: _plain(v) for k, v in logs.items()})
        atomic_write(self.path, self.text.getvalue().encode())


def _plain(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


def _in_compiler(frame) -> bool:
    """Whether the interrupted code is Numba's or LLVM's (a kernel being compiled or loaded from its cache)."""
    while frame is not None:
        name = frame.f_code.co_filename
        if "llvmlite" in name or f"{os.sep}numba{os.sep}" in name:
            return True
        frame = frame.f_back
    return False


class GracefulInterrupt(Callback):
    """On SIGINT or SIGTERM, finish the current step, let the other callbacks save (on_interrupt)
    and stop with TrainingInterrupted, instead of dying mid-update. Handlers are restored after."""

    def __init__(self, signals=None):
        import signal

        self.signals = signals if signals is not None else (signal.SIGINT, signal.SIGTERM)
        self.previous = {}

    def on_train_begin(self, ctx) -> None:
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return

        def handler(signum, frame):
            if ctx.interrupt and not _in_compiler(frame):  # a second signal: stop at once
                raise KeyboardInterrupt
            # (inside Numba's compiler an exception would unwind through C code that called back into Python and
            # crash the process; the first signal's stop at the end of this step comes a few milliseconds later)
            ctx.interrupt = ctx.interrupt or signum

        for sig in self.signals:
            self.previous[sig] = signal.signal(sig, handler)

    def on_train_end(self, ctx) -> None:
        self.restore()

    def on_interrupt(self, ctx) -> None:
        self.restore()

    def restore(self) -> None:
        import signal

        for sig, previous in self.previous.items():
            signal.signal(sig, previous)
        self.previous = {}
