"""Run folders: two runs never share one, a killed run's lock is taken over, and a folder whose run saved
nothing says that --overwrite is safe."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from chainrule.app.cli import main
from chainrule.app.folders import LOCK, RunLock, check_out, default_out, inside
from chainrule.errors import ConfigError

CHILD_HOLDS_LOCK = """
import sys, time
from chainrule.app.folders import RunLock
lock = RunLock(sys.argv[1]); lock.acquire(); print("locked", flush=True); time.sleep(60)
"""


def test_a_second_run_into_a_folder_in_use_is_refused_naming_the_first(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", CHILD_HOLDS_LOCK, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(ConfigError, match=f"in use by another run \\(process {child.pid}"):
            RunLock(str(tmp_path)).acquire()
    finally:
        child.kill()
        child.wait()
    # killed: the kernel released its lock; the file it left names it, and the next run takes it over
    assert json.loads((tmp_path / LOCK).read_text())["pid"] == child.pid
    with RunLock(str(tmp_path)):
        assert json.loads((tmp_path / LOCK).read_text())["pid"] == os.getpid()
    assert not (tmp_path / LOCK).exists()  # released: the file goes


def test_two_train_commands_into_one_folder_at_once(tmp_path):
    """Started together, one trains and the other is refused: the folder never holds two runs' metrics."""
    command = [sys.executable, "-m", "chainrule", "train", "--epochs", "3", "--early-stopping", "0", "--quiet"]
    runs = [
        subprocess.Popen(command + ["--out", str(tmp_path / "same")], stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(run.wait(300), run.stderr.read()) for run in runs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    assert "is in use by another run" in refused or "already holds a run" in refused
    assert len((tmp_path / "same" / "metrics.jsonl").read_text().splitlines()) == 3
    assert "Traceback" not in refused


def test_numbered_folders_are_claimed_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first, second = default_out("digits"), default_out("digits")
    assert first != second and os.path.isdir(first) and os.path.isdir(second)


def test_a_run_killed_before_its_first_checkpoint_says_overwrite_is_safe(tmp_path, capsys):
    out = tmp_path / "killed"
    out.mkdir()
    (out / "metrics.jsonl").write_text("")  # what a run killed in its first epoch leaves
    with pytest.raises(ConfigError, match="nothing was saved, so --overwrite is safe"):
        check_out(str(out), overwrite=False)
    assert main(["train", "--resume", str(out)]) == 2
    assert "holds no checkpoint" in capsys.readouterr().err
    (out / "checkpoint.safetensors").write_bytes(b"x")
    with pytest.raises(ConfigError, match="--resume"):
        check_out(str(out), overwrite=False)


def test_a_train_killed_in_its_first_epoch_can_be_started_again(tmp_path):
    """SIGKILL during the first epoch: the lock goes with the process, and --overwrite starts afresh."""
    out = tmp_path / "run"
    command = [sys.executable, "-m", "chainrule", "train", "--data", "digits", "--batch-size", "1", "--out", str(out)]
    child = subprocess.Popen(command + ["--quiet"], stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while not (out / "metrics.jsonl").exists() and time.time() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    again = subprocess.run(command + ["--epochs", "1"], capture_output=True, text=True, timeout=300)
    assert again.returncode == 2 and "--overwrite is safe" in again.stderr
    again = subprocess.run(command + ["--epochs", "1", "--overwrite", "--quiet"], capture_output=True, timeout=300)
    assert again.returncode == 0 and (out / "model.safetensors").exists()


def test_inside_follows_symlinks(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "out").symlink_to("/etc")
    assert inside(str(tmp_path / "data" / "x.csv"), str(tmp_path / "data"), "data")
    with pytest.raises(ConfigError, match="leads outside"):
        inside(str(tmp_path / "data" / "out" / "passwd"), str(tmp_path / "data"), "data")
