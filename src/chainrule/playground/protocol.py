"""The WebSocket messages: each one checked field by field, then carried out on the tab's Session.

``Connection.handle(message)`` returns the replies to send; it never raises for a bad message (it
answers with an ``error`` message naming what is wrong) so that the server keeps serving. See
docs/playground.md for every message with an example.
"""

from __future__ import annotations

import base64
import io
import json
import os
import random

from ..errors import ChainruleError
from ..explain.formats import FORMATS
from ..explain.formats import render as render_step
from ..explain.network import MAX_EQUATIONS
from ..serialization import save
from .config import PlaygroundConfig, parse_config
from .datasets import MAX_UPLOAD
from .session import TRAINING_SETTINGS, Session

DOWNLOADS = ("model", "toml", "history", "data")
# type -> {field: (accepted Python types, required[, the values allowed])}
MESSAGES = {
    "config": {"config": ((dict,), True)},
    "play": {},
    "pause": {},
    "step": {},
    "epoch": {},
    "reset": {},
    "regenerate": {},
    "select": {
        "layer": ((int,), True),
        "i": ((int,), True),
        "j": ((int, type(None)), False),
        "row": ((int, type(None)), False),
    },
    "deselect": {},
    "set_weight": {
        "layer": ((int,), True),
        "i": ((int,), True),
        "j": ((int, type(None)), False),
        "value": ((int, float), True),
    },
    "upload_csv": {"name": ((str,), True), "text": ((str,), True)},
    "load_csv": {"path": ((str,), True)},
    "export": {"format": ((str,), True, FORMATS)},
    "download": {"what": ((str,), True, DOWNLOADS)},
}
EXPORT_LIMIT = MAX_EQUATIONS  # rows × weights of a step that "Export this step" writes out


class ProtocolError(ValueError):
    """A message that is not one the playground knows, or has a wrong field."""


def check(message) -> dict:
    """The message if its type and fields are right, else a ProtocolError saying what is wrong."""
    if not isinstance(message, dict):
        raise ProtocolError(f"expected a JSON object with a 'type', got {type(message).__name__}")
    kind = message.get("type")
    if kind not in MESSAGES:
        raise ProtocolError(f"unknown message type {kind!r}; known: {', '.join(MESSAGES)}")
    fields = MESSAGES[kind]
    unknown = sorted(set(message) - set(fields) - {"type"})
    if unknown:
        raise ProtocolError(f"message {kind!r}: unknown field(s) {', '.join(map(repr, unknown))}")
    for name, (types, required, *allowed) in fields.items():
        if name not in message:
            if required:
                raise ProtocolError(f"message {kind!r}: missing field {name!r}")
            continue
        value = message[name]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            expected = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise ProtocolError(f"message {kind!r}: field {name!r} should be {expected}, got {json.dumps(value)[:60]}")
        if allowed and value not in allowed[0]:
            raise ProtocolError(f"{kind}: {name} should be one of {', '.join(allowed[0])}, got {value!r}")
    return message


class Connection:
    """One tab: its Session (made by the first config message) and whether it is playing."""

    def __init__(self, data_dir: str | None = None):
        self.session: Session | None = None
        self.playing = False
        self.data_dir = os.path.realpath(data_dir or os.getcwd())  # load_csv opens files under it, nowhere else

    def handle(self, message) -> list:
        try:
            message = check(message)
            return getattr(self, "on_" + message["type"])(message)
        except (ProtocolError, ChainruleError, ValueError) as exc:
            return [{"type": "error", "message": str(exc)}]
        except RecursionError:
            return [{"type": "error", "message": "a field is nested too deeply"}]

    def need_session(self) -> Session:
        if self.session is None:
            raise ProtocolError("send a 'config' message first")
        return self.session

    def _state(self) -> list:
        s = self.session
        return [s.describe(), s.frame(), {"type": "status", "playing": self.playing}]

    # ------------------------------------------------------------------ the network and its data
    def on_config(self, message) -> list:
        """New settings: the same network, trained on, where only how it learns changed (a 'settings' message);
        a new one, said so, where the data, its inputs, the layers or the loss changed."""
        config = parse_config(message["config"])
        if self.session is None:
            self.session = Session(config)  # (dataset csv before any upload: Session says what to do)
            with self.session.lock:
                return self._state()
        s = self.session
        with s.lock:
            old = s.config.to_dict()
            new = config.to_dict()
            if {k for k in new if new[k] != old[k]} <= set(TRAINING_SETTINGS):
                if new == old:
                    return [s.frame()]
                return [s.retrain(config), s.frame()]
            s.configure(config)
            changed = ", ".join(
                sorted(k.replace("_", " ") for k in new if new[k] != old[k] and k not in TRAINING_SETTINGS)
            )
            reply = self._state()
            reply[0]["rebuilt"] = f"a new network: {changed} changed (the weights start afresh)"
            return reply

    def on_regenerate(self, message) -> list:
        s = self.need_session()
        values = s.config.to_dict() | {"seed": random.randrange(2**31)}
        with s.lock:
            s.configure(parse_config(values))
            return self._state()

    def on_upload_csv(self, message) -> list:
        if len(message["text"]) > MAX_UPLOAD:
            raise ProtocolError(
                f"upload_csv: {message['name']} is over {MAX_UPLOAD // 2**20} MB; the playground takes small sets"
            )
        return self._use_csv(message["name"][:200], message["text"])

    def on_load_csv(self, message) -> list:
        """A CSV file by its path, relative to the data folder; a path that leads out of it (by '..', '~', an
        absolute path or a symlink) is refused before anything is opened, so nothing outside it is ever read."""
        given = message["path"][:300]
        path = os.path.realpath(os.path.join(self.data_dir, os.path.expanduser(message["path"])))
        if os.path.commonpath([path, self.data_dir]) != self.data_dir:
            raise ProtocolError(
                f"load_csv: only files under the playground's data folder {self.data_dir} can be opened "
                "(start it with --data-dir to choose another), or upload the file"
            )
        if not os.path.isfile(path):
            raise ProtocolError(f"load_csv: no file at {given!r} in {self.data_dir}")
        if os.path.getsize(path) > MAX_UPLOAD:
            raise ProtocolError(f"load_csv: {given} is over {MAX_UPLOAD // 2**20} MB; the playground takes small sets")
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ProtocolError(f"load_csv: {given} is not a readable text file ({reason})") from None
        return self._use_csv(os.path.basename(path), text)

    def _use_csv(self, name: str, text: str) -> list:
        base = self.session.config.to_dict() if self.session else PlaygroundConfig().to_dict()
        base["dataset"] = "csv"
        config = parse_config(base)
        if self.session is None:
            self.session = Session(config, (name, text))
        else:
            with self.session.lock:
                self.session.configure(config, (name, text))
        with self.session.lock:
            return self._state()

    # ------------------------------------------------------------------ controls
    def on_play(self, message) -> list:
        self.need_session()
        self.playing = True
        return [{"type": "status", "playing": True}]

    def on_pause(self, message) -> list:
        self.playing = False
        return [{"type": "status", "playing": False}]

    def on_step(self, message) -> list:
        s = self.need_session()
        with s.lock:
            s.step()
            return [s.frame()]

    def on_epoch(self, message) -> list:
        s = self.need_session()
        with s.lock:
            s.run_epoch()
            return [s.frame()]

    def on_reset(self, message) -> list:
        s = self.need_session()
        self.playing = False
        with s.lock:
            s.reset()
            return self._state()

    # ------------------------------------------------------------------ the chain rule
    def on_select(self, message) -> list:
        s = self.need_session()
        selection = {"layer": message["layer"], "i": message["i"], "j": message.get("j"), "row": message.get("row")}
        with s.lock:
            reply = s.chain(**selection)  # raises on a bad index before the selection is kept
            s.selection = selection
            return [reply]

    def on_set_weight(self, message) -> list:
        """The learner types a weight (or a bias: j null): the network takes it now; the next step shows its
        effect."""
        s = self.need_session()
        with s.lock:
            s.set_parameter(message["layer"], message["i"], message.get("j"), message["value"])
            return [s.frame()]

    def on_deselect(self, message) -> list:
        self.need_session().selection = None
        return []

    def on_export(self, message) -> list:
        s = self.need_session()
        fmt = message["format"]
        with s.lock:
            trace = s.trace()
            weights = sum(layer.weight.size for layer in trace.layers)
            if trace.spec.rows * weights > EXPORT_LIMIT:
                raise ProtocolError(
                    f"export: this step has {trace.spec.rows} rows × {weights} weights, too many equations to write "
                    f"out (limit {EXPORT_LIMIT}); lower the batch size or the network's size"
                )
            text = render_step(trace, fmt)
        extension = {"text": "txt", "markdown": "md", "latex": "tex", "html": "html", "json": "json"}[fmt]
        return [_file(f"chainrule-step-{s.steps}.{extension}", text.encode("utf-8"), "text/plain")]

    def on_download(self, message) -> list:
        s = self.need_session()
        what = message["what"]
        with s.lock:
            if what == "model":
                buffer = io.BytesIO()
                save(s.model_state(), buffer)
                return [_file("playground-model.safetensors", buffer.getvalue(), "application/octet-stream")]
            if what == "history":
                return [_file("playground-history.csv", s.history_csv().encode(), "text/csv")]
            if what == "data":
                return [_file("playground-data.csv", s.data_csv().encode(), "text/csv")]
            return [_file("playground.toml", train_toml(s).encode(), "application/toml")]


def _file(name: str, data: bytes, mime: str) -> dict:
    return {"type": "file", "name": name, "mime": mime, "base64": base64.b64encode(data).decode()}


def train_toml(s: Session) -> str:
    """A TOML file for ``chainrule train --config`` with this network, optimizer and data (the data file is
    the 'data' download, saved beside it). What the command cannot express is said in comments."""
    c = s.config
    acts = ["identity" if layer.activation == "linear" else layer.activation for layer in c.hidden]
    if s.data.task == "regression":
        loss = "mse"
    else:
        loss = "bce" if c.loss == "bce" else "cross_entropy"
    notes = []
    if c.loss == "half_sse":
        notes.append("½Σ squared error over the batch becomes the command's mean squared error (a smaller step)")
    if c.loss in ("half_sse", "mse") and s.data.task == "classification":
        notes.append(f"{c.loss} on classes becomes {loss}, the command's loss for classes")
    if c.regularization == "l1":
        notes.append("the L1 penalty has no counterpart in the command and is left out")
    if c.regularization == "l2":
        notes.append("the L2 penalty becomes weight_decay, which the command applies to the biases too")
    notes.append(
        "the command splits the rows 80/10/10 (the playground: train and test only) and draws its own initial weights"
    )
    activation = f'"{acts[0]}"' if len(set(acts)) <= 1 else "[" + ", ".join(f'"{a}"' for a in acts) + "]"
    lines = [
        "# Made by `chainrule playground`. Save playground-data.csv (the 'data' download) beside this file, then:",
        "#   chainrule train --config playground.toml",
        *[f"# Note: {note}." for note in notes],
        'data = "playground-data.csv"',
        "standardize = false  # the playground's inputs, as they are",
        'model = "mlp"',
        f"hidden = {[layer.units for layer in c.hidden]}",
        f"activation = {activation if acts else chr(34) + 'relu' + chr(34)}",
        f"dropout = {c.dropout}",
        f'loss = "{loss}"',
        f'optimizer = "{c.optimizer}"',
        f"lr = {c.lr}",
        f"batch_size = {c.batch_size}",
        f"epochs = {max(1, s.epochs)}",
        f"seed = {c.seed}",
        f"weight_decay = {c.reg_rate if c.regularization == 'l2' else 0.0}",
        'dtype = "float64"',
        "early_stopping = 0",
        'out = "runs/playground"',
    ]
    return "\n".join(lines) + "\n"
