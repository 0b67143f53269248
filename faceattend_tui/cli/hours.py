"""`faceattend hours correct`: set a day's in or out by hand in work mode (audited), or take it back."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from faceattend_tui.attendance.corrections import clear_correction, correct_day
from faceattend_tui.attendance.export import time_zone
from faceattend_tui.attendance.models import printable
from faceattend_tui.attendance.timetable import parse_clock
from faceattend_tui.cli import EXIT_OK, say
from faceattend_tui.cli.records import CommandError, actor, writable
from faceattend_tui.config import Settings
from faceattend_tui.errors import FaceattendError

if TYPE_CHECKING:
    from faceattend_tui.cli import Command, Subparsers


def on_working_day(day: date, typed: str | None, what: str, settings: Settings) -> datetime | None:
    """A time of day typed for a working day, on the station's clock; before `day_changes_at` it is the
    next morning (the end of a night shift)."""
    if typed is None:
        return None
    clock = parse_clock(typed, what)
    when = day + timedelta(days=1) if clock < settings.day_change else day
    naive = datetime.combine(when, clock)
    zone = time_zone(settings.timezone)
    return naive.astimezone() if zone is None else naive.replace(tzinfo=zone)


def cmd_hours_correct(args: argparse.Namespace, settings: Settings) -> int:
    try:
        day = date.fromisoformat(args.day)
    except ValueError:
        raise CommandError(f"the day is YYYY-MM-DD, not {args.day!r}") from None
    try:
        came, left = on_working_day(day, args.came, "--in", settings), on_working_day(day, args.left, "--out", settings)
    except FaceattendError as exc:
        raise CommandError(str(exc)) from None
    with writable(settings, "hours") as attendance:
        try:
            person = attendance.find(args.person)
            if args.clear:
                if not clear_correction(attendance.store, person.id, day, actor(attendance)):
                    raise CommandError(f"{person.id} {printable(person.name)} has no correction on {day}")
                say(f"{person.id} {printable(person.name)} on {day}: back to what the doors saw")
                return EXIT_OK
            correct_day(attendance.store, person.id, day, came, left, args.reason or "", actor(attendance))
            seen = any(p.person_id == person.id for p in attendance.store.presence(day, day))
        except (LookupError, FaceattendError) as exc:
            raise CommandError(str(exc)) from None
        if not seen and (came is None or left is None):
            say(f"note: nobody saw {printable(person.name)} on {day}: the day counts once it has both --in and --out")
    said = ", ".join(f"{what} {when:%H:%M}" for what, when in (("in", came), ("out", left)) if when is not None)
    say(f"{person.id} {printable(person.name)} on {day}: {said} (audited; report --hours shows it as corrected)")
    return EXIT_OK


def add_hours_commands(sub: Subparsers, add_data: Callable[[argparse.ArgumentParser], None],
                       records_command: Callable[[str, str], Command]) -> None:
    p = sub.add_parser("hours", help="work mode: correct a day's in or out by hand")
    hours = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = hours.add_parser("correct", help="set a day's in and/or out (the reports show who and why), or --clear it")
    add_data(q)
    q.add_argument("person", help="the person's id or name")
    q.add_argument("day", help="the working day, YYYY-MM-DD (the date it begins)")
    q.add_argument("--in", dest="came", default=None, help="when they came, HH:MM on the station's clock")
    q.add_argument("--out", dest="left", default=None,
                   help="when they left, HH:MM (before day_changes_at: the next morning)")
    q.add_argument("--reason", default=None, help="why, e.g. 'left by the back door'")
    q.add_argument("--clear", action="store_true", help="take the day's correction back")
    q.set_defaults(func=records_command("cmd_hours_correct", "hours"))

