"""`faceattend doctor`: what this machine offers the station, one line per fact."""

from __future__ import annotations

import os
import platform
import re
import shutil
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import onnxruntime as ort

from faceattend_tui.config import Settings
from faceattend_tui.files import error_text, foreign_owned, unfit_data_folder
from faceattend_tui.vision.identity import RecognizerId
from faceattend_tui.vision.models import (
    ASSETS,
    asset_candidates,
    cache_dir,
    configured_sha256,
    file_candidates,
    find_asset,
    loaded_models,
    model_names,
    sha256_file,
)
from faceattend_tui.vision.runtime import NO_GPU, ModelError, cuda_problem, nvidia_gpus

if TYPE_CHECKING:
    from faceattend_tui.attendance.models import Person
    from faceattend_tui.gallery.templates import Manifest

NO_ROOT_YET = " (not there yet: the station makes it)"
FAILURES = ("NOT FOUND", "NOT INSTALLED", "MISMATCH", "CANNOT LOAD", "UNREACHABLE", "CANNOT READ", "MISSING",
            "CANNOT OPEN", "CANNOT WRITE", "LEFT OUT", "UNUSABLE", "UNFIT", "LOW ON SPACE", "CUT SHORT")
RUNNING_HERE = "the station runs on this data folder"
LOW_SPACE = 20 * 1024 * 1024  # bytes free, beyond the log's own size, under which its next fold may fail
# (the words above are what stops the station)


def model_lines(settings: Settings) -> list[str]:
    lines = [f"models cache: {cache_dir()}", f"user models:  {settings.models_dir}"]
    roles = [("detector", settings.detector), ("recognizer", settings.recognizer)]
    roles += [("landmarks", settings.landmarks)] if settings.liveness != "off" else []  # liveness needs it too
    for role, value in roles:
        lines.append(f"{role:10s} {value}: {_describe_model(value, settings.data)}")
    return lines


def _describe_model(value: str, data: Path) -> str:
    try:
        return _find_model(value, data)
    except OSError as exc:  # unreadable: said on its line, the other checks go on
        return f"CANNOT READ: {getattr(exc, 'filename', None) or value}: {exc.strerror or exc}"


def _find_model(value: str, data: Path) -> str:
    if value in ASSETS:
        hashes = {p: sha256_file(p) for p in asset_candidates(value, data) if p.is_file()}  # each copy hashed once
        used = next((p for p, digest in hashes.items() if digest == ASSETS[value].sha256), None)
        damaged = [p for p, digest in hashes.items() if digest != ASSETS[value].sha256]
        note = "".join(f"; damaged copy ignored: {p} (SHA-256 MISMATCH)" for p in damaged)
        if used is None:
            return f"NOT INSTALLED (run `faceattend models install`){note}"
        return f"{used} (sha256 ok){note}"
    for path in file_candidates(value, data):
        if path.is_file():
            return f"{path} (sha256 {sha256_file(path)[:16]}...)"
    return "NOT FOUND"


def folder_lines(data: Path, models: list[Path] | None = None) -> list[str]:
    """Whether the station could record in its data root: its lock, journal and log are written there."""
    if not data.is_dir():
        return []
    unfit = unfit_data_folder(data)
    if unfit:  # the station refuses it
        return [f"data root:  UNFIT: {unfit}"]
    owner = _owner(data)
    if not os.access(data, os.R_OK | os.X_OK):
        return [f"data root:  CANNOT READ: {data} (owned by {owner}): run as that user, or give this one access"]
    if not os.access(data, os.W_OK):
        return [f"data root:  CANNOT WRITE: {data} (a read-only disk, or owned by {owner}): the station would "
                "refuse to start"]
    free, log = shutil.disk_usage(data).free, _log_bytes(data)
    if free < LOW_SPACE + log:
        whole = f"; the log ({_mib(log)}) is written whole again when the station closes" if log else ""
        return [f"data root:  LOW ON SPACE: {_mib(free)} free on its disk, {_mib(LOW_SPACE + log)} wanted{whole}: "
                "make room"]
    return [f"data root:  OWNED BY ANOTHER USER: {path} (owned by {_owner(path)}): that user decides this "
            "station's settings or models" for path in foreign_owned(data, models or [])]


def _log_bytes(data: Path) -> int:
    """The size of the log and its journal, which a fold writes whole again beside the old log."""
    sizes = [(data / name).stat().st_size for name in ("attendance.json", "attendance.journal")
             if (data / name).is_file()]
    return sum(sizes)


def _mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size // 1024} KiB"


def station_lines(data: Path) -> list[str]:
    """Whether a station runs on this data folder now (a service's health check reads it), from the lock
    record it keeps there and whether a process holds that lock; read only, the lock is never taken."""
    from faceattend_tui.attendance.security import CUT_OFF_NAME, LOCK_NAME

    holder = _record(data / LOCK_NAME)
    if holder.get("what") != "station":
        left = _record(data / CUT_OFF_NAME)  # a command took a crashed station's lock since: the next start says it
        return [f"station:    none running; the last one ended without closing ({_who(left)}): the next start "
                "says so"] if left.get("what") == "station" else []
    here = holder.get("host") == socket.gethostname()
    if station_running(data):
        return [f"station:    running on this data folder ({_who(holder)})"]
    if not here:  # a folder shared over the network: that machine's locks are not in this one's table
        return [f"station:    the lock record names host {holder.get('host', '?')} ({_who(holder)}): whether it "
                "runs there cannot be told from this machine"]
    return [f"station:    none running; the last one ended without closing ({_who(holder)}): the next start says so"]


def station_running(data: Path) -> bool:
    """Whether a station of this machine runs on the data folder now (read only: the lock is never taken)."""
    from faceattend_tui.attendance.security import LOCK_NAME
    from faceattend_tui.filelock import held_by_a_process

    holder = _record(data / LOCK_NAME)
    if holder.get("what") != "station":
        return False
    held = held_by_a_process(data / LOCK_NAME, data)
    return bool(held or (held is None and holder.get("host") == socket.gethostname() and _alive(holder.get("pid"))))


def _record(path: Path) -> dict[str, object]:
    import json

    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _who(holder: dict[str, object]) -> str:
    return (f"pid {holder.get('pid', '?')} of user {holder.get('user', '?')} on {holder.get('host', '?')}, "
            f"since {holder.get('since', '?')}")


def _alive(pid: object) -> bool:
    """Whether a process of this pid runs faceattend on this machine (a pid reused since is not it)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    if not Path("/proc/self").exists():  # no /proc (macOS): whether the pid runs at all
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True
        return True
    try:
        return b"faceattend" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:
        return True


def _owner(path: Path) -> str:
    try:
        import pwd

        return pwd.getpwuid(path.stat().st_uid).pw_name
    except (ImportError, KeyError, OSError):
        return "another user"


def records_lines(settings: Settings) -> list[str]:
    """Whether the station would start on the data root's records: its log read, the templates of
    everyone on the roster there, made by the recogniser it is set to use."""
    from faceattend_tui.attendance import StoreError, tinystore
    from faceattend_tui.attendance.models import plural
    from faceattend_tui.attendance.tiny.files import LOG_NAME
    from faceattend_tui.gallery.enroll import has_photos
    from faceattend_tui.gallery.templates import GalleryError, enrolled_counts, load_manifest
    from faceattend_tui.station import enrolling
    from faceattend_tui.station.people import erasures_cut_short
    from faceattend_tui.station.sync import log_place_problem

    if not settings.data.is_dir():
        return []
    problem = log_place_problem(settings)
    if problem:  # the station would not start on it
        return [f"log:        CANNOT OPEN: {problem}"]
    try:
        manifest = load_manifest(settings.tensors_dir)
    except GalleryError as exc:
        return [f"templates:  CANNOT READ: {exc}"]
    lines = [f"erasure:    CUT SHORT: {note}" for note in erasures_cut_short(settings.data)]
    lines += [f"enrollment: CUT SHORT: {note}" for note in enrolling.cut_short(settings.data)]
    lines += _recognizer_line(settings, manifest.recognizer if manifest else None)
    left_out = _left_out(settings.tensors_dir, manifest)
    lines += _left_out_lines(settings.tensors_dir, manifest, left_out)
    lines += _waiting_line(settings, set(manifest.people) if manifest else set())
    lines += _removed_line(settings, manifest)
    lines += _alike_lines(settings, manifest)
    if settings.database:
        return [*lines, *_shared_lines(settings)]  # the roster is the database's
    log = settings.data / LOG_NAME
    if not log.exists():
        journal = log.with_suffix(".journal")
        if journal.exists():  # a log lost after a crash: the station refuses the journal alone
            return [*lines, f"log:        CANNOT READ: {log} is missing while {journal} goes on from it; put the "
                            "log back from a backup"]
        return lines  # a new data root: the station makes its log
    try:
        with (store := tinystore.open_snapshot(settings.data)):
            people = [p for p in store.people() if p.active]
            lines += _upgrade_line(log, store.upgraded_from, store.schema_version)
    except (StoreError, OSError) as exc:
        return [*lines, f"log:        CANNOT READ: {exc}"]
    counts = enrolled_counts(settings.tensors_dir)
    # as the station sees it: templates that were there once, gone, and photos to make them again from
    missing = [p for p in people if p.folder and p.images and p.folder not in counts
               and has_photos(settings.images_dir, p.folder)]
    if missing:
        names = ", ".join(f"{p.name} ({p.id})" for p in missing[:5]) + (" ..." if len(missing) > 5 else "")
        return [*lines, f"templates:  MISSING for {len(missing)} of {len(people)} people ({names}): run `faceattend "
                        "extract`"]
    usable = len(set(counts) - set(left_out))
    return [*lines, f"templates:  {plural(usable, 'person', 'people')} enrolled, {len(people)} on the roster"]


def _upgrade_line(log: Path, old: int | None, new: int) -> list[str]:
    """A log an earlier release wrote: doctor reads it as upgraded, the station's next start rewrites it."""
    if old is None:
        return []
    return [f"log:        {log.name} is of schema {old} (an earlier release): the station's next start upgrades it to "
            f"{new}, keeping a copy as {log.name}.schema{old}.bak (with its journal's, if it has one)"]


def _shared_lines(settings: Settings) -> list[str]:
    """At a door of a shared database: whom the database holds templates of, and whether another recogniser
    made any (those people would be unknown here); nothing when it does not answer (said on its own line)."""
    from faceattend_tui.attendance import StoreError, open_snapshot
    from faceattend_tui.attendance.models import plural
    from faceattend_tui.gallery.templates import enrolled_counts
    from faceattend_tui.station.people import shared_erasures_cut_short
    from faceattend_tui.station.shared_gallery import shares_templates

    try:
        with open_snapshot(settings.data, database=settings.database) as store:
            people = [p for p in store.people() if p.active]
            sets = store.template_sets() if shares_templates(store) else {}
            erasures = [f"erasure:    CUT SHORT: {note}" for note in shared_erasures_cut_short(settings.data, store)]
    except (StoreError, OSError):
        return []
    mine, here = configured_sha256(settings.recognizer, settings.data), enrolled_counts(settings.tensors_dir)
    other = sorted(p.name for p in people if p.folder in sets and p.folder not in here and mine
                   and sets[p.folder].recognizer_sha256 != mine)  # kept here, made before, they are known here
    if other:
        names = ", ".join(other[:5]) + (" ..." if len(other) > 5 else "")
        return [*erasures, f"templates:  MISMATCH: the database's templates of "
                f"{plural(len(other), 'person', 'people')} ({names}) were made by another recogniser than "
                f"{settings.recognizer}: unknown here until the doors with their photos run `faceattend extract` "
                "with it"]
    held = sum(p.folder in sets for p in people)
    return [*erasures, f"templates:  {plural(held, 'person', 'people')} in the database, {len(people)} on the roster"]


def _left_out(folder: Path, manifest: Manifest | None) -> dict[str, str]:
    """The people whose template file the station would leave out (changed by hand, of the wrong shape),
    with why; a file that is not there at all is said as missing, not here."""
    from faceattend_tui.gallery.templates import GalleryError, read_rows

    bad = {}
    for name, entry in (manifest.people.items() if manifest else ()):
        path = folder / f"{name}.npy"
        if entry.stale:  # as the station leaves them out
            bad[name] = f"{path}: not yet rebuilt by an interrupted extraction"
            continue
        try:
            if path.exists():
                read_rows(path, None, entry.npy_sha256)
        except GalleryError as exc:
            bad[name] = str(exc)
    return bad


def _left_out_lines(folder: Path, manifest: Manifest | None, bad: dict[str, str]) -> list[str]:
    """Those people (and `.npy` files without a manifest): never recognised until `extract` runs."""
    from faceattend_tui.gallery.templates import no_manifest_why

    if manifest is None:
        old = sorted(folder.glob("*.npy")) if folder.is_dir() else []
        return [f"templates:  LEFT OUT: {len(old)} .npy files without a manifest ({no_manifest_why(folder)}): "
                "run `faceattend extract`"] if old else []
    if not bad:
        return []
    return [f"templates:  LEFT OUT for {len(bad)} people, never recognised until `faceattend extract` runs: "
            + "; ".join(list(bad.values())[:3]) + (" ..." if len(bad) > 3 else "")]


def _waiting_line(settings: Settings, extracted: set[str]) -> list[str]:
    """Photos in database_image/ that were never extracted: the station does not know those faces yet."""
    from faceattend_tui.attendance.models import plural
    from faceattend_tui.gallery.extract import to_rename, without_templates
    from faceattend_tui.station.people import misplaced_note, refused_note

    waiting, unusable = without_templates(settings.images_dir, extracted)
    lines = []
    if waiting:  # an erased person's put back with an older copy of database_image/...: refused, as extract does
        erased, whose = _not_taken(settings)
        lines += [f"templates:  {refused_note(folder)}" for folder in waiting if erased(folder)]
        lines += [f"templates:  {misplaced_note(folder, person)}" for folder in waiting
                  if not erased(folder) and (person := whose(folder)) is not None]
        waiting = [folder for folder in waiting if not erased(folder) and whose(folder) is None]
    if waiting:
        names = ", ".join(waiting[:5]) + (" ..." if len(waiting) > 5 else "")
        lines.append(f"templates:  the photos of {plural(len(waiting), 'person', 'people')} wait with no templates "
                     f"({names}): the station does not know them until `faceattend extract` runs")
    if unusable:
        lines.append(f"templates:  {plural(len(unusable), 'photo folder has a name', 'photo folders have names')} "
                     f"extraction cannot use: {to_rename(unusable)}; rename them")
    return lines


def _not_taken(settings: Settings) -> tuple[Callable[[str], bool], Callable[[str], Person | None]]:
    """Whether a photo folder was someone's who was erased and is nobody's again, and whose photos it holds
    that extract will not take in (someone who left...); nothing where the log cannot be read."""
    from faceattend_tui.attendance import StoreError, open_snapshot
    from faceattend_tui.attendance.security import erased_nobodys
    from faceattend_tui.attendance.sessions import misplaced_folders

    try:
        with open_snapshot(settings.data, database=settings.database) as store:
            people = store.people()
            return erased_nobodys(store, people), misplaced_folders(people)
    except (StoreError, OSError):
        return (lambda folder: False), (lambda folder: None)


def _removed_line(settings: Settings, manifest: Manifest | None) -> list[str]:
    """Templates still made from photos removed by hand: those faces check in until extract runs."""
    from faceattend_tui.gallery.extract import removed_photos, removed_text

    said = removed_text(removed_photos(settings.images_dir, manifest))
    return [f"templates:  {said}"] if said else []


def _alike_lines(settings: Settings, manifest: Manifest | None) -> list[str]:
    """Every pair of people whose templates look like one person: one person under two names checks in as
    both (the station names a few as it loads; here all of them)."""
    from faceattend_tui.gallery.alike import look_alikes, refuse_unusable
    from faceattend_tui.gallery.templates import GalleryError, load_gallery
    from faceattend_tui.station.people import roster_labels

    made_by = manifest.recognizer if manifest else None
    if made_by is None or not made_by.sha256:
        return []
    try:
        gallery, _ = load_gallery(settings.tensors_dir, made_by.sha256, made_by.dim or 512)
    except GalleryError:
        return []  # said by the lines above
    try:
        refuse_unusable(gallery, settings.recognizer)
    except GalleryError as exc:
        return [f"templates:  UNUSABLE: {exc}"]
    pairs = look_alikes(gallery)
    if not pairs:
        return []
    names = roster_labels(settings)
    named = "; ".join(f"{names.get(a, a)} and {names.get(b, b)} ({cosine:.2f})" for a, b, cosine in pairs)
    return [f"templates:  {len(pairs)} pair{'s' if len(pairs) > 1 else ''} of people look like one person, who "
            f"would check in as both: {named}"]


def _recognizer_line(settings: Settings, made_by: RecognizerId | None) -> list[str]:
    from faceattend_tui.gallery.templates import foreign, made_by_another

    if not foreign(made_by, configured_sha256(settings.recognizer, settings.data)):
        return []
    return [f"templates:  {made_by_another(made_by, settings.recognizer)} (MISMATCH): every face would be "
            "unknown; run `faceattend extract`, or set the recognizer they were made with"]


SMALLEST_FACE = 22  # pixels across in the detector's input: smaller faces are often missed


def source_lines(source: str, det_size: int, min_face: int = 0, turn: int = 0) -> list[str]:
    """The station's own source (--source, or the source setting), opened and one picture read: an IP
    camera's URL is checked as the station will use it, its picture turned as `camera_rotate` says."""
    from faceattend_tui.live.camera import SourceError, make_source, parse_source, turned

    try:
        spec = parse_source(source)
        if spec.kind == "demo":
            return ["source:     demo (the built-in demo stream)"]
        reader = make_source(spec, open_timeout=10.0, read_timeout=10.0)
        reader.open()
        try:
            ok, frame = reader.read()
        finally:
            reader.release()
    except SourceError as exc:
        return [f"source:     CANNOT OPEN: {exc}"]
    if not ok or frame is None:
        return [f"source:     CANNOT READ: {spec.name} opened but gave no picture"]
    height, width = turned(frame, turn).shape[:2]
    fps = f" at {reader.fps:g} fps" if reader.fps else ""
    fps += f", turned {turn} degrees clockwise (camera_rotate)" if turn else ""
    smallest = max(round(SMALLEST_FACE * max(width, height) / det_size), min_face)
    return [f"source:     {spec.name}: {width}x{height}{fps}; faces under about {smallest} px across are not "
            f"recognised (det_size {det_size}, min_face {min_face}: a larger det_size finds people further away)"]


def camera_lines(count: int) -> list[str]:
    if count <= 0:
        return ["cameras:    not checked (--cameras 0)"]
    found = []
    for index in range(count):
        capture = cv2.VideoCapture(index)
        try:
            if capture.isOpened() and capture.read()[0]:
                found.append(str(index))
        finally:
            capture.release()
    return [f"cameras:    {', '.join(found) if found else f'none of indexes 0-{count - 1} opens'}"]


def display_lines(probe: bool = True) -> list[str]:
    """The display the preview would open on; `probe`: open a throwaway window there to see that it can."""
    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    gui = _opencv_gui()
    if not display and sys.platform.startswith("linux"):
        state = "no DISPLAY set (over SSH?): the preview window will be off"
    elif not probe:
        state = f"display {display or 'present'} (no window tried: {RUNNING_HERE} and its window is there)"
    else:
        from faceattend_tui.live.preview import display_problem

        problem = display_problem() if display else None
        state = f"display {display or 'present'}" + (f": {problem}; the preview window will be off" if problem else "")
    return [f"display:    {state}; OpenCV GUI backend: {gui}"]


def _opencv_gui() -> str:
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GUI:"):
            return line.split(":", 1)[1].strip() or "none"
    return "unknown"


def database_lines(settings: Settings) -> list[str]:
    """Where the attendance log is; a shared database is shown masked, with whether it answers."""
    from faceattend_tui.attendance import StoreError, open_snapshot
    from faceattend_tui.attendance.pgschema import LATEST, has_password, mask_url

    if not settings.database:
        return ["log:        attendance.json in the data root (one station)"]
    shown = mask_url(settings.database)
    lines = []
    try:
        with open_snapshot(settings.data, database=settings.database) as store:
            lines.append(f"log:        {shown}: reachable, schema {store.schema_version} (this program {LATEST})")
    except StoreError as exc:
        lines.append(f"log:        {shown}: UNREACHABLE or unusable: {exc}")
    if has_password(settings.database):
        lines.append("log:        the URL holds a password: keep it in ~/.pgpass or PGPASSWORD instead")
    return lines


def gpu_lines() -> list[str]:
    problem = cuda_problem()
    gpus = nvidia_gpus()
    if problem == NO_GPU:
        return ["gpu:        none found (no NVIDIA driver): running on the CPU"]
    lines = [f"gpu:        {'CUDA usable' if problem is None else 'not used: ' + problem}"]
    return lines + [f"gpu {i}:      {gpu}" for i, gpu in enumerate(gpus)]


def warmup_lines(settings: Settings) -> list[str]:
    """Whether models get fixed input shapes here, and how long preparing them takes."""
    from faceattend_tui.vision.pipeline import FaceEngine

    names = model_names(settings)
    if len(loaded_models(settings)) < len(names) or any(n in ASSETS and find_asset(n, settings.data) is None
                                                        for n in names):
        return ["shapes:     not tried: a model is missing (above); doctor fetches nothing"]
    try:
        engine = FaceEngine.from_settings(settings, log=lambda _: None)
    except ModelError as exc:  # the station could not start either
        return [f"models:     CANNOT LOAD: {exc}"]
    except OSError as exc:
        return [f"models:     CANNOT LOAD: {error_text(exc)}"]
    state = f"fixed input shapes {'on' if engine.static else 'off'} (static_shapes = {settings.static_shapes}, " \
            f"models on the {engine.device.upper()})"
    if not engine.static:
        return [f"shapes:     {state}"]
    frames, photos = engine.warm_up_frames(), engine.warm_up_photos()
    return [f"shapes:     {state}", f"warm-up:    station {frames.describe()}; extraction {photos.describe()}"]


def report(settings: Settings, cameras: int = 4, warm_up: bool = True,
           source: str | None = None) -> tuple[list[str], bool]:
    lines = [
        f"python:     {sys.version.split()[0]} on {platform.system()} {platform.machine()}",
        f"onnxruntime {ort.__version__}: providers {', '.join(ort.get_available_providers())}",
        *gpu_lines(),
        f"opencv:     {cv2.__version__}",
        f"data root:  {settings.data.resolve()}" + ("" if settings.data.is_dir() else NO_ROOT_YET),
    ]
    lines += folder_lines(settings.data, loaded_models(settings))
    lines += station_lines(settings.data)
    lines += model_lines(settings)
    lines += _devices(settings, cameras, source, warm_up, station_running(settings.data))
    lines += database_lines(settings)
    lines += records_lines(settings)
    paths = sorted({str(settings.data.resolve()), str(settings.data), str(cache_dir()), str(settings.models_dir)},
                   key=len, reverse=True)  # a folder called "MISSING items" is not a failure
    ok = not any(word in _without(line, paths) for line in lines for word in FAILURES)
    return lines, ok


def _devices(settings: Settings, cameras: int, source: str | None, warm_up: bool, running: bool) -> list[str]:
    """The models' warm-up, the cameras, the source and the display; while a station runs on the data folder
    (a health check), what it uses is left alone: its camera, its source, its screen, the processor."""
    lines: list[str] = []
    if warm_up:
        lines += [f"shapes:     not tried: {RUNNING_HERE} (with fixed input shapes on, worker.log says how long "
                  "their warm-up took)"] if running else warmup_lines(settings)
    # which camera the station holds is its command line's to say (--source), not the settings': none is tried
    lines += [f"cameras:    not tried: {RUNNING_HERE} and holds its camera"] if running else camera_lines(cameras)
    if source is not None:
        lines += [f"source:     not opened: {RUNNING_HERE} (stop it to check its source)"] if running else \
            source_lines(source, settings.det_size, settings.min_face, settings.camera_rotate)
    return lines + display_lines(probe=not running)


def _without(line: str, paths: list[str]) -> str:
    """The line with these paths taken out where they stand as paths (a folder named "D" must not take the
    D out of NOT FOUND)."""
    for path in paths:
        line = re.sub(rf"(?<![^\s(]){re.escape(path)}(?=[/\s):;,]|$)", "", line)
    return line
