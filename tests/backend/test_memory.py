"""The array pool (backend/memory.py): large op outputs recycled once nothing else holds them."""

import os
import subprocess
import sys

import numpy as np
import torch

import chainrule as cr
from chainrule import nn
from chainrule.backend import memory
from chainrule.backend.memory import ArrayPool

SHAPE = (4, 64, 32, 32)  # 1 MB of float32: the pool's smallest size


def test_an_array_comes_back_only_when_nothing_else_holds_it():
    pool = ArrayPool()
    first = pool.empty(SHAPE, np.float32)
    assert first.shape == SHAPE and first.dtype == np.float32
    second = pool.empty(SHAPE, np.float32)
    assert not np.shares_memory(first, second)  # first is still held here
    address = first.ctypes.data
    view = first.T[1:]
    del first
    assert pool.empty(SHAPE, np.float32).ctypes.data != address  # a view holds its base
    shared = torch.from_numpy(view.base)
    del view
    assert pool.empty(SHAPE, np.float32).ctypes.data != address  # so does a torch tensor over it
    del shared
    again = pool.empty(SHAPE, np.float32)
    assert again.ctypes.data == address  # now only the pool held it: the same memory, handed out again
    assert pool.empty(SHAPE, np.float64).dtype == np.float64  # each dtype on its own


def test_small_arrays_and_a_switched_off_pool_come_from_numpy():
    pool = ArrayPool()
    small = pool.empty((16, 16), np.float32)
    del small
    assert pool.arrays == {} and pool.bytes == 0
    pool.enabled = False
    pool.empty(SHAPE, np.float32)
    assert pool.arrays == {}


def test_the_pool_stays_bounded():
    pool = ArrayPool(max_bytes=4 << 20, per_shape=3)
    held = [pool.empty(SHAPE, np.float32) for _ in range(4)]  # 4 in use: the oldest is no longer tracked
    assert len(pool.arrays[(SHAPE, np.dtype(np.float32))]) == 3 and pool.bytes == 3 << 20
    other_shape = (SHAPE[1], SHAPE[0], *SHAPE[2:])  # 1 MB too
    other = [pool.empty(other_shape, np.float32) for _ in range(2)]
    assert pool.bytes == 2 << 20  # over 4 MB: the least recently used shape went
    assert list(pool.arrays) == [(other_shape, np.dtype(np.float32))]
    pool.clear()
    assert pool.bytes == 0 and pool.arrays == {}
    held[0].fill(1.0)  # arrays in use stay valid, and the pool no longer knows them
    other[0].fill(2.0)
    assert held[0].min() == 1.0 and other[0].max() == 2.0


def test_one_shape_alone_stays_within_the_budget_and_huge_arrays_are_not_kept():
    pool = ArrayPool(max_bytes=4 << 20, per_shape=8)
    for _ in range(6):  # each freed at once, so one array serves them all...
        pool.empty(SHAPE, np.float32)
    assert pool.bytes == 1 << 20
    held = [pool.empty(SHAPE, np.float32) for _ in range(6)]  # ...and six in use at once: the pool keeps 4 MB of them
    assert pool.bytes <= 4 << 20 and len(pool.arrays[(SHAPE, np.dtype(np.float32))]) == 4
    huge = pool.empty((2, *SHAPE), np.float32)  # 2 MB, over a quarter of the budget
    assert huge.shape == (2, *SHAPE) and ((2, *SHAPE), np.dtype(np.float32)) not in pool.arrays
    assert len({a.ctypes.data for a in held}) == 6


def test_the_environment_switch_turns_it_off_and_no_gil_would():
    code = "from chainrule.backend import pool; print(pool.enabled)"
    env = dict(os.environ, CHAINRULE_ARRAY_POOL="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    gil = getattr(sys, "_is_gil_enabled", None)
    assert memory.pool.enabled == (os.environ.get("CHAINRULE_ARRAY_POOL", "1") != "0" and (gil is None or gil()))


def test_training_steps_never_write_over_a_tensor_still_held(kernel_path, monkeypatch):
    """A CNN's step recycles its large outputs and gradients from the step before; a tensor the user kept (an
    output, an activation with retain_grad, a gradient) keeps its values through later steps, and the steps
    compute what they compute with the pool switched off. On the NumPy path and on the kernels."""
    pool = ArrayPool(min_bytes=1 << 14)  # one that takes this small network's arrays too
    monkeypatch.setattr(memory, "pool", pool)
    handed_out, take = [], pool.empty

    def spy(shape, dtype):
        array = take(shape, dtype)
        handed_out.append(array.ctypes.data)
        return array

    monkeypatch.setattr(pool, "empty", spy)
    runs = []
    for enabled in (True, False):
        pool.enabled = enabled
        cr.manual_seed(0)
        model = nn.Sequential(
            nn.Conv2d(2, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(512, 3)
        )
        opt = cr.optim.SGD(model.parameters(), lr=0.1)
        x = cr.tensor(np.random.default_rng(0).standard_normal((8, 2, 16, 16)), dtype="float32")
        kept, copies = [], []
        for _ in range(4):
            opt.zero_grad()
            hidden = model[1](model[0](x))
            hidden.retain_grad()
            out = model[3](model[2](hidden))
            out.sum().backward()
            opt.step()
            kept.append((out, hidden, hidden.grad))
            copies.append([t.detach().numpy().copy() for t in kept[-1]])
        for tensors, values in zip(kept, copies):
            for tensor, value in zip(tensors, values):
                np.testing.assert_array_equal(tensor.detach().numpy(), value)
        runs.append(copies)
        if enabled:  # some of the step's arrays were handed out again
            assert len(set(handed_out)) < len(handed_out)
    for with_pool, without in zip(*runs):
        for a, b in zip(with_pool, without):
            np.testing.assert_array_equal(a, b)
