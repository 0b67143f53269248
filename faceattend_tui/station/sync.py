"""A log shared with other stations: what they wrote comes in as updates."""

from __future__ import annotations

from faceattend_tui.attendance import (
    Change,
    Checkin,
    StoreError,
)
from faceattend_tui.config import Settings
from faceattend_tui.live import events as ev
from faceattend_tui.station.updates import (
    CheckinShown,
    Problem,
    RosterChanged,
    Update,
)


class SharedSync:
    """Taking in what other stations wrote."""

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
        updates += [self._live(note, "warning") for note in notes]  # templates this door could not take
        state = self.store.state()
        if shared_log(self.settings):
            words = "database online" if state.online else f"database offline, {state.waiting} waiting"
            if words != self.live.database:  # open() said "database online": a change is going away or back
                self.live.database = words
                notice = ("the database is back; waiting check-ins were sent" if state.online else
                          f"the database cannot be reached ({state.note}); check-ins are kept here and sent "
                          "when it is back")
                updates.append(self._live(notice, "information" if state.online else "warning"))
        return updates


    def _changes(self, changes: list[Change]) -> list[Update]:
        updates: list[Update] = []
        tables = {c.table for c in changes}
        if tables & {"people", "sessions", "marks", "all"}:  # first: a check-in may belong to a session just learnt of
            updates += self.refresh(names=bool(tables & {"people", "all"}))
        for change in changes:
            if change.table == "checkins":
                update = self._remote_checkin(change.checkin)
                if update is not None:
                    updates.append(update)
            elif change.table == "dropped":
                updates.append(Problem(f"a check-in kept while the database was away was not sent: "
                                       f"{change.checkin.person_id} or their session was erased meanwhile"))
        if "templates" in tables and self.share_gallery():  # once, however many template changes came
            self.worker.send(ev.Reload())
        return updates


    def _remote_checkin(self, checkin: Checkin) -> CheckinShown | None:
        with self.lock:
            if self.attendance.person(checkin.person_id) is None:
                return None
            active = self.attendance.active
            if active is None or active.id != checkin.session_id:
                return None
            self.attendance.note_checkin(checkin)
            row, counts = self.attendance.roster_row(checkin.person_id), self.attendance.counts()
        self._tell_door(self._door_session(counts))  # the door shows how many are here, from every door
        return CheckinShown(row, counts, checkin.similarity or 0.0, checkin.time, True,
                            station=checkin.station or "another station")


    def refresh(self, names: bool = True) -> list[Update]:
        """People or sessions changed elsewhere: read them again, tell the worker of a new session and,
        when people changed (`names`), of their display names."""
        with self.lock:
            before = self.attendance.active
            self.attendance.refresh()
            after = self.attendance.active
        updates: list[Update] = [RosterChanged()]
        if (before and before.id) != (after and after.id):
            self._session_changed()
            notice = (f"session {after.name!r} was started at {after.station or 'another station'}" if after else
                      f"session {before.name!r} was stopped at another station")
            updates.append(self._live(notice))
        if names:
            self.worker.send(ev.SetNames(self._names()))
        return updates



def shared_log(settings: Settings) -> bool:
    return bool(settings.database)
