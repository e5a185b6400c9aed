import os

import pytest

MNIST_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist")


@pytest.fixture
def mnist_dir():
    """The real MNIST test set shipped beside the repository (../shared/data/mnist)."""
    if not os.path.isfile(os.path.join(MNIST_DIR, "t10k-images-idx3-ubyte.gz")):
        pytest.skip(f"the real MNIST files are not at {MNIST_DIR}")
    return MNIST_DIR
