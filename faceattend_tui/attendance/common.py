"""Small shared helpers: clocks and ISO timestamps (file helpers live in faceattend_tui.files)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

from faceattend_tui.errors import InputError

Clock = Callable[[], datetime]


def local_now() -> datetime:
    """The current local time, timezone-aware."""
    return datetime.now().astimezone()


def aware(value: datetime) -> datetime:
    """Return `value` with a timezone; naive values are taken as local time."""
    return value if value.tzinfo is not None else value.astimezone()


def to_iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return aware(value).isoformat(timespec="milliseconds")


def from_iso(text: str | None) -> datetime | None:
    """Parse a stored timestamp; raise ValueError when it has no offset."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError(f"timestamp must be a string, got {type(text).__name__}")
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no UTC offset")
    if not 1900 <= value.year <= 9000:  # a hand edit: at the ends of the calendar, a clock or a sheet would overflow
        raise ValueError(f"timestamp {text!r} is out of range")
    return value


MAX_LATE_MINUTES = 24 * 60  # lateness counted from a session's start, within a day


def minutes_until(deadline: datetime | None, start: datetime) -> float | None:
    """Late-after minutes of a session from `start` whose lateness begins at `deadline` (never below 0)."""
    if deadline is None:
        return None
    return max(0.0, (deadline - start).total_seconds() / 60)


def in_millis(value: datetime) -> datetime:
    """To the millisecond, as the log keeps times: a status decided on a time is the one its stored time gives."""
    return value.replace(microsecond=value.microsecond - value.microsecond % 1000)


def checked_late_after(minutes: float | None, what: str = "late after") -> float | None:
    """A session's lateness threshold in minutes (None: nobody is late), refused in one line unless
    0 to MAX_LATE_MINUTES (an infinite or huge one cannot be turned into a time)."""
    if minutes is None:
        return None
    if not math.isfinite(minutes) or not 0 <= minutes <= MAX_LATE_MINUTES:
        raise InputError(f"{what}: 0 to {MAX_LATE_MINUTES} minutes, not {minutes:g}")
    return minutes
