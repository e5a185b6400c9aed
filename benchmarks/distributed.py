"""Data-parallel throughput with 1 and 2 MPI ranks, and the allreduce time per step against the
compute time per step. `python benchmarks/distributed.py` launches mpirun itself; --append FILE
adds the table to results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))


def worker(steps: int, batch: int, overlap: bool) -> None:
    import chainrule as cr
    from chainrule import nn, optim
    from chainrule.train import distributed

    rank, world = distributed.init()
    cr.manual_seed(0)
    rng = np.random.default_rng(rank)
    X = rng.random((steps * batch, 784), dtype=np.float32)
    y = rng.integers(0, 10, steps * batch)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    distributed.broadcast_parameters(model)
    inner = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    opt = distributed.DistributedOptimizer(inner, overlap=overlap)
    loss_fn = nn.CrossEntropyLoss()
    compute = reduce = 0.0
    distributed.sum_values([0.0])  # line the ranks up before timing
    start = time.perf_counter()
    for i in range(steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        loss_fn(
            model(cr.from_numpy(X[i * batch : (i + 1) * batch])), cr.from_numpy(y[i * batch : (i + 1) * batch])
        ).backward()
        t1 = time.perf_counter()
        opt.step()  # averaging (allreduce) and the SGD update
        t2 = time.perf_counter()
        compute += t1 - t0
        reduce += t2 - t1
    total = time.perf_counter() - start
    if rank == 0:
        print(
            json.dumps(
                {
                    "ranks": world,
                    "overlap": overlap,
                    "steps": steps,
                    "batch_per_rank": batch,
                    "seconds": total,
                    "samples_per_second": steps * batch * world / total,
                    "compute_ms_per_step": compute / steps * 1e3,
                    "allreduce_and_update_ms_per_step": reduce / steps * 1e3,
                }
            )
        )


def drive(args) -> None:
    mpirun = shutil.which("mpirun")
    if mpirun is None:
        print("mpirun not found: install openmpi-bin and mpi4py to benchmark distributed training")
        return
    rows = []
    for ranks, overlap in ((1, False), (2, False), (2, True)):
        command = [mpirun, "-n", str(ranks), "--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
        command += [sys.executable, __file__, "--worker", "--steps", str(args.steps), "--batch", str(args.batch)]
        command += [] if overlap else ["--no-overlap"]
        result = subprocess.run(
            command, capture_output=True, text=True, env=dict(os.environ, OMPI_MCA_btl="self,vader")
        )
        if result.returncode != 0:
            print(result.stderr[-2000:])
            return
        rows.append(json.loads(result.stdout.strip().splitlines()[-1]))
        print(rows[-1])
    single = rows[0]["samples_per_second"]
    lines = [
        f"\n### Distributed data-parallel (MPI), {args.label}\n",
        f"MLP 784-256-256-10, batch {args.batch} per rank, {args.steps} steps, SGD momentum; BLAS threads split "
        f"between the ranks.\n",
        "Compute is forward and backward (with overlap, the reductions started during backward count here); "
        "the last column is what step() still waits for, plus the SGD update.\n",
        "| ranks | overlap | samples/s | speed-up | compute ms/step | allreduce + update ms/step |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['ranks']} | {'yes' if r['overlap'] else 'no'} | {r['samples_per_second']:.0f} | "
            f"{r['samples_per_second'] / single:.2f} | "
            f"{r['compute_ms_per_step']:.2f} | {r['allreduce_and_update_ms_per_step']:.2f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.append:
        with open(args.append, "a") as f:
            f.write(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--label", default="")
    parser.add_argument("--no-overlap", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--append", help="append the table to this Markdown file")
    args = parser.parse_args()
    worker(args.steps, args.batch, not args.no_overlap) if args.worker else drive(args)
