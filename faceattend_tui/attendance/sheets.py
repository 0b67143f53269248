"""Each session's sheet dropped in a folder (a shared drive) when it ends: written atomically, retried
until it is there, also after a restart; the sessions still to write are kept in the log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .export import ExportError, ExportOptions, export_attendance
from .store import Store, StoreError

PENDING_PREFIX = "export_pending:"  # + station name: [session ids whose sheets are still to write]


@dataclass
class Drop:
    written: list[Path] = field(default_factory=list)
    problem: str = ""  # the last failure, said on screen; the sheet stays pending


def formats(setting: str) -> tuple[str, ...]:
    return ("csv", "json") if setting == "both" else (setting,)


def queue(store: Store, station: str, session_id: int) -> None:
    """Remember that this session's sheet is to be written (before trying, so a crash loses nothing)."""
    store.update_setting(PENDING_PREFIX + station, lambda ids: sorted({*(ids or []), session_id}))


def pending(store: Store, station: str) -> list[int]:
    return list(store.get_setting(PENDING_PREFIX + station) or [])


def write_pending(store: Store, station: str, folder: Path, fmt: str, zone: str, user: str) -> Drop:
    """Write every pending sheet into `folder`; what could not be written stays pending."""
    drop = Drop()
    for session_id in pending(store, station):
        try:
            drop.written += write_sheets(store, session_id, folder, fmt, zone, user)
        except (ExportError, StoreError, OSError) as exc:
            drop.problem = f"the sheet of session {session_id} could not be written to {folder}: {exc}"
            continue
        store.update_setting(PENDING_PREFIX + station, _without(session_id))
    return drop


def _without(done: int) -> Callable[[list[int] | None], list[int] | None]:
    """A change of the pending list that takes `done` off it (None once it is empty)."""
    return lambda ids: [i for i in (ids or []) if i != done] or None


def write_sheets(store: Store, session_id: int, folder: Path, fmt: str, zone: str, user: str) -> list[Path]:
    session = store.session(session_id)
    if session is None or session.voided:  # erased or voided since: nothing to write
        return []
    # a name nothing has taken: another station may drop its sheet of a session with the same id,
    # date and name into a shared folder (-2, -3 ...); a retry after a crash may leave a second copy
    return [export_attendance(store, Path(folder), ExportOptions(kind, zone=zone), None, session_id, user=user)
            for kind in formats(fmt)]
