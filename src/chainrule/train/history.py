"""History: the per-epoch record that fit() returns (train/val loss and metrics)."""

from __future__ import annotations


class History:
    """``history.epochs`` is a list of dicts, one per epoch: {'epoch', 'loss', 'accuracy', 'val_loss', ...}."""

    def __init__(self, epochs=None):
        self.epochs: list[dict] = list(epochs or [])

    def append(self, record: dict) -> None:
        self.epochs.append(dict(record))

    def __getitem__(self, key: str) -> list:
        """All epochs' values of one metric, e.g. history['val_loss']."""
        return [record.get(key) for record in self.epochs]

    def __len__(self) -> int:
        return len(self.epochs)

    @property
    def last(self) -> dict:
        return self.epochs[-1] if self.epochs else {}

    def best(self, monitor: str = "val_loss", mode: str = "min") -> dict:
        scored = [r for r in self.epochs if r.get(monitor) is not None]
        if not scored:
            return self.last
        pick = min if mode == "min" else max
        return pick(scored, key=lambda r: r[monitor])

    def to_list(self) -> list[dict]:
        return [dict(r) for r in self.epochs]
