"""What a run is built from, chosen by its config: the data, the model, the loss, the optimizer and the schedule
(the library floors take objects; choosing them by name is the roof's job).
"""

from __future__ import annotations

import math
import os

import numpy as np

from .. import nn, optim
from ..data import load_dataset
from ..data.datasets import DataSplits, is_text, load_text_splits
from ..errors import ConfigError
from ..optim import lr_scheduler
from .config import TrainConfig


def choose_loss(config: TrainConfig, data: DataSplits) -> str:
    if config.loss == "auto":
        return "cross_entropy" if data.task == "classification" else "mse"
    task = nn.LOSS_TASKS[config.loss]
    if task != data.task:
        suited = " or ".join(name for name, t in nn.LOSS_TASKS.items() if t == data.task)
        raise ConfigError(
            f"option loss: {config.loss!r} is a {task} loss but {data.name!r} is a {data.task} dataset; use {suited}"
        )
    if config.loss == "bce" and data.num_classes != 2:
        raise ConfigError(
            f"option loss: bce needs two classes, {data.name!r} has {data.num_classes}; use cross_entropy"
        )
    return config.loss


def make_loss(name: str, label_smoothing: float = 0.0):
    loss = nn.LOSSES[name]
    return loss(label_smoothing=label_smoothing) if loss is nn.CrossEntropyLoss else loss()


def prepare_targets(y: np.ndarray, loss: str, dtype) -> np.ndarray:
    """BCE wants float targets of shape (n, 1); the others take the labels as they are."""
    if loss == "bce":
        return y.astype(dtype).reshape(-1, 1)
    return y.astype(dtype) if y.dtype.kind == "f" else y


def make_optimizer(config: TrainConfig, params):
    return optim.make_optimizer(config.optimizer, params, config.lr, config.weight_decay, config.momentum)


def scheduler_options(config: TrainConfig) -> dict:
    """The command's settings for each schedule of lr_scheduler.SCHEDULERS, scaled to the run's length."""
    return {
        "step": dict(step_size=max(1, config.epochs // 3), gamma=0.1),
        "exponential": dict(gamma=0.95),
        "cosine": dict(T_max=config.epochs),
        "plateau": dict(patience=max(1, config.early_stopping // 2 or 5), factor=0.5),
        "warmup": dict(start_factor=0.1, total_iters=min(5, config.epochs)),
    }


def make_scheduler(config: TrainConfig, optimizer):
    if config.scheduler == "none":
        return None
    return lr_scheduler.SCHEDULERS[config.scheduler](optimizer, **scheduler_options(config)[config.scheduler])


def image_shape(data: DataSplits) -> tuple:
    """(channels, height, width) of a dataset's rows for --model cnn: square grey images."""
    side = math.isqrt(data.num_features)
    if side * side != data.num_features:
        raise ConfigError(
            f"option model: cnn needs image data (square grey images such as mnist or digits); {data.name!r} has "
            f"{data.num_features} features per row, not a square number"
        )
    return (1, side, side)


def physical_memory() -> int | None:
    """Bytes of memory this machine has, or None where the system does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _gigabytes(size: int) -> str:
    return f"{size / 1e9:,.0f} GB" if size >= 10e9 else f"{size / 1e9:.1f} GB"


def check_fits(architecture: dict, dtype, rows: int, training: bool, where: str) -> None:
    """Refuse, with the figures, a model that cannot fit in this machine's memory, before allocating it.

    Training holds about eight copies of the weights (the weights, their gradients, Adam's two moments, the
    best weights early stopping keeps, and a checkpoint's bytes of weights and moments while it is written) and a
    batch's activations twice (forward and their gradients)."""
    try:
        parameters, per_example = nn.model_size(architecture)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: not a valid architecture ({type(exc).__name__}: {exc})") from None
    itemsize = np.dtype(dtype).itemsize
    need = itemsize * ((8 if training else 1) * parameters + (2 if training else 1) * rows * per_example)
    have = physical_memory()
    if have is not None and need > have:
        doing = "train" if training else "run"
        raise ConfigError(
            f"{where}: the model would have {parameters:,} parameters and need about {_gigabytes(need)} of memory "
            f"to {doing}, but this machine has {_gigabytes(have)}; use fewer or smaller layers (--hidden, --channels)"
        )


def load_data(config: TrainConfig) -> DataSplits:
    """The run's dataset: text for a language model, or a table (a named set, a CSV file, MNIST)."""
    language_model = config.model in nn.LANGUAGE_MODELS and config.model != "mlp"
    if is_text(config.data, config.text):
        if config.model == "cnn":
            raise ConfigError(f"option model: {config.data!r} is text; use one of {', '.join(nn.LANGUAGE_MODELS)}")
        return load_text_splits(config.data, config.context(), seed=config.seed, mode=config.text)
    if language_model:
        raise ConfigError(
            f"option model: {config.model} is a language model and needs text: --data names, or a .txt file"
        )
    return load_dataset(
        config.data, config.data_dir, seed=config.seed, delimiter=config.delimiter, standardize=config.standardize
    )


def architecture_of(config: TrainConfig, data: DataSplits, outputs: int) -> dict:
    """The config dict of the model the options describe, as the model's own ``config`` is: sized by
    ``check_fits`` before ``make_model`` builds it."""
    if data.text_mode is not None:
        return {
            "type": "CharLM",
            "kind": config.model,
            "vocab_size": outputs,
            "block": config.context(),
            "embed": config.embed,
            "hidden": config.hidden,
            "layers": config.layers,
            "heads": config.heads,
        }
    common = {
        "hidden": config.hidden,
        "out_features": outputs,
        "activation": config.activation,
        "dropout": config.dropout,
        "batchnorm": config.batchnorm,
    }
    if config.model == "cnn":
        return {"type": "CNN", "in_shape": list(image_shape(data)), "channels": config.channels, **common}
    return {"type": "MLP", "in_features": data.num_features, **common}


def make_model(architecture: dict, dtype):
    """The network an ``architecture_of`` dict describes: an MLP, or a CNN over the rows seen as images."""
    try:
        return nn.build_model(architecture, dtype=dtype)
    except ValueError as exc:
        if architecture["type"] != "CNN":
            raise
        raise ConfigError(f"option channels: {exc}") from None  # the image is too small for that many pooling steps


def describe(model) -> str:
    """The architecture in one phrase: 'MLP 64-128-64-10' or 'CNN 1x28x28-conv16-conv32-10'."""
    c = model.config
    if c["type"] == "CharLM":
        width = {"bigram": "", "mlp": f", embeddings of {c['embed']}, hidden {','.join(map(str, c['hidden']))}"}
        default = f", embeddings of {c['embed']}, {c['layers']} layer(s) of {c['hidden'][0]}"
        if c["kind"] == "transformer":
            default = f", width {c['embed']}, {c['layers']} layer(s), {c['heads']} heads"
        return f"{c['kind']} language model over {c['block']} characters{width.get(c['kind'], default)}"
    if c["type"] == "CNN":
        layers = ["x".join(map(str, c["in_shape"]))] + [f"conv{w}" for w in c["channels"]] + list(map(str, c["hidden"]))
    else:
        layers = [str(c["in_features"])] + list(map(str, c["hidden"]))
    return f"{c['type']} {'-'.join(layers + [str(c['out_features'])])}"


def input_features(architecture: dict) -> int:
    """How many numbers a row of input holds for a saved architecture."""
    if architecture.get("type") == "CNN":
        return math.prod(architecture["in_shape"])
    return architecture["in_features"]
