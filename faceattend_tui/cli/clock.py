"""The station's own clock: with a `timezone` setting, everything a running station shows (the door's
"checked in at", the screen, the headless lines) reads the time in that zone, as its reports do."""

from __future__ import annotations

import contextlib
import os
import time
import zoneinfo
from collections.abc import Iterator
from pathlib import Path


def zone_file(name: str) -> Path | None:
    """The compiled file of a zone name, where the C library can read it (TZ=":<file>")."""
    if not name or name.startswith(("/", ".")) or ".." in name:
        return None
    for folder in zoneinfo.TZPATH:
        path = Path(folder) / name
        if path.is_file():
            return path
    return None


@contextlib.contextmanager
def station_clock(name: str) -> Iterator[str]:
    """The process's local time on the named zone for the run; yields a warning ("" when none)."""
    path = zone_file(name)
    if not name or path is None:
        yield f"the timezone setting {name!r} has no zone file on this machine: the screen and the door " \
              "show this machine's time (exports and reports still use the zone)" if name else ""
        return
    before = os.environ.get("TZ")
    os.environ["TZ"] = f":{path}"
    time.tzset()
    try:
        yield ""
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()
