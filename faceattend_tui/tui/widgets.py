"""The main screen's parts: the status header and the three panes."""

from __future__ import annotations

from datetime import datetime

from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Static

from faceattend_tui.station import LiveState

STATUS_STYLE = {"present": "green", "late": "yellow", "absent": "red", "-": "dim"}
MAX_LIVE_ROWS = 500


def clock(value: datetime | None) -> str:
    return value.astimezone().strftime("%H:%M:%S") if value else ""


def styled_status(status: str) -> Text:
    return Text(status, style=STATUS_STYLE.get(status, ""))


class StatusHeader(Static):
    """Station, session, camera, speed, device and models, on two lines."""

    def render_state(self, station_name: str, session, live: LiveState, now: datetime) -> None:
        self.update(header_markup(station_name, session, live, now))


def header_markup(station_name: str, session, live: LiveState, now: datetime) -> str:
    if session is None:
        session_text = "[dim]no session running: press s to start one[/]"
    else:
        elapsed = int((now - session.started_at).total_seconds())
        hours, rest = divmod(max(elapsed, 0), 3600)
        late = f", late after {session.late_after_minutes:g} min" if session.late_after_minutes is not None else ""
        session_text = (f"[b]Session[/] [b cyan]{escape(session.name)}[/] since {session.started_at:%H:%M}{late}"
                        f"  [b]{hours:02d}:{rest // 60:02d}:{rest % 60:02d}[/]")
    colour = {"live": "green", "error": "red", "lost": "red"}.get(live.camera, "yellow")
    line1 = f"[b magenta]faceattend[/]  station {escape(station_name)}    {session_text}"
    line2 = (f"camera [{colour}]{live.camera}[/]  {live.fps:4.1f} fps    [b]{live.device.upper()}[/]  "
             f"{escape(live.models)}    preview {live.preview}")
    if live.busy:
        line2 += f"    [yellow]{escape(live.busy)}[/]"
    return f"{line1}\n{line2}"


class LivePane(Vertical):
    """Check-ins as they happen, newest first, and a counter of unknown faces."""

    BORDER_TITLE = "Live check-ins"

    def compose(self) -> ComposeResult:
        yield Static("unknown faces seen: 0", id="unknown-count")
        table = DataTable(id="live-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("Time", "Name", "Similarity", "Status")
        yield table

    def add(self, name: str, similarity: float, when: datetime, status: str) -> None:
        table = self.query_one(DataTable)
        table.add_row(clock(when), name, f"{similarity:.2f}", styled_status(status))
        table.sort(table.ordered_columns[0].key, reverse=True)
        while table.row_count > MAX_LIVE_ROWS:
            table.remove_row(table.coordinate_to_cell_key((table.row_count - 1, 0)).row_key)

    def set_unknown(self, count: int) -> None:
        self.query_one("#unknown-count", Static).update(f"unknown faces seen: {count}")


class RosterPane(Vertical):
    """Everyone enrolled with their state in the running session; type to filter."""

    BORDER_TITLE = "Roster"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows: dict[str, dict] = {}

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter names (/)", id="roster-filter")
        table = DataTable(id="roster-table", cursor_type="row", zebra_stripes=True)
        for label, key in zip(("Name", "Status", "Checked in", "Last seen", "Images"), self.columns, strict=True):
            table.add_column(label, key=key)
        yield table

    def show(self, rows: list[dict]) -> None:
        self.rows = {row["name"]: row for row in rows}
        self.refilter()

    def update_row(self, row: dict) -> None:
        """One person changed: update their cells in place (cheap with thousands of rows)."""
        self.rows[row["name"]] = row
        table = self.query_one(DataTable)
        if row["name"] in table.rows:
            for column, value in zip(self.columns, self.cells(row), strict=True):
                table.update_cell(row["name"], column, value, update_width=True)
        self.count_present()

    columns = ("name", "status", "time", "last_seen", "images")

    def cells(self, row: dict) -> tuple:
        return (row["name"], styled_status(row["status"]), clock(row["time"]), clock(row["last_seen"]),
                str(row["images"]))

    def count_present(self) -> None:
        present = sum(r["status"] in ("present", "late") for r in self.rows.values())
        self.border_subtitle = f"{present}/{len(self.rows)} here"

    def refilter(self) -> None:
        needle = self.query_one("#roster-filter", Input).value.strip().casefold()
        table = self.query_one(DataTable)
        selected = self.selected()
        table.clear()
        for row in self.rows.values():
            if needle and needle not in row["name"].casefold():
                continue
            table.add_row(*self.cells(row), key=row["name"])
        if selected is not None and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected))
        self.count_present()

    def selected(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value


class SessionPane(Vertical):
    """One session (the running one, or a past one picked from history): counts and the list."""

    BORDER_TITLE = "Session"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.absent_first = False
        self.summary = None

    def compose(self) -> ComposeResult:
        yield Static("no session", id="session-counts")
        table = DataTable(id="session-table", cursor_type="row", zebra_stripes=True)
        for label, key in (("Name", "name"), ("Status", "status"), ("Time", "time"), ("Source", "source")):
            table.add_column(label, key=key)
        yield table

    def show(self, summary) -> None:
        self.summary = summary
        table = self.query_one(DataTable)
        table.clear()
        if summary is None:
            self.query_one("#session-counts", Static).update("no session")
            return
        self.show_counts(summary.counts)
        order = {"absent": 0, "late": 1, "present": 2} if self.absent_first else {}
        people = sorted(summary.people, key=lambda p: (order.get(p.status, 0), p.person.casefold()))
        for item in people:
            checkin = item.checkin
            source = "" if checkin is None else checkin.source + (f": {checkin.reason}" if checkin.reason else "")
            table.add_row(item.person, styled_status(item.status), clock(checkin.time if checkin else None), source,
                          key=item.person)

    def show_counts(self, c) -> None:
        session = self.summary.session
        state = "running" if session.ended_at is None else f"ended {session.ended_at:%H:%M}"
        self.query_one("#session-counts", Static).update(Text.assemble(
            (session.name, "bold"), f" ({state})\n", (f"present {c.present}", "green"), "  ",
            (f"late {c.late}", "yellow"), "  ", (f"absent {c.absent}", "red")))

    def update_person(self, row: dict, counts) -> None:
        """A check-in in the running session: one row and the counts, not the whole list."""
        if self.summary is None or self.summary.session.ended_at is not None or counts is None:
            return
        table = self.query_one(DataTable)
        source = row["source"] + (f": {row['reason']}" if row["reason"] else "")
        cells = (row["name"], styled_status(row["status"]), clock(row["time"]), source)
        if row["name"] in table.rows:
            for key, value in zip(("name", "status", "time", "source"), cells, strict=True):
                table.update_cell(row["name"], key, value, update_width=True)
        else:
            table.add_row(*cells, key=row["name"])
        self.show_counts(counts)
