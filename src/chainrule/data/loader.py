"""DataLoader: batches of a dataset, shuffled per epoch from a seed.

batch_size=None gives the whole set per step (batch gradient descent), 1 gives stochastic
gradient descent, anything between mini-batch: one code path for all three.
"""

from __future__ import annotations

import numpy as np

from ..backend import numpy_generator
from ..errors import ConfigError, DataError
from ..tensor import Tensor
from .dataset import Dataset, Subset, TensorDataset


class DataLoader:
    """Iterate over (inputs, targets) batches as Tensors.

    The order of epoch e is a permutation drawn from (seed, e) alone, so a run resumed at epoch e
    sees exactly the batches an uninterrupted run would. ``seed=None`` draws one from ``generator``
    (a ``chainrule.Generator``, as PyTorch's ``DataLoader(generator=...)``), or else from the
    generator that ``chainrule.manual_seed`` seeds.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int | None = 32,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
        dtype=None,
        sampler=None,
        generator=None,
    ):
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1
        ):
            raise ConfigError(
                f"DataLoader: batch_size must be a positive integer or None (the whole set), got {batch_size!r}"
            )
        if len(dataset) == 0:
            raise DataError("DataLoader: the dataset is empty")
        self.dataset, self.shuffle, self.drop_last, self.dtype = dataset, shuffle, drop_last, dtype
        self.batch_size = len(dataset) if batch_size is None else int(batch_size)
        # the shuffles' seed: given, or drawn from the generator (manual_seed's stream unless one is passed)
        self.seed = int(numpy_generator(generator, "DataLoader").integers(2**31)) if seed is None else int(seed)
        self.sampler = sampler  # e.g. a DistributedSampler: its indices(epoch) replace the permutation
        if sampler is not None and batch_size is None:
            self.batch_size = len(sampler)
        self.epoch = 0
        self.skip = 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        """Choose which epoch's shuffle the next iteration uses, and how many of its batches to skip
        (fit calls this; skipping resumes an epoch that was interrupted)."""
        self.epoch, self.skip = epoch, skip

    def __len__(self) -> int:
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self) -> np.ndarray:
        if self.sampler is not None:
            return self.sampler.indices(self.epoch)
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng([self.seed, self.epoch]).permutation(n)

    def __iter__(self):
        order = self._order()
        self.epoch += 1
        n, size = len(order), self.batch_size
        stop = n - n % size if self.drop_last else n
        arrays = _flat_arrays(self.dataset)
        first, self.skip = self.skip * size, 0
        for start in range(first, stop, size):
            index = order[start : start + size]
            if arrays is not None:
                batch = [a[index] for a in arrays]
            else:
                items = [self.dataset[int(i)] for i in index]
                batch = [np.stack([np.asarray(item[k]) for item in items]) for k in range(len(items[0]))]
            yield tuple(_to_tensor(b, self.dtype) for b in batch)


def _flat_arrays(dataset):
    """The underlying arrays when the dataset is a TensorDataset (or a Subset of one), for fast slicing."""
    if isinstance(dataset, TensorDataset):
        return dataset.arrays
    if isinstance(dataset, Subset):
        inner = _flat_arrays(dataset.dataset)
        return None if inner is None else tuple(a[dataset.indices] for a in inner)
    return None


def _to_tensor(array: np.ndarray, dtype) -> Tensor:
    if array.dtype.kind == "f":
        return Tensor.wrap(array if dtype is None else array.astype(dtype, copy=False), False)
    return Tensor.wrap(array, False)
