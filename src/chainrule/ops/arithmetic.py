"""Arithmetic: + - * / ** and negation, with the fast path for a Python number beside a tensor (x * 2.5).

Each backward multiplies the output gradient by the local derivative and sums it back to the input's shape where
the forward broadcast (``sum_to``): d(a*b)/da = b, d(a/b)/db = -a/b^2, d(a^p)/da = p a^(p-1).
"""

from __future__ import annotations

import numpy as np

from ..backend import array_module, get_default_dtype
from ..errors import GraphError
from ..grad_mode import is_grad_enabled
from ..node import Node, each_for_the_other
from ..tensor import Tensor, as_tensor
from .broadcast import operands, sum_to, sum_to_tensor
from .conversion import cast
from .elementwise import log, sqrt


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
        return each_for_the_other(self.needs_input_grad)  # d(ab)/da = b

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
    result keeps the tensor's dtype (the number is 'weak', NEP 50: Node.apply_scalar passes it as a 0-d
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


def square(input) -> Tensor:
    return pow(as_tensor(input), 2)


def reciprocal(input) -> Tensor:
    return div(1.0, as_tensor(input))


def rsqrt(input) -> Tensor:
    return reciprocal(sqrt(input))


# The operators' fast entries (ops/tensor_methods.py binds them to Tensor); each scalar path is the one
# the function above takes.
add_operator = _operator(AddScalar.apply_scalar, add)


sub_operator = _operator(SubScalar.apply_scalar, sub)


mul_operator = _operator(MulScalar.apply_scalar, mul)


div_operator = _operator(DivScalar.apply_scalar, div)
