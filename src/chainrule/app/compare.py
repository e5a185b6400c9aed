"""Experiments that show why training goes wrong or right, each a table and a PNG plot:
optimizers, batching (batch / stochastic / mini-batch), learning rates, depth (vanishing gradients), and
recurrent (why gates help: compare_recurrent.py)."""

from __future__ import annotations

import math
import os
import time

import numpy as np

from .. import backend, nn, optim
from ..data import DataLoader, TensorDataset, load_dataset
from ..errors import ConfigError, TrainingDiverged
from ..explain.diagnostics import GradientMonitor
from ..plots import figure, plots_available, save_figure
from ..train.callbacks import Callback
from ..train.loop import fit
from .compare_recurrent import run_recurrent

EXPERIMENTS = ("optimizers", "batching", "lr", "depth", "recurrent")


class _Timer(Callback):
    """Seconds since the start of training, recorded at the end of each epoch."""

    def __init__(self):
        self.start, self.seconds = time.perf_counter(), []

    def on_train_begin(self, ctx):
        self.start = time.perf_counter()

    def on_epoch_end(self, ctx, logs):
        self.seconds.append(time.perf_counter() - self.start)


def _data(name: str, seed: int):
    data = load_dataset(name, seed=seed)
    train = TensorDataset(data.X_train, data.y_train)
    val = DataLoader(TensorDataset(data.X_val, data.y_val), batch_size=1024)
    return data, train, val


def _train(make_model, make_optimizer, data, train, val, epochs, batch_size, seed, extra=()):
    """One run: returns (history, seconds per epoch, diverged message or '')."""
    backend.manual_seed(seed)
    model = make_model()
    loader = DataLoader(train, batch_size=batch_size, shuffle=True, seed=seed)
    timer = _Timer()
    try:
        history = fit(
            model,
            nn.CrossEntropyLoss(),
            make_optimizer(model.parameters()),
            loader,
            val,
            epochs=epochs,
            callbacks=[timer, *extra],
        )
        return history.to_list(), timer.seconds, ""
    except TrainingDiverged as exc:
        # Keep the completed epochs and the loss that blew up, so the plot shows the divergence.
        history = exc.history + [{"epoch": exc.epoch, "loss": exc.loss if math.isfinite(exc.loss) else None}]
        return history, timer.seconds, f"diverged at epoch {exc.epoch}, step {exc.step}"


def _mlp(features, classes, hidden=(64,), activation="relu"):
    return lambda: nn.MLP(features, list(hidden), classes, activation=activation)


# Each optimizer with the learning rate it is usually run at (the adaptive ones divide by a running RMS
# of the gradient, so their steps are larger at the same rate), and its other settings.
OPTIMIZER_SETUPS = {
    "SGD": (optim.SGD, dict(lr=0.05)),
    "Momentum": (optim.SGD, dict(lr=0.05, momentum=0.9)),
    "Nesterov": (optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    "Adagrad": (optim.Adagrad, dict(lr=0.05)),
    "RMSprop": (optim.RMSprop, dict(lr=0.001)),
    "Adam": (optim.Adam, dict(lr=0.001)),
}


def _settings(options: dict) -> str:
    return ", ".join(f"{k} {v:g}" if isinstance(v, float) else k for k, v in options.items() if v is not False)


def compare_optimizers(data_name="digits", epochs=20, seed=0, lr=None):
    """Every optimizer on the same network, data and seed; ``lr`` gives them all one learning rate.
    Each run is named with its settings, so that the table and the legend say what was compared."""
    data, train, val = _data(data_name, seed)
    runs = {}
    for name, (optimizer, options) in OPTIMIZER_SETUPS.items():
        options = dict(options, **({"lr": float(lr)} if lr is not None else {}))
        label = f"{name} ({_settings(options)})"
        runs[label] = _train(
            _mlp(data.num_features, data.num_classes),
            lambda p, optimizer=optimizer, options=options: optimizer(p, **options),
            data,
            train,
            val,
            epochs,
            32,
            seed,
        )
    return runs


def compare_batching(data_name="digits", epochs=10, seed=0, lr=None):
    data, train, val = _data(data_name, seed)
    setups = {
        "batch (all rows per step)": (None, 0.5),
        "stochastic (1 row per step)": (1, 0.01),
        "mini-batch (32 rows per step)": (32, 0.1),
    }
    setups = {
        f"{name}, lr {lr if given is None else given:g}": (batch, lr if given is None else given)
        for given in [lr]
        for name, (batch, lr) in setups.items()
    }
    return {
        name: _train(
            _mlp(data.num_features, data.num_classes),
            lambda p, lr=lr: optim.SGD(p, lr=lr),
            data,
            train,
            val,
            epochs,
            batch,
            seed,
        )
        for name, (batch, lr) in setups.items()
    }


def compare_lr(data_name="digits", epochs=10, seed=0, rates=(0.001, 0.01, 0.1, 1.0, 10.0)):
    data, train, val = _data(data_name, seed)
    return {
        f"lr {lr:g}": _train(
            _mlp(data.num_features, data.num_classes),
            lambda p, lr=lr: optim.SGD(p, lr=lr, momentum=0.9),
            data,
            train,
            val,
            epochs,
            32,
            seed,
        )
        for lr in rates
    }


def compare_depth(data_name="digits", epochs=5, seed=0, depth=8, width=32, lr=0.02):
    """A deep sigmoid MLP against ReLU with He init and against sigmoid with BatchNorm:
    the first layer's gradient norm shows the vanishing gradient."""
    data, train, val = _data(data_name, seed)

    def relu_he():
        model = nn.MLP(data.num_features, [width] * depth, data.num_classes, activation="relu")
        for module in model.modules():
            if isinstance(module, nn.Linear):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)
        return model

    setups = {
        f"sigmoid, {depth} hidden layers": lambda: nn.MLP(
            data.num_features, [width] * depth, data.num_classes, activation="sigmoid"
        ),
        f"ReLU + He init, {depth} hidden layers": relu_he,
        f"sigmoid + BatchNorm, {depth} hidden layers": lambda: nn.MLP(
            data.num_features, [width] * depth, data.num_classes, activation="sigmoid", batchnorm=True
        ),
    }
    runs = {}
    for name, make in setups.items():
        monitor = GradientMonitor(quiet=True)
        history, seconds, diverged = _train(
            make, lambda p: optim.SGD(p, lr=lr, momentum=0.9), data, train, val, epochs, 32, seed, extra=[monitor]
        )
        for record, grads in zip(history, monitor.records):
            names = list(grads["layers"])
            record["first_layer_grad_norm"] = grads["layers"][names[0]]["grad_norm"]
            record["last_layer_grad_norm"] = grads["layers"][names[-1]]["grad_norm"]
        runs[name] = (history, seconds, diverged)
    return runs


LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1)), (0, (1, 1)))
MARKERS = ("o", "s", "^", "D", "v", "x")

RUNNERS = {"optimizers": compare_optimizers, "batching": compare_batching, "lr": compare_lr, "depth": compare_depth}


def table(experiment: str, runs: dict) -> str:
    rows = []
    for name, (history, seconds, diverged) in runs.items():
        last = history[-1] if history else {}
        final = last.get("loss")
        row = [
            name,
            f"{final:.4g}" if final is not None else "nan",
            f"{last['val_accuracy']:.2%}" if "val_accuracy" in last else "-",
            f"{seconds[-1]:.2f}" if seconds else "-",
        ]
        if experiment == "depth":
            first = np.mean([r["first_layer_grad_norm"] for r in history if "first_layer_grad_norm" in r] or [math.nan])
            lastn = np.mean([r["last_layer_grad_norm"] for r in history if "last_layer_grad_norm" in r] or [math.nan])
            row += [f"{first:.3g}", f"{lastn:.3g}"]
        row.append(diverged or "")
        rows.append(row)
    header = (
        ["run", "final loss", "val accuracy", "seconds"]
        + (["first-layer ‖grad‖", "last-layer ‖grad‖"] if experiment == "depth" else [])
        + ["note"]
    )
    widths = [max(len(str(r[c])) for r in [header] + rows) for c in range(len(header))]
    return "\n".join("  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip() for r in [header] + rows) + "\n"


def plot(experiment: str, runs: dict, path: str) -> None:
    panels = 2 if experiment in ("batching", "depth") else 1
    fig, axes = figure(1, panels, figsize=(6.5 * panels, 4.5))
    axes = np.atleast_1d(axes)
    for index, (name, (history, seconds, diverged)) in enumerate(runs.items()):
        if not history:
            continue
        # each line its own colour, dash and marker: lines that run close (Momentum and Nesterov) stay apart
        style = dict(
            color=f"C{index}",
            linestyle=LINESTYLES[index % len(LINESTYLES)],
            marker=MARKERS[index % len(MARKERS)],
            markersize=4,
            markevery=max(1, len(history) // 10),
        )
        epochs = [r["epoch"] for r in history]
        losses = [r["loss"] if r["loss"] is not None else np.nan for r in history]
        label = name + (" (diverged)" if diverged else "")
        axes[0].plot(epochs, losses, label=label, **style)
        if experiment == "batching":
            axes[1].plot(seconds[: len(losses)], losses, label=label, **style)
        if experiment == "depth":
            axes[1].plot(epochs, [r.get("first_layer_grad_norm", np.nan) for r in history], label=name, **style)
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("training loss")
    axes[0].set_yscale("log")
    titles = {
        "optimizers": "optimizers on the same network, data and seed",
        "batching": "loss against epochs",
        "lr": "learning rates: too large a rate diverges",
        "depth": "training loss",
    }
    axes[0].set_title(titles[experiment])
    if experiment == "batching":
        axes[1].set_xlabel("seconds")
        axes[1].set_ylabel("training loss")
        axes[1].set_yscale("log")
        axes[1].set_title("loss against time")
    if experiment == "depth":
        axes[1].set_xlabel("epoch")
        axes[1].set_ylabel("first layer's mean ‖∂E/∂W‖")
        axes[1].set_yscale("log")
        axes[1].set_title("the vanishing gradient")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def run_comparison(
    experiment: str,
    data: str = "digits",
    epochs: int | None = None,
    seed: int = 0,
    out: str | None = None,
    lr: float | None = None,
    steps: int | None = None,
) -> tuple[str, dict, str | None]:
    """Run one experiment; returns (table text, runs, path of the plot or None without matplotlib).
    ``lr`` sets every run's learning rate (not for the lr experiment, which is a sweep of them); ``steps`` is
    the recurrent experiment's training steps per run."""
    if experiment == "recurrent":
        if lr is not None or epochs is not None:
            raise ConfigError("compare recurrent: it trains on fresh sequences; set --steps (not --epochs or --lr)")
        return run_recurrent(out, steps or 800, seed)
    if steps is not None:
        raise ConfigError(f"compare {experiment}: --steps is the recurrent experiment's; use --epochs")
    if experiment not in RUNNERS:
        raise ValueError(f"compare: experiment must be one of {', '.join(EXPERIMENTS)}, got {experiment!r}")
    kwargs = {"data_name": data, "seed": seed}
    if epochs is not None:
        kwargs["epochs"] = epochs
    if lr is not None:
        if experiment == "lr":
            raise ConfigError("compare lr: --lr does not apply (the experiment sweeps learning rates)")
        if not lr > 0 or not math.isfinite(lr):
            raise ConfigError(f"compare: --lr must be a positive learning rate, got {lr!r}")
        kwargs["lr"] = lr
    runs = RUNNERS[experiment](**kwargs)
    path = None
    if plots_available():
        out = out or os.path.join("runs", f"compare-{experiment}")
        os.makedirs(out, exist_ok=True)
        path = os.path.join(out, f"compare-{experiment}.png")
        plot(experiment, runs, path)
    return table(experiment, runs), runs, path
