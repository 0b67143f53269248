"""Work mode: one person's days over a period, and a day's in or out corrected by hand (with a reason)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Static

from faceattend_tui.station import printable
from faceattend_tui.tui.screens.base import Access, Dialog, RowTable, Secret, Submit, buttons, parse_day, pin_fields
from faceattend_tui.tui.screens.detail import DetailScreen

if TYPE_CHECKING:
    from faceattend_tui.station import DayHours


@dataclass(frozen=True)
class CorrectRequest:
    day: date
    came: str | None  # HH:MM on the station's clock; None: kept
    left: str | None
    reason: str
    clear: bool  # take the day's correction back instead
    pin: Secret
    shown: str = ""  # the correction taken back, as it was shown: refused if another door changed it since


def clock_text(when: datetime | None, day: date, zone: tzinfo | None) -> str:
    """A time of the working day; "+1d" when it falls the next morning (a night shift)."""
    if when is None:
        return ""
    local = when.astimezone(zone)
    later = (local.date() - day).days
    return f"{local:%H:%M}" + (f" +{later}d" if later > 0 else "")


def ends(line: DayHours, zone: tzinfo | None) -> tuple[str, str]:
    """A day's in and out as shown ("still in" while no out)."""
    out = clock_text(line.out, line.day, zone) if line.out else "still in"
    return clock_text(line.came, line.day, zone), out


class CorrectScreen(Dialog[CorrectRequest]):
    """Set a day's in and/or out (an end left empty stays as it is), or take the day's correction back."""

    OK = "Correct"

    def __init__(self, name: str, day: date, access: Access, submit: Submit[CorrectRequest] | None = None,
                 clear: bool = False, seen: str = "") -> None:
        super().__init__(access, submit)
        self.person, self.day, self.clear, self.seen = name, day, clear, seen
        if clear:
            self.OK = "Take back"

    def title_text(self) -> str:
        if self.clear:
            shown = f" ({printable(self.seen)})" if self.seen else ""
            return (f"Take back the correction of {self.person} on {self.day}{shown}: the day as the doors saw it, "
                    "or as an earlier correction set it")
        return f"Correct the hours of {self.person}"

    def body(self) -> ComposeResult:
        if not self.clear:
            yield Static("the working day, and when they came and left (HH:MM; an end left empty stays as it is; "
                         "before the day change: the next morning):")
            with Horizontal(classes="fields"):
                yield Input(str(self.day), placeholder="day YYYY-MM-DD", id="day")
                yield Input(placeholder="in HH:MM", id="in")
                yield Input(placeholder="out HH:MM", id="out")
            if self.seen:
                yield Static(Text(self.seen, style="dim"), id="seen")
        yield Input(placeholder="reason (required)", id="reason")
        yield from pin_fields(self.access)

    def foot(self) -> ComposeResult:
        yield buttons(self.OK)

    @on(Input.Changed, "#day")
    def day_changed(self, event: Input.Changed) -> None:
        """The line of how the day stands is about the day chosen in the list: hidden once another is typed."""
        for seen in self.query("#seen"):
            seen.display = event.value.strip() == str(self.day)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        if self.working:
            return
        try:
            day = self.day if self.clear else parse_day(self.query_one("#day", Input).value)
        except ValueError:
            day = None
        if day is None:
            self.error("the day as YYYY-MM-DD")
            return
        came, left = (None, None) if self.clear else (self._clock("in"), self._clock("out"))
        if not self.clear and came is None and left is None:
            self.error("give the time they came in, left, or both")
            return
        reason = self.required("reason", "a reason is required: whoever pays these hours reads it")
        if reason is not None:
            shown = self.seen if self.clear else ""
            self.finish(CorrectRequest(day, came, left, reason, self.clear, self.pin(), shown))

    def _clock(self, field: str) -> str | None:
        return self.query_one(f"#{field}", Input).value.strip() or None


class DaysScreen(Dialog[bool]):
    """A person's days over a period (in, out, hours, what to check, who corrected it); c corrects a
    day, u takes a correction back. Closes with True when something was corrected."""

    BINDINGS = [Binding("escape", "cancel", "Close"), Binding("enter", "show", "In full"),
                Binding("c", "correct", "Correct"), Binding("u", "take_back", "Take back")]
    NEEDS_DATA = True
    WIDE = True

    def __init__(self, name: str, period: tuple[date, date], load: Callable[[], list[DayHours]],
                 zone: tzinfo | None, access: Callable[[], Access], correct: Submit[CorrectRequest]) -> None:
        super().__init__()
        self.person, self.period, self.load, self.zone = name, period, load, zone
        self.current_access, self.correct_with = access, correct
        self.days: list[DayHours] = []
        self.changed = False

    def title_text(self) -> str:
        start, end = self.period
        return f"Hours of {self.person}, {start} to {end} (enter: in full · c: correct · u: take back · esc: close)"

    def body(self) -> ComposeResult:
        table: DataTable[Text] = RowTable(id="days", cursor_type="row", zebra_stripes=True)
        table.add_columns("Day", "In", "Out", "Hours", "Check", "Corrected")
        yield table
        yield Static("", id="days-note")

    def foot(self) -> ComposeResult:
        yield Horizontal(Button("Correct", variant="primary", id="correct"), Button("Take back", id="take-back"),
                         Button("Close", id="cancel"), classes="buttons")

    def start_reading(self) -> None:
        super().start_reading()
        self.read(self.load, self.show_days, "the days")

    def show_days(self, days: list[DayHours]) -> None:
        self.days = days
        table = self.query_one("#days", DataTable)
        selected = self._selected()
        table.clear()
        for line in days:
            cells = (str(line.day), *ends(line, self.zone), f"{line.hours:.2f}", printable(line.check),
                     printable(line.corrected))
            table.add_row(*(Text(c, style="bold yellow" if line.check and n == 4 else "") for n, c in enumerate(cells)),
                          key=str(line.day))
        if selected is not None and str(selected.day) in table.rows:
            table.move_cursor(row=table.get_row_index(str(selected.day)))
        elif days:  # the newest day first: the one most often checked
            table.move_cursor(row=len(days) - 1)
        if not days:
            self.note("nobody saw them in this period; c corrects a day all the same (camera off, another door)")

    def _selected(self) -> DayHours | None:
        table = self.query_one("#days", DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next((d for d in self.days if str(d.day) == key), None)

    @on(Button.Pressed, "#correct")
    def action_correct(self) -> None:
        if self.still_reading():
            return
        line = self._selected()
        day = line.day if line is not None else self.period[1]
        seen = ""
        if line is not None:
            came, out = ends(line, self.zone)
            seen = f"{line.day} as it stands: in {came}, out {out}"
        screen = CorrectScreen(self.person, day, self.current_access(), self.correct_with, seen=seen)
        self.app.push_screen(screen, self.corrected)

    @on(Button.Pressed, "#take-back")
    def action_take_back(self) -> None:
        if self.still_reading():
            return
        line = self._selected()
        if line is None or not line.corrected:
            self.error("highlight a corrected day first")
            return
        screen = CorrectScreen(self.person, line.day, self.current_access(), self.correct_with, clear=True,
                               seen=line.corrected)
        self.app.push_screen(screen, self.corrected)

    @on(DataTable.RowSelected, "#days")
    def action_show(self) -> None:
        """The highlighted day in full: what to check and who corrected it and why (cut short in the list)."""
        line = self._selected()
        if line is None:
            return
        came, out = ends(line, self.zone)
        lines = [("in", came), ("out", out), ("hours", f"{line.hours:.2f}"),
                 ("check", printable(line.check) or "nothing odd"), ("corrected", printable(line.corrected) or "no")]
        self.open_over(DetailScreen(f"{self.person} on {line.day}", lines))

    def corrected(self, request: CorrectRequest | None) -> None:
        self.read(self.load, self.show_days, "the days")  # as they are now, whatever another door did meanwhile
        if request is None:
            return
        self.changed = True
        self.note(f"{request.day}: " + ("correction taken back" if request.clear else "corrected (audited)"))

    def note(self, text: str) -> None:
        self.error("")
        self.query_one("#days-note", Static).update(Text(text, style="bold"))

    def action_cancel(self) -> None:
        if not self.working:
            self.dismiss(self.changed)
