"""One browser tab's playground: its data, its network on chainrule's engine, its optimizer and history.

Training uses explain's own graph (``explain.trace.forward``): every net and out keeps its gradient,
so the latest step can be turned into a StepTrace, and any weight's chain rule read off it, without
a second copy of the network. All methods that touch the network hold ``lock``: the server trains in
a worker thread while the page's messages arrive.
"""

from __future__ import annotations

import csv
import io
import math
import threading
import weakref
from dataclasses import dataclass

import numpy as np

from .. import nn, optim
from ..errors import ConfigError, DataError
from ..explain.chain import parameter_chain
from ..explain.network import LayerSpec, NetworkSpec
from ..explain.trace import StepTrace, forward, layer_traces, loss_of, loss_terms
from ..explain.writers import html_fragment
from ..grad_mode import no_grad
from ..tensor import Tensor
from .config import PlaygroundConfig
from .datasets import EXTENT, from_csv, make
from .view import GRID, PageView

LIVE: weakref.WeakSet = weakref.WeakSet()  # the sessions in memory: a closed tab's must leave it


# What may change while the network keeps its weights: how it learns, not what it is or what it learns from.
TRAINING_SETTINGS = ("lr", "optimizer", "regularization", "reg_rate", "batch_size", "dropout")


@dataclass
class LastStep:
    """What the latest step left behind: its graph's records, the parameters before it, the optimizer state."""

    records: list
    before: list
    inputs: np.ndarray
    targets: np.ndarray
    loss: float
    penalty_grads: list | None
    state_before: list  # per parameter: {name: copy} of the optimizer's state before the step


class Session(PageView):
    def __init__(self, config: PlaygroundConfig | None = None, csv_upload: tuple | None = None):
        self.lock = threading.Lock()
        LIVE.add(self)
        self.csv_upload = csv_upload  # (name, text) of the user's CSV, kept for regenerate and reset
        self.selection: dict | None = None
        self.configure(config or PlaygroundConfig(), csv_upload)

    # ------------------------------------------------------------------ setup
    def configure(self, config: PlaygroundConfig, csv_upload: tuple | None = None) -> None:
        """New data (from the settings, or the CSV) and a new network; raises before changing anything."""
        if config.dataset == "csv":
            upload = csv_upload or self.csv_upload
            if upload is None:
                raise DataError("dataset csv: upload a CSV file (or give its path) first")
            data = from_csv(upload[1], upload[0], config.train_percent, config.seed)
            # the loss follows the CSV's task (the page then shows it): mse for numbers, cross-entropy for classes
            if data.task == "regression" and config.loss not in ("half_sse", "mse"):
                config.loss = "mse"
            elif data.task == "classification" and (config.loss in ("half_sse", "mse") or data.classes > 2):
                config.loss = "bce" if data.classes == 2 else "cross_entropy"
            self.csv_upload = upload
        else:
            data = make(
                config.dataset, config.points, config.noise / 100, config.train_percent, config.seed, config.classes
            )
        if data.task == "regression" and config.loss not in ("half_sse", "mse"):
            raise ConfigError(
                f"playground setting 'loss': {data.note or 'this set'} is a regression; use half_sse or mse"
            )
        if data.task == "classification" and config.loss == "bce" and data.classes > 2:
            raise ConfigError(f"playground setting 'loss': bce is for two classes, the set has {data.classes}")
        self.config, self.data = config, data
        self.train_x = data.inputs(data.X_train, config.features)
        self.test_x = data.inputs(data.X_test, config.features)
        self.train_t = self.encode(data.y_train)
        self.test_t = self.encode(data.y_test)
        if data.kind == "plane":  # the heatmaps' raster of the plane, as the network's inputs
            ticks = (np.arange(GRID) + 0.5) / GRID * 2 * EXTENT - EXTENT
            x1, x2 = np.meshgrid(ticks, -ticks)  # row 0 is the top of the plane (x2 = +EXTENT)
            self.raster = data.inputs(np.column_stack([x1.ravel(), x2.ravel()]), config.features)
        self.reset()

    def retrain(self, config: PlaygroundConfig) -> dict:
        """Settings that change only how the network learns (TRAINING_SETTINGS) take effect at the next step on
        the same network: the learning rate in the optimizer's groups, a new optimizer (its state starts afresh)
        where the optimizer itself changes. Returns the 'settings' message that says what changed, and when."""
        old = self.config
        changed = [k for k in TRAINING_SETTINGS if getattr(old, k) != getattr(config, k)]
        if config.optimizer != old.optimizer:
            self.optimizer = optim.make_optimizer(
                config.optimizer, [p for pair in self.params for p in pair], config.lr
            )
        else:
            self.optimizer.set_lr(config.lr)
        if config.lr != old.lr:
            self.rate_since = self.steps
        self.config = config
        text = ", ".join(f"{k.replace('_', ' ')} {getattr(old, k)} → {getattr(config, k)}" for k in changed)
        self.changes.append({"step": self.steps, "change": text})
        return {"type": "settings", "config": config.to_dict(), "step": self.steps, "change": text}

    @property
    def outputs(self) -> int:
        d, c = self.data, self.config
        if d.task == "regression" or c.loss == "bce" or (d.classes == 2 and c.loss != "cross_entropy"):
            return 1
        return d.classes

    @property
    def activations(self) -> list:
        hidden = ["identity" if layer.activation == "linear" else layer.activation for layer in self.config.hidden]
        return hidden + [self.config.output_activation]

    @property
    def dropouts(self) -> list:
        """Each layer's dropout probability: the setting after every hidden layer, none after the output."""
        return [self.config.dropout] * len(self.config.hidden) + [0.0]

    def encode(self, y: np.ndarray) -> np.ndarray:
        """Targets in the form the loss takes: class indices for cross-entropy, else (rows, outputs) floats
        (0/1, or -1/+1 under a tanh output; one-hot for more than two classes)."""
        c = self.config
        if self.data.task == "regression":
            return y.astype(np.float64).reshape(-1, 1)
        if c.loss == "cross_entropy":
            return y.astype(np.int64)
        t = y.astype(np.float64).reshape(-1, 1) if self.outputs == 1 else np.eye(self.outputs)[y]
        return 2 * t - 1 if c.output_activation == "tanh" else t

    def reset(self) -> None:
        """A fresh network (PyTorch's default uniform ±1/√fan_in, from the settings' seed) and optimizer."""
        c = self.config
        rng = np.random.default_rng(c.seed + 1)
        sizes = [self.train_x.shape[1]] + [layer.units for layer in c.hidden] + [self.outputs]
        self.layers = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            linear = nn.Linear(fan_in, fan_out, dtype=np.float64)
            bound = 1 / math.sqrt(fan_in)
            linear.weight.array[...] = rng.uniform(-bound, bound, (fan_out, fan_in))
            linear.bias.array[...] = rng.uniform(-bound, bound, fan_out)
            self.layers.append(linear)
        self.params = [(layer.weight, layer.bias) for layer in self.layers]
        self.optimizer = optim.make_optimizer(c.optimizer, [p for pair in self.params for p in pair], c.lr)
        self.rng = np.random.default_rng(c.seed + 2)
        self.order = self.rng.permutation(len(self.train_x))
        self.cursor = 0
        self.steps = self.epochs = 0
        self.history: list = []
        self.changes: list = []  # {"step", "change"}: the settings changed while this network trained
        self.good_lr: float | None = None  # the latest learning rate under which the loss was at its best
        self.rate_since = 0  # the step from which the current learning rate applies
        self.last: LastStep | None = None
        self.last_norms = [0.0] * len(self.layers)
        self.selection = None

    # ------------------------------------------------------------------ training
    def step(self) -> float:
        """One mini-batch: forward on the engine, backward, the optimizer's update. Returns the batch's loss."""
        c = self.config
        index = self.order[self.cursor : self.cursor + c.batch_size]  # the epoch's last batch may be smaller
        self.cursor += len(index)
        if self.cursor >= len(self.order):
            self.epochs += 1
            self.order, self.cursor = self.rng.permutation(len(self.train_x)), 0
        x = Tensor(self.train_x[index], dtype=np.float64)
        x.name = "x"
        targets = self.train_t[index]
        before = [(w.array.copy(), b.array.copy()) for w, b in self.params]
        state_before = [
            {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in self.optimizer.state.get(id(p), {}).items()}
            for pair in self.params
            for p in pair
        ]
        self.optimizer.zero_grad()
        records = forward(x, self.params, self.activations, self.dropouts, training=True)
        loss = loss_of(c.loss, records[-1], targets)
        loss.backward(retain_graph=True)  # the nodes keep their saved values for the local derivatives
        penalty_grads = None
        if c.regularization != "none" and c.reg_rate > 0:
            data = [w._grad.array.copy() for w, _ in self.params]
            self.penalty().backward()
            penalty_grads = [w._grad.array - g for (w, _), g in zip(self.params, data)]
        self.last_norms = [float(np.linalg.norm(w._grad.array)) for w, _ in self.params]
        self.optimizer.step()
        self.steps += 1
        value = loss.item()
        self.last = LastStep(records, before, x.array, targets, value, penalty_grads, state_before)
        return value

    def penalty(self) -> Tensor:
        """R = λ Σ|w| (L1) or λ/2 Σ w² (L2) over the weights (not the biases), on the engine."""
        c = self.config
        terms = [(w.abs() if c.regularization == "l1" else w * w).sum() for w, _ in self.params]
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        return total * (c.reg_rate if c.regularization == "l1" else c.reg_rate / 2)

    def run_epoch(self) -> None:
        start = self.epochs
        while self.epochs == start:
            self.step()

    def _forward(self, x: np.ndarray) -> list:
        """The records of a forward pass over the rows of ``x`` (no dropout, no graph)."""
        with no_grad():
            return forward(Tensor(x, dtype=np.float64), self.params, self.activations, training=False)

    def predict(self, x: np.ndarray) -> list:
        """Every layer's output for the rows of ``x``: the heatmaps and the losses."""
        return [out.array for _, _, out in self._forward(x)]

    def evaluate(self, x: np.ndarray, targets: np.ndarray, records: list | None = None) -> tuple:
        """(loss per example, accuracy or None) over a whole set; ``records``: its forward pass, where done."""
        if len(x) == 0:
            return float("nan"), None
        records = records or self._forward(x)
        with no_grad():
            loss = loss_of(self.config.loss, records[-1], targets).item()
        if self.config.loss == "half_sse":
            loss /= len(x)  # ½Σ over the set, per example, so that train and test compare
        out = records[-1][2].array
        if self.data.task == "regression":
            return loss, None
        return loss, float((self.classify(out) == self.labels(targets)).mean())

    def classify(self, out: np.ndarray) -> np.ndarray:
        if out.shape[1] > 1:
            return out.argmax(axis=1)
        middle = 0.0 if self.config.output_activation == "tanh" else 0.5
        return (out[:, 0] > middle).astype(np.int64)

    def labels(self, targets: np.ndarray) -> np.ndarray:
        if targets.ndim == 1:
            return targets
        if targets.shape[1] > 1:
            return targets.argmax(axis=1)
        return (targets[:, 0] > 0).astype(np.int64) if self.config.output_activation == "tanh" else targets[:, 0]

    # ------------------------------------------------------------------ the chain rule of the latest step
    def trace(self) -> StepTrace:
        """The latest step as explain's StepTrace: the graph's values, its gradients and the update."""
        if self.last is None:
            raise ConfigError("no step yet: press step (or play) first, then pick a weight")
        last, c = self.last, self.config
        layers = layer_traces(
            last.records, self.params, last.before, self.activations, self.dropouts, last.penalty_grads
        )
        specs = [LayerSpec(w, b, act) for (w, b), act in zip(last.before, self.activations)]
        spec = NetworkSpec(last.inputs, last.targets, specs, c.loss, c.lr)
        out = last.records[-1][2].array
        penalty = (c.regularization, c.reg_rate) if last.penalty_grads is not None else None
        terms = loss_terms(c.loss, out, last.targets)
        return StepTrace(spec, layers, last.loss, terms, [last.loss], c.optimizer, penalty)

    def set_parameter(self, layer: int, i: int, j: int | None, value: float) -> None:
        """Weight (i, j) of ``layer`` (1-based), or its bias i where j is None, set to ``value``."""
        if not 1 <= layer <= len(self.params):
            raise ConfigError(f"set_weight: layer must be 1 to {len(self.params)}, got {layer}")
        weight, bias = self.params[layer - 1]
        rows, columns = weight.shape
        if not 0 <= i < rows or (j is not None and not 0 <= j < columns):
            raise ConfigError(f"set_weight: layer {layer} has {rows} neurons of {columns} inputs; got i {i}, j {j}")
        if not math.isfinite(value) or abs(value) > 1e6:
            raise ConfigError(f"set_weight: value must be a finite number within ±1e6, got {value!r}")
        with no_grad():
            if j is None:
                bias.array[i] = value
            else:
                weight.array[i, j] = value
        name = f"b{layer}[{i + 1}]" if j is None else f"w{layer}[{i + 1},{j + 1}]"
        self.changes.append({"step": self.steps, "change": f"{name} set to {value:g}"})

    def chain(self, layer: int, i: int, j: int | None = None, row: int | None = None) -> dict:
        """The 'chain' message for a weight (i, j) of ``layer`` or its bias (j None), for one row or the batch."""
        trace = self.trace()
        pc = parameter_chain(trace, layer, i, j, row)
        index = (i, j) if j is not None else (i,)
        state = self.optimizer_state(2 * (layer - 1) + (0 if j is not None else 1), index)
        return {
            "type": "chain",
            "name": pc.name,
            "layer": layer,
            "i": i,
            "j": j,
            "row": row,
            "rows": trace.spec.rows,
            "step": self.steps,
            "factors": [{"name": n, "value": v} for n, v in pc.factors],
            "row_product": pc.row_product,
            "data_gradient": pc.data_gradient,
            "gradient": pc.engine_gradient,
            "penalty": None if trace.penalty is None else pc.engine_gradient - pc.data_gradient,
            "old": pc.old,
            "new": pc.new,
            "update": state,
            "html": html_fragment(pc.document),
        }

    def optimizer_state(self, position: int, index: tuple) -> dict:
        """The update rule with this parameter's numbers (``position``: 2·layer for a weight, + 1 for a bias,
        counted from 0): the rule and the state from the optimizer itself, before and after, and the new value its
        own ``update`` gives when run again on this one number from the state before the step."""
        optimizer, group = self.optimizer, self.optimizer.param_groups[0]
        param = self.params[position // 2][position % 2]
        before = self.last.state_before[position]
        after = optimizer.state.get(id(param), {})
        old = float(self.last.before[position // 2][position % 2][index])
        grad = float(param._grad.array[index])

        def at(state, key):
            value = state.get(key)
            return None if value is None else float(np.asarray(value)[index])

        one = np.array([old])  # the optimizer's own update on this number and its state
        state = {k: np.array([v[index]]) if isinstance(v, np.ndarray) else v for k, v in before.items()}
        optimizer.update(one, np.array([grad]), state, group)
        rule = {"optimizer": self.config.optimizer, "lr": group["lr"], "grad": grad, "old": old}
        rule.update({k: v for k, v in group.items() if k not in ("params", "lr", "initial_lr") and v})
        for key, symbol in optimizer.state_symbols.items():
            rule[f"{symbol} before"], rule[symbol] = at(before, key), at(after, key)
        if "step" in after:
            rule["t"] = int(after["step"])
        rule.update(formula=optimizer.update_rule(group), result=float(one[0]), new=float(param.array[index]))
        return rule

    # ------------------------------------------------------------------ take it home
    def history_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            ["step", "epoch", "train_loss", "test_loss"] + [f"grad_norm_layer{k + 1}" for k in range(len(self.layers))]
        )
        writer.writerows(self.history)
        return out.getvalue()

    def data_csv(self) -> str:
        """The training and test rows as the network sees them (the chosen features), with the label: the
        data file the TOML names."""
        names = list(self.config.features) if self.data.kind == "plane" else [f"pixel{k}" for k in range(64)]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(names + ["label"])
        for x, y in ((self.train_x, self.data.y_train), (self.test_x, self.data.y_test)):
            for features, label in zip(x, y.reshape(len(x), -1)[:, 0]):
                writer.writerow([f"{v:.6g}" for v in features] + [f"{label:.6g}"])
        return out.getvalue()

    def model_state(self) -> dict:
        """A checkpoint ``chainrule.load`` reads: each Linear's weight and bias, and the settings."""
        state = {}
        for k, layer in enumerate(self.layers):
            state[f"layers.{k}.weight"] = layer.weight.detach().clone()
            state[f"layers.{k}.bias"] = layer.bias.detach().clone()
        return {
            "state_dict": state,
            "activations": self.activations,
            "config": self.config.to_dict(),
            "steps": self.steps,
        }
