"""What the screen may use besides the station itself: the records' types and the few helpers that
read or check them. The TUI imports these from `faceattend_tui.station` and nothing below it."""

from __future__ import annotations

from faceattend_tui.attendance import ExportOptions, Person, PersonStatus, Report, RosterRow
from faceattend_tui.attendance.audit_view import AuditFilter, describe_details
from faceattend_tui.attendance.models import AuditEntry, check_text, printable
from faceattend_tui.attendance.security import Credentials
from faceattend_tui.attendance.timetable import Slot, parse_clock, parse_weekday
from faceattend_tui.files import make_private_dir
from faceattend_tui.live.events import CaptureSample

__all__ = ["AuditEntry", "AuditFilter", "CaptureSample", "Credentials", "ExportOptions", "Person", "PersonStatus",
           "Report", "RosterRow", "Slot", "check_text", "describe_details", "make_private_dir", "parse_clock",
           "parse_weekday", "printable"]
