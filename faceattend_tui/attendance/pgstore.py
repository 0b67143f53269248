"""The attendance log in PostgreSQL, shared by the stations of several doors: the names others import, from `pg`."""

from __future__ import annotations

from .pg.connection import (
    CONNECT_TIMEOUT,
    STATEMENT_TIMEOUT,
    UPGRADE_FORCE,
    UPGRADE_REFUSE,
    WAIT,
    first_line,
)
from .pg.listener import CACHED_SESSIONS, Cached
from .pg.outbox import JOURNAL_NAME, SEND_BATCH, TICK, Outbox
from .pg.store import PgStore, open_pg
from .pg.templates import TemplateRow, TemplateSet

__all__ = ["CACHED_SESSIONS", "CONNECT_TIMEOUT", "JOURNAL_NAME", "SEND_BATCH", "STATEMENT_TIMEOUT", "TICK",
           "UPGRADE_FORCE", "UPGRADE_REFUSE", "WAIT", "Cached", "Outbox", "PgStore", "TemplateRow", "TemplateSet",
           "first_line", "open_pg"]
