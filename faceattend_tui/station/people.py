"""Bringing the organisation's roster in: people and groups into the log, their photos into the gallery.

Used by `faceattend people import` and by the station's import command. Every row and every
photo is checked before anything is written; photos are then copied into the person's folder
under `database_image/` and extracted, so they are recognised.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import shlex
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from faceattend_tui.attendance import (
    Attendance,
    ImportPlan,
    Person,
    RosterError,
    Store,
    apply_import,
    plan_import,
    read_roster,
)
from faceattend_tui.attendance.erasure import Cleanup, Target, clean_folder, files_naming, log_copies, scrub_logs
from faceattend_tui.attendance.models import AuditEntry, check_person_id, join_groups, plural, printable
from faceattend_tui.attendance.roster import RosterLine
from faceattend_tui.attendance.security import audit, earlier_ids, erased_token, names_in_audit, token_of_erasure
from faceattend_tui.config import Settings
from faceattend_tui.errors import FaceattendError, InputError
from faceattend_tui.files import atomic_write, error_text, keep_note, leftover_copies, make_private_dir
from faceattend_tui.gallery import enroll
from faceattend_tui.gallery.extract import Extractor
from faceattend_tui.gallery.templates import (
    MANIFEST,
    GalleryError,
    NotYours,
    enrolled_counts,
    legacy_copies,
    load_manifest,
)
from faceattend_tui.station import enrolling
from faceattend_tui.station.shared_gallery import erased_leftovers_note, forget_folder
from faceattend_tui.vision.imageio import ImageError, is_image_name, read_bytes, read_image
from faceattend_tui.vision.imagesize import image_suffix

if TYPE_CHECKING:
    from faceattend_tui.vision.pipeline import FaceEngine


@dataclass
class ImportOutcome:
    plan: ImportPlan
    joined: list[Person] = field(default_factory=list)  # joined the running session
    photos_copied: int = 0
    photo_notes: list[str] = field(default_factory=list)  # extraction's words about the photos
    photo_skipped: list[str] = field(default_factory=list)  # "file: why" for photos that gave no template
    to_extract: bool = False  # photos without templates yet: `extract_imported` makes them
    photos_stopped: tuple[int, int] | None = None  # staff stopped the photos' reading: read, of those to read
    not_copied: list[str] = field(default_factory=list)  # "file: why" for photos changed since checked or unwritable
    alike: list[frozenset[str]] = field(default_factory=list)  # folders of people said to look like one
    new_photos: int | None = None  # for a dry run: the photos not in their folders yet

    def lines(self, skipped: bool = True, dry_run: bool = False) -> list[str]:
        """What changed (or would change, for a dry run), for the terminal or the screen (`skipped`: with the
        photos that gave no template)."""
        plan = self.plan
        returning = {p.id for p in plan.returning}
        changes = {after.id: _difference(before, after) for before, after in plan.changed}
        shown = [(b, a) for b, a in plan.changed if a.id not in returning and changes[a.id]]  # a claim says itself
        changed = {after.id for _, after in shown} | {new for _, new in plan.claimed}  # a claim renamed: one person
        out = [f"added {len(plan.added)}, changed {len(changed)}, left "
               f"{len(plan.unchanged)} unchanged" + (f", brought back {len(returning)}" if returning else "")
               + (f", {len(plan.leaving)} marked as left" if plan.leaving else "")]
        out += [f"  added {p.id} {printable(p.name)}" + (f" ({printable(join_groups(p.groups))})" if p.groups else "")
                for p in plan.added]
        out += [f"  gave {old} the organisation's id {new}" for old, new in plan.claimed]
        out += [f"  changed {after.id} {changes[after.id]}" for _, after in shown]
        out += [f"  brought back {p.id} {printable(p.name)} (left on {p.left_at:%Y-%m-%d})"
                + (f", {changes[p.id]}" if changes.get(p.id) else "") for p in plan.returning]
        out += [f"  {p.id} {printable(p.name)} left on {p.left_at:%Y-%m-%d}: kept out; --reactivate to bring back"
                for p in plan.kept_out]
        out += [f"  {line.id} {printable(line.name)}: erased on {when.astimezone():%Y-%m-%d}: kept out; --reactivate "
                "to add them again" for line, when in plan.erased]
        out += [f"  marked as left (not in the file): {p.id} {printable(p.name)}" for p in plan.leaving]
        out += [f"  note: {note}" for note in plan.notes]
        if plan.photos:
            out.append(self._photos_to_copy() if dry_run else f"photos: {self.photos_copied} new of {len(plan.photos)}")
        if self.photos_stopped:
            done, total = self.photos_stopped
            out.append(f"photos: stopped after {done} of {total} read; import the file again to read the rest "
                       "(those not read yet are not recognised until then)")
        out += [f"  {note}" for note in self.photo_notes]
        out += [f"  not copied: {line}" for line in self.not_copied if skipped]
        out += [f"  skipped: {line}" for line in self.photo_skipped if skipped]
        if self.joined:
            out.append(f"joined the running session: {names_listed([p.name for p in self.joined])}")
        return out

    def _photos_to_copy(self) -> str:
        total = len(self.plan.photos)
        new = total if self.new_photos is None else self.new_photos
        return f"photos: {new} to copy" + (f" ({total - new} already in place)" if new < total else "")


def _difference(before: Person, after: Person) -> str:
    parts = []
    if before.name != after.name:
        parts.append(f"name '{printable(before.name)}' -> '{printable(after.name)}'")
    if before.groups != after.groups:
        was, now = (printable(join_groups(p.groups)) or "-" for p in (before, after))
        parts.append(f"groups {was} -> {now}")
    if before.id != after.id:
        parts.append(f"id {before.id} -> {after.id}")
    if before.folder != after.folder:
        parts.append(f"photos in database_image/{after.folder}" if after.folder else "no photo folder")
    return ", ".join(parts)


def unreadable_photo(photo: Path) -> str:
    """Why a roster photo cannot be read as an image; "" when it can."""
    try:
        read_image(photo)
    except ImageError:
        return f"photo {photo.name!r} cannot be read as an image"
    return ""


@dataclass(frozen=True)
class ReadRoster:
    """A roster CSV read and its photos checked, before the log is looked at (the long part)."""

    path: Path
    lines: list[RosterLine]
    digests: dict[Path, str]  # each readable photo's SHA-256


def read_roster_photos(path: Path, photos_from: tuple[Path, ...] = ()) -> ReadRoster:
    """Read a roster CSV and every photo it names (each decoded once, then hashed); raises RosterError.
    Needs no lock: the station goes on checking people in meanwhile."""
    digests: dict[Path, str] = {}
    lines = read_roster(path, photos_from, unreadable_photo, digests)  # each photo hashed once, there
    return ReadRoster(path, lines, digests)


def plan_roster(attendance: Attendance, path: Path | ReadRoster, *, reactivate: bool = False, sync: bool = False,
                photos_from: tuple[Path, ...] = (), tensors: Path | None = None) -> ImportPlan:
    """Check a roster CSV (or one read already) and its photos and say what importing it would change;
    raises RosterError. With `tensors`, a photo already enrolled as someone else's is refused too."""
    read = path if isinstance(path, ReadRoster) else read_roster_photos(path, photos_from)
    photos = any(line.photo is not None and line.photo in read.digests for line in read.lines)
    problems = photos_of_others(attendance, read, tensors) if tensors is not None and photos else []
    if problems:
        raise RosterError(read.path, problems)
    plan = plan_import(attendance, read.lines, reactivate=reactivate, sync=sync)
    plan.checked = dict(read.digests)  # what is copied must be what was checked
    return plan


def photos_of_others(attendance: Attendance, read: ReadRoster, tensors: Path) -> list[str]:
    """Lines whose photo is, byte for byte, one enrolled under another person's folder."""
    try:
        manifest = load_manifest(tensors)
    except GalleryError:
        return []  # the station and extract say what is wrong with it
    owners = {sample.get("sha256"): folder for folder, entry in (manifest.people.items() if manifest else [])
              for sample in entry.samples}
    problems = []
    for line in read.lines:
        if line.photo is None or line.photo not in read.digests:
            continue
        owner = owners.get(read.digests[line.photo])
        current = attendance.person(line.id)
        if owner is not None and owner != ((current.folder if current else "") or line.id):
            known = attendance.by_folder(owner)
            who = f"{printable(known.name)} ({known.id})" if known else owner
            problems.append(f"line {line.line}: this photo is already {who}'s; each person needs a photo of their own")
    return problems


def import_roster(attendance: Attendance, settings: Settings, path: Path, *, make_engine: Callable[[], FaceEngine],
                  user: str | None = None, reactivate: bool = False, sync: bool = False,
                  plan: ImportPlan | None = None) -> ImportOutcome:
    """Check, then apply a roster CSV: people first (one batch), then photos, then templates.

    Raises RosterError and writes nothing when a row is bad. Cut short after the people were written,
    a rerun completes it: photos not yet copied are copied and any photo without templates is extracted.
    """
    outcome = import_people(attendance, settings, path, user=user, reactivate=reactivate, sync=sync, plan=plan)
    extract_imported(outcome, settings, make_engine)
    join_imported(attendance, settings, outcome, user)
    return outcome


def import_people(attendance: Attendance, settings: Settings, path: Path, *, user: str | None = None,
                  reactivate: bool = False, sync: bool = False, plan: ImportPlan | None = None) -> ImportOutcome:
    """An import's first part, on the log: its people written, their photos copied."""
    plan = plan or plan_roster(attendance, path, reactivate=reactivate, sync=sync, tensors=settings.tensors_dir)
    outcome = write_people(attendance, settings, plan, user)
    copy_photos(settings, outcome)
    return outcome


def write_people(attendance: Attendance, settings: Settings, plan: ImportPlan, user: str | None) -> ImportOutcome:
    """An import's people written to the log (the part that needs the station's lock)."""
    outcome = ImportOutcome(plan)
    for person in plan.leaving:  # as `people remove`, files first: cut short, a rerun still sees them leave
        _forget_photos(attendance, settings, person)
    outcome.joined = apply_import(attendance, plan, user)
    return outcome


NO_ROOM = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EROFS)  # the next photo fares no better


def copy_photos(settings: Settings, outcome: ImportOutcome) -> None:
    """An import's photos copied into their people's folders (files only: no lock of the log). Cut short, a
    rerun of the import copies the rest."""
    plan = outcome.plan
    for index, (person, photo) in enumerate(plan.photos):
        try:
            outcome.photos_copied += copy_photo(settings, person, photo, plan.checked.get(photo))
        except PhotoChanged as exc:
            outcome.not_copied.append(str(exc))
        except OSError as exc:  # the people are written: said with the photo, and the rest still tried
            outcome.not_copied.append(f"{printable(str(photo))}: could not be copied into "
                                      f"{printable(str(settings.images_dir / person.folder))} "
                                      f"({error_text(exc)}); import the file again once that is put right")
            if exc.errno in NO_ROOM and index + 1 < len(plan.photos):
                outcome.not_copied.append(f"{plural(len(plan.photos) - index - 1, 'more photo')} not tried: "
                                          "no room to copy them")
                break
    folders = {person.folder for person, _ in plan.photos}
    outcome.to_extract = bool(outcome.photos_copied) or needs_extraction(settings, folders)


def extract_imported(outcome: ImportOutcome, settings: Settings, make_engine: Callable[[], FaceEngine],
                     watch: PhotoWatch | None = None) -> None:
    """An import's long part, on files only (the templates' own lock guards them): the photos' templates.
    `watch` hears how many photos are read and may stop the reading between two people."""
    if not outcome.to_extract:
        return
    watch = watch or PhotoWatch()
    extractor = Extractor(make_engine(), settings.images_dir, settings.tensors_dir,
                          progress=lambda done, total, _: watch.read(done, total), stop=watch.stop.is_set)
    report = extractor.run()
    outcome.photo_notes, outcome.photo_skipped, outcome.photos_stopped = report.notes, report.skipped, report.stopped
    outcome.alike = [frozenset(pair) for pair in report.alike]


@dataclass(eq=False)  # one watch per import: held in a set by identity
class PhotoWatch:
    """Someone following an import's photos: told each photo read, and able to stop between two people."""

    read: Callable[[int, int], None] = lambda done, total: None
    stop: threading.Event = field(default_factory=threading.Event)


def join_imported(attendance: Attendance, settings: Settings, outcome: ImportOutcome, user: str | None) -> None:
    """An import's last part, on the log (once `extract_imported` has run): people whose templates are now
    made join the running session."""
    if outcome.to_extract:
        enrolled = enrolled_counts(settings.tensors_dir)
        outcome.photo_notes += enrolling.finish_cut_short(attendance, settings, enrolled)  # before a folder is a name
        outcome.joined += attendance.sync_people(enrolled, user=user).joined


def needs_extraction(settings: Settings, folders: set[str]) -> bool:
    """Whether any photo in these people's folders has no template yet (or the manifest cannot say)."""
    try:
        manifest = load_manifest(settings.tensors_dir)
    except GalleryError:
        return True
    for folder in folders:
        entry = manifest.people.get(folder) if manifest else None
        done = {s.get("image") for s in (entry.samples if entry else [])}
        photos = settings.images_dir / folder
        if photos.is_dir() and any(f"{folder}/{p.name}" not in done for p in photos.iterdir() if is_image_name(p)):
            return True
    return False


class PhotoChanged(FaceattendError):
    """A roster photo that is not, byte for byte, the one the import checked."""


def copy_photo(settings: Settings, person: Person, photo: Path, checked: str | None = None) -> bool:
    """Copy a roster photo into the person's folder; False when the same photo is already there.
    `checked`: its SHA-256 when the roster was checked; PhotoChanged when it is another photo now."""
    data = read_bytes(photo)
    digest = hashlib.sha256(data).hexdigest()
    if checked is not None and digest != checked:
        raise PhotoChanged(f"{printable(str(photo))}: changed since the roster was checked (import the file again)")
    folder = settings.images_dir / person.folder
    make_private_dir(folder)  # and database_image/ when missing
    for leftover in folder.glob(".roster-*.tmp"):  # a copy cut short (the import holds the log: none runs now)
        leftover.unlink(missing_ok=True)
    if _in_folder(folder, digest):
        return False
    target = folder / f"roster-{digest[:12]}{photo_suffix(photo, data)}"
    atomic_write(target, data)
    return True


def new_photos(settings: Settings, plan: ImportPlan) -> int:
    """How many of an import's photos are not in their people's folders yet (what a dry run would copy)."""
    def there(person: Person, photo: Path) -> bool:
        try:
            digest = plan.checked.get(photo) or hashlib.sha256(read_bytes(photo)).hexdigest()
            return _in_folder(settings.images_dir / person.folder, digest)
        except OSError:
            return False
    return sum(not there(person, photo) for person, photo in plan.photos)


def _in_folder(folder: Path, digest: str) -> bool:
    """Whether a photo extraction reads in `folder` is this one (a hidden copy cut short is not)."""
    return folder.is_dir() and any(p.is_file() and is_image_name(p) and hashlib.sha256(p.read_bytes()).hexdigest()
                                   == digest for p in folder.iterdir())


def photo_suffix(photo: Path, data: bytes) -> str:
    """The copy's suffix: one extraction reads, from the content when the name's is not ("tang.jfif")."""
    return photo.suffix.lower() if is_image_name(photo) else image_suffix(data) or ".jpg"


def missing_templates_message(settings: Settings, people: list[Person]) -> str:
    """Why the station cannot start with these people's templates missing, and the one command that repairs it."""
    names = ", ".join(f"{printable(p.name)} ({p.id})" for p in people[:5]) + (" ..." if len(people) > 5 else "")
    try:
        manifest = load_manifest(settings.tensors_dir)
        why = "" if manifest is not None else f"{settings.tensors_dir / MANIFEST} is missing"
    except NotYours as exc:
        return f"{exc}; nobody's status was changed"  # there to read once given back: extract would not help
    except GalleryError as exc:
        why = str(exc)
    what = f"the templates of {plural(len(people), 'person', 'people')} are missing ({names})"
    return (f"{why + ': ' if why else ''}{what}; nobody's status was changed. Rebuild them from "
            f"{settings.images_dir} with: faceattend extract --data {settings.data}")


@dataclass
class Removal:
    """What a removal did and, for an erasure, which files still name the person."""

    person: Person | None  # None: erased earlier, only the exports were rewritten
    token: str = ""  # an erasure's stand-in for them in the audit and in rewritten exports
    exports: Cleanup = field(default_factory=Cleanup)
    backups: list[Path] = field(default_factory=list)  # earlier copies of the log that name them
    elsewhere: list[Path] = field(default_factory=list)  # sheets written with --out outside exports/ that name them
    shared: bool = False  # a shared database: other doors keep exports folders of their own
    names: frozenset[str] = frozenset()  # every name they had, for the command that rewrites the sheets later
    data: Path | None = None  # the data folder, for that command
    linked: list[Path] = field(default_factory=list)  # photos kept outside the data folder, linked in: not deleted
    copies: list[Path] = field(default_factory=list)  # the same photo as one of theirs, filed under someone else
    logs: Cleanup = field(default_factory=Cleanup)  # the station's and the worker's logs, with the token for them
    erased_id: str = ""  # whom, where the log no longer knows them (an erasure finished after being cut short)

    @property
    def left(self) -> bool:
        """Whether anything found still names them."""
        return self.exports.left or bool(self.backups or self.elsewhere or (self.token and (self.linked or self.copies))
                                         or self.logs.failed)

    def lines(self) -> list[str]:
        """What was done, beyond the records."""
        out = [f"the audit now calls them {self.token}"] if self.token else []
        if self.exports.rewritten:
            out.append(f"rewrote {plural(len(self.exports.rewritten), 'export')} without them:")
        out += [f"  {path}" for path in self.exports.rewritten]
        if self.logs.rewritten:
            out.append(f"took them out of {', '.join(path.name for path in self.logs.rewritten)}")
        if self.shared and self.token:
            out.append(f"other doors' exports were not searched: run `{self._again(here=False)}` at each of them, "
                       "with that door's --data")
        if self.person is None and not self.names:
            out.append("their rows are gone by id; their name in a sheet's free text (a session's name, a reason) "
                       "is found only when given with --name")
        return out

    def leftovers(self) -> list[str]:
        """What still names them, and what to do about it."""
        return (_listed(f"exports that still name them (rewrite them with `{self._again()}`, or delete them)",
                        self.exports.named)
                + _listed("files in the exports folder that name them but are not sheets of this program "
                          "(edit or delete them by hand)", self.exports.foreign)
                + _listed("could not read or rewrite", self.exports.failed + self.logs.failed)
                + _listed("earlier copies of the log that still name them (delete them when no longer needed)",
                          self.backups)
                + _listed("sheets written with --out elsewhere that name them (delete or edit them by hand)",
                          self.elsewhere)
                + _listed("their photos kept outside the data folder and linked in: the links are gone, the photos "
                          "are not (delete them by hand if they should go)", self.linked)
                + _listed("the same photo as one of theirs, filed under someone else, who checks in with their face "
                          "(delete it if it shows them, then run `faceattend extract`)", self.copies))

    def _again(self, here: bool = True) -> str:
        """The command that rewrites the sheets later, their names given: the log no longer knows them."""
        names = "".join(f" --name {shlex.quote(name)}" for name in sorted(self.names))
        who = shlex.quote(self.person.id if self.person else self.erased_id or "ID")
        data = f" --data {shlex.quote(str(self.data))}" if self.data and here else ""
        return f"faceattend people remove {who} --erase --exports{names}{data}"


def _listed(title: str, items: Sequence[Path | str]) -> list[str]:
    return [f"{title}:", *(f"  {item}" for item in items)] if items else []


def remove_person(attendance: Attendance, settings: Settings, person: Person, *, erase: bool,
                  user: str | None = None, exports: bool = False, more_names: Sequence[str] = ()) -> Removal:
    """They left (records kept) or an erasure request: their templates go first from the shared log
    (while the database is away nothing is removed), then photos and templates here, then the records.

    An erasure also rewrites the audit entries that name them, and finds the files under exports/
    and the log's backups that still name them; with `exports`, it rewrites those exports too.
    """
    if not erase and not person.active:  # a second removal would move the day they left, and say it again
        when = f" on {person.left_at:%Y-%m-%d}" if person.left_at else ""
        raise InputError(f"{person.id} {person.name} left{when} already: nothing was changed")
    entries = attendance.store.audit_log() if erase else []  # read once: names, and sheets written elsewhere
    names = known_names(entries, person) | {n for n in more_names if n.strip()} if erase else frozenset()
    others = frozenset(p.name for p in attendance.store.people() if p.id != person.id) if erase else frozenset()
    if erase:  # kept until the erasure is whole: one cut short is said at the next start, and by doctor
        when = datetime.now().astimezone().isoformat(timespec="seconds")
        note_erasure(settings.data, person.id, Begun(when, tuple(sorted(names)), person.folder or "",
                                                     person.created.isoformat()),
                     attendance.store if settings.database else None)
    outside: list[Path] = []
    copies = enroll.same_photos_elsewhere(settings.tensors_dir, settings.images_dir, person.folder) \
        if erase and person.folder else []
    sharing = [p for p in attendance.people(include_left=True)  # S1 and s1: one folder on an exFAT disk
               if p.id != person.id and same_folder(settings.images_dir, p.folder, person.folder)]
    if erase or not sharing:  # two given one folder by an older version: who stays keeps it
        _forget_photos(attendance, settings, person, outside)
    _forget_legacy(settings, person)
    token = erased_token() if erase else ""
    attendance.remove_person(person.id, erase=erase, user=user, token=token or None)
    if not erase:
        return Removal(person, linked=outside)
    earlier = earlier_ids((entry.details for entry in entries), person.id) - {person.id}
    target = Target(person.id, names, token, frozenset(earlier), others)
    removal = _rest_of_erasure(attendance, settings, target, person.folder or "", exports, user)
    return dataclasses.replace(removal, person=person, linked=outside, copies=copies)


def _rest_of_erasure(attendance: Attendance, settings: Settings, target: Target, folder: str, exports: bool,
                     user: str | None) -> Removal:
    """An erasure once the log no longer names them: its sheets, the station's logs, and what still names them.
    The sheets written elsewhere are read from the audit now: one an export made from the records before they
    went, audited since, is found (one written after this looks is removed by its export: see write_audited)."""
    written = written_elsewhere(attendance.store.audit_log(), settings)
    backups = files_naming(log_copies(settings.data), target)
    cleaned = audited(attendance, clean_exports(settings, target, exports), target.token, user)
    logs = scrub_logs(settings.data, target, frozenset(filter(None, [folder])))
    note_erasure(settings.data, target.person_id, None, attendance.store if settings.database else None)
    return Removal(None, target.token, cleaned, backups, files_naming(written, target), shared=bool(settings.database),
                   names=target.names, data=settings.data.resolve(), logs=logs, erased_id=target.person_id)


ERASING = "erasing.json"  # the erasures under way: whom, since when, their names and photo folder


@dataclass(frozen=True)
class Begun:
    """An erasure begun and not yet finished: what finishing it needs once the log no longer knows them."""

    when: str = ""  # ISO 8601
    names: tuple[str, ...] = ()
    folder: str = ""
    created: str = ""  # when the person erased was added (ISO 8601): one added again since is another


def erasures_begun(data: Path) -> dict[str, Begun] | None:
    """The erasures begun and not finished, by person id; None when their file cannot be read."""
    try:
        found = json.loads((data / ERASING).read_text(encoding="utf-8"))
        return {str(k): Begun(str(v["when"]), tuple(map(str, v["names"])), str(v["folder"])) for k, v in found.items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


ERASING_SETTING = "erasures_under_way"  # in a shared database: person id -> when it began, when they were added


def note_erasure(data: Path, person_id: str, begun: Begun | None, shared: Store | None = None) -> None:
    """Keep (`begun`) or drop (None: finished) an erasure in the list of those under way, in the data folder
    (not where there is none: a command on a shared database alone) and in the `shared` database, for every
    door to see."""
    if shared is not None:
        def change(found: object) -> dict[str, object] | None:
            under_way = {str(k): v for k, v in (found.items() if isinstance(found, dict) else ()) if k != person_id}
            if begun is not None:
                under_way[person_id] = {"when": begun.when, "created": begun.created}
            return under_way or None

        shared.update_setting(ERASING_SETTING, change)
    if not data.is_dir():
        return
    under_way = {k: v for k, v in (erasures_begun(data) or {}).items() if k != person_id}  # an unreadable list: anew
    if begun is not None:
        under_way[person_id] = begun
    keep_note(data / ERASING, json.dumps({k: {"when": v.when, "names": list(v.names), "folder": v.folder}
                                          for k, v in under_way.items()}).encode("utf-8") if under_way else None)


def erasures_cut_short(data: Path) -> list[str]:
    """Erasures that never finished (the command killed, the machine off), each with what finishes it."""
    found = erasures_begun(data)
    if found is None:
        return [f"{data / ERASING} cannot be read: an erasure was cut short; find whose with `faceattend audit "
                "--action person.erase`, finish it with `faceattend people remove ID --erase --exports`, then "
                "delete the file"]
    return [_cut_short_line(person_id, begun.when) + f" (or, if they were added again since on purpose, delete "
            f"{data / ERASING})" for person_id, begun in found.items()]


def shared_erasures_cut_short(data: Path, shared: Store) -> list[str]:
    """Erasures the shared database says never finished, but for those the data folder names already."""
    found = shared.get_setting(ERASING_SETTING)
    if not isinstance(found, dict) or not found:
        return []
    here = erasures_begun(data) or {}
    added = {p.id: p.created for p in shared.people()}
    said = []
    for person_id, begun in found.items():
        begun = begun if isinstance(begun, dict) else {"when": str(begun)}  # a note of its time alone
        if person_id in here or _added_again(added.get(person_id), str(begun.get("created", ""))):
            continue
        said.append(_cut_short_line(str(person_id), str(begun.get("when", ""))))
    return said


def _added_again(created: datetime | None, erased_created: str) -> bool:
    """Whether someone on the roster now with the id of an erasure cut short is another addition of them (on
    purpose, since): their record was made at another time than the one being erased (no door's clock read)."""
    try:
        return created is not None and bool(erased_created) and created != datetime.fromisoformat(erased_created)
    except ValueError:  # a time that cannot be read: said, to be safe
        return False


def _cut_short_line(person_id: str, when: str) -> str:
    return (f"the erasure of {printable(person_id)} begun {when[:16].replace('T', ' ')} was cut short: their photos, "
            f"templates, records or log lines may remain; run `faceattend people remove {shlex.quote(person_id)} "
            "--erase --exports` to finish it")


def written_elsewhere(entries: list[AuditEntry], settings: Settings) -> list[Path]:
    """The sheets the audit says were written outside the exports folders (`--out`), still there."""
    shelves = [settings.exports_dir.resolve()]
    if settings.sheets_dir:
        shelves.append(settings.sheets_dir.resolve())
    found: set[Path] = set()
    for entry in entries:
        details = entry.details if isinstance(entry.details, dict) else {}
        path = details.get("path")
        if isinstance(path, str) and path and details.get("out") is not False:  # not into a door's own exports/
            try:
                resolved = Path(path).resolve()
                if not any(resolved.is_relative_to(shelf) for shelf in shelves):
                    found.update(p for p in [resolved, *leftover_copies(resolved, age=0)] if p.is_file())
            except (OSError, RuntimeError):
                continue
    return sorted(found)


def erase_from_exports(attendance: Attendance, settings: Settings, person_id: str,
                       names: Sequence[str] = ()) -> Removal:
    """Rewrite the exports without someone erased earlier (known now by their id, and the `names` given); an
    erasure cut short after their records went is finished: its names kept, the logs too."""
    others = frozenset(p.name for p in attendance.store.people())
    entries = attendance.store.audit_log()
    token = token_of_erasure(entries, person_id) or erased_token()  # the erasure's own
    begun = (erasures_begun(settings.data) or {}).get(person_id)
    given = frozenset(n for n in [*names, *(begun.names if begun else ())] if n.strip())
    target = Target(check_person_id(person_id), given, token, others=others)
    if begun is not None:
        return _rest_of_erasure(attendance, settings, target, begun.folder, True, None)
    cleaned = audited(attendance, clean_exports(settings, target, True), target.token, None)
    if settings.database:  # one begun by a command given the database alone: finished now
        note_erasure(settings.data, person_id, None, attendance.store)
    return Removal(None, exports=cleaned, names=target.names, data=settings.data.resolve())


def audited(attendance: Attendance, cleanup: Cleanup, token: str, user: str | None) -> Cleanup:
    """Sheets rewritten without someone erased, in the audit: how many, under the erasure's token, never whom."""
    if cleanup.rewritten or cleanup.failed:
        audit(attendance.store, "person.erase.exports", {"id": token, "rewritten": len(cleanup.rewritten),
                                                          "failed": len(cleanup.failed)}, user or attendance.user)
    return cleanup


def clean_exports(settings: Settings, target: Target, rewrite: bool) -> Cleanup:
    """The files under exports/ and under export_dir (the sheets dropped at each session's end)."""
    outcome = clean_folder(settings.exports_dir, target, rewrite)
    if settings.sheets_dir:
        more = clean_folder(settings.sheets_dir, target, rewrite)
        for name in ("rewritten", "named", "foreign", "failed"):
            getattr(outcome, name).extend(getattr(more, name))
    return outcome


def known_names(entries: list[AuditEntry], person: Person) -> frozenset[str]:
    """Their name and any earlier one the audit (`entries`) remembers."""
    earlier = names_in_audit((entry.details for entry in entries), person.id)
    return frozenset({person.name, *earlier})


def _forget_legacy(settings: Settings, person: Person) -> None:
    """Templates kept aside under database_tensor/legacy/ (the original project's, earlier ones of theirs)."""
    for copy in legacy_copies(settings.tensors_dir, person.folder) if person.folder else []:
        copy.unlink(missing_ok=True)


def same_folder(images: Path, one: str, other: str) -> bool:
    """Whether two photo folders are one on this disk: spelt alike, or in another case on a disk that
    ignores case (both spellings are there, and it lists one only; where it cannot be listed, taken as one)."""
    if one == other or one.casefold() != other.casefold():
        return one == other
    try:
        listed = set(os.listdir(images))
        both_there = (images / one).exists() and (images / other).exists()
    except OSError:
        return True
    return both_there and not (one in listed and other in listed)


def _forget_photos(attendance: Attendance, settings: Settings, person: Person,
                   outside: list[Path] | None = None) -> None:
    """A person's photos and templates, here and in a shared log (`outside`: where links to photos kept
    elsewhere led)."""
    if person.folder:
        forget_folder(attendance.store, settings.tensors_dir, person.folder)
        if settings.data.is_dir():  # a command given a shared database alone: nothing here
            enroll.remove_person(settings, person.folder, outside)


def roster_labels(settings: Settings) -> dict[str, str]:
    """Each photo folder's person as the roster names them ("Tina Tang (S1)"); none where it cannot be read."""
    from faceattend_tui.attendance import StoreError, open_snapshot

    try:
        with open_snapshot(settings.data, database=settings.database) as store:
            return {p.folder: f"{p.name} ({p.id})" for p in store.people() if p.folder}
    except (StoreError, OSError):
        return {}


NAMES_SHOWN = 200  # characters of names in an import's line of who joined the running session


def forget_erased(settings: Settings, folders: Sequence[str], leftovers: Collection[str] = ()) -> list[str]:
    """The templates of folders of people erased are removed, never matched. At a door of a shared database
    the photos of `leftovers` go too: folders whose templates this door made before the erasure, which
    another door's erasure could not reach (photos put there since, of a namesake perhaps, are only
    refused). The lines to say: one for the folders deleted, not naming them (a folder's name is often the
    person's), then one for each folder whose photos stay (`refused_note`)."""
    enroll.forget_refused(settings.tensors_dir, list(folders))
    said, deleted = [], 0
    for folder in folders:
        if settings.database and folder in leftovers:
            enroll.remove_photos(settings.images_dir, folder)
            deleted += 1
        else:
            said.append(refused_note(folder))
    return [erased_leftovers_note(deleted)] * bool(deleted) + said


def set_aside(settings: Settings, misplaced: Sequence[tuple[str, Person]]) -> list[str]:
    """The templates of folders that are not their owner's to match (someone who left, photos put back;
    S1/ made beside the "Ann Lee/" of S1): removed, the photos kept. One line each, saying what to do."""
    enroll.forget_refused(settings.tensors_dir, [folder for folder, _ in misplaced])
    return [misplaced_note(folder, person) for folder, person in misplaced]


def misplaced_note(folder: str, person: Person) -> str:
    who = f"{person.id} {person.name}"
    if not person.active:
        when = f" on {person.left_at:%Y-%m-%d}" if person.left_at else ""
        return (f"the photos in database_image/{printable(folder)} are of {who}, who left{when}: not matched; "
                f"`faceattend people restore {person.id}` and extract again to take them back, or delete them")
    return (f"database_image/{printable(folder)} is named by the id of {who}, whose photos are in database_image/"
            f"{printable(person.folder)}: not taken in; move these photos there and extract again")


def refused_note(folder: str) -> str:
    return (f"the photos in database_image/{printable(folder)} were someone's who was erased: not taken in; delete "
            "them, or add the person again on purpose (roster import or e)")


def names_listed(names: list[str], most: int = NAMES_SHOWN) -> str:
    """Names for one line, cut after about `most` characters with how many more (sixty newcomers' names
    pushed an import's totals off a small screen; each is on its own line above)."""
    shown: list[str] = []
    for name in names:
        if shown and len(", ".join([*shown, name])) > most:
            break
        shown.append(name)
    more = f" and {len(names) - len(shown)} more" if len(shown) < len(names) else ""
    return printable(", ".join(shown)) + more
