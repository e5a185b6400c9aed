"""docs/pytorch.md is what scripts/pytorch_probe.py writes today, and it says what the suite checks."""

import importlib.util
import os

ROOT = os.path.join(os.path.dirname(__file__), "..")


def _probe():
    spec = importlib.util.spec_from_file_location("pytorch_probe", os.path.join(ROOT, "scripts", "pytorch_probe.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_table_is_current():
    with open(os.path.join(ROOT, "docs", "pytorch.md")) as f:
        assert f.read() == _probe().render(), "docs/pytorch.md is stale: run python scripts/pytorch_probe.py --write"


def test_the_names_beginners_reach_for_first_are_supported():
    probe = _probe()
    status = {f"{label}.{name}": s for label, rows, _ in probe.probe() for name, s, _ in rows}
    for name in (
        "torch.nn.Linear",
        "torch.nn.functional.relu",
        "torch.optim.Adam",
        "torch.autograd.Function",
        "torch.utils.data.DataLoader",
        "torch.Tensor.add_",
        "torch.Tensor.zero_",
        "torch.Tensor.__isub__",
        "torch.no_grad",
        "torch.Tensor.backward",
        "torch.nn.Module.state_dict",
        "torch.cuda.is_available",
    ):
        assert name in status, f"{name} is not supported"


def test_every_difference_names_a_supported_name():
    probe = _probe()
    present = {f"{label}.{name}" for label, rows, _ in probe.probe() for name, _, _ in rows}
    assert set(probe.DIFFERS) <= present, sorted(set(probe.DIFFERS) - present)
