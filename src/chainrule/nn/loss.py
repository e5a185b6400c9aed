"""Loss modules: MSELoss, L1Loss, CrossEntropyLoss, NLLLoss, BCELoss, BCEWithLogitsLoss.

The textbook's squared error E = 1/2 sum (y - t)^2 is ``0.5 * MSELoss(reduction='sum')(y, t)``.
"""

from __future__ import annotations

from .. import functional as F
from ..ops.loss import REDUCTIONS, refuse_size_average
from .module import Module


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


def _class_weights(loss: _Loss, weight, size_average, reduce, ignore_index: int) -> None:
    """A class loss's weight (a buffer, saved in the state_dict as PyTorch's) and ignore_index."""
    refuse_size_average(size_average, reduce, type(loss).__name__)
    loss.register_buffer("weight", weight)
    loss.ignore_index = int(ignore_index)


class MSELoss(_Loss):
    """Mean squared error; shapes must match exactly (no silent broadcasting)."""

    def forward(self, prediction, target):
        return F.mse_loss(prediction, target, self.reduction)


class L1Loss(_Loss):
    def forward(self, prediction, target):
        return F.l1_loss(prediction, target, self.reduction)


class CrossEntropyLoss(_Loss):
    """Softmax + negative log-likelihood, fused: logits (N, C) and class indices (N,) or probabilities (N, C)."""

    def __init__(
        self,
        weight=None,
        size_average=None,
        ignore_index: int = -100,
        reduce=None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ):
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing}")
        _class_weights(self, weight, size_average, reduce, ignore_index)
        self.label_smoothing = label_smoothing

    def forward(self, logits, target):
        return F.cross_entropy(
            logits,
            target,
            self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities (after LogSoftmax)."""

    def __init__(self, weight=None, size_average=None, ignore_index: int = -100, reduce=None, reduction: str = "mean"):
        super().__init__(reduction)
        _class_weights(self, weight, size_average, reduce, ignore_index)

    def forward(self, log_probs, target):
        return F.nll_loss(log_probs, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities in [0, 1]."""

    def forward(self, probabilities, target):
        return F.binary_cross_entropy(probabilities, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy, fused and stable for any logit."""

    def forward(self, logits, target):
        return F.binary_cross_entropy_with_logits(logits, target, self.reduction)


# Losses by the names configs and the command use, with the task each one is for.
LOSSES = {"cross_entropy": CrossEntropyLoss, "bce": BCEWithLogitsLoss, "mse": MSELoss, "l1": L1Loss}
LOSS_TASKS = {"cross_entropy": "classification", "bce": "classification", "mse": "regression", "l1": "regression"}
