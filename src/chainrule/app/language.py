"""Sampling from a run's character-level language model (``chainrule sample``): the model's next-character
distribution, sharpened or flattened by a temperature and cut to the k likeliest, drawn from a seeded generator,
one character at a time, until the boundary token (or a length) ends each sample."""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..data.text import Vocabulary
from ..errors import ConfigError, DataError
from ..grad_mode import no_grad
from ..ops.random import Generator, multinomial
from ..plots import figure, plots_available, save_figure
from ..tensor import Tensor
from .results import load_run


def sample_run(
    run_dir: str,
    n: int = 20,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
    prompt: str = "",
    length: int | None = None,
    attention: str | None = None,
) -> list:
    """``n`` samples of the language model in ``run_dir``, each beginning with ``prompt``; ``attention``: a PNG
    path for the attention weights of every head over the first sample (transformer runs)."""
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
    if attention is not None and model.config["kind"] != "transformer":
        raise ConfigError(f"--attention: {run_dir} holds a {model.config['kind']} model; attention is a transformer's")
    if attention is not None and not plots_available():
        raise ConfigError("--attention needs matplotlib: pip install 'chainrule[plots]'")
    lines = meta.get("text_mode") == "lines"
    length = length or (40 if lines else 200)
    samples = sample(model, vocabulary, n, temperature, top_k, Generator().manual_seed(seed), prompt, length, lines)
    if attention is not None:
        draw_attention(model, vocabulary, samples[0], attention)
    return samples


def sample(model, vocabulary: Vocabulary, n, temperature, top_k, generator, prompt: str, length: int, lines: bool):
    """Draw the samples, all ``n`` at once: each step feeds every sample's last ``block`` tokens."""
    block = model.config["block"]
    start = ([0] * block + vocabulary.encode(prompt))[-block:]
    contexts = np.tile(np.asarray(start, np.int64), (n, 1))
    drawn = np.zeros((n, 0), np.int64)
    ended = np.zeros(n, bool)
    with no_grad():
        for _ in range(length):
            logits = model(Tensor.wrap(contexts, False)).array / temperature
            if top_k is not None:
                kth = np.sort(logits, axis=1)[:, -top_k][:, None]
                logits = np.where(logits < kth, -np.inf, logits)
            probs = F.softmax(Tensor.wrap(logits, False), dim=1)
            ids = multinomial(probs, 1, generator=generator).array[:, 0]
            ids = np.where(ended, 0, ids)
            drawn = np.concatenate([drawn, ids[:, None]], axis=1)
            ended |= ids == 0 if lines else False
            if ended.all():
                break
            contexts = np.concatenate([contexts[:, 1:], ids[:, None]], axis=1)
    return [prompt + vocabulary.decode(row[: (list(row).index(0) if 0 in row else len(row))]) for row in drawn]


def attention_weights(model, ids: np.ndarray) -> list:
    """Each layer's attention weights (heads, block, block) over one context of token ids: the model's forward
    (CharLM's transformer, pre-norm, no dropout) taken layer by layer, asking each attention for its weights."""
    block = model.config["block"]
    causal = Tensor.wrap(np.triu(np.ones((block, block), dtype=bool), 1), False)
    maps = []
    with no_grad():
        x = model.embedding(Tensor.wrap(ids[None], False)) + model.position.weight
        for layer in model.blocks.layers:
            normed = layer.norm1(x)
            out, weights = layer.self_attn(
                normed, normed, normed, attn_mask=causal, need_weights=True, average_attn_weights=False
            )
            maps.append(weights.numpy()[0])
            x = x + out
            x = x + layer.linear2(layer.activation(layer.linear1(layer.norm2(x))))
    return maps


def draw_attention(model, vocabulary: Vocabulary, text: str, path: str) -> None:
    """A grid of heat maps, a row per layer and a column per head: how much each position (a row) attends to
    each earlier one (a column) in the context that ends ``text``'s last prediction."""
    block = model.config["block"]
    ids = np.asarray(([0] * block + vocabulary.encode(text))[-block:], np.int64)
    maps = attention_weights(model, ids)
    labels = ["·" if i == 0 else vocabulary.tokens[i] for i in ids]
    layers, heads = len(maps), maps[0].shape[0]
    fig, axes = figure(layers, heads, figsize=(2.9 * heads + 0.6, 2.9 * layers + 0.5))
    axes = np.atleast_2d(axes)
    for layer in range(layers):
        for head in range(heads):
            ax = axes[layer, head]
            image = ax.imshow(maps[layer][head], cmap="viridis", vmin=0, vmax=1)
            ax.set_xticks(range(block), labels, fontsize=7)
            ax.set_yticks(range(block), labels, fontsize=7)
            ax.set_title(f"layer {layer + 1}, head {head + 1}", fontsize=9)
    fig.colorbar(image, ax=axes, shrink=0.6, label="attention weight")
    fig.suptitle(f"attention over {text!r} (· is the boundary: the start and end of a word); rows attend to columns")
    save_figure(fig, path)
