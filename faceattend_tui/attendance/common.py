"""Small shared helpers: clocks and ISO timestamps (file helpers live in faceattend_tui.files)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

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
    return value
