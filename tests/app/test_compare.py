import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.app.compare import run_comparison
from chainrule.data import DataLoader, TensorDataset, synthetic
from chainrule.explain.diagnostics import GradientMonitor
from chainrule.train import fit


@pytest.mark.parametrize("experiment, epochs", [("optimizers", 2), ("batching", 1), ("lr", 2)])
def test_compare_commands_run_and_plot(tmp_path, experiment, epochs):
    text, runs, path = run_comparison(experiment, epochs=epochs, out=str(tmp_path))
    assert path and (tmp_path / f"compare-{experiment}.png").stat().st_size > 0
    assert len(text.strip().splitlines()) == len(runs) + 1
    if experiment == "lr":
        assert "diverged" in text  # the largest rates blow up
    if experiment == "optimizers":  # each run named with its settings, in the table and the legend
        assert list(runs) == [
            "SGD (lr 0.05)",
            "Momentum (lr 0.05, momentum 0.9)",
            "Nesterov (lr 0.05, momentum 0.9, nesterov)",
            "Adagrad (lr 0.05)",
            "RMSprop (lr 0.001)",
            "Adam (lr 0.001)",
        ]
        assert all(name in text for name in runs)


def test_compare_optimizers_with_one_lr_for_all(tmp_path):
    text, runs, _ = run_comparison("optimizers", epochs=1, out=str(tmp_path), lr=0.01)
    assert all("lr 0.01" in name for name in runs) and "lr 0.05" not in text


def test_compare_lr_refuses_one_lr(tmp_path):
    from chainrule.errors import ConfigError

    with pytest.raises(ConfigError, match="sweeps learning rates"):
        run_comparison("lr", epochs=1, out=str(tmp_path), lr=0.1)


def test_every_line_of_a_comparison_is_distinguishable(tmp_path, monkeypatch):
    from chainrule.app import compare

    drawn = []
    monkeypatch.setattr(compare, "save_figure", lambda fig, path: drawn.append(fig))
    run_comparison("optimizers", epochs=2, out=str(tmp_path))
    lines = drawn[0].axes[0].get_lines()
    styles = {(line.get_color(), line.get_linestyle(), line.get_marker()) for line in lines}
    assert len(lines) == 6 and len({s[1:] for s in styles}) == 6  # dash and marker differ even without colour
    assert [line.get_label() for line in lines][1] == "Momentum (lr 0.05, momentum 0.9)"


def test_depth_shows_the_vanishing_gradient(tmp_path):
    text, runs, path = run_comparison("depth", epochs=2, out=str(tmp_path))
    sigmoid, relu, batchnorm = runs.values()
    first = lambda run: np.mean([r["first_layer_grad_norm"] for r in run[0]])
    assert first(sigmoid) * 10 <= first(relu)
    assert first(sigmoid) * 10 <= first(batchnorm)
    assert (tmp_path / "compare-depth.png").exists()


def test_gradient_monitor_warns_and_draws(tmp_path):
    cr.manual_seed(0)
    X, y = synthetic.spiral(120, classes=3)
    model = nn.MLP(2, [16] * 10, 3, activation="sigmoid")
    monitor = GradientMonitor(out_dir=str(tmp_path), vanishing=1e-4, quiet=True)
    fit(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.1),
        DataLoader(TensorDataset(X, y), batch_size=32, seed=0),
        epochs=2,
        callbacks=[monitor],
    )
    assert monitor.warnings and "vanishing" in monitor.warnings[0] and "layer 1" in monitor.warnings[0]
    assert (tmp_path / "gradients.png").stat().st_size > 0 and (tmp_path / "gradients.json").exists()
    assert len(monitor.records) == 2 and "act_mean" in monitor.records[0]["layers"]["1"]
    assert not any(module._forward_hooks for module in model.modules())  # hooks are removed after training
