"""Worker events turned into records and the updates the screen shows."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, TypeGuard

from faceattend_tui.attendance import (
    LATE,
    Checkin,
    Counts,
    Person,
    RosterRow,
    Session,
    SyncResult,
    audit,
)
from faceattend_tui.attendance.export import time_zone
from faceattend_tui.attendance.store import CLOCKS_APART, UNFILED, GoneMeanwhile
from faceattend_tui.errors import FaceattendError
from faceattend_tui.live import events as ev
from faceattend_tui.live.worker import KILLED
from faceattend_tui.station.people import names_listed
from faceattend_tui.station.state import StationState
from faceattend_tui.station.updates import (
    CAMERA_WORDS,
    LOG,
    MAX_UNSAVED,
    STATION_ACTOR,
    CaptureDone,
    CheckinShown,
    LiveChanged,
    Problem,
    RosterChanged,
    Severity,
    Sighting,
    SightingReason,
    UnknownFaces,
    Update,
    internal_error,
)
from faceattend_tui.text import clock_of, deadline_text

if TYPE_CHECKING:

    from faceattend_tui.attendance import Attendance, Store
    from faceattend_tui.station.updates import Worker


WORKER_LOG = "; see worker.log"
CAMERA_DOWN = ("lost", "retrying", "error")  # the header's words for a camera that gives no picture


def log_camera(was: str, now: str, message: str) -> None:
    """When the camera went down and came back, in station.log: what staff ask afterwards (each try in between,
    every few seconds over a weekend, is not written)."""
    if now in CAMERA_DOWN and was not in CAMERA_DOWN:
        LOG.warning("camera down: %s", message)
    elif now == "live" and was in CAMERA_DOWN:
        LOG.info("camera back: %s", message)


class Translator(StationState):
    """From the worker's events to the log and the screen's updates."""

    if TYPE_CHECKING:  # from the other parts of the station
        def _attendance(self) -> Attendance: ...
        def _store(self) -> Store: ...
        def _worker(self) -> Worker: ...
        def now(self) -> datetime: ...
        def share_gallery(self) -> bool: ...
        def sync_roster(self) -> SyncResult: ...
        def _shared_updates(self) -> list[Update]: ...
        def _clock_updates(self) -> list[Update]: ...
        def _left_running_updates(self) -> list[Update]: ...
        def _timetable_updates(self) -> list[Update]: ...
        def _sheet_updates(self, then: str = "retrying") -> list[Update]: ...
        def _kept_for_closed(self, name: str) -> Problem | None: ...

    def poll(self, timeout: float = 0.1) -> list[Update]:
        """Worker events turned into updates; check-ins are on disk before they are returned.

        One event that cannot be handled (the disk is full, say) becomes a Problem update; the
        events after it are still handled.
        """
        updates = self._clock_updates() + self._shared_updates()
        ended = self._kept_for_ended()  # stopped by hand or at another door: not filed into the next one
        updates += [ended] if ended else []
        retries, self._unsaved = self._unsaved, []
        updates += self._handled(retries, retried=True)  # before the timetable may close their session
        updates += self._left_running_updates() + self._timetable_updates() + self._sheet_updates()
        updates += self._handled(self._worker().poll(timeout), retried=False)
        self.live.unsaved = len(self._unsaved)  # the header says so for as long as they wait
        return updates

    def stop_recognition(self) -> list[Update]:
        """Stop the worker now (a run about to stop its session): what it saw after the last poll is
        written first, into the session still running, and returned to be shown."""
        with self.lock:
            worker, self.worker = self.worker, None
        if worker is None:
            return []
        left = worker.stop()
        return self._handled([e for e in left if isinstance(e, ev.Checkin | ev.Present)], retried=False)

    def _handled(self, events: Sequence[ev.Event], retried: bool) -> list[Update]:
        updates: list[Update] = []
        for event in events:
            if self.on_event is not None and not retried:
                self.on_event(event)
            try:
                update = self.handle(event, retried)
            except (FaceattendError, OSError) as exc:
                update = self._not_recorded(event, exc, retried=retried)
            except Exception as exc:  # a bug: said once with its traceback, and the next events go on
                update = internal_error(f"handling a {event.type} event" if isinstance(event, ev.Event)
                                        else f"handling a {type(event).__name__}", exc)
            if update is not None:
                updates.append(update)
        return updates


    def _not_recorded(self, event: ev.Event, exc: Exception, retried: bool) -> Problem | None:
        """A check-in that could not be written is kept and tried again (with its own time) on the next poll."""
        if isinstance(event, ev.Present) and any(isinstance(e, ev.Present) and e.folder == event.folder
                                                 for e in self._unsaved):
            return None  # kept already, with its earlier time
        if self._worth_keeping(event) and len(self._unsaved) < MAX_UNSAVED:
            if not self._unsaved and not retried:  # (a retry keeps what it was first kept for)
                running = self._attendance().active
                self._kept_for = (running.id, running.name) if running is not None else None
            self._unsaved.append(event)
            if retried:
                return None  # said once already
            return Problem(f"could not record the check-in of {self._folder_name(event.folder)} yet: {exc}; "
                           "it is kept and written as soon as the disk allows")
        return Problem(f"could not record {event.type}: {exc}")


    def _kept_for_ended(self) -> Problem | None:
        """Check-ins kept for a session no longer running (stopped by hand, or at another door): named for staff
        to mark by hand, never filed into the session running now, at a time before it began."""
        kept_for, running = self._kept_for, self._attendance().active
        if not self._unsaved or kept_for is None or (running is not None and running.id == kept_for[0]):
            return None
        return self._kept_for_closed(kept_for[1])

    def _worth_keeping(self, event: ev.Event) -> TypeGuard[ev.Checkin | ev.Present]:
        """A check-in, or "still in view" that makes one (someone seated as the session began): not a sighting
        that only moves a working day's last one."""
        if isinstance(event, ev.Checkin):
            return True
        if not isinstance(event, ev.Present):
            return False
        with contextlib.suppress(FaceattendError, OSError):
            return self._arrives(event) is not None
        return False

    def unsaved_left(self) -> list[str]:
        """The check-ins the log could not take, tried once more: "name at HH:MM:SS" for each still refused."""
        left = []
        retries, self._unsaved = self._unsaved, []
        for event in retries:
            try:
                self.handle(event, retried=True)
            except (FaceattendError, OSError):
                when = datetime.fromtimestamp(event.time).astimezone()
                left.append(f"{self._folder_name(event.folder)} at {when:%H:%M:%S}")
        return left


    def _person_id(self, folder: str) -> str:
        person = self._attendance().by_folder(folder)
        return person.id if person else ""

    def _folder_name(self, folder: str) -> str:
        person = self._attendance().by_folder(folder)
        return person.name if person else folder


    def handle(self, event: ev.Event, retried: bool = False) -> Update | None:
        """One worker event as an update for the screen (None: nothing to show); `retried`: a check-in kept
        while the log refused it, tried again."""
        match event:
            case ev.Checkin():
                return self._checkin(event, retried)
            case ev.Spoof():
                return self._refused(event)
            case ev.Waiting():
                return Sighting(self._folder_name(event.folder), 0.0, datetime.fromtimestamp(event.time).astimezone(),
                                "no sign of life yet", self._person_id(event.folder))
            case ev.Present():
                return self._still_here(event, retried)
            case ev.Unknown():
                self.live.unknown_faces += 1
                return UnknownFaces(self.live.unknown_faces, datetime.fromtimestamp(event.time).astimezone())
            case ev.Stats():
                self.live.fps, self.live.resting, self.live.blank = float(event.fps), event.resting, event.blank
                return self._live()
            case ev.Ready():
                self.recognizer = event.recognizer_identity()
                self.live.device, self.live.models = event.device, f"{event.detector} + {event.recognizer}"
                if self.share_gallery():
                    self._worker().send(ev.Reload())
                if event.static_shapes:
                    return self._live(f"recognition ready on {event.device}: fixed input shapes prepared in "
                                      f"{event.warmup_s:.1f} s")
                return self._live()
            case ev.CaptureResult():
                return self._capture_done(event)
            case ev.GalleryLoaded():
                if self.share_gallery():
                    self._worker().send(ev.Reload())  # templates came from another door: load them first
                    return None
                return self._roster_changed(self.sync_roster())
            case ev.LookAlike():
                said = self.look_alike_text(event)
                LOG.warning(said)  # a station nobody watched start keeps it in station.log
                if frozenset(event.folders) in self._alike_said:  # the import that made them said it a moment ago
                    return None
                return self._live(said, "warning", lasting=True)
            case ev.Status():
                return self._status(event)
            case ev.Error(fatal=True):  # no recognition until the worker is back, said in the header meanwhile
                earlier = self.live.camera_detail.removesuffix(WORKER_LOG) if self.live.camera == "error" else ""
                self.live.camera, self.live.fps, self.live.preview = "error", 0.0, "off"
                # the worker's own reason stays in view; "stopped (exit code 3)" that follows it says little
                why = [earlier] if earlier and earlier != event.message else []
                log = "" if KILLED in event.message else WORKER_LOG  # a worker killed so wrote nothing of it
                self.live.camera_detail = "; ".join([*why, event.message]) + log
                return self._live(f"recognition stopped: {event.message}", "error")
            case ev.Error():
                return Problem(event.message)
        raise TypeError(f"the station cannot handle {event!r}")


    def _checkin(self, event: ev.Checkin, retried: bool = False) -> CheckinShown | Sighting | None:
        when = datetime.fromtimestamp(event.time).astimezone()
        with self.lock:
            attendance = self._attendance()
            person = attendance.by_folder(event.folder)
            if person is None or not person.active:  # templates of someone no longer on the roster, or who left
                return None  # (an import cut short before their files went): nothing is recorded of them
            came = self._seen(person, when)
            if came is None:
                return None
            session = attendance.active
            if retried and session is not None and when < session.started_at - CLOCKS_APART and \
                    (self._kept_for is None or self._kept_for[0] != session.id):
                session = None  # kept from before it began: not into it, at that time (one kept for it, or a
                                # live arrival, goes in: the door that started it may have a clock ahead)
            if session is None:
                kept = self._kept(person, event, when)  # work mode: the day's hours are said as ever
                reason: SightingReason = "in" if came else "seen" if self.presence else \
                    "kept" if kept else "no session"
                door = self._sessionless(person, event.track, when, came)
                self._tell_door(ev.ShowOutcome("no-session", person.name, event.track, ev.KEPT)
                                if reason == "kept" else door)
                return Sighting(person.name, event.similarity, when, reason, person.id)
            try:
                result = attendance.check_in(person.id, event.similarity, event.track, when, event.evidence)
            except GoneMeanwhile:  # erased at another door: this door learns it in a moment, and names nobody
                return None
            if not result.expected:  # kept too, in case its list changed at another door; said as ever
                self._outsiders_said.add((session.id, person.id))  # not again when still in view a minute on
                self._kept(person, event, when)
                self._tell_door(ev.ShowOutcome("not-on-list", person.name, event.track, ev.SEE_STAFF))
                return Sighting(person.name, event.similarity, when, "not on list", person.id)
            row, counts = attendance.roster_row(person.id, checkin=result.checkin), attendance.counts()
        self._tell_door(door_outcome(row, result.new, event.track, session, self._zone()))
        self._tell_door(self._door_session(counts))
        return CheckinShown(row, counts, event.similarity, when, result.new, event.face_jpeg, event.sent or event.time)


    def _kept(self, person: Person, event: ev.Checkin, when: datetime) -> bool:
        """A shared database away: an arrival for no session this door knows of (one another door started
        meanwhile) is kept, filed on its return into the session running for them then, if any."""
        return self._store().keep_for_later(Checkin(UNFILED, person.id, when, event.similarity, event.track,
                                                    station=self.name, last_seen=when, evidence=event.evidence))

    def _still_here(self, event: ev.Present, retried: bool = False) -> CheckinShown | Sighting | None:
        """Someone recognised earlier is still in view: in work mode their day's last sighting moves on; one a
        running session expects and has not seen (they sat in view as it began) arrives now."""
        with self.lock:
            person = self._attendance().by_folder(event.folder)
            if person is None or not person.active:
                return None
            if self._seen(person, datetime.fromtimestamp(event.time).astimezone()) is None:
                return None
            if self._arrives(event) is None and not self._outsider_seen_first(person):
                return None
        return self._checkin(ev.Checkin(name=event.name, similarity=event.similarity, track=event.track,
                                        time=event.time, evidence=event.evidence), retried)

    def _seen(self, person: Person, when: datetime) -> bool | None:
        """Work mode: their day's sighting (True: the first of the day); None: they were erased at another door
        a moment ago (this door learns it in a moment, and names nobody)."""
        if self.presence is None:
            return False
        try:
            return self.presence.seen(person.id, when)
        except GoneMeanwhile:
            return None

    def _outsider_seen_first(self, person: Person) -> bool:
        """Whether someone the running session does not expect is in view for the first time in it (seated as it
        began): said "not on list" once, as when they walk in."""
        session = self._attendance().active
        if session is None or person.id in session.expected or (session.id, person.id) in self._outsiders_said:
            return False
        self._outsiders_said.add((session.id, person.id))
        return True

    def _arrives(self, event: ev.Present) -> Person | None:
        """Who a face still in view checks in: someone the running session expects and has not seen yet."""
        attendance = self._attendance()
        person, session = attendance.by_folder(event.folder), attendance.active
        if person is None or not person.active or session is None or person.id not in session.expected:
            return None
        return None if self._store().checkin(session.id, person.id) else person


    def _sessionless(self, person: Person, track: int, when: datetime, came: bool) -> ev.ShowOutcome:
        """The door's word without a session: in work mode "in" at the day's first sighting, else nothing recorded."""
        if self.presence is None:
            return ev.ShowOutcome("no-session", person.name, track, ev.NOTHING_RECORDED)
        if came:
            return ev.ShowOutcome("checked-in", person.name, track, ev.AT, time=clock_of(when, zone=self._zone()))
        return ev.ShowOutcome("already-here", person.name, track, "")


    def _refused(self, event: ev.Spoof) -> Sighting:
        """A picture held up to the camera: not recorded, but audited and shown."""
        when = datetime.fromtimestamp(event.time).astimezone()
        person = self._attendance().by_folder(event.folder)
        name = person.name if person else event.folder
        with self.lock:
            details = {"person": person.id if person else None, "track": event.track,
                       "reason": "moved like a flat picture", "evidence": event.evidence}
            audit(self._store(), "checkin.refused", details, STATION_ACTOR)
        return Sighting(name, 0.0, when, "picture refused", person.id if person else "")


    def _session_changed(self) -> None:
        """A session started or stopped (here or at another door): the unknown count starts again."""
        self.live.unknown_faces = 0
        self._tell_door(self._door_session())


    def _tell_door(self, command: ev.Command) -> None:
        if self.worker is not None:
            self.worker.send(command)


    def _door_session(self, counts: Counts | None = None) -> ev.SetSession:
        """The session as the door display shows it: its name and how many of those expected are here."""
        attendance = self._attendance()
        session = attendance.active
        if session is None:
            return ev.SetSession("", hours=self.presence is not None)
        counts = counts or attendance.counts()
        return ev.SetSession(session.name, counts.attended, counts.total)  # as the screen: the excused aside


    def _roster_changed(self, result: SyncResult) -> RosterChanged | None:
        if not result.changed:
            return None
        joined = names_listed([p.name for p in result.joined])
        return RosterChanged(f"joined the running session: {joined}" if result.joined else "")


    def look_alike_text(self, event: ev.LookAlike) -> str:
        """Two people who look like one, by their names on the roster (their folders otherwise)."""
        with self.lock:
            people = [self._attendance().by_folder(folder) for folder in event.folders]
        first, second = (f"{p.name} ({p.id})" if p else folder for p, folder in zip(people, event.folders, strict=True))
        return (f"{first} and {second} look like one person (cosine {event.similarity:.2f}): they would check in as "
                "both; if they are one, keep their photos under one name")


    def _ask_capture(self, request: str) -> None:
        self._worker().send(ev.StartCapture(request, self.settings.capture_seconds, self.settings.capture_samples))

    def _capture_done(self, event: ev.CaptureResult) -> CaptureDone | None:
        if event.request != self.pending_capture:
            return None  # an old request the screen no longer waits for
        self.pending_capture = None
        match = self._attendance().by_folder(event.match.name) if event.match else None
        if event.match and match:  # the worker knows template folders; the screen shows people
            hint = ev.MatchHint(name=f"{match.name} ({match.id})", similarity=event.match.similarity,
                                person_id=match.id)
            event = dataclasses.replace(event, match=hint)
        return CaptureDone(event)


    def _status(self, event: ev.Status) -> LiveChanged:
        notice = ""
        severity: Severity = "information"
        match event:
            case ev.CameraStatus(state=state):
                log_camera(self.live.camera, CAMERA_WORDS.get(state, self.live.camera), event.message)
                self.live.camera = CAMERA_WORDS.get(state, self.live.camera)
                self.live.camera_detail = event.message if state in ("reconnecting", "error", "lost") else ""
                if state in ("error", "lost"):
                    notice, severity = event.message, "error" if state == "error" else "warning"
            case ev.SourceFinished():
                self.live.camera = "stopped"
            case ev.PreviewStatus(state=state):
                self.live.preview = state
                if state == "unavailable":
                    notice, severity = event.message, "warning"
            case ev.Busy():
                self.live.busy = event.message
            case ev.Notice(topic="worker-restarted"):
                notice, severity = event.message, "error"
                with self.lock:  # the new worker's door shows the session's counts at once, not "0 here"
                    self._tell_door(self._door_session())
                if self.pending_capture is not None:  # the enroll dialog waits on the dead worker's capture
                    self._ask_capture(self.pending_capture)
            case ev.Notice(topic="gallery" | "worker-log"):
                notice, severity = event.message, "warning"
        return self._live(notice, severity)


    def _zone(self) -> tzinfo | None:
        """The station's clock: the timezone setting (None: this machine's)."""
        return time_zone(self.settings.timezone)


    def _live(self, notice: str = "", severity: Severity = "information", lasting: bool = False,
              own: bool = False) -> LiveChanged:
        return LiveChanged(dataclasses.replace(self.live), notice, severity, lasting, own)



def door_outcome(row: RosterRow, new: bool, track: int, session: Session, zone: tzinfo | None = None) -> ev.ShowOutcome:
    """The banner for a check-in: checked in, late, or already here since the first arrival; times on the
    station's clock (`zone`, the timezone setting)."""
    kind = "already-here" if not new else "late" if row.status == LATE else "checked-in"
    if row.time is None:  # a row without an arrival: the word alone
        return ev.ShowOutcome(kind, row.name, track)
    arrival = clock_of(row.time, zone=zone)
    if kind == "already-here":
        return ev.ShowOutcome(kind, row.name, track, ev.SINCE, time=arrival)
    if kind == "late" and session.late_deadline:
        deadline = deadline_text(session.late_deadline, zone=zone)  # with its seconds where it has them
        if deadline.startswith(arrival):  # within the minute lateness began: "late at 06:18, after 06:18"
            arrival = f"{row.time.astimezone(zone):%H:%M:%S}"
        return ev.ShowOutcome(kind, row.name, track, ev.AT_LATE, time=arrival, deadline=deadline)
    return ev.ShowOutcome(kind, row.name, track, ev.AT, time=arrival)
