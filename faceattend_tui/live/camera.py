"""Frame sources for the live worker and a reader thread that hands over only the newest frame.

A source text is parsed into a `SourceSpec` (webcam index, stream URL, video file, image folder or
the generated demo stream), `make_source` turns the spec into a frame source, and
`LatestFrameReader` reads it on a daemon thread. Problems never escape the thread: they become
`SourceStatus` records passed to a callback and kept in a small buffer.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol, TypeGuard

import cv2
import numpy as np

from faceattend_tui.errors import LiveError
from faceattend_tui.text import plural, printable
from faceattend_tui.vision.imageio import ImageError, is_image_name, read_image

LOG = logging.getLogger("faceattend.camera")

STREAM_SCHEMES = ("rtsp", "rtsps", "rtmp", "http", "https")


class SourceError(LiveError, ValueError):
    """A source text that cannot be used, or a source that cannot be opened."""


# ---------------------------------------------------------------------------------------------
# Parsing


@dataclass(frozen=True)
class SourceSpec:
    """What the user asked for: kind is "webcam", "stream", "file" (a video), "image", "folder" or "demo"."""

    kind: str
    target: int | str  # webcam index, URL, or path as text ("demo" for the demo stream)

    @property
    def live(self) -> bool:
        """Live sources reconnect after a loss; files and folders simply end."""
        return self.kind in ("webcam", "stream")

    @property
    def name(self) -> str:
        """The source as messages name it: passwords hidden, terminal codes written as codes."""
        if self.kind == "webcam":
            return printable(f"camera {self.target}")
        if self.kind == "stream":
            return printable(redact_url(str(self.target)))
        return printable(self.target)


MAX_INDEX = 2**31 - 1  # OpenCV takes a camera index as a C int


def parse_source(text: str) -> SourceSpec:
    """Read a source text: "0" is a webcam, a URL a stream, a folder a slideshow, a photo a still, a file a video."""
    value = str(text).strip()
    if not value:
        raise SourceError("empty source: give a camera index, a URL, a video file, a folder or 'demo'")
    if value.isdecimal():  # not isdigit: '²' is a digit that int() refuses
        if int(value) > MAX_INDEX:
            raise SourceError(f"{value!r} is too large to be a camera index (0, 1, ...)")
        return SourceSpec("webcam", int(value))
    if value.lower() == "demo":
        return SourceSpec("demo", "demo")
    scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://", value)
    if scheme:
        if scheme.group(1).lower() not in STREAM_SCHEMES:
            raise SourceError(f"unsupported URL scheme in {redact_url(value)!r} (use {', '.join(STREAM_SCHEMES)})")
        return SourceSpec("stream", value)
    path = Path(value).expanduser()
    if path.is_dir():
        return SourceSpec("folder", str(path))
    if path.is_file():
        return SourceSpec("image" if is_image_name(path) else "file", str(path))
    if (path.is_char_device() and not is_image_name(path)) or camera_device_name(path):  # unplugged yet: tried
        return SourceSpec("webcam", str(path))  # again as a camera index is
    if path.is_fifo() or path.exists():
        raise SourceError(f"{value!r} is not a camera, video file, photo or folder (a named pipe or a device is "
                          "not read)")
    raise SourceError(f"source not found: {value!r} is not a camera index, URL, file or folder")


def camera_device_name(path: Path) -> bool:
    """Whether the path names a camera device, there or not: /dev/video0, or a name that pins one camera
    among several (/dev/v4l/by-id/..., gone while that camera is unplugged)."""
    text = path.as_posix()
    return text.startswith(("/dev/video", "/dev/v4l/"))


def source_label(text: str) -> str:
    """What a source is, for the audit: "camera 0", "folder /srv/photos", "stream rtsp://admin:***@..."."""
    try:
        spec = parse_source(text)
    except SourceError:
        return redact_url(str(text))
    return spec.name if spec.kind in ("webcam", "demo") else f"{spec.kind} {spec.name}"


URL_PARTS = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)([^/?#]*)(.*)$", re.DOTALL)
# a query parameter whose name says it holds a secret (pwd=, password=, token=, api_key=, auth=, sig=)
SECRET_PARAM = re.compile(r"([?&;][^=&;#]*(?:pass|pwd|secret|token|key|auth|sig)[^=&;#]*=)[^&;#]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """The URL with its password (all of it, "@" included) and secret query values replaced by ***,
    safe to show in status lines and logs."""
    found = URL_PARTS.match(url)
    if found is None:
        return url
    scheme, authority, rest = found.groups()
    if "@" in authority:
        userinfo, host = authority.rsplit("@", 1)  # a password may hold "@": the host follows the last one
        user, colon, _ = userinfo.partition(":")
        authority = f"{user}:***@{host}" if colon else f"{user}@{host}"
    return scheme + authority + SECRET_PARAM.sub(r"\1***", rest)


# ---------------------------------------------------------------------------------------------
# Frame sources


class FrameSource(Protocol):
    """The small interface every source offers (the demo stream included)."""

    name: str
    kind: str
    live: bool  # a failed read means "lost" (reconnect) rather than "ended"

    @property
    def fps(self) -> float | None: ...  # pacing hint; None when unknown

    def open(self) -> None: ...  # raises SourceError with a one-line reason

    def read(self) -> tuple[bool, np.ndarray | None]: ...  # False: end of data or lost

    def release(self) -> None: ...


UNKNOWN_FPS = 25.0  # the pace of a file read in real time whose frame rate is missing or makes no sense


def sane_fps(value: float) -> float | None:
    return float(value) if np.isfinite(value) and 0.5 <= value <= 240 else None


class VideoCaptureSource:
    """A cv2.VideoCapture over a webcam index, a video file or a stream URL."""

    def __init__(self, target: int | str, kind: str = "", name: str = "", open_timeout: float = 5.0,
                 read_timeout: float = 5.0, api: int = cv2.CAP_ANY):
        self.target = target
        self.kind = kind or ("webcam" if isinstance(target, int) else "file")
        self.name = printable(name or (f"camera {target}" if isinstance(target, int) else redact_url(str(target))))
        self.live = self.kind in ("webcam", "stream")
        self.open_timeout = open_timeout
        self.read_timeout = read_timeout
        self.api = api
        self.fps: float | None = None
        self._cap: cv2.VideoCapture | None = None

    def _params(self) -> list[int]:
        # Timeouts only matter for network streams; backends that do not know them ignore them.
        if self.kind != "stream":
            return []
        params = []
        for prop, seconds in (("CAP_PROP_OPEN_TIMEOUT_MSEC", self.open_timeout),
                              ("CAP_PROP_READ_TIMEOUT_MSEC", self.read_timeout)):
            if hasattr(cv2, prop):
                params += [getattr(cv2, prop), int(seconds * 1000)]
        return params

    def open(self) -> None:
        self.release()
        api = cv2.CAP_FFMPEG if self.kind == "stream" and self.api == cv2.CAP_ANY else self.api
        cap = cv2.VideoCapture(self.target, api, self._params())
        if not cap.isOpened():
            cap.release()
            raise SourceError(self._open_failure())
        if self.kind == "webcam":
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # keep the driver queue short
        self.fps = sane_fps(cap.get(cv2.CAP_PROP_FPS))
        self._cap = cap

    def _open_failure(self) -> str:
        if self.kind == "webcam":
            return f"{self.name} could not be opened (no such device, no permission, or busy)"
        if self.kind == "stream":
            return (f"cannot open stream {self.name} (refused, unreachable, timed out, or the camera refused its "
                    "user, password or path)")
        if not os.path.exists(str(self.target)):
            return f"video file {self.name} does not exist"
        return f"cannot open video file {self.name} (unsupported or corrupt)"

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self._cap is None:
            return False, None
        ok, frame = self._cap.read()
        return bool(ok), frame

    def release(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


def decode_image(path: Path) -> tuple[np.ndarray | None, str]:
    """The BGR image at path, or None with the reason it was skipped."""
    try:
        return read_image(path), ""
    except ImageError as exc:
        return None, f"skipped {exc}"


SMALL_PHOTO = 400  # pixels: smaller photos are shown on a larger canvas


def frame_small_photo(image: np.ndarray) -> np.ndarray:
    """Centre a small photo (an ID-card crop the face fills) on a 640x480 grey canvas.

    Detectors miss faces that fill the whole frame; a camera never delivers such tiny frames.
    """
    h, w = image.shape[:2]
    if max(h, w) >= SMALL_PHOTO:
        return image
    canvas = np.full((max(480, h), max(640, w), 3), 110, np.uint8)
    top, left = (canvas.shape[0] - h) // 2, (canvas.shape[1] - w) // 2
    canvas[top : top + h, left : left + w] = image
    return canvas


class FolderSource:
    """Images of a folder, sorted by name, each shown for a number of frames (or one photo, shown so).

    The pace is `frames_per_image` frames at `fps`, or `seconds_per_image` turned into frames.
    Repeating an image gives the recognition votes several frames of the same face.
    """

    kind = "folder"
    live = False

    def __init__(self, path: str | Path, seconds_per_image: float = 2.0, fps: float = 10.0,
                 frames_per_image: int | None = None):
        self.path = Path(path)
        self.name = printable(path)
        self.fps = float(fps)
        self.frames_per_image = frames_per_image or max(1, round(seconds_per_image * self.fps))
        self.notes: deque[str] = deque()  # skip messages; the reader turns them into statuses
        self._reported: set[str] = set()
        self._files: Iterator[Path] = iter(())
        self._image: np.ndarray | None = None
        self._shown = 0

    def _note(self, message: str) -> None:
        if message not in self._reported:  # one message per file, even when looping
            self._reported.add(message)
            self.notes.append(message)

    def _listing(self) -> list[Path]:
        if self.path.is_file():
            return [self.path]
        try:
            entries = sorted(p for p in self.path.iterdir() if not p.is_dir())
        except OSError as exc:
            raise SourceError(f"cannot list folder {self.name}: {exc.strerror or exc}") from exc
        images = []
        for entry in entries:
            if not entry.is_file():  # a pipe, a device, a link to nothing: never opened, so nothing waits
                self._note(f"skipped {printable(entry.name)}: not a regular file")
            elif is_image_name(entry):
                images.append(entry)
            else:
                self._note(f"skipped {printable(entry.name)}: not an image")
        return images

    def _next_image(self) -> np.ndarray | None:
        for path in self._files:
            image, reason = decode_image(path)
            if image is not None:
                return frame_small_photo(image)
            self._note(reason)
        return None

    def open(self) -> None:
        self._files = iter(self._listing())
        self._image = self._next_image()
        self._shown = 0
        if self._image is None:
            raise SourceError(self.notes.pop().removeprefix("skipped ") if self.path.is_file() and self.notes
                              else f"no readable image in folder {self.name}")

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self._image is not None and self._shown >= self.frames_per_image:
            self._image = self._next_image()
            self._shown = 0
        if self._image is None:
            return False, None
        self._shown += 1
        return True, self._image.copy()  # consumers may draw on their frame

    def release(self) -> None:
        self._files = iter(())
        self._image = None


def make_source(spec: SourceSpec, demo_factory: Callable[[], FrameSource] | None = None,
                open_timeout: float = 5.0, read_timeout: float = 5.0,
                seconds_per_image: float = 2.0, folder_fps: float = 10.0) -> FrameSource:
    """A frame source for a parsed spec; the demo stream comes from `demo_factory`."""
    if spec.kind in ("folder", "image"):
        return FolderSource(str(spec.target), seconds_per_image=seconds_per_image, fps=folder_fps)
    if spec.kind == "demo":
        if demo_factory is None:
            raise SourceError("the demo stream is not available in this build")
        return demo_factory()
    return VideoCaptureSource(spec.target, spec.kind, spec.name, open_timeout, read_timeout)


# ---------------------------------------------------------------------------------------------
# Reader thread


@dataclass(frozen=True)
class SourceStatus:
    """One event of a reader: kind is one of events.CameraStatus.states, message a one-line text naming the source."""

    kind: str
    message: str
    source: str
    time: float
    retry_in: float | None = None  # seconds until the next attempt, for "reconnecting"


class FramePacket(NamedTuple):
    frame: np.ndarray
    # The frame's number: counts every good frame read, so gaps show dropped frames.
    index: int  # type: ignore[assignment]  # shadows tuple.index
    time: float  # clock time when it was read


class Backoff:
    """Reconnect delays: initial, doubled each time, capped at maximum."""

    def __init__(self, initial: float = 0.5, maximum: float = 10.0, factor: float = 2.0):
        self.initial, self.maximum, self.factor = initial, maximum, factor
        self.attempt = 0

    def next(self) -> float:
        """The wait before the next try; at the cap it stays there (a camera off over a weekend is tried
        every `maximum` seconds for as long as it takes)."""
        delay = min(self.initial * self.factor**self.attempt, self.maximum)
        if delay < self.maximum:
            self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0


TURNS = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def turned(frame: np.ndarray, degrees: int) -> np.ndarray:
    """The picture of a camera mounted sideways or upside down, turned upright (clockwise by `degrees`)."""
    code = TURNS.get(degrees)
    return frame if code is None else cv2.rotate(frame, code)


def is_good_frame(frame: object) -> TypeGuard[np.ndarray]:
    return (isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.ndim == 3
            and frame.shape[2] == 3 and frame.shape[0] > 0 and frame.shape[1] > 0)


class LatestFrameReader:
    """Reads a source on a daemon thread and hands over only the newest frame.

    realtime=True: frames not taken in time are dropped (counted in `dropped`), so a slow consumer
    always gets a fresh frame; files and folders are paced at their fps. realtime=False: files,
    folders and the demo stream are read as fast as the consumer takes them, each frame delivered
    once. Live sources (webcams, streams) always run in realtime mode.
    """

    def __init__(self, source: FrameSource, realtime: bool = True, loop: bool = False,
                 on_status: Callable[[SourceStatus], None] | None = None, backoff: Backoff | None = None,
                 max_bad_frames: int = 30, retry_first_open: bool = False,
                 clock: Callable[[], float] = time.monotonic, start: bool = True, turn: int = 0):
        self.source = source
        self.turn = turn  # degrees clockwise that each frame is turned before it is handed over
        self.live = bool(getattr(source, "live", False))
        self.realtime = realtime or self.live
        self.loop = loop
        self.on_status = on_status
        self.backoff = backoff or Backoff()
        self.max_bad_frames = max_bad_frames
        self.retry_first_open = retry_first_open
        self.clock = clock
        self.name = str(getattr(source, "name", "source"))
        self.frames_read = 0
        self.dropped = 0
        self.bad_frames = 0
        self.history: deque[SourceStatus] = deque(maxlen=200)
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._slot: FramePacket | None = None
        self._done = False
        self._thread = threading.Thread(target=self._run, name=f"reader {self.name}", daemon=True)
        if start:
            self.start()

    # -- consumer side

    def start(self) -> None:
        self._thread.start()

    @property
    def finished(self) -> bool:
        """True once the thread has stopped (ended, failed or closed)."""
        return self._done

    def latest(self, timeout: float | None = None) -> FramePacket | None:
        """The newest frame not handed over yet; None on timeout or once the reader has finished."""
        with self._cond:
            self._cond.wait_for(lambda: self._slot is not None or self._done, timeout)
            packet, self._slot = self._slot, None
            self._cond.notify_all()
            return packet

    def statuses(self) -> list[SourceStatus]:
        """All statuses so far (the last 200)."""
        return list(self.history)

    def close(self, timeout: float = 5.0) -> bool:
        """Stop the thread and wait for it; False if it is still stuck in a backend call."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def __enter__(self) -> LatestFrameReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- thread side

    def _emit(self, kind: str, message: str, retry_in: float | None = None) -> None:
        status = SourceStatus(kind, message, self.name, self.clock(), retry_in)
        self.history.append(status)
        if self.on_status is not None:
            with contextlib.suppress(Exception):  # a broken callback must not kill the reader
                self.on_status(status)

    def _named(self, text: str) -> str:
        """The text with the source name in front unless it already names it."""
        return text if self.name in text else f"{self.name}: {text}"

    def _drain_notes(self) -> None:
        notes = getattr(self.source, "notes", None)
        while notes:
            self._emit("skipped", f"{self.name}: {notes.popleft()}")

    def _run(self) -> None:
        try:
            first = True
            while not self._stop.is_set():
                try:
                    self._read_until_done(first)
                    return
                except Exception as exc:  # a bug: reported with its traceback, never raised out of the thread
                    LOG.error("camera reader: unexpected error", exc_info=exc)
                    what = f"{self.name}: unexpected {type(exc).__name__}: {exc}"
                    if not self.live:
                        self._emit("error", what)
                        return
                    self._emit("lost", f"{what}; trying again")  # a live camera is not given up on
                    self._release()
                    first = False
        finally:
            self._release()
            with self._cond:
                self._done = True
                self._cond.notify_all()

    def _release(self) -> None:
        with contextlib.suppress(Exception):
            self.source.release()

    def _read_until_done(self, first: bool = True) -> None:
        while not self._stop.is_set():
            if not self._open(first):
                return
            first = False
            outcome, count = self._pump()
            self._release()
            if outcome == "stopped":
                return
            if outcome == "lost":
                self._emit("lost", f"lost {self.name}: read failed after {plural(count, 'frame')}")
                continue
            if count == 0:
                self._emit("error", f"no frames could be read from {self.name}")
                return
            if not self.loop:
                self._emit("ended", f"{self.name} ended after {plural(self.frames_read, 'frame')}")
                return

    def _open(self, first: bool) -> bool:
        """Open the source; live sources retry with backoff. False when giving up or stopped."""
        retry = self.live and (not first or self.retry_first_open)
        wait = self.live and not first  # after a loss, pause before the first reconnect
        reason = f"lost {self.name}"
        while not self._stop.is_set():
            if wait:
                delay = self.backoff.next()
                # a time, not "in 8 s": the header keeps the words until the next try, and counts nothing down
                at = time.strftime("%H:%M:%S", time.localtime(time.time() + delay))
                self._emit("reconnecting", f"trying again at {at} ({reason})", retry_in=delay)
                if self._stop.wait(delay):
                    return False
            try:
                self.source.open()
            except Exception as exc:
                self._drain_notes()
                reason = self._named(str(exc) or "cannot open")
                if not retry:
                    self._emit("error", reason)
                    return False
                wait = True
                continue
            self._emit("opened", f"opened {self.name}")
            self._drain_notes()
            return True
        return False

    def _pump(self) -> tuple[str, int]:
        """Read until the source ends, fails or we are stopped: ("ended"|"lost"|"stopped", good frames)."""
        count = bad_run = 0
        fps = getattr(self.source, "fps", None) or UNKNOWN_FPS  # a header's 0 or 1000 fps: not read all at once
        pace = 1.0 / fps if self.realtime and not self.live else 0.0
        due = self.clock()
        while not self._stop.is_set():
            if pace:
                due = self._wait_until(due, pace)
            ok, frame = self.source.read()
            self._drain_notes()
            if not ok:
                return ("lost" if self.live else "ended"), count
            if not is_good_frame(frame):
                self.bad_frames += 1
                bad_run += 1
                if bad_run > self.max_bad_frames:
                    return ("lost" if self.live else "ended"), count
                continue
            bad_run = 0
            count += 1
            if count == 1:
                self.backoff.reset()  # only a delivered frame proves the connection works
            self._publish(FramePacket(turned(frame, self.turn), self.frames_read, self.clock()))
            self.frames_read += 1
        return "stopped", count

    def _wait_until(self, due: float, pace: float) -> float:
        """Sleep until `due` and return the next due time; a late reader does not burst to catch up."""
        delay = due - self.clock()
        if delay > 0:
            self._stop.wait(delay)
            return due + pace
        return self.clock() + pace if -delay > pace else due + pace

    def _publish(self, packet: FramePacket) -> None:
        with self._cond:
            if self.realtime:
                if self._slot is not None:
                    self.dropped += 1
            else:
                self._cond.wait_for(lambda: self._slot is None or self._stop.is_set())
            self._slot = packet
            self._cond.notify_all()
