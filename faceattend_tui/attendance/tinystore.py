"""The attendance log as one TinyDB file in the data root: the names others import, from `tiny`."""

from __future__ import annotations

from .tiny.files import (
    LOG_NAME,
    READ_LIMIT,
    UNCHANGED,
    MemoryStorage,
    append_line,
    default_path,
    load_log,
    read_lines,
)
from .tiny.journal import FOLD_BYTES
from .tiny.store import TinyStore, open_snapshot, open_store
from .tiny.tables import APPLY, TABLES
from .upgrade import SCHEMA_VERSION

__all__ = ["APPLY", "FOLD_BYTES", "LOG_NAME", "READ_LIMIT", "SCHEMA_VERSION", "TABLES", "UNCHANGED", "MemoryStorage",
           "TinyStore", "append_line", "default_path", "load_log", "open_snapshot", "open_store", "read_lines"]
