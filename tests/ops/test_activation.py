import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.functional as F
from tests.oracle import check_op

rng = np.random.default_rng(4)

# every test here runs on the NumPy path and on the Numba kernels (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("kernel_path")


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (cr.relu, torch.relu),
        (lambda x: F.leaky_relu(x, 0.1), lambda x: torch.nn.functional.leaky_relu(x, 0.1)),
        (cr.sigmoid, torch.sigmoid),
        (cr.tanh, torch.tanh),
        (lambda x: cr.softmax(x, axis=-1), lambda x: torch.softmax(x, dim=-1)),
        (lambda x: cr.softmax(x, axis=0), lambda x: torch.softmax(x, dim=0)),
        (lambda x: cr.log_softmax(x, axis=1), lambda x: torch.log_softmax(x, dim=1)),
        (F.gelu, torch.nn.functional.gelu),
        (lambda x: F.gelu(x, approximate="tanh"), lambda x: torch.nn.functional.gelu(x, approximate="tanh")),
    ],
)
def test_activations_match_pytorch(ours, theirs):
    x = rng.standard_normal((4, 5)) * 2
    check_op(ours, theirs, x)


def test_activations_are_methods_too():
    x = cr.tensor([-1.0, 2.0])
    np.testing.assert_allclose(x.relu().array, [0.0, 2.0])
    np.testing.assert_allclose(x.sigmoid().array, 1 / (1 + np.exp([1.0, -2.0])), rtol=1e-6)


def test_large_inputs_stay_finite():
    x = cr.tensor([[-1000.0, 0.0, 1000.0]], requires_grad=True)
    for fn in (cr.sigmoid, cr.tanh, cr.softmax, cr.log_softmax):
        y = fn(x)
        assert np.isfinite(y.array).all()
        y.sum().backward()
        assert np.isfinite(x.grad).all()
        x.grad = None


def test_gelu_of_a_zero_dimensional_tensor():
    # found by the differential test: erf through np.frompyfunc returns a float for 0-d input
    check_op(lambda x: F.gelu(x.sum()), lambda x: torch.nn.functional.gelu(x.sum()), np.array([0.41088506]))
