"""MNIST and Fashion-MNIST from the original idx files (gzipped or not) in a folder the user names.

An idx file is a big-endian header (magic 0x00000801 for labels, 0x00000803 for images, then
the sizes) followed by unsigned bytes. Headers, sizes and label ranges are checked.
"""

from __future__ import annotations

import gzip
import os
import struct

import numpy as np

from ..errors import DataError

FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_MAGIC = {1: 0x00000801, 3: 0x00000803}


def _find(folder: str, stem: str) -> str | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return None


def read_idx(path: str, dims: int) -> np.ndarray:
    """Read an idx file of ``dims`` dimensions (1 for labels, 3 for images) into a uint8 array."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read the idx file ({exc})") from None
    header = 4 + 4 * dims
    if len(raw) < header:
        raise DataError(f"{path}: too short for an idx header ({len(raw)} bytes)")
    magic = struct.unpack(">I", raw[:4])[0]
    if magic != _MAGIC[dims]:
        raise DataError(
            f"{path}: bad idx header: magic number 0x{magic:08x}, expected 0x{_MAGIC[dims]:08x} for a {dims}-D file"
        )
    shape = struct.unpack(f">{dims}I", raw[4:header])
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise DataError(f"{path}: header says {shape} = {expected} bytes of data, the file has {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def load_idx_pair(folder: str, split: str, classes: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, 28, 28) uint8 and labels (n,) int64 of one split ('train' or 'test')."""
    image_stem, label_stem = FILES[split]
    if not os.path.isdir(folder):
        raise DataError(f"MNIST folder {folder!r} does not exist")
    paths = {stem: _find(folder, stem) for stem in (image_stem, label_stem)}
    missing = [stem for stem, path in paths.items() if path is None]
    if missing:
        raise DataError(f"MNIST folder {folder!r} lacks {', '.join(m + '[.gz]' for m in missing)}")
    images = read_idx(paths[image_stem], 3)
    labels = read_idx(paths[label_stem], 1).astype(np.int64)
    if len(images) != len(labels):
        raise DataError(f"{folder}: {len(images)} images but {len(labels)} labels in the {split} split")
    if labels.size and labels.max() >= classes:
        raise DataError(f"{paths[label_stem]}: label {labels.max()} is out of range for {classes} classes")
    return images, labels


def load_mnist(folder: str, split: str = "train"):
    """(X, y) with X float32 in [0, 1] of shape (n, 784)."""
    images, labels = load_idx_pair(folder, split)
    return (images.reshape(len(images), -1).astype(np.float32) / 255.0), labels
