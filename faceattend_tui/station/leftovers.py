"""What an earlier run left behind that the station must not carry on silently: a session left
running since an earlier day (a crash, a dropped connection), and people whose photos have no
templates (an import cut short)."""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING

from faceattend_tui.attendance.common import from_iso
from faceattend_tui.attendance.export import time_zone
from faceattend_tui.attendance.hours import working_day
from faceattend_tui.attendance.models import Person, plural
from faceattend_tui.attendance.security import erased_folders
from faceattend_tui.attendance.sessions import misplaced_folders
from faceattend_tui.attendance.store import EndedElsewhere
from faceattend_tui.errors import FaceattendError
from faceattend_tui.gallery.extract import removed_photos, removed_text, to_rename, without_templates
from faceattend_tui.gallery.templates import GalleryError, load_manifest
from faceattend_tui.station.people import misplaced_note, refused_note
from faceattend_tui.station.state import StationState
from faceattend_tui.station.updates import STATION_ACTOR, StationError

if TYPE_CHECKING:
    from faceattend_tui.attendance import Attendance, Session

STALE_AFTER = timedelta(hours=12)  # a session of an earlier working day started longer ago is not resumed


def left_running(session: Session, now: datetime, zone: tzinfo | None, day_change: time) -> bool:
    """Whether `session` was left running since an earlier working day, over STALE_AFTER ago (a night
    shift past midnight goes on)."""
    earlier = working_day(session.started_at, zone, day_change) < working_day(now, zone, day_change)
    return earlier and now - session.started_at >= STALE_AFTER


def _last_record(attendance: Attendance, session: Session) -> datetime:
    """The session's last check-in or mark, or its start when it has none."""
    people = attendance.summary(session.id).people
    times = [p.checkin.time for p in people if p.checkin] + [p.mark.at for p in people if p.mark]
    return max([session.started_at, *times])


class Leftovers(StationState):
    """Said or put right as the station opens."""

    if TYPE_CHECKING:  # from the other parts of the station
        def _attendance(self) -> Attendance: ...
        def now(self) -> datetime: ...
        def _session_changed(self) -> None: ...
        def _queue_sheet(self, session_id: int) -> None: ...

    def last_record(self, session: Session) -> datetime:
        """The session's last check-in or mark, or its start when it has none."""
        with self.lock:
            return _last_record(self._attendance(), session)

    def stop_left_running(self) -> str:
        """A session left running since an earlier day, stopped by the station at its last record (so that
        today's arrivals do not go into it, late); what was done, in words ("" when nothing was)."""
        zone = time_zone(self.settings.timezone)
        with self.lock:
            attendance = self._attendance()
            running = attendance.active
            if running is None or not left_running(running, self.now(), zone, self.settings.day_change):
                return ""
            try:
                stopped = attendance.stop_session(user=STATION_ACTOR, at=_last_record(attendance, running))
            except EndedElsewhere:
                return ""  # another door stopped it a moment ago, and says so
            except FaceattendError as exc:
                raise StationError(str(exc)) from None
            self._queue_sheet(stopped.id)
        self._session_changed()
        ended = stopped.ended_at.astimezone(zone) if stopped.ended_at else stopped.started_at.astimezone(zone)
        return (f"session {stopped.name!r} was left running since {stopped.started_at.astimezone(zone):%Y-%m-%d %H:%M}:"
                f" stopped at its last record ({ended:%Y-%m-%d %H:%M}); start today's with s")

    def cut_off_notice(self) -> str:
        """The station before this one ended without closing (a crash, a power cut, a killed terminal):
        from its last record until now nothing was recorded, and staff should know whom to mark by hand."""
        left = self.cut_off
        if not left:
            return ""
        zone = time_zone(self.settings.timezone)
        try:
            started: datetime | None = from_iso(str(left.get("since")))
        except (TypeError, ValueError):
            started = None
        began = f"{started.astimezone(zone):%Y-%m-%d %H:%M}" if started is not None else "?"
        last = max(filter(None, [self.found_at_open, started]), default=None)  # it recorded nothing: its start
        since = f" from its last record ({last.astimezone(zone):%Y-%m-%d %H:%M})" if last else ""
        return (f"the station before this one (pid {left.get('pid', '?')}, since {began}) ended "
                f"without closing (a crash, a power cut or a killed terminal): nothing was recorded{since} until "
                "now; mark by hand anyone who came meanwhile")

    def untemplated_notice(self) -> str:
        """People whose photos have no templates (an import or a save cut short, or photos without a usable
        face): not recognised, so marked absent, until something is done."""
        try:
            manifest = load_manifest(self.settings.tensors_dir)
        except GalleryError:
            return ""  # said by the gallery's own warnings
        found, unusable = without_templates(self.settings.images_dir, manifest.people if manifest else ())
        rename = (f"{plural(len(unusable), 'photo folder has a name', 'photo folders have names')} extraction cannot "
                  f"use: {to_rename(unusable)[:300]}; rename them and run `faceattend extract`") if unusable else ""
        removed = removed_text(removed_photos(self.settings.images_dir, manifest), self._folder_label)
        return "; ".join(filter(None, [self._waiting_notice(found), rename, removed]))

    def _folder_label(self, folder: str) -> str:
        with self.lock:
            person = self._attendance().by_folder(folder)
        return f"{person.name} ({person.id})" if person is not None else folder

    def _waiting_notice(self, found: list[str]) -> str:
        if not found:
            return ""
        with self.lock:
            attendance = self._attendance()
            people = {folder: attendance.by_folder(folder) for folder in found}
            erased = erased_folders(attendance.store)
            whose = misplaced_folders(attendance.people(include_left=True))
        waiting = [folder for folder, person in people.items() if person is None or person.active]
        put_back = [folder for folder in waiting if people[folder] is None and erased(folder)]
        misplaced = [(folder, owner) for folder in waiting if folder not in put_back and (owner := whose(folder))]
        waiting = [folder for folder in waiting if folder not in put_back and whose(folder) is None]
        return "; ".join([*map(refused_note, put_back), *(misplaced_note(*pair) for pair in misplaced),
                          *([self._waiting_text(waiting, people)] if waiting else [])])

    def _waiting_text(self, waiting: list[str], people: dict[str, Person | None]) -> str:
        named = [people[folder] for folder in waiting]
        names = ", ".join(f"{p.name} ({p.id})" if p else folder for p, folder in zip(named, waiting, strict=True))
        return (f"{plural(len(waiting), 'person has', 'people have')} photos but no templates and cannot be "
                f"recognised: {names[:300]}{' ...' if len(names) > 300 else ''}; run `faceattend extract` (it "
                "says which photos have no usable face), or import the roster again")
