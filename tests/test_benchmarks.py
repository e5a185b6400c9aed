"""The benchmark harness measures what it says: each library's worker runs in a process that never loads
the other library, reports its startup apart from the steady-state times, and run.py pairs them."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKER = os.path.join(ROOT, "benchmarks", "worker.py")


def run_worker(*args, env=None):
    done = subprocess.run(
        [sys.executable, WORKER, *args], capture_output=True, text=True, check=True, env=env, timeout=300
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("library", ["chainrule", "torch"])
def test_worker_loads_only_its_library(library):
    pytest.importorskip("torch")
    result = run_worker(library, "chain", "--repeats", "3")
    assert result["library"] == library and result["unit"] == "us"
    assert result["other_library_loaded"] is False
    assert len(result["times"]) == 3 and all(t > 0 for t in result["times"])
    assert result["import_s"] > 0 and result["first_s"] > 0


def test_worker_mlp_reports_floor_and_one_thread():
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    result = run_worker("chainrule", "mlp128", "--samples", "1280", "--repeats", "2", "--threads", "1", env=env)
    assert len(result["times"]) == 2 and len(result["floor"]) == 2
    # the floor is part of the same step's work, so it is the smaller figure
    assert min(result["floor"]) < max(result["times"])
    assert "(1 threads" in result["blas"]


def test_numpy_path_switch_reaches_the_worker():
    env = dict(os.environ, CHAINRULE_NUMBA="0")
    result = run_worker("chainrule", "chain", "--repeats", "1", env=env)
    assert "off" in result["info"]
