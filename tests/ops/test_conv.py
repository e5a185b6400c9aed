import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.functional as F
from chainrule.errors import ShapeError
from tests.oracle import check_op

rng = np.random.default_rng(6)

# every test here runs on the NumPy path and on the Numba kernels (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("kernel_path")


@pytest.mark.parametrize(
    "stride, padding, kernel", [(1, 0, 3), (1, 1, 3), (2, 1, 3), (2, 0, 2), ((1, 2), (0, 1), (3, 2))]
)
def test_conv2d_matches_pytorch(stride, padding, kernel):
    k = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    x, w, b = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, *k)), rng.standard_normal(4)
    check_op(
        lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding),
        lambda x, w, b: TF.conv2d(x, w, b, stride=stride, padding=padding),
        x,
        w,
        b,
        gradcheck=False,
    )
    small = rng.standard_normal((1, 2, 5, 4)), rng.standard_normal((2, 2, *k))
    assert cr.gradcheck(
        lambda x, w: F.conv2d(x, w, stride=stride, padding=padding),
        [cr.tensor(a, dtype="float64", requires_grad=True) for a in small],
    )


@pytest.mark.parametrize("kernel, stride, padding", [(2, None, 0), (3, 2, 1), (3, 1, 0), (2, 1, 1)])
@pytest.mark.parametrize("pool", ["max", "avg"])
def test_pooling_matches_pytorch(pool, kernel, stride, padding):
    x = rng.standard_normal((2, 3, 8, 6))
    ours = getattr(F, f"{pool}_pool2d")
    theirs = getattr(TF, f"{pool}_pool2d")
    check_op(lambda t: ours(t, kernel, stride, padding), lambda t: theirs(t, kernel, stride, padding), x)


def test_conv_errors():
    with pytest.raises(ShapeError, match="4-D"):
        F.conv2d(cr.ones(3, 8, 8), cr.ones(2, 3, 3, 3))
    with pytest.raises(ShapeError, match="channels"):
        F.conv2d(cr.ones(1, 2, 8, 8), cr.ones(2, 3, 3, 3))


def test_two_live_graphs_do_not_share_im2col_buffers():
    # im2col matrices come from a reusable workspace; graphs alive at once must each keep their own
    x1, x2 = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((2, 3, 6, 6))
    w = cr.tensor(rng.standard_normal((4, 3, 3, 3)), dtype="float64", requires_grad=True)
    loss1 = F.conv2d(cr.tensor(x1, dtype="float64"), w, padding=1).sum()
    loss2 = (F.conv2d(cr.tensor(x2, dtype="float64"), w, padding=1) ** 2).sum()
    loss1.backward()
    grad1 = w.grad.clone()
    w.grad = None
    loss2.backward()
    tw = torch.tensor(w.array, requires_grad=True)
    TF.conv2d(torch.tensor(x1), tw, padding=1).sum().backward()
    np.testing.assert_allclose(grad1, tw.grad.numpy(), rtol=1e-10)
    tw.grad = None
    (TF.conv2d(torch.tensor(x2), tw, padding=1) ** 2).sum().backward()
    np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=1e-10)


def test_keep_freed_memory_is_available_on_linux():
    import sys

    if sys.platform.startswith("linux"):
        assert cr.backend.keep_freed_memory() is True


@pytest.mark.parametrize("kernel", [2, 3, (2, 3)])
def test_tiled_max_pool_sends_ties_to_the_first_maximum_as_pytorch(kernel):
    """Windows that tile the input take the fast path; with many equal values (ReLU's zeros, small integers)
    each window's gradient must still go to its first maximum, row by row, as in PyTorch."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, (2, 3, 6, 12)).astype(np.float64)
    x[0, 0] = 0.0  # a whole plane of ties
    g = rng.normal(
        size=(
            2,
            3,
            6 // (kernel if isinstance(kernel, int) else kernel[0]),
            12 // (kernel if isinstance(kernel, int) else kernel[1]),
        )
    )
    ours = cr.tensor(x, requires_grad=True, dtype=cr.float64)
    out = F.max_pool2d(ours, kernel)
    out.backward(cr.tensor(g, dtype=cr.float64))
    theirs = torch.tensor(x, requires_grad=True)
    expected = torch.nn.functional.max_pool2d(theirs, kernel)
    expected.backward(torch.tensor(g))
    np.testing.assert_array_equal(out.detach().numpy(), expected.detach().numpy())
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


def test_conv_bias_must_match_the_weight():
    """The bias rides in the im2col product as a column of W, so its shape and dtype are checked up front."""
    x, w = cr.ones(1, 3, 5, 5), cr.ones(4, 3, 3, 3)
    with pytest.raises(ShapeError, match=r"conv2d: expected a bias of shape \(4,\), one per output channel"):
        F.conv2d(x, w, cr.ones(3))
    with pytest.raises(TypeError, match="conv2d: weight is float32 but bias is float64"):
        F.conv2d(x, w, cr.ones(4, dtype="float64"))


def test_conv_bias_gradient_with_a_frozen_weight():
    """db without dW (a frozen weight): the row sums of dY, as PyTorch."""
    x, w, b = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    bias = cr.tensor(b, dtype="float64", requires_grad=True)
    (F.conv2d(cr.tensor(x, dtype="float64"), cr.tensor(w, dtype="float64"), bias, padding=1) ** 2).sum().backward()
    tb = torch.tensor(b, requires_grad=True)
    (TF.conv2d(torch.tensor(x), torch.tensor(w), tb, padding=1) ** 2).sum().backward()
    np.testing.assert_allclose(bias.grad.numpy(), tb.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("block_bytes", [1, 3000, 1 << 30])
@pytest.mark.parametrize("stride, padding, bias", [(1, 1, True), (2, 1, False), (1, 0, True)])
def test_conv_in_blocks_of_images_matches_pytorch(block_bytes, stride, padding, bias, monkeypatch):
    """im2col runs a few images at a time (backend/conv.py BLOCK_BYTES): one image per block, blocks that do not
    divide the batch (5 images), and the whole batch in one block all give PyTorch's output and gradients."""
    from chainrule.backend import conv

    monkeypatch.setattr(conv, "BLOCK_BYTES", block_bytes)
    x, w, b = rng.standard_normal((5, 3, 7, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    check_op(
        (lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding))
        if bias
        else (lambda x, w: F.conv2d(x, w, stride=stride, padding=padding)),
        (lambda x, w, b: TF.conv2d(x, w, b, stride=stride, padding=padding))
        if bias
        else (lambda x, w: TF.conv2d(x, w, stride=stride, padding=padding)),
        *((x, w, b) if bias else (x, w)),
        gradcheck=False,
    )


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("stride, padding, needs_x", [(1, 1, True), (2, 1, True), (1, 0, False)])
def test_conv_blocks_spread_over_threads_match_pytorch(threads, stride, padding, needs_x, monkeypatch):
    """chainrule's own threads (backend/threads.py's ("own", n)): each thread takes every n-th block of images with
    its own buffers and [dW db] sum; 7 images in blocks of 2 (4 blocks, a short one last) over 2 and 3 threads give
    PyTorch's output and gradients, with and without the input's gradient."""
    from chainrule.backend import conv

    x, w, b = rng.standard_normal((7, 3, 7, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    ho = (7 + 2 * padding - 3) // stride + 1
    wide = 6 + 2 * padding if stride == 1 else (6 + 2 * padding - 3) // stride + 1
    monkeypatch.setattr(conv, "BLOCK_BYTES", 2 * 28 * ho * wide * 8)  # two float64 images' matrix per block
    monkeypatch.setitem(conv._threads, "blocks", threads)
    ours = (lambda x, w, b: F.conv2d(x, w, b, stride=stride, padding=padding)) if needs_x else None
    if needs_x:
        check_op(ours, lambda x, w, b: TF.conv2d(x, w, b, stride=stride, padding=padding), x, w, b, gradcheck=False)
    else:  # a first layer: only the weight's and bias's gradients
        tw, tb = (cr.tensor(a, dtype="float64", requires_grad=True) for a in (w, b))
        F.conv2d(cr.tensor(x, dtype="float64"), tw, tb, stride=stride, padding=padding).sum().backward()
        pw, pb = torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)
        TF.conv2d(torch.tensor(x), pw, pb, stride=stride, padding=padding).sum().backward()
        np.testing.assert_allclose(tw.grad.numpy(), pw.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(tb.grad.numpy(), pb.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("out_channels", [4, 40])
def test_conv_weight_gradient_in_either_orientation_matches_pytorch(out_channels):
    """The blocked form sums [dW db] as its transpose when W has more columns (C*kh*kw + 1 = 28) than rows
    (4 output channels), and as it is otherwise (40): both give PyTorch's gradients."""
    x, w, b = (
        rng.standard_normal((3, 3, 6, 5)),
        rng.standard_normal((out_channels, 3, 3, 3)),
        rng.standard_normal(out_channels),
    )
    check_op(
        lambda x, w, b: F.conv2d(x, w, b, padding=1),
        lambda x, w, b: TF.conv2d(x, w, b, padding=1),
        x,
        w,
        b,
        gradcheck=False,
    )


@pytest.mark.parametrize("shape", [(2, 3, 8, 6), (2, 3, 7, 9)])
def test_max_pool_output_has_pytorchs_memory_order(shape):
    """max_pool2d's output lies in memory as (N, C, H, W), as PyTorch's does, so that a Flatten after it is a view
    of it rather than a copy (on every path)."""
    x = cr.tensor(rng.standard_normal(shape), dtype="float32", requires_grad=True)
    y = F.max_pool2d(x, 2)
    assert y.detach().numpy().flags.c_contiguous
    flat = y.flatten(1)
    assert np.shares_memory(flat.detach().numpy(), y.detach().numpy())
    flat.sum().backward()
    expected = TF.max_pool2d(torch.tensor(x.detach().numpy(), requires_grad=True), 2)
    np.testing.assert_array_equal(y.detach().numpy(), expected.detach().numpy())


def test_conv_backward_sees_an_input_modified_in_place():
    """Backward rebuilds im2col from the saved input, so writing into the input after the forward is refused,
    as for any op that saved it."""
    x = cr.ones(2, 3, 5, 5, requires_grad=True) * 1.0
    y = F.conv2d(x, cr.ones(2, 3, 3, 3, requires_grad=True), padding=1)
    x.add_(1.0)
    with pytest.raises(cr.errors.GraphError, match="conv2d.*modified by an in-place operation"):
        y.sum().backward()


@pytest.mark.parametrize("kernel, stride", [(2, 2), (3, 2), (3, 1)])
def test_max_pool_sends_a_nan_windows_gradient_to_the_nan_as_pytorch(kernel, stride, kernel_path):
    """NaN anywhere in a window (first, last, two of them, beside +inf): the output is NaN and the gradient
    goes where PyTorch sends it (its last NaN), on the NumPy path as on the kernels."""
    x = np.arange(2 * 2 * 7 * 7, dtype=np.float32).reshape(2, 2, 7, 7)
    x[0, 0, 1, 0] = np.nan
    x[0, 1, 0, 0] = x[0, 1, 1, 1] = np.nan
    x[1, 0, 4, 4] = np.nan
    x[1, 0, 4, 5] = np.inf
    x[1, 1, 6, 6] = np.nan
    ours = cr.tensor(x, requires_grad=True)
    out = F.max_pool2d(ours, kernel, stride)
    grad = np.random.default_rng(3).standard_normal(out.shape).astype(np.float32)
    out.backward(grad)
    theirs = torch.tensor(x, requires_grad=True)
    expected = torch.nn.functional.max_pool2d(theirs, kernel, stride)
    expected.backward(torch.tensor(grad))
    np.testing.assert_array_equal(out.array, expected.detach().numpy())
    # (overlapping windows add their gradients, in another order than PyTorch's: a last bit may differ)
    np.testing.assert_allclose(ours.grad.array, theirs.grad.numpy(), rtol=1e-6, atol=0)


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize(
    "channels, kernel, padding, bias",
    [
        (1, (3, 3), 1, True),
        (1, (3, 3), 0, False),
        (2, (3, 3), (2, 1), True),
        (1, (5, 5), 2, True),
        (1, (3, 2), 1, True),
    ],
)
def test_few_input_channels_match_pytorch(channels, kernel, padding, bias, threads, kernel_path, monkeypatch):
    """A first layer (fewer im2col rows than output channels, stride 1) runs straight from its padded planes on
    the Numba path (backend/direct_conv.py): output, input, weight and bias gradients equal PyTorch's, for 3x3
    (its nine runs in one loop) and other kernels, 7 images shared out over 1 and 3 threads, and 27 output
    channels (four at a time, three left over)."""
    from chainrule.backend import conv, direct_conv

    monkeypatch.setitem(conv._threads, "blocks", threads)
    made, init = [], direct_conv.DirectConv2d.__init__
    monkeypatch.setattr(direct_conv.DirectConv2d, "__init__", lambda self, *a: made.append(1) or init(self, *a))
    x, w = rng.standard_normal((7, channels, 9, 8)), rng.standard_normal((27, channels, *kernel))
    arrays = (x, w, rng.standard_normal(27)) if bias else (x, w)
    check_op(
        lambda *a: F.conv2d(*a, padding=padding),
        lambda *a: TF.conv2d(*a, padding=padding),
        *arrays,
        rtol=1e-9,
        gradcheck=False,
    )
    assert bool(made) == (kernel_path == "numba")  # the direct form runs exactly where the kernels are on
