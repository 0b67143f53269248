"""The station object: its state, and its parts put together."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

from faceattend_tui.attendance import (
    current_user,
)
from faceattend_tui.config import Settings
from faceattend_tui.live.worker import WorkerConfig, WorkerHandle
from faceattend_tui.station.actions import Actions
from faceattend_tui.station.clockwatch import ClockWatch, steady_clock
from faceattend_tui.station.hours import Hours
from faceattend_tui.station.leftovers import Leftovers
from faceattend_tui.station.lifecycle import Lifecycle
from faceattend_tui.station.readouts import Readouts
from faceattend_tui.station.sync import SharedSync
from faceattend_tui.station.timekeeping import Timekeeping
from faceattend_tui.station.translator import Translator
from faceattend_tui.station.updates import (
    LiveState,
    Worker,
)


class Station(Lifecycle, Actions, Readouts, Hours, Translator, Timekeeping, SharedSync, Leftovers):
    """The attendance station without its screen: the log, the live worker and the roster together."""

    def __init__(self, settings: Settings, source: str, *, preview: bool = True, user: str | None = None,
                 worker_factory: Callable[[WorkerConfig], Worker] | None = None, name: str | None = None,
                 clock: Callable[[], datetime] | None = None, loop: bool = False,
                 steady: Callable[[], float] | None = None) -> None:
        self.settings = settings
        self.source = source
        self.preview = preview
        self.preview_asked_at = float("-inf")
        self.user = user or current_user()
        self.name = name or settings.data.resolve().name
        self.worker_factory = worker_factory or WorkerHandle
        self.lock = threading.RLock()
        self.live = LiveState()
        self.worker = None
        self.store = None
        self.attendance = None
        self.presence = None
        self.station_lock = None
        self.pending_capture = None
        self.recognizer = None
        self.tightened = 0
        self.missing = []
        self.found_at_open = None
        self.cut_off = {}
        self.removal_leftovers = []
        self.clock = clock
        # a clock given by the caller moves as it is told: watched for jumps only with a steady clock given too
        self.steady = steady or (steady_clock if clock is None else None)
        self.clock_watch = ClockWatch()
        self.loop = loop
        self.on_event = None
        self._unsaved = []
        self._kept_for = None
        self._outsiders_said = set()
        self.photo_watches = set()
        self.follow_timetable = True
        self._timetable_next = 0.0
        self._left_next = 0.0
        self._timetable_problem = ""  # the last one said, not said again every few seconds
        self._held_said = ""  # the last slot said held back by a session started by hand
        self._alike_said: set[frozenset[str]] = set()  # folders of look-alike pairs the last roster import said
        self._sheets_next = 0.0
        self._gallery_notes = []
        self.gallery_progress = None

