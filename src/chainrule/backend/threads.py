"""How many threads the matrix products (BLAS) and the multi-core kernels use: one budget for both, fixed, or
chosen while training runs by timing the steps.

Why a tuner: on a machine whose cores are shared (a busy machine, a virtual machine whose cores the host also
gives to others), two threads that must meet at the end of every matrix product can be far slower than one. On
the machine these figures come from, an MLP epoch at batch 32 took 1.05 s on two threads and 1.5 s on one in its
usual state, but 2.8-3.0 s on two in the phases (seconds to minutes) when the host was busy, and 5.9 s with two
other processes running beside it, where one thread took 1.6 s. PyTorch's epoch slows the same way. No fixed
count is right in both states, so ``set_num_threads("auto")`` times the steps under each count in turn, keeps the
fastest, and looks again every few seconds.
"""

from __future__ import annotations

import os
import time

from . import cpu

_state: dict = {"controllers": None, "tuner": None, "default": None}


def _blas():
    """threadpoolctl's controllers of every BLAS library loaded (NumPy's OpenBLAS, and SciPy's where Numba loaded
    it), found once; an empty list without threadpoolctl (the ``all`` extra has it)."""
    if _state["controllers"] is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:
            _state["controllers"] = []
        else:
            _state["controllers"] = ThreadpoolController().select(user_api="blas").lib_controllers
        counts = [c.num_threads for c in _state["controllers"]]
        _state["default"] = max(counts) if counts else os.cpu_count() or 1  # before anyone here changed it
    return _state["controllers"]


def get_num_threads() -> int:
    """The threads a matrix product uses now (the machine's cores where threadpoolctl cannot tell)."""
    counts = [c.num_threads for c in _blas()]
    return max(counts) if counts else os.cpu_count() or 1


def _apply(threads: int) -> None:
    """BLAS and the multi-core kernels on ``threads`` threads."""
    for controller in _blas():
        controller.set_num_threads(threads)
    cpu.set_num_threads(threads)


def set_num_threads(threads) -> None:
    """The threads that matrix products and the multi-core kernels use (PyTorch's ``torch.set_num_threads``); or
    ``"auto"``: from now on, chosen while training runs between the count the process started with and fewer
    (``Tuner``), every backward pass timing one step. Without threadpoolctl only the kernels follow a fixed count,
    and "auto" has nothing to choose."""
    if threads == "auto":
        if _state["tuner"] is None:
            _blas()
            choices = _choices(_state["default"])
            _state["tuner"] = Tuner(choices) if len(choices) > 1 else None
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"set_num_threads: expected a whole number of threads >= 1 or 'auto', got {threads!r}")
    _state["tuner"] = None
    _apply(threads)


def tuning() -> bool:
    """True while ``set_num_threads("auto")`` is choosing the count."""
    return _state["tuner"] is not None


def _choices(top: int) -> tuple:
    """The counts the tuner tries: today's, then halving down to one (2 -> (2, 1); 8 -> (8, 4, 2, 1))."""
    choices = [max(1, top)]
    while choices[-1] > 1:
        choices.append(choices[-1] // 2)
    return tuple(choices)


def step_mark() -> None:
    """One training step has passed (the engine calls this at each backward pass): the tuner's clock."""
    tuner = _state["tuner"]
    if tuner is not None:
        tuner.tick(time.perf_counter())


class Tuner:
    """Times the steps under each thread count in turn and keeps the fastest.

    Each count runs for a window (after ``settle`` steps to let the switch pass) of at least ``min_steps`` steps
    and ``min_seconds``; its median step time is its score (a median: a step that also evaluated or saved counts
    once, not by its length). The fastest count then holds for ``hold`` times as long as the whole comparison
    took, at least ``min_hold`` seconds, and the comparison runs again, starting with the count that holds (the
    machine's state changes: a busy host, other programs). So the slower counts run at most about 1/hold of the
    time. A count must beat the one that holds by ``margin`` to take over, so that noise does not flip them.
    """

    def __init__(self, choices, min_steps=5, min_seconds=0.05, settle=1, hold=20.0, min_hold=2.0, margin=0.05):
        self.choices = tuple(choices)
        self.min_steps, self.min_seconds, self.settle = min_steps, min_seconds, settle
        self.hold, self.min_hold, self.margin = hold, min_hold, margin
        self.current = self.choices[0]
        self.last = None  # the previous step's time
        self.history: list = []  # (time, {count: median step seconds}, the count chosen): what it measured
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
        self.skip = self.settle
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
        if self.skip:
            self.skip -= 1
            return
        self.samples.append(now - last)
        if len(self.samples) < self.min_steps or sum(self.samples) < self.min_seconds:
            return
        self.samples.sort()
        self.scores[self.trying] = self.samples[len(self.samples) // 2]
        if self.queue:
            self._next()
            return
        holder = next(iter(self.scores))  # the count that held before this comparison (tried first)
        best = min(self.scores, key=self.scores.get)
        if best != holder and self.scores[best] > self.scores[holder] * (1 - self.margin):
            best = holder
        if best != self.current:
            _apply(best)
        self.current = best
        self.history.append((now, dict(self.scores), best))
        del self.history[:-20]
        self.until = now + max(self.min_hold, self.hold * (now - self.started))


def _from_environment(value: str) -> None:
    """CHAINRULE_THREADS, for a program whose code cannot be changed: a count, or "auto"; anything else is named
    in a warning and left alone (an import should not fail over it)."""
    try:
        set_num_threads(value if value == "auto" else int(value))
    except ValueError:
        import warnings

        warnings.warn(
            f"CHAINRULE_THREADS: expected a whole number >= 1 or 'auto', got {value!r}; ignored", stacklevel=2
        )


if os.environ.get("CHAINRULE_THREADS"):
    _from_environment(os.environ["CHAINRULE_THREADS"])
