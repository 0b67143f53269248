"""Timetables: the weekly slots in which sessions open and close by themselves, and the days to skip.

A slot is a weekday with a start and an end on the station's clock (the `timezone` setting); on a
day when the clocks change, the wall-clock times still hold (08:00 stays 08:00). Slots live in the
log's settings, so every door of a shared database keeps the same timetable. Only one session runs
in a log at a time, so slots that overlap are refused when they are imported.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from faceattend_tui.errors import FaceattendError, InputError, RecordsError
from faceattend_tui.text import header_delimiter, same, spreadsheet_text

from .common import MAX_LATE_MINUTES, checked_late_after, minutes_until
from .models import check_text, visible
from .store import EndedElsewhere

if TYPE_CHECKING:
    from .models import Session
    from .security import Names
    from .sessions import Attendance
    from .store import Store

SLOTS_SETTING = "timetable"  # [slot doc, ...]
HOLIDAYS_SETTING = "timetable_holidays"  # {"YYYY-MM-DD": "why", ...}
OPENED_SETTING = "timetable_opened"  # {occurrence key: session id}: a slot opens once a day, even if stopped
COLUMNS = ("name", "group", "weekday", "start", "end", "late_after")
MAX_FILE = 4 * 1024 * 1024  # a timetable or holiday file larger than this is not one
END_OF_DAY = time.max  # an end written 24:00
CLOCK = re.compile(r"(?P<h>\d{1,2})[:.h](?P<m>\d{2})(?::00)?", re.IGNORECASE | re.ASCII)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class TimetableError(RecordsError, ValueError):
    """A timetable or holiday file that cannot be taken, with the line of each problem."""


@dataclass(frozen=True)
class Slot:
    name: str
    group: str | None  # None: everyone
    weekday: int  # 1 = Monday ... 7 = Sunday
    start: time
    end: time
    late_after: float | None = None  # minutes after the start
    station: str | None = None  # None: any station

    @property
    def key(self) -> str:
        """A short stable id: the same row gives the same key in every import."""
        text = "|".join(str(v) for v in (self.name, self.group, self.weekday, self.start, self.end, self.station))
        return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]

    @property
    def hours(self) -> str:
        """"08:00-09:00"; a slot to the end of the day ends at "24:00"."""
        return f"{clock_text(self.start)}-{clock_text(self.end)}"

    @property
    def day_name(self) -> str:
        return WEEKDAYS[self.weekday - 1].capitalize()

    def to_doc(self) -> dict:
        return {"name": self.name, "group": self.group, "weekday": self.weekday, "start": clock_text(self.start),
                "end": clock_text(self.end), "late_after": self.late_after, "station": self.station}

    @classmethod
    def from_doc(cls, doc: dict) -> Slot:
        end = END_OF_DAY if doc["end"] == "24:00" else time.fromisoformat(doc["end"])
        group = " ".join(visible(str(doc.get("group") or "")).split()) or None  # as a person's group
        return cls(str(doc["name"]), group, int(doc["weekday"]), time.fromisoformat(doc["start"]), end,
                   _opt_float(doc.get("late_after")), doc.get("station") or None)

    def occurrence(self, day: date, zone: tzinfo | None) -> tuple[datetime, datetime]:
        """The slot's start and end on `day`, as aware times (wall clock in `zone`)."""
        return at_wall_clock(day, self.start, zone), at_wall_clock(day, self.end, zone)

    def late_from(self, opened: datetime, zone: tzinfo | None) -> datetime | None:
        """When someone becomes late at a session of this slot opened at `opened` (None: nobody is)."""
        if self.late_after is None:
            return None
        start, _ = self.occurrence(opened.astimezone(zone).date(), zone)
        # real minutes, not the wall clock's, on a DST night
        return start.astimezone(timezone.utc) + timedelta(minutes=min(self.late_after, MAX_LATE_MINUTES))

    def late_after_from(self, opened: datetime, zone: tzinfo | None) -> float | None:
        """Late-after minutes for a session opened at `opened`, so lateness still counts from the slot's start."""
        return minutes_until(self.late_from(opened, zone), opened)


def clock_text(clock: time) -> str:
    return "24:00" if clock == END_OF_DAY else f"{clock:%H:%M}"


def at_wall_clock(day: date, clock: time, zone: tzinfo | None) -> datetime:
    """A wall-clock time on a day (`zone` None: this machine's); one the clocks jump over that day (02:30
    when they go from 02:00 to 03:00) is the moment the jump ends, 03:00, on either kind of clock."""
    naive = datetime.combine(day, clock)
    moment = naive.astimezone() if zone is None else _wall_to_moment(naive, zone)
    if _wall(moment, zone) == naive:
        return moment
    probe = moment.astimezone(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=3)
    while _wall(probe, zone) < naive:  # minute by minute, at most a few hours: only on such a night
        probe += timedelta(minutes=1)
    return probe.astimezone(zone)


def _wall_to_moment(naive: datetime, zone: tzinfo) -> datetime:
    """Through UTC: a zone's own astimezone would hand back a time that does not exist unchanged."""
    return naive.replace(tzinfo=zone).astimezone(timezone.utc).astimezone(zone)


def _wall(moment: datetime, zone: tzinfo | None) -> datetime:
    return moment.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None)


def _opt_float(value: Any) -> float | None:
    return None if value in (None, "") else float(value)


# ----- reading the CSV files -------------------------------------------------------------------


UNREADABLE_CELL = "a cell that cannot be read (a quote never closed, text after a closing quote, or over 128 KiB)"


def read_slots(text: str, source: str = "timetable") -> list[Slot]:
    """Slots from CSV text (name,group,weekday,start,end,late_after[,station]); every problem named by line."""
    text = text.lstrip("\ufeff")
    skipped = len(text) - len(text.lstrip("\r\n"))
    blank = text[:skipped].count("\n")  # blank lines above the header
    delimiter = header_delimiter(text, COLUMNS)
    reader = csv.DictReader(io.StringIO(text.lstrip("\r\n"), newline=""), delimiter=delimiter, strict=True)
    try:
        named = [h.strip().lower() for h in (reader.fieldnames or []) if isinstance(h, str)]
    except csv.Error as exc:
        raise TimetableError(f"{source} line {1 + blank}: {UNREADABLE_CELL} ({exc})") from None
    header = set(named)
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise TimetableError(f"{source}: the first line must name the columns {', '.join(COLUMNS)} "
                             f"(and optionally station), separated by commas, semicolons or tabs; missing: "
                             f"{', '.join(missing)}")
    twice = sorted({h for h in named if h and named.count(h) > 1})
    if twice:
        raise TimetableError(f"{source}: the first line names {', '.join(twice)} twice")
    numbered: list[tuple[int, Slot]] = []
    problems: list[str] = []
    number = 1 + blank
    try:
        for row in reader:
            number = reader.line_num + blank  # the file's own line, blank ones counted
            cells = {k.strip().lower(): (v or "").strip() for k, v in row.items() if isinstance(k, str)}
            if None in row and any(v.strip() for v in row[None] if isinstance(v, str)):
                problems.append(f"{source} line {number}: more cells than the first line has columns")
                continue
            if not any(cells.values()):
                continue
            try:
                numbered.append((number, _slot(cells)))
            except ValueError as exc:
                problems.append(f"{source} line {number}: {exc}")
    except csv.Error as exc:
        problems.append(f"{source} line {number + 1}: {UNREADABLE_CELL} ({exc})")
    problems += overlaps(numbered, source)
    if problems:
        raise TimetableError("\n".join(problems))
    return [slot for _, slot in numbered]


def _slot(cells: dict[str, str]) -> Slot:
    name = check_text(" ".join(cells["name"].split()), "the session name")
    if not name:
        raise InputError("a slot needs a session name")
    start, end = parse_clock(cells["start"], "start"), parse_clock(cells["end"], "end", end=True)
    if end <= start:
        midnight = " (a slot to midnight ends at 24:00)" if end == time(0) else ""
        raise InputError(f"the end {cells['end']} is not after the start {cells['start']}{midnight}")
    late = cells.get("late_after") or ""
    try:
        late_after = float(late) if late else None
    except ValueError:
        raise InputError(f"late_after is minutes, not {late!r}") from None
    late_after = checked_late_after(late_after, "late_after")
    group = check_text(" ".join(visible(cells["group"]).split()), "the group") or None  # as a person's
    station = check_text(cells.get("station") or "", "the station") or None
    return Slot(name, group, parse_weekday(cells["weekday"]), start, end, late_after, station)


def parse_weekday(text: str) -> int:
    """Mon..Sun (any case, or the full English name) or 1-7 (1 = Monday)."""
    word = text.strip().lower()
    if word.isascii() and word.isdigit() and 1 <= int(word) <= 7:
        return int(word)
    for number, (short, full) in enumerate(zip(WEEKDAYS, WEEKDAY_NAMES, strict=True), start=1):
        if word in (short, full):
            return number
    raise InputError(f"weekday {text!r} is not Mon..Sun or 1-7")


def parse_clock(text: str, what: str, *, end: bool = False) -> time:
    """HH:MM or H:MM, with a colon, a dot or an h (8.30 and 8h30 are 08:30); an end may be 24:00, the
    end of the day. Seconds other than :00 and UTC offsets are refused: a slot is a time of day."""
    found = CLOCK.fullmatch(text.strip())
    hours, minutes = (int(found["h"]), int(found["m"])) if found else (-1, -1)
    if end and (hours, minutes) == (24, 0):
        return END_OF_DAY
    if not (0 <= hours <= 23 and 0 <= minutes <= 59):
        raise InputError(f"{what} {text!r} is not a time as HH:MM")
    return time(hours, minutes)


def overlaps(numbered: list[tuple[int, Slot]], source: str | None) -> list[str]:
    """Slots of one weekday whose hours overlap: only one session can run in a log at a time. Named by
    their lines in `source`, or (None: slots typed on the screen) by their names."""
    found: list[tuple[int, str]] = []
    latest: tuple[int, Slot] | None = None  # of the slots so far that day, the one that ends last
    for line, a in sorted(numbered, key=lambda pair: (pair[1].weekday, pair[1].start, pair[0])):
        if latest is not None and latest[1].weekday == a.weekday and a.start < latest[1].end:
            other, b = latest
            where, which = (f"{source} line {line}: ", f"line {other} ") if source else (f"{a.name}, ", "")
            found.append((line, f"{where}{a.day_name} {a.hours} overlaps {which}({b.name} {b.hours}); one session "
                                "runs at a time"))
        if latest is None or latest[1].weekday != a.weekday or a.end > latest[1].end:
            latest = (line, a)
    return [text for _, text in sorted(found)]


def read_holidays(text: str, source: str = "holidays") -> dict[str, str]:
    """Days to skip from CSV text: a date (YYYY-MM-DD) per line, optionally a reason after a comma."""
    days: dict[str, str] = {}
    problems: list[str] = []
    text = text.lstrip("\ufeff")
    after_a_date = re.search(r'^\s*"?\d{4}-\d{2}-\d{2}"?([\t;,])', text, re.MULTILINE)  # a spreadsheet's own
    delimiter = after_a_date.group(1) if after_a_date else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    number = 0
    try:
        for row in reader:
            number = reader.line_num
            _holiday(row, number, source, days, problems)
    except csv.Error as exc:
        problems.append(f"{source} line {number + 1}: {UNREADABLE_CELL} ({exc})")
    if problems:
        raise TimetableError("\n".join(problems))
    return days


def _holiday(row: list[str], number: int, source: str, days: dict[str, str], problems: list[str]) -> None:
    """One line of a holidays file into `days`, or its problem into `problems`."""
    cells = [c.strip() for c in row]
    if not cells or not cells[0] or (number == 1 and cells[0].lower() == "date"):
        return
    try:
        day = date.fromisoformat(cells[0])
    except ValueError:
        problems.append(f"{source} line {number}: {cells[0]!r} is not a date as YYYY-MM-DD")
        return
    if day.isoformat() in days:
        problems.append(f"{source} line {number}: {day} is listed twice")
    if any(cells[2:]):  # "2026-12-24,Christmas, family day": the rest would be dropped
        problems.append(f"{source} line {number}: more cells than a date and its reason (a reason with the "
                        "separator in it goes in quotes)")
        return
    try:
        days[day.isoformat()] = check_text(cells[1] if len(cells) > 1 else "", "the reason")
    except ValueError as exc:
        problems.append(f"{source} line {number}: {exc}")


def read_file(path: Path) -> str:
    from faceattend_tui.files import read_regular

    try:
        return spreadsheet_text(read_regular(path, MAX_FILE))
    except ValueError as exc:
        raise TimetableError(f"{path}: {exc}") from None


# ----- the timetable in the log ------------------------------------------------------------------


def slots_of(store: Store) -> list[Slot]:
    docs = store.get_setting(SLOTS_SETTING) or []
    return sorted((Slot.from_doc(d) for d in docs), key=lambda s: (s.weekday, s.start, s.name))


def holidays_of(store: Store) -> dict[str, str]:
    return dict(store.get_setting(HOLIDAYS_SETTING) or {})


def save_slots(store: Store, slots: list[Slot]) -> None:
    store.set_setting(SLOTS_SETTING, [s.to_doc() for s in slots] or None)


def save_holidays(store: Store, days: dict[str, str]) -> None:
    store.set_setting(HOLIDAYS_SETTING, dict(sorted(days.items())) or None)


Timetable = tuple[list[Slot], dict[str, str]]  # the weekly slots and the days off (date -> why)


def change_timetable(store: Store, shown: Timetable, wanted: Timetable) -> list[Slot]:
    """Staff's change (the timetable they were shown -> the one they want) made to the timetable as it is
    now, each setting read and written with no other change between: what another door or a command
    changed meanwhile stays. Returns the slots; overlapping slots raise InputError, nothing written."""
    gone = [s for s in shown[0] if s not in wanted[0]]
    added = [s for s in wanted[0] if s not in shown[0]]

    def slots_now(docs: list[dict] | None) -> list[dict] | None:
        current = [Slot.from_doc(d) for d in docs or []]
        slots = [s for s in current if s not in gone] + [s for s in added if s not in current]
        problems = overlaps(list(enumerate(slots, start=1)), None)
        if problems:
            raise InputError(problems[0])
        return [s.to_doc() for s in slots] or None

    def days_now(days: dict[str, str] | None) -> dict[str, str] | None:
        kept = {d: why for d, why in (days or {}).items() if d in wanted[1] or d not in shown[1]}
        kept.update({d: why for d, why in wanted[1].items() if shown[1].get(d) != why})
        return dict(sorted(kept.items())) or None

    with store.batch():
        docs = store.update_setting(SLOTS_SETTING, slots_now)
        store.update_setting(HOLIDAYS_SETTING, days_now)
    return [Slot.from_doc(d) for d in docs or []]


def changes(shown: Timetable, wanted: Timetable) -> dict[str, list[str]]:
    """What staff changed, for the audit: the slots added and removed ("Mon 08:00-09:00 Maths, 3A"), the
    days off added (or given another reason) and removed."""
    def line(slot: Slot) -> str:
        return f"{slot.day_name} {slot.hours} {slot.name}" + (f", {slot.group}" if slot.group else "")

    found = {"added": [line(s) for s in wanted[0] if s not in shown[0]],
             "removed": [line(s) for s in shown[0] if s not in wanted[0]],
             "days_off_added": sorted(d for d, why in wanted[1].items() if shown[1].get(d) != why),
             "days_off_removed": sorted(d for d in shown[1] if d not in wanted[1])}
    return {what: items for what, items in found.items() if items}


def scrub_timetable(store: Store, names: Names, token: str) -> None:
    """An erasure: an erased person's names in the slots' names and the days off's reasons become the
    token; a slot renamed keeps the record of the days it already opened (it opens no second session)."""
    slots = slots_of(store)
    renamed = {slot.key: dataclasses.replace(slot, name=names.sub(token, slot.name)) for slot in slots}
    keys = {old: slot.key for old, slot in renamed.items() if slot.key != old}
    if keys:
        save_slots(store, list(renamed.values()))
        store.update_setting(OPENED_SETTING, lambda opened: {
            _rekeyed(key, keys): value for key, value in (opened or {}).items()} or None)
    days = holidays_of(store)
    reasons = {day: names.sub(token, why) for day, why in days.items()}
    if reasons != days:
        save_holidays(store, reasons)


def _rekeyed(occurrence: str, keys: dict[str, str]) -> str:
    slot, _, day = occurrence.partition("@")
    return f"{keys.get(slot, slot)}@{day}"


def due(slots: list[Slot], now: datetime, zone: tzinfo | None, holidays: dict[str, str],
        station: str | None = None) -> tuple[Slot, datetime, datetime] | None:
    """The slot running at `now` for this station, with its start and end today; None on a day off."""
    local = now.astimezone(zone) if zone is not None else now.astimezone()
    day = local.date()
    if day.isoformat() in holidays:
        return None
    for slot in slots:
        if slot.weekday != day.isoweekday() or (slot.station and station and
                                                  slot.station.casefold() != station.casefold()):
            continue
        start, end = slot.occurrence(day, zone)
        if start <= now < end:
            return slot, start, end
    return None


def occurrence_key(slot: Slot, start: datetime) -> str:
    return f"{slot.key}@{start.date().isoformat()}"


# ----- opening and closing sessions on time ------------------------------------------------------

TIMETABLE_ACTOR = "timetable"  # who is recorded for the sessions a timetable opens and closes
KEEP_OPENED_DAYS = 8  # how long a record of an opened slot is kept
CLAIM_STALE = 120  # seconds after which a slot claimed but never recorded as opened is claimed again


def step(attendance: Attendance, now: datetime, zone: tzinfo | None, station: str | None = None) -> str:
    """Open the slot due now, or close the session a slot opened once its end is past; says what it did.

    A slot opens once a day: stopped by hand, it stays stopped. Two doors on one log open it once
    (the first to claim it in the log's settings).
    """
    store = attendance.store
    slots = slots_of(store)
    if not slots:
        return ""
    if attendance.active is not None:
        return _close_if_over(attendance, slots, now, zone, station)
    found = due(slots, now, zone, holidays_of(store), station)
    if found is None:
        return ""
    slot, start, _ = found
    key = occurrence_key(slot, start)
    opened = store.get_setting(OPENED_SETTING) or {}
    if key in opened and not _left_claim(opened[key], now):
        return ""
    sessions = store.sessions()
    held = _slot_session(sessions, slot, start.date(), zone) or _begun_early(sessions, slot, start.date(), zone,
                                                                              opened)
    if held is not None:  # opened this day already (before an edit of the slot, or as a station stopped) and
        store.update_setting(OPENED_SETTING, functools.partial(_record, key, held.id))  # stopped since: stays so
        return ""
    if not _claim(store, key, now):
        return ""
    try:
        session = attendance.start_session(slot.name, late_from=slot.late_from(now, zone), group=slot.group,
                                           user=TIMETABLE_ACTOR)
    except FaceattendError:  # e.g. its group is gone: given back, so a corrected slot opens on the next try
        _forget(store, key)
        raise
    store.update_setting(OPENED_SETTING, functools.partial(_record, key, session.id))
    return f"the timetable opened {slot.name!r} ({slot.hours})"


def held_back(attendance: Attendance, now: datetime, zone: tzinfo | None, station: str | None = None) -> str:
    """What a session staff started by hand keeps from opening: the slot due now, not opened this day
    (a timetable never stops a session it did not open); "" when nothing waits."""
    session, store = attendance.active, attendance.store
    if session is None:  # the usual case at each poll: nothing read
        return ""
    slots = slots_of(store)
    opened = store.get_setting(OPENED_SETTING) or {}
    if not slots or session.id in opened.values():
        return ""
    found = due(slots, now, zone, holidays_of(store), station)
    if found is None or occurrence_key(found[0], found[1]) in opened:
        return ""
    slot = found[0]
    if session.name == slot.name and same_group(session.group, slot.group):
        return ""  # staff began the lesson themselves: it is not held back
    return (f"the timetable's {slot.name!r} ({slot.hours}{', ' + slot.group if slot.group else ''}) is due, but "
            f"{session.name!r}, started by hand, runs: stop it to open {slot.name!r}")


def _edited(slots: list[Slot], session: Session, day: date, zone: tzinfo | None) -> Slot | None:
    """The slot a running session came from, changed since (its end, say): the same name and group that
    day, whose hours hold the session's start (not the morning's lesson of the same name)."""
    for s in slots:
        if s.weekday == day.isoweekday() and s.name == session.name and same_group(s.group, session.group):
            start, end = s.occurrence(day, zone)
            if start <= session.started_at < end:
                return s
    return None


def _another_due(store: Store, slots: list[Slot], now: datetime, zone: tzinfo | None, station: str | None) -> bool:
    """Whether another slot is due now and not opened yet today."""
    found = due(slots, now, zone, holidays_of(store), station)
    return found is not None and occurrence_key(found[0], found[1]) not in (store.get_setting(OPENED_SETTING) or {})


def _claim(store: Store, key: str, now: datetime) -> bool:
    """Take this day's slot for this door; False when it was opened (or claimed) already. A claim left
    by a station stopped while opening it is taken again after CLAIM_STALE seconds."""
    taken: list[str] = []
    oldest = (now - timedelta(days=KEEP_OPENED_DAYS)).date().isoformat()

    def change(opened: dict[str, int] | None) -> dict[str, int]:
        opened = {k: v for k, v in (opened or {}).items() if k.split("@")[-1] >= oldest}
        if key in opened and not _left_claim(opened[key], now):
            taken.append(key)
            return opened
        return {**opened, key: -int(now.timestamp())}  # being opened, since then

    store.update_setting(OPENED_SETTING, change)
    return not taken


def _forget(store: Store, key: str) -> None:
    store.update_setting(OPENED_SETTING, lambda opened: {k: v for k, v in (opened or {}).items() if k != key})


def free_slots_of(store: Store, ids: Iterable[int]) -> list[str]:
    """Give back the slots of these sessions once they are voided: lessons a clock running ahead opened,
    which then open on their real day (a lesson voided otherwise stays so). The slots' keys."""
    ids = set(ids)
    opened = store.get_setting(OPENED_SETTING) or {}
    freed = {key for key, value in opened.items()
             if value in ids and (session := store.session(value)) is not None and session.voided}
    if freed:
        store.update_setting(OPENED_SETTING, lambda now: {k: v for k, v in (now or {}).items() if k not in freed})
    return sorted(freed)


def _still_to_come(store: Store) -> datetime:
    """A session begun after this, on the log's clock, was opened by a clock running ahead."""
    return store.shared_now() + timedelta(minutes=2)


def opened_ahead(store: Store, session: Session) -> bool:
    """Whether a clock running ahead opened this session, as far as a void can tell: its start is still to
    come on the log's clock (voided while the clock ran ahead, it is found as the clock jumps back)."""
    return session.started_at > _still_to_come(store)


def to_come(store: Store) -> list[int]:
    """The voided sessions holding a slot whose start is still to come (a clock ahead opened them, and it was
    put right with the station off): found as a station opens."""
    soon = _still_to_come(store)
    held = [store.session(v) for v in (store.get_setting(OPENED_SETTING) or {}).values() if v > 0]
    return [s.id for s in held if s is not None and s.voided and s.started_at > soon]


def _left_claim(value: int, now: datetime) -> bool:
    """Whether a slot's record is a claim whose station stopped before it recorded the session it opened
    (0: a claim that does not say when it was made)."""
    if value == 0:
        return True
    return value < 0 and now.timestamp() + value >= CLAIM_STALE  # its age, as it holds minus its time


def _slot_session(sessions: list[Session], slot: Slot, day: date, zone: tzinfo | None) -> Session | None:
    """The session opened for this slot on this day (its name and group, begun within its hours)."""
    start, end = slot.occurrence(day, zone)
    return next((s for s in sessions if s.name == slot.name and same_group(s.group, slot.group)
                 and start <= s.started_at < end and not s.voided), None)


def _begun_early(sessions: list[Session], slot: Slot, day: date, zone: tzinfo | None,
                 opened: dict[str, int]) -> Session | None:
    """The lesson staff began by hand a few minutes before the slot, that day, still running at its start:
    once they stop it the timetable opens no second one. Not a session the timetable opened (the first
    hour of a double lesson of the same name)."""
    start, _ = slot.occurrence(day, zone)
    midnight = at_wall_clock(day, time(), zone)
    return next((s for s in sessions if s.name == slot.name and same_group(s.group, slot.group) and not s.voided
                 and midnight <= s.started_at < start and (s.ended_at is None or s.ended_at > start)
                 and s.id not in opened.values()), None)


def same_hour_again(earlier: Session, now: datetime, zone: tzinfo | None) -> datetime | None:
    """The next moment, from `now`, at the wall-clock time `earlier` made people late from (None: it made
    nobody late): a run that goes on into the next day keeps its class's hour."""
    deadline = earlier.late_deadline
    if deadline is None:
        return None
    clock = _wall(deadline, zone).time()
    today = _wall(now, zone).date()
    moment = at_wall_clock(today, clock, zone)
    return moment if moment >= now else at_wall_clock(today + timedelta(days=1), clock, zone)


def same_group(a: str | None, b: str | None) -> bool:
    """A slot's group and its session's: the session holds the spelling the log has ("3A" for a slot's
    "3a"); None or empty is everyone."""
    return (not a and not b) or (bool(a) and bool(b) and same(str(a), str(b)))


def _record(key: str, session_id: int, opened: dict[str, int] | None) -> dict[str, int]:
    return {**(opened or {}), key: session_id}


def _adopted(store: Store, slots: list[Slot], session: Session, zone: tzinfo | None) -> str | None:
    """The claimed slot that the running session is the one of, though the claim does not say so (the
    station stopped between opening it and recording it): recorded now; None when there is none."""
    opened = store.get_setting(OPENED_SETTING) or {}
    for key, value in opened.items():
        if value > 0:
            continue
        slot = next((s for s in slots if key.startswith(s.key + "@")), None)
        day = date.fromisoformat(key.split("@")[1])
        of_slot = slot is not None and _slot_session([session], slot, day, zone) is not None
        # begun as the claim was made, by the timetable: the slot's, though it was edited or removed since
        claimed_then = (slot is None and value < 0 and abs(session.started_at.timestamp() + value) <= CLAIM_STALE
                        and (_edited(slots, session, day, zone) is not None or _opened_by_timetable(store, session)))
        if of_slot or claimed_then:
            store.update_setting(OPENED_SETTING, functools.partial(_record, key, session.id))
            return key
    return None


def _opened_by_timetable(store: Store, session: Session) -> bool:
    """Whether the timetable started this session (its audit says so), not staff by hand."""
    return any(e.action == "session.start" and e.user == TIMETABLE_ACTOR and e.details.get("session_id") == session.id
               for e in reversed(store.audit_log()))


def _close_if_over(attendance: Attendance, slots: list[Slot], now: datetime, zone: tzinfo | None,
                   station: str | None = None) -> str:
    session = attendance.active
    if session is None:
        return ""
    opened = attendance.store.get_setting(OPENED_SETTING) or {}
    key = next((k for k, sid in opened.items() if sid == session.id), None) or _adopted(attendance.store, slots,
                                                                                          session, zone)
    if key is None:  # opened by hand: staff stop it
        return ""
    day = date.fromisoformat(key.split("@")[1])
    slot = next((s for s in slots if key.startswith(s.key + "@")), None) or _edited(slots, session, day, zone)
    if slot is not None:
        _, end = slot.occurrence(day, zone)
    elif _another_due(attendance.store, slots, now, zone, station):
        end = now  # its slot was removed: it gives way to the next one
    else:
        return ""
    if now < end:
        return ""
    latest = max((c.time for c in attendance.store.checkins(session.id)), default=end)
    try:
        attendance.stop_session(user=TIMETABLE_ACTOR, at=max(end, latest))  # at its end, though no door ran then
    except EndedElsewhere:
        return ""  # another door closed it a moment ago (its sheet is that door's; this door hears of it)
    shown = "24:00" if slot is not None and slot.end == END_OF_DAY else f"{end.astimezone(zone):%H:%M}"
    return f"the timetable closed {session.name!r} at {shown}"
