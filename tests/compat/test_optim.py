"""Optimizers and schedulers as training loops use them: step, zero_grad, param_groups, state_dict."""

import copy

import pytest

from .harness import check, data, idioms, same_init


def _x(L, *shape, seed=0, **kw):
    return L.tensor(data(*shape, seed=seed), **kw)


def _train(L, make_optimizer, steps=5, edit=None):
    model = same_init(L.nn.Sequential(L.nn.Linear(3, 4), L.nn.Tanh(), L.nn.Linear(4, 1)), L)
    optimizer = make_optimizer(model.parameters())
    x, y = _x(L, 8, 3), _x(L, 8, 1, seed=1)
    losses = []
    for step in range(steps):
        if edit is not None:
            edit(optimizer, step)
        optimizer.zero_grad()
        loss = L.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, tuple(model.parameters())


def _lr_edit(optimizer, step):
    if step == 2:
        for group in optimizer.param_groups:
            group["lr"] = 0.01


def _param_groups(L):
    model = L.nn.Linear(2, 1)
    optimizer = L.optim.SGD([{"params": [model.weight]}, {"params": [model.bias], "lr": 0.5}], lr=0.1, momentum=0.9)
    return [g["lr"] for g in optimizer.param_groups], optimizer.param_groups[0]["momentum"], len(optimizer.param_groups)


def _add_param_group(L):
    a, b = L.nn.Linear(2, 1), L.nn.Linear(2, 1)
    optimizer = L.optim.Adam(a.parameters(), lr=0.1)
    optimizer.add_param_group({"params": b.parameters(), "lr": 0.01})
    return [g["lr"] for g in optimizer.param_groups], [len(g["params"]) for g in optimizer.param_groups]


def _state_dict_round_trip(L):
    def make(params):
        return L.optim.Adam(params, lr=0.05)

    model = same_init(L.nn.Linear(3, 1), L)
    optimizer = make(model.parameters())
    x = _x(L, 5, 3)
    for _ in range(3):
        optimizer.zero_grad()
        model(x).pow(2).mean().backward()
        optimizer.step()
    # what a checkpoint holds: copies (PyTorch's state dicts share memory with the live training)
    saved_model = {k: v.clone() for k, v in model.state_dict().items()}
    saved_optimizer = copy.deepcopy(optimizer.state_dict())
    optimizer.zero_grad()
    model(x).pow(2).mean().backward()
    optimizer.step()
    clone = L.nn.Linear(3, 1)
    clone.load_state_dict(saved_model)
    resumed = make(clone.parameters())
    resumed.load_state_dict(saved_optimizer)
    resumed.zero_grad()
    clone(x).pow(2).mean().backward()
    resumed.step()
    return model.weight, clone.weight, sorted(saved_optimizer.keys()), saved_optimizer["param_groups"][0]["lr"]


def _zero_grad_none(L):
    model = L.nn.Linear(2, 1)
    optimizer = L.optim.SGD(model.parameters(), lr=0.1)
    model(_x(L, 3, 2)).sum().backward()
    optimizer.zero_grad()
    return model.weight.grad is None


def _empty_params_raises(L):
    L.optim.SGD([], lr=0.1)


def _step_lr(L):
    model = L.nn.Linear(2, 1)
    optimizer = L.optim.SGD(model.parameters(), lr=1.0)
    scheduler = L.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    lrs = []
    for _ in range(5):
        optimizer.step()
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    return lrs, scheduler.get_last_lr()


def _cosine(L):
    optimizer = L.optim.SGD(L.nn.Linear(2, 1).parameters(), lr=0.1)
    scheduler = L.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=4)
    lrs = []
    for _ in range(4):
        optimizer.step()
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    return lrs


def _module_gradient_descent(L):
    """The nn tutorial's loop: model.zero_grad(), backward, a hand-written update under no_grad."""
    import math

    x = L.linspace(-math.pi, math.pi, 100)
    xx = x.unsqueeze(-1).pow(L.tensor([1, 2, 3]))
    y = L.sin(x)
    model = same_init(L.nn.Sequential(L.nn.Linear(3, 1), L.nn.Flatten(0, 1)), L)
    loss_fn = L.nn.MSELoss(reduction="sum")
    for _ in range(100):
        loss = loss_fn(model(xx), y)
        model.zero_grad()
        loss.backward()
        with L.no_grad():
            for param in model.parameters():
                param -= 1e-5 * param.grad
    linear = model[0]
    return loss.item(), linear.bias.item(), linear.weight[:, 0].item()


OPTIMIZERS = idioms(
    ("sgd", lambda L: _train(L, lambda p: L.optim.SGD(p, lr=0.1))),
    ("sgd_momentum_nesterov", lambda L: _train(L, lambda p: L.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True))),
    ("sgd_weight_decay", lambda L: _train(L, lambda p: L.optim.SGD(p, lr=0.1, weight_decay=0.01))),
    ("adam", lambda L: _train(L, lambda p: L.optim.Adam(p, lr=0.01))),
    ("adamw", lambda L: _train(L, lambda p: L.optim.AdamW(p, lr=0.01))),
    ("rmsprop", lambda L: _train(L, lambda p: L.optim.RMSprop(p, lr=0.01))),
    ("adagrad", lambda L: _train(L, lambda p: L.optim.Adagrad(p, lr=0.1))),
    ("adadelta", lambda L: _train(L, lambda p: L.optim.Adadelta(p))),
    ("edit_lr_in_param_groups", lambda L: _train(L, lambda p: L.optim.SGD(p, lr=0.5), edit=_lr_edit)),
    ("param_groups", _param_groups),
    ("add_param_group", _add_param_group),
    ("state_dict_round_trip", _state_dict_round_trip),
    ("zero_grad_sets_none", _zero_grad_none),
    ("empty_params_raises", _empty_params_raises),
    ("step_lr", _step_lr),
    ("cosine_annealing", _cosine),
    ("module_gradient_descent", _module_gradient_descent),
)


@pytest.mark.parametrize("idiom", OPTIMIZERS, ids=str)
def test_idiom(idiom):
    check(idiom)
