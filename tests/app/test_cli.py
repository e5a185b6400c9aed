"""The `chainrule` command: outputs exist and parse; bad input gives one line and exit code 2."""

import json
import subprocess
import sys

import numpy as np
import pytest

from chainrule.app.cli import main


def run_cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "chainrule", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def test_train_evaluate_predict_round_trip(tmp_path):
    out = tmp_path / "run"
    result = run_cli("train", "--data", "iris", "--hidden", "16", "--epochs", "30", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["hidden"] == [16] and summary["epochs_run"] <= 30
    assert all(json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines())
    evaluated = run_cli("evaluate", str(out), "--json")
    assert evaluated.returncode == 0 and json.loads(evaluated.stdout)["test_accuracy"] == pytest.approx(
        summary["test_accuracy"]
    )
    rows = tmp_path / "rows.csv"
    np.savetxt(rows, [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]], delimiter=",")
    predicted = run_cli("predict", str(out), "--input", str(rows))
    assert predicted.returncode == 0, predicted.stderr
    lines = predicted.stdout.strip().splitlines()
    assert (
        lines[0] == "prediction,label,p_setosa,p_versicolor,p_virginica"
        and lines[1].split(",")[1] == "setosa"
        and lines[2].split(",")[1] == "virginica"
    )


def test_config_file_and_option_override(tmp_path):
    config = tmp_path / "exp.toml"
    config.write_text('data = "wine"\nhidden = [8]\nepochs = 3\nout = "runs/wine"\n')
    assert main(["train", "--config", str(config), "--epochs", "2", "--quiet"]) == 0
    summary = json.loads((tmp_path / "runs" / "wine" / "summary.json").read_text())
    assert summary["config"]["epochs"] == 2 and summary["config"]["hidden"] == [8] and summary["dataset"] == "wine"


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--data", "nope"], "unknown dataset"),
        (["train", "--batch-size", "0"], "batch size must be a positive integer"),
        (["train", "--batch-size", "-4"], "batch size"),
        (["train", "--lr", "0"], "option lr"),
        (["train", "--lr", "nan"], "option lr"),
        (["train", "--hidden", "12,x"], "layer sizes"),
        (["train", "--unknown-option"], "unrecognized arguments"),
        (["train", "--data", "mnist-t10k", "--data-dir", "/nonexistent/folder"], "does not exist"),
        (["train", "--data", "digits", "--loss", "mse"], "regression loss"),
        (["evaluate", "/nonexistent/run"], "does not exist"),
        (["nosuchcommand"], "invalid choice"),
        (["train", "--threads", "0"], "expected a positive number of threads or auto, got '0'"),
        (["train", "--threads", "some"], "expected a positive number of threads or auto, got 'some'"),
    ],
)
def test_bad_input_prints_one_line_and_exits_2(args, message, capsys):
    with pytest.raises(SystemExit) as info:
        code = main(args)
        raise SystemExit(code)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0]


def test_config_file_errors(tmp_path, capsys):
    bad_key = tmp_path / "a.toml"
    bad_key.write_text("learning_rate = 0.1\n")
    assert main(["train", "--config", str(bad_key)]) == 2
    assert "unknown key learning_rate" in capsys.readouterr().err
    bad_type = tmp_path / "b.toml"
    bad_type.write_text('epochs = "ten"\n')
    assert main(["train", "--config", str(bad_type)]) == 2
    assert "epochs" in capsys.readouterr().err
    escape = tmp_path / "c.toml"
    escape.write_text('data_dir = "../../etc"\n')
    assert main(["train", "--config", str(escape)]) == 2
    assert "outside the config file's folder" in capsys.readouterr().err


def test_help_explains_every_option():
    result = run_cli("train", "--help")
    assert result.returncode == 0
    for option in (
        "--data",
        "--data-dir",
        "--hidden",
        "--activation",
        "--dropout",
        "--batchnorm",
        "--loss",
        "--optimizer",
        "--lr",
        "--batch-size",
        "--epochs",
        "--seed",
        "--early-stopping",
        "--out",
        "--config",
        "--resume",
        "--quiet",
    ):
        assert option in result.stdout
    for command in ("evaluate", "predict"):
        assert run_cli(command, "--help").returncode == 0


def test_divergence_is_reported_and_checkpoint_kept(tmp_path):
    out = tmp_path / "div"
    result = run_cli(
        "train", "--data", "sine", "--optimizer", "sgd", "--lr", "50", "--epochs", "20", "--out", str(out), "--quiet"
    )
    assert result.returncode == 1
    assert "diverged at epoch" in result.stderr and "smaller learning rate" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_explain_command(tmp_path):
    result = run_cli("explain")
    assert result.returncode == 0 and "E_total = 0.298371109" in result.stdout
    as_json = run_cli("explain", "--format", "json", "--steps", "3")
    assert len(json.loads(as_json.stdout)["losses"]) == 4
    network = tmp_path / "net.json"
    network.write_text(
        json.dumps(
            {
                "inputs": [[1, 0]],
                "targets": [[1]],
                "layers": [{"weight": [[0.5, -0.5]], "bias": [0.1], "activation": "tanh"}],
                "loss": "mse",
                "lr": 0.1,
            }
        )
    )
    custom = run_cli(
        "explain", str(network), "--format", "markdown", "--digits", "5", "--output", str(tmp_path / "out.md")
    )
    assert custom.returncode == 0 and "# One step of backpropagation" in (tmp_path / "out.md").read_text()
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    bad = run_cli("explain", str(broken))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "not valid JSON" in bad.stderr


@pytest.mark.skipif(__import__("shutil").which("dot") is None, reason="Graphviz's dot is not installed")
def test_explain_draws_the_graph(tmp_path):
    result = run_cli("explain", "--graph", str(tmp_path / "graph.svg"))
    assert result.returncode == 0 and (tmp_path / "graph.svg").stat().st_size > 1000


def test_compare_command(tmp_path):
    result = run_cli("compare", "optimizers", "--epochs", "1", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Adam" in result.stdout and (tmp_path / "compare-optimizers.png").exists()


def test_monitor_gradients_option(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--data", "iris", "--epochs", "2", "--monitor-gradients", "--out", str(out), "--quiet"]) == 0
    assert (out / "gradients.png").exists() and (out / "gradients.json").exists()


# ---------------------------------------------------------------------- inputs that once printed tracebacks
def one_line_error(capsys, args) -> str:
    assert main(args) == 2
    err = "".join(line for line in capsys.readouterr().err.splitlines(True) if "chainrule: warning:" not in line)
    assert err.startswith("chainrule: error: ") and len(err.strip().splitlines()) == 1, err
    return err


def test_sizes_that_cannot_fit_are_refused_with_the_figure(capsys):
    err = one_line_error(capsys, ["train", "--hidden", "100000,100000", "--epochs", "1"])
    assert "10,007,600,010 parameters" in err and "GB of memory" in err


def test_explain_refuses_huge_networks_and_step_counts(tmp_path, capsys):
    assert "steps must be 1 to 10,000" in one_line_error(capsys, ["explain", "--steps", str(10**9)])
    network = tmp_path / "big.json"
    layer = {"weight": [[0.1] * 300] * 300, "bias": 0, "activation": "sigmoid"}
    network.write_text(json.dumps({"inputs": [[0.1] * 300], "targets": [[0.0] * 300], "layers": [layer]}))
    assert "90,000 equations" in one_line_error(capsys, ["explain", str(network)])
    nested = tmp_path / "nested.json"
    nested.write_text("[" * 100_000 + "]" * 100_000)
    assert "nested too deeply" in one_line_error(capsys, ["explain", str(nested)])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    assert main(["train", "--epochs", "2", "--out", str(out), "--quiet"]) == 0
    return out


def _rewrite(source, target, change):
    """A copy of a checkpoint whose metadata ``change`` alters, with fresh checksums (a crafted file)."""
    from chainrule.train.checkpoint import load, read_metadata, save

    metadata = read_metadata(str(source))
    metadata = change(metadata)
    save(load(str(source)), str(target), metadata)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: [1, 2, 3], "not an object"),
        (lambda m: {**m, "config": {**m["config"], "lr": "0.1"}}, "key 'lr' should be float"),
        (lambda m: {k: v for k, v in m.items() if k != "rng_state"}, "resume state is damaged"),
        (lambda m: {**m, "rng_state": {"bit_generator": "PCG64", "state": "garbage"}}, "resume state is damaged"),
        (lambda m: {**m, "rng_state": "garbage"}, "'rng_state' is damaged"),
        (lambda m: {**m, "history": [1, 2]}, "history is damaged"),
        (lambda m: {**m, "epoch": "two"}, "'epoch' is damaged"),
        (
            lambda m: {
                **m,
                "optimizer": {**m["optimizer"], "param_groups": [{**m["optimizer"]["param_groups"][0], "lr": "x"}]},
            },
            "the saved 'lr' is 'x'",
        ),
        (lambda m: {**m, "optimizer": "adam"}, "optimizer metadata is damaged"),
    ],
)
def test_damaged_checkpoint_metadata_is_one_line(trained, tmp_path, capsys, change, message):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(trained, copy)
    _rewrite(trained / "checkpoint.safetensors", copy / "checkpoint.safetensors", change)
    assert message in one_line_error(capsys, ["train", "--resume", str(copy), "--epochs", "3"])


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: {**m, "architecture": {**m["architecture"], "hidden": [100000, 100000]}}, "GB of memory"),
        (lambda m: {**m, "architecture": {**m["architecture"], "hidden": "wide"}}, "not a valid architecture"),
        (lambda m: {**m, "architecture": {**m["architecture"], "type": "RNN"}}, "cannot be built"),
        (lambda m: {**m, "config": "float32"}, "has no architecture metadata"),
        (lambda m: {**m, "task": 3}, "metadata is damaged"),
    ],
)
def test_damaged_model_metadata_is_one_line(trained, tmp_path, capsys, change, message):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(trained, copy)
    _rewrite(trained / "model.safetensors", copy / "model.safetensors", change)
    assert message in one_line_error(capsys, ["evaluate", str(copy)])


def test_deeply_nested_checkpoint_metadata_is_one_line(trained, tmp_path, capsys):
    import shutil

    import safetensors.numpy as st

    from chainrule.serialization import METADATA_KEY

    copy = tmp_path / "copy"
    shutil.copytree(trained, copy)
    nested = "[" * 100_000 + "]" * 100_000
    (copy / "model.safetensors").write_bytes(st.save({"w": np.ones(2)}, metadata={METADATA_KEY: nested}))
    assert "nested too deeply; the file is damaged" in one_line_error(capsys, ["evaluate", str(copy)])


@pytest.mark.parametrize("gap", [0.001, 0.01, 0.1])
def test_ctrl_c_twice_exits_130_without_a_traceback(tmp_path, gap):
    import signal
    import time

    out = tmp_path / "run"
    child = subprocess.Popen(
        [sys.executable, "-m", "chainrule", "train", "--batch-size", "1", "--out", str(out), "--quiet"],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 60
    while not (out / "metrics.jsonl").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    child.send_signal(signal.SIGINT)
    time.sleep(gap)
    child.send_signal(signal.SIGINT)
    code, err = child.wait(60), child.stderr.read()
    assert code == 130 and "Traceback" not in err, err


def test_csv_values_beyond_float32_and_headers_wider_than_rows_are_named(tmp_path, capsys):
    wide = tmp_path / "wide.csv"
    wide.write_text("a,b,c,d\n1,2,0\n3,4,1\n")
    assert "the header has 4 columns but the rows have 3" in one_line_error(capsys, ["train", "--data", str(wide)])
    huge = tmp_path / "huge.csv"
    huge.write_text("a,b,c\n1,2e39,0\n3,4,1\n")
    err = one_line_error(capsys, ["train", "--data", str(huge)])
    assert "'b' (column 2) line 2 holds 2e+39, beyond float32's range" in err


def test_train_threads_sets_the_process_count_and_stays_out_of_the_run_config(tmp_path):
    """--threads is this process's setting (backend/threads.py), not the run's: a resumed run may use another."""
    pytest.importorskip("threadpoolctl")
    out = tmp_path / "run"
    code = """
import sys, json
from chainrule.app.cli import main
from chainrule.backend import threads
assert main(sys.argv[1:]) == 0
print(json.dumps({"threads": threads.get_num_threads(), "tuning": threads.tuning()}))
"""
    for value, expected in (("1", {"threads": 1, "tuning": False}), ("auto", None)):
        result = subprocess.run(
            [sys.executable, "-c", code, "train", "--data", "xor", "--epochs", "2", "--quiet", "--threads", value]
            + ["--out", str(out), "--overwrite"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        state = json.loads(result.stdout.strip().splitlines()[-1])
        if expected:
            assert state == expected
        else:  # auto on a one-core machine has nothing to choose from
            assert state["tuning"] == (threads_at_start() > 1)
        assert "threads" not in json.loads((out / "summary.json").read_text())["config"]


def threads_at_start() -> int:
    """The BLAS threads a fresh process starts with."""
    code = "from chainrule.backend import threads; print(threads.get_num_threads())"
    return int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout)
