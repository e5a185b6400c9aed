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
    if experiment == "optimizers":
        assert set(runs) == {"SGD", "Momentum", "Nesterov", "Adagrad", "RMSprop", "Adam"}


def test_depth_shows_the_vanishing_gradient(tmp_path):
    text, runs, path = run_comparison("depth", epochs=2, out=str(tmp_path))
    sigmoid, relu, batchnorm = runs.values()
    first = lambda run: np.mean([r["first_layer_grad_norm"] for r in run[0]])
    assert first(sigmoid) * 10 <= first(relu)
    assert first(sigmoid) * 10 <= first(batchnorm)
    assert (tmp_path / "compare-depth.png").exists()


def test_gradient_monitor_warns_and_draws(tmp_path):
    cr.manual_seed(0)
    X, y = synthetic.spirals(120)
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
