"""`faceattend timetable`: import, list and remove the weekly slots, and the days to skip."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from faceattend_tui.attendance import Attendance
from faceattend_tui.attendance.models import plural, printable
from faceattend_tui.attendance.security import audit
from faceattend_tui.attendance.timetable import (
    END_OF_DAY,
    TimetableError,
    holidays_of,
    read_file,
    read_holidays,
    read_slots,
    save_holidays,
    save_slots,
    slots_of,
)
from faceattend_tui.cli import EXIT_OK, say
from faceattend_tui.cli.records import CommandError, snapshot, writable
from faceattend_tui.config import Settings
from faceattend_tui.text import cell, same

if TYPE_CHECKING:
    from faceattend_tui.attendance.timetable import Slot
    from faceattend_tui.cli import Command, Subparsers

T = TypeVar("T")

TIMETABLE_SET = "timetable.set"  # the audit action of every change to the timetable


def _read(path: Path, reader: Callable[[str, str], T]) -> T:
    try:
        return reader(read_file(path), str(path))
    except TimetableError as exc:
        raise CommandError(str(exc)) from None


def cmd_timetable_import(args: argparse.Namespace, settings: Settings) -> int:
    slots = _read(args.file, read_slots)
    days = _read(args.holidays, read_holidays) if args.holidays else None
    with writable(settings, "timetable", fresh=True) as attendance:
        for note in unknown_groups(attendance, slots) + late_past_the_end(slots):
            say(f"note: {note}")
        before = slots_of(attendance.store)
        with attendance.store.batch():
            save_slots(attendance.store, slots)
            if days is not None:
                save_holidays(attendance.store, days)
            audit(attendance.store, TIMETABLE_SET, {"slots": len(slots), "file": args.file.name,
                                                    "holidays": None if days is None else len(days)},
                  attendance.user)
    say(f"timetable: {plural(len(slots), 'slot')}" + ("" if days is None else f", {plural(len(days), 'day')} off"))
    gone = [s for s in before if s.key not in {new.key for new in slots}]
    if gone:  # an import is the whole timetable: one file per class replaces the others' slots
        was = "it was" if len(gone) == 1 else "they were"
        say(f"note: the file replaced the timetable: {plural(len(gone), 'earlier slot')} not in it as {was} ("
            + ", ".join(f"{s.day_name} {s.hours} {printable(s.name)}" for s in gone[:5])
            + (" ..." if len(gone) > 5 else "") + ": removed or changed); put every slot in one file")
    return EXIT_OK


def unknown_groups(attendance: Attendance, slots: list[Slot]) -> list[str]:
    known = attendance.groups()
    missing = sorted({s.group for s in slots if s.group and not any(same(s.group, g) for g in known)})
    return [f"nobody is in group {printable(g)!r} yet: its sessions cannot open until someone is" for g in missing]


def late_past_the_end(slots: list[Slot]) -> list[str]:
    """Slots whose late-after runs past their end: nobody can be late in them."""
    def minutes(clock: time) -> int:
        return 24 * 60 if clock == END_OF_DAY else clock.hour * 60 + clock.minute
    return [f"{s.day_name} {s.hours} {printable(s.name)!r}: late after {s.late_after:g} minutes is past its end, "
            "so nobody is late in it" for s in slots
            if s.late_after is not None and s.late_after >= minutes(s.end) - minutes(s.start)]


def cmd_timetable_holidays(args: argparse.Namespace, settings: Settings) -> int:
    days = _read(args.file, read_holidays)
    with writable(settings, "timetable", fresh=True) as attendance, attendance.store.batch():
        save_holidays(attendance.store, days)
        audit(attendance.store, TIMETABLE_SET, {"holidays": len(days), "file": args.file.name}, attendance.user)
    say(f"{plural(len(days), 'day')} off")
    return EXIT_OK


def cmd_timetable_list(args: argparse.Namespace, settings: Settings) -> int:
    with snapshot(settings) as store:
        slots, days = slots_of(store), holidays_of(store)
    for slot in slots:
        late = "" if slot.late_after is None else f"late after {slot.late_after:g} min"
        where = f"at {printable(slot.station)}" if slot.station else ""
        print(f"{slot.key}  {slot.day_name} {slot.hours}  {cell(printable(slot.name), 24)} "
              f"{cell(printable(slot.group or 'everyone'), 12)} {late:18s} {where}".rstrip())
    for day, why in days.items():
        print(f"day off   {day}  {printable(why)}".rstrip())
    say(f"{plural(len(slots), 'slot')}, {plural(len(days), 'day')} off" if slots or days
        else "no timetable: sessions start by hand (faceattend timetable import FILE)")
    return EXIT_OK


def cmd_timetable_remove(args: argparse.Namespace, settings: Settings) -> int:
    if not args.slots and not args.all:
        raise CommandError("name the slots to remove (their ids from faceattend timetable list), or --all")
    with writable(settings, "timetable") as attendance:
        slots = slots_of(attendance.store)
        unknown = [k for k in args.slots if k not in {s.key for s in slots}]
        if unknown:
            raise CommandError(f"no slot {', '.join(unknown)} (faceattend timetable list shows their ids)")
        kept = [] if args.all else [s for s in slots if s.key not in args.slots]
        with attendance.store.batch():
            save_slots(attendance.store, kept)
            audit(attendance.store, TIMETABLE_SET, {"slots": len(kept), "removed": len(slots) - len(kept)},
                  attendance.user)
    say(f"removed {plural(len(slots) - len(kept), 'slot')}; {len(kept)} left")
    return EXIT_OK


def add_timetable_commands(sub: Subparsers, add_data: Callable[[argparse.ArgumentParser], None],
                           records_command: Callable[[str, str], Command]) -> None:
    p = sub.add_parser("timetable", help="weekly slots that open and close sessions by themselves, and days off")
    timetable = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = timetable.add_parser("import", help="replace the timetable with a CSV: name,group,weekday,start,end,"
                                            "late_after[,station]")
    add_data(q)
    q.add_argument("file", type=Path, help="the timetable CSV (weekdays Mon..Sun or 1-7, times HH:MM)")
    q.add_argument("--holidays", type=Path, default=None, metavar="FILE",
                   help="also replace the days off: a CSV of dates (YYYY-MM-DD) and optional reasons")
    q.set_defaults(func=records_command("cmd_timetable_import", "timetable"))
    q = timetable.add_parser("holidays", help="replace the days off with a CSV of dates and optional reasons")
    add_data(q)
    q.add_argument("file", type=Path, help="a CSV: date (YYYY-MM-DD)[,reason] per line")
    q.set_defaults(func=records_command("cmd_timetable_holidays", "timetable"))
    q = timetable.add_parser("list", help="the slots with their ids, and the days off")
    add_data(q)
    q.set_defaults(func=records_command("cmd_timetable_list", "timetable"))
    q = timetable.add_parser("remove", help="remove slots by their ids (or --all)")
    add_data(q)
    q.add_argument("slots", nargs="*", help="slot ids, as faceattend timetable list shows them")
    q.add_argument("--all", action="store_true", help="remove every slot")
    q.set_defaults(func=records_command("cmd_timetable_remove", "timetable"))
