"""Settings: the one home of every default.

Values come from the defaults below, then `<data>/faceattend.toml`, then `FACEATTEND_<NAME>`
environment variables, then command-line flags. Each field carries a one-line description
(`describe()` lists them; the README's settings table is checked against it).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import tomllib

CONFIG_NAME = "faceattend.toml"
ENV_PREFIX = "FACEATTEND_"
IMAGES_DIR = "database_image"
LIVENESS_MODES = ("off", "blink")
PREVIEW_MODES = ("window", "fullscreen", "off")
TENSORS_DIR = "database_tensor"
MODELS_DIR = "models"
EXPORTS_DIR = "exports"
WORKER_LOG = "worker.log"
DEVICES = ("auto", "cpu", "cuda")
STATIC_MODES = ("auto", "on", "off")


class ConfigError(Exception):
    """A configuration file or value that cannot be used."""


def setting(default, doc: str, choices: tuple = ()):
    """A settings field with its one-line description (and the values it may take)."""
    return field(default=default, metadata={"doc": doc, "choices": choices})


@dataclass
class Settings:
    data: Path = setting(Path("."), "data root: photos, templates, models, the attendance log")
    # models and runtime
    device: str = setting("auto", "where models run: auto (the GPU when usable), cpu or cuda", DEVICES)
    threads: int = setting(0, "CPU threads per model (0: automatic)")
    static_shapes: str = setting("auto", "fixed model input shapes, each prepared at start: auto (on for a GPU), "
                                         "on or off", STATIC_MODES)
    detector: str = setting("scrfd_500m_bnkps", "face detector: a registry name or an .onnx file in models/")
    recognizer: str = setting("w600k_mbf", "face recogniser: a registry name or an .onnx file in models/")
    det_size: int = setting(640, "detector input size (long side, pixels)")
    det_threshold: float = setting(0.5, "detector score below which a box is not a face")
    threshold: float = setting(0.30, "score below which a face is unknown (the cosine, less the crowd's excess)")
    cohort_k: int = setting(10, "the most similar other people whose cosines tell how high impostors run")
    cohort_floor: float = setting(0.12, "impostor level up to which the plain cosine decides (small sites)")
    cohort_weight: float = setting(0.75, "share of the level above the floor taken off the cosine (0: plain)")
    # trust at the door
    liveness: str = setting("off", "a face checks in only after a sign of life: off, or blink (a photo cannot blink)",
                            LIVENESS_MODES)
    landmarks: str = setting("landmarks_2d106", "106-point landmark model for liveness: a registry name or .onnx file")
    # the door display (the window on the station's screen)
    preview: str = setting("window", "the door display: in a window, full screen, or off",
                           PREVIEW_MODES)
    banner_seconds: float = setting(3.0, "how long a check-in's banner stays on the door display")
    sound: bool = setting(False, "a short tone on a check-in and another on 'please see staff'")
    # the camera
    camera_retry_max: float = setting(10.0, "longest wait (seconds) between attempts to open a camera or stream")
    # live recognition: tracking and voting
    votes_needed: int = setting(3, "agreeing frames needed before a check-in")
    window_votes: int = setting(5, "recent votes a track keeps for its decision")
    window_seconds: float = setting(3.0, "votes older than this (seconds) no longer count")
    unknown_after: float = setting(2.0, "seconds of unmatched votes before a face is reported unknown")
    recheck_seconds: float = setting(2.0, "a decided face is recognised again after this many seconds")
    recheck_iou: float = setting(0.5, "...or once its box overlaps the last recognised box less than this")
    min_face: int = setting(24, "faces smaller than this (pixels) are tracked but not recognised")
    max_embeds_per_frame: int = setting(6, "faces recognised per frame at most; the rest wait their turn")
    track_iou: float = setting(0.3, "box overlap that links a face to the track of the previous frame")
    track_max_misses: int = setting(10, "frames a track survives without its face")
    # enrollment from the camera
    capture_seconds: float = setting(3.0, "length of an enrollment capture (seconds)")
    capture_samples: int = setting(5, "samples kept from an enrollment capture at most")
    capture_min_face: int = setting(60, "smallest face (pixels) the camera capture keeps as a sample")
    # enrollment from photos (and faces named by `identify`)
    enroll_min_face: int = setting(40, "smallest face (pixels, shorter side) taken from a photo")
    enroll_min_score: float = setting(0.5, "lowest detector score of a face taken from a photo")
    # several stations (doors) sharing one log
    database: str = setting("", "the shared log: a postgresql:// URL (no password in it); empty: attendance.json here")
    database_wait: float = setting(0.5, "longest wait (seconds) for the database before a check-in is kept locally")
    database_retry_max: float = setting(30.0, "longest wait (seconds) between attempts to reach the database at start")
    # records
    timezone: str = setting("", "time zone of exports and reports, e.g. Europe/Paris (empty: this machine's)")

    @property
    def images_dir(self) -> Path:
        return self.data / IMAGES_DIR

    @property
    def tensors_dir(self) -> Path:
        return self.data / TENSORS_DIR

    @property
    def models_dir(self) -> Path:
        return self.data / MODELS_DIR

    @property
    def exports_dir(self) -> Path:
        return self.data / EXPORTS_DIR

    @property
    def worker_log(self) -> Path:
        return self.data / WORKER_LOG

    @property
    def private_dirs(self) -> tuple[Path, ...]:
        """Folders that hold face data or records: only this user may read them."""
        return (self.images_dir, self.tensors_dir, self.exports_dir)


def describe() -> list[tuple[str, object, str]]:
    """(name, default, description) of every setting but the data root."""
    return [(f.name, f.default, f.metadata["doc"]) for f in dataclasses.fields(Settings) if f.name != "data"]


def settings_toml() -> str:
    """Every setting with its default and description, as faceattend.toml lines (the README shows it)."""
    lines = []
    for name, default, doc in describe():
        value = f'"{default}"' if isinstance(default, str) else str(default).lower() if isinstance(default, bool) \
            else str(default)
        lines.append(f"{name + ' = ' + value:32s}# {doc}")
    return "\n".join(lines) + "\n"


def load_settings(data: Path, overrides: dict | None = None, environ: dict | None = None) -> Settings:
    """Settings for a data root: file, then environment, then overrides (None values ignored)."""
    data = Path(data)
    values = _read_file(data / CONFIG_NAME)
    values.update(_from_environment(os.environ if environ is None else environ))
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    names = {f.name: f for f in dataclasses.fields(Settings)}
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ConfigError(f"{data / CONFIG_NAME}: unknown setting(s): {', '.join(unknown)}")
    values.pop("data", None)
    settings = Settings(data=data)
    for key, value in values.items():
        setattr(settings, key, _coerce(key, value, names[key], data))
    return settings


def _read_file(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not a valid TOML file ({exc})") from None


def _from_environment(environ) -> dict:
    names = {f.name for f in dataclasses.fields(Settings)} - {"data"}
    return {name: environ[ENV_PREFIX + name.upper()] for name in names if ENV_PREFIX + name.upper() in environ}


def _boolean(value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(value)


def _coerce(key: str, value, spec: dataclasses.Field, data: Path):
    type_name = spec.type if isinstance(spec.type, str) else spec.type.__name__
    try:
        if type_name == "int":
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            value = int(value)
        elif type_name == "float":
            value = float(value)
        elif type_name == "Path":
            value = Path(value)
        elif type_name == "bool":
            value = _boolean(value)
        else:
            value = str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{data / CONFIG_NAME}: {key} = {value!r} is not a valid {type_name}") from None
    choices = spec.metadata.get("choices")
    if choices and value not in choices:
        raise ConfigError(f"{data / CONFIG_NAME}: {key} = {value!r} is not one of {', '.join(choices)}")
    return value
