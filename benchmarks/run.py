"""chainrule against PyTorch (CPU) in one process: MLP epochs, the matrix-product floor, a small CNN,
per-op overhead and memory. Prints medians and ratios; --write/--append put the table in a Markdown file.

    python benchmarks/run.py [--quick] [--label TEXT] [--write FILE | --append FILE]
"""

from __future__ import annotations

import argparse
import datetime
import gc
import os
import platform
import resource
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import chainrule as cr  # noqa: E402
from chainrule import nn, optim  # noqa: E402
from chainrule.backend import cpu  # noqa: E402

try:
    import torch
except ImportError:  # the benchmark still reports chainrule's own figures
    torch = None


def blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    infos = threadpool_info()
    return (
        "; ".join(
            f"{i.get('internal_api')} {i.get('version')} kernel {i.get('architecture')} ({i.get('num_threads')} "
            f"threads, {os.path.basename(i.get('filepath', ''))})"
            for i in infos
        )
        or "none found"
    )


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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


# ------------------------------------------------------------------ 1. MLP epoch
def data(n=60000, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)


# The builders take a device so that benchmarks/gpu.py times the same networks on a GPU (X, y there
# already in GPU memory).
def chainrule_mlp_epoch(X, y, batch, width=256, device="cpu"):
    cr.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(784, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 10)
    ).to(device)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def epoch():
        for i in range(0, len(X), batch):
            opt.zero_grad()
            loss = loss_fn(model(cr.from_numpy(X[i : i + batch])), cr.from_numpy(y[i : i + batch]))
            loss.backward()
            opt.step()

    return epoch


def torch_mlp_epoch(X, y, batch, width=256, device="cpu"):
    torch.manual_seed(0)
    T = torch.nn
    model = T.Sequential(T.Linear(784, width), T.ReLU(), T.Linear(width, width), T.ReLU(), T.Linear(width, 10)).to(
        device
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.as_tensor(X, device=device), torch.as_tensor(y, device=device)  # no copy where X already is there

    def epoch():
        for i in range(0, len(X), batch):
            opt.zero_grad()
            loss = loss_fn(model(Xt[i : i + batch]), yt[i : i + batch])
            loss.backward()
            opt.step()

    return epoch


def floor_epoch(X, batch):
    """The same step's matrix products alone: 3 forward, 3 weight-gradient, 2 input-gradient."""
    rng = np.random.default_rng(0)
    W = [rng.standard_normal(s).astype(np.float32) for s in ((256, 784), (256, 256), (10, 256))]
    h = [np.empty((batch, 256), np.float32), np.empty((batch, 256), np.float32)]
    g = np.ones((batch, 10), np.float32)
    g2 = np.empty((batch, 256), np.float32)

    def epoch():
        for i in range(0, len(X), batch):
            x = X[i : i + batch]
            n = len(x)
            a1 = np.matmul(x, W[0].T, out=h[0][:n])
            a2 = np.matmul(a1, W[1].T, out=h[1][:n])
            np.matmul(a2, W[2].T)
            np.matmul(g[:n].T, a2)
            d2 = np.matmul(g[:n], W[2], out=g2[:n])
            np.matmul(d2.T, a1)
            d1 = np.matmul(d2, W[1])
            np.matmul(d1.T, x)

    return epoch


# ------------------------------------------------------------------ 3. CNN step
def chainrule_cnn_step(batch=128, device="cpu"):
    cr.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(1568, 10),
    ).to(device)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = cr.from_numpy(np.random.default_rng(0).random((batch, 1, 28, 28), dtype=np.float32)).to(device)
    y = cr.from_numpy(np.random.default_rng(1).integers(0, 10, batch)).to(device)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    return step


def torch_cnn_step(batch=128, device="cpu"):
    torch.manual_seed(0)
    T = torch.nn
    model = T.Sequential(
        T.Conv2d(1, 16, 3, padding=1),
        T.ReLU(),
        T.MaxPool2d(2),
        T.Conv2d(16, 32, 3, padding=1),
        T.ReLU(),
        T.MaxPool2d(2),
        T.Flatten(),
        T.Linear(1568, 10),
    ).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.from_numpy(np.random.default_rng(0).random((batch, 1, 28, 28), dtype=np.float32)).to(device)
    y = torch.from_numpy(np.random.default_rng(1).integers(0, 10, batch)).to(device)
    loss_fn = T.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

    return step


def cnn_breakdown(steps: int = 20) -> list:
    """Where a chainrule CNN step spends its time: ms per step in each op's forward and backward."""
    from chainrule.function import Function

    totals: dict = {}

    def timed(cls, name):
        original = getattr(cls, name)

        def wrapper(self, *args, **kwargs):
            start = time.perf_counter()
            try:
                return original(self, *args, **kwargs)
            finally:
                key = (cls.op_name(), name)
                totals[key] = totals.get(key, 0.0) + time.perf_counter() - start

        return original, wrapper

    classes = set()
    stack = list(Function.__subclasses__())
    while stack:
        cls = stack.pop()
        classes.add(cls)
        stack.extend(cls.__subclasses__())
    saved = []
    for cls in classes:
        for name in ("forward", "backward"):
            if name in cls.__dict__:
                original, wrapper = timed(cls, name)
                saved.append((cls, name, original))
                setattr(cls, name, wrapper)
    try:
        step = chainrule_cnn_step()
        step()
        totals.clear()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        whole = (time.perf_counter() - start) / steps * 1e3
    finally:
        for cls, name, original in saved:
            setattr(cls, name, original)
    rows = sorted(((op, direction, t / steps * 1e3) for (op, direction), t in totals.items()), key=lambda r: -r[2])
    rows.append(("(everything else: optimizer, graph, Python)", "", whole - sum(r[2] for r in rows)))
    return rows


# ------------------------------------------------------------------ 4. per-op overhead
def chainrule_chain(n=1000, device="cpu"):
    def run():
        x = cr.tensor(np.ones(4, dtype=np.float32), requires_grad=True)
        y = x.to(device)
        for _ in range(n):
            y = y * 1.0001
        y.sum().backward()

    return run


def torch_chain(n=1000, device="cpu"):
    def run():
        x = torch.ones(4, requires_grad=True, device=device)
        y = x
        for _ in range(n):
            y = y * 1.0001
        y.sum().backward()

    return run


# ------------------------------------------------------------------ 5. memory
def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory_check(X, y, steps=10000, batch=128):
    """Resident memory after 1,000 and after `steps` MLP steps (flat means nothing is kept alive)."""
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    n = len(X) // batch
    marks = {}
    for step in range(1, steps + 1):
        i = (step % n) * batch
        opt.zero_grad()
        loss_fn(model(cr.from_numpy(X[i : i + batch])), cr.from_numpy(y[i : i + batch])).backward()
        opt.step()
        if step in (1000, steps):
            marks[step] = rss_mb()
    return marks, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
    for batch in (32, 128, 1024):
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
    # Batch 1, the textbook stochastic gradient descent, as µs per step: there each weight gradient is an outer
    # product, which NumPy's matmul computes without BLAS (backend/cpu.py outer)
    steps = 500 if args.quick else 2000
    fns = [chainrule_mlp_epoch(X[:steps], y[:steps], 1)] + ([torch_mlp_epoch(X[:steps], y[:steps], 1)] if torch else [])
    ours, *rest = ([t / steps * 1e6 for t in times] for times in paired_runs(fns, repeats))
    row(f"MLP 784-256-256-10 step, batch 1 ({steps:,} steps)", ours, rest[0] if torch else None, unit="us")
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
    steps = 2000 if args.quick else 10000
    marks, peak = memory_check(X, y, steps=steps)
    growth = marks[steps] - marks[1000]
    row(
        f"RSS growth, step 1,000 to {steps:,}",
        growth,
        unit="MB",
        note=f"(RSS {marks[1000]:.0f} -> {marks[steps]:.0f} MB; peak {peak:.0f} MB)",
    )

    if args.write or args.append:
        lines = [
            f"\n### {args.label or 'run'}\n",
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
        breakdown = cnn_breakdown()
        lines += [
            "",
            "Where chainrule's CNN step spends its time (ms per step, timed per op):",
            "",
            "| op | pass | ms |",
            "|---|---|---|",
        ]
        lines += [f"| {op} | {direction} | {ms:.2f} |" for op, direction, ms in breakdown]
        text = "\n".join(lines) + "\n"
        if args.write:
            header = (
                "# Benchmarks\n\nWritten by `make bench` (benchmarks/run.py): medians of repeated runs, "
                "chainrule and PyTorch in the same process, float32, the same thread count. MLP figures are seconds "
                "per epoch of 60,000 samples; the floor is the same step's matrix products alone in NumPy.\n"
            )
            with open(args.write, "w") as f:
                f.write(header + text)
        else:
            with open(args.append, "a") as f:
                f.write(text)


if __name__ == "__main__":
    main()
