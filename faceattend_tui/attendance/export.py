"""CSV and JSON export of one session or of all sessions in a date range."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path

from faceattend_tui.files import atomic_write

from .common import to_iso
from .models import Session
from .security import audit
from .sessions import Summary, summarize
from .store import NotFoundError, Store

COLUMNS = (
    "session_id",
    "session_name",
    "session_start",
    "person",
    "status",
    "checkin_time",
    "similarity",
    "source",
    "reason",
    "marked_by",
    "last_seen",
)
FORMATS = ("csv", "json")


class ExportError(ValueError):
    """An export that cannot be made (no such session, bad format), with a message to show."""


# ----- pure helpers -------------------------------------------------------------


def sessions_in_range(sessions: Iterable[Session], date_from: date, date_to: date) -> list[Session]:
    """Sessions whose start falls on a day in [date_from, date_to], oldest first."""
    date_from, date_to = _day(date_from), _day(date_to)
    if date_from > date_to:
        raise ValueError(f"date range is reversed: {date_from} is after {date_to}")
    chosen = [s for s in sessions if date_from <= s.started_at.date() <= date_to]
    return sorted(chosen, key=lambda s: (s.started_at, s.id))


def _day(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


def summary_rows(summary: Summary) -> list[dict]:
    """One row per person of one session, keyed by :data:`COLUMNS`."""
    session = summary.session
    rows = []
    for item in summary.people:
        c = item.checkin
        rows.append({
            "session_id": session.id,
            "session_name": session.name,
            "session_start": to_iso(session.started_at),
            "person": item.person,
            "status": item.status,
            "checkin_time": to_iso(c.time) if c and c.present else None,
            "similarity": round(c.similarity, 4) if c and c.similarity is not None else None,
            "source": c.source if c else None,
            "reason": c.reason if c else None,
            "marked_by": c.marked_by if c else None,
            "last_seen": to_iso(c.last_seen) if c else None,
        })
    return rows


def to_csv(summaries: Iterable[Summary]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for summary in summaries:
        for row in summary_rows(summary):
            writer.writerow([_csv_cell(row[name]) for name in COLUMNS])
    return out.getvalue()


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
            "id": s.id,
            "name": s.name,
            "started_at": to_iso(s.started_at),
            "ended_at": to_iso(s.ended_at),
            "late_after_minutes": s.late_after_minutes,
            "station": s.station,
            "counts": {"present": summary.counts.present, "late": summary.counts.late,
                       "absent": summary.counts.absent},
            "people": [{k: v for k, v in row.items() if not k.startswith("session_")}
                       for row in summary_rows(summary)],
        })
    return json.dumps({"generated_at": to_iso(generated_at), "sessions": sessions}, indent=2) + "\n"


def guess_format(path: Path, fmt: str | None) -> str:
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise ValueError(f"cannot tell the export format of {path}; use a .csv or .json name or pass fmt")
    return fmt


# ----- writing files ------------------------------------------------------------


def export_session(store: Store, session_id: int, path: str | os.PathLike, *, fmt: str | None = None,
                   roster: Iterable[str] | None = None, user: str | None = None) -> Path:
    """Write one session's attendance to `path` (atomically) and audit it; returns the path."""
    session = store.get_session(session_id)
    if session is None:
        raise NotFoundError(f"no session with id {session_id}")
    return _export(store, [session], Path(path), fmt, roster, user, {"session_id": session_id})


def export_range(store: Store, date_from: date, date_to: date, path: str | os.PathLike, *,
                 fmt: str | None = None, roster: Iterable[str] | None = None,
                 user: str | None = None) -> Path:
    """Write every session started between the two dates (inclusive) to `path`; returns the path."""
    sessions = sessions_in_range(store.sessions(), date_from, date_to)
    scope = {"from": _day(date_from).isoformat(), "to": _day(date_to).isoformat()}
    return _export(store, sessions, Path(path), fmt, roster, user, scope)


def _export(store: Store, sessions: list[Session], path: Path, fmt: str | None,
            roster: Iterable[str] | None, user: str | None, scope: dict) -> Path:
    fmt = guess_format(path, fmt)
    roster = None if roster is None else list(roster)
    summaries = [summarize(store, s, roster) for s in sessions]
    text = to_csv(summaries) if fmt == "csv" else to_json(summaries, store.now())
    atomic_write(path, text.encode("utf-8"))
    details = {**scope, "path": str(path), "format": fmt, "sessions": [s.id for s in sessions]}
    audit(store, "export", details, user)
    return path


# ----- choosing what and where ----------------------------------------------------


def export_attendance(store: Store, folder: Path, fmt: str, path: Path | None = None, session_id: int | None = None,
                      date_from: date | None = None, date_to: date | None = None, user: str | None = None) -> Path:
    """One session (default: the running or latest one) or a date range, into `folder` unless `path` is given."""
    if fmt not in FORMATS:
        raise ExportError("export format must be csv or json")
    if date_from is not None:
        date_to = date_to or date_from
        path = path or folder / f"{date_from}_{date_to}.{fmt}"
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return export_range(store, date_from, date_to, path, fmt=fmt, user=user)
    session = _chosen_session(store, session_id)
    path = path or folder / f"{session.started_at:%Y-%m-%d}_{session.id}_{slug(session.name)}.{fmt}"
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return export_session(store, session.id, path, fmt=fmt, user=user)


def _chosen_session(store: Store, session_id: int | None) -> Session:
    if session_id is not None:
        session = store.get_session(session_id)
        if session is None:
            raise ExportError(f"no session with id {session_id}")
        return session
    sessions = store.sessions()
    if not sessions:
        raise ExportError("no session yet")
    return sessions[-1]


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "session"
