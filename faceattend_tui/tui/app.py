"""The station's terminal UI: live check-ins, roster and session panes, driven from the keyboard."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal, TypedDict, TypeVar, overload

from textual import events, on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.notifications import SeverityLevel
from textual.reactive import reactive
from textual.screen import Screen, ScreenResultCallbackType
from textual.widgets import Footer, Input, Static
from textual.worker import get_current_worker

from faceattend_tui.errors import FaceattendError
from faceattend_tui.station import Problem, Station, StationError, internal_error, make_private_dir
from faceattend_tui.tui import messages as msg
from faceattend_tui.tui.actions import DialogActions
from faceattend_tui.tui.closing import ClosesCleanly
from faceattend_tui.tui.fasttable import FastTable
from faceattend_tui.tui.keys import KeysInOrder
from faceattend_tui.tui.screens import KEY_NAMES, DetailScreen, Dialog, HelpScreen, person_details
from faceattend_tui.tui.terminal import STOP_BEFORE_DRAWN, measure_as_terminals_do, read_input_leniently, terminal_gone
from faceattend_tui.tui.widgets import LivePane, RosterPane, SessionPane, StatusHeader

if TYPE_CHECKING:
    from textual.await_complete import AwaitComplete
    from textual.widget import AwaitMount
    from typing_extensions import Unpack

    from faceattend_tui.station import Counts, RosterRow, Session, Summary

PANES = ("live", "roster", "session")
PANE_TITLES = {"live": "Live", "roster": "Roster", "session": "Session"}
WIDE = 140  # columns from which the three panes stand side by side; narrower, one at a time
MAX_HELD = 8  # notifications kept while a dialog is open (the latest)
PANE_READS = "pane-reads"  # the worker group that reads what the roster and session panes show

ScreenResult = TypeVar("ScreenResult")


class NotifyOptions(TypedDict, total=False):
    """What `App.notify` takes besides the message (kept with a notification held back)."""

    title: str
    severity: SeverityLevel
    timeout: float | None
    markup: bool


@dataclass(frozen=True)
class PaneReading:
    """What the roster and session panes and the header show, read together from the station."""

    roster: list[RosterRow]
    counts: Counts | None
    summary: Summary | None
    active: Session | None


class PaneTabs(Static):
    """Which pane is shown when only one fits (tab shows the next)."""

    def show_current(self, current: str) -> None:
        names = [f"[reverse] {PANE_TITLES[p]} [/]" if p == current else f" {PANE_TITLES[p]} " for p in PANES]
        self.update(" ".join(names) + "   [dim]tab: next[/]")


class StationApp(DialogActions, ClosesCleanly, KeysInOrder):
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses elsewhere keep the style
    TITLE = "faceattend"
    MAIN_BINDINGS: ClassVar[list[Binding]] = [
        Binding("s", "toggle_session", "Session", id="session",
                tooltip="start / stop a session (name, optional late after N minutes, a group or everyone)"),
        Binding("e", "enroll", "Enroll", id="enroll", tooltip="enroll someone from the camera"),
        Binding("x", "export", "Export", id="export", tooltip="export attendance (CSV or JSON)"),
        Binding("p", "toggle_preview", "Preview", id="preview", show=False,
                tooltip="preview window on the station screen on / off"),
        Binding("slash", "filter", "Filter", id="filter", show=False,
                tooltip="filter the roster by name or id (escape: clear)"),
        Binding("m", "mark", "Mark", id="mark", show=False,
                tooltip="mark the selected person present, late, absent or an absence code (excused ...), "
                        "with a reason"),
        Binding("d", "delete", "Remove", id="delete", show=False,
                tooltip="remove the selected person: they left (records kept), or an erasure request"),
        Binding("h", "history", "History", id="history", show=False,
                tooltip="past sessions: show, export, edit or void one (enter, x, e, v)"),
        Binding("t", "timetable", "Timetable", id="timetable", show=False,
                tooltip="timetable: weekly slots that open sessions, and days off (a adds a slot, o a day "
                        "off, d removes)"),
        Binding("l", "audit_log", "Audit log", id="audit-log", show=False,
                tooltip="audit log: who did what and when, with filters"),
        Binding("r", "report", "Report", id="report", show=False,
                tooltip="report: a chart per session, people below a rate, work hours"),
        Binding("a", "absent_first", "Absent first", id="absent-first", show=False,
                tooltip="absentees first in the session pane"),
        Binding("tab", "next_pane", "Pane", id="next-pane", tooltip="next pane", priority=True),
        Binding("question_mark", "help", "Help", id="help", tooltip="this help"),
        Binding("q", "quit_station", "Quit", id="quit", tooltip="quit (asks while a session runs)"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = [*MAIN_BINDINGS]
    MAIN_ACTIONS = frozenset(b.action for b in MAIN_BINDINGS)
    KEY_ACTIONS = {b.key: b.action for b in MAIN_BINDINGS if not b.priority}  # what a main-screen key does

    # What the header shows: the running session and its counts; a change redraws it. Kept here so the
    # header's one-second tick never asks the station (nor waits for its lock while it writes).
    running: reactive[Session | None] = reactive(None, init=False)
    counts: reactive[Counts | None] = reactive(None, init=False)

    def __init__(self, station: Station, pump: bool = True) -> None:
        super().__init__()
        read_input_leniently()  # a byte that is not UTF-8 must not end the station
        measure_as_terminals_do()  # a Hindi or Tamil name must not push a pane's lines apart
        self.station = station
        self.pump_events = pump
        self.viewing_session: int | None = None  # a past session shown in the session pane
        self.current_pane = "live"
        self.held: list[tuple[str, NotifyOptions]] = []  # notifications waiting for a dialog to close
        self.header_behind = False  # the header changed while a dialog was open
        self.pane_reads = 0  # refreshes asked for; only the latest one's reading is drawn
        self.on_terminal = False  # started on a terminal: its end (a closed SSH session) closes the station

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="header")
        yield PaneTabs(id="pane-tabs")
        with Horizontal(id="panes"):
            yield LivePane(id="live", classes="pane current")
            yield RosterPane(id="roster", classes="pane")
            yield SessionPane(id="session", classes="pane")
        yield Footer()

    # -- layout: three panes side by side when they fit, else one at a time

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < WIDE, "narrow")

    def show_pane(self, pane: str, focus: bool = True) -> None:
        if not self.is_running:  # closing: the panes are being taken down
            return
        if self.screen.maximized is not None:  # ctrl+p "Maximize": the pane shown is the one the keys act on
            self.screen.minimize()
        self.current_pane = pane
        for name in PANES:
            self.query_one(f"#{name}").set_class(name == pane, "current")
        self.query_one(PaneTabs).show_current(pane)
        if focus:
            self.query_one(f"#{pane} FastTable").focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The main screen's keys are off (and out of the footer) while a dialog is open."""
        return not (action in self.MAIN_ACTIONS and len(self.screen_stack) > 1)

    def on_mount(self) -> None:
        if STOP_BEFORE_DRAWN.is_set():  # a service stop or a hang-up came while the station started
            self.exit()
            return
        self.query_one("#roster-filter", Input).display = False
        self.set_class(self.size.width < WIDE, "narrow")
        self.refresh_panes()
        self.read_access()  # once here; a dialog reads it again in a thread (actions.py)
        self.refresh_header()  # drawn once: with no session, neither reactive changed
        self.on_terminal = not terminal_gone()
        self.set_interval(1.0, self.tick)
        self.show_pane("live")
        narrowed = self.station.tightened_notice()
        if narrowed:
            self.notify(narrowed, timeout=10)
        self.stop_left_running()
        for notice in self.station.start_notices():
            self.notify(notice, severity="warning", timeout=20)
        if self.pump_events:
            self.pump()

    def stop_left_running(self) -> None:
        """A session left running since an earlier day takes no arrivals of today: the station stops it at its
        last record, said until staff read it."""
        try:
            notice = self.station.stop_left_running()
        except StationError as exc:
            self.notify(f"a session left running since an earlier day could not be stopped: {exc}",
                        severity="error", timeout=30)
            return
        if notice:
            self.refresh_panes()
            self.refresh_header()
            self.notify(notice, severity="warning", timeout=60)

    # -- the event pump (a thread: polling the worker and writing check-ins never blocks the UI)

    @work(thread=True, exclusive=True, group="pump", exit_on_error=False)
    def pump(self) -> None:
        worker = get_current_worker()
        while not worker.is_cancelled:
            try:
                updates = self.station.poll(timeout=0.2)
            except Exception as exc:  # noqa: BLE001 - the worker queue itself failed: say so, keep serving
                updates = [Problem(f"could not read the recognition worker: {exc}")]
                time.sleep(1.0)
            for update in updates:
                self.post_message(msg.for_update(update))

    @on(msg.CheckinShown)
    def checkin_shown(self, message: msg.CheckinShown) -> None:
        update = message.update
        if update.counts is not None:
            self.counts = update.counts
        live, roster, session = self.shown(LivePane), self.shown(RosterPane), self.shown(SessionPane)
        if live is None or roster is None or session is None:
            return
        if update.new:
            name = f"{update.row.name} @ {update.station}" if update.station else update.row.name
            live.add(name, update.similarity, update.time, update.row.status, update.row.id,
                     self.station.folder_of(update.row.id))
        roster.update_row(update.row, update.counts)
        if self.viewing_session is None:
            session.update_person(update.row, update.counts)

    @on(msg.Sighting)
    def sighting(self, message: msg.Sighting) -> None:
        update = message.update
        if (live := self.shown(LivePane)) is not None:
            live.add(update.name, update.similarity, update.time, update.reason, update.person_id,
                     self.station.folder_of(update.person_id))

    @on(msg.UnknownFaces)
    def unknown_faces(self, message: msg.UnknownFaces) -> None:
        if (live := self.shown(LivePane)) is not None:
            live.set_unknown(message.update.count, message.update.time)

    @on(msg.CaptureDone)
    def capture_done(self, message: msg.CaptureDone) -> None:
        if self.enrolling is not None:
            self.enrolling.post_message(msg.CaptureDone(message.update))

    @on(msg.LiveChanged)
    def live_changed(self, message: msg.LiveChanged) -> None:
        update = message.update
        if update.notice:
            self.notify(update.notice, severity=update.severity,
                        timeout=60 if update.lasting else 6 if update.severity != "error" else 8)
        self.refresh_header()

    @on(msg.RosterChanged)
    def roster_changed(self, message: msg.RosterChanged) -> None:
        self.live_follows_the_roster()
        if message.update.notice:
            self.notify(message.update.notice, timeout=8)
        self.refresh_panes()

    def live_follows_the_roster(self) -> None:
        """The live list's lines of someone given another id (a roster import) are theirs still; those of
        someone erased (at another door) go, as at the door that erased them."""
        live = self.shown(LivePane)
        if live is None:
            return
        for person_id, folder in live.people_shown().items():
            now = self.station.known_as(person_id, folder)
            if now is None:
                live.forget(person_id)
            elif now != person_id:
                live.repoint(person_id, now)

    @on(msg.Problem)
    def problem(self, message: msg.Problem) -> None:
        self.notify(message.update.message, severity="error", timeout=8)

    # -- notifications: never over a dialog (its buttons); shown once it closes

    def dialog_open(self) -> bool:
        return bool(self.screen_stack) and isinstance(self.screen_stack[-1], Dialog)

    def notify(self, message: str, **options: Unpack[NotifyOptions]) -> None:
        if self.dialog_open():
            self.held = [*self.held, (message, options)][-MAX_HELD:]
            return
        severity = options.get("severity", "information")
        if severity != "information" and not options.get("title"):  # said in words too: colour is not seen by all
            options["title"] = severity.capitalize()
        super().notify(message, **options)

    if TYPE_CHECKING:
        @overload
        def push_screen(self, screen: Screen[ScreenResult] | str,
                        callback: ScreenResultCallbackType[ScreenResult] | None = None,
                        wait_for_dismiss: Literal[False] = False, *, mode: str | None = None) -> AwaitMount: ...

        @overload
        def push_screen(self, screen: Screen[ScreenResult] | str,
                        callback: ScreenResultCallbackType[ScreenResult] | None = None,
                        wait_for_dismiss: Literal[True] = True, *,
                        mode: str | None = None) -> asyncio.Future[ScreenResult]: ...

    def push_screen(self, screen: Screen[ScreenResult] | str,
                    callback: ScreenResultCallbackType[ScreenResult] | None = None, wait_for_dismiss: bool = False,
                    *, mode: str | None = None) -> AwaitMount | asyncio.Future[ScreenResult]:
        if isinstance(self.get_screen(screen) if isinstance(screen, str) else screen, Dialog):
            self.add_class("dialog-open")  # hides the toasts already shown (app.tcss)
        if wait_for_dismiss:
            return super().push_screen(screen, callback, True, mode=mode)
        return super().push_screen(screen, callback, False, mode=mode)

    def pop_screen(self) -> AwaitComplete:
        done = super().pop_screen()
        self.set_class(self.dialog_open(), "dialog-open")
        self.call_later(self.show_held)
        if self.header_behind:
            self.call_later(self.refresh_header)
        return done

    def show_held(self) -> None:
        if self.held and not self.dialog_open():
            held, self.held = self.held, []
            for message, options in held:
                self.notify(message, **options)

    # -- drawing

    def tick(self) -> None:
        """Every second: the clock in the header; a session started or ended by the timetable shows; a
        terminal gone without a hang-up (a station started with setsid) closes the station."""
        if self.on_terminal and terminal_gone():
            self.exit()
            return
        active = self.station.active  # no lock: the station's current session as it stands
        if active != self.running:
            self.running, self.counts = active, None  # its counts come with the panes' reading
            self.refresh_panes()
        self.refresh_header()

    def watch_running(self) -> None:
        self.refresh_header()

    def watch_counts(self) -> None:
        self.refresh_header()

    def refresh_header(self) -> None:
        if self.dialog_open():  # seen dimmed behind a dialog, each redraw redraws all of it: once it closes
            self.header_behind = True
            return
        self.header_behind = False
        # The one-second timer may fire while the app is closing and the header is gone.
        for header in self.query(StatusHeader):
            header.render_state(self.station.name, self.running, self.station.live, self.station.now(), self.counts)

    def refresh_panes(self) -> None:
        """Read the roster, the counts and the session in a worker thread (the log may be slow or held
        by a check-in being written), then draw them; a newer refresh supersedes one still reading."""
        self.pane_reads += 1
        read = partial(self._read_panes, self.pane_reads, self.viewing_session)
        self.run_worker(read, thread=True, group=PANE_READS, exit_on_error=False)

    def _read_panes(self, ticket: int, viewing: int | None) -> None:
        station = self.station
        try:
            counts = station.counts()
            reading = PaneReading(station.roster(), counts, station.summary(viewing), station.active)
        except (FaceattendError, OSError) as exc:
            self.call_from_thread(self.notify, f"could not read the log: {exc}", severity="error", timeout=8)
            return
        except Exception as exc:  # a bug: logged with its traceback, said as such; the station records on
            self.call_from_thread(self.notify, internal_error("reading the log", exc).message, severity="error")
            return
        self.call_from_thread(self._show_panes, ticket, reading)

    def _show_panes(self, ticket: int, reading: PaneReading) -> None:
        if ticket != self.pane_reads:
            return  # a newer reading is on its way
        began = reading.active is not None and (self.running is None or self.running.id != reading.active.id)
        self.running, self.counts = reading.active, reading.counts
        if began and self.viewing_session is not None:  # opened by the timetable or elsewhere: shown, as the header
            self.viewing_session = None
            self.refresh_panes()
            return
        roster, session = self.shown(RosterPane), self.shown(SessionPane)
        if roster is not None and session is not None:
            roster.show(reading.roster, reading.counts)
            session.show(reading.summary)

    # -- actions (the dialogs' are in actions.py)

    def action_toggle_preview(self) -> None:
        opening = self.station.toggle_preview()
        self.notify("opening the preview window on the station's screen..." if opening
                    else "preview window closed")

    def action_filter(self) -> None:
        self.show_pane("roster", focus=False)
        box = self.query_one("#roster-filter", Input)
        box.display = True
        self.screen.set_focus(box)  # at once: the keys typed next are the filter's, not the main screen's

    @on(Input.Changed, "#roster-filter")
    def filter_changed(self) -> None:
        self.query_one(RosterPane).refilter()

    @on(FastTable.Selected)
    def show_details(self, message: FastTable.Selected) -> None:
        """Enter on a person in the roster or the session: everything about them, the mark's reason in full."""
        table = message.table.id
        if table not in ("roster-table", "session-table") or len(self.screen_stack) > 1:
            return  # (the second click of a double click, read once the first opened them)
        row = self.query_one(RosterPane).rows.get(message.key)
        load = partial(self.person_lines, message.key, self.viewing_session if table == "session-table" else None)
        self.push_screen(DetailScreen(row.name if row else message.key, load=load, what="the person"))

    def person_lines(self, person_id: str, session_id: int | None) -> tuple[str, list[tuple[str, str]]]:
        """In a thread: a person's name and details in a session (the running or latest one: None)."""
        person = self.station.person(person_id)
        if person is None:
            raise StationError(f"no person with id {person_id!r} (removed meanwhile?)")
        summary = self.station.summary(session_id)
        item = next((i for i in summary.people if i.person.id == person.id), None) if summary else None
        return person.name, person_details(person, item, summary.session if summary else None)

    def action_absent_first(self) -> None:
        pane = self.query_one(SessionPane)
        pane.absent_first = not pane.absent_first
        pane.redraw()

    def action_next_pane(self) -> None:
        focused = next((p for p in PANES if self.query_one(f"#{p} FastTable").has_focus), self.current_pane)
        self.show_pane(PANES[(PANES.index(focused) + 1) % len(PANES)])

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """Saved with the exports (the user's Downloads folder may not exist on a station)."""
        folder = self.station.settings.exports_dir
        try:
            make_private_dir(folder)
            saved = self.save_screenshot(filename, str(path or folder))
        except OSError as exc:
            self.notify(f"could not save the screenshot: {exc}", severity="error")
            return
        self.notify(f"screenshot saved to {saved}")

    def action_help(self) -> None:
        if not self.is_screen_installed("help"):
            self.install_screen(HelpScreen(self.MAIN_BINDINGS), "help")  # built once: opening it again is instant
        self.push_screen("help")

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if command.title not in ("Quit", "Screenshot", "Keys"):  # ours asks first while a session runs; ours
                yield command  # keeps the picture with the exports; `?` lists the keys (Textual's panel stayed open)
        yield SystemCommand("Screenshot", "an SVG picture of the screen, kept with the exports",
                            lambda: self.set_timer(0.1, self.action_screenshot))
        if screen is not self.screen_stack[0]:  # a dialog or the help on top: the main screen's keys are off
            return                                  # there, from the palette too (dialogs stacked up)
        for binding in self.MAIN_BINDINGS:
            action = getattr(self, f"action_{binding.action}")
            key = KEY_NAMES.get(binding.key, binding.key)
            yield SystemCommand(binding.tooltip or binding.description, f"key: {key}", self.from_main_screen(action))
        yield SystemCommand("Import roster", "people and groups from a CSV file (id,name,groups,photo)",
                            self.from_main_screen(self.action_import_roster))
        yield SystemCommand("Change my PIN", "your own staff PIN: the current one, then the new one twice",
                            self.from_main_screen(self.action_own_pin))

    def from_main_screen(self, action: Callable[[], object]) -> Callable[[], None]:
        """A main-screen command of the palette, run only with the main screen on top: chosen twice (a double
        click), the second ran over the dialog the first opened."""
        def run() -> None:
            if len(self.screen_stack) == 1:
                action()
        return run
