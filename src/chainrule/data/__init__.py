"""Data: Dataset, DataLoader, splits, Standardize, and datasets by name (synthetic, scikit-learn, MNIST idx)."""

from . import synthetic
from .csv_files import load_csv
from .dataset import Dataset, Subset, TensorDataset
from .datasets import DATASETS, DataSplits, load_dataset
from .loader import DataLoader
from .mnist import load_mnist, read_idx
from .split import Standardize, random_split, train_val_test_split

__all__ = [
    "DATASETS",
    "DataLoader",
    "DataSplits",
    "Dataset",
    "Standardize",
    "Subset",
    "TensorDataset",
    "load_csv",
    "load_dataset",
    "load_mnist",
    "random_split",
    "read_idx",
    "synthetic",
    "train_val_test_split",
]
