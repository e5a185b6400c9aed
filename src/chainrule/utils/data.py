"""``chainrule.utils.data``: PyTorch's path to Dataset, TensorDataset, DataLoader and random_split."""

from ..data import DataLoader, Dataset, Subset, TensorDataset, random_split

__all__ = ["DataLoader", "Dataset", "Subset", "TensorDataset", "random_split"]
