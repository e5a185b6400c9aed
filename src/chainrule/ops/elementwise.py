"""Element-wise ops: arithmetic, exp/log/sqrt/abs, sin/cos/tan, clip, maximum/minimum, where, casts.

Each backward multiplies the output gradient by the local derivative and sums it back to the
input's shape where the forward broadcast (``sum_to``).
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import array_module, device_of, get_default_dtype, is_device_array
from ..backend import erf as backend_erf
from ..backend import to_device as to_device_array
from ..errors import GraphError
from ..grad_mode import is_grad_enabled
from ..node import Node
from ..tensor import Tensor, as_tensor
from .broadcast import constant, operands, sum_to, sum_to_tensor


class Add(Node):
    saved_inputs = ()
    saves_output = False

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, grad_output):
        sa, sb = self.shapes
        return sum_to(grad_output, sa), sum_to(grad_output, sb)

    def backward_graph(self, grad_output):
        sa, sb = self.shapes
        return sum_to_tensor(grad_output, sa), sum_to_tensor(grad_output, sb)


class Sub(Node):
    saved_inputs = ()
    saves_output = False

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, grad_output):
        sa, sb = self.shapes
        return sum_to(grad_output, sa), sum_to(-grad_output, sb) if self.needs_input_grad[1] else None

    def backward_graph(self, grad_output):
        sa, sb = self.shapes
        return sum_to_tensor(grad_output, sa), sum_to_tensor(-grad_output, sb) if self.needs_input_grad[1] else None


class Mul(Node):
    saved_inputs = (0, 1)
    saves_output = False

    def saved(self):
        # each input is read only for the other one's gradient: d(ab)/da = b
        return [i for i, other in ((0, 1), (1, 0)) if self.needs_input_grad[other]]

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad_output):
        # d(ab)/da = b, d(ab)/db = a
        a, b = self.a, self.b
        grad_a = sum_to(grad_output * b, a.shape) if self.needs_input_grad[0] else None
        grad_b = sum_to(grad_output * a, b.shape) if self.needs_input_grad[1] else None
        return grad_a, grad_b

    def backward_graph(self, grad_output):
        a, b = self.inputs
        grad_a = sum_to_tensor(grad_output * b, a.shape) if self.needs_input_grad[0] else None
        grad_b = sum_to_tensor(grad_output * a, b.shape) if self.needs_input_grad[1] else None
        return grad_a, grad_b


class Div(Node):
    saved_inputs = (0, 1)
    saves_output = False

    def saved(self):
        # d(a/b)/da = 1/b reads b; d(a/b)/db = -a/b^2 reads both
        return (0, 1) if self.needs_input_grad[1] else (1,)

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, grad_output):
        # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2
        a, b = self.a, self.b
        grad_a = grad_output / b
        grad_b = sum_to(-grad_a * a / b, b.shape) if self.needs_input_grad[1] else None
        return sum_to(grad_a, a.shape) if self.needs_input_grad[0] else None, grad_b

    def backward_graph(self, grad_output):
        a, b = self.inputs
        grad_a = grad_output / b
        grad_b = sum_to_tensor(-grad_a * a / b, b.shape) if self.needs_input_grad[1] else None
        return sum_to_tensor(grad_a, a.shape) if self.needs_input_grad[0] else None, grad_b


class _ScalarOp(Node):
    """An operator with a Python number (x * 2.5, x + 1, 1 - x, x / 4): no constant tensor is made, and the
    result keeps the tensor's dtype (the number is 'weak', NEP 50: Function.apply_scalar passes it as a 0-d
    array of that dtype)."""

    # the number and the freed flag as slots (apply_scalar sets freed), so that the node has no dict to allocate
    # and free: 2.99-3.05 against 3.03-3.15 us per op for the benchmark's chain of x * 1.0001
    __slots__ = ("scalar", "freed")
    saved_inputs = ()
    saves_output = False
    reflected = False

    def release(self) -> None:
        self.freed = True  # it saved a number, no array: nothing to drop

    @property
    def next_functions(self) -> tuple:
        # PyTorch lists the number as a second input without a node: x + 1 -> ((x's node, 0), (None, 0))
        nodes = super().next_functions
        return nodes if self.reflected else nodes + ((None, 0),)


class MulScalar(_ScalarOp):
    op = "mul"

    def forward(self, x, scalar, reflected):
        self.scalar = scalar
        return x * scalar

    def backward(self, grad_output):
        return grad_output * self.scalar  # d(s x)/dx = s

    def backward_graph(self, grad_output):
        return grad_output * float(self.scalar)


class AddScalar(_ScalarOp):
    op = "add"

    def forward(self, x, scalar, reflected):
        return x + scalar

    def backward(self, grad_output):
        return grad_output

    def backward_graph(self, grad_output):
        return grad_output


class SubScalar(_ScalarOp):
    op = "sub"

    def forward(self, x, scalar, reflected):
        self.reflected = reflected
        return scalar - x if reflected else x - scalar

    def backward(self, grad_output):
        return -grad_output if self.reflected else grad_output

    def backward_graph(self, grad_output):
        return -grad_output if self.reflected else grad_output


class DivScalar(_ScalarOp):
    op = "div"
    saved_inputs = (0,)

    def forward(self, x, scalar, reflected):
        self.scalar, self.reflected = scalar, reflected
        if reflected:
            self.x = x
            return scalar / x
        return x / scalar

    def backward(self, grad_output):
        if self.reflected:  # d(s/x)/dx = -s / x^2
            return grad_output * (-self.scalar / (self.x * self.x))
        return grad_output / self.scalar

    def backward_graph(self, grad_output):
        (x,), scalar = self.inputs, float(self.scalar)
        return grad_output * (-scalar) / (x * x) if self.reflected else grad_output / scalar


_PYTHON_NUMBERS = (float, int)


def scalar_operand(x, other) -> bool:
    """True where ``x op other`` can take the scalar fast path: a float tensor and a Python number."""
    return type(other) in _PYTHON_NUMBERS and isinstance(x, Tensor) and x.array.dtype.kind == "f"


class Neg(Node):
    saved_inputs = ()
    saves_output = False

    def forward(self, x):
        return -x

    def backward(self, grad_output):
        return -grad_output

    def backward_graph(self, grad_output):
        return -grad_output


class PowScalar(Node):
    op = "pow"
    saved_inputs = (0,)
    saves_output = False

    def forward(self, x, exponent):
        self.x, self.exponent = x, exponent
        return x**exponent

    def backward(self, grad_output):
        # d(x^p)/dx = p x^(p-1)
        p = self.exponent
        if p == 2:
            return grad_output * (2 * self.x)
        return grad_output * (p * self.x ** (p - 1))

    def backward_graph(self, grad_output):
        (x,), p = self.inputs, self.exponent
        if p == 0:
            return grad_output * 0.0
        if p == 2:
            return grad_output * (2 * x)
        return grad_output * (p * x ** (p - 1))


class Pow(Node):
    saved_inputs = (0, 1)
    saves_output = True

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = a**b
        return self.y

    def backward(self, grad_output):
        xp = array_module(grad_output)
        # d(a^b)/da = b a^(b-1); d(a^b)/db = a^b ln a
        a, b = self.a, self.b
        grad_a = sum_to(grad_output * b * a ** (b - 1), a.shape) if self.needs_input_grad[0] else None
        grad_b = None
        if self.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):  # NumPy warnings; CuPy warns not
                grad_b = sum_to(grad_output * self.y * xp.log(a), b.shape)
        return grad_a, grad_b

    def backward_graph(self, grad_output):
        a, b = self.inputs
        grad_a = sum_to_tensor(grad_output * b * a ** (b - 1), a.shape) if self.needs_input_grad[0] else None
        grad_b = sum_to_tensor(grad_output * a**b * log(a), b.shape) if self.needs_input_grad[1] else None
        return grad_a, grad_b


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


class Erf(Node):
    saved_inputs = (0,)
    saves_output = False

    def forward(self, x):
        self.x = x
        return backend_erf(x)

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


class Cast(Node):
    saved_inputs = ()
    saves_output = False

    def forward(self, x, dtype):
        self.source = x.dtype
        return x.astype(dtype)

    def backward(self, grad_output):
        return grad_output.astype(self.source)

    def backward_graph(self, grad_output):
        return Cast.apply(grad_output, dtype=self.source)


class ToDevice(Node):
    op = "to"
    saved_inputs = ()
    saves_output = False

    def forward(self, x, device):
        self.source = device_of(x)
        return to_device_array(x, device)

    def backward(self, grad_output):
        return to_device_array(grad_output, self.source)  # the gradient goes back where x lives

    def backward_graph(self, grad_output):
        return ToDevice.apply(grad_output, device=self.source)


class Clone(Node):
    saved_inputs = ()
    saves_output = False

    def forward(self, x):
        return x.copy()

    def backward(self, grad_output):
        return grad_output

    def backward_graph(self, grad_output):
        return grad_output


# ------------------------------------------------------------------ public functions
def into(out, result: Tensor) -> Tensor:
    """Write ``result`` into ``out`` (PyTorch's ``out=`` argument): no graph, out keeps its dtype."""
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise TypeError(f"out= expects a Tensor, got {type(out).__name__}")
    if result.requires_grad and is_grad_enabled():
        raise GraphError(
            "out=: functions with out= do not record the graph, but an input requires grad; "
            "assign the result instead (y = op(...))"
        )
    if out.array.shape != result.array.shape:
        out.array = result.array.astype(out.array.dtype)  # PyTorch resizes out to the result's shape
    else:
        out.array[...] = result.array
    out._bump_version()
    return out


def add(input, other, *, alpha=1, out=None) -> Tensor:
    """a + alpha * b."""
    if alpha != 1:
        other = mul(other, alpha)
    if out is None and scalar_operand(input, other):
        return AddScalar.apply_scalar(input, other)
    result = Add.apply(*operands(input, other, "add"))
    return result if out is None else into(out, result)


def sub(input, other, *, alpha=1, out=None) -> Tensor:
    """a - alpha * b."""
    if alpha != 1:
        other = mul(other, alpha)
    if out is None and scalar_operand(input, other):
        return SubScalar.apply_scalar(input, other, False)
    result = Sub.apply(*operands(input, other, "sub"))
    return result if out is None else into(out, result)


def mul(input, other, *, out=None) -> Tensor:
    if out is None and scalar_operand(input, other):
        return MulScalar.apply_scalar(input, other)
    result = Mul.apply(*operands(input, other, "mul"))
    return result if out is None else into(out, result)


def _operator(fast, general):
    """Tensor.__mul__ and friends: a Python number beside a float tensor goes straight to the scalar op
    (the cost of x * 2.5 on a small array is this Python, not NumPy); anything else to the general function."""

    def operator(a, b):
        # scalar_operand(a, b), inline (a call is 2% of a small op) and without its isinstance: ``a`` is the
        # Tensor whose method this is
        if type(b) in _PYTHON_NUMBERS and a.array.dtype.kind == "f":
            return fast(a, b)
        return general(a, b)

    operator.__name__ = general.__name__
    operator.__doc__ = general.__doc__
    return operator


def div(input, other, *, rounding_mode=None, out=None) -> Tensor:
    """a / b (true division; ``rounding_mode`` 'floor' or 'trunc' rounds, without a gradient)."""
    if out is None and rounding_mode is None and scalar_operand(input, other):
        return DivScalar.apply_scalar(input, other, False)
    input, other = operands(input, other, "div")
    if rounding_mode is None and input.dtype.kind != "f":  # integers divide into the default float dtype, as in PyTorch
        input, other = cast(input, get_default_dtype()), cast(other, get_default_dtype())
    result = Div.apply(input, other)
    if rounding_mode is not None:
        if rounding_mode not in ("floor", "trunc"):
            raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")
        xp = array_module(input.array)
        rounded = (
            xp.floor_divide(input.array, other.array)
            if rounding_mode == "floor"
            else xp.trunc(input.array / other.array).astype(input.dtype)
        )
        result = Tensor.wrap(rounded, False)
    return result if out is None else into(out, result)


def rsub(x, number) -> Tensor:
    """number - x (Python's reflected subtraction)."""
    if scalar_operand(x, number):
        return SubScalar.apply_scalar(x, number, True)
    return sub(as_tensor(number, like=x), x)


def rdiv(x, number) -> Tensor:
    """number / x (Python's reflected division)."""
    if scalar_operand(x, number):
        return DivScalar.apply_scalar(x, number, True)
    return div(as_tensor(number, like=x), x)


def remainder(input, other) -> Tensor:
    """a mod b with the sign of b (Python's %); no gradient."""
    input, other = operands(input, other, "remainder")
    return Tensor.wrap(array_module(input.array).remainder(input.array, other.array), False)


def floor_divide(input, other) -> Tensor:
    input, other = operands(input, other, "floor_divide")
    return Tensor.wrap(array_module(input.array).floor_divide(input.array, other.array), False)


def neg(input) -> Tensor:
    return Neg.apply(as_tensor(input))


def pow(input, exponent) -> Tensor:  # noqa: A001 - PyTorch's name
    """x ** exponent; a Python number exponent is a constant, a Tensor exponent gets a gradient too."""
    if isinstance(exponent, (int, float)) and not isinstance(exponent, bool) and isinstance(input, Tensor):
        return PowScalar.apply(input, exponent=exponent)
    return Pow.apply(*operands(input, exponent, "pow"))


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


def square(input) -> Tensor:
    return pow(as_tensor(input), 2)


def reciprocal(input) -> Tensor:
    return div(1.0, as_tensor(input))


def rsqrt(input) -> Tensor:
    return reciprocal(sqrt(input))


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


def cast(x: Tensor, dtype) -> Tensor:
    """x as ``dtype``; differentiable between float dtypes (an integer result has no gradient)."""
    if x.dtype == dtype:
        return x
    if not x.requires_grad or dtype.kind != "f" or not is_grad_enabled():
        return Tensor.wrap(x.array.astype(dtype), False)
    return Cast.apply(x, dtype=dtype)


def to_device(x: Tensor, device: str) -> Tensor:
    """x in the memory of ``device`` ('cpu' or 'cuda'); backward moves the gradient back."""
    if not x.requires_grad:
        return Tensor.wrap(to_device_array(x.array, device), False)
    return ToDevice.apply(x, device=device)


def clone(x: Tensor) -> Tensor:
    return Clone.apply(x)


# The operators' fast entries (ops/tensor_methods.py binds them to Tensor); each scalar path is the one
# the function above takes.
add_operator = _operator(AddScalar.apply_scalar, add)
sub_operator = _operator(SubScalar.apply_scalar, sub)
mul_operator = _operator(MulScalar.apply_scalar, mul)
div_operator = _operator(DivScalar.apply_scalar, div)
