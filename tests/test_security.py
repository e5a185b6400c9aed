"""No pickle anywhere; loading a checkpoint runs no code; config paths stay where the user said."""

import ast
import os
import pickle
import re

import numpy as np
import pytest

import chainrule as cr
import chainrule.train  # noqa: F401
from chainrule.app.config import resolve_config_paths
from chainrule.errors import CheckpointError, ConfigError

SRC = os.path.join(os.path.dirname(__file__), "..", "src", "chainrule")
UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "marshal", "shelve", "dill", "joblib"}
UNSAFE_CALLS = {"eval", "exec"}
UNSAFE_TEXT = [r"allow_pickle\s*=\s*True", r"\bnp\.load\(", r"torch\.load\("]


def _sources():
    for folder, _, files in os.walk(SRC):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                yield path, open(path, encoding="utf-8").read()


def test_source_uses_no_pickle_eval_or_exec():
    offenders = []
    for path, text in _sources():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                offenders += [f"{path}: import {a.name}" for a in node.names if a.name.split(".")[0] in UNSAFE_MODULES]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in UNSAFE_MODULES:
                offenders.append(f"{path}: from {node.module} import")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in UNSAFE_CALLS:
                offenders.append(f"{path}:{node.lineno}: {node.func.id}()")
        offenders += [f"{path}: {pattern}" for pattern in UNSAFE_TEXT if re.search(pattern, text)]
    assert not offenders, offenders


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))  # would create the marker file if unpickled


def test_loading_a_malicious_file_runs_no_code(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.safetensors"
    path.write_bytes(pickle.dumps(_Payload(str(marker))))
    with pytest.raises(CheckpointError):
        cr.load(str(path))
    with pytest.raises(CheckpointError):
        cr.train.load_checkpoint(str(path))
    assert not marker.exists()


def test_config_paths_cannot_escape_the_config_folder(tmp_path):
    base = str(tmp_path)
    assert resolve_config_paths({"out": "runs/a"}, base, "c.toml")["out"] == os.path.join(base, "runs", "a")
    for bad in ({"out": "../elsewhere"}, {"data_dir": "/etc"}, {"data_dir": "data/../../x"}, {"data": "../secret.csv"}):
        with pytest.raises(ConfigError):
            resolve_config_paths(bad, base, "c.toml")


# ---------------------------------------------------------------------- writes never follow a planted symlink
def test_a_symlink_planted_in_a_run_folder_is_never_written_through(tmp_path):
    from chainrule.app.config import TrainConfig
    from chainrule.app.run import train_run

    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "run"
    out.mkdir()
    # every name the command writes, and the fixed temporary name plots once used
    for name in ("curves.png.partial.png", "curves.png", "confusion.png", "summary.json", ".tmp-x.partial"):
        (out / name).symlink_to(victim)
    train_run(TrainConfig(epochs=1, out=str(out), quiet=True, overwrite=True))
    assert victim.read_text() == "precious"
    assert not (out / "curves.png").is_symlink() and (out / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_metrics_are_never_appended_through_a_symlink(tmp_path):
    from chainrule.app.config import TrainConfig
    from chainrule.app.run import train_run

    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.jsonl").symlink_to(victim)
    train_run(TrainConfig(epochs=2, out=str(out), quiet=True, overwrite=True))
    assert victim.read_text() == "precious" and len((out / "metrics.jsonl").read_text().splitlines()) == 2


def test_a_config_path_through_a_symlink_out_of_its_folder_is_refused(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "link").symlink_to(tmp_path / "elsewhere")
    for key, value in (("data", "link/secret.csv"), ("out", "link/run"), ("data_dir", "link")):
        with pytest.raises(ConfigError, match="leads outside"):
            resolve_config_paths({key: value}, str(tmp_path / "cfg"), "c.toml")


# ---------------------------------------------------------------------- damaged files are refused
def _flip(path, offset_from_end=100):
    data = bytearray(path.read_bytes())
    data[-offset_from_end] ^= 0x01
    path.write_bytes(bytes(data))


def test_flipped_bytes_in_a_checkpoint_are_refused(tmp_path):
    path = tmp_path / "t.safetensors"
    cr.save({"w": cr.tensor(np.arange(100, dtype=np.float32)), "lr": 0.1}, str(path))
    assert cr.load(str(path))["lr"] == 0.1
    _flip(path)
    with pytest.raises(CheckpointError, match=r"damaged.*tensor\(s\) w do not match"):
        cr.load(str(path))


def test_changed_metadata_is_refused(tmp_path):
    path = tmp_path / "t.safetensors"
    cr.save({"w": cr.tensor(np.ones(4, dtype=np.float32)), "lr": 0.125}, str(path))
    data = path.read_bytes()
    path.write_bytes(data.replace(b"0.125", b"0.725"))  # the same length: a flipped digit in the header
    with pytest.raises(CheckpointError, match="metadata does not match"):
        cr.load(str(path))


def test_a_file_written_before_checksums_loads_with_a_warning(tmp_path):
    import json

    import safetensors.numpy as st

    from chainrule.serialization import METADATA_KEY

    path = tmp_path / "old.safetensors"
    path.write_bytes(st.save({"w": np.ones(3, dtype=np.float32)}, metadata={METADATA_KEY: json.dumps({"epoch": 1})}))
    with pytest.warns(UserWarning, match="carries no checksums"):
        assert cr.load(str(path))["w"].shape == (3,)


def test_evaluate_refuses_a_model_with_nan_weights(tmp_path, capsys):
    from chainrule.app.cli import main
    from chainrule.app.config import TrainConfig
    from chainrule.app.run import train_run
    from chainrule.train.checkpoint import load_checkpoint, save

    out = tmp_path / "run"
    train_run(TrainConfig(epochs=1, out=str(out), quiet=True))
    checkpoint = load_checkpoint(str(out / "model.safetensors"))
    arrays = {f"model.{k}": v for k, v in checkpoint.model_state.items()}
    arrays["model.1.weight"] = np.full_like(arrays["model.1.weight"], np.nan)
    save(
        {**arrays, **{f"extra.{k}": v for k, v in checkpoint.extra_arrays.items()}},
        str(out / "model.safetensors"),
        checkpoint.metadata,
    )
    assert main(["evaluate", str(out)]) == 2
    err = capsys.readouterr().err
    assert "1.weight holds 8192 NaN" in err and "NaN or infinite" in err and len(err.strip().splitlines()) == 1
