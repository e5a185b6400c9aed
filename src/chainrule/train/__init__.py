"""Training: fit/evaluate, callbacks, history, metrics and checkpoints."""

from .callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    GracefulInterrupt,
    JSONLinesLogger,
    ModelCheckpoint,
    ProgressBar,
    TensorBoardLogger,
)
from .checkpoint import Checkpoint, load, load_checkpoint, read_metadata, save, save_checkpoint
from .history import History
from .loop import EpochTotals, FitContext, Resume, evaluate, fit, predict, train_epoch, train_step
from .metrics import accuracy, confusion_matrix, mean_absolute_error, r2_score

__all__ = [
    "CSVLogger",
    "Callback",
    "Checkpoint",
    "EarlyStopping",
    "EpochTotals",
    "FitContext",
    "Resume",
    "TensorBoardLogger",
    "GracefulInterrupt",
    "History",
    "JSONLinesLogger",
    "ModelCheckpoint",
    "ProgressBar",
    "accuracy",
    "confusion_matrix",
    "evaluate",
    "fit",
    "load",
    "load_checkpoint",
    "mean_absolute_error",
    "predict",
    "r2_score",
    "read_metadata",
    "save",
    "save_checkpoint",
    "train_epoch",
    "train_step",
]
