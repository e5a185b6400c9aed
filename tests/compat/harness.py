"""The compatibility harness: one idiom, written once against a library ``L``, run with ``L = torch``
and with ``L = chainrule``; the results must agree in values, dtypes and shapes (gradients are
returned as part of the result), and where PyTorch raises chainrule must raise too.
"""

from __future__ import annotations

import numpy as np
import torch

import chainrule as cr

LIBRARIES = {"torch": torch, "chainrule": cr}


class Idiom:
    def __init__(self, name: str, fn, rtol: float | None = None, atol: float | None = None):
        self.name, self.fn, self.rtol, self.atol = name, fn, rtol, atol

    def __repr__(self) -> str:
        return self.name


def idioms(*pairs) -> list:
    """``idioms(("name", lambda L: ...), ...)`` as a list of Idiom for pytest.mark.parametrize."""
    return [Idiom(*pair) for pair in pairs]


def same_init(model, L, seed: int = 0):
    """Give every parameter the same values in both libraries (copy_ under no_grad, in both APIs)."""
    rng = np.random.default_rng(seed)
    with L.no_grad():
        for p in model.parameters():
            p.copy_(L.tensor(rng.uniform(-0.5, 0.5, tuple(p.shape)), dtype=p.dtype))
    return model


def data(*shape, seed: int = 0, low: float = -1.0, high: float = 1.0) -> list:
    """The same numbers for both libraries, as nested lists (lists become float32 in both)."""
    return np.random.default_rng(seed).uniform(low, high, shape).tolist()


def _plain(value):
    """A library-neutral form of a result: arrays, dtype names, tuples, strings, numbers."""
    if isinstance(value, torch.Tensor):
        return ("tensor", str(value.dtype).replace("torch.", ""), value.detach().numpy().copy())
    if isinstance(value, cr.Tensor):
        return ("tensor", str(value.dtype), np.array(value.detach().numpy(), copy=True))
    if isinstance(value, (torch.Size, cr.Size)):
        return ("size", tuple(value))
    if isinstance(value, torch.dtype):
        return ("dtype", str(value).replace("torch.", ""))
    if isinstance(value, np.dtype):
        return ("dtype", str(value))
    if isinstance(value, (torch.device, cr.device)):
        return ("device", str(value))
    if isinstance(value, str):
        return value.replace("torch", "chainrule")
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.number)) or value is None:
        return value
    raise TypeError(f"harness: cannot compare a {type(value).__name__}")


def _compare(ours, theirs, where: str, rtol: float, atol: float) -> None:
    if isinstance(theirs, tuple) and theirs and theirs[0] == "tensor" and len(theirs) == 3:
        assert isinstance(ours, tuple) and ours[0] == "tensor", (
            f"{where}: PyTorch gave a tensor, chainrule gave {ours!r}"
        )
        assert ours[1] == theirs[1], f"{where}: dtype {ours[1]}, PyTorch's is {theirs[1]}"
        assert ours[2].shape == theirs[2].shape, f"{where}: shape {ours[2].shape}, PyTorch's is {theirs[2].shape}"
        if theirs[2].dtype.kind in "fc":
            tol = (1e-5, 1e-6) if theirs[2].dtype.itemsize <= 4 else (1e-9, 1e-12)
            np.testing.assert_allclose(ours[2], theirs[2], rtol=rtol or tol[0], atol=atol or tol[1], err_msg=where)
        else:
            np.testing.assert_array_equal(ours[2], theirs[2], err_msg=where)
        return
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs), f"{where}: {ours!r} against PyTorch's {theirs!r}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            _compare(a, b, f"{where}[{i}]", rtol, atol)
        return
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and list(ours) == list(theirs), (
            f"{where}: keys {list(ours)} against PyTorch's {list(theirs)}"
        )
        for k in theirs:
            _compare(ours[k], theirs[k], f"{where}[{k!r}]", rtol, atol)
        return
    if isinstance(theirs, float):
        assert isinstance(ours, (int, float)) and np.isclose(ours, theirs, rtol=rtol or 1e-5, atol=atol or 1e-7), (
            f"{where}: {ours!r} against PyTorch's {theirs!r}"
        )
        return
    assert type(ours) is type(theirs) and ours == theirs, f"{where}: {ours!r} against PyTorch's {theirs!r}"


def run(L, fn):
    try:
        return "ok", _plain(fn(L))
    except Exception as exc:  # noqa: BLE001 - any error counts as "raised"
        return "raised", f"{type(exc).__name__}: {exc}"


def check(idiom: Idiom) -> None:
    """Run the idiom on both libraries and compare."""
    torch.manual_seed(0)
    cr.manual_seed(0)
    theirs = run(torch, idiom.fn)
    ours = run(cr, idiom.fn)
    if theirs[0] == "raised":
        assert ours[0] == "raised", f"{idiom.name}: PyTorch raises ({theirs[1]}), chainrule returned {ours[1]!r}"
        return
    assert ours[0] == "ok", f"{idiom.name}: PyTorch returns a result, chainrule raised {ours[1]}"
    _compare(ours[1], theirs[1], idiom.name, idiom.rtol, idiom.atol)
