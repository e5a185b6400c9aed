"""The 2-D data sets and the rest of data/synthetic.py: reproducible, with the labels their geometry says."""

import numpy as np

from chainrule.data import synthetic


def test_synthetic_generators_are_reproducible():
    for name, make in synthetic.PLANE.items():
        np.testing.assert_array_equal(make(seed=1)[0], make(seed=1)[0], err_msg=name)
        rng = np.random.default_rng(1)  # a Generator where the playground passes its stream
        np.testing.assert_array_equal(make(50, 0.1, rng)[0], make(50, 0.1, 1)[0], err_msg=name)
    X, y = synthetic.xor(200, noise=0.0)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] > 0).astype(np.int64))  # class 1 where x1 x2 > 0
    X, y = synthetic.spiral(90, classes=3)
    assert X.shape == (90, 2) and np.bincount(y).tolist() == [30, 30, 30]
