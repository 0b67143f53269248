"""Other stations' writes: LISTEN/NOTIFY, the changes they make, and the cache of sessions in view.

A live store keeps the check-ins and marks of the sessions it reads in memory, kept current by
the notifications, so recognising a face reads nothing from the database.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg

from ..models import Checkin, Mark
from ..pgschema import CHANNEL
from ..store import Change, StoreError
from .connection import Watch, first_line
from .rows import SELECT_CHECKIN, SELECT_MARK, checkin_of, iso, keep_later_seen, local, local_or_none, mark_of

if TYPE_CHECKING:
    import contextlib
    import threading
    from collections import deque
    from collections.abc import Iterator
    from datetime import tzinfo

    from .outbox import Outbox

CACHED_SESSIONS = 4
LISTEN_CHECK = 5.0  # seconds without a notification after which the listening connection must answer


@dataclass
class Cached:
    """A session's check-ins (by person) and marks (oldest first), as the station last learnt them."""

    checkins: dict[str, Checkin] = field(default_factory=dict)
    marks: list[Mark] = field(default_factory=list)


# the tables that hold part of another's records: a change to them is news of that one
KINDS = {"person_groups": "people", "past_groups": "people", "expected": "sessions", "template_sets": "templates"}


class Listener:
    """The listener thread and the cache it keeps current.

    Uses of the store: zone, outbox, _kwargs, _lock, _cache, _mine, _changes, _stop, _note, _rewritten, and
    the connection's _tx, _direct and _went_offline; the queries' _read_marks.
    """

    zone: tzinfo | None
    outbox: Outbox | None
    _kwargs: dict[str, Any]
    _lock: threading.RLock
    _cache: dict[int, Cached]
    _mine: set[str]
    _changes: deque[Change]
    _stop: threading.Event
    _note: str
    _rewritten: list[str]  # kinds of change heard whose sessions in view are to be read again

    if TYPE_CHECKING:
        @contextlib.contextmanager
        def _tx(self) -> Iterator[psycopg.Connection]: ...
        @contextlib.contextmanager
        def _direct(self, watched: bool = True) -> Iterator[psycopg.Connection]: ...
        def _went_offline(self, why: str) -> None: ...
        def _read_marks(self, session_id: int) -> list[Mark]: ...

    def changes(self) -> list[Change]:
        out: list[Change] = []
        while self._changes:
            out.append(self._changes.popleft())
        return out

    # -- the cache

    def _cached(self, session_id: int) -> Cached:
        """A session's records as this station knows them (read from the database the first time)."""
        known = self._cache.get(session_id)
        if known is not None:
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
                keep_later_seen(checkin, old)
            known.checkins[checkin.person_id] = checkin
            return True

    def _forget_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def _read_session(self, conn: psycopg.Connection, session_id: int) -> Cached:
        """A session's check-ins and marks from the database, with the ones still waiting here."""
        return self._read_sessions(conn, [session_id])[session_id]

    def _read_sessions(self, conn: psycopg.Connection, session_ids: list[int]) -> dict[int, Cached]:
        """`_read_session` of several sessions, in two queries."""
        found = {sid: Cached() for sid in session_ids}
        if not found:
            return found
        for row in conn.execute(SELECT_CHECKIN + " where session_id = any(%s)", [session_ids]):
            checkin = checkin_of(row, self.zone)
            found[checkin.session_id].checkins[checkin.person_id] = checkin
        for row in conn.execute(SELECT_MARK + " where session_id = any(%s) order by position", [session_ids]):
            mark = mark_of(row, self.zone)
            found[mark.session_id].marks.append(mark)
        if self.outbox is not None:
            for sid, known in found.items():
                for doc in self.outbox.for_session(sid):
                    known.checkins.setdefault(doc["person_id"], Checkin.from_doc(doc))
        return found

    # -- the listener thread

    def _listen(self) -> None:
        delay, first = 0.5, True
        while not self._stop.is_set():
            try:
                with self._direct(watched=False) as conn:
                    conn.execute(f"listen {CHANNEL}")
                    if not first or self._cache:  # after an outage, or sessions read before it listened:
                        self._resync(conn)  # what came meanwhile, read on this connection (the pool may lag)
                    first, delay = False, 0.5
                    self._hear(conn)
            except (psycopg.Error, StoreError) as exc:
                self._went_offline(first_line(exc))
            except Exception as exc:  # noqa: BLE001 - the listener must outlive any one bad notification
                self._note = f"listener: {first_line(exc)}"
            self._stop.wait(delay)
            delay = min(delay * 2, 4.0)

    def _hear(self, conn: psycopg.Connection) -> None:
        """Take in notifications until stopped; a connection quiet for LISTEN_CHECK seconds is asked to
        answer, so one gone silent (a firewall that dropped it, a server frozen) is noticed and replaced."""
        heard = time.monotonic()
        while not self._stop.is_set():
            for note in conn.notifies(timeout=0.5):
                heard = time.monotonic()
                self._notified(note.payload)
            if self._rewritten:
                self._reread(conn)
            if time.monotonic() - heard < LISTEN_CHECK:
                continue
            with Watch(conn, LISTEN_CHECK) as watch:
                try:
                    conn.execute("select 1")  # notifications that come meanwhile wait for the next round
                except psycopg.Error as exc:
                    raise StoreError(f"the notifications stopped: {watch.why(exc)}") from None
            heard = time.monotonic()

    def _resync(self, conn: psycopg.Connection) -> None:
        """Back after a lost connection: notifications may have been missed, so read everything again.

        The sessions in view are read again here (not by the station's pump, which must not wait for
        it); check-ins that arrived meanwhile are reported one by one as well.
        """
        with self._lock:
            before = {sid: {c.id for c in known.checkins.values()} for sid, known in self._cache.items()}
        fresh = self._fresh(conn, list(before))
        with self._lock:
            news = [c for sid, known in fresh.items() for c in known.checkins.values()
                    if c.id not in before[sid] and c.id not in self._mine]
            self._cache = fresh
        self._changes.append(Change("all"))
        self._changes.extend(Change("checkins", checkin) for checkin in news)

    def _reread(self, conn: psycopg.Connection) -> None:
        """Another door changed sessions or people (a late-after edited, an id changed, which rewrites
        their check-ins there): the sessions in view are read again here, on this thread, before the
        change is said, so the station's counts follow the database without waiting for it."""
        said, self._rewritten = self._rewritten, []
        with self._lock:
            sessions = list(self._cache)
        fresh = self._fresh(conn, sessions)
        with self._lock:
            self._cache.update({sid: known for sid, known in fresh.items() if sid in self._cache})
        self._changes.extend(Change(kind) for kind in dict.fromkeys(said))

    def _fresh(self, conn: psycopg.Connection, sessions: list[int]) -> dict[int, Cached]:
        """These sessions' records read again, keeping the later sightings this door has not written yet."""
        fresh = self._read_sessions(conn, sessions)
        with self._lock:
            for sid, known in fresh.items():
                old = self._cache.get(sid)
                for person_id, checkin in known.checkins.items():
                    seen = old.checkins.get(person_id) if old else None
                    if seen is not None:
                        keep_later_seen(checkin, seen)  # sightings not yet written
        return fresh

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
            kind = KINDS.get(table, table)
            if kind in ("sessions", "people"):  # their check-ins may have been rewritten: said once read again
                self._rewritten.append(kind)
            else:
                self._changes.append(Change(kind))

    def _checkin_notified(self, row: dict[str, Any]) -> None:
        try:
            checkin = Checkin.from_doc({**row, "time": iso(row.get("time")), "last_seen": iso(row.get("last_seen"))})
        except (KeyError, TypeError, ValueError):
            return
        checkin.time = local(checkin.time, self.zone)
        checkin.last_seen = local_or_none(checkin.last_seen, self.zone)
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
