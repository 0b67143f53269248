"""What the screen may use besides the station itself: the records' types and the few helpers that
read or check them. The TUI imports these from `faceattend_tui.station` and nothing below it."""

from __future__ import annotations

from faceattend_tui.attendance import (
    Checkin,
    Counts,
    ExportOptions,
    Mark,
    Person,
    PersonStatus,
    Report,
    RosterRow,
    Session,
    Summary,
)
from faceattend_tui.attendance.audit_view import AuditFilter, describe_details
from faceattend_tui.attendance.common import MAX_LATE_MINUTES
from faceattend_tui.attendance.hours import DayHours
from faceattend_tui.attendance.models import AuditEntry, check_text, printable
from faceattend_tui.attendance.report import chart_bars
from faceattend_tui.attendance.security import Credentials
from faceattend_tui.attendance.session_edit import Edit
from faceattend_tui.attendance.timetable import Slot, parse_clock, parse_weekday
from faceattend_tui.files import make_private_dir
from faceattend_tui.live.events import BLURRED, CaptureResult, CaptureSample

__all__ = ["BLURRED", "MAX_LATE_MINUTES",
           "AuditEntry", "AuditFilter", "CaptureResult", "CaptureSample", "Checkin", "Counts", "Credentials",
           "DayHours", "Edit",
           "ExportOptions",
           "Mark", "Person", "PersonStatus", "Report", "RosterRow", "Session", "Slot", "Summary", "check_text",
           "chart_bars", "describe_details", "make_private_dir", "parse_clock", "parse_weekday", "printable"]
