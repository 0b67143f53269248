"""Bringing the organisation's roster in: people and groups into the log, their photos into the gallery.

Used by `faceattend people import` and by the station's import command. Every row and every
photo is checked before anything is written; photos are then copied into the person's folder
under `database_image/` and extracted, so they are recognised.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from faceattend_tui.attendance import (
    Attendance,
    ImportPlan,
    Person,
    RosterError,
    apply_import,
    plan_import,
    read_roster,
)
from faceattend_tui.config import Settings
from faceattend_tui.files import atomic_write, make_private_dir
from faceattend_tui.gallery import enroll
from faceattend_tui.gallery.extract import Extractor
from faceattend_tui.gallery.templates import enrolled_counts
from faceattend_tui.shared_gallery import forget_folder
from faceattend_tui.vision.imageio import ImageError, read_bytes, read_image


@dataclass
class ImportOutcome:
    plan: ImportPlan
    joined: list[Person] = field(default_factory=list)  # joined the running session
    photos_copied: int = 0
    photo_notes: list[str] = field(default_factory=list)  # extraction's words about the photos

    def lines(self) -> list[str]:
        """What changed, for the terminal or the screen."""
        plan = self.plan
        out = [f"added {len(plan.added)}, changed {len(plan.changed)}, left {len(plan.unchanged)} unchanged"]
        out += [f"  added {p.id} {p.name}" + (f" ({', '.join(p.groups)})" if p.groups else "") for p in plan.added]
        out += [f"  gave {old} the organisation's id {new}" for old, new in plan.claimed]
        out += [f"  changed {after.id} {_difference(before, after)}" for before, after in plan.changed]
        if plan.photos:
            out.append(f"photos: {self.photos_copied} new of {len(plan.photos)}")
        out += [f"  {note}" for note in self.photo_notes]
        if self.joined:
            out.append(f"joined the running session: {', '.join(p.name for p in self.joined)}")
        return out


def _difference(before: Person, after: Person) -> str:
    parts = []
    if before.name != after.name:
        parts.append(f"name {before.name!r} -> {after.name!r}")
    if before.groups != after.groups:
        parts.append(f"groups {'; '.join(before.groups) or '-'} -> {'; '.join(after.groups) or '-'}")
    if before.id != after.id:
        parts.append(f"id {before.id} -> {after.id}")
    return ", ".join(parts) or "folder"


def check_photos(path: Path, lines) -> None:
    """Every photo named in the roster must be a readable image; raises RosterError naming the lines."""
    problems = []
    for line in lines:
        if line.photo is None:
            continue
        try:
            read_image(line.photo)
        except ImageError as exc:
            problems.append(f"line {line.line}: {exc}")
    if problems:
        raise RosterError(path, problems)


def import_roster(attendance: Attendance, settings: Settings, path: Path, *, make_engine: Callable[[], object],
                  user: str | None = None) -> ImportOutcome:
    """Check, then apply a roster CSV; photos are copied and extracted. Raises RosterError, writes nothing then."""
    lines = read_roster(path)
    check_photos(path, lines)
    plan = plan_import(attendance, lines)
    outcome = ImportOutcome(plan)
    outcome.joined = apply_import(attendance, plan, user)
    outcome.photos_copied = sum(copy_photo(settings, person, photo) for person, photo in plan.photos)
    if outcome.photos_copied:
        report = Extractor(make_engine(), settings.images_dir, settings.tensors_dir).run()
        outcome.photo_notes = [*report.notes, *(f"skipped: {line}" for line in report.skipped)]
        outcome.joined += attendance.sync_people(enrolled_counts(settings.tensors_dir), user=user).joined
    return outcome


def copy_photo(settings: Settings, person: Person, photo: Path) -> bool:
    """Copy a roster photo into the person's folder; False when the same photo is already there."""
    data = read_bytes(photo)
    folder = settings.images_dir / person.folder
    make_private_dir(folder)  # and database_image/ when missing
    digest = hashlib.sha256(data).hexdigest()
    for existing in folder.iterdir():
        if existing.is_file() and hashlib.sha256(existing.read_bytes()).hexdigest() == digest:
            return False
    target = folder / f"roster-{digest[:12]}{photo.suffix.lower()}"
    atomic_write(target, data)
    return True


def remove_person(attendance: Attendance, settings: Settings, person: Person, *, erase: bool,
                  user: str | None = None) -> None:
    """They left (records kept) or an erasure request: their templates go first from the shared log
    (while the database is away nothing is removed), then photos and templates here, then the records."""
    if person.folder:
        forget_folder(attendance.store, settings.tensors_dir, person.folder)
        enroll.remove_person(settings, person.folder)
    attendance.remove_person(person.id, erase=erase, user=user)
