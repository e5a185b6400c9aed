import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.functional as F
from chainrule.errors import DataError, DTypeError, ShapeError
from tests.oracle import check_op

rng = np.random.default_rng(5)

# every test here runs on the NumPy path and on the Numba kernels (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("kernel_path")
REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_with_class_indices(reduction, smoothing):
    logits, target = rng.standard_normal((6, 4)) * 3, rng.integers(0, 4, 6)
    check_op(
        lambda x, t: F.cross_entropy(x, t, reduction=reduction, label_smoothing=smoothing),
        lambda x, t: TF.cross_entropy(x, t, reduction=reduction, label_smoothing=smoothing),
        logits,
        target,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_with_probabilities(reduction, smoothing):
    logits = rng.standard_normal((5, 3))
    probs = rng.dirichlet(np.ones(3), size=5)
    check_op(
        lambda x: F.cross_entropy(x, cr.tensor(probs, dtype=x.dtype), reduction=reduction, label_smoothing=smoothing),
        lambda x: TF.cross_entropy(x, torch.tensor(probs), reduction=reduction, label_smoothing=smoothing),
        logits,
    )


def test_cross_entropy_large_logits_are_finite():
    logits = cr.tensor([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 0.0]], requires_grad=True)
    loss = F.cross_entropy(logits, cr.tensor([1, 1]))
    loss.backward()
    assert np.isfinite(loss.item()) and np.isfinite(logits.grad).all()
    assert loss.item() == pytest.approx(1000.0, rel=1e-6)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(reduction):
    check_op(
        lambda x, t: F.nll_loss(cr.log_softmax(x, axis=1), t, reduction=reduction),
        lambda x, t: TF.nll_loss(torch.log_softmax(x, 1), t, reduction=reduction),
        rng.standard_normal((5, 3)),
        rng.integers(0, 3, 5),
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss"])
def test_regression_losses(name, reduction):
    check_op(
        lambda y, t: getattr(F, name)(y, t, reduction=reduction),
        lambda y, t: getattr(TF, name)(y, t, reduction=reduction),
        rng.standard_normal((4, 3)),
        rng.standard_normal((4, 3)),
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(reduction):
    p, t = rng.uniform(0.05, 0.95, (4, 3)), rng.uniform(0, 1, (4, 3))
    check_op(
        lambda x: F.binary_cross_entropy(x, t, reduction=reduction),
        lambda x: TF.binary_cross_entropy(x, torch.tensor(t), reduction=reduction),
        p,
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits(reduction):
    x, t = rng.standard_normal((4, 3)) * 3, (rng.uniform(0, 1, (4, 3)) > 0.5).astype(float)
    check_op(
        lambda y: F.binary_cross_entropy_with_logits(y, t, reduction=reduction),
        lambda y: TF.binary_cross_entropy_with_logits(y, torch.tensor(t), reduction=reduction),
        x,
    )


def test_bce_with_logits_large_logits_are_finite():
    x = cr.tensor([1000.0, -1000.0], requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, np.array([0.0, 1.0]))
    loss.backward()
    assert loss.item() == pytest.approx(1000.0) and np.isfinite(x.grad).all()


def test_textbook_half_sum_of_squares():
    y, t = cr.tensor([0.75, 0.77], requires_grad=True), cr.tensor([0.01, 0.99])
    loss = 0.5 * F.mse_loss(y, t, reduction="sum")
    loss.backward()
    assert loss.item() == pytest.approx(0.5 * (0.74**2 + 0.22**2), rel=1e-6)
    np.testing.assert_allclose(y.grad, [0.74, -0.22], rtol=1e-5)


def test_loss_input_errors():
    with pytest.raises(ShapeError, match=r"\(4, 1\).*\(4,\)"):
        F.mse_loss(cr.ones(4, 1), cr.ones(4))
    with pytest.raises(DataError, match="target class 7 is out of range for 3 classes"):
        F.cross_entropy(cr.ones(2, 3), cr.tensor([0, 7]))
    # the first bad target in order, negative ones included (the CPU kernel checks the range as it goes)
    with pytest.raises(DataError, match=r"target class -1 is out of range for 3 classes \[0, 3\)"):
        F.cross_entropy(cr.ones(4, 3), cr.tensor([2, 0, -1, 5]))
    with pytest.raises(DataError, match="target class 3 is out of range"):
        F.cross_entropy(cr.ones(3, 3), cr.tensor(np.array([0, 3, 1], dtype=np.uint8)), label_smoothing=0.1)
    with pytest.raises(DataError, match="target class 4 is out of range"):
        F.nll_loss(cr.ones(2, 3), cr.tensor([4, 0]))
    with pytest.raises(DTypeError, match="must be integers"):
        F.cross_entropy(cr.ones(2, 3), cr.tensor([0.0, 1.0]))
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        F.binary_cross_entropy(cr.tensor([0.5]), cr.tensor([2.0]))
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(cr.ones(2), cr.ones(2), reduction="avg")


@pytest.mark.parametrize("n", [1, 7, 8, 9, 128, 1001])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_mean_reduction_is_numpys_mean_to_the_bit(n, dtype):
    """The mean reduction sums with np.add.reduce and divides (ops/loss.py _reduce): the same bits as mean()."""
    from chainrule.ops.loss import _reduce

    losses = (np.random.default_rng(n).standard_normal(n) * 10).astype(dtype)
    reduced = _reduce(losses, "mean")
    assert reduced.dtype == losses.dtype and reduced.shape == ()
    assert reduced == losses.mean(dtype=losses.dtype)
