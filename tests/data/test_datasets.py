import gzip
import os
import struct

import numpy as np
import pytest

from chainrule.data import DATASETS, load_dataset, read_idx
from chainrule.errors import DataError


@pytest.mark.parametrize(
    "name",
    ["xor", "circle", "gauss", "spiral", "blobs", "plane", "bumps", "moons", "sine", "spirals", "circles", "digits"]
    + ["iris", "breast-cancer", "wine", "diabetes"],
)
def test_named_datasets_load_split_and_are_finite(name):
    d = load_dataset(name, seed=0)
    assert d.X_train.dtype == np.float32 and np.isfinite(d.X_train).all()
    assert len(d.X_train) > len(d.X_val) > 0 and len(d.X_test) > 0
    if d.task == "classification":
        assert d.y_train.dtype == np.int64 and d.num_classes == int(max(d.y_train.max(), d.y_test.max())) + 1
    else:
        assert d.y_train.ndim == 2


def test_standardisation_is_fitted_on_training_part():
    d = load_dataset("wine", seed=0)
    np.testing.assert_allclose(d.X_train.mean(axis=0), 0, atol=1e-5)
    assert np.abs(d.X_test.mean(axis=0)).max() > 1e-3  # the test part was not used for fitting


def test_real_mnist_t10k(mnist_dir):
    d = load_dataset("mnist-t10k", data_dir=mnist_dir, seed=0)
    assert d.sizes() == {"train": 8000, "val": 1000, "test": 1000}
    assert d.X_train.shape[1] == 784 and 0.0 <= d.X_train.min() and d.X_train.max() <= 1.0
    assert sorted(np.unique(d.y_train)) == list(range(10))
    labels = read_idx(os.path.join(mnist_dir, "train-labels-idx1-ubyte.gz"), 1)
    assert labels.shape == (60000,) and labels.max() == 9


def _write_idx(path, magic, shape, payload, gz=True):
    data = struct.pack(">I", magic) + struct.pack(f">{len(shape)}I", *shape) + payload
    with (gzip.open if gz else open)(path, "wb") as f:
        f.write(data)


def test_idx_files_plain_or_gzipped_and_header_validation(tmp_path):
    images = np.arange(2 * 28 * 28, dtype=np.uint8).tobytes()
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", 0x803, (2, 28, 28), images, gz=False)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", 0x801, (2,), bytes([3, 7]))
    assert read_idx(str(tmp_path / "t10k-images-idx3-ubyte"), 3).shape == (2, 28, 28)
    _write_idx(tmp_path / "bad.gz", 0x999, (2,), bytes([1, 2]))
    with pytest.raises(DataError, match="magic number"):
        read_idx(str(tmp_path / "bad.gz"), 1)
    _write_idx(tmp_path / "short.gz", 0x801, (5,), bytes([1, 2]))
    with pytest.raises(DataError, match="header says"):
        read_idx(str(tmp_path / "short.gz"), 1)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", 0x801, (2,), bytes([3, 12]))
    with pytest.raises(DataError, match="label 12 is out of range"):
        load_dataset("mnist-t10k", data_dir=str(tmp_path))


def test_missing_files_are_named(tmp_path):
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte"):
        load_dataset("mnist-t10k", data_dir=str(tmp_path))
    with pytest.raises(DataError, match="does not exist"):
        load_dataset("mnist-t10k", data_dir=str(tmp_path / "nope"))


def test_unknown_dataset_and_nan_csv(tmp_path):
    with pytest.raises(DataError, match="unknown dataset"):
        load_dataset("imagenet")
    path = tmp_path / "data.csv"
    path.write_text("a,b,label\n1,2,0\nnan,3,1\n4,5,0\n")
    with pytest.raises(DataError, match="NaN"):
        load_dataset(str(path))
    assert "digits" in DATASETS


def test_csv_dataset(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    y = (X[:, 0] > 0).astype(int)
    path = tmp_path / "points.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="x0,x1,x2,label", comments="")
    d = load_dataset(str(path))
    assert d.task == "classification" and d.num_classes == 2 and d.num_features == 3
