"""What staff do through the station: sessions, marks, exports, enrollment and removal, timetables."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from faceattend_tui.attendance import (
    Counts,
    Person,
    RosterRow,
    Session,
    StoreError,
    Summary,
    audit,
    timetable,
)
from faceattend_tui.attendance.export import time_zone
from faceattend_tui.attendance.security import Credentials
from faceattend_tui.attendance.session_edit import UNCHANGED, Edit, edit_session, void_session
from faceattend_tui.attendance.sessions import free_folder
from faceattend_tui.attendance.staff import accounts, set_account_pin
from faceattend_tui.attendance.store import EndedElsewhere
from faceattend_tui.attendance.timetable import Slot
from faceattend_tui.errors import FaceattendError
from faceattend_tui.files import error_text
from faceattend_tui.gallery import enroll
from faceattend_tui.live import events as ev
from faceattend_tui.station import enrolling
from faceattend_tui.station.enrollee import whom
from faceattend_tui.station.people import (
    PhotoWatch,
    copy_photos,
    extract_imported,
    join_imported,
    plan_roster,
    read_roster_photos,
    remove_person,
    write_people,
)
from faceattend_tui.station.state import StationState
from faceattend_tui.station.updates import (
    LOG,
    STATION_ACTOR,
    EnrollTarget,
    StationError,
    StoppedElsewhere,
    Whom,
)
from faceattend_tui.vision.pipeline import FaceEngine

if TYPE_CHECKING:

    from faceattend_tui.attendance import Attendance, Store, SyncResult
    from faceattend_tui.attendance.session_edit import _Unchanged
    from faceattend_tui.attendance.staff import Action
    from faceattend_tui.station.updates import Worker


NO_SESSION = 0  # what a dialog opened while no session ran asks `_still_running` for
WHOM_CHANGED = ("the roster changed meanwhile (at another door, or by a command): these samples are no longer for "
                "whom the dialog said; nothing was saved: read whom they are for now, then save again")


class Actions(StationState):
    """The station's actions on the records, each checked against the staff member's role."""

    if TYPE_CHECKING:  # from the other parts of the station
        def _attendance(self) -> Attendance: ...
        def _store(self) -> Store: ...
        def _worker(self) -> Worker: ...
        def _authorize(self, action: Action, given: Credentials | str | None) -> str: ...
        def _names(self) -> dict[str, str]: ...
        def share_gallery(self) -> bool: ...
        def sync_roster(self) -> SyncResult: ...
        def _session_changed(self) -> None: ...
        def _queue_sheet(self, session_id: int) -> None: ...
        def _tell_door(self, command: ev.Command) -> None: ...
        def _door_session(self, counts: Counts | None = None) -> ev.SetSession: ...
        def _ask_capture(self, request: str) -> None: ...

    def roster(self) -> list[RosterRow]:
        """Everyone active, with their state in the running session."""
        with self.lock:
            return self._attendance().roster()


    def person(self, person_id: str) -> Person | None:
        with self.lock:
            return self._attendance().person(person_id)


    def people(self, group: str | None = None) -> list[Person]:
        with self.lock:
            return self._attendance().people(group=group)


    def groups(self) -> list[str]:
        with self.lock:
            return self._attendance().groups()

    def counts(self) -> Counts | None:
        """Present / late / absent of the running session."""
        with self.lock:
            attendance = self._attendance()
            return attendance.counts() if attendance.active else None


    @property
    def active(self) -> Session | None:
        return self.attendance.active if self.attendance else None


    def start_session(self, name: str, late_after: float | None = None, pin: Credentials | str | None = None,
                      group: str | None = None, late_from: datetime | None = None) -> Session:
        """`late_from`: the moment lateness begins, instead of `late_after` minutes from now."""
        with self.lock:
            actor = self._authorize("session", pin)
            try:
                session = self._attendance().start_session(name, late_after, group=group or None, user=actor,
                                                           late_from=late_from)
            except FaceattendError as exc:
                raise StationError(str(exc)) from None
        self._session_changed()
        return session


    def stop_session(self, pin: Credentials | str | None = None, at: datetime | None = None,
                     session_id: int | None = None) -> Session:
        """Stop the running session, now or at an earlier moment `at` (its last record, for one left running);
        with `session_id`, only while that one is the session running (a dialog's question names it)."""
        with self.lock:
            actor = self._authorize("session", pin)
            self._still_running(session_id)
            try:
                session = self._attendance().stop_session(user=actor, at=at)
                self._queue_sheet(session.id)
            except EndedElsewhere as exc:
                raise StoppedElsewhere(str(exc)) from None
            except FaceattendError as exc:
                raise StationError(str(exc)) from None
        self._session_changed()
        return session


    def _still_running(self, session_id: int | None) -> None:
        """Refuse, changing nothing, when the session a dialog was opened on is no longer the one running
        (the timetable closed it, another door stopped it, while the dialog was open)."""
        running = self._attendance().active
        if session_id is None or (running is not None and running.id == session_id):
            return
        if session_id == NO_SESSION:  # opened with none running: one that opened since is not the one meant
            if running is not None:
                raise StationError(f"session {running.name!r} started while this was open: nothing was changed; "
                                   "open it again to act on it")
            return
        asked = self._store().session(session_id)
        name = repr(asked.name) if asked is not None else f"number {session_id}"
        now = f"; {running.name!r} runs now" if running is not None else ""
        raise StationError(f"session {name} ended while this was open{now}: nothing was changed")

    def change_own_pin(self, given: Credentials | str, new_pin: str) -> str:
        """A staff member's own new PIN, given with the current one (any role may); their name."""
        with self.lock:
            if not accounts(self._store()):
                raise StationError("there is no staff account yet: `faceattend pin` makes the first")
            name = self._authorize("pin", given)
            try:
                set_account_pin(self._store(), name, new_pin, name)
            except FaceattendError as exc:
                raise StationError(str(exc)) from None
        return name

    def staff_for(self, action: Action, pin: Credentials | str | None) -> str:
        """The staff member these credentials give for `action`, checked now (PinRefused when refused: a
        station resuming a session is refused at its start, not when it stops hours later)."""
        with self.lock:
            return self._authorize(action, pin)

    def void_unrecorded(self, session_id: int, reason: str) -> Session | None:
        """Void, as the station, a finished session in which nobody was recorded (its camera never
        opened); None, leaving it as it is, when someone was."""
        with self.lock:
            attendance = self._attendance()
            counts = attendance.summary(session_id).counts
            if counts.attended or counts.excused_total or attendance.store.marks(session_id):
                return None  # someone came, or staff marked someone (absent too): a record to keep
            try:
                return void_session(attendance, session_id, reason, user=STATION_ACTOR)
            except FaceattendError as exc:
                raise StationError(str(exc)) from None


    def sessions(self) -> list[Session]:
        with self.lock:
            return self._attendance().sessions()


    def void_session(self, session_id: int, reason: str, pin: Credentials | str | None = None) -> Session:
        """Void a finished session (kept, left out of reports); an admin's action."""
        with self.lock:
            actor = self._authorize("void", pin)
            try:
                return void_session(self._attendance(), session_id, reason, user=actor)
            except FaceattendError as exc:
                raise StationError(str(exc)) from None


    def edit_session(self, session_id: int, pin: Credentials | str | None = None, *,
                     name: str | _Unchanged = UNCHANGED, group: str | None | _Unchanged = UNCHANGED,
                     late_after: float | None | _Unchanged = UNCHANGED) -> Edit:
        """Correct a past session's name, group or late_after; says what changed (statuses too)."""
        with self.lock:
            actor = self._authorize("void", pin)
            try:
                edit = edit_session(self._attendance(), session_id, user=actor, name=name, group=group,
                                    late_after=late_after, zone=time_zone(self.settings.timezone))
            except FaceattendError as exc:
                raise StationError(str(exc)) from None
        if edit.changed and self.active is not None and self.active.id == session_id:
            self._session_changed()
        return edit


    def timetable(self) -> tuple[list[Slot], dict[str, str]]:
        """The weekly slots and the days off."""
        with self.lock:
            store = self._store()
            return timetable.slots_of(store), timetable.holidays_of(store)


    def save_timetable(self, slots: list[Slot], holidays: dict[str, str] | None = None,
                       pin: Credentials | str | None = None,
                       shown: tuple[list[Slot], dict[str, str]] | None = None) -> None:
        """Replace the slots (and the days off, when given); overlapping slots are refused. Audited.
        With `shown` (the timetable staff changed on the screen), only their change is made to the
        timetable as it is now: slots another door or a command added meanwhile stay."""
        problems = timetable.overlaps(list(enumerate(slots, start=1)), None)
        if problems:
            raise StationError(problems[0])
        with self.lock:
            actor = self._authorize("timetable", pin)
            store = self._store()
            with store.batch():
                details = {}
                if shown is not None:
                    details = timetable.changes(shown, (slots, holidays or {}))
                    slots = timetable.change_timetable(store, shown, (slots, holidays or {}))
                else:
                    timetable.save_slots(store, slots)
                    if holidays is not None:
                        timetable.save_holidays(store, holidays)
                audit(store, "timetable.set", {"slots": len(slots), **details}, actor)
        self._timetable_next = 0.0  # a slot due now opens at once


    def summary(self, session_id: int | None = None) -> Summary | None:
        with self.lock:
            attendance = self._attendance()
            if session_id is None and attendance.active is None:
                return None
            return attendance.summary(session_id)


    def mark(self, person_id: str, status: str, reason: str, pin: Credentials | str | None = None,
             session_id: int | None = None) -> None:
        """Mark someone in the running session; with `session_id`, only while that one runs."""
        with self.lock:
            actor = self._authorize("mark", pin)
            self._still_running(session_id)
            try:
                self._attendance().mark(person_id, status, reason, user=actor)
            except FaceattendError as exc:
                raise StationError(str(exc)) from None
            self._tell_door(self._door_session())  # "N of M here" counts the mark


    def import_roster(self, path: Path, pin: Credentials | str | None = None,
                      watch: PhotoWatch | None = None) -> list[str]:
        """People (and photos) from a roster CSV, as `faceattend people import`; returns what changed.
        `watch` hears how many photos are read and may stop their reading (the people stay imported)."""
        with self.lock:
            actor = self._authorize("people", pin)
        try:  # the file and its photos are read without the lock: the door goes on checking people in
            read = read_roster_photos(Path(path).expanduser())
            with self.lock:
                outcome = write_people(self._attendance(), self.settings, plan_roster(
                    self._attendance(), read, tensors=self.settings.tensors_dir), actor)
                if self.presence is not None:  # a sighting held back under the id they had
                    for old, new in outcome.plan.claimed:
                        self.presence.renamed(old, new)
            copy_photos(self.settings, outcome)
        except FaceattendError as exc:
            raise StationError(str(exc)) from None
        except OSError as exc:  # a full disk or a read-only folder while the photos were copied
            raise StationError(f"the people were imported, but not their photos: {error_text(exc)}") from None
        watch = watch or PhotoWatch()
        self.photo_watches.add(watch)
        try:  # without the station's lock: the door goes on checking people in while the photos are read
            extract_imported(outcome, self.settings, self._photo_engine, watch)
        except FaceattendError as exc:
            raise StationError(f"the people were imported, but not their photos: {exc}") from None
        finally:
            self.photo_watches.discard(watch)
        with self.lock:
            if self.store is None:  # closed meanwhile: its next start registers the new templates
                return outcome.lines()
            join_imported(self._attendance(), self.settings, outcome, actor)
            self._worker().send(ev.SetNames(self._names()))
            if outcome.photos_copied:
                self._alike_said = set(outcome.alike)  # said in the import's lines: the reload would say them again
                self._worker().send(ev.Reload())
        return outcome.lines()

    def stop_photo_reading(self) -> None:
        """Stop every import's photo reading between two people (the station is closing: a hang-up, a
        service stop, q); the people are in, and the photos not read yet wait for the next extract."""
        for watch in list(self.photo_watches):
            watch.stop.set()

    def _photo_engine(self) -> FaceEngine:
        """Models of its own for reading photos (the worker's are in another process)."""
        return FaceEngine.from_settings(self.settings, log=lambda _: None)


    def capture(self) -> str:
        """Ask the worker for an enrollment capture; returns the request id its result will carry."""
        if self.live.camera != "live":
            detail = f": {self.live.camera_detail}" if self.live.camera_detail else ""
            raise StationError(f"the camera is {self.live.camera}{detail}; enrolling needs a live picture")
        request = f"capture-{time.monotonic_ns()}"
        self.pending_capture = request
        self._ask_capture(request)
        return request


    def forget_capture(self) -> None:
        """The enroll dialog closed: a capture still under way is nobody's (not asked again of a new worker)."""
        self.pending_capture = None


    def save_enrollment(self, who: EnrollTarget, samples: tuple[ev.CaptureSample, ...],
                        pin: Credentials | str | None = None) -> tuple[Person, int]:
        """Store captured samples for a new person or one on the roster; recognised at once."""
        if not samples:
            raise StationError("no samples to save; capture again")
        with self.lock:
            actor = self._authorize("people", pin)
            if self.recognizer is None:
                raise StationError("the recognition worker is still starting; try again in a moment")
            person = None
            try:
                person = self.enrollee(who)
                if who.meant is not None and (person.id if person else "") != who.meant:
                    raise StationError(WHOM_CHANGED)
                folder, fresh, count = self._write_samples(person, who, samples, actor)
                person = self._registered(person, who, folder, actor, fresh)  # a newcomer joins once the samples are in
                enrolling.note(self.settings.data, folder)
            except enroll.UnlikeSamples as exc:
                raise StationError(unlike(person, exc)) from None
            except FaceattendError as exc:
                raise StationError(str(exc)) from None
            try:  # the samples are in: a Save pressed again after an error here would add them twice
                audit(self._store(), "person.samples", {"person": person.id, "added": len(samples),
                                                        "samples": count}, actor)
            except StoreError as exc:
                LOG.warning("the samples of %s were saved, but not audited: %s", person.id, exc)
            try:  # nor after one here: the next sync brings the counts and the other doors up to date
                self.share_gallery()
                self.sync_roster()
            except (FaceattendError, OSError) as exc:
                LOG.warning("the samples of %s were saved; the roster was not brought up to date: %s", person.id, exc)
        self._worker().send(ev.Reload())
        return self._attendance().person(person.id) or person, count  # read again; as they were if gone meanwhile


    def enrollee(self, who: EnrollTarget) -> Person | None:
        """Whom an enrollment is for: someone on the roster, or None for a newcomer; raises when unclear
        or when they left."""
        with self.lock:
            return whom(self._attendance().people(include_left=True), who)


    def describe_enrollee(self, who: EnrollTarget) -> Whom:
        """One line for the enrollment dialog: whose samples these will be."""
        try:
            person = self.enrollee(who)
        except StationError as exc:
            return Whom(str(exc))
        if person is not None:
            return Whom(f"adds samples to {person.name} ({person.id}), {person.images} enrolled so far", person.id,
                        person.images)
        return Whom(f"new person {' '.join(who.name.split())}" + (f", id {who.person_id}" if who.person_id else ""))


    def _write_samples(self, person: Person | None, who: EnrollTarget, samples: tuple[ev.CaptureSample, ...],
                       actor: str) -> tuple[str, bool, int]:
        """The samples saved in the person's photo folder (a newcomer's is named after their id): the
        folder, whether this save made it, and the person's sample count. A disk that refuses them (a
        file in the way, a full disk) is one line, and what this save made of a newcomer's goes again."""
        attendance = self._attendance()
        folder = person.folder if person and person.folder else free_folder(
            attendance, enroll.check_name(person.id if person else who.person_id or attendance.unused_id()))
        fresh = not os.path.lexists(self.settings.images_dir / folder)
        assert self.recognizer is not None  # save_enrollment waits for the worker's
        if person is None:  # a station cut short before they are on the roster finishes it at its next start
            enrolling.note(self.settings.data, folder, who, actor)
        try:
            return folder, fresh, enroll.add_samples(self.settings, folder, [s.photo_jpeg for s in samples],
                                                     np.stack([s.embedding for s in samples]), self.recognizer)
        except OSError as exc:
            if person is None and fresh:
                with contextlib.suppress(OSError, FaceattendError):
                    enroll.remove_person(self.settings, folder)
                    enrolling.note(self.settings.data, folder)
            raise StationError(f"the samples could not be saved: {error_text(exc)}") from None


    def _registered(self, person: Person | None, who: EnrollTarget, folder: str, actor: str, fresh: bool) -> Person:
        """The person whose samples are now in `folder`: a newcomer added to the roster, someone on it
        given the folder; should that fail, a newcomer's samples go again (nobody half enrolled)."""
        attendance = self._attendance()
        before = person
        try:
            if person is None:
                person = attendance.add_person(who.name, person_id=who.person_id or folder, groups=who.groups,
                                               folder=folder, user=actor)
            if not person.folder:  # new, or on the roster (imported) but never photographed
                person = dataclasses.replace(person, folder=folder)
                attendance.save_people([person], "person.folder", user=actor, new=())
        except FaceattendError:
            if fresh and (before is None or not before.folder):  # the folder was never recorded as theirs
                enroll.remove_person(self.settings, folder)
                enrolling.note(self.settings.data, folder)
            raise
        return person


    def remove_person(self, person_id: str, erase: bool = False, pin: Credentials | str | None = None) -> Person:
        """They left (records kept), or an erasure request (photos, templates and records go)."""
        with self.lock:
            actor = self._authorize("erase" if erase else "people", pin)
            attendance = self._attendance()
            person = attendance.person(person_id)
            if person is None:
                raise StationError(f"no person with id {person_id!r}")
            try:
                removal = remove_person(attendance, self.settings, person, erase=erase, user=actor)
            except FaceattendError as exc:
                raise StationError(str(exc)) from None
            finally:
                if erase and self.presence is not None:
                    self.presence.forget(person.id)  # a sighting held back would bring them back into the log
        self.removal_leftovers = removal.leftovers() if removal else []
        self._worker().send(ev.Reload())
        self._tell_door(self._door_session())  # "N of M here" without them
        return person


def unlike(person: Person | None, refused: enroll.UnlikeSamples) -> str:
    """Why samples were refused for someone enrolled (None: a newcomer whose folder already held templates
    nobody on the roster has): most likely someone else in front of the camera."""
    cosine = int(refused.cosine * 100) / 100  # rounded down: never "0.20" for one under the floor
    if person is None:
        return (f"these samples do not look like the {refused.enrolled} templates already in database_image/"
                f"{refused.folder}/ (cosine {cosine:.2f}); give the newcomer another id, or move that folder away")
    return (f"these samples do not look like {person.name} ({person.id})'s {refused.enrolled} enrolled ones (cosine "
            f"{cosine:.2f}): is it someone else? Enroll them under their own name; if it is {person.name} with a "
            "new look, `faceattend extract --keep` a new photo of them")
