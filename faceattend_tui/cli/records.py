"""Commands on the records: export, report and people (import, list, edit, remove).

Reading commands (export, report, people list) work on a snapshot of the log and never take the
station's lock, so they run while a station records. Writing commands (people import, edit and
remove) need the log to themselves.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
import tempfile
from collections.abc import Callable, Collection, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from faceattend_tui.attendance import (
    Attendance,
    ExportError,
    ExportOptions,
    FoldError,
    LockedError,
    NothingToExport,
    Report,
    RosterError,
    StoreError,
    acquire_lock,
    build_report,
    choose_sessions,
    current_user,
    export_attendance,
    open_snapshot,
    open_store,
    report_csv,
    report_json,
)
from faceattend_tui.attendance.export import (
    NamedFile,
    chosen_output,
    new_output,
    sessions_in_range,
    slug,
    time_zone,
    write_audited,
)
from faceattend_tui.attendance.models import check_person_id, join_groups, plural, printable
from faceattend_tui.attendance.sessions import one_spelling_each
from faceattend_tui.attendance.tiny.files import default_path
from faceattend_tui.cli import EXIT_OK, EXIT_SKIPPED, EXIT_USAGE, say
from faceattend_tui.config import Settings
from faceattend_tui.errors import FaceattendError
from faceattend_tui.files import error_text, unfit_data_folder
from faceattend_tui.text import cell, collation, json_line, same

if TYPE_CHECKING:
    from faceattend_tui.attendance import Attendance, Person, Store
    from faceattend_tui.attendance.security import Credentials
    from faceattend_tui.attendance.staff import Action
    from faceattend_tui.station.people import ImportPlan, ReadRoster
    from faceattend_tui.vision.pipeline import FaceEngine

RecordsCommand = Callable[[argparse.Namespace, Settings], int]  # a command on the log, run by `run`

EXIT_NOTHING = 3  # an export or report that selected nothing


class CommandError(FaceattendError):
    """A command that cannot go on; its message is printed as one line."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def parse_date(text: str | None, flag: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise CommandError(f"{flag} takes a date as YYYY-MM-DD, not {text!r}") from None


def date_range(args: argparse.Namespace) -> tuple[date | None, date | None]:
    """--from and --to, either may be missing; a reversed range is refused."""
    start, end = parse_date(args.date_from, "--from"), parse_date(args.date_to, "--to")
    if start and end and start > end:
        raise CommandError(f"date range is reversed: {start} is after {end}")
    return start, end


@contextlib.contextmanager
def snapshot(settings: Settings) -> Iterator[Store]:
    """The log as it is now, read without the station's lock."""
    try:
        store = open_snapshot(settings.data, database=settings.database)
    except StoreError as exc:
        from faceattend_tui.station.sync import log_place_problem

        raise CommandError(log_place_problem(settings) or str(exc)) from None  # a door without its database URL
    try:
        yield store
    finally:
        store.close()


# What the running station offers instead of a command that needs its log.
COMMAND_WAIT = 10.0  # seconds a command waits for another command that holds the data (not for a station)
STATION_WAY: dict[str, str] = {
    "people": "; stop the station, or use its own keys (e enroll, d remove, ctrl+p import roster)",
    "erase": "; stop the station, or use its own key d (remove, then erasure request)",
    "void": "; stop the station, or use its own key h (past sessions: e edits, v voids)",
    "timetable": "; stop the station, or use its own key t (timetable)",
}


def _stopped_by(error: BaseException) -> CommandError | None:
    """The command's own error that was on its way out when `error` came (closing the log after it)."""
    seen = error.__context__
    while seen is not None and not isinstance(seen, CommandError):
        seen = seen.__context__
    return seen


@contextlib.contextmanager
def writable(settings: Settings, action: Action | None = None, fresh: bool = False,
             ask: Callable[[], object] | None = None) -> Iterator[Attendance]:
    """The log to write to, for a staff member whose role may do `action` (asked here); refused, naming
    the holder, while a station runs. Only a command that may make the first record (`fresh`: an import, the
    first PIN) starts a log where there is none: a mistyped --data is refused with nothing written. `ask`:
    what else is asked on the terminal (a new PIN), after the staff PIN and before the data is held."""
    from faceattend_tui.station.sync import log_place_problem

    problem = log_place_problem(settings)  # a door of a database must not grow a log of its own, nor join one
    if problem:
        raise CommandError(problem)
    unfit = unfit_data_folder(settings.data)  # /tmp or /: refused before anything is written, as by the station
    if unfit and not settings.database:
        raise CommandError(unfit)
    if not fresh and not _has_log(settings):
        raise CommandError(f"{settings.data.resolve()} holds no attendance log, so nothing to change: the data "
                           "folder is given with --data (the default is the current folder)")
    done = False
    refuse_while_a_station_runs(settings, STATION_WAY.get(action or "", "; stop the station first"))
    given = asked_first(settings) if action else None
    if ask is not None:
        # a wrong PIN or role (asked just now, or from the environment) is said before anything else is asked
        if action is not None and (given is not None or (not sys.stdin.isatty() and _has_log(settings))):
            checked_first(settings, action, given)
        ask()  # a command left at its prompt must not keep a station from starting
    try:
        # A shared database has several writers by design; the data root's lock is the station's own.
        lock = contextlib.nullcontext() if settings.database else acquire_lock(settings.data, what="command",
                                                                                  wait=COMMAND_WAIT)
        with lock, open_store(settings.data, database=settings.database) as store:
            yield Attendance(store, user=acting(store, action, given) if action else current_user())
            done = True
    except FoldError as exc:
        if not done:  # what stopped the command first, then why the log could not be written after it
            first = _stopped_by(exc)
            raise CommandError(f"{first}; then {exc}" if first is not None else str(exc)) from None
        say(f"warning: done and kept, but {exc}")  # the change is in the journal: not an error to retry
    except LockedError as exc:
        what = exc.holder.get("what")
        way = STATION_WAY.get(action or "", "; stop the station first") if what in (None, "station") else \
            "; another faceattend command is still at work: try again" if what == "command" else \
            f"; faceattend {what} holds it: try again once it ends"
        raise CommandError(f"{exc}{way}") from None
    except StoreError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:  # a read-only or full data folder, or a file where the folder should be
        raise CommandError(error_text(exc)) from None


def actor(attendance: Attendance) -> str:
    """Who a command's changes are recorded for (`writable` always names someone)."""
    return attendance.user or current_user()


@contextlib.contextmanager
def read_after_asking(settings: Settings, action: Action) -> Iterator[tuple[Store, str]]:
    """The log and who acts: read again once a staff member typed their PIN at the prompt, which may take a
    while (an erasure made meanwhile must not come back in the sheet)."""
    from faceattend_tui.cli.staff import asks_on_terminal

    with snapshot(settings) as store:
        asks = asks_on_terminal(store)
        actor = acting(store, action)
        if not asks:
            yield store, actor
            return
    with snapshot(settings) as store:
        yield store, actor


def acting(store: Store, action: Action, given: Credentials | None = None) -> str:
    """The staff member to record for `action`, asked on the terminal or read from the environment
    (`given`: asked already)."""
    from faceattend_tui.cli.staff import authorized

    return authorized(store, action, current_user(), given)


def asked_first(settings: Settings) -> Credentials | None:
    """On a terminal, the staff name and PIN asked before the data is held: a command left at its
    prompt must not keep a station from starting. None where nothing is to be asked here."""
    from faceattend_tui.cli.staff import credentials

    if settings.database or not sys.stdin.isatty() or not default_path(settings.data).is_file():
        return None
    try:
        with open_snapshot(settings.data) as store:
            return credentials(store)
    except StoreError:
        return None  # asked once the data is held, as before


def refuse_while_a_station_runs(settings: Settings, way: str) -> None:
    """Said before a staff name and PIN are typed for nothing: a station runs on this data folder."""
    running = station_running(settings)
    if running is not None:
        raise CommandError(f"{running}{way}")


def station_running(settings: Settings) -> LockedError | None:
    """A station running on this data folder now, as the lock's refusal would say it; read only (the lock
    record, and whether a process of this machine holds the lock). None when none runs, or it cannot
    be told here (the taking of the lock says it then)."""
    import json

    from faceattend_tui.attendance.security import LOCK_NAME
    from faceattend_tui.filelock import held_by_a_process

    lock = settings.data / LOCK_NAME
    if settings.database or not lock.is_file():
        return None
    try:
        holder = json.loads(lock.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(holder, dict) or holder.get("what") != "station" or not held_by_a_process(lock, settings.data):
        return None
    return LockedError(lock, holder)


def checked_first(settings: Settings, action: Action, given: Credentials | None) -> None:
    """The staff name and PIN asked first, checked against the log as it is now (a wrong one counts
    toward the lockout, as with any command that reads the log), before anything else is asked."""
    with snapshot(settings) as store:
        acting(store, action, given)


def run(command: RecordsCommand, args: argparse.Namespace, settings: Settings) -> int:
    """Run a records command; its CommandError becomes one line on stderr and an exit code."""
    try:
        return command(args, settings)
    except CommandError as exc:
        say(f"error: {exc}")
        return exc.code


# ----- export ---------------------------------------------------------------------------


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    start, end = parse_date(args.date_from, "--from"), parse_date(args.date_to, "--to")
    options = ExportOptions(args.format, bom=not args.no_bom, zone=settings.timezone)
    with read_after_asking(settings, "export") as (store, actor):
        try:
            path = export_attendance(store, settings.exports_dir, options, args.out, args.session, start, end,
                                     actor, data_root=settings.data, overwrite=args.overwrite)
            running = [s for s in choose_sessions(store, args.session, start, end, time_zone(settings.timezone))
                       if s.active]
        except NothingToExport as exc:
            raise CommandError(f"nothing to export: {exc}", EXIT_NOTHING) from None
        except ExportError as exc:
            raise CommandError(str(exc)) from None
    say(f"wrote {path}" + "".join(f"; session {printable(s.name)!r} is still running: those not in yet show as "
                                  "absent" for s in running))
    return EXIT_OK


# ----- report -------------------------------------------------------------------------------


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    try:
        end = parse_date(args.date_to, "--to") or site_today(settings)
        start = parse_date(args.date_from, "--from") or end - timedelta(days=30)
        target = args.out and chosen_output(args.out, settings.exports_dir, settings.data, args.overwrite)
    except ExportError as exc:
        raise CommandError(str(exc)) from None
    if start > end and args.date_to is None:
        raise CommandError(f"nothing to report: --from {start} is after today ({end})", EXIT_NOTHING)
    if getattr(args, "hours", False):
        return hours_report(args, settings, start, end, target)
    with read_after_asking(settings, "export") as (store, actor):
        made_from = frozenset(p.id for p in store.people())  # read before the report: see write_audited
        try:
            report = build_report(store, start, end, args.group, settings.timezone, settings.locale,
                                  voided=args.voided)
        except ExportError as exc:
            raise CommandError(str(exc)) from None
        if args.group and not any(same(g, args.group) for p in store.people() for g in p.all_groups()):
            raise nobody_in(store, args.group, settings.locale)  # misspelt, never anyone's: an empty report
        if args.group and report.sessions and not report.people:
            raise CommandError(f"nothing to report: nobody of group {args.group!r} was expected between {start} "
                               f"and {end}", EXIT_NOTHING)
        if not report.sessions:
            voided = [] if args.voided else [s for s in sessions_in_range(store.sessions(), start, end,
                                                                          time_zone(settings.timezone)) if s.voided]
            raise CommandError(f"nothing to report: no {'ended ' if report.running else ''}session between {start} "
                               f"and {end}"
                               + (f" for group {args.group!r}" if args.group else "")
                               + (f" ({plural(len(voided), 'voided session')} in it: --voided counts them)"
                                  if voided else "") + running_note(report, "; "), EXIT_NOTHING)
        by: str | None = args.by or ("person" if args.format == "csv" else None)  # CSV: one kind of row; JSON: both
        text = report_csv(report, not args.no_bom, by or "person") if args.format == "csv" else \
            report_json(report, store.now(), by)
        details = {"format": args.format, "from": str(start), "to": str(end), "group": report.group, "by": by}
        path = write_report(store, target or report_name(start, end, report.group, args.format, by), text,
                            settings, details, actor, made_from)
    people = "" if by == "session" else f"{plural(len(report.people), 'person', 'people')}, "  # rows it holds
    say(f"wrote {path}: {people}{plural(len(report.sessions), 'session')}" + running_note(report, "; "))
    return EXIT_OK


def running_note(report: Report, before: str) -> str:
    """What a report leaves out while it runs: everyone not in yet would count as absent."""
    if not report.running:
        return ""
    running = report.running
    names = ", ".join(repr(printable(s.name)) for s in running[:3]) + (", ..." if len(running) > 3 else "")
    return (f"{before}{plural(len(running), 'session')} still running not counted ({names}): "
            "report again once stopped")


def site_today(settings: Settings) -> date:
    """Today on the clock of the timezone setting."""
    return datetime.now(time_zone(settings.timezone)).date()


def hours_report(args: argparse.Namespace, settings: Settings, start: date, end: date,
                 target: NamedFile | None) -> int:
    """Work mode's report: in, out and hours per person per day, and (JSON) per person over the period."""
    from faceattend_tui.attendance.hours import DayRule, hours_between, hours_csv, hours_json

    if start > end:
        raise CommandError(f"date range is reversed: {start} is after {end}")
    if args.by or args.voided:
        raise CommandError(f"{'--by' if args.by else '--voided'} is about sessions; --hours reports days",
                           EXIT_USAGE)
    with snapshot(settings) as store:
        actor = acting(store, "export")
        made_from = frozenset(p.id for p in store.people())  # read before the report: see write_audited
        if args.group and not any(same(g, args.group) for p in store.people() for g in p.all_groups()):
            raise nobody_in(store, args.group, settings.locale)
        lines = hours_between(store, start, end, settings.out_after, args.group, settings.locale,
                              DayRule(time_zone(settings.timezone), settings.day_change))
        if not lines:
            raise CommandError(f"nothing to report: nobody was seen between {start} and {end} (hours come from "
                               "work mode: mode = \"work\")", EXIT_NOTHING)
        text = hours_csv(lines, settings.timezone, not args.no_bom) if args.format == "csv" else \
            hours_json(lines, start, end, store.now(), settings.timezone, settings.locale)
        details = {"format": args.format, "from": str(start), "to": str(end), "group": args.group, "hours": True}
        path = write_report(store, target or f"hours_{start}_{end}.{args.format}", text, settings, details, actor,
                            made_from)
    checks = sum(bool(line.check) for line in lines)
    say(f"wrote {path}: {plural(len(lines), 'day')} of {plural(len({d.person.id for d in lines}), 'person', 'people')}"
        + (f"; {plural(checks, 'day')} to check (see the check column)" if checks else ""))
    return EXIT_OK


def nobody_in(store: Store, group: str, locale: str | None = None, when: str = "") -> CommandError:
    """A report refused for a group nobody is in (a misspelt one), naming the groups there are (past ones
    too), in the roster's order."""
    key = collation(locale)
    groups = ", ".join(sorted({g for p in store.people() for g in p.all_groups()}, key=lambda g: (key(g), g)))
    groups = groups or "none yet"
    return CommandError(f"nothing to report: nobody in group {group!r}{when} (groups: {groups})", EXIT_NOTHING)


def write_report(store: Store, target: NamedFile | str, text: str, settings: Settings, details: dict,
                 actor: str, made_from: frozenset[str]) -> Path:
    """Write a report to the file asked for or a new file of this name in the exports, audited."""
    try:
        where = target if isinstance(target, NamedFile) else new_output(settings.exports_dir, target)
        return write_audited(store, where, text.encode("utf-8", "backslashreplace"), "report", details, actor,
                             made_from)
    except ExportError as exc:
        raise CommandError(str(exc)) from None


def report_name(start: date, end: date, group: str | None, fmt: str, by: str | None = None) -> str:
    """The default file name, saying the kind of rows (`by`; none: both); the group is made safe (no
    folders, bounded length)."""
    kind = {"person": "_people", "session": "_sessions"}.get(by or "", "")
    return f"report{kind}_{start}_{end}" + (f"_{slug(group, fallback='group')}" if group else "") + f".{fmt}"


# ----- people -------------------------------------------------------------------------------


def cmd_people_list(args: argparse.Namespace, settings: Settings) -> int:
    from faceattend_tui.gallery.templates import enrolled_counts

    with snapshot(settings) as store:
        people = Attendance(store, locale=settings.locale).people(include_left=args.all)
        shared = shared_folders(store)
    key = collation(settings.locale)
    groups = one_spelling_each(sorted({g for p in people for g in p.groups}, key=lambda g: (key(g), g)))
    if args.group is not None:  # case and accents aside: "3a" is group 3A
        people = [p for p in people if any(same(g, args.group) for g in p.groups)]
    enrolled = enrolled_counts(settings.tensors_dir)  # what the station recognises now
    if args.json:
        for p in people:
            print(json_line({"id": p.id, "name": p.name, "groups": list(p.groups), "state": p.state,
                             "images": p.images, "folder": p.folder, "templates": enrolled.get(p.folder, 0)}))
        return EXIT_OK
    for p in people:
        state = f"  ({p.state})" if not p.active else NOT_HERE_YET if p.folder in shared and p.folder not in enrolled \
            else gone(settings, p) if p.images and p.folder not in enrolled else ""
        print(f"{p.id:14s} {cell(printable(p.name), 30)} {cell(printable(join_groups(p.groups)), 30)} "
              f"{plural(p.images, 'photo'):>10s}{state}")
    group = next((g for p in people for g in p.groups if same(g, args.group)), args.group) if args.group else None
    say(plural(len(people), "person", "people") + (f" in {printable(group)}" if group else ""))  # as stored
    if group and not people:  # a typo reads as such, not as an empty group
        say(f"nobody listed is in a group '{printable(group)}'" +
            (f"; the groups: {printable(', '.join(groups))}" if groups else ""))
    return EXIT_OK


NOT_HERE_YET = "  (templates in the database: this door takes them when its station starts, or with extract)"


def shared_folders(store: Store) -> set[str]:
    """The folders whose templates a shared database holds (none for a log of this station's own)."""
    from faceattend_tui.station.shared_gallery import shares_templates

    return set(store.template_sets()) if shares_templates(store) else set()


def gone(settings: Settings, person: Person) -> str:
    """What to do for someone whose templates are gone: extract again from their photos, or, the photos
    gone too, put them back, enroll again or remove them."""
    from faceattend_tui.gallery.enroll import has_photos

    if has_photos(settings.images_dir, person.folder):
        return "  (templates gone: run faceattend extract)"
    return "  (photos and templates gone: put the photos back, enroll again, or people remove)"


def cmd_people_import(args: argparse.Namespace, settings: Settings, make_engine: Callable[[], FaceEngine]) -> int:
    from faceattend_tui.attendance import Attendance
    from faceattend_tui.station.people import (
        ImportOutcome,
        extract_imported,
        import_people,
        join_imported,
        new_photos,
    )

    if args.file.is_dir():
        raise CommandError(f"{args.file} is a folder; give the roster's CSV file")
    if not args.file.exists():
        raise CommandError(f"{args.file}: no such file")
    read = _read_roster(args)  # the file and its photos, once, before anything is held
    if args.dry_run:  # read as it is, never written (not even made)
        with roster_as_it_is(settings) as store:
            plan = _roster_plan(Attendance(store), settings, args, read)
            outcome = ImportOutcome(plan, new_photos=new_photos(settings, plan))
        print("dry run: an import would make these changes")
        for line in outcome.lines(dry_run=True):
            print(line)
        say("dry run: nothing was changed")
        return EXIT_OK
    confirmed: list[set[str]] = []  # who may be marked as left, as answered before the data was held

    def ask_first() -> None:
        if (args.sync and not args.yes) or not _has_log(settings):  # a file with problems makes no log either
            with roster_as_it_is(settings) as store:
                leaving = _roster_plan(Attendance(store), settings, args, read).leaving
            if leaving and not args.yes and not confirm(leaving):
                raise CommandError("nothing imported")
            confirmed.append({p.id for p in leaving})

    with writable(settings, "people", fresh=True, ask=ask_first) as attendance:
        plan = _roster_plan(attendance, settings, args, read)
        if plan.leaving and not args.yes and not (confirmed and {p.id for p in plan.leaving} <= confirmed[0]):
            raise CommandError("the people on record changed while the question was asked: nothing imported; run "
                               "it again")
        outcome = import_people(attendance, settings, args.file, user=attendance.user, plan=plan)
        try:
            extract_imported(outcome, settings, make_engine)
        except (FaceattendError, OSError) as exc:  # the people are written: said, with what to do
            for line in outcome.lines(skipped=False):
                print(line)
            for line in outcome.not_copied:
                say(f"not copied: {line}")
            why = error_text(exc) if isinstance(exc, OSError) else str(exc)
            raise CommandError(f"the people are in, but their photos' templates could not be made: {why}; run the "
                               "import again once that is put right") from None
        join_imported(attendance, settings, outcome, attendance.user)
        if outcome.photos_copied:
            share_templates(attendance.store, settings)
    for line in outcome.lines(skipped=False):
        print(line)
    for line in outcome.photo_skipped:
        say(f"skipped: {line}")
    for line in outcome.not_copied:
        say(f"not copied: {line}")  # each input skipped is named on stderr, as the exit code says
    return EXIT_SKIPPED if outcome.photo_skipped or outcome.not_copied else EXIT_OK


@contextlib.contextmanager
def roster_as_it_is(settings: Settings) -> Iterator[Store]:
    """The log to read for a dry run; a data folder with no log yet reads as an empty one (made aside)."""
    from faceattend_tui.attendance import open_store
    from faceattend_tui.attendance.tiny.files import LOG_NAME

    if settings.database or (settings.data / LOG_NAME).exists():
        with snapshot(settings) as store:
            yield store
        return
    with tempfile.TemporaryDirectory() as empty, contextlib.closing(open_store(Path(empty))) as store:
        yield store


def _read_roster(args: argparse.Namespace) -> ReadRoster:
    from faceattend_tui.station.people import read_roster_photos

    try:
        return read_roster_photos(args.file, tuple(args.photos_from))
    except RosterError as exc:
        raise CommandError(str(exc)) from None


def _roster_plan(attendance: Attendance, settings: Settings, args: argparse.Namespace, read: ReadRoster) -> ImportPlan:
    from faceattend_tui.station.people import plan_roster

    try:
        return plan_roster(attendance, read, reactivate=args.reactivate, sync=args.sync, tensors=settings.tensors_dir)
    except RosterError as exc:
        raise CommandError(str(exc)) from None


def confirm(leaving: list[Person]) -> bool:
    """Ask before an import with --sync marks people as left; without a terminal, refuse (--yes says it)."""
    names = ", ".join(f"{p.id} {printable(p.name)}" for p in leaving[:10]) + (" ..." if len(leaving) > 10 else "")
    if not sys.stdin.isatty():
        raise CommandError(f"--sync would mark {plural(len(leaving), 'person', 'people')} as left ({names}); "
                           "run again with --yes "
                           "to do it, or --dry-run to see every change")
    are = "is" if len(leaving) == 1 else "are"
    answer = input(f"{plural(len(leaving), 'person', 'people')} {are} not in the file and will be marked as left: "
                   f"{names}. Go on? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def cmd_people_restore(args: argparse.Namespace, settings: Settings) -> int:
    """Bring back people who left: the ones named, or those an automatic sync marked left."""
    with writable(settings, "people") as attendance:
        try:
            named = [attendance.find(text, among="left") for text in args.people]
            people = list({p.id: p for p in named}.values()) or synced_out(attendance)  # one named twice: once
        except LookupError as exc:
            raise CommandError(str(exc)) from None
        staying = [p for p in people if p.active]
        if staying:  # checked before anyone is brought back: a line run again does the same
            raise CommandError(f"{', '.join(f'{p.id} {printable(p.name)}' for p in staying)}: not left; nobody was "
                               "brought back")
        if not people:
            print("nobody was marked left by an automatic sync; name the people to bring back")
            return EXIT_OK
        if not args.people and not args.yes:
            for person in people:
                print(f"{person.id:14s} {cell(printable(person.name), 30)} left on {person.left_at:%Y-%m-%d %H:%M}")
            asked = f"bring back {plural(len(people), 'person', 'people')}? [y/N] "
            if not sys.stdin.isatty() or input(asked).lower() != "y":
                raise CommandError("nobody brought back (--yes brings them back without asking)")
        for person in people:
            try:
                back, joined = attendance.restore_person(person.id)
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            photos = "" if back.folder and (settings.images_dir / back.folder).is_dir() else "; no photos: enroll again"
            joining = " (joined the running session)" if joined else ""
            print(f"brought back {back.id} {printable(back.name)}{photos}{joining}")
    return EXIT_OK


def synced_out(attendance: Attendance) -> list[Person]:
    """People still left whom an automatic sync (of an earlier version) marked left, not a person's action."""
    entries = attendance.store.audit_log()
    syncs = [e for e in entries if e.action == "people.sync" and e.details.get("removed")]
    ids = {i for entry in syncs for i in entry.details["removed"]}  # the audit kept 50 ids per sync at most;
    times = [entry.time for entry in syncs]  # the others left at the very time of the sync
    removals = [(e.details.get("id"), e.time) for e in entries if e.action == "person.leave"]

    def near(when: datetime, moments: list[datetime]) -> bool:
        return any(abs((when - t).total_seconds()) < 1 for t in moments)

    def by_sync(person: Person, left_at: datetime) -> bool:
        if near(left_at, [t for i, t in removals if i == person.id]):
            return False  # someone removed them
        return person.id in ids or near(left_at, times)

    return [p for p in attendance.people(include_left=True) if not p.active and p.left_at and by_sync(p, p.left_at)]


def share_templates(store: Store, settings: Settings, deleted: Collection[str] = ()) -> None:
    """With a shared database, templates made here go to the other doors (and those of `deleted` go)."""
    from faceattend_tui.station.shared_gallery import sync_gallery

    door = settings.data.resolve().name  # as a station on this data folder is named unless told otherwise
    outcome = sync_gallery(store, settings.tensors_dir, door, deleted=deleted)
    for note in outcome.notes:
        say(f"note: {note}")
    if outcome.pushed:
        say(f"templates of {plural(len(outcome.pushed), 'person', 'people')} sent to the other doors")


def cmd_people_edit(args: argparse.Namespace, settings: Settings) -> int:
    groups = None if args.groups is None else [g for g in args.groups.split(";")]
    with writable(settings, "people") as attendance:
        try:
            person = attendance.find(args.person)
            updated, joined = attendance.update_person(person.id, name=args.name, groups=groups)
        except (LookupError, ValueError) as exc:
            raise CommandError(str(exc)) from None
    print(f"{updated.id} {printable(updated.name)} ({printable(join_groups(updated.groups)) or 'no group'})")
    if joined:
        print(f"joined the running session: {printable(updated.name)}")
    return EXIT_OK


def _sheets_hint(typed: str) -> str:
    """How to take someone erased earlier out of the sheets: by their id, and by a name they had."""
    try:
        check_person_id(typed)
    except ValueError:  # a name: the sheets find them by id, the name goes with --name
        again = f"faceattend people remove ID --erase --exports --name {shlex.quote(printable(typed))}"
        return f"`{again}` still takes them out of the sheets, by their id and that name"
    again = f"faceattend people remove {shlex.quote(printable(typed))} --erase --exports"
    return f"`{again}` still takes them out of the sheets by id, `--name` by a name they had"


def _has_log(settings: Settings) -> bool:
    from faceattend_tui.attendance.tiny.files import LOG_NAME

    log = settings.data / LOG_NAME
    return bool(settings.database) or log.exists() or log.with_suffix(".journal").exists()


def cmd_people_remove(args: argparse.Namespace, settings: Settings) -> int:
    from faceattend_tui.attendance import NotFoundError
    from faceattend_tui.station.people import erase_from_exports, remove_person

    if args.exports and not args.erase:
        raise CommandError("--exports goes with --erase")
    if args.name and not args.erase:
        raise CommandError("--name goes with --erase: a name they had, taken out of the sheets too")
    if args.exports and not _has_log(settings):  # someone erased earlier, but in which data folder?
        raise CommandError(f"{settings.data.resolve()} holds no attendance log: give the data folder with --data")
    with writable(settings, "erase" if args.erase else "people") as attendance:
        try:
            person = attendance.find(args.person, among="all" if args.erase else "active")  # erasing a leaver
        except NotFoundError as exc:
            if not args.exports:
                hint = f" (erased already? {_sheets_hint(args.person)})" if args.erase else ""
                raise CommandError(f"{exc}{hint}") from None
            person = None  # erased earlier, or at another door: their rows can still leave the exports
        except LookupError as exc:
            raise CommandError(str(exc)) from None
        try:  # at every door when the database is shared
            removal = erase_from_exports(attendance, settings, args.person, args.name) if person is None else \
                remove_person(attendance, settings, person, erase=args.erase, exports=args.exports,
                              user=attendance.user, more_names=args.name)
        except (LookupError, ValueError, StoreError) as exc:
            raise CommandError(str(exc)) from None
    if person is None:
        print(f"{args.person} is not in the log (erased earlier or elsewhere)")
    else:
        done = ("erased, with every attendance record" if args.erase
                else "left; photos and templates deleted, records kept")
        print(f"{person.id} {printable(person.name)}: {done}")
    for line in removal.lines():
        print(line)
    for line in removal.leftovers():  # what the erasure could not do
        say(line)
    return EXIT_SKIPPED if removal.left else EXIT_OK
