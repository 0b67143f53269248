"""Work mode through the station: hours over a period, a person's days, and a day corrected by hand."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from faceattend_tui.attendance.corrections import Correction, DayCut, clear_correction, correct_typed
from faceattend_tui.attendance.export import time_zone
from faceattend_tui.attendance.hours import DayHours, DayRule, hours_between, in_group, people_of, totals, with_unseen
from faceattend_tui.errors import FaceattendError
from faceattend_tui.station.state import StationState
from faceattend_tui.station.updates import StationError

if TYPE_CHECKING:
    from faceattend_tui.attendance import Person, Store
    from faceattend_tui.attendance.security import Credentials
    from faceattend_tui.attendance.staff import Action


class Hours(StationState):
    """Hours at a workplace: what the reports show, and corrections (permission "hours", audited)."""

    if TYPE_CHECKING:  # from the other parts of the station
        def _store(self) -> Store: ...
        def _authorize(self, action: Action, given: Credentials | str | None) -> str: ...

    def _rule(self) -> DayRule:
        return DayRule(time_zone(self.settings.timezone), self.settings.day_change)

    def _lines(self, date_from: date, date_to: date, people: list[Person] | None = None,
               group: str | None = None) -> list[DayHours]:
        with self.lock:
            return hours_between(self._store(), date_from, date_to, self.settings.out_after, group,
                                 self.settings.locale, self._rule(), people)

    def hours(self, date_from: date, date_to: date, group: str | None = None) -> list[dict]:
        """Work mode: per person over the period, the days seen, the hours, the days to check and the
        days corrected (id, name, days, hours, to_check, corrected, left), everyone on the roster of the
        group included (0 days: not seen)."""
        with self.lock:
            people = people_of(self._store(), group)
        lines = self._lines(date_from, date_to, people, group)
        members = [p for p in people if in_group(p, group)]  # the unseen listed: who is in the group now
        return with_unseen(totals(lines, self.settings.locale), members, self.settings.locale)

    def days_of(self, person_id: str, date_from: date, date_to: date, group: str | None = None) -> list[DayHours]:
        """Work mode: one person's days over the period, oldest first, as the hours report has them (with
        `group`, the days they were in it: those its line counts)."""
        return [line for line in self._lines(date_from, date_to, group=group) if line.person.id == person_id]

    def correct_hours(self, person_id: str, day: date, came: str | None, left: str | None, reason: str,
                      pin: Credentials | str | None = None) -> Correction:
        """Set a day's in and/or out (HH:MM on the station's clock), with a reason; audited."""
        cut = DayCut(time_zone(self.settings.timezone), self.settings.day_change)
        with self.lock:
            actor = self._authorize("hours", pin)
            try:
                # on the screen a day is one dialog: both ends at once, so nothing is kept unseen
                return correct_typed(self._store(), person_id, day, (came, left), reason, actor, cut, whole=True)[0]
            except FaceattendError as exc:
                raise StationError(str(exc)) from None

    def clear_hours(self, person_id: str, day: date, reason: str, pin: Credentials | str | None = None,
                    shown: str | None = None) -> None:
        """Take a day's correction back: the day is as the doors saw it again; audited. With `shown` (the
        correction as staff saw it), refused when another door changed it since."""
        with self.lock:
            actor = self._authorize("hours", pin)
            try:
                cleared = clear_correction(self._store(), person_id, day, reason, actor, shown)
            except FaceattendError as exc:
                raise StationError(str(exc)) from None
        if not cleared:
            raise StationError(f"{day} has no correction to take back")
