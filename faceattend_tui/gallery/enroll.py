"""Adding and removing people without a full extraction run (enrollment from the camera).

Each sample is a photo of the face (saved under database_image/<name>/) and its embedding; the
manifest records the photo's hash, so a later `faceattend extract` sees it as up to date.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from pathlib import Path

import numpy as np

from faceattend_tui.config import Settings
from faceattend_tui.gallery.templates import (
    ODD_FLOOR,
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
from faceattend_tui.vision.embedder import normalize
from faceattend_tui.vision.identity import RecognizerId
from faceattend_tui.vision.imageio import is_image_name

NAME_PATTERN = re.compile(r"^[^/\\:*?\"<>|\x00-\x1f]{1,80}$")  # file names on every system


def check_name(name: str) -> str:
    """A new folder name as it will be used for files; refuses names that cannot be file names."""
    name = name.strip()
    if not safe_name(name) or not NAME_PATTERN.match(name):
        raise GalleryError(f"{name!r} cannot be used as a folder name (no / \\ : * ? \" < > | or leading dot)")
    return name


class UnlikeSamples(GalleryError):
    """Samples for someone enrolled that do not look like them: someone else, most likely."""

    def __init__(self, enrolled: int, cosine: float, folder: str = ""):
        super().__init__(f"these samples do not look like the {enrolled} enrolled (cosine {cosine:.2f})")
        self.enrolled, self.cosine, self.folder = enrolled, cosine, folder


def add_samples(settings: Settings, name: str, photos: list[bytes], embeddings: np.ndarray,
                recognizer: RecognizerId) -> int:
    """Save JPEG photos and their embeddings for a new or existing person; returns their sample count.
    Samples that do not look like the person's enrolled ones are refused (UnlikeSamples)."""
    name = check_name(name)
    with changing(settings.tensors_dir, "enrollment"):
        return _add_samples(settings, name, photos, embeddings, recognizer)


def resemblance(rows: np.ndarray, embeddings: np.ndarray) -> float:
    """The cosine between new samples and enrolled ones, each averaged."""
    return float(normalize(rows.mean(axis=0)) @ normalize(embeddings.mean(axis=0)))


def _add_samples(settings: Settings, name: str, photos: list[bytes], embeddings: np.ndarray,
                 recognizer: RecognizerId) -> int:
    images, tensors = settings.images_dir / name, settings.tensors_dir
    manifest = _manifest_for(tensors, recognizer)
    entry = manifest.people.get(name, Entry())
    rows = _existing_rows(tensors, name, entry, recognizer.dim or embeddings.shape[1])
    if len(rows) and (cosine := resemblance(rows, embeddings)) < ODD_FLOOR:
        raise UnlikeSamples(len(rows), cosine, name)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    samples = list(entry.samples) if len(rows) else []
    for i, jpeg in enumerate(photos):
        path = images / f"camera-{stamp}-{i + 1}.jpg"
        write_atomic(path, jpeg)
        samples.append({"image": path.relative_to(settings.images_dir).as_posix(),
                        "sha256": hashlib.sha256(jpeg).hexdigest(), "source": "camera"})
    all_rows = np.concatenate([rows, normalize(embeddings)]) if len(rows) else normalize(embeddings)
    digest = save_person(tensors, name, all_rows)
    manifest.people[name] = Entry(samples, digest)
    save_manifest(tensors, manifest)
    return len(samples)


def has_photos(images_dir: Path, name: str) -> bool:
    """Whether a person's photos (their folder, or a photo named after them) hold any to extract templates from."""
    folder = images_dir / name
    if folder.is_dir() and any(p.is_file() and is_image_name(p) for p in folder.iterdir()):
        return True
    return images_dir.is_dir() and any(p.stem == name and p.is_file() and is_image_name(p)
                                       for p in images_dir.iterdir())


def remove_person(settings: Settings, name: str, outside: list[Path] | None = None) -> bool:
    """Erase a person's photos and templates; returns whether anything was there. Photos linked in
    from outside the data folder lose their link here; where the link led goes to `outside`."""
    with changing(settings.tensors_dir, "removal"):
        return _remove_person(settings, name, outside)


def _remove_person(settings: Settings, name: str, outside: list[Path] | None = None) -> bool:
    if not safe_name(name):
        raise GalleryError(f"{name!r} cannot be a folder name")
    found = remove_photos(settings.images_dir, name, outside)
    return remove_templates(settings.tensors_dir, name) or found


def same_photos_elsewhere(tensors: Path, images: Path, name: str) -> list[Path]:
    """Photos byte for byte like one of `name`'s, filed under other people (by the manifest's hashes): an
    erasure names them, since they show the face it erases."""
    try:
        manifest = load_manifest(tensors)
    except GalleryError:  # said wherever the templates are used
        return []
    if manifest is None or name not in manifest.people:
        return []
    theirs = {s.get("sha256") for s in manifest.people[name].samples} - {None}
    found = {images / s["image"] for other, entry in manifest.people.items() if other != name
             for s in entry.samples if s.get("sha256") in theirs and isinstance(s.get("image"), str)}
    return sorted(path for path in found if path.is_file())  # a photo of another door's is not here


def remove_templates(tensors: Path, name: str) -> bool:
    """A folder's templates (its .npy and its manifest entry), its photos kept; whether any were there."""
    found = False
    manifest = load_manifest(tensors)
    if manifest and manifest.people.pop(name, None) is not None:
        save_manifest(tensors, manifest)
        found = True
    npy = tensors / f"{name}.npy"
    if npy.is_file():
        npy.unlink()
        found = True
    return found


def forget_refused(tensors: Path, folders: list[str]) -> None:
    """The templates of folders of people erased (their photos put back): never matched, whoever's they are."""
    if folders:
        with changing(tensors, "removal"):
            for folder in folders:
                remove_templates(tensors, folder)


def remove_photos(images_dir: Path, name: str, outside: list[Path] | None = None) -> bool:
    """A person's photos: database_image/<name>/ and database_image/<name>.<ext> (not "<name>.R. Smith.jpg",
    someone else's); returns whether any were there. A link (to a folder or a photo kept elsewhere) is
    removed, never followed: where it led goes to `outside`, for the user to deal with."""
    found = False
    singles = [p for p in images_dir.glob(f"{glob_escape(name)}.*") if p.stem == name] if images_dir.is_dir() else []
    for photo in [*singles, images_dir / name]:
        if photo.is_symlink():
            _note_link(photo, outside)
            photo.unlink()
            found = True
        elif photo.is_dir():
            for link in (p for p in photo.rglob("*") if p.is_symlink()):
                _note_link(link, outside)
            shutil.rmtree(photo)
            found = True
        elif photo.is_file():
            photo.unlink()
            found = True
    return found


def _note_link(link: Path, outside: list[Path] | None) -> None:
    if outside is not None and link.exists():
        outside.append(Path(os.path.realpath(link)))


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _manifest_for(tensors: Path, recognizer: RecognizerId) -> Manifest:
    manifest = load_manifest(tensors)
    if manifest is None:
        return Manifest(recognizer=recognizer)
    if not manifest.made_by(recognizer):
        raise GalleryError(f"{tensors}: templates were made by another recogniser; run `faceattend extract` first")
    return manifest


def _existing_rows(tensors: Path, name: str, entry: Entry, dim: int) -> np.ndarray:
    if not entry.samples:
        return np.zeros((0, dim), np.float32)
    try:
        rows = read_rows(tensors / f"{name}.npy", dim, entry.npy_sha256)
    except GalleryError:
        return np.zeros((0, dim), np.float32)
    return rows if len(rows) == len(entry.samples) else np.zeros((0, dim), np.float32)
