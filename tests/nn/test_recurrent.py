"""RNN, LSTM, GRU and their cells against PyTorch: the same weights (a PyTorch state_dict loaded as it
is), the same input and initial states, then outputs, final states and every gradient in float64; a
numerical gradient check; errors that name the layer and the shape it expects."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn

rng = np.random.default_rng(7)

LAYERS = [(torch.nn.RNN, nn.RNN), (torch.nn.LSTM, nn.LSTM), (torch.nn.GRU, nn.GRU)]
CONFIGS = [
    dict(input_size=3, hidden_size=4),
    dict(input_size=3, hidden_size=4, num_layers=2, batch_first=True),
    dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True),
    dict(input_size=2, hidden_size=3, bias=False),
]


def pair(torch_cls, our_cls, **kwargs):
    torch.manual_seed(0)
    theirs = torch_cls(**kwargs).double()
    ours = our_cls(**kwargs, dtype=cr.float64)
    ours.load_state_dict({k: cr.tensor(v.detach().numpy(), dtype=cr.float64) for k, v in theirs.state_dict().items()})
    return theirs, ours


def both(array):
    return torch.tensor(array, requires_grad=True), cr.tensor(array, dtype=cr.float64, requires_grad=True)


def flat(result):
    """(output, h_n) or (output, (h_n, c_n)) as a flat list."""
    out, state = result
    return [out, *state] if isinstance(state, tuple) else [out, state]


def assert_same(ours, theirs, what):
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12, err_msg=what)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: ",".join(f"{k}={v}" for k, v in c.items()))
@pytest.mark.parametrize("torch_cls, our_cls", LAYERS, ids=["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("with_state", [False, True], ids=["zero state", "given state"])
def test_matches_pytorch(torch_cls, our_cls, config, with_state):
    theirs, ours = pair(torch_cls, our_cls, **config)
    steps, batch = 5, 2
    shape = (batch, steps, config["input_size"]) if config.get("batch_first") else (steps, batch, config["input_size"])
    xt, xc = both(rng.standard_normal(shape))
    states_t, states_c = None, None
    if with_state:
        count = config.get("num_layers", 1) * (2 if config.get("bidirectional") else 1)
        h = [both(rng.standard_normal((count, batch, config["hidden_size"]))) for _ in range(2)]
        lstm = torch_cls is torch.nn.LSTM
        states_t = (h[0][0], h[1][0]) if lstm else h[0][0]
        states_c = (h[0][1], h[1][1]) if lstm else h[0][1]
    results_t, results_c = flat(theirs(xt, states_t)), flat(ours(xc, states_c))
    weights = [np.cos(np.arange(r.numel()).reshape(tuple(r.shape))) for r in results_t]  # every element counts
    loss_t = sum((r * torch.tensor(w)).sum() for r, w in zip(results_t, weights))
    loss_c = sum((r * cr.tensor(w, dtype=cr.float64)).sum() for r, w in zip(results_c, weights))
    loss_t.backward()
    loss_c.backward()
    for k, (a, b) in enumerate(zip(results_c, results_t)):
        assert tuple(a.shape) == tuple(b.shape)
        assert_same(a.detach().numpy(), b.detach().numpy(), f"result {k}")
    assert_same(xc.grad.numpy(), xt.grad.numpy(), "input gradient")
    named = dict(theirs.named_parameters())
    assert [n for n, _ in ours.named_parameters()] == list(named)
    for name, p in ours.named_parameters():
        assert_same(p.grad.numpy(), named[name].grad.numpy(), f"gradient of {name}")
    if with_state:
        for tt, cc in zip(
            states_t if isinstance(states_t, tuple) else (states_t,),
            states_c if isinstance(states_c, tuple) else (states_c,),
        ):
            assert_same(cc.grad.numpy(), tt.grad.numpy(), "initial state's gradient")


@pytest.mark.parametrize("torch_cls, our_cls", LAYERS, ids=["RNN", "LSTM", "GRU"])
def test_unbatched_input(torch_cls, our_cls):
    theirs, ours = pair(torch_cls, our_cls, input_size=3, hidden_size=2, num_layers=2)
    x = rng.standard_normal((4, 3))
    for a, b in zip(flat(ours(cr.tensor(x, dtype=cr.float64))), flat(theirs(torch.tensor(x)))):
        assert tuple(a.shape) == tuple(b.shape)
        assert_same(a.detach().numpy(), b.detach().numpy(), "unbatched")


def test_relu_rnn_and_cells_match_pytorch():
    theirs, ours = pair(torch.nn.RNN, nn.RNN, input_size=2, hidden_size=3, nonlinearity="relu")
    x = rng.standard_normal((4, 2, 2))
    assert_same(
        ours(cr.tensor(x, dtype=cr.float64))[0].detach().numpy(), theirs(torch.tensor(x))[0].detach().numpy(), "relu"
    )
    for torch_cls, our_cls in (
        (torch.nn.RNNCell, nn.RNNCell),
        (torch.nn.LSTMCell, nn.LSTMCell),
        (torch.nn.GRUCell, nn.GRUCell),
    ):
        theirs, ours = pair(torch_cls, our_cls, input_size=3, hidden_size=4)
        xt, xc = both(rng.standard_normal((2, 3)))
        ht, hc = both(rng.standard_normal((2, 4)))
        lstm = torch_cls is torch.nn.LSTMCell
        out_t = theirs(xt, (ht, ht * 0.5) if lstm else ht)
        out_c = ours(xc, (hc, hc * 0.5) if lstm else hc)
        out_t, out_c = (out_t if lstm else (out_t,)), (out_c if lstm else (out_c,))
        sum(o.sum() * (k + 1) for k, o in enumerate(out_t)).backward()
        sum(o.sum() * (k + 1) for k, o in enumerate(out_c)).backward()
        for a, b in zip(out_c, out_t):
            assert_same(a.detach().numpy(), b.detach().numpy(), torch_cls.__name__)
        assert_same(xc.grad.numpy(), xt.grad.numpy(), f"{torch_cls.__name__} input gradient")
        assert_same(hc.grad.numpy(), ht.grad.numpy(), f"{torch_cls.__name__} state gradient")
        unbatched = ours(cr.tensor(rng.standard_normal(3), dtype=cr.float64))
        assert (unbatched[0] if lstm else unbatched).shape == (4,)


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
def test_gradcheck_through_time(cls):
    cr.manual_seed(0)
    layer = cls(2, 3, num_layers=2, bidirectional=True, dtype=cr.float64)
    x = cr.tensor(rng.standard_normal((4, 2, 2)), dtype=cr.float64, requires_grad=True)
    assert cr.gradcheck(lambda t: layer(t)[0], [x])


def test_float32_stays_float32_and_dropout_only_between_layers_in_training():
    cr.manual_seed(0)
    lstm = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = cr.randn(6, 2, 3)
    out, (h, c) = lstm(x)
    assert out.dtype == cr.float32 and h.dtype == cr.float32 and c.dtype == cr.float32
    lstm.eval()
    a, b = lstm(x)[0], lstm(x)[0]
    assert cr.equal(a, b)  # no dropout in eval
    lstm.train()
    assert not cr.equal(lstm(x)[0], lstm(x)[0])  # dropout between the layers in training
    single = nn.LSTM(3, 4, dropout=0.5)  # one layer: nothing between layers to drop
    assert cr.equal(single(x)[0], single(x)[0])


def test_errors_name_the_layer_and_the_shape():
    with pytest.raises(ShapeErrorType, match=r"LSTM\(input_size=3\): expected input of shape \(L, N, H_in\)"):
        nn.LSTM(3, 4)(cr.randn(5, 2, 7))
    with pytest.raises(ShapeErrorType, match=r"GRU: expected h_0 of shape \(2, 2, 4\), got \(1, 2, 4\)"):
        nn.GRU(3, 4, num_layers=2)(cr.randn(5, 2, 3), cr.zeros(1, 2, 4))
    with pytest.raises(TypeError, match="LSTM: hx must be a tuple"):
        nn.LSTM(3, 4)(cr.randn(5, 2, 3), cr.zeros(1, 2, 4))
    with pytest.raises(ValueError, match="RNN: nonlinearity must be 'tanh' or 'relu'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        nn.GRU(3, 0)
    with pytest.raises(ShapeErrorType, match=r"LSTMCell: expected input of shape \(N, 3\)"):
        nn.LSTMCell(3, 4)(cr.randn(2, 5))


ShapeErrorType = cr.errors.ShapeError


@pytest.mark.parametrize("torch_cls, our_cls", LAYERS, ids=["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_packed_sequences_match_pytorch(torch_cls, our_cls, enforce_sorted):
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    from chainrule.nn.utils import rnn

    theirs, ours = pair(torch_cls, our_cls, input_size=3, hidden_size=4, num_layers=2, bidirectional=True)
    lengths = [6, 4, 4, 1] if enforce_sorted else [3, 6, 1, 4]
    xt, xc = both(rng.standard_normal((6, 4, 3)))
    lstm = torch_cls is torch.nn.LSTM
    h = [both(rng.standard_normal((4, 4, 4))) for _ in range(2)]
    out_t, state_t = theirs(
        pack_padded_sequence(xt, lengths, enforce_sorted=enforce_sorted), (h[0][0], h[1][0]) if lstm else h[0][0]
    )
    out_c, state_c = ours(
        rnn.pack_padded_sequence(xc, lengths, enforce_sorted=enforce_sorted), (h[0][1], h[1][1]) if lstm else h[0][1]
    )
    padded_t, lengths_t = pad_packed_sequence(out_t, total_length=7)
    padded_c, lengths_c = rnn.pad_packed_sequence(out_c, total_length=7)
    assert lengths_c.tolist() == lengths_t.tolist()
    results_t = [padded_t, *(state_t if lstm else (state_t,))]
    results_c = [padded_c, *(state_c if lstm else (state_c,))]
    for k, (a, b) in enumerate(zip(results_c, results_t)):
        assert_same(a.detach().numpy(), b.detach().numpy(), f"packed result {k}")
    sum((r * (k + 1)).sum() for k, r in enumerate(results_t)).backward()
    sum((r * (k + 1)).sum() for k, r in enumerate(results_c)).backward()
    assert_same(xc.grad.numpy(), xt.grad.numpy(), "input gradient through a packed batch")
    assert_same(h[0][1].grad.numpy(), h[0][0].grad.numpy(), "initial state's gradient through a packed batch")


def test_pad_and_pack_sequence():
    from torch.nn.utils.rnn import pack_sequence, pad_sequence

    from chainrule.nn.utils import rnn

    seqs = [rng.standard_normal((n, 2)) for n in (3, 5, 1)]
    for batch_first in (False, True):
        for side in ("right", "left"):
            a = rnn.pad_sequence([cr.tensor(s, dtype=F64) for s in seqs], batch_first, -1.0, side)
            b = pad_sequence([torch.tensor(s) for s in seqs], batch_first, -1.0, side)
            assert_same(a.numpy(), b.numpy(), f"pad_sequence {batch_first} {side}")
    packed_c = rnn.pack_sequence([cr.tensor(s, dtype=F64) for s in seqs], enforce_sorted=False)
    packed_t = pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=False)
    assert_same(packed_c.data.numpy(), packed_t.data.numpy(), "pack_sequence data")
    assert packed_c.batch_sizes.tolist() == packed_t.batch_sizes.tolist()
    with pytest.raises(ValueError, match="lengths must be in decreasing order"):
        rnn.pack_padded_sequence(cr.zeros(4, 2, 1), [2, 4])


F64 = cr.float64
