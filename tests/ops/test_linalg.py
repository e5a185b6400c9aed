import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.functional as F
from chainrule.errors import ShapeError
from tests.oracle import check_op

rng = np.random.default_rng(3)

# every test here runs on the NumPy path and on the Numba kernels (Linear's bias gradient; tests/conftest.py)
pytestmark = pytest.mark.usefixtures("kernel_path")


@pytest.mark.parametrize(
    "sa, sb",
    [
        ((3, 4), (4, 5)),
        ((2, 3, 4), (2, 4, 5)),
        ((2, 3, 4), (4, 5)),
        ((3, 4), (2, 4, 5)),
        ((4,), (4, 5)),
        ((3, 4), (4,)),
        ((4,), (4,)),
        ((2, 1, 3, 4), (5, 4, 2)),
    ],
)
def test_matmul_matches_pytorch(sa, sb):
    check_op(lambda a, b: a @ b, torch.matmul, rng.standard_normal(sa), rng.standard_normal(sb))


def test_linear_matches_pytorch():
    x, w, b = rng.standard_normal((5, 4)), rng.standard_normal((3, 4)), rng.standard_normal(3)
    check_op(F.linear, torch.nn.functional.linear, x, w, b)
    check_op(F.linear, torch.nn.functional.linear, x, w)
    check_op(F.linear, torch.nn.functional.linear, rng.standard_normal((2, 5, 4)), w, b)


def test_matmul_shape_error_names_both_shapes():
    with pytest.raises(ShapeError, match=r"matmul: shapes \(2, 3\) and \(4, 5\)"):
        cr.ones(2, 3) @ cr.ones(4, 5)


def test_linear_shape_error_names_features():
    with pytest.raises(ShapeError, match=r"785.*784"):
        F.linear(cr.ones(32, 785), cr.ones(10, 784), cr.ones(10))
    with pytest.raises(ShapeError, match="bias"):
        F.linear(cr.ones(32, 784), cr.ones(10, 784), cr.ones(9))
