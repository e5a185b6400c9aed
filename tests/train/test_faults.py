"""Faults: SIGTERM/SIGINT save and resume exactly; SIGKILL never leaves a run without a loadable
checkpoint; a failing write keeps the previous checkpoint."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn  # noqa: F401
import chainrule.train  # noqa: F401
from chainrule.errors import CheckpointError
from chainrule.train import load_checkpoint, read_metadata

ARGS = [
    "--data",
    "spirals",
    "--hidden",
    "32,32",
    "--dropout",
    "0.1",
    "--batch-size",
    "4",
    "--optimizer",
    "momentum",
    "--lr",
    "0.02",
    "--early-stopping",
    "0",
    "--scheduler",
    "cosine",
    "--quiet",
]


def _start(*args):
    return subprocess.Popen(
        [sys.executable, "-m", "chainrule", "train", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_for(path, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear")
        time.sleep(0.01)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_saves_mid_epoch_and_resume_matches_an_uninterrupted_run(tmp_path, sig):
    whole, cut = str(tmp_path / "whole"), str(tmp_path / "cut")
    assert (
        subprocess.run([sys.executable, "-m", "chainrule", "train", *ARGS, "--epochs", "40", "--out", whole]).returncode
        == 0
    )
    proc = _start(*ARGS, "--epochs", "40", "--out", cut)
    _wait_for(os.path.join(cut, "checkpoint.safetensors"))
    time.sleep(0.05)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert "resume with: chainrule train --resume" in err and len(err.strip().splitlines()) == 1
    meta = read_metadata(os.path.join(cut, "checkpoint.safetensors"))
    assert meta["epoch"] < 40 and "step" in meta  # stopped inside an epoch, at the end of a step
    resumed = subprocess.run(
        [sys.executable, "-m", "chainrule", "train", "--resume", cut, "--quiet"], capture_output=True, text=True
    )
    assert resumed.returncode == 0, resumed.stderr
    a, b = cr.load(os.path.join(whole, "model.safetensors")), cr.load(os.path.join(cut, "model.safetensors"))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    summary_a = json.loads(open(os.path.join(whole, "summary.json")).read())
    summary_b = json.loads(open(os.path.join(cut, "summary.json")).read())
    assert summary_a["test_loss"] == summary_b["test_loss"]


def test_sigkill_20_times_never_leaves_the_run_without_a_loadable_checkpoint(tmp_path):
    out = str(tmp_path / "run")
    checkpoint = os.path.join(out, "checkpoint.safetensors")
    rng = random.Random(0)
    proc = _start(*ARGS, "--epochs", "100000", "--out", out)
    _wait_for(checkpoint)
    for attempt in range(20):
        time.sleep(rng.uniform(0.0, 0.3))
        proc.kill()
        proc.wait(timeout=30)
        loaded = load_checkpoint(checkpoint)  # raises if torn
        assert loaded.epoch >= 1 and loaded.model_state, f"attempt {attempt}"
        proc = _start("--resume", out, "--quiet")
        time.sleep(0.15)  # let it load and write again before the next kill
    proc.kill()
    proc.wait(timeout=30)
    assert load_checkpoint(checkpoint).epoch >= 1


class _FullDisk:
    """A file object whose write fails as a full disk would."""

    def __init__(self, f):
        self.f = f

    def write(self, data):
        raise OSError(28, "No space left on device")

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.f.close()


def test_failed_write_keeps_previous_checkpoint(tmp_path, monkeypatch):
    model = cr.nn.Linear(3, 2)
    path = str(tmp_path / "checkpoint.safetensors")
    cr.train.save_checkpoint(path, model, None, {"epoch": 1})
    before = cr.load(path)
    real_fdopen = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda *a, **k: _FullDisk(real_fdopen(*a, **k)))
    with pytest.raises(CheckpointError, match="No space left on device"):
        cr.train.save_checkpoint(path, model, None, {"epoch": 2})
    monkeypatch.undo()
    assert read_metadata(path)["epoch"] == 1
    for key, value in cr.load(path).items():
        np.testing.assert_array_equal(value, before[key])
    assert os.listdir(tmp_path) == ["checkpoint.safetensors"]
