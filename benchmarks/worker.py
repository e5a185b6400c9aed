"""One library, one workload, in this process alone: what benchmarks/run.py starts for each measurement,
alternating libraries, so that each is timed as a user runs it. Prints one JSON line: the import time,
the first step's time (kernel compilation or loading, first-touch allocations, thread start) and the
steady-state times of the repeated runs. `memory` and `breakdown` are chainrule's alone: resident memory
over 10,000 MLP steps, and a CNN step's time per op.

    python benchmarks/worker.py {chainrule,torch} WORKLOAD [--threads N] [--repeats R] [--samples N]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
sys.path.insert(0, os.path.dirname(__file__))

import workloads as w  # noqa: E402  (imports NumPy, before the timed import, in both libraries' processes)

# workload: (unit, scale to the unit, the default number of timed repeats)
WORKLOADS = {
    "mlp32": ("s", 1.0, 3),
    "mlp128": ("s", 1.0, 3),
    "mlp1024": ("s", 1.0, 3),
    "mlp1": ("us", 1e6, 3),  # µs per step of 2,000 batch-1 steps
    "cnn": ("ms", 1e3, 10),  # ms per step, each timed run 10 steps in a row (CONSECUTIVE)
    "chain": ("us", 1e6 / 1000, 30),  # µs per op of a 1,000-op chain, forward and backward
    "gpt": ("ms", 1e3, 10),  # a character-level GPT's training step (workloads.gpt_step)
    "lstm": ("ms", 1e3, 10),  # a 2-layer LSTM language model's step
    "wavenet": ("ms", 1e3, 50),  # makemore's WaveNet-style stack's step
    "names_transformer": ("ms", 1e3, 30),  # the step of `chainrule train --data names --model transformer ...`
    "names_lstm": ("ms", 1e3, 30),  # the same for --model lstm
}
BATCH1_STEPS = 2000
# Each timed run of these is this many steps in a row, as training runs them (the figure is per step): a single
# step between two collections leaves the cores idle long enough for worker threads to sleep, and waking them (in
# a virtual machine) then counts in every step.
CONSECUTIVE = {"cnn": 10}
# Steps run untimed after the first, in every process: as the MLP's warm-up epoch does, long enough for
# set_num_threads("auto")'s first comparison (about 1 s) in chainrule's auto-threads processes.
WARM_UP_S = 2.0


def builders(library: str):
    if library == "torch":
        return w.torch_mlp_epoch, w.torch_cnn_step, w.torch_chain
    return w.chainrule_mlp_epoch, w.chainrule_cnn_step, w.chainrule_chain


def timed(fn) -> float:
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(library: str, workload: str, repeats: int, samples: int, threads: int | None) -> dict:
    start = time.perf_counter()
    if library == "torch":
        import torch

        if threads:
            torch.set_num_threads(threads)
        info = f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    else:
        import chainrule  # noqa: F401
        from chainrule.backend import cpu

        info = "Numba kernels " + ("on" if cpu.fast_kernels_enabled() else "off (NumPy path)")
    import_s = time.perf_counter() - start
    mlp, cnn, chain = builders(library)
    unit, scale, default_repeats = WORKLOADS[workload]
    repeats = repeats or default_repeats
    floor = []
    if workload.startswith("mlp"):
        batch = int(workload[3:])
        X, y = w.data(BATCH1_STEPS if batch == 1 else samples)
        first_s = timed(mlp(X[:batch], y[:batch], batch))  # a fresh model's first step
        run = mlp(X, y, batch)
        run()  # a warm-up epoch, not timed
        per = BATCH1_STEPS if batch == 1 else samples / 60000  # batch 1: per step; else scaled to 60,000
        base = w.floor_epoch(X, batch) if library == "chainrule" and batch > 1 else None
        times = []
        for _ in range(repeats):
            times.append(timed(run) / per * scale if batch == 1 else timed(run) / per)
            if base is not None:  # the same step's matrix products alone, interleaved with the epochs
                floor.append(timed(base) / per)
    else:
        if workload in ("gpt", "lstm", "wavenet"):  # PyTorch code, the same text for both libraries
            run = getattr(w, f"{workload}_step")(w.library(library))
        elif workload.startswith("names_"):
            run = w.command_lm_step(w.library(library), workload[len("names_") :])
        else:
            run = cnn() if workload == "cnn" else chain()
        first_s = timed(run)
        warm = time.perf_counter()
        run()
        while time.perf_counter() - warm < WARM_UP_S:  # the same in both libraries' processes
            run()
        steps = CONSECUTIVE.get(workload, 1)
        times = [timed(lambda: [run() for _ in range(steps)]) / steps * scale for _ in range(repeats)]
    if library == "chainrule":
        from chainrule.backend import threads as thread_budget

        tuner = thread_budget._state["tuner"]
        if tuner is not None:  # CHAINRULE_THREADS=auto: the counts its comparisons chose, in order
            chosen = ",".join(f"{how} {count}" for _, _, (how, count) in tuner.history)
            info += "; threads auto, chose " + (chosen or "nothing yet")
    return {
        "library": library,
        "workload": workload,
        "unit": unit,
        "import_s": import_s,
        "first_s": first_s,
        "times": times,
        "floor": floor,
        "info": info,
        "blas": w.blas_info(),
        "other_library_loaded": ("chainrule" if library == "torch" else "torch") in sys.modules,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("library", choices=["chainrule", "torch"])
    parser.add_argument("workload", choices=sorted(WORKLOADS) + ["memory", "breakdown"])
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (run.py also sets the libraries' env)")
    parser.add_argument("--repeats", type=int, help="timed runs after the warm-up")
    parser.add_argument("--samples", type=int, default=60000, help="an MLP epoch's samples (figures scaled to 60,000)")
    args = parser.parse_args()
    if args.workload == "memory":
        X, y = w.data(args.samples)
        marks, peak = w.memory_check(X, y, steps=10000)
        print(json.dumps({"rss_mb": marks, "peak_mb": peak}), flush=True)
    elif args.workload == "breakdown":
        print(json.dumps({"rows": w.cnn_breakdown()}), flush=True)
    else:
        print(json.dumps(measure(args.library, args.workload, args.repeats, args.samples, args.threads)), flush=True)


if __name__ == "__main__":
    main()
