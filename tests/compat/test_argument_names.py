"""PyTorch's parameter names, taken from PyTorch's own signatures, are accepted as keywords by every
function chainrule supports at the same path (torch.* and torch.nn.functional.*), so code written with
``torch.matmul(input=a, other=b)`` or ``F.cross_entropy(logits, y, ignore_index=-1)`` runs unchanged. A name
PyTorch adds later makes this test fail until chainrule takes it or NOT_TAKEN says why not."""

import inspect
import re

import pytest
import torch

import chainrule as cr

# Names chainrule does not take anywhere, and why.
NOT_TAKEN_ANYWHERE = {
    "out": "results are new tensors (out= exists only where chainrule has it, e.g. matmul)",
    "layout": "one (strided) layout",
    "pin_memory": "no pinned memory",
    "memory_format": "one memory format",
    "names": "no named tensors",
    "_stacklevel": "PyTorch's internal warning level",
}
# Names one function does not take, and why.
NOT_TAKEN = {
    ("avg_pool1d", "ceil_mode"): "floor mode only",
    ("avg_pool1d", "count_include_pad"): "padding always counts, as PyTorch's default",
    ("avg_pool2d", "ceil_mode"): "floor mode only",
    ("avg_pool2d", "count_include_pad"): "padding always counts, as PyTorch's default",
    ("avg_pool2d", "divisor_override"): "the window's size is the divisor",
    ("binary_cross_entropy", "weight"): "no per-element weights yet",
    ("binary_cross_entropy", "size_average"): "deprecated since PyTorch 0.4: reduction=",
    ("binary_cross_entropy", "reduce"): "deprecated since PyTorch 0.4: reduction=",
    ("binary_cross_entropy_with_logits", "weight"): "no per-element weights yet",
    ("binary_cross_entropy_with_logits", "size_average"): "deprecated since PyTorch 0.4: reduction=",
    ("binary_cross_entropy_with_logits", "reduce"): "deprecated since PyTorch 0.4: reduction=",
    ("binary_cross_entropy_with_logits", "pos_weight"): "no positive-class weight yet",
    ("mse_loss", "size_average"): "deprecated since PyTorch 0.4: reduction=",
    ("mse_loss", "reduce"): "deprecated since PyTorch 0.4: reduction=",
    ("mse_loss", "weight"): "no per-element weights yet",
    ("l1_loss", "size_average"): "deprecated since PyTorch 0.4: reduction=",
    ("l1_loss", "reduce"): "deprecated since PyTorch 0.4: reduction=",
    ("l1_loss", "weight"): "no per-element weights yet",
    ("conv2d", "dilation"): "no dilated convolutions yet",
    ("conv2d", "groups"): "no grouped convolutions yet",
    ("embedding", "max_norm"): "no renormalised embeddings",
    ("embedding", "norm_type"): "no renormalised embeddings",
    ("embedding", "scale_grad_by_freq"): "plain gradients",
    ("embedding", "sparse"): "dense gradients only",
    ("norm", "dtype"): "computed in the input's dtype",
    ("save", "pickle_module"): "chainrule never pickles",
    ("save", "pickle_protocol"): "chainrule never pickles",
    ("save", "_use_new_zipfile_serialization"): "safetensors files, not zip",
    ("save", "_disable_byteorder_record"): "safetensors files, not zip",
    ("set_printoptions", "profile"): "set the options one by one",
}


def torch_parameter_names(fn) -> list | None:
    """PyTorch's parameter names: from the signature, or for builtins from the docstring's first line
    (``add(input, other, *, alpha=1, out=None) -> Tensor``)."""
    try:
        parameters = inspect.signature(fn).parameters.values()
        return [p.name for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    except (TypeError, ValueError):
        pass
    match = re.match(r"[\w.]+\((.*?)\)\s*->", (fn.__doc__ or "").strip().replace("\n", " "))
    if not match:
        return None
    names, depth, current = [], 0, ""
    for ch in match.group(1) + ",":  # split on commas outside brackets
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            name = re.split(r"[=:\s]", current.strip())[0]
            if name.isidentifier():
                names.append(name)
            current = ""
        else:
            current += ch
    return names


def supported(torch_space, our_space):
    for name in sorted(dir(our_space)):
        if name.startswith("_") or not hasattr(torch_space, name):
            continue
        ours, theirs = getattr(our_space, name), getattr(torch_space, name)
        if callable(ours) and not inspect.isclass(ours) and torch_parameter_names(theirs):
            yield name, ours, theirs


CASES = [(f"torch.{n}", o, t) for n, o, t in supported(torch, cr)] + [
    (f"F.{n}", o, t) for n, o, t in supported(torch.nn.functional, cr.nn.functional)
]


def test_the_probe_finds_the_functions():
    assert len(CASES) > 150  # the walk found PyTorch's signatures (a parser change would show here)


@pytest.mark.parametrize("path, ours, theirs", CASES, ids=[c[0] for c in CASES])
def test_pytorch_parameter_names_are_accepted(path, ours, theirs):
    try:
        parameters = inspect.signature(ours).parameters
    except (TypeError, ValueError):
        pytest.skip(f"{path}: chainrule's function has no inspectable signature")
    if any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
        return
    short = path.split(".", 1)[1]
    missing = [
        name
        for name in torch_parameter_names(theirs)
        if name not in parameters and name not in NOT_TAKEN_ANYWHERE and (short, name) not in NOT_TAKEN
    ]
    assert not missing, f"{path} does not take PyTorch's parameter(s) {missing}: take them or add them to NOT_TAKEN"


def test_keywords_mean_what_they_mean_in_pytorch():
    a, b = [[1.0, 2.0], [3.0, 4.0]], [[0.5], [-1.0]]
    for L in (torch, cr):
        x, y = L.tensor(a), L.tensor(b)
        assert L.matmul(input=x, other=y).tolist() == [[-1.5], [-2.5]]
        assert L.sum(input=x, dim=1, keepdim=True).tolist() == [[3.0], [7.0]]
        assert L.gather(input=x, dim=1, index=L.tensor([[1], [0]])).tolist() == [[2.0], [3.0]]
        assert L.nn.functional.cross_entropy(input=x, target=L.tensor([1, -1]), ignore_index=-1).item() == (
            pytest.approx(0.3132617, rel=1e-6)
        )
        assert L.permute(input=L.zeros(2, 3, 4), dims=(2, 0, 1)).shape == (4, 2, 3)


# Tensor methods: PyTorch's names come from the function of the same name (input dropped) or, for a method
# without one, from its docstring. Names a docstring shows that PyTorch's own binding refuses, and why.
METHOD_NOT_TAKEN = {
    ("mul_", "value"): "PyTorch's docstring says value; its binding takes other (checked below)",
    ("div_", "value"): "PyTorch's docstring says value; its binding takes other (checked below)",
    ("where", "y"): "PyTorch's docstring says y; its binding takes other (checked below)",
    ("uniform_", "from"): "'from' is a Python keyword: no Python function can name a parameter so",
    ("uniform_", "to"): "goes with 'from' (chainrule's a, b)",
    ("norm", "dtype"): "computed in the input's dtype",
}


def method_names(name):
    function = getattr(torch, name, None)
    names = torch_parameter_names(function) if callable(function) and not inspect.isclass(function) else None
    if names and names[0] == "input":
        return names[1:]
    return [n for n in (torch_parameter_names(getattr(torch.Tensor, name)) or []) if n != "self"]


METHODS = [
    name
    for name in sorted(dir(cr.Tensor))
    if not name.startswith("_")
    and hasattr(torch.Tensor, name)
    and callable(getattr(cr.Tensor, name))
    and not isinstance(inspect.getattr_static(cr.Tensor, name), property)
    and method_names(name)
]


def test_the_probe_finds_the_methods():
    assert len(METHODS) > 100


@pytest.mark.parametrize("name", METHODS)
def test_pytorch_method_parameter_names_are_accepted(name):
    try:
        parameters = inspect.signature(getattr(cr.Tensor, name)).parameters
    except (TypeError, ValueError):
        pytest.skip(f"Tensor.{name}: no inspectable signature")
    if any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
        return
    missing = [
        n
        for n in method_names(name)
        if n not in parameters and n not in NOT_TAKEN_ANYWHERE and (name, n) not in METHOD_NOT_TAKEN
    ]
    assert not missing, f"Tensor.{name} does not take PyTorch's parameter(s) {missing}"


def test_the_docstring_names_pytorch_itself_refuses():
    t = torch.ones(2)
    for call in (lambda: t.clone().mul_(value=2), lambda: t.clone().div_(value=2), lambda: t.where(t > 0, y=t)):
        with pytest.raises(TypeError):
            call()
    for L in (torch, cr):
        x = L.ones(2, 3)
        assert x.clone().mul_(other=2).tolist() == [[2.0] * 3] * 2
        assert x.where(x > 1, other=x * 5).tolist() == [[5.0] * 3] * 2
        assert x.swapaxes(axis0=0, axis1=1).shape == (3, 2)
        assert [p.shape for p in x.split(split_size=2, dim=1)] == [(2, 2), (2, 1)]
        assert x.clone().pow_(exponent=2).tolist() == [[1.0] * 3] * 2
