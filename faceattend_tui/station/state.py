"""What every part of the station shares: its attributes, declared once (set by `core.Station`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from faceattend_tui.attendance import Attendance, Person, Store
    from faceattend_tui.attendance.hours import PresenceBook
    from faceattend_tui.attendance.security import HeldLock
    from faceattend_tui.config import Settings
    from faceattend_tui.live import events as ev
    from faceattend_tui.live.worker import WorkerConfig
    from faceattend_tui.station.clockwatch import ClockWatch
    from faceattend_tui.station.people import PhotoWatch
    from faceattend_tui.station.updates import LiveState, Worker
    from faceattend_tui.vision.identity import RecognizerId


class StationState:
    """The station's attributes; annotations only, so the parts (mixins) know what they may use."""

    settings: Settings
    source: str
    preview: bool
    preview_asked_at: float  # when a key last asked the worker to open or close the door window
    user: str
    name: str
    worker_factory: Callable[[WorkerConfig], Worker]
    clock: Callable[[], datetime] | None
    steady: Callable[[], float] | None  # a clock that never jumps, to see the wall clock jump; None: not watched
    clock_watch: ClockWatch
    loop: bool
    lock: threading.RLock
    live: LiveState
    worker: Worker | None
    store: Store | None
    attendance: Attendance | None
    presence: PresenceBook | None  # work mode: each day's first and last sightings
    station_lock: HeldLock | None
    pending_capture: str | None
    recognizer: RecognizerId | None  # from the worker's ready event
    tightened: int  # files and folders whose permissions were narrowed at open
    missing: list[Person]  # active people with neither templates nor photos
    found_at_open: datetime | None  # the log's latest record when this run opened it
    cut_off: dict[str, object]  # the lock record of a station before this one that ended without closing
    removal_leftovers: list[str]  # after an erasure: files that still name the person
    on_event: Callable[[ev.Event], None] | None  # sees every worker event first (headless output)
    follow_timetable: bool  # open and close sessions by the timetable (not while a session is given)
    _unsaved: list[ev.Checkin | ev.Present]  # check-ins the log could not take yet, retried in order
    _kept_for: tuple[int, str] | None  # the session (id, name) running when the first of them was kept
    _outsiders_said: set[tuple[int, str]]  # (session id, person id): "not on list" said of one seated in view
    photo_watches: set[PhotoWatch]  # the imports whose photos are being read now
    _timetable_next: float
    _left_next: float  # when to look again for a session left running since an earlier day
    _timetable_problem: str
    _held_said: str
    _alike_said: set[frozenset[str]]
    _sheets_next: float
    _gallery_notes: list[str]
    gallery_progress: Callable[[int, int], object] | None  # told as the start fetches other doors' templates
