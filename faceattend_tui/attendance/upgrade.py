"""Logs written by earlier versions, brought to today's schema (pure functions on the stored tables).

Schema 1 knew people by name only, kept one record per person and session in which a staff mark
replaced the camera's, and took a session's roster from whoever was enrolled at its end. Schema 2
gives people ids, keeps marks beside check-ins and records each session's expected people. The
upgrade keeps every record: names become people with generated ids (their photo folder is their
name, as before), manual records become marks (the status each replaced taken from the audit), and
each past session expects the people who were on the roster when it ended, which is what schema 1
showed for it. Schema 3 keeps the same records and allows voided sessions and absence codes in
marks, which an earlier version would misread: it refuses a schema-3 log instead. Schema 4 keeps
people's past groups and time away, and corrections of hours, which an earlier version would drop at
its first write (or leave behind at an erasure).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from .common import from_iso, to_iso
from .models import (
    ABSENT,
    ACTIVE,
    LATE,
    LEFT,
    PRESENT,
    Checkin,
    Mark,
    Person,
    Session,
    new_id,
)
from .store import StoreError

SCHEMA_VERSION = 4


def fold_v1_journal(tables: dict, lines: list[dict]) -> None:
    """Apply schema-1 journal lines ({"checkin": ..., "audit": ...}) to schema-1 tables, in place."""
    checkins = tables.setdefault("checkins", {})
    by_key = {(doc.get("session_id"), doc.get("person")): doc_id for doc_id, doc in checkins.items()}
    audit = tables.setdefault("audit", {})
    audit_ids = {doc.get("id") for doc in audit.values()}
    for line in lines:
        doc = line["checkin"]
        key = (doc["session_id"], doc["person"])
        doc_id = by_key.get(key) or str(_next_id(checkins))
        checkins[doc_id] = doc
        by_key[key] = doc_id
        entry = line.get("audit")
        if entry and entry.get("id") not in audit_ids:
            audit[str(_next_id(audit))] = entry
            audit_ids.add(entry.get("id"))


def upgrade_same_records(tables: dict, version: int, now: datetime) -> dict:
    """Schema-2 or -3 tables as today's: the records stay as they are, only the version moves on."""
    meta = dict(next(iter(tables.get("meta", {}).values()), {}))
    meta.update(schema_version=SCHEMA_VERSION, upgraded={"from": version, "at": to_iso(now)})
    return {**tables, "meta": {"1": meta}}


def upgrade_v1(tables: dict, now: datetime) -> dict:
    """Schema-1 tables (journal already folded) as schema-2 tables."""
    people, ids = _people(tables.get("people", {}), tables.get("checkins", {}))
    sessions = _sessions(tables.get("sessions", {}), people, ids, now)
    checkins, marks = _records(tables.get("checkins", {}), ids, _marked_over(tables.get("audit", {})))
    meta = dict(next(iter(tables.get("meta", {}).values()), {}))
    meta.update(schema_version=SCHEMA_VERSION, upgraded={"from": 1, "at": to_iso(now)})
    return {
        "meta": {"1": meta},
        "people": _numbered(p.to_doc() for p in people),
        "sessions": {str(s.id): s.to_doc() for s in sessions},
        "checkins": _numbered(c.to_doc() for c in checkins),
        "marks": _numbered(m.to_doc() for m in marks),
        "audit": dict(tables.get("audit", {})),
    }


def _people(v1_people: dict, v1_checkins: dict) -> tuple[list[Person], dict[str, str]]:
    people: list[Person] = []
    ids: dict[str, str] = {}
    for doc in v1_people.values():
        name = doc["name"]
        if name in ids:
            continue
        ids[name] = v1_person_id(name)
        deleted = bool(doc.get("deleted"))
        people.append(Person(id=ids[name], name=name, created=_time(doc["created"]), folder=name,
                             state=LEFT if deleted else ACTIVE, left_at=from_iso(doc.get("deleted_at")),
                             images=int(doc.get("images") or 0)))
    for doc in v1_checkins.values():  # marked or seen without ever being on the roster
        name = doc["person"]
        if name not in ids:
            ids[name] = v1_person_id(name)
            when = _time(doc["time"])
            people.append(Person(id=ids[name], name=name, created=when, state=LEFT, left_at=when))
    return people, ids


def v1_person_id(name: str) -> str:
    """The id a schema-1 person (known by name) is given: the same on every reading of the log, so sheets
    written before the upgrade name the people it makes."""
    return "p-" + hashlib.sha256(f"schema-1 person {name}".encode()).hexdigest()[:10]


def _on_roster_at(doc: dict, when: datetime) -> bool:
    """Schema 1's rule: enrolled before `when` and not deleted by then."""
    if _time(doc["created"]) > when:
        return False
    deleted_at = from_iso(doc.get("deleted_at"))
    return not (doc.get("deleted") and (deleted_at is None or deleted_at <= when))


def _sessions(v1_sessions: dict, people: list[Person], ids: dict[str, str], now: datetime) -> list[Session]:
    v1_people = {p.name: p for p in people}
    out: list[Session] = []
    for doc_id, doc in v1_sessions.items():
        ended = from_iso(doc.get("ended_at"))
        at = ended or now
        expected = [ids[name] for name, person in v1_people.items()
                    if person.folder and _on_roster_at(_as_v1(person), at)]
        out.append(Session(id=int(doc_id), name=doc["name"], started_at=_time(doc["started_at"]), ended_at=ended,
                           late_after_minutes=doc.get("late_after_minutes"), station=doc.get("station"),
                           expected=expected))
    return sorted(out, key=lambda s: s.id)


def _as_v1(person: Person) -> dict:
    return {"created": to_iso(person.created), "deleted": person.state == LEFT, "deleted_at": to_iso(person.left_at)}


def _marked_over(v1_audit: dict) -> dict[tuple[int, str], str]:
    """The status each (session, person name) had before its latest staff mark, as schema 1's audit says
    (its mark replaced the camera's record: this is all that is left of a check-in marked over)."""
    before: dict[tuple[int, str], str] = {}
    marks = [e for e in v1_audit.values() if isinstance(e, dict) and e.get("action") == "checkin.mark"]
    for entry in sorted(marks, key=_audit_time):
        details = entry.get("details")
        if not isinstance(details, dict):
            continue
        session, name, previous = details.get("session_id"), details.get("person"), details.get("previous")
        if isinstance(session, int) and isinstance(name, str):
            before[(session, name)] = previous if previous in (PRESENT, LATE) else ABSENT
    return before


def _audit_time(entry: dict) -> datetime:
    """When an audit entry was made, for ordering (times written with different UTC offsets); an entry
    without a readable time first."""
    try:
        when = from_iso(entry.get("time"))
    except (TypeError, ValueError):
        when = None
    return when or datetime.min.replace(tzinfo=timezone.utc)


def _records(v1_checkins: dict, ids: dict[str, str],
             marked_over: dict[tuple[int, str], str]) -> tuple[list[Checkin], list[Mark]]:
    checkins: list[Checkin] = []
    marks: list[Mark] = []
    for doc in v1_checkins.values():
        person_id, when = ids[doc["person"]], _time(doc["time"])
        late, present = bool(doc.get("late")), bool(doc.get("present", True))
        if doc.get("source", "camera") == "camera":
            checkins.append(Checkin(int(doc["session_id"]), person_id, when, similarity=doc.get("similarity"),
                                    track_id=doc.get("track_id"), late=late,
                                    last_seen=from_iso(doc.get("last_seen")), id=doc.get("id") or new_id()))
            continue
        status = ABSENT if not present else (LATE if late else PRESENT)
        previous = marked_over.get((int(doc["session_id"]), doc["person"]), ABSENT)
        marks.append(Mark(int(doc["session_id"]), person_id, status, doc.get("reason") or "",
                          doc.get("marked_by") or "", when, previous, id=doc.get("id") or new_id()))
    return checkins, marks


def _time(text: Any) -> datetime:
    """A time every schema-1 record of its kind has (a person's creation, a check-in's, a session's start)."""
    value = from_iso(text)
    if value is None:
        raise StoreError("a schema-1 record has no time where one is needed; the log was left unchanged")
    return value


def _numbered(docs: Iterable[dict]) -> dict:
    return {str(i): doc for i, doc in enumerate(docs, start=1)}


def _next_id(table: dict) -> int:
    return max((int(k) for k in table), default=0) + 1
