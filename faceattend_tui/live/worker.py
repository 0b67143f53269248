"""The recognition worker: a separate process that turns a camera into events.

Commands go in and events come out through two multiprocessing queues, as the typed records of
`live.events`. A separate process keeps the inference side's GIL use and crashes away from the
user interface and gives the preview window the main thread it needs. `WorkerHandle` runs in the
parent: it starts the process, notices when it dies, says so and starts it again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from faceattend_tui.config import Settings
from faceattend_tui.errors import FaceattendError
from faceattend_tui.files import LOG_LIMIT, error_text, open_regular
from faceattend_tui.gallery.alike import look_alikes, refuse_unusable
from faceattend_tui.gallery.matcher import Gallery
from faceattend_tui.gallery.templates import MANIFEST, GalleryError, load_gallery
from faceattend_tui.live import events as ev
from faceattend_tui.live.camera import (
    Backoff,
    FrameSource,
    LatestFrameReader,
    SourceError,
    make_source,
    parse_source,
)
from faceattend_tui.live.capture import Capture
from faceattend_tui.live.door import Banner, DoorState
from faceattend_tui.live.preview import Preview, display_problem
from faceattend_tui.live.recognizer import LiveRecognizer
from faceattend_tui.live.sound import Chime
from faceattend_tui.live.words import LANG_DIR, Words, use_fallback_font
from faceattend_tui.text import plural
from faceattend_tui.vision.pipeline import FaceEngine

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess
    from multiprocessing.queues import Queue

    from faceattend_tui.live.camera import FramePacket, SourceStatus
    from faceattend_tui.live.capture import Sample
    from faceattend_tui.vision.pipeline import ModelInfo

STATS_SECONDS = 1.0
CAPTURE_GRACE_SECONDS = 1.0  # a capture without frames ends this long after its time
PREVIEW_SIZE = "preview.json"  # the window's size, remembered in the data root
GALLERY_POLL_SECONDS = 2.0
IDLE_FPS = 10.0  # camera frames looked at per second while the scene is empty (someone coming is seen in 0.1 s)
MOST_ALIKE_SAID = 5  # pairs of people who look like one person, named one by one at a load

SourceFactory = Callable[[FaceEngine], FrameSource]


class Inbox(Protocol):
    """Where the worker takes its commands from (a multiprocessing queue)."""

    def get_nowait(self) -> ev.Command: ...


class Outbox(Protocol):
    """Where the worker puts its events (a multiprocessing queue)."""

    def put(self, event: ev.Event, /) -> None: ...


@dataclass
class WorkerConfig:
    settings: Settings
    source: str
    preview: bool = True
    realtime: bool = True  # False: every frame of a file or folder, as fast as possible
    loop: bool = False
    session: str = ""
    names: dict[str, str] = field(default_factory=dict)  # template folder -> display name
    # Sources named by a word rather than a device or path ("demo"): picklable factories.
    named_sources: dict[str, SourceFactory] = field(default_factory=dict)
    log_path: str = ""  # where the process's own stdout/stderr go (keeps a TUI's screen clean)
    station_pid: int = 0  # the station that started the worker: gone, the worker ends (0: its parent now)


def take_gallery(recognizer: LiveRecognizer, gallery: Gallery, door: DoorState) -> None:
    """The recogniser takes the new gallery; the door's banners of people no longer in it (removed, erased)
    go at once, but a namesake who stays keeps their own."""
    before, names = set(recognizer.gallery.names), dict(recognizer.names)
    gone = before - set(gallery.names)
    tracker = getattr(recognizer, "tracker", None)
    their_tracks = {t.id for t in tracker.tracks if t.state == "known" and t.name in gone} if tracker else set()
    recognizer.set_gallery(gallery)
    staying = {names.get(folder, folder) for folder in gallery.names}
    door.forget({names.get(folder, folder) for folder in gone} | gone, staying, their_tracks)


class Worker:
    """The loop inside the worker process."""

    def __init__(self, config: WorkerConfig, commands: Inbox, events: Outbox):
        self.config = config
        self.settings = config.settings
        self.commands = commands
        self.events = events
        self.reader: LatestFrameReader | None = None
        self.paused = False
        self.running = True
        self.capture: Capture | None = None
        self.gallery_stamp: tuple[int, int] | None = None
        self.looked_at = 0.0  # monotonic time of the last camera frame looked at
        self.last_frame: np.ndarray | None = None  # the last picture recognised, for the stats to look at
        self.alike_compared: set[str] = set()  # people compared with everyone for looking like one person
        self.door = DoorState(session=config.session, words=door_words(config.settings),
                              min_face=config.settings.min_face)
        self.chime = Chime(config.settings.sound)
        self.preview: Preview | None = None
        self.font_looked_for = False
        self.source_name = ""
        self.source_live = False
        self.media_start: float | None = None

    def emit(self, event: ev.Event) -> None:
        self.events.put(event)

    def notice(self, message: str, topic: str) -> None:
        self.emit(ev.Notice(message=message, topic=topic))

    # -- set-up

    def start(self) -> None:
        self.engine = FaceEngine.from_settings(self.settings, log=lambda text: self.notice(text, "models"))
        warm = self.engine.warm_up_frames()
        for note in self.engine.notes:
            self.notice(note, "device")
        if self.engine.static:
            print(f"static shapes on ({self.engine.device}): {warm.describe()}", file=sys.stderr, flush=True)
        self.recognizer = LiveRecognizer(self.engine, self._load_gallery(), self.settings)
        self.recognizer.names = dict(self.config.names)
        self.emit(ready_event(self.engine, self.settings.detector, len(self.recognizer.gallery.names), warm.seconds))
        if self.door.words.problem:
            words = self.door.words
            spoken = "in English" if words.tag == "en" else f"in {words.tag}"
            self.notice(f"door display {spoken}: {words.problem}", "door-words")
        self._set_preview(self.config.preview)
        self._open_source(self.config.source)

    def _load_gallery(self) -> Gallery:
        self.gallery_stamp = self._gallery_stamp()
        current: LiveRecognizer | None = getattr(self, "recognizer", None)
        previous = current.gallery if current is not None else None
        try:  # a few people enrolled or removed update the current gallery (and its index) in place
            model = recognizer_info(self.engine)
            gallery, warnings = load_gallery(self.settings.tensors_dir, model.sha256, self.engine.embedder.dim,
                                             previous=previous, name=model.name)
        except GalleryError as exc:
            self.emit(ev.Error(message=str(exc)))
            return previous if previous is not None else Gallery.from_people({}, self.engine.embedder.dim)
        for line in warnings:
            self.notice(line, "gallery")
        try:
            refuse_unusable(gallery, self.settings.recognizer)
        except GalleryError as exc:  # the previous gallery was updated in place: nobody is matched
            self.emit(ev.Error(message=str(exc)))
            return Gallery.from_people({}, self.engine.embedder.dim)
        self._say_look_alikes(gallery)
        return gallery

    def _say_look_alikes(self, gallery: Gallery) -> None:
        """Pairs of people who look like one person, each said once while this worker runs: at a reload only
        the people new to it are compared (each against everyone: not every pair again in the frame loop)."""
        newcomers = set(gallery.names) - self.alike_compared  # the others were compared at an earlier load
        self.alike_compared |= newcomers
        fresh = look_alikes(gallery, newcomers) if newcomers else []
        for first, second, cosine in fresh[:MOST_ALIKE_SAID]:
            self.emit(ev.LookAlike(message=f"{first} and {second} look like one person (cosine {cosine:.2f}): they "
                                           "would check in as both", folders=(first, second),
                                   similarity=round(cosine, 4)))
        if len(fresh) > MOST_ALIKE_SAID:
            self.notice(f"{len(fresh) - MOST_ALIKE_SAID} more pairs of people look like one person; "
                        "`faceattend doctor` names them all", "gallery")

    def _gallery_stamp(self) -> tuple[int, int] | None:
        try:
            stat = (self.settings.tensors_dir / MANIFEST).stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def _look_at_gallery(self) -> None:
        """Load the templates again when their manifest changed. One gone from under a running station (the
        data folder moved, a restore by hand) leaves those loaded in place, said once: an empty gallery
        recognised nobody, unsaid."""
        stamp = self._gallery_stamp()
        if stamp == self.gallery_stamp:
            return
        people = len(self.recognizer.gallery.names)
        if stamp is None and people:
            self.gallery_stamp = None
            self.notice(f"{self.settings.tensors_dir / MANIFEST} is gone (the data folder moved, or a restore "
                        f"under way?): the {plural(people, 'person', 'people')} loaded "
                        f"{'is' if people == 1 else 'are'} still recognised until it is back", "gallery")
            return
        self.reload_gallery()

    def reload_gallery(self) -> None:
        gallery = self._load_gallery()
        take_gallery(self.recognizer, gallery, self.door)
        self.emit(ev.GalleryLoaded(message=f"gallery loaded: {plural(len(gallery.names), 'person', 'people')}, "
                                               f"{plural(len(gallery), 'template')}",
                                   people=len(gallery.names)))

    def _open_source(self, text: str) -> None:
        self._close_source()
        try:
            spec = parse_source(text)
            source = make_source(spec, demo_factory=self._named_factory("demo"))
        except SourceError as exc:
            self.door.source = "camera-stopped"
            self.emit(ev.Error(message=str(exc)))
            self.emit(ev.SourceFinished(message=f"source finished: {text}"))  # as for a source that fails to open
            return
        self.source_name = spec.name
        self.source_live = spec.live
        self.door.source = ""
        self.media_start = None
        # A camera or stream that is down is tried again and again (with growing waits), also at start.
        self.reader = LatestFrameReader(source, realtime=self.config.realtime, loop=self.config.loop,
                                        on_status=self._forward_status, retry_first_open=spec.live,
                                        backoff=Backoff(maximum=self.settings.camera_retry_max),
                                        turn=self.settings.camera_rotate)

    def _named_factory(self, name: str) -> Callable[[], FrameSource] | None:
        factory = self.config.named_sources.get(name)
        return None if factory is None else (lambda: factory(self.engine))

    def _forward_status(self, status: SourceStatus) -> None:
        if status.kind in ("lost", "reconnecting"):  # the door says so instead of freezing on the last frame
            self.door.source = "camera-lost"
        elif status.kind == "opened":
            self.door.source = ""
        self.emit(ev.CameraStatus(state=status.kind, message=status.message, source=status.source,
                                  retry_in=status.retry_in))

    def _close_source(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None

    def _set_preview(self, on: bool) -> None:
        if not on:
            if self.preview is not None:
                self.preview.stop()
                self.preview = None
                self.emit(ev.PreviewStatus(message="preview window closed", state="off"))
            return
        if self.preview is None:
            mode = self.settings.preview if self.settings.preview != "off" else "window"
            self.preview = Preview(mode, remember=self.settings.data / PREVIEW_SIZE)
            self._find_letters()
            problem = self.preview.start()
            if problem:
                self.preview = None
                self.emit(ev.PreviewStatus(message=f"preview unavailable: {problem}", state="unavailable"))
            else:
                self.emit(ev.PreviewStatus(message="preview window open", state="on"))
                if self.door.source:  # reopened after the source stopped: say so at once
                    self.preview.show_card(self.door)

    def _find_letters(self) -> None:
        """A font for the letters of names OpenCV's own lacks, looked for once, when the door display opens."""
        if not self.font_looked_for:
            self.font_looked_for = True
            problem = use_fallback_font(self.settings.door_font)
            if problem:
                self.emit(ev.Notice(topic="door-font", message=problem))

    # -- the loop

    def run(self) -> None:
        threading.Thread(target=self._watch_display, name="display-watch", daemon=True).start()  # opening too
        self.start()
        last_stats = last_poll = time.monotonic()
        frames = 0
        parent = self.config.station_pid or os.getppid()  # known before the models loaded: it may be gone
        last_log_look = time.monotonic()
        while self.running:
            if os.getppid() != parent:  # the station died: do not keep the camera busy
                break
            self._handle_commands()
            self._capture_overdue()
            if self.config.log_path and time.monotonic() - last_log_look >= GALLERY_POLL_SECONDS:
                last_log_look = time.monotonic()  # also while no picture comes: a dead stream's decoder writes on
                keep_log_small(self.config.log_path)
            if self.reader is None:
                self._no_picture()
                time.sleep(0.05)
                continue
            packet = self.reader.latest(timeout=0.1)
            if packet is None:
                if self.reader.finished:
                    if frames:  # a clip shorter than the stats' period: its frames are said before its end
                        ended = time.monotonic()
                        self._stats(frames / max(ended - last_stats, 1e-3))
                        frames, last_stats = 0, ended
                    self._source_finished()
                self._no_picture()
                continue
            if not self.paused:
                now = self._frame_time(packet)
                if now is None and self._resting():
                    continue  # an empty scene from a camera: a few frames a second are enough to see someone come
                self._process(packet.frame, now, None if now is None else packet.index)
                frames += 1
            now = time.monotonic()
            if now - last_stats >= STATS_SECONDS:
                self._stats(frames / (now - last_stats))
                frames, last_stats = 0, now
            if now - last_poll >= GALLERY_POLL_SECONDS:
                last_poll = now
                self._look_at_gallery()
        self._close_source()
        self.chime.close()
        if self.preview is not None:
            self.preview.stop()

    def _watch_display(self) -> None:
        """A display that stops answering (a stalled X server, an SSH link gone quiet) holds the frame loop,
        whose thread draws: nobody would be recorded. Said, and this process ends for a new one without it."""
        while self.running:
            time.sleep(0.5)
            preview = self.preview
            if preview is not None and preview.stalled(DISPLAY_WAIT_SECONDS):
                self.emit(ev.PreviewStatus(message=f"preview unavailable: the display did not answer for "
                                                   f"{DISPLAY_WAIT_SECONDS:g} s; recognition goes on without it "
                                                   "(p tries it again)", state="unavailable"))
                for step in ("close", "join_thread"):  # the message in the pipe before the process goes
                    getattr(self.events, step, lambda: None)()
                os._exit(DISPLAY_STALLED)

    def _frame_time(self, packet: FramePacket) -> float | None:
        """The source's own clock when a file, folder or the demo is read frame by frame (not realtime).

        The voting rules count seconds (votes within a window, unknown after a wait); read faster or
        slower than real time, wall-clock seconds would make the outcome depend on this machine's speed.
        """
        if self.reader is None:
            return None
        fps = getattr(self.reader.source, "fps", None)
        if self.reader.realtime or not fps:
            return None  # the recogniser's own clock
        if self.media_start is None:
            self.media_start = time.time() - packet.index / fps
        return self.media_start + packet.index / fps

    def _resting(self) -> bool:
        """Whether to leave this camera frame: the scene has been empty for a while and a frame was looked at
        less than 1 / IDLE_FPS seconds ago."""
        now = time.monotonic()
        if self.recognizer.idle() and now - self.looked_at < 1 / IDLE_FPS:
            return True
        self.looked_at = now
        return False

    def _process(self, frame: np.ndarray, now: float | None = None, index: int | None = None) -> None:
        """Recognise one frame; `index`: its number in a file or folder read frame by frame."""
        self.last_frame = frame
        for event in self.recognizer.process(frame, now):
            if isinstance(event, ev.Checkin):
                event = dataclasses.replace(event, sent=time.time())
            elif isinstance(event, ev.Unknown):
                self._see_staff(event.track)
            elif isinstance(event, ev.Spoof):
                self._see_staff(event.track, "Not accepted", "(a picture cannot check in)")
            self.emit(event if index is None else dataclasses.replace(event, frame=index))
        if self.capture is not None:
            self._capture_step(frame)
        if self.preview is not None:
            self.preview.show(frame, self.recognizer.overlays, self.door, time.monotonic())
            if not self.preview.open:
                self.emit(ev.PreviewStatus(message=f"preview unavailable: {self.preview.problem}",
                                           state="unavailable"))
                self.preview = None

    def _stats(self, fps: float) -> None:
        resting = bool(self.reader and self.reader.realtime) and self.recognizer.idle()
        stats, busy = self.recognizer.take_stats(fps, self.reader.dropped if self.reader else 0, resting,
                                                 blank_picture(self.last_frame))
        self.emit(stats)
        if busy:
            self.emit(busy)
        for shape in self.engine.take_late_shapes():
            self.notice(f"input shape {shape} met after the warm-up: expect a pause of up to a second on a GPU "
                        "(please report this)", "device")

    def _no_picture(self) -> None:
        """No frame came: the door shows why (camera stopped, video ended, camera not answering)."""
        if self.preview is not None and self.door.source:
            self.preview.show_card(self.door)

    def _source_finished(self) -> None:
        if self.door.source != "camera-stopped":
            self.door.source = "camera-stopped" if self.source_live else "video-ended"
        self._close_source()
        self.emit(ev.SourceFinished(message=f"source finished: {self.source_name}"))

    # -- commands

    def _handle_commands(self) -> None:
        while True:
            try:
                command = self.commands.get_nowait()
            except queue.Empty:
                return
            self._handle(command)

    def _handle(self, command: ev.Command) -> None:
        match command:
            case ev.Shutdown():
                self.running = False
            case ev.Pause(paused=paused):
                self.paused = paused
                self.notice("paused" if paused else "resumed", "pause" if paused else "resume")
            case ev.Reload():
                self.reload_gallery()
            case ev.SetPreview(on=on):
                self._set_preview(on)
            case ev.SetSource(source=source):
                self._open_source(source)
            case ev.SetSession():
                recognizer = getattr(self, "recognizer", None)  # none while the models load: nobody in view yet
                if recognizer is not None and command.name and command.name != self.door.session:
                    recognizer.announce_again()  # a session begun: those in view arrive now
                self.door.set_session(command)
            case ev.ShowOutcome():
                self._show_outcome(command)
            case ev.SetNames(names=names):
                self.recognizer.names = dict(names)
            case ev.StartCapture():
                self._start_capture(command)
            case _:
                self.emit(ev.Error(message=f"unknown worker command {command!r}"))

    def _show_outcome(self, command: ev.ShowOutcome) -> None:
        """The banner people at the door read: checked in, late, already here..."""
        seconds = self.settings.banner_seconds
        self.door.show(Banner.of(command, time.monotonic() + seconds))
        if command.outcome in ("checked-in", "late"):
            self.chime.play("checkin")
        elif command.outcome == "not-on-list":
            self.chime.play("see-staff")

    def _see_staff(self, track: int, title: str = "Not recognised", detail: str = "") -> None:
        self.door.show(Banner("see-staff", title, detail, track, time.monotonic() + self.settings.banner_seconds))
        self.chime.play("see-staff")

    def _start_capture(self, command: ev.StartCapture) -> None:
        self.capture = Capture(command.request, time.monotonic() + command.seconds, command.count,
                               self.settings.capture_min_face)
        self.notice(f"capturing the largest face for {command.seconds:g} s", "capture")

    def _capture_step(self, frame: np.ndarray) -> None:
        if self.capture is None:
            return
        self.capture.offer(self.engine, frame, self.recognizer.last_faces)
        if time.monotonic() >= self.capture.until:
            self._finish_capture()

    def _capture_overdue(self) -> None:
        """A capture ends on time even when no frame arrives (the camera is down)."""
        if self.capture is not None and time.monotonic() >= self.capture.until + CAPTURE_GRACE_SECONDS:
            self._finish_capture()

    def _finish_capture(self) -> None:
        capture, self.capture = self.capture, None
        if capture is None:
            return
        best, message = capture.best(), ""
        if not best:
            message = ("no usable face seen (too small, or nobody in front of the camera)" if capture.frames
                       else "no picture came from the camera during the capture; is it working?")
        self.emit(ev.CaptureResult(request=capture.request, samples=tuple(s.as_event() for s in best),
                                   match=self._looks_like(best), message=message, crowded=capture.crowded > 0,
                                   others=capture.someone_else() if capture.mixed() else 0))

    def _looks_like(self, samples: list[Sample]) -> ev.MatchHint | None:
        """The enrolled person the captured samples match best, if any."""
        if not samples:
            return None
        found = self.recognizer.gallery.match(np.stack([s.embedding for s in samples]), self.settings.threshold,
                                              self.recognizer.norm)
        named = [(m.name, m.similarity) for m in found if m.name]
        if not named:
            return None
        name, similarity = max(named, key=lambda pair: pair[1])
        return ev.MatchHint(name=name, similarity=round(similarity, 4))


def ready_event(engine: FaceEngine, detector: str, people: int, warmup_s: float = 0.0) -> ev.Ready:
    """What the worker says once its models are loaded; the recogniser's identity is what templates record."""
    info = recognizer_info(engine)
    return ev.Ready(device=engine.device, detector=detector, recognizer=info.name,
                    recognizer_sha256=info.sha256, embedding_dim=engine.embedder.dim,
                    people=people, pid=os.getpid(), static_shapes=engine.static, warmup_s=round(warmup_s, 2))


def recognizer_info(engine: FaceEngine) -> ModelInfo:
    """The recogniser model the engine runs (`FaceEngine.from_settings` always names it)."""
    if engine.recognizer is None:
        raise ValueError("the face engine does not name its recogniser model")
    return engine.recognizer


def door_words(settings: Settings) -> Words:
    """The door's language: the `locale` setting (this machine's when empty); files in <data>/models/lang/."""
    try:
        locale = settings.locale_tag
    except (AttributeError, ValueError, LookupError):
        locale = getattr(settings, "locale", "")
    return Words.for_locale(locale or "en", settings.models_dir / LANG_DIR)


def keep_log_small(path: str) -> None:
    """A log at its limit is kept as `path`.1 (the one before it goes) and a new one begun: a camera whose
    stream is damaged makes its decoder write a line a frame, which over months would fill the disk."""
    try:
        if os.stat(path).st_size < LOG_LIMIT:
            return
        os.replace(path, f"{path}.1")
    except OSError:
        return
    redirect_output(path)


def redirect_output(path: str) -> str:
    """Send this process's stdout and stderr (C libraries included) to a log file; one that cannot be
    written (a file left by another user, a link, a folder) is said, and the output goes nowhere rather
    than over the station's screen. Returns what was wrong, or ""."""
    try:
        fd = open_regular(Path(path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        problem = ""
    except OSError as exc:
        fd = os.open(os.devnull, os.O_WRONLY)
        problem = f"{path}: cannot be written ({error_text(exc)}); the recognition worker's messages are not kept"
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    return problem


def _stop_if_orphaned(station_pid: int, *_: object) -> None:
    """SIGTERM: ignored while the station that started the worker lives (it stops the worker itself)."""
    if station_pid and os.getppid() != station_pid:
        raise SystemExit(0)


def worker_main(config: WorkerConfig, commands: Inbox, events: Outbox) -> None:
    """Entry point of the worker process."""
    unwritable = ""
    if config.log_path:
        keep_log_small(config.log_path)
        unwritable = redirect_output(config.log_path)
    if unwritable:
        events.put(ev.Notice(topic="worker-log", message=unwritable))
    for name in ("SIGINT", "SIGHUP"):  # Ctrl+C or a lost SSH session reach the whole group: the station
        if hasattr(signal, name):  # ends the worker itself (it was restarted while stopping)
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    if hasattr(signal, "SIGTERM"):  # a service's stop too, while the station lives; orphaned, it ends
        signal.signal(signal.SIGTERM, partial(_stop_if_orphaned, config.station_pid))
    if hasattr(os, "nice"):
        os.nice(5)  # a key press on the station's screen goes before the next frame
    try:
        Worker(config, commands, events).run()
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which restarts us
        traceback.print_exc()  # into worker.log
        lasting = isinstance(exc, FaceattendError)  # a model or setting that cannot work: no restart mends it
        message = str(exc) if lasting else f"{type(exc).__name__}: {exc}"
        events.put(ev.Error(message=f"worker failed: {message}", fatal=lasting))
        raise SystemExit(3) from None


@contextlib.contextmanager
def deaf_children() -> Iterator[None]:
    """Processes started meanwhile (the worker; multiprocessing's resource tracker, with the first queue)
    begin with Ctrl+C and a hang-up ignored. Both reach the whole process group, and the station ends its
    worker itself: Ctrl+C during its imports printed their traceback, and a hang-up killed the tracker,
    whose replacement then printed tracebacks about memory it never knew of. Signals are the main
    thread's: elsewhere (a restart) nothing changes."""
    names = [n for n in ("SIGINT", "SIGHUP") if hasattr(signal, n)]
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {n: h for n in names if (h := signal.getsignal(getattr(signal, n))) is not None}
    for name in before:
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    try:
        yield
    finally:
        for name, handler in before.items():
            signal.signal(getattr(signal, name), handler)


STABLE_SECONDS = 120.0  # a worker that ran this long before it died was not crashing in a loop
DISPLAY_STALLED = 75  # the exit code of a worker whose door display stopped answering (restarted without it)
WINDOW_CUT = 1  # Qt ends the process so when its display connection breaks (xkill); a Python failure exits 3
REOPEN_SECONDS = 10.0  # a worker ending so this soon after the door display was asked, before it said it opened
DISPLAY_WAIT_SECONDS = 5.0  # a call to the display that has not returned by then has stalled


class WorkerHandle:
    """The parent's side: start, send commands, read events, restart after a crash."""

    def __init__(self, config: WorkerConfig, restart: bool = True, max_restarts: int = 5):
        self.config = config
        self.restart = restart
        self.max_restarts = max_restarts  # crashes in a row: a worker that ran a while starts the count again
        self.restarts = 0
        self.started = 0.0  # time.monotonic() of the last start
        self.context = mp.get_context("spawn")
        self.process: BaseProcess | None = None
        self.stopping = False
        self.preview_asked = float("-inf")  # time.monotonic() when the door display was asked, until it opened

    def start(self) -> None:
        """Start the worker process; one that cannot be started (out of file handles or memory) is said."""
        try:
            self._launch()
        except OSError as exc:
            self.process = None
            hint = f" (this process may open {resource_limit()} files: see `ulimit -n`)" \
                if exc.errno in (errno.EMFILE, errno.ENFILE) else ""
            raise FaceattendError(f"cannot start the recognition worker: {error_text(exc)}{hint}") from None

    def _start_again(self) -> list[ev.Event]:
        """Started again after it ended; an Error (fatal) when it cannot be."""
        try:
            self.start()
        except FaceattendError as exc:
            self.restart = False
            return [ev.Error(message=str(exc), fatal=True)]
        return []

    def _launch(self) -> None:
        with deaf_children():
            # Fresh queues each time: a process killed mid-write can leave a queue's lock held for ever.
            self.commands: Queue[ev.Command] = self.context.Queue()
            self.events: Queue[ev.Event] = self.context.Queue()
            # The names go by the queue: a large roster in the arguments would make start() wait, writing them
            # into a pipe, until the new process has booted far enough to read them.
            config = dataclasses.replace(self.config, names={}, station_pid=os.getpid())
            self.process = self.context.Process(target=worker_main, args=(config, self.commands, self.events),
                                                name="faceattend-worker", daemon=True)
            self.process.start()
        self.started = time.monotonic()
        if self.config.names:
            self.commands.put(ev.SetNames(dict(self.config.names)))

    def send(self, command: ev.Command) -> None:
        if not isinstance(command, ev.Command):
            raise TypeError(f"not a worker command: {command!r}")
        self.commands.put(command)
        match command:  # a restarted worker starts where this one was
            case ev.SetSource(source=source):
                self.config.source = source
            case ev.SetSession(name=name):
                self.config.session = name
            case ev.SetPreview(on=on):
                self.config.preview = on
                self.preview_asked = time.monotonic() if on else float("-inf")
            case ev.SetNames(names=names):
                self.config.names = dict(names)

    def poll(self, timeout: float = 0.1) -> list[ev.Event]:
        """Events waiting now (blocking up to timeout for the first); notices a dead worker."""
        events: list[ev.Event] = []
        try:
            events.append(self.events.get(timeout=timeout))
            while True:
                events.append(self.events.get_nowait())
        except queue.Empty:
            pass
        if any(isinstance(e, ev.Error) and e.fatal for e in events):
            self.restart = False  # it said why it cannot work: the same would happen again
        if any(isinstance(e, ev.PreviewStatus) and e.state == "on" for e in events):
            self.preview_asked = float("-inf")  # the window opened: one killed now was killed from outside
        if not self.stopping and self.process is not None and not self.process.is_alive():
            events += self._on_death()
        return events

    def _on_death(self) -> list[ev.Event]:
        code = self.process.exitcode if self.process is not None else None
        gone = code != DISPLAY_STALLED and code != 0 and self.config.preview and display_problem()
        cut = code == WINDOW_CUT and self.config.preview and not gone
        if cut and time.monotonic() - self.preview_asked < REOPEN_SECONDS:
            return self._reopened()
        if code == DISPLAY_STALLED or gone or cut:  # not a crash: the same worker, without the door display
            self.config.preview = False
            self._drop_commands()
            if failed := self._start_again():
                return failed
            why = (f"went away ({gone})" if gone else "was closed from outside (its window killed, or its link to "
                   "the display cut)" if cut else "stopped answering")
            return [ev.PreviewStatus(message="preview window closed", state="off"),  # the header says so; p reopens
                    ev.Notice(message=f"recognition worker restarted without the door display, which {why}; p opens "
                              "it again", topic="worker-restarted")]
        if time.monotonic() - self.started > STABLE_SECONDS:  # a crash now and then, days apart: not in a row
            self.restarts = 0
        if not self.restart or self.restarts >= self.max_restarts:
            self.process = None
            return [ev.Error(message=f"recognition worker {how_it_ended(code)}; not restarting", fatal=True)]
        self.restarts += 1
        self._drop_commands()
        time.sleep(min(0.5 * 2 ** (self.restarts - 1), 5.0))
        if failed := self._start_again():
            return failed
        return [ev.Notice(message=f"recognition worker {how_it_ended(code)}; restarted ({self.restarts})",
                          topic="worker-restarted")]

    def _reopened(self) -> list[ev.Event]:
        """The worker ended as it opened the door display just asked for, on a display that answers (its old
        link to one that went and came back was dead): started again to open it, once."""
        self.preview_asked = float("-inf")
        self._drop_commands()
        if failed := self._start_again():
            return failed
        return [ev.Notice(message="recognition worker restarted to open the door display (the display had gone "
                          "away and come back)", topic="worker-restarted")]

    def _drop_commands(self) -> None:
        """Commands a dead worker never read are dropped: a queue still writing them into its pipe (a large
        roster's names, 64 KiB and more) would otherwise hold the station's exit for ever."""
        with contextlib.suppress(AttributeError, OSError, ValueError):
            self.commands.cancel_join_thread()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def stop(self, timeout: float = 5.0) -> list[ev.Event]:
        """Stop the worker; the events it sent that were not read yet (check-ins among them)."""
        self.stopping = True
        if self.process is None:
            return []
        left: list[ev.Event] = []
        if self.process.is_alive():
            self.commands.put(ev.Shutdown())
            left += self._read_until_ended(self.process, timeout)
        if self.process.is_alive():
            self.process.kill()  # it does not stop on SIGTERM (see worker_main)
            self.process.join(2.0)
        self.process = None
        self._drop_commands()
        with contextlib.suppress(queue.Empty, OSError, ValueError, EOFError):
            while True:
                left.append(self.events.get(timeout=0.05))
        return left

    def _read_until_ended(self, process: BaseProcess, timeout: float) -> list[ev.Event]:
        """Its events, read while it ends: a worker whose unread events fill the pipe cannot end until they
        are read (joined first, it was killed after `timeout` and what it still held was lost)."""
        read: list[ev.Event] = []
        deadline = time.monotonic() + timeout
        with contextlib.suppress(OSError, ValueError, EOFError):
            while process.is_alive() and time.monotonic() < deadline:
                with contextlib.suppress(queue.Empty):
                    read.append(self.events.get(timeout=0.05))
        process.join(max(0.0, min(1.0, deadline - time.monotonic())))
        return read


KILLED = "killed by SIGKILL"  # a worker ended so wrote nothing of it in worker.log (SIGSEGV, SIGABRT may have)


def how_it_ended(code: int | None) -> str:
    """A worker's end as words: its exit code, or the signal that killed it (SIGKILL: often out of memory)."""
    if code is None or code >= 0:
        return f"stopped (exit code {code})"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    hint = " (out of memory? see the kernel's log, `dmesg`; or someone killed it)" if name == "SIGKILL" else ""
    return f"was killed by {name}{hint}"


BLANK_SPREAD = 2.0  # grey levels: a picture whose pixels differ less than this shows nothing


def blank_picture(frame: np.ndarray | None) -> bool:
    """Whether a picture shows nothing: a few pixels across, or one flat colour (looked at on a sparse grid)."""
    if frame is None:
        return False
    if min(frame.shape[:2]) < 32:
        return True
    step = max(1, min(frame.shape[:2]) // 64)
    grid = frame[::step, ::step].reshape(-1, frame.shape[2] if frame.ndim == 3 else 1)
    return float(grid.std(axis=0).max()) < BLANK_SPREAD  # each colour on its own: a blue "no signal" screen


def resource_limit() -> str:
    """How many files this process may open (its soft limit), as text."""
    try:
        import resource

        return str(resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    except (ImportError, OSError, ValueError):  # not on Windows
        return "only so many"
