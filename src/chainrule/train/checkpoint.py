"""Checkpoints as safetensors files, written atomically; never pickle.

A file holds arrays (model weights, optimizer state) and one JSON metadata entry (architecture,
hyperparameters, epoch, random-generator state). Writing goes to a temporary file in the same
folder, which is flushed, fsync'ed and renamed over the old one, so a crash mid-write leaves
the previous checkpoint as it was.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from ..errors import CheckpointError
from ..serialization import METADATA_KEY, atomic_write, read_file, write_arrays

__all__ = ["Checkpoint", "atomic_write", "load", "load_checkpoint", "read_metadata", "save", "save_checkpoint"]


def save(state_dict: dict, path: str, metadata: dict | None = None) -> None:
    """Save a flat dict of arrays (e.g. ``model.state_dict()``) as a safetensors file, atomically."""
    write_arrays(state_dict, path, {METADATA_KEY: json.dumps(metadata or {}, sort_keys=True)})


def read_metadata(path: str) -> dict:
    """The JSON metadata of a chainrule safetensors file, without reading the arrays."""
    _check_file(path)
    with open(path, "rb") as f:
        head = f.read(8)
        size = int.from_bytes(head, "little")
        if size <= 0 or size > os.path.getsize(path) - 8:
            raise CheckpointError(f"{path}: not a safetensors file (bad header length)")
        try:
            header = json.loads(f.read(size))
            return json.loads(header.get("__metadata__", {}).get(METADATA_KEY, "{}"))
        except (ValueError, AttributeError) as exc:
            raise CheckpointError(f"{path}: not a chainrule safetensors file ({exc})") from None
        except RecursionError:
            raise CheckpointError(f"{path}: its metadata is nested too deeply; the file is damaged") from None


def _check_file(path: str) -> None:
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint {path!r} does not exist")
    if os.path.getsize(path) < 8:
        raise CheckpointError(
            f"{path}: empty or truncated file ({os.path.getsize(path)} bytes), not a safetensors checkpoint"
        )


def load(path: str) -> "OrderedDict[str, np.ndarray]":
    """Load the arrays of a safetensors file saved by ``save`` (no code runs: it is data only)."""
    return read_file(path)[0]


@dataclass
class Checkpoint:
    """What ``load_checkpoint`` returns: model weights, optimizer state, other arrays, and metadata."""

    model_state: dict
    optimizer_state: dict | None
    extra_arrays: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)

    @property
    def epoch(self) -> int:
        return int(self.metadata.get("epoch", 0))


def save_checkpoint(
    path: str, model, optimizer=None, metadata: dict | None = None, extra_arrays: dict | None = None
) -> None:
    """Model weights, optimizer state and metadata in one safetensors file, written atomically."""
    arrays = {f"model.{k}": v for k, v in model.state_dict().items()}
    meta = dict(metadata or {})
    if optimizer is not None:
        state = optimizer.state_dict()
        scalars = {}
        for index, entries in state["state"].items():
            for key, value in entries.items():
                if hasattr(value, "shape"):
                    arrays[f"optimizer.{index}.{key}"] = value
                else:
                    scalars.setdefault(str(index), {})[key] = value
        meta["optimizer"] = {
            "type": type(optimizer).__name__,
            "param_groups": state["param_groups"],
            "scalars": scalars,
        }
    for key, value in (extra_arrays or {}).items():
        arrays[f"extra.{key}"] = value
    save(arrays, path, meta)


def load_checkpoint(path: str) -> Checkpoint:
    """Read a checkpoint written by ``save_checkpoint`` (see ``Checkpoint``)."""
    arrays = load(path)
    metadata = read_metadata(path)
    if not isinstance(metadata, dict):
        raise CheckpointError(f"{path}: its metadata is a {type(metadata).__name__}, not an object; it is damaged")
    try:
        return _checkpoint(path, arrays, metadata)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"{path}: its optimizer metadata is damaged ({type(exc).__name__}: {exc})") from None


def _checkpoint(path: str, arrays: dict, metadata: dict) -> Checkpoint:
    model_state = OrderedDict((k[len("model.") :], v) for k, v in arrays.items() if k.startswith("model."))
    extra = {k[len("extra.") :]: v for k, v in arrays.items() if k.startswith("extra.")}
    optimizer_state = None
    info = metadata.get("optimizer")
    if info is not None:
        state: dict = {}
        for key, value in arrays.items():
            if key.startswith("optimizer."):
                _, index, name = key.split(".", 2)
                state.setdefault(int(index), {})[name] = value
        for index, scalars in info.get("scalars", {}).items():
            state.setdefault(int(index), {}).update(scalars)
        optimizer_state = {"state": state, "param_groups": info["param_groups"]}
    if not model_state:
        raise CheckpointError(f"{path}: holds no model weights; is it a chainrule checkpoint?")
    return Checkpoint(model_state, optimizer_state, extra, metadata)
