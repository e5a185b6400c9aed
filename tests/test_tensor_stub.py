"""Tensor's face is visible to editors and type checkers: src/chainrule/tensor.pyi lists every method that
ops/tensor_methods.py attaches at import, and mypy, reading the examples and the README's snippets with it, finds
no unknown attribute."""

import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location("tensor_stub", ROOT / "scripts" / "tensor_stub.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_stub_lists_the_finished_tensor_class():
    generator = _generator()
    assert generator.STUB.read_text() == generator.build(), (
        "src/chainrule/tensor.pyi is out of date with Tensor's methods: run python scripts/tensor_stub.py"
    )


def test_the_stub_has_the_methods_people_reach_for():
    text = (ROOT / "src" / "chainrule" / "tensor.pyi").read_text()
    for name in ("__add__", "__matmul__", "__getitem__", "sum", "mean", "backward", "relu", "view", "to", "item"):
        assert re.search(rf"    def {re.escape(name)}\(self", text), name


def _snippets(tmp_path) -> list:
    """The README's Python blocks, each in a file of its own."""
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    files = []
    for k, block in enumerate(blocks):
        path = tmp_path / f"readme_{k}.py"
        path.write_text(block)
        files.append(str(path))
    return files


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed (pip install -e '.[dev]')")
def test_mypy_finds_no_unknown_attribute_in_the_examples_and_the_readme(tmp_path):
    files = sorted(str(p) for p in (ROOT / "examples").glob("*.py")) + _snippets(tmp_path)
    options = ["--follow-imports=silent", "--check-untyped-defs", "--ignore-missing-imports", "--no-incremental"]
    command = [sys.executable, "-m", "mypy", *options, "--cache-dir", str(tmp_path / "cache"), *files]
    env = {"MYPYPATH": str(ROOT / "src"), "PATH": os.environ.get("PATH", "")}
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env)
    # (``.grad`` is typed ``Tensor | None``, as PyTorch types it: ``w.grad.item()`` is a union-attr note, not an
    # unknown attribute)
    unknown = [line for line in result.stdout.splitlines() if "[attr-defined]" in line]
    assert not unknown, "\n".join(unknown)
