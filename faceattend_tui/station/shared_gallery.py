"""The gallery shared by several stations: templates kept in the PostgreSQL log, copied to each `database_tensor/`.

Every station keeps recognising from its own `database_tensor/` (the worker loads it as always);
this module keeps that folder and the database in step, one folder (person) at a time:

* `database_tensor/shared.json` records, per folder, the local `.npy` hash and the database's
  hash the last time both agreed;
* a folder changed here only (an enrollment, an extraction) is sent to the database;
* a folder changed in the database only (another door enrolled) is written here;
* changed on both sides: the database wins, and the line says so;
* gone here only (an extraction here had no photos of that person: photos stay at the door that
  took them) comes back from the database. Rows pulled from photos this door does not have are
  marked with their door, and an extraction here keeps them beside those of its own photos. Only
  removing a person (`forget_folder`) removes their templates from the database.

Templates from a recogniser other than this station's are not copied (mixing models gives wrong
names); the line says to run `faceattend extract`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

import numpy as np

from faceattend_tui.attendance import Store, StoreError
from faceattend_tui.attendance.models import plural
from faceattend_tui.attendance.security import erased_folders
from faceattend_tui.config import IMAGES_DIR
from faceattend_tui.gallery.enroll import remove_photos
from faceattend_tui.gallery.extract import photo_here
from faceattend_tui.gallery.templates import (
    Entry,
    GalleryError,
    Manifest,
    changing,
    load_manifest,
    read_rows,
    safe_name,
    save_manifest,
    save_person,
    write_atomic,
)
from faceattend_tui.vision.identity import RecognizerId

if TYPE_CHECKING:
    from faceattend_tui.attendance.pg.templates import TemplateQueries

STATE_NAME = "shared.json"

# Per folder: the local `.npy` hash and the database's hash the last time both agreed.
Agreed = tuple[str | None, str | None]


@dataclass
class GallerySync:
    pulled: list[str] = field(default_factory=list)  # folders written here from the database
    pushed: list[str] = field(default_factory=list)  # folders sent to the database
    notes: list[str] = field(default_factory=list)

    @property
    def changed_here(self) -> bool:
        return bool(self.pulled)


def shares_templates(store: Store | None) -> TypeGuard[TemplateQueries]:
    return hasattr(store, "template_sets")


def sync_gallery(store: Store | None, tensors: Path, station: str = "", recognizer: RecognizerId | None = None,
                 progress: Callable[[int, int], object] | None = None, deleted: Collection[str] = ()) -> GallerySync:
    """Bring `tensors` and the database's templates in step (see the module's words); a no-op for TinyDB.
    `progress` hears (folders looked at, of all) once templates are being fetched. `deleted`: folders an
    extraction here removed, every photo of theirs having been here: gone from the database too, where
    no door has changed them since."""
    outcome = GallerySync()
    log = store  # the log's side of the store: who owns which folder, whose were erased
    if log is None or not shares_templates(store):
        return outcome
    try:
        people = log.people()
        erased, owned = erased_folders(log), {p.folder for p in people if p.folder}
        on_roster = frozenset(p.folder for p in people if p.folder and p.active)

        def leftover(folder: str) -> bool:  # of someone erased, nobody's again
            return folder not in owned and erased(folder)

        def known(folder: str) -> bool:
            return folder in owned or erased(folder)

        sides = Sides(leftover, known, on_roster, frozenset(deleted))
        with changing(tensors, "sharing templates"):
            _sync(store, Path(tensors), station, recognizer, outcome, sides, progress)
    except (GalleryError, StoreError) as exc:
        outcome.notes.append(f"templates not shared this time: {exc}")
    return outcome


def erased_leftovers_note(count: int) -> str:
    """What a door says of the photo folders of people erased that it deleted, without naming them (a
    folder's name is often the person's)."""
    erased = plural(count, "erased person", "erased people")
    return f"photos and templates left here of {erased}: deleted, never matched"


def forget_folder(store: Store, tensors: Path, folder: str) -> None:
    """A person's templates were removed here on purpose: remove them from the database too."""
    if shares_templates(store):
        store.delete_templates(folder)
        state = _read_state(Path(tensors))
        if state.pop(folder, None) is not None:  # a command given the database alone makes no data folder
            _write_state(Path(tensors), state)


@dataclass(frozen=True)
class Sides:
    """What the log says of folders, for a sync. `erased`: someone erased's that nobody owns again: never
    shared, its files here deleted. `known`: whether the log has heard of a folder (someone's, or erased);
    the files of a folder shared before that it has not heard of stay (a database restored from an older
    copy, an empty one). `on_roster`: the folders of people active now. `deleted`: see sync_gallery."""

    erased: Callable[[str], bool]
    known: Callable[[str], bool]
    on_roster: frozenset[str] = frozenset()
    deleted: frozenset[str] = frozenset()


def _sync(store: TemplateQueries, tensors: Path, station: str, recognizer: RecognizerId | None,
          outcome: GallerySync, sides: Sides, progress: Callable[[int, int], object] | None = None) -> None:
    manifest = load_manifest(tensors) or Manifest(recognizer=recognizer)
    remote = store.template_sets()
    if not manifest.recognizer and remote:
        first = next(iter(remote.values()))
        manifest.recognizer = RecognizerId(first.recognizer, first.recognizer_sha256, first.dim)
    state = _read_state(tensors)
    local = {name: entry.npy_sha256 for name, entry in manifest.people.items()
             if entry.npy_sha256 and not entry.stale}
    folders, unheard, leftovers = sorted(set(local) | set(remote)), [], 0
    for index, folder in enumerate(folders):
        if progress is not None and outcome.pulled:  # a new door fetching thousands: said as it goes
            progress(index, len(folders))
        if not safe_name(folder):
            continue
        here, there = local.get(folder), remote[folder].npy_sha256 if folder in remote else None
        agreed_here, agreed_there = state.get(folder, (None, None))
        if here is None and folder in sides.deleted and there is not None and there == agreed_there:
            store.delete_templates(folder)  # every photo of theirs was here, and is gone: their templates too
            state.pop(folder, None)
            continue
        if here is not None and there is None and sides.erased(folder):  # a door's leftover files of someone erased
            leftovers += 1
            state[folder] = _pull(store, tensors, manifest, folder, outcome, sides)
            continue
        if here is not None and (here, there) in ((agreed_here, agreed_there), (there, there)):
            state[folder] = (here, there)
            continue
        if here is not None and there is None and agreed_there is not None and not sides.known(folder):
            unheard.append(folder)  # kept, and from now on as if new here: sent once they are someone's again
            state.pop(folder, None)
            continue
        if here is not None and here != agreed_here and there == agreed_there:
            state[folder] = _push(store, tensors, manifest, folder, here, station, outcome) or (agreed_here,
                                                                                                agreed_there)
        else:
            if here != agreed_here and here is not None:
                outcome.notes.append(f"{folder}: changed here and at {remote[folder].station or 'another station'}; "
                                     "theirs taken: run extract again to add this door's new photos"
                                     if folder in remote else f"{folder}: removed at another station")
            state[folder] = _pull(store, tensors, manifest, folder, outcome, sides, agreed_there)
    if leftovers:
        outcome.notes.append(erased_leftovers_note(leftovers))
    if unheard:
        outcome.notes.append(f"the database knows nobody of {plural(len(unheard), 'photo folder')} shared before ("
                             f"{', '.join(unheard[:5])}{' ...' if len(unheard) > 5 else ''}): restored from an older "
                             "copy, or another database? Their photos and templates are kept here")
    state = {k: v for k, v in state.items() if v != (None, None)}
    if outcome.pulled:
        if progress is not None:
            progress(len(folders), len(folders))
        save_manifest(tensors, manifest)
    _write_state(tensors, state)


def _push(store: TemplateQueries, tensors: Path, manifest: Manifest, folder: str, digest: str, station: str,
          outcome: GallerySync) -> Agreed | None:
    """Send a folder's templates (whose `.npy` hash is `digest`) to the database; None when the file
    is not the one the manifest names (nothing is sent)."""
    from faceattend_tui.attendance.pgstore import TemplateRow, TemplateSet

    entry = manifest.people[folder]
    made_by = manifest.recognizer or RecognizerId()
    try:
        rows = read_rows(tensors / f"{folder}.npy", made_by.dim, digest)
    except GalleryError as exc:
        outcome.notes.append(f"{exc}; {folder} not shared")
        return None
    head = TemplateSet(folder, made_by.name or "", made_by.sha256 or "", int(rows.shape[1]),
                       digest, station or None)
    store.save_templates(head, [TemplateRow(row.astype("<f4").tobytes(), *_sample(entry.samples, i))
                                for i, row in enumerate(rows)])
    outcome.pushed.append(folder)
    return (digest, digest)


def _pull(store: TemplateQueries, tensors: Path, manifest: Manifest, folder: str, outcome: GallerySync,
          sides: Sides, agreed_there: str | None = None) -> Agreed:
    found = store.template_rows(folder)
    if found is None:  # removed at another door (they left, were erased, or its photos were deleted there)
        entry = manifest.people.pop(folder, None)
        if entry is not None:
            (tensors / f"{folder}.npy").unlink(missing_ok=True)
            if folder in sides.on_roster:  # still someone's: only the photos the templates were made from go
                _remove_known_photos(tensors.parent / IMAGES_DIR, folder, entry)
            else:
                remove_photos(tensors.parent / IMAGES_DIR, folder)
            outcome.pulled.append(folder)
        return (None, None)
    head, rows = found
    if head.recognizer_sha256 != manifest.sha256:
        outcome.notes.append(f"{folder}: the database's templates were made by {head.recognizer} (at "
                             f"{head.station or 'another door'}), not by this station's recogniser: recognised "
                             "here once the door with their photos runs `faceattend extract` with it")
        local = manifest.people.get(folder, Entry()).npy_sha256
        return (local, agreed_there)  # not taken in, so not agreed: once this door's model is theirs, it takes them
    matrix = np.frombuffer(b"".join(r.embedding for r in rows), dtype="<f4").reshape(len(rows), head.dim)
    digest = save_person(tensors, folder, matrix.astype(np.float32))
    images, before = tensors.parent / IMAGES_DIR, manifest.people.get(folder)
    mine = {s.get("sha256") for s in (before.samples if before else []) if not s.get("door")}  # one deleted here goes
    samples = [{"image": r.image, "sha256": r.photo_sha256, "source": r.source or "shared"} for r in rows]
    for sample in samples:  # its photo at another door: kept by an extraction here
        if sample["sha256"] not in mine and not photo_here(images, sample):
            sample["door"] = head.station or "another door"
    manifest.people[folder] = Entry(samples, digest)
    outcome.pulled.append(folder)
    return (digest, head.npy_sha256)


def _remove_known_photos(images: Path, folder: str, entry: Entry) -> None:
    """The photos here that the removed templates were made from; one put here since, not extracted yet
    (staff adding a photo while another door deleted its own), stays to be extracted."""
    for sample in entry.samples:
        if not sample.get("door") and photo_here(images, sample):  # this door's own photo, as it was
            (images / str(sample.get("image", ""))).unlink(missing_ok=True)


def _sample(samples: list[dict[str, Any]], index: int) -> tuple[str, str, str]:
    sample = samples[index] if index < len(samples) and isinstance(samples[index], dict) else {}
    return str(sample.get("image", "")), str(sample.get("sha256", "")), str(sample.get("source", ""))


def _read_state(tensors: Path) -> dict[str, Agreed]:
    try:
        data = json.loads((tensors / STATE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: (v[0], v[1]) for k, v in data.items() if isinstance(v, list) and len(v) == 2}


def _write_state(tensors: Path, state: dict[str, Agreed]) -> None:
    write_atomic(tensors / STATE_NAME, json.dumps({k: list(v) for k, v in sorted(state.items())}).encode("utf-8"))
