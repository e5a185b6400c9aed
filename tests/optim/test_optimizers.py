import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import ConfigError

rng = np.random.default_rng(12)

# every test here runs on the NumPy path and on the Numba kernels (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("kernel_path")

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.001)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.01)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, eps=1e-6)),
    ("Adadelta", dict(lr=1.0)),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.01)),
]


def _trajectory(lib, name, config, x, y, w0, b0, steps=50):
    if lib == "torch":
        w, b = torch.tensor(w0, requires_grad=True), torch.tensor(b0, requires_grad=True)
        opt = getattr(torch.optim, name)([{"params": [w]}, {"params": [b], "lr": config["lr"] / 2}], **config)
        xt, yt = torch.tensor(x), torch.tensor(y)
        for _ in range(steps):
            opt.zero_grad()
            loss = ((torch.tanh(xt @ w.T + b) - yt) ** 2).mean()
            loss.backward()
            opt.step()
        return w.detach().numpy(), b.detach().numpy()
    w, b = cr.tensor(w0, dtype="float64", requires_grad=True), cr.tensor(b0, dtype="float64", requires_grad=True)
    opt = getattr(optim, name)([{"params": [w]}, {"params": [b], "lr": config["lr"] / 2}], **config)
    xc, yc = cr.tensor(x, dtype="float64"), cr.tensor(y, dtype="float64")
    for _ in range(steps):
        opt.zero_grad()
        loss = ((cr.tanh(xc @ w.T + b) - yc) ** 2).mean()
        loss.backward()
        opt.step()
    return w.array, b.array


@pytest.mark.parametrize("name, config", CONFIGS)
def test_trajectory_matches_pytorch_over_50_steps(name, config):
    x, y = rng.standard_normal((16, 4)), rng.standard_normal((16, 3))
    w0, b0 = rng.standard_normal((3, 4)), rng.standard_normal(3)
    ours = _trajectory("cr", name, config, x, y, w0, b0)
    theirs = _trajectory("torch", name, config, x, y, w0, b0)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_updates_are_in_place_and_allocate_no_new_parameter_arrays():
    model = nn.Linear(4, 3)
    opt = optim.Adam(model.parameters(), lr=0.01)
    before = [id(p.array) for p in model.parameters()]
    for _ in range(3):
        opt.zero_grad()
        model(cr.randn(5, 4)).sum().backward()
        opt.step()
    assert [id(p.array) for p in model.parameters()] == before
    state_ids = {k: id(v["exp_avg"]) for k, v in opt.state.items()}
    opt.step()
    assert {k: id(v["exp_avg"]) for k, v in opt.state.items()} == state_ids


def test_float32_parameters_stay_float32():
    model = nn.Linear(4, 3)
    for opt in (
        optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1),
        optim.Adam(model.parameters()),
        optim.RMSprop(model.parameters(), centered=True),
        optim.Adagrad(model.parameters()),
    ):
        model(cr.randn(5, 4)).sum().backward()
        opt.step()
        assert all(p.dtype == np.float32 for p in model.parameters())
        assert all(v.dtype == np.float32 for s in opt.state.values() for v in s.values() if isinstance(v, np.ndarray))


def test_optimizer_state_dict_round_trip():
    cr.manual_seed(0)
    x = cr.randn(8, 4)

    def run(opt, model, steps):
        for _ in range(steps):
            opt.zero_grad()
            model(x).pow(2).mean().backward()
            opt.step()

    a = nn.Linear(4, 2)
    b = nn.Linear(4, 2)
    b.load_state_dict(a.state_dict())
    opt_a, opt_b = optim.Adam(a.parameters(), lr=0.01), optim.Adam(b.parameters(), lr=0.01)
    run(opt_a, a, 5)
    run(opt_b, b, 5)
    c = nn.Linear(4, 2)
    c.load_state_dict(b.state_dict())
    opt_c = optim.Adam(c.parameters(), lr=0.01)
    opt_c.load_state_dict(opt_b.state_dict())
    run(opt_a, a, 5)
    run(opt_c, c, 5)
    np.testing.assert_array_equal(a.weight.array, c.weight.array)


@pytest.mark.parametrize(
    "make",
    [
        lambda p: optim.SGD(p, lr=-0.1),
        lambda p: optim.SGD(p, lr=float("nan")),
        lambda p: optim.SGD(p, lr=0),
        lambda p: optim.SGD(p, lr=0.1, momentum=-0.5),
        lambda p: optim.SGD(p, lr=0.1, nesterov=True),
        lambda p: optim.Adam(p, betas=(1.0, 0.999)),
        lambda p: optim.Adam(p, betas=(0.9, -0.1)),
        lambda p: optim.RMSprop(p, alpha=1.5),
        lambda p: optim.Adagrad(p, lr_decay=-1),
    ],
)
def test_nonsense_settings_are_rejected(make):
    with pytest.raises(ValueError):
        make(nn.Linear(2, 2).parameters())


def test_empty_parameter_list_is_rejected():
    with pytest.raises(ConfigError, match="empty parameter list"):
        optim.SGD([], lr=0.1)


@pytest.mark.parametrize(
    "make",
    [
        lambda p: optim.SGD(p, lr=0.1),
        lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1),
        lambda p: optim.Adagrad(p, weight_decay=0.01),
        lambda p: optim.RMSprop(p, momentum=0.9, centered=True, weight_decay=0.01),
        lambda p: optim.Adam(p, weight_decay=0.01),
        lambda p: optim.AdamW(p),
        lambda p: optim.Adadelta(p, weight_decay=0.01),
    ],
)
def test_a_step_allocates_no_new_arrays(make):
    import tracemalloc

    param = nn.Parameter(np.zeros((500, 500)))
    param.grad = cr.ones(500, 500)
    opt = make([param])
    opt.step()  # the first step creates the state and scratch arrays
    tracemalloc.start()
    opt.step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < param.array.nbytes / 20, f"a step allocated {peak} bytes for a {param.array.nbytes}-byte parameter"


@pytest.mark.parametrize(
    "name, config", [(n, c) for n, c in CONFIGS if n in ("SGD", "Adam", "AdamW")] + [("AdamW", dict(lr=0.01))]
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_kernels_update_exactly_as_the_numpy_path(name, config, dtype, kernel_path):
    """The one-pass updates (backend/cpu.py) do NumPy's operations in NumPy's order and dtype: 30 steps of
    both paths end on the same bits."""
    from chainrule.backend import cpu

    grads = np.random.default_rng(5).standard_normal((30, 64, 33))
    results = []
    for fast in (False, True):
        previous = cpu.set_fast_kernels(fast)
        try:
            param = nn.Parameter(cr.tensor(np.linspace(-1, 1, 64 * 33).reshape(64, 33), dtype=dtype))
            opt = getattr(optim, name)([param], **config)
            for g in grads:
                param.grad = cr.tensor(g, dtype=dtype)
                opt.step()
            assert param.dtype == dtype
            results.append(
                (param.array.copy(), {k: np.copy(v) for k, v in opt.state[id(param)].items() if k[0] != "_"})
            )
        finally:
            cpu.set_fast_kernels(previous)
    np.testing.assert_array_equal(results[1][0], results[0][0])
    for key, value in results[0][1].items():
        np.testing.assert_array_equal(results[1][1][key], value)


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_the_kernels_follow_a_learning_rate_that_changes_every_step(name, kernel_path):
    """The kernels' hyperparameter arrays are cached by value (backend/cpu.py): a schedule that changes lr
    at every step, back and forth, must still give the NumPy path's bits."""
    from chainrule.backend import cpu

    grads = np.random.default_rng(6).standard_normal((40, 8, 5)).astype(np.float32)
    results = []
    for fast in (False, True):
        previous = cpu.set_fast_kernels(fast)
        try:
            param = nn.Parameter(cr.tensor(np.linspace(-1, 1, 40).reshape(8, 5)))
            opt = getattr(optim, name)([param], lr=0.1, **({"momentum": 0.9} if name == "SGD" else {}))
            for k, g in enumerate(grads):
                opt.param_groups[0]["lr"] = 0.1 / (1 + k % 7)  # 7 values, each seen again and again
                param.grad = cr.tensor(g)
                opt.step()
            results.append(param.array.copy())
        finally:
            cpu.set_fast_kernels(previous)
    np.testing.assert_array_equal(results[1], results[0])


def test_set_lr_changes_every_group_and_the_schedules_start():
    """What resuming a run with a new --lr does: the optimizer's groups and a schedule's base move to the new rate;
    the schedule keeps its position."""
    w = cr.nn.Parameter(cr.ones(3))
    opt = cr.optim.SGD([w], lr=0.1, momentum=0.9)
    schedule = cr.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(3):
        opt.step()
        schedule.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.05)
    opt.set_lr(0.4)
    schedule.set_base_lr(0.4)
    assert opt.param_groups[0]["lr"] == opt.param_groups[0]["initial_lr"] == 0.4
    schedule.step()  # epoch 4: two halvings of the new base
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="SGD"):
        opt.set_lr(-1)
