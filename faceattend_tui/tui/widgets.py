"""The main screen's parts: the status header and the three panes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from faceattend_tui.station import LiveState, RosterRow
from faceattend_tui.text import clock_of, collation, deadline_text, plural
from faceattend_tui.tui.fasttable import Cell, FastTable, cell_text, shortened

if TYPE_CHECKING:
    from faceattend_tui.station import Checkin, Counts, Mark, Session, Summary

STATUS_STYLE = {"present": "$success", "late": "$warning", "absent": "$error", "-": "dim"}
MAX_LIVE_ROWS = 500
NAME_WIDTH = 18  # fixed column widths: measuring thousands of rows on every change is too slow
NAME_CAP = 36  # the widest a name column grows where the room can go to a column of notes
STATUS_CAP = 14  # the widest a status column grows for a site's own absence codes ("school-trip")
HEADER_NAME = 28  # columns of the session's name in the header, before its clock and counts

Entry = tuple[str, str, tuple[Cell, ...]]  # a session pane line: (status, name, cells)


def clock(value: datetime | None) -> str:
    return value.astimezone().strftime("%H:%M:%S") if value else ""


def styled(status: str) -> tuple[str, str]:
    return status, STATUS_STYLE.get(status, "")


class StatusHeader(Static):
    """Two lines, the most important first so a narrow terminal keeps them: the session with its
    counts, then the camera and the station."""

    def render_state(self, station_name: str, session: Session | None, live: LiveState, now: datetime,
                     counts: Counts | None) -> None:
        # Its size is fixed (full width, two lines): a new text needs a repaint, not a new layout of the screen.
        self.update(header_markup(station_name, session, live, now, counts), layout=False)


def header_markup(station_name: str, session: Session | None, live: LiveState, now: datetime,
                  counts: Counts | None) -> str:
    return f"{session_line(session, now, counts)}\n{camera_line(station_name, live)}"


def session_line(session: Session | None, now: datetime, counts: Counts | None) -> str:
    if session is None:
        return "[dim]no session running: press [b]s[/b] to start one[/]"
    elapsed = int((now - session.started_at).total_seconds())
    hours, rest = divmod(max(elapsed, 0), 3600)
    name = escape(shortened(session.name, HEADER_NAME))  # the counts after it stay on a narrow screen
    parts = [f"[b $accent]{name}[/]", f"[b]{hours:02d}:{rest // 60:02d}:{rest % 60:02d}[/]"]
    if counts is not None:
        parts.append(f"[$success]present {counts.present}[/] [$warning]late {counts.late}[/] "
                     f"[$error]absent {counts.absent}[/]")
    if session.late_deadline is not None:  # a time: a slot opened mid-way has odd minutes left
        parts.append(f"late from {deadline_text(session.late_deadline)}")  # before who it is for: kept at 80 columns
    parts.append(f"for {escape(session.audience)}, since {clock_of(session.started_at, now)}")
    return " · ".join(parts)


def camera_line(station_name: str, live: LiveState) -> str:
    colour = {"live": "$success", "error": "$error", "lost": "$error"}.get(live.camera, "$warning")
    fps = f" {live.fps:.1f} fps" if live.camera == "live" else ""  # a stopped camera's last speed is no speed
    if live.camera == "live" and live.resting:
        fps = ", nobody in view"  # looked at a few times a second: its rate then says nothing of the camera
    if live.camera == "live" and live.blank:
        fps += ", [$warning]blank picture (lens covered? no signal?)[/]"
    parts = [f"camera [{colour}]{live.camera}[/]{fps}"]
    if live.unsaved:  # people seen and not on disk yet: absent in the panes until written
        parts.append(f"[$error]{plural(live.unsaved, 'check-in')} waiting for the disk[/]")
    if live.camera_detail and live.camera != "live":
        parts.append(f"[{colour}]{escape(live.camera_detail)}[/]")
    if live.busy:
        parts.append(f"[yellow]{escape(live.busy)}[/]")
    if live.database:
        parts.append(f"[{'$success' if live.database.endswith('online') else '$error'}]{escape(live.database)}[/]")
    parts += [f"[b]{live.device.upper()}[/]", f"preview {live.preview}", f"station {escape(station_name)}",
              escape(live.models)]
    return " · ".join(parts)


class LivePane(Vertical):
    """Check-ins as they happen, newest first, and a counter of unknown faces."""

    BORDER_TITLE = "Live check-ins"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes=classes)
        self.added = 0
        self.whose: dict[str, str] = {}  # line -> the person's id ("" for a face the log does not know)
        self.folders: dict[str, str] = {}  # a person's id -> their photo folder (theirs under a new id too)

    def compose(self) -> ComposeResult:
        yield Static("unknown faces: 0", id="unknown-count")
        yield FastTable([("Time", 8), ("Name", NAME_WIDTH), ("Sim", 4), ("Status", 15)], flex=1, flex_cap=NAME_CAP,
                        id="live-table")  # room beyond a long name goes to why a face was not let in

    def add(self, name: str, similarity: float, when: datetime, status: str, person_id: str = "",
            folder: str = "") -> None:
        self.added += 1
        if person_id:
            self.folders[person_id] = folder
        table, key = self.query_one(FastTable), f"{self.added:08d}"
        table.put(key, (clock(when), name, f"{similarity:.2f}", styled(status)), first=True)
        table.trim(MAX_LIVE_ROWS)
        self.whose[key] = person_id
        if len(self.whose) > 2 * MAX_LIVE_ROWS:
            self.whose = {line: self.whose[line] for line in table.order}

    def people_shown(self) -> dict[str, str]:
        """The people the lines are about: id -> photo folder."""
        shown = set(self.query_one(FastTable).order)
        return {person: self.folders.get(person, "") for line, person in self.whose.items()
                if person and line in shown}

    def repoint(self, old: str, new: str) -> None:
        """A roster import gave someone another id: their lines are theirs still."""
        self.whose = {line: new if person == old else person for line, person in self.whose.items()}
        self.folders[new] = self.folders.pop(old, "")

    def forget(self, person_id: str) -> None:
        """An erased person's lines go from the screen too (a namesake's stay), newest still first."""
        table = self.query_one(FastTable)
        table.set_rows([(key, table.rows[key]) for key in table.order if self.whose.get(key) != person_id])

    def set_unknown(self, count: int, when: datetime | None = None) -> None:
        last = f", the last at {clock(when)}" if when and count else ""
        self.query_one("#unknown-count", Static).update(f"unknown faces: {count}{last}", layout=False)  # fixed size


class PersonTable(FastTable):
    """A list of people: enter shows the selected one in full."""

    BINDINGS = [Binding("enter", "select", "Details", key_display="⏎")]


class FilterInput(Input):
    """The roster's filter: Enter goes to the people it shows, escape clears it and goes back to the table."""

    BINDINGS = [Binding("escape", "clear", "Clear filter"), Binding("enter", "done", "Show")]

    def action_clear(self) -> None:
        self.value = ""
        self.display = False
        self.to_table()

    def action_done(self) -> None:
        self.to_table()

    def to_table(self) -> None:
        """The table filtered and focused now: "/chen", Enter and "m" typed at once mark whom it shows."""
        pane = self.parent
        if isinstance(pane, RosterPane):
            pane.refilter()
            self.screen.set_focus(pane.query_one(FastTable))


class RosterPane(Vertical):
    """Everyone enrolled with their state in the running session; type to filter."""

    BORDER_TITLE = "Roster"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes=classes)
        self.rows: dict[str, RosterRow] = {}
        self.counts: Counts | None = None  # the running session's, as the header shows them; None: no session
        self.namesakes: frozenset[str] = frozenset()  # names two people share: shown with their ids

    def compose(self) -> ComposeResult:
        yield FilterInput(placeholder="filter by name or id (escape: clear)", id="roster-filter")
        columns = [("Name", NAME_WIDTH), ("Status", 7), ("In", 8), ("Seen", 8), ("Img", 3)]
        yield PersonTable(columns, grow={1: STATUS_CAP}, id="roster-table")

    def show(self, rows: list[RosterRow], counts: Counts | None = None) -> None:
        self.rows = {row.id: row for row in rows}
        self.counts = counts
        self.namesakes = shared_names(row.name for row in rows)
        self.query_one(FastTable).set_rows([(row.id, self.cells(row)) for row in rows])
        self.count_present()

    def update_row(self, row: RosterRow, counts: Counts | None = None) -> None:
        """One person changed: only their row is touched."""
        self.rows[row.id] = row
        self.counts = counts or self.counts
        self.query_one(FastTable).put(row.id, self.cells(row))
        self.count_present()

    def cells(self, row: RosterRow) -> tuple[Cell, ...]:
        return (told_apart(row.name, row.id, self.namesakes), styled(row.status), clock(row.time),
                clock(row.last_seen), str(row.images))

    def refilter(self) -> None:
        table = self.query_one(FastTable)
        table.apply_filter(self.query_one("#roster-filter", Input).value)
        self.count_present()

    def count_present(self) -> None:
        needle = self.query_one("#roster-filter", Input).value.strip()
        if needle and self.query_one(FastTable).row_count == 0:
            self.border_subtitle = f"nobody matches {needle!r}"
            return
        if self.counts is not None:  # a session: the people it expects, as the header counts them
            self.border_subtitle = f"{self.counts.attended}/{self.counts.total} here"
            return
        self.border_subtitle = f"{len(self.rows)} people"

    def selected(self) -> str | None:
        return self.query_one(FastTable).selected


class SessionPane(Vertical):
    """One session (the running one, or a past one picked from history): counts and the list."""

    BORDER_TITLE = "Session"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id, classes=classes)
        self.absent_first = False
        self.summary: Summary | None = None
        self.namesakes: frozenset[str] = frozenset()
        self.entries: dict[str, Entry] = {}  # person id -> (status, name, cells)

    def compose(self) -> ComposeResult:
        yield Static("no session", id="session-counts")
        yield PersonTable([("Name", NAME_WIDTH), ("Status", 7), ("Time", 8), ("Note", 16)], flex_cap=NAME_CAP,
                          grow={1: STATUS_CAP}, id="session-table")  # a wide pane shows more of a mark's reason

    def show(self, summary: Summary | None) -> None:
        self.summary = summary
        if summary is None:
            self.query_one("#session-counts", Static).update("no session")
            self.entries = {}
        else:
            self.show_counts(summary.session, summary.counts)
            self.entries = {item.person.id: self.entry(item.name, item.status, item.checkin, item.mark)
                            for item in summary.people}
        self.redraw()

    @staticmethod
    def entry(name: str, status: str, checkin: Checkin | None, mark: Mark | None) -> Entry:
        note = f"manual: {mark.reason}" if mark else ("camera" if checkin else "")
        return SessionPane.line(name, status, checkin.time if checkin else None, note)

    @staticmethod
    def line(name: str, status: str, when: datetime | None, note: str) -> Entry:
        """(status, name, cells): what the list sorts by, and what it shows."""
        return status, name, (name, styled(status), clock(when), note)

    def redraw(self) -> None:
        order = {"absent": 0, "late": 1, "present": 2} if self.absent_first else {}
        station = getattr(self.app, "station", None)  # names in the order of its `locale` setting
        name = collation(station.settings.locale if station is not None else None)
        keys = sorted(self.entries, key=lambda k: (order.get(self.entries[k][0], 0), name(self.entries[k][1]), k))
        self.namesakes = shared_names(entry[1] for entry in self.entries.values())
        self.query_one(FastTable).set_rows([(k, self.cells(k)) for k in keys])

    def cells(self, key: str) -> tuple[Cell, ...]:
        first, *rest = self.entries[key][2]
        return (told_apart(cell_text(first), key, self.namesakes), *rest)

    def show_counts(self, session: Session, c: Counts) -> None:
        state = "running" if session.ended_at is None else f"ended {clock_of(session.ended_at, session.started_at)}"
        if session.voided:
            state = f"[$error]VOIDED[/]: {escape(session.void_reason or 'no reason given')}; {state}"
        self.query_one("#session-counts", Static).update(
            f"[b]{escape(session.name)}[/] ({state}, {escape(session.audience)})\n"
            f"[$success]present {c.present}[/]  [$warning]late {c.late}[/]  [$error]absent {c.absent}[/]",
            layout=False)  # a fixed size: repainted, the screen's layout stays

    def update_person(self, row: RosterRow, counts: Counts | None) -> None:
        """A check-in in the running session: one row and the counts, not the whole list."""
        if self.summary is None or self.summary.session.ended_at is not None or counts is None:
            return
        self.entries[row.id] = self.line(row.name, row.status, row.time, row.note or ("camera" if row.time else ""))
        self.query_one(FastTable).put(row.id, self.cells(row.id))
        self.show_counts(self.summary.session, counts)


def shared_names(names: Iterable[str]) -> frozenset[str]:
    """The names more than one person has."""
    return frozenset(name for name, count in Counter(names).items() if count > 1)


def told_apart(name: str, person_id: str, namesakes: frozenset[str]) -> str:
    """A name as a list shows it: with the person's id where someone else has it too."""
    return f"{name} ({person_id})" if name in namesakes else name
