"""Run folders: a fresh one claimed for each run, never two runs in one (an exclusive lock for the whole
run), never a run replaced by surprise, and paths from config files kept inside their folder."""

from __future__ import annotations

import json
import os
import sys
import time

from ..errors import ConfigError

try:
    import fcntl
except ImportError:  # Windows: the lock file is created exclusively instead (see RunLock)
    fcntl = None

# The files that make a folder a run folder: one holding any of them is never replaced by surprise.
RUN_FILES = ("summary.json", "metrics.jsonl", "model.safetensors", "checkpoint.safetensors")
SAVED = ("model.safetensors", "checkpoint.safetensors")  # what a run can be resumed or used from
LOCK = ".chainrule.lock"


def default_out(dataset: str) -> str:
    """A fresh numbered folder for a run without --out: runs/<dataset>/version_N (as Lightning's), created
    here, so that two runs started together cannot pick the same N."""
    parent = os.path.join("runs", os.path.splitext(os.path.basename(dataset))[0])
    os.makedirs(parent, exist_ok=True)
    n = 0
    while True:
        path = os.path.join(parent, f"version_{n}")
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            n += 1


def check_out(out: str, overwrite: bool) -> None:
    """Refuse to write a new run into a folder that holds one, unless ``overwrite``; a folder whose run stopped
    before saving anything says so, so that the user knows --overwrite loses nothing."""
    held = [name for name in RUN_FILES if os.path.lexists(os.path.join(out, name))]
    if not held or overwrite:
        return
    if not any(name in held for name in SAVED):
        raise ConfigError(
            f"run folder {out!r} holds a run that stopped before its first checkpoint ({', '.join(held)}): nothing "
            f"was saved, so --overwrite is safe (or give another --out)"
        )
    raise ConfigError(
        f"run folder {out!r} already holds a run ({', '.join(held)}); pass --overwrite to replace it, "
        f"--resume {out} to continue it, or another --out"
    )


def remove_stale_temporaries(out: str) -> None:
    """Temporary files a killed process left mid-write (the files they were replacing are intact)."""
    for name in os.listdir(out):
        if name.startswith(".tmp-") and name.endswith(".partial"):
            try:
                os.unlink(os.path.join(out, name))
            except OSError:
                pass


class RunLock:
    """An exclusive advisory lock on a run folder for the whole run: a second run into the same folder is
    refused, naming the first one's process. The lock is the kernel's (flock), so a run that is killed
    releases it; the file left behind names the killed process and is taken over by the next run."""

    def __init__(self, folder: str):
        self.folder, self.path, self.fd = folder, os.path.join(folder, LOCK), None

    def __enter__(self) -> "RunLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def acquire(self) -> None:
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | (os.O_EXCL if fcntl is None else 0)
        for _ in range(10):  # a run that ends between our open and our lock unlinks the file: open it again
            try:
                fd = os.open(self.path, flags, 0o644)
            except FileExistsError:
                raise ConfigError(self._busy(self._holder())) from None
            except OSError as exc:
                raise ConfigError(f"run folder {self.folder!r}: cannot create its lock file ({exc.strerror})") from None
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    holder = self._holder()
                    os.close(fd)
                    raise ConfigError(self._busy(holder)) from None
                try:
                    same = os.fstat(fd).st_ino == os.stat(self.path, follow_symlinks=False).st_ino
                except FileNotFoundError:
                    same = False
                if not same:
                    os.close(fd)
                    continue
            self.fd = fd
            record = {"pid": os.getpid(), "started": time.strftime("%Y-%m-%d %H:%M:%S"), "command": sys.argv}
            os.ftruncate(fd, 0)
            os.write(fd, (json.dumps(record) + "\n").encode())
            return
        raise ConfigError(f"run folder {self.folder!r}: could not take its lock; try again")

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.unlink(self.path)  # while still held, so no other run can be holding this file
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None

    def _holder(self) -> dict:
        try:
            with open(self.path, encoding="utf-8") as f:
                record = json.loads(f.read(4096) or "{}")
            return record if isinstance(record, dict) else {}
        except (OSError, ValueError):
            return {}

    def _busy(self, holder: dict) -> str:
        who = f"process {holder['pid']}" if isinstance(holder.get("pid"), int) else "another process"
        since = f", started {holder['started']}" if isinstance(holder.get("started"), str) else ""
        return (
            f"run folder {self.folder!r} is in use by another run ({who}{since}); wait for it to finish, or "
            f"give another --out"
        )


def inside(path: str, folder: str, what: str) -> str:
    """``path`` with every symlink resolved, or a ConfigError if it leads out of ``folder`` (also resolved)."""
    resolved, base = os.path.realpath(path), os.path.realpath(folder)
    if os.path.commonpath([resolved, base]) != base:
        raise ConfigError(f"{what} leads outside {folder!r} (through a symlink or '..'); refused")
    return resolved
