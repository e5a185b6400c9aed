"""Plots are drawn on Figures of their own: a notebook's backend and open figures are left alone."""

import subprocess
import sys

import numpy as np

from chainrule.plots import plot_confusion, plot_curves


def test_plotting_leaves_pyplot_and_the_backend_alone(tmp_path):
    code = f"""
import sys
import matplotlib
matplotlib.use("svg")  # a user's own backend choice
import numpy as np
from chainrule.plots import plot_confusion, plot_curves
history = [{{"epoch": 1, "loss": 1.0, "val_loss": 1.2}}, {{"epoch": 2, "loss": 0.5, "val_loss": 0.9}}]
plot_curves(history, {str(tmp_path / "c.png")!r})
plot_confusion(np.eye(3, dtype=int), {str(tmp_path / "m.png")!r}, ["a", "b", "c"])
assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
assert "matplotlib.pyplot" not in sys.modules
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "c.png").stat().st_size > 1000 and (tmp_path / "m.png").stat().st_size > 1000


def test_confusion_matrix_with_long_class_names_and_a_title(tmp_path):
    names = ["a class with a very long name indeed", "short", "another rather long class name"]
    path = tmp_path / "confusion.png"
    plot_confusion(np.array([[5, 1, 0], [0, 7, 1], [2, 0, 9]]), str(path), names, title="digits: accuracy 84.00%")
    from matplotlib.image import imread

    image = imread(str(path))
    assert image.shape[0] > 200 and image.shape[1] > 200


def test_curves_written(tmp_path):
    plot_curves(
        [{"epoch": e, "loss": 1 / e, "accuracy": 0.5 + e / 20} for e in range(1, 6)], str(tmp_path / "c.png"), 3
    )
    assert (tmp_path / "c.png").stat().st_size > 1000
