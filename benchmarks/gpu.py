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
from run import paired_medians  # noqa: E402

import chainrule as cr  # noqa: E402
from chainrule import backend, nn, optim  # noqa: E402


def synchronized(fn, cupy):
    """``fn`` followed by a wait for every kernel it queued (CuPy and PyTorch share the device)."""

    def run():
        fn()
        cupy.cuda.Device().synchronize()
        torch.cuda.synchronize()

    return run


def mlp_sizes(width: int):
    return [(784, width), (width, width), (width, 10)]


def chainrule_mlp_epoch(X, y, batch, width, device="cuda"):
    cr.manual_seed(0)
    layers = []
    for fan_in, fan_out in mlp_sizes(width):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    model = nn.Sequential(*layers[:-1]).to(device)
    opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()

    def epoch():
        for i in range(0, len(X), batch):
            opt.zero_grad()
            loss_fn(model(cr.from_numpy(X[i : i + batch])), cr.from_numpy(y[i : i + batch])).backward()
            opt.step()

    return epoch


def torch_mlp_epoch(X, y, batch, width):
    torch.manual_seed(0)
    layers = []
    for fan_in, fan_out in mlp_sizes(width):
        layers += [torch.nn.Linear(fan_in, fan_out), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1]).cuda()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    def epoch():
        for i in range(0, len(X), batch):
            opt.zero_grad()
            loss_fn(model(X[i : i + batch]), y[i : i + batch]).backward()
            opt.step()

    return epoch


def cnn_steps(x, y, steps, make):
    model, opt, loss_fn = make()

    def run():
        for _ in range(steps):
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()

    return run


def chainrule_cnn():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1568, 10)).to("cuda")
    return model, optim.SGD(model.parameters(), lr=0.01, momentum=0.9), nn.CrossEntropyLoss()


def torch_cnn():
    torch.manual_seed(0)
    T = torch.nn
    model = T.Sequential(T.Conv2d(1, 16, 3, padding=1), T.ReLU(), T.MaxPool2d(2), T.Conv2d(16, 32, 3, padding=1), T.ReLU(),
                         T.MaxPool2d(2), T.Flatten(), T.Linear(1568, 10)).cuda()
    return model, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9), T.CrossEntropyLoss()


def chain(start, n=1000):
    """The per-op cost: n multiplications by a number, then backward through all of them."""

    def run():
        x = start()
        y = x
        for _ in range(n):
            y = y * 1.0001
        y.sum().backward()

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
    X_cp, y_cp = cupy.asarray(X_host), cupy.asarray(y_host)
    X_t, y_t = torch.from_numpy(X_host).cuda(), torch.from_numpy(y_host).cuda()
    gpu = torch.cuda.get_device_name(0)
    rows = []

    def compare(what, ours, theirs, unit_scale=1.0, unit="s"):
        a, b = paired_medians([synchronized(ours, cupy), synchronized(theirs, cupy)], repeats)
        rows.append((what, a * unit_scale, b * unit_scale, unit, a / b))
        print(f"{what:<46} chainrule {a * unit_scale:9.4f} {unit}   PyTorch {b * unit_scale:9.4f} {unit}   ratio {a / b:5.2f}", flush=True)

    for width, batches in ((256, (32, 128, 1024)), (4096, (128, 1024))):
        for batch in batches:
            compare(f"MLP 784-{width}-{width}-10 epoch ({n} samples), batch {batch}",
                    chainrule_mlp_epoch(X_cp, y_cp, batch, width), torch_mlp_epoch(X_t, y_t, batch, width))
    cpu_rows = []  # where the GPU starts to pay: the same epochs with chainrule on this machine's CPU
    for width, batch in ((256, 128), (256, 1024), (4096, 1024)):
        gpu_time = next(a for what, a, *_ in rows if what.startswith(f"MLP 784-{width}-") and what.endswith(f"batch {batch}"))
        cpu_n = n if width == 256 else n // 20
        (cpu_time,) = paired_medians([chainrule_mlp_epoch(X_host[:cpu_n], y_host[:cpu_n], batch, width, "cpu")], 3)
        cpu_time *= n / cpu_n
        cpu_rows.append((f"MLP 784-{width}-{width}-10 epoch, batch {batch}", cpu_time, gpu_time))
        print(f"chainrule CPU ({os.cpu_count()} cores) MLP {width} batch {batch}: {cpu_time:.3f} s per epoch, GPU {gpu_time:.3f} s", flush=True)
    steps = 20 if args.quick else 100
    xc = cupy.asarray(rng.random((128, 1, 28, 28), dtype=np.float32))
    yc = cupy.asarray(rng.integers(0, 10, 128))
    compare("CNN step (2 conv, batch 128), per step", cnn_steps(cr.from_numpy(xc), cr.from_numpy(yc), steps, chainrule_cnn),
            cnn_steps(torch.as_tensor(xc, device="cuda"), torch.as_tensor(yc, device="cuda"), steps, torch_cnn), 1000 / steps, "ms")
    compare("per op: 1000 multiplications, forward and backward", chain(lambda: cr.ones(4, requires_grad=True).to("cuda")),
            chain(lambda: torch.ones(4, device="cuda", requires_grad=True)), 1e6 / 1000, "µs")
    launch, launch_torch = paired_medians([synchronized(adds(cupy.ones(4, dtype=np.float32)), cupy),
                                           synchronized(adds(torch.ones(4, device="cuda")), cupy)], repeats)
    print(f"one kernel launch (a + b of 4 floats): CuPy {launch * 1e3:.2f} µs, PyTorch {launch_torch * 1e3:.2f} µs", flush=True)

    lines = [f"\n### GPU: {gpu}, {datetime.date.today()} {args.label}".rstrip(), "",
             f"CuPy {cupy.__version__}, PyTorch {torch.__version__}, NumPy {np.__version__}, Python {platform.python_version()}; "
             f"data in GPU memory for both; each timing ends with a device synchronize; medians of {repeats} interleaved runs. "
             f"One kernel launch (a + b of 4 floats) costs {launch * 1e3:.1f} µs from CuPy and {launch_torch * 1e3:.1f} µs from "
             "PyTorch: the small models here are bound by launches, not by the GPU's arithmetic.", "",
             "| what | chainrule | PyTorch | chainrule / PyTorch |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {what} | {a:.4g} {unit} | {b:.4g} {unit} | {r:.2f} |" for what, a, b, unit, r in rows]
    lines += ["", f"chainrule on this machine's CPU ({os.cpu_count()} cores, NumPy's BLAS) against chainrule on the GPU; the wide "
              "MLP's CPU figure is timed on a twentieth of the epoch and scaled:", "",
              "| what | chainrule CPU | chainrule GPU | CPU / GPU |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {what} | {c:.4g} s | {g:.4g} s | {c / g:.1f} |" for what, c, g in cpu_rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write or args.append:
        with open(args.write or args.append, "w" if args.write else "a") as f:
            f.write(text)


if __name__ == "__main__":
    main()
