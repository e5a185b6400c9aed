import numpy as np
import pytest
import torch.nn.functional as TF

import chainrule as cr
import chainrule.functional as F
from chainrule.errors import ShapeError
from tests.oracle import check_op

rng = np.random.default_rng(6)


@pytest.mark.parametrize("stride, padding, kernel", [(1, 0, 3), (1, 1, 3), (2, 1, 3), (2, 0, 2), ((1, 2), (0, 1), (3, 2))])
def test_conv2d_matches_pytorch(stride, padding, kernel):
    k = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    x, w, b = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, *k)), rng.standard_normal(4)
    check_op(lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding),
             lambda x, w, b: TF.conv2d(x, w, b, stride=stride, padding=padding), x, w, b, gradcheck=False)
    small = rng.standard_normal((1, 2, 5, 4)), rng.standard_normal((2, 2, *k))
    assert cr.gradcheck(lambda x, w: F.conv2d(x, w, stride=stride, padding=padding),
                        [cr.tensor(a, dtype="float64", requires_grad=True) for a in small])


@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), (3, 1, 0), (2, 1, 1)])
@pytest.mark.parametrize("pool", ["max", "avg"])
def test_pooling_matches_pytorch(pool, kernel, stride, padding):
    x = rng.standard_normal((2, 3, 8, 6))
    ours = getattr(F, f"{pool}_pool2d")
    theirs = getattr(TF, f"{pool}_pool2d")
    check_op(lambda t: ours(t, kernel, stride, padding), lambda t: theirs(t, kernel, stride, padding), x)


def test_conv_errors():
    with pytest.raises(ShapeError, match="4-D"):
        F.conv2d(cr.ones(3, 8, 8), cr.ones(2, 3, 3, 3))
    with pytest.raises(ShapeError, match="channels"):
        F.conv2d(cr.ones(1, 2, 8, 8), cr.ones(2, 3, 3, 3))
