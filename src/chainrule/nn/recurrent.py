"""Recurrent layers: RNN, LSTM, GRU and their one-step cells, with PyTorch's parameter names and layouts
(``weight_ih_l0``, ``bias_hh_l1_reverse``; LSTM gates in the order i, f, g, o; GRU r, z, n), so a PyTorch
state_dict loads as it is.

Each step is written with the engine's ops, so backpropagation through time is the chain rule applied
to the unrolled graph: the gradient reaching h_t from the loss at every later step passes back through
each step's tanh' and W_hh (for a plain RNN, dh_{t-1} = (dh_t * tanh'(a_t)) W_hh), which is why a plain
RNN's gradients vanish or explode over long spans, and why the LSTM's additive cell path c_t = f c_{t-1}
+ i g keeps them alive. The input's product with W_ih is taken for all steps at once, one matrix
product, before the loop; only h_{t-1} W_hh^T must wait for the step before.
"""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..backend import resolve_dtype, to_device
from ..errors import ShapeError
from ..ops.recurrent import GRUSequence, LSTMSequence, RNNSequence
from ..tensor import Tensor
from . import init
from .module import Module
from .parameter import Parameter
from .utils.rnn import PackedSequence

# gates per mode: how many blocks of hidden_size rows W_ih and W_hh hold
_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _input_gates(mode: str, x, w_ih, b_ih, b_hh):
    """(x W_ih^T + b_ih for every step at once, the b_hh the sequence op takes). RNN and LSTM add b_hh here;
    the GRU keeps it inside its reset gate, r (h W_hn^T + b_hn), so it goes to the op (zeros without a bias)."""
    if mode != "GRU":  # both biases in the product's one pass: b_ih + b_hh is a vector, the sum's would be (L, N, G)
        return F.linear(x, w_ih, b_ih if b_hh is None else b_ih + b_hh), None
    gates_x = F.linear(x, w_ih, b_ih)
    if b_hh is None:
        b_hh = Tensor.wrap(np.zeros(w_ih.shape[0], dtype=x.array.dtype), False).to(x.device)
    return gates_x, b_hh


def _run(mode: str, gates_x, w_hh, b_hh, h, c, reverse: bool = False):
    """The steps of one layer and direction as ops/recurrent.py's op: (every step's h (L, N, H), the last c
    or None). A cell's step, or a packed batch's, is a sequence of length 1."""
    if mode == "LSTM":
        out = LSTMSequence.apply(gates_x, w_hh, h, c, reverse=reverse)
        return out[:-1], out[-1]
    if mode == "GRU":
        return GRUSequence.apply(gates_x, w_hh, b_hh, h, reverse=reverse), None
    return RNNSequence.apply(gates_x, w_hh, h, reverse=reverse, relu=mode == "RNN_RELU"), None


def _check_sizes(name: str, input_size, hidden_size) -> None:
    for label, value in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{name}: {label} must be a positive integer, got {value!r}")


def _uniform_init(module: Module, hidden_size: int) -> None:
    """PyTorch's default: every weight and bias U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
    bound = 1.0 / math.sqrt(hidden_size)
    for p in module.parameters():
        init.uniform_(p, -bound, bound)


class RNNBase(Module):
    """The stack of layers and directions that RNN, LSTM and GRU share; ``mode`` picks the step."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ):
        super().__init__()
        name = "RNN" if mode.startswith("RNN") else mode
        _check_sizes(name, input_size, hidden_size)
        if not isinstance(num_layers, (int, np.integer)) or num_layers < 1:
            raise ValueError(f"{name}: num_layers must be a positive integer, got {num_layers!r}")
        if not 0 <= dropout < 1 or isinstance(dropout, bool):
            raise ValueError(f"{name}: dropout must be in [0, 1), got {dropout!r}")
        if proj_size:
            raise NotImplementedError(f"{name}: proj_size (an LSTM with projections) is not supported in chainrule")
        dtype = resolve_dtype(dtype)
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, float(dropout), bidirectional
        self.proj_size = 0
        directions = 2 if bidirectional else 1
        rows = _GATES[mode] * hidden_size
        for layer in range(num_layers):
            width = input_size if layer == 0 else hidden_size * directions
            for suffix in ("", "_reverse")[:directions]:
                setattr(self, f"weight_ih_l{layer}{suffix}", Parameter(np.zeros((rows, width)), dtype=dtype))
                setattr(self, f"weight_hh_l{layer}{suffix}", Parameter(np.zeros((rows, hidden_size)), dtype=dtype))
                if bias:
                    setattr(self, f"bias_ih_l{layer}{suffix}", Parameter(np.zeros(rows), dtype=dtype))
                    setattr(self, f"bias_hh_l{layer}{suffix}", Parameter(np.zeros(rows), dtype=dtype))
        _uniform_init(self, hidden_size)
        if device is not None:
            self.to(device=device)

    @property
    def _name(self) -> str:
        return "RNN" if self.mode.startswith("RNN") else self.mode

    def _weights(self, layer: int, suffix: str) -> tuple:
        get = lambda kind: getattr(self, f"{kind}_l{layer}{suffix}", None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def _check_input(self, x, hx):
        if not isinstance(x, Tensor):
            raise TypeError(f"{self._name}: expected a Tensor as input, got {type(x).__name__}")
        layout = "(N, L, H_in)" if self.batch_first else "(L, N, H_in)"
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise ShapeError(
                f"{self._name}(input_size={self.input_size}): expected input of shape {layout} or (L, H_in) with "
                f"H_in = {self.input_size}, got {x.shape}"
            )

    def _initial(self, hx, batch: int, dtype, device, unbatched: bool, what: str = "h_0"):
        """The initial states as a list, one (N, H) tensor per layer and direction (zeros when not given)."""
        count = self.num_layers * (2 if self.bidirectional else 1)
        expected = (count, self.hidden_size) if unbatched else (count, batch, self.hidden_size)
        if hx is None:
            zeros = Tensor.wrap(np.zeros((batch, self.hidden_size), dtype=dtype), False)
            return [zeros.to(device) if device != "cpu" else zeros] * count
        if not isinstance(hx, Tensor) or tuple(hx.shape) != expected:
            got = tuple(hx.shape) if isinstance(hx, Tensor) else type(hx).__name__
            raise ShapeError(f"{self._name}: expected {what} of shape {expected}, got {got}")
        if unbatched:
            hx = hx.unsqueeze(1)
        return list(hx.unbind(0))

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's names
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        self._check_input(input, hx)
        lstm = self.mode == "LSTM"
        if lstm and hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError("LSTM: hx must be a tuple (h_0, c_0)")
        unbatched = input.ndim == 2
        x = input.unsqueeze(1) if unbatched else input.transpose(0, 1) if self.batch_first else input
        h0, c0 = self._states(hx, x.shape[1], x, unbatched)
        x, h_n, c_n = self._stack(x, h0, c0, self._direction)
        output = x.squeeze(1) if unbatched else x.transpose(0, 1) if self.batch_first else x
        h_n = h_n.squeeze(1) if unbatched else h_n
        if lstm:
            return output, (h_n, c_n.squeeze(1) if unbatched else c_n)
        return output, h_n

    def _states(self, hx, batch: int, like, unbatched: bool):
        """h_0 and c_0 (c_0 the LSTM's only; zeros where not given) as lists, one (N, H) per layer and direction."""
        lstm, dtype = self.mode == "LSTM", like.array.dtype
        h0 = self._initial(hx[0] if lstm and hx is not None else hx, batch, dtype, like.device, unbatched)
        if lstm and hx is not None:
            return h0, self._initial(hx[1], batch, dtype, like.device, unbatched, "c_0")
        return h0, h0

    def _stack(self, x, h0, c0, direction):
        """Every layer and direction over x, ``direction(x, layer, suffix, h, c, reverse)`` giving each one's
        (outputs, last h, last c); the directions' outputs side by side feed the next layer, through dropout
        between layers in training. Returns (the last layer's outputs, h_n, c_n or None)."""
        lstm, directions = self.mode == "LSTM", 2 if self.bidirectional else 1
        last_h, last_c = [], []
        for layer in range(self.num_layers):
            outputs = []
            for d, suffix in enumerate(("", "_reverse")[:directions]):
                k = layer * directions + d
                ys, h, c = direction(x, layer, suffix, h0[k], c0[k], d == 1)
                outputs.append(ys)
                last_h.append(h)
                last_c.append(c)
            x = outputs[0] if directions == 1 else F.cat(outputs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)  # between layers, not after the last
        return x, F.stack(last_h), F.stack(last_c) if lstm else None

    def _direction(self, x, layer: int, suffix: str, h, c, reverse: bool):
        """One layer in one direction over all steps, as one op whose backward is backpropagation through time
        (ops/recurrent.py): (outputs (L, N, H), last h, last c)."""
        w_ih, w_hh, b_ih, b_hh = self._weights(layer, suffix)
        gates_x, b_hh = _input_gates(self.mode, x, w_ih, b_ih, b_hh)
        ys, c_last = _run(self.mode, gates_x, w_hh, b_hh, h, c, reverse)
        return ys, ys[0 if reverse else x.shape[0] - 1], c_last

    def _forward_packed(self, packed: PackedSequence, hx):
        """The layers over a PackedSequence: at step t only the batch_sizes[t] sequences that still run take a
        step (in reverse, the ones that have begun); the others keep their state."""
        data, batch_sizes, sorted_indices, unsorted_indices = packed
        if not isinstance(data, Tensor) or data.ndim != 2 or data.shape[-1] != self.input_size:
            raise ShapeError(
                f"{self._name}: expected packed data of shape (steps, {self.input_size}), got {data.shape}"
            )
        lstm = self.mode == "LSTM"
        sizes = [int(b) for b in to_device(batch_sizes.array, "cpu")]
        starts = np.concatenate([[0], np.cumsum(sizes)]).tolist()
        if hx is not None and sorted_indices is not None:  # the states come in the batch's order: sort them too
            sort = lambda h: F.index_select(h, 1, sorted_indices)  # noqa: E731
            hx = tuple(sort(h) for h in hx) if lstm else sort(hx)
        h0, c0 = self._states(hx, sizes[0], data, False)

        def direction(x, layer, suffix, h, c, reverse):
            w_ih, w_hh, b_ih, b_hh = self._weights(layer, suffix)
            gates_x, b_hh = _input_gates(self.mode, x, w_ih, b_ih, b_hh)  # every step of every sequence at once
            ys = [None] * len(sizes)
            for t in range(len(sizes) - 1, -1, -1) if reverse else range(len(sizes)):
                b = sizes[t]
                step = gates_x[starts[t] : starts[t] + b].unsqueeze(0)  # this step's running sequences
                h_b, c_b = _run(self.mode, step, w_hh, b_hh, h[:b], c[:b] if lstm else None)
                h_b = h_b[0]
                h = F.cat([h_b, h[b:]]) if b < sizes[0] else h_b  # the others keep their state
                if lstm:
                    c = F.cat([c_b, c[b:]]) if b < sizes[0] else c_b
                ys[t] = h_b
            return F.cat(ys), h, c if lstm else None

        x, h_n, c_n = self._stack(data, h0, c0, direction)
        if unsorted_indices is not None:  # back in the batch's order
            h_n = F.index_select(h_n, 1, unsorted_indices)
            c_n = F.index_select(c_n, 1, unsorted_indices) if lstm else None
        output = PackedSequence(x, batch_sizes, sorted_indices, unsorted_indices)
        return (output, (h_n, c_n)) if lstm else (output, h_n)

    def flatten_parameters(self) -> None:
        """PyTorch's cuDNN layout call: nothing to do here."""

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            text += ", nonlinearity='relu'"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, name) != default:
                text += f", {name}={getattr(self, name)}"
        return text


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu), over (L, N, H_in) input
    (``batch_first``: (N, L, H_in)); returns (output of every step, h_n of every layer and direction)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh", **kwargs):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(
            "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers, **kwargs
        )
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory: input, forget, cell and output gates (i, f, g, o) and a cell state c_t =
    f c_{t-1} + i g beside h_t = o tanh(c_t); returns (output, (h_n, c_n))."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, **kwargs):
        super().__init__("LSTM", input_size, hidden_size, num_layers, **kwargs)


class GRU(RNNBase):
    """Gated recurrent unit: reset and update gates (r, z), h_t = (1 - z) n + z h_{t-1}; returns (output, h_n)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, **kwargs):
        super().__init__("GRU", input_size, hidden_size, num_layers, **kwargs)


class _Cell(Module):
    """One step of a recurrent layer: weight_ih (gates * hidden, input), weight_hh, bias_ih, bias_hh."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__()
        _check_sizes(type(self).__name__, input_size, hidden_size)
        dtype = resolve_dtype(dtype)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        rows = self.gates * hidden_size
        self.weight_ih = Parameter(np.zeros((rows, input_size)), dtype=dtype)
        self.weight_hh = Parameter(np.zeros((rows, hidden_size)), dtype=dtype)
        self.bias_ih = Parameter(np.zeros(rows), dtype=dtype) if bias else None
        self.bias_hh = Parameter(np.zeros(rows), dtype=dtype) if bias else None
        _uniform_init(self, hidden_size)
        if device is not None:
            self.to(device=device)

    def _prepare(self, x, hx):
        """(input as (N, H_in), the state as (N, H) or None, whether the input had no batch axis)."""
        name = type(self).__name__
        if not isinstance(x, Tensor) or x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ShapeError(
                f"{name}: expected input of shape (N, {self.input_size}) or ({self.input_size},), got {got}"
            )
        unbatched = x.ndim == 1
        x = x.unsqueeze(0) if unbatched else x
        if hx is None:
            return x, None, unbatched
        if not isinstance(hx, Tensor) or tuple(hx.shape) != (tuple(x.shape[:1]) + (self.hidden_size,))[unbatched:]:
            expected = (self.hidden_size,) if unbatched else (x.shape[0], self.hidden_size)
            raise ShapeError(f"{name}: expected a state of shape {expected}, got {getattr(hx, 'shape', hx)}")
        return x, hx.unsqueeze(0) if unbatched else hx, unbatched

    def _zeros(self, x):
        return F.zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)

    def _step(self, mode: str, x, h, c=None):
        """One step, as a sequence of length 1 of the layers' op: (h', c' or None)."""
        gates_x, b_hh = _input_gates(mode, x, self.weight_ih, self.bias_ih, self.bias_hh)
        ys, c = _run(mode, gates_x.unsqueeze(0), self.weight_hh, b_hh, self._zeros(x) if h is None else h, c)
        return ys[0], c

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(_Cell):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh", **kwargs):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, **kwargs)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):  # noqa: A002
        x, h, unbatched = self._prepare(input, hx)
        h = self._step("RNN_RELU" if self.nonlinearity == "relu" else "RNN_TANH", x, h)[0]
        return h.squeeze(0) if unbatched else h


class LSTMCell(_Cell):
    """(h', c') from (h, c): the LSTM step."""

    gates = 4

    def forward(self, input, hx=None):  # noqa: A002
        h, c = (None, None) if hx is None else hx
        x, h, unbatched = self._prepare(input, h)
        if hx is not None:
            c = self._prepare(input, c)[1]
        h, c = self._step("LSTM", x, h, self._zeros(x) if c is None else c)
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


class GRUCell(_Cell):
    """h' from h: the GRU step."""

    gates = 3

    def forward(self, input, hx=None):  # noqa: A002
        x, h, unbatched = self._prepare(input, hx)
        h = self._step("GRU", x, h)[0]
        return h.squeeze(0) if unbatched else h
