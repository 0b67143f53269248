"""`faceattend hours correct`: set a day's in or out by hand in work mode (audited), or take it back."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from faceattend_tui.attendance.corrections import DayCut, clear_correction, correct_typed, corrections
from faceattend_tui.attendance.export import time_zone
from faceattend_tui.attendance.models import Person, printable
from faceattend_tui.cli import EXIT_OK, say
from faceattend_tui.cli.records import CommandError, actor, writable
from faceattend_tui.config import Settings
from faceattend_tui.errors import FaceattendError
from faceattend_tui.text import spelling_key

if TYPE_CHECKING:
    from faceattend_tui.attendance import Attendance
    from faceattend_tui.cli import Command, Subparsers


def cmd_hours_correct(args: argparse.Namespace, settings: Settings) -> int:
    try:
        day = date.fromisoformat(args.day)
    except ValueError:
        raise CommandError(f"the day is YYYY-MM-DD, not {args.day!r}") from None
    if args.clear and (args.came or args.left):
        raise CommandError("--clear takes the day's correction back whole: give it without --in or --out")
    cut = DayCut(time_zone(settings.timezone), settings.day_change)
    with writable(settings, "hours") as attendance:
        try:
            person = whose(attendance, args.person)
            if args.clear:
                return cleared(attendance, person, day, args.reason or "")
            correction, seen = correct_typed(attendance.store, person.id, day, (args.came, args.left),
                                             args.reason or "", actor(attendance), cut, ("--in", "--out"))
        except (LookupError, FaceattendError) as exc:
            raise CommandError(str(exc)) from None
    ends = [f"{what} {when:%Y-%m-%d %H:%M}" for what, when in (("in", correction.came), ("out", correction.left))
            if when is not None]
    if not seen and (correction.came is None or correction.left is None):
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
    named = [p for p in everyone if spelling_key(p.name) == spelling_key(text)]
    if len(named) > 1 and text.strip() not in {p.id for p in everyone}:
        ids = ", ".join(p.id + ("" if p.active else " (left)") for p in named)
        raise CommandError(f"{len(named)} people are called {text.strip()!r}: use the id ({ids})")
    if len(named) == 1 and text.strip() not in {p.id for p in everyone}:
        return named[0]  # someone who left too: their last days may still need correcting
    return attendance.find(text.strip())


def cleared(attendance: Attendance, person: Person, day: date, reason: str) -> int:
    if not clear_correction(attendance.store, person.id, day, reason, actor(attendance)):
        raise CommandError(f"{person.id} {printable(person.name)} has no correction on {day}")
    left = corrections(attendance.store).get((person.id, day))
    now = f"the one before it stands ({printable(left.note)})" if left else "back to what the doors saw"
    say(f"{person.id} {printable(person.name)} on {day}: correction taken back; {now}")
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
