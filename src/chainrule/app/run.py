"""A whole training run, as ``chainrule train`` does it: data, model, loop, checkpoints, summary, plots.

Everything a run produces goes into its run folder:
  summary.json       test metrics, epochs run, best epoch, seed and the full config
  metrics.jsonl      one line per epoch
  model.safetensors  the final (best) weights with architecture and preprocessing
  checkpoint.safetensors  the last epoch's resumable state (weights, optimizer, RNG, history)
  curves.png, confusion.png
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sys
import threading
import time

import numpy as np

from .. import backend
from ..data import DataLoader, TensorDataset
from ..data.datasets import DataSplits
from ..errors import ChainruleError, CheckpointError, ConfigError, TrainingInterrupted
from ..optim import lr_scheduler
from ..plots import plot_confusion, plot_curves, plots_available
from ..serialization import atomic_write
from ..train import distributed
from ..train.callbacks import (
    EarlyStopping,
    GracefulInterrupt,
    JSONLinesLogger,
    ModelCheckpoint,
    ProgressBar,
    TensorBoardLogger,
)
from ..train.checkpoint import load_checkpoint, save_checkpoint
from ..train.history import History
from ..train.loop import EpochTotals, Resume, evaluate, fit, predict
from .build import (
    architecture_of,
    check_fits,
    choose_loss,
    describe,
    load_data,
    make_loss,
    make_model,
    make_optimizer,
    make_scheduler,
    prepare_targets,
)
from .config import TrainConfig
from .folders import RunLock, check_out, default_out, remove_stale_temporaries

CHECKPOINT, MODEL, SUMMARY, METRICS = "checkpoint.safetensors", "model.safetensors", "summary.json", "metrics.jsonl"


class Run:
    """The pieces of one run, built from a config (and, for --resume, its checkpoint)."""

    def __init__(self, config: TrainConfig):
        self.config = config.validate()
        self.dtype = backend.resolve_dtype(config.dtype)
        backend.manual_seed(config.seed)
        self.data = load_data(config)
        self.loss_name = choose_loss(config, self.data)
        self.loss_fn = make_loss(self.loss_name, config.label_smoothing)
        outputs = 1 if self.loss_name == "bce" else self.data.num_outputs
        rows = len(self.data.X_train) if config.batch_size == "full" else config.batch_size
        architecture = architecture_of(config, self.data, outputs)
        check_fits(architecture, self.dtype, max(rows, 1024), True, "train")
        self.model = make_model(architecture, self.dtype)
        if config.device != "cpu":
            self.model.to(device=config.device)  # before the optimizer, whose state follows the parameters
        optimizer = make_optimizer(config, self.model.parameters())
        self.scheduler = make_scheduler(config, optimizer)
        self.optimizer = optimizer
        batch = None if config.batch_size == "full" else config.batch_size
        d = self.data
        sampler = None
        if config.distributed:
            distributed.init()
            distributed.broadcast_parameters(self.model)
            self.optimizer = distributed.DistributedOptimizer(optimizer)
            sampler = distributed.DistributedSampler(len(d.X_train), seed=config.seed)
            backend.manual_seed(config.seed + distributed.get_rank())  # each rank its own dropout masks
        self.train_loader = DataLoader(
            self._dataset(d.X_train, d.y_train),
            batch_size=batch,
            shuffle=True,
            seed=config.seed,
            dtype=self.dtype,
            sampler=sampler,
        )
        self.val_loader = (
            DataLoader(self._dataset(d.X_val, d.y_val), batch_size=1024, dtype=self.dtype) if len(d.X_val) else None
        )
        self.test_loader = (
            DataLoader(self._dataset(d.X_test, d.y_test), batch_size=1024, dtype=self.dtype) if len(d.X_test) else None
        )

    def _dataset(self, X, y):
        X = X if self.data.text_mode is not None else X.astype(self.dtype)  # token ids stay integers
        return TensorDataset(X, prepare_targets(y, self.loss_name, self.dtype))

    def metadata(self, ctx=None) -> dict:
        d = self.data
        return {
            "architecture": self.model.config,
            "config": self.config.to_dict(),
            "task": d.task,
            "loss": self.loss_name,
            "class_names": d.class_names,
            "num_classes": d.num_classes,
            "dataset": d.name,
            "text_mode": d.text_mode,
        }

    def preprocessing_arrays(self) -> dict:
        arrays = {}
        for prefix, scaler in (("input_scaler", self.data.input_scaler), ("target_scaler", self.data.target_scaler)):
            if scaler is not None:
                arrays[f"{prefix}.mean"], arrays[f"{prefix}.std"] = scaler.mean, scaler.std
        return arrays


def train_run(
    config: TrainConfig, resume: str | None = None, stream=None, extra_callbacks=(), given: dict | None = None
) -> dict:
    """Run ``config`` end to end (or continue the run in folder ``resume``) and return the summary.

    ``given``: the options the user set (for --resume: those that differ from the run's are applied
    if a resume may change them and refused otherwise); by default, the config's non-default values.
    """
    stream = stream or sys.stderr
    checkpoint, changes = None, {}
    if resume:
        if given is None:
            defaults = TrainConfig()
            given = {k: v for k, v in vars(config).items() if v != getattr(defaults, k)}
        checkpoint, config, changes = _resume_config(resume, given)
    if not distributed.is_main():  # only rank 0 (or the only process) writes the run folder
        return _train_run(config, resume, checkpoint, changes, stream, extra_callbacks)
    out = config.out = config.out or default_out(config.data)
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"run folder {out!r} cannot be created ({exc.strerror})") from None
    with RunLock(out):  # the whole run, so that a second run into this folder is refused rather than mixed in
        if not resume:
            check_out(out, config.overwrite)
        return _train_run(config, resume, checkpoint, changes, stream, extra_callbacks)


def _train_run(config, resume, checkpoint, changes, stream, extra_callbacks) -> dict:
    out = config.out
    run = Run(config)
    main = distributed.is_main()
    early = (
        EarlyStopping(patience=config.early_stopping, restore_best=True)
        if config.early_stopping and run.val_loader
        else None
    )
    # Only rank 0 writes files and prints; early stopping runs everywhere (validation is identical on every rank).
    callbacks = (
        [ProgressBar(quiet=config.quiet, stream=stream), JSONLinesLogger(os.path.join(out, METRICS))] if main else []
    )
    if early:
        callbacks.append(early)
    if main:
        callbacks.append(ModelCheckpoint(os.path.join(out, CHECKPOINT), metadata_fn=run.metadata))
    if main and config.tensorboard:
        callbacks.append(TensorBoardLogger(os.path.join(out, "tensorboard")))
    callbacks.extend(extra_callbacks)
    interrupt = GracefulInterrupt()
    callbacks.append(interrupt)
    if main:
        remove_stale_temporaries(out)
    resume = _restore(run, checkpoint, callbacks) if checkpoint is not None else Resume()
    start_epoch, history = resume.epoch, resume.history
    if "lr" in changes:  # the optimizer's and scheduler's saved state hold the old learning rate
        run.optimizer.set_lr(config.lr)
        if isinstance(run.scheduler, lr_scheduler.LRScheduler):  # (ReduceLROnPlateau reads the optimizer's lr)
            run.scheduler.set_base_lr(config.lr)
    if not config.quiet:
        ranks = f", {distributed.get_world_size()} ranks" if config.distributed else ""
        print(
            f"chainrule train{ranks}: {run.data.name} ({run.data.task}, {run.data.sizes()['train']} train / "
            f"{run.data.sizes()['val']} val / "
            f"{run.data.sizes()['test']} test), {describe(run.model)}"
            f"{'' if run.data.text_mode else ' ' + str(config.activation)}, {config.optimizer} lr {config.lr:g}, "
            f"batch {config.batch_size}, "
            f"{run.model.num_parameters():,} parameters"
            + (f", resuming at epoch {start_epoch + 1}" if checkpoint else "")
            + "".join(f", {k} now {v!r}" for k, v in changes.items() if k not in ("quiet",)),
            file=stream,
            flush=True,
        )
    started = time.perf_counter()
    if start_epoch < config.epochs:
        try:
            history = fit(
                run.model,
                run.loss_fn,
                run.optimizer,
                run.train_loader,
                run.val_loader,
                epochs=config.epochs,
                callbacks=callbacks,
                scheduler=run.scheduler,
                resume=resume,
                sum_over_ranks=distributed.sum_values if config.distributed else None,
            )
        finally:
            interrupt.restore()
    seconds = time.perf_counter() - started
    if not main:
        return {}
    return finish_run(run, history, early, out, seconds, stream)


# What a resumed run may change (the rest would change the model, the data or the order of batches).
RESUMABLE = ("epochs", "lr", "early_stopping", "quiet", "monitor_gradients", "tensorboard", "device", "overwrite")


def resume_changes(saved: TrainConfig, given: dict) -> dict:
    """The options given with --resume that differ from the run's: the resumable ones, or a ConfigError
    naming every option that a resume cannot change."""
    changed = {k: v for k, v in given.items() if k not in ("out",) and getattr(saved, k) != v}
    fixed = sorted(k for k in changed if k not in RESUMABLE)
    if fixed:
        names = ", ".join(f"--{k.replace('_', '-')}" for k in fixed)
        was = ", ".join(f"{k}={getattr(saved, k)!r}" for k in fixed)
        raise ConfigError(
            f"--resume: {names} would change the run's model, data or batches ({was} in the run); start a new "
            f"run instead. A resume may change: {', '.join(RESUMABLE)}"
        )
    return changed


def _resume_config(resume: str, given: dict) -> tuple:
    path = os.path.join(resume, CHECKPOINT)
    if not os.path.isdir(resume):
        raise CheckpointError(f"--resume: run folder {resume!r} does not exist")
    if not os.path.lexists(path):
        raise CheckpointError(
            f"--resume: {resume!r} holds no checkpoint: the run stopped before its first epoch ended and nothing was "
            f"saved; start it again with --out {resume} --overwrite (nothing is lost)"
        )
    checkpoint = load_checkpoint(path)
    saved = checkpoint.metadata.get("config")
    if not isinstance(saved, dict):
        raise CheckpointError(f"{path}: has no run config; it was not written by `chainrule train`")
    config = TrainConfig.from_dict(saved, where=path)
    changes = resume_changes(config, given)
    for key, value in changes.items():
        setattr(config, key, value)
    config.out = resume
    config.validate()
    return checkpoint, config, changes


def _restore(run: Run, checkpoint, callbacks) -> Resume:
    """The run's model, optimizer, schedule, generator and callbacks as the checkpoint left them, or a
    CheckpointError where its metadata is not what `chainrule train` writes."""
    meta = checkpoint.metadata
    fields = {"epoch": int, "step": int, "history": list, "rng_state": dict, "callbacks": dict, "partial": dict}
    for key, kind in fields.items():
        value = meta.get(key)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise CheckpointError(f"{run.config.out}: the checkpoint's {key!r} is damaged (a {type(value).__name__})")
    if not all(isinstance(record, dict) for record in meta.get("history") or []):
        raise CheckpointError(f"{run.config.out}: the checkpoint's history is damaged")
    try:
        return _restore_state(run, checkpoint, callbacks, meta)
    except ChainruleError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise CheckpointError(
            f"{run.config.out}: the checkpoint's resume state is damaged ({type(exc).__name__}: {exc}); "
            "start again with --overwrite"
        ) from None


def _restore_state(run: Run, checkpoint, callbacks, meta: dict) -> Resume:
    if meta.get("architecture") != run.model.config:
        raise CheckpointError(
            f"checkpoint architecture {meta.get('architecture')} does not match the run's {run.model.config}"
        )
    run.model.load_state_dict(checkpoint.model_state)
    if checkpoint.optimizer_state is not None:
        run.optimizer.load_state_dict(checkpoint.optimizer_state)
    if run.scheduler is not None and meta.get("scheduler"):
        run.scheduler.load_state_dict(meta["scheduler"])
    backend.set_rng_state(meta["rng_state"])
    states = meta.get("callbacks", {})
    for cb in callbacks:
        if type(cb).__name__ in states:
            cb.load_state_dict(states[type(cb).__name__])
        if isinstance(cb, EarlyStopping):
            best = {k[len("best.") :]: v for k, v in checkpoint.extra_arrays.items() if k.startswith("best.")}
            cb.best_weights = best or None
    partial = meta.get("partial") or {}
    return Resume(
        epoch=checkpoint.epoch,
        step=int(meta.get("step", 0)),
        history=History(meta.get("history", [])),
        totals=EpochTotals.from_list(partial["totals"]) if "totals" in partial else None,
        first_loss=partial.get("first_loss"),
    )


@contextlib.contextmanager
def interrupts_deferred():
    """SIGINT/SIGTERM while a run's last files are written wait until they are all written (a second
    signal stops at once); the signals received are in the yielded list."""
    received, previous = [], {}
    if threading.current_thread() is threading.main_thread():

        def handler(signum, frame):
            if received:
                raise KeyboardInterrupt
            received.append(signum)

        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, handler)
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def finish_run(run: Run, history: History, early, out: str, seconds: float, stream=None) -> dict:
    """Evaluate on the test set, save the model, and write summary.json and the plots; an interrupt
    meanwhile is handled as one during training: everything is written first, then it stops."""
    with interrupts_deferred() as received:
        summary = _finish_run(run, history, early, out, seconds, stream)
    if received:
        error = TrainingInterrupted(received[0], len(history), 0)
        error.after_training = True
        raise error
    return summary


def _finish_run(run: Run, history: History, early, out: str, seconds: float, stream=None) -> dict:
    config, data, stream = run.config, run.data, stream or sys.stderr
    best_epoch = (
        early.best_epoch
        if early is not None and early.best_epoch
        else (history.last.get("epoch") if len(history) else None)
    )
    save_checkpoint(os.path.join(out, MODEL), run.model, None, run.metadata(), run.preprocessing_arrays())
    summary = {
        "dataset": data.name,
        "task": data.task,
        "loss_function": run.loss_name,
        "epochs_run": len(history),
        "best_epoch": best_epoch,
        "seed": config.seed,
        "num_parameters": run.model.num_parameters(),
        "sizes": data.sizes(),
        "train_seconds": round(seconds, 3),
        "stop_reason": getattr(history, "stop_reason", ""),
        "config": config.to_dict(),
    }
    confusion = None
    if run.test_loader is not None:
        results = evaluate(run.model, run.test_loader, run.loss_fn, num_classes=data.num_classes)
        summary["test_loss"] = results["loss"]
        if data.text_mode is not None:
            summary.update(text_summary(data, results))
        elif data.task == "classification":
            summary["test_accuracy"] = results["accuracy"]
            confusion = results["confusion"]
            summary["confusion_matrix"] = confusion.tolist()
        else:
            summary.update(regression_summary(run, results))
    atomic_write(os.path.join(out, SUMMARY), (json.dumps(summary, indent=2) + "\n").encode())
    if plots_available():
        plot_curves(
            history.to_list(), os.path.join(out, "curves.png"), best_epoch, title=f"{data.name}: learning curves"
        )
        if confusion is not None:
            accuracy = summary["test_accuracy"]
            title = f"{data.name}: confusion matrix (test set, accuracy {accuracy:.2%})"
            plot_confusion(confusion, os.path.join(out, "confusion.png"), data.class_names, title=title)
    if not config.quiet:
        line = (
            f"test loss {summary['test_loss']:.4f} nats per character ({summary['test_bits_per_char']:.3f} bits; "
            f"the count-based bigram: {summary['bigram_test_loss']:.4f}), next-character accuracy "
            f"{summary['test_accuracy']:.2%}"
            if "test_bits_per_char" in summary
            else f"test accuracy {summary['test_accuracy']:.2%}"
            if "test_accuracy" in summary
            else f"test R^2 {summary.get('test_r2', float('nan')):.4f}, MAE {summary.get('test_mae', float('nan')):.4g}"
        )
        print(
            f"done: {line}, test loss {summary.get('test_loss', float('nan')):.4f}, {len(history)} epochs (best "
            f"{best_epoch}) in {seconds:.1f} s -> {out}",
            file=stream,
            flush=True,
        )
    return summary


def text_summary(data: DataSplits, results: dict) -> dict:
    """A language model's test loss in nats and bits per character, beside the count-based bigram's."""
    return {
        "test_bits_per_char": results["loss"] / math.log(2),
        "test_accuracy": results["accuracy"],
        "bigram_test_loss": data.baseline["test"],
        "bigram_val_loss": data.baseline["val"],
        "text_mode": data.text_mode,
        "vocabulary": list(data.class_names),
    }


def regression_summary(run: Run, results: dict) -> dict:
    """R^2, and MAE in the target's own units next to the MAE of always predicting the training mean."""
    d = run.data
    prediction = predict(run.model, run.test_loader)
    target, train_target = d.y_test, d.y_train
    if d.target_scaler is not None:
        prediction, target, train_target = (
            d.target_scaler.inverse_transform(a) for a in (prediction, target, train_target)
        )
    baseline = np.abs(target - train_target.mean(axis=0)).mean()
    return {
        "test_r2": results["r2"],
        "test_mae": float(np.abs(target - prediction).mean()),
        "baseline_mae": float(baseline),
    }
