"""Headless attendance core: the log behind one interface, its rules, exports, reports and security.

Nothing here imports Textual or the recognition code; the station, the TUI and the CLI are its clients.
"""

from .backends import open_snapshot, open_store
from .export import (
    ExportError,
    ExportOptions,
    NothingToExport,
    choose_sessions,
    export_attendance,
    export_session,
    export_sessions,
    sessions_in_range,
)
from .models import (
    ABSENT,
    ACTIVE,
    LATE,
    LEFT,
    NO_SESSION,
    PRESENT,
    AuditEntry,
    Checkin,
    Counts,
    Mark,
    Person,
    PersonStatus,
    RosterRow,
    Session,
)
from .report import Report, build_report, report_csv, report_json
from .roster import ImportPlan, RosterError, apply_import, plan_import, read_roster
from .security import (
    LockedError,
    PinError,
    acquire_lock,
    audit,
    current_user,
    hash_pin,
    verify_pin,
)
from .sessions import (
    Attendance,
    CheckinResult,
    NoActiveSessionError,
    SessionActiveError,
    SessionError,
    Summary,
    SyncResult,
    summarize,
)
from .store import Change, ConflictError, FoldError, NotFoundError, OfflineError, Store, StoreError, StoreState
from .tinystore import SCHEMA_VERSION, TinyStore

__all__ = [
    "ABSENT", "ACTIVE", "LATE", "LEFT", "NO_SESSION", "PRESENT", "SCHEMA_VERSION",
    "Attendance", "AuditEntry", "Change", "Checkin", "CheckinResult", "ConflictError", "Counts", "ExportError",
    "ExportOptions", "ImportPlan", "LockedError", "Mark", "NoActiveSessionError", "NotFoundError", "NothingToExport",
    "FoldError", "OfflineError", "Person",
    "PersonStatus", "PinError", "Report", "RosterError", "RosterRow", "Session", "SessionActiveError",
    "SessionError", "Store", "StoreError", "StoreState", "Summary", "SyncResult", "TinyStore",
    "acquire_lock", "apply_import", "audit", "build_report", "choose_sessions", "current_user",
    "export_attendance", "export_session", "export_sessions", "hash_pin", "open_snapshot", "open_store",
    "plan_import", "read_roster", "report_csv", "report_json", "sessions_in_range",
    "summarize", "verify_pin",
]
