"""Write docs/pytorch.md: every public name of PyTorch's main namespaces, looked up in chainrule.

    python scripts/pytorch_probe.py            # print the table
    python scripts/pytorch_probe.py --write    # write docs/pytorch.md (tests/test_pytorch_probe.py: it is current)

A name is *supported* when chainrule has it at the same path (``torch.nn.functional.relu`` ->
``chainrule.nn.functional.relu``) and it can be called; *differs* when it is supported but behaves
differently in a way worth knowing before porting (the notes below, each checked by a test in
tests/compat or named there); otherwise *not supported*. The behaviour of supported names is checked
against PyTorch 2.13 by the compatibility suite (tests/compat), not by this probe.
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

import chainrule

NAMESPACES = [
    ("torch", torch, chainrule),
    ("torch.Tensor", torch.Tensor, chainrule.Tensor),
    ("torch.nn", torch.nn, chainrule.nn),
    ("torch.nn.functional", torch.nn.functional, chainrule.nn.functional),
    ("torch.nn.init", torch.nn.init, chainrule.nn.init),
    ("torch.nn.utils", torch.nn.utils, chainrule.nn.utils),
    ("torch.optim", torch.optim, chainrule.optim),
    ("torch.optim.lr_scheduler", torch.optim.lr_scheduler, chainrule.optim.lr_scheduler),
    ("torch.autograd", torch.autograd, chainrule.autograd),
    ("torch.autograd.functional", torch.autograd.functional, chainrule.autograd.functional),
    ("torch.utils.data", torch.utils.data, chainrule.utils.data),
    ("torch.cuda", torch.cuda, chainrule.cuda),
]

# Supported, but not the same: what a user porting code should know.
DIFFERS = {
    "torch.tensor": "a float64 NumPy array becomes float32 (the default dtype) unless `dtype=` says float64; "
    "`from_numpy` keeps float64. Lists behave as in PyTorch.",
    "torch.add": "float32 with float64 raises `DTypeError` instead of promoting to float64 (chainrule never upcasts "
    "silently); the same holds for every binary op and operator.",
    "torch.max": "with `dim`, tied maxima share the gradient evenly (PyTorch gives it to the index returned); values "
    "and indices are the same.",
    "torch.min": "as `max`: tied minima share the gradient.",
    "torch.empty": "returns zeros (PyTorch leaves the memory uninitialised).",
    "torch.empty_like": "returns zeros.",
    "torch.save": "writes a safetensors file, never a pickle: tensors, arrays, numbers, strings, lists, tuples and "
    "dicts can be saved; a Module or another object is refused, naming `state_dict()`.",
    "torch.load": "reads what `save` wrote (or any safetensors file, as a dict of tensors); runs no code whatever "
    "`weights_only` says; `map_location` takes 'cpu' or 'cuda'.",
    "torch.manual_seed": "seeds chainrule's own NumPy generator: the same seed gives other numbers than PyTorch's.",
    "torch.randn": "draws from chainrule's generator (other numbers than PyTorch's for the same seed).",
    "torch.rand": "draws from chainrule's generator (other numbers than PyTorch's for the same seed).",
    "torch.device": "'cpu' or 'cuda' (through CuPy); a `device` compares equal to its string.",
    "torch.float16": "storage only: cast to float32 to compute.",
    "torch.half": "storage only: cast to float32 to compute.",
    "torch.float32": "dtypes are NumPy dtypes: `chainrule.float32 == numpy.float32`, printed `float32`.",
    "torch.Size": "prints as a tuple, `(2, 3)`, in messages and f-strings; its repr is `chainrule.Size([2, 3])`.",
    "torch.inference_mode": "the same as `no_grad`.",
    "torch.set_default_device": "'cpu' or 'cuda'.",
    "torch.arange": "float ranges are computed in float64, then cast.",
    "torch.Tensor.view": "is `reshape`: it copies where the memory does not allow a view, instead of raising.",
    "torch.Tensor.backward": "with `create_graph=True` the graph is always kept (`retain_graph=False` is ignored: "
    "the recorded gradients are built from the forward's tensors).",
    "torch.Tensor.type": "names the type `chainrule.FloatTensor`.",
    "torch.Tensor.grad_fn": "nodes are named `MulBackward` (PyTorch: `MulBackward0`); `next_functions` as PyTorch's.",
    "torch.Tensor.__setitem__": (
        "on a view of a tensor in the graph, only views made by indexing are supported while recording "
        "(in-place ops on the output of reshape or transpose raise, naming the op)."
    ),
    "torch.Tensor.max": "with `dim`, tied maxima share the gradient evenly.",
    "torch.Tensor.min": "with `dim`, tied minima share the gradient evenly.",
    "torch.Tensor.numpy": "a 'cuda' tensor raises; call `.cpu()` first.",
    "torch.Tensor.cuda": "needs CuPy and an NVIDIA GPU.",
    "torch.nn.Module.state_dict": "values are Tensors holding copies; PyTorch's share memory with the parameters, so "
    "training on changes them.",
    "torch.nn.MSELoss": "prediction and target of different shapes raise instead of broadcasting with a warning.",
    "torch.nn.L1Loss": "prediction and target of different shapes raise instead of broadcasting with a warning.",
    "torch.nn.Softmax": "`dim=None` means the last dimension.",
    "torch.nn.LayerNorm": "composed of differentiable ops (slower than a fused kernel, same values).",
    "torch.optim.Optimizer": (
        "`state` is keyed by `id(param)` and holds NumPy arrays; `state_dict()` round-trips as PyTorch's."
    ),
    "torch.autograd.Function": "`forward` returns one tensor (several outputs are not supported); for "
    "`create_graph=True` it must save inputs, not its output (refused with a message).",
    "torch.autograd.functional.jacobian": "`strategy='reverse-mode'` only; `vectorize` is accepted and ignored.",
    "torch.autograd.functional.hessian": "`outer_jacobian_strategy='reverse-mode'` only; `vectorize` ignored.",
    "torch.autograd.functional.jvp": "by two reverse-mode products (no forward mode): the same numbers, two backward "
    "passes.",
    "torch.nn.functional.unfold": "`dilation` 1 only.",
    "torch.nn.functional.fold": "`dilation` 1 only.",
    "torch.autograd.grad": "with `create_graph=True` the graph is always kept (`retain_graph=False` is ignored).",
    "torch.autograd.backward": "with `create_graph=True` the graph is always kept (`retain_graph=False` is ignored).",
    "torch.cuda.is_available": "True only where CuPy is installed and sees an NVIDIA GPU.",
}


def _has(owner, name: str) -> bool:
    try:
        value = getattr(owner, name)
    except Exception:  # noqa: BLE001 - a property that raises on the class counts as absent
        return False
    return value is not None


def _public(owner) -> list[str]:
    names = [n for n in dir(owner) if not n.startswith("_")]
    if owner is torch.Tensor:  # the operators people write
        names += [
            n
            for n in (
                "__add__",
                "__sub__",
                "__mul__",
                "__truediv__",
                "__matmul__",
                "__pow__",
                "__neg__",
                "__getitem__",
                "__setitem__",
                "__iadd__",
                "__isub__",
                "__imul__",
                "__itruediv__",
                "__eq__",
                "__lt__",
                "__gt__",
                "__and__",
                "__or__",
                "__invert__",
                "__len__",
                "__bool__",
                "__float__",
                "__int__",
                "__array__",
            )
            if hasattr(owner, n)
        ]
    if owner is torch.nn:  # the Module methods users call
        names += [f"Module.{m}" for m in dir(torch.nn.Module) if not m.startswith("_")]
    return sorted(set(names))


def _lookup(owner, dotted: str):
    for part in dotted.split("."):
        if not _has(owner, part):
            return None
        owner = getattr(owner, part)
    return owner


def probe() -> list[tuple[str, list[tuple[str, str, str]], list[str]]]:
    """[(namespace, [(name, status, note)], [names not supported])]."""
    sections = []
    for label, theirs, ours in NAMESPACES:
        rows, missing = [], []
        for name in _public(theirs):
            if isinstance(getattr(theirs, name, None), type(sys)) and label != "torch.Tensor":
                continue  # submodules get their own section
            full = f"{label}.{name}"
            if _lookup(ours, name) is None:
                missing.append(name)
            elif full in DIFFERS:
                rows.append((name, "differs", DIFFERS[full]))
            else:
                rows.append((name, "supported", ""))
        sections.append((label, rows, missing))
    return sections


def render() -> str:
    sections = probe()
    supported = sum(1 for _, rows, _ in sections for r in rows if r[1] == "supported")
    differs = sum(1 for _, rows, _ in sections for r in rows if r[1] == "differs")
    missing = sum(len(m) for _, _, m in sections)
    lines = [
        "# PyTorch names in chainrule",
        "",
        f"Generated by `python scripts/pytorch_probe.py --write` against PyTorch {torch.__version__.split('+')[0]}: "
        "every public name of PyTorch's main namespaces, looked up at the same path in chainrule "
        "(`import chainrule as torch`). Look a name up before porting code.",
        "",
        f"**{supported} supported, {differs} supported with a difference, {missing} not supported.** "
        "How supported names behave is checked against PyTorch by the compatibility suite (`tests/compat`: values, "
        "dtypes, shapes, gradients and errors of ~420 idioms, and PyTorch's beginner tutorials run with only the "
        "import "
        "changed).",
        "",
        "Differences that hold everywhere:",
        "",
        "- **No silent upcast**: an op mixing float32 and float64 raises `DTypeError` (PyTorch promotes to float64).",
        "- **float32 by default**, also for `tensor(ndarray)` of float64 (PyTorch keeps float64); `from_numpy` keeps "
        "it.",
        "- **dtypes are NumPy's** (`chainrule.float32 is numpy.dtype('float32')`); devices are 'cpu' and 'cuda' "
        "(CuPy).",
        "- **Never pickle**: `save`/`load` use safetensors with JSON; loading runs no code.",
        "- **Random numbers** come from chainrule's own seeded NumPy generator: a seed gives other numbers than "
        "PyTorch's.",
        "",
    ]
    for label, rows, not_supported in sections:
        lines += [f"## `{label}`", ""]
        if rows:
            lines += ["| name | status | how it differs |", "| --- | --- | --- |"]
            lines += [f"| `{name}` | {status} | {note} |" for name, status, note in rows]
            lines.append("")
        if not_supported:
            lines += [f"Not supported ({len(not_supported)}): " + ", ".join(f"`{n}`" for n in not_supported), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write docs/pytorch.md")
    args = parser.parse_args()
    text = render()
    if args.write:
        path = os.path.join(os.path.dirname(__file__), "..", "docs", "pytorch.md")
        with open(path, "w") as f:
            f.write(text)
        print(f"wrote {os.path.normpath(path)}")
    else:
        print(text)


if __name__ == "__main__":
    main()
