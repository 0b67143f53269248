"""The timetable screen: the weekly slots in which sessions open by themselves, and the days off.

Every change (a slot added or removed, a day off added or removed) is saved at once through the
station, which asks for an admin's PIN and refuses slots that overlap: the dialog that made the change
stays open with the station's words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, Input, Select, Static

from faceattend_tui.station import Slot, check_text, parse_clock, parse_weekday, printable
from faceattend_tui.tui.fasttable import shortened
from faceattend_tui.tui.screens.base import (
    EVERYONE,
    Access,
    Dialog,
    RowTable,
    Secret,
    Submit,
    group_options,
    parse_minutes,
    pin_fields,
)
from faceattend_tui.tui.screens.confirm import Confirmed, ConfirmScreen


@dataclass(frozen=True)
class TimetableSave:
    """What the station is asked to keep: every slot and every day off, as they are to be, and the
    timetable shown when staff changed it (their change is made to the timetable as it is by then)."""

    slots: list[Slot]
    holidays: dict[str, str]
    pin: Secret
    shown: tuple[list[Slot], dict[str, str]]


@dataclass(frozen=True)
class SlotRequest:
    slot: Slot
    pin: Secret


@dataclass(frozen=True)
class DayOffRequest:
    day: str  # YYYY-MM-DD
    reason: str
    pin: Secret


def slot_time(slot: Slot) -> str:
    return slot.hours


def minutes_text(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:g} min"


def slot_line(slot: Slot) -> str:
    return f"{slot.day_name} {slot_time(slot)} {slot.name}"


def read_slot(name: str, group: str | None, weekday: str, start: str, end: str, late: str, station: str) -> Slot:
    """A slot from what staff typed; ValueError with the words to show for the first bad field."""
    name = check_text(" ".join(name.split()), "the session name")
    if not name:
        raise ValueError("a slot needs a session name")
    day = parse_weekday(weekday)
    begins, ends = parse_clock(start, "start"), parse_clock(end, "end", end=True)
    if ends <= begins:
        raise ValueError(f"the end {end.strip()} is not after the start {start.strip()}")
    try:
        late_after = parse_minutes(late)
    except ValueError:
        raise ValueError("late after: 0 to 1440 minutes (or empty: nobody is late)") from None
    where = check_text(station.strip(), "the station") or None
    return Slot(name, group or None, day, begins, ends, late_after, where)


class SlotScreen(Dialog[SlotRequest]):
    """A new weekly slot: name, who it is for, the weekday, start and end, late after, which station."""

    OK = "Add"

    def __init__(self, access: Access, groups: list[str], submit: Submit[SlotRequest] | None = None) -> None:
        super().__init__(access, submit)
        self.groups = groups

    def title_text(self) -> str:
        return "Add a weekly slot"

    def body(self) -> ComposeResult:
        yield Input(placeholder="session name, e.g. Physics 101", id="slot-name")
        with Horizontal(classes="fields"):
            yield Input(placeholder="weekday Mon..Sun", id="slot-weekday")
            yield Input(placeholder="start HH:MM", id="slot-start")
            yield Input(placeholder="end HH:MM", id="slot-end")
        with Horizontal(classes="fields"):
            yield Input(placeholder="late after N min (optional)", id="slot-late")
            yield Input(placeholder="station (empty: any)", id="slot-station")
        yield Static("for (enter opens the list of groups):", classes="label")
        yield Select(group_options(self.groups), value=EVERYONE, allow_blank=False, id="slot-group", prompt="for")
        yield from pin_fields(self.access)

    def value(self, field: str) -> str:
        return self.query_one(f"#slot-{field}", Input).value

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        group = self.query_one("#slot-group", Select).value
        try:
            slot = read_slot(self.value("name"), None if group == EVERYONE else str(group), self.value("weekday"),
                             self.value("start"), self.value("end"), self.value("late"), self.value("station"))
        except ValueError as exc:
            self.error(str(exc))
            return
        self.finish(SlotRequest(slot, self.pin()))


class DayOffScreen(Dialog[DayOffRequest]):
    """A day on which no slot opens: a date and why."""

    OK = "Add"

    def title_text(self) -> str:
        return "Add a day off (no slot opens that day)"

    def body(self) -> ComposeResult:
        yield Input(placeholder="date YYYY-MM-DD", id="day")
        yield Input(placeholder="why, e.g. Easter Monday (optional)", id="day-reason")
        yield from pin_fields(self.access)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def submit(self) -> None:
        text = self.query_one("#day", Input).value.strip()
        try:
            day = date.fromisoformat(text)
        except ValueError:
            self.error(f"day off {text!r} is not a date as YYYY-MM-DD")
            return
        try:
            reason = check_text(" ".join(self.query_one("#day-reason", Input).value.split()), "the reason")
        except ValueError as exc:
            self.error(str(exc))
            return
        self.finish(DayOffRequest(day.isoformat(), reason, self.pin()))


class TimetableScreen(Dialog[None]):
    """The weekly slots and the days off; a adds a slot, o a day off, d removes the selected row.
    The timetable (and the groups) are read in threads from `load` and `groups` once open, and again
    after a change: meanwhile the buttons and keys wait (a change saves the whole timetable)."""

    BINDINGS = [Binding("escape", "cancel", "Close"), Binding("a", "add_slot", "Add slot"),
                Binding("o", "add_day_off", "Add day off"), Binding("d", "remove", "Remove"),
                Binding("delete", "remove", "Remove", show=False)]
    WIDE = True
    NEEDS_DATA = True

    def __init__(self, load: Callable[[], tuple[list[Slot], dict[str, str]]], save: Submit[TimetableSave],
                 access: Callable[[], Access], groups: Callable[[], list[str]]) -> None:
        super().__init__()
        self.load, self.save, self.current_access, self.read_groups = load, save, access, groups
        self.slots: list[Slot] = []
        self.holidays: dict[str, str] = {}
        self.groups: list[str] = []
        self.select: str | None = None  # the key of a row to put the cursor on once read

    def title_text(self) -> str:
        return "Timetable (a: add slot · o: add day off · d: remove selected · esc: close)"

    def body(self) -> ComposeResult:
        yield Static("", id="slots-title", classes="label")
        slots: DataTable[str | Text] = RowTable(id="slots", cursor_type="row", zebra_stripes=True)
        slots.add_columns("Day", "Time", "Name", "For", "Late", "Station")  # in view at 80 columns
        yield slots
        yield Static("", id="days-off-title", classes="label")
        days: DataTable[str | Text] = RowTable(id="days-off", cursor_type="row", zebra_stripes=True)
        days.add_columns("Date", "Day", "Why")
        yield days
        yield Static("", id="timetable-note")

    def foot(self) -> ComposeResult:
        yield Horizontal(Button("Add slot", variant="primary", id="add-slot"), Button("Add day off", id="add-day"),
                         Button("Remove", id="remove"), Button("Close", id="cancel"), classes="buttons")

    def start_reading(self) -> None:
        super().start_reading()
        self.show()
        self.read(self.read_groups, self.show_groups, "the groups")

    def show_groups(self, groups: list[str]) -> None:
        self.groups = groups

    def show(self, select: str | None = None) -> None:
        """Read the timetable as the station has it now (in a thread), then show it with the cursor on
        the row whose key is `select`."""
        self.select = select
        self.read(self.load, self.show_timetable, "the timetable")

    def show_timetable(self, timetable: tuple[list[Slot], dict[str, str]]) -> None:
        self.slots, self.holidays = timetable
        table = self.query_one("#slots", DataTable)
        table.clear()
        for slot in self.slots:
            table.add_row(slot.day_name, slot_time(slot), Text(shortened(printable(slot.name), 18)),
                          Text(shortened(printable(slot.group or "everyone"), 12)), minutes_text(slot.late_after),
                          Text(shortened(printable(slot.station or "any"), 10)), key=slot.key)
        count = len(self.slots)
        self.query_one("#slots-title", Static).update(
            f"Weekly slots: {count}" if count else "Weekly slots: none yet (a: add one)")
        days = self.query_one("#days-off", DataTable)
        days.clear()
        for day in sorted(self.holidays):
            weekday = date.fromisoformat(day).strftime("%a") if _is_day(day) else ""
            days.add_row(day, weekday, Text(printable(self.holidays[day] or "-")), key=day)
        self.query_one("#days-off-title", Static).update(
            f"Days off: {len(self.holidays)}" if self.holidays else "Days off: none (o: add one)")
        for name in ("#slots", "#days-off"):
            found = self.query_one(name, DataTable)
            if self.select is not None and self.select in found.rows:
                found.move_cursor(row=found.get_row_index(self.select))

    def change(self, slots: list[Slot], holidays: dict[str, str], pin: Secret) -> TimetableSave:
        """The timetable as staff want it, with the one on the screen they changed."""
        return TimetableSave(slots, holidays, pin, shown=(list(self.slots), dict(self.holidays)))

    def note(self, text: str) -> None:
        self.error("")
        self.query_one("#timetable-note", Static).update(Text(text, style="bold"))

    @on(Button.Pressed, "#add-slot")
    def action_add_slot(self) -> None:
        if self.still_reading():
            return

        def submit(request: SlotRequest) -> Slot:
            self.save(self.change([*self.slots, request.slot], dict(self.holidays), request.pin))
            return request.slot

        self.app.push_screen(SlotScreen(self.current_access(), self.groups, submit), self.slot_added)

    def slot_added(self, slot: Slot | None) -> None:
        if slot is not None:
            self.show(select=slot.key)
            self.query_one("#slots", DataTable).focus()
            self.note(f"added {slot_line(slot)}")

    @on(Button.Pressed, "#add-day")
    def action_add_day_off(self) -> None:
        if self.still_reading():
            return

        def submit(request: DayOffRequest) -> str:
            self.save(self.change(list(self.slots), {**self.holidays, request.day: request.reason}, request.pin))
            return request.day

        self.app.push_screen(DayOffScreen(self.current_access(), submit), self.day_added)

    def day_added(self, day: str | None) -> None:
        if day is not None:
            self.show(select=day)
            self.query_one("#days-off", DataTable).focus()
            self.note(f"day off {day} added: no slot opens that day")

    @on(Button.Pressed, "#remove")
    def action_remove(self) -> None:
        if self.still_reading():
            return
        days = self.query_one("#days-off", DataTable)
        if days.has_focus and days.row_count:
            self.remove_day(str(days.coordinate_to_cell_key(days.cursor_coordinate).row_key.value))
            return
        table = self.query_one("#slots", DataTable)
        if not table.row_count:
            self.error("no slot to remove" if not days.row_count else "no slot to remove; tab to the days off first")
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        slot = next(s for s in self.slots if s.key == key)

        def submit(request: Confirmed) -> Slot:
            self.save(self.change([s for s in self.slots if s.key != key], dict(self.holidays), request.pin))
            return slot

        question = f"Remove the slot {slot_line(slot)}?"
        self.app.push_screen(ConfirmScreen(question, self.current_access(), submit, ok="Remove"), self.slot_removed)

    def slot_removed(self, slot: Slot | None) -> None:
        if slot is not None:
            self.show()
            self.note(f"removed {slot_line(slot)}")

    def remove_day(self, day: str) -> None:
        def submit(request: Confirmed) -> str:
            self.save(self.change(list(self.slots), {d: r for d, r in self.holidays.items() if d != day},
                                  request.pin))
            return day

        question = f"Remove the day off {day}? Slots open that day again."
        self.app.push_screen(ConfirmScreen(question, self.current_access(), submit, ok="Remove"), self.day_removed)

    def day_removed(self, day: str | None) -> None:
        if day is not None:
            self.show()
            self.note(f"day off {day} removed")


def _is_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
