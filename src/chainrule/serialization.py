"""save/load: tensors and whole checkpoints in safetensors files, written atomically, never pickled.

``save(obj, path)`` takes what ``torch.save`` is used for: a tensor, a state dict, or a dict mixing
them with numbers, strings, lists and nested dicts (``{"epoch": 3, "model": model.state_dict(),
"optimizer": optimizer.state_dict()}``). Tensors and arrays are stored as safetensors entries named
by their path in the object ("model.fc.weight"); everything else is JSON in the file's metadata,
with a placeholder where each tensor goes. Loading parses JSON and raw arrays only: it runs no code.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections import OrderedDict

import numpy as np

from .backend import check_device, is_device_array, to_device
from .errors import CheckpointError
from .tensor import Tensor

METADATA_KEY = "chainrule"  # JSON metadata of the training checkpoints (train/checkpoint.py)
TREE_KEY = "chainrule.object"  # the JSON skeleton of what save() was given
CHECKSUM_KEY = "chainrule.sha256"  # SHA-256 of every array and of the other metadata (checked on load)


def _safetensors():
    try:
        import safetensors.numpy as st
    except ImportError:
        raise CheckpointError(
            "saving and loading tensors needs the 'safetensors' package: pip install 'chainrule[checkpoints]'"
        ) from None
    return st


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` always holds either the old or the new content."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    # mkstemp: a unique name, created exclusively (O_EXCL), so a symlink planted in the folder is never followed;
    # the rename then replaces the name itself, never what a symlink there points to
    fd, temp = tempfile.mkstemp(prefix=".tmp-", suffix=".partial", dir=folder)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o666 & ~_umask())  # the mode a plain open() would give (mkstemp's is 0600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException as exc:
        try:
            os.unlink(temp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise CheckpointError(f"could not write {path}: {exc}; the previous file, if any, is unchanged") from exc
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def host_array(value, name: str) -> np.ndarray:
    """A tensor's or array's values as a contiguous host array, ready for a file."""
    array = value.array if isinstance(value, Tensor) else value
    array = to_device(array, "cpu") if is_device_array(array) else np.asarray(array)
    if array.dtype == object:
        raise CheckpointError(f"save: {name!r} is not a numeric array")
    return (
        array if array.flags.c_contiguous else array.copy(order="C")
    )  # (ascontiguousarray would make a 0-d array 1-d)


def _digest(data) -> str:
    """SHA-256 of bytes, or of an array's bytes as stored (C order), read in place."""
    if isinstance(data, np.ndarray):
        data = np.ascontiguousarray(data).reshape(-1).view(np.uint8)
    return hashlib.sha256(data).hexdigest()


def tensor_digests(arrays: dict) -> dict:
    """{name: SHA-256 of the array's bytes} for every array of a file."""
    return {k: _digest(a) for k, a in sorted(arrays.items())}


def metadata_digest(metadata: dict) -> str:
    """SHA-256 of a file's metadata entries, its checksums left out."""
    return _digest(json.dumps({k: v for k, v in metadata.items() if k != CHECKSUM_KEY}, sort_keys=True).encode())


def checksums(arrays: dict, metadata: dict) -> str:
    """The JSON of SHA-256 digests of every array's bytes and of the other metadata entries, stored in the
    file under CHECKSUM_KEY so that a damaged file (a flipped bit, a truncated copy) is refused on load."""
    return json.dumps({"tensors": tensor_digests(arrays), "metadata": metadata_digest(metadata)}, sort_keys=True)


def write_arrays(arrays: dict, path, metadata: dict) -> None:
    """Arrays and string metadata as one safetensors file (atomically at a path, or into a file object),
    with the checksums of both."""
    arrays = {k: host_array(v, k) for k, v in arrays.items()}
    metadata = {**metadata, CHECKSUM_KEY: checksums(arrays, metadata)}
    data = _safetensors().save(arrays, metadata=metadata)
    if hasattr(path, "write"):
        path.write(data)
    else:
        atomic_write(os.fspath(path), data)


def _encode(obj, path: str, arrays: dict):
    """The JSON skeleton of ``obj``; its tensors and arrays go into ``arrays`` under their path."""
    if isinstance(obj, (Tensor, np.ndarray)) or is_device_array(obj):
        key = path or "tensor"
        while key in arrays:
            key += "_"
        arrays[key] = obj
        node = {"__tensor__" if isinstance(obj, Tensor) else "__ndarray__": key}
        if isinstance(obj, Tensor) and obj.requires_grad:
            node["requires_grad"] = True
        return node
    if isinstance(obj, dict):
        items = [(k, _encode(v, f"{path}.{k}" if path else str(k), arrays)) for k, v in obj.items()]
        if all(isinstance(k, str) and not k.startswith("__") for k, _ in items):
            return dict(items)
        for k, _ in items:
            if not isinstance(k, (str, int, float, bool)) and k is not None:
                raise CheckpointError(
                    f"save: dictionary keys must be strings or numbers, got {type(k).__name__} at {path or 'the top'}"
                )
        return {"__dict__": [[k, v] for k, v in items]}
    if isinstance(obj, (list, tuple)):
        values = [_encode(v, f"{path}.{i}" if path else str(i), arrays) for i, v in enumerate(obj)]
        return values if isinstance(obj, list) else {"__tuple__": values}
    if isinstance(obj, (np.generic,)):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    hint = "; save its state_dict() instead" if hasattr(obj, "state_dict") else ""
    raise CheckpointError(
        f"save: cannot store a {type(obj).__name__} at {path or 'the top'} without pickle (chainrule never "
        f"pickles); tensors, arrays, numbers, strings, lists and dicts can be saved{hint}"
    )


def save(obj, f, metadata: dict | None = None) -> None:
    """Save ``obj`` (a tensor, a state dict, or a dict/list mixing tensors with plain values) to ``f``
    (a path or a binary file object), atomically; never pickle. ``metadata`` is extra JSON."""
    arrays: dict = {}
    tree = _encode(obj, "", arrays)
    meta = {METADATA_KEY: json.dumps(metadata or {}, sort_keys=True), TREE_KEY: json.dumps(tree)}
    write_arrays(arrays, f, meta)


def read_file(f) -> tuple[dict, dict]:
    """(arrays, string metadata) of a safetensors file, or a CheckpointError saying what is wrong."""
    st = _safetensors()
    if hasattr(f, "read"):
        raw, name = f.read(), getattr(f, "name", "the file")
    else:
        name = os.fspath(f)
        if not os.path.isfile(name):
            raise CheckpointError(f"checkpoint {name!r} does not exist")
        with open(name, "rb") as handle:
            raw = handle.read()
    if len(raw) < 8:
        raise CheckpointError(f"{name}: empty or truncated file ({len(raw)} bytes), not a safetensors checkpoint")
    size = int.from_bytes(raw[:8], "little")
    if size <= 0 or size > len(raw) - 8:
        raise CheckpointError(f"{name}: not a valid safetensors file, or truncated (bad header length)")
    try:
        header = json.loads(raw[8 : 8 + size])
        metadata = header.get("__metadata__") or {}
    except (ValueError, AttributeError, RecursionError) as exc:
        raise CheckpointError(f"{name}: not a safetensors file ({type(exc).__name__})") from None
    try:
        arrays = st.load(raw)
    except Exception as exc:  # safetensors raises its own SafetensorError for every malformed file
        raise CheckpointError(f"{name}: not a valid safetensors file, or truncated ({exc})") from None
    verify(name, arrays, metadata)
    return OrderedDict(sorted(arrays.items())), metadata


def verify(name: str, arrays: dict, metadata: dict) -> None:
    """Check a file's arrays and metadata against the checksums it carries; a chainrule file written
    before checksums existed loads with a warning."""
    if CHECKSUM_KEY not in metadata:
        if METADATA_KEY in metadata or TREE_KEY in metadata:
            warnings.warn(
                f"{name} carries no checksums (written by an older chainrule), so damage to it cannot be detected; "
                "save it again to add them",
                stacklevel=3,
            )
        return
    damaged = f"{name}: the file is damaged (its bytes changed since it was written: a bad disk, copy or download)"
    try:
        stored = json.loads(metadata[CHECKSUM_KEY])
        expected, meta_digest = stored["tensors"], stored["metadata"]
    except (ValueError, TypeError, KeyError, RecursionError):
        raise CheckpointError(f"{damaged}; its checksums cannot be read") from None
    if sorted(expected) != sorted(arrays):
        raise CheckpointError(f"{damaged}; it holds tensors {sorted(arrays)}, its checksums name {sorted(expected)}")
    actual = tensor_digests(arrays)
    wrong = [k for k in actual if actual[k] != expected[k]]
    if wrong:
        raise CheckpointError(f"{damaged}; tensor(s) {', '.join(wrong[:5])} do not match their SHA-256 checksums")
    if metadata_digest(metadata) != meta_digest:
        raise CheckpointError(f"{damaged}; its metadata does not match its SHA-256 checksum")


def _decode(node, arrays: dict, device):
    if isinstance(node, list):
        return [_decode(v, arrays, device) for v in node]
    if not isinstance(node, dict):
        return node
    if "__tensor__" in node or "__ndarray__" in node:
        key = node.get("__tensor__", node.get("__ndarray__"))
        if key not in arrays:
            raise CheckpointError(f"load: the file names a tensor {key!r} that it does not hold; it is damaged")
        array = arrays[key] if device == "cpu" else to_device(arrays[key], device)
        if "__ndarray__" in node:
            return array
        out = Tensor.wrap(array, False)
        return out.requires_grad_(True) if node.get("requires_grad") else out
    if "__tuple__" in node:
        return tuple(_decode(v, arrays, device) for v in node["__tuple__"])
    if "__dict__" in node:
        return OrderedDict((k, _decode(v, arrays, device)) for k, v in node["__dict__"])
    return OrderedDict((k, _decode(v, arrays, device)) for k, v in node.items())


def _device(map_location) -> str:
    if map_location is None or callable(map_location) and not isinstance(map_location, str):
        return "cpu"
    if isinstance(map_location, dict):
        raise CheckpointError("load: map_location as a dict is not supported; give a device such as 'cpu'")
    return check_device(map_location)


def load(f, map_location=None, weights_only: bool = True, **kwargs):
    """Load what ``save`` stored: the same structure, with Tensors where it had tensors.

    A safetensors file from elsewhere (or one written by ``train.save``) loads as a dict of Tensors
    by name. ``map_location`` ('cpu' or 'cuda') places the tensors; ``weights_only`` is accepted for
    PyTorch's sake: loading never runs code, whatever it says.
    """
    arrays, metadata = read_file(f)
    device = _device(map_location)
    tree = metadata.get(TREE_KEY)
    if tree is None:
        return OrderedDict(
            (k, Tensor.wrap(v if device == "cpu" else to_device(v, device), False)) for k, v in arrays.items()
        )
    try:
        tree = json.loads(tree)
    except (ValueError, RecursionError) as exc:
        raise CheckpointError(f"load: the file's object description is damaged ({exc})") from None
    return _decode(tree, arrays, device)


__all__ = ["atomic_write", "load", "save"]
