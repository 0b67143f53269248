"""The worker's vocabulary: the events it reports and the commands it takes.

Each kind is a frozen dataclass that crosses the process queue as it is (it pickles), and
`as_json` is the one conversion to the JSON lines of `faceattend watch`. Whoever consumes events
matches on these types; an object of any other type is a programming error and is raised as one.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from faceattend_tui.vision.identity import RecognizerId

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# --------------------------------------------------------------------------------------------
# Events (worker -> station)


@dataclass(frozen=True, kw_only=True)
class Event:
    type: ClassVar[str] = ""
    hidden: ClassVar[tuple[str, ...]] = ()  # fields left out of the JSON line (binary or internal)

    @property
    def kind(self) -> str | None:
        """The status kind printed after "type" (status events only)."""
        return None


@dataclass(frozen=True, kw_only=True)
class Ready(Event):
    """The models are loaded; the recogniser's identity is what enrollment records."""

    type: ClassVar[str] = "ready"
    device: str
    detector: str
    recognizer: str
    recognizer_sha256: str
    embedding_dim: int
    people: int
    pid: int
    static_shapes: bool = False  # fixed input shapes, each prepared before this event
    warmup_s: float = 0.0  # how long preparing them took

    def recognizer_identity(self) -> RecognizerId:
        return RecognizerId(self.recognizer, self.recognizer_sha256, self.embedding_dim)


@dataclass(frozen=True, kw_only=True)
class Checkin(Event):
    """A face that won enough agreeing votes for one enrolled person."""

    type: ClassVar[str] = "checkin"
    hidden: ClassVar[tuple[str, ...]] = ("face_jpeg", "sent")
    name: str
    similarity: float
    track: int
    time: float
    votes: int = 0
    evidence: dict | None = None  # what the liveness check saw, when it is on
    face_jpeg: bytes = b""
    sent: float = 0.0  # when the worker put it on the queue (latency probes)
    frame: int | None = None  # the source's frame it was decided on, for files and folders read frame by frame

    @property
    def folder(self) -> str:
        """The template folder of the person recognised (what the JSON calls "name")."""
        return self.name


@dataclass(frozen=True, kw_only=True)
class Waiting(Event):
    """A recognised face held back by the liveness check for a while: said once, so that staff can tell
    "recognised, no sign of life yet" from "nobody came"."""

    type: ClassVar[str] = "waiting"
    name: str  # the template folder, as Checkin.name
    track: int
    time: float
    asked: str  # what the door asks of it ("blink", "come closer")
    frame: int | None = None  # as Checkin.frame

    @property
    def folder(self) -> str:
        """As Checkin.folder."""
        return self.name


@dataclass(frozen=True, kw_only=True)
class Spoof(Event):
    """A recognised face that moved like a flat picture and gave no sign of life: not checked in."""

    type: ClassVar[str] = "spoof"
    name: str  # whom the picture shows (the template folder)
    track: int
    time: float
    evidence: dict | None = None
    frame: int | None = None  # as Checkin.frame

    @property
    def folder(self) -> str:
        """As Checkin.folder."""
        return self.name


@dataclass(frozen=True, kw_only=True)
class Present(Event):
    """A face checked in earlier and still in view, said once a minute at most (work mode's hours)."""

    type: ClassVar[str] = "present"
    name: str  # the template folder, as Checkin.name
    track: int
    time: float
    similarity: float = 0.0  # of the vote that saw them now
    frame: int | None = None  # as Checkin.frame
    evidence: dict | None = None  # the fresh signs of life it waited for, when the liveness check is on

    @property
    def folder(self) -> str:
        """As Checkin.folder."""
        return self.name


@dataclass(frozen=True, kw_only=True)
class Unknown(Event):
    """A face that stayed unmatched long enough to count as a stranger."""

    type: ClassVar[str] = "unknown"
    track: int
    time: float
    frame: int | None = None  # as Checkin.frame


@dataclass(frozen=True, kw_only=True)
class Stats(Event):
    """Speed since the previous stats event: averages per processed frame."""

    type: ClassVar[str] = "stats"
    fps: float
    detect_ms: float
    track_ms: float
    embed_ms: float
    liveness_ms: float = 0.0
    faces: int
    tracks: int
    frames: int
    dropped: int = 0
    resting: bool = False  # nobody in view for a while: a camera's frames are looked at a few times a second
    blank: bool = False  # the last picture is one flat colour or a few pixels (a lens cap, a card without signal)


@dataclass(frozen=True, kw_only=True)
class Status(Event):
    """A change of state worth a line; subclasses say of what."""

    type: ClassVar[str] = "status"
    message: str


@dataclass(frozen=True, kw_only=True)
class StateStatus(Status):
    """A device that is in one of a few states; printed as kind "<prefix>-<state>"."""

    prefix: ClassVar[str] = ""
    states: ClassVar[tuple[str, ...]] = ()
    hidden: ClassVar[tuple[str, ...]] = ("state",)
    state: str

    def __post_init__(self) -> None:
        if self.state not in self.states:
            raise ValueError(f"unknown {self.prefix} state {self.state!r}")

    @property
    def kind(self) -> str:
        return f"{self.prefix}-{self.state}"


@dataclass(frozen=True, kw_only=True)
class CameraStatus(StateStatus):
    prefix: ClassVar[str] = "camera"
    states: ClassVar[tuple[str, ...]] = ("opened", "ended", "lost", "reconnecting", "error", "skipped")
    source: str
    retry_in: float | None = None  # seconds to the next attempt, while reconnecting


@dataclass(frozen=True, kw_only=True)
class SourceFinished(Status):
    """The source ended or could not be opened; the worker waits for another one."""

    @property
    def kind(self) -> str:
        return "source-finished"


@dataclass(frozen=True, kw_only=True)
class PreviewStatus(StateStatus):
    prefix: ClassVar[str] = "preview"
    states: ClassVar[tuple[str, ...]] = ("on", "off", "unavailable")


@dataclass(frozen=True, kw_only=True)
class GalleryLoaded(Status):
    people: int

    @property
    def kind(self) -> str:
        return "gallery"


@dataclass(frozen=True, kw_only=True)
class LookAlike(Status):
    """Two people whose templates look like one person: they would check in as both."""

    folders: tuple[str, str]  # their template folders
    similarity: float  # the cosine of their averaged templates

    @property
    def kind(self) -> str:
        return "look-alike"


@dataclass(frozen=True, kw_only=True)
class Busy(Status):
    """More faces in view than are recognised per frame."""

    @property
    def kind(self) -> str:
        return "busy"


NOTICE_TOPICS = ("models", "device", "gallery", "capture", "pause", "resume", "worker-restarted", "door-font",
                 "door-words", "worker-log")


@dataclass(frozen=True, kw_only=True)
class Notice(Status):
    """A line for the log or the screen that changes no state of the station."""

    topic: str  # one of NOTICE_TOPICS
    hidden: ClassVar[tuple[str, ...]] = ("topic",)

    def __post_init__(self) -> None:
        if self.topic not in NOTICE_TOPICS:
            raise ValueError(f"unknown notice topic {self.topic!r}")

    @property
    def kind(self) -> str:
        return self.topic


@dataclass(frozen=True, kw_only=True)
class Error(Event):
    type: ClassVar[str] = "error"
    message: str
    fatal: bool = False  # the worker is gone and will not come back by itself


BLURRED = 50.0  # a sample's sharpness (variance of the Laplacian) under which it is blurred or too dark: a sharp
# face at a door gives several hundred (about 1,100 on the real talking clips), blurred (sigma 6) or at 12 % light 14-35


@dataclass(frozen=True, kw_only=True, eq=False)
class CaptureSample:
    """One face kept by an enrollment capture."""

    hidden: ClassVar[tuple[str, ...]] = ("photo_jpeg", "embedding")
    photo_jpeg: bytes  # the face with margin, as saved into database_image/
    embedding: np.ndarray  # (D,) float32, unit length
    size: int
    sharpness: float
    frontality: float
    quality: float
    cut: bool = False  # the face runs off the edge of the picture: part of it is missing


@dataclass(frozen=True, kw_only=True)
class MatchHint:
    """An enrolled person the captured face already looks like."""

    name: str
    similarity: float
    person_id: str = ""  # the station's, where it knows the template folder


@dataclass(frozen=True, kw_only=True)
class CaptureResult(Event):
    type: ClassVar[str] = "capture"
    request: str
    samples: tuple[CaptureSample, ...] = ()
    match: MatchHint | None = None
    message: str = ""  # why no sample was kept, when none was
    crowded: bool = False  # more than one face was in view: the samples are of the largest
    others: int = 0  # pictures of someone else alone in front of the camera (two people took turns), 0 if few


EVENT_TYPES: tuple[type[Event], ...] = (
    Ready, Checkin, Spoof, Waiting, Unknown, Stats, CameraStatus, SourceFinished, PreviewStatus, GalleryLoaded,
    LookAlike, Busy,
    Notice, Error, CaptureResult,
)


def as_json(event: Event) -> dict:
    """The event as `watch --json` prints it: "type" first, then "kind" for statuses, then fields."""
    if not isinstance(event, Event):
        raise TypeError(f"not a worker event: {event!r}")
    out: dict = {"type": event.type}
    if event.kind is not None:
        out["kind"] = event.kind
    out.update(_plain_fields(event))
    return out


def about_folder(event: Event) -> str | None:
    """The template folder an event is about (a check-in, a refused picture); None for events about no person."""
    return event.folder if isinstance(event, Checkin | Spoof | Waiting | Present) else None


def _plain_fields(record: DataclassInstance | type[DataclassInstance]) -> dict[str, object]:
    out = {}
    for spec in dataclasses.fields(record):
        value = getattr(record, spec.name)
        if spec.name in getattr(record, "hidden", ()) or (value is None and spec.default is None):
            continue
        out[spec.name] = _plain(value)
    return out


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value):
        return _plain_fields(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


# --------------------------------------------------------------------------------------------
# Commands (station -> worker)


@dataclass(frozen=True)
class Command:
    pass


@dataclass(frozen=True)
class Shutdown(Command):
    pass


@dataclass(frozen=True)
class Pause(Command):
    paused: bool = True


@dataclass(frozen=True)
class Reload(Command):
    """Read the templates again (someone was enrolled or removed)."""


@dataclass(frozen=True)
class SetPreview(Command):
    on: bool


@dataclass(frozen=True)
class SetSource(Command):
    source: str


@dataclass(frozen=True)
class SetSession(Command):
    """The session the door display names, and its count."""

    name: str  # "" when no session runs
    present: int = 0
    expected: int = 0
    hours: bool = False  # work mode: arrivals and departures are recorded without a session


OUTCOMES = ("checked-in", "late", "already-here", "not-on-list", "no-session")
# A banner's detail: an English phrase that the door says in its own language, with the times filled in.
AT, AT_LATE, SINCE = "at {time}", "at {time}, after {deadline}", "since {time}"
SEE_STAFF = "- please see staff"
NOTHING_RECORDED = "(no session: nothing recorded)"
KEPT = "(kept: filed when the database is back)"
DETAILS = (AT, AT_LATE, SINCE, SEE_STAFF, NOTHING_RECORDED, KEPT)


@dataclass(frozen=True)
class ShowOutcome(Command):
    """What the station did with a recognised face, for the door display's banner."""

    outcome: str  # one of OUTCOMES
    name: str  # the person's display name
    track: int
    detail: str = ""  # one of DETAILS, or nothing
    time: str = ""  # "08:58": the arrival, for {time}
    deadline: str = ""  # "09:10": when lateness began, for {deadline}

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}")


@dataclass(frozen=True)
class SetNames(Command):
    """Display names of the template folders, for the preview's labels."""

    names: dict[str, str]


@dataclass(frozen=True)
class StartCapture(Command):
    request: str
    seconds: float
    count: int

