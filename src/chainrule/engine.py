"""The backward walk: from an output back to every leaf, each node's backward once, gradients added up.

Two walks over the same graph. ``run_backward_graph`` (``create_graph=True``) is the algorithm as a textbook
states it, and the one to read first: nodes run in decreasing creation number, each once every consumer of its
output has added its gradient in; gradients are Tensors, so the walk is itself recorded. ``run_backward_from``
(every other ``backward()``) is the same walk on plain arrays, with three measured shortcuts, each named where it
is taken: a node with one input skips the general loop, a chain hands its gradient straight to the next node,
and a slice's gradient is added in place (SliceGradient).

The clock and the histories below let the walk tell whether an array an op saved was written in place since.
This module knows Tensors only by their attributes (``array``, ``grad``, ``_creator``), so tensor.py can build
on it.
"""

from __future__ import annotations

import heapq
import threading
from typing import TYPE_CHECKING

import numpy as np

from . import anomaly, backend
from .errors import GraphError

if TYPE_CHECKING:  # known by their attributes only: tensor.py and node.py build on this module
    from .tensor import Tensor

# Every in-place write takes the next tick of this clock and stamps it on the tensor it writes; a
# node (node.Node) remembers the tick it was recorded at. So "was anything written since
# this node?" is one comparison, and "was this input?" another.
_tick = 0


def next_tick() -> int:
    global _tick
    _tick += 1
    return _tick


def current_tick() -> int:
    return _tick


class _GradState(threading.local):
    grad_enabled = True  # per thread, as PyTorch's grad mode (grad_mode.py's no_grad and friends set it)


grad_state = _GradState()

_ndarray = np.ndarray


# ------------------------------------------------------------------ the textbook walk (create_graph=True)
def run_backward_graph(outputs, gradients, targets=None, accumulate=False, partial=False):
    """The backward walk with ``create_graph=True``: gradients are Tensors, and each node's gradient comes from its
    ``backward_graph``, the same derivative written in differentiable ops, recorded like any forward. So the
    gradients are graphs of ordinary nodes, and differentiating them again is one more walk.

    This is the textbook walk, without the default walk's fast paths: nodes run by decreasing creation number,
    each once every consumer of its output has added its gradient in. With ``targets`` the gradients reaching
    those tensors are collected and returned by id (``autograd.grad``; ``accumulate`` adds them into ``.grad``
    instead): only nodes on a path to a target run. ``partial`` stops at the targets (the partial derivatives of a
    fused op's composite form, node.py ``composite_backward``).
    """
    previous = grad_state.grad_enabled
    grad_state.grad_enabled = True  # the derivative ops record, even when called inside no_grad
    try:
        collected = _walk_graph(outputs, gradients, targets, partial)
    finally:
        grad_state.grad_enabled = previous
    if targets is None or not accumulate:
        return collected
    for t in targets:
        if id(t) in collected:
            _accumulate_graph(t, collected[id(t)])
    return None


def _walk_graph(outputs, gradients, targets, partial) -> dict:
    target_ids = None if targets is None else {id(t) for t in targets}
    reaching = None if targets is None or partial else _reaching(outputs, target_ids)
    grads: dict = {}
    collected: dict = {}
    heap: list = []

    def deliver(t: Tensor, grad: Tensor, tick) -> None:
        """Hand ``grad``, a gradient of ``t``, on: collected, into .grad, or to the node that made t."""
        if target_ids is not None and id(t) in target_ids:
            previous = collected.get(id(t))
            collected[id(t)] = grad if previous is None else previous + grad
            if partial:
                return
        creator = t._creator if tick is None else creator_at(t, tick)
        if creator is None:
            if target_ids is None:
                _accumulate_graph(t, grad)
            return
        if reaching is not None and creator not in reaching:
            return
        previous = grads.get(creator)
        if previous is None:
            grads[creator] = grad
            heapq.heappush(heap, (-creator.seq, creator))
        else:
            grads[creator] = previous + grad

    for out, gradient in zip(outputs, gradients):
        deliver(out, gradient, None)
    while heap:
        fn = heapq.heappop(heap)[1]
        grad_output = grads.pop(fn)
        if fn.freed:
            raise GraphError(
                f"backward(): trying to go through the graph a second time (at op {fn.op_name()}); its saved "
                "values were freed by the first backward(). Pass retain_graph=True to the first call."
            )
        retained = fn.retained
        if retained is not None and target_ids is None and (out := retained()) is not None:
            out._grad = grad_output
        fn.check_saved_versions(graph=True)
        input_grads = fn.backward_graph(grad_output)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        if anomaly.active:
            anomaly.check_backward(fn, tuple(None if g is None else g.array for g in input_grads))
        for t, needed, grad in zip(fn.inputs, fn.needs_input_grad, input_grads):
            if needed and grad is not None:
                deliver(t, grad, fn.tick)
    return collected


def _reaching(outputs, target_ids: set) -> set:
    """The nodes from which some target can be reached: the only ones autograd.grad's walk needs to run."""
    seen, stack = set(), [o._creator for o in outputs if o._creator is not None]
    while stack:
        fn = stack.pop()
        if fn not in seen:
            seen.add(fn)
            stack.extend(c for t in fn.inputs if (c := creator_at(t, fn.tick)) is not None)
    reaching: set = set()
    for fn in sorted(seen, key=lambda f: f.seq):  # inputs' nodes first
        for t in fn.inputs:
            if id(t) in target_ids or creator_at(t, fn.tick) in reaching:
                reaching.add(fn)
                break
    return reaching


def _accumulate_graph(leaf: Tensor, grad: Tensor) -> None:
    """A recorded gradient into ``leaf.grad``: out of place, so that the sum is recorded too; the first one
    cloned (as PyTorch's AccumulateGrad does), so that two leaves never share one gradient tensor."""
    current = leaf._grad
    leaf._grad = grad.clone() if current is None else current + grad
    _after_accumulation(leaf)


# ------------------------------------------------------------------ the walk on arrays (every other backward)
def accumulate_leaf(leaf: Tensor, grad, grad_output) -> None:
    current = leaf._grad
    if type(grad) is SliceGradient:
        if current is not None:
            current.array[grad.index] += grad.values
            grad = None
        else:
            grad = grad.dense()  # a fresh array: .grad takes it as it is
    if grad is None:
        pass
    elif current is not None:
        current.array += grad
    elif type(grad) is _ndarray and grad.base is None and grad is not grad_output:
        leaf._grad = leaf.wrap(grad, False)  # a fresh array of backward's own: .grad takes it as it is
    else:
        # Own the array: copy when it may be shared with another consumer (a view or grad_output).
        owned = grad is not grad_output and backend.is_device_array(grad) and grad.base is None
        leaf._grad = leaf.wrap(
            grad if owned else backend.array_module(leaf.array).array(grad, dtype=leaf.array.dtype, copy=True), False
        )
    _after_accumulation(leaf)


def _after_accumulation(leaf: Tensor) -> None:
    """Run the leaf's post-accumulate-grad hooks (register_post_accumulate_grad_hook), in both walks."""
    hooks = getattr(leaf, "_hooks", None)
    if hooks:
        for hook in hooks:
            hook(leaf)


# Set once any in-place op has replaced the value of a tensor in a graph: until then the walk need
# not look at histories at all.
_histories_exist = False


def record_history(t: Tensor, creator) -> None:
    """After an in-place op wrote ``t`` and before it gives ``t`` a new creator: ops recorded before
    that write consumed the old value and must keep walking back through ``creator``."""
    global _histories_exist
    history = getattr(t, "_history", None)
    if history is None:
        t._history = history = []
    history.append((t._version_counter[0], creator))
    _histories_exist = True


def creator_at(t: Tensor, tick: int):
    """The node that made the value ``t`` had when a node was recorded at ``tick``."""
    history = getattr(t, "_history", None)
    if history is not None:
        for written_at, creator in history:
            if tick < written_at:
                return creator
    return t._creator


def run_backward(outputs, gradients, retain_graph: bool, targets=None, accumulate: bool = False) -> dict | None:
    """Walk back from several outputs at once. With ``targets``, collect d(outputs)/d(target) for
    those tensors only and return them by id (``autograd.grad``); ``accumulate`` then adds them into
    their ``.grad`` instead (``backward(inputs=...)``)."""
    grads: dict = {}
    collected: dict = {}
    for out, gradient in zip(outputs, gradients):
        if out._creator is None:
            if targets is None:
                accumulate_leaf(out, gradient, gradient)
            else:
                collected[id(out)] = gradient
            continue
        previous = grads.get(out._creator)
        grads[out._creator] = gradient if previous is None else previous + gradient
    if grads:
        run_backward_from(grads, list(grads), retain_graph, None if targets is None else (targets, collected))
    if targets is None:
        return None
    if accumulate:
        for t in targets:
            grad = collected.get(id(t))
            if grad is not None:
                accumulate_leaf(t, grad, None)
        return None
    return collected


class SliceGradient:
    """The gradient of a slice x[index] with respect to the whole x: zero except at ``index``, where it is
    ``values``. The walk adds it into x's gradient in place instead of making a zero array of x's size each
    time, so T slices of one array cost their own size rather than T times the whole's (an RNN reading x[t]
    at every step, split, chunk, unbind)."""

    __slots__ = ("shape", "index", "values")

    def __init__(self, shape, index, values):
        self.shape, self.index, self.values = shape, index, values

    def dense(self):
        out = backend.array_module(self.values).zeros(self.shape, dtype=self.values.dtype)
        out[self.index] = self.values
        return out


def _dense(grad):
    return grad.dense() if type(grad) is SliceGradient else grad


def _sum(previous, grad, owned: set):
    """previous + grad for two gradients of one tensor. A SliceGradient is added into an array the walk owns
    (made here, in no one else's hands: its id is in ``owned`` while it waits in the walk), in place."""
    if type(previous) is not SliceGradient and type(grad) is not SliceGradient:
        return previous + grad
    if type(previous) is SliceGradient:
        previous, grad = grad, previous  # the dense one (or the first slice) becomes the sum
        if type(previous) is SliceGradient:
            previous = previous.dense()
        elif id(previous) not in owned:
            previous = previous.copy()
    elif id(previous) not in owned:
        previous = previous.copy()
    if type(grad) is SliceGradient:
        previous[grad.index] += grad.values  # a basic index: no element twice
    else:
        previous += grad
    owned.add(id(previous))
    return previous


def run_backward_from(grads: dict, roots: list, retain_graph: bool, capture) -> None:
    """The walk on arrays: the textbook walk above (nodes by decreasing ``seq`` from a max-heap, each once every
    consumer of its output has added its gradient in), with gradients as plain arrays and three shortcuts, each
    marked where it is taken below:

    - *one input* (most ops): its gradient is handed on without the general loop over inputs and flags: 14% of
      backward's time per op in a 1,000-op chain (measured when it was written);
    - *a chain*: when nothing else waits in the heap, the next node can receive no other gradient, so it runs
      next without a push and a pop;
    - *a slice* (``SliceGradient``): the gradient of x[index] is added into x's gradient in place instead of a
      zero array of x's size each time: 64 slices of a (32, 64, 512) input, 31-46 ms -> 20-35 ms.

    Saved arrays are released as each node finishes (unless ``retain_graph``); ``capture`` is (targets, dict)
    for ``autograd.grad``: the gradients reaching those tensors are collected instead of added into ``.grad``.
    """
    target_ids, collected = (None, None) if capture is None else ({id(t) for t in capture[0]}, capture[1])
    non_leaf_targets = {} if capture is None else {t._creator: t for t in capture[0] if t._creator is not None}
    histories, now = _histories_exist, _tick
    heap = [(-fn.seq, fn) for fn in roots]
    heapq.heapify(heap)
    pop, push = heapq.heappop, heapq.heappush
    fn = None  # the node to run next, when it was handed on directly (a chain) rather than through the heap
    owned: set = set()  # ids of the gradient arrays the walk made itself and may add into (see _sum)
    while fn is not None or heap:
        if fn is None:
            fn = pop(heap)[1]
            grad_output = grads.pop(fn)
            if type(grad_output) is SliceGradient:
                grad_output = grad_output.dense()
            elif owned:
                owned.discard(id(grad_output))
        if fn.freed:
            raise GraphError(
                f"backward(): trying to go through the graph a second time (at op {fn.op_name()}); its saved "
                "values were freed by the first backward(). Pass retain_graph=True to the first call "
                "if you need to backward twice."
            )
        if non_leaf_targets and fn in non_leaf_targets:
            collected[id(non_leaf_targets[fn])] = grad_output
        retained = fn.retained
        if retained is not None and capture is None and (out := retained()) is not None:
            accumulate_leaf(out, grad_output, grad_output)
        if fn.tick != now:  # something was written in place since: was it what fn saved?
            fn.check_saved_versions()
        input_grads = fn.backward_sparse(grad_output) if fn.sparse_grad else fn.backward(grad_output)
        if anomaly.active:
            input_grads = _dense(input_grads) if type(input_grads) is not tuple else tuple(map(_dense, input_grads))
            anomaly.check_backward(fn, input_grads)
        if not retain_graph:
            fn.release()
        inputs, needs, tick = fn.inputs, fn.needs_input_grad, fn.tick
        fn = None
        if len(inputs) == 1:  # shortcut: one input
            grad = input_grads[0] if type(input_grads) is tuple else input_grads
            if grad is None:
                continue
            t = inputs[0]
            creator = t._creator if not histories else creator_at(t, tick)
            if creator is None:
                _to_leaf(t, grad, grad_output, target_ids, collected)
            elif (previous := grads.get(creator)) is None:
                if not heap:  # shortcut: a chain (nothing else waits, so nothing else can add to its gradient)
                    fn, grad_output = creator, _dense(grad)
                    continue
                grads[creator] = grad
                push(heap, (-creator.seq, creator))
            else:
                grads[creator] = _sum(previous, grad, owned)
            continue
        for t, needed, grad in zip(inputs, needs, input_grads):
            if not needed or grad is None:
                continue
            creator = t._creator if not histories else creator_at(t, tick)
            if creator is None:
                _to_leaf(t, grad, grad_output, target_ids, collected)
            elif (previous := grads.get(creator)) is None:
                grads[creator] = grad
                push(heap, (-creator.seq, creator))
            else:
                grads[creator] = _sum(previous, grad, owned)


def _to_leaf(t: Tensor, grad, grad_output, target_ids, collected) -> None:
    """A gradient that reached a leaf: into its .grad, or, for autograd.grad, into the collected results."""
    if target_ids is None:
        accumulate_leaf(t, grad, grad_output)
    elif id(t) in target_ids:
        previous, grad = collected.get(id(t)), _dense(grad)
        collected[id(t)] = grad.copy() if previous is None else previous + grad
