"""chainrule on CuPy against PyTorch on CUDA, in one process: MLP epochs at several batch sizes, a wide
MLP and the small CNN, with the data already in GPU memory for both. Each timing ends with a device
synchronize, so it counts the GPU's work and not only the launches. Needs CuPy, PyTorch with CUDA and
an NVIDIA GPU.

    python benchmarks/gpu.py [--quick] [--label TEXT] [--write FILE | --append FILE]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
sys.path.insert(0, os.path.dirname(__file__))

import torch  # noqa: E402
from inprocess import paired_medians  # noqa: E402
from workloads import (  # noqa: E402
    chainrule_chain,
    chainrule_cnn_step,
    chainrule_mlp_epoch,
    torch_chain,
    torch_cnn_step,
    torch_mlp_epoch,
)

from chainrule import backend  # noqa: E402


def synchronized(fn, cupy):
    """``fn`` followed by a wait for every kernel it queued (CuPy and PyTorch share the device)."""

    def run():
        fn()
        cupy.cuda.Device().synchronize()
        torch.cuda.synchronize()

    return run


def repeated(step, times):
    def run():
        for _ in range(times):
            step()

    return run


def adds(a, n=1000):
    """A library's own cost per kernel launch, for reference: n additions of two small GPU arrays."""

    def run():
        y = a
        for _ in range(n):
            y = y + a

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer samples and repetitions (a smoke run)")
    parser.add_argument("--label", default="", help="what this run's environment is (printed in the table)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", help="write the Markdown tables to this file")
    group.add_argument("--append", help="append the Markdown tables to this file")
    args = parser.parse_args()
    cupy = backend.cupy_module()
    n, repeats = (6000, 3) if args.quick else (60000, 7)
    rng = np.random.default_rng(0)
    X_host, y_host = rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)
    X_gpu, y_gpu = cupy.asarray(X_host), cupy.asarray(y_host)  # PyTorch reads the same GPU memory, no copy
    gpu = torch.cuda.get_device_name(0)
    rows = []

    def compare(what, ours, theirs, unit_scale=1.0, unit="s"):
        a, b = paired_medians([synchronized(ours, cupy), synchronized(theirs, cupy)], repeats)
        rows.append((what, a * unit_scale, b * unit_scale, unit, a / b))
        print(
            f"{what:<46} chainrule {a * unit_scale:9.4f} {unit}   PyTorch {b * unit_scale:9.4f} {unit}   ratio "
            f"{a / b:5.2f}",
            flush=True,
        )

    for width, batches in ((256, (32, 128, 1024)), (4096, (128, 1024))):
        for batch in batches:
            compare(
                f"MLP 784-{width}-{width}-10 epoch ({n} samples), batch {batch}",
                chainrule_mlp_epoch(X_gpu, y_gpu, batch, width, "cuda"),
                torch_mlp_epoch(X_gpu, y_gpu, batch, width, "cuda"),
            )
    cpu_rows = []  # where the GPU starts to pay: the same epochs with chainrule on this machine's CPU
    for width, batch in ((256, 128), (256, 1024), (4096, 1024)):
        gpu_time = next(
            a for what, a, *_ in rows if what.startswith(f"MLP 784-{width}-") and what.endswith(f"batch {batch}")
        )
        cpu_n = n if width == 256 else n // 20
        (cpu_time,) = paired_medians([chainrule_mlp_epoch(X_host[:cpu_n], y_host[:cpu_n], batch, width, "cpu")], 3)
        cpu_time *= n / cpu_n
        cpu_rows.append((f"MLP 784-{width}-{width}-10 epoch, batch {batch}", cpu_time, gpu_time))
        print(
            f"chainrule CPU ({os.cpu_count()} cores) MLP {width} batch {batch}: {cpu_time:.3f} s per epoch, GPU "
            f"{gpu_time:.3f} s",
            flush=True,
        )
    steps = 20 if args.quick else 100
    compare(
        "CNN step (2 conv, batch 128), per step",
        repeated(chainrule_cnn_step(128, "cuda"), steps),
        repeated(torch_cnn_step(128, "cuda"), steps),
        1000 / steps,
        "ms",
    )
    compare(
        "per op: 1000 multiplications, forward and backward",
        chainrule_chain(1000, "cuda"),
        torch_chain(1000, "cuda"),
        1e6 / 1000,
        "µs",
    )
    launch, launch_torch = paired_medians(
        [
            synchronized(adds(cupy.ones(4, dtype=np.float32)), cupy),
            synchronized(adds(torch.ones(4, device="cuda")), cupy),
        ],
        repeats,
    )
    print(
        f"one kernel launch (a + b of 4 floats): CuPy {launch * 1e3:.2f} µs, PyTorch {launch_torch * 1e3:.2f} µs",
        flush=True,
    )

    lines = [
        f"\n### GPU: {gpu}, {datetime.date.today()} {args.label}".rstrip(),
        "",
        f"CuPy {cupy.__version__}, PyTorch {torch.__version__}, NumPy {np.__version__}, Python "
        f"{platform.python_version()}; "
        f"data in GPU memory for both; each timing ends with a device synchronize; medians of {repeats} interleaved "
        f"runs. "
        f"One kernel launch (a + b of 4 floats) costs {launch * 1e3:.1f} µs from CuPy and {launch_torch * 1e3:.1f} "
        f"µs from "
        "PyTorch: the small models here are bound by launches, not by the GPU's arithmetic.",
        "",
        "| what | chainrule | PyTorch | chainrule / PyTorch |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [f"| {what} | {a:.4g} {unit} | {b:.4g} {unit} | {r:.2f} |" for what, a, b, unit, r in rows]
    lines += [
        "",
        f"chainrule on this machine's CPU ({os.cpu_count()} cores, NumPy's BLAS) against chainrule on the GPU; the "
        f"wide "
        "MLP's CPU figure is timed on a twentieth of the epoch and scaled:",
        "",
        "| what | chainrule CPU | chainrule GPU | CPU / GPU |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [f"| {what} | {c:.4g} s | {g:.4g} s | {c / g:.1f} |" for what, c, g in cpu_rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write or args.append:
        with open(args.write or args.append, "w" if args.write else "a") as f:
            f.write(text)


if __name__ == "__main__":
    main()
