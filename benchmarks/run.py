"""chainrule against PyTorch (CPU) as a user runs them: each library in its own process, the processes
alternating (chainrule first in one pair, PyTorch first in the next), at one thread and at the machine's
default. For each row: the median of each process's median, the range over the processes, and the
median and range of the pairs' ratios. Startup (import, first step) has rows of its own.

    python benchmarks/run.py [--pairs 5] [--quick] [--only ROW] [--label TEXT] [--write FILE | --append FILE]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

# row name, worker workload, whether the NumPy path (CHAINRULE_NUMBA=0) gets a process of its own too
ROWS = [
    ("MLP 784-256-256-10 epoch of 60,000, batch 32", "mlp32", False),
    ("MLP 784-256-256-10 epoch of 60,000, batch 128", "mlp128", True),
    ("MLP 784-256-256-10 epoch of 60,000, batch 1024", "mlp1024", False),
    ("MLP 784-256-256-10 step, batch 1 (2,000 steps)", "mlp1", False),
    ("CNN step (conv16-pool-conv32-pool-linear), batch 128", "cnn", True),
    ("per op (1,000-op chain, forward and backward)", "chain", False),
    ("char GPT step (4 layers, 4 heads, width 128, context 64, batch 32)", "gpt", False),
    ("LSTM language model step (2 layers, hidden 256, 64 steps, batch 32)", "lstm", False),
    ("WaveNet-style step (makemore: embeddings, 3 levels of Linear-BatchNorm1d-tanh, batch 32)", "wavenet", False),
    (
        "`chainrule train --data names --model transformer --embed 64 --layers 2` step, batch 64",
        "names_transformer",
        False,
    ),
    ("`chainrule train --data names --model lstm` step (embed 32, hidden 128), batch 64", "names_lstm", False),
]
# One thread: every library's pool asked for one (the variables each reads); the default: none set.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


# The workloads that also get a chainrule process with set_num_threads("auto") (CHAINRULE_THREADS=auto) at the
# default thread count: it times the steps under OpenBLAS's threads, chainrule's own and one thread, and keeps the
# fastest (backend/threads.py).
AUTO_ROWS = ("mlp32", "mlp128", "cnn")


def worker(library: str, workload: str, threads: int | None, numpy_path=False, extra=(), auto=False) -> dict:
    """Run benchmarks/worker.py in a fresh process; its one JSON line."""
    env = dict(os.environ)
    for name in THREAD_VARIABLES + ("CHAINRULE_THREADS",):
        env.pop(name, None)
        if threads and name != "CHAINRULE_THREADS":
            env[name] = str(threads)
    if numpy_path:
        env["CHAINRULE_NUMBA"] = "0"
    if auto:
        env["CHAINRULE_THREADS"] = "auto"
    command = [sys.executable, os.path.join(HERE, "worker.py"), library, workload, *extra]
    if threads:
        command += ["--threads", str(threads)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"benchmark worker {' '.join(command[1:])} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def spread(values) -> tuple:
    return statistics.median(values), min(values), max(values)


def show(figures, unit="") -> str:
    median, low, high = figures
    unit = f" {unit}" if unit else ""
    return f"{median:.4g}{unit} [{low:.4g}–{high:.4g}]"


def burners(count: int) -> list:
    """``count`` processes that keep a core busy each (a loaded machine), until terminated."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]


def compare(workload: str, with_numpy_path: bool, threads: int | None, pairs: int, extra, busy: int = 0) -> dict:
    """``pairs`` alternations of the libraries' processes (with ``busy`` other processes spinning meanwhile);
    every process's result."""
    runs = {"chainrule": [], "numpy path": [], "auto threads": [], "torch": []}
    load = burners(busy)
    try:
        return _alternate(runs, workload, with_numpy_path, threads, pairs, extra)
    finally:
        for process in load:
            process.terminate()
            process.wait()


def _alternate(runs, workload, with_numpy_path, threads, pairs, extra) -> dict:
    for pair in range(pairs):
        order = [("chainrule", False)] + ([("numpy path", True)] if with_numpy_path else [])
        if threads is None and workload in AUTO_ROWS:
            order.append(("auto threads", False))
        order.append(("torch", False))
        if pair % 2:
            order.reverse()
        for name, numpy_path in order:
            library = "torch" if name == "torch" else "chainrule"
            runs[name].append(worker(library, workload, threads, numpy_path, extra, auto=name == "auto threads"))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=5, help="alternations of the processes per row (default 5)")
    parser.add_argument("--quick", action="store_true", help="2 pairs, a tenth of each epoch: a smoke run")
    parser.add_argument("--only", action="append", help="run only these workloads (mlp32, cnn, ...)")
    parser.add_argument("--threads", default="1,default", help="thread settings to run (default: 1,default)")
    parser.add_argument("--label", default="", help="what this run's environment is (printed in the table)")
    parser.add_argument(
        "--busy",
        type=int,
        default=0,
        help="also time MLP and CNN with this many other processes spinning (a loaded machine)",
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", help="write the Markdown tables to this file")
    group.add_argument("--append", help="append the Markdown tables to this file")
    args = parser.parse_args()
    pairs = 2 if args.quick else args.pairs
    extra = ["--samples", "6000"] if args.quick else []
    settings = [None if t == "default" else int(t) for t in args.threads.split(",")]
    overrides = ", ".join(f"{v}={os.environ[v]}" for v in OPENBLAS_OVERRIDES if v in os.environ) or "neither set"
    header = f"chainrule benchmark, {args.label or 'run'} ({', '.join(OPENBLAS_OVERRIDES)}: {overrides})"
    print(header, flush=True)
    table, startup, blas = [], {}, {}
    for name, workload, with_numpy_path in ROWS:
        if args.only and workload not in args.only:
            continue
        for threads in settings:
            runs = compare(workload, with_numpy_path, threads, pairs, extra)
            label = "1" if threads == 1 else f"default ({os.cpu_count()})"
            for library, results in runs.items():
                if results:
                    blas.setdefault((library, label), results[0]["blas"] + "; " + results[0]["info"])
                    key = (library, threads)
                    startup.setdefault(key, {"import": [], "first": {}})
                    startup[key]["import"] += [r["import_s"] for r in results]
                    startup[key]["first"].setdefault(workload, []).extend(r["first_s"] for r in results)
            medians = {lib: [statistics.median(r["times"]) for r in results] for lib, results in runs.items()}
            ratios = [a / b for a, b in zip(medians["chainrule"], medians["torch"])]
            floor = [statistics.median(r["floor"]) for r in runs["chainrule"] if r["floor"]]
            unit = runs["chainrule"][0]["unit"]
            cells = [
                name,
                label,
                show(spread(medians["chainrule"]), unit),
                show(spread(medians["torch"]), unit),
                f"**{statistics.median(ratios):.2f}** [{min(ratios):.2f}–{max(ratios):.2f}]",
                f"{statistics.median(medians['chainrule']) / statistics.median(floor):.2f} "
                f"(floor {statistics.median(floor):.3g} s)"
                if floor
                else "",
            ]
            table.append(cells)
            print(" | ".join(cells), flush=True)
            for variant, title in (
                ("numpy path", ", NumPy path (no Numba)"),
                ("auto threads", ', set_num_threads("auto")'),
            ):
                if not runs[variant]:
                    continue
                ratios = [a / b for a, b in zip(medians[variant], medians["torch"])]
                cells = [
                    name + title,
                    label,
                    show(spread(medians[variant]), unit),
                    show(spread(medians["torch"]), unit),
                    f"{statistics.median(ratios):.2f} [{min(ratios):.2f}–{max(ratios):.2f}]",
                    "",
                ]
                table.append(cells)
                print(" | ".join(cells), flush=True)
    loaded = []
    for name, workload in (("MLP epoch, batch 128", "mlp128"), ("CNN step, batch 128", "cnn")):
        if not args.busy or (args.only and workload not in args.only):
            continue
        quiet, busy = (compare(workload, False, None, pairs, extra, load) for load in (0, args.busy))
        single = compare(workload, False, 1, pairs, extra, args.busy)  # one thread each, loaded
        slow = {}
        for library in ("chainrule", "auto threads", "torch"):
            a, b, c = (  # one thread each: the tuner has nothing to choose, so no "auto threads" process
                statistics.median(statistics.median(r["times"]) for r in runs[library]) if runs[library] else None
                for runs in (quiet, busy, single)
            )
            slow[library] = (a, b, b / a, c)
        loaded.append((name, slow))
        print(name, {k: f"{v[2]:.2f}x" for k, v in slow.items()}, flush=True)
    memory = worker("chainrule", "memory", None, extra=extra) if not args.only else None
    breakdown = worker("chainrule", "breakdown", None) if not args.only else None

    lines = [
        f"\n### {args.label or 'run'}\n",
        f"{datetime.date.today()}, {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {np.__version__}; {', '.join(OPENBLAS_OVERRIDES)}: {overrides}. Each library in its own process, "
        f"{pairs} alternating pairs per row; each figure is the median over the processes of each process's "
        "median [the fastest and slowest process]; the ratio is the median of the pairs' ratios [their range].\n",
        "| benchmark | threads | chainrule | PyTorch | chainrule / PyTorch | vs its matrix products |",
        "|---|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(cells) + " |" for cells in table]
    lines += [
        "",
        "Startup, excluded above (seconds, median [range] over every process of the run): the library's import, and "
        "the first step of a fresh model (Numba kernels loaded from the disk cache or compiled, first-touch "
        "allocations, thread start).",
        "",
        "| library | threads | import | " + " | ".join(f"first step, {w}" for _, w, _ in ROWS) + " |",
        "|---|---|---|" + "---|" * len(ROWS),
    ]
    for (library, threads), values in startup.items():
        firsts = [show(spread(values["first"][w])) if w in values["first"] else "" for _, w, _ in ROWS]
        label = "1" if threads == 1 else "default"
        lines.append(f"| {library} | {label} | {show(spread(values['import']))} | " + " | ".join(firsts) + " |")
    if loaded:
        lines += [
            "",
            f"A loaded machine: the same runs with {args.busy} other processes spinning meanwhile, default threads "
            f"(medians of {pairs} alternating pairs, quiet then loaded); the slowdown is loaded over quiet:",
            "",
            "| workload | library | quiet | loaded | slowdown | loaded, 1 thread |",
            "|---|---|---|---|---|---|",
        ]
        for name, slow in loaded:
            titles = (
                ("chainrule", "chainrule"),
                ("auto threads", 'chainrule, set_num_threads("auto")'),
                ("torch", "PyTorch"),
            )
            for library, title in titles:
                a, b, r, e = slow[library]
                single = "" if e is None else f"{e:.4g}"  # no one-thread run under "auto": nothing to choose
                lines.append(f"| {name} | {title} | {a:.4g} | {b:.4g} | **{r:.2f}** | {single} |")
    lines += ["", "Libraries loaded in each kind of process:", ""]
    lines += [f"- {library}, {label} threads: {text}" for (library, label), text in blas.items()]
    if memory:
        rss = memory["rss_mb"]
        lines += [
            "",
            f"chainrule's resident memory over 10,000 MLP steps at batch 128: {rss['1000']:.0f} MB after 1,000, "
            f"{rss['10000']:.0f} MB after 10,000 (growth {rss['10000'] - rss['1000']:.0f} MB), peak "
            f"{memory['peak_mb']:.0f} MB.",
        ]
    if breakdown:
        lines += ["", "Where chainrule's CNN step spends its time (ms per step, timed per op):", ""]
        lines += ["| op | pass | ms |", "|---|---|---|"]
        lines += [f"| {op} | {direction} | {ms:.2f} |" for op, direction, ms in breakdown["rows"]]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        intro = (
            "# Benchmarks\n\nWritten by `make bench`. `benchmarks/run.py`: chainrule and PyTorch 2.13 (CPU), float32, "
            "**each in its own process** (benchmarks/worker.py), alternating, as a user runs one or the other. "
            "MLP figures are seconds per epoch of 60,000 samples; the floor is the same step's matrix products "
            "alone in NumPy, timed in chainrule's processes.\n"
        )
        with open(args.write, "w", encoding="utf-8") as f:
            f.write(intro + text)
    elif args.append:
        with open(args.append, "a", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
