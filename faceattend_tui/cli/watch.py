"""`faceattend watch`: the live worker without the user interface, events on standard output."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, TextIO

from faceattend_tui.attendance import LockedError, StoreError, acquire_lock, open_snapshot
from faceattend_tui.attendance.export import ExportError, local_iso, time_zone
from faceattend_tui.attendance.models import Person, plural, printable
from faceattend_tui.attendance.security import erased_nobodys
from faceattend_tui.attendance.tinystore import default_path
from faceattend_tui.cli.output import to_stderr
from faceattend_tui.config import Settings
from faceattend_tui.demo import DemoError, DemoSourceFactory, enroll_demo_roster
from faceattend_tui.gallery.templates import GalleryError, load_manifest
from faceattend_tui.live import events as ev
from faceattend_tui.live.camera import SourceError, parse_source
from faceattend_tui.live.worker import SourceFactory, WorkerConfig, WorkerHandle
from faceattend_tui.station.people import forget_erased


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


def human_line(event: ev.Event, name: Callable[[str], str] = str) -> str:
    """One line for a person to read; `name` gives the name a template folder is known by."""
    stamp = time.strftime("%H:%M:%S", time.localtime(getattr(event, "time", None) or time.time()))
    match event:
        case ev.Checkin():
            return (f"{stamp} check-in  {printable(name(event.folder))} (similarity {event.similarity:.2f}, "
                    f"track {event.track})")
        case ev.Unknown():
            return f"{stamp} unknown face (track {event.track})"
        case ev.Present():
            return f"{stamp} still here {printable(name(event.folder))} (track {event.track})"
        case ev.Spoof():
            return (f"{stamp} refused   {printable(name(event.folder))}: moved like a picture, no sign of life "
                    f"(track {event.track})")
        case ev.Waiting():
            return (f"{stamp} waiting   {printable(name(event.folder))}: recognised, no sign of life yet, asked to "
                    f"{event.asked} (track {event.track})")
        case ev.Stats():
            return (f"{stamp} {event.fps:5.1f} fps  detect {event.detect_ms:.1f} ms  "
                    f"embed {event.embed_ms:.1f} ms  {plural(event.faces, 'face')}")
        case ev.Ready():
            warm = f"; {event.warmup_s:.1f} s to prepare fixed input shapes" if event.static_shapes else ""
            return f"{stamp} worker ready on {event.device}: {plural(event.people, 'person', 'people')} enrolled{warm}"
        case ev.Status() | ev.Error():
            return f"{stamp} {event.kind or event.type}: {event.message}"
        case _:
            return f"{stamp} {event.type}"


# ----- the fields every JSON line carries (README, "Headless and scripting") ------------------

Who = tuple[str | None, str]  # (person id, or None where no log knows the folder; display name)


def stamped(record: dict[str, Any], when: datetime | float | None, zone: tzinfo | None,
            who: Who | None = None) -> dict[str, Any]:
    """`record` with person_id and display_name (None for a line about no person) and `at`: the moment
    (epoch seconds, a datetime, or None for now) as ISO 8601 with its UTC offset, on the zone's clock."""
    if when is None:
        when = time.time()
    if not isinstance(when, datetime):
        when = datetime.fromtimestamp(when).astimezone()
    person_id, name = who or (None, None)
    return {**record, "person_id": person_id, "display_name": name, "at": local_iso(when, zone)}


def output_zone(settings: Settings) -> tzinfo | None:
    """The `timezone` setting's zone; None (this machine's) when it is empty or not one."""
    try:
        return time_zone(settings.timezone)
    except ExportError:
        return None


@dataclass
class Naming:
    """Worker events as JSON lines, naming people as well as the output knows them."""

    who: Callable[[str], Who]  # template folder -> (person id, display name)
    zone: tzinfo | None = None

    def name(self, folder: str) -> str:
        return self.who(folder)[1]

    def line(self, event: ev.Event) -> dict[str, Any]:
        folder = ev.about_folder(event)
        return stamped(ev.as_json(event), getattr(event, "time", None), self.zone,
                       None if folder is None else self.who(folder))


def people_by_folder(settings: Settings, people: list[Person] | None = None) -> dict[str, Who]:
    """Template folder -> (person id, display name) from the data root's own log (`people`: read from it
    already); {} where it has none (or it cannot be read: the folder's name is then the best name known)."""
    if settings.database or not default_path(settings.data).is_file():
        return {}
    if people is None:
        try:
            with open_snapshot(settings.data) as store:
                people = store.people()
        except StoreError:
            return {}
    ordered = sorted(people, key=lambda p: p.active)  # the active owner of a folder wins
    return {p.folder: (p.id, p.name) for p in ordered if p.folder}


def drop_erased(settings: Settings, log: Callable[[str], None]) -> list[Person] | None:
    """Templates of someone erased (a backup put back, or a door of a shared log that was off as they were
    erased) are deleted before any face is matched, as the station does when it starts. Returns the people
    the log holds (None where it was not read), for naming the faces without reading it again."""
    if not settings.database and not default_path(settings.data).is_file():
        return None
    try:
        with open_snapshot(settings.data, database=settings.database) as store:
            people = store.people()
            put_back = erased_nobodys(store, people)
        manifest = load_manifest(settings.tensors_dir)
        folders = [f for f in (manifest.people if manifest else {}) if put_back(f)]
        said = forget_erased(settings, folders, leftovers=folders)  # kept photos: named, as the station does
    except (StoreError, GalleryError) as exc:
        log(f"warning: could not check the log for people erased: {exc}")
        return None
    for line in said:
        log(f"warning: {line}")
    return people


def log_naming(settings: Settings, people: list[Person] | None = None) -> tuple[Naming, Callable[[], None]]:
    """The naming of `watch` (no station: the log read now, or `people` read from it already) and what reads
    the log again."""
    known: dict[str, Who] = people_by_folder(settings, people)

    def reread() -> None:
        known.clear()
        known.update(people_by_folder(settings))

    return Naming(lambda folder: known.get(folder, (None, folder)), output_zone(settings)), reread


def worker_config(settings: Settings, options: WatchOptions) -> WorkerConfig:
    named: dict[str, SourceFactory] = {"demo": DemoSourceFactory(str(settings.data), loop=options.loop)}
    return WorkerConfig(settings=settings, source=options.source, preview=options.preview,
                        realtime=options.realtime, loop=options.loop, named_sources=named)


def watch(settings: Settings, options: WatchOptions, out: TextIO, log: Callable[[str], None]) -> int:
    """Print the worker's events until a file or folder ends, the worker fails or time is up; 1 on errors.

    A camera or stream that is down is retried with growing waits, also when it is down at start.
    """
    try:  # a typo is said at once, before the models load, as the station does
        parse_source(options.source)
    except SourceError as exc:
        log(f"error: {exc}")
        return 2
    try:  # a station on the same data would fight over the camera
        lock = acquire_lock(settings.data, what="watch")
    except LockedError as exc:
        log(f"error: {exc}")
        return 2
    with lock:
        if options.source == "demo" and not bring_demo_cast(settings, log):
            return 2
        return _watch(settings, options, out, drop_erased(settings, log))


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


def written(text: str, out: TextIO) -> bool:
    """Print a line; False, said once on stderr, when its reader has gone (`| head -1`): the run ends."""
    try:
        print(text, file=out, flush=True)
        return True
    except (OSError, ValueError) as exc:
        with contextlib.suppress(OSError, ValueError, AttributeError):  # nothing left to flush at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
        to_stderr(f"warning: the output could not be written ({getattr(exc, 'strerror', None) or exc}): its "
                  "reader went away; stopped")
        return False


def _watch(settings: Settings, options: WatchOptions, out: TextIO, people: list[Person] | None = None) -> int:
    handle = WorkerHandle(worker_config(settings, options))
    handle.start()
    naming, reread = log_naming(settings, people)
    deadline = time.monotonic() + options.max_seconds if options.max_seconds else None
    failed = opened = False
    try:
        while deadline is None or time.monotonic() < deadline:
            for event in handle.poll(timeout=0.2):
                failed |= is_failure(event)
                opened |= event.kind == "camera-opened"
                if isinstance(event, ev.GalleryLoaded):
                    reread()  # someone was enrolled: the log may name them now
                text = json.dumps(naming.line(event)) if options.json else human_line(event, naming.name)
                if not written(text, out):
                    return 1
                if ends_run(event):
                    return 1 if failed else 0
    finally:
        handle.stop()
    return 1 if failed or not opened else 0  # time is up; a camera that never opened is a failure
