"""detect_anomaly(): find the first op whose output or gradient holds NaN or infinity.

While it is on, every op checks its forward output and remembers where in the user's code it was
created; backward checks every gradient it computes. Off (the default) it costs one comparison
per op.
"""

from __future__ import annotations

import contextlib
import os
import sys

import numpy as np

from .errors import AnomalyError

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _user_site() -> str:
    """file:line of the innermost frame outside chainrule: where the user called the op."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if not filename.startswith(_PACKAGE_DIR + os.sep) and "contextlib" not in filename:
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


def _bad(array) -> str | None:
    array = np.asarray(array)
    if array.dtype.kind != "f":
        return None
    if np.isnan(array).any():
        return "NaN"
    if np.isinf(array).any():
        return "infinity"
    return None


def _shapes(inputs) -> str:
    return ", ".join(str(tuple(t.shape)) for t in inputs)


# True inside detect_anomaly(): Node.apply and the backward walk then call the checks below; off,
# each op costs one comparison.
active = False


def check_forward(fn, output, inputs) -> None:
    """Called by Node.apply for every op while anomaly detection is on."""
    fn.site = _user_site()
    problem = _bad(output)
    if problem:
        raise AnomalyError(
            f"detect_anomaly: op {fn.op_name()} produced {problem} in its forward output, "
            f"created at {fn.site}, input shapes {_shapes(inputs)}"
        )


def check_backward(fn, grads) -> None:
    """Called by backward() for every node while anomaly detection is on."""
    grads = grads if isinstance(grads, tuple) else (grads,)
    for index, grad in enumerate(grads):
        if grad is not None and (problem := _bad(grad)):
            raise AnomalyError(
                f"detect_anomaly: the backward of op {fn.op_name()} produced {problem} in the gradient "
                f"of its input {index}, op created at {getattr(fn, 'site', '<unknown>')}, input shapes "
                f"{_shapes(fn.inputs)}"
            )


@contextlib.contextmanager
def detect_anomaly():
    """Context manager: raise AnomalyError at the first op whose value or gradient is NaN or infinite."""
    global active
    previous = active
    active = True
    try:
        yield
    finally:
        active = previous
