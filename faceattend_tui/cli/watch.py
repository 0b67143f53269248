"""`faceattend watch`: the live worker without the user interface, events on standard output."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from faceattend_tui.attendance import LockedError, StoreError, acquire_lock, open_snapshot
from faceattend_tui.attendance.models import printable
from faceattend_tui.attendance.tinystore import default_path
from faceattend_tui.config import Settings
from faceattend_tui.demo import DemoError, DemoSourceFactory, enroll_demo_roster
from faceattend_tui.live import events as ev
from faceattend_tui.live.worker import WorkerConfig, WorkerHandle


@dataclass
class WatchOptions:
    source: str
    json: bool = False
    preview: bool = True
    realtime: bool = True
    loop: bool = False
    max_seconds: float | None = None


def is_failure(event: ev.Event) -> bool:
    """An event that makes the run end with exit code 1 (an error, a camera that failed)."""
    return isinstance(event, ev.Error) or event.kind == "camera-error"


def ends_run(event: ev.Event) -> bool:
    """The source ended, or the worker cannot go on."""
    return isinstance(event, ev.SourceFinished) or (isinstance(event, ev.Error) and event.fatal)


def human_line(event: ev.Event) -> str:
    stamp = time.strftime("%H:%M:%S", time.localtime(getattr(event, "time", None) or time.time()))
    match event:
        case ev.Checkin():
            return f"{stamp} check-in  {printable(event.name)} (similarity {event.similarity:.2f}, track {event.track})"
        case ev.Unknown():
            return f"{stamp} unknown face (track {event.track})"
        case ev.Spoof():
            return (f"{stamp} refused   {printable(event.name)}: moved like a picture, no sign of life "
                    f"(track {event.track})")
        case ev.Stats():
            return (f"{stamp} {event.fps:5.1f} fps  detect {event.detect_ms:.1f} ms  "
                    f"embed {event.embed_ms:.1f} ms  {event.faces} faces")
        case ev.Ready():
            warm = f"; {event.warmup_s:.1f} s to prepare fixed input shapes" if event.static_shapes else ""
            return f"{stamp} worker ready on {event.device}: {event.people} people enrolled{warm}"
        case ev.Status() | ev.Error():
            return f"{stamp} {event.kind or event.type}: {event.message}"
        case _:
            return f"{stamp} {event.type}"


def worker_config(settings: Settings, options: WatchOptions) -> WorkerConfig:
    named = {"demo": DemoSourceFactory(str(settings.data), loop=options.loop)}
    return WorkerConfig(settings=settings, source=options.source, preview=options.preview,
                        realtime=options.realtime, loop=options.loop, named_sources=named)


def watch(settings: Settings, options: WatchOptions, out: TextIO, log: Callable[[str], None]) -> int:
    """Print the worker's events until a file or folder ends, the worker fails or time is up; 1 on errors.

    A camera or stream that is down is retried with growing waits, also when it is down at start.
    """
    try:  # a station on the same data would fight over the camera
        lock = acquire_lock(settings.data)
    except LockedError as exc:
        log(f"error: {exc}")
        return 2
    with lock:
        if options.source == "demo" and not bring_demo_cast(settings, log):
            return 2
        return _watch(settings, options, out)


def bring_demo_cast(settings: Settings, log: Callable[[str], None]) -> bool:
    """Enroll the demo's people when the data root is the demo's; False, said in one line, when not."""
    try:
        enroll_demo_roster(settings, log, logged_names(settings))
    except DemoError as exc:
        log(f"error: {exc}")
        return False
    return True


def logged_names(settings: Settings) -> list[str] | None:
    """The names in the data root's own attendance log, people who left too; None where it has none."""
    if settings.database or not default_path(settings.data).is_file():
        return None
    try:
        with open_snapshot(settings.data) as store:
            return [person.name for person in store.people()]
    except StoreError as exc:
        raise DemoError(f"cannot tell whether {settings.data} is the demo's data root: {exc}") from None


def _watch(settings: Settings, options: WatchOptions, out: TextIO) -> int:
    handle = WorkerHandle(worker_config(settings, options))
    handle.start()
    deadline = time.monotonic() + options.max_seconds if options.max_seconds else None
    failed = opened = False
    try:
        while deadline is None or time.monotonic() < deadline:
            for event in handle.poll(timeout=0.2):
                failed |= is_failure(event)
                opened |= event.kind == "camera-opened"
                print(json.dumps(ev.as_json(event)) if options.json else human_line(event), file=out, flush=True)
                if ends_run(event):
                    return 1 if failed else 0
    finally:
        handle.stop()
    return 1 if failed or not opened else 0  # time is up; a camera that never opened is a failure
