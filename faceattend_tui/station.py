"""The attendance station without its screen: the log, the live worker and the roster together.

The TUI is one client of this class (the tests drive it directly too). Worker events are turned
into updates here; a check-in is written to the log before the update that shows it is returned.
Every method may be called from any thread: one lock keeps the log single-writer.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

from faceattend_tui.attendance import (
    Attendance,
    LockedError,
    Session,
    StoreError,
    Summary,
    acquire_lock,
    audit,
    check_pin,
    current_user,
    export_range,
    export_session,
    open_store,
    pin_required,
)
from faceattend_tui.config import Settings
from faceattend_tui.gallery import enroll
from faceattend_tui.gallery.templates import GalleryError, load_manifest
from faceattend_tui.live.worker import WorkerConfig, WorkerHandle


class StationError(Exception):
    """Something the user asked for that cannot be done, with a message to show."""


@dataclass
class Update:
    """One thing the screen should show."""

    kind: str  # checkin, seen, unknown, stats, status, error, capture, ready, roster
    data: dict = field(default_factory=dict)


@dataclass
class LiveState:
    camera: str = "starting"
    fps: float = 0.0
    device: str = "?"
    models: str = ""
    unknown_faces: int = 0
    preview: str = "off"
    busy: str = ""


class Station:
    def __init__(self, settings: Settings, source: str, *, preview: bool = True, user: str | None = None,
                 worker_factory: Callable[[WorkerConfig], object] | None = None, name: str | None = None,
                 clock: Callable[[], datetime] | None = None, loop: bool = False):
        self.settings = settings
        self.source = source
        self.preview = preview
        self.user = user or current_user()
        self.name = name or settings.data.resolve().name
        self.worker_factory = worker_factory or WorkerHandle
        self.lock = threading.RLock()
        self.live = LiveState()
        self.worker = None
        self.store = None
        self.attendance: Attendance | None = None
        self.station_lock = None
        self.pending_capture: dict | None = None
        self.clock = clock
        self.loop = loop
        self._enrolled: dict[str, int] = {}
        self._enrolled_stamp: object = "unread"

    # -- life cycle

    def open(self) -> None:
        """Take the data lock, open the log (refusing a damaged one) and start the worker."""
        self.settings.data.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            self.station_lock = acquire_lock(self.settings.data, self.user)
        except LockedError as exc:
            raise StationError(str(exc)) from None
        try:
            self.store = open_store(self.settings.data, clock=self.clock)
        except StoreError as exc:
            self.station_lock.release()
            raise StationError(str(exc)) from None
        self.attendance = Attendance(self.store, user=self.user, station=self.name)
        self.sync_roster()
        self.worker = self.worker_factory(self._worker_config())
        self.worker.start()

    def _worker_config(self) -> WorkerConfig:
        overrides = {k: v for k, v in asdict(self.settings).items() if k != "data"}
        session = self.attendance.active
        return WorkerConfig(data=str(self.settings.data), source=self.source, overrides=overrides,
                            preview=self.preview, session=session.name if session else "", loop=self.loop,
                            log_path=str(self.settings.data / "worker.log"))

    def close(self) -> None:
        with self.lock:
            if self.worker is not None:
                self.worker.stop()
                self.worker = None
            if self.store is not None:
                self.store.close()
                self.store = None
            if self.station_lock is not None:
                self.station_lock.release()
                self.station_lock = None

    def now(self) -> datetime:
        return self.store.now() if self.store else datetime.now().astimezone()

    # -- roster

    def enrolled(self) -> dict[str, int]:
        """Enrolled people, re-read only when the manifest changed."""
        manifest = self.settings.tensors_dir / "manifest.json"
        try:
            stat = manifest.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            stamp = None
        if stamp is None or stamp != self._enrolled_stamp:
            self._enrolled = enrolled_people(self.settings.tensors_dir)
            self._enrolled_stamp = stamp
        return self._enrolled

    def sync_roster(self) -> None:
        """Make the log's people match the enrolled templates (added or removed outside the station)."""
        with self.lock, self.store.batch():
            added = self.store.sync_people(self.enrolled())
            if added:
                audit(self.store, "people.sync", {"added": len(added), "first": added[:20]}, self.user)

    def roster(self) -> list[dict]:
        """Everyone enrolled with their state in the running session."""
        with self.lock:
            enrolled = self.enrolled()
            return [self.roster_row(name, enrolled) for name in sorted(enrolled, key=str.casefold)]

    def roster_row(self, name: str, enrolled: dict[str, int] | None = None) -> dict:
        with self.lock:
            enrolled = self.enrolled() if enrolled is None else enrolled
            session = self.attendance.active
            checkin = self.store.get_checkin(session.id, name) if session else None
            status = checkin.status if checkin else ("absent" if session else "-")
            return {"name": name, "status": status, "images": enrolled.get(name, 0),
                    "time": checkin.time if checkin else None,
                    "last_seen": checkin.last_seen if checkin else None,
                    "source": checkin.source if checkin else "", "reason": checkin.reason if checkin else ""}

    def counts(self):
        """Present / late / absent of the running session, absent counting the whole roster."""
        with self.lock:
            session = self.attendance.active
            if session is None:
                return None
            counts = self.store.counts(session.id)
            counts.absent = len(self.enrolled()) - counts.present - counts.late
            return counts

    # -- sessions

    @property
    def active(self) -> Session | None:
        return self.attendance.active if self.attendance else None

    def start_session(self, name: str, late_after: float | None = None, pin: str | None = None) -> Session:
        name = name.strip()
        if not name:
            raise StationError("a session needs a name")
        with self.lock:
            self._check_pin(pin)
            try:
                session = self.attendance.start_session(name, late_after, user=self.user)
            except (ValueError, RuntimeError) as exc:
                raise StationError(str(exc)) from None
        self.worker.send("session", name=session.name)
        return session

    def stop_session(self, pin: str | None = None) -> Session:
        with self.lock:
            self._check_pin(pin)
            try:
                session = self.attendance.stop_session(user=self.user)
            except RuntimeError as exc:
                raise StationError(str(exc)) from None
        self.worker.send("session", name="")
        return session

    def sessions(self) -> list[Session]:
        with self.lock:
            return self.attendance.sessions()

    def summary(self, session_id: int | None = None) -> Summary | None:
        with self.lock:
            if session_id is None and self.attendance.active is None:
                return None
            return self.attendance.summary(session_id, roster=list(self.enrolled()))

    def mark(self, person: str, status: str, reason: str, pin: str | None = None) -> None:
        with self.lock:
            self._check_pin(pin)
            try:
                self.attendance.mark(person, status, reason, user=self.user)
            except (ValueError, RuntimeError, LookupError) as exc:
                raise StationError(str(exc)) from None

    # -- export

    def export(self, fmt: str, path: Path | None = None, session_id: int | None = None,
               date_from: date | None = None, date_to: date | None = None, pin: str | None = None) -> Path:
        with self.lock:
            self._check_pin(pin)
            return export_attendance(self.store, self.settings, fmt, path, session_id, date_from, date_to,
                                     self.user)

    # -- enrollment

    def capture(self, seconds: float = 3.0, count: int = 5) -> str:
        request = f"capture-{time.monotonic_ns()}"
        self.pending_capture = {"request": request}
        self.worker.send("capture", request=request, seconds=seconds, count=count)
        return request

    def save_enrollment(self, name: str, samples: list[dict], pin: str | None = None) -> int:
        """Store captured samples for a new or existing person; recognised at once."""
        import numpy as np

        if not samples:
            raise StationError("no samples to save; capture again")
        with self.lock:
            self._check_pin(pin)
            recognizer = self._recognizer_info()
            try:
                count = enroll.add_samples(self.settings.data, name, [s["photo_jpeg"] for s in samples],
                                           np.array([s["embedding"] for s in samples], np.float32), recognizer)
            except GalleryError as exc:
                raise StationError(str(exc)) from None
            self.sync_roster()
        self.worker.send("reload")
        return count

    def _recognizer_info(self) -> dict:
        from faceattend_tui.vision.models import model_sha256, resolve_model

        path = resolve_model(self.settings.recognizer, self.settings.data, log=lambda _: None)
        return {"name": self.settings.recognizer, "sha256": model_sha256(self.settings.recognizer, path), "dim": 512}

    def delete_person(self, name: str, erase_checkins: bool = False, pin: str | None = None) -> None:
        with self.lock:
            self._check_pin(pin)
            try:
                enroll.remove_person(self.settings.data, name)
            except GalleryError as exc:
                raise StationError(str(exc)) from None
            if self.store.get_person(name) is not None:
                self.attendance.remove_person(name, user=self.user)
            if erase_checkins:
                self.store.erase_checkins(name)
        self.worker.send("reload")

    # -- worker

    def toggle_preview(self) -> None:
        self.preview = not self.preview
        self.worker.send("preview", on=self.preview)

    def poll(self, timeout: float = 0.1) -> list[Update]:
        """Worker events turned into updates; check-ins are on disk before they are returned."""
        return [u for event in self.worker.poll(timeout) if (u := self._handle(event)) is not None]

    def _handle(self, event: dict) -> Update | None:
        kind = event.get("type")
        if kind == "checkin":
            return self._checkin(event)
        if kind == "unknown":
            self.live.unknown_faces += 1
            return Update("unknown", {"count": self.live.unknown_faces, "time": event.get("time")})
        if kind == "stats":
            self.live.fps = float(event.get("fps", 0.0))
            return Update("stats", event)
        if kind == "ready":
            self.live.device = str(event.get("device", "?"))
            self.live.models = f"{event.get('detector')} + {event.get('recognizer')}"
            return Update("ready", event)
        if kind == "capture":
            return self._capture_done(event)
        if kind == "status":
            self._status(event)
            return Update("status", event)
        if kind == "error":
            return Update("error", event)
        return None

    def _checkin(self, event: dict) -> Update:
        name, when = event["name"], datetime.fromtimestamp(event["time"]).astimezone()
        with self.lock:
            if self.attendance.active is None:
                return Update("seen", {"name": name, "similarity": event["similarity"], "time": when})
            result = self.attendance.check_in(name, event.get("similarity"), event.get("track"), when)
        checkin = result.checkin
        return Update("checkin", {"name": name, "similarity": event["similarity"], "time": when,
                                  "late": checkin.late, "new": result.new, "face_jpeg": event.get("face_jpeg"),
                                  "sent": event.get("sent", event["time"])})

    def _capture_done(self, event: dict) -> Update | None:
        if not self.pending_capture or event.get("request") != self.pending_capture["request"]:
            return None
        self.pending_capture = None
        return Update("capture", event)

    def _status(self, event: dict) -> None:
        kind, message = event.get("kind", ""), event.get("message", "")
        if kind.startswith("camera-"):
            self.live.camera = {"camera-opened": "live", "camera-ended": "ended", "camera-lost": "lost",
                                "camera-reconnecting": "reconnecting", "camera-error": "error"}.get(kind, kind[7:])
        elif kind == "source-finished":
            self.live.camera = "stopped"
        elif kind.startswith("preview-"):
            self.live.preview = kind[8:]
        elif kind == "busy":
            self.live.busy = message

    def _check_pin(self, pin: str | None) -> None:
        if pin_required(self.store) and not check_pin(self.store, pin or ""):
            raise StationError("wrong or missing staff PIN")

    @property
    def needs_pin(self) -> bool:
        with self.lock:
            return pin_required(self.store)


def enrolled_people(tensors_dir: Path) -> dict[str, int]:
    """Name -> number of templates, from database_tensor/ (what the worker recognises)."""
    try:
        manifest = load_manifest(tensors_dir)
    except GalleryError:
        return {}
    if manifest is None:
        return {}
    return {name: len(entry.get("samples", [])) for name, entry in manifest.people.items()}


def export_attendance(store, settings: Settings, fmt: str, path: Path | None = None, session_id: int | None = None,
                      date_from: date | None = None, date_to: date | None = None, user: str | None = None) -> Path:
    """One session (default: the running or latest one) or a date range, with every roster person."""
    if fmt not in ("csv", "json"):
        raise StationError("export format must be csv or json")
    roster = list(enrolled_people(settings.tensors_dir))
    folder = settings.data / "exports"
    if date_from is not None:
        date_to = date_to or date_from
        path = path or folder / f"{date_from}_{date_to}.{fmt}"
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return export_range(store, date_from, date_to, path, fmt=fmt, roster=roster, user=user)
    if session_id is not None:
        session = store.get_session(session_id)
    else:
        sessions = store.sessions()
        session = sessions[-1] if sessions else None
    if session is None:
        raise StationError(f"no session with id {session_id}" if session_id is not None else "no session yet")
    path = path or folder / f"{session.started_at:%Y-%m-%d}_{session.id}_{slug(session.name)}.{fmt}"
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return export_session(store, session.id, path, fmt=fmt, roster=roster, user=user)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "session"
