import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn
from chainrule.errors import ShapeError

rng = np.random.default_rng(10)


def _copy_weights(ours: nn.Module, theirs: torch.nn.Module) -> None:
    state = {k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()}
    theirs.load_state_dict(state, strict=False)


def _compare(ours, theirs, x, train: bool):
    ours.double()
    theirs.double()
    _copy_weights(ours, theirs)
    ours.train(train)
    theirs.train(train)
    xo = cr.tensor(x, dtype="float64", requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    np.testing.assert_allclose(yo.array, yt.detach().numpy(), rtol=1e-7, atol=1e-9)
    upstream = rng.standard_normal(yo.shape)
    yo.backward(upstream)
    yt.backward(torch.tensor(upstream))
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=1e-7, atol=1e-9)
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, theirs_params[name].grad.numpy(), rtol=1e-7, atol=1e-9, err_msg=name)
    for name, buffer in ours.named_buffers():
        np.testing.assert_allclose(buffer, dict(theirs.named_buffers())[name].numpy(), rtol=1e-7, err_msg=name)


CASES = [
    (lambda: nn.Linear(5, 3), lambda: torch.nn.Linear(5, 3), (4, 5)),
    (lambda: nn.Linear(5, 3, bias=False), lambda: torch.nn.Linear(5, 3, bias=False), (4, 5)),
    (
        lambda: nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.Linear(6, 2)),
        lambda: torch.nn.Sequential(torch.nn.Linear(5, 6), torch.nn.ReLU(), torch.nn.Linear(6, 2)),
        (4, 5),
    ),
    (
        lambda: nn.Sequential(nn.Linear(5, 6), nn.BatchNorm1d(6), nn.Tanh(), nn.Linear(6, 2), nn.Sigmoid()),
        lambda: torch.nn.Sequential(
            torch.nn.Linear(5, 6), torch.nn.BatchNorm1d(6), torch.nn.Tanh(), torch.nn.Linear(6, 2), torch.nn.Sigmoid()
        ),
        (8, 5),
    ),
    (
        lambda: nn.Sequential(nn.LeakyReLU(0.2), nn.GELU(), nn.Softmax(dim=1)),
        lambda: torch.nn.Sequential(torch.nn.LeakyReLU(0.2), torch.nn.GELU(), torch.nn.Softmax(dim=1)),
        (3, 4),
    ),
    (
        lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1),
        lambda: torch.nn.Conv2d(3, 4, 3, stride=2, padding=1),
        (2, 3, 9, 8),
    ),
    (
        lambda: nn.Sequential(
            nn.Conv2d(2, 4, 3, padding=1),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.AvgPool2d(2, stride=1),
            nn.Flatten(),
            nn.Linear(36, 3),
        ),
        lambda: torch.nn.Sequential(
            torch.nn.Conv2d(2, 4, 3, padding=1),
            torch.nn.BatchNorm2d(4),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.AvgPool2d(2, stride=1),
            torch.nn.Flatten(),
            torch.nn.Linear(36, 3),
        ),
        (3, 2, 8, 8),
    ),
]


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("make_ours, make_theirs, shape", CASES)
def test_layers_match_pytorch_in_train_and_eval(make_ours, make_theirs, shape, train):
    ours, theirs = make_ours(), make_theirs()
    if train is False:  # give the running statistics something to hold first
        ours.train()
        ours(cr.tensor(rng.standard_normal(shape)))
    _compare(ours, theirs, rng.standard_normal(shape), train)


def test_dropout_train_and_eval():
    cr.manual_seed(1)
    layer = nn.Dropout(0.5)
    x = cr.ones(200, 50)
    assert (layer(x).array == 0).mean() == pytest.approx(0.5, abs=0.03)
    layer.eval()
    assert layer(x) is x


def test_default_initialisation_matches_pytorch_bounds():
    cr.manual_seed(0)
    layer = nn.Linear(400, 10)
    bound = 1 / np.sqrt(400)
    assert np.abs(layer.weight.array).max() <= bound and np.abs(layer.weight.array).max() > 0.9 * bound
    assert np.abs(layer.bias.array).max() <= bound
    assert layer.weight.dtype == np.float32


def test_linear_error_names_layer_and_sizes():
    with pytest.raises(ShapeError, match=r"Linear\(784, 10\).*784.*785"):
        nn.Linear(784, 10)(cr.ones(32, 785))


def test_conv_error_on_3d_input():
    with pytest.raises(ShapeError, match=r"Conv2d\(1, 4\).*\(3, 28, 28\)"):
        nn.Conv2d(1, 4, 3)(cr.ones(3, 28, 28))


def test_module_tree_repr_summary_and_children():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    text = repr(model)
    assert "(0): Linear(in_features=4, out_features=8, bias=True)" in text and "(1): ReLU()" in text
    summary = model.summary((None, 4))
    assert "(N, 8)" in summary and "total parameters: 58" in summary
    assert len(list(model.children())) == 3
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_state_dict_round_trip_gives_identical_outputs():
    cr.manual_seed(3)
    make = lambda: nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))
    a, b = make(), make()
    a(cr.randn(16, 4))
    b.load_state_dict(a.state_dict())
    a.eval(), b.eval()
    x = cr.randn(5, 4)
    np.testing.assert_array_equal(a(x).array, b(x).array)


def test_strict_loading_names_every_bad_key_at_once():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    state = model.state_dict()
    del state["2.bias"]
    state["extra.weight"] = np.zeros(3)
    state["0.weight"] = np.zeros((8, 5))
    with pytest.raises(KeyError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "2.bias" in message and "extra.weight" in message and "0.weight" in message and "(8, 5)" in message


def test_custom_module_registers_parameters_and_modes():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(2, 3)
            self.drop = nn.Dropout(0.5)
            self.scale = nn.Parameter(np.ones(1))

        def forward(self, x):
            return self.drop(self.hidden(x)) * self.scale

    net = Net()
    assert len(list(net.parameters())) == 3
    net.eval()
    assert not net.drop.training
    net(cr.ones(1, 2)).sum().backward()
    assert net.scale.grad is not None
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


@pytest.mark.parametrize(
    "init_fn, expected_std",
    [
        (lambda t: nn.init.xavier_uniform_(t), np.sqrt(2 / (300 + 200))),
        (lambda t: nn.init.xavier_normal_(t), np.sqrt(2 / (300 + 200))),
        (lambda t: nn.init.kaiming_uniform_(t, nonlinearity="relu"), np.sqrt(2 / 300)),
        (lambda t: nn.init.kaiming_normal_(t, nonlinearity="relu"), np.sqrt(2 / 300)),
    ],
)
def test_init_variances(init_fn, expected_std):
    cr.manual_seed(0)
    t = nn.Parameter(np.zeros((200, 300)))
    init_fn(t)
    assert t.array.std() == pytest.approx(expected_std, rel=0.03)


def test_manual_seed_makes_init_reproducible():
    cr.manual_seed(42)
    a = nn.Linear(3, 3).weight.array.copy()
    cr.manual_seed(42)
    np.testing.assert_array_equal(a, nn.Linear(3, 3).weight.array)


def test_linear_and_conv2d_treat_integer_input_alike():
    """Integer input (uint8 pixels, int64 counts) joins the layer's dtype in both; float64 into float32 is an
    error in both (never a silent upcast)."""
    from chainrule.errors import DTypeError

    pixels = np.arange(2 * 1 * 5 * 5).reshape(2, 1, 5, 5).astype(np.uint8)
    for layer, x in ((nn.Linear(25, 3), pixels.reshape(2, 25)), (nn.Conv2d(1, 3, 3), pixels)):
        out = layer(cr.tensor(x))
        expected = layer(cr.tensor(x.astype(np.float32)))
        assert out.dtype == np.float32 and np.array_equal(out.detach().numpy(), expected.detach().numpy())
        with pytest.raises(DTypeError, match="never upcasts silently"):
            layer(cr.tensor(x).double())
