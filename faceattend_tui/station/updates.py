"""What the station hands its screen (the update types), its errors, and the constants its parts share."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Literal, NamedTuple, Protocol

from faceattend_tui.attendance import (
    Counts,
    RosterRow,
)
from faceattend_tui.errors import FaceattendError
from faceattend_tui.files import LOG_LIMIT, open_unlinked
from faceattend_tui.live import events as ev

LOG = logging.getLogger("faceattend.station")


STATION_LOG = "station.log"  # in the data root, beside worker.log


STATION_ACTOR = "station"  # who is recorded for what the station does on its own


LEFT_RUNNING_EVERY = 60.0  # seconds between looks for a session left running since an earlier day
TIMETABLE_EVERY = 1.0  # seconds between looks at the timetable: a slot's first arrivals are not missed


SHEETS_EVERY = 30.0  # seconds between tries to write the sheets still to go to export_dir


def log_to(path: Path) -> None:
    """The station's own log (internal errors with their tracebacks): a file in the data root, never the screen."""
    logger = logging.getLogger("faceattend")
    if any(getattr(h, "baseFilename", None) == str(path.resolve()) for h in logger.handlers):
        return
    try:
        os.close(open_unlinked(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND))  # private, and never a link's file
        handler = RotatingFileHandler(path, maxBytes=LOG_LIMIT, backupCount=1, encoding="utf-8", delay=True)
    except OSError:
        return
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)  # the camera coming back, beside the warnings and errors
    logger.propagate = False  # not on stderr: the terminal belongs to the screen


def internal_error(doing: str, exc: Exception) -> Problem:
    """A programming error met while `doing`: logged with its traceback, said as an internal error."""
    LOG.error("internal error while %s", doing, exc_info=exc)
    return Problem(f"internal error while {doing}: {type(exc).__name__}: {exc} (details in the log)")


class Worker(Protocol):
    """The recognition worker as the station drives it (`live.worker.WorkerHandle`, or a stand-in in tests)."""

    def start(self) -> None: ...

    def stop(self) -> list[ev.Event]: ...  # the events it sent that were not read yet

    def send(self, command: ev.Command) -> None: ...

    def poll(self, timeout: float = 0.1) -> list[ev.Event]: ...


class StationError(FaceattendError):
    """Something the user asked for that cannot be done, with a message to show."""


class LogKept(StationError):
    """The log's file could not be rewritten at close; every change is safe in its journal all the same."""


class StoppedElsewhere(StationError):
    """The session was stopped at another door a moment ago; nothing was written here."""


class PinRefused(StationError):
    """A staff name or PIN that was not taken (wrong, missing, locked, or a role that may not)."""


class DatabaseUnreachable(StationError):
    """The shared database could not be reached while opening; trying again later may work."""


# Why a recognised person was not recorded: no session runs, they are not on its list, a picture was
# refused; or (work mode, no session) their day's first sighting, or a later one (their hours move on).
SightingReason = Literal["no session", "not on list", "picture refused", "no sign of life yet", "in", "seen",
                         "kept"]  # kept: an arrival kept while a shared database is away
Severity = Literal["information", "warning", "error"]


@dataclass
class LiveState:
    camera: str = "starting"
    camera_detail: str = ""  # e.g. "trying again at 08:01:04 (camera 0 could not be opened ...)"
    fps: float = 0.0
    resting: bool = False  # nobody in view: the camera is looked at a few times a second
    blank: bool = False  # the camera's picture shows nothing (a lens cap, no signal)
    device: str = "?"
    models: str = ""
    unknown_faces: int = 0
    preview: str = "off"
    busy: str = ""
    database: str = ""  # a shared log's state: "database online", "database offline, 3 waiting"
    unsaved: int = 0  # check-ins the disk refused, kept in memory and tried again at each poll


DATABASE_ONLINE = "database online"  # a shared log's state in the header, when it answers


@dataclass(frozen=True)
class CheckinShown:
    """A recognised person in the running session: written to the log before this is returned."""

    row: RosterRow  # their roster line as it is now
    counts: Counts  # the session's counts after it
    similarity: float
    time: datetime
    new: bool  # False: they had checked in already; only "last seen" moved
    face_jpeg: bytes = b""
    sent: float = 0.0  # when the worker sent the decision (latency probes)
    station: str = ""  # another station that recorded it (a shared log); "" for this one


@dataclass(frozen=True)
class Sighting:
    """A recognised person who is not recorded: no session runs, or they are not on its list."""

    name: str
    similarity: float
    time: datetime
    reason: SightingReason
    person_id: str = ""  # "" where the log does not know the face's folder


@dataclass(frozen=True)
class UnknownFaces:
    count: int  # unknown faces seen in this session (or since the last session ended)
    time: datetime | None = None  # the latest


@dataclass(frozen=True)
class CaptureDone:
    result: ev.CaptureResult


@dataclass(frozen=True)
class LiveChanged:
    """Camera, speed, device or preview changed; a notice worth showing comes with it."""

    live: LiveState
    notice: str = ""
    severity: Severity = "information"
    lasting: bool = False  # worth reading after the moment (two people who look like one): shown a minute
    own: bool = False  # the station's own word, not a worker event's (a headless run says those as they come)


@dataclass(frozen=True)
class RosterChanged:
    """People were enrolled, removed or changed outside the screen (extraction, an import)."""

    notice: str = ""  # e.g. who joined the running session


@dataclass(frozen=True)
class Problem:
    message: str


Update = CheckinShown | Sighting | UnknownFaces | CaptureDone | LiveChanged | RosterChanged | Problem


@dataclass(frozen=True)
class EnrollTarget:
    """Who an enrollment is for: someone on the roster (by id), or a newcomer (name, optional id, groups)."""

    name: str = ""
    person_id: str = ""
    groups: tuple[str, ...] = ()
    meant: str | None = None  # whom the dialog said the samples are for (a person's id, "" a newcomer); None: unsaid


class Whom(NamedTuple):
    """Whom an enrollment will be for, in words for the dialog, and their id ("" for a newcomer)."""

    text: str
    person_id: str = ""
    enrolled: int = 0  # their samples so far: a face the station does not take for them is worth a word


MAX_UNSAVED = 1000  # check-ins kept in memory while the disk refuses them


CAMERA_WORDS = {"opened": "live", "ended": "ended", "lost": "lost", "reconnecting": "retrying", "error": "error"}

