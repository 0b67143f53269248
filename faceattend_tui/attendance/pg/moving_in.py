"""Moving in: a whole log copied into an empty database, keeping its ids."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from ..common import aware
from ..models import Session, plural
from ..staff import ACCOUNTS_SETTING
from ..store import Store, StoreError
from .rows import (
    INSERT_AUDIT,
    INSERT_CHECKIN,
    INSERT_MARK,
    UPSERT_PRESENCE,
    audit_values,
    checkin_values,
    insert_expected,
    mark_values,
    presence_values,
    the_row,
)

if TYPE_CHECKING:
    import contextlib
    import threading
    from collections.abc import Iterator

    import psycopg

    from ..models import Person

INSERTED_TOGETHER = 1000  # rows sent in one round trip
T = TypeVar("T")
# What an import writes; other writers wait until it commits (readers do not).
IMPORTED_TABLES = ("people", "person_groups", "past_groups", "sessions", "expected", "checkins", "marks", "audit",
                   "settings", "presence")
COUNTED = ("people", "person_groups", "past_groups", "sessions", "expected", "checkins", "marks", "audit", "settings",
           "template_sets", "templates", "presence")


class MovingIn:
    """Row counts and the import. Uses of the store: masked, _local, batch and the other queries."""

    masked: str
    _local: threading.local

    if TYPE_CHECKING:
        @contextlib.contextmanager
        def _tx(self) -> Iterator[psycopg.Connection]: ...
        @contextlib.contextmanager
        def batch(self) -> Iterator[None]: ...
        def save_people(self, people: list[Person], new: Collection[str] | None = None) -> None: ...
        def set_setting(self, key: str, value: Any) -> None: ...
        def get_setting(self, key: str, default: Any = None) -> Any: ...
        def _answered(self) -> None: ...

    def counts(self) -> dict[str, int]:
        """Rows in each table."""
        with self._tx() as conn:
            return {t: int(the_row(conn.execute(f"select count(*) from {t}"))[0]) for t in COUNTED}

    def import_log(self, source: Store) -> tuple[dict[str, int], dict[str, int]]:
        """Copy another log (people, groups and past groups, sessions, rosters, check-ins, marks, audit,
        settings), keeping its ids.

        One transaction: all of it or nothing, and no other writer meanwhile (a door that writes waits for
        it). Returns how many records were left out because they name someone no longer in the log, and
        the rows of each table it wrote as it commits.
        """
        left_out = {"expected": 0, "checkins": 0, "marks": 0}
        with self.batch():
            self._local.conn.execute(f"lock table {', '.join(IMPORTED_TABLES)} in exclusive mode")
            self._refuse_a_full_database(source)
            audited = self.counts()["audit"]  # a door that opened the empty database first audited that
            people = source.people()
            self.save_people(people)
            known = {p.id for p in people}
            for session in source.sessions():
                self._import_session(source, session, known, left_out)
                self._answered()  # a term's log takes minutes, each session a moment
            self._local.conn.execute("select setval(pg_get_serial_sequence('sessions', 'id'), "
                                     "greatest((select max(id) from sessions), 1))")
            sightings = source.presence(date.min, date.max)
            kept = [p for p in sightings if p.person_id in known]
            left_out["presence"] = len(sightings) - len(kept)
            self._answered()  # reading the source's sightings took its time too
            self._insert_many(UPSERT_PRESENCE, kept, presence_values)
            entries = source.audit_log()
            self._answered()
            self._insert_many(INSERT_AUDIT, entries, audit_values)
            for key, value in source.all_settings().items():
                self.set_setting(key, value)
            found = self.counts()
            found["audit"] -= audited
            return left_out, found

    def _refuse_a_full_database(self, source: Store) -> None:
        held = self.counts()
        if held["people"] or held["sessions"]:
            there = f"{plural(held['people'], 'person', 'people')} and {plural(held['sessions'], 'session')}"
            this_log = held["people"] == len(source.people()) and held["sessions"] == len(source.sessions())
            cut = ("" if held.get("templates") and not this_log else
                   "; an import of this log cut short after its records (it holds as many people and sessions) is "
                   "finished by renaming the source's attendance.json to attendance.json.imported.bak and starting "
                   "its door on the database once: it sends its templates")
            raise StoreError(f"the database {self.masked} already holds {there}; import into an empty database{cut}")
        if source.get_setting(ACCOUNTS_SETTING) and self.get_setting(ACCOUNTS_SETTING):  # the log's would replace them
            raise StoreError(f"the database {self.masked} already holds staff accounts; import into an empty "
                             "database (the log's own accounts come with it)")

    def _import_session(self, source: Store, session: Session, known: set[str], left_out: dict[str, int]) -> None:
        """One session with its list, check-ins and marks (of people still in the log)."""
        conn = self._local.conn
        conn.execute("insert into sessions (id, name, started_at, ended_at, late_after_minutes, station, "
                     "group_name, voided_at, voided_by, void_reason) "
                     "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                     [session.id, session.name, aware(session.started_at), session.ended_at,
                      session.late_after_minutes, session.station, session.group, session.voided_at,
                      session.voided_by, session.void_reason])
        expected = [p for p in session.expected if p in known]
        left_out["expected"] += len(session.expected) - len(expected)
        insert_expected(conn, session.id, expected)
        all_checkins, all_marks = source.checkins(session.id), source.marks(session.id)
        checkins = [c for c in all_checkins if c.person_id in known]
        marks = [m for m in all_marks if m.person_id in known]
        left_out["checkins"] += len(all_checkins) - len(checkins)
        left_out["marks"] += len(all_marks) - len(marks)
        self._insert_many(INSERT_CHECKIN, checkins, checkin_values)
        self._insert_many(INSERT_MARK, marks, mark_values)

    def _insert_many(self, query: str, records: Sequence[T], values: Callable[[T], list[Any]]) -> None:
        """The records' rows, INSERTED_TOGETHER in one round trip, in the log's order."""
        for start in range(0, len(records), INSERTED_TOGETHER):
            rows = [values(record) for record in records[start:start + INSERTED_TOGETHER]]
            with self._local.conn.cursor() as cursor:
                cursor.executemany(query, rows)
            self._answered()
