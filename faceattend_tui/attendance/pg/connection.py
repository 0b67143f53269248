"""Connections to the database: the pool, transactions, batches, and the schema check at open."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from ..pgschema import LATEST, application_name, current_version, hide, other_versions, secrets_of, upgrade
from ..store import ConflictError, OfflineError, StoreError

WAIT = 0.5  # seconds a check-in waits for the database before it goes to the local journal
CONNECT_TIMEOUT = 3  # seconds (libpq's connect_timeout) unless the URL says otherwise
STATEMENT_TIMEOUT = 15.0  # seconds

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
