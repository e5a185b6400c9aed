"""``chainrule compare recurrent``: why gates help. A plain RNN, a GRU and an LSTM learn to repeat the first
symbol of a sequence after T distractors; the error of the last step must travel back T steps to the one
that matters. Two pictures: the gradient that reaches each step of a fresh network (it fades step by step
through a plain RNN's tanh and W_hh), and the accuracy each reaches against T.
"""

from __future__ import annotations

import os

import numpy as np

from .. import backend, nn, optim
from ..functional import cross_entropy
from ..grad_mode import no_grad
from ..plots import figure, plots_available, save_figure
from ..tensor import Tensor

SYMBOLS = 4  # what is to be remembered: one of 4; the distractors are 4 other symbols
HIDDEN = 32
KINDS = {"RNN (tanh)": nn.RNN, "GRU": nn.GRU, "LSTM (forget-gate bias 1)": nn.LSTM}


class Recall(nn.Module):
    """A recurrent layer over one-hot symbols, and a Linear layer reading its last state."""

    def __init__(self, kind, hidden: int = HIDDEN):
        super().__init__()
        self.rnn = kind(2 * SYMBOLS, hidden, batch_first=True)
        self.head = nn.Linear(hidden, SYMBOLS)
        if kind is nn.LSTM:  # the usual start (Jozefowicz et al. 2015): the cell keeps what it holds
            with no_grad():
                self.rnn.bias_ih_l0[hidden : 2 * hidden] = 1.0

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def sequences(n: int, distance: int, rng) -> tuple:
    """(one-hot inputs (n, distance + 1, 8), targets (n,)): a symbol, then ``distance`` distractors."""
    ids = rng.integers(SYMBOLS, 2 * SYMBOLS, (n, distance + 1))
    ids[:, 0] = rng.integers(0, SYMBOLS, n)
    return np.eye(2 * SYMBOLS, dtype=np.float32)[ids], ids[:, 0]


def gradient_by_step(model, distance: int, seed: int) -> np.ndarray:
    """The mean norm of dL/dx_t over a batch, for every step t (the first is the one the answer needs)."""
    x, y = sequences(256, distance, np.random.default_rng(seed + 1000))
    inputs = Tensor(x, requires_grad=True)
    cross_entropy(model(inputs), Tensor(y)).backward()
    return np.linalg.norm(inputs.grad.numpy(), axis=2).mean(axis=0)


def train_recall(kind, distance: int, steps: int, seed: int, lr: float = 0.01) -> float:
    """The test accuracy after ``steps`` Adam steps on fresh batches of 64."""
    backend.manual_seed(seed)
    model, rng = Recall(kind), np.random.default_rng(seed)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        x, y = sequences(64, distance, rng)
        optimizer.zero_grad()
        cross_entropy(model(Tensor(x)), Tensor(y)).backward()
        optimizer.step()
    x, y = sequences(1000, distance, np.random.default_rng(seed + 99))
    with no_grad():
        return float((model(Tensor(x)).numpy().argmax(axis=1) == y).mean())


def compare_recurrent(distances=(10, 20, 40, 80), steps: int = 800, seeds=(0, 1), lr: float = 0.01) -> dict:
    """{name: {"gradient": per-step norms at the longest distance, "accuracy": {T: [one per seed]}}}."""
    runs = {}
    for name, kind in KINDS.items():
        backend.manual_seed(seeds[0])
        runs[name] = {
            "gradient": gradient_by_step(Recall(kind), max(distances), seeds[0]),
            "accuracy": {t: [train_recall(kind, t, steps, seed, lr) for seed in seeds] for t in distances},
        }
    return runs


def settings(steps: int, seeds, lr: float) -> str:
    return f"hidden {HIDDEN}, Adam lr {lr:g}, {steps} steps of 64, {len(seeds)} seed(s)"


def table(runs: dict) -> str:
    distances = list(next(iter(runs.values()))["accuracy"])
    header = ["model"] + [f"T={t}" for t in distances] + ["‖dL/dx‖ first step / last step (fresh network)"]
    rows = []
    for name, run in runs.items():
        gradient = run["gradient"]
        rows.append(
            [name] + [f"{np.mean(run['accuracy'][t]):.0%}" for t in distances] + [f"{gradient[0] / gradient[-1]:.2g}"]
        )
    widths = [max(len(r[c]) for r in [header] + rows) for c in range(len(header))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in [header] + rows]
    return "test accuracy, repeating the first of T + 1 symbols (chance: 25%)\n" + "\n".join(lines) + "\n"


def plot(runs: dict, path: str, label: str) -> None:
    fig, (left, right) = figure(1, 2, figsize=(13, 4.5))
    for index, (name, run) in enumerate(runs.items()):
        gradient = run["gradient"]
        back = np.arange(len(gradient))[::-1]  # steps before the last one
        style = dict(color=f"C{index}", marker="os^"[index % 3], markersize=4)
        left.plot(back, gradient, label=name, markevery=max(1, len(gradient) // 12), **style)
        distances = list(run["accuracy"])
        right.plot(distances, [np.mean(run["accuracy"][t]) for t in distances], label=name, **style)
    left.set_yscale("log")
    left.set_xlabel("steps before the last one")
    left.set_ylabel("mean ‖∂L/∂x_t‖ (fresh network)")
    left.set_title(f"the gradient reaching each step, T = {len(next(iter(runs.values()))['gradient']) - 1}")
    right.set_xscale("log", base=2)
    right.set_xticks(distances, [str(t) for t in distances])
    right.minorticks_off()
    right.axhline(1 / SYMBOLS, color="grey", linestyle=":", label="chance")
    right.set_ylim(0, 1.05)
    right.set_xlabel("T, the distractors between the symbol and the answer")
    right.set_ylabel("test accuracy")
    right.set_title("remembering the first symbol")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, title=label, title_fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def run_recurrent(out: str | None = None, steps: int = 800, seed: int = 0, distances=(10, 20, 40, 80)) -> tuple:
    """(table, runs, plot path or None): the experiment as ``chainrule compare recurrent`` runs it."""
    seeds, lr = (seed, seed + 1), 0.01
    runs = compare_recurrent(distances, steps, seeds, lr)
    path = None
    if plots_available():
        out = out or os.path.join("runs", "compare-recurrent")
        os.makedirs(out, exist_ok=True)
        path = os.path.join(out, "compare-recurrent.png")
        plot(runs, path, settings(steps, seeds, lr))
    return table(runs) + settings(steps, seeds, lr) + "\n", runs, path
