import numpy as np
import pytest

from chainrule.data import Standardize, train_val_test_split
from chainrule.errors import DataError


def test_stratified_split_keeps_class_proportions():
    y = np.array([0] * 80 + [1] * 20)
    X = np.arange(100).reshape(100, 1)
    (Xtr, ytr), (Xva, yva), (Xte, yte) = train_val_test_split(X, y, seed=0)
    assert len(ytr) == 80 and len(yva) == 10 and len(yte) == 10
    assert (ytr == 1).sum() == 16 and (yva == 1).sum() == 2 and (yte == 1).sum() == 2
    assert len(set(Xtr[:, 0]) | set(Xva[:, 0]) | set(Xte[:, 0])) == 100


def test_split_is_reproducible_and_validates():
    X, y = np.arange(50).reshape(50, 1), np.arange(50) % 2
    a = train_val_test_split(X, y, seed=1)
    b = train_val_test_split(X, y, seed=1)
    np.testing.assert_array_equal(a[0][0], b[0][0])
    with pytest.raises(DataError, match="ratios"):
        train_val_test_split(X, y, ratios=(0.5, 0.5, 0.5))
    with pytest.raises(DataError, match="empty"):
        train_val_test_split(X[:3], y[:3], ratios=(0.9, 0.05, 0.05), stratify=False)


def test_standardize_uses_training_statistics_only():
    train = np.array([[0.0, 5.0], [2.0, 5.0]], dtype=np.float32)
    scaler = Standardize().fit(train)
    np.testing.assert_allclose(scaler.transform(train), [[-1, 0], [1, 0]])
    np.testing.assert_allclose(scaler.transform(np.array([[4.0, 6.0]], dtype=np.float32)), [[3, 1]])
    assert scaler.transform(train).dtype == np.float32
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(train)), train)
