"""Arithmetic (ops/arithmetic.py) against PyTorch: + - * / and powers with broadcasting, a value used twice, the
float32/float64 rule, and the Python-number fast path giving NumPy's bits.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
from chainrule.errors import DTypeError, ShapeError
from tests.oracle import check_op

rng = np.random.default_rng(0)


def r(*shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape)


BROADCAST_PAIRS = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 3, 4), (3, 1)), ((1, 4), (3, 1)), ((3, 4), ())]


@pytest.mark.parametrize("shapes", BROADCAST_PAIRS)
def test_division(shapes):
    check_op(lambda a, b: a / b, lambda a, b: a / b, r(*shapes[0]), r(*shapes[1], low=0.5, high=2.0))


def test_power_with_tensor_exponent():
    check_op(lambda a, b: a**b, lambda a, b: a**b, r(3, 4, low=0.5, high=2), r(4))


@pytest.mark.parametrize("exponent", [2, 3, 0.5, -1.5])
def test_power_with_number_exponent(exponent):
    check_op(lambda a: a**exponent, lambda a: a**exponent, r(3, 4, low=0.5, high=2))


def test_value_used_twice_accumulates():
    a = cr.tensor(3.0, requires_grad=True)
    (a + a).backward()
    assert a.grad == 2.0
    b = cr.tensor(3.0, requires_grad=True)
    (b * b * b).backward()
    assert b.grad == pytest.approx(27.0)


def test_broadcast_mismatch_names_op_and_shapes():
    with pytest.raises(ShapeError, match=r"add.*\(2, 3\).*\(4,\)"):
        cr.ones(2, 3) + cr.ones(4)
    with pytest.raises(ValueError):  # ShapeError is a ValueError
        cr.ones(2, 3) * cr.ones(3, 2)


def test_mixing_float32_and_float64_is_an_error_not_an_upcast():
    with pytest.raises(DTypeError, match="float32 and float64"):
        cr.ones(2) + cr.ones(2, dtype=cr.float64)
    with pytest.raises(TypeError):  # DTypeError is a TypeError
        cr.ones(2) * cr.ones(2, dtype=cr.float64)


def test_python_numbers_and_integer_tensors_keep_the_float_dtype():
    x = cr.ones(3)
    assert (x * 2.5).dtype == np.float32
    assert (2.5 + x).dtype == np.float32
    assert (x + cr.tensor([1, 2, 3])).dtype == np.float32
    assert (cr.ones(3, dtype="float64") + np.ones(3, dtype=np.float32)).dtype == np.float64


@settings(max_examples=40, deadline=None)
@given(
    hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=4),
    st.sampled_from(["add", "mul", "sub", "div"]),
)
def test_broadcasting_gradients_match_pytorch(shapes, op):
    a = rng.uniform(0.5, 2.0, size=shapes.input_shapes[0])
    b = rng.uniform(0.5, 2.0, size=shapes.input_shapes[1])
    fn = {"add": lambda x, y: x + y, "mul": lambda x, y: x * y, "sub": lambda x, y: x - y, "div": lambda x, y: x / y}[
        op
    ]
    check_op(fn, fn, a, b, gradcheck=False)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("scalar", [1.0001, 1 / 3, -2.5, 3, 3.0, 1e-30, 0.0, -0.0, float("nan"), float("inf")])
def test_an_op_with_a_python_number_gives_numpys_bits_and_dtype(dtype, scalar):
    """The scalar ops pass the number to NumPy as a 0-d array of the tensor's dtype (faster): the values,
    including the sign of zero, and the dtype must be those of the array op with the Python number."""
    with np.errstate(all="ignore"):  # float16 overflows to inf, as NumPy's own op does
        a = np.array([0.7, -1.3, 2.0, 65000.0], dtype=dtype)
        x = cr.tensor(a, requires_grad=True, dtype=dtype)
        for _ in range(2):  # the second time the number's 0-d array comes from apply_scalar's cache (not 0, NaN)
            for got, want in [
                (x * scalar, a * scalar),
                (x + scalar, a + scalar),
                (x - scalar, a - scalar),
                (scalar - x, scalar - a),
            ] + ([(x / scalar, a / scalar), (scalar / x, scalar / a)] if scalar != 0 else []):
                assert got.dtype == want.dtype == dtype
                assert got.array.tobytes() == want.tobytes()
        (x * scalar).sum().backward()
        assert x.grad.dtype == dtype and x.grad.array.tobytes() == (np.ones_like(a) * scalar).tobytes()
        zero_d = cr.tensor(1.5, dtype=dtype) * scalar  # a 0-d result comes back as an array
        assert zero_d.shape == () and zero_d.dtype == dtype and type(zero_d.array) is np.ndarray
