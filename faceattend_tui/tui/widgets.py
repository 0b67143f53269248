"""The main screen's parts: the status header and the three panes."""

from __future__ import annotations

from datetime import datetime

from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static

from faceattend_tui.attendance import RosterRow
from faceattend_tui.station import LiveState
from faceattend_tui.tui.fasttable import FastTable

STATUS_STYLE = {"present": "green", "late": "yellow", "absent": "red", "-": "dim"}
MAX_LIVE_ROWS = 500
NAME_WIDTH = 18  # fixed column widths: measuring thousands of rows on every change is too slow


def clock(value: datetime | None) -> str:
    return value.astimezone().strftime("%H:%M:%S") if value else ""


def styled(status: str) -> tuple[str, str]:
    return status, STATUS_STYLE.get(status, "")


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
        session_text = (f"[b]Session[/] [b cyan]{escape(session.name)}[/] ({escape(session.audience)}) "
                        f"since {session.started_at:%H:%M}{late}"
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

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.added = 0

    def compose(self) -> ComposeResult:
        yield Static("unknown faces seen: 0", id="unknown-count")
        yield FastTable([("Time", 8), ("Name", NAME_WIDTH), ("Sim", 4), ("Status", 10)], id="live-table")

    def add(self, name: str, similarity: float, when: datetime, status: str) -> None:
        self.added += 1
        table = self.query_one(FastTable)
        table.put(f"{self.added:08d}", (clock(when), name, f"{similarity:.2f}", styled(status)), first=True)
        table.trim(MAX_LIVE_ROWS)

    def set_unknown(self, count: int) -> None:
        self.query_one("#unknown-count", Static).update(f"unknown faces seen: {count}")


class RosterPane(Vertical):
    """Everyone enrolled with their state in the running session; type to filter."""

    BORDER_TITLE = "Roster"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows: dict[str, RosterRow] = {}

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter names (/)", id="roster-filter")
        columns = [("Name", NAME_WIDTH), ("Status", 7), ("In", 8), ("Seen", 8), ("Img", 3)]
        yield FastTable(columns, id="roster-table")

    def show(self, rows: list[RosterRow]) -> None:
        self.rows = {row.id: row for row in rows}
        self.query_one(FastTable).set_rows([(row.id, self.cells(row)) for row in rows])
        self.count_present()

    def update_row(self, row: RosterRow) -> None:
        """One person changed: only their row is touched."""
        self.rows[row.id] = row
        self.query_one(FastTable).put(row.id, self.cells(row))
        self.count_present()

    def cells(self, row: RosterRow) -> tuple:
        return (row.name, styled(row.status), clock(row.time), clock(row.last_seen), str(row.images))

    def refilter(self) -> None:
        self.query_one(FastTable).apply_filter(self.query_one("#roster-filter", Input).value)

    def count_present(self) -> None:
        present = sum(r.status in ("present", "late") for r in self.rows.values())
        self.border_subtitle = f"{present}/{len(self.rows)} here"

    def selected(self) -> str | None:
        return self.query_one(FastTable).selected


class SessionPane(Vertical):
    """One session (the running one, or a past one picked from history): counts and the list."""

    BORDER_TITLE = "Session"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.absent_first = False
        self.summary = None
        self.entries: dict[str, tuple[str, str, tuple]] = {}  # person id -> (status, name, cells)

    def compose(self) -> ComposeResult:
        yield Static("no session", id="session-counts")
        yield FastTable([("Name", NAME_WIDTH), ("Status", 7), ("Time", 8), ("Note", 30)], id="session-table")

    def show(self, summary) -> None:
        self.summary = summary
        if summary is None:
            self.query_one("#session-counts", Static).update("no session")
            self.entries = {}
        else:
            self.show_counts(summary.counts)
            self.entries = {item.person.id: self.entry(item.name, item.status, item.checkin, item.mark)
                            for item in summary.people}
        self.redraw()

    @staticmethod
    def entry(name: str, status: str, checkin, mark) -> tuple[str, str, tuple]:
        note = f"manual: {mark.reason}" if mark else ("camera" if checkin else "")
        return status, name, (name, styled(status), clock(checkin.time if checkin else None), note)

    def redraw(self) -> None:
        order = {"absent": 0, "late": 1, "present": 2} if self.absent_first else {}
        keys = sorted(self.entries, key=lambda k: (order.get(self.entries[k][0], 0), self.entries[k][1].casefold(), k))
        self.query_one(FastTable).set_rows([(k, self.entries[k][2]) for k in keys])

    def show_counts(self, c) -> None:
        session = self.summary.session
        state = "running" if session.ended_at is None else f"ended {session.ended_at:%H:%M}"
        self.query_one("#session-counts", Static).update(Text.assemble(
            (session.name, "bold"), f" ({state}, {session.audience})\n", (f"present {c.present}", "green"), "  ",
            (f"late {c.late}", "yellow"), "  ", (f"absent {c.absent}", "red")))

    def update_person(self, row: RosterRow, counts) -> None:
        """A check-in in the running session: one row and the counts, not the whole list."""
        if self.summary is None or self.summary.session.ended_at is not None or counts is None:
            return
        note = row.note or ("camera" if row.time else "")
        self.entries[row.id] = (row.status, row.name, (row.name, styled(row.status), clock(row.time), note))
        self.query_one(FastTable).put(row.id, self.entries[row.id][2])
        self.show_counts(counts)
