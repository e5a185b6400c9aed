"""Language from the command: `chainrule train` on text with every language model, `sample`, `evaluate`,
exact resume, and the bad inputs (each one line, exit 2, nothing written)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.app.config import TrainConfig
from chainrule.app.results import evaluate_run
from chainrule.app.run import train_run
from chainrule.data.text import BUNDLED

from .test_run import _Interrupt


def _names(tmp_path, count=600):
    path = tmp_path / "names.txt"
    with open(BUNDLED["names"], encoding="utf-8") as f:
        path.write_text("".join(f.readlines()[:count]), encoding="utf-8")
    return str(path)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "chainrule", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    "model, options",
    [
        ("bigram", ["--lr", "0.1"]),
        ("mlp", ["--embed", "8", "--hidden", "32"]),
        ("rnn", ["--embed", "8", "--hidden", "16", "--block", "6"]),
        ("gru", ["--embed", "8", "--hidden", "16", "--block", "6"]),
        ("lstm", ["--embed", "8", "--hidden", "16", "--block", "6", "--layers", "2"]),
        ("transformer", ["--embed", "16", "--heads", "2", "--block", "6"]),
    ],
)
def test_every_model_trains_on_text_and_samples(tmp_path, model, options):
    out = tmp_path / model
    done = _cli("train", "--data", _names(tmp_path), "--model", model, "--epochs", "2", "--out", str(out), *options)
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["text_mode"] == "lines" and summary["vocabulary"][0] == "<end>"
    assert summary["test_bits_per_char"] == pytest.approx(summary["test_loss"] / np.log(2))
    assert 1.5 < summary["test_loss"] < 3.4 and summary["bigram_test_loss"] > 2
    assert "nats per character" in done.stderr and "count-based bigram" in done.stderr
    samples = _cli("sample", str(out), "--n", "5", "--seed", "3")
    assert samples.returncode == 0, samples.stderr
    words = samples.stdout.splitlines()
    assert len(words) == 5 and all(set(w) <= set("abcdefghijklmnopqrstuvwxyz") for w in words)
    assert _cli("sample", str(out), "--n", "5", "--seed", "3").stdout == samples.stdout  # a seed repeats them
    drawn = _cli("sample", str(out), "--n", "2", "--attention", str(tmp_path / "attention.png"))
    if model == "transformer":  # a picture of every head's weights over the first sample
        assert drawn.returncode == 0 and (tmp_path / "attention.png").stat().st_size > 20_000
    else:
        assert drawn.returncode == 2 and "attention is a transformer's" in drawn.stderr
    evaluated = _cli("evaluate", str(out))
    assert evaluated.returncode == 0 and f"{summary['test_loss']:.4f} nats per character" in evaluated.stdout


def test_mlp_beats_the_bigram_on_the_names(tmp_path):
    summary = train_run(
        TrainConfig(data="names", model="mlp", epochs=1, batch_size=64, out=str(tmp_path / "r"), quiet=True)
    )
    assert summary["test_loss"] < 2.25 < summary["bigram_test_loss"]


def test_sampling_options(tmp_path):
    out = str(tmp_path / "run")
    train_run(TrainConfig(data=_names(tmp_path), model="mlp", epochs=2, out=out, quiet=True))
    greedy = _cli("sample", out, "--n", "3", "--top-k", "1", "--prompt", "ma")
    assert greedy.returncode == 0 and len(set(greedy.stdout.splitlines())) == 1  # top-1 is deterministic
    assert all(word.startswith("ma") for word in greedy.stdout.splitlines())
    bad = _cli("sample", out, "--prompt", "Zo")
    assert bad.returncode == 2 and "'Z'" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    cold = _cli("sample", out, "--temperature", "0")
    assert cold.returncode == 2 and "temperature" in cold.stderr


def test_resume_of_a_text_run_is_bit_exact(tmp_path):
    settings = dict(data=_names(tmp_path), model="gru", embed=8, hidden=[16], block=5, epochs=4, quiet=True)
    train_run(TrainConfig(out=str(tmp_path / "whole"), **settings))
    with pytest.raises(KeyboardInterrupt):
        train_run(TrainConfig(out=str(tmp_path / "cut"), **settings), extra_callbacks=[_Interrupt(2)])
    train_run(TrainConfig(quiet=True), resume=str(tmp_path / "cut"))
    whole, cut = (cr.load(str(tmp_path / name / "model.safetensors")) for name in ("whole", "cut"))
    for key in whole:
        np.testing.assert_array_equal(whole[key], cut[key], err_msg=key)
    assert evaluate_run(str(tmp_path / "cut"))["test_loss"] == pytest.approx(
        json.loads((tmp_path / "whole" / "summary.json").read_text())["test_loss"]
    )


@pytest.mark.parametrize(
    "content, options, message",
    [
        (b"", [], "is empty"),
        (b"\x00\x01binary" * 20, [], "binary file"),
        (b"aaa\naa\n" * 30, [], "distinct character"),
        (b"anna\nbob\n" * 30, ["--model", "rnn", "--block", "20"], "longer than every line"),
        (b"anna\nbob\n" * 30, ["--model", "transformer", "--embed", "10", "--heads", "4"], "do not divide"),
        (b"anna\nbob\n" * 30, ["--model", "cnn"], "is text"),
    ],
)
def test_bad_text_input_is_one_line_exit_2_and_nothing_written(tmp_path, content, options, message):
    path = tmp_path / "data.txt"
    path.write_bytes(content)
    out = tmp_path / "out"
    done = _cli("train", "--data", str(path), "--out", str(out), *options)
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not out.exists() or not os.listdir(out)


def test_a_language_model_needs_text(tmp_path):
    done = _cli("train", "--data", "iris", "--model", "lstm", "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and "needs text" in done.stderr
