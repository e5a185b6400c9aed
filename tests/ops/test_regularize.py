import numpy as np
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.functional as F
from tests.oracle import check_op

rng = np.random.default_rng(7)


def test_dropout_is_inverted_and_off_in_eval():
    cr.manual_seed(0)
    x = cr.ones(1000, 100, requires_grad=True)
    y = F.dropout(x, 0.3, training=True)
    kept = y.array != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y.array[kept], 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, kept / 0.7, rtol=1e-6)
    assert F.dropout(x, 0.3, training=False) is x


def test_batch_norm_training_matches_pytorch():
    x, w, b = rng.standard_normal((6, 4)), rng.standard_normal(4), rng.standard_normal(4)
    check_op(
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True),
        x,
        w,
        b,
    )
    x3 = rng.standard_normal((3, 2, 5))
    check_op(lambda x: F.batch_norm(x, training=True), lambda x: TF.batch_norm(x, None, None, training=True), x3)


def test_batch_norm_running_statistics_match_pytorch():
    x = rng.standard_normal((8, 3))
    rm, rv = np.zeros(3), np.ones(3)
    trm, trv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    F.batch_norm(cr.tensor(x, dtype="float64"), rm, rv, training=True, momentum=0.1)
    TF.batch_norm(torch.tensor(x), trm, trv, training=True, momentum=0.1)
    np.testing.assert_allclose(rm, trm.numpy())
    np.testing.assert_allclose(rv, trv.numpy())
    check_op(lambda x: F.batch_norm(x, rm, rv, training=False), lambda x: TF.batch_norm(x, trm, trv, training=False), x)
