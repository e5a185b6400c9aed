"""Data-parallel training over MPI (mpi4py): every rank holds the whole model and a shard of the data.

    mpirun -n 4 chainrule train --distributed ...

Parameters start equal (broadcast from rank 0); after each backward the gradients are averaged
over the ranks with Allreduce, in buckets of several parameters, so every rank takes the same
step and the parameters stay equal; only rank 0 writes checkpoints, logs and plots. A rank that
dies makes the others stop with a clear error after ``timeout`` seconds instead of hanging.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from ..backend import array_module, set_num_threads
from ..errors import ChainruleError, ConfigError
from ..tensor import Tensor

_comm = None
_timeout = 120.0
BUCKET_BYTES = 4 * 2**20  # gradients are reduced in buckets of about this size


class DistributedError(ChainruleError, RuntimeError):
    """An MPI collective did not complete: another rank died or stopped answering."""


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError:
        raise ConfigError(
            "distributed training needs mpi4py and an MPI library: apt-get install openmpi-bin libopenmpi-dev, "
            "then pip install 'chainrule[distributed]'"
        ) from None
    return MPI


def init(timeout: float | None = None) -> tuple[int, int]:
    """Join the MPI job; returns (rank, world size). Safe to call more than once."""
    global _comm, _timeout
    if timeout is not None:
        _timeout = float(timeout)
    elif "CHAINRULE_DIST_TIMEOUT" in os.environ:
        _timeout = float(os.environ["CHAINRULE_DIST_TIMEOUT"])
    if _comm is None:
        MPI = _mpi()
        _comm = MPI.COMM_WORLD
        _share_cores(_comm.Split_type(MPI.COMM_TYPE_SHARED).Get_size())
    return _comm.Get_rank(), _comm.Get_size()


def _share_cores(local_ranks: int) -> None:
    """Ranks on one machine split its cores: BLAS threads (and the multi-core CPU kernels' threads) per
    rank = cores / ranks (oversubscribed BLAS threads spin against each other and can make a step many
    times slower)."""
    if local_ranks <= 1:
        return
    set_num_threads(max(1, (os.cpu_count() or 1) // local_ranks))  # the one budget, so that nothing widens it


def is_initialized() -> bool:
    return _comm is not None


def get_rank() -> int:
    return _comm.Get_rank() if _comm is not None else 0


def get_world_size() -> int:
    return _comm.Get_size() if _comm is not None else 1


def is_main() -> bool:
    """True on rank 0 (and without MPI): the rank that writes files and prints."""
    return get_rank() == 0


def _wait(request, what: str) -> None:
    """Wait for a non-blocking collective, but give up after the timeout: a dead rank never answers."""
    if request.Test():
        return
    deadline = time.monotonic() + _timeout
    pause = 0.0
    while not request.Test():
        if time.monotonic() > deadline:
            error = DistributedError(
                f"rank {get_rank()}: {what} got no answer from the other ranks for {_timeout:g} s; "
                "a rank has probably died or hung (see its output above). Stopping all ranks."
            )
            # An exception alone would leave this process waiting in MPI_Finalize for the silent rank:
            # say what happened, then abort the whole job.
            print(f"chainrule: error: {error}", file=sys.stderr, flush=True)
            _comm.Abort(3)
            raise error
        time.sleep(pause)
        pause = min(pause + 1e-4, 1e-3)


def allreduce_sum(array: np.ndarray, what: str = "allreduce") -> np.ndarray:
    """Sum ``array`` over the ranks, in place."""
    MPI = _mpi()
    _wait(_comm.Iallreduce(MPI.IN_PLACE, array, op=MPI.SUM), what)
    return array


def sum_values(values) -> list:
    """Sum a few numbers over the ranks (epoch totals for logging, stop flags)."""
    if _comm is None or get_world_size() == 1:
        return list(values)
    array = np.array(values, dtype=np.float64)
    return allreduce_sum(array, "summing metrics").tolist()


def broadcast_parameters(model, root: int = 0) -> None:
    """Give every rank rank 0's parameters and buffers (call ``init()`` first)."""
    for param in model.parameters():
        _wait(_comm.Ibcast(param.array, root=root), "broadcasting parameters")
    for _, buffer in model.named_buffers():
        _wait(_comm.Ibcast(buffer.array, root=root), "broadcasting buffers")


class DistributedSampler:
    """The indices of this rank's shard: each epoch a permutation drawn from (seed, epoch) alone,
    the same on every rank, dealt out round-robin. Shards are padded (wrapping around) to equal
    length so that every rank takes the same number of steps."""

    def __init__(
        self, size: int, rank: int | None = None, world_size: int | None = None, seed: int = 0, shuffle: bool = True
    ):
        self.size, self.seed, self.shuffle = size, seed, shuffle
        self.rank = get_rank() if rank is None else rank
        self.world_size = get_world_size() if world_size is None else world_size
        if not 0 <= self.rank < self.world_size:
            raise ConfigError(f"DistributedSampler: rank {self.rank} is outside [0, {self.world_size})")
        self.per_rank = -(-size // self.world_size)

    def __len__(self) -> int:
        return self.per_rank

    def indices(self, epoch: int) -> np.ndarray:
        order = (
            np.random.default_rng([self.seed, epoch]).permutation(self.size) if self.shuffle else np.arange(self.size)
        )
        padded = np.resize(order, self.per_rank * self.world_size)  # wraps around
        return padded[self.rank :: self.world_size]


class DistributedOptimizer:
    """Wrap an optimizer so that ``step()`` applies the gradients averaged over the ranks.

    Gradients travel in flat buckets of about ``bucket_bytes``, one non-blocking Allreduce each.
    With ``overlap`` (the default), a bucket starts reducing as soon as backward has produced all of
    its gradients (a post-accumulate hook on each parameter), while backward goes on with the
    earlier layers; ``step()`` waits for what is still in flight. Buckets are filled from the last
    parameters, whose gradients backward produces first. A parameter whose gradient is added to twice
    in one backward (a weight used twice) has its bucket reduced again in ``step()``.
    """

    def __init__(self, optimizer, overlap: bool = True, bucket_bytes: int = BUCKET_BYTES):
        self.optimizer = optimizer
        params = [p for group in optimizer.param_groups for p in group["params"]]
        self.buckets = self._make_buckets(list(reversed(params)), bucket_bytes)
        self._bucket_of = {id(p): index for index, (group, _) in enumerate(self.buckets) for p in group}
        self.overlap = overlap and get_world_size() > 1
        self._reset_round()
        if self.overlap:
            for p in params:
                p.register_post_accumulate_grad_hook(self._gradient_ready)

    def __getattr__(self, name):
        return getattr(self.optimizer, name)

    @staticmethod
    def _make_buckets(params, bucket_bytes: int) -> list:
        buckets, current, size = [], [], 0
        for p in params:
            current.append(p)
            size += p.array.nbytes
            if size >= bucket_bytes:
                buckets.append(current)
                current, size = [], 0
        if current:
            buckets.append(current)
        return [
            (group, array_module(group[0].array).empty(sum(p.array.size for p in group), dtype=group[0].dtype))
            for group in buckets
        ]

    def _reset_round(self) -> None:
        self._ready = [set() for _ in self.buckets]
        self._again = [False] * len(self.buckets)
        self._requests = [None] * len(self.buckets)

    def _launch(self, index: int):
        group, flat = self.buckets[index]
        offset = 0
        for p in group:
            n = p.array.size
            flat[offset : offset + n] = 0 if p._grad is None else p._grad.array.reshape(-1)
            offset += n
        MPI = _mpi()
        return _comm.Iallreduce(MPI.IN_PLACE, flat, op=MPI.SUM)

    def _gradient_ready(self, param) -> None:
        index = self._bucket_of[id(param)]
        ready = self._ready[index]
        if id(param) in ready:
            self._again[index] = True
        ready.add(id(param))
        if self._requests[index] is None and len(ready) == len(self.buckets[index][0]):
            self._requests[index] = self._launch(index)
        for request in self._requests:  # let the reductions in flight progress
            if request is not None:
                request.Test()

    def step(self) -> None:
        world = get_world_size()
        if world > 1:
            for index in range(len(self.buckets)):
                if self._requests[index] is not None and self._again[index]:
                    _wait(self._requests[index], "averaging gradients")
                    self._requests[index] = None  # reduce again, with the gradient summed twice
                if self._requests[index] is None:
                    self._requests[index] = self._launch(index)
            for (group, flat), request in zip(self.buckets, self._requests):
                _wait(request, "averaging gradients")
                flat /= world
                offset = 0
                for p in group:
                    n = p.array.size
                    if p._grad is None:
                        p._grad = Tensor.wrap(array_module(p.array).empty_like(p.array), False)
                    p._grad.array[...] = flat[offset : offset + n].reshape(p.array.shape)
                    offset += n
            self._reset_round()
        self.optimizer.step()

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none)

    def state_dict(self) -> dict:
        return self.optimizer.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.optimizer.load_state_dict(state)
