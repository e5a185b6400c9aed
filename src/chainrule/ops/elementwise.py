"""Element-wise functions: exp/log/sqrt/abs, sin/cos/tan, erf, rounding, clip, maximum/minimum, where.

(Arithmetic is in arithmetic.py, casts and copies in conversion.py.)

Each backward multiplies the output gradient by the local derivative and sums it back to the
input's shape where the forward broadcast (``sum_to``).
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import array_module, fast, is_device_array
from ..backend import to_device as to_device_array
from ..node import Node
from ..tensor import Tensor, as_tensor
from .broadcast import constant, operands, sum_to, sum_to_tensor


class Exp(Node):
    saved_inputs = ()
    saves_output = True

    def forward(self, x):
        xp = array_module(x)
        self.y = xp.exp(x)
        return self.y

    def backward(self, grad_output):
        return grad_output * self.y  # d(e^x)/dx = e^x

    def backward_graph(self, grad_output):
        return grad_output * exp(self.inputs[0])


class Log(Node):
    saved_inputs = (0,)
    saves_output = False

    def forward(self, x):
        xp = array_module(x)
        self.x = x
        return xp.log(x)

    def backward(self, grad_output):
        return grad_output / self.x  # d(ln x)/dx = 1/x

    def backward_graph(self, grad_output):
        return grad_output / self.inputs[0]


class Log2(Node):
    saved_inputs = (0,)
    saves_output = False
    base = 2

    def forward(self, x):
        self.x = x
        return array_module(x).log2(x)

    def backward(self, grad_output):
        # log_b x = ln x / ln b, so d(log_b x)/dx = 1 / (x ln b)
        return grad_output / (self.x * self.x.dtype.type(math.log(self.base)))

    def backward_graph(self, grad_output):
        return grad_output / (self.inputs[0] * math.log(self.base))


class Log10(Log2):
    base = 10

    def forward(self, x):
        self.x = x
        return array_module(x).log10(x)


class Sqrt(Node):
    saved_inputs = ()
    saves_output = True

    def forward(self, x):
        xp = array_module(x)
        self.y = xp.sqrt(x)
        return self.y

    def backward(self, grad_output):
        return grad_output / (2 * self.y)  # d(sqrt x)/dx = 1 / (2 sqrt x)

    def backward_graph(self, grad_output):
        return grad_output / (2 * sqrt(self.inputs[0]))


class Abs(Node):
    saved_inputs = (0,)
    saves_output = False

    def forward(self, x):
        xp = array_module(x)
        self.x = x
        return xp.abs(x)

    def backward(self, grad_output):
        xp = array_module(grad_output)
        return grad_output * xp.sign(self.x)  # sign(0) = 0, as in PyTorch

    def backward_graph(self, grad_output):
        x = self.inputs[0].array
        return grad_output * constant(array_module(x).sign(x))


class Sin(Node):
    saved_inputs = (0,)
    saves_output = False

    def forward(self, x):
        self.x = x
        return array_module(x).sin(x)

    def backward(self, grad_output):
        return grad_output * array_module(grad_output).cos(self.x)  # d sin x/dx = cos x

    def backward_graph(self, grad_output):
        return grad_output * cos(self.inputs[0])


class Cos(Node):
    saved_inputs = (0,)
    saves_output = False

    def forward(self, x):
        self.x = x
        return array_module(x).cos(x)

    def backward(self, grad_output):
        return -grad_output * array_module(grad_output).sin(self.x)  # d cos x/dx = -sin x

    def backward_graph(self, grad_output):
        return -grad_output * sin(self.inputs[0])


class Tan(Node):
    saved_inputs = ()
    saves_output = True

    def forward(self, x):
        self.y = array_module(x).tan(x)
        return self.y

    def backward(self, grad_output):
        return grad_output * (1 + self.y * self.y)  # d tan x/dx = 1 + tan^2 x

    def backward_graph(self, grad_output):
        y = tan(self.inputs[0])
        return grad_output * (1 + y * y)


class Log1p(Node):
    saved_inputs = (0,)
    saves_output = False

    def forward(self, x):
        self.x = x
        return array_module(x).log1p(x)

    def backward(self, grad_output):
        return grad_output / (1 + self.x)  # d ln(1 + x)/dx = 1 / (1 + x)

    def backward_graph(self, grad_output):
        return grad_output / (1 + self.inputs[0])


class Expm1(Node):
    saved_inputs = ()
    saves_output = True

    def forward(self, x):
        self.y = array_module(x).expm1(x)
        return self.y

    def backward(self, grad_output):
        return grad_output * (self.y + 1)  # d(e^x - 1)/dx = e^x

    def backward_graph(self, grad_output):
        return grad_output * exp(self.inputs[0])


def erf_values(x):
    """erf of an array: NumPy has none, so the reference calls math.erf per element; the backend's one compiled pass
    (Numba) or CuPy's erf where there is one."""
    fused = fast.erf(x)
    if fused is not None:
        return fused
    return np.asarray(np.frompyfunc(math.erf, 1, 1)(x), dtype=x.dtype)


class Erf(Node):
    saved_inputs = (0,)
    saves_output = False

    def forward(self, x):
        self.x = x
        return erf_values(x)

    def backward(self, grad_output):
        # d erf(x)/dx = 2/sqrt(pi) exp(-x^2)
        return grad_output * (2 / math.sqrt(math.pi) * array_module(self.x).exp(-self.x * self.x))

    def backward_graph(self, grad_output):
        x = self.inputs[0]
        return grad_output * (2 / math.sqrt(math.pi) * exp(-x * x))


class Stepwise(Node):
    """sign, floor, ceil, round, trunc: piecewise constant, so the gradient is 0 everywhere (as PyTorch's)."""

    saved_inputs = ()
    saves_output = False

    def forward(self, x, function):
        return getattr(array_module(x), function)(x)

    def backward(self, grad_output):
        return array_module(grad_output).zeros_like(grad_output)

    def backward_graph(self, grad_output):
        return grad_output * 0.0


class Clip(Node):
    saved_inputs = (0,)
    saves_output = False

    def forward(self, x, low, high):
        xp = array_module(x)
        self.x, self.low, self.high = x, low, high
        return xp.clip(x, low, high)

    def backward(self, grad_output):
        xp = array_module(grad_output)
        # The gradient passes where low <= x <= high (PyTorch's clamp convention at the edges).
        mask = xp.ones(self.x.shape, dtype=bool)
        if self.low is not None:
            mask &= self.x >= self.low
        if self.high is not None:
            mask &= self.x <= self.high
        return grad_output * mask

    def backward_graph(self, grad_output):
        x = self.inputs[0].array
        mask = array_module(x).ones(x.shape, dtype=bool)
        if self.low is not None:
            mask &= x >= self.low
        if self.high is not None:
            mask &= x <= self.high
        return grad_output * constant(mask.astype(x.dtype))


class Maximum(Node):
    saved_inputs = (0, 1)
    saves_output = False

    def forward(self, a, b):
        xp = array_module(a)
        self.a, self.b = a, b
        return xp.maximum(a, b)

    def backward(self, grad_output):
        return _select_backward(grad_output, self.a, self.b, self.a > self.b, self.needs_input_grad)

    def backward_graph(self, grad_output):
        a, b = (t.array for t in self.inputs)
        return _select_backward_graph(grad_output, self.inputs, a > b, self.needs_input_grad)


class Minimum(Node):
    saved_inputs = (0, 1)
    saves_output = False

    def forward(self, a, b):
        xp = array_module(a)
        self.a, self.b = a, b
        return xp.minimum(a, b)

    def backward(self, grad_output):
        return _select_backward(grad_output, self.a, self.b, self.a < self.b, self.needs_input_grad)

    def backward_graph(self, grad_output):
        a, b = (t.array for t in self.inputs)
        return _select_backward_graph(grad_output, self.inputs, a < b, self.needs_input_grad)


def _share(a, b, a_wins, dtype):
    """a's share of the gradient: the winner takes it; a tie splits it in half (PyTorch's convention)."""
    xp = array_module(a)
    return xp.where(a_wins, 1.0, xp.where(a == b, 0.5, 0.0)).astype(dtype)


def _select_backward(grad_output, a, b, a_wins, needs):
    share_a = _share(a, b, a_wins, grad_output.dtype)
    grad_a = sum_to(grad_output * share_a, a.shape) if needs[0] else None
    grad_b = sum_to(grad_output * (1 - share_a), b.shape) if needs[1] else None
    return grad_a, grad_b


def _select_backward_graph(grad_output, inputs, a_wins, needs):
    """_select_backward's shares as constants (the choice is a step: it has no derivative of its own)."""
    a, b = inputs
    share_a = constant(_share(a.array, b.array, a_wins, grad_output.dtype))
    grad_a = sum_to_tensor(grad_output * share_a, a.shape) if needs[0] else None
    grad_b = sum_to_tensor(grad_output * (1 - share_a), b.shape) if needs[1] else None
    return grad_a, grad_b


class Where(Node):
    saved_inputs = ()
    saves_output = False

    def forward(self, a, b, condition):
        xp = array_module(a)
        self.shapes, self.condition = (a.shape, b.shape), condition
        return xp.where(condition, a, b)

    def backward(self, grad_output):
        xp = array_module(grad_output)
        zero = xp.zeros((), dtype=grad_output.dtype)
        sa, sb = self.shapes
        grad_a = sum_to(xp.where(self.condition, grad_output, zero), sa) if self.needs_input_grad[0] else None
        grad_b = sum_to(xp.where(self.condition, zero, grad_output), sb) if self.needs_input_grad[1] else None
        return grad_a, grad_b

    def backward_graph(self, grad_output):
        keep = constant(self.condition.astype(grad_output.dtype))
        sa, sb = self.shapes
        grad_a = sum_to_tensor(grad_output * keep, sa) if self.needs_input_grad[0] else None
        grad_b = sum_to_tensor(grad_output * (1 - keep), sb) if self.needs_input_grad[1] else None
        return grad_a, grad_b


def exp(input) -> Tensor:
    return Exp.apply(as_tensor(input))


def sin(input) -> Tensor:
    return Sin.apply(as_tensor(input))


def cos(input) -> Tensor:
    return Cos.apply(as_tensor(input))


def tan(input) -> Tensor:
    return Tan.apply(as_tensor(input))


def erf(input) -> Tensor:
    """The error function 2/sqrt(pi) int_0^x exp(-t^2) dt (the normal CDF is (1 + erf(x / sqrt 2)) / 2)."""
    return Erf.apply(as_tensor(input))


def log1p(input) -> Tensor:
    return Log1p.apply(as_tensor(input))


def expm1(input) -> Tensor:
    return Expm1.apply(as_tensor(input))


def _stepwise(function):
    def op(input) -> Tensor:  # noqa: A002 - PyTorch's name
        return Stepwise.apply(as_tensor(input), function=function)

    op.__name__ = function
    op.__doc__ = f"{function}(x), element-wise; its gradient is 0"
    return op


sign, floor, ceil, trunc = (_stepwise(f) for f in ("sign", "floor", "ceil", "trunc"))


def round(input, decimals: int = 0) -> Tensor:  # noqa: A001 - PyTorch's name
    """Round half to even, as PyTorch and NumPy do; its gradient is 0."""
    input = as_tensor(input)
    if decimals:
        return Tensor.wrap(array_module(input.array).round(input.array, decimals), False)
    return Stepwise.apply(input, function="round")


def log(input) -> Tensor:
    return Log.apply(as_tensor(input))


def log2(input) -> Tensor:
    return Log2.apply(as_tensor(input))


def log10(input) -> Tensor:
    return Log10.apply(as_tensor(input))


def sqrt(input) -> Tensor:
    return Sqrt.apply(as_tensor(input))


def abs(input) -> Tensor:  # noqa: A001 - PyTorch's name
    return Abs.apply(as_tensor(input))


def clip(input, min=None, max=None) -> Tensor:  # noqa: A002 - PyTorch's names
    """Limit x to [min, max]; the gradient is zero where x was clipped."""
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    min, max = (v.item() if isinstance(v, Tensor) else v for v in (min, max))
    return Clip.apply(as_tensor(input), low=min, high=max)


clamp = clip


def maximum(input, other) -> Tensor:
    return Maximum.apply(*operands(input, other, "maximum"))


def minimum(input, other) -> Tensor:
    return Minimum.apply(*operands(input, other, "minimum"))


def where(condition, input, other) -> Tensor:
    """Elements of ``a`` where ``condition`` holds, else of ``b`` (gradients flow to the chosen one)."""
    condition = (
        condition.array
        if isinstance(condition, Tensor)
        else condition
        if is_device_array(condition)
        else np.asarray(condition)
    )
    if condition.dtype != np.bool_:
        raise TypeError(f"where: condition must be boolean, got dtype {condition.dtype}")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):  # two numbers: int64, or float if either is
        input = Tensor(input)
    input, other = operands(input, other, "where")
    condition = to_device_array(condition, input.device)  # a host condition joins GPU operands
    return Where.apply(input, other, condition=condition)
