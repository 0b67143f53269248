"""The attendance station without its screen: the log, the live worker and the roster together.

The TUI is one client of this class (the tests drive it directly too). Worker events come in as
`live.events` records and go out as the typed updates below; a check-in is written to the log
before the update that shows it is returned. Every method may be called from any thread: one lock
keeps the log single-writer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np

from faceattend_tui.attendance import (
    LATE,
    Attendance,
    Change,
    Checkin,
    ConflictError,
    Counts,
    ExportError,
    ExportOptions,
    LockedError,
    OfflineError,
    Person,
    PinError,
    Report,
    RosterRow,
    Session,
    StoreError,
    Summary,
    SyncResult,
    acquire_lock,
    audit,
    build_report,
    current_user,
    export_attendance,
    open_store,
    sheets,
    timetable,
)
from faceattend_tui.attendance.audit_view import AuditFilter, matching
from faceattend_tui.attendance.export import time_zone
from faceattend_tui.attendance.hours import PresenceBook
from faceattend_tui.attendance.models import STATUSES, AuditEntry, plural
from faceattend_tui.attendance.security import Credentials
from faceattend_tui.attendance.session_edit import Edit, edit_session, void_session
from faceattend_tui.attendance.staff import accounts, authorize, last_reset, staff_required
from faceattend_tui.config import Settings
from faceattend_tui.demo import DemoSourceFactory
from faceattend_tui.errors import FaceattendError
from faceattend_tui.files import error_text, make_private_dir, tighten_data
from faceattend_tui.gallery import enroll
from faceattend_tui.gallery.templates import enrolled_counts
from faceattend_tui.live import events as ev
from faceattend_tui.live.worker import WorkerConfig, WorkerHandle
from faceattend_tui.people import has_photos, import_roster, missing_templates_message, remove_person
from faceattend_tui.shared_gallery import sync_gallery
from faceattend_tui.vision.pipeline import FaceEngine

LOG = logging.getLogger("faceattend.station")
STATION_LOG = "station.log"  # in the data root, beside worker.log
STATION_ACTOR = "station"  # who is recorded for what the station does on its own
TIMETABLE_EVERY = 5.0  # seconds between looks at the timetable
SHEETS_EVERY = 30.0  # seconds between tries to write the sheets still to go to export_dir


def log_to(path: Path) -> None:
    """The station's own log (internal errors with their tracebacks): a file in the data root, never the screen."""
    logger = logging.getLogger("faceattend")
    if any(getattr(h, "baseFilename", None) == str(path.resolve()) for h in logger.handlers):
        return
    try:
        handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    except OSError:
        return
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False  # not on stderr: the terminal belongs to the screen


def internal_error(doing: str, exc: Exception) -> Problem:
    """A programming error met while `doing`: logged with its traceback, said as an internal error."""
    LOG.error("internal error while %s", doing, exc_info=exc)
    return Problem(f"internal error while {doing}: {type(exc).__name__}: {exc} (details in the log)")


class StationError(FaceattendError):
    """Something the user asked for that cannot be done, with a message to show."""


class DatabaseUnreachable(StationError):
    """The shared database could not be reached while opening; trying again later may work."""


# --------------------------------------------------------------------------------------------
# What the station hands its screen


@dataclass
class LiveState:
    camera: str = "starting"
    camera_detail: str = ""  # e.g. "retrying in 4 s (camera 0 could not be opened ...)"
    fps: float = 0.0
    device: str = "?"
    models: str = ""
    unknown_faces: int = 0
    preview: str = "off"
    busy: str = ""
    database: str = ""  # a shared log's state: "database online", "database offline, 3 waiting"


@dataclass(frozen=True)
class CheckinShown:
    """A recognised person in the running session: written to the log before this is returned."""

    row: RosterRow  # their roster line as it is now
    counts: Counts  # the session's counts after it
    similarity: float
    time: datetime
    new: bool  # False: they had checked in already; only "last seen" moved
    face_jpeg: bytes = b""
    sent: float = 0.0  # when the worker sent the decision (latency probes)
    station: str = ""  # another station that recorded it (a shared log); "" for this one


@dataclass(frozen=True)
class Sighting:
    """A recognised person who is not recorded: no session runs, or they are not on its list."""

    name: str
    similarity: float
    time: datetime
    reason: str  # "no session" or "not on list"
    person_id: str = ""  # "" where the log does not know the face's folder


@dataclass(frozen=True)
class UnknownFaces:
    count: int  # unknown faces seen in this session (or since the last session ended)
    time: datetime | None = None  # the latest


@dataclass(frozen=True)
class CaptureDone:
    result: ev.CaptureResult


@dataclass(frozen=True)
class LiveChanged:
    """Camera, speed, device or preview changed; a notice worth showing comes with it."""

    live: LiveState
    notice: str = ""
    severity: str = "information"  # information, warning or error


@dataclass(frozen=True)
class RosterChanged:
    """People were enrolled, removed or changed outside the screen (extraction, an import)."""

    notice: str = ""  # e.g. who joined the running session


@dataclass(frozen=True)
class Problem:
    message: str


Update = CheckinShown | Sighting | UnknownFaces | CaptureDone | LiveChanged | RosterChanged | Problem


# --------------------------------------------------------------------------------------------


class Station:
    def __init__(self, settings: Settings, source: str, *, preview: bool = True, user: str | None = None,
                 worker_factory: Callable[[WorkerConfig], object] | None = None, name: str | None = None,
                 clock: Callable[[], datetime] | None = None, loop: bool = False):
        self.settings = settings
        self.source = source
        self.preview = preview
        self.user = user or current_user()
        self.name = name or settings.data.resolve().name
        self.worker_factory = worker_factory or WorkerHandle
        self.lock = threading.RLock()
        self.live = LiveState()
        self.worker = None
        self.store = None
        self.attendance: Attendance | None = None
        self.presence: PresenceBook | None = None  # work mode: each day's first and last sightings
        self.station_lock = None
        self.pending_capture: str | None = None
        self.recognizer: dict | None = None  # name, sha256, dim: from the worker's ready event
        self.tightened = 0  # files and folders whose permissions were narrowed at open
        self.missing: list[Person] = []  # active people with neither templates nor photos
        self.removal_leftovers: list[str] = []  # after an erasure: files that still name the person
        self.clock = clock
        self.loop = loop
        self.on_event: Callable[[ev.Event], None] | None = None  # sees every worker event first (headless output)
        self._unsaved: list[ev.Checkin] = []  # check-ins the log could not take yet, retried in order
        self.follow_timetable = True  # open and close sessions by the timetable (not while a session is given)
        self._timetable_next = 0.0
        self._sheets_next = 0.0  # pending sheets for export_dir are looked at from the first poll
        self._gallery_notes: list[str] = []

    # -- life cycle

    def open(self) -> None:
        """Take the data lock, open the log (refusing a damaged one) and start the worker."""
        try:
            make_private_dir(self.settings.data)
            self.station_lock = acquire_lock(self.settings.data, self.user)
        except LockedError as exc:
            raise StationError(str(exc)) from None
        except OSError as exc:  # a read-only or full data folder, or a file where the folder should be
            raise StationError(f"cannot use the data folder: {error_text(exc)}") from None
        self.tightened = tighten_data(self.settings.data, self.settings.private_dirs)
        log_to(self.settings.data / STATION_LOG)
        try:
            self.store = open_store(self.settings.data, database=self.settings.database, clock=self.clock,
                                    station=self.name, live=True, wait=self.settings.database_wait,
                                    upgrade_mode="auto")
            self.attendance = Attendance(self.store, user=self.user, station=self.name, locale=self.settings.locale,
                                         codes=self.settings.codes)
            self.presence = PresenceBook(self.store, self.name, time_zone(self.settings.timezone)) \
                if self.settings.mode == "work" else None
            self.live.database = "database online" if shared_log(self.settings) else ""
            self.share_gallery()
            self.missing = self._refuse_missing_templates(self.sync_roster())
        except (StoreError, OSError) as exc:
            with contextlib.suppress(StationError):
                self.close()
            text = error_text(exc) if isinstance(exc, OSError) else str(exc)
            raise (DatabaseUnreachable if isinstance(exc, OfflineError) else StationError)(text) from None
        self.worker = self.worker_factory(self._worker_config())
        self.worker.start()
        self.worker.send(self._door_session())

    def _worker_config(self) -> WorkerConfig:
        session = self.attendance.active
        demo = DemoSourceFactory(str(self.settings.data), loop=self.loop)
        settings = dataclasses.replace(self.settings, database="")  # the worker needs no credentials
        return WorkerConfig(settings=settings, source=self.source, preview=self.preview,
                            session=session.name if session else "", loop=self.loop, names=self._names(),
                            named_sources={"demo": demo}, log_path=str(self.settings.worker_log))

    def close(self) -> None:
        """Stop the worker, close the log, give the lock back; a log that cannot be written is a StationError."""
        with self.lock:
            if self.worker is not None:
                self.worker.stop()
                self.worker = None
            store, self.store = self.store, None
            try:
                if store is not None:
                    store.close()
            except StoreError as exc:
                raise StationError(str(exc)) from None
            finally:
                if self.station_lock is not None:
                    self.station_lock.release()
                    self.station_lock = None

    def now(self) -> datetime:
        return self.store.now() if self.store else datetime.now().astimezone()

    # -- roster

    def _refuse_missing_templates(self, result: SyncResult) -> list[Person]:
        """Refuse to start while templates that can be rebuilt from photos are missing; returns the
        people whose templates and photos are both gone (they need enrolling again)."""
        gone = [p for p in result.missing if not has_photos(self.settings.images_dir / p.folder)]
        rebuildable = [p for p in result.missing if p not in gone]
        if rebuildable:
            self.close()
            raise StationError(missing_templates_message(self.settings, rebuildable))
        return gone

    def missing_notice(self) -> str:
        """A warning naming active people with neither templates nor photos (nobody changed their status)."""
        if not self.missing:
            return ""
        names = ", ".join(f"{p.name} ({p.id})" for p in self.missing[:5]) + (" ..." if len(self.missing) > 5 else "")
        return (f"{plural(len(self.missing), 'person has', 'people have')} neither templates nor photos and cannot "
                f"be recognised: {names}; "
                "enroll them again (e) or remove them (d)")

    def sync_roster(self) -> SyncResult:
        """Register template folders added outside the station and record counts (nobody leaves here)."""
        enrolled = enrolled_counts(self.settings.tensors_dir)
        with self.lock:
            try:
                result = self.attendance.sync_people(enrolled, user=STATION_ACTOR)
            except ConflictError:  # another door enrolled the same folder a moment ago: take theirs
                self.attendance.refresh()
                result = self.attendance.sync_people(enrolled, user=STATION_ACTOR)
        if result.changed and self.worker is not None:
            self.worker.send(ev.SetNames(self._names()))
        return result

    def _names(self) -> dict[str, str]:
        """Display name of each template folder, for the preview's labels."""
        return {p.folder: p.name for p in self.attendance.people() if p.folder}

    def roster(self) -> list[RosterRow]:
        """Everyone active, with their state in the running session."""
        with self.lock:
            return self.attendance.roster()

    def person(self, person_id: str) -> Person | None:
        with self.lock:
            return self.attendance.person(person_id)

    def people(self, group: str | None = None) -> list[Person]:
        with self.lock:
            return self.attendance.people(group=group)

    def groups(self) -> list[str]:
        with self.lock:
            return self.attendance.groups()

    def counts(self) -> Counts | None:
        """Present / late / absent of the running session."""
        with self.lock:
            return self.attendance.counts() if self.attendance.active else None

    # -- sessions

    @property
    def active(self) -> Session | None:
        return self.attendance.active if self.attendance else None

    def start_session(self, name: str, late_after: float | None = None, pin: Credentials | str | None = None,
                      group: str | None = None) -> Session:
        with self.lock:
            actor = self._authorize("session", pin)
            try:
                session = self.attendance.start_session(name, late_after, group=group or None, user=actor)
            except FaceattendError as exc:
                raise StationError(str(exc)) from None
        self._session_changed()
        return session

    def stop_session(self, pin: Credentials | str | None = None) -> Session:
        with self.lock:
            actor = self._authorize("session", pin)
            try:
                session = self.attendance.stop_session(user=actor)
                self._queue_sheet(session.id)
            except FaceattendError as exc:
                raise StationError(str(exc)) from None
        self._session_changed()
        return session

    def sessions(self) -> list[Session]:
        with self.lock:
            return self.attendance.sessions()

    def void_session(self, session_id: int, reason: str, pin: Credentials | str | None = None) -> Session:
        """Void a finished session (kept, left out of reports); an admin's action."""
        with self.lock:
            actor = self._authorize("void", pin)
            try:
                return void_session(self.attendance, session_id, reason, user=actor)
            except FaceattendError as exc:
                raise StationError(str(exc)) from None

    def edit_session(self, session_id: int, pin: Credentials | str | None = None, **changes) -> Edit:
        """Correct a past session's name, group or late_after; says what changed (statuses too)."""
        with self.lock:
            actor = self._authorize("void", pin)
            try:
                edit = edit_session(self.attendance, session_id, user=actor, **changes)
            except FaceattendError as exc:
                raise StationError(str(exc)) from None
        if edit.changed and self.active is not None and self.active.id == session_id:
            self._session_changed()
        return edit

    def timetable(self) -> tuple[list[timetable.Slot], dict[str, str]]:
        """The weekly slots and the days off."""
        with self.lock:
            return timetable.slots_of(self.store), timetable.holidays_of(self.store)

    def save_timetable(self, slots: list[timetable.Slot], holidays: dict[str, str] | None = None,
                       pin: Credentials | str | None = None) -> None:
        """Replace the slots (and the days off, when given); overlapping slots are refused. Audited."""
        problems = timetable.overlaps(list(enumerate(slots, start=1)), "slot")
        if problems:
            raise StationError(problems[0])
        with self.lock:
            actor = self._authorize("timetable", pin)
            with self.store.batch():
                timetable.save_slots(self.store, slots)
                if holidays is not None:
                    timetable.save_holidays(self.store, holidays)
                audit(self.store, "timetable.set", {"slots": len(slots)}, actor)
        self._timetable_next = 0.0  # a slot due now opens at once

    def audit_entries(self, wanted: AuditFilter) -> list[AuditEntry]:
        """The audit log as the filter keeps it, oldest first."""
        with self.lock:
            return matching(self.store.audit_log(), wanted, time_zone(self.settings.timezone))

    def summary(self, session_id: int | None = None) -> Summary | None:
        with self.lock:
            if session_id is None and self.attendance.active is None:
                return None
            return self.attendance.summary(session_id)

    def mark(self, person_id: str, status: str, reason: str, pin: Credentials | str | None = None) -> None:
        with self.lock:
            actor = self._authorize("mark", pin)
            try:
                self.attendance.mark(person_id, status, reason, user=actor)
            except FaceattendError as exc:
                raise StationError(str(exc)) from None

    def export(self, options: ExportOptions, session_id: int | None = None, date_from: date | None = None,
               date_to: date | None = None, pin: Credentials | str | None = None, path: Path | None = None) -> Path:
        options = dataclasses.replace(options, zone=self.settings.timezone)  # times on the station's clock
        with self.lock:
            actor = self._authorize("export", pin)
            try:
                return export_attendance(self.store, self.settings.exports_dir, options, path, session_id,
                                         date_from, date_to, actor, data_root=self.settings.data)
            except ExportError as exc:
                raise StationError(str(exc)) from None

    def import_roster(self, path: Path, pin: Credentials | str | None = None) -> list[str]:
        """People (and photos) from a roster CSV, as `faceattend people import`; returns what changed."""
        with self.lock:
            actor = self._authorize("people", pin)
            try:
                outcome = import_roster(self.attendance, self.settings, Path(path).expanduser(), user=actor,
                                        make_engine=lambda: FaceEngine.from_settings(self.settings, log=lambda _: None))
            except FaceattendError as exc:
                raise StationError(str(exc)) from None
        self.worker.send(ev.SetNames(self._names()))
        if outcome.photos_copied:
            self.worker.send(ev.Reload())
        return outcome.lines()

    def report(self, date_from: date, date_to: date, group: str | None = None) -> Report:
        with self.lock:
            try:
                return build_report(self.store, date_from, date_to, group, self.settings.timezone,
                                    self.settings.locale)
            except ExportError as exc:
                raise StationError(str(exc)) from None

    # -- enrollment

    def capture(self) -> str:
        """Ask the worker for an enrollment capture; returns the request id its result will carry."""
        if self.live.camera != "live":
            detail = f": {self.live.camera_detail}" if self.live.camera_detail else ""
            raise StationError(f"the camera is {self.live.camera}{detail}; enrolling needs a live picture")
        request = f"capture-{time.monotonic_ns()}"
        self.pending_capture = request
        self.worker.send(ev.StartCapture(request, self.settings.capture_seconds, self.settings.capture_samples))
        return request

    def save_enrollment(self, who: EnrollTarget, samples: tuple[ev.CaptureSample, ...],
                        pin: Credentials | str | None = None) -> tuple[Person, int]:
        """Store captured samples for a new person or one on the roster; recognised at once."""
        if not samples:
            raise StationError("no samples to save; capture again")
        with self.lock:
            actor = self._authorize("people", pin)
            if self.recognizer is None:
                raise StationError("the recognition worker is still starting; try again in a moment")
            try:
                person = self._enrollee(who, actor)
                count = enroll.add_samples(self.settings, person.folder, [s.photo_jpeg for s in samples],
                                           np.stack([s.embedding for s in samples]), self.recognizer)
            except FaceattendError as exc:
                raise StationError(str(exc)) from None
            self.share_gallery()
            self.sync_roster()
        self.worker.send(ev.Reload())
        return self.attendance.person(person.id), count

    def enrollee(self, who: EnrollTarget) -> Person | None:
        """Whom an enrollment is for: someone on the roster, or None for a newcomer; raises when unclear."""
        with self.lock:
            by_id = self.attendance.person(who.name)
            if by_id is not None and by_id.active:
                return by_id
            if who.person_id:
                taken = self.attendance.person(who.person_id)
                if taken is not None:
                    raise StationError(f"id {who.person_id!r} is already {taken.name}")
                return None
            named = [p for p in self.attendance.people() if p.name == " ".join(who.name.split())]
            if len(named) > 1:
                raise StationError(f"{len(named)} people are called {who.name!r}: type the id of one "
                                   f"({', '.join(p.id for p in named)}), or a new id for a newcomer")
            return named[0] if named else None

    def describe_enrollee(self, who: EnrollTarget) -> str:
        """One line for the enrollment dialog: whose samples these will be."""
        try:
            person = self.enrollee(who)
        except StationError as exc:
            return str(exc)
        if person is not None:
            return f"adds samples to {person.name} ({person.id}), {person.images} enrolled so far"
        return f"new person {' '.join(who.name.split())}" + (f", id {who.person_id}" if who.person_id else "")

    def _enrollee(self, who: EnrollTarget, actor: str) -> Person:
        """The person to add samples to; a newcomer is added to the roster first."""
        person = self.enrollee(who)
        if person is None:
            person = self.attendance.add_person(who.name, person_id=who.person_id or None, groups=who.groups,
                                                user=actor)
        if not person.folder:  # new, or on the roster (imported) but never photographed
            person = dataclasses.replace(person, folder=enroll.check_name(person.id))
            self.attendance.save_people([person], "person.folder", user=actor)
        return person

    def remove_person(self, person_id: str, erase: bool = False, pin: Credentials | str | None = None) -> Person:
        """They left (records kept), or an erasure request (photos, templates and records go)."""
        with self.lock:
            actor = self._authorize("erase" if erase else "people", pin)
            person = self.attendance.person(person_id)
            if person is None:
                raise StationError(f"no person with id {person_id!r}")
            try:
                removal = remove_person(self.attendance, self.settings, person, erase=erase, user=actor)
            except FaceattendError as exc:
                raise StationError(str(exc)) from None
        self.removal_leftovers = removal.leftovers() if removal else []
        self.worker.send(ev.Reload())
        return person

    # -- worker

    def toggle_preview(self) -> bool:
        """Open the preview window unless it is open (then close it); True when asking to open it."""
        self.preview = self.live.preview != "on"
        self.worker.send(ev.SetPreview(self.preview))
        return self.preview

    def poll(self, timeout: float = 0.1) -> list[Update]:
        """Worker events turned into updates; check-ins are on disk before they are returned.

        One event that cannot be handled (the disk is full, say) becomes a Problem update; the
        events after it are still handled.
        """
        updates = self._shared_updates() + self._timetable_updates() + self._sheet_updates()
        retries, self._unsaved = self._unsaved, []
        fresh = self.worker.poll(timeout)
        for retried, event in [*((True, e) for e in retries), *((False, e) for e in fresh)]:
            if self.on_event is not None and not retried:
                self.on_event(event)
            try:
                update = self.handle(event)
            except (FaceattendError, OSError) as exc:
                update = self._not_recorded(event, exc, retried=retried)
            except Exception as exc:  # a bug: said once with its traceback, and the next events go on
                update = internal_error(f"handling a {event.type} event", exc)
            if update is not None:
                updates.append(update)
        return updates

    def _timetable_updates(self) -> list[Update]:
        """Every few seconds: open the timetable's slot that is due, or close the one that ended."""
        if not self.follow_timetable or self.attendance is None or time.monotonic() < self._timetable_next:
            return []
        self._timetable_next = time.monotonic() + TIMETABLE_EVERY
        with self.lock:
            running = self.attendance.active
            try:
                said = timetable.step(self.attendance, self.now(), time_zone(self.settings.timezone), self.name)
                if said and running is not None:  # it closed a session: its sheet goes to export_dir
                    self._queue_sheet(running.id)
            except FaceattendError as exc:  # e.g. a slot's group that no one is in
                return [Problem(f"the timetable could not open or close a session: {exc}")]
            except Exception as exc:  # a bug: the station goes on recording
                return [internal_error("following the timetable", exc)]
        if not said:
            return []
        self._session_changed()
        return [RosterChanged(), self._live(said)]

    def _queue_sheet(self, session_id: int) -> None:
        """Note an ended session's sheet for export_dir (kept in the log until written); written on the next poll."""
        if self.settings.export_dir:
            sheets.queue(self.store, self.name, session_id)
            self._sheets_next = 0.0

    def _sheet_updates(self) -> list[Update]:
        """Write the sheets still to go to export_dir; a failure is said and tried again a little later."""
        if not self.settings.export_dir or self.store is None or time.monotonic() < self._sheets_next:
            return []
        self._sheets_next = time.monotonic() + SHEETS_EVERY
        folder = Path(self.settings.export_dir).expanduser()
        with self.lock:
            try:
                drop = sheets.write_pending(self.store, self.name, folder, self.settings.export_formats,
                                            self.settings.timezone, STATION_ACTOR)
            except StoreError as exc:
                return [self._live(f"the sheets for {folder} could not be checked: {exc}", "error")]
        if drop.problem:
            return [self._live(drop.problem, "error")]
        return [self._live(f"the sheet {path.name} is in {folder}") for path in drop.written]

    def _not_recorded(self, event: ev.Event, exc: Exception, retried: bool) -> Problem | None:
        """A check-in that could not be written is kept and tried again (with its own time) on the next poll."""
        if isinstance(event, ev.Checkin) and len(self._unsaved) < MAX_UNSAVED:
            self._unsaved.append(event)
            if retried:
                return None  # said once already
            return Problem(f"could not record the check-in of {self._label(event.name)} yet: {exc}; "
                           "it is kept and written as soon as the disk allows")
        return Problem(f"could not record {event.type}: {exc}")

    def _label(self, folder: str) -> str:
        person = self.attendance.by_folder(folder)
        return person.name if person else folder

    def handle(self, event: ev.Event) -> Update | None:
        """One worker event as an update for the screen (None: nothing to show)."""
        match event:
            case ev.Checkin():
                return self._checkin(event)
            case ev.Spoof():
                return self._refused(event)
            case ev.Unknown():
                self.live.unknown_faces += 1
                return UnknownFaces(self.live.unknown_faces, datetime.fromtimestamp(event.time).astimezone())
            case ev.Stats():
                self.live.fps = float(event.fps)
                return self._live()
            case ev.Ready():
                self.recognizer = event.recognizer_identity()
                self.live.device, self.live.models = event.device, f"{event.detector} + {event.recognizer}"
                if self.share_gallery():
                    self.worker.send(ev.Reload())
                if event.static_shapes:
                    return self._live(f"recognition ready on {event.device}: fixed input shapes prepared in "
                                      f"{event.warmup_s:.1f} s")
                return self._live()
            case ev.CaptureResult():
                return self._capture_done(event)
            case ev.GalleryLoaded():
                if self.share_gallery():
                    self.worker.send(ev.Reload())  # templates came from another door: load them first
                    return None
                return self._roster_changed(self.sync_roster())
            case ev.Status():
                return self._status(event)
            case ev.Error():
                return Problem(event.message)
        raise TypeError(f"the station cannot handle {event!r}")

    def _checkin(self, event: ev.Checkin) -> CheckinShown | Sighting | None:
        when = datetime.fromtimestamp(event.time).astimezone()
        with self.lock:
            person = self.attendance.by_folder(event.name)
            if person is None:
                return None  # templates of someone no longer on the roster; the worker reloads soon
            came = self.presence.seen(person.id, when) if self.presence else False
            if self.attendance.active is None:
                self._tell_door(self._sessionless(person, event.track, when, came))
                return Sighting(person.name, event.similarity, when, "in" if came else "no session", person.id)
            result = self.attendance.check_in(person.id, event.similarity, event.track, when, event.evidence)
            if not result.expected:
                self._tell_door(ev.ShowOutcome("not-on-list", person.name, event.track, "- please see staff"))
                return Sighting(person.name, event.similarity, when, "not on list", person.id)
            row, counts = self.attendance.roster_row(person.id, checkin=result.checkin), self.attendance.counts()
        self._tell_door(door_outcome(row, result.new, event.track, self.attendance.active))
        self._tell_door(self._door_session(counts))
        return CheckinShown(row, counts, event.similarity, when, result.new, event.face_jpeg, event.sent or event.time)

    def _sessionless(self, person: Person, track: int, when: datetime, came: bool) -> ev.ShowOutcome:
        """The door's word without a session: in work mode "in" at the day's first sighting, else nothing recorded."""
        if self.presence is None:
            return ev.ShowOutcome("no-session", person.name, track, "(no session: nothing recorded)")
        if came:
            return ev.ShowOutcome("checked-in", person.name, track, f"at {when.astimezone():%H:%M}")
        return ev.ShowOutcome("already-here", person.name, track, "")

    # -- a log shared with other stations

    def share_gallery(self) -> bool:
        """Send templates enrolled here to the shared log and take the other doors'; True when any came in."""
        with self.lock:
            outcome = sync_gallery(self.store, self.settings.tensors_dir, self.name, self.recognizer)
        self._gallery_notes = outcome.notes
        return outcome.changed_here

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

    def _refused(self, event: ev.Spoof) -> Sighting:
        """A picture held up to the camera: not recorded, but audited and shown."""
        when = datetime.fromtimestamp(event.time).astimezone()
        person = self.attendance.by_folder(event.name)
        name = person.name if person else event.name
        with self.lock:
            audit(self.store, "checkin.refused", {"person": person.id if person else None, "track": event.track,
                                                  "reason": "moved like a flat picture", "evidence": event.evidence},
                  STATION_ACTOR)
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
        session = self.attendance.active
        if session is None:
            return ev.SetSession("")
        counts = counts or self.attendance.counts()
        return ev.SetSession(session.name, counts.attended, len(session.expected))

    def _roster_changed(self, result: SyncResult) -> RosterChanged | None:
        if not result.changed:
            return None
        joined = ", ".join(p.name for p in result.joined[:5]) + (" ..." if len(result.joined) > 5 else "")
        return RosterChanged(f"joined the running session: {joined}" if result.joined else "")

    def _capture_done(self, event: ev.CaptureResult) -> CaptureDone | None:
        if event.request != self.pending_capture:
            return None  # an old request the screen no longer waits for
        self.pending_capture = None
        match = event.match and self.attendance.by_folder(event.match.name)
        if match:  # the worker knows template folders; the screen shows people
            hint = ev.MatchHint(name=f"{match.name} ({match.id})", similarity=event.match.similarity)
            event = dataclasses.replace(event, match=hint)
        return CaptureDone(event)

    def _status(self, event: ev.Status) -> LiveChanged:
        notice, severity = "", "information"
        match event:
            case ev.CameraStatus(state=state):
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
            case ev.Notice(topic="worker-restarted" | "gallery" as topic):
                notice, severity = event.message, "error" if topic == "worker-restarted" else "warning"
        return self._live(notice, severity)

    def _live(self, notice: str = "", severity: str = "information") -> LiveChanged:
        return LiveChanged(dataclasses.replace(self.live), notice, severity)

    def _authorize(self, action: str, given: Credentials | str | None) -> str:
        """The staff member to record for a privileged action; StationError when refused."""
        try:
            return authorize(self.store, action, given, self.user)
        except PinError as exc:
            raise StationError(str(exc)) from None
        except StoreError as exc:
            raise StationError(f"cannot check the PIN: {exc}") from None

    def namesake_notice(self) -> str:
        """A warning when another station of the same name shares the database (its check-ins would pass for ours)."""
        with self.lock:
            count = self.store.namesakes() if self.store else 0
        if not count:
            return ""
        return (f"another station named {self.name!r} is connected to the database; give each door its own "
                "--name, or the check-ins of one will not show at the other")

    def pin_notice(self) -> str:
        """A warning when the staff PIN was reset without the old one and nobody has set a new one."""
        with self.lock:
            reset = last_reset(self.store)
        if reset is None:
            return ""
        whose = reset.details.get("staff") or "the staff"
        return (f"the PIN of {whose} was reset on {reset.time:%Y-%m-%d %H:%M} by {reset.user} without the old one; "
                "they should choose a new one with: faceattend pin")

    @property
    def statuses(self) -> tuple[str, ...]:
        """What staff may mark: present, late, absent, then the absence codes."""
        return (*STATUSES, *(self.attendance.codes if self.attendance else ()))

    @property
    def needs_pin(self) -> bool:
        with self.lock:
            return staff_required(self.store)

    @property
    def needs_staff_name(self) -> bool:
        """Whether privileged actions need a staff name beside the PIN (more than one staff account)."""
        with self.lock:
            return len(accounts(self.store)) > 1


def door_outcome(row: RosterRow, new: bool, track: int, session: Session) -> ev.ShowOutcome:
    """The banner for a check-in: checked in, late, or already here since the first arrival."""
    arrival = f"{row.time.astimezone():%H:%M}" if row.time else ""
    if not new:
        return ev.ShowOutcome("already-here", row.name, track, f"since {arrival}")
    if row.status == LATE:
        deadline = session.late_deadline
        limit = f", after {deadline.astimezone():%H:%M}" if deadline else ""
        return ev.ShowOutcome("late", row.name, track, f"at {arrival}{limit}")
    return ev.ShowOutcome("checked-in", row.name, track, f"at {arrival}")


@dataclass(frozen=True)
class EnrollTarget:
    """Who an enrollment is for: someone on the roster (by id), or a newcomer (name, optional id, groups)."""

    name: str = ""
    person_id: str = ""
    groups: tuple[str, ...] = ()


def shared_log(settings: Settings) -> bool:
    return bool(settings.database)


MAX_UNSAVED = 1000  # check-ins kept in memory while the disk refuses them

# The header's word for each camera state (a skipped photo in a folder changes nothing).
CAMERA_WORDS = {"opened": "live", "ended": "ended", "lost": "lost", "reconnecting": "retrying", "error": "error"}
