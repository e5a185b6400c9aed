"""The playground's speed: training steps and frames per second for a 2-8-8-1 network on 500 points with
every heatmap on, as the server runs it (train for a frame's time, then build the frame), and the time
from the page's first message to its first frame. Run on one core (make bench sets the thread counts).

    python benchmarks/playground.py [--runs 5] [--seconds 3] [--append FILE]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from chainrule.playground.protocol import Connection  # noqa: E402
from chainrule.playground.server import FPS, _train_slice  # noqa: E402

SETTINGS = {
    "dataset": "spiral",
    "classes": 2,
    "points": 500,
    "hidden": [{"units": 8, "activation": "tanh"}, {"units": 8, "activation": "tanh"}],
    "loss": "bce",
    "batch_size": 10,
}


def one_run(seconds: float) -> tuple:
    connection = Connection()
    start = time.perf_counter()
    replies = connection.handle({"type": "config", "config": SETTINGS})
    first_frame = time.perf_counter() - start
    assert [r["type"] for r in replies] == ["network", "frame", "status"]
    session = connection.session
    steps0, frames = session.steps, 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        frame = _train_slice(connection, 1.0 / FPS)
        assert "heatmaps" in frame
        frames += 1
    elapsed = time.perf_counter() - start
    with session.lock:  # the cost of one frame alone, all heatmaps on
        t = time.perf_counter()
        for _ in range(20):
            session.frame()
        frame_ms = (time.perf_counter() - t) / 20 * 1000
    return (session.steps - steps0) / elapsed, frames / elapsed, frame_ms, first_frame * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--append", help="append the Markdown table to this file")
    args = parser.parse_args()
    results = [one_run(args.seconds) for _ in range(args.runs)]
    columns = list(zip(*results))
    names = ["training steps per second", "frames per second", "one frame (ms, all heatmaps)", "first frame (ms)"]
    lines = [
        "",
        f"## Playground: 2-8-8-1 tanh network, spiral of 500 points, batch 10, every heatmap on "
        f"({args.runs} runs of {args.seconds:g} s, threads: {os.environ.get('OPENBLAS_NUM_THREADS', 'default')})",
        "",
        "| measure | median | range |",
        "|---|---:|---:|",
    ]
    for name, values in zip(names, columns):
        lines.append(f"| {name} | {statistics.median(values):.1f} | {min(values):.1f}–{max(values):.1f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.append:
        with open(args.append, "a", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
