"""Numerical differentiation and gradcheck: autograd against central differences, in float64.

The central difference (f(x + eps) - f(x - eps)) / (2 eps) has error O(eps^2), so with eps = 1e-6
in float64 it agrees with a correct analytic gradient to about 1e-8.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .engine import run_backward_graph
from .errors import GradcheckError
from .grad_mode import enable_grad, no_grad
from .tensor import Tensor


def _as_float64(inputs: Sequence) -> list:
    out = []
    for t in inputs:
        if isinstance(t, Tensor) and t.dtype.kind == "f":
            out.append(Tensor(t.array, dtype=np.float64, requires_grad=t.requires_grad))
        else:
            out.append(t)
    return out


def _scalar(fn: Callable, inputs: list, weights) -> float:
    out = fn(*inputs)
    data = out.array if isinstance(out, Tensor) else np.asarray(out)
    return float(np.sum(data * weights)) if weights is not None else float(np.sum(data))


def numerical_grad(fn: Callable, inputs: Sequence, eps: float = 1e-6, weights=None) -> list:
    """Central-difference gradients of sum(fn(*inputs) * weights) for each input that requires grad.

    ``weights`` defaults to all ones (so a non-scalar output is summed). Inputs are converted to
    float64; an entry is None for inputs that do not require grad.
    """
    inputs = _as_float64(inputs)
    grads = []
    with no_grad():
        for t in inputs:
            if not (isinstance(t, Tensor) and t.requires_grad):
                grads.append(None)
                continue
            grad = np.zeros_like(t.array)
            flat, grad_flat = t.array.reshape(-1), grad.reshape(-1)
            for i in range(flat.size):
                original = flat[i]
                flat[i] = original + eps
                plus = _scalar(fn, inputs, weights)
                flat[i] = original - eps
                minus = _scalar(fn, inputs, weights)
                flat[i] = original
                grad_flat[i] = (plus - minus) / (2 * eps)
            grads.append(grad)
    return grads


def gradcheck(
    fn: Callable, inputs: Sequence, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0
) -> bool:
    """True if autograd's gradients of ``fn`` match numerical ones for every input requiring grad.

    A non-scalar output is contracted with fixed random weights first, so every output element
    counts. On a mismatch raises GradcheckError naming the input, the worst element, both values,
    the difference and, where it can tell, the likely cause.
    """
    inputs = _as_float64(inputs)
    if not any(isinstance(t, Tensor) and t.requires_grad for t in inputs):
        raise ValueError("gradcheck: no input requires grad; create at least one with requires_grad=True")
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
    if out.dtype != np.float64:
        raise GradcheckError(f"gradcheck: fn returned {out.dtype} from float64 inputs; an op upcast or downcast")
    weights = np.random.default_rng(seed).standard_normal(out.shape) if out.array.size > 1 else None
    if not out.requires_grad:
        raise GradcheckError("gradcheck: the output does not depend on any input that requires grad")
    out.backward(weights if weights is not None else np.ones(out.shape))
    numerical = numerical_grad(fn, inputs, eps=eps, weights=weights)
    for index, (t, expected) in enumerate(zip(inputs, numerical)):
        if expected is None:
            continue
        label = f"input {index}" + (f" ({t.name})" if t.name else "") + f" of shape {t.shape}"
        analytic = t._grad.array if t._grad is not None else np.zeros_like(expected)
        if analytic.shape != expected.shape:
            raise GradcheckError(f"gradcheck: {label}: gradient has shape {analytic.shape}, expected {expected.shape}")
        error = np.abs(analytic - expected) - (atol + rtol * np.abs(expected))
        if error.size and error.max() > 0:
            worst = np.unravel_index(int(np.argmax(error)), error.shape)
            a, n = analytic[worst], expected[worst]
            raise GradcheckError(
                f"gradcheck: {label}: autograd and numerical gradients differ at index {tuple(map(int, worst))}: "
                f"autograd {a:.10g}, numerical {n:.10g}, difference {a - n:.3g} "
                f"(atol {atol}, rtol {rtol}){_likely_cause(analytic, expected, t.grad is None)}"
            )
    return True


def gradgradcheck(
    fn: Callable, inputs: Sequence, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3, seed: int = 0
) -> bool:
    """True if the second derivatives of ``fn`` (autograd's ``create_graph=True``) match numerical ones.

    The first derivatives, g_j = d sum(fn(*inputs) * v)/d input_j with fixed random v, are computed by the
    recorded walk; each g_j is then a function of the inputs like any other, and gradcheck compares its
    gradient with central differences of it. A mismatch names the gradient, the input and the element.
    """
    inputs = _as_float64(inputs)
    wanted = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not wanted:
        raise ValueError("gradgradcheck: no input requires grad; create at least one with requires_grad=True")
    with enable_grad():
        shape = fn(*inputs).shape
    v = Tensor(np.random.default_rng(seed + 1).standard_normal(shape), dtype=np.float64)

    def first_gradient(j: int) -> Callable:
        def gradient(*xs):
            with enable_grad():  # numerical_grad calls this under no_grad: the forward must record to be walked
                out = fn(*xs)
                targets = [x for x in xs if isinstance(x, Tensor) and x.requires_grad]
                grads = run_backward_graph([out], [v], targets)
            grad = grads.get(id(targets[j]))
            return grad if grad is not None else targets[j] * 0.0

        return gradient

    for j in range(len(wanted)):
        try:
            gradcheck(first_gradient(j), inputs, eps=eps, atol=atol, rtol=rtol, seed=seed)
        except GradcheckError as exc:
            detail = str(exc).removeprefix("gradcheck: ")
            index = next(i for i, t in enumerate(inputs) if t is wanted[j])
            raise GradcheckError(f"gradgradcheck: the gradient of input {index}, differentiated: {detail}") from None
    return True


def _likely_cause(analytic: np.ndarray, expected: np.ndarray, missing: bool) -> str:
    if missing or not np.any(analytic):
        return (
            ". No gradient reached this input: is it detached, used under no_grad(), or lost in a "
            "non-differentiable step?"
        )
    mask = np.abs(expected) > 1e-8
    if mask.any():
        ratio = analytic[mask] / expected[mask]
        if np.allclose(ratio, ratio[0], rtol=1e-3) and not np.isclose(ratio[0], 1):
            return f". Every element is off by the same factor {ratio[0]:.4g}: a missing scale (e.g. 1/N of a mean)?"
    if analytic.ndim == 2 and analytic.shape[0] == analytic.shape[1] and np.allclose(analytic.T, expected, atol=1e-6):
        return ". The gradient is the transpose of the right one: a swapped axis?"
    return ""
