"""Batches of sequences of different lengths, as torch.nn.utils.rnn: padded to one length
(``pad_sequence``), or packed so that a recurrent layer computes no step past a sequence's end
(``pack_padded_sequence``: the sequences sorted longest first, the steps laid one after another, with the
number of sequences still running at each step in ``batch_sizes``)."""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ...backend import to_device
from ...errors import ShapeError
from ...ops.pick import index_select
from ...ops.shape import cat, stack
from ...tensor import Tensor, as_tensor


class PackedSequence(namedtuple("PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """data: (sum of lengths, *) the steps of all sequences, step by step; batch_sizes[t]: how many sequences
    (the longest, in sorted order) have a step t; sorted_indices: the batch order they were sorted into."""

    def to(self, *args, **kwargs) -> PackedSequence:
        return self._replace(data=self.data.to(*args, **kwargs))


def _lengths(lengths) -> np.ndarray:
    array = np.asarray(to_device(lengths.array, "cpu") if isinstance(lengths, Tensor) else lengths)
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise ValueError(f"pack_padded_sequence: lengths must be a 1-D list of integers, got {lengths!r}")
    return array.astype(np.int64)


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0, padding_side: str = "right"):
    """Tensors (L_i, *) into one (max L, N, *) tensor (``batch_first``: (N, max L, *)), ``padding_value`` after
    (or, with padding_side='left', before) each shorter one."""
    sequences = [as_tensor(s) for s in sequences]
    if not sequences:
        raise ValueError("pad_sequence: got no sequences")
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'right' or 'left', got {padding_side!r}")
    rest = tuple(sequences[0].shape[1:])
    if any(tuple(s.shape[1:]) != rest for s in sequences):
        raise ShapeError(f"pad_sequence: every sequence must be (L, {rest}), got {[tuple(s.shape) for s in sequences]}")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        gap = longest - s.shape[0]
        if gap:
            fill = Tensor.wrap(np.full((gap, *rest), padding_value, dtype=s.array.dtype), False).to(s.device)
            s = cat([s, fill] if padding_side == "right" else [fill, s])
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


def pack_padded_sequence(input, lengths, batch_first: bool = False, enforce_sorted: bool = True):  # noqa: A002
    """A padded batch (L, N, *) (``batch_first``: (N, L, *)) and each sequence's length, as a PackedSequence.
    ``enforce_sorted``: the lengths must already be in decreasing order (else they are sorted here)."""
    x = as_tensor(input)
    lengths = _lengths(lengths)
    if batch_first:
        x = x.transpose(0, 1)
    if len(lengths) != x.shape[1]:
        raise ShapeError(f"pack_padded_sequence: {len(lengths)} lengths for a batch of {x.shape[1]} sequences")
    if lengths.size and (lengths.min() <= 0 or lengths.max() > x.shape[0]):
        raise ValueError(f"pack_padded_sequence: lengths must be in [1, {x.shape[0]}], got {lengths.tolist()}")
    sorted_indices = unsorted_indices = None
    if enforce_sorted:
        if np.any(np.diff(lengths) > 0):
            raise ValueError(
                "pack_padded_sequence: lengths must be in decreasing order with enforce_sorted=True, got "
                f"{lengths.tolist()}; sort them or pass enforce_sorted=False"
            )
    else:
        order = np.argsort(-lengths, kind="stable")
        lengths = lengths[order]
        x = index_select(x, 1, order)
        sorted_indices = Tensor.wrap(order.astype(np.int64), False)
        unsorted_indices = Tensor.wrap(np.argsort(order).astype(np.int64), False)
    batch_sizes = np.array([(lengths > t).sum() for t in range(int(lengths.max()))], dtype=np.int64)
    data = cat([x[t, : int(b)] for t, b in enumerate(batch_sizes)])
    return PackedSequence(data, Tensor.wrap(batch_sizes, False), sorted_indices, unsorted_indices)


def pad_packed_sequence(sequence, batch_first: bool = False, padding_value: float = 0.0, total_length=None):
    """The inverse of pack_padded_sequence: (padded (T, N, *) or (N, T, *), lengths), in the batch's original
    order."""
    data, batch_sizes, _, unsorted = sequence
    sizes = to_device(batch_sizes.array, "cpu").astype(np.int64)
    steps, batch = len(sizes), int(sizes[0])
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"pad_packed_sequence: total_length {total_length} is shorter than the longest ({steps})")
        steps = total_length
    rest = tuple(data.shape[1:])
    rows, offset = [], 0
    for t in range(steps):
        size = int(sizes[t]) if t < len(sizes) else 0
        row = data[offset : offset + size]
        offset += size
        if size < batch:
            fill = Tensor.wrap(np.full((batch - size, *rest), padding_value, dtype=data.array.dtype), False)
            row = cat([row, fill.to(data.device)]) if size else fill.to(data.device)
        rows.append(row)
    padded = stack(rows, 0)
    lengths = np.array([(sizes > b).sum() for b in range(batch)], dtype=np.int64)
    if unsorted is not None:
        order = to_device(unsorted.array, "cpu")
        padded, lengths = index_select(padded, 1, order), lengths[order]
    return (padded.transpose(0, 1) if batch_first else padded), Tensor.wrap(lengths, False)


def pack_sequence(sequences, enforce_sorted: bool = True):
    """Tensors (L_i, *) straight into a PackedSequence."""
    lengths = [as_tensor(s).shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


__all__ = ["PackedSequence", "pack_padded_sequence", "pack_sequence", "pad_packed_sequence", "pad_sequence"]
