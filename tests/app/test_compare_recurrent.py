"""compare recurrent: the long-range recall task, the gradient reaching each step, the table and the plot."""

import subprocess
import sys

import numpy as np

from chainrule import nn
from chainrule.app.compare_recurrent import Recall, gradient_by_step, run_recurrent, sequences


def test_the_task_needs_the_first_symbol():
    x, y = sequences(50, 6, np.random.default_rng(0))
    assert x.shape == (50, 7, 8) and np.array_equal(x[:, 0].argmax(axis=1), y)
    assert (x[:, 1:].argmax(axis=2) >= 4).all()  # the distractors are other symbols


def test_a_plain_rnn_s_gradient_fades_with_the_distance():
    gradient = gradient_by_step(Recall(nn.RNN), 30, 0)
    assert gradient.shape == (31,) and gradient[0] < 1e-3 * gradient[-1]


def test_run_writes_the_table_and_the_plot(tmp_path):
    text, runs, path = run_recurrent(str(tmp_path), steps=20, distances=(3, 6))
    assert set(runs) == {"RNN (tanh)", "GRU", "LSTM (forget-gate bias 1)"}
    assert all(len(r["accuracy"][6]) == 2 and 0 <= np.mean(r["accuracy"][6]) <= 1 for r in runs.values())
    assert "T=3" in text and "20 steps of 64" in text
    assert path.endswith("compare-recurrent.png") and (tmp_path / "compare-recurrent.png").stat().st_size > 20_000


def test_command_refuses_options_of_other_experiments(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "chainrule", "compare", "recurrent", "--lr", "0.1", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "--steps" in done.stderr
