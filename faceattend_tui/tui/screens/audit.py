"""The audit screen: who did what and when, newest first, filtered by person, action, staff and day."""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo
from functools import partial

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Static

from faceattend_tui.station import AuditEntry, AuditFilter, describe_details, printable
from faceattend_tui.tui.screens.base import Dialog, RowTable, parse_day
from faceattend_tui.tui.screens.detail import DetailScreen

MAX_SHOWN = 500  # the newest entries shown; a narrower filter finds older ones
DETAILS_WIDTH = 72  # the details column cut here; enter on a row shows them in full


def entry_time(entry: AuditEntry, zone: tzinfo | None) -> str:
    return f"{entry.time.astimezone(zone):%Y-%m-%d %H:%M:%S}"


def cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


class AuditScreen(Dialog[None]):
    """The audit log, read only: no PIN. Enter in a field applies the filter; enter on a row shows it whole.
    The entries are read in a thread (`load`), once open and at each filter."""

    BINDINGS = [Binding("escape", "cancel", "Close")]
    WIDE = True

    def __init__(self, load: Callable[[AuditFilter], list[AuditEntry]], zone: tzinfo | None = None) -> None:
        super().__init__()
        self.load, self.zone = load, zone
        self.entries: list[AuditEntry] = []

    def title_text(self) -> str:
        return "Audit log, newest first (enter: filter, or a row's details · esc: close)"

    def body(self) -> ComposeResult:
        with Horizontal(classes="fields"):
            yield Input(placeholder="person id", id="audit-person")
            yield Input(placeholder="action, e.g. session", id="audit-action")
            yield Input(placeholder="staff", id="audit-staff")
        with Horizontal(classes="fields"):
            yield Input(placeholder="from YYYY-MM-DD", id="audit-from")
            yield Input(placeholder="to YYYY-MM-DD", id="audit-to")
        yield Static("", id="audit-count")
        table: DataTable[str | Text] = RowTable(id="audit", cursor_type="row", zebra_stripes=True)
        table.add_columns("Time", "Who", "Action", "Details")
        yield table

    def foot(self) -> ComposeResult:
        yield Horizontal(Button("Filter", variant="primary", id="ok"), Button("Close", id="cancel"),
                         classes="buttons")

    def start_reading(self) -> None:
        super().start_reading()
        self.apply_filter()

    def wanted(self) -> AuditFilter:
        """The filter as typed; ValueError for a date that is not one."""
        def text(name: str) -> str:
            return self.query_one(f"#audit-{name}", Input).value.strip()

        return AuditFilter(person=text("person"), action=text("action"), staff=text("staff"),
                           date_from=parse_day(text("from")), date_to=parse_day(text("to")))

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def apply_filter(self) -> None:
        """Read the entries the filter keeps, in a thread (the log may be busy), then list them."""
        try:
            wanted = self.wanted()
        except ValueError:
            self.error("dates as YYYY-MM-DD")
            return
        self.read(partial(self.entries_for, wanted), self.show_entries, "the audit log")

    def entries_for(self, wanted: AuditFilter) -> tuple[AuditFilter, list[AuditEntry]]:
        return wanted, self.load(wanted)

    def show_entries(self, found: tuple[AuditFilter, list[AuditEntry]]) -> None:
        wanted, entries = found
        self.entries = list(reversed(entries))[:MAX_SHOWN]
        table = self.query_one("#audit", DataTable)
        table.clear()
        for number, entry in enumerate(self.entries):
            table.add_row(entry_time(entry, self.zone), Text(printable(entry.user)), Text(printable(entry.action)),
                          Text(printable(cut(describe_details(entry.details), DETAILS_WIDTH))), key=str(number))
        shown = len(self.entries)
        count = f"{len(entries)} entries" if len(entries) != 1 else "1 entry"
        if shown < len(entries):
            count += f", the newest {shown} shown (narrow the filter for older ones)"
        elif not entries:
            count = "no entries match" if wanted != AuditFilter() else "the audit log is empty"
        self.query_one("#audit-count", Static).update(count)

    @on(DataTable.RowSelected, "#audit")
    def show_entry(self, message: DataTable.RowSelected) -> None:
        key = message.row_key.value
        if key is None:  # every row has its number as key
            return
        entry = self.entries[int(key)]
        lines = [("time", entry_time(entry, self.zone)), ("who", entry.user), ("action", entry.action)]
        lines += [(str(key), describe_details({key: value}, whole=True)[len(str(key)) + 1:])
                  for key, value in entry.details.items()]
        self.open_over(DetailScreen(f"Audit entry: {entry.action}", lines))
