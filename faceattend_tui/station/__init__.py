"""The attendance station without its screen: the log, the live worker and the roster together.

The TUI is one client of this class (the tests drive it directly too). Worker events come in as
`live.events` records and go out as the typed updates below; a check-in is written to the log
before the update that shows it is returned. Every method may be called from any thread: one lock
keeps the log single-writer.
"""

from __future__ import annotations

from faceattend_tui.station.actions import NO_SESSION
from faceattend_tui.station.api import (
    BLURRED,
    MAX_LATE_MINUTES,
    AuditEntry,
    AuditFilter,
    CaptureResult,
    CaptureSample,
    Checkin,
    Counts,
    Credentials,
    DayHours,
    Edit,
    ExportOptions,
    Mark,
    Person,
    PersonStatus,
    Report,
    RosterRow,
    Session,
    Slot,
    Summary,
    chart_bars,
    check_text,
    describe_details,
    make_private_dir,
    parse_clock,
    parse_weekday,
    printable,
)
from faceattend_tui.station.core import Station
from faceattend_tui.station.leftovers import left_running
from faceattend_tui.station.people import PhotoWatch
from faceattend_tui.station.sync import shared_log
from faceattend_tui.station.translator import door_outcome
from faceattend_tui.station.updates import (
    STATION_ACTOR,
    STATION_LOG,
    CaptureDone,
    CheckinShown,
    DatabaseUnreachable,
    EnrollTarget,
    LiveChanged,
    LiveState,
    LogKept,
    PinRefused,
    Problem,
    RosterChanged,
    Sighting,
    StationError,
    StoppedElsewhere,
    UnknownFaces,
    Update,
    Whom,
    internal_error,
)

__all__ = [
    "BLURRED", "MAX_LATE_MINUTES",
    "AuditEntry", "AuditFilter", "CaptureResult", "CaptureSample", "Checkin", "Counts", "Credentials", "DayHours",
    "Edit",
    "ExportOptions", "Mark",
    "Person", "PersonStatus", "Report", "RosterRow", "Session", "Slot", "Summary", "chart_bars", "check_text",
    "describe_details", "make_private_dir", "parse_clock", "parse_weekday", "printable",
    "Station", "PhotoWatch", "left_running", "NO_SESSION",
    "door_outcome", "shared_log", "STATION_LOG", "STATION_ACTOR", "internal_error", "StationError",
    "PinRefused", "StoppedElsewhere", "DatabaseUnreachable", "LiveState", "CheckinShown", "Sighting",
    "UnknownFaces", "CaptureDone", "LiveChanged", "RosterChanged", "Problem", "Update", "EnrollTarget", "Whom",
    "LogKept",
]
