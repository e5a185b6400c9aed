"""A recurrent layer's pass over all its time steps as one op, forward and backward through time side by
side: the backward is the chain rule applied step by step from the last step to the first, written out
(backpropagation through time). nn/recurrent.py feeds them the input's products with W_ih for all steps
at once; a step here adds h_{t-1} W_hh^T and applies the cell.

One op per layer instead of a dozen per step: the per-step graph of small ops spent most of its time
making and adding up gradients of slices (each slice's gradient a zero array the size of the whole)."""

from __future__ import annotations

from ..backend import array_module, memory
from ..node import Node
from .activation import relu, sigmoid, tanh
from .linalg import matmul
from .shape import stack


def _sigmoid(xp, a):
    return 1 / (1 + xp.exp(-a))


def _transposed(xp, w):
    """W^T laid out in its own rows, once per sequence: every step's h_{t-1} W^T then reads it in order (hidden 128,
    batch 64: 93 µs a product against 115 µs through the transposed view)."""
    return xp.ascontiguousarray(w.T)


def _previous(xp, hs, h0, order):
    """h_{t-1} for every step t, in the steps' own positions: h_0 for the first step taken."""
    prev = memory.empty(hs.shape, hs.dtype, xp)
    prev[order[0]] = h0
    for k in range(1, len(order)):
        prev[order[k]] = hs[order[k - 1]]
    return prev


def _weight_grad(d_a, prev):
    """dW = sum over steps of da_t^T h_{t-1}: one matrix product over all steps at once, after the loop."""
    return d_a.reshape(-1, d_a.shape[-1]).T @ prev.reshape(-1, prev.shape[-1])


class RNNSequence(Node):
    """h_t = tanh(gx_t + h_{t-1} W^T) (or relu), for every step; the output is every h_t, shape (L, N, H)."""

    saved_inputs = (1, 2)  # backward reads W_hh, h_0 and the output
    saves_output = True

    def forward(self, gx, w_hh, h0, reverse=False, relu=False):
        xp = array_module(gx)
        steps = range(len(gx) - 1, -1, -1) if reverse else range(len(gx))
        ys = memory.empty(gx.shape, gx.dtype, xp)
        h, w_t = h0, _transposed(xp, w_hh)
        for t in steps:
            a = h @ w_t
            a += gx[t]
            h = xp.maximum(a, 0) if relu else xp.tanh(a)
            ys[t] = h
        self.w_hh, self.h0, self.ys, self.steps, self.relu = w_hh, h0, ys, steps, relu
        return ys

    def backward(self, grad_output):
        xp = array_module(grad_output)
        ys, w_hh = self.ys, self.w_hh
        d_gx = memory.empty(ys.shape, ys.dtype, xp)
        dh_next = xp.zeros(self.h0.shape, dtype=ys.dtype)  # dL/dh_t through the steps after t
        order = list(self.steps)
        for t in reversed(order):
            dh = grad_output[t] + dh_next  # h_t feeds the output at t and the next step
            da = dh * (ys[t] > 0) if self.relu else dh * (1 - ys[t] * ys[t])  # tanh'(a) = 1 - tanh(a)^2
            d_gx[t] = da
            dh_next = da @ w_hh  # the chain to the step before: dh_{t-1} = (dh_t * act'(a_t)) W
        # a_t = ... + h_{t-1} W^T, so dW = sum_t da_t^T h_{t-1}
        return d_gx, _weight_grad(d_gx, _previous(xp, ys, self.h0, order)), dh_next

    def composite(self, gx, w_hh, h0):
        """The same steps in differentiable ops (for the recorded gradient, create_graph=True)."""
        h, ys = h0, [None] * len(gx)
        for t in self.steps:
            a = gx[t] + matmul(h, w_hh.transpose(0, 1))
            h = relu(a) if self.relu else tanh(a)
            ys[t] = h
        return stack(ys)


class LSTMSequence(Node):
    """The LSTM over every step: gates = gx_t + h_{t-1} W^T split into i, f, g, o; c_t = f c_{t-1} + i g;
    h_t = o tanh(c_t). The output is every h_t and, last, c of the final step: shape (L + 1, N, H)."""

    saved_inputs = (1, 2, 3)  # W_hh, h_0, c_0 and the output
    saves_output = True

    def forward(self, gx, w_hh, h0, c0, reverse=False):
        xp = array_module(gx)
        steps, hidden = len(gx), h0.shape[-1]
        order = range(steps - 1, -1, -1) if reverse else range(steps)
        out = memory.empty((steps + 1,) + h0.shape, gx.dtype, xp)
        gates = memory.empty(gx.shape, gx.dtype, xp)  # i, f, g, o after their nonlinearities
        cells = memory.empty((steps,) + h0.shape, gx.dtype, xp)
        h, c, w_t = h0, c0, _transposed(xp, w_hh)
        a = xp.empty(gx.shape[1:], dtype=gx.dtype)  # each step's pre-activations, in one buffer
        for t in order:
            xp.matmul(h, w_t, out=a)
            a += gx[t]
            gate = gates[t]
            gate[:, : 2 * hidden] = _sigmoid(xp, a[:, : 2 * hidden])  # i, f
            gate[:, 2 * hidden : 3 * hidden] = xp.tanh(a[:, 2 * hidden : 3 * hidden])  # g
            gate[:, 3 * hidden :] = _sigmoid(xp, a[:, 3 * hidden :])  # o
            i, f, g, o = (gate[:, k * hidden : (k + 1) * hidden] for k in range(4))
            c = f * c + i * g
            cells[t] = c
            h = o * xp.tanh(c)
            out[t] = h
        out[steps] = c
        self.w_hh, self.h0, self.c0, self.gates, self.cells, self.order = w_hh, h0, c0, gates, cells, list(order)
        self.hs = out[:steps]
        return out

    def backward(self, grad_output):
        xp = array_module(grad_output)
        hidden = self.h0.shape[-1]
        gates, cells, hs, w_hh, order = self.gates, self.cells, self.hs, self.w_hh, self.order
        d_gx = memory.empty(gates.shape, gates.dtype, xp)
        dh_next = xp.zeros(self.h0.shape, dtype=gates.dtype)
        dc_next = grad_output[len(order)].copy()  # the final cell state's own gradient
        for k in range(len(order) - 1, -1, -1):
            t = order[k]
            c_prev = cells[order[k - 1]] if k else self.c0
            i, f, g, o = (gates[t][:, j * hidden : (j + 1) * hidden] for j in range(4))
            tanh_c = xp.tanh(cells[t])
            dh = grad_output[t] + dh_next
            dc = dc_next + dh * o * (1 - tanh_c * tanh_c)  # h = o tanh(c)
            da = d_gx[t]  # the gates' pre-activations, written in place
            da[:, :hidden] = dc * g * i * (1 - i)  # c = f c_prev + i g, sigma' = sigma (1 - sigma)
            da[:, hidden : 2 * hidden] = dc * c_prev * f * (1 - f)
            da[:, 2 * hidden : 3 * hidden] = dc * i * (1 - g * g)  # tanh' = 1 - tanh^2
            da[:, 3 * hidden :] = dh * tanh_c * o * (1 - o)
            dh_next = da @ w_hh
            dc_next = dc * f  # the cell's additive path back to the step before
        return d_gx, _weight_grad(d_gx, _previous(xp, hs, self.h0, order)), dh_next, dc_next

    def composite(self, gx, w_hh, h0, c0):
        """The same steps in differentiable ops (for the recorded gradient, create_graph=True)."""
        hidden, h, c, hs = h0.shape[-1], h0, c0, [None] * len(gx)
        for t in self.order:
            a = gx[t] + matmul(h, w_hh.transpose(0, 1))
            i, f, g, o = (a[:, k * hidden : (k + 1) * hidden] for k in range(4))
            c = sigmoid(f) * c + sigmoid(i) * tanh(g)
            h = sigmoid(o) * tanh(c)
            hs[t] = h
        return stack(hs + [c])


class GRUSequence(Node):
    """The GRU over every step: r and z from gx_t + h_{t-1} W^T + b, n = tanh(gx_n + r (h_{t-1} W_n^T + b_n)),
    h_t = (1 - z) n + z h_{t-1}. gx holds x W_ih^T + b_ih; b_hh stays inside the reset gate's product."""

    saved_inputs = (1, 3)  # W_hh, h_0 and the output
    saves_output = True

    def forward(self, gx, w_hh, b_hh, h0, reverse=False):
        xp = array_module(gx)
        steps, hidden = len(gx), h0.shape[-1]
        order = range(steps - 1, -1, -1) if reverse else range(steps)
        ys = memory.empty((steps,) + h0.shape, gx.dtype, xp)
        saved = memory.empty((steps,) + h0.shape[:-1] + (4 * hidden,), gx.dtype, xp)  # r, z, n, h W_n^T + b_n
        h, w_t = h0, _transposed(xp, w_hh)
        for t in order:
            gh = h @ w_t
            gh += b_hh
            r = _sigmoid(xp, gx[t][:, :hidden] + gh[:, :hidden])
            z = _sigmoid(xp, gx[t][:, hidden : 2 * hidden] + gh[:, hidden : 2 * hidden])
            n = xp.tanh(gx[t][:, 2 * hidden :] + r * gh[:, 2 * hidden :])
            h = (1 - z) * n + z * h
            ys[t] = h
            s = saved[t]
            s[:, :hidden], s[:, hidden : 2 * hidden], s[:, 2 * hidden : 3 * hidden] = r, z, n
            s[:, 3 * hidden :] = gh[:, 2 * hidden :]
        self.w_hh, self.h0, self.ys, self.saved, self.order = w_hh, h0, ys, saved, list(order)
        return ys

    def backward(self, grad_output):
        xp = array_module(grad_output)
        hidden = self.h0.shape[-1]
        ys, saved, w_hh, order = self.ys, self.saved, self.w_hh, self.order
        d_gx = memory.empty(saved.shape[:-1] + (3 * hidden,), ys.dtype, xp)
        d_gh = memory.empty(d_gx.shape, ys.dtype, xp)
        dh_next = xp.zeros(self.h0.shape, dtype=ys.dtype)
        prev = _previous(xp, ys, self.h0, order)
        for t in reversed(order):
            h_prev = prev[t]
            s = saved[t]
            r, z, n, gh_n = s[:, :hidden], s[:, hidden : 2 * hidden], s[:, 2 * hidden : 3 * hidden], s[:, 3 * hidden :]
            dh = grad_output[t] + dh_next
            da_n = dh * (1 - z) * (1 - n * n)  # h = (1 - z) n + z h_prev, n = tanh(...)
            da_r = da_n * gh_n * r * (1 - r)
            da_z = dh * (h_prev - n) * z * (1 - z)
            dx, dhh = d_gx[t], d_gh[t]
            dx[:, :hidden], dx[:, hidden : 2 * hidden], dx[:, 2 * hidden :] = da_r, da_z, da_n
            dhh[:, :hidden], dhh[:, hidden : 2 * hidden], dhh[:, 2 * hidden :] = da_r, da_z, da_n * r
            dh_next = dh * z + dhh @ w_hh
        d_b = d_gh.reshape(-1, d_gh.shape[-1]).sum(axis=0)
        return d_gx, _weight_grad(d_gh, prev), d_b, dh_next

    def composite(self, gx, w_hh, b_hh, h0):
        """The same steps in differentiable ops (for the recorded gradient, create_graph=True)."""
        hidden, h, ys = h0.shape[-1], h0, [None] * len(gx)
        for t in self.order:
            gh = matmul(h, w_hh.transpose(0, 1)) + b_hh
            x = gx[t]
            r = sigmoid(x[:, :hidden] + gh[:, :hidden])
            z = sigmoid(x[:, hidden : 2 * hidden] + gh[:, hidden : 2 * hidden])
            n = tanh(x[:, 2 * hidden :] + r * gh[:, 2 * hidden :])
            h = (1 - z) * n + z * h
            ys[t] = h
        return stack(ys)
