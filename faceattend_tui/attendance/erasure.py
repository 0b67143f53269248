"""Erasure beyond the log: finding the export and report files that still name someone, and
rewriting them without that person (their rows dropped, their names replaced by the erasure's token).

Only sheets this program writes (CSV and JSON exports and reports) can be rewritten; any other file
that names them is reported, never changed.
"""

from __future__ import annotations

import csv
import errno
import functools
import html
import io
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faceattend_tui.files import atomic_write, open_regular, read_regular
from faceattend_tui.text import letter

from .export import BOM, DATA_FILES, free_path
from .hours import DAY_COLUMNS
from .report import PERSON_COLUMNS, SESSION_COLUMNS
from .security import Names, name_pattern, scrub_value

REPORT_FIRST_COLUMNS = 8  # a report's header had at least these many columns since reports split by kind
LOGS = ("station.log", "station.log.1", "worker.log", "worker.log.1")  # the data folder's own, as rotated
SHEET_LIMIT = 256 * 1024 * 1024  # bytes of one file read to find a person: a larger one is named to check by hand


@dataclass
class Cleanup:
    """What happened to the files that named an erased person."""

    rewritten: list[Path] = field(default_factory=list)  # now without them
    named: list[Path] = field(default_factory=list)  # still name them: not asked to rewrite
    foreign: list[Path] = field(default_factory=list)  # name them, but are not sheets this program wrote
    failed: list[str] = field(default_factory=list)  # "path: why" for files that could not be read or written

    @property
    def left(self) -> bool:
        """Whether any file may still name them."""
        return bool(self.named or self.foreign or self.failed)


@dataclass(frozen=True)
class Target:
    """The person to take out: their id, every name they had, and the token that stands in for them."""

    person_id: str
    names: frozenset[str]
    token: str
    earlier: frozenset[str] = frozenset()  # ids they had before a roster import gave them this one
    others: frozenset[str] = frozenset()  # everyone else's names: left alone where theirs is inside one

    @functools.cached_property
    def pattern(self) -> Names:
        """Built once: a sheet's every cell is matched against it."""
        return Names(self.names, self.others)

    @property
    def ids(self) -> frozenset[str]:
        return frozenset({self.person_id, *self.earlier})


def clean_folder(folder: Path, target: Target, rewrite: bool) -> Cleanup:
    """Every file under `folder` that names the person: listed, or (`rewrite`) rewritten without them."""
    outcome = Cleanup()
    paths = Path(folder).rglob("*") if Path(folder).is_dir() else []
    for path in sorted(p for p in paths if p.is_file() and not p.is_symlink()):
        try:
            _clean_file(path, target, rewrite, outcome)
        except (OSError, UnicodeError) as exc:
            outcome.failed.append(f"{path}: {getattr(exc, 'strerror', None) or exc}")
    return outcome


def _clean_file(path: Path, target: Target, rewrite: bool, outcome: Cleanup) -> None:
    """Rewrite a sheet without them, and rename it when its name holds theirs (a session "Viva of Bob Marr")."""
    data = read_regular(path, SHEET_LIMIT)
    try:
        text, encoding = sheet_text(data)
    except UnicodeError:
        if path.suffix.lower() in SHEETS:
            raise
        text, encoding = data.decode("utf-8", errors="replace").replace("\0", ""), ""  # a picture, UTF-16 notes
    new = without(text, path.suffix.lower(), target)
    name = target.pattern.sub(target.token, path.name)
    if new is None:
        if _mentions(text, target) or name != path.name:
            outcome.foreign.append(path)
        return
    if new == text and name == path.name:
        return
    if not rewrite:
        outcome.named.append(path)
        return
    if new != text:
        atomic_write(path, new.encode(encoding))
    if name != path.name:
        renamed = free_path(path.with_name(name))
        os.rename(path, renamed)
        path = renamed
    outcome.rewritten.append(path)


# A spreadsheet saves a sheet again in the encoding it was told: UTF-8, "Unicode text" (UTF-16 with its
# mark) or the Windows code page of its language (Western here; any byte reads in the last one).
SHEETS = (".csv", ".json")  # the kinds of file that can be rewritten
UTF16_MARKS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}
SINGLE_BYTE = ("cp1252", "latin-1")


def sheet_text(data: bytes) -> tuple[str, str]:
    """A sheet's text and the encoding to write it back in, so that a rewrite changes nothing else in it.
    Raises UnicodeError for text in none of them (UTF-16 without its mark, UTF-32): named to check by hand."""
    encodings = [UTF16_MARKS[data[:2]]] if data[:2] in UTF16_MARKS and not data.startswith(b"\xff\xfe\0\0") \
        else ["utf-8", *SINGLE_BYTE]
    if encodings[0] == "utf-8" and _mixed(data):  # read in one, a name written in the other would be missed
        raise UnicodeError("it mixes UTF-8 with another encoding (lines added by an older spreadsheet?): check it "
                           "by hand")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\0" not in text:
            return text, encoding
    raise UnicodeError("not text in an encoding a spreadsheet saves (UTF-8, UTF-16 or Windows-1252): check it by hand")


def _mixed(data: bytes) -> bool:
    """Not UTF-8 throughout, yet mostly letters written in UTF-8: two Windows-1252 letters side by side
    (ß and a no-break space) may read as one UTF-8 letter, but its lone accented letters outnumber those."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        read = data.decode("utf-8", "surrogateescape")
        stray = sum(0xDC80 <= ord(ch) <= 0xDCFF for ch in read)
        return sum(ord(ch) > 127 for ch in read) - stray > stray
    return False


def scrub_logs(folder: Path, target: Target, other_words: frozenset[str] = frozenset()) -> Cleanup:
    """The station's and the worker's logs in the data folder (and their rotated copies) with the token where
    they named the person (`other_words`: their template folder, as the worker names them). Rewritten in
    place: a running station and its worker go on appending to them."""
    outcome = Cleanup()
    ids = id_pattern(target.ids | other_words)
    for name in LOGS:
        path = Path(folder) / name
        try:
            if _scrub_log(path, target, ids):
                outcome.rewritten.append(path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            outcome.failed.append(f"{path}: {exc.strerror or exc}")
    return outcome


def id_pattern(ids: frozenset[str]) -> re.Pattern | None:
    """Ids and folder names in a log: whole, as written; one of digits alone (2026) only between
    parentheses, as the station writes an id after a name, never inside a date or a time."""
    words = sorted((i for i in ids if i and any(c.isalpha() for c in i)), key=len, reverse=True)
    numbers = sorted((i for i in ids if i and not any(c.isalpha() for c in i)), key=len, reverse=True)
    parts = [f"(?<!{letter()})(?:" + "|".join(map(re.escape, words)) + f")(?!{letter()})"] if words else []
    parts += [r"(?<=\()(?:" + "|".join(map(re.escape, numbers)) + r")(?=\))"] if numbers else []
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


def _scrub_log(path: Path, target: Target, ids: re.Pattern | None) -> bool:
    fd = open_regular(path, os.O_RDWR)
    with os.fdopen(fd, "r+b") as handle:
        data = handle.read(SHEET_LIMIT + 1)
        if len(data) > SHEET_LIMIT:
            raise OSError(errno.EFBIG, "too large to read")
        text = data.decode("utf-8", errors="surrogateescape")
        named = target.pattern.sub(target.token, text)  # names first: a folder may be a word of one
        new = ids.sub(target.token, named) if ids else named
        if new == text:
            return False
        since = handle.read()  # lines the station wrote meanwhile stay
        handle.seek(0)
        handle.write(new.encode("utf-8", errors="surrogateescape") + since)
        handle.truncate()
        handle.flush()
        os.fsync(handle.fileno())
    return True


def files_naming(paths: list[Path], target: Target) -> list[Path]:
    """The files among `paths` whose text holds their id or a name of theirs (unreadable ones count)."""
    found = []
    for path in paths:
        try:
            text = read_regular(path, SHEET_LIMIT).decode("utf-8", errors="replace")
        except OSError:
            text = target.person_id  # cannot tell: say so
        if _mentions(text, target):
            found.append(path)
    return found


COPY_NAME = re.compile(r"^attendance.*|.*\.(bak|old|orig|backup)$|.*~$", re.IGNORECASE)  # a copy of the log, by name
PACKED = (".gz", ".xz", ".bz2", ".zst", ".zip", ".tar", ".tgz")  # archives: not opened


def log_copies(data: Path) -> list[Path]:
    """Copies of the log kept in the data folder or in a folder of it named backup*: `attendance.json.bak`,
    `attendance-2026-12-01.json`, `attendance.json~`, `backup/attendance.json`; never the live files."""
    found: list[Path] = []
    try:
        folders = [data, *sorted(p for p in data.glob("[bB]ackup*") if p.is_dir() and not p.is_symlink())]
        for folder in folders:
            found += [path for path in sorted(folder.iterdir()) if COPY_NAME.match(path.name)
                      and not path.name.endswith(PACKED) and path.is_file() and not path.is_symlink()
                      and not (folder == data and path.name in DATA_FILES)]
    except OSError:  # a folder that cannot be read: what was found so far
        pass
    return found


def _mentions(text: str, target: Target) -> bool:
    """Whether free text holds their id or a name of theirs as a whole word; in markup too (a screenshot's
    SVG writes "Ann&#160;Lee")."""
    ids = name_pattern(target.ids)
    texts = [text, html.unescape(text)] if "&" in text else [text]
    return any(bool(ids and ids.search(t)) or bool(target.pattern.search(t)) for t in texts)


def without(text: str, suffix: str, target: Target) -> str | None:
    """A sheet's text without the person; the same text when it does not name them; None when `text`
    is not a sheet this program writes (a CSV with a person_id column, a report's columns, or JSON with
    sessions or people)."""
    bom = BOM if text.startswith(BOM) else ""
    body = text[len(bom):]
    if suffix == ".csv":
        new = _csv_without(body, target)
    elif suffix == ".json":
        new = _json_without(body, target)
    else:
        return None
    return None if new is None else (text if new == body else bom + new)


# ----- CSV -------------------------------------------------------------------------------------


def _csv_without(body: str, target: Target) -> str | None:
    try:
        rows = list(csv.reader(io.StringIO(body, newline="")))
    except csv.Error:
        return None
    header = rows[0] if rows else []
    theirs = _row_test(header, target.ids)
    if theirs is None:
        return None
    pattern, own = target.pattern, _name_cell(header)
    kept = [[cell if i == own(row) else pattern.sub(target.token, cell) for i, cell in enumerate(row)]
            for row in rows[1:] if not theirs(row)]
    if kept == rows[1:]:
        return body
    out = io.StringIO()
    csv.writer(out).writerows([rows[0], *kept])
    return out.getvalue()


def _begins(header: list[str], columns: tuple[str, ...]) -> bool:
    """A header of this kind, from this version or one before a column was added at its end."""
    return tuple(header[:len(columns)]) == columns or (
        len(header) >= REPORT_FIRST_COLUMNS and tuple(header) == columns[:len(header)])


def _row_test(header: list[str], person_ids: frozenset[str]) -> Callable[[list[str]], bool] | None:
    """Which rows are the person's, by the sheet's header; None for a sheet this program does not write."""
    ids = person_ids | {"'" + i for i in person_ids}  # as written, or neutralised against formulas

    def cell(row: list[str], name: str) -> str:
        index = header.index(name)
        return row[index] if index < len(row) else ""

    if "person_id" in header:
        return lambda row: cell(row, "person_id") in ids
    if "row" in header and "id" in header:  # a report of both kinds, as written before `--by`
        return lambda row: cell(row, "row") == "person" and cell(row, "id") in ids
    if _begins(header, PERSON_COLUMNS):  # a report by person
        return lambda row: cell(row, "id") in ids
    if _begins(header, SESSION_COLUMNS):  # a report by session: no row is theirs
        return lambda row: False
    if _begins(header, DAY_COLUMNS[:6]):  # work mode's hours, a row per person and day (the first six: as before)
        return lambda row: cell(row, "id") in ids
    return None


def _name_cell(header: list[str]) -> Callable[[list[str]], int | None]:
    """Where a row's person's own name is (kept: the row is someone else's); None in a row of a session."""
    if "person_id" in header and "person" in header:
        index = header.index("person")
        return lambda row: index
    if "row" in header and "name" in header:
        kind, name = header.index("row"), header.index("name")
        return lambda row: name if kind < len(row) and row[kind] == "person" else None
    if "name" in header and not _begins(header, SESSION_COLUMNS):
        index = header.index("name")
        return lambda row: index
    return lambda row: None


# ----- JSON ------------------------------------------------------------------------------------


def _json_without(body: str, target: Target) -> str | None:
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("sessions", doc.get("people")), list):
        return None
    new = _scrub_doc(_drop_people(doc, target.ids), target)
    if new == doc:
        return body
    return json.dumps(new, indent=2, ensure_ascii=False) + "\n"


def _scrub_doc(value: Any, target: Target, entries_of_people: bool = False) -> Any:
    """A sheet's JSON with their names replaced, except each person's own name in their entry (entries
    under "people" and "days" name a person; the entries of "sessions" name a session)."""
    if isinstance(value, list):
        return [_scrub_doc(v, target, entries_of_people) for v in value]
    if not isinstance(value, dict):
        return scrub_value(value, set(target.ids), target.pattern, target.token)
    own = ("person" if "person_id" in value else "name") if entries_of_people else None
    return {scrub_value(k, set(target.ids), target.pattern, target.token):
            v if k == own else _scrub_doc(v, target, k in ("people", "days")) for k, v in value.items()}


def _drop_people(doc: dict, ids: frozenset[str]) -> dict:
    """An export's sessions or a report without the person's entries (an hours report's days too); a
    session's counts follow."""
    for key in ("people", "days"):
        if isinstance(doc.get(key), list):
            doc = {**doc, key: _others(doc[key], "id", ids)}
    sessions = doc.get("sessions")
    if isinstance(sessions, list):
        doc = {**doc, "sessions": [_session_without(s, ids) for s in sessions]}
    return doc


def _session_without(session: Any, ids: frozenset[str]) -> Any:
    if not isinstance(session, dict) or not isinstance(session.get("people"), list):
        return session
    people = session["people"]
    gone = [p for p in people if isinstance(p, dict) and p.get("person_id") in ids]
    if not gone:
        return session
    counts = dict(session.get("counts") or {})
    for person in gone:
        if isinstance(counts.get(person.get("status")), int):
            counts[person["status"]] -= 1
    expected = session.get("expected")
    return {**session, "people": [p for p in people if p not in gone], "counts": counts,
            "expected": expected - len(gone) if isinstance(expected, int) else expected}


def _others(entries: list, key: str, ids: frozenset[str]) -> list:
    return [e for e in entries if not (isinstance(e, dict) and e.get(key) in ids)]
