"""backend/fast.py is the one door to the faster kernels: ops and optimizers ask it and nothing else, and with the
kernels off every question is answered "no" so that the NumPy reference runs (the kernel_path fixture then runs
each op and optimizer test both ways: tests/ops, tests/optim, tests/backend/test_cpu.py)."""

import ast
import pathlib

import numpy as np
import pytest

from chainrule.backend import cpu, fast

SRC = pathlib.Path(__file__).resolve().parents[2] / "src" / "chainrule"


@pytest.mark.parametrize("floor", ["ops", "optim", "nn", "train", "explain", "app", "playground"])
def test_only_the_dispatch_reaches_the_kernels(floor):
    """No module above the backend imports backend/cpu.py or backend/kernels.py itself (train/distributed.py may
    set the kernels' thread count, a setting rather than a kernel)."""
    offenders = []
    for path in (SRC / floor).rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith("backend"):
                names = {a.name for a in node.names}
                if names & {"cpu", "kernels", "numba_kernels"} and path.name != "distributed.py":
                    offenders.append(f"{path.relative_to(SRC)}: {sorted(names & {'cpu', 'kernels'})}")
    assert not offenders, offenders


def test_with_the_kernels_off_every_question_is_answered_no():
    previous = cpu.set_fast_kernels(False)
    try:
        x = np.ones((4, 8), np.float32)
        v = np.zeros_like(x)
        target = np.zeros(4, np.int64)
        assert not fast.sgd_update(x, x, v, 0.1, 0.9, 0.0, 0.0, False, True)
        assert not fast.adam_update(x, x, v, v.copy(), 0.1, 0.9, 0.999, 1e-8, 1, 0.0)
        assert fast.softmax_cross_entropy(x, target, 0.0, "mean") is None
        assert fast.softmax_cross_entropy_backward(x, target, 0.0, np.float32(1)) is None
        assert fast.erf(x) is None
        assert fast.relu(x) is None
        assert fast.sum_rows(x) is None
        assert not fast.add_rows(x, x[0])
    finally:
        cpu.set_fast_kernels(previous)


@pytest.mark.skipif(not cpu.fast_kernels_available(), reason="Numba is not installed (pip install -e '.[fast]')")
def test_the_dispatched_optimizer_updates_equal_the_reference(monkeypatch):
    """SGD with momentum and Nesterov, Adam and AdamW: the one-pass kernels against the NumPy passes, 5 steps."""
    import chainrule as cr

    rng = np.random.default_rng(0)
    start = rng.standard_normal((64, 33)).astype(np.float32)
    grads = [rng.standard_normal((64, 33)).astype(np.float32) for _ in range(5)]
    makers = [
        lambda p: cr.optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        lambda p: cr.optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.1),
        lambda p: cr.optim.Adam([p], lr=0.01, weight_decay=0.01),
        lambda p: cr.optim.AdamW([p], lr=0.01, weight_decay=0.1),
    ]
    for make in makers:
        results = []
        for on in (False, True):
            previous = cpu.set_fast_kernels(on)
            try:
                p = cr.nn.Parameter(cr.tensor(start.copy()))
                opt = make(p)
                for g in grads:
                    p.grad = cr.tensor(g)
                    opt.step()
                results.append(p.detach().numpy().copy())
            finally:
                cpu.set_fast_kernels(previous)
        np.testing.assert_allclose(results[1], results[0], rtol=2e-6, atol=2e-7)
