"""The screen never waits on the station: its slow calls run in worker threads while keys keep answering.

The station here is the real test station with its slow calls (start, stop, export) made to take
500 ms while holding the station's lock, as a slow database or disk would. Every key pressed meanwhile
is on screen well before the station answers, within 100 ms typically (the median of the keys); the
dialog says "working...", ignores a second OK, and closes with the result.
(These tests do not use test_tui's `settled` fixture: a pause here does not wait for the station.)
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time

import pytest
from test_tui import SIZE, table_rows, until
from test_tui import station as station  # noqa: F401 - the fixture, registered here under its name
from textual import events
from textual.widgets import Button

from faceattend_tui.tui.app import PANE_READS, StationApp

SLOW = 0.5  # seconds each slow station call takes
KEY_BUDGET = 0.1  # seconds from a key to its result on screen: the median of the keys measured
WORST = SLOW / 2  # any one key: well before the station answers (the tests share a loaded machine)


@pytest.fixture
def calls(station, monkeypatch):  # noqa: F811 - the fixture imported above
    """The station's slow calls take SLOW seconds, holding its lock; returns the names of the calls made."""
    made: list[str] = []

    def slowed(name: str, call):
        def slow(*args, **kwargs):
            made.append(name)
            with station.lock:  # as a slow write would: anyone who needs the lock waits meanwhile
                time.sleep(SLOW)
                return call(*args, **kwargs)
        return slow

    for name in ("start_session", "stop_session", "export"):
        monkeypatch.setattr(station, name, slowed(name, getattr(station, name)))
    return made


CHARS = {"enter": "\r", "tab": "\t", "escape": "\x1b", "slash": "/"}


async def answered(pilot, key: str, shown) -> float:
    """Seconds from a key's arrival until `shown()` says its result is on the screen (polled every 2 ms;
    Pilot.press would add its own waits for the process to be idle, which a loaded machine stretches)."""
    app = pilot.app
    event = events.Key(key, CHARS.get(key, key))
    event.set_sender(app)
    start = time.monotonic()
    app._driver.send_message(event)
    while not shown():
        if time.monotonic() - start > 5:
            raise AssertionError(f"the screen never showed the result of {key!r}")
        await asyncio.sleep(0.002)
    elapsed = time.monotonic() - start
    await pilot.pause()
    pilot.app.key_times = [*getattr(pilot.app, "key_times", []), elapsed]
    return elapsed


def working(app) -> bool:
    """The dialog says it is waiting for the station, its buttons off."""
    dialog = app.screen
    return (getattr(dialog, "working", False) and "working..." in str(dialog.query_one("#dialog-error").render())
            and all(b.disabled for b in dialog.query(Button)))


async def test_keys_answer_at_once_while_a_session_starts_stops_and_exports(station, calls, tmp_path):
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s", *"Physics")
        # The start is sent; the dialog says so at once, while the station takes its time.
        assert await answered(pilot, "enter", lambda: working(app)) < WORST
        assert station.active is None and calls == ["start_session"]
        before = app.focused
        assert await answered(pilot, "tab", lambda: app.focused is not before) < WORST
        assert station.active is None  # still with the station
        await until(pilot, lambda: type(app.screen).__name__ == "Screen")
        assert station.active.name == "Physics"
        # The dialog's result reaches the main screen on the next turn of the event loop.
        await until(pilot, lambda: "Physics" in str(app.query_one("#header").render()))

        await pilot.press("s")
        assert await answered(pilot, "y", lambda: working(app)) < WORST
        assert station.active is not None
        await until(pilot, lambda: type(app.screen).__name__ == "Screen")
        assert station.active is None
        await until(pilot, lambda: any("session 'Physics' stopped" in str(n.message) for n in app._notifications))

        await pilot.press("x")
        assert await answered(pilot, "enter", lambda: working(app)) < WORST
        assert calls[-1] == "export"
        field = app.screen.query_one("#from")
        assert await answered(pilot, "2", lambda: field.value == "2") < WORST  # typed, shown at once
        await until(pilot, lambda: type(app.screen).__name__ == "Screen")
        assert statistics.median(app.key_times) < KEY_BUDGET
    assert calls == ["start_session", "stop_session", "export"]
    assert len(list((tmp_path / "exports").glob("*.csv"))) == 1


async def test_the_main_screen_answers_while_the_station_holds_its_lock(station):
    """The event pump holds the lock while it writes a check-in: filtering and moving between panes
    (and the header's clock) go on meanwhile."""
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        held, release = threading.Event(), threading.Event()

        def slow_write() -> None:
            with station.lock:
                held.set()
                release.wait(5)

        writer = threading.Thread(target=slow_write)
        writer.start()
        try:
            held.wait(5)
            box = app.query_one("#roster-filter")
            assert await answered(pilot, "slash", lambda: box.display and box.has_focus) < WORST
            assert await answered(pilot, "r", lambda: box.value == "r") < WORST
            assert await answered(pilot, "a", lambda: box.value == "ra") < WORST
            assert [row[0] for row in table_rows(app, "#roster-table")] == ["Dev Rao"]
            table = app.query_one("#roster-table")
            assert await answered(pilot, "enter", lambda: table.has_focus) < WORST
            assert await answered(pilot, "tab", lambda: app.current_pane == "session") < WORST
            started = time.monotonic()
            app.tick()  # the header's one-second tick does not wait for the lock either
            app.refresh_panes()  # nor does a refresh of the panes (the roster changed elsewhere): it reads in a thread
            assert time.monotonic() - started < WORST
            assert await answered(pilot, "tab", lambda: app.current_pane == "live") < WORST
            assert statistics.median(app.key_times) < KEY_BUDGET
            assert any(w.group == PANE_READS and not w.is_finished for w in app.workers)  # still waiting
        finally:
            release.set()
            writer.join()
        await until(pilot, lambda: not any(w.group == PANE_READS and not w.is_finished for w in app.workers))
        assert [row[0] for row in table_rows(app, "#roster-table")] == ["Dev Rao"]  # drawn, the filter kept


async def test_a_session_started_elsewhere_shows_without_waiting_for_the_lock(station):
    """A session the timetable (or another thread) starts while the log is busy: the header's tick sees
    it at once and the counts follow when the lock is free."""
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        started, release = threading.Event(), threading.Event()

        def start_and_hold() -> None:
            with station.lock:
                station.start_session("Timetabled")
                started.set()
                release.wait(5)

        writer = threading.Thread(target=start_and_hold)
        writer.start()
        try:
            started.wait(5)
            began = time.monotonic()
            app.tick()
            assert time.monotonic() - began < WORST
            assert "Timetabled" in str(app.query_one("#header").render())
        finally:
            release.set()
            writer.join()
        await until(pilot, lambda: app.counts is not None)
        assert "absent" in str(app.query_one("#header").render())


async def test_a_double_enter_starts_one_session_and_escape_waits_for_the_answer(station, calls):
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s", *"Lab", "enter", "enter")
        await pilot.press("escape")  # the station has the request: the dialog waits for its answer
        assert type(app.screen).__name__ == "StartSessionScreen" and working(app)
        await until(pilot, lambda: type(app.screen).__name__ == "Screen")
        assert calls == ["start_session"] and len(station.sessions()) == 1 and station.active.name == "Lab"
        await pilot.press("s", "y", "y", "enter")
        await until(pilot, lambda: type(app.screen).__name__ == "Screen")
        assert calls == ["start_session", "stop_session"] and station.active is None
