"""A practitioner's first hour with the command: what used to go wrong silently now does what was
meant or says why in one line (issue 15). Each test failed on the code before."""

import json
import os

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.app.arguments import hidden_sizes as _hidden
from chainrule.app.cli import main
from chainrule.app.config import PATH_KEYS, load_toml, resolve_config_paths
from chainrule.errors import CheckpointError, ConfigError

QUICK = ["--data", "iris", "--epochs", "2", "--early-stopping", "0", "--quiet"]


def _train(tmp_path, *args):
    return main(["train", *QUICK, *args])


@pytest.mark.parametrize("text", ["128 64", "128,64", "128, 64", " 128  64 "])
def test_hidden_sizes_by_commas_or_spaces(text):
    assert _hidden(text) == [128, 64]


def test_hidden_with_spaces_builds_the_network_meant(tmp_path):
    assert _train(tmp_path, "--hidden", "12 8", "--out", str(tmp_path / "r")) == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["config"]["hidden"] == [12, 8]


@pytest.mark.parametrize("key", PATH_KEYS)
@pytest.mark.parametrize("where", ["absolute", "outside"])
def test_every_path_in_a_config_is_checked_before_anything_is_opened(tmp_path, key, where):
    folder = tmp_path / "configs"
    folder.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    value = str(secret) if where == "absolute" else "../secret.txt"
    config = folder / "run.toml"
    config.write_text(f'{key} = "{value}"\n')
    table, base = load_toml(str(config))
    with pytest.raises(ConfigError, match=key):
        resolve_config_paths(table, base, str(config))


def test_a_dataset_name_in_a_config_is_not_a_path(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('data = "iris"\n')
    table, base = load_toml(str(config))
    assert resolve_config_paths(table, base, str(config))["data"] == "iris"


def test_etc_passwd_as_data_is_refused_on_the_command_line_config(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text('data = "/etc/passwd"\n')
    assert main(["train", "--config", str(config), "--quiet"]) == 2
    assert "data must be a path relative to the config file's folder" in capsys.readouterr().err


def test_resume_refuses_options_that_change_the_model_and_applies_the_others(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert _train(tmp_path, "--hidden", "8", "--out", out) == 0
    assert main(["train", "--resume", out, "--hidden", "999", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--hidden" in err and "[8]" in err and err.count("\n") == 1
    assert main(["train", "--resume", out, "--lr", "0.5", "--epochs", "3"]) == 0
    err = capsys.readouterr().err
    assert "lr now 0.5" in err and "epochs now 3" in err
    metrics = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
    assert metrics[-1]["epoch"] == 3 and metrics[-1]["lr"] == 0.5


def test_a_run_folder_is_never_overwritten_without_overwrite(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert _train(tmp_path, "--out", out) == 0
    before = open(os.path.join(out, "summary.json")).read()
    assert _train(tmp_path, "--out", out, "--seed", "1") == 2
    assert "already holds a run" in capsys.readouterr().err
    assert open(os.path.join(out, "summary.json")).read() == before
    assert _train(tmp_path, "--out", out, "--seed", "1", "--overwrite") == 0
    assert json.loads(open(os.path.join(out, "summary.json")).read())["config"]["seed"] == 1


def test_without_out_each_run_gets_a_fresh_numbered_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", *QUICK[:-1]]) == 0
    assert main(["train", *QUICK[:-1]]) == 0
    assert sorted(os.listdir(tmp_path / "runs" / "iris")) == ["version_0", "version_1"]
    assert os.path.join("runs", "iris", "version_1") in capsys.readouterr().err


def test_predict_prints_one_probability_per_class_named_by_class(tmp_path, capsys):
    out = str(tmp_path / "bc")
    assert main(["train", "--data", "breast-cancer", "--loss", "bce", "--epochs", "3", "--quiet", "--out", out]) == 0
    rows = tmp_path / "rows.csv"
    np.savetxt(rows, np.zeros((2, 30)), delimiter=",")
    capsys.readouterr()
    assert main(["predict", out, "--input", str(rows)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "prediction,label,p_malignant,p_benign"
    for line in lines[1:]:
        cells = line.split(",")
        probabilities = [float(p) for p in cells[2:]]
        assert sum(probabilities) == pytest.approx(1.0, abs=1e-5)
        assert cells[1] == ["malignant", "benign"][int(cells[0])]
        assert probabilities[int(cells[0])] >= 0.5


def test_evaluate_prints_a_compact_table_and_json_on_request(tmp_path, capsys):
    from sklearn.metrics import precision_recall_fscore_support

    out = str(tmp_path / "run")
    assert _train(tmp_path, "--out", out, "--epochs", "20") == 0
    capsys.readouterr()
    assert main(["evaluate", out]) == 0
    table = capsys.readouterr().out
    assert len(table.splitlines()) < 12 and "precision" in table and "setosa" in table
    assert main(["evaluate", out, "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    confusion = np.array(results["confusion_matrix"])
    actual = np.repeat(np.arange(3), confusion.sum(axis=1))
    predicted = np.concatenate([np.repeat(np.arange(3), row) for row in confusion])
    precision, recall, f1, support = precision_recall_fscore_support(actual, predicted, zero_division=0)
    np.testing.assert_allclose(results["per_class"]["precision"], precision)
    np.testing.assert_allclose(results["per_class"]["recall"], recall)
    np.testing.assert_allclose(results["per_class"]["f1"], f1)
    assert results["per_class"]["support"] == support.tolist()


def test_each_epoch_summary_is_printed_whole_above_the_bar(capsys):
    pytest.importorskip("tqdm")
    from chainrule.data import DataLoader, TensorDataset
    from chainrule.train import ProgressBar, fit

    class Terminal:
        def __init__(self):
            self.text = ""

        def write(self, text):
            self.text += text

        def flush(self):
            pass

        def isatty(self):
            return True

    terminal = Terminal()
    cr.manual_seed(0)
    x, y = cr.randn(64, 4), cr.randint(0, 3, (64,))
    loader = DataLoader(TensorDataset(x, y), batch_size=8)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    fit(
        model,
        nn.CrossEntropyLoss(),
        cr.optim.SGD(model.parameters(), lr=0.1),
        loader,
        loader,
        epochs=2,
        callbacks=[ProgressBar(stream=terminal)],
    )
    summaries = [
        line
        for line in terminal.text.replace("\r", "\n").splitlines()
        if line.startswith("epoch ") and "val_accuracy" in line
    ]
    assert len(summaries) == 2 and all("steps/s" in line for line in summaries)


def test_a_list_given_to_a_layer_is_a_type_error_naming_the_layer():
    with pytest.raises(TypeError, match=r"Linear\(in_features=2, out_features=1, bias=True\).*Tensor.*list"):
        nn.Linear(2, 1)([[1.0, 2.0]])


def test_saving_a_module_names_its_state_dict(tmp_path):
    with pytest.raises(CheckpointError, match=r"state_dict\(\)"):
        cr.save(nn.Linear(2, 1), str(tmp_path / "model.pt"))


def test_ctrl_c_while_the_plots_are_drawn_finishes_them_and_stops_in_one_line(tmp_path, monkeypatch, capsys):
    import signal

    from chainrule.app import run

    drawn = run.plot_curves

    def interrupted_while_drawing(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C arrives while the curves are drawn
        return drawn(*args, **kwargs)

    monkeypatch.setattr(run, "plot_curves", interrupted_while_drawing)
    out = tmp_path / "run"
    assert main(["train", *QUICK, "--out", str(out)]) == 128 + signal.SIGINT
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "after training; the run folder is complete" in err
    assert (out / "curves.png").exists() and (out / "confusion.png").exists() and (out / "summary.json").exists()


def _points(tmp_path, name="points.csv", delimiter=",", labels=("small", "large"), text_column=False):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((90, 3))
    lines = [delimiter.join(["x0", "x1", "colour" if text_column else "x2", "size"])]
    for i, row in enumerate(X):
        cells = [f"{v:.5f}" for v in row]
        if text_column:
            cells[2] = "red" if i % 2 else "blue"
        lines.append(delimiter.join([*cells, labels[int(row[0] > 0)]]))
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_text_column_is_named_not_called_nan(tmp_path, capsys):
    path = _points(tmp_path, text_column=True)
    assert main(["train", "--data", str(path), "--quiet", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "'colour' (column 3) is not numeric: line 2 holds 'blue'" in err and "NaN" not in err


def test_text_labels_become_classes_kept_by_the_run_and_used_by_predict(tmp_path, capsys):
    path = _points(tmp_path)
    out = tmp_path / "r"
    assert main(["train", "--data", str(path), "--epochs", "30", "--quiet", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["task"] == "classification" and summary["test_accuracy"] > 0.8
    rows = tmp_path / "rows.csv"
    rows.write_text("2.0,0.1,0.3\n-2.0,0.2,0.1\n")
    capsys.readouterr()
    assert main(["predict", str(out), "--input", str(rows)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "prediction,label,p_large,p_small"
    assert lines[1].split(",")[1] == "large" and lines[2].split(",")[1] == "small"


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_the_delimiter_is_detected(tmp_path, delimiter):
    from chainrule.data import load_dataset

    data = load_dataset(str(_points(tmp_path, delimiter=delimiter)))
    assert data.num_features == 3 and data.class_names == ["large", "small"]


def test_the_delimiter_can_be_given(tmp_path):
    from chainrule.data import load_dataset

    path = _points(tmp_path, delimiter=";")
    assert load_dataset(str(path), delimiter=";").num_features == 3
    from chainrule.errors import DataError

    with pytest.raises(DataError, match="delimiter"):
        load_dataset(str(path), delimiter=",")


def test_a_cnn_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "cnn"
    assert (
        main(
            [
                "train",
                "--model",
                "cnn",
                "--channels",
                "8 16",
                "--hidden",
                "none",
                "--data",
                "digits",
                "--epochs",
                "3",
                "--early-stopping",
                "0",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert "CNN 1x8x8-conv8-conv16-10" in capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["test_accuracy"] > 0.6 and summary["config"]["model"] == "cnn"  # 3 epochs of a tiny net
    assert main(["evaluate", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["test_accuracy"] == pytest.approx(summary["test_accuracy"])
    rows = tmp_path / "rows.csv"
    np.savetxt(rows, np.zeros((2, 64)), delimiter=",")
    assert main(["predict", str(out), "--input", str(rows)]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 3


@pytest.mark.parametrize(
    "data, channels, match", [("wine", "16", "not a square number"), ("digits", "4 4 4 4", "pooling")]
)
def test_a_cnn_on_data_that_are_not_images_is_refused_in_one_line(tmp_path, capsys, data, channels, match):
    assert (
        main(
            ["train", "--model", "cnn", "--data", data, "--channels", channels, "--quiet", "--out", str(tmp_path / "r")]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert match in err and err.count("\n") == 1


def _tensorboard_scalars(folder) -> dict:
    """The scalars of TensorBoard event files: {tag: [(step, value)]} (TFRecord framing, Event protos)."""
    import struct

    from tensorboardX.proto.event_pb2 import Event

    scalars: dict = {}
    for name in sorted(os.listdir(folder)):
        data = (folder / name).read_bytes()
        at = 0
        while at < len(data):
            (length,) = struct.unpack("<Q", data[at : at + 8])
            event = Event.FromString(data[at + 12 : at + 12 + length])
            at += 12 + length + 4
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    return scalars


def test_tensorboard_logging_beside_the_json_lines(tmp_path):
    pytest.importorskip("tensorboardX")
    out = tmp_path / "run"
    assert main(["train", *QUICK, "--epochs", "3", "--tensorboard", "--out", str(out)]) == 0
    scalars = _tensorboard_scalars(out / "tensorboard")
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    for key in ("loss", "val_loss", "accuracy", "val_accuracy", "lr"):
        assert [step for step, _ in scalars[key]] == [1, 2, 3]
        np.testing.assert_allclose([v for _, v in scalars[key]], [m[key] for m in metrics], rtol=1e-6)


def test_an_mlp_may_have_one_activation_per_hidden_layer_and_keep_its_inputs_unscaled():
    from chainrule.app.config import TrainConfig
    from chainrule.data import load_dataset

    config = TrainConfig.from_dict({"activation": ["tanh", "identity"], "hidden": [4, 3]})
    assert config.activation == ["tanh", "identity"]
    model = nn.MLP(2, [4, 3], 1, ["tanh", "identity"])
    assert [type(m).__name__ for m in model] == ["Flatten", "Linear", "Tanh", "Linear", "Identity", "Linear"]
    assert type(nn.build_model(model.config)[4]).__name__ == "Identity"  # a checkpoint rebuilds it
    with pytest.raises(ConfigError, match=r"a list of them with one per hidden layer \(2\), got \['tanh'\]"):
        TrainConfig.from_dict({"activation": ["tanh"], "hidden": [4, 3]})
    with pytest.raises(ConfigError, match="activation"):
        TrainConfig.from_dict({"activation": ["tanh", "relu"], "hidden": [4, 3], "model": "cnn"})
    scaled = load_dataset("wine", seed=0)
    raw = load_dataset("wine", seed=0, standardize=False)
    assert abs(scaled.X_train.mean()) < 0.1 and raw.X_train.max() > 100 and raw.input_scaler is None
    np.testing.assert_array_equal(scaled.y_train, raw.y_train)
