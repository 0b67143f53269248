"""`faceattend hours correct`: set a day's in or out by hand in work mode (audited), or take it back."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING

from faceattend_tui.attendance.corrections import clear_correction, correct_day
from faceattend_tui.attendance.export import time_zone
from faceattend_tui.attendance.models import Person, printable
from faceattend_tui.attendance.sessions import name_key
from faceattend_tui.attendance.timetable import END_OF_DAY, parse_clock
from faceattend_tui.cli import EXIT_OK, say
from faceattend_tui.cli.records import CommandError, actor, site_today, writable
from faceattend_tui.config import Settings
from faceattend_tui.errors import FaceattendError

if TYPE_CHECKING:
    from faceattend_tui.attendance import Attendance
    from faceattend_tui.cli import Command, Subparsers


def on_working_day(day: date, typed: str | None, what: str, settings: Settings) -> datetime | None:
    """A time of day typed for a working day, on the station's clock: before `day_changes_at` it is the
    next morning (a night shift), 24:00 is midnight at its end. A time the clocks skipped is refused."""
    if typed is None:
        return None
    clock = parse_clock(typed, what, end=what == "--out")
    when = day + timedelta(days=1) if clock < settings.day_change or clock == END_OF_DAY else day
    naive = datetime.combine(when, time(0) if clock == END_OF_DAY else clock)
    zone = time_zone(settings.timezone)
    moment = naive.astimezone() if zone is None else naive.replace(tzinfo=zone)
    if moment.astimezone(timezone.utc).astimezone(zone).replace(tzinfo=None) != naive:
        raise CommandError(f"{what} {typed} did not exist on {when} (the clocks went forward then)")
    return moment


def cmd_hours_correct(args: argparse.Namespace, settings: Settings) -> int:
    try:
        day = date.fromisoformat(args.day)
    except ValueError:
        raise CommandError(f"the day is YYYY-MM-DD, not {args.day!r}") from None
    if day > site_today(settings):
        raise CommandError(f"{day} has not come yet: a correction is for a day worked")
    if args.clear and (args.came or args.left):
        raise CommandError("--clear takes the day's correction back whole: give it without --in or --out")
    try:
        came, left = on_working_day(day, args.came, "--in", settings), on_working_day(day, args.left, "--out", settings)
    except FaceattendError as exc:
        raise CommandError(str(exc)) from None
    for what, when in (("--in", came), ("--out", left)):
        if when is not None and when > datetime.now(timezone.utc):
            raise CommandError(f"{what} {when:%Y-%m-%d %H:%M} has not come yet: a correction is for time worked")
    with writable(settings, "hours") as attendance:
        try:
            person = whose(attendance, args.person)
            if args.clear:
                return cleared(attendance, person, day, args.reason or "")
            seen = seen_on(attendance, person, day)
            correction = correct_day(attendance.store, person.id, day, came, left, args.reason or "",
                                     actor(attendance), seen)
        except (LookupError, FaceattendError) as exc:
            raise CommandError(str(exc)) from None
    ends = [f"{what} {when:%Y-%m-%d %H:%M}" for what, when in (("in", correction.came), ("out", correction.left))
            if when is not None]
    if seen is None and (correction.came is None or correction.left is None):
        say(f"{person.id} {printable(person.name)} on {day}: {', '.join(ends)} kept; nobody saw them that day, so "
            "it counts once it has both an in and an out")
    else:
        say(f"{person.id} {printable(person.name)} on {day}: {', '.join(ends)} (audited; report --hours shows it "
            "as corrected)")
    return EXIT_OK


def whose(attendance: Attendance, text: str) -> Person:
    """The person meant: by id, or by a name nobody else has, not even someone who left (whose past
    days may still be corrected)."""
    everyone = attendance.people(include_left=True)
    named = [p for p in everyone if name_key(p.name) == name_key(text)]
    if len(named) > 1 and text.strip() not in {p.id for p in everyone}:
        ids = ", ".join(p.id + ("" if p.active else " (left)") for p in named)
        raise CommandError(f"{len(named)} people are called {text.strip()!r}: use the id ({ids})")
    return attendance.find(text.strip())


def seen_on(attendance: Attendance, person: Person, day: date) -> tuple[datetime, datetime] | None:
    """The first and the last sighting of a person's working day, at any door; None when nobody saw them."""
    sightings = [p for p in attendance.store.presence(day, day) if p.person_id == person.id]
    if not sightings:
        return None
    return min(p.first_seen for p in sightings), max(p.last_seen for p in sightings)


def cleared(attendance: Attendance, person: Person, day: date, reason: str) -> int:
    if not clear_correction(attendance.store, person.id, day, reason, actor(attendance)):
        raise CommandError(f"{person.id} {printable(person.name)} has no correction on {day}")
    say(f"{person.id} {printable(person.name)} on {day}: back to what the doors saw")
    return EXIT_OK


def add_hours_commands(sub: Subparsers, add_data: Callable[[argparse.ArgumentParser], None],
                       records_command: Callable[[str, str], Command]) -> None:
    p = sub.add_parser("hours", help="work mode: correct a day's in or out by hand")
    hours = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = hours.add_parser("correct", help="set a day's in and/or out (the reports show who and why), or --clear it")
    add_data(q)
    q.add_argument("person", help="the person's id or name")
    q.add_argument("day", help="the working day, YYYY-MM-DD (the date it begins)")
    q.add_argument("--in", dest="came", default=None,
                   help="when they came, HH:MM on the station's clock (before day_changes_at: the next morning)")
    q.add_argument("--out", dest="left", default=None,
                   help="when they left, HH:MM, or 24:00 (before day_changes_at: the next morning); an end not "
                        "given stays as an earlier correction or the doors have it")
    q.add_argument("--reason", default=None, help="why, e.g. 'left by the back door' (also for --clear)")
    q.add_argument("--clear", action="store_true", help="take the day's correction back")
    q.set_defaults(func=records_command("cmd_hours_correct", "hours"))
