"""The main screen's dialog actions: each opens a dialog whose request the station answers in a thread.

A mixin of StationApp (app.py): `guarded` wraps a station call for a dialog's submit callback, which
Dialog runs in a worker thread (screens/base.py), so the keyboard never waits on the station's store,
disk or lock. The callbacks named after what happened (`_started`, `_stopped` ...) run on the screen's
thread once the dialog has closed with the call's result.

Nor does opening a dialog wait: it is given the station's reads (bound methods), which it makes in
threads once open, and the PIN fields as last known, which it checks again in a thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from textual.widget import Widget

from faceattend_tui.errors import FaceattendError
from faceattend_tui.station import NO_SESSION, Credentials, StationError, internal_error
from faceattend_tui.text import plural
from faceattend_tui.tui.fasttable import FastTable
from faceattend_tui.tui.screens import (
    Access,
    AuditScreen,
    ConfirmScreen,
    DaysScreen,
    EnrollScreen,
    ExportScreen,
    ImportScreen,
    MarkScreen,
    OwnPinScreen,
    PastSessionsScreen,
    RemoveScreen,
    ReportScreen,
    Request,
    StartSessionScreen,
    Submit,
    TimetableScreen,
)
from faceattend_tui.tui.widgets import LivePane, RosterPane

if TYPE_CHECKING:
    from datetime import date

    from textual.app import App

    from faceattend_tui.station import Edit, Person, RosterRow, Session, Station
    from faceattend_tui.tui.screens import (
        Confirmed,
        CorrectRequest,
        EditRequest,
        EnrollRequest,
        ExportRequest,
        HistoryChoice,
        ImportRequest,
        MarkRequest,
        PinChange,
        RemoveRequest,
        SessionRequest,
        TimetableSave,
        VoidRequest,
    )

    _AppBase = App[None]  # the app these actions are mixed into, for the type checker
else:
    _AppBase = object

RequestT = TypeVar("RequestT", bound=Request)
PaneT = TypeVar("PaneT", bound=Widget)


class DialogActions(_AppBase):
    """Privileged actions through dialogs; needs `station`, `viewing_session`, `refresh_panes` of the app."""

    last_staff = ""  # the staff name that last succeeded, filled in next time
    known_access = Access()  # whether a PIN and a staff name are asked, as last read
    export_note = ""  # what the last export's notice adds (a session it wrote still runs)
    enrolling: EnrollScreen | None = None

    # The app's, as StationApp (and Textual's App) define them.
    station: Station
    viewing_session: int | None

    if TYPE_CHECKING:
        def refresh_panes(self) -> None: ...
        def live_follows_the_roster(self) -> None: ...
        def show_pane(self, pane: str, focus: bool = True) -> None: ...

    def shown(self, kind: type[PaneT]) -> PaneT | None:
        """The main screen's pane of that kind; None once the station is closing (its widgets are taken
        down, children first, while a dialog's request or a read of the log may still be answered)."""
        found = self.query(kind) if self.is_running else None
        return found.first() if found else None

    def access(self) -> Access:
        """What the dialogs ask for before a privileged action, as last read (the store is not asked
        here: that waits for the station's lock); each dialog reads it again in a thread."""
        return replace(self.known_access, last_staff=self.last_staff, recheck=self.read_access)

    def read_access(self) -> Access:
        """Whether a PIN and a staff name are asked, from the store (under the station's lock)."""
        self.known_access = Access(self.station.needs_pin, self.station.needs_staff_name)
        return self.known_access

    def guarded(self, call: Callable[[RequestT], object]) -> Submit[RequestT]:
        """A dialog's submit callback (run in a worker thread): runs a station call, remembers the staff
        name that worked, and turns a failed write into a refusal the dialog shows."""
        def submit(request: RequestT) -> object:
            try:
                result = call(request)
            except StationError:
                raise
            except (FaceattendError, OSError) as exc:
                raise StationError(str(exc)) from None
            except Exception as exc:  # a bug: logged with its traceback, said as such; the station records on
                raise StationError(internal_error("answering a dialog", exc).message) from None
            if isinstance(request.pin, Credentials) and request.pin.staff:
                self.last_staff = request.pin.staff
            return True if result is None else result
        return submit

    # -- sessions

    def action_toggle_session(self) -> None:
        if self.station.active is None:
            start = StartSessionScreen(self.access(), self.station.groups, self.guarded(self._start_session))
            self.push_screen(start, self._started)
        else:
            question = f"Stop session {self.station.active.name!r}?"
            stop = ConfirmScreen(question, self.access(), self.guarded(partial(self._stop_session,
                                                                               self.station.active.id)), ok="Stop")
            self.push_screen(stop, self._stopped)

    def _start_session(self, request: SessionRequest) -> Session:
        return self.station.start_session(request.name, request.late_after, request.pin, request.group)

    def _started(self, session: Session | None) -> None:
        if session:
            self.viewing_session = None
            self.notify(f"session {session.name!r} started for {session.audience} ({len(session.expected)} expected)")
            if (live := self.shown(LivePane)) is not None:
                live.set_unknown(0)
            self.refresh_panes()

    def _stop_session(self, session_id: int, confirmed: Confirmed) -> Session:
        return self.station.stop_session(confirmed.pin, session_id=session_id)

    def _stopped(self, session: Session | None) -> None:
        if session:
            self.viewing_session = session.id
            self.notify(f"session {session.name!r} stopped; press x to export it")
            self.refresh_panes()

    # -- people

    def action_enroll(self) -> None:
        self.enrolling = EnrollScreen(self.access(), self.station.capture, self.station.describe_enrollee,
                                      self.guarded(self._store_enrollment))
        self.push_screen(self.enrolling, self._enrolled)

    def _store_enrollment(self, request: EnrollRequest) -> tuple[Person, int]:
        return self.station.save_enrollment(request.target, request.samples, request.pin)

    def _enrolled(self, saved: tuple[Person, int] | None) -> None:
        self.enrolling = None
        self.station.forget_capture()
        if saved is not None:
            person, count = saved
            self.notify(f"{person.name} ({person.id}) enrolled ({plural(count, 'sample')}); recognised from now on")
            self.refresh_panes()

    def selected_person(self) -> RosterRow | None:
        """The person highlighted in the list that has the focus (the roster, or the running session's list),
        as the roster shows them; None with a word to the user (never someone on a list out of sight)."""
        table = self.focused if isinstance(self.focused, FastTable) else None
        where = table.id if table is not None else None
        if where == "session-table" and self.viewing_session is not None:
            self.notify("this list is a past session: marks and removals go by the roster or the running "
                        "session (h edits a past session)", severity="warning")
            return None
        person_id = table.selected if table is not None and where in ("roster-table", "session-table") else None
        person = self.query_one(RosterPane).rows.get(person_id) if person_id else None
        if person is None and person_id and (gone := self.station.person(person_id)) is not None:
            self.notify(f"{gone.name} ({gone.id}) has left the roster: their records stay as they are (d on them "
                        "here makes an erasure request)", severity="warning")
        elif person is None:
            self.notify("highlight a person in the roster or the session list first (tab: next pane)",
                        severity="warning")
        return person

    def left_person(self) -> Person | None:
        """Someone on the session list (running or past) who has left the roster (an erasure is still theirs
        to ask)."""
        table = self.focused if isinstance(self.focused, FastTable) else None
        if table is None or table.id != "session-table" or not table.selected:
            return None
        if table.selected in self.query_one(RosterPane).rows:
            return None
        return self.station.person(table.selected)

    def action_mark(self) -> None:
        person = self.selected_person()
        if person is not None:
            running = self.station.active
            mark = partial(self._mark, person.id, running.id if running is not None else NO_SESSION)
            screen = MarkScreen(f"{person.name} ({person.id})", self.access(), self.guarded(mark),
                                self.station.statuses)
            self.push_screen(screen, self._marked)

    def _mark(self, person_id: str, session_id: int, request: MarkRequest) -> None:
        return self.station.mark(person_id, request.status, request.reason, request.pin, session_id)

    def _marked(self, done: bool | None) -> None:
        if done:
            self.refresh_panes()

    def action_delete(self) -> None:
        gone = self.left_person()
        if gone is not None:
            screen = RemoveScreen(gone, self.access(), self.guarded(partial(self._remove, gone.id)), left=True)
            self.push_screen(screen, self._removed)
            return
        person = self.selected_person()
        if person is not None:
            screen = RemoveScreen(person, self.access(), self.guarded(partial(self._remove, person.id)))
            self.push_screen(screen, self._removed)

    def _remove(self, person_id: str, request: RemoveRequest) -> tuple[bool, Person]:
        return request.erase, self.station.remove_person(person_id, request.erase, request.pin)

    def _removed(self, removed: tuple[bool, Person] | None) -> None:
        if removed is None:
            return
        erased, person = removed
        done = "erased with all their records" if erased else "removed; their records are kept"
        if erased and (live := self.shown(LivePane)) is not None:
            live.forget(person.id)
        self.notify(f"{person.name} ({person.id}) {done}")
        if self.station.removal_leftovers:
            self.notify("\n".join(self.station.removal_leftovers[:8]), severity="warning", timeout=30)
        self.refresh_panes()

    def action_own_pin(self) -> None:
        access = self.access()
        if not access.pin:
            self.notify("there is no staff PIN yet: `faceattend pin` makes the first account", severity="warning")
            return
        self.push_screen(OwnPinScreen(access, self.guarded(self._change_pin)), self._pin_changed)

    def _change_pin(self, request: PinChange) -> str:
        return self.station.change_own_pin(request.pin, request.new)

    def _pin_changed(self, name: str | None) -> None:
        if name is not None:
            self.notify(f"the PIN of {name} was changed")

    def action_import_roster(self) -> None:
        self.push_screen(ImportScreen(self.access(), self.guarded(self._import_roster)), self._imported)

    def _import_roster(self, request: ImportRequest) -> list[str]:
        return self.station.import_roster(Path(request.path), request.pin, request.watch)  # photos: a while

    def _imported(self, lines: list[str] | None) -> None:
        if lines is not None:
            most = min(SUMMARY_LINES, max(3, (self.size.height - 4) // 3))  # a line wraps over 2-3 rows of a notice
            self.notify("\n".join(import_summary(lines, most)) or "nothing to change", timeout=12)
            self.live_follows_the_roster()  # someone given the organisation's id: their lines follow
            self.refresh_panes()

    # -- the log: export, report, past sessions, timetable, audit

    def action_export(self) -> None:
        label = partial(self._session_label, self.viewing_session)
        self.push_screen(ExportScreen(label, self.access(), self.guarded(self._export)), self._exported)

    def _session_label(self, session_id: int | None) -> tuple[str, int | None]:
        summary = self.station.summary(session_id)
        return (summary.session.name, summary.session.id) if summary else ("the latest session", None)

    def _export(self, request: ExportRequest, session_id: int | None = None) -> Path:
        dated = request.date_from is not None or request.date_to is not None  # dates typed: the range, no session
        session_id = None if dated else next(
            (s for s in (session_id, request.session_id, self.viewing_session) if s is not None), None)
        path = self.station.export(request.options, session_id, request.date_from, request.date_to, request.pin)
        running = self.station.running_in_export(session_id, request.date_from, request.date_to)
        self.export_note = f"; {running!r} is still running: those not in yet show as absent" if running else ""
        return path

    def _exported(self, path: Path | None) -> None:
        if path:
            self.notify(f"exported to {path}{self.export_note}", timeout=10)

    def action_report(self) -> None:
        today = self.station.now().date()
        work = self.station.settings.mode == "work"
        hours, days_of = (self.station.hours, self._days_screen) if work else (None, None)
        self.push_screen(ReportScreen(self.station.report, self.station.report_groups, today, hours, days_of))

    def _days_screen(self, person_id: str, name: str, period: tuple[date, date], group: str | None) -> DaysScreen:
        """Work mode: a person's days over a period (in `group`), each day correctable (permission "hours")."""
        load = partial(self.station.days_of, person_id, *period, group=group)
        named = name if group is None else f"{name} in group {group}"
        return DaysScreen(named, period, load, self.station.zone(), self.access,
                          self.guarded(partial(self._correct_hours, person_id)))

    def _correct_hours(self, person_id: str, request: CorrectRequest) -> CorrectRequest:
        if request.clear:
            self.station.clear_hours(person_id, request.day, request.reason, request.pin, request.shown or None)
        else:
            self.station.correct_hours(person_id, request.day, request.came, request.left, request.reason,
                                       request.pin)
        return request

    def action_history(self) -> None:
        screen = PastSessionsScreen(self.station.sessions, self.access, self.guarded(self._void_session),
                                    self.guarded(self._edit_session), self.station.groups)
        self.push_screen(screen, self._history_choice)

    def _void_session(self, request: VoidRequest) -> Session:
        voided = self.station.void_session(request.session_id, request.reason, request.pin)
        self.call_from_thread(self.refresh_panes)
        return voided

    def _edit_session(self, request: EditRequest) -> Edit:
        edit = self.station.edit_session(request.session_id, pin=request.pin, **request.changes)
        self.call_from_thread(self.refresh_panes)
        return edit

    def _history_choice(self, choice: HistoryChoice | None) -> None:
        if choice is None:
            return
        if choice.action == "show":
            running = self.station.active
            # the running session is shown live, as before: its list follows the door and takes marks
            self.viewing_session = None if running is not None and running.id == choice.session_id \
                else choice.session_id
            self.refresh_panes()
            self.show_pane("session")  # on a narrow screen it would be loaded behind the pane in view
        else:
            export = self.guarded(partial(self._export, session_id=choice.session_id))
            label = partial(self._session_label, choice.session_id)  # its name, as `x` on the main screen says it
            self.push_screen(ExportScreen(label, self.access(), export), self._exported)

    def action_timetable(self) -> None:
        save = self.guarded(self._save_timetable)
        self.push_screen(TimetableScreen(self.station.timetable, save, self.access, self.station.groups))

    def _save_timetable(self, request: TimetableSave) -> None:
        self.station.save_timetable(request.slots, request.holidays, request.pin, shown=request.shown)

    def action_audit_log(self) -> None:
        self.push_screen(AuditScreen(self.station.audit_entries, self.station.zone()))


SUMMARY_LINES = 12  # an import's lines shown on the screen


def import_summary(lines: list[str], most: int = SUMMARY_LINES) -> list[str]:
    """An import's lines for the screen: the totals, the photos' and who joined the session always, then
    the people, cut short with a count (the command line lists them all)."""
    kept = [line for line in lines[1:] if line.startswith(("photos:", "joined the running session"))]
    rest = [line for line in lines[1:] if line not in kept]
    room = max(most - 1 - len(kept), 0)
    if len(rest) > room:  # the line saying how many more is one of the `most`
        room = max(room - 1, 0)
    more = [f"... and {len(rest) - room} more lines"] if len(rest) > room else []
    return [*lines[:1], *kept, *rest[:room], *more]
