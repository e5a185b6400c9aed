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


def test_gelu_in_float32_is_within_two_ulps_of_the_exact_and_matches_pytorch(kernel_path, monkeypatch):
    """float32 GELU takes the compiled passes on the Numba path (an erfc fit and NumPy's exp, backend/cpu.py gelu):
    output within 2 ulps of x Phi(x) computed in float64 with math.erfc (the other paths within 2e-6), the
    derivative within 2e-7 of Phi + x phi, over [-16, 16] and at 0, -0, tiny, huge, inf and NaN; and both equal
    PyTorch's float32 GELU to float32's tolerance, which is PyTorch's own distance from the exact."""
    import math

    from chainrule.backend import fast

    grid = np.concatenate([np.linspace(-16, 16, 200_001), [0.0, -0.0, 1e-30, -1e-30, 1e-40, 3e38, -3e38]])
    x = cr.tensor(grid.astype(np.float32), requires_grad=True)
    ran, original = [], fast.gelu
    monkeypatch.setattr(fast, "gelu", lambda a: ran.append(original(a)) or ran[-1])
    with np.errstate(over="ignore"):  # the NumPy path's x * x at 3e38
        y = F.gelu(x)
        y.backward(cr.ones_like(y))
    assert (ran[0] is not None) == (kernel_path == "numba")  # the compiled passes ran exactly where they should
    assert y.dtype == np.float32 and x.grad.dtype == np.float32
    v = x.detach().numpy().astype(np.float64)
    phi = np.array([0.5 * math.erfc(-a / math.sqrt(2)) for a in v])
    exact = (v * phi).astype(np.float32)
    ours = y.detach().numpy()
    if kernel_path == "numba":  # the erfc fit keeps the left tail's relative accuracy
        assert np.max(np.abs(ours - exact) / np.spacing(np.abs(exact) + np.float32(1e-38))) <= 2
    else:  # (1 + erf) / 2 in float32 loses it there: x times float32's epsilon, as PyTorch's
        np.testing.assert_allclose(ours, exact, rtol=2e-7, atol=2e-6)
    with np.errstate(over="ignore", invalid="ignore"):
        slope = phi + v * np.exp(-0.5 * v * v) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(x.grad.numpy(), slope, rtol=0, atol=2e-7)
    # PyTorch's float32 GELU is further from the exact than this (its erf's absolute error, times x, reaches 1e-6 in
    # the left tail: -1.19e-6 where x Phi(x) is -1.43e-6), and it overflows to inf at 3e38
    finite = slice(0, -2)
    theirs = torch.tensor(grid[finite].astype(np.float32), requires_grad=True)
    torch.nn.functional.gelu(theirs).backward(torch.ones(len(grid) - 2))
    np.testing.assert_allclose(ours[finite], torch.nn.functional.gelu(theirs).detach().numpy(), rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(x.grad.numpy()[finite], theirs.grad.numpy(), rtol=2e-6, atol=2e-6)
    # inf, -inf, NaN: x Phi(x) gives inf, -inf * 0 and NaN, as PyTorch's float64 GELU (its float32 one overflows to
    # NaN at inf); the derivative Phi + x phi is NaN at all three (inf * 0), as PyTorch's in both dtypes
    special = cr.tensor(np.array([np.inf, -np.inf, np.nan], np.float32), requires_grad=True)
    with np.errstate(invalid="ignore", over="ignore"):
        out = F.gelu(special)
        out.backward(cr.ones_like(out))
    np.testing.assert_array_equal(out.detach().numpy(), [np.inf, np.nan, np.nan])
    np.testing.assert_array_equal(special.grad.numpy(), [np.nan, np.nan, np.nan])
