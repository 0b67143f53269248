"""Settings: the one home of every default.

Values come from the defaults below, then `<data>/faceattend.toml`, then `FACEATTEND_<NAME>`
environment variables, then command-line flags. Each field carries a one-line description
(`describe()` lists them; the README's settings table is checked against it) and what it allows:
its choices, a range for every number, or a check; `load_settings` refuses anything else.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import math
import os
import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from faceattend_tui import text
from faceattend_tui.errors import FaceattendError
from faceattend_tui.tomlread import tomllib

CONFIG_NAME = "faceattend.toml"
ENV_PREFIX = "FACEATTEND_"
OTHER_VARIABLES = ("PIN", "STAFF", "NEW_PIN", "MODELS")  # read by commands, not settings
# what a variable of the command line's options would have meant
FLAG_VARIABLES = {"DATA": "--data", "DATA_DIR": "--data", "DATA_ROOT": "--data", "NAME": "--name",
                  "STATION": "--name", "SESSION": "--session", "GROUP": "--group", "LATE_AFTER": "--late-after"}
IMAGES_DIR = "database_image"
LIVENESS_MODES = ("off", "blink", "auto")
PREVIEW_MODES = ("window", "fullscreen", "off")
TENSORS_DIR = "database_tensor"
MODELS_DIR = "models"
EXPORTS_DIR = "exports"
WORKER_LOG = "worker.log"
DEVICES = ("auto", "cpu", "cuda")
STATIC_MODES = ("auto", "on", "off")

T = TypeVar("T")


class ConfigError(FaceattendError):
    """A configuration file or value that cannot be used."""


@dataclass(frozen=True)
class Range:
    """The numbers a setting may take: low to high, each end included unless it is open."""

    low: float
    high: float
    open_low: bool = False
    open_high: bool = False

    def __contains__(self, value: float) -> bool:
        above = value > self.low if self.open_low else value >= self.low
        below = value < self.high if self.open_high else value <= self.high
        return above and below  # False for nan

    def describe(self, name: str) -> str:
        """The range as text, e.g. `0 < threshold < 1`."""
        left = "<" if self.open_low else "<="
        right = "<" if self.open_high else "<="
        return f"{self.low:g} {left} {name} {right} {self.high:g}"


SCORE = Range(0, 1, open_low=True, open_high=True)  # a detector score, cosine or box overlap, not 0 or 1
SHARE = Range(0, 1)  # a share or overlap, 0 and 1 included
SECONDS = Range(0, 60, open_low=True)  # a short wait or duration
RETRY_SECONDS = Range(0, 3600, open_low=True)  # the longest pause between attempts to reconnect
PIXELS = Range(1, 4096)  # a face size
QUARTER_TURNS = (0, 90, 180, 270)


def zone_name(value: str) -> str | None:
    """Why a time zone name is not usable, or None (empty: this machine's zone)."""
    if not value:
        return None
    if value.startswith("right/"):
        return "counts leap seconds, which this machine's clock does not: use the name without right/"
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return "is not a time zone name such as Europe/Paris (or empty: this machine's zone)"
    return None


def locale_name(value: str) -> str | None:
    """Why a locale is not usable, or None (empty: this machine's)."""
    if not value or text.language_tag(value):
        return None
    return "is not a language tag such as fr-FR, de or sv (or empty: this machine's)"


def clock_of_day(value: str) -> str | None:
    """Why a time of day is not usable, or None."""
    if re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", value.strip()):
        return None
    return "is not a time of day HH:MM from 00:00 to 23:59"


def code_list(value: str) -> str | None:
    """Why a list of absence codes is not usable, or None."""
    codes = [c.strip() for c in value.split(",") if c.strip()]
    wrong = [c for c in codes if not text.is_word(c) or c in ("present", "late", "absent")]
    if wrong:
        return (f"has {', '.join(repr(c) for c in wrong)}: codes are lower-case words (a-z, digits, - and _), "
                "not present, late or absent")
    return None


def quarter_turn(value: int) -> str | None:
    """Why a camera turn is not usable, or None."""
    return None if value in QUARTER_TURNS else "is not one of 0, 90, 180 or 270 (degrees, clockwise)"


def folder_text(value: str) -> str | None:
    """Why a folder setting is not usable, or None (empty: none)."""
    if value and not value.strip():
        return "is only spaces: give a folder, or leave it empty for none"
    return None


def setting(default: T, doc: str, choices: tuple[str, ...] = (), within: Range | None = None,
            check: Callable[[Any], str | None] | None = None) -> T:
    """A settings field with its one-line description and what it may take: one of `choices`,
    a number `within` a range, or a value `check` finds no fault with (it returns why, or None)."""
    return field(default=default, metadata={"doc": doc, "choices": choices, "range": within, "check": check})


@dataclass
class Settings:
    data: Path = setting(Path("."), "data root: photos, templates, models, the attendance log")
    # models and runtime
    device: str = setting("auto", "where models run: auto (the GPU when usable), cpu or cuda", DEVICES)
    threads: int = setting(0, "CPU threads per model (0: automatic)", within=Range(0, 256))
    static_shapes: str = setting("auto", "fixed model input shapes, each prepared at start: auto (on for a GPU), "
                                         "on or off", STATIC_MODES)
    detector: str = setting("scrfd_500m_bnkps", "face detector: a registry name or an .onnx file in models/")
    recognizer: str = setting("w600k_mbf", "face recogniser: a registry name or an .onnx file in models/")
    det_size: int = setting(640, "detector input size (long side, pixels)", within=Range(160, 1920))
    det_threshold: float = setting(0.5, "detector score below which a box is not a face", within=SCORE)
    threshold: float = setting(0.30, "score below which a face is unknown (the cosine, less the crowd's excess)",
                               within=SCORE)
    cohort_k: int = setting(10, "the most similar other people whose cosines tell how high impostors run",
                            within=Range(1, 100))
    cohort_floor: float = setting(0.12, "impostor level up to which the plain cosine decides (small sites)",
                                  within=Range(0, 1, open_high=True))
    cohort_weight: float = setting(0.75, "share of the level above the floor taken off the cosine (0: plain)",
                                   within=SHARE)
    # trust at the door
    liveness: str = setting("off", "a face checks in only after a sign of life: off, blink, or auto "
                            "(a blink, a small head turn, or a face that moves as one talks; a photo can do none)",
                            LIVENESS_MODES)
    landmarks: str = setting("landmarks_2d106", "106-point landmark model for liveness: a registry name or .onnx file")
    # the door display (the window on the station's screen)
    preview: str = setting("window", "the door display: in a window, full screen, or off",
                           PREVIEW_MODES)
    banner_seconds: float = setting(3.0, "how long a check-in's banner stays on the door display", within=SECONDS)
    sound: bool = setting(False, "a short tone on a check-in and another on 'please see staff'")
    door_font: str = setting("", "a font file (.ttf, .otf) for the letters of names the door's own font lacks "
                                 "(Chinese, Vietnamese, Thai, Hindi...); empty: the system's, found with fontconfig")
    # the camera
    source: str = setting("0", "the camera: an index, a device (/dev/video0), a video file, an RTSP/HTTP URL, a "
                               "folder of photos or demo; a URL given here or in FACEATTEND_SOURCE keeps its password "
                               "out of the process list (--source overrides it)")
    camera_retry_max: float = setting(10.0, "longest wait (seconds) between attempts to open a camera or stream",
                                      within=RETRY_SECONDS)
    camera_rotate: int = setting(0, "turns the camera's picture clockwise by 0, 90, 180 or 270 degrees (a camera "
                                    "mounted sideways or upside down: faces are found only upright)",
                                 within=Range(0, 270), check=quarter_turn)
    # live recognition: tracking and voting
    votes_needed: int = setting(3, "agreeing frames needed before a check-in", within=Range(1, 100))
    window_votes: int = setting(5, "recent votes a track keeps for its decision", within=Range(1, 100))
    window_seconds: float = setting(3.0, "votes older than this (seconds) no longer count (for a camera slower than a "
                                         "frame a second, up to five times longer)", within=SECONDS)
    unknown_after: float = setting(2.0, "seconds of unmatched votes before a face is reported unknown",
                                   within=SECONDS)
    recheck_seconds: float = setting(2.0, "a decided face is recognised again after this many seconds",
                                     within=SECONDS)
    recheck_iou: float = setting(0.5, "...or once its box overlaps the last recognised box less than this",
                                 within=SHARE)
    min_face: int = setting(24, "faces smaller than this (pixels) are tracked but not recognised", within=PIXELS)
    max_embeds_per_frame: int = setting(6, "faces recognised per frame at most; the rest wait their turn",
                                        within=Range(1, 64))
    track_iou: float = setting(0.3, "box overlap that links a face to the track of the previous frame", within=SCORE)
    track_max_misses: int = setting(10, "frames a track survives without its face", within=Range(0, 1000))
    # enrollment from the camera
    capture_seconds: float = setting(3.0, "length of an enrollment capture (seconds)", within=SECONDS)
    capture_samples: int = setting(5, "samples kept from an enrollment capture at most", within=Range(1, 100))
    capture_min_face: int = setting(60, "smallest face (pixels) the camera capture keeps as a sample", within=PIXELS)
    # enrollment from photos (and faces named by `identify`)
    enroll_min_face: int = setting(40, "smallest face (pixels, shorter side) taken from a photo", within=PIXELS)
    enroll_min_score: float = setting(0.5, "lowest detector score of a face taken from a photo", within=SCORE)
    # several stations (doors) sharing one log
    database: str = setting("", "the shared log: a postgresql:// URL (no password in it); empty: attendance.json here")
    database_wait: float = setting(0.5, "longest wait (seconds) for the database before a check-in is kept locally",
                                   within=SECONDS)
    database_retry_max: float = setting(30.0, "longest wait (seconds) between attempts to reach the database at start",
                                        within=RETRY_SECONDS)
    # records
    timezone: str = setting("", "the station's clock: its screen, door, exports and reports, e.g. Europe/Paris "
                                "(empty: this machine's)", check=zone_name)
    mode: str = setting("classes", "classes: sessions say who came; work: also each day's first sighting is 'in', "
                                   "the last one 'out', and reports give hours", ("classes", "work"))
    out_after: float = setting(30.0, "work mode: minutes without a sighting after which the last one is 'out'",
                               within=Range(1, 24 * 60))
    day_changes_at: str = setting("00:00", "work mode: when one working day ends and the next begins (HH:MM), "
                                           "at an hour nobody works, e.g. 07:00 for night shifts of 22:00-06:00",
                                  check=clock_of_day)
    absence_codes: str = setting("excused, sick, leave", "statuses staff may mark beside present, late and "
                                 "absent, comma-separated; reports count them apart, rates leave them out",
                                 check=code_list)
    export_dir: str = setting("", "a folder (a shared drive) each session's sheet is written to when it ends "
                                  "(empty: none; a relative one is inside the data folder)", check=folder_text)
    export_formats: str = setting("csv", "the sheets written there: csv, json or both", ("csv", "json", "both"))
    locale: str = setting("", "language of names: how they sort, e.g. fr-FR or sv (empty: this machine's); "
                              "the door speaks it too", check=locale_name)

    @property
    def day_change(self) -> dt.time:
        """The `day_changes_at` setting as a time of day."""
        return dt.time.fromisoformat(self.day_changes_at.strip())

    @property
    def codes(self) -> tuple[str, ...]:
        """The absence codes, in the order given."""
        return tuple(dict.fromkeys(c.strip() for c in self.absence_codes.split(",") if c.strip()))

    @property
    def locale_tag(self) -> str:
        """The `locale` setting as a language tag, e.g. "fr-FR"; this machine's when it is empty."""
        return text.resolve(self.locale)

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
    def sheets_dir(self) -> Path | None:
        """The export_dir folder, a relative one inside the data folder; None when there is none."""
        if not self.export_dir:
            return None
        folder = Path(self.export_dir).expanduser()
        return folder if folder.is_absolute() else self.data / folder

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


def load_settings(data: Path, overrides: Mapping[str, object] | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Settings for a data root: file, then environment, then overrides (None values ignored; the
    command line's flags), all validated: a ConfigError names a bad value and where it came from."""
    data = Path(data)
    found = _gather(data, overrides, os.environ if environ is None else environ)
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    unknown = sorted(set(found) - set(fields) | ({"data"} & set(found)))
    if unknown:
        where = ", ".join(sorted({found[name][1] for name in unknown}))
        raise ConfigError(f"{where}: unknown {'setting' if len(unknown) == 1 else 'settings'}: "
                          f"{', '.join(unknown)}{_hint(unknown)}")
    settings = Settings(data=data)
    for name, (value, where) in found.items():
        setattr(settings, name, _coerce(name, value, fields[name], where))
    return validate(settings, {name: where for name, (_, where) in found.items()})


def _hint(unknown: list[str]) -> str:
    """What was probably meant: a setting spelt alike, or where the data folder is given."""
    if "data" in unknown:
        return " (the data folder is given with --data, not in its own settings)"
    names = [f.name for f in dataclasses.fields(Settings) if f.name != "data"]
    close = [m for name in unknown for m in difflib.get_close_matches(name, names, 1, 0.8)]
    return f" (did you mean {', '.join(close)}?)" if close else " (faceattend.toml takes name = value lines, no tables)"


def flag(name: str) -> str:
    """The command-line flag of a setting, e.g. --det-size."""
    return "--" + name.replace("_", "-")


def _gather(data: Path, overrides: Mapping[str, object] | None,
            environ: Mapping[str, str]) -> dict[str, tuple[object, str]]:
    """Each value given, with where it came from: the file, an environment variable or a flag."""
    path = data / CONFIG_NAME
    found = {name: (value, str(path)) for name, value in _read_file(path).items()}
    for name, value in _from_environment(environ).items():
        # a template's FACEATTEND_DATABASE=${DB_URL} with DB_URL unset would put the door on a log of its own;
        # an empty TIMEZONE or EXPORT_DIR would put its times on the machine's clock, its sheets nowhere
        if not value.strip() and isinstance(found.get(name, ("", ""))[0], str) and \
                str(found.get(name, ("", ""))[0]).strip():
            raise ConfigError(f"{ENV_PREFIX + name.upper()} is empty, and {path} sets {name}: unset the variable "
                              "to use the file's value, or give the value")
        found[name] = (value, ENV_PREFIX + name.upper())
    found.update({name: (value, flag(name)) for name, value in (overrides or {}).items() if value is not None})
    return found


def validate(settings: Settings, sources: dict[str, str] | None = None) -> Settings:
    """The settings, when each value is one its field allows; else a ConfigError on the first bad one,
    with where it came from (`sources`: name -> file, environment variable or flag) and what is allowed."""
    sources = sources or {}
    for spec in dataclasses.fields(Settings):
        value = getattr(settings, spec.name)
        fault = _fault(spec, value)
        if fault:
            raise ConfigError(f"{_where(sources, spec.name)}{spec.name} = {value!r} {fault}")
    if settings.votes_needed > settings.window_votes:
        where = _where(sources, "votes_needed" if "votes_needed" in sources else "window_votes")
        other = sources.get("window_votes")
        came = f", from {other}" if other and other != sources.get("votes_needed") else ""
        raise ConfigError(f"{where}votes_needed = {settings.votes_needed} is more than the votes a track keeps "
                          f"(window_votes = {settings.window_votes}{came})")
    return settings


def _where(sources: dict[str, str], name: str) -> str:
    return f"{sources[name]}: " if name in sources else ""


def _fault(spec: dataclasses.Field[Any], value: Any) -> str | None:
    """Why a value is not one its field allows, or None."""
    choices, span, check = (spec.metadata.get(key) for key in ("choices", "range", "check"))
    if isinstance(value, str | Path) and "\0" in str(value):  # no path, name or address can hold one
        return "holds a NUL character (\\u0000), which no setting may"
    if choices and value not in choices:
        return f"is not one of {', '.join(choices)}"
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if (number and not math.isfinite(value)) or (span and not (number and value in span)):
        return f"is outside the allowed range {span.describe(spec.name)}" if span else "is not a finite number"
    return check(value) if check else None


def _read_file(path: Path) -> dict[str, Any]:
    try:
        os.lstat(path)
    except FileNotFoundError:
        return {}
    except NotADirectoryError:
        found = next((p for p in path.parents if p.exists()), path.parent)  # a file on the way to it
        raise ConfigError(f"{found} is a file, not a folder: the data folder cannot be {path.parent}") from None
    except OSError as exc:  # a data folder this user may not look into: said, never read as no settings
        raise ConfigError(f"{path}: {exc.strerror or exc} (is the data folder this user's?)") from None
    if not path.exists():
        raise ConfigError(f"{path} is a link to {os.readlink(path)}, which is not there")
    if not path.is_file():
        raise ConfigError(f"{path} is not a settings file (a folder or a device): remove it, or put the settings "
                          "in a file of that name")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))  # a BOM from a Windows editor is fine
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not a valid TOML file ({exc})") from None


def _from_environment(environ: Mapping[str, str]) -> dict[str, str]:
    names = {f.name for f in dataclasses.fields(Settings)} - {"data"}
    _refuse_unknown(environ, names)
    return {name: environ[ENV_PREFIX + name.upper()] for name in names if ENV_PREFIX + name.upper() in environ}


def _refuse_unknown(environ: Mapping[str, str], names: set[str]) -> None:
    """A FACEATTEND_ variable faceattend does not read (FACEATTEND_TRESHOLD, FACEATTEND_DATA for --data,
    FACEATTEND_NAME for --name) would be ignored without a word: refused instead. FACEATTEND_TEST_ ones
    are the test suite's."""
    wanted = [ENV_PREFIX + name.upper() for name in sorted(names)] + [ENV_PREFIX + n for n in OTHER_VARIABLES]
    for key in environ:
        if key in wanted or not key.upper().startswith(ENV_PREFIX) or key.startswith(ENV_PREFIX + "TEST_"):
            continue
        close = difflib.get_close_matches(key.upper(), wanted, 1, 0.9)
        if close:
            raise ConfigError(f"environment variable {key} is not one faceattend reads: did you mean {close[0]}?")
        meant = FLAG_VARIABLES.get(key.upper()[len(ENV_PREFIX):])
        instead = f"give it as {meant} on the command line" if meant else "give what it meant on the command line"
        raise ConfigError(f"environment variable {key} is not one faceattend reads (only FACEATTEND_<SETTING> for a "
                          f"setting of faceattend.toml and FACEATTEND_{', FACEATTEND_'.join(OTHER_VARIABLES)}): "
                          f"{instead} (faceattend COMMAND --help), or unset it")


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(value)


def _coerce(key: str, value: Any, spec: dataclasses.Field[Any], where: str) -> object:
    """The value as its field's type; a ConfigError naming `where` when it is not one."""
    type_name = spec.type if isinstance(spec.type, str) else spec.type.__name__
    try:
        if isinstance(value, bool) and type_name in ("int", "float") or isinstance(value, list | dict):
            raise ValueError
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
        elif isinstance(value, bool):  # export_dir = true: text is meant, in quotes
            raise ValueError
        else:
            value = str(value)
    except (TypeError, ValueError, OverflowError):
        kind = "text (in quotes)" if type_name == "str" else f"a valid {type_name}"
        raise ConfigError(f"{where}: {key} = {value!r} is not {kind}") from None
    return value
