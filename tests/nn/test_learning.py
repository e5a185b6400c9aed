"""Networks built from the layers learn the classic problems to a stated loss."""

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import synthetic


def _train(model, loss_fn, X, y, optimizer, steps, batch=None):
    X, y = cr.tensor(X), cr.tensor(y)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        index = rng.choice(len(X.array), batch, replace=False) if batch else slice(None)
        optimizer.zero_grad()
        loss = loss_fn(model(X[index]), y[index])
        loss.backward()
        optimizer.step()
    with cr.no_grad():
        return loss_fn(model(X), y).item(), model(X)


def test_learns_xor():
    cr.manual_seed(0)
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)  # the truth table
    y = np.array([0, 1, 1, 0])
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    loss, out = _train(model, nn.CrossEntropyLoss(), X, y, optim.SGD(model.parameters(), lr=0.5, momentum=0.9), 300)
    assert loss < 0.01
    assert (out.array.argmax(1) == y).all()


def test_learns_spirals():
    cr.manual_seed(0)
    X, y = synthetic.spiral(300, classes=3)
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))
    loss, out = _train(model, nn.CrossEntropyLoss(), X, y, optim.Adam(model.parameters(), lr=0.01), 1500, batch=64)
    assert loss < 0.15
    assert (out.array.argmax(1) == y).mean() > 0.95


def test_learns_sine_regression():
    cr.manual_seed(0)
    X, y = synthetic.sine(256, noise=0.0)
    model = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1))
    loss, _ = _train(model, nn.MSELoss(), X, y, optim.Adam(model.parameters(), lr=0.01), 1500, batch=64)
    assert loss < 1e-3
