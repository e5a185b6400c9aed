"""How a tensor prints: PyTorch's layout of its elements (torch/_tensor_str.py), and set_printoptions' settings."""

from __future__ import annotations

import numpy as np

from . import backend

PRINT_OPTIONS = {"precision": 4, "sci_mode": None, "linewidth": 80}


def float_format(array: np.ndarray):
    """PyTorch's choice of how to write a float tensor's elements (torch/_tensor_str.py): whole numbers as "2.",
    otherwise fixed-point with 4 decimals, or scientific where the magnitudes span more than 1000x, exceed 1e8
    or fall below 1e-4; every element padded to one width."""
    precision, sci = PRINT_OPTIONS["precision"], PRINT_OPTIONS["sci_mode"]
    finite = np.abs(array[np.isfinite(array) & (array != 0)]).astype(np.float64)
    whole = finite.size == 0 or bool(np.all(finite == np.ceil(finite)))
    spread = finite.size and (finite.max() / finite.min() > 1000 or finite.max() > 1e8)
    if sci is None:
        sci = bool(spread or (not whole and finite.size and finite.min() < 1e-4))
    if sci:
        text = lambda v: f"{v:.{precision}e}"  # noqa: E731
    elif whole:
        text = lambda v: f"{v:.0f}."  # noqa: E731
    else:
        text = lambda v: f"{v:.{precision}f}"  # noqa: E731

    def element(v):
        return "nan" if v != v else ("inf" if v > 0 else "-inf") if np.isinf(v) else text(v)

    width = max((len(element(v)) for v in array.reshape(-1)), default=0) if array.size <= 1000 else 0
    return lambda v: element(v).rjust(width)


def array_text(array: np.ndarray) -> str:
    """The elements of a tensor's repr, laid out as PyTorch lays them out."""
    formatter = None
    if array.dtype.kind == "f":
        formatter = {"float_kind": float_format(array)}
    elif array.dtype.kind == "b":  # padded to the longest word present, as PyTorch's
        width = 5 if array.size and not array.all() else 4  # len("False") where one is shown
        formatter = {"bool": lambda v: str(bool(v)).rjust(width)}
    if array.ndim == 0 and formatter:
        return formatter["float_kind"](array.item()).strip()
    return np.array2string(
        array, separator=", ", prefix="tensor(", formatter=formatter, max_line_width=PRINT_OPTIONS["linewidth"]
    )


def tensor_repr(t) -> str:
    """``tensor([...], dtype=..., grad_fn=<...>)`` as PyTorch writes it."""
    body = array_text(backend.to_device(t.array, "cpu"))
    extras = []
    shown = (
        t.dtype != backend.get_default_dtype()
        if backend.is_float(t.dtype)
        else t.dtype.kind == "u" or (t.dtype.kind == "i" and t.dtype != np.int64)
    )  # as PyTorch: the default float dtype, int64 and bool go unsaid
    if shown:
        extras.append(f"dtype={t.dtype}")
    if t.device != "cpu":
        extras.append(f"device='{t.device}'")
    if t._creator is not None:
        extras.append(f"grad_fn=<{t._creator.name()}>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    return f"tensor({body}{''.join(', ' + e for e in extras)})"
