"""No pickle anywhere; loading a checkpoint runs no code; config paths stay where the user said."""
import os
import pickle
import re

import pytest

import chainrule as cr
import chainrule.train  # noqa: F401
from chainrule.errors import CheckpointError, ConfigError
from chainrule.train.config import resolve_config_paths

SRC = os.path.join(os.path.dirname(__file__), "..", "src", "chainrule")
FORBIDDEN = [r"\bimport pickle\b", r"\bfrom pickle\b", r"\bcPickle\b", r"allow_pickle\s*=\s*True", r"\bnp\.load\(", r"(?<![.\w])eval\(", r"(?<![.\w])exec\(", r"\bmarshal\b", r"\bshelve\b"]


def test_source_uses_no_pickle_eval_or_exec():
    offenders = []
    for folder, _, files in os.walk(SRC):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                text = open(path, encoding="utf-8").read()
                offenders += [f"{path}: {pattern}" for pattern in FORBIDDEN if re.search(pattern, text)]
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
