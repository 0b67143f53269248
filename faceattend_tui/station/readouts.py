"""The log read out: sheets, reports and the audit, as the station's screens ask for them."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from faceattend_tui.attendance import (
    ExportError,
    ExportOptions,
    Report,
    build_report,
    choose_sessions,
    export_attendance,
)
from faceattend_tui.attendance.audit_view import AuditFilter, matching
from faceattend_tui.attendance.export import time_zone
from faceattend_tui.attendance.report import report_groups
from faceattend_tui.station.state import StationState
from faceattend_tui.station.updates import StationError

if TYPE_CHECKING:
    from faceattend_tui.attendance import Attendance, AuditEntry, Store
    from faceattend_tui.attendance.security import Credentials
    from faceattend_tui.attendance.staff import Action


class Readouts(StationState):
    """Exports, reports and the audit log (each read under the station's lock)."""

    if TYPE_CHECKING:  # from the other parts of the station
        def _attendance(self) -> Attendance: ...
        def _store(self) -> Store: ...
        def _authorize(self, action: Action, given: Credentials | str | None) -> str: ...

    def report_groups(self) -> list[str]:
        """The groups a report may be about: those of today and those people were in before."""
        with self.lock:
            return report_groups(self._attendance())


    def audit_entries(self, wanted: AuditFilter) -> list[AuditEntry]:
        """The audit log as the filter keeps it, oldest first."""
        with self.lock:
            return matching(self._store().audit_log(), wanted, time_zone(self.settings.timezone))


    def export(self, options: ExportOptions, session_id: int | None = None, date_from: date | None = None,
               date_to: date | None = None, pin: Credentials | str | None = None, path: Path | None = None) -> Path:
        options = dataclasses.replace(options, zone=self.settings.timezone)  # times on the station's clock
        with self.lock:
            actor = self._authorize("export", pin)
            try:
                return export_attendance(self._store(), self.settings.exports_dir, options, path, session_id,
                                         date_from, date_to, actor, data_root=self.settings.data)
            except ExportError as exc:
                raise StationError(str(exc)) from None


    def running_in_export(self, session_id: int | None = None, date_from: date | None = None,
                          date_to: date | None = None) -> str:
        """The session still running among those an export of these choices writes ("" when none): those
        not in yet show as absent in it."""
        with self.lock:
            try:
                chosen = choose_sessions(self._store(), session_id, date_from, date_to,
                                         time_zone(self.settings.timezone))
            except ExportError:
                return ""
        return next((s.name for s in chosen if s.active), "")


    def report(self, date_from: date, date_to: date, group: str | None = None) -> Report:
        with self.lock:
            try:
                return build_report(self._store(), date_from, date_to, group, self.settings.timezone,
                                    self.settings.locale)
            except ExportError as exc:
                raise StationError(str(exc)) from None
