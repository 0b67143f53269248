"""`database_tensor/`: one `<name>.npy` per person (float32, (k, D), unit rows) and a manifest.

The manifest names the recogniser (and its SHA-256) and, for each person, the source image and
its hash behind every row, so extraction can redo exactly what changed.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import io
import json
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from faceattend_tui.errors import FaceattendError
from faceattend_tui.filelock import Busy, current_user, describe, hold, holder_record
from faceattend_tui.files import atomic_write, make_private_dir, read_regular
from faceattend_tui.gallery import index, matcher
from faceattend_tui.gallery.matcher import Gallery
from faceattend_tui.text import plural
from faceattend_tui.vision.identity import RecognizerId

MANIFEST = "manifest.json"
RUNNING = ".extraction-running.json"  # the people a run under way may write; left behind by one cut short
# A template embeds the face and its mirror image: fewer strangers accepted, at no cost to live
# recognition (benchmarks/identification.py, "flip at enrollment"). Photos and camera captures alike.
TEMPLATE_FLIP = True
LOCK_NAME = ".templates.lock"
FORMAT = 1
LEGACY_DIR = "legacy"
SMALL_CHANGE = 8  # people enrolled, changed or removed that a reload applies to the gallery in place
INDEX_PREFIX = ".index-"  # a large gallery's search index, saved beside its templates
MAX_TEMPLATE_BYTES = 256 << 20  # one person's file: 130,000 rows of 512 floats
# A photo whose face has a cosine under this to the mean of its person's other photos is someone else
# (a misfiled photo, or the wrong face of a group picture). Measured on 147 people of the shared
# sample photos (LFW and others, 2-20 photos each): 99.5 % of 578 genuine photos stay above it, and
# every one of 147 photos of another person put among them falls below (the highest reached 0.18).
ODD_FLOOR = 0.2


class GalleryError(FaceattendError):
    """Templates that cannot be used: missing, from another model, or of the wrong shape."""


@dataclass
class Entry:
    """One person's folder in the manifest: the photo behind each row of `<name>.npy`, and that file's hash."""

    samples: list[dict[str, Any]] = field(default_factory=list)  # {"image", "sha256", ...} per row, in row order
    npy_sha256: str | None = None
    stale: bool = False  # an interrupted rebuild: maybe another model's rows, not yet redone
    vouched: list[str] = field(default_factory=list)  # hashes of photos kept although unlike the others

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entry:
        """An entry `entry_problem` has accepted."""
        return cls(samples=list(data.get("samples", [])), npy_sha256=data.get("npy_sha256"),
                   stale=bool(data.get("stale")), vouched=list(data.get("vouched", [])))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"samples": self.samples}
        if self.npy_sha256 is not None:
            data["npy_sha256"] = self.npy_sha256
        if self.stale:
            data["stale"] = True
        if self.vouched:
            data["vouched"] = self.vouched
        return data


@dataclass
class Manifest:
    recognizer: RecognizerId | None = None  # None: not recorded yet
    people: dict[str, Entry] = field(default_factory=dict)  # folder name -> its entry

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "recognizer": self.recognizer.to_dict() if self.recognizer else {},
                "people": {name: entry.to_dict() for name, entry in self.people.items()}}

    def made_by(self, recognizer: RecognizerId | None) -> bool:
        """Whether these templates come from `recognizer` (the same file, by its hash)."""
        return self.sha256 == (recognizer.sha256 if recognizer else None)

    @property
    def sha256(self) -> str | None:
        """The hash of the recogniser that made these templates, None when not recorded."""
        return self.recognizer.sha256 if self.recognizer else None

    @property
    def recognizer_label(self) -> str:
        return self.recognizer.label if self.recognizer else "another model"


class NotYours(GalleryError):
    """Templates this user may not read: their files are there, nothing needs rebuilding."""


def load_manifest(folder: Path) -> Manifest | None:
    """The manifest, or None when there is none; a broken one raises GalleryError."""
    path = folder / MANIFEST
    try:
        if not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except PermissionError:
        raise NotYours(f"{path}: {current_user()} may not read it (another user's, root's after a command run as "
                       f"root?); give the folder back: chown -R {current_user()} {folder}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GalleryError(f"{path}: unreadable manifest ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("people"), dict):
        raise GalleryError(f"{path}: not a faceattend manifest of format {FORMAT}")
    if not isinstance(data.get("recognizer") or {}, dict):
        raise GalleryError(f"{path}: the recognizer entry is not an object")
    problem = recognizer_problem(data.get("recognizer") or {})
    if problem:
        raise GalleryError(f"{path}: the recognizer entry's {problem}")
    for name, entry in data["people"].items():
        problem = entry_problem(name, entry)
        if problem:
            raise GalleryError(f"{path}: entry {name[:80]!r} {problem}; it is not used")
    return Manifest(recognizer=RecognizerId.from_dict(data.get("recognizer")),
                    people={name: Entry.from_dict(entry) for name, entry in data["people"].items()})


def recognizer_problem(recognizer: dict) -> str | None:
    """Why the manifest's recognizer entry cannot be read (a hand edit), or None."""
    dim = recognizer.get("dim")
    if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or not 0 < dim <= 65536):
        return f"dim {str(dim)[:20]!r} is not a whole number of values"
    for key in ("name", "sha256"):
        if recognizer.get(key) is not None and not isinstance(recognizer[key], str):
            return f"{key} is not text"
    return None


UNSAFE = re.compile("[/\\\\\x00-\x1f\ud800-\udfff]")  # separators, controls, bytes not UTF-8 (read as surrogates)


def safe_name(name: str) -> bool:
    """Whether a folder name stays inside its folder when used as a file name (no separators, no dot first)."""
    return (isinstance(name, str) and not UNSAFE.search(name) and 0 < len(name.encode("utf-8")) <= 200
            and not name.startswith(".") and name == name.strip())


def safe_relative(path: object) -> bool:
    """A path inside database_image/ (relative, no parent steps)."""
    if not isinstance(path, str) or path.startswith("/") or "\\" in path or "\x00" in path:
        return False
    parts = [part for part in path.split("/") if part not in ("", ".")]  # as PurePosixPath reads it
    return bool(parts) and ".." not in parts


def entry_problem(name: str, entry: object) -> str | None:
    """Why a manifest entry cannot be trusted, or None."""
    if not safe_name(name):
        return "is not a usable folder name"
    if not isinstance(entry, dict) or not isinstance(entry.get("samples", []), list):
        return "is not an object with a list of samples"
    vouched = entry.get("vouched", [])
    if not isinstance(vouched, list) or not all(isinstance(sha, str) for sha in vouched):
        return "has photos kept by hand that are not a list of hashes"
    for sample in entry.get("samples", []):
        if not isinstance(sample, dict) or not safe_relative(sample.get("image")) \
                or not isinstance(sample.get("sha256"), str):
            return "has a sample that is not a photo inside database_image/ with its hash"
    return None


def enrolled_counts(folder: Path) -> dict[str, int]:
    """Name -> number of templates of everyone the manifest lists whose file is there, of the size its
    rows make (what the worker recognises; a file deleted or cut short by hand is no templates)."""
    try:
        manifest = load_manifest(folder)
    except GalleryError:
        return {}
    if manifest is None:
        return {}
    dim = (manifest.recognizer.dim if manifest.recognizer else None) or 512
    return {name: len(entry.samples) for name, entry in manifest.people.items()
            if entry.stale or _sized(folder / f"{name}.npy", len(entry.samples) * dim * 4)}


def _sized(path: Path, body: int) -> bool:
    """Whether a template file is a regular file of `body` bytes of rows after a .npy header."""
    try:
        info = path.stat()
    except OSError:
        return False
    header = info.st_size - body
    return stat.S_ISREG(info.st_mode) and 0 < header <= 4096 and header % 16 == 0


@contextlib.contextmanager
def changing(folder: Path, what: str) -> Iterator[None]:
    """Hold the templates' lock while changing them (extraction, enrollment, removal)."""
    make_private_dir(folder)
    try:
        lock = hold(folder / LOCK_NAME, holder_record(what=what))
    except Busy as exc:
        raise GalleryError(f"the templates in {folder} are being changed by {describe(exc.holder)}; "
                           "try again when that has finished") from None
    try:
        yield
    finally:
        lock.release()


def save_manifest(folder: Path, manifest: Manifest) -> None:
    write_atomic(folder / MANIFEST, json.dumps(manifest.to_json(), indent=1, ensure_ascii=False).encode())


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` whole (temporary file, fsync, rename), creating its folder; mode 0600."""
    make_private_dir(path.parent)
    atomic_write(path, data)


def npy_bytes(rows: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(rows, dtype=np.float32))
    return buffer.getvalue()


def person_file(rows: np.ndarray) -> tuple[bytes, str]:
    """The bytes of a template file and their SHA-256."""
    data = npy_bytes(rows)
    return data, hashlib.sha256(data).hexdigest()


def save_person(folder: Path, name: str, rows: np.ndarray) -> str:
    """Write `<name>.npy` atomically; returns its SHA-256."""
    data, digest = person_file(rows)
    write_atomic(folder / f"{name}.npy", data)
    return digest


def read_rows(path: Path, dim: int | None = None, sha256: str | None = None) -> np.ndarray:
    """Rows of a template file, checked for shape, dtype and unit length, and against `sha256` (the
    manifest's hash of it) when given: a file swapped or copied in by hand must not name anyone."""
    try:
        data = read_regular(path, MAX_TEMPLATE_BYTES)  # not a pipe or a device, and bounded
    except OSError as exc:
        raise GalleryError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if sha256 and hashlib.sha256(data).hexdigest() != sha256:
        raise GalleryError(f"{path}: changed since the manifest was written (an extraction cut short, or a "
                           "change by hand)")
    try:
        rows = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as exc:  # noqa: BLE001 - a damaged header fails in numpy's own parser (SyntaxError, TokenError)
        raise GalleryError(f"{path}: not a readable .npy file ({type(exc).__name__}: {exc})") from None
    if not isinstance(rows, np.ndarray):  # a .npz archive under a .npy name
        raise GalleryError(f"{path}: not a .npy file (an archive of several arrays)")
    if rows.ndim != 2 or rows.shape[0] == 0 or (dim is not None and rows.shape[1] != dim):
        raise GalleryError(f"{path}: shape {rows.shape}, expected (k, {dim or 'D'})")
    if rows.dtype != np.float32:
        raise GalleryError(f"{path}: dtype {rows.dtype}, expected float32")
    if not np.all(np.isfinite(rows)) or not np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-3):
        raise GalleryError(f"{path}: rows are not unit-length embeddings (seed-era or foreign file)")
    return rows


def move_to_legacy(folder: Path, path: Path) -> Path:
    """Keep a file we will not use (e.g. a seed-era .npy) out of the way instead of deleting it; one kept
    there before under that name stays too (ann.npy, then ann.npy.2)."""
    legacy = folder / LEGACY_DIR
    make_private_dir(legacy)
    target, number = legacy / path.name, 1
    while target.exists():
        number += 1
        target = legacy / f"{path.name}.{number}"
    os.replace(path, target)
    return target


def legacy_copies(folder: Path, name: str) -> list[Path]:
    """The files of a person's folder `name` kept aside under legacy/ (name.npy, name.npy.2 ...)."""
    legacy = folder / LEGACY_DIR
    first = legacy / f"{name}.npy"
    numbered = [p for p in legacy.glob(f"{glob.escape(name)}.npy.*") if p.name[len(first.name) + 1:].isdigit()]
    return ([first] if first.is_file() else []) + sorted(numbered)


def foreign(made: RecognizerId | None, used_sha256: str | None) -> bool:
    """Whether templates `made` by a recogniser are another's than the one in use (both known)."""
    return made is not None and made.sha256 is not None and used_sha256 is not None and made.sha256 != used_sha256


def made_by_another(made: RecognizerId | None, in_use: str = "") -> str:
    """Whose templates these are, against the recogniser in use (`in_use`: its name) - a file of the
    same name whose contents changed since too."""
    if made is None or not made.name:
        return f"made by another recogniser than {in_use}" if in_use else "made by another recogniser"
    if in_use and Path(made.name).name == Path(in_use).name:
        return f"made by {made.name} as it was before: the file has changed since (another SHA-256)"
    return f"made by {made.name}, not {in_use}" if in_use else f"made by {made.name}, not the recogniser in use"


def load_gallery(folder: Path, recognizer_sha256: str, dim: int,
                 previous: Gallery | None = None, name: str = "") -> tuple[Gallery, list[str]]:
    """The enrolled templates as a Gallery, plus one warning line per file that was left out.

    Templates from another recogniser are refused as a whole: mixing models gives wrong names.
    With `previous` (what the same folder gave before), a reload that finds at most SMALL_CHANGE
    people enrolled, changed or removed reads only their files and updates `previous` in place,
    so a large gallery keeps its search index; otherwise a new gallery is built.
    """
    warnings: list[str] = []
    manifest = load_manifest(folder)
    files = sorted(folder.glob("*.npy")) if folder.is_dir() else []
    if manifest is None:
        if files:
            warnings.append(f"{folder}: {plural(len(files), '.npy file')} without a manifest "
                            f"({no_manifest_why(folder)}); run `faceattend extract` to rebuild them")
        return Gallery.from_people({}, dim), warnings
    if manifest.sha256 != recognizer_sha256:
        raise GalleryError(f"{folder}: templates {made_by_another(manifest.recognizer, name)}; "
                           "run `faceattend extract` to rebuild them")
    sources = {}  # name -> hash of the template file the manifest names ("" when not recorded)
    for name, entry in manifest.people.items():
        if entry.stale:  # an interrupted rebuild: maybe another model's rows, not yet redone
            warnings.append(f"{folder / (name + '.npy')}: not yet rebuilt by an interrupted extraction; "
                            f"{name} left out, run `faceattend extract`")
            continue
        sources[name] = entry.npy_sha256 or ""
    kept = unchanged_people(previous, sources)
    people = {}
    for name in sources:
        if kept is not None and name in kept:
            continue
        try:
            people[name] = read_rows(folder / f"{name}.npy", dim, sources[name])
        except GalleryError as exc:
            warnings.append(f"{exc}; {name} left out, run `faceattend extract`")
            continue
        if len(people[name]) != len(manifest.people[name].samples):
            warnings.append(f"{folder / (name + '.npy')}: rows do not match the manifest; run `faceattend extract`")
    for path in files:
        if path.stem not in manifest.people:
            warnings.append(f"{path}: not in the manifest (an extraction cut short, or a file of another "
                            "program); ignored until `faceattend extract` runs")
    if kept is None or previous is None:  # kept is None without a previous gallery
        gallery = Gallery.from_people(people, dim)
    else:
        gallery = apply_changes(previous, kept, people)
    gallery.sources = {name: sources[name] for name in gallery.names}  # before prepare_index: its name uses them
    if kept is None:
        prepare_index(gallery, folder, recognizer_sha256)
    else:
        gallery.prepare()
    return gallery, warnings


def unchanged_people(previous: Gallery | None, sources: dict[str, str]) -> set[str] | None:
    """People `previous` holds from the very file the manifest names now; None when a new gallery is
    better: no previous one, or more than SMALL_CHANGE people enrolled, changed or removed."""
    if previous is None:
        return None
    kept = {name for name in previous.names if sources.get(name) and previous.sources.get(name) == sources[name]}
    changes = (len(sources) - len(kept)) + (len(previous.names) - len(kept))
    return kept if changes <= SMALL_CHANGE else None


def apply_changes(gallery: Gallery, kept: set[str], people: dict[str, np.ndarray]) -> Gallery:
    """Remove everyone not kept from `gallery`, then enroll `people` (new or changed)."""
    for name in [name for name in gallery.names if name not in kept]:
        gallery.remove_person(name)
    for name in sorted(people):
        gallery.add_person(name, people[name])
    return gallery


MAX_INDEX_BYTES = 16 * 2**30  # a saved index is read whole; this only keeps a device or a FIFO out


def prepare_index(gallery: Gallery, folder: Path, recognizer_sha256: str) -> None:
    """Give a large gallery its search index: the copy saved beside the templates when it was made
    from the very same files, else a new one (seconds at a million templates), saved for next time.

    The copy's name holds the recogniser's hash and a fingerprint of the files (`index_name`), so
    templates changed in any way, by the station or not, mean a new index.
    """
    if len(gallery) <= matcher.EXACT_LIMIT:
        return
    name = index_name(gallery, recognizer_sha256)
    if name is not None:
        try:
            saved = checked_index(read_regular(folder / name, MAX_INDEX_BYTES))
            gallery.use_index(index.RowIndex.from_bytes(saved, len(gallery), gallery.templates.shape[1]))
            return
        except (OSError, ValueError):
            pass  # none yet, or unusable: made again below
    gallery.prepare()
    if name is None:
        return
    with contextlib.suppress(OSError):  # only a cache: the next start builds it again
        for old in folder.glob(INDEX_PREFIX + "*"):
            old.unlink(missing_ok=True)
        body = gallery.row_index().to_bytes()
        write_atomic(folder / name, hashlib.sha256(body).digest() + body)


def checked_index(data: bytes) -> bytes:
    """A saved index without the SHA-256 it was written with; ValueError when they differ (a damaged
    file is never handed to the native reader, which may crash on it)."""
    digest, body = data[:32], data[32:]
    if len(digest) < 32 or hashlib.sha256(body).digest() != digest:
        raise ValueError("a saved index that is damaged")
    return body


def index_name(gallery: Gallery, recognizer_sha256: str) -> str | None:
    """`.index-<recogniser>-<files>.npz`, or None when a person's file hash is not recorded."""
    if not all(gallery.sources.get(name) for name in gallery.names):
        return None
    counts = np.bincount(gallery.owners, minlength=len(gallery.names))
    digest = hashlib.sha256(f"{index.PIECE_DIMS} {index.BITS} {gallery.templates.shape[1]}\n".encode())
    for name, count in zip(gallery.names, counts, strict=True):
        digest.update(f"{name}\0{gallery.sources[name]}\0{count}\n".encode())
    return f"{INDEX_PREFIX}{recognizer_sha256[:16]}-{digest.hexdigest()[:16]}.npz"


def no_manifest_why(folder: Path) -> str:
    """Why template files have no manifest beside them: a first extraction cut short, or older files."""
    return "an extraction cut short" if (folder / RUNNING).exists() else "the original project's, or the manifest lost"
