import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset, synthetic
from chainrule.errors import TrainingDiverged
from chainrule.train import Callback, CSVLogger, EarlyStopping, JSONLinesLogger, evaluate, fit


def _setup(seed=0, lr=0.05, hidden=16):
    cr.manual_seed(seed)
    X, y = synthetic.moons(200, noise=0.1, seed=seed)
    order = np.random.default_rng(seed).permutation(200)
    X, y = X[order], y[order]
    model = nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Dropout(0.1), nn.Linear(hidden, 2))
    train = DataLoader(TensorDataset(X[:160], y[:160]), batch_size=16, shuffle=True, seed=seed)
    val = DataLoader(TensorDataset(X[160:], y[160:]), batch_size=64)
    return model, optim.Adam(model.parameters(), lr=lr), train, val


def test_fit_learns_and_records_history():
    model, opt, train, val = _setup()
    history = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=30)
    assert len(history) == 30
    assert history["loss"][-1] < history["loss"][0] / 3
    assert history.last["val_accuracy"] > 0.9
    assert model.training  # fit leaves the model in training mode, having evaluated in eval mode
    results = evaluate(model, val, nn.CrossEntropyLoss())
    assert results["confusion"].sum() == 40 and results["confusion"].shape == (2, 2)
    assert results["accuracy"] == pytest.approx(np.trace(results["confusion"]) / 40)


def test_same_seed_same_numbers_bit_for_bit():
    runs = []
    for _ in range(2):
        model, opt, train, val = _setup(seed=5)
        fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=3)
        runs.append(model.state_dict())
    for key in runs[0]:
        np.testing.assert_array_equal(runs[0][key], runs[1][key])


def test_fit_zeroes_gradients_each_step():
    class Spy(Callback):
        norms = []

        def on_batch_end(self, ctx, logs):
            self.norms.append(float(np.abs(ctx.model[0].weight.grad).sum()))

    model, opt, train, _ = _setup()
    spy = Spy()
    fit(model, nn.CrossEntropyLoss(), opt, train, epochs=3, callbacks=[spy])
    assert max(spy.norms[-5:]) < 10 * np.median(spy.norms)  # no build-up from stale gradients


def test_early_stopping_restores_best_weights():
    model, opt, train, val = _setup(lr=0.05, hidden=64)
    stopper = EarlyStopping(patience=3, restore_best=True)
    history = fit(model, nn.CrossEntropyLoss(), opt, train, val, epochs=200, callbacks=[stopper])
    assert len(history) < 200 and "early stopping" in history.stop_reason
    assert evaluate(model, val, nn.CrossEntropyLoss())["loss"] == pytest.approx(stopper.best, rel=1e-5)


def test_divergence_guard_names_epoch_step_and_suggests_smaller_lr():
    cr.manual_seed(0)
    X, y = synthetic.sine(128)
    model = nn.Sequential(nn.Linear(1, 32), nn.ReLU(), nn.Linear(32, 1))
    opt = optim.SGD(model.parameters(), lr=5.0)
    loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True, seed=0)
    with pytest.raises(TrainingDiverged, match=r"epoch \d+, step \d+.*smaller learning rate"):
        fit(model, nn.MSELoss(), opt, loader, epochs=20)


def test_loggers_write_one_line_per_epoch(tmp_path):
    import csv
    import json

    model, opt, train, val = _setup()
    fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        train,
        val,
        epochs=4,
        callbacks=[JSONLinesLogger(str(tmp_path / "m.jsonl")), CSVLogger(str(tmp_path / "m.csv"))],
    )
    lines = [json.loads(line) for line in (tmp_path / "m.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2, 3, 4] and "val_loss" in lines[0]
    rows = list(csv.DictReader(open(tmp_path / "m.csv")))
    assert len(rows) == 4 and float(rows[-1]["loss"]) == pytest.approx(lines[-1]["loss"])


def test_regression_metrics():
    cr.manual_seed(0)
    X, y = synthetic.sine(256)
    model = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 1))
    loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True, seed=0)
    history = fit(model, nn.MSELoss(), optim.Adam(model.parameters(), lr=0.01), loader, loader, epochs=40)
    assert history.last["val_r2"] > 0.95 and history.last["val_mae"] < 0.2
