"""Attendance sheets: one session or every session in a date range, as CSV or JSON.

A sheet lists everyone the session expected and anyone else with a record in it. Past sessions
are read from what they recorded, so exporting one again gives the same rows whatever happened
to the roster since (only the JSON's generation time changes). CSV starts with a byte-order
mark by default, so spreadsheet programs read accents right.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from faceattend_tui.errors import InputError, RecordsError
from faceattend_tui.files import check_regular, foreign_link, make_private_dir, write_named, write_new
from faceattend_tui.text import letter, printable

from .common import aware, to_iso
from .models import Person, PersonStatus, Session, plural
from .security import audit
from .sessions import Summary, summarize
from .store import NotFoundError, Store, StoreError

# The documented columns and keys (README, "Exports and reports"). New ones go at the end; none is
# ever renamed or moved. Times are ISO 8601 with their UTC offset, on the clock of the `timezone`
# setting; the *_date and *_time_of_day columns repeat a time for spreadsheets.
COLUMNS = (
    "session_id", "session_name", "session_group", "session_start", "person_id", "person", "status",
    "checkin_time", "similarity", "last_seen", "mark_status", "mark_reason", "marked_by", "marked_at",
    "status_before_mark", "session_date", "session_time_of_day", "checkin_date", "checkin_time_of_day",
    "session_voided_at", "session_void_reason",
)
JSON_KEYS = ("generated_at", "sessions")
JSON_SESSION_KEYS = (
    "id", "name", "group", "started_at", "ended_at", "late_after_minutes", "station", "expected", "counts",
    "people", "date", "time_of_day", "voided_at", "void_reason",
)
JSON_PERSON_KEYS = (
    "person_id", "person", "status", "checkin_time", "similarity", "last_seen", "mark_status", "mark_reason",
    "marked_by", "marked_at", "status_before_mark", "checkin_date", "checkin_time_of_day",
)
FORMATS = ("csv", "json")
NAME_LIMIT = 120  # bytes of the session name kept in a file name (file systems allow 255)
BOM = "\ufeff"


class ExportError(RecordsError, ValueError):
    """An export that cannot be made (no such session, bad format), with a message to show."""


class NothingToExport(ExportError):
    """The selection holds no session."""


@dataclass(frozen=True)
class ExportOptions:
    fmt: str = "csv"
    bom: bool = True  # CSV only
    zone: str = ""  # the clock times are written on: the `timezone` setting ("": this machine's)


# ----- time ------------------------------------------------------------------------------


def time_zone(name: str | tzinfo | None) -> tzinfo | None:
    """The zone named (a zoneinfo name such as Europe/Paris); None, this machine's, for "" or None."""
    if name is None or isinstance(name, tzinfo):
        return name
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ExportError(f"unknown time zone {name!r} (the timezone setting): use a name such as Europe/Paris, "
                          "or leave it empty for this machine's") from None


@overload
def in_zone(value: datetime, zone: tzinfo | None) -> datetime: ...


@overload
def in_zone(value: datetime | None, zone: tzinfo | None) -> datetime | None: ...


def in_zone(value: datetime | None, zone: tzinfo | None) -> datetime | None:
    """The same moment on the zone's clock (this machine's for None)."""
    return None if value is None else aware(value).astimezone(zone)


def local_iso(value: datetime | None, zone: tzinfo | None) -> str | None:
    return to_iso(in_zone(value, zone))


def date_and_time(value: datetime | None, zone: tzinfo | None) -> tuple[str | None, str | None]:
    """The date (YYYY-MM-DD) and the time of day (HH:MM:SS) on the zone's clock, for spreadsheets."""
    local = in_zone(value, zone)
    return (None, None) if local is None else (local.date().isoformat(), local.strftime("%H:%M:%S"))


# ----- rows --------------------------------------------------------------------------


def sessions_in_range(sessions: Iterable[Session], date_from: date, date_to: date,
                      zone: tzinfo | None = None) -> list[Session]:
    """Sessions whose start falls on a day in [date_from, date_to] on the zone's clock, oldest first."""
    date_from, date_to = _day(date_from), _day(date_to)
    if date_from > date_to:
        raise ExportError(f"date range is reversed: {date_from} is after {date_to}")
    chosen = [s for s in sessions if date_from <= in_zone(s.started_at, zone).date() <= date_to]
    return sorted(chosen, key=lambda s: (s.started_at, s.id))


def _day(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


def person_row(session: Session, item: PersonStatus, zone: tzinfo | None = None,
               about_session: dict | None = None) -> dict:
    """One person of one session, keyed by COLUMNS, times on the zone's clock; `about_session`: the
    session's own cells, worked out once for all its people (a year's export has 400,000 rows)."""
    c, m = item.checkin, item.mark
    checkin_date, checkin_time = date_and_time(c.time if c else None, zone)
    return {
        **(about_session or session_cells(session, zone)), "person_id": item.person.id, "person": item.name,
        "status": item.status, "checkin_time": local_iso(c.time, zone) if c else None,
        "checkin_date": checkin_date, "checkin_time_of_day": checkin_time,
        "similarity": round(c.similarity, 4) if c and c.similarity is not None else None,
        "last_seen": local_iso(c.last_seen, zone) if c else None, "mark_status": m.status if m else None,
        "mark_reason": m.reason if m else None, "marked_by": m.by if m else None,
        "marked_at": local_iso(m.at, zone) if m else None, "status_before_mark": m.previous if m else None,
    }


def session_cells(session: Session, zone: tzinfo | None = None) -> dict:
    """The cells a session's rows share."""
    session_date, session_time = date_and_time(session.started_at, zone)
    return {"session_id": session.id, "session_name": session.name, "session_group": session.group or "",
            "session_start": local_iso(session.started_at, zone), "session_date": session_date,
            "session_time_of_day": session_time, "session_voided_at": local_iso(session.voided_at, zone),
            "session_void_reason": session.void_reason or None}


def to_csv(summaries: Iterable[Summary], bom: bool = True, zone: tzinfo | None = None) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for summary in summaries:
        shared = session_cells(summary.session, zone)
        for item in summary.people:
            row = person_row(summary.session, item, zone, shared)
            writer.writerow([csv_cell(row[name]) for name in COLUMNS])
    return (BOM if bom else "") + out.getvalue()


def csv_cell(value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        return str(value)
    text = printable(value)  # a control character an older version stored, as its code: never raw in a sheet
    # Spreadsheets run cells starting with these as formulas; quote them as text.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def to_json(summaries: Iterable[Summary], generated_at: datetime, zone: tzinfo | None = None) -> str:
    sessions = [json_session(summary, zone) for summary in summaries]
    return json.dumps({"generated_at": local_iso(generated_at, zone), "sessions": sessions}, indent=2,
                      ensure_ascii=False) + "\n"


def json_session(summary: Summary, zone: tzinfo | None = None) -> dict:
    """One session of a JSON export, keyed by JSON_SESSION_KEYS; its people by JSON_PERSON_KEYS."""
    s, counts = summary.session, summary.counts
    day, time_of_day = date_and_time(s.started_at, zone)
    shared = session_cells(s, zone)
    people = [person_row(s, item, zone, shared) for item in summary.people]
    return {
        "id": s.id, "name": s.name, "group": s.group, "started_at": local_iso(s.started_at, zone),
        "ended_at": local_iso(s.ended_at, zone), "late_after_minutes": s.late_after_minutes, "station": s.station,
        "expected": len(s.expected),
        "counts": {"present": counts.present, "late": counts.late, "absent": counts.absent, **counts.excused},
        "people": [{key: row[key] for key in JSON_PERSON_KEYS} for row in people], "date": day,
        "time_of_day": time_of_day, "voided_at": local_iso(s.voided_at, zone), "void_reason": s.void_reason or None,
    }


def render(summaries: list[Summary], options: ExportOptions, generated_at: datetime) -> bytes:
    if options.fmt not in FORMATS:
        raise ExportError(f"export format must be one of {', '.join(FORMATS)}")
    zone = time_zone(options.zone)
    text = to_csv(summaries, options.bom, zone) if options.fmt == "csv" else to_json(summaries, generated_at, zone)
    return text.encode("utf-8", "backslashreplace")  # bytes not UTF-8 in a name an older version stored


# ----- file names ----------------------------------------------------------------------


def slug(text: str, limit: int = NAME_LIMIT, fallback: str = "session") -> str:
    """A file-name-safe form that keeps letters of every script, accents included, within `limit` bytes."""
    text = unicodedata.normalize("NFC", text).casefold()
    text = re.sub(f"(?:(?!{letter()})[^_])+", "-", text).strip("-_")  # letters of words, marks included
    while len(text.encode("utf-8")) > limit:
        text = text[:-1]
    return text.rstrip("-_") or fallback


def free_path(path: Path) -> Path:
    """`path`, or the same name with -2, -3, ... when anything (even a broken link) is there."""
    return next(p for p in numbered(path) if not os.path.lexists(p))


def numbered(path: Path) -> Iterator[Path]:
    """`path`, then the same name with -2, -3, ..."""
    yield path
    for n in itertools.count(2):
        yield path.with_name(f"{path.stem}-{n}{path.suffix}")


@dataclass(frozen=True)
class NewFile:
    """An output to write under a name nothing has taken, in a folder of exports."""

    folder: Path
    name: str


@dataclass(frozen=True)
class NamedFile:
    """The file a user named (--out), its folder's links resolved: written in that folder, never through a
    link; a file there is replaced only with `replace` (--overwrite)."""

    path: Path
    replace: bool


# ----- where outputs may go -----------------------------------------------------------------


def new_output(folder: Path, name: str) -> NewFile:
    """A new file in `folder`, named when it is written; the folder is made (private) when missing. A folder
    reached through another user's link is refused (a root job's sheets in a folder of the link's choosing)."""
    foreign = foreign_link(Path(os.path.abspath(folder)))
    if foreign is not None:
        raise ExportError(f"the exports folder {folder} goes through {foreign}, a link of another user: not "
                          "followed; make it a folder, or write with --out")
    try:
        make_private_dir(folder)
    except OSError as exc:
        raise ExportError(f"cannot make the exports folder {folder}: {exc.strerror or exc}") from None
    return NewFile(folder, name)


def chosen_output(path: Path, exports: Path, data_root: Path | None, overwrite: bool = False) -> NamedFile:
    """The file a user named for an export or report, its folder's links followed, or ExportError.

    Refused: anything in `data_root` outside `exports` (the log, its journal and lock, the settings,
    photos and templates), anything but a regular file, a link (another user's could lead anywhere: a
    root job writing to /tmp would overwrite what it names), a way through a link of another user, and an
    existing file unless `overwrite`.
    """
    named = Path(os.path.abspath(Path(path).expanduser()))
    if str(path) == "-":
        raise ExportError("--out - (standard output) is not supported: name a file")
    if named.is_symlink():
        raise ExportError(f"{path} is a link; a sheet is never written through a link: name the file itself")
    foreign = foreign_link(named)
    if foreign is not None:
        raise ExportError(f"{path} goes through {foreign}, a link of another user: not followed")
    try:
        target = named.parent.resolve() / named.name
        # as named and as the links lead: a folder of photos or templates linked in from elsewhere is theirs too
        as_named = Path(os.path.abspath(named))
        if data_root is not None and (_in_store(target, Path(exports), Path(data_root))
                                      or _named_in_store(as_named, Path(exports), Path(data_root))):
            raise ExportError(f"{path} is in the data folder {Path(data_root).resolve()}; write to "
                              f"{Path(exports).resolve()} or outside the data folder (the log and its files are "
                              "never overwritten)")
        for seen in (as_named, target):
            if _a_data_folders_file(seen):
                raise ExportError(f"{path} is among the files of the data folder {_data_folder_of(seen)}; a sheet "
                                  "never replaces a log, its journal, settings, photos, templates or models")
        check_regular(target)
    except FileNotFoundError:
        return NamedFile(target, overwrite)
    except (OSError, RuntimeError) as exc:  # RuntimeError: a loop of symbolic links
        raise ExportError(f"cannot write {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if not overwrite:
        raise ExportError(f"{path} already exists; give --overwrite to replace it")
    return NamedFile(target, overwrite)


DATA_FILES = ("attendance.json", "attendance.journal", "attendance.outbox", "attendance.tries", "faceattend.toml",
              "faceattend.lock", "attendance.pg-journal", "erasing.json",
              "enrolling.json")
LOG_FILES = ("station.log", "worker.log")  # a data folder's own, beside DATA_FILES (not what makes one)


DATA_SUBFOLDERS = ("database_tensor", "database_image")
OWN_SUBFOLDERS = (*DATA_SUBFOLDERS, "models")


def _a_data_folders_file(target: Path) -> bool:
    """Whether a path (there or not yet) is one of a data folder's own: its log, journals, their backups,
    settings and logs, or anything in its templates, photos (a person's folder included) or models
    (another data folder than the command's)."""
    for folder in target.parents:  # in any case: Attendance.json is the log on an exFAT or NTFS disk
        if folder.name.casefold() in OWN_SUBFOLDERS and _is_data_folder(folder.parent):
            return True
    return target.name.casefold().startswith(DATA_FILES + LOG_FILES) and _is_data_folder(target.parent)


def _is_data_folder(folder: Path) -> bool:
    return any((folder / name).is_file() for name in DATA_FILES) or any(
        (folder / name).is_dir() for name in DATA_SUBFOLDERS)


def _data_folder_of(target: Path) -> Path:
    return next((f.parent for f in target.parents if f.name.casefold() in OWN_SUBFOLDERS), target.parent)


def _in_store(target: Path, exports: Path, data_root: Path) -> bool:
    """Whether the resolved `target` lies in the data root but not in its own exports folder."""
    root, shelf = data_root.resolve(), exports.resolve()
    target = _spelt_as(target, root)
    if not target.is_relative_to(root):
        return False
    own_shelf = shelf == root / exports.name  # an exports link into the root itself or its photos is no shelf
    return not (own_shelf and target.is_relative_to(shelf))


def _spelt_as(target: Path, root: Path) -> Path:
    """`target` as a path in `root` where one of its folders is `root` spelt otherwise (a disk that ignores
    case, exFAT or NTFS: .../FACEATTEND/x.csv in the data folder .../faceattend)."""
    for folder in target.parents:
        if _one_folder(folder, root):
            return root / target.relative_to(folder)
    return target


def _one_folder(folder: Path, root: Path) -> bool:
    """Whether `folder` is the folder `root` (resolved), perhaps spelt in another case at any level: the
    same file, or (exFAT over FUSE gives each spelling a file of its own) the same name in one folder
    that lists one spelling of it."""
    if folder == root:
        return True
    if folder.name.casefold() != root.name.casefold() or folder.parent == folder or root.parent == root:
        return False
    try:
        if not folder.exists():
            return False
        if os.path.samefile(folder, root):
            return True
        if folder.name != root.name and {folder.name, root.name} <= set(os.listdir(root.parent)):
            return False  # two folders that tell case apart
    except OSError:
        return False
    return _one_folder(folder.parent.resolve(), root.parent)


def _named_in_store(named: Path, exports: Path, data_root: Path) -> bool:
    """Whether a path as named (links not followed) lies in the data root but not in its exports folder:
    through a folder of photos linked in from another disk, say."""
    root, shelf = Path(os.path.abspath(data_root)), Path(os.path.abspath(exports))
    return named.is_relative_to(root) and not named.is_relative_to(shelf)


def write_output(path: Path | NewFile | NamedFile, data: bytes) -> Path:
    """Write through a temp file in the target's folder and a rename; never over a folder, device or pipe,
    never through a link, and a new file never over one another export wrote meanwhile. Returns where it
    went."""
    if isinstance(path, NewFile):
        free = (p for p in numbered(path.folder / path.name) if not os.path.lexists(p))
        try:
            return write_new(free, data)
        except OSError as exc:
            raise ExportError(f"cannot write into {path.folder}: {exc.strerror or exc}") from None
    named = path if isinstance(path, NamedFile) else NamedFile(Path(os.path.abspath(path)), True)
    try:
        make_private_dir(named.path.parent, records=False)  # a folder --out names: a USB stick may make it open
        with contextlib.suppress(FileNotFoundError):
            check_regular(named.path)
        write_named(named.path, data, named.replace)
    except FileExistsError:
        raise ExportError(f"{named.path} already exists; give --overwrite to replace it") from None
    except OSError as exc:
        raise ExportError(f"cannot write {named.path}: {exc.strerror or exc}") from None
    return named.path


def default_name(sessions: list[Session], date_from: date | None, date_to: date | None, fmt: str,
                 zone: tzinfo | None = None) -> str:
    """A sheet's file name: its range, or its session's day on the station's clock (the day the sheet
    states), number and name."""
    if date_from is not None:
        return f"{date_from}_{date_to}.{fmt}"
    session = sessions[0]
    return f"{in_zone(session.started_at, zone):%Y-%m-%d}_{session.id}_{slug(session.name)}.{fmt}"


# ----- choosing and writing -------------------------------------------------------------


def date_span(store: Store, date_from: date | None, date_to: date | None,
              zone: tzinfo | None = None) -> tuple[date, date] | None:
    """The days a range covers: from its first day to today when no last is given, from the first
    session's day when no first is given; None when neither is."""
    if date_from is None and date_to is None:
        return None
    if date_from is None:
        assert date_to is not None
        date_from = min([*(in_zone(s.started_at, zone).date() for s in store.sessions()), date_to])
    return date_from, date_to or in_zone(store.now(), zone).date()


def choose_sessions(store: Store, session_id: int | None = None, date_from: date | None = None,
                    date_to: date | None = None, zone: tzinfo | None = None) -> list[Session]:
    """A date range (days on the zone's clock, voided sessions left out; see `date_span`), one session
    by id, or (neither given) the latest session not voided."""
    span = date_span(store, date_from, date_to, zone)
    if session_id is not None and span is not None:
        raise InputError("give either a session id or dates, not both")
    if span is not None:
        first, last = span
        if first > last and date_to is None:
            raise NothingToExport(f"no session from {first} on: that is after today")
        in_range = sessions_in_range(store.sessions(), first, last, zone)
        found = [s for s in in_range if not s.voided]
        voided = f" ({plural(len(in_range), 'voided session')} in it: faceattend sessions list --voided)" \
            if in_range and not found else ""
        if not found and date_from is None:
            raise NothingToExport(f"no session on or before {last}{voided}")
        if not found:
            raise NothingToExport(f"no session between {first} and {last}{voided}")
        return found
    if session_id is not None:
        session = store.session(session_id)
        if session is None:
            raise NothingToExport(f"no session with id {session_id}")
        return [session]
    sessions = [s for s in store.sessions() if not s.voided]
    if not sessions:
        raise NothingToExport("no session yet" if not store.sessions() else "every session is voided")
    return [sessions[-1]]


def export_sessions(store: Store, sessions: list[Session], path: Path | NewFile | NamedFile, options: ExportOptions,
                    user: str | None = None, people: dict[str, Person] | None = None) -> Path:
    """Write the sheet of these sessions to `path` (atomically, 0600) and audit it."""
    people = people if people is not None else {p.id: p for p in store.people()}
    records = store.records_of(s.id for s in sessions)
    summaries = [summarize(store, s, people, records=records[s.id]) for s in sessions]
    data = render(summaries, options, store.now())
    return write_audited(store, path, data, "export", {"format": options.fmt, "sessions": [s.id for s in sessions]},
                         user, made_from=frozenset(people))


def write_audited(store: Store, path: Path | NewFile | NamedFile, data: bytes, action: str, details: dict,
                  user: str | None, made_from: frozenset[str] = frozenset()) -> Path:
    """Write an export or report and audit it (`details` with the path). A file named by the user is audited
    first: cut short in between (a crash), the audit still says where a sheet may be, and an erasure looks
    there. One in the exports folder is audited once written (its name is known then): one that cannot be
    audited is removed. So is one made from the records of people (`made_from`, their ids) of whom one was
    erased meanwhile: the erasure may have looked for sheets before it was written."""
    if not isinstance(path, NewFile):
        written = _audited_then_written(store, path, data, action, details, user)
    else:
        written = write_output(path, data)
        try:
            audit(store, action, {"path": str(written), "out": False, **details}, user)
        except StoreError as exc:
            with contextlib.suppress(OSError):
                os.unlink(written)
            raise ExportError(f"{exc}; the {action} could not be audited, so {written} was removed") from None
    _none_erased_since(store, made_from, written, action, user)
    return written


def _none_erased_since(store: Store, made_from: frozenset[str], written: Path, action: str, user: str | None) -> None:
    """Remove the sheet just written, and say so, if someone it was made from is no longer in the log."""
    if not made_from:
        return
    try:
        erased = bool(made_from - store.ids_now())
        why = "someone in it was erased (or given another id) while it was written"
    except StoreError as exc:
        erased, why = True, f"whether someone in it was erased meanwhile could not be read ({exc})"
    if not erased:
        return
    with contextlib.suppress(OSError):
        os.unlink(written)
    with contextlib.suppress(StoreError):  # the entry written for it names a file that is not there: said so
        audit(store, f"{action}.failed", {"path": str(written), "error": why}, user)
    raise ExportError(f"{why}: {written} was removed; {action} again")


def _audited_then_written(store: Store, path: Path | NamedFile, data: bytes, action: str, details: dict,
                          user: str | None) -> Path:
    target = path.path if isinstance(path, NamedFile) else Path(os.path.abspath(path))
    try:
        audit(store, action, {"path": str(target), "out": True, **details}, user)
    except StoreError as exc:
        raise ExportError(f"{exc}; the {action} could not be audited, so nothing was written") from None
    try:
        return write_output(path, data)
    except ExportError as exc:
        with contextlib.suppress(StoreError):  # the entry above names a file that is not there: said so
            audit(store, f"{action}.failed", {"path": str(target), "error": str(exc)}, user)
        raise


def export_attendance(store: Store, folder: Path, options: ExportOptions, path: Path | None = None,
                      session_id: int | None = None, date_from: date | None = None, date_to: date | None = None,
                      user: str | None = None, *, data_root: Path | None = None, overwrite: bool = False) -> Path:
    """Choose the sessions, name the file (a new one in `folder` unless `path` is given), write it.

    A given `path` goes through chosen_output: with `data_root`, no file of the store is written over.
    """
    target: NamedFile | NewFile | None = None if path is None else chosen_output(Path(path), folder, data_root,
                                                                                overwrite)
    zone = time_zone(options.zone)
    sessions = choose_sessions(store, session_id, date_from, date_to, zone)
    if target is None:
        first, last = date_span(store, date_from, date_to, zone) or (None, None)
        target = new_output(folder, default_name(sessions, first, last, options.fmt, zone))
    return export_sessions(store, sessions, target, options, user)


def export_session(store: Store, session_id: int, path: str | Path, *, fmt: str = "csv", user: str | None = None,
                   bom: bool = True, zone: str = "") -> Path:
    session = store.session(session_id)
    if session is None:
        raise NotFoundError(f"no session with id {session_id}")
    return export_sessions(store, [session], Path(path), ExportOptions(fmt, bom, zone), user)
