"""Activations: relu, leaky_relu, sigmoid, tanh, softmax, log_softmax, gelu.

Each saves what its derivative needs (the output where the derivative is a function of it, as
for sigmoid y(1 - y) and tanh 1 - y^2) and multiplies it into the output gradient.
"""

from __future__ import annotations

import math

from ..backend import array_module, fast
from ..errors import ShapeError
from ..node import Node
from ..tensor import Tensor, as_tensor
from .broadcast import constant
from .elementwise import erf, erf_values, exp, log1p, where
from .inplace import unary_


class ReLU(Node):
    op = "relu"
    saved_inputs = ()
    saves_output = True

    def forward(self, x):
        y = fast.relu(x)  # one pass where Numba is installed (np.maximum's loop is slower)
        self.y = array_module(x).maximum(x, 0) if y is None else y
        return self.y

    def backward(self, grad_output):
        # d relu(x)/dx = 1 where x > 0, else 0 (0 at x = 0, as in PyTorch); one pass where Numba is installed
        grad = fast.relu_backward(grad_output, self.y)
        return grad_output * (self.y > 0) if grad is None else grad

    def backward_graph(self, grad_output):
        return grad_output * constant((self.inputs[0].array > 0).astype(grad_output.dtype))


class LeakyReLU(Node):
    op = "leaky_relu"
    saved_inputs = (0,)
    saves_output = False

    def forward(self, x, negative_slope):
        xp = array_module(x)
        self.x, self.slope = x, negative_slope
        return xp.where(x > 0, x, x * x.dtype.type(negative_slope))

    def backward(self, grad_output):
        xp = array_module(grad_output)
        return grad_output * xp.where(self.x > 0, 1, self.slope).astype(grad_output.dtype)

    def backward_graph(self, grad_output):
        x = self.inputs[0].array
        return grad_output * constant(array_module(x).where(x > 0, 1, self.slope).astype(x.dtype))


class Sigmoid(Node):
    saved_inputs = ()
    saves_output = True

    def forward(self, x):
        xp = array_module(x)
        # sigmoid(x) = (1 + tanh(x/2)) / 2: the same function, with no overflow for large |x|
        self.y = xp.tanh(x * 0.5)
        self.y += 1
        self.y *= 0.5
        return self.y

    def backward(self, grad_output):
        y = self.y
        return grad_output * (y * (1 - y))  # d sigmoid/dx = y (1 - y)

    def backward_graph(self, grad_output):
        y = sigmoid(self.inputs[0])
        return grad_output * (y * (1 - y))


class Tanh(Node):
    saved_inputs = ()
    saves_output = True

    def forward(self, x):
        xp = array_module(x)
        self.y = xp.tanh(x)
        return self.y

    def backward(self, grad_output):
        return grad_output * (1 - self.y * self.y)  # d tanh/dx = 1 - y^2

    def backward_graph(self, grad_output):
        y = tanh(self.inputs[0])
        return grad_output * (1 - y * y)


class Softmax(Node):
    saved_inputs = ()
    saves_output = True

    def forward(self, x, axis):
        xp = array_module(x)
        self.axis = axis
        shifted = x - x.max(axis=axis, keepdims=True)  # exp(x - max) never overflows
        y = xp.exp(shifted, out=shifted)
        y /= y.sum(axis=axis, keepdims=True)
        self.y = y
        return y

    def backward(self, grad_output):
        # dx_i = y_i (g_i - sum_j g_j y_j): the Jacobian diag(y) - y y^T applied to g
        y = self.y
        return y * (grad_output - (grad_output * y).sum(axis=self.axis, keepdims=True))

    def backward_graph(self, grad_output):
        y = softmax(self.inputs[0], self.axis)
        return y * (grad_output - (grad_output * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Node):
    saved_inputs = ()
    saves_output = True

    def forward(self, x, axis):
        xp = array_module(x)
        self.axis = axis
        shifted = x - x.max(axis=axis, keepdims=True)
        self.y = shifted - xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
        return self.y

    def backward(self, grad_output):
        xp = array_module(grad_output)
        # d log_softmax: dx = g - softmax(x) * sum(g)
        return grad_output - xp.exp(self.y) * grad_output.sum(axis=self.axis, keepdims=True)

    def backward_graph(self, grad_output):
        return grad_output - softmax(self.inputs[0], self.axis) * grad_output.sum(axis=self.axis, keepdims=True)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class GELU(Node):
    op = "gelu"
    saved_inputs = (0,)
    saves_output = False

    def forward(self, x, approximate):
        xp = array_module(x)
        self.x, self.approximate = x, approximate
        if approximate == "tanh":
            # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
            self.t = xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x**3)).astype(x.dtype, copy=False)
            return 0.5 * x * (1 + self.t)
        fused = fast.gelu(x)  # float32, compiled passes that also give the derivative: backward is one product
        if fused is not None:
            out, self.slope = fused
            return out
        # x Phi(x), Phi the standard normal CDF = (1 + erf(x / sqrt 2)) / 2 (exact, as PyTorch's default)
        erf = erf_values(x / math.sqrt(2.0))
        self.cdf, self.slope = 0.5 * (1.0 + erf), None
        return x * self.cdf

    def backward(self, grad_output):
        xp = array_module(grad_output)
        x = self.x
        if self.approximate == "tanh":
            t = self.t
            inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            return grad_output * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * inner)
        if self.slope is not None:
            return grad_output * self.slope
        # d/dx x Phi(x) = Phi(x) + x phi(x), phi the standard normal density
        pdf = xp.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return grad_output * (self.cdf + x * pdf).astype(x.dtype, copy=False)

    def backward_graph(self, grad_output):
        x = self.inputs[0]
        if self.approximate == "tanh":
            t = tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x**3))
            inner = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
            return grad_output * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * inner)
        cdf = 0.5 * (1 + erf(x * (1 / math.sqrt(2.0))))
        pdf = exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))
        return grad_output * (cdf + x * pdf)


def in_place(input, op: str, function) -> Tensor:
    """``F.relu(x, inplace=True)`` and the like: x itself rewritten with function(x), counted in its version
    and recorded as PyTorch's in-place ops are (refused on a leaf that requires grad)."""
    return unary_(input, op, function, lambda a: function(Tensor.wrap(a, False)).array)


def relu(input, inplace: bool = False) -> Tensor:
    if inplace:
        return in_place(input, "relu_", relu)
    return ReLU.apply(as_tensor(input))


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    if inplace:
        return in_place(input, "leaky_relu_", lambda t: leaky_relu(t, negative_slope))
    return LeakyReLU.apply(as_tensor(input), negative_slope=float(negative_slope))


def sigmoid(input) -> Tensor:
    return Sigmoid.apply(as_tensor(input))


def tanh(input) -> Tensor:
    return Tanh.apply(as_tensor(input))


def _softmax_dim(op: str, x: Tensor, dim, axis, dtype) -> tuple:
    if axis is not None and dim is not None:
        raise TypeError(f"{op}: give dim or axis (its alias), not both")
    dim = axis if axis is not None else -1 if dim is None else dim
    if not -x.ndim <= dim < max(x.ndim, 1):
        raise ShapeError(f"{op}: dim {dim} is out of range for a tensor with {x.ndim} dimensions")
    return (x if dtype is None else x.to(dtype)), dim


def softmax(input, dim: int | None = None, *, axis: int | None = None, dtype=None) -> Tensor:
    """exp(x_i) / sum_j exp(x_j) along ``dim`` (the last by default)."""
    input, dim = _softmax_dim("softmax", as_tensor(input), dim, axis, dtype)
    return Softmax.apply(input, axis=dim)


def log_softmax(input, dim: int | None = None, *, axis: int | None = None, dtype=None) -> Tensor:
    input, dim = _softmax_dim("log_softmax", as_tensor(input), dim, axis, dtype)
    return LogSoftmax.apply(input, axis=dim)


def softplus(input, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, linear above ``threshold`` (as PyTorch's)."""
    input = as_tensor(input)
    scaled = input * beta
    # log1p(exp(-|z|)) + max(z, 0) is the same function without overflow
    soft = (log1p(exp(-scaled.abs())) + relu(scaled)) / beta
    return where((scaled > threshold).array, input, soft)


def silu(input, inplace: bool = False) -> Tensor:
    """x sigmoid(x) (also called swish)."""
    if inplace:
        return in_place(input, "silu_", silu)
    input = as_tensor(input)
    return input * sigmoid(input)


def elu(input, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    if inplace:
        return in_place(input, "elu_", lambda t: elu(t, alpha))
    input = as_tensor(input)
    return where((input > 0).array, input, (exp(input) - 1) * alpha)


def gelu(input, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit; ``approximate='tanh'`` is the faster tanh formula."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(as_tensor(input), approximate=approximate)
