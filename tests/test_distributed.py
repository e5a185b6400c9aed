"""Data-parallel training over MPI: 2 ranks equal one process on the same global batches; a dead
rank makes the others stop with a clear error; `mpirun chainrule train --distributed` works."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.train import distributed
from tests.distributed_worker import setup

try:
    import mpi4py  # noqa: F401

    HAVE_MPI4PY = True
except ImportError:
    HAVE_MPI4PY = False

MPIRUN = shutil.which("mpirun")
needs_mpi = pytest.mark.skipif(
    not (MPIRUN and HAVE_MPI4PY),
    reason="MPI is not installed (apt-get install openmpi-bin libopenmpi-dev; pip install mpi4py)",
)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def mpirun(n, *args, timeout=180, env=None):
    command = [MPIRUN, "-n", str(n), "--oversubscribe"]
    if os.geteuid() == 0:
        command.append("--allow-run-as-root")
    merged = dict(
        os.environ,
        PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
        OMPI_MCA_btl="self,vader",
        OMPI_MCA_rmaps_base_oversubscribe="1",
        **(env or {}),
    )
    return subprocess.run(command + list(args), capture_output=True, text=True, timeout=timeout, env=merged, cwd=ROOT)


def test_ranks_on_one_machine_split_its_cores_through_the_one_budget(monkeypatch):
    """Each of k ranks on one machine gets cores / k threads through set_num_threads, so that the budget knows them
    (a convolution then shares out those, not the machine's) and one rank alone changes nothing."""
    counts = []
    monkeypatch.setattr(distributed, "set_num_threads", counts.append)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    distributed._share_cores(1)
    distributed._share_cores(4)
    distributed._share_cores(16)
    assert counts == [2, 1]


def test_sampler_shards_are_disjoint_equal_and_reshuffled():
    shards = [distributed.DistributedSampler(9, rank=r, world_size=3, seed=1) for r in range(3)]
    first = [s.indices(0) for s in shards]
    assert sorted(np.concatenate(first)) == list(range(9))  # disjoint and complete
    assert not np.array_equal(shards[0].indices(0), shards[0].indices(1))  # reshuffled per epoch
    padded = [distributed.DistributedSampler(10, rank=r, world_size=3, seed=1).indices(0) for r in range(3)]
    assert [len(p) for p in padded] == [4, 4, 4] and set(np.concatenate(padded)) == set(range(10))


@needs_mpi
@pytest.mark.parametrize("mode", ["train", "shared"])
def test_two_ranks_equal_one_process_on_the_same_global_batches(tmp_path, mode):
    # "shared" uses one layer twice: its gradient is accumulated twice per backward, so the bucket
    # reduced while backward was still running must be reduced again
    result = mpirun(2, sys.executable, "tests/distributed_worker.py", mode, str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    rank0, rank1 = cr.load(str(tmp_path / "rank0.safetensors")), cr.load(str(tmp_path / "rank1.safetensors"))
    # the reference: one process, each step on the union of the two ranks' batches
    X, y, model = setup(shared=mode == "shared")
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    shards = [distributed.DistributedSampler(len(X), rank=r, world_size=2, seed=3).indices(0) for r in range(2)]
    for step in range(6):
        index = np.concatenate([s[step * 4 : (step + 1) * 4] for s in shards])
        opt.zero_grad()
        nn.CrossEntropyLoss()(model(cr.tensor(X[index])), cr.tensor(y[index])).backward()
        opt.step()
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(rank0[key], rank1[key])  # the ranks agree exactly
        np.testing.assert_allclose(rank0[key], value, rtol=1e-5, atol=1e-6, err_msg=key)


@needs_mpi
def test_a_dead_rank_stops_the_others_instead_of_hanging(tmp_path):
    result = mpirun(
        2,
        sys.executable,
        "tests/distributed_worker.py",
        "die",
        str(tmp_path),
        timeout=120,
        env={"CHAINRULE_DIST_TIMEOUT": "10"},
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "no answer from the other ranks" in output or "exited" in output.lower() or "aborted" in output.lower(), (
        output[-2000:]
    )
    assert not (tmp_path / "rank0.safetensors").exists()


@needs_mpi
def test_a_silent_rank_times_out_with_a_clear_error(tmp_path):
    result = mpirun(
        2,
        sys.executable,
        "tests/distributed_worker.py",
        "hang",
        str(tmp_path),
        timeout=120,
        env={"CHAINRULE_DIST_TIMEOUT": "3"},
    )
    assert result.returncode != 0
    assert "rank 0: averaging gradients got no answer from the other ranks for 3 s" in result.stderr, result.stderr[
        -2000:
    ]


@needs_mpi
def test_mpirun_chainrule_train_distributed(tmp_path):
    out = tmp_path / "run"
    result = mpirun(
        2,
        sys.executable,
        "-m",
        "chainrule",
        "train",
        "--distributed",
        "--data",
        "iris",
        "--hidden",
        "16",
        "--epochs",
        "5",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["distributed"] and summary["epochs_run"] == 5
    assert result.stderr.count("done: test accuracy") == 1  # only rank 0 reports
