"""The terminal: its input, read leniently; its end (a hang-up, a stop, a closed pane) closing the station.

Textual reads keys on Linux with a strict UTF-8 decoder: a single byte that is not UTF-8 (a terminal
set to Latin-1 typing "ë", a paste cut in the middle of a character) ends its input thread, and with
it the station. Here the input is decoded with such bytes replaced (U+FFFD), so they type a "�"
that a field can refuse, and the station goes on.
"""

from __future__ import annotations

import asyncio
import codecs
import functools
import os
import signal
import threading
from collections.abc import Callable


def lenient_decoder(encoding: str) -> Callable[..., codecs.IncrementalDecoder]:
    """An incremental decoder factory for `encoding` that replaces bytes it cannot read."""
    return functools.partial(codecs.getincrementaldecoder(encoding), errors="replace")


def read_input_leniently() -> bool:
    """Make Textual's Linux driver decode input leniently; False where that driver has no decoder to swap."""
    try:
        from textual.drivers import linux_driver
    except ImportError:  # not a Linux terminal
        return False
    if not hasattr(linux_driver, "getincrementaldecoder"):
        return False
    linux_driver.getincrementaldecoder = lenient_decoder  # type: ignore[assignment]
    return True


def size_from_the_terminal() -> None:
    """COLUMNS and LINES exported by a shell fix the screen's size: Textual takes them before the terminal's
    own and never follows a resize. They are dropped here (this process only) when there is a terminal to
    ask instead."""
    if os.isatty(1):
        for name in ("COLUMNS", "LINES"):
            os.environ.pop(name, None)


STOP_SIGNALS = ("SIGHUP", "SIGTERM")  # the terminal closed (an SSH session, a tmux pane), or a service stop
STOP_BEFORE_DRAWN = threading.Event()  # one of them came before the screen's loop ran: lost, it left the lock


def stop_on_signals(stop: Callable[[], object]) -> list[signal.Signals]:
    """From now on, SIGHUP and SIGTERM call `stop` on the event loop drawing the screen (the station then
    closes as on `q`, writing what it holds) instead of killing the process; once the screen is gone, or
    before it is drawn, they are ignored (the close is under way, and is held whole until it ends). A
    signal its starter ignored stays ignored. Returns the signals taken."""

    def on_signal(_signum: int, _frame: object) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            STOP_BEFORE_DRAWN.set()  # the screen stops as soon as it is up (`stop_asked_before`)
            return
        loop.call_soon_threadsafe(stop)

    STOP_BEFORE_DRAWN.clear()
    taken = []
    for name in STOP_SIGNALS:
        sig = getattr(signal, name, None)
        if sig is not None and signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, on_signal)
            taken.append(sig)
    return taken


def terminal_gone(fd: int = 0) -> bool:
    """Whether the terminal read from has gone (a closed SSH session or tmux pane): reading it then returns
    nothing at once, over and over, and nobody can see the screen."""
    try:
        return not os.isatty(fd)
    except OSError:
        return True
