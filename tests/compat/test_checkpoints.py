"""save/load of whole checkpoints: what goes in comes back, in both libraries (chainrule never pickles)."""

import io
import os
import tempfile

import pytest

from .harness import check, data, idioms, same_init


def _round_trip(L, obj, **load_kw):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "checkpoint.pt")
        L.save(obj, path)
        return L.load(path, **load_kw)


def _tensor(L):
    return _round_trip(L, L.tensor(data(2, 3)))


def _int_tensor(L):
    return _round_trip(L, L.tensor([1, 2, 3]))


def _state_dict(L):
    model = same_init(L.nn.Sequential(L.nn.Linear(3, 2), L.nn.BatchNorm1d(2)), L)
    loaded = _round_trip(L, model.state_dict(), weights_only=True)
    fresh = L.nn.Sequential(L.nn.Linear(3, 2), L.nn.BatchNorm1d(2))
    fresh.load_state_dict(loaded)
    return dict(loaded), fresh[0].weight


def _full_checkpoint(L):
    model = same_init(L.nn.Linear(3, 1), L)
    optimizer = L.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = L.tensor(data(4, 3))
    for _ in range(2):
        optimizer.zero_grad()
        model(x).pow(2).sum().backward()
        optimizer.step()
    checkpoint = {
        "epoch": 3,
        "loss": 0.25,
        "name": "run-1",
        "history": [1.0, 0.5],
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
    }
    loaded = _round_trip(L, checkpoint, map_location="cpu", weights_only=True)
    restored = L.nn.Linear(3, 1)
    restored.load_state_dict(loaded["model"])
    resumed = L.optim.SGD(restored.parameters(), lr=0.1, momentum=0.9)
    resumed.load_state_dict(loaded["optimizer"])
    for m, o in ((model, optimizer), (restored, resumed)):
        o.zero_grad()
        m(x).pow(2).sum().backward()
        o.step()
    return loaded["epoch"], loaded["loss"], loaded["name"], loaded["history"], model.weight, restored.weight


def _nested(L):
    obj = {"weights": [L.ones(2), L.zeros(3)], "pair": (1, "two"), "meta": {"lr": 0.1, "ok": True, "none": None}}
    loaded = _round_trip(L, obj)
    return loaded["weights"], loaded["pair"], loaded["meta"]


def _file_object(L):
    buffer = io.BytesIO()
    L.save({"w": L.arange(4.0)}, buffer)
    buffer.seek(0)
    return L.load(buffer)["w"]


def _missing_file_raises(L):
    L.load("/nonexistent/checkpoint.pt")


def _requires_grad_kept(L):
    return _round_trip(L, L.ones(2, requires_grad=True)).requires_grad


CHECKPOINTS = idioms(
    ("save_load_tensor", _tensor),
    ("save_load_int_tensor", _int_tensor),
    ("save_load_state_dict", _state_dict),
    ("save_load_full_checkpoint", _full_checkpoint),
    ("save_load_nested", _nested),
    ("save_load_file_object", _file_object),
    ("load_missing_file_raises", _missing_file_raises),
    ("requires_grad_kept", _requires_grad_kept),
)


@pytest.mark.parametrize("idiom", CHECKPOINTS, ids=str)
def test_idiom(idiom):
    check(idiom)


def test_a_module_is_refused_by_name(tmp_path):
    """Differs on purpose: torch.save(model) pickles the module; chainrule never pickles, and says what to save."""
    import chainrule as cr
    from chainrule.errors import CheckpointError

    with pytest.raises(CheckpointError, match=r"Linear.*state_dict\(\)"):
        cr.save(cr.nn.Linear(2, 1), str(tmp_path / "model.pt"))
    assert not (tmp_path / "model.pt").exists()


def test_loading_runs_no_code(tmp_path):
    """A file whose object description names a Python class is just data: nothing is imported or called."""
    import json

    import chainrule as cr
    from chainrule.serialization import TREE_KEY, write_arrays

    path = tmp_path / "evil.pt"
    write_arrays({}, str(path), {TREE_KEY: json.dumps({"__reduce__": "os.system", "args": ["touch pwned"]})})
    assert cr.load(str(path)) == {"__reduce__": "os.system", "args": ["touch pwned"]}
    assert not (tmp_path / "pwned").exists()
