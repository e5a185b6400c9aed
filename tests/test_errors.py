"""Every bad input in docs/errors.md, with the exception and message it gets.

The table in docs/errors.md is generated from CASES (``python tests/test_errors.py --write``),
and the last test checks that it is current.
"""

import gzip
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import errors, nn, optim
from chainrule.app.config import TrainConfig, resolve_config_paths
from chainrule.app.run import train_run
from chainrule.data import DataLoader, TensorDataset, load_dataset
from chainrule.explain import parse_network

DOC = os.path.join(os.path.dirname(__file__), "..", "docs", "errors.md")


def _corrupt_idx_folder(tmp):
    with gzip.open(os.path.join(tmp, "t10k-images-idx3-ubyte.gz"), "wb") as f:
        f.write(struct.pack(">IIII", 0x0803, 2, 28, 28) + bytes(2 * 28 * 28))
    with gzip.open(os.path.join(tmp, "t10k-labels-idx1-ubyte.gz"), "wb") as f:
        f.write(struct.pack(">II", 0x1234, 2) + bytes(2))
    return tmp


def _file(tmp, name, content: bytes):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(content)
    return path


def _saved_linear(tmp):
    path = os.path.join(tmp, "linear.safetensors")
    cr.save(nn.Linear(4, 3).state_dict(), path)
    return path


def _state_dict_problems():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    state = model.state_dict()
    del state["2.bias"]
    state["3.weight"] = np.zeros((2, 2))
    state["0.weight"] = np.zeros((8, 5))
    model.load_state_dict(state)


# (id, what was tried, how, exception, pattern the message must match)
CASES = [
    (
        "linear-features",
        "`nn.Linear(784, 10)` given input of shape (32, 785)",
        lambda tmp: nn.Linear(784, 10)(cr.ones(32, 785)),
        errors.ShapeError,
        r"Linear\(784, 10\).*784.*785",
    ),
    (
        "conv-3d",
        "`nn.Conv2d(1, 8, 3)` given a 3-D input (3, 28, 28)",
        lambda tmp: nn.Conv2d(1, 8, 3)(cr.ones(3, 28, 28)),
        errors.ShapeError,
        r"Conv2d\(1, 8\).*\(3, 28, 28\)",
    ),
    (
        "matmul-shapes",
        "`a @ b` with shapes (2, 3) and (4, 5)",
        lambda tmp: cr.ones(2, 3) @ cr.ones(4, 5),
        errors.ShapeError,
        r"matmul.*\(2, 3\).*\(4, 5\)",
    ),
    (
        "broadcast",
        "`a + b` with shapes (2, 3) and (4,)",
        lambda tmp: cr.ones(2, 3) + cr.ones(4),
        errors.ShapeError,
        r"add.*\(2, 3\).*\(4,\)",
    ),
    (
        "dtype-mix",
        "float32 tensor + float64 tensor",
        lambda tmp: cr.ones(2) + cr.ones(2, dtype="float64"),
        errors.DTypeError,
        r"float32 and float64.*never upcasts",
    ),
    (
        "int-requires-grad",
        "`requires_grad=True` on an integer tensor",
        lambda tmp: cr.tensor([1, 2], requires_grad=True),
        errors.DTypeError,
        r"only floating-point",
    ),
    (
        "backward-nonscalar",
        "`backward()` on a non-scalar without a gradient",
        lambda tmp: (cr.ones(3, requires_grad=True) * 2).backward(),
        errors.GraphError,
        r"one-element tensor",
    ),
    (
        "backward-twice",
        "a second `backward()` through a freed graph",
        lambda tmp: [loss := (cr.ones(2, requires_grad=True).exp()).sum(), loss.backward(), loss.backward()],
        errors.GraphError,
        r"second time.*retain_graph",
    ),
    (
        "ce-label-range",
        "`CrossEntropyLoss` with label 10 for 10 classes",
        lambda tmp: nn.CrossEntropyLoss()(cr.ones(2, 10), cr.tensor([3, 10])),
        errors.DataError,
        r"target class 10 is out of range for 10 classes",
    ),
    (
        "ce-float-labels",
        "`CrossEntropyLoss` with float class labels",
        lambda tmp: nn.CrossEntropyLoss()(cr.ones(2, 10), cr.tensor([3.0, 1.0])),
        errors.DTypeError,
        r"must be integers",
    ),
    (
        "bce-target-range",
        "`BCELoss` with a target of 1.5",
        lambda tmp: nn.BCELoss()(cr.tensor([0.5, 0.5]), cr.tensor([1.0, 1.5])),
        errors.DataError,
        r"targets must lie in \[0, 1\]",
    ),
    (
        "mse-broadcast",
        "`MSELoss` with shapes (4, 1) and (4,)",
        lambda tmp: nn.MSELoss()(cr.ones(4, 1), cr.ones(4)),
        errors.ShapeError,
        r"\(4, 1\).*\(4,\).*broadcast",
    ),
    (
        "nan-data",
        "NaN in a dataset's inputs",
        lambda tmp: TensorDataset(np.array([[1.0], [np.nan]]), np.array([0, 1])),
        errors.DataError,
        r"NaN or infinite",
    ),
    (
        "inf-data",
        "infinity in a CSV data file",
        lambda tmp: load_dataset(_file(tmp, "d.csv", b"a,b,y\n1,2,0\ninf,3,1\n")),
        errors.DataError,
        r"NaN or infinite",
    ),
    (
        "empty-dataset",
        "an empty dataset",
        lambda tmp: DataLoader(TensorDataset(np.zeros((0, 2)), np.zeros(0))),
        errors.DataError,
        r"empty",
    ),
    (
        "batch-zero",
        "`batch_size=0`",
        lambda tmp: DataLoader(TensorDataset(np.zeros((4, 2)), np.zeros(4)), batch_size=0),
        errors.ConfigError,
        r"batch_size must be a positive integer",
    ),
    (
        "batch-negative",
        "`batch_size=-8`",
        lambda tmp: DataLoader(TensorDataset(np.zeros((4, 2)), np.zeros(4)), batch_size=-8),
        errors.ConfigError,
        r"batch_size must be a positive integer",
    ),
    (
        "lr-zero",
        "learning rate 0",
        lambda tmp: optim.SGD(nn.Linear(2, 2).parameters(), lr=0),
        errors.ConfigError,
        r"lr .* positive finite",
    ),
    (
        "lr-negative",
        "learning rate -0.1",
        lambda tmp: optim.Adam(nn.Linear(2, 2).parameters(), lr=-0.1),
        errors.ConfigError,
        r"lr .* positive finite",
    ),
    (
        "lr-nan",
        "learning rate NaN",
        lambda tmp: optim.SGD(nn.Linear(2, 2).parameters(), lr=float("nan")),
        errors.ConfigError,
        r"lr .* positive finite",
    ),
    (
        "beta-range",
        "Adam with beta1 = 1.0",
        lambda tmp: optim.Adam(nn.Linear(2, 2).parameters(), betas=(1.0, 0.999)),
        errors.ConfigError,
        r"beta1 must be in \[0.0, 1.0\)",
    ),
    (
        "empty-params",
        "an optimizer over no parameters",
        lambda tmp: optim.SGD([], lr=0.1),
        errors.ConfigError,
        r"empty parameter list",
    ),
    (
        "state-dict",
        "`load_state_dict` with a missing, an unexpected and a wrongly shaped key",
        lambda tmp: _state_dict_problems(),
        errors.StateDictError,
        r"shape mismatch for 0\.weight.*\(8, 5\).*missing keys 2\.bias.*unexpected keys 3\.weight",
    ),
    (
        "checkpoint-empty",
        "an empty checkpoint file",
        lambda tmp: cr.load(_file(tmp, "empty.safetensors", b"")),
        errors.CheckpointError,
        r"empty or truncated",
    ),
    (
        "checkpoint-truncated",
        "a truncated checkpoint",
        lambda tmp: cr.load(_file(tmp, "cut.safetensors", open(_saved_linear(tmp), "rb").read()[:-20])),
        errors.CheckpointError,
        r"not a valid safetensors file, or truncated",
    ),
    (
        "checkpoint-not-safetensors",
        "a file that is not safetensors (a pickle)",
        lambda tmp: cr.load(_file(tmp, "model.pt", b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94.")),
        errors.CheckpointError,
        r"not a valid safetensors file",
    ),
    (
        "checkpoint-architecture",
        "weights of a different architecture",
        lambda tmp: nn.Linear(5, 3).load_state_dict(cr.load(_saved_linear(tmp))),
        errors.StateDictError,
        r"weight: checkpoint \(3, 4\), model \(3, 5\)",
    ),
    (
        "config-unknown-key",
        "a config file key that does not exist (`learning_rate`)",
        lambda tmp: TrainConfig.from_dict({"learning_rate": 0.1}),
        errors.ConfigError,
        r"unknown key learning_rate",
    ),
    (
        "config-wrong-type",
        'a config value of the wrong type (`epochs = "ten"`)',
        lambda tmp: TrainConfig.from_dict({"epochs": "ten"}),
        errors.ConfigError,
        r"'epochs' should be int",
    ),
    (
        "idx-header",
        "an MNIST folder whose labels file has a corrupt idx header",
        lambda tmp: load_dataset("mnist-t10k", data_dir=_corrupt_idx_folder(tmp)),
        errors.DataError,
        r"bad idx header: magic number 0x00001234",
    ),
    (
        "mnist-missing",
        "an MNIST folder without the idx files",
        lambda tmp: load_dataset("mnist-t10k", data_dir=tmp),
        errors.DataError,
        r"lacks t10k-images-idx3-ubyte",
    ),
    (
        "unknown-dataset",
        "an unknown dataset name",
        lambda tmp: load_dataset("imagenet"),
        errors.DataError,
        r"unknown dataset 'imagenet'",
    ),
    (
        "explain-network",
        "an explain network whose weight does not fit its input",
        lambda tmp: parse_network({"inputs": [[1, 2]], "targets": [[1]], "layers": [{"weight": [[1, 2, 3]]}]}),
        errors.ConfigError,
        r"3 columns but its input has 2",
    ),
    (
        "run-folder-taken",
        "`chainrule train --out DIR` where DIR already holds a run (and no `--overwrite`)",
        lambda tmp: [
            train_run(TrainConfig(data="iris", epochs=1, early_stopping=0, quiet=True, out=tmp)) for _ in range(2)
        ],
        errors.ConfigError,
        r"already holds a run.*--overwrite",
    ),
    (
        "resume-changes-model",
        "`--resume DIR --hidden 999`: an option that would change the run's network",
        lambda tmp: (
            train_run(TrainConfig(data="iris", epochs=1, early_stopping=0, quiet=True, out=tmp)),
            train_run(TrainConfig(data="iris", hidden=[999], quiet=True), resume=tmp),
        ),
        errors.ConfigError,
        r"--hidden would change",
    ),
    (
        "config-path-outside",
        'a config file naming `data = "/etc/passwd"`',
        lambda tmp: resolve_config_paths({"data": "/etc/passwd"}, tmp, "run.toml"),
        errors.ConfigError,
        r"data must be a path relative to the config file's folder",
    ),
    (
        "config-path-symlink",
        'a config file naming `data = "link/passwd"` where `link` is a symlink to /etc',
        lambda tmp: (
            os.symlink("/etc", os.path.join(tmp, "link")),
            resolve_config_paths({"data": "link/passwd"}, tmp, "run.toml"),
        ),
        errors.ConfigError,
        r"leads outside .* \(through a symlink or '\.\.'\); refused",
    ),
    (
        "checkpoint-damaged",
        "a checkpoint with one flipped bit in a weight",
        lambda tmp: cr.load(_flipped(tmp)),
        errors.CheckpointError,
        r"the file is damaged .* do not match their SHA-256 checksums",
    ),
    (
        "run-saved-nothing",
        "`chainrule train --out DIR` where a run was killed in its first epoch (nothing saved)",
        lambda tmp: (
            _file(tmp, "metrics.jsonl", b""),
            train_run(TrainConfig(data="iris", epochs=1, quiet=True, out=tmp)),
        ),
        errors.ConfigError,
        r"stopped before its first checkpoint.*--overwrite is safe",
    ),
    (
        "resume-saved-nothing",
        "`chainrule train --resume DIR` where the run was killed in its first epoch",
        lambda tmp: (
            _file(tmp, "metrics.jsonl", b""),
            train_run(TrainConfig(data="iris", epochs=1, quiet=True), resume=tmp),
        ),
        errors.CheckpointError,
        r"holds no checkpoint.*nothing was saved",
    ),
    (
        "csv-float32-overflow",
        "a CSV value beyond float32's range (2e39)",
        lambda tmp: load_dataset(_file(tmp, "big.csv", b"a,b,c\n1,2e39,0\n3,4,1\n5,6,0\n")),
        errors.DataError,
        r"'b' \(column 2\) line 2 holds 2e\+39, beyond float32's range",
    ),
    (
        "csv-header-wider",
        "a CSV header with more columns than its rows",
        lambda tmp: load_dataset(_file(tmp, "wide.csv", b"a,b,c,d\n1,2,0\n3,4,1\n")),
        errors.DataError,
        r"the header has 4 columns but the rows have 3",
    ),
    (
        "explain-too-large",
        "an explain network of 300 inputs and 300 neurons (90,000 weights)",
        lambda tmp: parse_network(
            {"inputs": [[0.1] * 300], "targets": [[0.0] * 300], "layers": [{"weight": [[0.1] * 300] * 300}]}
        ),
        errors.ConfigError,
        r"90,000 equations to write out, more than 50,000",
    ),
]


def _flipped(tmp) -> str:
    path = os.path.join(tmp, "model.safetensors")
    cr.save({"weight": cr.tensor(np.arange(64, dtype=np.float32))}, path)
    with open(path, "r+b") as f:
        f.seek(-10, os.SEEK_END)
        byte = f.read(1)
        f.seek(-10, os.SEEK_END)
        f.write(bytes([byte[0] ^ 0x01]))
    return path


@pytest.mark.parametrize("case_id, what, call, exception, pattern", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_a_specific_clear_error(tmp_path, case_id, what, call, exception, pattern):
    with pytest.raises(exception, match=pattern) as info:
        call(str(tmp_path))
    assert isinstance(info.value, errors.ChainruleError)


CLI_CASES = [
    ("cli-unknown-dataset", ["train", "--data", "imagenet"]),
    ("cli-unknown-option", ["train", "--learning-rate", "0.1"]),
    ("cli-batch-zero", ["train", "--batch-size", "0"]),
    ("cli-lr-negative", ["train", "--lr", "-1"]),
    ("cli-missing-folder", ["train", "--data", "mnist-t10k", "--data-dir", "/no/such/folder"]),
    ("cli-config-missing", ["train", "--config", "/no/such/file.toml"]),
    ("cli-evaluate-missing", ["evaluate", "/no/such/run"]),
    ("cli-bad-loss", ["train", "--data", "iris", "--loss", "mse"]),
    ("cli-explain-steps", ["explain", "--steps", "1000000000"]),
    ("cli-heads-width", ["train", "--data", "names", "--model", "transformer", "--embed", "10", "--heads", "4"]),
    ("cli-language-model-table", ["train", "--data", "iris", "--model", "lstm"]),
    ("cli-block-too-long", ["train", "--data", "names", "--model", "rnn", "--block", "40"]),
    ("cli-derivative-formula", ["explain", "--derivative", "__import__('os')"]),
]
try:  # where a GPU is usable, asking for it is no error
    import cupy  # noqa: F401

    HAVE_CUPY = True
except ImportError:
    HAVE_CUPY = False
if not HAVE_CUPY:
    CLI_CASES.append(("cli-cuda-without-gpu", ["train", "--device", "cuda", "--epochs", "1"]))


@pytest.mark.parametrize("case_id, args", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_the_command_prints_one_line_and_exits_2(case_id, args):
    result = subprocess.run([sys.executable, "-m", "chainrule", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chainrule: error:") and "Traceback" not in result.stderr


def _table(tmp) -> str:
    rows = ["| id | bad input | exception | message |", "|---|---|---|---|"]
    for case_id, what, call, exception, _ in CASES:
        folder = os.path.join(tmp, case_id)
        os.makedirs(folder)
        try:
            call(folder)
        except exception as exc:
            message = str(exc).replace(folder, "DIR").replace("|", "\\|")
            builtin = ", ".join(b.__name__ for b in type(exc).__bases__ if b is not errors.ChainruleError)
            rows.append(f"| {case_id} | {what} | `{type(exc).__name__}` ({builtin}) | {message} |")
    for case_id, args in CLI_CASES:
        result = subprocess.run([sys.executable, "-m", "chainrule", *args], capture_output=True, text=True, timeout=120)
        rows.append(
            f"| {case_id} | `chainrule {' '.join(args)}` | exit {result.returncode} | "
            f"{result.stderr.strip().replace('|', chr(92) + '|')} |"
        )
    header = (
        "# Bad input and what it gets\n\n"
        "Every row was produced by running it (`python tests/test_errors.py --write`), and `tests/test_errors.py` "
        "checks each one. API errors are subclasses of `chainrule.errors.ChainruleError` and of the built-in exception "
        "in brackets, so `except ValueError` keeps working. The command prints one line and exits with status 2 "
        "(130 for Ctrl-C, 1 where training diverged); an error it did not foresee still gets one line, naming the "
        "exception (`CHAINRULE_TRACEBACK=1` shows the traceback).\n\n"
    )
    return header + "\n".join(rows) + "\n"


def test_docs_table_is_current(tmp_path):
    with open(DOC, encoding="utf-8") as f:
        doc = f.read()
    for case_id, *_ in CASES + CLI_CASES:
        assert f"| {case_id} |" in doc, f"docs/errors.md lacks {case_id}: run python tests/test_errors.py --write"
    if HAVE_CUPY:  # the 'cuda' row is only produced where no GPU can be had
        doc = "\n".join(line for line in doc.split("\n") if not line.startswith("| cli-cuda-without-gpu |"))
    assert doc == _table(str(tmp_path)).replace(str(tmp_path), "DIR"), (
        "docs/errors.md is stale: run python tests/test_errors.py --write"
    )


if __name__ == "__main__" and "--write" in sys.argv:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        text = _table(tmp).replace(tmp, "DIR")
    with open(DOC, "w", encoding="utf-8") as f:
        f.write(text)
    print(f"wrote {DOC}")
