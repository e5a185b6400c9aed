"""Whole training runs against PyTorch: the same CNN from the same weights, on the same batches, must reach
the same accuracy, on a small problem (scikit-learn's 8x8 digits) and an MNIST-sized one (real MNIST
images), on the NumPy path and on the Numba kernels. The per-op tests check each gradient; this checks that
nothing drifts over hundreds of steps of the fused, blocked and reordered code."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import optim

pytestmark = pytest.mark.usefixtures("kernel_path")


def _cnn(lib, side: int):
    """conv8-relu-pool-conv16-relu-pool-linear, as the benchmark's CNN but narrower."""
    return lib.nn.Sequential(
        lib.nn.Conv2d(1, 8, 3, padding=1),
        lib.nn.ReLU(),
        lib.nn.MaxPool2d(2),
        lib.nn.Conv2d(8, 16, 3, padding=1),
        lib.nn.ReLU(),
        lib.nn.MaxPool2d(2),
        lib.nn.Flatten(),
        lib.nn.Linear(16 * (side // 4) ** 2, 10),
    )


def _train_both(X, y, X_test, y_test, epochs: int, batch: int, lr: float):
    """(chainrule's, PyTorch's) test accuracy and last epoch's mean training loss."""
    side = X.shape[-1]
    torch.manual_seed(0)
    theirs = _cnn(torch, side)
    ours = _cnn(cr, side)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        p.array[...] = q.detach().numpy()  # the same initial weights
    results = []
    for model, lib in ((ours, cr), (theirs, torch)):
        opt = (optim if lib is cr else torch.optim).SGD(model.parameters(), lr=lr, momentum=0.9)
        loss_fn = lib.nn.CrossEntropyLoss()
        as_tensor = cr.from_numpy if lib is cr else torch.from_numpy
        for _ in range(epochs):
            losses = []
            for i in range(0, len(X), batch):
                opt.zero_grad()
                loss = loss_fn(model(as_tensor(X[i : i + batch])), as_tensor(y[i : i + batch]))
                loss.backward()
                opt.step()
                losses.append(loss.item())
        with lib.no_grad():
            predicted = model(as_tensor(X_test)).argmax(1)
        accuracy = float((np.asarray(predicted.numpy()) == y_test).mean())
        results.append((accuracy, float(np.mean(losses))))
    return results


def _assert_same_learning(results, at_least: float) -> None:
    """Both learned, to the same test accuracy and training loss. (Here both reached the same accuracy, 95.7%
    on digits and 91.8% on MNIST, with losses equal to 7 digits; float32 rounding in another BLAS may move a
    few test images.)"""
    (ours, our_loss), (theirs, their_loss) = results
    assert ours > at_least and theirs > at_least
    assert abs(ours - theirs) <= 0.01, f"test accuracy {ours:.4f} against PyTorch's {theirs:.4f}"
    assert our_loss == pytest.approx(their_loss, rel=1e-3)


def _shuffled(X, y, seed=0):
    order = np.random.default_rng(seed).permutation(len(X))
    return X[order], y[order]


def test_a_cnn_on_8x8_digits_learns_as_pytorch():
    from sklearn.datasets import load_digits

    digits = load_digits()
    X, y = _shuffled((digits.images / 16.0).astype(np.float32)[:, None], digits.target.astype(np.int64))
    _assert_same_learning(_train_both(X[:1400], y[:1400], X[1400:], y[1400:], 8, 32, 0.05), 0.9)


def test_a_cnn_on_real_mnist_learns_as_pytorch(mnist_dir):
    from chainrule.data.mnist import load_idx_pair

    images, labels = load_idx_pair(mnist_dir, "test")  # the 10,000 real test images, split in two here
    X, y = _shuffled((images / 255.0).astype(np.float32)[:, None], labels)
    _assert_same_learning(_train_both(X[:3000], y[:3000], X[8000:], y[8000:], 2, 64, 0.05), 0.85)
