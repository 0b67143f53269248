"""Connections to the database: the pool, transactions, batches, and the schema check at open."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import conninfo
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from ..pgschema import LATEST, application_name, current_version, hide, other_versions, secrets_of, upgrade
from ..store import ConflictError, GoneMeanwhile, OfflineError, StoreError

WAIT = 0.5  # seconds a check-in waits for the database before it goes to the local journal
CONNECT_TIMEOUT = 3  # seconds (libpq's connect_timeout) unless the URL says otherwise
STATEMENT_TIMEOUT = 15.0  # seconds
ANSWER_TIMEOUT = STATEMENT_TIMEOUT + 5  # seconds this side waits for any answer (a frozen server never sends one)

UPGRADE_REFUSE, UPGRADE_FORCE = "refuse", "force"  # any other mode ("auto") upgrades when no other version is connected

for _name in ("psycopg", "psycopg.pool"):  # the pool reports reconnection attempts; the station shows its own line
    logging.getLogger(_name).addHandler(logging.NullHandler())
    logging.getLogger(_name).propagate = False


_SECRETS: list[str] = []  # passwords of the databases opened in this process: never in a message


def keep_secret(url: str) -> None:
    _SECRETS[:] = sorted({*_SECRETS, *secrets_of(url)}, key=len, reverse=True)


def first_line(exc: BaseException) -> str:
    """The driver's message, its first line, without any password it may quote."""
    text = str(exc).strip().splitlines()
    return hide(text[0], _SECRETS) if text else type(exc).__name__


def _configure(conn: psycopg.Connection) -> None:
    """No statement waits forever (a lock held elsewhere): the station's pump must go on."""
    conn.execute(f"set statement_timeout = {int(STATEMENT_TIMEOUT * 1000)}")


class Watch:
    """Cuts a connection's socket if the server has not answered in time, so a read blocked on a
    server that holds the connection but never answers (frozen, or its network gone) ends in an error."""

    def __init__(self, conn: psycopg.Connection, seconds: float):
        self.conn = conn
        self.seconds = seconds
        self.cut = False
        self._done = False
        self._lock = threading.Lock()
        self._answered_at = time.monotonic()
        self._timer = self._timer_for(seconds)

    def _timer_for(self, seconds: float) -> threading.Timer:
        timer = threading.Timer(seconds, self._cut)
        timer.daemon = True
        return timer

    def __enter__(self) -> Watch:
        self._answered_at = time.monotonic()
        self._timer.start()
        return self

    def answered(self) -> None:
        """The server answered: it has `seconds` again for the next (a long transaction is not a silent one).
        Only noted: the timer, when it comes, waits again for what is left (no thread per statement)."""
        self._answered_at = time.monotonic()

    def __exit__(self, *_exc: object) -> None:
        with self._lock:  # the connection goes back to the pool after this: never cut it there
            self._done = True
        self._timer.cancel()

    def _cut(self) -> None:
        with self._lock:
            if self._done:
                return
            left = self._answered_at + self.seconds - time.monotonic()
            if left > 0:  # answered since the timer began
                self._timer = self._timer_for(left)
                self._timer.start()
                return
            self.cut = True
            with contextlib.suppress(OSError, psycopg.Error):
                sock = socket.socket(fileno=os.dup(self.conn.pgconn.socket))
                with sock:
                    sock.shutdown(socket.SHUT_RDWR)

    def why(self, exc: BaseException) -> str:
        return f"no answer within {self.seconds:g} s" if self.cut else first_line(exc)


def _check(conn: psycopg.Connection) -> None:
    """The pool's check of a connection it hands out, which a frozen server must not hold forever."""
    with Watch(conn, CONNECT_TIMEOUT):
        ConnectionPool.check_connection(conn)


class Connection:
    """The store's way to the database.

    Uses of the store: url, masked, station, wait, _kwargs, _local (thread-local batch), _pool,
    _closed, _lock, _online, _note and _wake.
    """

    url: str
    masked: str
    station: str
    wait: float
    _kwargs: dict[str, Any]
    _local: threading.local
    _pool: ConnectionPool
    _closed: bool
    _lock: threading.RLock
    _online: bool
    _note: str
    _wake: threading.Event

    def _connect_kwargs(self) -> dict[str, Any]:
        try:
            given = conninfo.conninfo_to_dict(self.url)
        except psycopg.Error:
            raise StoreError(f"database URL {self.masked} cannot be read; expected postgresql://user@host/db") from None
        kwargs: dict[str, Any] = {"application_name": application_name(self.station or "command")}
        if "connect_timeout" not in given:
            kwargs["connect_timeout"] = CONNECT_TIMEOUT
        return kwargs

    @contextlib.contextmanager
    def _direct(self, watched: bool = True) -> Iterator[psycopg.Connection]:
        """One connection outside the pool (schema checks, probes; the listener's, unwatched, lasts)."""
        try:
            conn = psycopg.connect(self.url, autocommit=True, **self._kwargs)
        except psycopg.Error as exc:
            raise OfflineError(f"cannot reach the database {self.masked}: {first_line(exc)}") from None
        with conn, Watch(conn, ANSWER_TIMEOUT) if watched else contextlib.nullcontext():
            yield conn

    def _open_pool(self) -> ConnectionPool:
        pool = ConnectionPool(self.url, min_size=1, max_size=4, kwargs={"autocommit": True, **self._kwargs},
                              open=False, check=_check, reconnect_timeout=30,
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
        watch: Watch | None = None
        patience = self.wait * 4
        try:
            with self._pooled(patience) as conn, Watch(conn, ANSWER_TIMEOUT) as watch, conn.transaction():
                self._local.watch = watch
                try:
                    yield conn
                finally:
                    self._local.watch = None
        except PoolTimeout:
            why = f"no answer within {patience:g} s"
            self._went_offline(why)
            raise OfflineError(f"the database {self.masked} cannot be reached: {why}") from None
        except psycopg.errors.QueryCanceled:  # the server is there: what it was asked waited for a long write
            why = (f"a statement waited over {STATEMENT_TIMEOUT:g} s for another writer: a `faceattend db import` "
                   "or a long change at another door")
            self._went_offline(why)
            raise OfflineError(f"the database {self.masked} is busy: {why}; nothing was written") from None
        except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure):  # the server is there
            raise ConflictError("another door changed the same records at the same moment; nothing was saved: "
                                "try again") from None
        except psycopg.OperationalError as exc:
            why = watch.why(exc) if watch is not None else first_line(exc)
            self._went_offline(why)
            raise OfflineError(f"the database {self.masked} cannot be reached: {why}") from None
        except psycopg.errors.UniqueViolation as exc:
            raise ConflictError(self._conflict(exc)) from None
        except psycopg.errors.ForeignKeyViolation as exc:
            if not (exc.diag.constraint_name or "").endswith("_person_id_fkey"):
                raise StoreError(f"database {self.masked}: {first_line(exc)}") from None
            raise GoneMeanwhile("someone was erased meanwhile at another door or by another command; nothing was "
                                "saved: look again") from None
        except psycopg.Error as exc:
            raise StoreError(f"database {self.masked}: {first_line(exc)}") from None

    @contextlib.contextmanager
    def _pooled(self, timeout: float) -> Iterator[psycopg.Connection]:
        """A connection of the pool; of the new pool when the database came back while this one waited (the
        courier then replaces the pool and closes the old one, failing whoever waits on it)."""
        pool = self._pool
        try:
            conn = pool.getconn(timeout=timeout)
        except PoolClosed:
            if self._pool is pool:
                raise
            pool = self._pool
            conn = pool.getconn(timeout=timeout)
        try:
            with conn:
                yield conn
        finally:
            pool.putconn(conn)

    def _answered(self) -> None:
        """Within a long batch: the server has answered so far, so its watch starts again."""
        watch = getattr(self._local, "watch", None)
        if watch is not None:
            watch.answered()

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

    def _went_offline(self, why: str) -> None:
        with self._lock:
            self._online, self._note = False, why
        self._wake.set()

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
