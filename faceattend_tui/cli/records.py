"""Commands on the records: export, report and people (import, list, edit, remove).

Reading commands (export, report, people list) work on a snapshot of the log and never take the
station's lock, so they run while a station records. Writing commands (people import, edit and
remove) need the log to themselves.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from faceattend_tui.attendance import (
    Attendance,
    ExportError,
    ExportOptions,
    LockedError,
    NothingToExport,
    RosterError,
    StoreError,
    acquire_lock,
    build_report,
    current_user,
    export_attendance,
    open_snapshot,
    open_store,
    report_csv,
    report_json,
)
from faceattend_tui.attendance.export import free_path
from faceattend_tui.attendance.security import MIN_PIN_LENGTH, RESET_PHRASE, PinError, check_pin, pin_required, set_pin
from faceattend_tui.cli import EXIT_OK, EXIT_USAGE, say
from faceattend_tui.config import Settings
from faceattend_tui.files import atomic_write, make_private_dir

EXIT_NOTHING = 3  # an export or report that selected nothing


class CommandError(Exception):
    """A command that cannot go on; its message is printed as one line."""

    def __init__(self, message: str, code: int = EXIT_USAGE):
        super().__init__(message)
        self.code = code


def parse_date(text: str | None, flag: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise CommandError(f"{flag} takes a date as YYYY-MM-DD, not {text!r}") from None


@contextlib.contextmanager
def snapshot(settings: Settings) -> Iterator:
    """The log as it is now, read without the station's lock."""
    try:
        store = open_snapshot(settings.data, database=settings.database)
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    try:
        yield store
    finally:
        store.close()


@contextlib.contextmanager
def writable(settings: Settings) -> Iterator[Attendance]:
    """The log to write to: refused, naming the holder, while a station runs."""
    try:
        # A shared database has several writers by design; the data root's lock is the station's own.
        lock = contextlib.nullcontext() if settings.database else acquire_lock(settings.data)
        with lock, open_store(settings.data, database=settings.database) as store:
            yield Attendance(store, user=current_user())
    except (LockedError, StoreError) as exc:
        raise CommandError(f"{exc}" + ("; stop the station, or use its own command (ctrl+p)"
                                       if isinstance(exc, LockedError) else "")) from None


def run(command, args: argparse.Namespace, settings: Settings) -> int:
    """Run a records command; its CommandError becomes one line on stderr and an exit code."""
    try:
        return command(args, settings)
    except CommandError as exc:
        say(f"error: {exc}")
        return exc.code


# ----- export ---------------------------------------------------------------------------


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    start, end = parse_date(args.date_from, "--from"), parse_date(args.date_to, "--to")
    options = ExportOptions(args.format, bom=not args.no_bom)
    with snapshot(settings) as store:
        try:
            path = export_attendance(store, settings.exports_dir, options, args.out, args.session, start, end,
                                     current_user())
        except NothingToExport as exc:
            raise CommandError(f"nothing to export: {exc}", EXIT_NOTHING) from None
        except ExportError as exc:
            raise CommandError(str(exc)) from None
    say(f"wrote {path}")
    return EXIT_OK


# ----- report -------------------------------------------------------------------------------


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    end = parse_date(args.date_to, "--to") or date.today()
    start = parse_date(args.date_from, "--from") or end - timedelta(days=30)
    with snapshot(settings) as store:
        try:
            report = build_report(store, start, end, args.group)
        except ExportError as exc:
            raise CommandError(str(exc)) from None
        if not report.sessions:
            raise CommandError(f"nothing to report: no session between {start} and {end}"
                               + (f" for group {args.group!r}" if args.group else ""), EXIT_NOTHING)
        text = report_csv(report, not args.no_bom) if args.format == "csv" else report_json(report, store.now())
    name = f"report_{start}_{end}" + (f"_{args.group}" if args.group else "") + f".{args.format}"
    path = args.out or free_path(settings.exports_dir / name)
    try:
        make_private_dir(Path(path).parent)
        atomic_write(Path(path), text.encode("utf-8"))
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from None
    say(f"wrote {path}: {len(report.people)} people, {len(report.sessions)} sessions")
    return EXIT_OK


# ----- people -------------------------------------------------------------------------------


def cmd_people_list(args: argparse.Namespace, settings: Settings) -> int:
    with snapshot(settings) as store:
        people = Attendance(store).people(include_left=args.all, group=args.group)
    if args.json:
        for p in people:
            print(json.dumps({"id": p.id, "name": p.name, "groups": list(p.groups), "state": p.state,
                              "images": p.images, "folder": p.folder}, ensure_ascii=False))
        return EXIT_OK
    for p in people:
        state = "" if p.active else f"  ({p.state})"
        print(f"{p.id:14s} {p.name:30s} {'; '.join(p.groups):30s} {p.images:3d} photos{state}")
    say(f"{len(people)} people" + (f" in {args.group}" if args.group else ""))
    return EXIT_OK


def cmd_people_import(args: argparse.Namespace, settings: Settings, make_engine) -> int:
    from faceattend_tui.people import import_roster

    if not args.file.is_file():
        raise CommandError(f"{args.file}: no such file")
    with writable(settings) as attendance:
        try:
            outcome = import_roster(attendance, settings, args.file, make_engine=make_engine, user=current_user())
        except RosterError as exc:
            raise CommandError(str(exc)) from None
        if outcome.photos_copied:
            share_templates(attendance.store, settings)
    for line in outcome.lines():
        print(line)
    return EXIT_OK


def share_templates(store, settings: Settings) -> None:
    """With a shared database, templates made here go to the other doors."""
    from faceattend_tui.shared_gallery import sync_gallery

    outcome = sync_gallery(store, settings.tensors_dir, "command")
    for note in outcome.notes:
        say(f"note: {note}")
    if outcome.pushed:
        say(f"templates of {len(outcome.pushed)} people sent to the other doors")


def cmd_people_edit(args: argparse.Namespace, settings: Settings) -> int:
    groups = None if args.groups is None else [g for g in args.groups.split(";")]
    with writable(settings) as attendance:
        try:
            person = attendance.find(args.person)
            updated, joined = attendance.update_person(person.id, name=args.name, groups=groups)
        except (LookupError, ValueError) as exc:
            raise CommandError(str(exc)) from None
    print(f"{updated.id} {updated.name} ({'; '.join(updated.groups) or 'no group'})")
    if joined:
        print(f"joined the running session: {updated.name}")
    return EXIT_OK


def cmd_people_remove(args: argparse.Namespace, settings: Settings) -> int:
    from faceattend_tui.people import remove_person

    with writable(settings) as attendance:
        try:
            person = attendance.find(args.person)
            remove_person(attendance, settings, person, erase=args.erase)  # at every door when the database is shared
        except (LookupError, ValueError, StoreError) as exc:
            raise CommandError(str(exc)) from None
    done = "erased, with every attendance record" if args.erase else "left; photos and templates deleted, records kept"
    print(f"{person.id} {person.name}: {done}")
    return EXIT_OK


# ----- the staff PIN ------------------------------------------------------------------------


def cmd_pin(args: argparse.Namespace, settings: Settings) -> int:
    import getpass

    with writable(settings) as attendance:
        store = attendance.store
        old = None
        if args.reset:
            say(f"This replaces or clears the staff PIN without the current one. It is recorded in the audit "
                f"log as a PIN reset by {current_user()}.")
            if input(f'type "{RESET_PHRASE}" to go on: ').strip().lower() != RESET_PHRASE:
                raise CommandError("not reset")
        elif pin_required(store):
            old = getpass.getpass("current staff PIN: ")
            try:
                check_pin(store, old, current_user())
            except PinError as exc:
                raise CommandError(str(exc)) from None
        new = None if args.clear else _new_pin(getpass.getpass)
        set_pin(store, new, current_user(), old=old, reset=args.reset)
    say("staff PIN cleared" if new is None else "staff PIN set")
    return EXIT_OK


def _new_pin(ask) -> str:
    pin = ask(f"new staff PIN (at least {MIN_PIN_LENGTH} characters): ")
    if len(pin) < MIN_PIN_LENGTH:
        raise CommandError(f"a staff PIN has at least {MIN_PIN_LENGTH} characters")
    if pin != ask("again: "):
        raise CommandError("the two PINs differ")
    return pin
