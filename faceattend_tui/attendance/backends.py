"""Choosing the log's backend: the TinyDB file in the data root, or a PostgreSQL database shared by stations.

`database` is the `database` setting: "" for the file, or a `postgresql://` URL. Passwords are
best left out of the URL (libpq reads PGPASSWORD and ~/.pgpass); TLS parameters such as
`sslmode` pass through to libpq as they are.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import ModuleType

from . import tinystore
from .common import Clock
from .pgschema import is_database_url, mask_url
from .store import Store, StoreError

INSTALL_HINT = ("PostgreSQL support is not installed: from faceattend's source folder, "
                f"{sys.executable} -m pip install '.[postgres]' (installed from a wheel: "
                f"{sys.executable} -m pip install 'psycopg[binary]>=3.3' 'psycopg-pool>=3.2')")


def check_database(database: str) -> None:
    """Refuse a `database` value that is neither empty nor a PostgreSQL URL (named masked)."""
    if database and not is_database_url(database):
        raise StoreError(f"database = {mask_url(database)!r} is not a postgresql:// URL: write it as "
                         "postgresql://user@host/dbname with the password in ~/.pgpass or PGPASSWORD (or leave it "
                         "empty for the attendance file in the data root)")


def _pg() -> ModuleType:
    try:
        from . import pgstore
    except ImportError:
        raise StoreError(INSTALL_HINT) from None
    return pgstore


def open_store(data_root: str | os.PathLike, *, database: str = "", clock: Clock | None = None, station: str = "",
               live: bool = False, wait: float | None = None, upgrade_mode: str = "refuse") -> Store:
    """The log to write to. A live station (shared database) keeps its journal of waiting check-ins in `data_root`."""
    check_database(database)
    if not database:
        return tinystore.open_store(data_root, clock=clock)
    pg = _pg()
    return pg.open_pg(database, clock=clock, station=station, live=live,
                      journal_dir=Path(data_root) if live else None, wait=wait or pg.WAIT, upgrade_mode=upgrade_mode)


def open_snapshot(data_root: str | os.PathLike, *, database: str = "", clock: Clock | None = None) -> Store:
    """The log to read (exports, reports) while stations write."""
    check_database(database)
    if not database:
        return tinystore.open_snapshot(data_root, clock=clock)
    return _pg().open_pg(database, clock=clock)

