"""The jumps of a station's clock its audit keeps (`clock.jump`): the spans of wall-clock time that a
record's time may be wrong in."""

from __future__ import annotations

from datetime import datetime, timedelta

from .common import from_iso
from .store import Store


def clock_jumps(store: Store, at_least: timedelta = timedelta(0), back_only: bool = False
                ) -> tuple[tuple[datetime, datetime], ...]:
    """The wall-clock spans a station's clock jumped over or went through twice, by `at_least` or more
    (`back_only`: the jumps back, whose span holds the times a clock that ran ahead wrote)."""
    spans = []
    for entry in store.audit_log():
        seconds, now = entry.details.get("seconds"), entry.details.get("now")
        if entry.action != "clock.jump" or not isinstance(seconds, int | float) or not isinstance(now, str):
            continue
        try:
            after = from_iso(now)
        except ValueError:  # an entry changed by hand: no span
            continue
        if after is None or abs(seconds) < at_least.total_seconds() or (back_only and seconds > 0):
            continue
        before = after - timedelta(seconds=seconds)
        spans.append((min(before, after), max(before, after)))
    return tuple(spans)
