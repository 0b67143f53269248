"""`faceattend audit`: who did what and when, filtered by person, action, staff member and date."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from faceattend_tui.attendance.audit_view import AuditFilter, describe_details, matching
from faceattend_tui.attendance.export import in_zone, time_zone
from faceattend_tui.attendance.models import plural, printable
from faceattend_tui.cli import EXIT_OK, say
from faceattend_tui.cli.records import CommandError, date_range, snapshot
from faceattend_tui.config import Settings
from faceattend_tui.text import cell, json_line

if TYPE_CHECKING:
    from faceattend_tui.cli import Command, Subparsers


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    start, end = date_range(args)
    wanted = AuditFilter(person=args.person or "", action=args.action or "", staff=args.staff or "",
                         date_from=start, date_to=end)
    try:
        zone = time_zone(settings.timezone)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    with snapshot(settings) as store:
        entries = matching(store.audit_log(), wanted, zone)
    shown = entries[-args.last:] if args.last else entries
    for entry in shown:
        when = in_zone(entry.time, zone)
        if args.json:
            print(json_line({"time": when.isoformat(), "user": entry.user, "action": entry.action,
                             "details": entry.details}))
        else:
            print(f"{when:%Y-%m-%d %H:%M:%S}  {cell(printable(entry.user), 16)} {entry.action:18s} "
                  f"{printable(describe_details(entry.details))}")
    say(plural(len(shown), "entry", "entries") + (f" of {len(entries)}" if len(shown) < len(entries) else ""))
    return EXIT_OK


def count(text: str) -> int:
    """A number of entries: 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a number of entries is 0 or more, not {value}")
    return value


def add_audit_command(sub: Subparsers, add_data: Callable[[argparse.ArgumentParser], None],
                      records_command: Callable[[str, str], Command]) -> None:
    p = sub.add_parser("audit", help="the audit log: who did what and when (reading it asks no PIN)")
    add_data(p)
    p.add_argument("--person", default=None, help="only entries about this person id")
    p.add_argument("--action", default=None, help="only actions starting with this, e.g. session or pin.fail")
    p.add_argument("--staff", default=None, help="only what this staff member (or machine user) did")
    p.add_argument("--from", dest="date_from", default=None, help="first day, YYYY-MM-DD")
    p.add_argument("--to", dest="date_to", default=None, help="last day, YYYY-MM-DD")
    p.add_argument("--last", type=count, default=0, metavar="N", help="only the N latest entries (0: all)")
    p.add_argument("--json", action="store_true", help="one JSON object per entry")
    p.set_defaults(func=records_command("cmd_audit", "audit"))
