"""The station's dialogs, one module each; `base` holds what they share (Dialog, Access, the PIN fields).

Re-exported here so the app (and anything else) imports them from `faceattend_tui.tui.screens`.
"""

from faceattend_tui.tui.screens.audit import AuditScreen
from faceattend_tui.tui.screens.base import (
    DIALOG_READS,
    EVERYONE,
    STATION_CALLS,
    Access,
    Dialog,
    Pin,
    Request,
    Secret,
    StaffName,
    Submit,
    buttons,
    parse_day,
    parse_minutes,
    pin_fields,
)
from faceattend_tui.tui.screens.confirm import Confirmed, ConfirmScreen
from faceattend_tui.tui.screens.days import CorrectRequest, CorrectScreen, DaysScreen
from faceattend_tui.tui.screens.detail import DetailScreen, camera_line, person_details, when
from faceattend_tui.tui.screens.enroll import EnrollRequest, EnrollScreen
from faceattend_tui.tui.screens.export import ExportRequest, ExportScreen
from faceattend_tui.tui.screens.help import KEY_NAMES, HelpScreen, help_text
from faceattend_tui.tui.screens.history import HistoryChoice, PastSessionsScreen
from faceattend_tui.tui.screens.mark import MarkRequest, MarkScreen
from faceattend_tui.tui.screens.own_pin import OwnPinScreen, PinChange
from faceattend_tui.tui.screens.remove import RemoveRequest, RemoveScreen
from faceattend_tui.tui.screens.report import ReportScreen
from faceattend_tui.tui.screens.roster_import import ImportRequest, ImportScreen
from faceattend_tui.tui.screens.session_edit import (
    EditRequest,
    EditSessionScreen,
    VoidRequest,
    VoidScreen,
    session_state,
    session_when,
)
from faceattend_tui.tui.screens.start import SessionRequest, StartSessionScreen
from faceattend_tui.tui.screens.timetable import (
    DayOffRequest,
    DayOffScreen,
    SlotRequest,
    SlotScreen,
    TimetableSave,
    TimetableScreen,
)

__all__ = [
    "DIALOG_READS", "EVERYONE", "KEY_NAMES", "STATION_CALLS", "Access", "AuditScreen", "ConfirmScreen", "Confirmed",
    "CorrectRequest", "CorrectScreen", "DayOffRequest", "DayOffScreen", "DaysScreen", "DetailScreen", "Dialog",
    "EditRequest", "EditSessionScreen", "EnrollRequest", "EnrollScreen", "ExportRequest", "ExportScreen",
    "HelpScreen", "HistoryChoice", "ImportRequest", "ImportScreen", "MarkRequest", "MarkScreen", "OwnPinScreen",
    "PastSessionsScreen", "PinChange",
    "Pin", "RemoveRequest", "RemoveScreen", "ReportScreen", "Request", "Secret", "SessionRequest", "SlotRequest",
    "SlotScreen", "StaffName", "StartSessionScreen", "Submit", "TimetableSave", "TimetableScreen", "VoidRequest",
    "VoidScreen", "buttons", "camera_line", "help_text", "parse_day", "parse_minutes", "person_details", "pin_fields",
    "session_state", "session_when", "when",
]
