"""Devices: NumPy arrays on 'cpu', CuPy arrays on 'cuda', the same op code for both.

The GPU tests need CuPy and an NVIDIA GPU; without them they skip and say so. The CPU tests check
the parts that do not need a GPU: the array module dispatch, moving to 'cpu', and the error a user
gets asking for 'cuda' where it cannot be had.
"""

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F
from chainrule import backend, nn, optim
from chainrule.errors import DeviceError
from tests.ops import test_float32 as float32_walk
from tests.ops.test_float32 import CALLS


def _gpu_available() -> bool:
    try:
        backend.cupy_module()
    except DeviceError:
        return False
    return True


GPU = _gpu_available()
needs_gpu = pytest.mark.skipif(
    not GPU, reason="no CuPy or no NVIDIA GPU here (pip install 'chainrule[cuda]' on a GPU machine)"
)


def test_numpy_arrays_use_numpy():
    assert backend.array_module(np.ones(3)) is np
    assert backend.array_module(3.0) is np
    t = cr.ones(3)
    assert t.device == "cpu" and t.to("cpu") is t and t.cpu() is t
    model = nn.Linear(2, 2).to("cpu")
    assert model.device == "cpu"


def test_unknown_device_is_rejected():
    with pytest.raises(ValueError, match="unknown device"):
        cr.ones(2).to(device="tpu")


@pytest.mark.skipif(GPU, reason="this machine has a usable GPU")
def test_cuda_without_cupy_or_gpu_says_what_to_install():
    with pytest.raises(DeviceError, match=r"pip install 'chainrule\[cuda\]'"):
        cr.ones(2).to("cuda")
    with pytest.raises(DeviceError, match="cuda"):
        nn.Linear(2, 2).to("cuda")


def _leaves(out):
    leaves, stack, seen = [], [out], set()
    while stack:
        t = stack.pop()
        if t.grad_fn is None:
            if t.requires_grad:
                leaves.append(t)
        elif id(t.grad_fn) not in seen:
            seen.add(id(t.grad_fn))
            stack.extend(t.grad_fn.inputs)
    return sorted(leaves, key=lambda t: (t.shape, float(np.asarray(t.array).ravel()[0])))


@needs_gpu
@pytest.mark.parametrize("name", sorted(k for k, v in CALLS.items() if v is not None and k != "dropout"))
def test_every_op_on_cuda_matches_cpu(name):
    results = {}
    for device in ("cpu", "cuda"):
        float32_walk.rng = np.random.default_rng(9)  # the same inputs on both devices
        float32_walk.DEVICE["name"] = device
        try:
            out = CALLS[name]()
        finally:
            float32_walk.DEVICE["name"] = "cpu"
        assert out.device == device and out.dtype == np.float32
        out.backward(backend.array_module(out.array).ones(out.shape, dtype=np.float32))
        results[device] = (backend.to_device(out.array, "cpu"), [leaf.grad.array for leaf in _leaves(out)])
    (cpu_out, cpu_grads), (gpu_out, gpu_grads) = results["cpu"], results["cuda"]
    np.testing.assert_allclose(gpu_out, cpu_out, rtol=1e-4, atol=1e-5)
    for a, b in zip(gpu_grads, cpu_grads):  # the leaves live on the CPU: gradients came back across the move
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def _sgd(params):
    return optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=0.01)


def _train_state(device, steps=10, make_optimizer=_sgd, batch_norm=True):
    """A short training run on ``device``; its final parameters and buffers, in host memory."""
    cr.manual_seed(0)
    middle = nn.BatchNorm1d(16) if batch_norm else nn.Tanh()
    model = nn.Sequential(nn.Linear(8, 16), middle, nn.ReLU(), nn.Linear(16, 3)).to(device)
    opt = make_optimizer(model.parameters())
    x = cr.tensor(np.random.default_rng(0).standard_normal((32, 8))).to(device)
    y = cr.tensor(np.random.default_rng(1).integers(0, 3, 32)).to(device)
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    assert model.device == device
    return {k: backend.to_device(v, "cpu") for k, v in model.state_dict().items()}


@needs_gpu
def test_training_on_cuda_matches_cpu():
    cpu, gpu = _train_state("cpu"), _train_state("cuda")
    for key in cpu:
        np.testing.assert_allclose(gpu[key], cpu[key], rtol=1e-4, atol=1e-5, err_msg=key)


OPTIMIZERS = {  # on the GPU, SGD and Adam(W) run as fused kernels: each configuration against the CPU's passes
    "sgd": lambda p: optim.SGD(p, lr=0.1),
    "sgd-decay": lambda p: optim.SGD(p, lr=0.1, weight_decay=0.05),
    "momentum-dampening": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.3),
    "nesterov": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adam": lambda p: optim.Adam(p, lr=0.01),
    "adam-decay": lambda p: optim.Adam(p, lr=0.01, weight_decay=0.1),
    "adamw": lambda p: optim.AdamW(p, lr=0.01, weight_decay=0.1),
    "adagrad": lambda p: optim.Adagrad(p, lr=0.05),
    "rmsprop": lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
}


@needs_gpu
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_on_cuda_matches_cpu(name):
    # No BatchNorm here: it makes the gradient of the bias before it zero up to rounding, and the
    # adaptive optimizers scale that rounding noise up to steps of +-lr, differently on each device.
    cpu, gpu = (_train_state(device, make_optimizer=OPTIMIZERS[name], batch_norm=False) for device in ("cpu", "cuda"))
    for key in cpu:
        np.testing.assert_allclose(gpu[key], cpu[key], rtol=1e-4, atol=1e-5, err_msg=key)


@needs_gpu
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_on_cuda_matches_cpu(reduction, smoothing):
    logits = np.random.default_rng(0).standard_normal((6, 5)).astype(np.float32) * 10
    target = np.array([0, 4, 2, 2, 1, 3])
    results = []
    for device in ("cpu", "cuda"):
        x = cr.tensor(logits, requires_grad=True)
        loss = F.cross_entropy(
            x.to(device), cr.tensor(target).to(device), reduction=reduction, label_smoothing=smoothing
        )
        (
            loss * cr.tensor(np.arange(1, loss.array.size + 1, dtype=np.float32).reshape(loss.shape)).to(device)
        ).sum().backward()
        results.append((backend.to_device(loss.array, "cpu"), x.grad.array))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------- the same, on a stand-in GPU
@pytest.fixture
def fake_gpu(monkeypatch):
    from tests import fake_cupy

    return fake_cupy.install(monkeypatch)


@pytest.mark.parametrize("name", sorted(k for k, v in CALLS.items() if v is not None))
def test_every_op_runs_on_device_arrays_without_mixing_in_host_arrays(fake_gpu, name):
    float32_walk.rng = np.random.default_rng(9)
    float32_walk.DEVICE["name"] = "cuda"
    try:
        out = CALLS[name]()
    finally:
        float32_walk.DEVICE["name"] = "cpu"
    assert out.device == "cuda" and out.dtype == np.float32
    out.backward(fake_gpu.ones(out.shape, dtype=np.float32))
    leaves = _leaves(out)
    assert leaves and all(
        leaf.device == "cpu" and leaf.grad is not None and type(leaf.grad.array) is np.ndarray for leaf in leaves
    )


def test_training_on_a_device_matches_cpu(fake_gpu):
    cpu, device = _train_state("cpu"), _train_state("cuda")
    for key in cpu:
        np.testing.assert_allclose(device[key], cpu[key], rtol=1e-6, atol=1e-7, err_msg=key)


@pytest.mark.parametrize(
    "make",
    [
        lambda p: optim.Adam(p, weight_decay=0.01),
        lambda p: optim.AdamW(p),
        lambda p: optim.Adagrad(p),
        lambda p: optim.RMSprop(p, momentum=0.5, centered=True),
    ],
)
def test_optimizers_update_device_parameters(fake_gpu, make):
    model = nn.Linear(4, 2).to("cuda")
    opt = make(model.parameters())
    for _ in range(2):
        opt.zero_grad()
        model(cr.ones(3, 4).to("cuda")).sum().backward()
        opt.step()
    assert model.device == "cuda" and all(
        backend.is_device_array(v) for s in opt.state.values() for k, v in s.items() if hasattr(v, "shape")
    )


def test_fit_moves_batches_and_checkpoints_hold_host_arrays(fake_gpu, tmp_path):
    from chainrule.data import DataLoader, TensorDataset, synthetic
    from chainrule.train import evaluate, fit, load_checkpoint, save_checkpoint

    cr.manual_seed(0)
    X, y = synthetic.spiral(90, classes=3)
    model = nn.MLP(2, [16], 3, dropout=0.1).to("cuda")
    opt = optim.Adam(model.parameters(), lr=0.01)
    loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True, seed=0)
    history = fit(model, nn.CrossEntropyLoss(), opt, loader, loader, epochs=3)
    assert len(history) == 3 and "confusion" in evaluate(model, loader, nn.CrossEntropyLoss())
    save_checkpoint(str(tmp_path / "c.safetensors"), model, opt, {"epoch": 3})
    restored = nn.MLP(2, [16], 3, dropout=0.1).to("cuda")
    restored.load_state_dict(load_checkpoint(str(tmp_path / "c.safetensors")).model_state)
    assert restored.device == "cuda"


def test_mixing_devices_in_one_op_names_the_op_and_devices(fake_gpu):
    with pytest.raises(DeviceError, match=r"add: expected all inputs on one device, got cpu, cuda"):
        cr.ones(3) + cr.ones(3).to("cuda")
    with pytest.raises(DeviceError, match=r"cross_entropy: the target is on 'cpu' but the input is on 'cuda'"):
        F.cross_entropy(cr.ones(2, 3).to("cuda"), cr.tensor([0, 1]))


def test_constants_and_plain_targets_follow_the_tensor_to_the_device(fake_gpu):
    x = cr.tensor([[1.0, -2.0, 3.0]]).to("cuda")
    for out in (
        x - 2.0,
        2.0 - x,
        x * np.float32(3),
        x > 0,
        F.where(np.array([[True, False, True]]), x, 0.0),
        F.cross_entropy(x, [2]),
        F.cross_entropy(x, np.array([2])),
        F.mse_loss(x, [[0.0, 0.0, 0.0]]),
    ):
        assert out.device == "cuda", out
    np.testing.assert_allclose(backend.to_device((x - 2.0).array, "cpu"), [[-1.0, -4.0, 1.0]])
    two = np.asarray(np.float32(2.0))
    assert backend.device_constant(two) is backend.device_constant(two.copy())  # copied to the GPU once


def test_from_numpy_wraps_device_arrays_and_summary_runs_on_the_device(fake_gpu):
    array = fake_gpu.ones((2, 3), dtype=np.float32)
    assert cr.from_numpy(array).array is array
    model = nn.MLP(3, [4], 2).to("cuda")
    assert "Linear   (N, 2)" in model.summary(input_shape=(3,)) and model.device == "cuda"


def test_arrays_made_with_cupy_before_any_move_are_recognised(monkeypatch):
    from tests import fake_cupy

    cupy = fake_cupy.install(monkeypatch)
    monkeypatch.setattr(backend.device, "_cupy", None)  # as in a fresh process that imported CuPy itself
    array = cupy.ones((2, 2), dtype=np.float32)
    assert cr.from_numpy(array).device == "cuda" and cr.tensor(array).device == "cuda"
    assert backend.array_module(array) is cupy
