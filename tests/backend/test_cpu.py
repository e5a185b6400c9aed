"""The multi-core CPU kernels (backend/cpu.py) against the NumPy reference path and PyTorch."""

import subprocess
import sys
import threading

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.functional as F
from chainrule.backend import cpu
from chainrule.backend import fast as backend_fast
from chainrule.ops.conv import MaxPool2d

numba_only = pytest.mark.skipif(not cpu.fast_kernels_available(), reason="Numba is not installed (pip '.[fast]')")


def _pool_both_ways(x: np.ndarray, grad: np.ndarray, monkeypatch):
    """(out, argmax, grad_input) of 2x2 max-pooling on the NumPy path and on the kernels."""
    monkeypatch.setattr(cpu, "MIN_SIZE", 0)
    results = []
    for fast in (False, True):
        previous = cpu.set_fast_kernels(fast)
        try:
            fn = MaxPool2d()
            out = fn.forward(x, (2, 2), (2, 2), (0, 0))
            results.append((out.copy(), fn.argmax.copy(), fn.backward(grad)))
        finally:
            cpu.set_fast_kernels(previous)
    return results


@numba_only
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1, 2, 2), (3, 5, 7, 9), (2, 4, 8, 6), (4, 2, 1, 5), (128, 3, 28, 28)])
def test_max_pool_kernel_equals_the_numpy_path(shape, dtype, monkeypatch):
    """Odd sizes (a last row or column no window covers), a height of 1 (no window at all), and both dtypes:
    the same output, the same argmax and the same gradient, bit for bit."""
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape).astype(dtype)
    grad = rng.standard_normal((shape[0], shape[1], shape[2] // 2, shape[3] // 2)).astype(dtype)
    (out0, arg0, g0), (out1, arg1, g1) = _pool_both_ways(x, grad, monkeypatch)
    assert out1.dtype == g1.dtype == dtype  # never upcast
    np.testing.assert_array_equal(out1, out0)
    np.testing.assert_array_equal(arg1, arg0)
    np.testing.assert_array_equal(g1, g0)


@numba_only
def test_max_pool_kernel_ties_and_infinities(monkeypatch):
    """Many equal values (ReLU's zeros), -inf and +inf (inf - inf is NaN in the kernel's NaN test)."""
    rng = np.random.default_rng(1)
    x = rng.integers(0, 2, (2, 3, 6, 8)).astype(np.float32)
    x[0, 0] = 0.0
    x[0, 1, :2, :2] = -np.inf
    x[1, 1, :2, :2] = [[np.inf, -np.inf], [np.inf, 1.0]]
    grad = rng.standard_normal((2, 3, 3, 4)).astype(np.float32)
    (out0, arg0, g0), (out1, arg1, g1) = _pool_both_ways(x, grad, monkeypatch)
    np.testing.assert_array_equal(out1, out0)
    np.testing.assert_array_equal(arg1, arg0)
    np.testing.assert_array_equal(g1, g0)
    theirs = torch.tensor(x, requires_grad=True)
    torch.nn.functional.max_pool2d(theirs, 2).backward(torch.tensor(grad))
    np.testing.assert_array_equal(g1, theirs.grad.numpy())


@numba_only
def test_max_pool_kernel_propagates_nan_as_pytorch(monkeypatch):
    """A window holding a NaN gives NaN, and its gradient goes to the NaN, as in PyTorch."""
    monkeypatch.setattr(cpu, "MIN_SIZE", 0)
    x = np.arange(2 * 2 * 4 * 4, dtype=np.float32).reshape(2, 2, 4, 4)
    x[0, 0, 1, 0] = np.nan
    x[1, 1, 2, 3] = np.nan
    ours = cr.tensor(x, requires_grad=True)
    out = F.max_pool2d(ours, 2)
    out.sum().backward()
    theirs = torch.tensor(x, requires_grad=True)
    expected = torch.nn.functional.max_pool2d(theirs, 2)
    expected.sum().backward()
    np.testing.assert_array_equal(out.detach().numpy(), expected.detach().numpy())  # NaN where PyTorch has NaN
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


@numba_only
def test_max_pool_kernel_reads_any_layout(monkeypatch):
    """A strided view (every other channel, a transposed batch) gives what its contiguous copy gives."""
    monkeypatch.setattr(cpu, "MIN_SIZE", 0)
    x = np.random.default_rng(2).standard_normal((6, 4, 10, 10)).astype(np.float32)
    view = x.transpose(1, 0, 2, 3)[:, ::2]
    np.testing.assert_array_equal(
        F.max_pool2d(cr.from_numpy(view), 2).numpy(),
        F.max_pool2d(cr.from_numpy(np.ascontiguousarray(view)), 2).numpy(),
    )


@numba_only
def test_two_threads_share_the_kernels_safely(monkeypatch):
    """Numba's workqueue threads serve one caller at a time; two Python threads pooling at once both get
    right answers (the second waits)."""
    monkeypatch.setattr(cpu, "MIN_SIZE", 0)
    rng = np.random.default_rng(3)
    inputs = [rng.standard_normal((16, 8, 32, 32)).astype(np.float32) for _ in range(2)]
    expected = [x.reshape(16, 8, 16, 2, 16, 2).max(axis=(3, 5)) for x in inputs]
    errors = []

    def work(i):
        try:
            for _ in range(20):
                np.testing.assert_array_equal(F.max_pool2d(cr.from_numpy(inputs[i]), 2).numpy(), expected[i])
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_small_arrays_and_the_switch_take_the_numpy_path():
    x = np.zeros((1, 1, 4, 4), np.float32)
    assert cpu.max_pool_2x2(x) is None  # 16 elements: below MIN_SIZE, not worth waking threads
    big = np.zeros((4, 8, 64, 64), np.float32)
    previous = cpu.set_fast_kernels(False)
    try:
        assert cpu.max_pool_2x2(big) is None
        assert cpu.fast_kernels_enabled() is False
    finally:
        cpu.set_fast_kernels(previous)
    assert cpu.max_pool_2x2(big.astype(np.int32)) is None  # integers: NumPy's path


def test_the_environment_switch_and_a_missing_numba_fall_back_to_numpy():
    """CHAINRULE_NUMBA=0 switches the kernels off; without Numba importable they report unavailable and
    pooling still works, on NumPy."""
    code = (
        "import sys, numpy as np\n"
        "from chainrule.backend import cpu\n"
        "import chainrule.functional as F, chainrule as cr\n"
        "x = np.random.default_rng(0).standard_normal((64, 16, 32, 32)).astype(np.float32)\n"
        "assert cpu.max_pool_2x2(x) is None, 'kernel ran'\n"
        "out = F.max_pool2d(cr.from_numpy(x), 2).numpy()\n"
        "assert np.array_equal(out, x.reshape(64, 16, 16, 2, 16, 2).max(axis=(3, 5)))\n"
        "print(cpu.fast_kernels_available(), cpu.fast_kernels_enabled())\n"
    )
    off = subprocess.run(
        [sys.executable, "-c", code], env={**_env(), "CHAINRULE_NUMBA": "0"}, capture_output=True, text=True
    )
    assert off.returncode == 0, off.stderr
    assert off.stdout.split()[1] == "False"
    # a Numba that cannot be imported: a module named numba that raises ImportError, first on the path
    blocked = subprocess.run(
        [sys.executable, "-c", "import sys; sys.modules['numba'] = None\n" + code],
        env=_env(),
        capture_output=True,
        text=True,
    )
    assert blocked.returncode == 0, blocked.stderr
    assert blocked.stdout.split() == ["False", "False"]


def _env():
    import os

    return {k: v for k, v in os.environ.items() if k != "CHAINRULE_NUMBA"}


@numba_only
@pytest.mark.parametrize("dtype, rtol", [("float32", 2e-6), ("float64", 1e-13)])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_kernel_equals_the_numpy_path_and_pytorch(dtype, rtol, smoothing, reduction):
    """Large logits (the max shift keeps exp finite), label smoothing and every reduction ('none' keeps a
    scale per row, so its backward stays on NumPy)."""
    rng = np.random.default_rng(7)
    logits = rng.standard_normal((64, 10)) * 3
    logits[0] = [1e4, -1e4, 0, 0, 0, 0, 0, 0, 0, 0]
    target = rng.integers(0, 10, 64)
    results = []
    for fast in (False, True):
        previous = cpu.set_fast_kernels(fast)
        try:
            x = cr.tensor(logits, dtype=dtype, requires_grad=True)
            loss = F.cross_entropy(x, cr.tensor(target), reduction=reduction, label_smoothing=smoothing)
            loss.sum().backward() if reduction == "none" else loss.backward()
            assert loss.dtype == x.grad.dtype == dtype
            results.append((loss.detach().numpy(), x.grad.numpy()))
        finally:
            cpu.set_fast_kernels(previous)
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=rtol, atol=rtol)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=rtol, atol=rtol)
    theirs = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(
        theirs, torch.tensor(target), reduction=reduction, label_smoothing=smoothing
    )
    expected.sum().backward() if reduction == "none" else expected.backward()
    np.testing.assert_allclose(results[1][0], expected.detach().numpy(), rtol=max(rtol, 1e-12), atol=rtol * 10)
    np.testing.assert_allclose(results[1][1], theirs.grad.numpy(), rtol=max(rtol, 1e-12), atol=rtol * 10)


@numba_only
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows", [1, 7, 8, 9, 128, 129, 300, 1000, 4097])
def test_cross_entropy_kernel_reduces_as_numpy_sums(rows, dtype):
    """The kernel's mean and sum are NumPy's sum of its per-row losses to the bit (pairwise in blocks of at most
    128, eight running sums in each), divided by the rows for the mean; all-zero losses give +0.0 as NumPy's."""
    rng = np.random.default_rng(rows)
    logits = (rng.standard_normal((rows, 5)) * 10 ** rng.uniform(-2, 2, (rows, 1))).astype(dtype)
    target = cr.tensor(rng.integers(0, 5, rows))
    x = cr.from_numpy(logits)
    losses = F.cross_entropy(x, target, reduction="none").numpy()
    for reduction, expected in (("sum", np.add.reduce(losses)), ("mean", np.add.reduce(losses) / rows)):
        loss = F.cross_entropy(x, target, reduction=reduction).numpy()
        assert loss.shape == () and loss.dtype == dtype
        assert loss.tobytes() == np.asarray(expected, dtype).tobytes()
    certain = np.zeros((rows, 5), dtype)
    certain[np.arange(rows), target.numpy()] = 1e4  # every row's loss is exactly 0
    assert F.cross_entropy(cr.from_numpy(certain), target, reduction="sum").numpy().tobytes() == dtype(0).tobytes()


@numba_only
def test_cross_entropy_of_no_rows():
    empty = cr.from_numpy(np.zeros((0, 3), np.float32))
    with pytest.warns(RuntimeWarning):
        assert np.isnan(F.cross_entropy(empty, cr.tensor(np.zeros(0, np.int64))).item())
    assert F.cross_entropy(empty, cr.tensor(np.zeros(0, np.int64)), reduction="sum").item() == 0


@numba_only
def test_cross_entropy_kernel_gives_nan_for_a_nan_logit():
    logits = np.zeros((3, 4), np.float32)
    logits[1, 2] = np.nan
    loss = F.cross_entropy(cr.from_numpy(logits), cr.tensor([0, 1, 2]), reduction="none").numpy()
    assert np.isnan(loss[1]) and np.isfinite(loss[[0, 2]]).all()


@numba_only
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "strided"])
def test_relu_backward_kernel_equals_the_numpy_path(layout, monkeypatch):
    """In the layout a convolution hands on ((N, C, H, W) over (C, N, H, W) memory), contiguous, and a strided
    view the kernel declines; zeros in y (the derivative there is 0, as in PyTorch)."""
    monkeypatch.setattr(cpu, "RELU_MIN_SIZE", 0)
    rng = np.random.default_rng(4)
    base = rng.standard_normal((6, 5, 7, 8)).astype(np.float32)
    base[0, 0] = 0.0
    view = {
        "contiguous": lambda a: a,
        "transposed": lambda a: a.transpose(1, 0, 2, 3),
        "strided": lambda a: a[:, :, ::2],
    }
    y = view[layout](np.maximum(base, 0))
    grad = view[layout](rng.standard_normal(base.shape).astype(np.float32))
    fast = cpu.relu_backward(grad, y)
    if layout == "strided":
        assert fast is None  # not one block of memory: NumPy's path
        return
    assert fast.strides == grad.strides
    np.testing.assert_array_equal(fast, grad * (y > 0))
    assert cpu.relu_backward(grad, np.ascontiguousarray(y) if layout == "transposed" else y.T.copy().T) is None


@numba_only
def test_relu_kernel_on_a_cropped_convolution_output(monkeypatch):
    """A stride-1 convolution hands on a view with gaps (its rows computed wide, then cropped): the kernel
    writes a dense array in the same axis order, equal to np.maximum."""
    monkeypatch.setattr(cpu, "RELU_MIN_SIZE", 0)
    wide = np.random.default_rng(8).standard_normal((4, 3, 5, 9)).astype(np.float32)  # (O, N, Ho, Wp)
    x = wide[..., :7].transpose(1, 0, 2, 3)  # (N, O, Ho, Wo), as Conv2d.forward returns it
    y = cpu.relu(x)
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    assert y.transpose(1, 0, 2, 3).flags.c_contiguous  # dense, channel-major like its input
    out = F.relu(F.conv2d(cr.ones(2, 3, 6, 6), cr.ones(4, 3, 3, 3) * -0.1 + 0.05, padding=1))
    expected = torch.relu(
        torch.nn.functional.conv2d(torch.ones(2, 3, 6, 6), torch.ones(4, 3, 3, 3) * -0.1 + 0.05, padding=1)
    )
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6)


def test_importing_chainrule_does_not_import_numba():
    """Numba takes about half a second to import: only the first kernel call pays it."""
    code = (
        "import sys, chainrule as cr\n"
        "from chainrule import nn\n"
        "model = nn.Sequential(nn.Linear(4, 3), nn.ReLU())\n"
        "model(cr.ones(2, 4)).sum().backward()\n"
        "print('numba' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@numba_only
def test_set_num_threads_limits_the_pooling_threads(monkeypatch):
    """MPI ranks sharing a machine split its cores (train/distributed.py): the pooling kernels then run on
    the threads asked for, with the same result."""
    import numba

    monkeypatch.setattr(cpu, "MIN_SIZE", 0)
    monkeypatch.setitem(cpu._state, "threads", None)
    x = np.random.default_rng(9).standard_normal((4, 8, 16, 16)).astype(np.float32)
    expected = F.max_pool2d(cr.from_numpy(x), 2).numpy()
    cpu.set_num_threads(1)
    try:
        np.testing.assert_array_equal(F.max_pool2d(cr.from_numpy(x), 2).numpy(), expected)
        assert numba.get_num_threads() == 1
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


@numba_only
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 7), (128, 256), (1000, 33), (3, 1)])
def test_bias_row_kernels_equal_numpy_to_the_bit(shape, dtype, monkeypatch):
    """A bias added to a batch, and its gradient summed over the batch: the kernels do NumPy's additions in
    NumPy's order, so the same bits; a non-contiguous array or a 1-D one takes the NumPy path."""
    monkeypatch.setattr(cpu, "SUM_MIN_SIZE", 0)
    a = np.random.default_rng(sum(shape)).standard_normal(shape).astype(dtype)
    bias = np.random.default_rng(1).standard_normal(shape[1]).astype(dtype)
    added = a.copy()
    assert cpu.add_rows(added, bias)
    np.testing.assert_array_equal(added, a + bias)
    assert not cpu.add_rows(a.copy(), bias[:1] if shape[1] > 1 else np.zeros(2, dtype))  # not the row's width
    out = cpu.sum_rows(a)
    assert out.dtype == dtype and out.shape == (shape[1],)
    np.testing.assert_array_equal(out, a.sum(axis=0))
    assert cpu.sum_rows(np.asfortranarray(a)) is None or shape[0] == 1 or shape[1] == 1
    assert cpu.sum_rows(a[0]) is None
    x = cr.tensor(a, requires_grad=True, dtype=dtype)
    b = cr.tensor(np.zeros(shape[1]), requires_grad=True, dtype=dtype)
    (x + b).backward(cr.tensor(a, dtype=dtype))  # sum_to of a broadcast bias takes the kernel too
    np.testing.assert_array_equal(b.grad.array, a.sum(axis=0))


@numba_only
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "padding, kernel, layout",
    [(1, (3, 3), "nchw"), (0, (3, 3), "channel-major"), ((2, 1), (3, 2), "nchw"), (2, (5, 5), "channel-major")],
)
def test_wide_conv_kernels_equal_numpy_to_the_bit(padding, kernel, layout, dtype, monkeypatch):
    """A stride-1 convolution's wide im2col and col2im: the kernels copy and add NumPy's runs in NumPy's order,
    so its output and all three gradients have the same bits; in blocks of 3 images of 7 (the last one shorter),
    from an input laid out (N, C, H, W) or channel-major (a max-pool's output is)."""
    from chainrule.backend import conv
    from chainrule.ops.unfold import pair

    monkeypatch.setattr(cpu, "RELU_MIN_SIZE", 0)
    rng = np.random.default_rng(11)
    x = rng.standard_normal((7, 4, 9, 8)).astype(dtype)
    if layout == "channel-major":
        x = np.ascontiguousarray(x.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)
    weight = rng.standard_normal((5, 4, *kernel)).astype(dtype)
    bias = rng.standard_normal(5).astype(dtype)
    taken = []  # what each kernel call answered: True where the kernel did the work

    def spy(kernel):
        return lambda *args: taken.append((kernel.__name__, kernel(*args))) or taken[-1][1]

    monkeypatch.setattr(cpu, "im2col_wide", spy(cpu.im2col_wide))
    monkeypatch.setattr(cpu, "col2im_wide", spy(cpu.col2im_wide))
    results = []
    for fast in (False, True):
        out_w = 8 + 2 * pair(padding, "padding", "test")[1]
        ho = 9 + 2 * pair(padding, "padding", "test")[0] - kernel[0] + 1
        per_image = (kernel[0] * kernel[1] * 4 + 1) * ho * out_w * x.itemsize  # one image's im2col matrix
        monkeypatch.setattr(conv, "BLOCK_BYTES", 3 * per_image)  # blocks of 3, 3 and 1 images
        previous = cpu.set_fast_kernels(fast)
        try:
            pad = pair(padding, "padding", "test")
            fn = conv.BlockedConv2d(x, weight, bias, (1, 1), pad)
            out = fn.output
            assert fn.geometry[-1] != fn.geometry[-2][1], "expected the wide layout"
            grad = rng.standard_normal(out.shape).astype(dtype) if not fast else results[0][1]
            results.append((out.copy(), grad, *fn.backward(grad, (True, True, True))))
        finally:
            cpu.set_fast_kernels(previous)
    # each path made the same calls (im2col forward and backward, col2im backward, a block each, the last
    # shorter): the NumPy path's were all declined, the kernels' all taken
    calls = [name for name, _ in taken]
    assert calls[: len(calls) // 2] == calls[len(calls) // 2 :] and calls.count("col2im_wide") == 6
    assert [answer for _, answer in taken] == [False] * (len(calls) // 2) + [True] * (len(calls) // 2)
    for reference, fast in zip(results[0], results[1]):
        assert fast.dtype == dtype
        np.testing.assert_array_equal(fast, reference)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(weight, requires_grad=True)
    tb = torch.tensor(bias, requires_grad=True)
    tout = torch.nn.functional.conv2d(tx, tw, tb, padding=pair(padding, "padding", "test"))
    tout.backward(torch.tensor(results[0][1]))
    tolerance = {"rtol": 1e-4, "atol": 1e-4} if dtype == np.float32 else {"rtol": 1e-10}
    np.testing.assert_allclose(results[1][0], tout.detach().numpy(), **tolerance)
    for ours, theirs in zip(results[1][2:], (tx, tw, tb)):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), **tolerance)


@numba_only
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m, n", [(256, 784), (1000, 16), (33, 40), (1, 1024)])
def test_outer_kernel_equals_numpy(m, n, dtype):
    """A product whose inner dimension is 1: the kernel makes each a_i b_j once, as NumPy's broadcast multiply
    (the same bits, from strided views too) and matmul (the same values; matmul's own loop adds the product to
    +0, so a -0 product comes out +0 there and -0 here)."""
    rng = np.random.default_rng(m + n)
    a = rng.standard_normal((1, m)).astype(dtype).T  # a transposed row, as a batch-1 gradient dy^T
    b = rng.standard_normal((3, n)).astype(dtype)[1:2]  # a row of a larger array
    a[0, 0], b[0, 0] = -1.0, 0.0
    out = cpu.outer(a, b)
    assert out.dtype == dtype and out.shape == (m, n) and out.flags.c_contiguous
    assert out.tobytes() == np.multiply(a, b).tobytes()
    np.testing.assert_array_equal(out, a @ b)
    assert cpu.outer(a[:2], b[:, :2]) is None  # small: NumPy
    assert cpu.outer(np.ones((m, 2), dtype), np.ones((2, n), dtype)) is None  # an inner dimension of 2: BLAS


@pytest.mark.parametrize("features", [(784, 256, 10), (1, 64, 1)])
def test_products_with_an_inner_dimension_of_one_match_pytorch(features, kernel_path, monkeypatch):
    """Batch-1 SGD (every weight gradient an outer product), a one-feature input and a one-output layer: a
    Linear stack's output and gradients equal PyTorch's on the kernel path and on NumPy's, and so do matmul's,
    2-D and batched."""
    calls = []
    monkeypatch.setattr(backend_fast, "outer", lambda a, b, real=cpu.outer: calls.append(a.shape) or real(a, b))
    n_in, hidden, n_out = features
    rng = np.random.default_rng(n_in)
    shapes = ((hidden, n_in), (n_out, hidden))
    w1, w2 = ((rng.standard_normal(s) / np.sqrt(s[1])).astype(np.float32) for s in shapes)
    x = rng.standard_normal((1, n_in)).astype(np.float32)
    params = [cr.tensor(w, requires_grad=True) for w in (w1, w2)]
    out = F.linear(F.relu(F.linear(cr.tensor(x), params[0])), params[1])
    (out * out).sum().backward()
    tparams = [torch.tensor(w, requires_grad=True) for w in (w1, w2)]
    tlinear = torch.nn.functional.linear
    tout = tlinear(torch.relu(tlinear(torch.tensor(x), tparams[0])), tparams[1])
    (tout * tout).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-4, atol=1e-6)
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-6)
    a_np, b_np = rng.standard_normal((300, 1)).astype(np.float32), rng.standard_normal((1, 50)).astype(np.float32)
    a, b = cr.tensor(a_np, requires_grad=True), cr.tensor(b_np, requires_grad=True)
    (a @ b).sum().backward()
    ta, tb = torch.tensor(a_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)
    (ta @ tb).sum().backward()
    np.testing.assert_allclose((a @ b).detach().numpy(), (ta @ tb).detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-5)
    # batched, with a broadcast batch axis, and a vector on the right (no outer product: NumPy's matmul)
    for sa, sb in (((4, 30, 1), (4, 1, 20)), ((3, 1, 30, 1), (5, 1, 20)), ((30, 1), (1,))):
        a_np, b_np = rng.standard_normal(sa).astype(np.float32), rng.standard_normal(sb).astype(np.float32)
        a, b = cr.tensor(a_np, requires_grad=True), cr.tensor(b_np, requires_grad=True)
        ta, tb = torch.tensor(a_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)
        out, tout = a @ b, ta @ tb
        assert out.shape == tuple(tout.shape)
        (out * out).sum().backward()
        (tout * tout).sum().backward()
        np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-5, atol=1e-6)
    if kernel_path == "numba":
        assert calls  # the products with an inner dimension of 1 went to the kernel


@numba_only
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_erf_kernel_equals_the_python_path_to_the_bit(dtype):
    """GELU's error function: the compiled pass and one math.erf call per element give the same numbers, for
    a transposed view too."""
    import math

    x = np.random.default_rng(3).standard_normal((7, 9)).astype(dtype) * 3
    for array in (x, x.T):
        reference = np.asarray(np.frompyfunc(math.erf, 1, 1)(array), dtype=dtype)
        fast = cpu.erf(array)
        assert fast.dtype == dtype and fast.shape == array.shape
        np.testing.assert_array_equal(fast, reference)
