"""The station's life cycle: the data lock, the log and the worker; who may do what."""

from __future__ import annotations

import contextlib
import dataclasses
import stat
import time
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from faceattend_tui.attendance import (
    Attendance,
    Change,
    ConflictError,
    FoldError,
    LockedError,
    OfflineError,
    Person,
    PinError,
    StoreError,
    SyncResult,
    acquire_lock,
    audit,
    open_store,
    timetable,
)
from faceattend_tui.attendance.export import time_zone
from faceattend_tui.attendance.hours import PresenceBook
from faceattend_tui.attendance.models import STATUSES, plural
from faceattend_tui.attendance.security import Credentials, station_cut_off
from faceattend_tui.attendance.staff import accounts, authorize, doing, open_resets, staff_required
from faceattend_tui.demo import DemoSourceFactory
from faceattend_tui.errors import FaceattendError
from faceattend_tui.files import (
    error_text,
    foreign_owned,
    kept_open,
    make_private_dir,
    tighten_data,
    unfit_data_folder,
)
from faceattend_tui.gallery.enroll import has_photos
from faceattend_tui.gallery.templates import GalleryError, enrolled_counts, foreign, load_manifest, made_by_another
from faceattend_tui.live import events as ev
from faceattend_tui.live.camera import source_label
from faceattend_tui.live.worker import WorkerConfig
from faceattend_tui.station.clockwatch import behind_notice
from faceattend_tui.station.enrolling import finish_cut_short
from faceattend_tui.station.people import (
    erasures_cut_short,
    forget_erased,
    missing_templates_message,
    set_aside,
    shared_erasures_cut_short,
)
from faceattend_tui.station.shared_gallery import sync_gallery
from faceattend_tui.station.state import StationState
from faceattend_tui.station.sync import log_place_problem, shared_log
from faceattend_tui.station.updates import (
    DATABASE_ONLINE,
    LOG,
    STATION_ACTOR,
    STATION_LOG,
    DatabaseUnreachable,
    LogKept,
    PinRefused,
    StationError,
    log_to,
)
from faceattend_tui.vision.models import configured_sha256, loaded_models

CLOCK_TOLERANCE = 30.0  # seconds a door's clock may differ from the shared database's unsaid
COMMAND_WAIT = 10.0  # seconds a starting station waits for a faceattend command that holds the data (commands end)
PREVIEW_ANSWER_SECONDS = 3.0  # a worker opens or closes its window well within this (Qt's first window: ~1 s)
LOW_THRESHOLD = 0.15  # a recognition threshold under this is said at start: impostors score up to ~0.2


if TYPE_CHECKING:

    from faceattend_tui.attendance import Counts, Store
    from faceattend_tui.attendance.staff import Action
    from faceattend_tui.station.updates import Worker


class Lifecycle(StationState):
    """Opening and closing the station, and what it says about itself."""

    if TYPE_CHECKING:  # from the other parts of the station
        def _door_session(self, counts: Counts | None = None) -> ev.SetSession: ...
        def unsaved_left(self) -> list[str]: ...
        def zone_notice(self) -> str: ...

    def open(self) -> None:
        """Take the data lock, open the log (refusing a damaged one) and start the worker."""
        self._refuse_another_log()
        unfit = unfit_data_folder(self.settings.data)
        if unfit is not None:
            raise StationError(unfit)
        try:
            make_private_dir(self.settings.data)
            self.station_lock = acquire_lock(self.settings.data, self.user, what="station", wait=COMMAND_WAIT)
            self.cut_off = station_cut_off(self.settings.data, self.station_lock)
        except LockedError as exc:
            raise StationError(f"{exc}{lock_hint(exc.holder.get('what'))}") from None
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
            self.found_at_open = self.store.latest_moment(audit=False)  # the doors' last, not a command's since
            self.presence = PresenceBook(self.store, self.name, time_zone(self.settings.timezone),
                                         self.settings.day_change) if self.settings.mode == "work" else None
            self.live.database = DATABASE_ONLINE if shared_log(self.settings) else ""
            self.share_gallery(self.gallery_progress)
            self.missing = self._refuse_missing_templates(self.sync_roster())
            self._refuse_foreign_templates()
            open_resets(self.store)  # the audit read whole, as the start's notices read it: a damaged one refuses
            self._audit_opening()    # the start before anything is written to it
            # a lesson a clock running ahead opened and staff voided, the clock put right with the station off
            timetable.free_slots_of(self.store, timetable.to_come(self.store))
        except (StoreError, OSError) as exc:
            with contextlib.suppress(StationError):
                self.close()
            text = error_text(exc) if isinstance(exc, OSError) else str(exc)
            raise (DatabaseUnreachable if isinstance(exc, OfflineError) else StationError)(text) from None
        self.worker = self.worker_factory(self._worker_config())
        self.worker.start()
        self.worker.send(self._door_session())


    def _worker_config(self) -> WorkerConfig:
        session = self._attendance().active
        demo = DemoSourceFactory(str(self.settings.data), loop=self.loop)
        settings = dataclasses.replace(self.settings, database="")  # the worker needs no credentials
        return WorkerConfig(settings=settings, source=self.source, preview=self.preview,
                            session=session.name if session else "", loop=self.loop, names=self._names(),
                            named_sources={"demo": demo}, log_path=str(self.settings.worker_log))


    def close(self) -> None:
        """Stop the worker, close the log, give the lock back. Check-ins the log could still not take
        are named in a StationError; a log whose file could not be rewritten (its journal keeps
        everything) is LogKept."""
        with self.lock:
            if self.worker is not None:
                left = self.worker.stop()  # what it saw after the screen's last poll: written below
                self._unsaved += [e for e in left if isinstance(e, ev.Checkin | ev.Present)]
                self.worker = None
            unwritten = self._flush_sightings()
            lost = self.unsaved_left() if self.store is not None else []
            store, self.store = self.store, None
            problem = StationError(unwritten) if unwritten else None
            try:
                if store is not None:
                    store.close()
                    unsent = self._unsent_at_close(store.changes())
                    if unsent:
                        LOG.warning(unsent)  # for whoever reads station.log of a station nobody watched close
                        problem = problem or StationError(unsent)
            except FoldError as exc:
                problem = LogKept(str(exc))
            except StoreError as exc:
                problem = StationError(str(exc))
            finally:
                if self.station_lock is not None:
                    self.station_lock.release()
                    self.station_lock = None
        if lost:
            raise StationError(f"{plural(len(lost), 'check-in')} could not be written and are lost: {', '.join(lost)}; "
                               "mark them present by hand once the log can be written")
        if problem is not None:
            raise problem


    def _unsent_at_close(self, changes: list[Change]) -> str:
        """Check-ins the journal sent as the station closed that the shared database could not file (their
        session stopped at another door meanwhile): said, as the running station says them. Those of someone
        erased meanwhile go unsaid: nothing names them after their erasure."""
        found = [c.checkin for c in changes if c.table == "after-end" and c.checkin is not None]
        if not found:
            return ""
        named = ", ".join(f"{self._person_label(c.person_id)} at {c.time.astimezone():%H:%M:%S}" for c in found)
        return (f"{plural(len(found), 'check-in')} kept while the database was away could not be filed as the "
                f"station closed (their session was stopped at another door meanwhile): {named}; "
                "mark them by hand in the session they came to")

    def _person_label(self, person_id: str) -> str:
        """A person as staff read them in a line: "Ann Lee (S1)"."""
        person = self.attendance.person(person_id) if self.attendance is not None else None
        return f"{person.name} ({person_id})" if person else person_id

    def _refuse_another_log(self) -> None:
        problem = log_place_problem(self.settings)
        if problem:
            raise StationError(problem)

    def _flush_sightings(self) -> str:
        """Work mode: the sightings of the last minute, not written yet, before the log closes; what went
        wrong, or ""."""
        if self.presence is not None and self.store is not None:
            try:
                self.presence.flush()
            except StoreError as exc:
                return f"the last minute's sightings (work mode), {exc}"
        return ""

    def zone(self) -> tzinfo | None:
        """The clock of the timezone setting; None (this machine's) when it names no zone."""
        try:
            return time_zone(self.settings.timezone)
        except FaceattendError:
            return None

    def now(self) -> datetime:
        return self.store.now() if self.store else datetime.now().astimezone()

    def _attendance(self) -> Attendance:
        """The log's rules; only once the station is open."""
        assert self.attendance is not None, "the station is not open"
        return self.attendance

    def _store(self) -> Store:
        """The log; only while the station is open."""
        assert self.store is not None, "the station is not open"
        return self.store

    def _worker(self) -> Worker:
        """The recognition worker; only while the station is open."""
        assert self.worker is not None, "the station is not open"
        return self.worker


    def _refuse_missing_templates(self, result: SyncResult) -> list[Person]:
        """Refuse to start while templates that can be rebuilt from photos are missing; returns the
        people whose templates and photos are both gone (they need enrolling again)."""
        gone = [p for p in result.missing if not has_photos(self.settings.images_dir, p.folder)]
        rebuildable = [p for p in result.missing if p not in gone]
        if rebuildable:
            self.close()
            raise StationError(missing_templates_message(self.settings, rebuildable))
        return gone


    def _audit_opening(self) -> None:
        """Who opened the station on what: check-ins from a folder of photos into a session left running
        are then traceable to a login, as marks are to a staff member."""
        active = self._attendance().active
        audit(self._store(), "station.open", {"station": self.name, "source": source_label(self.source),
                                              "session": active.id if active else None}, self.user)


    def _refuse_foreign_templates(self) -> None:
        """Refuse to start on templates another recogniser made: everyone would be unknown all day."""
        try:
            manifest = load_manifest(self.settings.tensors_dir)
        except GalleryError:
            return  # the worker says what is wrong with it
        made = manifest.recognizer if manifest is not None else None
        if not foreign(made, configured_sha256(self.settings.recognizer, self.settings.data)):
            return
        self.close()
        raise StationError(f"the templates in {self.settings.tensors_dir} were "
                           f"{made_by_another(made, self.settings.recognizer)}: everyone would be unknown; run "
                           "`faceattend extract` to rebuild them from the photos, or set the recognizer they were "
                           "made with")


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
            attendance = self._attendance()
            self._gallery_notes += finish_cut_short(attendance, self.settings, enrolled)  # before a folder is a name
            try:
                result = attendance.sync_people(enrolled, user=STATION_ACTOR)
            except ConflictError:  # another door enrolled the same folder a moment ago: take theirs
                attendance.refresh()
                result = attendance.sync_people(enrolled, user=STATION_ACTOR)
        if result.changed and self.worker is not None:
            self.worker.send(ev.SetNames(self._names()))
        if result.refused or result.misplaced:
            self._gallery_notes += forget_erased(self.settings, result.refused)
            self._gallery_notes += set_aside(self.settings, result.misplaced)
            if self.worker is not None:
                self.worker.send(ev.Reload())
        return result


    def _names(self) -> dict[str, str]:
        """Display name of each template folder, for the preview's labels."""
        return {p.folder: p.name for p in self._attendance().people() if p.folder}


    def share_gallery(self, progress: Callable[[int, int], object] | None = None) -> bool:
        """Send templates enrolled here to the shared log and take the other doors'; True when any came in."""
        with self.lock:
            outcome = sync_gallery(self.store, self.settings.tensors_dir, self.name, self.recognizer, progress)
        self._gallery_notes = outcome.notes
        return outcome.changed_here


    if TYPE_CHECKING:
        def untemplated_notice(self) -> str: ...
        def cut_off_notice(self) -> str: ...

    def start_notices(self) -> list[str]:
        """What staff should know as the station starts: face data open to other users, reset PINs, a
        namesake door, its clock, missing templates, a recognition threshold set far too low."""
        found = (*self.erasure_notices(), self.kept_open_notice(), self.cut_off_notice(),
                 self.pin_notice(), self.namesake_notice(),
                 self.clock_notice(), self.zone_notice(), self.missing_notice(),
                 self.untemplated_notice(), self.threshold_notice(), self.sheets_notice(), self.owners_notice())
        return [notice for notice in found if notice]

    def erasure_notices(self) -> list[str]:
        """Erasures cut short, as the data folder and a shared database tell them."""
        found = erasures_cut_short(self.settings.data)
        if self.settings.database:
            with contextlib.suppress(StoreError):  # away: said on its own
                found += shared_erasures_cut_short(self.settings.data, self._store())
        return found

    def kept_open_notice(self) -> str:
        """A data folder the disk keeps readable by other users whatever chmod says (exFAT, FAT, NTFS)."""
        return kept_open([self.settings.data, *self.settings.private_dirs])

    def owners_notice(self) -> str:
        """Settings or models another user owns: that user decides the threshold or the model finding faces."""
        found = foreign_owned(self.settings.data, loaded_models(self.settings))
        if not found:
            return ""
        names = ", ".join(str(path) for path in found[:4])
        return (f"{names} {'is' if len(found) == 1 else 'are'} owned by another user, not this one or root: whoever "
                "that is decides this station's settings or models (chown them, or check them)")

    def sheets_notice(self) -> str:
        """An export_dir every user may write to: anyone could put a forged sheet there under a session's name
        (the station's own would then be written beside it, as -2)."""
        folder = self.settings.sheets_dir
        try:
            shared = folder is not None and bool(folder.stat().st_mode & stat.S_IWOTH)
        except OSError:
            return ""
        if not shared:
            return ""
        return (f"export_dir {folder} may be written by every user of this machine: anyone could put a sheet there "
                "under a session's name; give the office a folder only the station writes to")

    def tightened_notice(self) -> str:
        """Said once: the permissions narrowed as the station opened its data (a disk that kept them open
        is a warning of `start_notices`)."""
        if not self.tightened or self.kept_open_notice():
            return ""
        return (f"face data is private: narrowed the permissions of "
                f"{plural(self.tightened, 'file or folder', 'files and folders')} to this user only")

    def threshold_notice(self) -> str:
        """A threshold far below the one the accuracy figures use names strangers as enrolled people."""
        value = self.settings.threshold
        if value >= LOW_THRESHOLD:
            return ""
        return (f"threshold = {value:g} is far below the 0.30 the accuracy figures use: strangers may be checked "
                "in as enrolled people (a typo for 0.3?)")

    def clock_notice(self) -> str:
        """A warning when this machine's clock and the shared database's disagree (doors would record
        arrivals, lateness and session ends on different clocks), or when it is behind the log."""
        with self.lock:
            skew = self.store.clock_skew() if self.store else 0.0
            latest = self.store.latest_moment() if self.store else None
        if abs(skew) < CLOCK_TOLERANCE:
            return behind_notice(self.now(), latest)
        way = "ahead of" if skew > 0 else "behind"
        return (f"this station's clock is {abs(skew) / 60:.1f} minutes {way} the database's: arrivals and lateness "
                "would be recorded on the wrong time; set the clock (NTP, timedatectl) and start again")


    def namesake_notice(self) -> str:
        """A warning when another station of the same name shares the database (its check-ins would pass for ours)."""
        with self.lock:
            count = self.store.namesakes() if self.store else 0
        if not count:
            return ""
        return (f"another station named {self.name!r} is connected to the database; give each door its own "
                "--name, or the check-ins of one will not show at the other")


    def pin_notice(self) -> str:
        """A warning for each staff PIN reset without the old one whose owner has not chosen a new one."""
        with self.lock:
            resets = open_resets(self._store())
        said = [f"the PIN of {reset.details.get('staff') or 'the staff'} was reset on {reset.time:%Y-%m-%d %H:%M} by "
                f"{reset.user} without the old one" for reset in resets]
        return "; ".join(said) + "; each should choose a new one with: faceattend pin" if said else ""


    @property
    def statuses(self) -> tuple[str, ...]:
        """What staff may mark: present, late, absent, then the absence codes."""
        return (*STATUSES, *(self.attendance.codes if self.attendance else ()))


    @property
    def needs_pin(self) -> bool:
        with self.lock:
            return staff_required(self._store())


    @property
    def needs_staff_name(self) -> bool:
        """Whether privileged actions need a staff name beside the PIN (more than one staff account)."""
        with self.lock:
            return len(accounts(self._store())) > 1


    def _authorize(self, action: Action, given: Credentials | str | None) -> str:
        """The staff member to record for a privileged action; StationError when refused."""
        try:
            return authorize(self._store(), action, given, self.user)
        except PinError as exc:
            raise PinRefused(str(exc)) from None
        except StoreError as exc:  # the log cannot tell who may (a shared database away): nothing was done
            raise StationError(f"cannot {doing(action)} now: {exc}") from None


    def toggle_preview(self) -> bool:
        """Open the preview window unless it is open (then close it); True when asking to open it. Keys
        pressed before the worker answered the last one flip what was asked, not what it last said."""
        asked_lately = time.monotonic() - self.preview_asked_at < PREVIEW_ANSWER_SECONDS
        self.preview = not self.preview if asked_lately else self.live.preview != "on"
        self.preview_asked_at = time.monotonic()
        self._worker().send(ev.SetPreview(self.preview))
        return self.preview


def lock_hint(holder: str | None) -> str:
    """What to do about the data folder's lock, by what holds it."""
    if holder == "station":
        return ("; another station runs on this data folder: go to its terminal (tmux attach) and quit it with q, "
                "or stop its service, then start again")
    if holder == "command":
        return f"; a faceattend command is at work on it (waited {COMMAND_WAIT:g} s): start again once it ends"
    return ""
