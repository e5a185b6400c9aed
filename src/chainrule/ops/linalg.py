"""Matrix products: matmul (2-D, batched, vectors), mm/bmm/mv/dot/outer, and the fused affine layer linear(x, W, b)."""

from __future__ import annotations

import numpy as np

from ..backend import array_module, fast
from ..errors import ShapeError
from ..node import Node, each_for_the_other
from ..tensor import Tensor, as_tensor
from .arithmetic import into, mul
from .broadcast import operands, sum_to, sum_to_tensor


def _outer(a, b):
    """a @ b for an inner dimension of 1 (the callers check it, inline: this is every Linear's hot path), an
    outer product, which NumPy's matmul computes in a loop of its own instead of BLAS, 4x slower than a broadcast
    multiply and 17x slower than the kernel (backend/cpu.py outer): batch-1 SGD's weight gradients, a one-feature
    input, a one-output layer's input gradient. Batched (..., m, 1) @ (..., 1, n) is the broadcast multiply too
    (761 against 185 us for 8 of 256x256)."""
    if type(a) is np.ndarray and a.ndim >= 2 and b.ndim >= 2:
        out = fast.outer(a, b)  # None where batched, small or without Numba
        return out if out is not None else np.multiply(a, b)  # each a_i b_j, the one product matmul makes
    return a @ b


def _product(a, b):
    """a @ b, through _outer for an inner dimension of 1."""
    return a @ b if a.shape[-1] != 1 else _outer(a, b)


class MatMul(Node):
    op = "matmul"
    saved_inputs = (0, 1)
    saves_output = False

    def saved(self):
        return each_for_the_other(self.needs_input_grad)  # dA = dY B^T reads B, dB = A^T dY reads A

    def forward(self, a, b):
        self.a, self.b = a, b
        return _product(a, b)

    def backward(self, grad_output):
        xp = array_module(grad_output)
        # Y = A B  =>  dA = dY B^T,  dB = A^T dY (summed over broadcast batch axes).
        a, b = self.a, self.b
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        # Vectors act as a (1, n) row or an (n, 1) column; give the gradient those axes back.
        grad = grad_output.reshape(xp.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]) + (a2.shape[-2], b2.shape[-1]))
        grad_a = grad_b = None
        if self.needs_input_grad[0]:
            grad_a = sum_to(_product(grad, xp.swapaxes(b2, -1, -2)), a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            grad_b = sum_to(_product(xp.swapaxes(a2, -1, -2), grad), b2.shape).reshape(b.shape)
        return grad_a, grad_b

    def backward_graph(self, grad_output):
        a, b = self.inputs
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        grad = grad_output.reshape(batch + (a2.shape[-2], b2.shape[-1]))
        grad_a = grad_b = None
        if self.needs_input_grad[0]:
            grad_a = sum_to_tensor(matmul(grad, b2.transpose(-1, -2)), a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            grad_b = sum_to_tensor(matmul(a2.transpose(-1, -2), grad), b2.shape).reshape(b.shape)
        return grad_a, grad_b


class Linear(Node):
    """y = x W^T + b with W of shape (out, in): the affine layer, fused into one node."""

    saved_inputs = (0, 1)
    saves_output = False

    def saved(self):
        # dx = dy W reads W; dW = dy^T x reads x
        return [i for i, other in ((0, 1), (1, 0)) if self.needs_input_grad[other]]

    def forward(self, x, weight, bias=None):
        self.x, self.weight = x, weight
        x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        # weight.T is a transposed view: BLAS takes it as it is, no copy
        out = x2 @ weight.T if x2.shape[1] != 1 else _outer(x2, weight.T)
        if bias is not None and not fast.add_rows(out, bias):  # one pass where Numba is installed
            out += bias
        return out.reshape(x.shape[:-1] + (weight.shape[0],)) if x.ndim != 2 else out

    def backward(self, grad_output):
        # dx = dy W,  dW = dy^T x,  db = sum over the batch of dy
        x, weight = self.x, self.weight
        grad2 = grad_output.reshape(-1, grad_output.shape[-1]) if grad_output.ndim != 2 else grad_output
        x2 = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        needs = self.needs_input_grad
        # (_outer where the inner dimension is 1: a one-output layer's dx, a batch of 1's dW)
        grad_x = grad_w = None
        if needs[0]:
            grad_x = (grad2 @ weight if grad2.shape[1] != 1 else _outer(grad2, weight)).reshape(x.shape)
        if needs[1]:
            grad_w = grad2.T @ x2 if grad2.shape[0] != 1 else _outer(grad2.T, x2)
        if len(needs) == 2:
            return grad_x, grad_w
        grad_b = sum_to(grad2, (grad2.shape[1],)) if needs[2] else None  # (one pass where Numba is installed)
        return grad_x, grad_w, grad_b

    def backward_graph(self, grad_output):
        x, weight = self.inputs[:2]
        grad2 = grad_output.reshape(-1, grad_output.shape[-1])
        needs = self.needs_input_grad
        grad_x = matmul(grad2, weight).reshape(x.shape) if needs[0] else None
        grad_w = matmul(grad2.transpose(0, 1), x.reshape(-1, x.shape[-1])) if needs[1] else None
        if len(needs) == 2:
            return grad_x, grad_w
        return grad_x, grad_w, grad2.sum(axis=0) if needs[2] else None


def matmul(input, other, *, out=None) -> Tensor:
    if out is not None:
        return into(out, matmul(input, other))
    input, other = operands(input, other, "matmul")
    if input.ndim == 0 or other.ndim == 0:
        raise ShapeError(
            f"matmul: both operands need at least one dimension, got shapes {input.shape} and {other.shape}"
        )
    inner_a = input.shape[-1]
    inner_b = other.shape[0] if other.ndim == 1 else other.shape[-2]
    if inner_a != inner_b:
        raise ShapeError(
            f"matmul: shapes {input.shape} and {other.shape} do not align: the first has {inner_a} columns, "
            f"the second {inner_b} rows"
        )
    return MatMul.apply(input, other)


def linear(input, weight, bias=None) -> Tensor:
    """y = x W^T + b, with ``weight`` of shape (out_features, in_features) as in ``nn.Linear``."""
    input, weight = operands(input, weight, "linear")
    if weight.ndim != 2:
        raise ShapeError(f"linear: weight must be 2-D (out_features, in_features), got shape {weight.shape}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ShapeError(
            f"linear: input of shape {input.shape} has {input.shape[-1] if input.ndim else 0} features, but the weight "
            f"of shape {weight.shape} expects {weight.shape[1]}"
        )
    if bias is None:
        return Linear.apply(input, weight)
    input, bias = operands(input, bias, "linear")
    if bias.shape != (weight.shape[0],):
        raise ShapeError(f"linear: bias must have shape ({weight.shape[0]},), got {bias.shape}")
    return Linear.apply(input, weight, bias)


def _dims_exactly(op: str, a: Tensor, b: Tensor, da: int, db: int) -> None:
    if a.ndim != da or b.ndim != db:
        raise ShapeError(f"{op}: expected {da}-D and {db}-D tensors, got shapes {tuple(a.shape)} and {tuple(b.shape)}")


def mm(input, mat2, *, out=None) -> Tensor:
    """The product of two matrices (2-D only; matmul also broadcasts)."""
    input, mat2 = operands(input, mat2, "mm")
    _dims_exactly("mm", input, mat2, 2, 2)
    return matmul(input, mat2, out=out)


def bmm(input, mat2, *, out=None) -> Tensor:
    """Batched matrix products: (B, n, m) @ (B, m, p)."""
    input, mat2 = operands(input, mat2, "bmm")
    _dims_exactly("bmm", input, mat2, 3, 3)
    if input.shape[0] != mat2.shape[0]:
        raise ShapeError(f"bmm: batch sizes differ: {tuple(input.shape)} and {tuple(mat2.shape)}")
    return matmul(input, mat2, out=out)


def mv(input, vec) -> Tensor:
    input, vec = operands(input, vec, "mv")
    _dims_exactly("mv", input, vec, 2, 1)
    return matmul(input, vec)


def dot(input, tensor) -> Tensor:
    input, tensor = operands(input, tensor, "dot")
    _dims_exactly("dot", input, tensor, 1, 1)
    return matmul(input, tensor)


def outer(input, vec2) -> Tensor:
    """a_i b_j as a matrix."""
    input, vec2 = operands(input, vec2, "outer")
    _dims_exactly("outer", input, vec2, 1, 1)
    return mul(input.reshape(-1, 1), vec2.reshape(1, -1))


def _subscripts(equation: str, shapes) -> tuple:
    """(inputs, output): each operand's subscripts and the result's, as strings of letters, with '...'
    written out as letters of its own (the same for every operand, aligned from the right) and the implicit
    output (no '->': the letters that occur once, in alphabetical order) made explicit."""
    equation = equation.replace(" ", "")
    left, arrow, right = equation.partition("->")
    inputs = left.split(",")
    if len(inputs) != len(shapes):
        raise ValueError(f"einsum: the equation names {len(inputs)} operands, {len(shapes)} were given")
    spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in equation]
    ellipsis = max((len(shape) - len(term.replace("...", "")) for term, shape in zip(inputs, shapes)), default=0)
    fill = "".join(spare[:ellipsis])
    written = []
    for term, shape in zip(inputs, shapes):
        if "..." in term:
            width = len(shape) - len(term.replace("...", ""))
            term = term.replace("...", fill[ellipsis - width :])
        if len(term) != len(shape):
            raise ValueError(f"einsum: operand subscripts {term!r} do not match its {len(shape)} dimensions")
        written.append(term)
    if arrow:
        output = right.replace("...", fill)
    else:
        letters = "".join(written)
        output = fill + "".join(sorted(c for c in set(letters) if letters.count(c) == 1 and c not in fill))
    return written, output


class Einsum(Node):
    """A sum of products over the subscripts an equation names. The gradient of operand k is the einsum of
    the output's gradient with the other operands, read back into k's subscripts; a letter only k has (summed
    away) is broadcast back over its axis, since d(sum_j x_ij)/dx_ij = 1."""

    saves_output = False

    def forward(self, *arrays, inputs, output):
        self.inputs_subscripts, self.output = inputs, output
        self.arrays = arrays
        return array_module(arrays[0]).einsum(",".join(inputs) + "->" + output, *arrays)

    def _gradient(self, k: int, grad_output, operands, einsum_of, broadcast):
        """Operand k's gradient: the einsum of the output's gradient with the other operands, in k's subscripts;
        letters only k has come back as axes of 1, broadcast to k's shape."""
        term = self.inputs_subscripts[k]
        others = [(t, a) for j, (t, a) in enumerate(zip(self.inputs_subscripts, operands)) if j != k]
        present = set(self.output).union(*(set(t) for t, _ in others))
        kept = "".join(c for c in term if c in present)
        equation = ",".join([self.output] + [t for t, _ in others]) + "->" + kept
        shape = tuple(operands[k].shape)
        grad = einsum_of(equation, grad_output, *(a for _, a in others))
        return broadcast(grad.reshape([shape[i] if c in present else 1 for i, c in enumerate(term)]), shape)

    def backward(self, grad_output):
        xp = array_module(grad_output)
        grads = [
            self._gradient(k, grad_output, self.arrays, xp.einsum, lambda g, s: xp.broadcast_to(g, s).copy())
            if needed
            else None
            for k, needed in enumerate(self.needs_input_grad)
        ]
        return tuple(grads) if len(grads) > 1 else grads[0]

    def backward_graph(self, grad_output):
        grads = [
            self._gradient(k, grad_output, self.inputs, einsum, lambda g, s: g.expand(s)) if needed else None
            for k, needed in enumerate(self.needs_input_grad)
        ]
        return tuple(grads) if len(grads) > 1 else grads[0]


def einsum(equation: str, *arrays) -> Tensor:
    """Einstein summation, as ``torch.einsum``: ``einsum('bij,bjk->bik', a, b)`` is a batched matmul,
    ``'...ij->...ji'`` a batched transpose; a letter twice in one operand (``'ii->'``, a trace) works only
    without gradients."""
    if len(arrays) == 1 and isinstance(arrays[0], (list, tuple)):  # einsum(eq, [a, b]) as PyTorch allows
        arrays = tuple(arrays[0])
    tensors = [as_tensor(a) for a in arrays]
    if not tensors:
        raise ValueError("einsum: give at least one operand")
    for _ in range(2):  # one dtype for all, as a binary op would make it (never float32 with float64)
        for i in range(1, len(tensors)):
            tensors[0], tensors[i] = operands(tensors[0], tensors[i], "einsum")
    inputs, output = _subscripts(equation, [t.shape for t in tensors])
    if any(len(set(term)) != len(term) for term in inputs) and any(t.requires_grad for t in tensors):
        raise NotImplementedError(
            f"einsum: a letter repeated within one operand ({equation!r}: a diagonal or trace) has no gradient "
            "in chainrule; detach the operands, or pick the diagonal by indexing (x[i, i] for i = arange(n)) first"
        )
    try:
        return Einsum.apply(*tensors, inputs=inputs, output=output)
    except ValueError as exc:
        shapes = [t.shape for t in tensors]
        raise ShapeError(f"einsum: {equation!r} does not fit operands of shapes {shapes}: {exc}") from None
