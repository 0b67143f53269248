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
import importlib
import os
import signal
import threading
import types
import unicodedata
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


def measure_as_terminals_do() -> bool:
    """Give a spacing mark (Hindi's ि, Tamil's ா: Unicode category Mc) the column terminals and tmux give it,
    where the screen's measure (Rich's) gives none: a row holding प्रिया शर्मा was three columns wider on
    the terminal than on the screen, and the pane's lines slid apart. False where Rich has no such
    measure to wrap (another version: its own is kept)."""
    from rich import cells

    measure = getattr(cells, "get_character_cell_size", None)
    if measure is None or getattr(measure, "as_terminals", False):
        return measure is not None

    @functools.lru_cache(maxsize=4096)
    def columns(character: str, unicode_version: str = "auto") -> int:
        found = measure(character, unicode_version)
        return 1 if found == 0 and unicodedata.category(character) == "Mc" else found

    columns.as_terminals = True  # type: ignore[attr-defined]
    for module in _measuring_modules(cells):
        setattr(module, "get_character_cell_size", columns)  # noqa: B010 - a name some versions lack
    cells.cached_cell_len.cache_clear()
    return True


def _measuring_modules(cells: types.ModuleType) -> list[types.ModuleType]:
    """Rich's cells and the modules that took its measure by name."""
    found = [cells]
    for name in ("textual._wrap", "textual.widgets._input"):
        module = _imported(name)
        if module is not None and hasattr(module, "get_character_cell_size"):
            found.append(module)
    return found


def _imported(name: str) -> types.ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


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
