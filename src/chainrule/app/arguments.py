"""What the command's subcommands share: the parser that fails in one line, the argument types, exit codes and
Ctrl-C handling."""

from __future__ import annotations

import argparse
import re
import signal
import sys

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports Ctrl-C


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit 2 (argparse would print the usage too)
        where = "" if self.prog == "chainrule" else f"{self.prog.removeprefix('chainrule ')}: "
        raise SystemExit(fail(f"{where}{message} (see --help)"))


def fail(message: str) -> int:
    print(f"chainrule: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def positive_int(text: str, message: str = "expected a positive integer") -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{message}, got {text!r}")
    return value


def thread_count(text: str):
    """--threads: a positive whole number, or 'auto' (chosen by timing the steps: backend/threads.py)."""
    return "auto" if text == "auto" else positive_int(text, "expected a positive number of threads or auto")


def hidden_sizes(text: str) -> list:
    """Layer sizes separated by commas and/or spaces: '128,64', '128 64' and '128, 64' all mean [128, 64];
    'none' (or nothing) means no hidden layer."""
    if text.strip().lower() in ("", "none"):
        return []
    try:
        sizes = [int(part) for part in re.split(r"[,\s]+", text.strip()) if part]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer sizes such as 128,64, got {text!r}") from None
    if any(s <= 0 for s in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive integers, got {text!r}")
    return sizes


def batch_size_arg(text: str):
    if text == "full":
        return "full"
    return positive_int(text, "batch size must be a positive integer (or 'full' for the whole set)")


def on_sigint(handler) -> None:
    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: signals are not ours to handle
        pass


def stop_listening_to_ctrl_c() -> None:
    """The command is on its way out after a Ctrl-C: one more, as people press it twice, must not become a
    traceback or a death by signal while it exits."""
    on_sigint(signal.SIG_IGN)
