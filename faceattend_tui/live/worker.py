"""The recognition worker: a separate process that turns a camera into events.

Commands go in and events come out through two multiprocessing queues, as plain dicts:

commands: {"cmd": "pause" | "resume" | "reload" | "preview", "on": bool} | {"cmd": "source", "source": S}
          | {"cmd": "session", "name": N} | {"cmd": "capture", "request": ID, "seconds": S, "count": N}
          | {"cmd": "shutdown"}
events:   {"type": "checkin" | "unknown" | "stats" | "status" | "error" | "capture" | "ready", ...}

A separate process keeps the inference side's GIL use and crashes away from the user interface
and gives the preview window the main thread it needs. `WorkerHandle` runs in the parent: it
starts the process, notices when it dies, says so and starts it again.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import time
from dataclasses import dataclass, field
from pathlib import Path

from faceattend_tui.live.capture import Capture
from faceattend_tui.live.recognizer import LiveOptions, LiveRecognizer

STATS_SECONDS = 1.0
GALLERY_POLL_SECONDS = 2.0


@dataclass
class WorkerConfig:
    data: str
    source: str
    overrides: dict = field(default_factory=dict)  # settings: device, threads, detector, ...
    preview: bool = True
    realtime: bool = True  # False: every frame of a file or folder, as fast as possible
    loop: bool = False
    session: str = ""
    max_embeds_per_frame: int = 6
    votes_needed: int = 3
    log_path: str = ""  # where the process's own stdout/stderr go (keeps a TUI's screen clean)


class Worker:
    """The loop inside the worker process."""

    def __init__(self, config: WorkerConfig, commands, events):
        self.config = config
        self.commands = commands
        self.events = events
        self.reader = None
        self.paused = False
        self.running = True
        self.capture: Capture | None = None
        self.gallery_stamp = None
        self.session = config.session
        self.preview = None

    def emit(self, event_type: str, **fields) -> None:
        self.events.put({"type": event_type, **fields})

    def status(self, message: str, kind: str = "worker", **fields) -> None:
        self.emit("status", kind=kind, message=message, **fields)

    # -- set-up

    def start(self) -> None:
        from faceattend_tui.config import load_settings
        from faceattend_tui.vision.pipeline import FaceEngine

        settings = load_settings(Path(self.config.data), self.config.overrides)
        self.settings = settings
        self.engine = FaceEngine.from_settings(settings, log=lambda text: self.status(text, "models"))
        for note in self.engine.notes:
            self.status(note, "device")
        options = LiveOptions(threshold=settings.threshold, votes_needed=self.config.votes_needed,
                              max_embeds_per_frame=self.config.max_embeds_per_frame)
        self.recognizer = LiveRecognizer(self.engine, self._load_gallery(), options)
        self.emit("ready", device=self.engine.device, detector=settings.detector, recognizer=settings.recognizer,
                  people=len(self.recognizer.gallery.names), pid=os.getpid())
        self._set_preview(self.config.preview)
        self._open_source(self.config.source)

    def _load_gallery(self):
        from faceattend_tui.gallery.matcher import Gallery
        from faceattend_tui.gallery.templates import GalleryError, load_gallery

        self.gallery_stamp = self._gallery_stamp()
        try:
            gallery, warnings = load_gallery(self.settings.tensors_dir, self.engine.recognizer.sha256,
                                             self.engine.embedder.dim)
        except GalleryError as exc:
            self.emit("error", message=str(exc))
            current = getattr(self, "recognizer", None)
            return current.gallery if current else Gallery.from_people({})
        for line in warnings:
            self.status(line, "gallery")
        return gallery

    def _gallery_stamp(self):
        manifest = self.settings.tensors_dir / "manifest.json"
        try:
            stat = manifest.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def reload_gallery(self) -> None:
        gallery = self._load_gallery()
        self.recognizer.set_gallery(gallery)
        self.status(f"gallery loaded: {len(gallery.names)} people, {len(gallery)} templates", "gallery",
                    people=len(gallery.names))

    def _open_source(self, text: str) -> None:
        from faceattend_tui.live.camera import LatestFrameReader, SourceError, make_source, parse_source

        self._close_source()
        try:
            spec = parse_source(text)
            source = make_source(spec, demo_factory=self._demo_factory)
        except SourceError as exc:
            self.emit("error", message=str(exc))
            self.status(f"source finished: {text}", "source-finished")  # as for a source that fails to open
            return
        self.source_name = spec.name
        self.media_start = None
        self.reader = LatestFrameReader(source, realtime=self.config.realtime, loop=self.config.loop,
                                        on_status=self._forward_status)

    def _demo_factory(self):
        from faceattend_tui.live.demo import demo_factory

        return demo_factory(self.engine, Path(self.config.data), loop=self.config.loop)()

    def _forward_status(self, status) -> None:
        fields = {"retry_in": status.retry_in} if status.retry_in is not None else {}
        self.emit("status", kind=f"camera-{status.kind}", message=status.message, source=status.source, **fields)

    def _close_source(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None

    def _set_preview(self, on: bool) -> None:
        from faceattend_tui.live.preview import Preview

        if not on:
            if self.preview is not None:
                self.preview.stop()
                self.preview = None
                self.status("preview window closed", "preview-off")
            return
        if self.preview is None:
            self.preview = Preview()
            problem = self.preview.start()
            if problem:
                self.preview = None
                self.status(f"preview unavailable: {problem}", "preview-unavailable")
            else:
                self.status("preview window open", "preview-on")

    # -- the loop

    def run(self) -> None:
        self.start()
        last_stats = last_poll = time.monotonic()
        frames = 0
        parent = os.getppid()
        while self.running:
            if os.getppid() != parent:  # the station died: do not keep the camera busy
                break
            self._handle_commands()
            if self.reader is None:
                time.sleep(0.05)
                continue
            packet = self.reader.latest(timeout=0.1)
            if packet is None:
                if self.reader.finished:
                    self._source_finished()
                continue
            if not self.paused:
                self._process(packet.frame, self._frame_time(packet))
                frames += 1
            now = time.monotonic()
            if now - last_stats >= STATS_SECONDS:
                self._stats(frames / (now - last_stats))
                frames, last_stats = 0, now
            if now - last_poll >= GALLERY_POLL_SECONDS:
                last_poll = now
                if self._gallery_stamp() != self.gallery_stamp:
                    self.reload_gallery()
        self._close_source()
        if self.preview is not None:
            self.preview.stop()

    def _frame_time(self, packet) -> float | None:
        """The source's own clock when a file, folder or the demo is read frame by frame (not realtime).

        The voting rules count seconds (votes within a window, unknown after a wait); read faster or
        slower than real time, wall-clock seconds would make the outcome depend on this machine's speed.
        """
        fps = getattr(self.reader.source, "fps", None)
        if self.reader.realtime or not fps:
            return None  # the recogniser's own clock
        if self.media_start is None:
            self.media_start = time.time() - packet.index / fps
        return self.media_start + packet.index / fps

    def _process(self, frame, now: float | None = None) -> None:
        for event in self.recognizer.process(frame, now):
            event["sent"] = time.time()
            self.events.put(event)
        if self.capture is not None:
            self._capture_step(frame)
        if self.preview is not None:
            header = f"{self.session or 'no session'} | {self.source_name}"
            self.preview.show(frame, self.recognizer.overlays, header)
            if not self.preview.open:
                self.status(f"preview unavailable: {self.preview.problem}", "preview-unavailable")
                self.preview = None

    def _stats(self, fps: float) -> None:
        stats = self.recognizer.take_stats()
        busy = stats.pop("busy", None)
        self.emit("stats", fps=round(fps, 1), dropped=self.reader.dropped if self.reader else 0, **stats)
        if busy:
            self.status(busy, "busy")

    def _source_finished(self) -> None:
        self._close_source()
        self.status(f"source finished: {self.source_name}", "source-finished")

    # -- commands

    def _handle_commands(self) -> None:
        while True:
            try:
                command = self.commands.get_nowait()
            except queue.Empty:
                return
            self._handle(command)

    def _handle(self, command: dict) -> None:
        name = command.get("cmd")
        if name == "shutdown":
            self.running = False
        elif name in ("pause", "resume"):
            self.paused = name == "pause"
            self.status("paused" if self.paused else "resumed", name)
        elif name == "reload":
            self.reload_gallery()
        elif name == "preview":
            self._set_preview(bool(command.get("on", self.preview is None)))
        elif name == "source":
            self._open_source(str(command.get("source", "")))
        elif name == "session":
            self.session = str(command.get("name") or "")
        elif name == "capture":
            self._start_capture(command)
        else:
            self.emit("error", message=f"unknown worker command {name!r}")

    def _start_capture(self, command: dict) -> None:
        seconds = float(command.get("seconds", 3.0))
        self.capture = Capture(str(command.get("request", "")), time.monotonic() + seconds,
                               int(command.get("count", 5)))
        self.status(f"capturing the largest face for {seconds:g} s", "capture")

    def _capture_step(self, frame) -> None:
        capture = self.capture
        capture.offer(self.engine, frame, self.recognizer.last_faces)
        if time.monotonic() < capture.until:
            return
        self.capture = None
        best = capture.best()
        match = None
        if best:
            import numpy as np

            found = self.recognizer.gallery.match(np.stack([s.embedding for s in best]), self.settings.threshold)
            named = [m for m in found if m.name]
            if named:
                top = max(named, key=lambda m: m.similarity)
                match = {"name": top.name, "similarity": round(top.similarity, 4)}
        message = "" if best else "no usable face seen (too small, or nobody in front of the camera)"
        self.emit("capture", request=capture.request, samples=[s.as_event() for s in best], match=match,
                  message=message)


def redirect_output(path: str) -> None:
    """Send this process's stdout and stderr (C libraries included) to a log file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def worker_main(config: WorkerConfig, commands, events) -> None:
    """Entry point of the worker process."""
    if config.log_path:
        redirect_output(config.log_path)
    if hasattr(os, "nice"):
        os.nice(5)  # a key press on the station's screen goes before the next frame
    try:
        Worker(config, commands, events).run()
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which restarts us
        events.put({"type": "error", "message": f"worker failed: {type(exc).__name__}: {exc}", "fatal": True})
        raise SystemExit(3) from None


class WorkerHandle:
    """The parent's side: start, send commands, read events, restart after a crash."""

    def __init__(self, config: WorkerConfig, restart: bool = True, max_restarts: int = 5):
        self.config = config
        self.restart = restart
        self.max_restarts = max_restarts
        self.restarts = 0
        self.context = mp.get_context("spawn")
        self.process = None
        self.stopping = False

    def start(self) -> None:
        # Fresh queues each time: a process killed mid-write can leave a queue's lock held for ever.
        self.commands = self.context.Queue()
        self.events = self.context.Queue()
        self.process = self.context.Process(target=worker_main, args=(self.config, self.commands, self.events),
                                            name="faceattend-worker", daemon=True)
        self.process.start()

    def send(self, cmd: str, **fields) -> None:
        self.commands.put({"cmd": cmd, **fields})
        if cmd == "source":
            self.config.source = fields.get("source", self.config.source)
        elif cmd == "session":
            self.config.session = fields.get("name", "")

    def poll(self, timeout: float = 0.1) -> list[dict]:
        """Events waiting now (blocking up to timeout for the first); notices a dead worker."""
        events = []
        try:
            events.append(self.events.get(timeout=timeout))
            while True:
                events.append(self.events.get_nowait())
        except queue.Empty:
            pass
        if not self.stopping and self.process is not None and not self.process.is_alive():
            events.append(self._on_death())
        return events

    def _on_death(self) -> dict:
        code = self.process.exitcode
        if not self.restart or self.restarts >= self.max_restarts:
            self.process = None
            return {"type": "error", "message": f"recognition worker stopped (exit code {code}); not restarting",
                    "fatal": True}
        self.restarts += 1
        time.sleep(min(0.5 * 2 ** (self.restarts - 1), 5.0))
        self.start()
        return {"type": "status", "kind": "worker-restarted",
                "message": f"recognition worker stopped (exit code {code}); restarted ({self.restarts})"}

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping = True
        if self.process is None:
            return
        if self.process.is_alive():
            self.commands.put({"cmd": "shutdown"})
            self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(2.0)
        self.process = None
