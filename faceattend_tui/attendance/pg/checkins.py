"""Check-ins and marks: written through the writer thread (or the outbox), read from the cache when live."""

from __future__ import annotations

import dataclasses
import uuid
from concurrent.futures import TimeoutError as WaitedTooLong
from datetime import datetime
from typing import TYPE_CHECKING

import psycopg

from ..common import aware
from ..models import LATE, PRESENT, Checkin, Mark, Presence
from ..store import Change, GoneMeanwhile, OfflineError, SessionRecords, outcomes_from
from .listener import Cached
from .outbox import as_the_database_has_it, as_they_are_now, their_id_now, under_their_id_now
from .rows import (
    INSERT_MARK,
    SELECT_CHECKIN,
    SELECT_MARK,
    checkin_of,
    insert_checkin,
    mark_of,
    mark_values,
    upsert_presence,
)

if TYPE_CHECKING:
    import contextlib
    import threading
    from collections import deque
    from collections.abc import Iterable, Iterator
    from concurrent.futures import ThreadPoolExecutor
    from datetime import tzinfo

    from .outbox import Outbox


READ_TOGETHER = 200  # sessions read in one query by a report or an export


def parts(session_ids: Iterable[int]) -> Iterator[list[int]]:
    """The ids, once each, READ_TOGETHER at a time."""
    ids = list(dict.fromkeys(session_ids))
    for start in range(0, len(ids), READ_TOGETHER):
        yield ids[start:start + READ_TOGETHER]


def arrival_order(checkin: Checkin) -> tuple[datetime, str]:
    return checkin.time, checkin.person_id


class CheckinQueries:
    """Check-ins and marks.

    Uses of the store: live, wait, masked, zone, outbox, _writer, _lock, _online, _mine, _seen,
    _cache, _changes, and _tx, _cached, _remember, _keep, _went_offline.
    """

    live: bool
    wait: float
    masked: str
    zone: tzinfo | None
    outbox: Outbox | None
    _writer: ThreadPoolExecutor | None
    _lock: threading.RLock
    _online: bool
    _mine: set[str]
    _seen: dict[tuple[int, str], datetime]
    _cache: dict[int, Cached]
    _changes: deque[Change]

    if TYPE_CHECKING:
        @contextlib.contextmanager
        def _tx(self) -> Iterator[psycopg.Connection]: ...
        def _cached(self, session_id: int) -> Cached: ...
        def _read_sessions(self, conn: psycopg.Connection, session_ids: list[int]) -> dict[int, Cached]: ...
        def _remember(self, checkin: Checkin) -> bool: ...
        def _keep(self, outbox: Outbox, checkin: Checkin) -> bool: ...
        def _went_offline(self, why: str) -> None: ...

    def record_checkin(self, checkin: Checkin) -> bool:
        if self._writer is None:
            with self._tx() as conn:
                return insert_checkin(conn, checkin)
        with self._lock:
            self._mine.add(checkin.id)
            known = self._cache.get(checkin.session_id)  # as far as this station knows, without reading
            if known is not None and checkin.person_id in known.checkins:
                return False
        if self.outbox is not None and (self.outbox.waiting or not self._online):
            return self._keep(self.outbox, checkin)
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
        return self._keep(self.outbox, checkin)

    def see(self, presence: Presence) -> None:
        """A day's sighting (work mode, where it is the record): written now, or kept in the local
        journal while the database is away, as a check-in is."""
        outbox = self.outbox
        if outbox is not None and (outbox.waiting or not self._online):
            outbox.add(presence_doc(presence))
            return
        if self._writer is None or outbox is None:
            self._write_presence(presence)
            return
        try:  # waits no longer than a check-in does: the door goes on while the database is slow
            self._writer.submit(self._write_presence, presence).result(timeout=self.wait)
            return
        except WaitedTooLong:  # it may still land: a sighting written twice keeps the same first and last
            self._went_offline(f"no answer within {self.wait:g} s")
        except OfflineError as exc:
            self._went_offline(str(exc))
        outbox.add(presence_doc(presence))

    def _write_presence(self, presence: Presence) -> None:
        with self._tx() as conn:  # under the id they have now (a roster import may have given them another)
            upsert_presence(conn, dataclasses.replace(presence, person_id=their_id_now(conn, presence.person_id)))

    def _write_checkin(self, checkin: Checkin) -> bool:
        with self._tx() as conn:
            checkin, why = as_they_are_now(conn, checkin)  # gone at another door a moment ago, not told yet?
            if why:
                raise GoneMeanwhile("the person was erased, or left, at another door a moment ago")
            filed = as_the_database_has_it(conn, checkin)  # its session may have been stopped at another door
            if filed is None:
                self._changes.append(Change("after-end", checkin))
                return False
            checkin = filed
            try:
                with conn.transaction():
                    stored = insert_checkin(conn, checkin)
            except psycopg.errors.ForeignKeyViolation:  # a roster import changed their id a moment ago?
                moved = under_their_id_now(conn, checkin)
                if moved.person_id == checkin.person_id:
                    raise GoneMeanwhile("the person was erased at another door a moment ago") from None
                checkin = moved
                stored = insert_checkin(conn, checkin)
            if stored:
                self._remember(checkin)
                return True
            row = conn.execute(SELECT_CHECKIN + " where session_id = %s and person_id = %s",
                               [checkin.session_id, checkin.person_id]).fetchone()
        if row is not None:
            self._remember(checkin_of(row, self.zone))
        return False

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
            row = conn.execute(SELECT_CHECKIN + " where session_id = %s and person_id = %s",
                               [session_id, person_id]).fetchone()
        return None if row is None else checkin_of(row, self.zone)

    def checkins(self, session_id: int) -> list[Checkin]:
        if self.live:
            with self._lock:
                found = list(self._cached(session_id).checkins.values())
        else:
            found = self._read_checkins(session_id)
        return sorted(found, key=arrival_order)

    def _read_checkins(self, session_id: int) -> list[Checkin]:
        with self._tx() as conn:
            rows = conn.execute(SELECT_CHECKIN + " where session_id = %s", [session_id]).fetchall()
        return [checkin_of(row, self.zone) for row in rows]

    # -- marks

    def add_mark(self, mark: Mark) -> None:
        with self._tx() as conn:
            conn.execute(INSERT_MARK, mark_values(mark))
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
        return found  # in the order the database took them: the last to reach it counts

    def records_of(self, session_ids: Iterable[int]) -> dict[int, SessionRecords]:
        found: dict[int, SessionRecords] = {}
        for part in parts(session_ids):
            held = self._held(part)
            if len(held) < len(part):
                with self._tx() as conn:
                    held.update(self._read_sessions(conn, [sid for sid in part if sid not in held]))
            found.update({sid: SessionRecords(sorted(held[sid].checkins.values(), key=arrival_order),
                                              held[sid].marks) for sid in part})
        return found

    def outcomes_of(self, session_ids: Iterable[int]) -> dict[int, dict[str, str]]:
        """Read without building the records: a term's report."""
        ids = list(dict.fromkeys(session_ids))
        found: dict[int, dict[str, str]] = {}
        for part in parts(ids):
            held = self._held(part)
            found.update({sid: outcomes_from(c.checkins.values(), c.marks) for sid, c in held.items()})
            unread = [sid for sid in part if sid not in held]
            if unread:
                with self._tx() as conn:
                    found.update(self._read_outcomes(conn, unread))
        return {sid: found[sid] for sid in ids}

    def _held(self, session_ids: list[int]) -> dict[int, Cached]:
        """Copies of the sessions a live station holds in its cache."""
        with self._lock:
            held = {sid: self._cache[sid] for sid in session_ids if self.live and sid in self._cache}
            return {sid: Cached(dict(c.checkins), list(c.marks)) for sid, c in held.items()}

    def _read_outcomes(self, conn: psycopg.Connection, session_ids: list[int]) -> dict[int, dict[str, str]]:
        found: dict[int, dict[str, str]] = {sid: {} for sid in session_ids}
        for sid, person_id, late in conn.execute("select session_id, person_id, late from checkins "
                                                 "where session_id = any(%s)", [session_ids]):
            found[sid][person_id] = LATE if late else PRESENT
        outbox = self.outbox  # check-ins waiting here count, as in `_read_sessions`
        if outbox is not None:
            for sid in session_ids:
                found[sid].update({doc["person_id"]: LATE if doc.get("late") else PRESENT
                                   for doc in outbox.for_session(sid) if doc["person_id"] not in found[sid]})
        for sid, person_id, status in conn.execute("select session_id, person_id, status from marks "
                                                   "where session_id = any(%s) order by position", [session_ids]):
            found[sid][person_id] = status
        return found

    def _read_marks(self, session_id: int) -> list[Mark]:
        with self._tx() as conn:
            rows = conn.execute(SELECT_MARK + " where session_id = %s order by position", [session_id]).fetchall()
        return [mark_of(row, self.zone) for row in rows]


def presence_doc(presence: Presence) -> dict:
    """A sighting as a line of the local journal (its id only tells the lines apart)."""
    return {"id": f"presence-{uuid.uuid4().hex}", "presence": presence.to_doc()}
