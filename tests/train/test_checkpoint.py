import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.errors import CheckpointError
from chainrule.train import checkpoint as ckpt
from chainrule.train import load_checkpoint, save_checkpoint


def test_save_and_load_plain_state_dict(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    path = str(tmp_path / "w.safetensors")
    cr.save(model.state_dict(), path)
    loaded = cr.load(path)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded[key], value)
        assert loaded[key].dtype == value.dtype


def test_files_are_real_safetensors(tmp_path):
    from safetensors.numpy import load_file

    path = str(tmp_path / "w.safetensors")
    cr.save({"a": np.arange(6, dtype=np.float32).reshape(2, 3)}, path, metadata={"epoch": 3})
    np.testing.assert_array_equal(load_file(path)["a"], np.arange(6).reshape(2, 3))
    assert ckpt.read_metadata(path) == {"epoch": 3}


def test_checkpoint_round_trip_with_optimizer(tmp_path):
    cr.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(cr.randn(4, 3)).sum().backward()
    opt.step()
    path = str(tmp_path / "c.safetensors")
    save_checkpoint(path, model, opt, {"epoch": 7, "architecture": {"type": "Linear"}})
    c = load_checkpoint(path)
    assert c.epoch == 7 and c.metadata["architecture"] == {"type": "Linear"}
    assert c.optimizer_state["state"][0]["step"] == 1
    np.testing.assert_array_equal(c.optimizer_state["state"][0]["exp_avg"], opt.state[id(model.weight)]["exp_avg"])
    fresh = optim.Adam(nn.Linear(3, 2).parameters(), lr=0.01)
    fresh.load_state_dict(c.optimizer_state)


def test_interrupted_write_leaves_previous_checkpoint_loadable(tmp_path, monkeypatch):
    path = str(tmp_path / "c.safetensors")
    cr.save({"w": np.ones(3, dtype=np.float32)}, path)

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(CheckpointError, match="previous file"):
        cr.save({"w": np.zeros(3, dtype=np.float32)}, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(cr.load(path)["w"], np.ones(3))
    assert [f for f in os.listdir(tmp_path) if f != "c.safetensors"] == []  # no stray temporary file


@pytest.mark.parametrize(
    "content", [b"", b"abc", b"\x10\x00\x00\x00\x00\x00\x00\x00{not json", b"PK\x03\x04 a zip file, not safetensors"]
)
def test_bad_files_raise_checkpoint_error(tmp_path, content):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="bad.safetensors"):
        cr.load(str(path))


def test_truncated_checkpoint_is_detected(tmp_path):
    path = str(tmp_path / "c.safetensors")
    cr.save({"w": np.ones(1000, dtype=np.float32)}, path)
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])
    with pytest.raises(CheckpointError):
        cr.load(path)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        cr.load(str(tmp_path / "nope.safetensors"))
