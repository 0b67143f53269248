"""Lines for the program reading a headless station's output, written from a thread of their own.

Recording never waits for the reader: a reader that stalls (a full pipe) holds up only this thread, and
one that goes away (a closed pipe, a full disk behind a redirection) is said once on stderr, and the run
stops as on SIGTERM, every check-in seen before it recorded.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
from collections.abc import Callable
from typing import TextIO

MAX_WAITING = 50_000  # lines kept for a reader that has stopped reading; later ones are counted, not kept
DRAIN_SECONDS = 3.0  # at exit, how long the lines still waiting may take to go out


class Output:
    def __init__(self, out: TextIO, on_closed: Callable[[], None]) -> None:
        self.out, self.on_closed = out, on_closed
        self.waiting: queue.Queue[str | None] = queue.Queue()
        self.dropped = 0
        self.closed: str | None = None  # why the reader can no longer be written to
        self.fd = _file_number(out)
        self.thread = threading.Thread(target=self._write_lines, name="output", daemon=True)
        if self.fd is not None:
            self.thread.start()

    def put(self, text: str) -> None:
        if self.closed is not None:
            return
        if self.fd is None:  # a stream in memory never blocks: written at once, in order
            self.out.write(text + "\n")
            return
        if self.waiting.qsize() >= MAX_WAITING:
            self.dropped += 1
            return
        self.waiting.put(text)

    def _write_lines(self) -> None:
        while (text := self.waiting.get()) is not None:
            try:
                self._write(text + "\n")
            except (OSError, ValueError) as exc:  # ValueError: the stream was closed
                self.closed = getattr(exc, "strerror", None) or str(exc)
                self.on_closed()
                return

    def _write(self, text: str) -> None:
        assert self.fd is not None
        data = text.encode("utf-8", "backslashreplace")  # a name stored by an older version with bytes not UTF-8
        while data:  # the file itself, not its buffer: a write blocked at exit never holds the buffer's lock
            data = data[os.write(self.fd, data):]

    def finish(self) -> None:
        """Let the waiting lines go out (for a few seconds at most), then say on stderr what was not written."""
        if self.fd is None:
            return
        self.waiting.put(None)
        self.thread.join(DRAIN_SECONDS)
        if self.closed is not None:
            to_stderr(f"warning: the output could not be written ({self.closed}): its reader went away; the run "
                      "stopped there, everything seen before it is recorded")
        elif self.thread.is_alive() or self.dropped:
            left = max(self.waiting.qsize() - 1, 0) + self.dropped + self.thread.is_alive()
            to_stderr(f"warning: {left} lines of output were not written: their reader stopped reading "
                      "(everything is recorded)")


def to_stderr(line: str) -> None:
    """A line for the person or the service log watching stderr; one that cannot be written (its reader
    went away) is dropped: the run goes on and stops as it should, the session with it."""
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr, flush=True)


def _file_number(out: TextIO) -> int | None:
    """The file under a real stream (stdout), flushed first; None for one in memory."""
    try:
        number = out.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    out.flush()
    return number
