"""Build `database_tensor/` from `database_image/`, redoing only what changed.

`database_image/<name>.<ext>` (one photo, the original layout) and `database_image/<name>/*.<ext>`
(several) both belong to <name>. A failing image is reported and skipped; what was extracted
before is kept unless its source image is gone or changed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from faceattend_tui.gallery.alike import ONE_FACE, alike_pairs, nobody_apart
from faceattend_tui.gallery.templates import (
    ODD_FLOOR,
    RUNNING,
    TEMPLATE_FLIP,
    Entry,
    GalleryError,
    Manifest,
    changing,
    load_manifest,
    move_to_legacy,
    person_file,
    read_rows,
    safe_name,
    save_manifest,
    write_atomic,
)
from faceattend_tui.text import NOT_UTF8, not_utf8, plural
from faceattend_tui.vision.embedder import normalize
from faceattend_tui.vision.identity import RecognizerId
from faceattend_tui.vision.imageio import (
    DECODE_PIXELS,
    IMAGE_SUFFIXES,
    ImageError,
    ReadFault,
    decode_image,
    is_image_name,
    read_bytes,
)
from faceattend_tui.vision.pipeline import FaceEngine, FaceSearch
from faceattend_tui.vision.scrfd import Prepared
from faceattend_tui.vision.types import Face

CHECKPOINT_SECONDS = 5.0
CHUNK = 32  # photos whose faces are found and embedded together...
CHUNK_BYTES = 256 << 20  # ...or fewer, when their decoded pictures would take more memory than this
AHEAD_BYTES = 256 << 20  # decoded photos waiting their turn, at most (a 12-MP photo is 36 MB)
LOADERS = min(8, os.cpu_count() or 2)  # threads reading and decoding photos
WRITERS = 4  # threads writing template files
KEEP_HINT = "; if it is them, `faceattend extract --keep` it"
CANDIDATES = 64  # faces of a group photo embedded, the largest first, to find the person among them
# A group photo, and no photo of the person alone to tell which face is theirs: the largest is taken
# only when the next one is smaller than this share of it (two people side by side are about equal).
SAME_SIZE = 0.7
# Shown otherwise than written ("exe.jpg"), or not at all ("Bob" and "Bob" + a right-to-left mark: two
# people). The zero-width joiner and non-joiner stay: Persian names and emoji need them.
MISLEADING = re.compile("[\x7f-\x9f\u00ad\u200b\u200e\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
CLUTTER = {"thumbs.db", "desktop.ini"}  # what file browsers leave in folders: never mentioned
PHOTO_LIKE = {".gif", ".heic", ".heif", ".avif", ".jfif", ".jpe", ".jxl", ".dng", ".cr2", ".nef", ".arw", ".raw"}

Row = tuple[str, np.ndarray, dict[str, Any]]  # a photo's sha256, its template row and its sample record


@dataclass
class Report:
    people: int = 0
    images: int = 0
    extracted: int = 0
    reused: int = 0
    removed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "file: reason"
    notes: list[str] = field(default_factory=list)  # things worth saying that are not failures
    unenrolled: list[str] = field(default_factory=list)  # names with no usable photo and no templates kept
    stopped: tuple[int, int] | None = None  # asked to stop: photos read of those to read (whole people kept)
    model_problem: str = ""  # the recogniser tells nobody apart: its templates would name the wrong people
    alike: list[tuple[str, str]] = field(default_factory=list)  # folders of the pairs in `notes` that look alike
    fresh: set[str] = field(default_factory=set)  # folders with a photo extracted this run
    deleted_here: list[str] = field(default_factory=list)  # removed, every template made from photos here
    elsewhere: list[str] = field(default_factory=list)  # photos at other doors only, templates by another model
    in_the_way: list[str] = field(default_factory=list)  # folders whose template file's name a folder takes


@dataclass
class Photo:
    person: str
    path: Path
    key: str  # path relative to database_image, with forward slashes
    sha256: str = ""
    image: np.ndarray | None = None
    first: Prepared | None = None  # the detector's input for its first search, made on the loading thread
    error: str | None = None

    @property
    def nbytes(self) -> int:
        """The memory its decoded picture and detector input take."""
        return sum(a.nbytes for a in (self.image, self.first.blob if self.first else None) if a is not None)


def scan_people(images_dir: Path, unreadable: list[str] | None = None,
                notes: list[str] | None = None) -> dict[str, list[Path]]:
    """Person name -> their photo files, sorted, from both layouts; a folder that cannot be listed keeps
    its person with no photos, and "folder: why" goes to `unreadable`, as do photos in a format not
    read, links to nothing and folders inside a person's folder; other files left alone are `notes`."""
    people: dict[str, list[Path]] = {}
    if not images_dir.is_dir():
        return people
    for entry in sorted(images_dir.iterdir()):
        if entry.is_dir() and not entry.name.startswith("."):
            files = _photos_in(entry, unreadable, notes)
            if files != []:  # None: unreadable, its person stays with the templates made before
                people.setdefault(entry.name, []).extend(files or [])
        elif entry.is_file() and is_image_name(entry):
            people.setdefault(entry.stem, []).append(entry)
        else:
            _say_left_out(entry, unreadable, notes)
    return people


def without_templates(images_dir: Path, known: Iterable[str]) -> tuple[list[str], list[str]]:
    """The people of `images_dir` with photos but no templates among `known` (the manifest's), sorted, as
    (those `faceattend extract` will make templates for, names it cannot use and asks to rename): the
    station does not recognise them until then. The folder's names are looked at first; photos are listed
    only when a name is new (a start-up with thousands of people enrolled costs one listing)."""
    known = set(known)
    try:
        names = {entry.name if entry.is_dir() else entry.stem for entry in images_dir.iterdir()
                 if (entry.is_dir() and not entry.name.startswith(".")) or is_image_name(entry)}
    except OSError:
        return [], []
    if names <= known:
        return [], []
    found = sorted(name for name, photos in scan_people(images_dir).items() if photos and name not in known)
    return [n for n in found if usable_name(n)], [n for n in found if not usable_name(n)]


def removed_photos(images_dir: Path, manifest: Manifest | None) -> dict[str, list[str]]:
    """Per folder, the photos its templates were made from that are gone from `images_dir` since (a wrong
    photo removed by hand): the station still recognises those faces as that person until extract runs.
    Only folders still there count: a door given the templates without the photos is not told of them."""
    gone: dict[str, list[str]] = {}
    for name, entry in (manifest.people.items() if manifest else ()):
        if not (images_dir / name).is_dir():
            continue
        for sample in entry.samples:
            image = str(sample.get("image", ""))
            if image and "source" not in sample and not (images_dir / image).is_file():
                gone.setdefault(name, []).append(Path(image).name)
    return gone


def removed_text(gone: dict[str, list[str]], label: Callable[[str], str] = str) -> str:
    """`removed_photos` in one line ("" when none)."""
    if not gone:
        return ""
    named = "; ".join(f"{label(name)}: {', '.join(photos)}" for name, photos in list(gone.items())[:5])
    more = " ..." if len(gone) > 5 else ""
    return (f"the templates of {plural(len(gone), 'person', 'people')} are still made from photos removed since "
            f"({named}{more}): their faces check in as them until `faceattend extract` runs")


def usable_name(name: str) -> bool:
    """Whether extraction takes a folder's or a photo's name as a person's (`why_not_a_name` says why not)."""
    return safe_name(name) and not MISLEADING.search(name)


def to_rename(names: Iterable[str]) -> str:
    """Names extraction cannot use, each with why: 'Ann Lee ' (a name with spaces at either end)."""
    return ", ".join(f"{name!r} ({why_not_a_name(name)})" for name in names)


def _photos_in(folder: Path, unreadable: list[str] | None, notes: list[str] | None) -> list[Path] | None:
    """A person's photos, sorted; None when the folder cannot be listed (said in `unreadable`)."""
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        if unreadable is not None:
            unreadable.append(f"{folder}: cannot read the folder ({exc.strerror or exc}); its photos were left out")
        return None
    photos = []
    for entry in entries:
        if entry.is_file() and is_image_name(entry) and not not_utf8(entry.name):
            photos.append(entry)
        else:
            _say_left_out(entry, unreadable, notes)
    return photos


def _say_left_out(entry: Path, unreadable: list[str] | None, notes: list[str] | None) -> None:
    """Why an entry of database_image/ is not read: a photo's problem, or a note for any other file."""
    if entry.name.startswith(".") or entry.name.lower() in CLUTTER:
        return
    readable = ", ".join(sorted(IMAGE_SUFFIXES))
    if not_utf8(entry.name):
        found, text = unreadable, f"{entry}: {NOT_UTF8}; rename it"
    elif entry.is_symlink() and not entry.exists():
        found, text = unreadable, f"{entry}: a link to nothing"
    elif entry.is_dir():
        found, text = unreadable, f"{entry}: a folder inside a person's folder is not read; put its photos in " \
                                  f"{entry.parent.name}/ itself"
    elif entry.suffix.lower() in PHOTO_LIKE:
        found, text = unreadable, f"{entry}: a photo format extraction does not read (it reads {readable})"
    else:
        found, text = notes, f"{entry}: not a photo, left alone"
    if found is not None:
        found.append(text)


def load_photo(photo: Photo, engine: FaceEngine | None = None) -> Photo:
    """Read, hash and decode a photo, and make the detector's first input (runs in a thread: file reads,
    decoding and resizing release the GIL)."""
    try:
        data = read_bytes(photo.path)
        photo.sha256 = hashlib.sha256(data).hexdigest()
        photo.image = decode_image(data, str(photo.path))
    except ReadFault as exc:  # the machine's, not the photo's: a run that went on would drop their templates
        raise GalleryError(f"{exc}: not the photo's fault; the extraction stopped there, run it again") from None
    except ImageError as exc:
        photo.error = str(exc)
        return photo
    if engine is not None:
        photo.first = engine.first_look(photo.image)
    return photo


def vouched_photos(images_dir: Path, paths: Iterable[Path]) -> dict[str, set[str]]:
    """Person -> hashes of the photos staff say are them although they look unlike their others (`--keep`)."""
    found: dict[str, set[str]] = {}
    root = Path(os.path.abspath(images_dir))
    for path in paths:
        try:
            parts = Path(os.path.abspath(path)).relative_to(root).parts
        except ValueError:
            parts = ()
        if len(parts) not in (1, 2) or not is_image_name(path) or not path.is_file():
            raise GalleryError(f"{path}: --keep takes a photo in {images_dir} (<name>.jpg or <name>/<photo>)")
        try:
            digest = hashlib.sha256(read_bytes(path)).hexdigest()
        except ImageError as exc:
            raise GalleryError(str(exc)) from None
        found.setdefault(parts[0] if len(parts) == 2 else Path(parts[0]).stem, set()).add(digest)
    return found


class Extractor:
    def __init__(self, engine: FaceEngine, images_dir: Path, tensors_dir: Path,
                 progress: Callable[[int, int, str], None] | None = None, keep: Iterable[Path] = (),
                 stop: Callable[[], bool] | None = None, label: Callable[[str], str] = str) -> None:
        self.engine = engine
        self.label = label  # a folder's person as the roster names them, for the notes
        self.images_dir = images_dir
        self.tensors_dir = tensors_dir
        self.vouched = vouched_photos(images_dir, keep)  # checked before any work
        self.progress = progress or (lambda done, total, name: None)
        self.stop = stop or (lambda: False)  # checked after each person: a stop keeps whole people only
        self.report = Report()
        self.writes: list[Future[None]] = []  # template files being written
        # group photos: their candidate faces and rows, and the face the photo was taken of (None: not told)
        self.groups: dict[str, tuple[list[Face], np.ndarray, int | None]] = {}
        self.means: dict[str, np.ndarray] = {}  # each person's templates averaged, to find one face under two names
        self.changed: set[str] = set()  # people with a photo extracted this run
        self.unreadable: set[str] = set()  # photos (by key) that could not be read or decoded this run
        self.elsewhere: set[str] = set()  # people with other doors' templates, made again for a new recogniser
        self.doors: dict[str, dict[str, Row]] = {}  # other doors' rows kept through --force, by person

    def run(self, force: bool = False) -> Report:
        with changing(self.tensors_dir, "faceattend extract"), ThreadPoolExecutor(WRITERS) as self.writer:
            return self._run(force)

    def _run(self, force: bool) -> Report:
        people = scan_people(self.images_dir, self.report.skipped, self.report.notes)
        manifest = self._starting_manifest(force)
        for name in [n for n in people if not usable_name(n)]:
            if name in manifest.people:  # an earlier version took it: renamed, they would be someone new
                self.report.notes.append(f"{self.images_dir}: {name!r}, {why_not_a_name(name)}, is kept as the "
                                         "folder of someone enrolled under it before (a new folder cannot take it)")
                continue
            self.report.skipped.append(f"{self.images_dir}: {name!r}, {why_not_a_name(name)}, cannot be a "
                                       "person's folder; rename it")
            del people[name]
        self._retire_unknown_files(people, manifest, written_by_a_run_cut_short(self.tensors_dir))
        self._drop_removed(people, manifest)
        write_atomic(self.tensors_dir / RUNNING, json.dumps(sorted(people)).encode("utf-8"))
        photos = [Photo(name, p, p.relative_to(self.images_dir).as_posix()) for name, ps in people.items() for p in ps]
        self.report.people, self.report.images = len(people), len(photos)
        self._extract_all(people, photos, manifest)
        self._save_manifest(manifest)
        (self.tensors_dir / RUNNING).unlink(missing_ok=True)
        self._note_lookalikes()
        self.report.fresh = set(self.changed)
        return self.report

    def _note_lookalikes(self) -> None:
        """People whose photos look like another person's: most likely one person under two names, who
        would check in as both."""
        names = sorted(self.means)
        if len(names) < 2 or not self.changed:
            return
        means = np.stack([self.means[n] for n in names])
        self.report.model_problem = nobody_apart(len(names), len(alike_pairs(names, means)), self.engine.embedder.path,
                                                 len(alike_pairs(names, means, floor=ONE_FACE)))
        if self.report.model_problem:
            return
        for name, other, cosine in alike_pairs(names, means, self.changed):
            self.report.alike.append((name, other))
            self.report.notes.append(f"{self.label(name)} and {self.label(other)} look like one person (cosine "
                                     f"{cosine:.2f}): they would "
                                     "check in as both; if they are one, keep their photos under one name")

    def _save_manifest(self, manifest: Manifest) -> None:
        """The manifest, once every template file it names is on disk."""
        for write in self.writes:
            write.result()
        self.writes.clear()
        save_manifest(self.tensors_dir, manifest)

    def _starting_manifest(self, force: bool) -> Manifest:
        rec = self.engine.recognizer_model()
        fresh = Manifest(recognizer=RecognizerId(rec.name, rec.sha256, self.engine.embedder.dim))
        try:
            old = load_manifest(self.tensors_dir)
        except GalleryError as exc:
            self.report.notes.append(f"{exc}; extracting everything again")
            return fresh
        if old is None or force:
            fresh.people = old.people if old else {}
            self._forget_rows(fresh, new_model=old is not None and not old.made_by(fresh.recognizer))
            return fresh
        if not old.made_by(fresh.recognizer):
            self.report.notes.append(
                f"templates were made by {old.recognizer_label}; "
                f"extracting everything again with {rec.name}"
            )
            fresh.people = old.people
            self._forget_rows(fresh)
            return fresh
        fresh.people = old.people
        return fresh

    def _forget_rows(self, manifest: Manifest, new_model: bool = True) -> None:
        """Every row of this door's photos is made again; those of other doors' photos are kept (--force), or
        come back as those doors extract with a new recogniser."""
        for name, entry in manifest.people.items():
            if any(sample.get("door") for sample in entry.samples) and new_model:
                self.elsewhere.add(name)
            elif any(sample.get("door") for sample in entry.samples):
                self.doors[name] = {k: r for k, r in self._reusable_rows(name, manifest).items() if "#" in k}
            entry.samples, entry.stale = [], True

    def _retire_unknown_files(self, people: dict[str, list[Path]], manifest: Manifest, cut_short_wrote: set[str]
                              ) -> None:
        """Seed-era or foreign .npy files: moved to legacy/, never deleted (the original project's may be unit
        rows of our size too). Ours from a run cut short (written, not yet in the manifest, by a run whose
        record says it wrote them) are simply made again, said once."""
        if not self.tensors_dir.is_dir():
            return
        for leftover in self.tensors_dir.glob(".*.npy.*.tmp"):  # a write killed halfway
            leftover.unlink(missing_ok=True)
        cut_short = 0
        for path in sorted(self.tensors_dir.glob("*.npy")):
            if path.stem in manifest.people:
                continue
            if path.stem in people and path.stem in cut_short_wrote and rows_of_size(path, self.engine.embedder.dim):
                path.unlink(missing_ok=True)
                cut_short += 1
            elif path.stem in people:
                moved = move_to_legacy(self.tensors_dir, path)
                self.report.notes.append(f"{path}: not in the manifest (another version, or an extraction cut "
                                         f"short); kept as {moved}, re-extracting")
            else:  # kept aside as the others, said once: the next extraction does not trip on it again
                moved = move_to_legacy(self.tensors_dir, path)
                self.report.skipped.append(f"{path}: no photos in {self.images_dir} to rebuild it from; kept as "
                                           f"{moved}, not recognised until photos of them are added")
        if cut_short:
            self.report.notes.append(f"{plural(cut_short, 'template file')} of an extraction cut short made again")

    def _drop_removed(self, people: dict[str, list[Path]], manifest: Manifest) -> None:
        for name in sorted(set(manifest.people) - set(people)):
            if name in self.doors or any(sample.get("door") for sample in manifest.people[name].samples):
                people[name] = []  # no photo of them here: their other doors' templates stay, this door's go
                continue
            path = self.tensors_dir / f"{name}.npy"
            kept = set_aside(self.tensors_dir, path, manifest.people[name])
            if kept:
                self.report.notes.append(f"{path}: not the file extract wrote (put there since?); kept as {kept}")
            path.unlink(missing_ok=True)
            entry = manifest.people.pop(name)
            if name in self.elsewhere:  # no photo here: the database's templates of them stay, by the other model
                self.report.elsewhere.append(name)
                continue
            if all("box" in sample for sample in entry.samples):  # none pulled from elsewhere
                self.report.deleted_here.append(name)
            self.report.removed.append(name)

    def _extract_all(self, people: dict[str, list[Path]], photos: list[Photo], manifest: Manifest) -> None:
        reusable = {name: self._reusable_rows(name, manifest) | self.doors.get(name, {}) for name in people}
        for name in {p.person for p in photos if p.key not in reusable[p.person]}:  # their photos changed:
            reusable[name] = {k: r for k, r in reusable[name].items() if r[2].get("faces", 1) == 1}  # pick again
        todo = [p for p in photos if p.key not in reusable[p.person]]
        fresh: dict[str, dict[str, Row]] = {name: {} for name in people}
        self.engine.photo_shapes_when_needed()
        last_save = time.monotonic()
        done = 0
        for chunk in _chunks(self._loaded(todo), CHUNK, CHUNK_BYTES):
            for photo, row in zip(chunk, self._embed_photos(chunk), strict=True):
                done += 1
                self.progress(done, len(todo), photo.key)
                if row is not None:
                    fresh[photo.person][photo.key] = row
                if time.monotonic() - last_save > CHECKPOINT_SECONDS:
                    self._save_manifest(manifest)
                    last_save = time.monotonic()
                if self._person_complete(photo, todo, done):
                    self._save(photo.person, people[photo.person], reusable, fresh, manifest)
                    if done < len(todo) and self.stop():
                        self.report.stopped = (done, len(todo))
                        break
            if self.report.stopped:
                break
        extracted = {p.person for p in todo}
        for name in people:
            if name not in extracted:
                self._save(name, people[name], reusable, fresh, manifest)
        self._tell_prepared()

    def _tell_prepared(self) -> None:
        prepared = self.engine.take_prepared()
        if prepared.shapes:
            self.report.notes.append(f"fixed input shapes: {prepared.shapes} prepared as these photos needed them "
                                     f"({prepared.seconds:.1f} s)")

    @staticmethod
    def _person_complete(photo: Photo, todo: list[Photo], done: int) -> bool:
        return done == len(todo) or todo[done].person != photo.person

    def _loaded(self, todo: list[Photo]) -> Iterator[Photo]:
        """The photos read and decoded on threads, in order, ahead of their use by at most 2 chunks and
        AHEAD_BYTES (photos not loaded yet are counted at the size of those so far)."""
        typical = Typical(DECODE_PIXELS * 3)
        with ThreadPoolExecutor(max_workers=LOADERS) as pool:
            ahead: deque[Future[Photo]] = deque()
            for photo in todo:
                while ahead and (len(ahead) >= 2 * CHUNK or _held(ahead, typical.value) >= AHEAD_BYTES):
                    yield typical.seen(ahead.popleft().result())
                ahead.append(pool.submit(load_photo, photo, self.engine))
            while ahead:
                yield ahead.popleft().result()

    def _reusable_rows(self, name: str, manifest: Manifest) -> dict[str, Row]:
        """Rows whose source photo is unchanged: key -> (sha256, row, sample record)."""
        entry = manifest.people.get(name)
        if not entry or entry.stale or not entry.samples:
            return {}
        path = self.tensors_dir / f"{name}.npy"
        try:
            rows = read_rows(path, self.engine.embedder.dim, entry.npy_sha256)
        except GalleryError as exc:
            kept = set_aside(self.tensors_dir, path, entry)
            self.report.notes.append(f"{exc}; {f'kept as {kept}, ' if kept else ''}re-extracting {name}")
            return {}
        samples = entry.samples
        if len(rows) != len(samples):
            self.report.notes.append(f"{path}: {len(rows)} rows for {len(samples)} photos; re-extracting {name}")
            return {}
        reusable: dict[str, Row] = {}
        for sample, row in zip(samples, rows, strict=True):
            if photo_here(self.images_dir, sample):
                reusable[sample["image"]] = (sample["sha256"], row, sample)
            elif sample.get("door"):  # another door's photo, kept apart from one of the same name here
                reusable[f"{sample['image']}#{sample['sha256']}"] = (sample["sha256"], row, sample)
        return reusable

    def _embed_photos(self, photos: list[Photo]) -> list[Row | None]:
        """(sha256, row, sample record) per photo, or None; the photos' faces are found and embedded together."""
        readable = [p for p in photos if not p.error]
        images = [_decoded(p) for p in readable]
        found = self.engine.search_many(images, first=[p.first for p in readable])
        searches = dict(zip(map(id, readable), found, strict=True))
        candidates = {id(p): sorted(searches[id(p)].faces, key=lambda f: f.area, reverse=True)[:CANDIDATES]
                      for p in readable}
        pairs = [(image, face) for p, image in zip(readable, images, strict=True) for face in candidates[id(p)]]
        embedded = self.engine.embed_many(pairs, flip=TEMPLATE_FLIP)
        results: list[Row | None] = []
        at = 0
        for photo in photos:
            if photo.error:
                self.report.skipped.append(photo.error)
                self.unreadable.add(photo.key)
                results.append(None)
            else:
                faces = candidates[id(photo)]
                results.append(self._row(photo, searches[id(photo)], faces, embedded[at : at + len(faces)]))
                at += len(faces)
            photo.image = photo.first = None  # the decoded picture is not needed any more
        return results

    def _row(self, photo: Photo, search: FaceSearch, faces: list[Face], rows: np.ndarray) -> Row | None:
        """The photo's row: its largest face's, until `_pick_faces` sees the person's other photos."""
        if not faces:  # a row comes only with a face
            why = f" ({self.engine.rule.why_not(search.refused)})" if search.refused else ""
            self.report.skipped.append(f"{photo.path}: no usable face found{why}")
            return None
        if len(faces) > 1:
            size = photo.image.shape[:2] if photo.image is not None else None
            self.groups[photo.key] = (faces, rows, subject_of(faces, size))
        return photo.sha256, rows[0], _sample(photo.key, photo.sha256, faces[0], len(search.faces))

    def _pick_faces(self, name: str, rows: list[np.ndarray], samples: list[dict[str, Any]], vouched: set[str]
                    ) -> tuple[list[np.ndarray], list[dict[str, Any]]]:
        """In each new group photo, the face most like the person's photos of one face (the largest when
        they have none); a group photo in which no face is like them is left out, named, unless vouched for."""
        group = [i for i, s in enumerate(samples) if s["image"] in self.groups and not s.get("door")]  # here
        alone = [rows[i] for i in range(len(rows)) if i not in group]
        anchor = unit_mean(np.stack(alone)) if alone else None
        dropped = set()
        for i in group:
            faces, candidates, subject = self.groups.pop(samples[i]["image"])
            cosines = candidates @ anchor if anchor is not None else None
            pick = int(np.argmax(cosines)) if cosines is not None else subject or 0
            path = self.images_dir / samples[i]["image"]
            if anchor is None and subject is None:  # --keep cannot say which face is theirs either
                self.report.skipped.append(f"{path}: {samples[i]['faces']} faces of about the same size, and no photo "
                                           f"of {name} alone to tell which is theirs; left out: crop it to them, or "
                                           "add a photo of them alone")
                dropped.add(i)
                continue
            if cosines is not None and cosines[pick] < ODD_FLOOR and samples[i]["sha256"] not in vouched:
                self.report.skipped.append(f"{path}: none of its {samples[i]['faces']} faces looks like {name}'s "
                                           f"other photos (best cosine {cosine_text(float(cosines[pick]))}); left out"
                                           + KEEP_HINT)
                dropped.add(i)
                continue
            rows[i] = candidates[pick]
            samples[i] = _sample(samples[i]["image"], samples[i]["sha256"], faces[pick], samples[i]["faces"])
            how = f"the one most like {name}'s other photos" if anchor is not None else \
                "the largest" if pick == 0 else "the one in the middle"
            self.report.notes.append(f"{path}: {samples[i]['faces']} faces, took {how}")
        kept = [i for i in range(len(rows)) if i not in dropped]
        return [rows[i] for i in kept], [samples[i] for i in kept]

    def _save(self, name: str, files: list[Path], reusable: dict[str, dict[str, Row]], fresh: dict[str, dict[str, Row]],
              manifest: Manifest) -> None:
        rows: list[np.ndarray] = []
        samples: list[dict[str, Any]] = []
        keys = [path.relative_to(self.images_dir).as_posix() for path in files]
        keys += [key for key, row in reusable[name].items() if row[2].get("door") and key not in keys]
        for key in keys:  # the photos here, then those of the person's other doors (a shared database)
            found = fresh[name].get(key) or reusable[name].get(key)
            if found is not None:
                rows.append(found[1])
                samples.append(found[2])
        order = sorted(range(len(samples)), key=lambda i: (samples[i]["image"], samples[i]["sha256"]))
        rows, samples = [rows[i] for i in order], [samples[i] for i in order]  # each door's set in one order
        vouched = set(manifest.people.get(name, Entry()).vouched) | self.vouched.get(name, set())
        rows, samples = self._without_strangers(name, *self._pick_faces(name, rows, samples, vouched), vouched)
        new = sum(s["image"] in fresh[name] and not s.get("door") for s in samples)
        self.report.extracted += new
        self.report.reused += sum(not s.get("door") for s in samples) - new  # this door's photos, as it counts them
        if not rows:
            self._keep_or_skip(name, manifest)
            return
        target = self.tensors_dir / f"{name}.npy"
        if target.is_dir() and not target.is_symlink():  # a folder by that name: one person, not everyone, waits
            self.report.skipped.append(f"{target}: a folder where {name}'s templates go: move it away and run "
                                       f"`faceattend extract` again ({name} is not enrolled meanwhile)")
            manifest.people.pop(name, None)
            self.report.in_the_way.append(name)
            return
        self.means[name] = normalize(np.mean(rows, axis=0))
        if new:
            self.changed.add(name)
        data, digest = person_file(np.stack(rows))  # written on a thread: each file waits for the disk
        self.writes.append(self.writer.submit(write_atomic, target, data))
        held = {sample["sha256"] for sample in samples}
        manifest.people[name] = Entry(samples, digest, vouched=sorted(vouched & held))

    def _without_strangers(self, name: str, rows: list[np.ndarray], samples: list[dict[str, Any]],
                           vouched: set[str]) -> tuple[list[np.ndarray], list[dict[str, Any]]]:
        """Leave out the photos that do not look like the person's others (three photos or more: the
        rest decide) unless staff vouched for them; with two unlike photos, which one is wrong cannot be
        told, so both stay, said."""
        if any(sample.get("door") for sample in samples):  # the door with a photo tells of it
            rows, samples = _checked_here(lambda r, s: self._without_strangers(name, r, s, vouched), rows, samples)
            return _unlike_other_doors(name, rows, samples, vouched, self.report.skipped, self.images_dir)
        files = [sample["sha256"] for sample in samples]
        odd = odd_ones(np.stack(rows), files) if len(rows) >= 2 else {}
        checked = {i for i in odd if samples[i]["sha256"] in vouched}
        for i in sorted(checked):
            self.report.notes.append(f"{self.images_dir / samples[i]['image']}: does not look like {name}'s other "
                                     f"photos (cosine {cosine_text(odd.pop(i))}); kept, as asked with --keep")
        if checked and len(rows) == 2:
            return rows, samples
        if not odd:
            return rows, samples
        unit = normalize(np.stack(rows))
        if not majority(len(rows), odd, files):  # no majority to go by: said, all kept
            self.report.notes.append(unlike_note(name, unit, samples, odd, self.images_dir / name))
            return rows, samples
        for index, cosine in odd.items():
            faces = samples[index].get("faces", 1)  # a sample taken at the door has one face
            guess = f"the wrong one of its {faces} faces" if faces > 1 else "someone else"
            self.report.skipped.append(f"{self.images_dir / samples[index]['image']}: does not look like {name}'s "
                                       f"other photos (cosine {cosine_text(cosine)}; {guess}?); left out" + KEEP_HINT)
        kept = [i for i in range(len(rows)) if i not in odd]
        return [rows[i] for i in kept], [samples[i] for i in kept]


    def _keep_or_skip(self, name: str, manifest: Manifest) -> None:
        """A person with photos of which none gave a row: the templates made before are kept while the
        photos they were made from are all still there (one damaged, that cannot be read now, loses
        nothing); made from photos staff removed or replaced since, they would go on checking that face
        in: not enrolled."""
        entry = manifest.people.get(name)
        if entry and not entry.stale and not self._sources_replaced(entry):
            self.report.notes.append(f"{name}: no usable photo now; keeping the templates extracted before")
            return
        manifest.people.pop(name, None)
        old = self.tensors_dir / f"{name}.npy"
        if old.is_file():
            move_to_legacy(self.tensors_dir, old)
        replaced = " (the photos their templates were made from are removed or replaced)" \
            if entry and not entry.stale else ""
        self.report.notes.append(f"{name}: no usable photo; not enrolled{replaced}")
        self.report.unenrolled.append(name)

    def _sources_replaced(self, entry: Entry) -> bool:
        """Whether a photo an entry's templates were made from is gone from the photo folder, or is another
        picture now, one that could be read (a damaged file, or one unreadable now, tells nothing)."""
        for sample in entry.samples:
            image = str(sample.get("image", ""))
            source = self.images_dir / image
            if sample.get("door") and not photo_here(self.images_dir, sample):  # kept at its own door
                continue
            if not source.is_file():
                return True
            if image not in self.unreadable and not _unchanged(source, str(sample.get("sha256", ""))):
                return True
        return False


def set_aside(tensors_dir: Path, path: Path, entry: Entry) -> Path | None:
    """A person's template file that is not the one the manifest holds (another project's, copied over it):
    moved to legacy/ before it is made again or removed, never deleted; None when it is ours or absent."""
    if path.is_symlink() or not path.is_file() or entry.npy_sha256 is None:
        return None
    try:
        if hashlib.sha256(path.read_bytes()).hexdigest() == entry.npy_sha256:
            return None
        return move_to_legacy(tensors_dir, path)
    except OSError:  # unreadable: said where it is read
        return None


def rows_of_size(path: Path, dim: int) -> bool:
    """Whether a template file a run cut short may have written holds rows of the recogniser's size, of unit
    length (a file put there by hand since, the original project's, is not taken for one)."""
    try:
        read_rows(path, dim)
    except GalleryError:
        return False
    return True


def unlike_note(name: str, unit: np.ndarray, samples: list[dict[str, Any]], odd: dict[int, float], folder: Path) -> str:
    """Photos of two people or more, none a majority: every photo named, by the person it looks like."""
    groups = ranked_groups(unit, [sample["sha256"] for sample in samples])
    if len(groups) < 2:  # one chain of alike photos with unlike ends
        groups = [[i for i in range(len(unit)) if i not in odd], sorted(odd)]
    named = "; ".join(", ".join(Path(samples[i]["image"]).name for i in group) for group in groups)
    return (f"{name}: its {len(unit)} photos look like {len(groups)} different people ({named}); all are kept, so "
            f"each may check in as {name}: remove the wrong ones from {folder} and run `faceattend extract` again")


def subject_of(faces: list[Face], size: tuple[int, int] | None) -> int | None:
    """Which face (of `faces`, the largest first) a photo was taken of, with no other photo to tell: the
    largest, unless another whole face is about its size (a face cut off at the edge is someone at the
    side); then the one clearly nearer the middle; None when nothing tells (two people side by side)."""
    rivals = [i for i, face in enumerate(faces) if face.area >= SAME_SIZE * faces[0].area
              and (i == 0 or size is None or whole(face, size))]
    if len(rivals) == 1:
        return 0
    if size is None:
        return None
    height, width = size
    off = {i: float(np.hypot((faces[i].box[0] + faces[i].box[2]) / 2 - width / 2,
                             (faces[i].box[1] + faces[i].box[3]) / 2 - height / 2)) for i in rivals}
    nearest, next_nearest = sorted(rivals, key=off.__getitem__)[:2]
    return nearest if off[nearest] * 2 <= off[next_nearest] else None


def whole(face: Face, size: tuple[int, int]) -> bool:
    """Whether a face lies inside the picture, clear of its edges (one cut off there touches them)."""
    height, width = size
    x1, y1, x2, y2 = (float(v) for v in face.box)
    margin = 0.05 * max(face.width, face.height)
    return x1 > margin and y1 > margin and x2 < width - margin and y2 < height - margin


def _sample(key: str, sha256: str, face: Face, faces: int) -> dict[str, Any]:
    """What the manifest keeps of a photo: its face's box and score, how many faces it had."""
    return {"image": key, "sha256": sha256, "box": face.as_dict()["box"], "score": round(face.score, 4),
            "faces": faces}


def unit_mean(rows: np.ndarray) -> np.ndarray:
    return normalize(rows.mean(axis=0))


def cosine_text(cosine: float) -> str:
    """A cosine to two places, rounded down: one under ODD_FLOOR never reads as 0.20."""
    return f"{math.floor(cosine * 100) / 100:.2f}"


def odd_ones(rows: np.ndarray, files: list[str] | None = None) -> dict[int, float]:
    """The rows of someone else, with their cosine to the person: under ODD_FLOOR to the mean of the
    group of alike photos that weighs most (`weight`: two alike photos of a friend among the person's
    would each pass a test against all the others, their own twin among them; three copies of one file
    would outvote two photos of the person), or, inside that group, to the mean of its others. `files`:
    the hash of each row's photo file (None: all different)."""
    unit = normalize(rows)
    main = ranked_groups(unit, files)[0]
    centre = normalize(unit[main].mean(axis=0))
    odd = {i: float(unit[i] @ centre) for i in range(len(unit)) if i not in set(main)}
    odd = {i: cosine for i, cosine in odd.items() if cosine < ODD_FLOOR}
    if len(main) >= 2:
        inside = _to_the_others(unit[main])
        odd.update({main[k]: float(inside[k]) for k in np.flatnonzero(inside < ODD_FLOOR)})
    return odd


def majority(rows: int, odd: dict[int, float], files: list[str]) -> bool:
    """Whether the photos kept weigh more than those left out (`weight`)."""
    kept = [i for i in range(rows) if i not in odd]
    return weight(kept, files) > weight(sorted(odd), files)


def ranked_groups(unit: np.ndarray, files: list[str] | None = None) -> list[list[int]]:
    """The groups of alike photos (`alike_groups`), the one that weighs most first."""
    return sorted(alike_groups(unit), key=lambda group: (-weight(group, files), group[0]))


def weight(rows: list[int], files: list[str] | None = None) -> int:
    """What photos weigh as witnesses of one person: how many distinct files they are (the same photo
    downloaded twice, "party (1).jpg", counts once; burst shots a second apart are moments of their own)."""
    return len({files[row] for row in rows} if files is not None else set(rows))


def alike_groups(unit: np.ndarray) -> list[list[int]]:
    """The rows joined, directly or through others, by cosines of ODD_FLOOR or more."""
    linked = (unit @ unit.T) >= ODD_FLOOR
    groups: list[list[int]] = []
    seen: set[int] = set()
    for first in range(len(unit)):
        if first in seen:
            continue
        group, todo = [], [first]
        seen.add(first)
        while todo:
            row = todo.pop()
            group.append(row)
            for other in map(int, np.flatnonzero(linked[row])):
                if other not in seen:
                    seen.add(other)
                    todo.append(other)
        groups.append(sorted(group))
    return groups


def _to_the_others(unit: np.ndarray) -> np.ndarray:
    """Each unit row's cosine to the mean of the other rows."""
    rest = unit.sum(axis=0, keepdims=True) - unit
    return np.einsum("ij,ij->i", unit, rest) / np.maximum(np.linalg.norm(rest, axis=1), 1e-12)


def why_not_a_name(name: str) -> str:
    """What makes a photo's or folder's name unusable as a person's, in words."""
    if not_utf8(name):
        return NOT_UTF8
    if name != name.strip():
        return "a name with spaces at either end"
    if name.startswith("."):
        return "a name that begins with a dot"
    if len(name.encode("utf-8")) > 200:
        return "a name over 200 bytes"
    if MISLEADING.search(name):
        return "a name with a text direction mark or an invisible character"
    return "a name with a path separator or a control character"


def _chunks(photos: Iterable[Photo], size: int, nbytes: int) -> Iterator[list[Photo]]:
    """Runs of `size` photos, cut short where their pictures reach `nbytes`."""
    chunk: list[Photo] = []
    held = 0
    for photo in photos:
        chunk.append(photo)
        held += photo.nbytes
        if len(chunk) == size or held >= nbytes:
            yield chunk
            chunk, held = [], 0
    if chunk:
        yield chunk


class Typical:
    """The mean memory of the photos loaded so far (a guess for those still loading)."""

    def __init__(self, guess: int):
        self.value, self._total, self._count = guess, 0, 0

    def seen(self, photo: Photo) -> Photo:
        self._total += photo.nbytes
        self._count += 1
        self.value = self._total // self._count
        return photo


def _held(ahead: deque[Future[Photo]], typical: int) -> int:
    """Memory the photos ahead take or will take (those still loading counted as `typical`)."""
    return sum(f.result().nbytes if f.done() else typical for f in ahead)


def written_by_a_run_cut_short(tensors_dir: Path) -> set[str]:
    """The people whose template files an extraction that never finished may have written (its RUNNING
    record is still there); none when the last one finished."""
    try:
        names = json.loads((tensors_dir / RUNNING).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return {n for n in names if isinstance(n, str)} if isinstance(names, list) else set()


def _decoded(photo: Photo) -> np.ndarray:
    """The picture of a photo loaded without an error."""
    assert photo.image is not None  # load_photo sets the image or the error
    return photo.image


Rows = list[np.ndarray]
Samples = list[dict[str, Any]]


def _checked_here(check: Callable[[Rows, Samples], tuple[Rows, Samples]], rows: Rows, samples: Samples
                  ) -> tuple[Rows, Samples]:
    """`check` (the stranger check) on this door's photos among themselves; other doors' rows kept as they
    are, all in the one order every door keeps."""
    own = [i for i, sample in enumerate(samples) if not sample.get("door")]
    mine = check([rows[i] for i in own], [samples[i] for i in own]) if own else ([], [])
    merged = list(zip(mine[1], mine[0], strict=True))
    merged += [(sample, row) for sample, row in zip(samples, rows, strict=True) if sample.get("door")]
    merged.sort(key=lambda pair: (pair[0]["image"], pair[0]["sha256"]))
    return [row for _, row in merged], [sample for sample, _ in merged]


def _unlike_other_doors(name: str, rows: Rows, samples: Samples, vouched: set[str], skipped: list[str],
                        images_dir: Path) -> tuple[Rows, Samples]:
    """This door's photos unlike the person's at the other doors, which outweigh them, are left out (a single
    photo here has no others here to be checked against); other doors' rows are left to their own door."""
    files = [sample["sha256"] for sample in samples]
    odd = {i: cosine for i, cosine in odd_ones(np.stack(rows), files).items()
           if not samples[i].get("door") and files[i] not in vouched}
    alike = ranked_groups(normalize(np.stack(rows)), files)[0]  # the witnesses: photos that look alike, not any
    if not odd or weight(alike, files) <= weight(sorted(odd), files):
        return rows, samples
    for index, cosine in sorted(odd.items()):
        skipped.append(f"{images_dir / samples[index]['image']}: does not look like {name}'s photos at the other "
                       f"doors (cosine {cosine_text(cosine)}; someone else?); left out" + KEEP_HINT)
    kept = [i for i in range(len(rows)) if i not in odd]
    return [rows[i] for i in kept], [samples[i] for i in kept]


def photo_here(images_dir: Path, sample: dict[str, Any]) -> bool:
    """Whether the photo a template was made from is in `images_dir` as it was. A template marked with a
    "door" was made at another door of a shared database from a photo that stays there."""
    return _unchanged(images_dir / str(sample.get("image", "")), str(sample.get("sha256", "")))


def _unchanged(source: Path, sha256: str) -> bool:
    """Whether a photo is still there as it was (one that cannot be read is not)."""
    try:
        return source.is_file() and _sha256(source) == sha256
    except OSError:
        return False


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
