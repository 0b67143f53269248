"""Attendance sheets: one session or every session in a date range, as CSV or JSON.

A sheet lists everyone the session expected and anyone else with a record in it. Past sessions
are read from what they recorded, so exporting one again gives the same rows whatever happened
to the roster since (only the JSON's generation time changes). CSV starts with a byte-order
mark by default, so spreadsheet programs read accents right.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from faceattend_tui.files import atomic_write

from .common import to_iso
from .models import Person, PersonStatus, Session
from .security import audit
from .sessions import Summary, summarize
from .store import NotFoundError, Store

COLUMNS = (
    "session_id", "session_name", "session_group", "session_start", "person_id", "person", "status",
    "checkin_time", "similarity", "last_seen", "mark_status", "mark_reason", "marked_by", "marked_at",
    "status_before_mark",
)
FORMATS = ("csv", "json")
NAME_LIMIT = 120  # bytes of the session name kept in a file name (file systems allow 255)
BOM = "\ufeff"


class ExportError(ValueError):
    """An export that cannot be made (no such session, bad format), with a message to show."""


class NothingToExport(ExportError):
    """The selection holds no session."""


@dataclass(frozen=True)
class ExportOptions:
    fmt: str = "csv"
    bom: bool = True  # CSV only


# ----- rows --------------------------------------------------------------------------


def sessions_in_range(sessions: Iterable[Session], date_from: date, date_to: date) -> list[Session]:
    """Sessions whose start falls on a day in [date_from, date_to], oldest first."""
    date_from, date_to = _day(date_from), _day(date_to)
    if date_from > date_to:
        raise ExportError(f"date range is reversed: {date_from} is after {date_to}")
    chosen = [s for s in sessions if date_from <= s.started_at.date() <= date_to]
    return sorted(chosen, key=lambda s: (s.started_at, s.id))


def _day(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


def person_row(session: Session, item: PersonStatus) -> dict:
    """One person of one session, keyed by COLUMNS."""
    c, m = item.checkin, item.mark
    return {
        "session_id": session.id, "session_name": session.name, "session_group": session.group or "",
        "session_start": to_iso(session.started_at), "person_id": item.person.id, "person": item.name,
        "status": item.status, "checkin_time": to_iso(c.time) if c else None,
        "similarity": round(c.similarity, 4) if c and c.similarity is not None else None,
        "last_seen": to_iso(c.last_seen) if c else None, "mark_status": m.status if m else None,
        "mark_reason": m.reason if m else None, "marked_by": m.by if m else None,
        "marked_at": to_iso(m.at) if m else None, "status_before_mark": m.previous if m else None,
    }


def to_csv(summaries: Iterable[Summary], bom: bool = True) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for summary in summaries:
        for item in summary.people:
            row = person_row(summary.session, item)
            writer.writerow([_csv_cell(row[name]) for name in COLUMNS])
    return (BOM if bom else "") + out.getvalue()


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    text = str(value)
    # Spreadsheets run cells starting with these as formulas; quote them as text.
    if isinstance(value, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def to_json(summaries: Iterable[Summary], generated_at: datetime) -> str:
    sessions = []
    for summary in summaries:
        s = summary.session
        sessions.append({
            "id": s.id, "name": s.name, "group": s.group, "started_at": to_iso(s.started_at),
            "ended_at": to_iso(s.ended_at), "late_after_minutes": s.late_after_minutes, "station": s.station,
            "expected": len(s.expected),
            "counts": {"present": summary.counts.present, "late": summary.counts.late,
                       "absent": summary.counts.absent},
            "people": [{k: v for k, v in person_row(s, item).items() if not k.startswith("session_")}
                       for item in summary.people],
        })
    return json.dumps({"generated_at": to_iso(generated_at), "sessions": sessions}, indent=2,
                      ensure_ascii=False) + "\n"


def render(summaries: list[Summary], options: ExportOptions, generated_at: datetime) -> bytes:
    if options.fmt not in FORMATS:
        raise ExportError(f"export format must be one of {', '.join(FORMATS)}")
    text = to_csv(summaries, options.bom) if options.fmt == "csv" else to_json(summaries, generated_at)
    return text.encode("utf-8")


# ----- file names ----------------------------------------------------------------------


def slug(text: str, limit: int = NAME_LIMIT) -> str:
    """A file-name-safe form that keeps letters of every script, accents included, within `limit` bytes."""
    text = unicodedata.normalize("NFC", text).casefold()
    text = re.sub(r"[^\w]+", "-", text).strip("-_")
    while len(text.encode("utf-8")) > limit:
        text = text[:-1]
    return text.rstrip("-_") or "session"


def free_path(path: Path) -> Path:
    """`path`, or the same name with -2, -3, ... when it is taken."""
    if not path.exists():
        return path
    n = 2
    while path.with_name(f"{path.stem}-{n}{path.suffix}").exists():
        n += 1
    return path.with_name(f"{path.stem}-{n}{path.suffix}")


def default_name(sessions: list[Session], date_from: date | None, date_to: date | None, fmt: str) -> str:
    if date_from is not None:
        return f"{date_from}_{date_to}.{fmt}"
    session = sessions[0]
    return f"{session.started_at:%Y-%m-%d}_{session.id}_{slug(session.name)}.{fmt}"


# ----- choosing and writing -------------------------------------------------------------


def choose_sessions(store: Store, session_id: int | None = None, date_from: date | None = None,
                    date_to: date | None = None) -> list[Session]:
    """A date range, one session by id, or (neither given) the latest session."""
    if date_from is not None or date_to is not None:
        found = sessions_in_range(store.sessions(), date_from or date_to, date_to or date_from)
        if not found:
            raise NothingToExport(f"no session between {date_from or date_to} and {date_to or date_from}")
        return found
    if session_id is not None:
        session = store.session(session_id)
        if session is None:
            raise NothingToExport(f"no session with id {session_id}")
        return [session]
    sessions = store.sessions()
    if not sessions:
        raise NothingToExport("no session yet")
    return [sessions[-1]]


def export_sessions(store: Store, sessions: list[Session], path: Path, options: ExportOptions,
                    user: str | None = None, people: dict[str, Person] | None = None) -> Path:
    """Write the sheet of these sessions to `path` (atomically, 0600) and audit it."""
    people = people if people is not None else {p.id: p for p in store.people()}
    summaries = [summarize(store, s, people) for s in sessions]
    data = render(summaries, options, store.now())
    try:
        atomic_write(path, data)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    audit(store, "export", {"path": str(path), "format": options.fmt, "sessions": [s.id for s in sessions]}, user)
    return path


def export_attendance(store: Store, folder: Path, options: ExportOptions, path: Path | None = None,
                      session_id: int | None = None, date_from: date | None = None, date_to: date | None = None,
                      user: str | None = None) -> Path:
    """Choose the sessions, name the file (in `folder` unless `path` is given), write it."""
    sessions = choose_sessions(store, session_id, date_from, date_to)
    if path is None:
        date_to = date_to or date_from
        date_from = date_from or date_to
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = free_path(folder / default_name(sessions, date_from, date_to, options.fmt))
    return export_sessions(store, sessions, Path(path), options, user)


def export_session(store: Store, session_id: int, path: str | Path, *, fmt: str = "csv", user: str | None = None,
                   bom: bool = True) -> Path:
    session = store.session(session_id)
    if session is None:
        raise NotFoundError(f"no session with id {session_id}")
    return export_sessions(store, [session], Path(path), ExportOptions(fmt, bom), user)
