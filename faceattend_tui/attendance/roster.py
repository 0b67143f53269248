"""Importing the organisation's roster: a CSV of `id,name,groups` and optionally `photo`.

Cells are separated by commas, semicolons or tabs (the header tells which); groups inside their
cell by `;`, or by `,` or `;` in a semicolon file; a group spelt as one the log has in another case
("3a" for "3A") is that group. Importing is idempotent: a row that matches the
log changes nothing. Every row is checked before anything is written; a bad row is named with
its line number and the file is then not applied at all. A new id whose name belongs to exactly
one active person who only has a generated id (someone known from their photo folder before the
roster existed) gives that person the organisation's id instead of adding a second person.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import hashlib
import io
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from faceattend_tui.errors import InputError, RecordsError
from faceattend_tui.files import read_regular
from faceattend_tui.text import header_delimiter, name_key, spelling_key, spreadsheet_text

from .corrections import forget_person
from .models import ACTIVE, LEFT, Person, check_person_id, clean_groups, clean_name, plural, printable
from .security import erasures_by_id
from .sessions import Attendance, called, free_folder, spelled

if TYPE_CHECKING:
    from _csv import Reader

REQUIRED = ("id", "name")
MAX_ROSTER_BYTES = 64 * 2**20  # about a million lines: a larger file is not a roster (an export picked by mistake)
MAX_PHOTO_BYTES = 64 * 2**20  # as the photo reader's own limit
COLUMNS = ("id", "name", "groups", "photo")
# Cell delimiter -> the separators of groups inside a cell (";" everywhere: the separator of `--groups`).
GROUP_SEPARATORS = {",": ";", ";": ",;", "\t": ";"}
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
# Header cells a spreadsheet may use for a column the import reads: refused, so no one's groups or
# photo are dropped unnoticed. Other columns (email, notes) are left alone.
LOOK_ALIKES = {"group": "groups", "picture": "photo", "image": "photo",
               "photos": "photo", "identifier": "id", "full name": "name", "fullname": "name",
               # what school systems and other languages call a class: never left unread without a word
               **dict.fromkeys(("class", "classes", "class name", "form", "form group", "tutor group", "year group",
                                "registration group", "reg group", "homeroom", "section", "cohort", "team",
                                "classe", "groupe", "groupes", "klasse", "klassen", "gruppe", "gruppen", "grupo",
                                "grupos", "gruppo", "gruppi", "clase", "clases", "turma"), "groups")}


class RosterError(RecordsError, ValueError):
    """A roster file that cannot be imported; `problems` names each bad line."""

    def __init__(self, path: Path, problems: list[str]):
        self.problems = problems
        super().__init__(f"{path}: {plural(len(problems), 'problem')}, nothing imported:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class RosterLine:
    line: int
    id: str
    name: str
    groups: tuple[str, ...] | None  # None: the file has no groups column (the groups stay as they are)
    photo: Path | None


@dataclass
class ImportPlan:
    added: list[Person] = field(default_factory=list)
    changed: list[tuple[Person, Person]] = field(default_factory=list)  # (before, after)
    claimed: list[tuple[str, str]] = field(default_factory=list)  # (generated id, organisation's id)
    unchanged: list[Person] = field(default_factory=list)
    photos: list[tuple[Person, Path]] = field(default_factory=list)  # to copy into the person's folder
    kept_out: list[Person] = field(default_factory=list)  # in the file, but they left: not brought back
    erased: list[tuple[RosterLine, datetime]] = field(default_factory=list)  # their id was erased then: kept out
    returning: list[Person] = field(default_factory=list)  # they left; brought back (--reactivate)
    leaving: list[Person] = field(default_factory=list)  # active, not in the file: to mark as left (--sync)
    notes: list[str] = field(default_factory=list)  # worth a look, not wrong: ids that differ only in case
    checked: dict[Path, str] = field(default_factory=dict)  # each photo's SHA-256 when it was checked

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.claimed or self.photos or self.returning or self.leaving)


def read_roster(path: Path, photos_from: tuple[Path, ...] = (),
                photo_problem: Callable[[Path], str] | None = None,
                digests: dict[Path, str] | None = None) -> list[RosterLine]:
    """The rows of a roster CSV (UTF-8, with or without a byte-order mark, or UTF-16 with one; cells
    separated by commas, semicolons or tabs, whichever the header uses); raises RosterError naming
    every problem at once.

    Lines are the file's own line numbers: a record with a quoted line break is named by its first.
    Photos must lie in the CSV's folder (or below it), or in one of `photos_from`; `photo_problem`
    says what is wrong with one that is there ("" when nothing is). `digests`, when given, is filled
    with each readable photo's SHA-256 (each photo is read once for it).
    """
    try:
        text = spreadsheet_text(read_regular(path, MAX_ROSTER_BYTES))  # a FIFO or a device never blocks the reader
    except OSError as exc:
        raise RosterError(path, [f"cannot read the file ({exc.strerror or exc})"]) from None
    except ValueError as exc:
        raise RosterError(path, [str(exc)]) from None
    delimiter = header_delimiter(text, REQUIRED)
    problems: list[str] = []
    records = _records(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True), problems)
    header_line, header = next(records, (1, []))
    header = [cell.strip().lower() for cell in header]
    _check_header(path, header_line, header, problems)
    lines: list[RosterLine] = []
    seen: dict[str, int] = {}  # id -> line
    for number, cells in records:
        if _cells_of_header(cells) == _cells_of_header(header):  # two exports pasted together: not a person
            continue
        try:
            line = _parse_row(number, _cells_by_column(header, cells, delimiter), path.parent, delimiter,
                              (path.parent, *photos_from))
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
            continue
        problem = photo_problem(line.photo) if photo_problem and line.photo else ""
        if problem:
            problems.append(f"line {number}: {problem}")
        if line.id in seen:
            problems.append(f"line {number}: id {line.id!r} is also on line {seen[line.id]}")
            continue
        seen[line.id] = number
        lines.append(line)
    problems += _shared_photos(lines, {} if digests is None else digests)
    if problems:
        raise RosterError(path, problems)
    return lines


def _shared_photos(lines: list[RosterLine], digests: dict[Path, str]) -> list[str]:
    """A photo given to two people (a spreadsheet's fill-down): the door could not tell them apart.
    `digests` is filled with each readable photo's SHA-256."""
    problems: list[str] = []
    first: dict[str, RosterLine] = {}
    for line in lines:
        if line.photo is None:
            continue
        try:
            digest = digests.get(line.photo) or hashlib.sha256(read_regular(line.photo, MAX_PHOTO_BYTES)).hexdigest()
        except OSError:
            continue  # said by the photo's own check
        digests[line.photo] = digest
        if digest in first:
            other = first[digest]
            problems.append(f"line {line.line}: the same photo as line {other.line} ({printable(other.id)}); "
                            "each person needs a photo of their own")
        else:
            first[digest] = line
    return problems


def _cells_of_header(cells: list[str]) -> list[str]:
    """A row as a header is compared: lower case, without a byte-order mark (files pasted together each
    bring theirs) nor the empty cells at its end."""
    found = [cell.replace("\ufeff", "").strip().lower() for cell in cells]
    while found and not found[-1]:
        found.pop()
    return found


def _records(reader: Reader, problems: list[str]) -> Iterator[tuple[int, list[str]]]:
    """(first line, cells) of every record that is not blank. A record the CSV reader cannot read is
    added to problems; after a broken quote or an oversized cell the rest of the file is not read."""
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problem, goes_on = _csv_problem(exc)
            problems.append(f"line {start}: {problem}")
            if not goes_on:
                return
            cells = []
        if any(cell.strip() for cell in cells):
            yield start, cells
        start = reader.line_num + 1


def _csv_problem(exc: csv.Error) -> tuple[str, bool]:
    """What went wrong, in plain words, and whether reading can go on with the next line."""
    text = str(exc)
    if "expected after" in text:
        return 'text after the closing quote of a cell (a quote inside a quoted cell is written "")', True
    if "field limit" in text:
        text = f"a cell longer than {csv.field_size_limit() // 1024} KiB (often a quote that is never closed)"
    elif "end of data" in text:
        text = "a quote opens a cell and is never closed"
    else:
        text = f"not readable as CSV ({text})"
    return f"{text}; nothing after it was read", False


def _check_header(path: Path, number: int, header: list[str], problems: list[str]) -> None:
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        problems.append(f"line {number}: missing {'column' if len(missing) == 1 else 'columns'} {', '.join(missing)} "
                        "(expected id,name,groups[,photo], separated by commas, semicolons or tabs)")
    for cell in header:
        meant = _meant_column(cell)
        if meant and meant not in header:
            problems.append(f"line {number}: column {printable(cell)!r} is not one the import reads; call it {meant} "
                            f"(it reads {', '.join(COLUMNS)})")
    twice = [c for c in COLUMNS if header.count(c) > 1]
    if twice:
        problems.append(f"line {number}: {'column' if len(twice) == 1 else 'columns'} {', '.join(twice)} more than "
                        "once in the header")
    if problems:
        raise RosterError(path, problems)


def _meant_column(cell: str) -> str | None:
    """The column a header cell that is not one of COLUMNS was meant to be ("group" for groups), if any."""
    if not cell or cell in COLUMNS:
        return None
    if cell in LOOK_ALIKES:
        return LOOK_ALIKES[cell]
    close = difflib.get_close_matches(cell, COLUMNS, n=1, cutoff=0.8)
    return close[0] if close else None


def _cells_by_column(header: list[str], cells: list[str], delimiter: str) -> dict[str, str]:
    if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header):]):
        raise InputError(f"more cells than columns (a {DELIMITER_NAMES[delimiter]} inside a cell needs quotes)")
    row = {column: cells[i] if i < len(cells) else "" for i, column in enumerate(header)}  # a short row: empty
    broken = [c for c in COLUMNS if "\n" in row.get(c, "") or "\r" in row.get(c, "")]
    if broken:
        raise InputError(f"a line break inside the {broken[0]} cell (one person per line)")
    return row


def _parse_row(number: int, row: dict, folder: Path, delimiter: str, roots: tuple[Path, ...] = ()) -> RosterLine:
    person_id = check_person_id(row.get("id") or "")
    name = clean_name(row.get("name") or "", "the name")
    if not name:
        raise InputError("the name is empty")
    groups = clean_groups(re.split(f"[{GROUP_SEPARATORS[delimiter]}]", row["groups"])) if "groups" in row else None
    photo_text = (row.get("photo") or "").strip()
    photo = _photo(photo_text, folder, roots or (folder,)) if photo_text else None
    return RosterLine(number, person_id, name, groups, photo)


def _photo(text: str, folder: Path, roots: tuple[Path, ...]) -> Path:
    """A roster photo inside one of `roots`; whether a file elsewhere exists is never told."""
    photo = (folder / Path(text)).resolve()
    if not any(photo.is_relative_to(root.resolve()) for root in roots):
        raise InputError(f"photo '{printable(text)}' is outside the roster's folder; --photos-from DIR allows "
                         "another folder")
    if not photo.is_file():
        raise InputError(f"photo '{printable(text)}' cannot be read")
    return photo


def plan_import(attendance: Attendance, lines: list[RosterLine], *, reactivate: bool = False,
                sync: bool = False) -> ImportPlan:
    """What importing these lines would change. Someone who left comes back only with `reactivate`, and
    so does an id erased earlier; active people missing from the file are marked left only with `sync`."""
    plan = ImportPlan()
    now = attendance.store.now()
    claimable = Claimable(_claimable_by_name(attendance))
    spelt_here = {spelling_key(line.name) for line in lines}  # a folder a line spells exactly is that line's
    wanted = Counter(p.id for line in lines for p in called(_open_to(claimable, line, spelt_here), line.name))
    spellings = attendance.spellings()  # a group written "3A" on one line and "3a" on the next is one group
    taken = TakenFolders({line.id for line in lines})
    erased = erasures_by_id(attendance.store.audit_log())
    folded = {p.folder.casefold() for p in attendance.people(include_left=True) if p.folder}  # in any case
    for line in lines:
        if line.groups is not None:
            line = dataclasses.replace(line, groups=spelled(line.groups, spellings))
        current, claimed, returning = attendance.person(line.id), False, False
        erased_at = erased(line.id) if current is None and not reactivate else None
        if erased_at is not None:
            plan.erased.append((line, erased_at))  # a nightly file that still lists them
            continue
        if current is not None and not current.active:
            if not reactivate:
                plan.kept_out.append(current)
                if name_key(current.name) != name_key(line.name):  # an id given again to someone new?
                    plan.notes.append(f"{line.id} is {printable(current.name)}'s, who left; the file calls "
                                      f"{line.id} {printable(line.name)}: someone new needs an id of their own "
                                      f"(--reactivate would give them {printable(current.name)}'s records)")
                continue
            plan.returning.append(current)
            current, returning = dataclasses.replace(current, state=ACTIVE, left_at=None, folder=""), True
        open_to = _open_to(claimable, line, spelt_here)
        named = called(open_to, line.name)
        by_name = [p for p in named if wanted[p.id] == 1]  # photos two lines of the file could mean: neither's
        claims = [] if current else by_name or folder_of_id(open_to, line.id)
        if not current and not claims and len(by_name) < len(named):
            plan.notes.append(_namesakes_note(line, lines, named))
        if len(claims) == 1:
            known = claims[0]
            claimable.remove(known)
            plan.claimed.append((known.id, line.id))
            current, claimed = dataclasses.replace(known, id=line.id), True
        taken.line = line.id
        if current is None:
            folder = free_folder(attendance, line.id, taken, folded) if line.photo else ""
            person = Person(line.id, line.name, now, folder=folder, groups=line.groups or ())
            plan.added.append(person)
        else:
            person = dataclasses.replace(current, name=line.name,
                                         groups=current.groups if line.groups is None else line.groups,
                                         folder=current.folder or (free_folder(attendance, line.id, taken, folded)
                                                                   if line.photo else ""))
            if person != current or claimed or returning:
                plan.changed.append((attendance.person(current.id) or current, person))
            else:
                plan.unchanged.append(current)
        taken.planned.add(person.folder.casefold())
        if line.photo is not None:
            plan.photos.append((person, line.photo))
    plan.notes = list(dict.fromkeys(plan.notes))  # a note of namesakes once, not on each of their lines
    plan.notes += _ids_alike([p.id for p in attendance.people(include_left=True)], [line.id for line in lines])
    listed = {line.id for line in lines} | {old for old, _ in plan.claimed}
    if sync:
        plan.leaving = [p for p in attendance.people() if p.id not in listed]
    plan.notes += _same_name_new_id(attendance, plan.added, listed)
    return plan


def _open_to(claimable: Claimable, line: RosterLine, spelt_here: set[str]) -> list[Person]:
    """Those known only by a generated id the line may claim: not one whose name another line spells exactly."""
    return [p for p in claimable.candidates(line) if spelling_key(p.name) == spelling_key(line.name)
            or spelling_key(p.name) not in spelt_here]


def _namesakes_note(line: RosterLine, lines: list[RosterLine], known: list[Person]) -> str:
    """Photos known by a name that several lines of the file have: given to none of them."""
    ids = ", ".join(other.id for other in lines if spelling_key(other.name) == spelling_key(line.name)
                    or name_key(other.name) == name_key(line.name))
    folders = ", ".join(f"database_image/{printable(p.folder)} ({p.id})" for p in known if p.folder) or "none"
    return (f"{printable(line.name)} is on several lines ({ids}): the photos known by that name ({folders}) are "
            "given to none of them; move them to the folder of the one they show (database_image/ID) and run "
            "`faceattend extract`")


def _same_name_new_id(attendance: Attendance, added: list[Person], listed: set[str]) -> list[str]:
    """People the file adds under a new id whose name someone not in the file has: the same person with an id a
    spreadsheet changed (007 read as 7)? Their photos and records would stay with the old id."""
    others: dict[str, list[Person]] = {}
    for person in attendance.people(include_left=True):
        if person.id not in listed and not person.id.startswith("p-"):
            others.setdefault(name_key(person.name), []).append(person)
    return [f"{p.id} {printable(p.name)} is new, and {other.id} {printable(other.name)} is not in the file: the "
            f"same person with the id written otherwise (a spreadsheet drops leading zeros: 007 becomes 7)? "
            f"Their photos and records stay with {other.id}; check the file's ids"
            for p in added for other in others.get(name_key(p.name), [])]


class TakenFolders:
    """Photo folders a roster line may not get, asked in lower case: those of the file's people so far, and
    any named as another line's id (photos dropped there later would be theirs). Kept as counts, not made
    again for each line: a roster of 10,000 took minutes."""

    def __init__(self, ids: set[str]):
        self.ids = Counter(person_id.casefold() for person_id in ids)
        self.planned: set[str] = set()
        self.line = ""  # the id of the line being planned

    def __contains__(self, folded: object) -> bool:
        if folded in self.planned:
            return True
        others = self.ids.get(folded, 0) if isinstance(folded, str) else 0
        return others > (1 if folded == self.line.casefold() else 0)


def _ids_alike(known: list[str], listed: list[str]) -> list[str]:
    """The new ids of the file that differ from another id only in case ("s1042" beside "S1042")."""
    by_case: dict[str, set[str]] = {}
    for person_id in [*known, *listed]:
        by_case.setdefault(person_id.casefold(), set()).add(person_id)
    new = set(listed) - set(known)
    return [f"ids {', '.join(sorted(ids))} differ only in case: they are different people; check the file"
            for ids in by_case.values() if len(ids) > 1 and ids & new]


def folder_of_id(people: list[Person], person_id: str) -> list[Person]:
    """Those whose photo folder is named by this id: exactly, else in another case (database_image/s1042/)."""
    return [p for p in people if p.folder == person_id] or \
        [p for p in people if p.folder.casefold() == person_id.casefold()]


class Claimable:
    """The people a roster line may claim (`_claimable_by_name`), found by the keys a line claims them by
    (its name's spelling, the name without accents, its id as a folder): a line looks at those few, not at
    everyone (a first roster of 2,000 for a site known by name took 14 s)."""

    def __init__(self, people: list[Person]):
        self.left = {p.id: p for p in people}
        self.index: dict[str, list[Person]] = {}
        for person in people:
            for key in self._keys(person.name, person.folder):
                self.index.setdefault(key, []).append(person)

    @staticmethod
    def _keys(name: str, folder: str) -> tuple[str, ...]:
        return "s:" + spelling_key(name), "n:" + name_key(name), "f:" + folder.casefold()

    def candidates(self, line: RosterLine) -> list[Person]:
        """Everyone the line could claim by `called` or `folder_of_id` (and perhaps a few more)."""
        keys = self._keys(line.name, line.id)
        return list({p.id: p for key in keys for p in self.index.get(key, ()) if p.id in self.left}.values())

    def remove(self, person: Person) -> None:
        self.left.pop(person.id, None)


def _claimable_by_name(attendance: Attendance) -> list[Person]:
    """Active people known only by a generated id: a roster line of their name (`called`) claims them (a
    folder named "ann lee" is Ann Lee's), and so does one whose id is their folder's name (S1042/ is
    S1042's)."""
    return [p for p in attendance.people() if p.id.startswith("p-")]


def apply_import(attendance: Attendance, plan: ImportPlan, user: str | None = None) -> list[Person]:
    """Write the plan in one batch; returns the people who joined the running session."""
    store = attendance.store
    with store.batch():
        for old, new in plan.claimed:
            store.change_person_id(old, new)
            forget_person(store, old, new)  # their days corrected by hand follow them
        if plan.claimed:  # ids changed: read again before the people are saved
            attendance.reload_people()
        now = store.now()
        gone = [dataclasses.replace(p, state=LEFT, left_at=now, images=0) for p in plan.leaving]
        people = plan.added + [after for _, after in plan.changed] + gone
        renamed = [[before.id, before.name] for before, after in plan.changed if before.name != after.name]
        joined = attendance.save_people(people, "people.import", user=user, new=[p.id for p in plan.added],
                                        details={"added": len(plan.added), "changed": len(plan.changed),
                                                 "claimed": [list(pair) for pair in plan.claimed],
                                                 "renamed": renamed,  # names before: an erasure takes them too
                                                 "returned": [p.id for p in plan.returning],
                                                 "left": [p.id for p in plan.leaving]})
    if plan.claimed or plan.added or plan.changed or plan.leaving:  # an import that changed nobody wrote nothing
        attendance.refresh()
    return joined
