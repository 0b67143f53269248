"""The attendance report: a chart per session and the people below a chosen rate."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Select, Static
from textual_plotext import PlotextPlot

from faceattend_tui.station import Report, chart_bars
from faceattend_tui.text import plural
from faceattend_tui.tui.fasttable import shortened
from faceattend_tui.tui.screens.base import EVERYONE, Dialog, RowTable, group_select, parse_day

LIST_NAME = 30  # screen columns of a name in the lists: the numbers after it stay in view

Built = tuple[Report, float, list[dict] | None]  # a report, its rate, the hours (work mode)
DaysOf = Callable[[str, str, tuple[date, date], str | None], Dialog[bool]]  # a person's days (id, name, period,
# group: those their line counts), work mode


class ReportScreen(Dialog[None]):
    """Attendance over a date range: a chart per session and the people below a chosen rate.
    The groups and the report are read in threads (`read`): the dialog opens at once."""

    BINDINGS = [Binding("escape", "cancel", "Close")]

    def __init__(self, build: Callable[[date, date, str | None], Report], groups: Callable[[], list[str]],
                 today: date, hours: Callable[[date, date, str | None], list[dict]] | None = None,
                 days_of: DaysOf | None = None) -> None:
        super().__init__()
        self.build, self.today, self.hours, self.days_of = build, today, hours, days_of  # work mode only
        self.read_groups = groups
        self.asked_group: object = None  # the group of the latest report asked for
        self.period = (today - timedelta(days=30), today)  # of the latest report asked for
        self.group: str | None = None  # of the latest report asked for (None: everyone)
        self.chosen: str | None = None  # the person whose days were opened last (work mode)

    WIDE = True

    def title_text(self) -> str:
        return "Attendance report (enter: update, esc: close)"

    def body(self) -> ComposeResult:
        yield Static("from, to, and the rate (%) under which people are listed:")
        with Horizontal(classes="fields"):
            yield Input(str(self.today - timedelta(days=30)), placeholder="from YYYY-MM-DD", id="from")
            yield Input(str(self.today), placeholder="to YYYY-MM-DD", id="to")
            yield Input("80", placeholder="rate %", id="rate")
        yield group_select()
        yield Static("", id="below-title")  # the list first: on a small terminal the chart scrolls, not the names
        table: DataTable[str] = RowTable(id="below", cursor_type="row", zebra_stripes=True)
        table.add_columns("Id", "Name", "Expected", "Came", "Rate")
        yield table
        if self.hours is not None:
            yield Static("", id="hours-title")
            hours: DataTable[str] = RowTable(id="hours", cursor_type="row", zebra_stripes=True)
            hours.add_columns("Id", "Name", "Days", "Hours", "To check", "Corrected")
            yield hours
        yield PlotextPlot(id="chart")

    def foot(self) -> ComposeResult:
        yield Horizontal(Button("Close", id="cancel"), classes="buttons")

    def start_reading(self) -> None:
        super().start_reading()
        self.read(self.read_groups, self.show_groups, "the groups")
        self.update_report()

    @on(Select.Changed)
    def group_changed(self) -> None:
        """A new group: a new report (the list fires this when drawn and when its groups arrive, unchanged)."""
        if self.query_one("#group", Select).value != self.asked_group:
            self.update_report()

    @on(Input.Submitted)
    def update_report(self) -> None:
        try:
            start = parse_day(self.query_one("#from", Input).value) or self.today - timedelta(days=30)
            end = parse_day(self.query_one("#to", Input).value) or self.today
            rate = float(self.query_one("#rate", Input).value.replace("%", "").strip() or 80) / 100
            if not 0 <= rate <= 1:
                raise ValueError(rate)
        except ValueError:
            self.error("dates as YYYY-MM-DD, the rate as a percentage from 0 to 100")
            self.clear_shown()
            return
        if start > end:
            self.error(f"the period ends ({end}) before it begins ({start})")
            self.clear_shown()
            return
        value = self.asked_group = self.query_one("#group", Select).value
        group = None if value == EVERYONE else str(value)
        self.period, self.group = (start, end), group
        self.read(partial(self.build_report, start, end, group, rate), self.show_report, "the report")

    def clear_shown(self) -> None:
        """The lists shown were for the values before: they go, not to be read as the new period's."""
        self.query_one("#below-title", Static).update("")
        self.query_one("#below", DataTable).clear()
        if self.hours is not None:
            self.query_one("#hours-title", Static).update("")
            self.query_one("#hours", DataTable).clear()

    def build_report(self, start: date, end: date, group: str | None, rate: float) -> Built:
        """In a thread: the report, the rate it lists people under and, in work mode, the hours."""
        return self.build(start, end, group), rate, None if self.hours is None else self.hours(start, end, group)

    def show_report(self, built: Built) -> None:
        report, rate, hours = built
        self.show(report, rate)
        if hours is not None:
            self.show_hours(hours)

    def show_hours(self, people: list[dict]) -> None:
        """Work mode: the days each person was seen and their hours over the period."""
        checks = sum(entry["to_check"] for entry in people)
        hint = f"; {plural(checks, 'day')} to check" if checks else ""
        hint += "; enter: a person's days, to check or correct them" if self.days_of is not None else ""
        seen = plural(sum(1 for entry in people if entry["days"]), "person", "people")
        start, end = self.period
        self.query_one("#hours-title", Static).update(f"hours from {start} to {end} ({seen} seen{hint})")
        table = self.query_one("#hours", DataTable)
        chosen = self.chosen  # the person whose days were just looked at keeps the cursor
        table.clear()
        for entry in people:
            name = shortened(entry["name"], LIST_NAME) + (" (left)" if entry.get("left") else "")
            table.add_row(entry["id"], name, str(entry["days"]), f"{entry['hours']:.2f}",
                          str(entry["to_check"] or ""), str(entry["corrected"] or ""), key=entry["id"])
        if chosen is not None and chosen in table.rows:
            table.move_cursor(row=table.get_row_index(chosen))

    @on(DataTable.RowSelected, "#hours")
    def open_days(self, selected: DataTable.RowSelected) -> None:
        """A person's days over the report's period, to look at what to check and correct it."""
        person_id = selected.row_key.value
        if self.days_of is None or person_id is None:
            return
        name = str(selected.data_table.get_row(selected.row_key)[1])
        self.chosen = person_id
        self.open_over(self.days_of(person_id, name, self.period, self.group), self.days_closed)

    def days_closed(self, changed: bool | None) -> None:
        if changed:
            self.update_report()

    def show(self, report: Report, rate: float) -> None:
        plot = self.query_one("#chart", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        # a year of sessions: by week, not a solid block; days on the report's clock (the timezone setting)
        labels, rates, unit = chart_bars(report.sessions, zone=report.zone)
        if rates:
            plt.bar(labels, rates)
        unrated = sum(1 for line in report.sessions if not line.counts.total)  # everyone excused: no bar
        note = f"; {unrated} with nobody expected, not drawn" if unrated else ""
        note += f"; {len(report.running)} still running, not counted" if report.running else ""
        plt.title(f"attended, % per {unit} ({plural(len(report.sessions), 'session')}{note})")
        plt.ylim(0, 100)
        plot.refresh()
        below = report.below(rate)
        self.query_one("#below-title", Static).update(f"{plural(len(below), 'person', 'people')} below {rate:.0%}")
        table = self.query_one("#below", DataTable)
        table.clear()
        for line in below:
            table.add_row(line.person.id, shortened(line.person.name, LIST_NAME), str(line.counts.total),
                          str(line.counts.attended), floor_percent(line.rate))


def floor_percent(rate: float | None) -> str:
    """A rate in the list of those below a rate, rounded down: 79.5 % is 79 %, never "80 %" below 80 %."""
    return "-" if rate is None else f"{math.floor(rate * 100 + 1e-9)}%"
