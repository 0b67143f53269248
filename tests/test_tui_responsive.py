"""The screen never waits on the station: its slow calls run in worker threads while keys keep answering.

The station here is the real test station with its slow calls (start, stop, export) made to take
a second while holding the station's lock, as a slow database or disk would. Every key pressed meanwhile
is read well before the station answers, within 100 ms typically (the median of the keys): on screen, or,
typed while a dialog waits for the station, held for the screen that follows its answer; the dialog says
"working...", ignores a second OK, and closes with the result. Nor does a dialog wait to
open while the station's lock is held: it says "reading..." and fills in once the lock is free.
(These tests do not use test_tui's `settled` fixture: a pause here does not wait for the station.)
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial

import pytest
from test_tui import SIZE, screen_text, table_rows, until
from test_tui import station as station  # noqa: F401 - the fixture, registered here under its name
from textual import events
from textual.widgets import Button

from faceattend_tui.tui.app import PANE_READS, StationApp

SLOW = 1.0  # seconds each slow station call takes
KEY_BUDGET = 0.1  # seconds from a key to its result on screen: the median of the keys measured
WORST = SLOW * 3 / 4  # any one key: before the station answers (the tests share a loaded machine: a screen
# composed the first time took 0.26 s there, and 0.54 s with other work on both cores)


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


@pytest.fixture(autouse=True)
def earlier_objects_frozen():
    """Opening a dialog makes many objects: a full collection may follow, and it walks every object the
    tests before left (0.2 s after test_tui.py on two busy cores). Those are frozen for every test of
    this file: measured is the screen, not them."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


CHARS = {"enter": "\r", "tab": "\t", "escape": "\x1b", "slash": "/", "space": " "}


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
        assert await answered(pilot, "tab", lambda: bool(app.held_keys)) < WORST  # for the main screen
        assert station.active is None  # still with the station
        await until(pilot, lambda: type(app.screen).__name__ == "Screen")
        assert station.active.name == "Physics"
        await until(pilot, lambda: app.focused is not None and app.focused.id == "roster-table")  # the Tab
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
        assert await answered(pilot, "2", lambda: bool(app.held_keys)) < WORST  # not typed into the sent dialog
        assert field.value == ""
        await until(pilot, lambda: type(app.screen).__name__ == "Screen")
        assert statistics.median(app.key_times) < KEY_BUDGET
    assert calls == ["start_session", "stop_session", "export"]
    assert len(list((tmp_path / "exports").glob("*.csv"))) == 1


@contextlib.contextmanager
def lock_held(station, first: Callable[[], object] | None = None) -> Iterator[None]:
    """Another thread holds the station's lock (as a check-in being written, or an import) until the
    block ends; with `first`, it calls that under the lock before the block begins."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with station.lock:
            if first is not None:
                first()
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        held.wait(5)
        yield
    finally:
        release.set()
        holder.join()


async def test_the_main_screen_answers_while_the_station_holds_its_lock(station):
    """The event pump holds the lock while it writes a check-in: filtering and moving between panes
    (and the header's clock) go on meanwhile."""
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        with lock_held(station):
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
        await until(pilot, lambda: not any(w.group == PANE_READS and not w.is_finished for w in app.workers))
        assert [row[0] for row in table_rows(app, "#roster-table")] == ["Dev Rao"]  # drawn, the filter kept


async def test_a_session_started_elsewhere_shows_without_waiting_for_the_lock(station):
    """A session the timetable (or another thread) starts while the log is busy: the header's tick sees
    it at once and the counts follow when the lock is free."""
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        with lock_held(station, first=lambda: station.start_session("Timetabled")):
            began = time.monotonic()
            app.tick()
            assert time.monotonic() - began < WORST
            assert "Timetabled" in str(app.query_one("#header").render())
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


def error_line(app) -> str:
    """The top screen's error line ("reading...", "working..." or what went wrong); empty until composed."""
    return "".join(str(line.render()) for line in app.screen.query("#dialog-error"))


def reading_in(app, dialog: str) -> bool:
    """The dialog is on top and says it is reading."""
    return type(app.screen).__name__ == dialog and "reading..." in error_line(app)


DIALOGS = [("x", "ExportScreen", "#from"), ("r", "ReportScreen", None), ("t", "TimetableScreen", None),
           ("l", "AuditScreen", "#audit-person"), ("s", "StartSessionScreen", "#name")]


async def test_dialogs_open_at_once_while_the_station_holds_its_lock_and_fill_in_after(station):
    """A roster import holds the lock for minutes: each dialog still opens at once, says it is reading
    and takes the keys typed next; once the lock is free it fills in."""
    station.start_session("Physics")
    station.stop_session()
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.query_one("#roster-table").row_count == 4)
        with lock_held(station):  # as a long roster import would
            for key, dialog, field in DIALOGS:
                assert await answered(pilot, key, partial(reading_in, app, dialog)) < WORST, dialog
                if field is not None:  # a character typed next lands in the dialog's first field
                    typed = partial(lambda box: box.value == "7", app.screen.query_one(field))
                    assert await answered(pilot, "7", typed) < WORST, dialog
                assert await answered(pilot, "escape", lambda: type(app.screen).__name__ == "Screen") < WORST
            assert await answered(pilot, "h", partial(reading_in, app, "PastSessionsScreen")) < WORST
            history = app.screen
            assert history.query_one("#sessions").row_count == 0
            assert all(b.disabled for b in history.query("Button") if b.id != "cancel")
            await pilot.press("enter")  # it needs the sessions: it waits for them, the dialog stays open
            assert app.screen is history and "reading..." in error_line(app)
        # filled in: the Enter typed meanwhile shows the session listed first
        await until(pilot, lambda: type(app.screen).__name__ == "Screen" and app.viewing_session == 1)


def unreadable() -> None:
    raise OSError("attendance.json: Input/output error")


async def test_a_failed_read_is_said_in_the_dialog_and_nothing_is_done_on_what_was_not_read(station, monkeypatch):
    """The dialog stays open to say why and closes on escape. A timetable that was not read cannot be
    changed: a change saves the whole timetable, and made on an unread one it would drop every slot."""
    monkeypatch.setattr(station, "sessions", unreadable)
    monkeypatch.setattr(station, "timetable", unreadable)
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        for key, what in (("h", "the sessions: attendance.json"), ("t", "the timetable: attendance.json")):
            await pilot.press(key)
            await until(pilot, lambda what=what: f"could not read {what}" in error_line(app))
            await pilot.press("a")  # the timetable's "add slot"
            await pilot.pause()
            assert type(app.screen).__name__ in ("PastSessionsScreen", "TimetableScreen")  # no slot dialog over it
            assert all(b.disabled for b in app.screen.query(Button) if b.id != "cancel")
            await pilot.press("escape")
            await until(pilot, lambda: type(app.screen).__name__ == "Screen")


async def test_a_pin_set_while_the_station_runs_shows_in_the_next_dialog(station):
    """The dialog opens with the PIN fields as last known, then as the store has them now."""
    from test_tui import with_pin

    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        with_pin(station)  # as `faceattend pin` does from another terminal
        await pilot.press("s", *"Lab")
        await until(pilot, lambda: app.screen.query_one("#pin").display)
        assert app.screen.query_one("#name").value == "Lab" and app.screen.query_one("#name").has_focus
        await pilot.press("tab", "tab", "tab", *"246813", "enter")
        await until(pilot, lambda: station.active is not None)
        assert station.active.name == "Lab"


async def test_enter_on_a_person_opens_at_once_and_fills_in_when_the_lock_is_free(station):
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.query_one("#roster-table").row_count == 4)
        await pilot.press("tab")  # the roster
        app.query_one("#roster-table").select("S2")
        with lock_held(station):
            assert await answered(pilot, "enter", partial(reading_in, app, "DetailScreen")) < WORST
            assert "Bob Marr" in screen_text(app)  # the name the roster shows, at once
        await until(pilot, lambda: "groups: 3A" in screen_text(app))
        assert "reading..." not in error_line(app)


async def test_typing_a_name_to_enroll_does_not_wait_for_the_lock(station):
    """Whom a typed name means is read from the roster in a thread, the latest keystroke's answer shown."""
    station.worker.ready()
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        await until(pilot, lambda: type(app.screen).__name__ == "EnrollScreen")
        name = app.screen.query_one("#name")
        with lock_held(station):
            started = time.monotonic()
            for typed in ("B", "Bo", "Bob", "Bob ", "Bob M", "Bob Ma", "Bob Mar", "Bob Marr"):
                assert await answered(pilot, typed[-1] if typed[-1] != " " else "space",
                                      lambda typed=typed: name.value == typed) < WORST
            assert time.monotonic() - started < 8 * WORST  # each key's handler too, not just its echo
        await until(pilot, lambda: "adds samples to Bob Marr (S2)" in screen_text(app))


def test_a_camera_that_stopped_shows_no_speed_left_over_from_when_it_ran():
    from faceattend_tui.station import LiveState
    from faceattend_tui.tui.widgets import camera_line

    assert "10.0 fps" in camera_line("door", LiveState(camera="live", fps=10.0))
    assert "fps" not in camera_line("door", LiveState(camera="stopped", fps=10.0))
    resting = camera_line("door", LiveState(camera="live", fps=10.0, resting=True))  # nobody in view: 10 a second
    assert "nobody in view" in resting and "fps" not in resting
    blank = camera_line("door", LiveState(camera="live", fps=10.0, resting=True, blank=True))
    assert "blank picture (lens covered? no signal?)" in blank


def test_a_wide_session_list_gives_its_room_to_the_notes_once_names_have_enough():
    from faceattend_tui.tui.fasttable import FastTable

    class Sized(FastTable):
        width_now = 116  # a 120-column terminal's pane

        @property
        def room(self) -> int:
            return self.width_now

    table = Sized([("Name", 18), ("Status", 7), ("Time", 8), ("Note", 16)], flex_cap=36)
    assert table._widths() == [36, 7, 8, 61]
    table.width_now = 60
    assert table._widths() == [25, 7, 8, 16]  # narrow: the name takes what there is


@pytest.mark.parametrize("name", ["Ann Lee", "王小明王小明王小明王小明", "😀😃😄😁😆 Joy", "Fara\u0301h Ha\u0308ddad"])
def test_a_column_keeps_its_width_on_screen_whatever_the_script(name):
    """Status lines up under its heading for Chinese names (two columns a character), emoji and accents
    typed apart (none), not only for Latin letters."""
    from rich.cells import cell_len
    from rich.style import Style

    from faceattend_tui.tui.fasttable import FastTable

    table = FastTable([("Name", 12), ("Status", 7)])
    cells = table.segments((name, "present"), [12, 7], Style())
    assert [cell_len(segment.text) for segment in cells] == [13, 8]


def test_the_roster_filter_finds_a_name_typed_in_the_other_order():
    from faceattend_tui.tui.fasttable import FastTable

    table = FastTable([("Name", 12), ("Status", 7)])
    table.rows = {"S3": ("Marr, Bob", "absent"), "S4": ("Bob Stone", "absent"), "S5": ("Céline Gérard", "absent")}
    table.order = list(table.rows)
    for typed, shown in (("bob marr", ["S3"]), ("bob", ["S3", "S4"]), ("celine", ["S5"]), ("s4", ["S4"])):
        table.apply_filter(typed)
        assert table.shown == shown, typed


def test_a_long_session_name_leaves_the_counts_in_an_80_column_header():
    import re
    from datetime import datetime, timezone

    from faceattend_tui.attendance.models import Counts, Session
    from faceattend_tui.tui.widgets import session_line

    started = datetime(2026, 9, 7, 8, 0, tzinfo=timezone.utc)
    session = Session(1, "Advanced Organic Chemistry laboratory practical group B week", started)
    line = re.sub(r"\[[^\]]*\]", "", session_line(session, started, Counts(2, 0, 3)))  # the text, styles aside
    assert line.startswith("Advanced Organic Chemistry…") and "present 2 late 0 absent 3" in line[:80]


def test_the_highlighted_row_keeps_its_own_colours_so_a_status_stays_readable():
    """With NO_COLOR a red "absent" became grey on the cursor's grey: the cursor's row is drawn in its own style."""
    from rich.style import Style

    from faceattend_tui.tui.fasttable import FastTable

    table = FastTable([("Name", 12), ("Status", 7)])
    cursor = Style(color="black", bgcolor="grey50")
    cells = table.segments(("Ann Lee", ("absent", "red")), [12, 7], cursor, plain=True)
    assert [segment.style for segment in cells] == [cursor, cursor]
