"""The attendance log in PostgreSQL, shared by the stations of several doors.

The rules that span stations live in the schema (`pgschema`): one check-in per person and
session, one running session. Stations learn of each other's writes by LISTEN/NOTIFY.

A station opens the store `live`: it then keeps the check-ins and marks of the sessions it reads
in memory (kept current by the notifications), so recognising a face reads nothing from the
database. A check-in is written by a writer thread that the caller waits for at most `wait`
seconds; when the database is slow or away, the check-in goes to a local journal instead
(JSON lines, fsynced) and a courier thread sends the journal, in order, once the database
answers again. Check-in ids are idempotency keys, so a check-in sent twice is stored once.
"Last seen" times are gathered in memory and written every half second.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as WaitedTooLong
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import conninfo
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from faceattend_tui.files import make_private_dir

from .common import Clock, aware, local_now
from .models import AuditEntry, Checkin, Mark, Person, Presence, Session, plural
from .pgschema import (
    CHANNEL,
    LATEST,
    application_name,
    current_version,
    mask_url,
    namesakes,
    other_versions,
    upgrade,
)
from .security import scrub_audit
from .store import Change, ConflictError, NotFoundError, OfflineError, Store, StoreError, StoreState
from .tinystore import append_line, read_lines

WAIT = 0.5  # seconds a check-in waits for the database before it goes to the local journal
CONNECT_TIMEOUT = 3  # seconds (libpq's connect_timeout) unless the URL says otherwise
JOURNAL_NAME = "attendance.pg-journal"
CACHED_SESSIONS = 4
SEND_BATCH = 200
TICK = 0.25  # seconds between the courier's rounds
STATEMENT_TIMEOUT = 15.0  # seconds

UPGRADE_REFUSE, UPGRADE_FORCE = "refuse", "force"  # any other mode ("auto") upgrades when no other version is connected

for _name in ("psycopg", "psycopg.pool"):  # the pool reports reconnection attempts; the station shows its own line
    logging.getLogger(_name).addHandler(logging.NullHandler())
    logging.getLogger(_name).propagate = False


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# ----- the local journal of check-ins that wait for the database -------------------------------------


class Outbox:
    """Check-ins not yet in the database: in memory, in order, and in a fsynced file that survives a restart."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.lock = threading.Lock()
        self.entries: deque[dict] = deque(doc for doc in read_lines(self.path, "journal")
                                          if isinstance(doc.get("id"), str))

    @property
    def waiting(self) -> int:
        return len(self.entries)

    def add(self, doc: dict) -> None:
        with self.lock:
            try:
                make_private_dir(self.path.parent)
                append_line(self.path, doc)
            except OSError as exc:
                raise StoreError(f"could not write to {self.path}: {exc.strerror or exc}") from exc
            self.entries.append(doc)

    def peek(self, count: int) -> list[dict]:
        with self.lock:
            return [self.entries[i] for i in range(min(count, len(self.entries)))]

    def done(self, count: int) -> None:
        """The first `count` entries are in the database; the file goes once all are."""
        with self.lock:
            for _ in range(min(count, len(self.entries))):
                self.entries.popleft()
            if not self.entries:
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()

    def for_session(self, session_id: int) -> list[dict]:
        with self.lock:
            return [doc for doc in self.entries if doc.get("session_id") == session_id]


@dataclass(frozen=True)
class TemplateSet:
    """A folder's templates as the database holds them: who made them, and the hash of the set."""

    folder: str
    recognizer: str
    recognizer_sha256: str
    dim: int
    npy_sha256: str  # as the station that stored them computed it; changes whenever the set does
    station: str | None = None


@dataclass(frozen=True)
class TemplateRow:
    embedding: bytes  # dim float32 values, little-endian
    image: str = ""
    photo_sha256: str = ""
    source: str = ""


@dataclass
class Cached:
    """A session's check-ins (by person) and marks (oldest first), as the station last learnt them."""

    checkins: dict[str, Checkin] = field(default_factory=dict)
    marks: list[Mark] = field(default_factory=list)


# ----- the store ---------------------------------------------------------------------------------------------


class PgStore(Store):
    def __init__(self, url: str, *, clock: Clock | None = None, station: str = "", live: bool = False,
                 journal: Path | None = None, wait: float = WAIT, upgrade_mode: str = UPGRADE_REFUSE):
        self.url = url
        self.masked = mask_url(url)
        self.station = station
        self.live = live
        self.wait = wait
        self._clock = clock or local_now
        self.zone = None if clock is None else clock().tzinfo  # times are read back in the clock's zone
        self._local = threading.local()
        self._kwargs = self._connect_kwargs()
        self._closed = False
        self._online, self._note = True, ""
        self._lock = threading.RLock()  # the cache, the sightings and the online state
        self._cache: dict[int, Cached] = {}
        self._seen: dict[tuple[int, str], datetime] = {}
        self._mine: set[str] = set()  # ids of check-ins this station wrote (their notifications are not news)
        self._changes: deque[Change] = deque()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._writer: ThreadPoolExecutor | None = None
        self.outbox = Outbox(journal) if journal is not None else None
        with self._direct() as conn:
            self._check_schema(conn, upgrade_mode)
            # before this store's own pool and listener connect, so those are not counted
            self._namesakes = namesakes(conn, station) if live and station else 0
        self._pool = self._open_pool()
        if live:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="faceattend-db-writer")
            self._start(self._listen, "faceattend-db-listener")
            self._start(self._courier, "faceattend-db-courier")

    # -- connections

    def _connect_kwargs(self) -> dict:
        try:
            given = conninfo.conninfo_to_dict(self.url)
        except psycopg.Error:
            raise StoreError(f"database URL {self.masked} cannot be read; expected postgresql://user@host/db") from None
        kwargs: dict[str, Any] = {"application_name": application_name(self.station or "command")}
        if "connect_timeout" not in given:
            kwargs["connect_timeout"] = CONNECT_TIMEOUT
        return kwargs

    @contextlib.contextmanager
    def _direct(self) -> Iterator[psycopg.Connection]:
        """One connection outside the pool (schema checks, the listener, probes)."""
        try:
            conn = psycopg.connect(self.url, autocommit=True, **self._kwargs)
        except psycopg.Error as exc:
            raise OfflineError(f"cannot reach the database {self.masked}: {first_line(exc)}") from None
        with conn:
            yield conn

    def _open_pool(self) -> ConnectionPool:
        pool = ConnectionPool(self.url, min_size=1, max_size=4, kwargs={"autocommit": True, **self._kwargs},
                              open=False, check=ConnectionPool.check_connection, reconnect_timeout=30,
                              name="faceattend", configure=_configure)
        try:
            pool.open(wait=True, timeout=CONNECT_TIMEOUT + 2)
        except PoolTimeout:
            pool.close(timeout=0)
            raise OfflineError(f"cannot reach the database {self.masked}") from None
        return pool

    @contextlib.contextmanager
    def _tx(self) -> Iterator[psycopg.Connection]:
        """A connection inside a transaction: the batch's, or a new one."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            yield conn
            return
        if self._closed:
            raise StoreError(f"the database connection to {self.masked} is closed")
        try:
            with self._pool.connection(timeout=self.wait * 4) as conn, conn.transaction():
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            self._went_offline(first_line(exc))
            raise OfflineError(f"the database {self.masked} cannot be reached: {first_line(exc)}") from None
        except psycopg.errors.UniqueViolation as exc:
            raise ConflictError(self._conflict(exc)) from None
        except psycopg.Error as exc:
            raise StoreError(f"database {self.masked}: {first_line(exc)}") from None

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        if getattr(self._local, "conn", None) is not None:
            yield
            return
        with self._tx() as conn:
            self._local.conn = conn
            try:
                yield
            finally:
                self._local.conn = None

    def _conflict(self, exc: psycopg.errors.UniqueViolation) -> str:
        constraint = getattr(exc.diag, "constraint_name", "") or ""
        if constraint == "sessions_one_running":
            return "another station has started a session; it is shown here in a moment"
        if constraint == "people_folder":
            return "another station has just enrolled this person; try again"
        return f"database {self.masked}: {first_line(exc)}"

    # -- the schema

    def _check_schema(self, conn: psycopg.Connection, mode: str) -> None:
        version = current_version(conn)
        if version > LATEST:
            raise StoreError(f"the database {self.masked} has schema version {version}, newer than this program "
                             f"understands ({LATEST}); update faceattend on this station")
        if version == LATEST:
            return
        if mode == UPGRADE_REFUSE:
            raise StoreError(f"the database {self.masked} has schema version {version}, this program needs "
                             f"{LATEST}: run `faceattend db upgrade`")
        others = other_versions(conn)
        if others and mode != UPGRADE_FORCE:
            names = ", ".join(f"{name or '?'} (schema {v})" for v, name in others[:5])
            raise StoreError(f"the database {self.masked} needs an upgrade from schema {version} to {LATEST}, but "
                             f"stations of another version are connected: {names}; stop them, then run "
                             "`faceattend db upgrade`")
        upgrade(conn, note=f"by {self.station or 'faceattend'}")

    @property
    def schema_version(self) -> int:
        with self._tx() as conn:
            return current_version(conn)

    # -- life cycle

    def now(self) -> datetime:
        return self._clock()

    def close(self) -> None:
        if self._closed:
            return
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=5)
        if self._writer is not None:
            self._writer.shutdown(wait=False, cancel_futures=True)
        self._flush_seen_quietly()
        self._closed = True
        self._pool.close(timeout=2)

    def _start(self, target, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # -- state and changes

    def state(self) -> StoreState:
        waiting = self.outbox.waiting if self.outbox is not None else 0
        with self._lock:
            return StoreState(self._online, waiting, self._note)

    def changes(self) -> list[Change]:
        out = []
        while self._changes:
            out.append(self._changes.popleft())
        return out

    def namesakes(self) -> int:
        return self._namesakes

    def _went_offline(self, why: str) -> None:
        with self._lock:
            self._online, self._note = False, why
        self._wake.set()

    # -- settings

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

    def exclusive(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()  # the database's row locks keep writers in turn

    def update_setting(self, key: str, change: Callable[[Any], Any]) -> Any:
        """Read, change and write a setting with its row locked: other stations' changes wait their turn."""
        with self._tx() as conn:
            conn.execute("insert into settings (key, value) values (%s, 'null'::jsonb) on conflict (key) do nothing",
                         [key])
            old = conn.execute("select value from settings where key = %s for update", [key]).fetchone()[0]
            new = change(old)
            if new is None:
                conn.execute("delete from settings where key = %s", [key])
            else:
                conn.execute("update settings set value = %s where key = %s", [Jsonb(new), key])
        return new

    # -- people

    PERSON = ("select p.id, p.name, p.created, p.folder, p.state, p.left_at, p.images, "
              "array(select g.name from person_groups g where g.person_id = p.id order by g.position) from people p")

    def people(self) -> list[Person]:
        with self._tx() as conn:
            return [_person(row, self.zone) for row in conn.execute(self.PERSON).fetchall()]

    def person(self, person_id: str) -> Person | None:
        with self._tx() as conn:
            row = conn.execute(self.PERSON + " where p.id = %s", [person_id]).fetchone()
        return None if row is None else _person(row, self.zone)

    def save_person(self, person: Person) -> None:
        self.save_people([person])

    def save_people(self, people: list[Person]) -> None:
        if not people:
            return
        with self._tx() as conn, conn.cursor() as cur:
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

    def change_person_id(self, old: str, new: str) -> None:
        with self._tx() as conn:
            taken = conn.execute("select name from people where id = %s", [new]).fetchone()
            if taken is not None:
                raise ValueError(f"id {new!r} is taken by {taken[0]}")
            if conn.execute("update people set id = %s where id = %s", [new, old]).rowcount == 0:
                raise NotFoundError(f"no person with id {old!r}")
        self._forget_cache()

    def erase_person(self, person_id: str, token: str | None = None) -> int:
        with self._tx() as conn:
            records = conn.execute("select (select count(*) from checkins where person_id = %s) + "
                                   "(select count(*) from marks where person_id = %s)", [person_id, person_id])
            count = int(records.fetchone()[0])
            row = conn.execute(self.PERSON + " where p.id = %s", [person_id]).fetchone()
            if token is not None and row is not None:
                _scrub_audit(conn, _person(row), token)
            conn.execute("delete from people where id = %s", [person_id])
        self._forget_cache()
        return count

    # -- sessions

    SESSION = ("select s.id, s.name, s.started_at, s.ended_at, s.late_after_minutes, s.station, s.group_name, "
               "array(select e.person_id from expected e where e.session_id = s.id order by e.position), "
               "s.voided_at, s.voided_by, s.void_reason from sessions s")
    EDITABLE = {"name": "name", "group": "group_name", "late_after_minutes": "late_after_minutes",
                "voided_at": "voided_at", "voided_by": "voided_by", "void_reason": "void_reason"}

    def create_session(self, session: Session) -> Session:
        session.started_at = aware(session.started_at)
        with self._tx() as conn:
            row = conn.execute("insert into sessions (name, started_at, ended_at, late_after_minutes, station, "
                               "group_name) values (%s, %s, %s, %s, %s, %s) returning id",
                               [session.name, session.started_at, session.ended_at, session.late_after_minutes,
                                session.station, session.group]).fetchone()
            session.id = int(row[0])
            _insert_expected(conn, session.id, session.expected)
        return session

    def end_session(self, session_id: int, ended_at: datetime) -> Session:
        with self._tx() as conn:
            if conn.execute("update sessions set ended_at = %s where id = %s",
                            [aware(ended_at), session_id]).rowcount == 0:
                raise NotFoundError(f"no session with id {session_id}")
        self._flush_seen_quietly()
        return self.session(session_id)

    def update_session(self, session_id: int, changes: dict, expected: list[str] | None = None) -> Session:
        columns = {self.EDITABLE[k]: (aware(v) if isinstance(v, datetime) else v) for k, v in changes.items()}
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
                _insert_expected(conn, session_id, list(dict.fromkeys(expected)))
        self._forget_cache()  # its check-ins may be late or not now
        return self.session(session_id)

    def add_expected(self, session_id: int, person_ids: list[str]) -> list[str]:
        wanted = list(dict.fromkeys(person_ids))
        with self._tx() as conn:
            if conn.execute("select 1 from sessions where id = %s", [session_id]).fetchone() is None:
                raise NotFoundError(f"no session with id {session_id}")
            added = set(_insert_expected(conn, session_id, wanted))
        return [p for p in wanted if p in added]

    def session(self, session_id: int) -> Session | None:
        with self._tx() as conn:
            row = conn.execute(self.SESSION + " where s.id = %s", [session_id]).fetchone()
        return None if row is None else _session(row, self.zone)

    def sessions(self) -> list[Session]:
        with self._tx() as conn:
            rows = conn.execute(self.SESSION + " order by s.started_at, s.id").fetchall()
        return [_session(row, self.zone) for row in rows]

    def open_sessions(self) -> list[Session]:
        with self._tx() as conn:
            rows = conn.execute(self.SESSION + " where s.ended_at is null order by s.started_at, s.id").fetchall()
        return [_session(row, self.zone) for row in rows]

    # -- presence (work mode)

    def see(self, presence: Presence) -> None:
        with self._tx() as conn:
            conn.execute("insert into presence (person_id, day, station, first_seen, last_seen) "
                         "values (%s, %s, %s, %s, %s) on conflict (person_id, day, station) do update set "
                         "first_seen = least(presence.first_seen, excluded.first_seen), "
                         "last_seen = greatest(presence.last_seen, excluded.last_seen)",
                         [presence.person_id, presence.day, presence.station, aware(presence.first_seen),
                          aware(presence.last_seen)])

    def presence(self, date_from: date, date_to: date) -> list[Presence]:
        with self._tx() as conn:
            rows = conn.execute("select person_id, day, station, first_seen, last_seen from presence "
                                "where day between %s and %s order by day, person_id, station",
                                [date_from, date_to]).fetchall()
        return [Presence(p, d, st, _local(f, self.zone), _local(last, self.zone)) for p, d, st, f, last in rows]

    # -- check-ins

    CHECKIN = ("select id, session_id, person_id, time, similarity, track_id, late, station, last_seen, evidence "
               "from checkins")
    INSERT_CHECKIN = (
        "insert into checkins (id, session_id, person_id, time, similarity, track_id, late, station, last_seen, "
        "evidence) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        # the earliest sighting is the arrival, whichever door saw it and whenever it reached the database
        "on conflict (session_id, person_id) do update set id = excluded.id, time = excluded.time, "
        "similarity = excluded.similarity, track_id = excluded.track_id, late = excluded.late, "
        "station = excluded.station, evidence = excluded.evidence, "
        "last_seen = greatest(checkins.last_seen, excluded.last_seen) where excluded.time < checkins.time "
        "returning id")

    def record_checkin(self, checkin: Checkin) -> bool:
        if self._writer is None:
            with self._tx() as conn:
                return self._insert_checkin(conn, checkin)
        with self._lock:
            self._mine.add(checkin.id)
            known = self._cached(checkin.session_id, load=False)
            if known is not None and checkin.person_id in known.checkins:
                return False
        if self.outbox is not None and (self.outbox.waiting or not self._online):
            return self._keep(checkin)
        future = self._writer.submit(self._write_checkin, checkin)
        try:
            return future.result(timeout=self.wait)
        except WaitedTooLong:
            # The write may still land: the journal's copy has the same id, so sending it changes nothing then.
            self._went_offline(f"no answer within {self.wait:g} s")
        except OfflineError as exc:
            if self.outbox is None:
                raise
            self._went_offline(str(exc))
        if self.outbox is None:
            raise OfflineError(f"the database {self.masked} did not answer within {self.wait:g} s")
        return self._keep(checkin)

    def _write_checkin(self, checkin: Checkin) -> bool:
        with self._tx() as conn:
            if self._insert_checkin(conn, checkin):
                self._remember(checkin)
                return True
            row = conn.execute(self.CHECKIN + " where session_id = %s and person_id = %s",
                               [checkin.session_id, checkin.person_id]).fetchone()
        if row is not None:
            self._remember(_checkin(row, self.zone))
        return False

    def _insert_checkin(self, conn: psycopg.Connection, checkin: Checkin) -> bool:
        row = conn.execute(self.INSERT_CHECKIN, _checkin_values(checkin)).fetchone()
        return row is not None

    def _keep(self, checkin: Checkin) -> bool:
        """Into the local journal (durable) and the cache: shown now, sent when the database is back."""
        self.outbox.add(checkin.to_doc())
        self._remember(checkin)
        return True

    def touch(self, session_id: int, person_id: str, when: datetime) -> bool:
        when = aware(when)
        if not self.live:
            with self._tx() as conn:
                return conn.execute("update checkins set last_seen = greatest(last_seen, %s) where session_id = %s "
                                    "and person_id = %s", [when, session_id, person_id]).rowcount > 0
        with self._lock:
            known = self._cached(session_id).checkins.get(person_id)
            if known is None:
                return False
            if known.last_seen is None or known.last_seen < when:
                known.last_seen = when
                self._seen[(session_id, person_id)] = when
        return True

    def checkin(self, session_id: int, person_id: str) -> Checkin | None:
        if self.live:
            with self._lock:
                return self._cached(session_id).checkins.get(person_id)
        with self._tx() as conn:
            row = conn.execute(self.CHECKIN + " where session_id = %s and person_id = %s",
                               [session_id, person_id]).fetchone()
        return None if row is None else _checkin(row, self.zone)

    def checkins(self, session_id: int) -> list[Checkin]:
        if self.live:
            with self._lock:
                found = list(self._cached(session_id).checkins.values())
        else:
            found = self._read_checkins(session_id)
        return sorted(found, key=lambda c: (c.time, c.person_id))

    def _read_checkins(self, session_id: int) -> list[Checkin]:
        with self._tx() as conn:
            rows = conn.execute(self.CHECKIN + " where session_id = %s", [session_id]).fetchall()
        return [_checkin(row, self.zone) for row in rows]

    # -- marks

    MARK = "select session_id, person_id, status, reason, by, at, previous, id from marks"

    def add_mark(self, mark: Mark) -> None:
        with self._tx() as conn:
            conn.execute("insert into marks (id, session_id, person_id, status, reason, by, at, previous) values "
                         "(%s, %s, %s, %s, %s, %s, %s, %s) on conflict (id) do nothing",
                         [mark.id, mark.session_id, mark.person_id, mark.status, mark.reason, mark.by, aware(mark.at),
                          mark.previous])
        with self._lock:
            known = self._cache.get(mark.session_id)
            if known is not None and all(m.id != mark.id for m in known.marks):
                known.marks.append(mark)

    def marks(self, session_id: int) -> list[Mark]:
        if self.live:
            with self._lock:
                found = list(self._cached(session_id).marks)
        else:
            found = self._read_marks(session_id)
        return sorted(found, key=lambda m: m.at)

    def _read_marks(self, session_id: int) -> list[Mark]:
        with self._tx() as conn:
            rows = conn.execute(self.MARK + " where session_id = %s order by at, position", [session_id]).fetchall()
        return [_mark(row, self.zone) for row in rows]

    # -- audit

    def add_audit(self, entry: AuditEntry) -> None:
        with self._tx() as conn:
            conn.execute('insert into audit (id, time, "user", action, details) values (%s, %s, %s, %s, %s) '
                         "on conflict (id) do nothing",
                         [entry.id, aware(entry.time), entry.user, entry.action, Jsonb(entry.details)])

    def audit_log(self) -> list[AuditEntry]:
        with self._tx() as conn:
            rows = conn.execute('select time, "user", action, details, id from audit order by time, position')
            rows = rows.fetchall()
        return [AuditEntry(time=_local(t, self.zone), user=u, action=a, details=dict(d or {}), id=i)
                for t, u, a, d, i in rows]

    # -- moving in: a whole log into an empty database

    COUNTED = ("people", "person_groups", "sessions", "expected", "checkins", "marks", "audit", "settings",
               "template_sets", "templates", "presence")

    def counts(self) -> dict[str, int]:
        """Rows in each table."""
        with self._tx() as conn:
            return {t: int(conn.execute(f"select count(*) from {t}").fetchone()[0]) for t in self.COUNTED}

    def all_settings(self) -> dict[str, Any]:
        with self._tx() as conn:
            return dict(conn.execute("select key, value from settings").fetchall())

    def import_log(self, source: Store) -> dict[str, int]:
        """Copy another log (people, groups, sessions, rosters, check-ins, marks, audit, settings), keeping its ids.

        One transaction: all of it or nothing. Returns how many records were left out because they name
        someone no longer in the log.
        """
        left_out = {"expected": 0, "checkins": 0, "marks": 0}
        with self.batch():
            conn = self._local.conn
            held = self.counts()
            if held["people"] or held["sessions"]:
                there = f"{plural(held['people'], 'person', 'people')} and {plural(held['sessions'], 'session')}"
                raise StoreError(f"the database {self.masked} already holds {there}; "
                                 "import into an empty database")
            people = source.people()
            self.save_people(people)
            known = {p.id for p in people}
            for session in source.sessions():
                conn.execute("insert into sessions (id, name, started_at, ended_at, late_after_minutes, station, "
                             "group_name, voided_at, voided_by, void_reason) "
                             "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                             [session.id, session.name, aware(session.started_at), session.ended_at,
                              session.late_after_minutes, session.station, session.group, session.voided_at,
                              session.voided_by, session.void_reason])
                expected = [p for p in session.expected if p in known]
                left_out["expected"] += len(session.expected) - len(expected)
                _insert_expected(conn, session.id, expected)
                all_checkins, all_marks = source.checkins(session.id), source.marks(session.id)
                checkins = [c for c in all_checkins if c.person_id in known]
                marks = [m for m in all_marks if m.person_id in known]
                left_out["checkins"] += len(all_checkins) - len(checkins)
                left_out["marks"] += len(all_marks) - len(marks)
                for checkin in checkins:
                    self._insert_checkin(conn, checkin)
                for mark in marks:
                    self.add_mark(mark)
            conn.execute("select setval(pg_get_serial_sequence('sessions', 'id'), "
                         "greatest((select max(id) from sessions), 1))")
            sightings = source.presence(date.min, date.max)
            kept = [p for p in sightings if p.person_id in known]
            left_out["presence"] = len(sightings) - len(kept)
            for presence in kept:
                self.see(presence)
            for entry in source.audit_log():
                self.add_audit(entry)
            for key, value in source.all_settings().items():
                self.set_setting(key, value)
        return left_out

    # -- templates (the gallery shared by the stations; rows are float32 bytes, the gallery code reads them)

    def template_sets(self) -> dict[str, TemplateSet]:
        """Every folder's template set, without its rows."""
        with self._tx() as conn:
            rows = conn.execute("select folder, recognizer, recognizer_sha256, dim, npy_sha256, station from "
                                "template_sets").fetchall()
        return {r[0]: TemplateSet(*r) for r in rows}

    def template_rows(self, folder: str) -> tuple[TemplateSet, list[TemplateRow]] | None:
        with self._tx() as conn:
            head = conn.execute("select folder, recognizer, recognizer_sha256, dim, npy_sha256, station from "
                                "template_sets where folder = %s", [folder]).fetchone()
            if head is None:
                return None
            rows = conn.execute("select embedding, image, photo_sha256, source from templates where folder = %s "
                                "order by position", [folder]).fetchall()
        return TemplateSet(*head), [TemplateRow(bytes(e), i, p, s) for e, i, p, s in rows]

    def save_templates(self, head: TemplateSet, rows: list[TemplateRow]) -> None:
        """Replace a folder's template set whole."""
        with self._tx() as conn, conn.cursor() as cur:
            cur.execute("insert into template_sets (folder, recognizer, recognizer_sha256, dim, npy_sha256, station, "
                        "changed_at) values (%s, %s, %s, %s, %s, %s, now()) on conflict (folder) do update set "
                        "recognizer = excluded.recognizer, recognizer_sha256 = excluded.recognizer_sha256, "
                        "dim = excluded.dim, npy_sha256 = excluded.npy_sha256, station = excluded.station, "
                        "changed_at = now()",
                        [head.folder, head.recognizer, head.recognizer_sha256, head.dim, head.npy_sha256,
                         head.station])
            cur.execute("delete from templates where folder = %s", [head.folder])
            cur.executemany("insert into templates (folder, position, embedding, image, photo_sha256, source) "
                            "values (%s, %s, %s, %s, %s, %s)",
                            [(head.folder, i, r.embedding, r.image, r.photo_sha256, r.source)
                             for i, r in enumerate(rows)])

    def delete_templates(self, folder: str) -> None:
        with self._tx() as conn:
            conn.execute("delete from template_sets where folder = %s", [folder])

    # -- the cache of a live store

    def _cached(self, session_id: int, load: bool = True) -> Cached | None:
        """A session's records as this station knows them (read from the database the first time)."""
        known = self._cache.get(session_id)
        if known is not None or not load:
            return known
        with self._tx() as conn:
            known = self._read_session(conn, session_id)
        while len(self._cache) >= CACHED_SESSIONS:
            self._cache.pop(next(iter(self._cache)))
        self._cache[session_id] = known
        return known

    def _remember(self, checkin: Checkin) -> bool:
        """Put a check-in into the cache; True when it is news (not known, or an earlier arrival)."""
        with self._lock:
            known = self._cache.get(checkin.session_id)
            if known is None:
                return False
            old = known.checkins.get(checkin.person_id)
            if old is not None and (old.id == checkin.id or old.time <= checkin.time):
                return False
            if old is not None:
                _keep_later_seen(checkin, old)
            known.checkins[checkin.person_id] = checkin
            return True

    def _forget_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    # -- the listener: other stations' writes

    def _listen(self) -> None:
        delay, first = 0.5, True
        while not self._stop.is_set():
            try:
                with self._direct() as conn:
                    conn.execute(f"listen {CHANNEL}")
                    if not first:
                        self._resync(conn)  # on this connection: the pool may not have noticed the outage yet
                    first, delay = False, 0.5
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.5):
                            self._notified(note.payload)
            except (psycopg.Error, StoreError) as exc:
                self._went_offline(first_line(exc))
            except Exception as exc:  # noqa: BLE001 - the listener must outlive any one bad notification
                self._note = f"listener: {first_line(exc)}"
            self._stop.wait(delay)
            delay = min(delay * 2, 4.0)

    def _resync(self, conn: psycopg.Connection) -> None:
        """Back after a lost connection: notifications may have been missed, so read everything again.

        The sessions in view are read again here (not by the station's pump, which must not wait for
        it); check-ins that arrived meanwhile are reported one by one as well.
        """
        with self._lock:
            before = {sid: {c.id for c in known.checkins.values()} for sid, known in self._cache.items()}
        fresh = {sid: self._read_session(conn, sid) for sid in before}
        with self._lock:
            for sid, known in fresh.items():
                old = self._cache.get(sid)
                for person_id, checkin in known.checkins.items():
                    seen = old.checkins.get(person_id) if old else None
                    if seen is not None:
                        _keep_later_seen(checkin, seen)  # sightings not yet written
            news = [c for sid, known in fresh.items() for c in known.checkins.values()
                    if c.id not in before[sid] and c.id not in self._mine]
            self._cache = fresh
        self._changes.append(Change("all"))
        self._changes.extend(Change("checkins", checkin) for checkin in news)

    def _read_session(self, conn: psycopg.Connection, session_id: int) -> Cached:
        """A session's check-ins and marks from the database, with the ones still waiting here."""
        rows = conn.execute(self.CHECKIN + " where session_id = %s", [session_id]).fetchall()
        known = Cached({c.person_id: c for c in (_checkin(row, self.zone) for row in rows)})
        marks = conn.execute(self.MARK + " where session_id = %s order by at, position", [session_id]).fetchall()
        known.marks = [_mark(row, self.zone) for row in marks]
        if self.outbox is not None:
            for doc in self.outbox.for_session(session_id):
                known.checkins.setdefault(doc["person_id"], Checkin.from_doc(doc))
        return known

    def _notified(self, payload: str) -> None:
        try:
            note = json.loads(payload)
            table = note["table"]
        except (ValueError, KeyError, TypeError):
            return
        if table == "checkins":
            self._checkin_notified(note.get("row") or {})
        elif note.get("by") == self._kwargs["application_name"]:
            return  # this station's own write: it knows
        elif table == "marks":
            self._reload_marks()
            self._changes.append(Change("marks"))
        else:
            kind = {"person_groups": "people", "expected": "sessions", "template_sets": "templates"}.get(table, table)
            self._changes.append(Change(kind))

    def _checkin_notified(self, row: dict) -> None:
        try:
            checkin = Checkin.from_doc({**row, "time": _iso(row.get("time")), "last_seen": _iso(row.get("last_seen"))})
        except (KeyError, TypeError, ValueError):
            return
        checkin.time = checkin.time.astimezone(self.zone)
        if checkin.last_seen is not None:
            checkin.last_seen = checkin.last_seen.astimezone(self.zone)
        with self._lock:
            mine = checkin.id in self._mine
            news = self._remember(checkin) or checkin.session_id not in self._cache
        if news and not mine:
            self._changes.append(Change("checkins", checkin))

    def _reload_marks(self) -> None:
        with self._lock:
            sessions = list(self._cache)
        for session_id in sessions:
            try:
                marks = self._read_marks(session_id)
            except StoreError:
                return
            with self._lock:
                if session_id in self._cache:
                    self._cache[session_id].marks = marks

    # -- the courier: the journal and the "last seen" times

    def _courier(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(TICK)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                if self.outbox is not None and self.outbox.waiting:
                    self._send_waiting()
                elif not self._online:
                    self._probe()
                self._flush_seen()
            except StoreError as exc:
                self._went_offline(first_line(exc))
            except Exception as exc:  # noqa: BLE001 - the courier must outlive any one bad round
                self._note = f"courier: {first_line(exc)}"
                self._stop.wait(1.0)

    def _probe(self) -> None:
        """Is the database back? Then take a fresh pool (the old one may be waiting out a long back-off)."""
        with self._direct() as conn:
            conn.execute("select 1")
        old, self._pool = self._pool, self._open_pool()
        old.close(timeout=1)
        if self.outbox is None or not self.outbox.waiting:
            with self._lock:
                self._online, self._note = True, ""

    def _send_waiting(self) -> None:
        if not self._online:
            self._probe()
        batch = self.outbox.peek(SEND_BATCH)
        with self._tx() as conn:
            for doc in batch:
                self._send_one(conn, doc)
        self.outbox.done(len(batch))
        if not self.outbox.waiting:
            with self._lock:
                self._online, self._note = True, ""

    def _send_one(self, conn: psycopg.Connection, doc: dict) -> None:
        try:
            checkin = Checkin.from_doc(doc)
        except (KeyError, TypeError, ValueError):
            return  # not a check-in: nothing to send
        try:
            with conn.transaction():
                self._insert_checkin(conn, checkin)
        except psycopg.errors.ForeignKeyViolation:
            self._changes.append(Change("dropped", checkin))  # the person or the session was erased meanwhile

    def _flush_seen(self) -> None:
        with self._lock:
            seen, self._seen = self._seen, {}
        if not seen:
            return
        keys = list(seen)
        try:
            with self._tx() as conn:
                conn.execute("update checkins c set last_seen = v.t from unnest(%s::bigint[], %s::text[], "
                             "%s::timestamptz[]) as v(s, p, t) where c.session_id = v.s and c.person_id = v.p "
                             "and (c.last_seen is null or c.last_seen < v.t)",
                             [[k[0] for k in keys], [k[1] for k in keys], [seen[k] for k in keys]])
        except StoreError:
            with self._lock:
                for key, when in seen.items():
                    if key not in self._seen or self._seen[key] < when:
                        self._seen[key] = when
            raise

    def _flush_seen_quietly(self) -> None:
        with contextlib.suppress(StoreError):
            self._flush_seen()


def _keep_later_seen(checkin: Checkin, old: Checkin) -> None:
    """Keep the later "last seen" of the two records of one check-in (in `checkin`)."""
    if old.last_seen and (checkin.last_seen is None or checkin.last_seen < old.last_seen):
        checkin.last_seen = old.last_seen


def _scrub_audit(conn: psycopg.Connection, person: Person, token: str) -> None:
    """Rewrite the audit entries that name an erased person (see security.scrub_audit)."""
    rows = conn.execute("select id, details from audit").fetchall()
    changed = scrub_audit(((i, dict(d or {})) for i, d in rows), person, token)
    if changed:
        with conn.cursor() as cur:
            cur.executemany("update audit set details = %s where id = %s",
                            [(Jsonb(details), i) for i, details in changed.items()])


def _configure(conn: psycopg.Connection) -> None:
    """No statement waits forever (a lock held elsewhere): the station's pump must go on."""
    conn.execute(f"set statement_timeout = {int(STATEMENT_TIMEOUT * 1000)}")


# ----- rows to records ------------------------------------------------------------------------------


def _local(value: datetime | None, zone=None) -> datetime | None:
    return None if value is None else value.astimezone(zone)


def _iso(value: Any) -> str | None:
    """A timestamp from a notification's JSON (PostgreSQL's ISO form) for Checkin.from_doc."""
    if value is None:
        return None
    return datetime.fromisoformat(str(value)).isoformat()


def _person(row, zone=None) -> Person:
    pid, name, created, folder, state, left_at, images, groups = row
    return Person(pid, name, _local(created, zone), folder=folder or "", groups=tuple(groups or ()), state=state,
                  left_at=_local(left_at, zone), images=int(images or 0))


def _session(row, zone=None) -> Session:
    sid, name, started, ended, late, station, group, expected, voided_at, voided_by, void_reason = row
    return Session(int(sid), name, _local(started, zone), _local(ended, zone), late, station, group,
                   list(expected or []), _local(voided_at, zone), voided_by or "", void_reason or "")


def _checkin(row, zone=None) -> Checkin:
    cid, session_id, person_id, when, similarity, track, late, station, last_seen, evidence = row
    return Checkin(int(session_id), person_id, _local(when, zone), similarity=similarity, track_id=track,
                   late=bool(late), station=station, last_seen=_local(last_seen, zone), evidence=evidence, id=cid)


def _mark(row, zone=None) -> Mark:
    session_id, person_id, status, reason, by, at, previous, mid = row
    return Mark(int(session_id), person_id, status, reason, by, _local(at, zone), previous, id=mid)


def _checkin_values(c: Checkin) -> list:
    return [c.id, c.session_id, c.person_id, aware(c.time), c.similarity, c.track_id, c.late, c.station,
            aware(c.last_seen) if c.last_seen else None, Jsonb(c.evidence) if c.evidence is not None else None]


def _insert_expected(conn: psycopg.Connection, session_id: int, person_ids: list[str]) -> list[str]:
    if not person_ids:
        return []
    rows = conn.execute("insert into expected (session_id, person_id) select %s, p from unnest(%s::text[]) "
                        "with ordinality as u(p, n) order by n on conflict do nothing returning person_id",
                        [session_id, person_ids]).fetchall()
    return [r[0] for r in rows]


def open_pg(url: str, *, clock: Clock | None = None, station: str = "", live: bool = False,
            journal_dir: Path | None = None, wait: float = WAIT, upgrade_mode: str = UPGRADE_REFUSE) -> PgStore:
    """The shared log; a live station passes its data root for the journal of check-ins that wait."""
    journal = Path(journal_dir) / JOURNAL_NAME if journal_dir is not None else None
    return PgStore(url, clock=clock, station=station, live=live, journal=journal, wait=wait,
                   upgrade_mode=upgrade_mode)
