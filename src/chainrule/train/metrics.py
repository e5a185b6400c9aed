"""Metrics: accuracy and the confusion matrix for classification; R^2 and MAE for regression."""

from __future__ import annotations

import numpy as np


def predicted_classes(output: np.ndarray) -> np.ndarray:
    """Class indices from logits (N, C), or from one logit per row (N, 1) thresholded at 0."""
    if output.ndim == 2 and output.shape[1] == 1:
        return (output[:, 0] > 0).astype(np.int64)
    return output.argmax(axis=-1)


def true_classes(target: np.ndarray) -> np.ndarray:
    """Class indices from labels (N,), from 0/1 targets (N,) or (N, 1), or from probabilities (N, C)."""
    if target.dtype.kind != "f":
        return target.reshape(-1)
    if target.ndim == 1 or target.shape[1] == 1:
        return (target.reshape(-1) > 0.5).astype(np.int64)
    return target.argmax(axis=-1)


def accuracy(output: np.ndarray, target: np.ndarray) -> float:
    return float((predicted_classes(output) == true_classes(target)).mean())


def confusion_matrix(predicted: np.ndarray, actual: np.ndarray, num_classes: int) -> np.ndarray:
    """counts[i, j] = how many examples of true class i were predicted as class j."""
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (actual, predicted), 1)
    return counts


def per_class_scores(confusion: np.ndarray) -> dict:
    """Precision, recall and F1 of each class, and its support, from a confusion matrix (true rows,
    predicted columns): precision_k = C[k,k] / sum_i C[i,k], recall_k = C[k,k] / sum_j C[k,j],
    F1 = 2 P R / (P + R); 0 where a denominator is 0 (scikit-learn's zero_division=0)."""
    counts = np.asarray(confusion, dtype=np.float64)
    hits = np.diag(counts)
    predicted, actual = counts.sum(axis=0), counts.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, hits / predicted, 0.0)
        recall = np.where(actual > 0, hits / actual, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return {
        "precision": precision.tolist(),
        "recall": recall.tolist(),
        "f1": f1.tolist(),
        "support": actual.astype(int).tolist(),
    }


def r2_score(prediction: np.ndarray, target: np.ndarray) -> float:
    """1 - SS_res / SS_tot: 1 is perfect, 0 is no better than predicting the mean."""
    residual = ((target - prediction) ** 2).sum()
    total = ((target - target.mean(axis=0)) ** 2).sum()
    return float(1 - residual / total) if total > 0 else 0.0


def mean_absolute_error(prediction: np.ndarray, target: np.ndarray) -> float:
    return float(np.abs(target - prediction).mean())
