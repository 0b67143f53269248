"""Queries on the log in memory: reads index the tables, writes go through the journal as ops."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..common import aware, from_iso, to_iso
from ..models import LATE, PRESENT, AuditEntry, Checkin, Mark, Person, Presence, Session, with_past_groups
from ..store import NotFoundError, StoreError, refuse_changed_meanwhile
from .files import append_line, read_lines
from .tables import Doc, Op, PresenceKey, Table

T = TypeVar("T")


class PeopleAndSessions:
    """Settings, people and sessions.

    Uses of the store: now, _write, _after_write, _pending_fold, and the tables'.
    """

    _people: dict[str, str]
    _checkins: dict[int, dict[str, str]]
    _marks: dict[int, list[str]]
    _presence: dict[PresenceKey, str]
    _pending_fold: bool

    if TYPE_CHECKING:
        def _meta(self) -> Doc: ...
        def _table(self, name: str) -> Table: ...
        def _parse(self, parse: Callable[[Doc], T], table: str, doc_id: str, doc: Doc) -> T: ...
        def _write(self, *ops: Op) -> None: ...
        def _after_write(self) -> None: ...
        def now(self) -> datetime: ...

    # -- settings

    @property
    def schema_version(self) -> int:
        return self._meta()["schema_version"]

    def get_setting(self, key: str, default: Any = None) -> Any:
        return self._meta().get("settings", {}).get(key, default)

    def set_setting(self, key: str, value: Any) -> None:
        self._write(["setting", key, value])

    def all_settings(self) -> dict[str, Any]:
        return dict(self._meta().get("settings", {}))

    # -- people

    def people(self) -> list[Person]:
        return [self._parse(Person.from_doc, "people", doc_id, doc) for doc_id, doc in self._table("people").items()]

    def person(self, person_id: str) -> Person | None:
        doc_id = self._people.get(person_id)
        return None if doc_id is None else self._parse(Person.from_doc, "people", doc_id,
                                                       self._table("people")[doc_id])

    def save_person(self, person: Person) -> None:
        self.save_people([person])

    def save_people(self, people: list[Person], new: Collection[str] | None = None) -> None:
        ids = {*(p.id for p in people), *(new or ())}
        refuse_changed_meanwhile(people, new, {i: p for i in ids if (p := self.person(i)) is not None})
        if people:
            now = self.now()
            self._write(*(["person", with_past_groups(p, self.person(p.id), now).to_doc()] for p in people))
            self._after_write()

    def change_person_id(self, old: str, new: str) -> None:
        if old not in self._people:
            raise NotFoundError(f"no person with id {old!r}")
        holder = self.person(new)
        if holder is not None:
            raise ValueError(f"id {new!r} is taken by {holder.name}")
        self._write(["rekey", old, new])

    def erase_person(self, person_id: str, token: str | None = None) -> int:
        records = sum(person_id in people for people in self._checkins.values())
        records += sum(self._table("marks")[i]["person_id"] == person_id for ids in self._marks.values() for i in ids)
        records += sum(key[0] == person_id for key in self._presence)
        self._write(["erase", person_id] + ([token] if token else []))
        self._pending_fold = True  # the journal still holds what was erased: rewrite the file without it
        self._after_write()
        return records

    # -- sessions

    def create_session(self, session: Session) -> Session:
        session.id = max((int(k) for k in self._table("sessions")), default=0) + 1
        session.started_at = aware(session.started_at)
        self._write(["session", session.to_doc()])
        return session

    def end_session(self, session_id: int, ended_at: datetime) -> Session:
        self._existing_session(session_id)
        self._write(["end", session_id, to_iso(ended_at)])
        return self._existing_session(session_id)

    def update_session(self, session_id: int, changes: dict, expected: list[str] | None = None) -> Session:
        self._existing_session(session_id)
        doc = {k: (to_iso(v) if isinstance(v, datetime) else v) for k, v in changes.items()}
        if expected is not None:
            doc["expected"] = list(dict.fromkeys(expected))
        self._write(["session-set", session_id, doc])
        return self._existing_session(session_id)

    def _existing_session(self, session_id: int) -> Session:
        session = self.session(session_id)
        if session is None:
            raise NotFoundError(f"no session with id {session_id}")
        return session

    def add_expected(self, session_id: int, person_ids: list[str]) -> list[str]:
        session = self.session(session_id)
        if session is None:
            raise NotFoundError(f"no session with id {session_id}")
        expected = set(session.expected)
        new = [p for p in dict.fromkeys(person_ids) if p not in expected]
        if new:
            self._write(["expect", session_id, new])
        return new

    def session(self, session_id: int) -> Session | None:
        doc = self._table("sessions").get(str(session_id))
        return None if doc is None else self._parse(Session.from_doc, "sessions", str(session_id), doc)

    def sessions(self) -> list[Session]:
        found = [self._parse(Session.from_doc, "sessions", i, doc) for i, doc in self._table("sessions").items()]
        return sorted(found, key=lambda s: (s.started_at, s.id))

    def open_sessions(self) -> list[Session]:
        """As Store.open_sessions, parsing only the sessions that have not ended."""
        found = [self._parse(Session.from_doc, "sessions", i, doc)
                 for i, doc in self._table("sessions").items() if doc.get("ended_at") is None]
        return sorted(found, key=lambda s: (s.started_at, s.id))


class Records:
    """Check-ins, marks, presence and audit.

    Uses of the store: read_only, outbox_path, taking_path, _write, _after_write, and the tables'.
    """

    read_only: bool
    outbox_path: Path
    taking_path: Path
    _checkins: dict[int, dict[str, str]]
    _marks: dict[int, list[str]]
    _seen: set[str]
    _presence: dict[PresenceKey, str]
    _audit_ids: set[str | None]

    if TYPE_CHECKING:
        def _table(self, name: str) -> Table: ...
        def _parse(self, parse: Callable[[Doc], T], table: str, doc_id: str, doc: Doc) -> T: ...
        def _write(self, *ops: Op) -> None: ...
        def _after_write(self) -> None: ...

    # -- check-ins and marks

    def record_checkin(self, checkin: Checkin) -> bool:
        if checkin.person_id in self._checkins.get(checkin.session_id, {}):
            return False
        self._write(["checkin", checkin.to_doc()])
        self._after_write()
        return True

    def touch(self, session_id: int, person_id: str, when: datetime) -> bool:
        doc_id = self._checkins.get(session_id, {}).get(person_id)
        if doc_id is None:
            return False
        doc = self._table("checkins")[doc_id]
        seen = from_iso(doc.get("last_seen"))
        if seen is None or seen < aware(when):
            doc["last_seen"] = to_iso(when)
            self._seen.add(doc_id)
        return True

    def see(self, presence: Presence) -> None:
        known = self._presence.get((presence.person_id, presence.day.isoformat(), presence.station))
        if known is not None:
            old = Presence.from_doc(self._table("presence")[known])
            if old.merged(presence) == old:
                return  # nothing new: no write
        self._write(["presence", presence.to_doc()])

    def presence(self, date_from: date, date_to: date) -> list[Presence]:
        table = self._table("presence")
        found = [self._parse(Presence.from_doc, "presence", i, doc) for i, doc in table.items()
                 if date_from.isoformat() <= doc.get("day", "") <= date_to.isoformat()]
        return sorted(found, key=lambda p: (p.day, p.person_id, p.station))

    def checkin(self, session_id: int, person_id: str) -> Checkin | None:
        doc_id = self._checkins.get(session_id, {}).get(person_id)
        return None if doc_id is None else self._parse(Checkin.from_doc, "checkins", doc_id,
                                                       self._table("checkins")[doc_id])

    def checkins(self, session_id: int) -> list[Checkin]:
        table = self._table("checkins")
        found = [self._parse(Checkin.from_doc, "checkins", i, table[i])
                 for i in self._checkins.get(session_id, {}).values()]
        return sorted(found, key=lambda c: (c.time, c.person_id))

    def latest_moment(self, audit: bool = True) -> datetime | None:
        texts = [doc.get("time") for doc in self._table("audit").values()] if audit else []
        texts += [doc.get("at") for doc in self._table("marks").values()]
        sessions = self._table("sessions")
        texts += [doc.get(k) for doc in sessions.values() for k in ("started_at", "ended_at")]
        checkins = self._table("checkins")
        for session_id in sorted(self._checkins)[-2:]:  # the latest sessions' check-ins (not audited one by one)
            texts += [checkins[i].get(k) for i in self._checkins[session_id].values() for k in ("time", "last_seen")]
        presence = list(self._table("presence").values())
        last_day = max((str(doc.get("day", "")) for doc in presence), default="")
        texts += [doc.get("last_seen") for doc in presence if doc.get("day") == last_day]  # work mode's sightings
        moments = []
        for text in texts:
            with contextlib.suppress(TypeError, ValueError):
                moments.append(from_iso(text))
        return max((m for m in moments if m is not None), default=None)

    def outcomes(self, session_id: int) -> dict[str, str]:
        """As Store.outcomes, read from the stored records without building them (reports over a year)."""
        checkins, marks = self._table("checkins"), self._table("marks")
        found: dict[str, str] = {person: LATE if checkins[i].get("late") else PRESENT
                 for person, i in self._checkins.get(session_id, {}).items()}
        # in the order they were made (one writer: the log's order), not by their times: a mark made while
        # the clock was wrong, or in the hour the clocks go back, never outranks a later one
        for i in self._marks.get(session_id, []):
            found[marks[i]["person_id"]] = marks[i]["status"]
        return found

    def add_mark(self, mark: Mark) -> None:
        self._write(["mark", mark.to_doc()])
        self._after_write()

    def marks(self, session_id: int) -> list[Mark]:
        table = self._table("marks")
        return [self._parse(Mark.from_doc, "marks", i, table[i]) for i in self._marks.get(session_id, [])]  # as made

    # -- audit

    def add_audit(self, entry: AuditEntry) -> None:
        if self.read_only:
            append_line(self.outbox_path, entry.to_doc())  # the station takes it in later
            return
        self._write(["audit", entry.to_doc()])
        self._after_write()

    def audit_log(self) -> list[AuditEntry]:
        table = self._table("audit")
        entries = [self._parse(AuditEntry.from_doc, "audit", i, doc) for i, doc in table.items()]
        # what readers did meanwhile (exports, wrong PINs) shows before the writer takes it in
        entries += [self._parse(AuditEntry.from_doc, "outbox", doc["id"], doc)
                    for doc in self._outbox_waiting() if doc["id"] not in self._audit_ids]
        return sorted(entries, key=lambda a: a.time)

    def _outbox_waiting(self) -> list[Doc]:
        found: dict[str, Doc] = {}
        for path in (self.taking_path, self.outbox_path):
            with contextlib.suppress(StoreError):  # a damaged outbox is the station's to report
                found.update((doc["id"], doc) for doc in read_lines(path, "outbox") if isinstance(doc.get("id"), str))
        return list(found.values())
