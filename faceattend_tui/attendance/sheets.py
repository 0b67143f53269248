"""Each session's sheet dropped in a folder (a shared drive) when it ends: written atomically, retried
until it is there, also after a restart; the sessions still to write are kept in the log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .export import ExportError, ExportOptions, export_attendance
from .store import Store, StoreError

PENDING_PREFIX = "export_pending:"  # + station name: [session ids whose sheets are still to write]
WRITTEN_PREFIX = "export_written:"  # + station name: {session id: formats already written of a pending one}


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
    """Write every pending sheet into `folder`; what could not be written stays pending. With two formats,
    one written is remembered: a retry writes the other only, not a second copy of the first."""
    drop = Drop()
    for session_id in pending(store, station):
        done = set((store.get_setting(WRITTEN_PREFIX + station) or {}).get(str(session_id), []))
        try:
            for kind in formats(fmt):
                if kind not in done:
                    drop.written += write_sheets(store, session_id, folder, kind, zone, user)
                    store.update_setting(WRITTEN_PREFIX + station, _noting(session_id, kind))
        except (ExportError, StoreError, OSError) as exc:
            drop.problem = f"the sheet of session {session_id} could not be written to {folder}: {exc}"
            continue
        store.update_setting(PENDING_PREFIX + station, _without(session_id))
        store.update_setting(WRITTEN_PREFIX + station, _noting(session_id, None))
    return drop


def _noting(session_id: int, kind: str | None) -> Callable[[dict | None], dict | None]:
    """A change of the formats written of a pending session: `kind` added, or (None) the session done."""
    key = str(session_id)

    def change(written: dict | None) -> dict | None:
        written = dict(written or {})
        if kind is None:
            written.pop(key, None)
        else:
            written[key] = sorted({*written.get(key, []), kind})
        return written or None

    return change


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
