"""Small shared state kept beside a log that a reader may not write: wrong-PIN counts of read-only commands.

One JSON object in its own file, changed under the operating system's lock on that file, so commands
run at once (exports, reports) each count their try.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from faceattend_tui.filelock import locked

from .store import StoreError

LIMIT = 1 << 20  # the file holds a few counters; anything larger is not ours


class TriesFile:
    def __init__(self, path: Path):
        self.path = Path(path)

    def get(self, key: str) -> Any:
        return self.update(key, lambda value: value)

    def update(self, key: str, change: Callable[[Any], Any]) -> Any:
        """Set `key` to change(its value), None removing it; the new value."""
        try:
            with locked(self.path) as fd:
                state = _read(fd)
                value = change(state.get(key))
                if value != state.get(key):
                    _write(fd, {k: v for k, v in {**state, key: value}.items() if v is not None})
                return value
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot count wrong PINs here ({exc.strerror or exc})") from exc


def _read(fd: int) -> dict[str, Any]:
    os.lseek(fd, 0, os.SEEK_SET)
    data = os.read(fd, LIMIT)
    try:
        state = json.loads(data or b"{}")
    except ValueError:  # a torn or foreign file: start counting again
        return {}
    return state if isinstance(state, dict) else {}


def _write(fd: int, state: dict[str, Any]) -> None:
    data = json.dumps(state, separators=(",", ":")).encode("utf-8")
    os.lseek(fd, 0, os.SEEK_SET)
    os.ftruncate(fd, 0)
    os.write(fd, data)
    os.fsync(fd)
