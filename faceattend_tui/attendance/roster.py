"""Importing the organisation's roster: a CSV of `id,name,groups` and optionally `photo`.

Groups are separated by `;` inside their cell. Importing is idempotent: a row that matches the
log changes nothing. Every row is checked before anything is written; a bad row is named with
its line number and the file is then not applied at all. A new id whose name belongs to exactly
one active person who only has a generated id (someone known from their photo folder before the
roster existed) gives that person the organisation's id instead of adding a second person.
"""

from __future__ import annotations

import csv
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from .models import Person, check_person_id, clean_groups
from .sessions import Attendance

REQUIRED = ("id", "name")
GROUP_SEPARATOR = ";"


class RosterError(ValueError):
    """A roster file that cannot be imported; `problems` names each bad line."""

    def __init__(self, path: Path, problems: list[str]):
        self.problems = problems
        super().__init__(f"{path}: {len(problems)} problem(s), nothing imported:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class RosterLine:
    line: int
    id: str
    name: str
    groups: tuple[str, ...]
    photo: Path | None


@dataclass
class ImportPlan:
    added: list[Person] = field(default_factory=list)
    changed: list[tuple[Person, Person]] = field(default_factory=list)  # (before, after)
    claimed: list[tuple[str, str]] = field(default_factory=list)  # (generated id, organisation's id)
    unchanged: list[Person] = field(default_factory=list)
    photos: list[tuple[Person, Path]] = field(default_factory=list)  # to copy into the person's folder

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.claimed or self.photos)


def read_roster(path: Path) -> list[RosterLine]:
    """The rows of a roster CSV (UTF-8, with or without a byte-order mark); raises RosterError."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise RosterError(path, [f"cannot read the file ({exc})"]) from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise RosterError(path, [f"line 1: missing column(s) {', '.join(missing)} (expected id,name,groups[,photo])"])
    reader.fieldnames = header
    lines, problems, seen = [], [], {}
    for number, row in enumerate(reader, start=2):
        try:
            line = _parse_row(number, row, path.parent)
        except ValueError as exc:
            problems.append(f"line {number}: {exc}")
            continue
        if line.id in seen:
            problems.append(f"line {number}: id {line.id!r} is also on line {seen[line.id]}")
            continue
        seen[line.id] = number
        lines.append(line)
    if problems:
        raise RosterError(path, problems)
    return lines


def _parse_row(number: int, row: dict, folder: Path) -> RosterLine:
    if None in row:
        raise ValueError("more cells than columns (a comma inside a name needs quotes)")
    person_id = check_person_id(row.get("id") or "")
    name = " ".join((row.get("name") or "").split())
    if not name:
        raise ValueError("the name is empty")
    groups = clean_groups((row.get("groups") or "").split(GROUP_SEPARATOR))
    photo_text = (row.get("photo") or "").strip()
    photo = None
    if photo_text:
        photo = Path(photo_text).expanduser()
        photo = photo if photo.is_absolute() else folder / photo
        if not photo.is_file():
            raise ValueError(f"photo {photo_text!r} not found")
    return RosterLine(number, person_id, name, groups, photo)


def plan_import(attendance: Attendance, lines: list[RosterLine]) -> ImportPlan:
    plan = ImportPlan()
    now = attendance.store.now()
    claimable = _claimable_by_name(attendance)
    for line in lines:
        current, claimed = attendance.person(line.id), False
        if current is None and len(claimable.get(line.name, [])) == 1:
            known = claimable.pop(line.name)[0]
            plan.claimed.append((known.id, line.id))
            current, claimed = dataclasses.replace(known, id=line.id), True
        if current is None:
            person = Person(line.id, line.name, now, folder=line.id if line.photo else "", groups=line.groups)
            plan.added.append(person)
        else:
            person = dataclasses.replace(current, name=line.name, groups=line.groups,
                                         folder=current.folder or (line.id if line.photo else ""))
            if person != current or claimed:
                plan.changed.append((current, person))
            else:
                plan.unchanged.append(current)
        if line.photo is not None:
            plan.photos.append((person, line.photo))
    return plan


def _claimable_by_name(attendance: Attendance) -> dict[str, list[Person]]:
    """Active people known only by a generated id, by name."""
    found: dict[str, list[Person]] = {}
    for person in attendance.people():
        if person.id.startswith("p-"):
            found.setdefault(person.name, []).append(person)
    return found


def apply_import(attendance: Attendance, plan: ImportPlan, user: str | None = None) -> list[Person]:
    """Write the plan in one batch; returns the people who joined the running session."""
    store = attendance.store
    with store.batch():
        for old, new in plan.claimed:
            store.change_person_id(old, new)
        attendance.reload_people()
        people = plan.added + [after for _, after in plan.changed]
        joined = attendance.save_people(people, "people.import", user=user,
                                        details={"added": len(plan.added), "changed": len(plan.changed),
                                                 "claimed": [list(pair) for pair in plan.claimed]})
    attendance.refresh()
    return joined
