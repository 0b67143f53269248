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


STOP_SIGNALS = ("SIGHUP", "SIGTERM")  # the terminal closed (an SSH session, a tmux pane), or a service stop


def catch_stops(stop: Callable[[], object]) -> list[signal.Signals]:
    """Have SIGHUP and SIGTERM call `stop` on the running event loop (the station then closes as on `q`,
    writing what it holds) instead of killing the process; a signal its starter ignored stays ignored.
    Returns the signals caught, for `release_stops`."""
    loop = asyncio.get_running_loop()
    caught = []
    for name in STOP_SIGNALS:
        sig = getattr(signal, name, None)
        if sig is None or signal.getsignal(sig) is signal.SIG_IGN:
            continue
        try:
            loop.add_signal_handler(sig, stop)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no such support
            continue
        caught.append(sig)
    return caught


def release_stops(caught: list[signal.Signals]) -> None:
    loop = asyncio.get_running_loop()
    for sig in caught:
        loop.remove_signal_handler(sig)


def terminal_gone(fd: int = 0) -> bool:
    """Whether the terminal read from has gone (a closed SSH session or tmux pane): reading it then returns
    nothing at once, over and over, and nobody can see the screen."""
    try:
        return not os.isatty(fd)
    except OSError:
        return True
