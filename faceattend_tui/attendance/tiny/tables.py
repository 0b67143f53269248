"""The log in memory: the TinyDB tables, their indexes, and the ops that change them.

Each op is idempotent, so replaying a journal line that was already applied changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ..common import from_iso
from ..models import Mark, Person, Presence, Session
from ..security import RECORD_TEXTS, erased_names, scrub_audit
from ..store import StoreError
from .files import UNCHANGED

TABLES = ("meta", "people", "sessions", "checkins", "marks", "audit", "presence")

Doc = dict[str, Any]  # one stored record, as read from the file
Table = dict[str, Doc]  # doc id -> record
Document = dict[str, Table]  # table name -> table
Op = list[Any]  # [kind, *args]: one change, as journaled
PresenceKey = tuple[str | None, str | None, str]  # (person, day, station) as the record says

T = TypeVar("T")


class Tables:
    """The tables of the document and the indexes over them.

    Uses of the store: path, _doc (the document), and the indexes built by `_index`.
    """

    path: Path
    _doc: Document

    # -- indexing

    def _index(self) -> None:
        self._people: dict[str, str] = {}  # person id -> doc id
        self._checkins: dict[int, dict[str, str]] = {}  # session -> person -> doc id
        self._marks: dict[int, list[str]] = {}
        self._audit_ids: set[str | None] = set()
        self._seen: set[str] = set()  # check-in doc ids whose last_seen moved since the last fold
        self._next_ids: dict[str, int] = {}  # next TinyDB doc id per table
        self._presence: dict[PresenceKey, str] = {}  # (person, day, station) -> doc id
        for doc_id, doc in self._table("presence").items():
            person, day = (self._field(doc, key, str, "presence", doc_id) for key in ("person_id", "day"))
            self._presence[(person, day, doc.get("station") or "")] = doc_id
        for doc_id, doc in self._table("people").items():
            self._people[self._field(doc, "id", str, "people", doc_id)] = doc_id
        for doc_id, doc in self._table("sessions").items():
            self._field(doc, "name", str, "sessions", doc_id)
        for doc_id, doc in self._table("checkins").items():
            session = self._field(doc, "session_id", int, "checkins", doc_id)
            self._field(doc, "id", str, "checkins", doc_id)
            self._checkins.setdefault(session, {})[self._field(doc, "person_id", str, "checkins", doc_id)] = doc_id
        for doc_id, doc in self._table("marks").items():
            mark = self._parse(Mark.from_doc, "marks", doc_id, doc)  # few, and read by key where reports add up
            self._marks.setdefault(mark.session_id, []).append(doc_id)
        for doc_id, doc in self._table("audit").items():
            if doc.get("id") is not None:
                self._audit_ids.add(self._field(doc, "id", str, "audit", doc_id))

    def _field(self, doc: Doc, key: str, kind: type[T], table: str, doc_id: str) -> T:
        value = doc.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise StoreError(f"attendance log {self.path}: {table} record {doc_id} has no valid {key}; {UNCHANGED}")
        return value

    def _parse(self, parse: Callable[[Doc], T], table: str, doc_id: str, doc: Doc) -> T:
        try:
            return parse(doc)
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise StoreError(f"attendance log {self.path}: {table} record {doc_id} is malformed ({exc})") from exc

    # -- applying ops (also when replaying the journal)

    def _apply(self, op: Op) -> None:
        kind, *args = op
        APPLY[kind](self, *args)

    def _put_person(self, doc: Doc) -> None:
        doc_id = self._people.get(doc["id"]) or self._new_doc_id("people")
        self._people[doc["id"]] = doc_id
        self._table("people")[doc_id] = doc

    def _rekey_person(self, old: str, new: str) -> None:
        doc_id = self._people.pop(old, None)
        if doc_id is None:
            return
        self._table("people")[doc_id]["id"] = new
        self._people[new] = doc_id
        for people in self._checkins.values():
            if old in people:
                people[new] = people.pop(old)
                self._table("checkins")[people[new]]["person_id"] = new
        for ids in self._marks.values():
            for mark_id in ids:
                mark = self._table("marks")[mark_id]
                if mark["person_id"] == old:
                    mark["person_id"] = new
        for session in self._table("sessions").values():
            session["expected"] = [new if p == old else p for p in session.get("expected", [])]
        for key in [k for k in self._presence if k[0] == old]:
            doc_id = self._presence.pop(key)
            self._table("presence")[doc_id]["person_id"] = new
            self._presence[(new, *key[1:])] = doc_id

    def _erase_person(self, person_id: str, token: str | None = None) -> None:
        doc_id = self._people.pop(person_id, None)
        if doc_id is not None:
            doc = self._table("people").pop(doc_id)
            if token is not None:
                self._scrub_audit(Person.from_doc(doc), token)
        for people in self._checkins.values():
            gone = people.pop(person_id, None)
            if gone is not None:
                del self._table("checkins")[gone]
        marks = self._table("marks")
        for session_id, ids in self._marks.items():
            mine = [i for i in ids if marks[i]["person_id"] == person_id]
            for mark_id in mine:
                del marks[mark_id]
            self._marks[session_id] = [i for i in ids if i not in mine]
        for session in self._table("sessions").values():
            if person_id in session.get("expected", []):
                session["expected"] = [p for p in session["expected"] if p != person_id]
        for key in [k for k in self._presence if k[0] == person_id]:
            del self._table("presence")[self._presence.pop(key)]

    def _scrub_audit(self, person: Person, token: str) -> None:
        """The audit entries and other people's records that name an erased person, with `token` instead."""
        audit = self._table("audit")
        rows = [(i, doc.get("details") or {}) for i, doc in audit.items()]
        others = [str(doc.get("name", "")) for doc in self._table("people").values()]
        names = erased_names(person, (details for _, details in rows), others)
        for doc_id, details in scrub_audit(rows, person, token, names).items():
            audit[doc_id]["details"] = details
        if names.pattern is None:
            return
        for table, keys in RECORD_TEXTS.items():
            for doc in self._table(table).values():
                for key in keys:
                    if isinstance(doc.get(key), str):
                        doc[key] = names.sub(token, doc[key])

    def _put_session(self, doc: Doc) -> None:
        self._table("sessions").setdefault(str(doc["id"]), doc)

    def _set_session(self, session_id: int, changes: Doc) -> None:
        doc = self._table("sessions").get(str(session_id))
        if doc is None:
            return
        doc.update(changes)
        if "late_after_minutes" in changes:  # lateness follows the new deadline, from the stored times
            session = Session.from_doc(doc)
            for doc_id in self._checkins.get(session_id, {}).values():
                checkin = self._table("checkins")[doc_id]
                when = from_iso(checkin["time"])
                checkin["late"] = when is not None and session.is_late(when)

    def _end_session(self, session_id: int, ended_at: str) -> None:
        doc = self._table("sessions").get(str(session_id))
        if doc is not None:
            doc["ended_at"] = ended_at

    def _expect(self, session_id: int, person_ids: list[str]) -> None:
        doc = self._table("sessions").get(str(session_id))
        if doc is not None:
            expected = doc.setdefault("expected", [])
            expected.extend(p for p in person_ids if p not in expected)

    def _put_checkin(self, doc: Doc) -> None:
        people = self._checkins.setdefault(doc["session_id"], {})
        if doc["person_id"] not in people:
            doc_id = self._new_doc_id("checkins")
            self._table("checkins")[doc_id] = doc
            people[doc["person_id"]] = doc_id

    def _put_mark(self, doc: Doc) -> None:
        ids = self._marks.setdefault(doc["session_id"], [])
        if not any(self._table("marks")[i]["id"] == doc["id"] for i in ids):
            doc_id = self._new_doc_id("marks")
            self._table("marks")[doc_id] = doc
            ids.append(doc_id)

    def _put_audit(self, doc: Doc) -> None:
        if doc["id"] not in self._audit_ids:
            self._table("audit")[self._new_doc_id("audit")] = doc
            self._audit_ids.add(doc["id"])

    def _put_presence(self, doc: Doc) -> None:
        key = (doc["person_id"], doc["day"], doc.get("station") or "")
        known = self._presence.get(key)
        if known is None:
            self._presence[key] = doc_id = self._new_doc_id("presence")
            self._table("presence")[doc_id] = doc
            return
        merged = Presence.from_doc(self._table("presence")[known]).merged(Presence.from_doc(doc))
        self._table("presence")[known] = merged.to_doc()

    def _put_setting(self, key: str, value: Any) -> None:
        settings = self._meta().setdefault("settings", {})
        if value is None:
            settings.pop(key, None)
        else:
            settings[key] = value

    def _new_doc_id(self, table: str) -> str:
        counters = self._next_ids
        if table not in counters:
            counters[table] = max((int(k) for k in self._table(table)), default=0) + 1
        doc_id = counters[table]
        counters[table] += 1
        return str(doc_id)

    def _table(self, name: str) -> Table:
        return self._doc[name]

    def _meta(self) -> Doc:
        return next(iter(self._table("meta").values()))


APPLY: dict[str, Callable[..., None]] = {
    "person": Tables._put_person,
    "rekey": Tables._rekey_person,
    "erase": Tables._erase_person,
    "session": Tables._put_session,
    "end": Tables._end_session,
    "session-set": Tables._set_session,
    "expect": Tables._expect,
    "checkin": Tables._put_checkin,
    "mark": Tables._put_mark,
    "audit": Tables._put_audit,
    "setting": Tables._put_setting,
    "presence": Tables._put_presence,
}
