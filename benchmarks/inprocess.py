"""chainrule against PyTorch (CPU) in ONE process, their runs interleaved: the secondary table of `make
bench`. It is not how a user runs either library: in one process each library's idle worker threads
(OpenBLAS's, OpenMP's) keep spinning after their work and take the cores from the other, so a figure
depends on which library ran just before. benchmarks/run.py measures each in its own process; this
table stays to show the difference.

    python benchmarks/inprocess.py [--quick] [--label TEXT] [--write FILE | --append FILE]
"""

from __future__ import annotations

import argparse
import datetime
import gc
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

sys.path.insert(0, os.path.dirname(__file__))

from workloads import (  # noqa: E402
    blas_info,
    chainrule_chain,
    chainrule_cnn_step,
    chainrule_mlp_epoch,
    data,
    floor_epoch,
    torch_chain,
    torch_cnn_step,
    torch_mlp_epoch,
)

import chainrule as cr  # noqa: E402
from chainrule.backend import cpu  # noqa: E402

try:
    import torch
except ImportError:  # the benchmark still reports chainrule's own figures
    torch = None


def paired_runs(fns, repeats: int, collect: bool = True) -> list:
    """Each function's times, the runs interleaved (a, b, c, a, b, c, ...) so that a slow spell of a noisy
    machine hits all of them alike. ``collect``: a full garbage collection before each run, so that none pays
    for another's garbage (it also leaves the caches cold)."""
    for fn in fns:
        fn()  # warm up: first-touch allocations, BLAS thread start, kernel compilation
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, record in zip(fns, times):
            if collect:
                gc.collect()
            start = time.perf_counter()
            fn()
            record.append(time.perf_counter() - start)
    return times


def paired_medians(fns, repeats: int) -> list:
    """Median time of each function, the runs interleaved (see paired_runs)."""
    return [statistics.median(t) for t in paired_runs(fns, repeats)]


def numpy_path(fn):
    """``fn`` run with chainrule's Numba kernels switched off: the NumPy reference path."""

    def run():
        previous = cpu.set_fast_kernels(False)
        try:
            fn()
        finally:
            cpu.set_fast_kernels(previous)

    return run


def _figures(times):
    """(median, fastest, slowest) of a list of times; a single figure stands for all three."""
    if isinstance(times, (int, float)):
        return (times, times, times)
    return (statistics.median(times), min(times), max(times))


def _show(figures, unit: str) -> str:
    median, low, high = figures
    return f"{median:.4g} {unit}" if low == high else f"{median:.4g} {unit} [{low:.4g}-{high:.4g}]"


def _numba_version() -> str:
    import numba

    return numba.__version__


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and samples (a smoke run)")
    parser.add_argument("--label", default="", help="what this run's environment is (printed in the table)")
    parser.add_argument("--write", help="write the Markdown table to this file")
    parser.add_argument("--append", help="append the Markdown table to this file")
    args = parser.parse_args()
    repeats = 2 if args.quick else 5
    n = 6000 if args.quick else 60000
    threads = len(os.sched_getaffinity(0))
    if torch is not None:
        torch.set_num_threads(threads)
    X, y = data(n)
    scale = 60000 / n
    rows = []

    def row(name, ours, theirs=None, floor=None, unit="s", note=""):
        """ours, theirs: lists of times (median and range shown) or single figures; floor a single figure."""
        ours, theirs = _figures(ours), _figures(theirs) if theirs is not None else None
        rows.append((name, ours, theirs, floor, unit, note))
        print(
            f"{name:<44} chainrule {_show(ours, unit)}  "
            + (f"PyTorch {_show(theirs, unit)}  {ours[0] / theirs[0]:.2f}x  " if theirs else "")
            + (f"{ours[0] / floor:.2f}x floor " if floor else "")
            + note,
            flush=True,
        )

    kernels = f"on (numba {_numba_version()})" if cpu.fast_kernels_enabled() else "off (NumPy path)"
    print(
        f"chainrule benchmark {args.label}\nBLAS: {blas_info()}\nthreads: {threads}, numpy {np.__version__}, torch "
        f"{torch.__version__ if torch else 'absent'}, chainrule's Numba kernels {kernels}",
        flush=True,
    )
    for batch in (32, 128):
        fns = [chainrule_mlp_epoch(X, y, batch), floor_epoch(X, batch)] + (
            [torch_mlp_epoch(X, y, batch)] if torch else []
        )
        if batch == 128 and cpu.fast_kernels_enabled():
            fns.append(numpy_path(chainrule_mlp_epoch(X, y, batch)))
        ours, floor, *rest = ([t * scale for t in times] for times in paired_runs(fns, repeats))
        theirs = rest[0] if torch else None
        row(f"MLP 784-256-256-10 epoch, batch {batch}", ours, theirs, statistics.median(floor))
        if batch == 128 and cpu.fast_kernels_enabled():
            row("MLP epoch, batch 128, NumPy path", rest[-1], theirs, statistics.median(floor), note="(no Numba)")
    for tuned in (False, True):
        # The `chainrule` command tunes malloc for its process (backend.keep_freed_memory); so does the
        # second pair of rows, for both libraries alike, since they share the process.
        if tuned and not cr.backend.keep_freed_memory():
            break
        fns = [chainrule_cnn_step()] + ([torch_cnn_step()] if torch else [])
        if cpu.fast_kernels_enabled():
            fns.append(numpy_path(chainrule_cnn_step()))
        ours, *rest = ([t * 1e3 for t in times] for times in paired_runs(fns, repeats * 6))
        theirs = rest[0] if torch else None
        name = "CNN step, batch 128" + (", malloc tuned" if tuned else "")
        row(name, ours, theirs, unit="ms", note="(keep_freed_memory(), as the chainrule command does)" if tuned else "")
        if cpu.fast_kernels_enabled():
            row(name + ", NumPy path", rest[-1], theirs, unit="ms", note="(no Numba)")
    fns = [chainrule_chain()] + ([torch_chain()] if torch else [])
    ours, *rest = ([t / 1000 * 1e6 for t in times] for times in paired_runs(fns, repeats * 6))
    row("per op (1,000-op chain, fwd+bwd)", ours, rest[0] if torch else None, unit="us")
    # The same chains without the full collection before each run: a collection walks every object in the
    # process (PyTorch's included) and leaves the caches cold, which costs a 1,000-op chain about 0.5 us an op.
    ours, *rest = ([t / 1000 * 1e6 for t in times] for times in paired_runs(fns, repeats * 6, collect=False))
    row("per op, warm (no collection before each run)", ours, rest[0] if torch else None, unit="us")
    if args.write or args.append:
        lines = [
            f"\n### Secondary: both libraries in one process, their runs interleaved ({args.label or 'run'})\n",
            "Not how a user runs either: each library's idle worker threads take the cores from the other. "
            "The tables above, one process per library, are the figures to quote.\n",
            f"{datetime.date.today()}, {platform.machine()}, {threads} threads, Python {platform.python_version()}, "
            f"numpy {np.__version__}, torch {torch.__version__ if torch else 'absent'}  ",
            f"BLAS: {blas_info()}\n",
            f"chainrule's Numba kernels: {kernels}. Each figure: median [fastest-slowest] of the interleaved runs.\n",
            "| benchmark | chainrule | PyTorch | ratio | vs floor |",
            "|---|---|---|---|---|",
        ]
        for name, ours, theirs, floor, unit, note in rows:
            lines.append(
                f"| {name} | {_show(ours, unit)} | {_show(theirs, unit) if theirs else ''} | "
                f"{f'{ours[0] / theirs[0]:.2f}' if theirs else ''} | "
                f"{f'{ours[0] / floor:.2f} (floor {floor:.4g} s)' if floor else ''} {note} |"
            )
        text = "\n".join(lines) + "\n"
        with open(args.append or args.write, "a" if args.append else "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
