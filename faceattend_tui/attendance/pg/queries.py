"""Queries on people, sessions, settings, audit and presence (check-ins and marks are in `checkins`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.types.json import Jsonb

from ..common import aware
from ..models import AuditEntry, Person, Presence, Session, with_past_groups
from ..security import RECORD_TEXTS, Names, erased_names, scrub_audit
from ..store import ConflictError, EndedElsewhere, NotFoundError, refuse_changed_meanwhile
from .rows import (
    INSERT_AUDIT,
    SELECT_PERSON,
    SELECT_SESSION,
    audit_values,
    insert_expected,
    local,
    person_of,
    save_past_groups,
    session_of,
    the_row,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from datetime import tzinfo

EDITABLE = {"name": "name", "group": "group_name", "late_after_minutes": "late_after_minutes",
            "voided_at": "voided_at", "voided_by": "voided_by", "void_reason": "void_reason"}


class PeopleQueries:
    """People and their groups. Uses of the store: zone, now, _tx, _forget_cache."""

    zone: tzinfo | None

    if TYPE_CHECKING:
        @contextlib.contextmanager
        def _tx(self) -> Iterator[psycopg.Connection]: ...
        def _forget_cache(self) -> None: ...
        def now(self) -> datetime: ...

    def people(self) -> list[Person]:
        with self._tx() as conn:
            return [person_of(row, self.zone) for row in conn.execute(SELECT_PERSON).fetchall()]

    def person(self, person_id: str) -> Person | None:
        with self._tx() as conn:
            row = conn.execute(SELECT_PERSON + " where p.id = %s", [person_id]).fetchone()
        return None if row is None else person_of(row, self.zone)

    def hold_person(self, person_id: str) -> bool:
        with self._tx() as conn:  # the lock a check-in's or a mark's reference to them takes
            return conn.execute("select 1 from people where id = %s for key share", [person_id]).fetchone() is not None

    def save_person(self, person: Person) -> None:
        self.save_people([person])

    def save_people(self, people: list[Person], new: Collection[str] | None = None) -> None:
        if not people:
            return
        with self._tx() as conn, conn.cursor() as cur:
            # the stored people, locked (in one order) until this commits: another station's change is kept
            stored = {row[0]: person_of(row, self.zone) for row in conn.execute(
                SELECT_PERSON + " where p.id = any(%s) order by p.id for update of p", [[p.id for p in people]])}
            refuse_changed_meanwhile(people, new, stored)
            now = self.now()
            people = [with_past_groups(p, stored.get(p.id), now) for p in people]
            cur.executemany(
                "insert into people (id, name, created, folder, state, left_at, images) values (%s, %s, %s, %s, %s, "
                "%s, %s) on conflict (id) do update set name = excluded.name, created = excluded.created, "
                "folder = excluded.folder, state = excluded.state, left_at = excluded.left_at, "
                "images = excluded.images",
                [(p.id, p.name, aware(p.created), p.folder, p.state, p.left_at, p.images) for p in people])
            cur.execute("delete from person_groups where person_id = any(%s)", [[p.id for p in people]])
            groups = [(p.id, name, i) for p in people for i, name in enumerate(p.groups)]
            if groups:
                cur.executemany("insert into person_groups (person_id, name, position) values (%s, %s, %s)", groups)
            save_past_groups(cur, people)

    def change_person_id(self, old: str, new: str) -> None:
        with self._tx() as conn:
            taken = conn.execute("select name from people where id = %s", [new]).fetchone()
            if taken is not None:
                raise ValueError(f"id {new!r} is taken by {taken[0]}")
            if conn.execute("update people set id = %s where id = %s", [new, old]).rowcount == 0:
                raise NotFoundError(f"no person with id {old!r}")
        self._forget_cache()

    def erase_person(self, person_id: str, token: str | None = None) -> int:
        with self._tx() as conn:  # their row locked first: a write about them made meanwhile waits, then fails
            row = conn.execute(SELECT_PERSON + " where p.id = %s for update of p", [person_id]).fetchone()
            records = conn.execute("select (select count(*) from checkins where person_id = %s) + "
                                   "(select count(*) from marks where person_id = %s) + "
                                   "(select count(*) from presence where person_id = %s)", [person_id] * 3)
            count = int(the_row(records)[0])
            if token is not None and row is not None:
                _scrub_audit(conn, person_of(row), token)
            conn.execute("delete from people where id = %s", [person_id])
        self._forget_cache()
        return count


def _scrub_audit(conn: psycopg.Connection, person: Person, token: str) -> None:
    """Rewrite the audit entries and other people's records that name an erased person (see
    security.scrub_audit and RECORD_TEXTS)."""
    rows = [(i, dict(d or {})) for i, d in conn.execute("select id, details from audit").fetchall()]
    others = [name for (name,) in conn.execute("select name from people where id <> %s", [person.id]).fetchall()]
    names = erased_names(person, (details for _, details in rows), others)
    changed = scrub_audit(rows, person, token, names)
    with conn.cursor() as cur:
        if changed:
            cur.executemany("update audit set details = %s where id = %s",
                            [(Jsonb(details), i) for i, details in changed.items()])
        if names.pattern is not None:
            _scrub_texts(conn, cur, names, token)


def _scrub_texts(conn: psycopg.Connection, cur: psycopg.Cursor, pattern: Names, token: str) -> None:
    """Other people's records that name an erased person (security.RECORD_TEXTS), with `token` instead."""
    for table, keys in RECORD_TEXTS.items():
        for key in keys:
            texts = conn.execute(f"select id, {key} from {table} where {key} is not null").fetchall()  # noqa: S608
            cur.executemany(f"update {table} set {key} = %s where id = %s",  # noqa: S608 - fixed names above
                            [(new, i) for i, text in texts if (new := pattern.sub(token, text)) != text])


class SessionQueries:
    """Sessions and who is expected at them. Uses of the store: zone, _tx, _forget_cache, _flush_seen_quietly."""

    zone: tzinfo | None

    if TYPE_CHECKING:
        @contextlib.contextmanager
        def _tx(self) -> Iterator[psycopg.Connection]: ...
        def _forget_cache(self) -> None: ...
        def _flush_seen_quietly(self) -> None: ...

    def create_session(self, session: Session) -> Session:
        session.started_at = aware(session.started_at)
        with self._tx() as conn:
            row = the_row(conn.execute("insert into sessions (name, started_at, ended_at, late_after_minutes, "
                                       "station, group_name) values (%s, %s, %s, %s, %s, %s) returning id",
                                       [session.name, session.started_at, session.ended_at,
                                        session.late_after_minutes, session.station, session.group]))
            session.id = int(row[0])
            insert_expected(conn, session.id, session.expected)
        return session

    def end_session(self, session_id: int, ended_at: datetime) -> Session:
        with self._tx() as conn:
            # two doors stopping one session at once: the first stop stands, the second writes nothing
            if conn.execute("update sessions set ended_at = %s where id = %s and ended_at is null",
                            [aware(ended_at), session_id]).rowcount == 0:
                found = conn.execute("select name from sessions where id = %s", [session_id]).fetchone()
                if found is None:
                    raise NotFoundError(f"no session with id {session_id}")
                raise EndedElsewhere(f"session {found[0]!r} was stopped at another station a moment ago")
        self._flush_seen_quietly()
        return self._existing_session(session_id)

    def update_session(self, session_id: int, changes: dict, expected: list[str] | None = None) -> Session:
        columns = {EDITABLE[k]: (aware(v) if isinstance(v, datetime) else v) for k, v in changes.items()}
        with self._tx() as conn:
            if columns:
                assignments = ", ".join(f"{c} = %s" for c in columns)
                if conn.execute(f"update sessions set {assignments} where id = %s",  # noqa: S608 (fixed names)
                                [*columns.values(), session_id]).rowcount == 0:
                    raise NotFoundError(f"no session with id {session_id}")
            if "late_after_minutes" in changes:  # lateness follows the new deadline, from the stored times
                conn.execute("update checkins c set late = coalesce(c.time > s.started_at + s.late_after_minutes "
                             "* interval '1 minute', false) from sessions s where s.id = c.session_id "
                             "and c.session_id = %s", [session_id])
            if expected is not None:
                conn.execute("delete from expected where session_id = %s", [session_id])
                insert_expected(conn, session_id, list(dict.fromkeys(expected)))
        self._forget_cache()  # its check-ins may be late or not now
        return self._existing_session(session_id)

    def add_expected(self, session_id: int, person_ids: list[str]) -> list[str]:
        wanted = list(dict.fromkeys(person_ids))
        with self._tx() as conn:
            if conn.execute("select 1 from sessions where id = %s", [session_id]).fetchone() is None:
                raise NotFoundError(f"no session with id {session_id}")
            added = set(insert_expected(conn, session_id, wanted))
        return [p for p in wanted if p in added]

    def session(self, session_id: int) -> Session | None:
        with self._tx() as conn:
            row = conn.execute(SELECT_SESSION + " where s.id = %s", [session_id]).fetchone()
        return None if row is None else session_of(row, self.zone)

    def _existing_session(self, session_id: int) -> Session:
        found = self.session(session_id)
        if found is None:
            raise NotFoundError(f"no session with id {session_id}")
        return found

    def sessions(self) -> list[Session]:
        with self._tx() as conn:
            rows = conn.execute(SELECT_SESSION + " order by s.started_at, s.id").fetchall()
        return [session_of(row, self.zone) for row in rows]

    def open_sessions(self) -> list[Session]:
        with self._tx() as conn:
            rows = conn.execute(SELECT_SESSION + " where s.ended_at is null order by s.started_at, s.id").fetchall()
        return [session_of(row, self.zone) for row in rows]


class SettingQueries:
    """Settings, the audit log and work mode's presence. Uses of the store: zone, _tx."""

    zone: tzinfo | None

    if TYPE_CHECKING:
        @contextlib.contextmanager
        def _tx(self) -> Iterator[psycopg.Connection]: ...

    def get_setting(self, key: str, default: Any = None) -> Any:
        with self._tx() as conn:
            row = conn.execute("select value from settings where key = %s", [key]).fetchone()
        return default if row is None else row[0]

    def set_setting(self, key: str, value: Any) -> None:
        with self._tx() as conn:
            if value is None:
                conn.execute("delete from settings where key = %s", [key])
            else:
                conn.execute("insert into settings (key, value) values (%s, %s) "
                             "on conflict (key) do update set value = excluded.value", [key, Jsonb(value)])

    def all_settings(self) -> dict[str, Any]:
        with self._tx() as conn:
            return dict(conn.execute("select key, value from settings").fetchall())

    def exclusive(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()  # the database's row locks keep writers in turn

    def update_setting(self, key: str, change: Callable[[Any], Any]) -> Any:
        """Read, change and write a setting with its row locked: other stations' changes wait their turn."""
        with self._tx() as conn:
            conn.execute("insert into settings (key, value) values (%s, 'null'::jsonb) on conflict (key) do nothing",
                         [key])
            row = conn.execute("select value from settings where key = %s for update", [key]).fetchone()
            if row is None:  # removed by another station between the two statements
                raise ConflictError(f"another station removed the setting {key!r} meanwhile; try again")
            new = change(row[0])
            if new is None:
                conn.execute("delete from settings where key = %s", [key])
            else:
                conn.execute("update settings set value = %s where key = %s", [Jsonb(new), key])
        return new

    # -- audit

    def add_audit(self, entry: AuditEntry) -> None:
        with self._tx() as conn:
            conn.execute(INSERT_AUDIT, audit_values(entry))

    def audit_log(self) -> list[AuditEntry]:
        with self._tx() as conn:
            rows = conn.execute('select time, "user", action, details, id from audit '
                                "order by time, position").fetchall()
        return [AuditEntry(time=local(t, self.zone), user=u, action=a, details=dict(d or {}), id=i)
                for t, u, a, d, i in rows]

    # -- presence (work mode)

    def presence(self, date_from: date, date_to: date) -> list[Presence]:
        with self._tx() as conn:
            rows = conn.execute("select person_id, day, station, first_seen, last_seen from presence "
                                "where day between %s and %s order by day, person_id, station",
                                [date_from, date_to]).fetchall()
        return [Presence(p, d, st, local(f, self.zone), local(last, self.zone)) for p, d, st, f, last in rows]
