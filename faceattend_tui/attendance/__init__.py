"""Headless attendance core: the log, session rules, export and station security.

Nothing here imports Textual; the TUI and the CLI are clients of this package.
"""

from .export import ExportError, export_attendance, export_range, export_session, sessions_in_range, to_csv, to_json
from .models import (
    ABSENT,
    CAMERA,
    LATE,
    MANUAL,
    NO_SESSION,
    PRESENT,
    AuditEntry,
    Checkin,
    Counts,
    Person,
    RosterRow,
    Session,
)
from .security import (
    LockedError,
    StationLock,
    acquire_lock,
    audit,
    check_pin,
    current_user,
    hash_pin,
    pin_required,
    set_pin,
    verify_pin,
)
from .sessions import (
    Attendance,
    CheckinResult,
    NoActiveSessionError,
    PersonStatus,
    SessionActiveError,
    SessionError,
    Summary,
    summarize,
)
from .store import SCHEMA_VERSION, NotFoundError, Store, StoreError, open_store

__all__ = [
    "ABSENT", "CAMERA", "LATE", "MANUAL", "NO_SESSION", "PRESENT", "SCHEMA_VERSION",
    "Attendance", "AuditEntry", "Checkin", "CheckinResult", "Counts", "ExportError", "LockedError",
    "NoActiveSessionError", "NotFoundError", "Person", "PersonStatus", "RosterRow", "Session", "SessionActiveError",
    "SessionError", "StationLock", "Store", "StoreError", "Summary",
    "acquire_lock", "audit", "check_pin", "current_user", "export_attendance", "export_range", "export_session",
    "hash_pin",
    "open_store", "pin_required", "sessions_in_range", "set_pin", "summarize", "to_csv", "to_json",
    "verify_pin",
]
