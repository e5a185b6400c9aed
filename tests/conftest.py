import os

import pytest

MNIST_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist")


@pytest.fixture
def mnist_dir():
    """The real MNIST test set shipped beside the repository (../shared/data/mnist)."""
    if not os.path.isfile(os.path.join(MNIST_DIR, "t10k-images-idx3-ubyte.gz")):
        pytest.skip(f"the real MNIST files are not at {MNIST_DIR}")
    return MNIST_DIR


@pytest.fixture(params=["reference", "numpy", "numba"])
def kernel_path(request, monkeypatch):
    """Run a test on each path backend/fast.py can choose: the ops' textbook reference (every faster form off),
    NumPy's (the blocked convolution, no Numba: a user without the [fast] extra) and the multi-core Numba kernels
    (backend/cpu.py), the size threshold lowered so that the tests' small arrays take the kernels too."""
    from chainrule.backend import cpu, fast

    if request.param == "numba" and not cpu.fast_kernels_available():
        pytest.skip("Numba is not installed (pip install -e '.[fast]')")
    monkeypatch.setattr(cpu, "MIN_SIZE", 0)
    monkeypatch.setattr(cpu, "RELU_MIN_SIZE", 0)
    monkeypatch.setattr(cpu, "SUM_MIN_SIZE", 0)
    previous = cpu.set_fast_kernels(request.param == "numba")
    blocked = fast.set_blocked_conv(request.param != "reference")
    yield request.param
    cpu.set_fast_kernels(previous)
    fast.set_blocked_conv(blocked)


@pytest.fixture(autouse=True)
def thread_budget():
    """Each test starts with the thread budget it found: the first convolution on the CPU moves a budget of two or
    more threads to chainrule's own (backend/threads.py), and that must not carry over into the tests after it."""
    from chainrule.backend import blas, threads

    mode = threads._state["mode"]
    yield
    if threads._state["mode"] != mode and threads._state["tuner"] is None:
        threads._apply(mode or ("blas", blas.default_threads()))
        threads._state["mode"] = mode
