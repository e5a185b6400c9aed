"""Text as data for character-level language models: the training split's characters as the vocabulary, a
boundary token, and every character of the text as one example: the ``block`` characters before it -> it.

A file of words or names, one a line ("lines"), is split 80/10/10 by line; each line ends with the boundary
token, and each begins with ``block`` of them as its context (so the model learns how words start and end).
Running text ("running") is split into three contiguous parts, so that no test passage was seen in training.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import DataError

BOUNDARY = "<end>"  # token 0: a line's end, and the context before its first character
UNKNOWN = "<unk>"  # token 1 where validation or test text holds a character the training part lacks
MAX_VOCABULARY = 1000
MODES = ("auto", "lines", "running")
BUNDLED = {"names": os.path.join(os.path.dirname(__file__), "text", "names.txt")}


@dataclass
class Vocabulary:
    """The tokens, index 0 the boundary; characters in the order of their code points."""

    tokens: list

    @classmethod
    def from_text(cls, text: str, unknown: bool) -> "Vocabulary":
        return cls([BOUNDARY] + ([UNKNOWN] if unknown else []) + sorted(set(text)))

    def __post_init__(self):
        self.index = {t: i for i, t in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str) -> list:
        unknown = self.index.get(UNKNOWN)
        return [self.index.get(c, unknown) for c in text]

    def decode(self, ids) -> str:
        return "".join("" if i == 0 else self.tokens[i] for i in ids)

    def missing(self, text: str) -> list:
        """The characters of ``text`` this vocabulary lacks, in order of first appearance."""
        return list(dict.fromkeys(c for c in text if c not in self.index))


def read_text(path: str) -> str:
    """The file as UTF-8 text, or a DataError saying why it is not usable text."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise DataError(f"text file {path!r} cannot be read ({exc.strerror})") from None
    if not raw.strip():
        raise DataError(f"text file {path!r} is empty")
    if b"\0" in raw[:65536]:
        raise DataError(f"{path!r} is a binary file, not text (it holds NUL bytes)")
    try:
        return raw.decode("utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path!r} is not UTF-8 text (byte {exc.start} cannot be decoded)") from None


def detect_mode(text: str) -> str:
    """'lines' where nearly every line is one short word or name, else 'running'."""
    lines = [line for line in text.split("\n") if line.strip()]
    single = sum(1 for line in lines if len(line.split()) == 1)
    return "lines" if lines and single >= 0.9 * len(lines) and np.mean([len(x) for x in lines]) <= 40 else "running"


def split_text(text: str, mode: str, seed: int, ratios=(0.8, 0.1, 0.1)) -> list:
    """[train, val, test]: lists of lines (shuffled by ``seed``), or three contiguous strings."""
    if mode == "lines":
        lines = [line.strip() for line in text.split("\n") if line.strip()]
        order = np.random.default_rng(seed).permutation(len(lines))
        cut = np.cumsum([int(round(r * len(lines))) for r in ratios[:2]])
        return [[lines[i] for i in part] for part in np.split(order, cut)]
    cut = np.cumsum([int(r * len(text)) for r in ratios[:2]])
    return [text[: cut[0]], text[cut[0] : cut[1]], text[cut[1] :]]


def examples(pieces, vocabulary: Vocabulary, block: int, mode: str) -> tuple:
    """(X, y): every character's context of ``block`` token ids (int64) and the character's id."""
    if mode == "lines":
        sequences = [[0] * block + vocabulary.encode(line) + [0] for line in pieces]
    else:
        sequences = [[0] * block + vocabulary.encode(pieces)] if pieces else []
    windows = [np.lib.stride_tricks.sliding_window_view(np.asarray(s, np.int64), block + 1) for s in sequences]
    if not windows:
        return np.zeros((0, block), np.int64), np.zeros(0, np.int64)
    table = np.concatenate(windows)
    return np.ascontiguousarray(table[:, :block]), np.ascontiguousarray(table[:, block])


def bigram_loss(X_train, y_train, X_eval, y_eval, size: int) -> float:
    """The loss in nats per character of the count-based bigram model (counts of each character after each, plus
    one, normalised), on the evaluation examples: what a model must beat to have learned more than letter pairs."""
    counts = np.bincount(X_train[:, -1] * size + y_train, minlength=size * size).reshape(size, size) + 1.0
    log_probs = np.log(counts / counts.sum(axis=1, keepdims=True))
    return float(-log_probs[X_eval[:, -1], y_eval].mean()) if len(y_eval) else float("nan")


def load_text(source: str, block: int, seed: int = 0, mode: str = "auto") -> dict:
    """Read ``source`` (a bundled name such as 'names', or a file), split it and encode it: a dict with the
    splits' (X, y), the vocabulary, the mode and the bigram baseline's validation and test losses."""
    path = BUNDLED.get(source, source)
    name = source if source in BUNDLED else os.path.basename(source)
    text = read_text(path)
    if mode not in MODES:
        raise DataError(f"text mode must be one of {', '.join(MODES)}, got {mode!r}")
    mode = detect_mode(text) if mode == "auto" else mode
    parts = split_text(text, mode, seed)
    train_text = "".join(parts[0]) if mode == "lines" else parts[0]
    distinct = set(train_text)
    if len(distinct) < 2:
        raise DataError(
            f"{name}: the training text holds {len(distinct)} distinct character(s); a language model needs at least 2"
        )
    if len(distinct) + 2 > MAX_VOCABULARY:
        raise DataError(
            f"{name}: {len(distinct)} distinct characters, more than the {MAX_VOCABULARY - 2} a character-level model "
            "here takes; is it a text file of one language?"
        )
    if mode == "lines":
        longest = max(len(line) for part in parts for line in part)
        if block > longest + 1:
            raise DataError(
                f"--block {block} is longer than every line of {name} (the longest has {longest} characters): use "
                f"--block {longest + 1} or less"
            )
    elif len(parts[0]) <= block:
        raise DataError(f"--block {block} is longer than {name}'s training text ({len(parts[0])} characters)")
    rest = "".join("".join(p) if mode == "lines" else p for p in parts[1:])
    vocabulary = Vocabulary.from_text(train_text, unknown=bool(set(rest) - distinct))
    splits = [examples(part, vocabulary, block, mode) for part in parts]
    (X_tr, y_tr), (X_va, y_va), (X_te, y_te) = splits
    size = len(vocabulary)
    return {
        "name": name,
        "mode": mode,
        "vocabulary": vocabulary,
        "splits": splits,
        "bigram_val": bigram_loss(X_tr, y_tr, X_va, y_va, size),
        "bigram_test": bigram_loss(X_tr, y_tr, X_te, y_te, size),
    }
