"""The station on time: the clock watched, the timetable followed, sessions left running stopped, the
sheets of ended sessions written."""

from __future__ import annotations

import contextlib
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from faceattend_tui.attendance import OfflineError, StoreError, audit, sheets, timetable
from faceattend_tui.attendance.common import from_iso, to_iso
from faceattend_tui.attendance.export import time_zone
from faceattend_tui.errors import FaceattendError
from faceattend_tui.station.clockwatch import HOLD, JUMP, jump_text
from faceattend_tui.station.state import StationState
from faceattend_tui.station.updates import (
    LEFT_RUNNING_EVERY,
    LOG,
    SHEETS_EVERY,
    STATION_ACTOR,
    TIMETABLE_EVERY,
    Problem,
    RosterChanged,
    StationError,
    Update,
    internal_error,
)

if TYPE_CHECKING:
    from faceattend_tui.attendance import Attendance, Store
    from faceattend_tui.station.updates import LiveChanged, Severity


class Timekeeping(StationState):
    """What the station does as time passes, at each poll."""

    if TYPE_CHECKING:  # from the other parts of the station
        def _attendance(self) -> Attendance: ...
        def _store(self) -> Store: ...
        def now(self) -> datetime: ...
        def stop_left_running(self) -> str: ...
        def _session_changed(self) -> None: ...
        def _folder_name(self, folder: str) -> str: ...
        def _live(self, notice: str = "", severity: Severity = "information", lasting: bool = False,
                  own: bool = False) -> LiveChanged: ...

    def _opened_ahead(self, store: Store, wall: datetime, jump: float) -> list[int]:
        """The sessions this door opened while its clock ran ahead, as it jumps back `jump` seconds to `wall`:
        stamped since its clock last jumped ahead, else over the time it jumped back across."""
        before = wall - timedelta(seconds=jump)
        jumps = [e for e in store.audit_log() if e.action == "clock.jump" and e.details.get("station") == self.name]
        latest = jumps[-1].details if jumps else {}
        since = None
        if isinstance(latest.get("seconds"), int | float) and latest["seconds"] > 0:  # it had jumped ahead
            with contextlib.suppress(ValueError, TypeError):
                since = from_iso(latest.get("now"))
        start = min(since, wall) if since is not None else wall
        return [s.id for s in store.sessions() if start <= s.started_at <= before and s.station in (None, self.name)]

    def _clock_updates(self) -> list[Update]:
        """The wall clock jumped since the last poll: said, audited, and the timetable waits a little."""
        if self.steady is None or self.attendance is None:
            return []
        wall = self.now()
        jump = self.clock_watch.jumped(wall, self.steady())
        if not jump:
            return []
        waits = f"; the timetable waits {HOLD / 60:.0f} minutes" if self.follow_timetable else ""
        with self.lock, contextlib.suppress(StoreError):
            store = self._store()
            if jump < 0:  # back from running ahead: lessons it opened that staff voided already open on their day
                timetable.free_slots_of(store, self._opened_ahead(store, wall, jump))
            audit(store, "clock.jump", {"seconds": round(jump), "now": to_iso(wall), "station": self.name},
                  STATION_ACTOR)
        text = (f"the clock jumped {jump_text(jump)} (now {wall:%Y-%m-%d %H:%M}): check-ins go by it; check the "
                f"machine's time (NTP, timedatectl){waits}")
        said: list[Update] = [self._live(text, "error")]
        active = self.attendance.active
        if (active is not None and active.station in (None, self.name)  # another door's clock is not this one's
                and (active.started_at - wall).total_seconds() > JUMP):  # opened on the wrong date
            said.append(Problem(f"the running session {active.name!r} started at {active.started_at:%Y-%m-%d %H:%M}, "
                                "a time still to come: it was opened while the clock was wrong; if it should not "
                                "run, stop it and void it (h, then v)"))
        return said


    def _left_running_updates(self) -> list[Update]:
        """Now and then: a session left running since an earlier working day while the station ran on
        (nobody stopped it on Friday) is stopped at its last record, as at a start, so that Monday's arrivals
        do not go into it, late."""
        if (not self.follow_timetable or self.attendance is None or self.attendance.active is None
                or time.monotonic() < self._left_next):
            return []  # a headless run with --session starts its session again itself (`new_day`)
        if self.steady is not None and self.clock_watch.holding(self.steady()):
            return []  # the clock just jumped: a glitch of a day ahead is no reason
        self._left_next = time.monotonic() + LEFT_RUNNING_EVERY
        if self.store is not None and not self.store.state().online:
            return []
        try:
            said = self.stop_left_running()
        except StationError as exc:
            return [Problem(f"could not stop the session left running: {exc}")]
        return [RosterChanged(), self._live(said, "warning", lasting=True, own=True)] if said else []

    def _timetable_updates(self) -> list[Update]:
        """Every few seconds: open the timetable's slot that is due, or close the one that ended."""
        if not self.follow_timetable or self.attendance is None or time.monotonic() < self._timetable_next:
            return []
        if self.steady is not None and self.clock_watch.holding(self.steady()):
            return []  # the clock just jumped: a glitch would open a slot of the wrong day
        self._timetable_next = time.monotonic() + TIMETABLE_EVERY
        if self.store is not None and not self.store.state().online:
            return []  # a shared database away (the header says so): not waited on at each poll, the lock held
        lost = None
        with self.lock:
            running = self.attendance.active
            try:
                said = timetable.step(self.attendance, self.now(), time_zone(self.settings.timezone), self.name)
                if said and running is not None:  # it closed a session: its sheet goes to export_dir,
                    self._queue_sheet(running.id)  # and the next slot, back to back, opens on the next poll
                    self._timetable_next = 0.0
                    lost = self._kept_for_closed(running.name)
            except OfflineError:  # the shared database is away (the header says so): tried again on its return
                return []
            except FaceattendError as exc:  # e.g. a slot's group that no one is in; tried again, said once
                said_before, self._timetable_problem = self._timetable_problem, str(exc)
                return [] if said_before == str(exc) else [Problem(f"the timetable could not open or close a "
                                                                   f"session: {exc}")]
            except Exception as exc:  # a bug: the station goes on recording
                return [internal_error("following the timetable", exc)]
        self._timetable_problem = ""
        if not said:
            return self._held_back()
        self._session_changed()
        return [RosterChanged(), self._live(said), *([lost] if lost is not None else [])]

    def _held_back(self) -> list[Update]:
        """A slot due while a session staff started by hand runs: said once (each time it comes about),
        lasting, for staff to stop it."""
        with self.lock:
            waiting = timetable.held_back(self._attendance(), self.now(), time_zone(self.settings.timezone),
                                          self.name)
        said, self._held_said = self._held_said, waiting  # nothing held back now: the next clash is said again
        if not waiting or waiting == said:
            return []
        LOG.warning("%s", waiting)
        return [self._live(waiting, "warning", lasting=True)]

    def _kept_for_closed(self, name: str) -> Problem | None:
        """The check-ins still kept (the disk refused them) when their session ended: named, for staff to mark
        by hand; they cannot go into a session that has ended."""
        if not self._unsaved:
            return None
        kept, self._unsaved = self._unsaved, []
        named = ", ".join(f"{self._folder_name(e.folder)} at {datetime.fromtimestamp(e.time).astimezone():%H:%M:%S}"
                          for e in kept)
        LOG.warning("check-ins not written before %r ended: %s", name, named)
        return Problem(f"{name!r} ended before these check-ins could be written: {named}; "
                       "mark them by hand once the disk allows (h: past sessions)")


    def _queue_sheet(self, session_id: int) -> None:
        """Note an ended session's sheet for export_dir (kept in the log until written); written on the next poll."""
        if self.settings.export_dir:
            sheets.queue(self._store(), self.name, session_id)
            self._sheets_next = 0.0


    def flush_sheets(self) -> list[Update]:
        """Write the sheets still to go to export_dir now, as a station about to exit: a sheet that
        cannot be written stays in the log for the next station started here."""
        self._sheets_next = 0.0
        return self._sheet_updates("it waits in the log for the next station started here")


    def _sheet_updates(self, then: str = "retrying") -> list[Update]:
        """Write the sheets still to go to export_dir; a failure is said and tried again a little later."""
        folder = self.settings.sheets_dir
        if folder is None or self.store is None or time.monotonic() < self._sheets_next:
            return []
        self._sheets_next = time.monotonic() + SHEETS_EVERY
        with self.lock:
            try:
                drop = sheets.write_pending(self.store, self.name, folder, self.settings.export_formats,
                                            self.settings.timezone, STATION_ACTOR)
            except StoreError as exc:
                return [self._live(f"the sheets for {folder} could not be checked: {exc}", "error")]
        if drop.problem:
            return [self._live(f"{drop.problem}; {then}", "error")]
        return [self._live(f"the sheet {path.name} is in {folder}") for path in drop.written]

    def zone_notice(self) -> str:
        """The doors of a shared database each read the one timetable in their own zone (the timezone
        setting, else their machine's): a door whose zone differs from another's, in winter or in summer,
        opens the slots at other hours. Each door notes its zone in the database as it starts; a
        difference is said."""
        if self.store is None or not self.settings.database:
            return ""
        name, now = self.settings.timezone or "", self.now()
        offsets = _offsets(now.year, name)
        with self.lock:
            try:
                zones = self.store.update_setting(ZONES_SETTING, lambda old: {
                    **(old or {}), self.name: [name, *offsets, now.date().isoformat()]})
                slots = timetable.slots_of(self.store)
            except StoreError:
                return ""
        recent = (now.date() - timedelta(days=ZONE_DAYS)).isoformat()
        others = [(door, str(z[0]), _offsets(now.year, z[0], z[1:3])) for door, z in sorted(zones.items())
                  if door != self.name and isinstance(z, list) and len(z) == 4 and str(z[3]) >= recent]
        differ = [(door, other, theirs) for door, other, theirs in others if theirs != offsets]
        if not slots or not differ:
            return ""
        door, other, theirs = differ[0]
        return (f"door {door!r} reads the timetable in {_zone_words(other, theirs)}, this one in "
                f"{_zone_words(name, offsets)}: the same slot opens at other hours; set the same timezone in "
                "faceattend.toml at every door")


ZONES_SETTING = "station_zones"  # {station: [timezone setting, UTC offsets in January and July, day noted]}
ZONE_DAYS = 30  # a door not started for this long is not compared


def _offsets(year: int, name: object, noted: object = None) -> tuple[int, int]:
    """Minutes east of UTC in mid-January and mid-July in the zone named; one without a name (a machine's
    own) as noted by its door (None: this machine's)."""
    zone = None
    if isinstance(name, str) and name:
        with contextlib.suppress(FaceattendError):
            zone = time_zone(name)
    if zone is None and isinstance(noted, list) and len(noted) == 2 and all(isinstance(v, int) for v in noted):
        return noted[0], noted[1]

    def minutes(month: int) -> int:
        moment = datetime(year, month, 15, 12)
        offset = (moment.replace(tzinfo=zone) if zone is not None else moment.astimezone()).utcoffset()
        return int(offset.total_seconds() // 60) if offset is not None else 0

    return minutes(1), minutes(7)


def _zone_words(name: object, offsets: tuple[int, int]) -> str:
    def clock(minutes: int) -> str:
        return f"UTC{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"

    when = clock(offsets[0]) if offsets[0] == offsets[1] else f"{clock(offsets[0])} in January, {clock(offsets[1])} " \
        "in July"
    return f"{name} ({when})" if isinstance(name, str) and name else f"its machine's zone ({when}, no timezone set)"
