"""Random draws as PyTorch makes them: ``Generator`` objects, each a stream of its own, and the samplers
``multinomial`` and ``bernoulli``. Every draw comes from ``backend.numpy_generator(generator)``: the global
stream that ``manual_seed`` seeds, or the generator passed as ``generator=``."""

from __future__ import annotations

import secrets

import numpy as np

from ..backend import default_generator, initial_seed, manual_seed, numpy_generator, to_device
from ..errors import ShapeError
from ..tensor import Tensor


def _seed_value(seed, where: str) -> int:
    """A seed as PyTorch takes it: any integer in [-2**63, 2**64), negative ones wrapped modulo 2**64."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"{where}: expected an integer seed, got {type(seed).__name__} {seed!r}")
    if not -(2**63) <= seed < 2**64:
        raise ValueError(f"{where}: the seed must be in [-2**63, 2**64), got {seed}")
    return int(seed) % 2**64


# get_state's bytes: PCG64's 128-bit state and increment, then its buffered 32-bit half (a flag and the value)
_STATE_BYTES = 16 + 16 + 1 + 4


class Generator:
    """A random-number stream of its own, as ``torch.Generator``: ``Generator().manual_seed(42)`` gives the
    same draws on every run, whatever the global seed (``chainrule.manual_seed``) or any other generator
    does. Pass it as ``generator=`` to ``randn``, ``rand``, ``randint``, ``randperm``, ``normal``,
    ``multinomial``, ``bernoulli``, ``Tensor.normal_``/``uniform_``, dropout and ``DataLoader``. Draws are made
    by NumPy's PCG64 on the host (and copied to the GPU for a CUDA tensor): the same seed gives the same
    draws as in chainrule, not the numbers PyTorch's Mersenne Twister gives."""

    def __init__(self, device="cpu"):
        self.device = str(device)
        self._initial_seed = 67280421310721  # PyTorch's default seed for a new generator
        self._rng = np.random.default_rng(self._initial_seed)

    def manual_seed(self, seed) -> Generator:
        """Restart the stream from ``seed``; returns the generator (so ``Generator().manual_seed(s)`` chains)."""
        self._initial_seed = _seed_value(seed, "Generator.manual_seed")
        self._rng = np.random.default_rng(self._initial_seed)
        return self

    def seed(self) -> int:
        """Seed the stream from the operating system's entropy; returns the seed."""
        self.manual_seed(secrets.randbits(63))
        return self._initial_seed

    def initial_seed(self) -> int:
        """The seed the stream was last started from."""
        return self._initial_seed

    def get_state(self) -> Tensor:
        """The stream's position as a uint8 tensor, for ``set_state`` (as PyTorch's ByteTensor)."""
        state = self._rng.bit_generator.state
        raw = (
            state["state"]["state"].to_bytes(16, "little")
            + state["state"]["inc"].to_bytes(16, "little")
            + bytes([state["has_uint32"]])
            + int(state["uinteger"]).to_bytes(4, "little")
        )
        return Tensor.wrap(np.frombuffer(raw, dtype=np.uint8).copy(), False)

    def set_state(self, new_state) -> Generator:
        """Return the stream to a position ``get_state`` gave."""
        array = np.asarray(getattr(new_state, "array", new_state))
        if array.dtype != np.uint8 or array.shape != (_STATE_BYTES,):
            raise ValueError(
                f"Generator.set_state: expected the {_STATE_BYTES}-byte uint8 tensor that get_state returns, got "
                f"{array.dtype} of shape {tuple(array.shape)}"
            )
        raw = array.tobytes()
        self._rng.bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {"state": int.from_bytes(raw[:16], "little"), "inc": int.from_bytes(raw[16:32], "little")},
            "has_uint32": raw[32],
            "uinteger": int.from_bytes(raw[33:37], "little"),
        }
        return self

    def __repr__(self) -> str:
        return f"<chainrule.Generator device={self.device!r} initial_seed={self._initial_seed}>"


class _DefaultGenerator(Generator):
    """``chainrule.default_generator``: the global stream (``manual_seed``'s) seen as a Generator."""

    def __init__(self):
        self.device = "cpu"

    @property
    def _rng(self):
        return default_generator()

    @property
    def _initial_seed(self):
        return initial_seed()

    def manual_seed(self, seed) -> Generator:
        manual_seed(_seed_value(seed, "default_generator.manual_seed"))
        return self


default = _DefaultGenerator()


default_generator_object = _DefaultGenerator()


def probabilities(p, op: str) -> np.ndarray:
    """p (a number, array or tensor) as a host float64 array, refused outside [0, 1] or NaN."""
    array = np.asarray(to_device(p.array, "cpu") if isinstance(p, Tensor) else p, dtype=np.float64)
    if not np.all((array >= 0) & (array <= 1)):  # NaN fails both comparisons
        low, high = np.nanmin(array), np.nanmax(array)
        raise ValueError(f"{op}: probabilities must be in [0, 1], got values from {low} to {high} (or NaN)")
    return array


def bernoulli(input, p=None, *, generator=None) -> Tensor:  # noqa: A002 - PyTorch's names
    """Each element 1 with the probability that ``input`` holds there (or ``p``), else 0, in ``input``'s dtype;
    not differentiable (a draw has no gradient), as in PyTorch."""
    if not isinstance(input, Tensor):
        raise TypeError(f"bernoulli: expected a Tensor of probabilities, got {type(input).__name__}")
    chances = probabilities(input if p is None else p, "bernoulli")
    draws = numpy_generator(generator, "bernoulli").random(input.shape) < chances
    return Tensor.wrap(to_device(draws.astype(input.array.dtype), input.device), False)


def multinomial(input, num_samples: int, replacement: bool = False, *, generator=None) -> Tensor:  # noqa: A002
    """Indices drawn from the categories of each row of ``input`` with probability proportional to its
    weights (non-negative, not necessarily summing to 1), as int64 of shape (num_samples,) or
    (rows, num_samples). Without replacement no category comes twice in a row's draws."""
    if not isinstance(input, Tensor):
        raise TypeError(f"multinomial: expected a Tensor of weights, got {type(input).__name__}")
    if input.ndim not in (1, 2) or input.shape[-1] == 0:
        raise ShapeError(
            f"multinomial: expected weights of shape (categories,) or (rows, categories), got {input.shape}"
        )
    if input.array.dtype.kind != "f":
        raise TypeError(f"multinomial: expected floating-point weights, got {input.dtype}")
    if not isinstance(num_samples, (int, np.integer)) or isinstance(num_samples, bool) or num_samples <= 0:
        raise ValueError(f"multinomial: num_samples must be a positive integer, got {num_samples!r}")
    weights = np.atleast_2d(to_device(input.array, "cpu")).astype(np.float64)
    categories = weights.shape[1]
    if not np.all(np.isfinite(weights) & (weights >= 0)):
        raise ValueError("multinomial: the weights must be finite and non-negative (got inf, NaN or a negative)")
    totals = weights.sum(axis=1)
    if np.any(totals <= 0):
        raise ValueError(f"multinomial: row {int(np.argmax(totals <= 0))} of the weights sums to 0: nothing to draw")
    rng = numpy_generator(generator, "multinomial")
    if replacement:
        # Inverse transform: u ~ U[0, 1) falls in category k when cdf[k-1] <= u < cdf[k], a stretch as long
        # as p_k (categories of weight 0 have none, so are never drawn).
        cdf = np.cumsum(weights, axis=1) / totals[:, None]
        u = rng.random((len(weights), int(num_samples)))
        last = categories - 1 - np.argmax(weights[:, ::-1] > 0, axis=1)  # rounding never lands past it
        drawn = np.stack([np.minimum(np.searchsorted(c, row, side="right"), k) for c, row, k in zip(cdf, u, last)])
    else:
        if num_samples > categories:
            raise ValueError(
                f"multinomial: cannot draw {num_samples} samples without replacement from {categories} categories"
            )
        # Drawing one at a time without replacement is the same as a race: category k arrives at an
        # exponential time E_k / p_k, and the first num_samples to arrive are the draws in order
        # (Efraimidis and Spirakis 2006). Weight 0 arrives at infinity: such categories come last, in the order
        # of their indices, only once every other is drawn (PyTorch also fills in with them then).
        with np.errstate(divide="ignore"):
            arrival = rng.standard_exponential(weights.shape) / weights
        drawn = np.argsort(arrival, axis=1, kind="stable")[:, : int(num_samples)]
    drawn = drawn.astype(np.int64)
    return Tensor.wrap(to_device(drawn[0] if input.ndim == 1 else drawn, input.device), False)
