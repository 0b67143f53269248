"""The terminal's input, read leniently.

Textual reads keys on Linux with a strict UTF-8 decoder: a single byte that is not UTF-8 (a terminal
set to Latin-1 typing "ë", a paste cut in the middle of a character) ends its input thread, and with
it the station. Here the input is decoded with such bytes replaced (U+FFFD), so they type a "�"
that a field can refuse, and the station goes on.
"""

from __future__ import annotations

import codecs
import functools
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
