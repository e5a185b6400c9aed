"""How the cores are shared out: one thread budget for the matrix products (BLAS), the convolutions' blocks and the
multi-core kernels, fixed or chosen while training runs by timing the steps.

Two ways to use n cores, and neither always wins:

- ``("blas", n)``, the default: OpenBLAS splits each matrix product over n threads. Best for an MLP: an epoch at
  batch 32 took 1.05 s on two threads, 1.5 s on one. But OpenBLAS's idle threads spin for a while after each
  product, so no other thread of ours can use those cores meanwhile.
- ``("own", n)``: OpenBLAS on one thread; chainrule spreads a convolution's blocks of images over n threads of its
  own (backend/conv.py), and the Numba kernels use n. The benchmark CNN's convolutions: 11.4 ms against 13.8 ms.
  So a fixed budget of n >= 2 threads moves to this way at the first convolution on the CPU
  (``convolution_starts``) and keeps it: by the program, not by a clock, so a run repeats bit for bit. Both ways at
  once lose: the spinning threads left by the Linear layer's three products took the cores from the convolutions'
  (the benchmark CNN's step 23.6-24.8 ms against 14.9-15.6 ms all "own" and 17.0-17.8 ms all "blas").

And on a machine whose cores are shared (a busy machine; a virtual machine whose host gives its cores to others
too), threads that must meet at the end of every product can be far slower than one: the MLP epoch at batch 32
took 2.8-3.0 s on two threads in the phases (seconds to minutes) when this machine's host was busy, and 5.9 s
with two other processes running beside it, where one thread took 1.6 s. PyTorch's epoch slows the same way.
So ``set_num_threads("auto")`` times the steps under each way and count in turn, keeps the fastest, and looks
again every few seconds.
"""

from __future__ import annotations

import os
import time

from . import blas, conv, cpu

_state: dict = {"tuner": None, "mode": None}


def get_num_threads() -> int:
    """The threads the work is spread over now (PyTorch's ``torch.get_num_threads``)."""
    mode = _state["mode"]
    return mode[1] if mode is not None else blas.get_threads()


def _apply(choice: tuple) -> None:
    """Share the cores out as ``choice`` says: ("blas", n) or ("own", n)."""
    how, threads = choice
    blas.set_threads(threads if how == "blas" else 1)
    conv.set_block_threads(threads if how == "own" else 1)
    cpu.set_num_threads(threads)
    _state["mode"] = choice


def set_num_threads(threads) -> None:
    """Spread the work over this many threads (PyTorch's ``torch.set_num_threads``): each matrix product over them
    (OpenBLAS), and the multi-core kernels. Or ``"auto"``: from now on, chosen while training runs (``Tuner``:
    every optimizer step is timed) among the ways to use the cores the process started with and fewer, which may
    change the last bits of a product from one run to the next. Without threadpoolctl (the ``all`` extra) only
    the kernels follow a count, and "auto" has nothing to choose."""
    if threads == "auto":
        if _state["tuner"] is None:
            choices = _choices(blas.default_threads()) if blas.available() else ()
            if len(choices) > 1 and _state["mode"] not in (None, choices[0]):
                _apply(choices[0])  # a count set before: the tuner starts from the process's own
            _state["tuner"] = Tuner(choices) if len(choices) > 1 else None
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"set_num_threads: expected a whole number of threads >= 1 or 'auto', got {threads!r}")
    _state["tuner"] = None
    _apply(("blas", threads))


def convolution_starts() -> None:
    """A convolution is about to run on the CPU: a fixed budget of n >= 2 threads ("blas", n; where none was set,
    OpenBLAS's count now, which the user may have limited) becomes ("own", n) and stays so until set_num_threads is
    called again. Nothing under "auto" (it times both), on one thread, or where OpenBLAS's count cannot be set."""
    mode = _state["mode"]
    if _state["tuner"] is not None or (mode is not None and mode[0] == "own"):
        return
    count = mode[1] if mode is not None else blas.get_threads()
    if count > 1 and blas.available():
        _apply(("own", count))


def tuning() -> bool:
    """True while ``set_num_threads("auto")`` is choosing."""
    return _state["tuner"] is not None


def _choices(top: int) -> tuple:
    """What the tuner tries, the default first: each count from the process's down to one by halving, each as
    BLAS's threads and as chainrule's own (2 -> ("blas", 2), ("own", 2), ("blas", 1))."""
    choices, threads = [], max(1, top)
    while threads > 1:
        choices += [("blas", threads), ("own", threads)]
        threads //= 2
    return tuple(choices + [("blas", 1)])


def step_mark() -> None:
    """One training step has passed (the optimizer's step calls this): the tuner's clock."""
    tuner = _state["tuner"]
    if tuner is not None:
        tuner.tick(time.perf_counter())


class Tuner:
    """Times the steps under each choice in turn and keeps the fastest.

    Each choice runs for a window of at least ``min_steps`` steps and ``min_seconds``, after ``settle`` steps and
    ``settle_seconds`` to let the switch pass (OpenBLAS's idle threads spin for about 0.1 s after their last
    product before they sleep, taking the cores from chainrule's own meanwhile); its median step time is its score
    (a median: a step that also evaluated or saved counts once, not by its length). The fastest then holds for
    ``hold`` times as long as the whole comparison took, at least ``MIN_HOLD`` seconds, and the comparison runs
    again, starting with the choice that holds (the machine's state changes: a busy host, other programs). So the
    slower choices run about 1/hold of the time at most. A choice must beat the one that holds by ``margin`` to
    take over, so that noise does not flip them.
    """

    MIN_HOLD = 2.0  # seconds

    def __init__(self, choices, min_steps=5, min_seconds=0.05, settle=1, settle_seconds=0.25, hold=10.0, margin=0.05):
        self.choices = tuple(choices)
        self.min_steps, self.min_seconds = min_steps, min_seconds
        self.settle, self.settle_seconds = settle, settle_seconds
        self.hold, self.margin = hold, margin
        self.current = self.choices[0]
        self.last = None  # the previous step's time
        self.history: list = []  # (time, {choice: median step seconds}, the choice kept), the last 20
        self._explore(self.current)

    def _explore(self, first) -> None:
        self.queue = [first] + [c for c in self.choices if c != first]
        self.scores: dict = {}
        self.started = None
        self._next()

    def _next(self) -> None:
        self.trying = self.queue.pop(0)
        if self.trying != self.current:
            _apply(self.trying)
        self.current = self.trying
        self.samples: list = []
        self.skip, self.settled = self.settle, None  # steps to skip, then the time the skipping ends
        self.until = None  # holding until this time, once a choice is made

    def tick(self, now: float) -> None:
        last, self.last = self.last, now
        if last is None:
            return
        if self.until is not None:  # holding the chosen count
            if now >= self.until:
                self._explore(self.current)
            return
        if self.started is None:
            self.started = last
        if self.settled is None:
            self.settled = last + self.settle_seconds
        if self.skip or now < self.settled:
            self.skip = max(0, self.skip - 1)
            return
        self.samples.append(now - last)
        if len(self.samples) < self.min_steps or sum(self.samples) < self.min_seconds:
            return
        self.samples.sort()
        self.scores[self.trying] = self.samples[len(self.samples) // 2]
        if self.queue:
            self._next()
            return
        holder = next(iter(self.scores))  # the choice that held before this comparison (tried first)
        best = min(self.scores, key=self.scores.get)
        if best != holder and self.scores[best] > self.scores[holder] * (1 - self.margin):
            best = holder
        if best != self.current:
            _apply(best)
        self.current = best
        self.history.append((now, dict(self.scores), best))
        del self.history[:-20]
        self.until = now + max(self.MIN_HOLD, self.hold * (now - self.started))


def _from_environment(value: str) -> None:
    """CHAINRULE_THREADS, for a program whose code cannot be changed: a count, or "auto"; anything else is named
    in a warning and left alone (an import should not fail over it)."""
    try:
        set_num_threads(value if value == "auto" else int(value))
    except ValueError:
        import warnings

        message = f"CHAINRULE_THREADS: expected a whole number >= 1 or 'auto', got {value!r}; ignored"
        warnings.warn(message, stacklevel=2)


if os.environ.get("CHAINRULE_THREADS"):
    _from_environment(os.environ["CHAINRULE_THREADS"])
