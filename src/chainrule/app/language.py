"""Sampling from a run's character-level language model (``chainrule sample``): the model's next-character
distribution, sharpened or flattened by a temperature and cut to the k likeliest, drawn from a seeded generator,
one character at a time, until the boundary token (or a length) ends each sample."""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..data.text import Vocabulary
from ..errors import ConfigError, DataError
from ..function import no_grad
from ..ops.random import Generator, multinomial
from ..tensor import Tensor
from .run import load_run


def sample_run(
    run_dir: str,
    n: int = 20,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
    prompt: str = "",
    length: int | None = None,
) -> list:
    """``n`` samples of the language model in ``run_dir``, each beginning with ``prompt``."""
    model, meta, _ = load_run(run_dir)
    if meta.get("architecture", {}).get("type") != "CharLM":
        raise ConfigError(f"{run_dir}: its model is not a language model (train one with --data names --model ...)")
    if not temperature > 0:
        raise ConfigError(f"option temperature: expected a positive number, got {temperature}")
    vocabulary = Vocabulary(list(meta["class_names"]))
    if top_k is not None and not 1 <= top_k <= len(vocabulary):
        raise ConfigError(f"option top-k: expected 1 to {len(vocabulary)} (the vocabulary's size), got {top_k}")
    missing = vocabulary.missing(prompt)
    if missing:
        raise DataError(
            f"the prompt holds {''.join(missing)!r}, which the model's vocabulary lacks; it knows "
            f"{''.join(t for t in vocabulary.tokens if len(t) == 1)!r}"
        )
    lines = meta.get("text_mode") == "lines"
    length = length or (40 if lines else 200)
    return sample(model, vocabulary, n, temperature, top_k, Generator().manual_seed(seed), prompt, length, lines)


def sample(model, vocabulary: Vocabulary, n, temperature, top_k, generator, prompt: str, length: int, lines: bool):
    """Draw the samples, all ``n`` at once: each step feeds every sample's last ``block`` tokens."""
    block = model.config["block"]
    start = ([0] * block + vocabulary.encode(prompt))[-block:]
    contexts = np.tile(np.asarray(start, np.int64), (n, 1))
    drawn = np.zeros((n, 0), np.int64)
    ended = np.zeros(n, bool)
    with no_grad():
        for _ in range(length):
            logits = model(Tensor._wrap(contexts, False))._array / temperature
            if top_k is not None:
                kth = np.sort(logits, axis=1)[:, -top_k][:, None]
                logits = np.where(logits < kth, -np.inf, logits)
            probs = F.softmax(Tensor._wrap(logits, False), dim=1)
            ids = multinomial(probs, 1, generator=generator)._array[:, 0]
            ids = np.where(ended, 0, ids)
            drawn = np.concatenate([drawn, ids[:, None]], axis=1)
            ended |= ids == 0 if lines else False
            if ended.all():
                break
            contexts = np.concatenate([contexts[:, 1:], ids[:, None]], axis=1)
    return [prompt + vocabulary.decode(row[: (list(row).index(0) if 0 in row else len(row))]) for row in drawn]
