import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn

rng = np.random.default_rng(11)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(
    "ours, theirs, make",
    [
        (
            lambda r: nn.MSELoss(reduction=r),
            lambda r: torch.nn.MSELoss(reduction=r),
            lambda: (rng.standard_normal((4, 3)), rng.standard_normal((4, 3))),
        ),
        (
            lambda r: nn.L1Loss(reduction=r),
            lambda r: torch.nn.L1Loss(reduction=r),
            lambda: (rng.standard_normal((4, 3)), rng.standard_normal((4, 3))),
        ),
        (
            lambda r: nn.CrossEntropyLoss(reduction=r, label_smoothing=0.1),
            lambda r: torch.nn.CrossEntropyLoss(reduction=r, label_smoothing=0.1),
            lambda: (rng.standard_normal((4, 3)), rng.integers(0, 3, 4)),
        ),
        (
            lambda r: nn.NLLLoss(reduction=r),
            lambda r: torch.nn.NLLLoss(reduction=r),
            lambda: (np.log(rng.dirichlet(np.ones(3), 4)), rng.integers(0, 3, 4)),
        ),
        (
            lambda r: nn.BCELoss(reduction=r),
            lambda r: torch.nn.BCELoss(reduction=r),
            lambda: (rng.uniform(0.1, 0.9, (4, 2)), rng.uniform(0, 1, (4, 2))),
        ),
        (
            lambda r: nn.BCEWithLogitsLoss(reduction=r),
            lambda r: torch.nn.BCEWithLogitsLoss(reduction=r),
            lambda: (rng.standard_normal((4, 2)), rng.uniform(0, 1, (4, 2))),
        ),
    ],
)
def test_loss_modules_match_pytorch(ours, theirs, make, reduction):
    prediction, target = make()
    p = cr.tensor(prediction, dtype="float64", requires_grad=True)
    tp = torch.tensor(prediction, requires_grad=True)
    t = cr.tensor(target, dtype="float64") if target.dtype.kind == "f" else cr.tensor(target)
    lo, lt = ours(reduction)(p, t), theirs(reduction)(tp, torch.tensor(target))
    np.testing.assert_allclose(lo.array, lt.detach().numpy(), rtol=1e-9)
    lo.backward(np.ones(lo.shape))
    lt.backward(torch.ones(lt.shape, dtype=torch.float64))
    np.testing.assert_allclose(p.grad, tp.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_textbook_squared_error_is_half_sum_mse():
    y, t = cr.tensor([0.75136507, 0.77292847]), cr.tensor([0.01, 0.99])
    e = 0.5 * nn.MSELoss(reduction="sum")(y, t)
    assert e.item() == pytest.approx(0.298371109, rel=1e-6)


def test_bad_reduction_is_rejected():
    with pytest.raises(ValueError, match="reduction"):
        nn.MSELoss(reduction="average")
