"""`faceattend station --headless`: the station without a screen, for kiosks, services and scripts.

It opens the log, starts (or resumes) the session, records check-ins under the same rules as the
screen, prints what `watch` prints plus one line per recorded check-in, and stops the session
when it exits unless asked to keep it open for a later station.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, TextIO

from faceattend_tui.attendance.common import to_iso
from faceattend_tui.attendance.export import time_zone
from faceattend_tui.attendance.models import Session, printable
from faceattend_tui.attendance.security import Credentials
from faceattend_tui.attendance.timetable import same_group, same_hour_again
from faceattend_tui.cli.output import Output, to_stderr
from faceattend_tui.cli.watch import Naming, Who, ends_run, human_line, is_failure, output_zone, stamped
from faceattend_tui.live import events as ev
from faceattend_tui.station import (
    CheckinShown,
    LiveChanged,
    Problem,
    RosterChanged,
    Sighting,
    Station,
    StationError,
    StoppedElsewhere,
    Update,
    left_running,
)
from faceattend_tui.text import json_line

NEVER_OPENED = "the camera gave no picture, so nobody could be recorded"
ONLY_BLANK = "the camera's picture was blank throughout (lens covered? no signal?), so nobody could be recorded"
NEW_DAY_EVERY = 10.0  # seconds between looks for a new working day in a run with --session (two looks confirm one)
STAFF_VARIABLE, PIN_VARIABLE = "FACEATTEND_STAFF", "FACEATTEND_PIN"  # who starts and stops, unattended


def staff_from_environment() -> Credentials:
    """The staff account and PIN a headless station acts under (when the log has accounts)."""
    return Credentials(os.environ.get(STAFF_VARIABLE, ""), os.environ.get(PIN_VARIABLE, ""))


@dataclass
class HeadlessOptions:
    session: str
    group: str | None = None
    late_after: float | None = None
    json: bool = False
    max_seconds: float | None = None
    keep_open: bool = False
    stats: bool = False  # text mode: the worker's per-second stats lines too (JSON always has them)


def recorded_line(update: CheckinShown, session: str, station: str, zone: tzinfo | None = None) -> dict[str, Any]:
    row = update.row
    return stamped({"type": "recorded", "id": row.id, "name": row.name, "status": row.status,
                    "time": to_iso(update.time), "similarity": update.similarity, "session": session,
                    "new": update.new, "station": update.station or station}, update.time, zone, (row.id, row.name))


class Headless:
    def __init__(self, station: Station, options: HeadlessOptions, out: TextIO) -> None:
        self.station, self.options = station, options
        self.stop = threading.Event()
        self.output = Output(out, self.output_closed)
        self.failed = False
        self.gave_up = False  # the worker cannot go on (a fatal error): the session is left open
        self.started: int | None = None  # the session this run started (not one it resumed)
        self.last_session: Session | None = None  # the latest session this run knew running
        self.pictures_came = False  # pictures that were not blank
        self.frames_came = False
        self.blank = False  # the camera's picture shows nothing, said once each time it begins
        self.stopped_by = ""  # the signal that ended the run, in words
        self.next_day_check = 0.0  # when `new_day` looks again
        self.new_day_seen = False  # its last look found the session left from an earlier day
        self.zone = output_zone(station.settings) if station is not None else None
        self.naming = Naming(self.who, self.zone)

    def who(self, folder: str) -> Who:
        """The person whose templates are in this folder, as the log knows them; the folder's name otherwise."""
        attendance = getattr(self.station, "attendance", None)
        person = attendance.by_folder(folder) if attendance is not None else None
        return (person.id, person.name) if person else (None, folder)

    def line(self, record: dict[str, Any], when: datetime | float | None = None,
             who: Who | None = None) -> dict[str, Any]:
        """The record with the fields every JSON line carries (see `stamped`); `when` None: now."""
        if when is None and self.station is not None:
            when = self.station.now()  # the log's clock
        return stamped(record, when, self.zone, who)

    def say(self, record: dict[str, Any], text: str) -> None:
        self.output.put(json_line(record) if self.options.json else text)

    def output_closed(self) -> None:
        """The reader went away: the run stops as on SIGTERM (from the output's thread)."""
        self.failed = True
        self.stop.set()

    def ours(self, session: Session) -> bool:
        """Whether a session is the one this run was given (--session), as the log spells names."""
        return session.name == " ".join(self.options.session.split())

    def start_session(self, after: Session | None = None) -> None:
        """Start or resume the run's session; `after`: the day before's, whose lateness a new day's keeps (late
        from the same hour, or nobody late), not the options' minutes from a start just after midnight, and
        whose group it keeps where the run was given none (a session resumed, of the group staff chose)."""
        running = self.station.active
        pin = staff_from_environment()
        if running is not None and self._left_from_an_earlier_day(running, pin):
            running = None
        if running is not None:
            if not self.ours(running):
                raise StationError(f"session {running.name!r} is already running; stop it or give its name")
            self.station.staff_for("session", pin)  # refused now, not when it stops hours later
            differs = self._differences(running)
            self.say(self.line({"type": "session", "state": "resumed", "id": running.id, "name": running.name,
                                "started": to_iso(running.started_at), **({"message": differs} if differs else {})}),
                     f"resumed session {running.name!r} (id {running.id}, started "
                     f"{running.started_at.astimezone(self.zone):%Y-%m-%d %H:%M})")
            if differs:
                to_stderr(f"warning: {differs}")
            self.last_session = running
            return
        try:
            late_after = self.options.late_after if after is None else None
            late_from = None if after is None else same_hour_again(after, self.station.now(), self.zone)
            group = after.group if after is not None and self.options.group is None else self.options.group
            session = self.station.start_session(self.options.session, late_after, pin, group, late_from)
        except StationError:
            if not self.station.settings.database:
                raise
            self.station.refresh()  # another door started it a moment ago: resume it
            if self.station.active is None:
                raise
            self.start_session(after)
            return
        self.started = session.id
        self.say_started(session, "started")

    def _left_from_an_earlier_day(self, running: Session, pin: Credentials) -> bool:
        """A session of this name left running on an earlier day (a crash, --keep-open) is stopped at its last
        record and said, rather than taking today's arrivals, late, into yesterday's session."""
        settings = self.station.settings
        zone = time_zone(settings.timezone)
        if not self.ours(running):
            return False
        if not left_running(running, self.station.now(), zone, settings.day_change):
            return False
        try:
            stopped = self.station.stop_session(pin, at=self.station.last_record(running))
        except StoppedElsewhere:
            self.last_session = running
            for update in self.station.refresh():  # that stop, said as another door's
                self.on_update(update)
            return True  # another door stopped it a moment ago: today's starts
        note = (f"session {stopped.name!r} (id {stopped.id}) was left running since "
                f"{running.started_at.astimezone(zone):%Y-%m-%d %H:%M}: stopped at its last record; a new one starts")
        to_stderr(f"warning: {note}")
        self.say_stopped(stopped, note)
        return True

    def _differences(self, running: Session) -> str:
        """What a resumed session keeps although the options ask otherwise ("" when they agree)."""
        kept = []
        if self.options.group is not None and not same_group(self.options.group, running.group):  # 3a is 3A
            kept.append(f"for {running.audience}, not group {self.options.group!r}")
        if self.options.late_after is not None and self.options.late_after != running.late_after_minutes:
            minutes = running.late_after_minutes
            was = "nobody late" if minutes is None else f"late after {minutes:g} min"
            kept.append(f"{was}, not late after {self.options.late_after:g} min")
        if not kept:
            return ""
        return (f"the resumed session keeps what it was started with: {', '.join(kept)} "
                "(faceattend sessions edit changes it)")

    def on_event(self, event: ev.Event) -> None:
        self.failed |= is_failure(event)
        self.gave_up |= isinstance(event, ev.Error) and event.fatal
        self._follow_camera(event)
        if isinstance(event, ev.Stats) and event.blank != self.blank:
            self.blank = event.blank
            if event.blank:
                to_stderr("warning: the camera's picture is blank (lens covered? no signal?): nobody can check in")
        if isinstance(event, ev.Stats) and not (self.options.json or self.options.stats):
            return
        if isinstance(event, ev.LookAlike):  # the people by their names on the roster, not their folders
            event = dataclasses.replace(event, message=self.station.look_alike_text(event))
        self.say(self.naming.line(event), human_line(event, self.naming.name))
        if ends_run(event):
            self.stop.set()

    def _follow_camera(self, event: ev.Event) -> None:
        """Whether the camera gave pictures: faces or frames that were not blank came from it (one that opens
        and gives none, a video of no frames, a lens left covered, leaves everyone absent as one that never
        opened)."""
        if isinstance(event, ev.Stats) and event.frames > 0:
            self.frames_came = True
        if isinstance(event, (ev.Checkin, ev.Unknown)) or (isinstance(event, ev.Stats) and event.frames > 0
                                                            and not event.blank):
            self.pictures_came = True

    def on_update(self, update: Update) -> None:
        session = self.station.active.name if self.station.active else ""
        match update:
            case CheckinShown(new=True):
                line = recorded_line(update, session, self.station.name, self.zone)
                where = f" at {update.station}" if update.station else ""
                self.say(line, f"recorded  {printable(line['name'])} ({line['id']}) {line['status']}{where} "
                               f"at {update.time:%H:%M:%S}")
            case CheckinShown(new=False):  # seen again, or checked in at another door first
                line = recorded_line(update, session, self.station.name, self.zone)
                since = f" since {update.row.time:%H:%M:%S}" if update.row.time else ""
                self.say(line, f"already   {printable(line['name'])} ({line['id']}) {line['status']}{since}")
            case LiveChanged(notice=notice) if notice.startswith("the sheet"):
                self.say(self.line({"type": "sheet", "message": notice, "error": update.severity == "error"}),
                         notice)
            case LiveChanged(notice=notice) if notice.startswith("the timetable"):
                self.say(self.line({"type": "timetable", "message": notice}), notice)
                self._timetabled(notice)
            case LiveChanged(notice=notice) if notice.startswith("the database"):
                self.say(self.line({"type": "database", "state": update.live.database, "message": notice}),
                         f"{update.live.database}: {notice}")
            case LiveChanged(notice=notice) if notice.startswith("session ") and " at " in notice:
                self._elsewhere(notice)
            case LiveChanged(notice=notice, own=True) if notice:  # templates refused, a session left running
                to_stderr(f"{'error' if update.severity == 'error' else 'warning'}: {notice}")
            case RosterChanged(notice=notice) if notice:  # e.g. who joined the running session
                self.say(self.line({"type": "roster", "message": notice}), notice)
            case Sighting(reason="no session"):
                who = (update.person_id or None, update.name)
                self.say(self.line({"type": "not-recorded", "name": update.name, "time": to_iso(update.time),
                                    "reason": "no session running"}, update.time, who),
                         f"not recorded (no session running): {printable(update.name)}")
            case Sighting(reason="in" | "seen"):  # work mode without a session: the day's hours
                who = (update.person_id or None, update.name)
                self.say(self.line({"type": update.reason, "name": update.name, "time": to_iso(update.time)},
                                   update.time, who),
                         f"{update.reason:<9} {printable(update.name)} ({update.person_id}) at {update.time:%H:%M:%S}"
                         + ("" if update.reason == "in" else ", in already"))
            case Sighting(reason="kept"):
                self.say(self.line({"type": "kept", "name": update.name, "time": to_iso(update.time)}, update.time,
                                   (update.person_id or None, update.name)),
                         f"kept (database away): {printable(update.name)}, filed when it is back if a session ran for "
                         "them then")
            case Sighting(reason="not on list"):
                self.say(self.line({"type": "not-on-list", "name": update.name, "time": to_iso(update.time)},
                                   update.time, (update.person_id or None, update.name)),
                         f"not on this session's list: {printable(update.name)}")
            case Problem():
                self.failed = True
                self.say(self.line({"type": "error", "message": update.message}), f"error: {update.message}")

    def _timetabled(self, notice: str) -> None:
        """The timetable opened or closed a session: said as a session line too, with its id and counts."""
        if notice.startswith("the timetable opened") and (session := self.station.active) is not None:
            self.say_started(session, "started")
        elif notice.startswith("the timetable closed") and (session := self.last_session) is not None:
            self.say_stopped(session)

    def say_started(self, session: Session, state: str) -> None:
        self.last_session = session
        self.say(self.line({"type": "session", "state": state, "id": session.id, "name": session.name,
                            "group": session.group, "expected": len(session.expected)}),
                 f"{state} session {session.name!r} for {session.audience} ({len(session.expected)} expected)")

    def say_stopped(self, session: Session, message: str = "") -> None:
        summary = self.station.summary(session.id)
        assert summary is not None  # there is one for every session id
        counts = summary.counts
        self.say(self.line({"type": "session", "state": "stopped", "id": session.id, "name": session.name,
                            "present": counts.present, "late": counts.late, "absent": counts.absent,
                            **({"message": message} if message else {})}),
                 f"stopped session {session.name!r}: present {counts.present}, late {counts.late}, "
                 f"absent {counts.absent}" + (f" ({message})" if message else ""))

    def _elsewhere(self, notice: str) -> None:
        """Another door started or stopped the session (a shared database): said as a session line."""
        active = self.station.active
        session = active or self.last_session
        state = "started-elsewhere" if active is not None else "stopped-elsewhere"
        self.say(self.line({"type": "session", "state": state, "id": session.id if session else 0,
                            "name": session.name if session else "", "message": notice}), notice)
        self.last_session = session

    def run(self) -> int:
        narrowed = self.station.tightened_notice()
        if narrowed:
            to_stderr(f"note: {narrowed}")
        for notice in self.station.start_notices():
            to_stderr(f"warning: {notice}")
        self.station.follow_timetable = not self.options.session  # without a session to run: the timetable's
        if self.options.session:
            self.start_session()
        else:
            self.say(self.line({"type": "timetable", "message": "following the timetable"}),
                     "no --session: sessions open and close by the timetable (faceattend timetable list)")
            if (running := self.station.active) is not None:  # restarted while a session runs
                self.say_started(running, "resumed")
        self.station.on_event = self.on_event
        deadline = time.monotonic() + self.options.max_seconds if self.options.max_seconds else None
        while not self.stop.is_set() and (deadline is None or time.monotonic() < deadline):
            for update in self.station.poll(timeout=0.2):
                self.on_update(update)
            self.new_day()
        return 1 if self.failed else 0

    def new_day(self) -> None:
        """A run with --session that goes on for days (a service): every few seconds, the session left from an
        earlier working day is stopped at its last record and a new one of the same name starts, as at a start."""
        if not self.options.session or time.monotonic() < self.next_day_check:
            return
        if self.station.steady is not None and self.station.clock_watch.holding(self.station.steady()):
            return  # the clock just jumped: a glitch of a day ahead is no new day
        self.next_day_check = time.monotonic() + NEW_DAY_EVERY
        running = self.station.active
        stale = running is not None and left_running(running, self.station.now(), self.zone,
                                                     self.station.settings.day_change)
        confirmed, self.new_day_seen = stale and self.new_day_seen, stale  # seen at two looks: no passing glitch
        try:
            if confirmed and running is not None and self._left_from_an_earlier_day(running, staff_from_environment()):
                self.start_session(after=running)
        except StationError as exc:
            self.failed = True
            to_stderr(f"error: could not start the new day's session: {exc}")

    def finish(self) -> None:
        for update in self.station.stop_recognition():  # faces seen as the stop came: in the session, then it stops
            self.on_update(update)
        if self.options.keep_open and self.station.active is not None:
            why = f"; {self.stopped_by}" if self.stopped_by else ""
            to_stderr(f"note: session {self.station.active.name!r} left open (--keep-open){why}")
            return
        if not self.options.session or self.station.active is None:
            return  # a session the timetable opened is the timetable's to close
        running = self.station.active
        if not self.ours(running):  # another door's (a shared database's)
            to_stderr(f"note: session {running.name!r} runs, not {self.options.session!r}: left for whoever "
                      "started it")
            return
        if self.gave_up:  # not everyone absent: a service manager starts the station again, which resumes it
            to_stderr(f"warning: session {self.station.active.name!r} stays open: recognition stopped; started "
                      "again with the same --session, the station resumes it")
            return
        try:
            session = self.station.stop_session(staff_from_environment(), session_id=running.id)
        except StoppedElsewhere as exc:  # another door stopped it a moment ago
            to_stderr(f"note: session {running.name!r} not stopped here: {exc}")
            return
        except StationError:  # a full disk, a PIN refused: said by the caller; what it leaves, here
            to_stderr(f"warning: session {running.name!r} stays open, not stopped: started again with the same "
                      "--session, the station resumes it")
            raise
        self.say_stopped(session, self.stopped_by)
        if session.id == self.started and not self.pictures_came:  # failed, or stopped before a picture came
            self.void_unrecorded(session.id)
        for update in self.station.flush_sheets():  # its sheet goes to export_dir now, not at the next start
            self.failed |= isinstance(update, LiveChanged) and update.severity == "error"
            self.on_update(update)

    def stop_on(self, signum: int, _frame: object = None) -> None:
        """A signal handler: the run ends, and the session's stop says which signal ended it."""
        name = signal.Signals(signum).name
        why = {"SIGHUP": "the terminal it was started from closed", "SIGINT": "Ctrl+C"}.get(name, "asked to stop")
        self.stopped_by = self.stopped_by or f"stopped by {name} ({why})"
        self.stop.set()

    def void_unrecorded(self, session_id: int) -> None:
        """A session this run started whose camera gave no picture, or only blank ones, lists everyone absent:
        voided, unless someone was recorded or marked in it another way."""
        reason = ONLY_BLANK if self.frames_came else NEVER_OPENED
        voided = self.station.void_unrecorded(session_id, reason)
        self.failed = True  # nothing could be recorded: a service watcher hears it, whatever the source
        if voided is not None:
            self.say(self.line({"type": "session", "state": "voided", "id": voided.id, "name": voided.name,
                                "reason": reason}),
                     f"voided session {voided.name!r}: {reason}")


def run_headless(station: Station, options: HeadlessOptions, out: TextIO,
                 stopped_before: Callable[[], str] = str) -> int:
    """The headless loop on an opened station; SIGINT, SIGTERM and SIGHUP (the SSH session it was started from
    ended) end it cleanly, and so does one noted just before its handlers came (`stopped_before` names it)."""
    headless = Headless(station, options, out)
    stopping = [signal.SIGINT, signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])]
    # a signal ignored by whoever started it stays ignored: `nohup` asks that a hang-up not stop it
    wanted = [sig for sig in stopping if signal.getsignal(sig) is not signal.SIG_IGN]
    previous = {sig: signal.signal(sig, headless.stop_on) for sig in wanted}
    if stopped_before():  # read once these handlers are in: none falls between the two
        headless.stop_on(signal.Signals[stopped_before()])
    try:
        headless.run()
        headless.finish()
        return 1 if headless.failed else 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        headless.output.finish()
