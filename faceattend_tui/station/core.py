"""The station object: its state, and its parts put together."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from faceattend_tui.attendance import (
    Attendance,
    Person,
    current_user,
)
from faceattend_tui.attendance.hours import PresenceBook
from faceattend_tui.config import Settings
from faceattend_tui.live import events as ev
from faceattend_tui.live.worker import WorkerConfig, WorkerHandle
from faceattend_tui.station.actions import Actions
from faceattend_tui.station.lifecycle import Lifecycle
from faceattend_tui.station.sync import SharedSync
from faceattend_tui.station.translator import Translator
from faceattend_tui.station.updates import (
    LiveState,
)
from faceattend_tui.vision.identity import RecognizerId


class Station(Lifecycle, Actions, Translator, SharedSync):
    """The attendance station without its screen: the log, the live worker and the roster together."""

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
        self.presence: PresenceBook | None = None  # work mode: each day's first and last sightings
        self.station_lock = None
        self.pending_capture: str | None = None
        self.recognizer: RecognizerId | None = None  # from the worker's ready event
        self.tightened = 0  # files and folders whose permissions were narrowed at open
        self.missing: list[Person] = []  # active people with neither templates nor photos
        self.removal_leftovers: list[str] = []  # after an erasure: files that still name the person
        self.clock = clock
        self.loop = loop
        self.on_event: Callable[[ev.Event], None] | None = None  # sees every worker event first (headless output)
        self._unsaved: list[ev.Checkin] = []  # check-ins the log could not take yet, retried in order
        self.follow_timetable = True  # open and close sessions by the timetable (not while a session is given)
        self._timetable_next = 0.0
        self._sheets_next = 0.0  # pending sheets for export_dir are looked at from the first poll
        self._gallery_notes: list[str] = []

