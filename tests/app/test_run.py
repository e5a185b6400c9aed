"""Whole runs as `chainrule train` does them: accuracy targets, run folder, resume."""

import json
import os

import numpy as np
import pytest

import chainrule as cr
import chainrule.train  # noqa: F401
from chainrule.app.config import TrainConfig
from chainrule.app.results import evaluate_run
from chainrule.app.run import train_run
from chainrule.train.callbacks import Callback


def test_digits_default_settings_reach_97_percent(tmp_path):
    summary = train_run(TrainConfig(out=str(tmp_path / "run"), quiet=True, seed=0))
    assert summary["test_accuracy"] >= 0.97
    for name in (
        "summary.json",
        "metrics.jsonl",
        "model.safetensors",
        "checkpoint.safetensors",
        "curves.png",
        "confusion.png",
    ):
        assert os.path.getsize(tmp_path / "run" / name) > 0
    saved = json.loads((tmp_path / "run" / "summary.json").read_text())
    for key in ("test_accuracy", "test_loss", "epochs_run", "best_epoch", "seed", "config"):
        assert key in saved
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == saved["epochs_run"]
    assert evaluate_run(str(tmp_path / "run"))["test_accuracy"] == pytest.approx(saved["test_accuracy"])


def test_breast_cancer_with_bce_reaches_95_percent(tmp_path):
    summary = train_run(TrainConfig(data="breast-cancer", loss="bce", out=str(tmp_path / "bc"), quiet=True))
    assert summary["loss_function"] == "bce" and summary["test_accuracy"] >= 0.95


def test_diabetes_regression_beats_predicting_the_mean(tmp_path):
    summary = train_run(TrainConfig(data="diabetes", out=str(tmp_path / "d"), quiet=True))
    assert summary["test_r2"] > 0 and summary["test_mae"] < summary["baseline_mae"]


class _Interrupt(Callback):
    def __init__(self, after_epoch):
        self.after_epoch = after_epoch

    def on_epoch_end(self, ctx, logs):
        if logs["epoch"] == self.after_epoch:
            raise KeyboardInterrupt


def test_resume_ends_with_exactly_the_uninterrupted_weights(tmp_path):
    settings = dict(
        data="spirals",
        hidden=[32, 32],
        dropout=0.1,
        epochs=8,
        early_stopping=50,
        scheduler="cosine",
        optimizer="momentum",
        lr=0.05,
        batch_size=16,
        quiet=True,
    )
    train_run(TrainConfig(out=str(tmp_path / "whole"), **settings))
    with pytest.raises(KeyboardInterrupt):
        train_run(TrainConfig(out=str(tmp_path / "cut"), **settings), extra_callbacks=[_Interrupt(3)])
    assert cr.train.read_metadata(str(tmp_path / "cut" / "checkpoint.safetensors"))["epoch"] == 3
    train_run(TrainConfig(quiet=True), resume=str(tmp_path / "cut"))
    whole, cut = (
        cr.load(str(tmp_path / "whole" / "model.safetensors")),
        cr.load(str(tmp_path / "cut" / "model.safetensors")),
    )
    assert whole.keys() == cut.keys()
    for key in whole:
        np.testing.assert_array_equal(whole[key], cut[key], err_msg=key)
    a = (tmp_path / "whole" / "metrics.jsonl").read_text().splitlines()
    b = (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()
    assert len(a) == len(b) == 8
