"""Modules and losses as beginner code uses them; values and gradients from the same weights."""

import pytest

from .harness import check, data, idioms, same_init


def _x(L, *shape, seed=0, **kw):
    return L.tensor(data(*shape, seed=seed), **kw)


def _forward_backward(L, model, x):
    model = same_init(model, L)
    out = model(x)
    (out * L.tensor(data(*out.shape, seed=5))).sum().backward()
    return out, tuple(p.grad for p in model.parameters())


class _Names:
    """A custom Module, written as in PyTorch's tutorials."""

    @staticmethod
    def build(L):
        class Net(L.nn.Module):
            def __init__(self):
                super().__init__()
                self.flatten = L.nn.Flatten()
                self.linear_relu_stack = L.nn.Sequential(L.nn.Linear(6, 5), L.nn.ReLU(), L.nn.Linear(5, 3))

            def forward(self, x):
                return self.linear_relu_stack(self.flatten(x))

        return Net()


def _custom_module(L):
    model = _Names.build(L)
    out, grads = _forward_backward(L, model, _x(L, 2, 2, 3))
    names = [name for name, _ in model.named_parameters()]
    return out, grads, names, sum(p.numel() for p in model.parameters())


def _polynomial_module(L):
    class Polynomial3(L.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = L.nn.Parameter(L.tensor(0.1))
            self.b = L.nn.Parameter(L.tensor(-0.2))

        def forward(self, x):
            return self.a + self.b * x

    model = Polynomial3()
    loss = (model(_x(L, 4)) - 1).pow(2).sum()
    loss.backward()
    return loss, model.a.grad, model.b.grad, [n for n, _ in model.named_parameters()]


def _state_dict(L):
    model = same_init(L.nn.Sequential(L.nn.Linear(3, 2), L.nn.BatchNorm1d(2)), L)
    state = model.state_dict()
    return list(state.keys()), state["0.weight"], all(L.is_tensor(v) for v in state.values())


def _load_state_dict(L):
    a = same_init(L.nn.Linear(3, 2), L, seed=1)
    b = L.nn.Linear(3, 2)
    b.load_state_dict(a.state_dict())
    return b.weight, b.bias


def _load_state_dict_mismatch_raises(L):
    L.nn.Linear(3, 2).load_state_dict(L.nn.Linear(4, 2).state_dict())


def _train_eval(L):
    model = L.nn.Sequential(L.nn.Linear(2, 2), L.nn.Dropout(0.5))
    model.eval()
    flags = (model.training, model[1].training)
    model.train()
    return flags + (model.training, model[1].training)


def _dropout_eval_identity(L):
    layer = L.nn.Dropout(0.3)
    layer.eval()
    x = _x(L, 4, 5)
    return layer(x), L.nn.Dropout2d(0.3).eval()(_x(L, 2, 3, 4, 4))


def _dropout_train_scales(L):
    out = L.nn.Dropout(0.25)(L.ones(1000))
    kept = out[out != 0]
    return bool((kept == 1 / 0.75).all())


def _dropout2d_channels(L):
    out = L.nn.Dropout2d(0.5)(L.ones(4, 8, 3, 3))
    per_channel = out.sum(dim=(2, 3))
    return bool(((per_channel == 0) | (per_channel == 18)).all())


def _embedding(L):
    emb = L.nn.Embedding(5, 3, padding_idx=0)
    with L.no_grad():
        emb.weight.copy_(L.tensor(data(5, 3)))
    idx = L.tensor([[0, 2, 2], [4, 1, 0]])
    out = emb(idx)
    (out * L.tensor(data(2, 3, 3, seed=2))).sum().backward()
    return out, emb.weight.grad, L.nn.Embedding(7, 2).weight.shape


def _layer_norm(L):
    return _forward_backward(L, L.nn.LayerNorm(4), _x(L, 3, 4))


def _layer_norm_2d(L):
    return _forward_backward(L, L.nn.LayerNorm([2, 3]), _x(L, 4, 2, 3))


def _clip_grad_norm(L):
    model = _Names.build(L)
    _forward_backward(L, model, _x(L, 2, 2, 3))
    total = L.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
    after = sum(p.grad.pow(2).sum() for p in model.parameters()).sqrt()
    return total, after


def _clip_grad_value(L):
    model = _Names.build(L)
    _forward_backward(L, model, _x(L, 2, 2, 3))
    L.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.1)
    return tuple(p.grad for p in model.parameters())


def _apply_init(L):
    def init(m):
        if isinstance(m, L.nn.Linear):
            L.nn.init.constant_(m.weight, 0.5)
            L.nn.init.zeros_(m.bias)

    model = L.nn.Sequential(L.nn.Linear(2, 3), L.nn.Tanh(), L.nn.Linear(3, 1)).apply(init)
    return model(_x(L, 4, 2))


def _freeze(L):
    model = same_init(L.nn.Sequential(L.nn.Linear(3, 2), L.nn.Linear(2, 1)), L)
    model[0].requires_grad_(False)
    model(_x(L, 4, 3)).sum().backward()
    return model[0].weight.grad is None, model[1].weight.grad


def _zero_grad(L):
    model = same_init(L.nn.Linear(3, 1), L)
    model(_x(L, 2, 3)).sum().backward()
    model.zero_grad()
    return model.weight.grad is None


def _losses(L):
    logits = _x(L, 4, 3, requires_grad=True)
    target = L.tensor([0, 2, 1, 2])
    pred = _x(L, 4, requires_grad=True)
    y = L.tensor([1.0, 0.0, 1.0, 0.0])
    losses = (
        L.nn.CrossEntropyLoss()(logits, target),
        L.nn.CrossEntropyLoss(reduction="sum")(logits, target),
        L.nn.CrossEntropyLoss(label_smoothing=0.1)(logits, target),
        L.nn.MSELoss()(pred, y),
        L.nn.MSELoss(reduction="sum")(pred, y),
        L.nn.L1Loss()(pred, y),
        L.nn.BCEWithLogitsLoss()(pred, y),
        L.nn.BCELoss()(L.sigmoid(pred), y),
        L.nn.NLLLoss()(L.log_softmax(logits, dim=1), target),
    )
    sum(losses).backward()
    return losses, logits.grad, pred.grad


def _functional(L):
    F = L.nn.functional
    x = _x(L, 2, 4)
    return (
        F.relu(x),
        F.softmax(x, dim=1),
        F.gelu(x),
        F.leaky_relu(x, 0.2),
        F.silu(x),
        F.softplus(x),
        F.elu(x),
        F.cross_entropy(x, L.tensor([1, 3])),
        F.mse_loss(x, L.zeros(2, 4)),
        F.layer_norm(x, (4,)),
    )


def _activation_modules(L):
    x = _x(L, 2, 4)
    return tuple(
        m(x)
        for m in (
            L.nn.ReLU(),
            L.nn.Sigmoid(),
            L.nn.Tanh(),
            L.nn.Softmax(dim=1),
            L.nn.LogSoftmax(dim=1),
            L.nn.LeakyReLU(0.1),
            L.nn.GELU(),
            L.nn.SiLU(),
            L.nn.Softplus(),
            L.nn.ELU(),
            L.nn.Identity(7),
        )
    )


def _conv_pool(L):
    model = L.nn.Sequential(
        L.nn.Conv2d(1, 2, 3, padding=1), L.nn.ReLU(), L.nn.MaxPool2d(2), L.nn.Flatten(), L.nn.Linear(8, 2)
    )
    return _forward_backward(L, model, _x(L, 2, 1, 4, 4))


def _batchnorm(L):
    model = L.nn.BatchNorm1d(3)
    out = _forward_backward(L, model, _x(L, 5, 3))
    return out, model.running_mean, model.running_var


def _sequential_index_and_len(L):
    model = L.nn.Sequential(L.nn.Linear(2, 3), L.nn.ReLU(), L.nn.Linear(3, 1))
    return len(model), type(model[1]).__name__, model[0].weight.shape, model[-1].out_features


def _module_list(L):
    layers = L.nn.ModuleList([L.nn.Linear(2, 2) for _ in range(3)])
    return len(layers), len(list(layers.parameters()))


def _flatten_0_1(L):
    model = same_init(L.nn.Sequential(L.nn.Linear(3, 1), L.nn.Flatten(0, 1)), L)
    return model(_x(L, 5, 3))


def _linear_wrong_input_raises(L):
    L.nn.Linear(3, 2)(_x(L, 4, 5))


def _parameter(L):
    p = L.nn.Parameter(L.zeros(2))
    return p.requires_grad, p.is_leaf, isinstance(p, L.Tensor)


def _to_double(L):
    model = L.nn.Linear(2, 2).double()
    return model.weight.dtype, model(_x(L, 1, 2, dtype=L.float64)).dtype


MODULES = idioms(
    ("custom_module_tutorial", _custom_module),
    ("custom_module_parameters", _polynomial_module),
    ("state_dict", _state_dict),
    ("load_state_dict", _load_state_dict),
    ("load_state_dict_mismatch_raises", _load_state_dict_mismatch_raises),
    ("train_eval", _train_eval),
    ("dropout_eval_is_identity", _dropout_eval_identity),
    ("dropout_train_scales_kept", _dropout_train_scales),
    ("dropout2d_drops_channels", _dropout2d_channels),
    ("embedding", _embedding),
    ("layer_norm", _layer_norm),
    ("layer_norm_2d", _layer_norm_2d),
    ("clip_grad_norm_", _clip_grad_norm),
    ("clip_grad_value_", _clip_grad_value),
    ("apply_init", _apply_init),
    ("freeze_with_requires_grad_", _freeze),
    ("zero_grad_sets_none", _zero_grad),
    ("losses", _losses),
    ("functional", _functional),
    ("activation_modules", _activation_modules),
    ("conv_pool_linear", _conv_pool),
    ("batchnorm_running_stats", _batchnorm),
    ("sequential_index_and_len", _sequential_index_and_len),
    ("module_list", _module_list),
    ("flatten_0_1", _flatten_0_1),
    ("linear_wrong_input_raises", _linear_wrong_input_raises),
    ("parameter", _parameter),
    ("module_double", _to_double),
)


@pytest.mark.parametrize("idiom", MODULES, ids=str)
def test_idiom(idiom):
    check(idiom)
