"""The station's terminal UI: live check-ins, roster and session panes, driven from the keyboard."""

from __future__ import annotations

import os
import time
from functools import partial

from textual import events, on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Footer, Input

from faceattend_tui.attendance import StoreError
from faceattend_tui.station import Station, StationError, Update
from faceattend_tui.tui.fasttable import FastTable
from faceattend_tui.tui.messages import StationUpdate
from faceattend_tui.tui.screens import (
    ConfirmScreen,
    EnrollScreen,
    ExportScreen,
    HelpScreen,
    MarkScreen,
    PastSessionsScreen,
    StartSessionScreen,
)
from faceattend_tui.tui.widgets import LivePane, RosterPane, SessionPane, StatusHeader

PANES = ("#live", "#roster", "#session")


class StationApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "faceattend"
    BINDINGS = [
        Binding("s", "toggle_session", "Start/stop", id="session"),
        Binding("e", "enroll", "Enroll", id="enroll"),
        Binding("x", "export", "Export", id="export"),
        Binding("p", "toggle_preview", "Preview", id="preview"),
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("m", "mark", "Mark", id="mark"),
        Binding("d", "delete", "Delete", id="delete", show=False),
        Binding("h", "history", "History", id="history"),
        Binding("a", "absent_first", "Absent first", id="absent-first", show=False),
        Binding("tab", "next_pane", "Next pane", id="next-pane", show=False),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "quit_station", "Quit", id="quit"),
    ]

    def __init__(self, station: Station, pump: bool = True) -> None:
        super().__init__()
        self.station = station
        self.pump_events = pump
        self.latency_log = os.environ.get("FACEATTEND_LATENCY_LOG")  # for benchmarks/bench_tui.py
        self.viewing_session: int | None = None  # a past session shown in the session pane

    def compose(self) -> ComposeResult:
        yield StatusHeader(id="header")
        with Horizontal(id="panes"):
            yield LivePane(id="live")
            yield RosterPane(id="roster")
            yield SessionPane(id="session")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#roster-filter", Input).display = False
        self.refresh_panes()
        self.refresh_header()
        self.set_interval(1.0, self.refresh_header)
        self.query_one("#live-table", FastTable).focus()
        if self.pump_events:
            self.pump()

    # -- latency probes (only when FACEATTEND_LATENCY_LOG names a file)

    async def on_event(self, event: events.Event) -> None:
        if self.latency_log and isinstance(event, events.Key):
            start = time.perf_counter()
            self.call_after_refresh(self._log_latency, f"key {event.key}", start, time.perf_counter)
        await super().on_event(event)

    def _log_latency(self, what: str, start: float, clock) -> None:
        with open(self.latency_log, "a", encoding="utf-8") as fh:
            fh.write(f"{what}\t{(clock() - start) * 1e3:.1f}\n")

    # -- the event pump (a thread: polling the worker and writing check-ins never blocks the UI)

    @work(thread=True, exclusive=True, group="pump", exit_on_error=False)
    def pump(self) -> None:
        from textual.worker import get_current_worker

        worker = get_current_worker()
        while not worker.is_cancelled:
            try:
                updates = self.station.poll(timeout=0.2)
            except Exception as exc:  # noqa: BLE001 - e.g. the disk is full: say so, keep serving
                updates = [Update("error", {"message": f"could not record an event: {exc}"})]
                time.sleep(1.0)
            for update in updates:
                self.post_message(StationUpdate(update))

    @on(StationUpdate)
    def apply_update(self, message: StationUpdate) -> None:
        self.apply(message.update)

    def apply(self, update: Update) -> None:
        data = update.data
        if update.kind == "checkin":
            if data["new"]:
                status = "late" if data["late"] else "present"
                self.query_one(LivePane).add(data["name"], data["similarity"], data["time"], status)
                if self.latency_log:
                    self.call_after_refresh(self._log_latency, "checkin", data["sent"], time.time)
            self.show_person(data["name"])
        elif update.kind == "seen":
            self.query_one(LivePane).add(data["name"], data["similarity"], data["time"], "no session")
        elif update.kind == "unknown":
            self.query_one(LivePane).set_unknown(data["count"])
        elif update.kind == "capture":
            if isinstance(self.screen, EnrollScreen):
                self.screen.show_capture(data)
        elif update.kind == "error":
            self.notify(data.get("message", "error"), severity="error", timeout=8)
        elif update.kind == "status":
            self.status_notice(data)
        if update.kind in ("stats", "status", "ready"):
            self.refresh_header()

    def status_notice(self, data: dict) -> None:
        kind = data.get("kind", "")
        if kind in ("camera-error", "camera-lost", "preview-unavailable", "worker-restarted", "gallery"):
            severity = "error" if kind in ("camera-error", "worker-restarted") else "warning"
            self.notify(data.get("message", ""), severity=severity, timeout=6)

    # -- drawing

    def refresh_header(self) -> None:
        self.query_one(StatusHeader).render_state(self.station.name, self.station.active, self.station.live,
                                                  self.station.now())

    def show_person(self, name: str) -> None:
        row = self.station.roster_row(name)
        self.query_one(RosterPane).update_row(row)
        if self.viewing_session is None:
            self.query_one(SessionPane).update_person(row, self.station.counts())

    def refresh_panes(self) -> None:
        self.query_one(RosterPane).show(self.station.roster())
        self.query_one(SessionPane).show(self.station.summary(self.viewing_session))

    # -- actions

    def action_toggle_session(self) -> None:
        if self.station.active is None:
            self.push_screen(StartSessionScreen(self.station.needs_pin), self._start_session)
        else:
            question = f"Stop session {self.station.active.name!r}?"
            self.push_screen(ConfirmScreen(question, needs_pin=self.station.needs_pin), self._stop_session)

    def _start_session(self, result) -> None:
        if result is None:
            return
        name, late, pin = result
        if self.attempt(partial(self.station.start_session, name, late, pin)):
            self.viewing_session = None
            self.notify(f"session {name!r} started")
            self.refresh_panes()
            self.refresh_header()

    def _stop_session(self, result) -> None:
        if result is None:
            return
        session = self.attempt(partial(self.station.stop_session, result[1]))
        if session:
            self.viewing_session = session.id
            self.notify(f"session {session.name!r} stopped; press x to export it")
            self.refresh_panes()
            self.refresh_header()

    def attempt(self, call):
        """Run a station action; its error becomes a notification instead of a crash."""
        try:
            return call() or True
        except (StationError, StoreError, OSError) as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return None

    def action_enroll(self) -> None:
        names = [row["name"] for row in self.station.roster()]
        self.push_screen(EnrollScreen(self.station, names), self._save_enrollment)

    def run_capture(self) -> None:
        self.station.capture(seconds=3.0, count=5)

    def _save_enrollment(self, result) -> None:
        if not result:
            return
        count = self.attempt(partial(self.station.save_enrollment, result["name"], result["samples"], result["pin"]))
        if count:
            self.notify(f"{result['name']} enrolled ({count} samples); recognised from now on")
            self.refresh_panes()

    def action_export(self) -> None:
        summary = self.station.summary(self.viewing_session)
        label = summary.session.name if summary else "the latest session"
        self.push_screen(ExportScreen(label, self.station.needs_pin), self._export)

    def _export(self, result, session_id: int | None = None) -> None:
        if not result:
            return
        session_id = session_id if session_id is not None else self.viewing_session
        path = self.attempt(partial(self.station.export, result["fmt"], None, session_id, result["date_from"],
                                    result["date_to"], result["pin"]))
        if path:
            self.notify(f"exported to {path}", timeout=10)

    def action_toggle_preview(self) -> None:
        self.station.toggle_preview()
        self.notify(f"preview window {'on' if self.station.preview else 'off'}")

    def action_filter(self) -> None:
        box = self.query_one("#roster-filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#roster-filter")
    def filter_changed(self) -> None:
        self.query_one(RosterPane).refilter()

    @on(Input.Submitted, "#roster-filter")
    def filter_done(self) -> None:
        self.query_one("#roster-table", FastTable).focus()

    def action_mark(self) -> None:
        person = self.query_one(RosterPane).selected()
        if person is None:
            self.notify("select a person in the roster first", severity="warning")
            return
        self.push_screen(MarkScreen(person, self.station.needs_pin), partial(self._mark, person))

    def _mark(self, person: str, result) -> None:
        if result:
            status, reason, pin = result
            if self.attempt(partial(self.station.mark, person, status, reason, pin)):
                self.refresh_panes()

    def action_delete(self) -> None:
        person = self.query_one(RosterPane).selected()
        if person is None:
            self.notify("select a person in the roster first", severity="warning")
            return
        question = f"Delete {person}? Their photos and templates are erased."
        screen = ConfirmScreen(question, checkbox="also erase their check-ins", needs_pin=self.station.needs_pin)
        self.push_screen(screen, partial(self._delete, person))

    def _delete(self, person: str, result) -> None:
        if result:
            erase, pin = result
            if self.attempt(partial(self.station.delete_person, person, erase, pin)):
                self.notify(f"{person} deleted")
                self.refresh_panes()

    def action_history(self) -> None:
        self.push_screen(PastSessionsScreen(self.station.sessions()), self._history_choice)

    def _history_choice(self, result) -> None:
        if not result or result[1] is None:
            return
        what, session_id = result
        if what == "show":
            self.viewing_session = session_id
            self.refresh_panes()
        else:
            self.push_screen(ExportScreen(f"session {session_id}", self.station.needs_pin),
                             partial(self._export, session_id=session_id))

    def action_absent_first(self) -> None:
        pane = self.query_one(SessionPane)
        pane.absent_first = not pane.absent_first
        pane.show(pane.summary)

    def action_next_pane(self) -> None:
        if len(self.screen_stack) > 1:  # in a dialog, tab moves between its fields as usual
            self.screen.focus_next()
            return
        tables = [self.query_one(f"{pane} FastTable") for pane in PANES]
        current = next((i for i, t in enumerate(tables) if t.has_focus), -1)
        tables[(current + 1) % len(tables)].focus()

    def action_help(self) -> None:
        if not self.is_screen_installed("help"):
            self.install_screen(HelpScreen(), "help")  # built once: opening it again is instant
        self.push_screen("help")

    def action_quit_station(self) -> None:
        if self.station.active is None:
            self.exit()
            return
        question = f"Session {self.station.active.name!r} is running. Quit? It stays open and resumes next time."
        self.push_screen(ConfirmScreen(question), lambda result: self.exit() if result else None)

    def get_system_commands(self, screen):
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            action = getattr(self, f"action_{binding.action}")
            yield SystemCommand(binding.description, f"key: {binding.key}", action)
