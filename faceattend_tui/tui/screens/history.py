"""Past sessions: show one in the session pane, export, edit or void it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Static

from faceattend_tui.station import printable
from faceattend_tui.text import clock_of
from faceattend_tui.tui.fasttable import shortened
from faceattend_tui.tui.screens.base import Access, Dialog, RowTable, Submit
from faceattend_tui.tui.screens.detail import DetailScreen
from faceattend_tui.tui.screens.session_edit import (
    EditRequest,
    EditSessionScreen,
    VoidRequest,
    VoidScreen,
    session_state,
    session_when,
)

if TYPE_CHECKING:
    from faceattend_tui.station import Edit, Session


@dataclass(frozen=True)
class HistoryChoice:
    action: str  # "show" or "export"
    session_id: int


class PastSessionsScreen(Dialog[None]):
    """All sessions; enter shows one in the session pane, x exports it, e edits it, v voids it.

    Voided sessions stay listed, greyed and marked "voided" (they are left out of reports).
    The sessions (and the groups, for the edit dialog) are read in threads from `load` and `groups`
    once open, and again after a change; meanwhile the buttons and keys wait, escape aside.
    With `void` and `edit` callbacks (guarded station calls), those dialogs open over this list."""

    BINDINGS = [Binding("escape", "cancel", "Close"), Binding("enter", "choose", "Show"),
                Binding("x", "export", "Export"), Binding("e", "edit", "Edit"), Binding("v", "void", "Void")]
    NEEDS_DATA = True

    def __init__(self, load: Callable[[], list[Session]], access: Callable[[], Access] | None = None,
                 void: Submit[VoidRequest] | None = None, edit: Submit[EditRequest] | None = None,
                 groups: Callable[[], list[str]] | None = None) -> None:
        super().__init__()
        self.load, self.current_access = load, access or Access
        self.void_with, self.edit_with, self.read_groups = void, edit, groups
        self.sessions: list[Session] = []
        self.groups: list[str] = []
        self.select: int | None = None  # the session to put the cursor on once read

    WIDE = True

    def title_text(self) -> str:
        return "Sessions (enter: show · x: export · e: edit · v: void · esc: close)"

    def body(self) -> ComposeResult:
        table: DataTable[Text] = RowTable(id="sessions", cursor_type="row", zebra_stripes=True)
        table.add_columns("Id", "Name", "For", "Started", "Ended", "State")
        yield table
        yield Static("", id="sessions-note")

    def start_reading(self) -> None:
        super().start_reading()
        self.refill()
        if self.read_groups is not None:
            self.read(self.read_groups, self.show_groups, "the groups")

    def show_groups(self, groups: list[str]) -> None:
        self.groups = groups

    def refill(self, select: int | None = None) -> None:
        """Read the sessions again (in a thread), then list them with the cursor on `select`."""
        self.select = select
        self.read(self.load, self.show_sessions, "the sessions")

    def show_sessions(self, sessions: list[Session]) -> None:
        self.sessions = sessions
        self.fill(self.select)

    def fill(self, select: int | None = None) -> None:
        table = self.query_one("#sessions", DataTable)
        table.clear()
        for s in self.sessions:
            ended = clock_of(s.ended_at, s.started_at) if s.ended_at else "running"  # the day said when another
            style = "dim strike" if s.voided else ""
            cells = (str(s.id), shortened(printable(s.name), 24), shortened(printable(s.audience), 12), session_when(s),
                     ended, session_state(s))  # the state in view at 80 columns
            table.add_row(*(Text(c, style=style) for c in cells), key=str(s.id))
        if select is not None and str(select) in table.rows:
            table.move_cursor(row=table.get_row_index(str(select)))

    def foot(self) -> ComposeResult:
        yield Horizontal(Button("Show", variant="primary", id="show"), Button("Export", id="export"),
                         Button("Edit", id="edit"), Button("Void", id="void"),
                         Button("Close", id="cancel"), classes="buttons")

    @on(Button.Pressed, "#show")
    def show_pressed(self) -> None:
        self._choose("show")

    @on(Button.Pressed, "#export")
    def export_pressed(self) -> None:
        self._choose("export")

    def _current(self) -> int | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return None if key is None else int(key)

    def _session(self) -> Session | None:
        if self.still_reading():
            return None
        session_id = self._current()
        session = next((s for s in self.sessions if s.id == session_id), None)
        if session is None:
            self.error("no session to choose")
        return session

    @on(DataTable.RowSelected)
    def action_choose(self) -> None:
        self._choose("show")

    def action_export(self) -> None:
        self._choose("export")

    def _choose(self, action: str) -> None:
        if self.still_reading():
            return
        session_id = self._current()
        self.dismiss(None if session_id is None else HistoryChoice(action, session_id))

    @on(Button.Pressed, "#void")
    def action_void(self) -> None:
        session = self._session()
        if session is None or self.void_with is None:
            return
        if session.voided:
            self.error(f"session {session.id} was voided by {session.voided_by}: {session.void_reason}")
            return
        if session.active:
            self.error(f"session {session.id} is running; stop it (s) before voiding it")
            return
        self.app.push_screen(VoidScreen(session, self.current_access(), self.void_with), self.voided)

    def voided(self, session: Session | None) -> None:
        if session:
            self.refill(session.id)
            self.note(f"session {session.id} {session.name!r} voided: kept, and left out of reports")

    @on(Button.Pressed, "#edit")
    def action_edit(self) -> None:
        session = self._session()
        if session is None or self.edit_with is None:
            return
        screen = EditSessionScreen(session, self.groups, self.current_access(), self.edit_with)
        self.app.push_screen(screen, partial(self.edited, session))

    def edited(self, session: Session, edit: Edit | None) -> None:
        if edit is None:
            return
        self.refill(session.id)
        if not edit.changed:
            self.note(f"session {session.id}: nothing changed")
            return
        self.note(f"session {session.id}: {len(edit.changed)} changes")
        lines = [("", line) for line in edit.changed] + [("note", note) for note in edit.notes]
        self.app.push_screen(DetailScreen(f"Session {session.id} edited: what changed", lines))

    def note(self, text: str) -> None:
        self.error("")
        self.query_one("#sessions-note", Static).update(Text(text, style="bold"))
