"""No pickle anywhere; loading a checkpoint runs no code; config paths stay where the user said."""

import ast
import os
import pickle
import re

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
