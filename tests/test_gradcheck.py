import numpy as np
import pytest

import chainrule as cr
from chainrule.errors import GradcheckError
from chainrule.node import Node


def test_gradcheck_passes_for_correct_ops():
    x = cr.tensor(np.random.default_rng(0).standard_normal((3, 4)), requires_grad=True)
    w = cr.tensor(np.random.default_rng(1).standard_normal((4, 2)), requires_grad=True)
    assert cr.gradcheck(lambda a, b: (a @ b).tanh(), [x, w])


class WrongScale(Node):
    def forward(self, x):
        return x * 2

    def backward(self, grad_output):
        return grad_output * 3  # wrong: should be 2


def test_gradcheck_names_input_index_values_and_cause():
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    with pytest.raises(GradcheckError) as info:
        cr.gradcheck(lambda t: WrongScale.apply(t), [x])
    message = str(info.value)
    assert "input 0" in message and "index" in message and "autograd" in message and "numerical" in message
    assert "same factor 1.5" in message


def test_gradcheck_reports_missing_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GradcheckError, match="No gradient reached"):
        cr.gradcheck(lambda t: t.detach() ** 2 + t * 0.0, [x])


def test_numerical_grad_of_a_known_function():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (grad,) = cr.numerical_grad(lambda t: (t**3).sum(), [x])
    np.testing.assert_allclose(grad, [3.0, 12.0], rtol=1e-7)
