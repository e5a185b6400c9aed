"""What the playground's page draws of a session: the network's description, each frame (losses, norms, heatmaps
of every neuron) and the warnings a learner should see. A base of Session (session.py), reading its state."""

from __future__ import annotations

import base64
import math

import numpy as np

from ..explain.diagnostics import dead_units, growing_loss, overfitting, vanishing_layer
from .datasets import EXTENT

GRID = 40  # heatmap cells per side
HISTORY_LIMIT = 100_000  # rows kept for the chart and the CSV download


class PageView:
    """Session's drawing half: everything here reads the session and the latest step, and changes nothing."""

    def describe(self) -> dict:
        """The 'network' message: the settings, the layer sizes, the points and the names of the inputs."""
        d, c = self.data, self.config
        points = None
        if d.kind == "plane":
            points = {
                "train": np.column_stack([d.X_train, d.y_train.reshape(len(d.X_train), -1)[:, 0]]).round(4).tolist(),
                "test": np.column_stack([d.X_test, d.y_test.reshape(len(d.X_test), -1)[:, 0]]).round(4).tolist(),
            }
        return {
            "type": "network",
            "config": c.to_dict(),
            "kind": d.kind,
            "task": d.task,
            "classes": d.classes,
            "class_names": d.class_names,
            "inputs": list(c.features) if d.kind == "plane" else [f"pixel {k}" for k in range(64)],
            "sizes": [self.train_x.shape[1]] + [layer.units for layer in c.hidden] + [self.outputs],
            "activations": self.activations,
            "points": points,
            "extent": EXTENT,
            "grid": GRID,
            "train_size": len(self.train_x),
            "test_size": len(self.test_x),
            "note": d.note,
        }

    def frame(self, heatmaps: bool = True) -> dict:
        """The 'frame' message: losses, weights, gradient norms and (on the plane) every node's heatmap."""
        records = self._forward(self.train_x) if len(self.train_x) else []  # for the loss and the warnings alike
        train_loss, train_acc = self.evaluate(self.train_x, self.train_t, records)
        test_loss, test_acc = self.evaluate(self.test_x, self.test_t)
        row = [self.steps, self.epochs, train_loss, test_loss] + self.last_norms
        if not self.history or self.history[-1][0] != self.steps:
            self.history.append(row)
            del self.history[:-HISTORY_LIMIT]
        message = {
            "type": "frame",
            "step": self.steps,
            "epoch": self.epochs,
            "train_loss": _finite(train_loss),
            "test_loss": _finite(test_loss),
            "train_accuracy": train_acc,
            "test_accuracy": test_acc,
            "grad_norms": [_finite(v) for v in self.last_norms],
            "weights": [_finite_list(w.array.round(5).tolist()) for w, _ in self.params],
            # each weight's gradient of the last step (its value and this on hover)
            "weight_grads": [
                _finite_list(w._grad.array.round(6).tolist()) if w._grad is not None else None for w, _ in self.params
            ],
            "biases": [_finite_list(b.array.round(5).tolist()) for _, b in self.params],
        }
        if heatmaps and self.data.kind == "plane":
            message["heatmaps"] = self.heatmaps()
        elif self.data.kind == "digits":
            w = self.params[0][0].array
            scale = np.abs(w).max(axis=1, keepdims=True) + 1e-12
            message["images"] = [_bytes(row) for row in w / scale]
        if self.selection is not None and self.last is not None:
            message["chain"] = self.chain(**self.selection)
        message["warnings"] = self.warnings([out.array for _, _, out in records])
        return message

    def warnings(self, outputs: list | None = None) -> list:
        """What is going wrong, in words, while it lasts: dead ReLU neurons (named), a vanishing gradient, a loss
        growing step after step, overfitting. Each is {"kind", "text"}, dead neurons also "neurons": [[layer, k]].
        ``outputs``: every layer's output over the training set, where frame() has them already."""
        found = []
        if not self.steps:
            outputs = []
        elif outputs is None:
            outputs = self.predict(self.train_x)
        dead = [
            [layer + 1, k]
            for layer, (units, out) in enumerate(zip(self.config.hidden, outputs))
            if units.activation == "relu"
            for k in dead_units(out)
        ]
        if dead:
            names = ", ".join(f"layer {layer} neuron {k + 1}" for layer, k in dead[:8])
            names += " …" if len(dead) > 8 else ""
            found.append({
                "kind": "dead", "neurons": dead,
                "text": f"dead ReLU neurons ({names}): 0 for every training point, so no gradient reaches their "
                "weights and they cannot recover; a smaller learning rate or leaky_relu avoids it",
            })  # fmt: skip
        vanishing = vanishing_layer(self.last_norms) if self.steps else None
        if vanishing is not None:
            layer, gap = vanishing
            found.append({
                "kind": "vanishing",
                "text": f"vanishing gradient: layer {layer + 1}'s gradient is {gap:.0f} orders of magnitude below the "
                "last layer's, so it barely learns (saturated sigmoid or tanh layers; relu or fewer layers help)",
            })  # fmt: skip
        train = [row[2] for row in self.history]
        growing = growing_loss(train)
        # A rate is good where the loss reached a new best after at least 50 steps at it: counted in steps, not
        # frames (a loaded machine sends fewer, longer frames), and not in the first steps after a change, where a
        # rate far too large can still lower the loss once before it blows up (seen: tanh at lr 10, one slice)
        settled = self.steps >= self.rate_since + 50
        if growing is None and settled and math.isfinite(train[-1]) and train[-1] < min(train[:-1] or [math.inf]):
            self.good_lr = self.config.lr
        elif growing is not None:
            known = self.good_lr is not None and self.good_lr != self.config.lr
            earlier = f"; the last rate under which it did not grow was {self.good_lr:g}" if known else ""
            found.append({
                "kind": "growing",
                "text": f"the training loss has grown, or stayed far above its best ({min(train):.4g}), over the last "
                f"{growing} frames: the learning rate {self.config.lr:g} is too large for this network{earlier}",
            })  # fmt: skip
        over = overfitting(train, [row[3] for row in self.history])
        if over is not None:
            found.append({
                "kind": "overfitting",
                "text": f"overfitting: the test loss rose from {over[0]:.4g} to {over[1]:.4g} while the training loss "
                "kept falling; regularisation, dropout or more training points help",
            })  # fmt: skip
        return found

    def heatmaps(self) -> dict:
        """Each input feature's and each neuron's value over a GRID×GRID raster of the plane, as bytes
        (0..255 for -scale..scale, base64); the output's as a class map where there are several classes."""
        inputs = self.raster
        outs = self.predict(inputs)
        nodes = [[_bytes(inputs[:, k] / (np.abs(inputs[:, k]).max() + 1e-12)) for k in range(inputs.shape[1])]]
        for out in outs[:-1]:
            nodes.append([_bytes(out[:, k] / (np.abs(out[:, k]).max() + 1e-12)) for k in range(out.shape[1])])
        last = outs[-1]
        signed = self._signed_output(last)
        nodes.append([_bytes(signed[:, k]) for k in range(last.shape[1])])
        result = {"nodes": nodes}
        if last.shape[1] > 1:
            result["classes"] = base64.b64encode(last.argmax(axis=1).astype(np.uint8).tobytes()).decode()
            top = np.sort(last, axis=1)
            confidence = (top[:, -1] - top[:, -2]) if self.config.loss == "cross_entropy" else top[:, -1]
            result["confidence"] = _bytes(np.clip(confidence, 0, 1) * 2 - 1)
        else:
            result["output"] = nodes[-1][0]
        return result

    def _signed_output(self, out: np.ndarray) -> np.ndarray:
        """The output mapped to [-1, 1]: probabilities p to 2p - 1; regression values by the targets' range."""
        act = self.config.output_activation
        if self.data.task == "regression":
            scale = np.abs(self.train_t).max() + 1e-12
            return np.clip(out / scale, -1, 1)
        if act == "tanh":
            return np.clip(out, -1, 1)
        return np.clip(2 * out - 1, -1, 1)


def _bytes(values: np.ndarray) -> str:
    """Values in [-1, 1] as base64 bytes 0..255 (NaN as 127)."""
    values = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)
    return base64.b64encode(np.clip(np.round((values + 1) * 127.5), 0, 255).astype(np.uint8).tobytes()).decode()


def _finite(value):
    return None if value is None or not math.isfinite(value) else float(value)


def _finite_list(values):
    if isinstance(values, list):
        return [_finite_list(v) for v in values]
    return _finite(values)
