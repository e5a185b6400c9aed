"""A finished run read back: its model and preprocessing (load_run), and what ``chainrule evaluate`` and
``chainrule predict`` do with them.
"""

from __future__ import annotations

import os

import numpy as np

from .. import nn
from ..data.csv_files import load_inputs
from ..data.dataset import check_finite
from ..data.split import Standardize
from ..errors import CheckpointError
from ..train.checkpoint import load_checkpoint
from ..train.loop import evaluate, predict
from ..train.metrics import per_class_scores
from .build import check_fits, input_features
from .config import TrainConfig
from .run import MODEL, Run, regression_summary, text_summary


# ---------------------------------------------------------------------- reusing a run
def load_run(run_dir: str):
    """(model, metadata, extra arrays) from a run folder's model.safetensors."""
    path = os.path.join(run_dir, MODEL)
    if not os.path.isdir(run_dir):
        raise CheckpointError(f"run folder {run_dir!r} does not exist")
    checkpoint = load_checkpoint(path)
    meta = checkpoint.metadata
    architecture, config = meta.get("architecture"), meta.get("config")
    if not isinstance(architecture, dict) or not isinstance(config, dict):
        raise CheckpointError(f"{path}: has no architecture metadata; it was not written by `chainrule train`")
    dtype = config.get("dtype", "float32")
    if dtype not in ("float32", "float64") or meta.get("task") not in ("classification", "regression"):
        raise CheckpointError(f"{path}: its metadata is damaged (dtype {dtype!r}, task {meta.get('task')!r})")
    check_fits(architecture, dtype, 1024, False, path)
    try:
        model = nn.build_model(architecture, dtype=dtype)
    except (TypeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{path}: its architecture cannot be built ({type(exc).__name__}: {exc})") from None
    model.load_state_dict(checkpoint.model_state)
    for name, value in checkpoint.model_state.items():
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            bad = int((~np.isfinite(value)).sum())
            raise CheckpointError(
                f"{path}: {name} holds {bad} NaN or infinite value(s) of {value.size}; a model with such weights "
                "predicts nothing meaningful (did the run diverge?)"
            )
    model.eval()
    return model, meta, checkpoint.extra_arrays


def evaluate_run(run_dir: str) -> dict:
    """Re-evaluate a saved run's model on its dataset's test split."""
    model, meta, _ = load_run(run_dir)
    config = TrainConfig.from_dict(meta["config"], where=os.path.join(run_dir, MODEL))
    config.distributed = False  # evaluation runs in one process, whatever the training did
    run = Run(config)
    run.model = model
    results = evaluate(model, run.test_loader, run.loss_fn, num_classes=run.data.num_classes)
    out = {"test_loss": results["loss"]}
    if run.data.text_mode is not None:
        out.update(text_summary(run.data, results))
    elif "accuracy" in results:
        out["test_accuracy"] = results["accuracy"]
        out["class_names"] = [str(c) for c in (run.data.class_names or range(run.data.num_classes))]
        out["per_class"] = per_class_scores(results["confusion"])
        out["confusion_matrix"] = results["confusion"].tolist()
    else:
        out.update(regression_summary(run, results))
    return out


def predict_run(run_dir: str, input_csv: str, delimiter: str | None = None) -> tuple[np.ndarray, dict]:
    """Predictions of a saved run for the rows of a CSV file of inputs (no target column)."""
    model, meta, extra = load_run(run_dir)
    X = load_inputs(input_csv, input_features(meta["architecture"]), delimiter)
    check_finite(X, input_csv)
    if "input_scaler.mean" in extra:
        scaler = Standardize()
        scaler.load_state_dict({"mean": extra["input_scaler.mean"], "std": extra["input_scaler.std"]})
        X = scaler.transform(X)
    output = predict(model, X.astype(meta.get("config", {}).get("dtype", "float32")))
    if meta["task"] == "regression" and "target_scaler.mean" in extra:
        output = output * extra["target_scaler.std"] + extra["target_scaler.mean"]
    return output, meta
