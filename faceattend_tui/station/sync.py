"""A log shared with other stations: what they wrote comes in as updates."""

from __future__ import annotations

import contextlib
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from faceattend_tui.attendance import (
    Change,
    Checkin,
    StoreError,
    open_snapshot,
)
from faceattend_tui.attendance.security import PIN_SETTING
from faceattend_tui.attendance.staff import ACCOUNTS_SETTING
from faceattend_tui.attendance.tiny.files import LOG_NAME
from faceattend_tui.config import TENSORS_DIR, Settings
from faceattend_tui.live import events as ev
from faceattend_tui.station.shared_gallery import STATE_NAME
from faceattend_tui.station.state import StationState
from faceattend_tui.station.updates import (
    DATABASE_ONLINE,
    CheckinShown,
    Problem,
    RosterChanged,
    Update,
)

if TYPE_CHECKING:

    from faceattend_tui.attendance import Attendance, Counts
    from faceattend_tui.station.updates import LiveChanged, Severity, Worker


class SharedSync(StationState):
    """Taking in what other stations wrote."""

    if TYPE_CHECKING:  # from the other parts of the station
        def _attendance(self) -> Attendance: ...
        def _worker(self) -> Worker: ...
        def _names(self) -> dict[str, str]: ...
        def _person_label(self, person_id: str) -> str: ...
        def share_gallery(self) -> bool: ...
        def _live(self, notice: str = "", severity: Severity = "information", lasting: bool = False,
                  own: bool = False) -> LiveChanged: ...
        def _session_changed(self) -> None: ...
        def _tell_door(self, command: ev.Command) -> None: ...
        def _door_session(self, counts: Counts | None = None) -> ev.SetSession: ...

    # The two below read the roster as last loaded without the lock (single lookups): the screen never
    # waits for a check-in or an import being written.

    def folder_of(self, person_id: str) -> str:
        """A person's photo folder ("" for none, or nobody)."""
        attendance = self.attendance
        person = attendance.person(person_id) if attendance is not None and person_id else None
        return person.folder or "" if person is not None else ""

    def known_as(self, person_id: str, folder: str) -> str | None:
        """The id someone known as `person_id` (with this photo folder) has now: the same, the one a roster
        import gave them, or None when nobody is (erased)."""
        attendance = self.attendance
        if attendance is None or attendance.person(person_id) is not None:
            return person_id
        moved = attendance.by_folder(folder) if folder else None
        return moved.id if moved is not None else None


    def _shared_updates(self) -> list[Update]:
        """What other stations wrote (check-ins, people, sessions, templates) and the database's state."""
        updates: list[Update] = []
        if self.store is None:
            return updates
        try:
            updates += self._changes(self.store.changes())
        except StoreError as exc:
            updates.append(Problem(f"could not read what other stations wrote: {exc}"))
        notes, self._gallery_notes = self._gallery_notes, []
        updates += [self._live(note, "warning", own=True) for note in notes]  # templates this door could not take
        state = self.store.state()
        if shared_log(self.settings):
            words = DATABASE_ONLINE if state.online else f"database offline, {state.waiting} waiting"
            went = state.online != (self.live.database == DATABASE_ONLINE)  # open() said online: going away or back
            if words != self.live.database:  # the header; a count waiting that grows is no news
                self.live.database = words
                notice = "" if not went else ("the database is back; waiting check-ins were sent" if state.online
                                              else f"the database is away or busy ({state.note}); check-ins are "
                                                   "kept here and sent when it answers")
                updates.append(self._live(notice, "information" if state.online else "warning"))
        return updates


    def _changes(self, changes: list[Change]) -> list[Update]:
        updates: list[Update] = []
        tables = {c.table for c in changes}
        if tables & {"people", "sessions", "marks", "all"}:  # first: a check-in may belong to a session just learnt of
            updates += self.refresh(names=bool(tables & {"people", "all"}))
        for change in changes:
            if change.checkin is None:
                continue  # only "checkins" and "dropped" come with a check-in
            if change.table == "checkins":
                update = self._remote_checkin(change.checkin)
                if update is not None:
                    updates.append(update)
            elif change.table == "dropped":  # not named: nothing names someone after their erasure
                updates.append(self._live("a check-in kept while the database was away was not sent: the person "
                                          "was erased at another door meanwhile"))
            elif change.table == "after-end":
                updates.append(Problem(f"a check-in was not filed: "
                                       f"{self._person_label(change.checkin.person_id)} arrived at "
                                       f"{change.checkin.time:%H:%M:%S}, after their session was stopped at "
                                       "another door, and no other session was running for them"))
        # once, however many template changes came; after a lost connection ("all") the ones missed meanwhile
        if tables & {"templates", "all"} and self.share_gallery():
            self._worker().send(ev.Reload())
        return updates



    def _remote_checkin(self, checkin: Checkin) -> CheckinShown | None:
        with self.lock:
            attendance = self._attendance()
            if attendance.person(checkin.person_id) is None:
                return None
            active = attendance.active
            if active is None or active.id != checkin.session_id:
                return None
            attendance.note_checkin(checkin)
            row, counts = attendance.roster_row(checkin.person_id), attendance.counts()
        self._tell_door(self._door_session(counts))  # the door shows how many are here, from every door
        return CheckinShown(row, counts, checkin.similarity or 0.0, checkin.time, True,
                            station=checkin.station or "another station")


    def refresh(self, names: bool = True) -> list[Update]:
        """People or sessions changed elsewhere: read them again, tell the worker of a new session and,
        when people changed (`names`), of their display names."""
        with self.lock:
            attendance = self._attendance()
            before = attendance.active
            attendance.refresh()
            after = attendance.active
        updates: list[Update] = [RosterChanged()]
        if (before and before.id) != (after and after.id):
            self._session_changed()
            if after is not None:
                updates.append(self._live(f"session {after.name!r} was started at "
                                          f"{after.station or 'another station'}"))
            elif before is not None:
                updates.append(self._live(f"session {before.name!r} was stopped at another station"))
        elif after is not None:  # someone erased, a mark, a list changed at another door: "N of M here" as it is now
            with self.lock:
                door = self._door_session()
            self._tell_door(door)
        if names:
            self._worker().send(ev.SetNames(self._names()))
        return updates



def shared_log(settings: Settings) -> bool:
    return bool(settings.database)


def log_place_problem(settings: Settings) -> str:
    """Why this data folder's log cannot be opened where the settings put it ("" when it can): a door joining
    a shared database with records of its own (they would stay behind, its faces under the database's
    ids), or a door of a database whose setting is gone (a log of its own would be made unsaid)."""
    data, url = settings.data, settings.database
    log, shared = data / LOG_NAME, data / TENSORS_DIR / STATE_NAME
    if url and log.exists() and _holds_records(data):
        return (f"{log} holds this door's own records: bring them into the database first (faceattend db import "
                f"--from {data} --database URL, into an empty database only), or move the file aside")
    if not url and not log.exists() and shared.exists():
        return (f"{data} is a door of a shared database ({shared}), and the database setting is empty: set it "
                "again, or remove that file to keep a log of this door's own")
    return ""


def _holds_records(data: Path) -> bool:
    """Whether the log file in `data` holds what would stay behind: sessions, hours, staff accounts, or people
    under the organisation's ids (people a photo folder made, with generated ids, join by folder)."""
    try:
        with contextlib.closing(open_snapshot(data)) as store:
            return bool(store.sessions() or store.presence(date.min, date.max)
                        or store.get_setting(ACCOUNTS_SETTING) or store.get_setting(PIN_SETTING)
                        or any(not p.id.startswith("p-") for p in store.people()))
    except StoreError:
        return True  # unreadable: not to be left behind unsaid
