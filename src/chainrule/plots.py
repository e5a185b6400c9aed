"""Plotting helpers: learning curves (where overfitting shows), the confusion matrix, and the two
pieces every plot of chainrule uses (figure, save_figure). Plots are drawn on their own
``matplotlib.figure.Figure``: no pyplot, so a notebook's backend and figures are left alone.

matplotlib is an optional extra; without it ``plots_available()`` is False and nothing is drawn.
"""

from __future__ import annotations

import io

import numpy as np

from .serialization import atomic_write


def plots_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def figure(nrows: int = 1, ncols: int = 1, figsize=(6, 4)):
    """A new Figure of its own and its axes (an array where there are several), outside pyplot."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols)


def save_figure(fig, path: str) -> None:
    """Write a figure as PNG through the one atomic writer: a crash mid-write leaves the previous file whole,
    and no fixed temporary name exists for a planted symlink to redirect."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    atomic_write(path, buffer.getvalue())


def plot_curves(history: list[dict], path: str, best_epoch: int | None = None, title: str = "") -> None:
    """Train and validation loss (and accuracy, where there is one) by epoch.

    A validation loss that turns upward while the training loss keeps falling is overfitting.
    """
    epochs = [r["epoch"] for r in history]
    has_acc = any(r.get("accuracy") is not None for r in history)
    fig, axes = figure(1, 2 if has_acc else 1, figsize=(11 if has_acc else 6, 4))
    axes = np.atleast_1d(axes)
    panels = [("loss", "loss")] + ([("accuracy", "accuracy")] if has_acc else [])
    for ax, (key, label) in zip(axes, panels):
        ax.plot(epochs, [r.get(key) for r in history], label=f"train {label}", color="tab:blue")
        if any(r.get(f"val_{key}") is not None for r in history):
            ax.plot(epochs, [r.get(f"val_{key}") for r in history], label=f"validation {label}", color="tab:orange")
        if best_epoch:
            ax.axvline(best_epoch, color="gray", linestyle="--", linewidth=1, label=f"best epoch ({best_epoch})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        losses = [v for r in history for v in (r.get("loss"), r.get("val_loss")) if v is not None]
        # a log scale where the loss spans a decade or more; a narrow range (a language model's 2.3 -> 2.05) reads
        # better in plain numbers than in log-scale ticks such as 2.2 x 10^0
        if key == "loss" and losses and min(losses) > 0 and max(losses) >= 10 * min(losses):
            ax.set_yscale("log")
        ax.xaxis.get_major_locator().set_params(integer=True)  # epochs are whole numbers
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)


def plot_confusion(matrix: np.ndarray, path: str, class_names=None, title: str = "confusion matrix (test set)") -> None:
    """Counts of true class (rows) against predicted class (columns)."""
    n = matrix.shape[0]
    names = (
        [str(c) for c in class_names]
        if class_names is not None and len(class_names) == n
        else [str(i) for i in range(n)]
    )
    names = [name if len(name) <= 18 else name[:17] + "…" for name in names]  # long names stay readable
    margin = 0.09 * max(len(name) for name in names)  # inches for the longest tick label
    fig, ax = figure(figsize=(max(4.0, 1.2 + margin + 0.55 * n), max(3.0, 1.0 + margin + 0.5 * n)))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(n), names, rotation=45, ha="right")
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    peak = matrix.max() if matrix.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(
                j,
                i,
                str(matrix[i, j]),
                ha="center",
                va="center",
                color="white" if matrix[i, j] > peak / 2 else "black",
                fontsize=8,
            )
    ax.set_title(title)
    fig.tight_layout()
    save_figure(fig, path)
