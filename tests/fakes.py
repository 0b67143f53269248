"""A stand-in for the worker process: events are fed by the test, commands are recorded."""

from __future__ import annotations

import queue
import threading
import time
from datetime import datetime, timedelta, timezone

import numpy as np

from faceattend_tui.gallery.templates import Entry, Manifest, save_manifest, save_person
from faceattend_tui.live import events as ev
from faceattend_tui.vision.identity import RecognizerId
from faceattend_tui.vision.models import ASSETS

FAKE_SHA = ASSETS["w600k_mbf"].sha256  # templates "made by" the default recogniser, as the station expects


class FakeWorker:
    def __init__(self, config=None):
        self.config = config
        self.events: queue.Queue = queue.Queue()
        self.sent: list[dict] = []
        self.started = self.stopped = False
        self.drained = threading.Event()  # asked again with nothing left: what it handed out was dealt with
        self._feeding = threading.Lock()

    def start(self) -> None:
        self.started = True

    def stop(self) -> list[ev.Event]:
        """As the real one: the events sent and not read yet are handed back."""
        self.stopped = True
        left = []
        while not self.events.empty():
            left.append(self.events.get_nowait())
        return left

    def send(self, command: ev.Command) -> None:
        assert isinstance(command, ev.Command), command
        self.sent.append(command)

    def poll(self, timeout: float = 0.1) -> list[ev.Event]:
        with self._feeding:
            if self.events.empty():
                self.drained.set()
        try:
            first = self.events.get(timeout=timeout)
        except queue.Empty:
            return []
        out = [first]
        while not self.events.empty():
            out.append(self.events.get_nowait())
        return out

    def feed(self, event: ev.Event) -> None:
        with self._feeding:
            self.drained.clear()
            self.events.put(event)

    def checkin(self, name: str, similarity: float = 0.7, track: int = 1, when: float | None = None) -> None:
        self.feed(ev.Checkin(name=name, similarity=similarity, track=track, time=when or time.time()))

    def camera_opens(self, source: str = "0") -> None:
        """What the real worker says of a camera that opens and gives pictures."""
        self.feed(ev.CameraStatus(state="opened", message="camera opened", source=source))
        self.feed(ev.Stats(fps=15.0, detect_ms=5.0, track_ms=0.1, embed_ms=0.0, faces=0, tracks=0, frames=15))

    def ready(self, sha256: str = FAKE_SHA, dim: int = 512) -> None:
        """What the real worker says once its models are loaded."""
        self.feed(ev.Ready(device="cpu", detector="scrfd_500m_bnkps", recognizer="w600k_mbf",
                           recognizer_sha256=sha256, embedding_dim=dim, people=0, pid=0))


def enroll_fake_people(data, names: list[str], dim: int = 512) -> None:
    """database_tensor/ with one random template per person, as extraction would leave it."""
    rng = np.random.default_rng(0)
    tensors = data / "database_tensor"
    manifest = Manifest(recognizer=RecognizerId("w600k_mbf", FAKE_SHA, dim))
    for name in names:
        row = rng.standard_normal((1, dim)).astype(np.float32)
        row /= np.linalg.norm(row)
        digest = save_person(tensors, name, row)
        manifest.people[name] = Entry([{"image": f"{name}.jpg", "sha256": "x"}], digest)
    save_manifest(tensors, manifest)


def now_with_minutes_to_spare(minutes: int = 5) -> float:
    """The time now, or a few minutes earlier when the next `minutes` cross local midnight: sightings made
    from it fall on one working day, whenever the tests run."""
    now = datetime.now()
    if (now + timedelta(minutes=minutes)).date() != now.date():
        now -= timedelta(minutes=minutes)
    return now.timestamp()


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = datetime(2024, 9, 2, 8, 0, tzinfo=timezone(timedelta(hours=2)))):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def a_lesson_of_3a(data, people: dict[str, str], came: tuple[str, ...] = ()) -> None:
    """A log with `people` (id -> name) in group 3A and one ended Maths lesson of 3A that `came` came to."""
    from faceattend_tui.attendance import Attendance, open_store

    with open_store(data) as store:
        attendance = Attendance(store)
        for person_id, name in people.items():
            attendance.add_person(name, person_id=person_id, groups=["3A"])
        attendance.start_session("Maths", group="3A")
        for person_id in came:
            attendance.check_in(person_id)
        attendance.stop_session()


def people_one_left(data, people: dict[str, str], left: str) -> None:
    """A log with `people` (id -> name, no group) of whom `left` has left."""
    from faceattend_tui.attendance import Attendance, open_store

    with open_store(data) as store:
        attendance = Attendance(store)
        for person_id, name in people.items():
            attendance.add_person(name, person_id=person_id)
        attendance.remove_person(left)


def chatty_worker(config, commands, events) -> None:
    """A worker process that sends 300 events of 1 KB nobody reads yet, then ends when told to."""
    from faceattend_tui.live import events as ev

    for n in range(300):
        events.put(ev.Error(message=f"{n:04d}" + "x" * 1000))
    while not isinstance(commands.get(), ev.Shutdown):
        pass
