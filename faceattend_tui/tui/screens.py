"""Dialogs: start a session, enroll, export, mark, confirm, past sessions, help."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, DataTable, Input, Label, RadioButton, RadioSet, Static

from faceattend_tui.live.events import CaptureSample
from faceattend_tui.tui.messages import CaptureDone
from faceattend_tui.tui.thumbnail import halfblock

# What the dialogs return (None when cancelled).


@dataclass(frozen=True)
class SessionRequest:
    name: str
    late_after: float | None
    pin: str


@dataclass(frozen=True)
class Confirmed:
    checked: bool  # the dialog's checkbox, when it has one
    pin: str


@dataclass(frozen=True)
class ExportRequest:
    fmt: str
    date_from: date | None
    date_to: date | None
    pin: str


@dataclass(frozen=True)
class MarkRequest:
    status: str
    reason: str
    pin: str


@dataclass(frozen=True)
class EnrollRequest:
    name: str
    samples: tuple[CaptureSample, ...]
    pin: str


@dataclass(frozen=True)
class HistoryChoice:
    action: str  # "show" or "export"
    session_id: int


class Pin(Input):
    """A PIN field that only appears when the station has a PIN."""

    def __init__(self, needed: bool) -> None:
        super().__init__(placeholder="staff PIN", password=True, id="pin", disabled=not needed)
        self.display = needed


class Dialog(ModalScreen):
    """A centred box; escape cancels (dismisses with None); typing starts in the first text field."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    TITLE_TEXT = ""

    def on_mount(self) -> None:
        fields = [f for f in self.query(Input) if not f.disabled]
        if fields:
            fields[0].focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def cancel_pressed(self) -> None:
        self.dismiss(None)

    def pin(self) -> str:
        return self.query_one(Pin).value

    def error(self, text: str) -> None:
        self.query_one("#dialog-error", Label).update(Text(text, style="bold red"))


def buttons(ok: str) -> Horizontal:
    return Horizontal(Button(ok, variant="primary", id="ok"), Button("Cancel", id="cancel"), classes="buttons")


class StartSessionScreen(Dialog):
    """Name and optional 'late after N minutes'."""

    def __init__(self, needs_pin: bool) -> None:
        super().__init__()
        self.needs_pin = needs_pin

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Start a session", classes="dialog-title")
            yield Input(placeholder="session name, e.g. Physics 101", id="name")
            yield Input(placeholder="late after N minutes (optional)", id="late", type="number")
            yield Pin(self.needs_pin)
            yield Label("", id="dialog-error")
            yield buttons("Start")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        name = self.query_one("#name", Input).value.strip()
        late_text = self.query_one("#late", Input).value.strip()
        if not name:
            self.error("the session needs a name")
            return
        try:
            late = float(late_text) if late_text else None
        except ValueError:
            self.error("late after: a number of minutes")
            return
        self.dismiss(SessionRequest(name, late, self.pin()))



class ConfirmScreen(Dialog):
    """A yes/no question, optionally with a checkbox and a PIN."""

    BINDINGS = [Binding("escape", "cancel", "No"), Binding("y", "yes", "Yes"), Binding("n", "cancel", "No")]

    def __init__(self, question: str, checkbox: str | None = None, needs_pin: bool = False) -> None:
        super().__init__()
        self.question, self.checkbox, self.needs_pin = question, checkbox, needs_pin

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-title")
            if self.checkbox:
                yield Checkbox(self.checkbox, id="check")
            yield Pin(self.needs_pin)
            yield Label("", id="dialog-error")
            yield buttons("Yes")

    @on(Button.Pressed, "#ok")
    @on(Input.Submitted)
    def action_yes(self) -> None:
        checked = self.query_one("#check", Checkbox).value if self.checkbox else False
        self.dismiss(Confirmed(checked, self.pin()))



class ExportScreen(Dialog):
    """Format and scope: the session shown, or a date range."""

    def __init__(self, session_label: str, needs_pin: bool) -> None:
        super().__init__()
        self.session_label, self.needs_pin = session_label, needs_pin

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Export attendance", classes="dialog-title")
            with RadioSet(id="format"):
                yield RadioButton("CSV", value=True, id="csv")
                yield RadioButton("JSON", id="json")
            yield Label(f"Session: {self.session_label}, or a date range:")
            yield Input(placeholder="from YYYY-MM-DD (optional)", id="from")
            yield Input(placeholder="to YYYY-MM-DD (optional)", id="to")
            yield Pin(self.needs_pin)
            yield Label("", id="dialog-error")
            yield buttons("Export")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        fmt = "json" if self.query_one("#json", RadioButton).value else "csv"
        try:
            start = parse_day(self.query_one("#from", Input).value)
            end = parse_day(self.query_one("#to", Input).value)
        except ValueError:
            self.error("dates as YYYY-MM-DD")
            return
        self.dismiss(ExportRequest(fmt, start or end, end or start, self.pin()))



def parse_day(text: str) -> date | None:
    text = text.strip()
    return date.fromisoformat(text) if text else None


class MarkScreen(Dialog):
    """Manual mark of one person, with a reason."""

    def __init__(self, person: str, needs_pin: bool) -> None:
        super().__init__()
        self.person, self.needs_pin = person, needs_pin

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Mark {self.person}", classes="dialog-title")
            with RadioSet(id="status"):
                yield RadioButton("present", value=True, id="present")
                yield RadioButton("late", id="late")
                yield RadioButton("absent", id="absent")
            yield Input(placeholder="reason (required)", id="reason")
            yield Pin(self.needs_pin)
            yield Label("", id="dialog-error")
            yield buttons("Mark")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.error("a reason is required")
            return
        status = next(s for s in ("present", "late", "absent") if self.query_one(f"#{s}", RadioButton).value)
        self.dismiss(MarkRequest(status, reason, self.pin()))



class EnrollScreen(Dialog):
    """Name a newcomer (or an enrolled person to add samples), capture, look, then save.

    `capture` asks the station for a capture and returns its request id; the result comes back
    as a CaptureDone message posted to this screen.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+c", "capture", "Capture", show=False)]

    def __init__(self, needs_pin: bool, capture: Callable[[], str]) -> None:
        super().__init__()
        self.needs_pin = needs_pin
        self.request_capture = capture
        self.request: str | None = None
        self.samples: tuple[CaptureSample, ...] = ()

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label("Enroll from the camera", classes="dialog-title")
            yield Input(placeholder="name (new, or enrolled to add samples)", id="name")
            yield Label("Ask the person to look at the camera, then capture (3 s).", id="enroll-hint")
            with Horizontal(id="enroll-body"):
                yield Static("", id="thumb")
                table = DataTable(id="samples", cursor_type="row")
                table.add_columns("#", "Quality", "Size", "Sharpness", "Frontal")
                yield table
            yield Pin(self.needs_pin)
            yield Label("", id="dialog-error")
            yield Horizontal(Button("Capture", id="capture"), Button("Save", variant="primary", id="ok", disabled=True),
                             Button("Cancel", id="cancel"), classes="buttons")

    @on(Button.Pressed, "#capture")
    @on(Input.Submitted, "#name")
    def action_capture(self) -> None:
        if not self.query_one("#name", Input).value.strip():
            self.error("type the person's name first")
            return
        self.query_one("#capture", Button).disabled = True
        self.query_one("#enroll-hint", Label).update("capturing... keep looking at the camera")
        self.error("")
        self.request = self.request_capture()

    @on(CaptureDone)
    def show_capture(self, message: CaptureDone) -> None:
        result = message.update.result
        if result.request != self.request:
            return
        self.samples = result.samples
        self.query_one("#capture", Button).disabled = False
        table = self.query_one("#samples", DataTable)
        table.clear()
        for i, s in enumerate(self.samples, start=1):
            table.add_row(str(i), f"{s.quality:.2f}", f"{s.size} px", f"{s.sharpness:.0f}", f"{s.frontality:.2f}")
        self.query_one("#ok", Button).disabled = not self.samples
        if self.samples:
            self.query_one("#thumb", Static).update(halfblock(self.samples[0].photo_jpeg))
        name = self.query_one("#name", Input).value.strip()
        hint = result.message or f"{len(self.samples)} samples; press Save to enroll {name}"
        if result.match and result.match.name != name:
            self.error(f"warning: this face already looks like {result.match.name} ({result.match.similarity:.2f})")
        self.query_one("#enroll-hint", Label).update(hint)

    @on(Button.Pressed, "#ok")
    def save(self) -> None:
        name = self.query_one("#name", Input).value.strip()
        self.dismiss(EnrollRequest(name, self.samples, self.pin()))


class PastSessionsScreen(Dialog):
    """All sessions; enter shows one in the session pane, x exports it."""

    BINDINGS = [Binding("escape", "cancel", "Close"), Binding("enter", "choose", "Show"),
                Binding("x", "export", "Export")]

    def __init__(self, sessions: list) -> None:
        super().__init__()
        self.sessions = sessions

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label("Sessions (enter: show, x: export, esc: close)", classes="dialog-title")
            table = DataTable(id="sessions", cursor_type="row", zebra_stripes=True)
            table.add_columns("Id", "Name", "Started", "Ended")
            for s in self.sessions:
                ended = f"{s.ended_at:%Y-%m-%d %H:%M}" if s.ended_at else "running"
                table.add_row(str(s.id), s.name, f"{s.started_at:%Y-%m-%d %H:%M}", ended, key=str(s.id))
            yield table

    def _current(self) -> int | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        return int(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)

    @on(DataTable.RowSelected)
    def action_choose(self) -> None:
        self._choose("show")

    def action_export(self) -> None:
        self._choose("export")

    def _choose(self, action: str) -> None:
        session_id = self._current()
        self.dismiss(None if session_id is None else HistoryChoice(action, session_id))


def help_text(bindings) -> str:
    """The help screen's text, from the main screen's key bindings (their tooltips say more)."""
    lines = ["[b]faceattend station[/b]", ""]
    for binding in bindings:
        key = binding.key_display or KEY_NAMES.get(binding.key, binding.key)
        lines.append(f"  [b]{escape(key):8}[/b] {escape(binding.tooltip or binding.description)}")
    lines.append(f"  [b]{'ctrl+p':8}[/b] all commands")
    lines += ["", "Check-ins are saved before they appear. A running session survives a restart."]
    return "\n".join(lines)


KEY_NAMES = {"slash": "/", "question_mark": "?"}


class HelpScreen(Dialog):
    BINDINGS = [Binding("escape", "close", "Close"), Binding("question_mark", "close", "Close")]

    def __init__(self, bindings) -> None:
        super().__init__()
        self.text = help_text(bindings)

    def action_close(self) -> None:
        self.app.pop_screen()  # installed once and kept, so it is popped rather than dismissed

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static(self.text)
            yield Button("Close", id="close")

    @on(Button.Pressed, "#close")
    def close_pressed(self) -> None:
        self.action_close()
