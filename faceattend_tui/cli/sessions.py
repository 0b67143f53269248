"""`faceattend sessions`: list past sessions, void a test session, correct a name, group or late-after."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from faceattend_tui.attendance.export import in_zone, time_zone
from faceattend_tui.attendance.models import plural, printable
from faceattend_tui.attendance.session_edit import UNCHANGED, edit_session, void_session
from faceattend_tui.attendance.store import NotFoundError
from faceattend_tui.cli import EXIT_OK, say
from faceattend_tui.cli.records import CommandError, actor, date_range, snapshot, writable
from faceattend_tui.config import Settings
from faceattend_tui.text import cell, clock_of, deadline_text

if TYPE_CHECKING:
    from faceattend_tui.cli import Command, Subparsers


def cmd_sessions_list(args: argparse.Namespace, settings: Settings) -> int:
    start, end = date_range(args)
    zone = time_zone(settings.timezone)
    with snapshot(settings) as store:
        sessions = [s for s in store.sessions() if args.voided or not s.voided]
        counts = {s.id: len(s.expected) for s in sessions}
    shown = [s for s in sessions if (start is None or in_zone(s.started_at, zone).date() >= start)
             and (end is None or in_zone(s.started_at, zone).date() <= end)]
    for s in shown:
        began = in_zone(s.started_at, zone)
        state = "running" if s.ended_at is None else f"until {clock_of(s.ended_at, s.started_at, zone)}"
        late = "" if s.late_deadline is None else f"late from {deadline_text(s.late_deadline, zone)}"
        void = f"  VOIDED by {printable(s.voided_by)}: {printable(s.void_reason)}" if s.voided else ""
        print(f"{s.id:>5}  {began:%Y-%m-%d %H:%M} {state:13s} {cell(printable(s.name), 24)} "
              f"{cell(printable(s.group or 'everyone'), 12)} {str(counts[s.id]) + ' expected':12s} "
              f"{late}{void}".rstrip())
    say(plural(len(shown), "session"))
    return EXIT_OK


def cmd_sessions_void(args: argparse.Namespace, settings: Settings) -> int:
    with writable(settings, "void") as attendance:
        try:
            session = void_session(attendance, args.session, args.reason or "", user=actor(attendance))
        except (NotFoundError, ValueError) as exc:
            raise CommandError(str(exc)) from None
    say(f"session {session.id} {printable(session.name)!r} voided: kept, and left out of reports "
        "(report --voided counts it)")
    return EXIT_OK


def cmd_sessions_edit(args: argparse.Namespace, settings: Settings) -> int:
    group = UNCHANGED if args.group is None else (args.group or None)
    late = UNCHANGED if args.late_after is None else (None if args.late_after < 0 else args.late_after)
    name = UNCHANGED if args.name is None else args.name
    with writable(settings, "void") as attendance:
        try:
            edit = edit_session(attendance, args.session, user=actor(attendance), name=name, group=group,
                                late_after=late, zone=time_zone(settings.timezone))
        except (NotFoundError, ValueError) as exc:
            raise CommandError(str(exc)) from None
    for line in edit.changed:
        print(printable(line))
    for note in edit.notes:
        say(f"note: {note}")
    say(f"session {edit.session_id}: " + ("nothing changed" if not edit.changed else plural(len(edit.changed),
                                                                                            "change")))
    return EXIT_OK


def add_sessions_commands(sub: Subparsers, add_data: Callable[[argparse.ArgumentParser], None],
                          records_command: Callable[[str, str], Command]) -> None:
    p = sub.add_parser("sessions", help="past sessions: list, void a test session, edit a name, group or late-after")
    sessions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = sessions.add_parser("list", help="the sessions with their ids (voided ones with --voided)")
    add_data(q)
    q.add_argument("--from", dest="date_from", default=None, help="first day, YYYY-MM-DD")
    q.add_argument("--to", dest="date_to", default=None, help="last day, YYYY-MM-DD")
    q.add_argument("--voided", action="store_true", help="also the voided sessions")
    q.set_defaults(func=records_command("cmd_sessions_list", "sessions"))
    q = sessions.add_parser("void", help="void a finished session (kept with who and why, left out of reports)")
    add_data(q)
    q.add_argument("session", type=int, help="the session's id (faceattend sessions list)")
    q.add_argument("--reason", required=True, help="why, e.g. 'a test before the term'")
    q.set_defaults(func=records_command("cmd_sessions_void", "sessions"))
    q = sessions.add_parser("edit", help="correct a session; statuses are worked out again and the changes said")
    add_data(q)
    q.add_argument("session", type=int, help="the session's id (faceattend sessions list)")
    q.add_argument("--name", default=None, help="the corrected name")
    q.add_argument("--group", default=None, help="the group it was for (empty: everyone); its list follows")
    q.add_argument("--late-after", type=float, default=None,
                   help="late after N minutes from the start (a negative number: nobody is late)")
    q.set_defaults(func=records_command("cmd_sessions_edit", "sessions"))
