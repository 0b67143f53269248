"""Check-ins (and work mode's sightings) kept while the database is away: the local journal, and the
courier that sends it back.

The journal (`attendance.pg-journal` in the data root) holds JSON lines, fsynced. The courier is a
thread that sends the journal in order once the database answers again, and writes the gathered
"last seen" times every round. Check-in ids are idempotency keys: one sent twice is stored once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections import deque
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

from faceattend_tui.files import make_private_dir

from ..models import Checkin, Presence
from ..security import id_hash
from ..store import CLOCKS_APART, UNFILED, Change, StoreError, StoreState
from ..tiny.files import append_line, read_lines
from .connection import first_line
from .rows import insert_checkin, upsert_presence

if TYPE_CHECKING:
    from collections.abc import Iterator

    from psycopg_pool import ConnectionPool

JOURNAL_NAME = "attendance.pg-journal"
SEND_BATCH = 200
TICK = 0.25  # seconds between the courier's rounds


class Outbox:
    """Check-ins not yet in the database: in memory, in order, and in a fsynced file that survives a restart."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.lock = threading.Lock()
        self.sending = threading.Lock()  # one sender at a time: the courier, or the store as it closes
        self.entries: deque[dict[str, Any]] = deque(doc for doc in read_lines(self.path, "journal")
                                                    if isinstance(doc.get("id"), str))

    @property
    def waiting(self) -> int:
        return len(self.entries)

    def add(self, doc: dict[str, Any]) -> None:
        with self.lock:
            try:
                make_private_dir(self.path.parent)
                append_line(self.path, doc)
            except OSError as exc:
                raise StoreError(f"could not write to {self.path}: {exc.strerror or exc}") from exc
            self.entries.append(doc)

    def peek(self, count: int) -> list[dict[str, Any]]:
        with self.lock:
            return [self.entries[i] for i in range(min(count, len(self.entries)))]

    def done(self, sent: list[dict[str, Any]]) -> None:
        """These entries (as `peek` gave them) are in the database; the file goes once all are."""
        gone = {id(doc) for doc in sent}
        with self.lock:
            self.entries = deque(doc for doc in self.entries if id(doc) not in gone)
            if not self.entries:
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()

    def for_session(self, session_id: int) -> list[dict[str, Any]]:
        with self.lock:
            return [doc for doc in self.entries if doc.get("session_id") == session_id]


class Courier:
    """The store's courier thread: the outbox and the "last seen" times, sent when the database answers.

    Uses of the store: outbox, _stop, _wake, _lock, _online, _note, _seen, _changes, _pool, and
    the connection's _tx, _direct, _open_pool and _went_offline; the cache's _remember.
    """

    outbox: Outbox | None
    _stop: threading.Event
    _wake: threading.Event
    _lock: threading.RLock
    _online: bool
    _note: str
    _seen: dict[tuple[int, str], datetime]
    _changes: deque[Change]
    _pool: ConnectionPool

    if TYPE_CHECKING:
        @contextlib.contextmanager
        def _tx(self) -> Iterator[psycopg.Connection]: ...
        @contextlib.contextmanager
        def _direct(self, watched: bool = True) -> Iterator[psycopg.Connection]: ...
        def _open_pool(self) -> ConnectionPool: ...
        def _went_offline(self, why: str) -> None: ...
        def _remember(self, checkin: Checkin) -> bool: ...

    def state(self) -> StoreState:
        waiting = self.outbox.waiting if self.outbox is not None else 0
        with self._lock:
            return StoreState(self._online, waiting, self._note)

    def keep_for_later(self, checkin: Checkin) -> bool:
        if self.outbox is None or self._online:
            return False
        self.outbox.add(checkin.to_doc())
        return True

    def _keep(self, outbox: Outbox, checkin: Checkin) -> bool:
        """Into the local journal (durable) and the cache: shown now, sent when the database is back."""
        outbox.add(checkin.to_doc())
        self._remember(checkin)
        return True

    def _courier(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(TICK)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                if self.outbox is not None and self.outbox.waiting:
                    self._send_waiting(self.outbox)
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

    def _send_waiting(self, outbox: Outbox, wait: float = -1) -> bool:
        """Send the next batch; False, nothing sent, when another sender still has one after `wait` seconds
        (-1: as long as it takes)."""
        if not outbox.sending.acquire(timeout=wait):
            return False
        try:
            if not self._online:
                self._probe()
            batch, said = outbox.peek(SEND_BATCH), list[Change]()
            with self._tx() as conn:
                for doc in batch:
                    self._send_one(conn, doc, said)
            outbox.done(batch)
            self._changes.extend(said)  # once the batch is in: a batch tried again says nothing twice
        finally:
            outbox.sending.release()
        if not outbox.waiting:
            with self._lock:
                self._online, self._note = True, ""
        return True

    def _send_one(self, conn: psycopg.Connection, doc: dict[str, Any], said: list[Change]) -> None:
        if isinstance(doc.get("presence"), dict):
            self._send_presence(conn, doc["presence"])
            return
        try:
            checkin = Checkin.from_doc(doc)
        except (KeyError, TypeError, ValueError):
            return  # not a check-in: nothing to send
        if conn.execute("select 1 from checkins where id = %s", [checkin.id]).fetchone() is not None:
            return  # the write that timed out landed after all: stored once, wherever it was filed
        checkin, gone = as_they_are_now(conn, checkin)
        if gone:  # nothing is filed; an erasure is said without a name, someone who left as a door online says it
            if gone == ERASED:
                said.append(Change("dropped", checkin))
            return
        filed = as_the_database_has_it(conn, checkin)
        if filed is None:
            if checkin.session_id != UNFILED:  # one kept for no known session that none was running for: it goes
                said.append(Change("after-end", checkin))
            return
        try:
            with conn.transaction():
                insert_checkin(conn, filed)
        except psycopg.errors.ForeignKeyViolation:
            said.append(Change("dropped", checkin))  # the person was erased meanwhile
        except psycopg.errors.UniqueViolation:
            pass  # its id is in the database already: stored once

    @staticmethod
    def _send_presence(conn: psycopg.Connection, doc: dict[str, Any]) -> None:
        try:
            presence = Presence.from_doc(doc)
        except (KeyError, TypeError, ValueError):
            return  # damaged: nothing to send
        added = conn.execute("select created from people where id = %s", [presence.person_id]).fetchone()
        if added is not None and erased_since(conn, presence.person_id, presence.last_seen, added[0]):
            return  # went with their erasure, though their id was given again since
        presence = dataclasses.replace(presence, person_id=their_id_now(conn, presence.person_id))
        with contextlib.suppress(psycopg.errors.ForeignKeyViolation), conn.transaction():
            upsert_presence(conn, presence)  # unless they were erased meanwhile

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


def under_their_id_now(conn: psycopg.Connection, checkin: Checkin) -> Checkin:
    """A check-in of someone whose id a roster import changed (a generated id claimed by the organisation's)
    while it waited here: filed under the id they have now, as a station's own log rewrites its check-ins."""
    person_id = their_id_now(conn, checkin.person_id)
    return checkin if person_id == checkin.person_id else dataclasses.replace(checkin, person_id=person_id)


def their_id_now(conn: psycopg.Connection, person_id: str) -> str:
    """The id someone has now, following the ids roster imports gave them since `person_id`."""
    for _ in range(3):  # an id claimed, and that one claimed again
        if conn.execute("select 1 from people where id = %s", [person_id]).fetchone() is not None:
            break
        row = conn.execute("select claim->>1 from audit a, jsonb_array_elements(a.details->'claimed') claim "
                           "where a.action = 'people.import' and jsonb_typeof(a.details->'claimed') = 'array' "
                           "and claim->>0 = %s order by a.position desc limit 1", [person_id]).fetchone()
        if row is None or not row[0]:
            break
        person_id = row[0]
    return person_id


ERASED, LEFT = "erased", "left"


def standing(conn: psycopg.Connection, checkin: Checkin) -> str:
    """Why a check-in can no longer be filed, "" when it can: the person was erased meanwhile (their id may
    have been given again since, to them or someone else: what came before the erasure went with it), or
    left (removed at another door) before its time, as a door that knew it would not have recorded them."""
    row = conn.execute("select state, left_at, created from people where id = %s", [checkin.person_id]).fetchone()
    if row is None or erased_since(conn, checkin.person_id, checkin.time, row[2]):
        return ERASED
    state, left_at, _ = row
    return LEFT if state != "active" and (left_at is None or left_at <= checkin.time) else ""


def erased_since(conn: psycopg.Connection, person_id: str, when: datetime, created: datetime) -> bool:
    """Whether the id, its row `created` since `when` (added again), was erased after `when`, by a margin the
    doors' clocks may be apart (the erasure is stamped by the erasing door's clock, `when` by this one's: a
    check-in just after the person's return is theirs). A row older than `when` was never erased since: the
    audit, which has no index for this, is not read."""
    if created <= when:
        return False
    return conn.execute("select 1 from audit where action = 'person.erase' and time > %s and "
                        "(details->>'id_hash' = %s or details->>'id_any_case' = %s) limit 1",
                        [when + CLOCKS_APART, id_hash(person_id), id_hash(person_id.casefold())]
                        ).fetchone() is not None


def as_they_are_now(conn: psycopg.Connection, checkin: Checkin) -> tuple[Checkin, str]:
    """The check-in under the id its person has now (a roster import may have given them another), and why it
    can no longer be filed ("" when it can: see `standing`)."""
    why = standing(conn, checkin)
    if why == ERASED:
        checkin = under_their_id_now(conn, checkin)
        why = standing(conn, checkin)
    return checkin, why


def as_the_database_has_it(conn: psycopg.Connection, checkin: Checkin) -> Checkin | None:
    """A check-in kept while the database was away, as it stands against the sessions there now: an
    arrival after its session was stopped elsewhere belongs to the session running then (among those
    expecting them), as does one kept for no session the door knew of (UNFILED), and lateness follows the
    deadline stored now (late after edited meanwhile). None when no session was running for them then.

    The sessions' times come from the doors that started and stopped them, whose clocks may be CLOCKS_APART
    off this one's: where no session was running by the times as they stand, one that ended or began that
    close to the arrival takes it."""
    row = conn.execute("select id, started_at, late_after_minutes, ended_at from sessions where id = %s",
                       [checkin.session_id]).fetchone()
    if row is None and checkin.session_id != UNFILED:
        return checkin  # not in the database: refused by it, said as dropped
    if row is None or (row[3] is not None and row[3] < checkin.time):
        ended = row if row is not None and row[3] + CLOCKS_APART >= checkin.time else None
        row = _running_for(conn, checkin, timedelta(0)) or ended or _running_for(conn, checkin, CLOCKS_APART)
        if row is None:
            return None
    session_id, started, late_after, _ = row
    late = late_after is not None and checkin.time > started + timedelta(minutes=late_after)
    return dataclasses.replace(checkin, session_id=session_id, late=late)


def _running_for(conn: psycopg.Connection, checkin: Checkin, slack: timedelta) -> tuple | None:
    """The latest session expecting the person that ran at the check-in's time, give or take `slack`."""
    return conn.execute(
        "select s.id, s.started_at, s.late_after_minutes, s.ended_at from sessions s join expected e "
        "on e.session_id = s.id and e.person_id = %s where s.voided_at is null and s.started_at <= %s "
        "and (s.ended_at is null or s.ended_at >= %s) order by s.started_at desc limit 1",
        [checkin.person_id, checkin.time + slack, checkin.time - slack]).fetchone()
