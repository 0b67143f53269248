"""`PgStore`: the attendance log in PostgreSQL, put together from its parts.

The rules that span stations live in the schema (`pgschema`): one check-in per person and
session, one running session. Stations learn of each other's writes by LISTEN/NOTIFY (`listener`).

A station opens the store `live`: it then keeps the check-ins and marks of the sessions it reads
in memory, so recognising a face reads nothing from the database. A check-in is written by a
writer thread that the caller waits for at most `wait` seconds; when the database is slow or
away, the check-in goes to a local journal instead and a courier thread sends it later (`outbox`).
"Last seen" times are gathered in memory and written every half second.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import psycopg

from ..common import Clock, local_now
from ..pgschema import mask_url, namesakes
from ..store import Change, Store, StoreError
from .checkins import CheckinQueries
from .connection import UPGRADE_REFUSE, WAIT, Connection, keep_secret
from .listener import Cached, Listener
from .moving_in import MovingIn
from .outbox import JOURNAL_NAME, Courier, Outbox
from .queries import PeopleQueries, SessionQueries, SettingQueries
from .rows import the_row
from .templates import TemplateQueries

LAST_SEND = 5.0  # seconds a closing station tries to send the check-ins still waiting in its journal
THREADS_WAIT = 5.0  # seconds a closing store waits for each of its threads (the courier mid-batch) to end


class PgStore(CheckinQueries, PeopleQueries, SessionQueries, SettingQueries, TemplateQueries, MovingIn,
              Listener, Courier, Connection, Store):
    def __init__(self, url: str, *, clock: Clock | None = None, station: str = "", live: bool = False,
                 journal: Path | None = None, wait: float = WAIT, upgrade_mode: str = UPGRADE_REFUSE):
        self.url = url
        self.masked = mask_url(url)
        keep_secret(url)
        self.station = station
        self.live = live
        self.wait = wait
        self._clock = clock or local_now
        self._given_clock = clock is not None
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
        self._rewritten: list[str] = []  # sessions or people changed elsewhere: the cache is read again first
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._writer: ThreadPoolExecutor | None = None
        self.outbox = Outbox(journal) if journal is not None else None
        with self._direct() as conn:
            self._check_schema(conn, upgrade_mode)
            # before this store's own pool and listener connect, so those are not counted
            self._namesakes = namesakes(conn, station) if live and station else 0
            self._skew, self._ahead = clocks_apart(conn, self.now)
        self._pool = self._open_pool()
        if live:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="faceattend-db-writer")
            self._start(self._listen, "faceattend-db-listener")
            self._start(self._courier, "faceattend-db-courier")

    def now(self) -> datetime:
        return self._clock()

    def namesakes(self) -> int:
        return self._namesakes

    def clock_skew(self) -> float:
        return self._skew

    def shared_now(self) -> datetime:
        """The database server's clock (doors' own clocks may be minutes apart, and be set while they run);
        with a clock given (tests, tools), that clock as it was apart from the server's at the start."""
        if not self._given_clock:
            try:
                with self._tx() as conn:
                    (moment,) = the_row(conn.execute("select clock_timestamp()"))
                return moment.astimezone(self.now().tzinfo)
            except StoreError:  # the server away: its time as this clock was apart from it at the start
                pass
        return self.now() - self._ahead

    def close(self) -> None:
        if self._closed:
            return
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=THREADS_WAIT)
        if self._writer is not None:
            self._writer.shutdown(wait=False, cancel_futures=True)
        self._send_before_closing()
        self._flush_seen_quietly()
        self._closed = True
        self._pool.close(timeout=2)

    def _send_before_closing(self) -> None:
        """Check-ins waiting in the local journal (the database answered late, under load) are sent now when
        it answers within LAST_SEND seconds: the other doors and the office have them tonight, not when
        this station starts again. What is not sent stays in the journal for the next start."""
        outbox = self.outbox
        deadline = time.monotonic() + LAST_SEND
        while outbox is not None and outbox.waiting and time.monotonic() < deadline:
            try:
                if not self._send_waiting(outbox, wait=max(0.0, deadline - time.monotonic())):
                    return  # the courier is still sending a batch (a slow database): the journal keeps the rest
            except Exception:  # noqa: BLE001 - the database is away: the journal keeps them
                return

    def _start(self, target: Callable[[], object], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)


def open_pg(url: str, *, clock: Clock | None = None, station: str = "", live: bool = False,
            journal_dir: Path | None = None, wait: float = WAIT, upgrade_mode: str = UPGRADE_REFUSE) -> PgStore:
    """The shared log; a live station passes its data root for the journal of check-ins that wait."""
    journal = Path(journal_dir) / JOURNAL_NAME if journal_dir is not None else None
    return PgStore(url, clock=clock, station=station, live=live, journal=journal, wait=wait,
                   upgrade_mode=upgrade_mode)


def clocks_apart(conn: psycopg.Connection, clock: Clock) -> tuple[float, timedelta]:
    """Seconds this machine's clock is ahead of the database server's, and how far the store's clock (the
    machine's, or one given) is: both from one reading of the server's."""
    wall, before = time.time(), clock()
    (server,) = conn.execute("select clock_timestamp()").fetchone() or (before,)
    wall_after, after = time.time(), clock()
    return (wall + wall_after) / 2 - server.timestamp(), before + (after - before) / 2 - server
