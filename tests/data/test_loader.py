import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader, Dataset, TensorDataset, random_split
from chainrule.errors import ConfigError, DataError


def _ds(n=10):
    return TensorDataset(np.arange(n * 2, dtype=np.float32).reshape(n, 2), np.arange(n))


def test_batch_stochastic_and_minibatch_are_one_code_path():
    ds = _ds(10)
    assert [len(y) for _, y in DataLoader(ds, batch_size=None)] == [10]
    assert [len(y) for _, y in DataLoader(ds, batch_size=1)] == [1] * 10
    assert [len(y) for _, y in DataLoader(ds, batch_size=4)] == [4, 4, 2]
    assert [len(y) for _, y in DataLoader(ds, batch_size=4, drop_last=True)] == [4, 4]
    assert len(DataLoader(ds, batch_size=4)) == 3


def test_shuffle_is_a_permutation_reproducible_per_seed_and_epoch():
    ds = _ds(20)
    a = DataLoader(ds, batch_size=5, shuffle=True, seed=3)
    first = np.concatenate([y.array for _, y in a])
    second = np.concatenate([y.array for _, y in a])
    assert sorted(first) == list(range(20)) and not np.array_equal(first, second)
    b = DataLoader(ds, batch_size=5, shuffle=True, seed=3)
    b.set_epoch(1)
    np.testing.assert_array_equal(np.concatenate([y.array for _, y in b]), second)


def test_batches_are_tensors_with_float32_inputs():
    x, y = next(iter(DataLoader(_ds(), batch_size=3)))
    assert isinstance(x, cr.Tensor) and x.dtype == np.float32 and y.dtype == np.int64


def test_generic_dataset_is_collated():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.array([i], dtype=np.float32), i * i

    batches = list(DataLoader(Squares(), batch_size=2))
    assert batches[0][0].shape == (2, 1) and batches[-1][1].array.tolist() == [16]


@pytest.mark.parametrize("size", [0, -3, 2.5, True])
def test_bad_batch_size_is_rejected(size):
    with pytest.raises(ConfigError, match="batch_size"):
        DataLoader(_ds(), batch_size=size)


def test_empty_dataset_is_rejected():
    with pytest.raises(DataError, match="empty"):
        DataLoader(TensorDataset(np.zeros((0, 2)), np.zeros(0)))


def test_random_split_is_disjoint_and_complete():
    parts = random_split(_ds(10), [6, 2, 2], seed=0)
    seen = np.concatenate([[p[i][1] for i in range(len(p))] for p in parts])
    assert sorted(seen) == list(range(10))
    assert [len(p) for p in random_split(_ds(10), [0.5, 0.5])] == [5, 5]
    with pytest.raises(DataError):
        random_split(_ds(10), [3, 3])
