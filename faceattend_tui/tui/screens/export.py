"""Export attendance: the format, and the session shown or a date range."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.widgets import Button, Checkbox, Input, RadioButton, RadioSet, Static

from faceattend_tui.station import ExportOptions
from faceattend_tui.tui.screens.base import Access, Choice, Dialog, Secret, Submit, Tick, parse_day, pin_fields


@dataclass(frozen=True)
class ExportRequest:
    options: ExportOptions
    date_from: date | None
    date_to: date | None
    pin: Secret
    session_id: int | None = None  # the session the dialog named, as read when it opened


class ExportScreen(Dialog[ExportRequest]):
    """Format and scope: the session shown, or a date range. `session`: its name, or how to read its
    name and id (the export is of that session, even if another begins while the dialog is open)."""

    OK = "Export"

    def __init__(self, session: str | Callable[[], tuple[str, int | None]], access: Access,
                 submit: Submit[ExportRequest] | None = None) -> None:
        super().__init__(access, submit)
        self.session_label = session if isinstance(session, str) else "..."
        self.read_label = None if isinstance(session, str) else session
        self.session_id: int | None = None
        self.send_when_read = False  # Enter was pressed before the session it names was read

    def start_reading(self) -> None:
        super().start_reading()
        if self.read_label is not None:
            self.read(self.read_label, self.show_label, "the session")

    def show_label(self, session: tuple[str, int | None]) -> None:
        self.session_label, self.session_id = session
        self.query_one("#export-session", Static).update(self.session_line())
        if self.send_when_read:
            self.send_when_read = False
            self.submit()

    def session_line(self) -> str:
        return f"Session: {escape(self.session_label)}, or a date range:"

    def title_text(self) -> str:
        return "Export attendance"

    def body(self) -> ComposeResult:
        with RadioSet(id="format"):
            yield Choice("CSV", value=True, id="csv")
            yield Choice("JSON", id="json")
        yield Tick("CSV for Excel (byte-order mark)", value=True, id="bom")
        yield Static(self.session_line(), id="export-session")
        yield Input(placeholder="from YYYY-MM-DD (optional)", id="from")
        yield Input(placeholder="to YYYY-MM-DD (optional)", id="to")
        yield from pin_fields(self.access)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        if self.working:
            return
        if self.reading:  # the session it names is still being read: the export goes once it is
            self.send_when_read = True
            self.show_reading()
            return
        fmt = "json" if self.query_one("#json", RadioButton).value else "csv"
        try:
            start = parse_day(self.query_one("#from", Input).value)
            end = parse_day(self.query_one("#to", Input).value)
        except ValueError:
            self.error("dates as YYYY-MM-DD")
            return
        options = ExportOptions(fmt, self.query_one("#bom", Checkbox).value)
        self.finish(ExportRequest(options, start, end, self.pin(), self.session_id))
