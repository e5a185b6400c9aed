import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import DTypeError


def test_float_data_becomes_float32_and_float64_on_request():
    assert cr.tensor([1.0, 2.0]).dtype == np.float32
    assert cr.tensor(np.ones(3)).dtype == np.float32
    assert cr.tensor([1.0], dtype="float64").dtype == np.float64
    assert cr.tensor([1.0], dtype=cr.float64).dtype == np.float64
    assert cr.tensor([1, 2]).dtype == np.int64
    assert cr.from_numpy(np.ones(2)).dtype == np.float64


def test_basic_attributes_and_repr():
    t = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert t.shape == (2, 2) and t.ndim == 2 and t.grad is None and t.requires_grad and t.is_leaf
    assert "requires_grad=True" in repr(t)
    y = (t * 2).sum()
    assert "grad_fn=<SumBackward>" in repr(y)
    assert y.item() == 20.0 and isinstance(y.item(), float)
    assert isinstance(t.detach().numpy(), np.ndarray)
    d = t.detach()
    assert not d.requires_grad and d.array is t.array


def test_requires_grad_on_integers_is_an_error():
    with pytest.raises(DTypeError, match="floating-point"):
        cr.tensor([1, 2], requires_grad=True)


def test_comparisons_give_boolean_tensors():
    t = cr.tensor([1.0, 3.0])
    assert (t > 2).array.tolist() == [False, True]
    assert (t == 1.0).dtype == np.bool_


def test_to_and_float_double_casts_are_differentiable():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(x.grad, [2.0, 4.0])


def test_a_tensor_made_from_a_tensor_keeps_its_dtype_as_pytorch():
    """nn.Parameter(a float64 tensor) stays float64: a float64 tensor was asked for, so nothing narrows it."""
    t64 = cr.tensor([1.0, 2.0], dtype="float64")
    assert cr.tensor(t64).dtype == "float64"
    assert cr.nn.Parameter(t64).dtype == "float64"
    assert cr.tensor(t64, dtype="float32").dtype == "float32"  # unless asked
    assert cr.tensor(np.zeros(2)).dtype == "float32"  # NumPy data still takes the default dtype
