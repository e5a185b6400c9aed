import os

import pytest

MNIST_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist")


@pytest.fixture
def mnist_dir():
    """The real MNIST test set shipped beside the repository (../shared/data/mnist)."""
    if not os.path.isfile(os.path.join(MNIST_DIR, "t10k-images-idx3-ubyte.gz")):
        pytest.skip(f"the real MNIST files are not at {MNIST_DIR}")
    return MNIST_DIR


@pytest.fixture(params=["numpy", "numba"])
def kernel_path(request, monkeypatch):
    """Run a test once on the NumPy reference path and once on the multi-core Numba kernels (backend/cpu.py),
    the size threshold lowered so that the tests' small arrays take the kernels too."""
    from chainrule.backend import cpu

    if request.param == "numba" and not cpu.fast_kernels_available():
        pytest.skip("Numba is not installed (pip install -e '.[fast]')")
    monkeypatch.setattr(cpu, "MIN_SIZE", 0)
    monkeypatch.setattr(cpu, "RELU_MIN_SIZE", 0)
    monkeypatch.setattr(cpu, "SUM_MIN_SIZE", 0)
    previous = cpu.set_fast_kernels(request.param == "numba")
    yield request.param
    cpu.set_fast_kernels(previous)
