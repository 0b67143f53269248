"""The station's terminal UI, driven with keys through Textual's Pilot and a fake worker."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import dataclasses
from datetime import datetime, timedelta, timezone

import cv2
import numpy as np
import pytest
from fakes import FakeClock, FakeWorker, enroll_fake_people
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input

from faceattend_tui.attendance import Attendance, open_store
from faceattend_tui.config import load_settings
from faceattend_tui.live import events as ev
from faceattend_tui.station import Problem, RosterChanged, Station
from faceattend_tui.tui import messages as msg
from faceattend_tui.tui.app import PANE_READS, StationApp
from faceattend_tui.tui.screens import DIALOG_READS, STATION_CALLS, MarkScreen
from faceattend_tui.tui.widgets import LivePane

SIZE = (150, 36)
T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=timezone.utc)


class StepClock:
    """A fixed clock that the test moves by hand, so screens are reproducible."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def station(tmp_path):
    names = ["Ann Lee", "Bob Marr", "Cleo Diaz", "Dev Rao"]
    enroll_fake_people(tmp_path, names)
    with open_store(tmp_path, clock=StepClock()) as store:  # fixed ids, so screens are reproducible
        att = Attendance(store)
        for number, name in enumerate(names, start=1):
            att.add_person(name, person_id=f"S{number}", folder=name, groups=["3A" if number < 4 else "3B"])
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door-1",
                   clock=StepClock())
    made.open()
    made.live.device, made.live.models, made.live.camera = "cpu", "scrfd_500m_bnkps + w600k_mbf", "live"
    yield made
    made.close()


async def answered_calls(pilot: Pilot, groups: tuple[str, ...]) -> bool:
    """Wait for the app's workers of those groups to finish; whether there were any."""
    waited = False
    for _ in range(2000):  # a limit, not a budget: on two busy cores a call may take a second
        if not any(w.group in groups and not w.is_finished for w in pilot.app.workers):
            return waited
        waited = True
        await asyncio.sleep(0.01)
    raise AssertionError("a station call did not finish within 20 s")


@pytest.fixture(autouse=True)
def settled(monkeypatch):
    """Dialogs hand their requests to the station in worker threads, the panes read the log in
    others and a dialog reads what it shows in others once open: here a pause also waits for those
    to be answered, so a test reads the result of its keys as a user does a moment later. And a key
    pressed after one that opened a dialog waits for the dialog's reads, as a person's next key
    comes well after them. (tests/test_tui_responsive.py measures the screen while the station is
    still answering.)"""
    pause, press = Pilot.pause, Pilot.press

    async def pause_until_answered(self, delay: float | None = None) -> None:
        await pause(self, delay)
        if await answered_calls(self, (STATION_CALLS, PANE_READS, DIALOG_READS)):
            await pause(self)

    async def press_after_reads(self, *keys: str) -> None:
        for key in keys:
            await answered_calls(self, (DIALOG_READS,))
            await press(self, key)

    monkeypatch.setattr(Pilot, "pause", pause_until_answered)
    monkeypatch.setattr(Pilot, "press", press_after_reads)


def checkin(station: Station, name: str, minutes: float, similarity: float = 0.66) -> None:
    when = (T0 + timedelta(minutes=minutes)).timestamp()
    station.worker.checkin(name, similarity, track=1, when=when)


def table_rows(app, selector: str) -> list[list[str]]:
    table = app.query_one(selector)
    return [list(table.cells(i)) for i in range(table.row_count)]


async def start_session(pilot, name: str, late: str = "", pin: str = "") -> None:
    """`s`, the name (and late after), Enter; with `pin`, the PIN the refusal then asks for."""
    await pilot.press("s")
    await pilot.press(*name)
    if late:
        await pilot.press("tab", *late)
    await pilot.press("enter")
    await pilot.pause()
    if pin:
        await pilot.press(*pin, "enter")  # the PIN's hash takes a while on a loaded machine: waited for
        await until(pilot, lambda: type(pilot.app.screen).__name__ == "Screen", tries=200)


def steady_cursor(pilot) -> None:
    """Text cursors shown solid, so a snapshot does not depend on the blink's phase."""
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False


async def until(pilot, condition, tries: int = 240) -> None:
    """Wait for the screen to show what is expected: a limit, not a budget (the panes are read in threads,
    and a suite on two busy cores has taken over 2.5 s for one, and over 6 s once)."""
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("the screen never showed the expected state")


@pytest.mark.slow
async def test_session_checkins_roster_and_stop(station, tmp_path):
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await start_session(pilot, "Physics 101", late="5")
        assert station.active.name == "Physics 101" and station.active.late_after_minutes == 5
        checkin(station, "Ann Lee", 1)
        checkin(station, "Bob Marr", 9)
        await until(pilot, lambda: app.query_one("#live-table").row_count == 2)
        live = table_rows(app, "#live-table")
        assert [row[1] for row in live] == ["Bob Marr", "Ann Lee"]  # newest first
        assert [row[3] for row in live] == ["late", "present"]
        roster = {row[0]: row[1] for row in table_rows(app, "#roster-table")}
        assert roster == {"Ann Lee": "present", "Bob Marr": "late", "Cleo Diaz": "absent", "Dev Rao": "absent"}
        assert "present 1" in str(app.query_one("#session-counts").render())
        await pilot.press("s", "y")
        await pilot.pause()
        assert station.active is None and len(station.sessions()) == 1
    assert (tmp_path / "attendance.json").is_file()


@pytest.mark.slow
async def test_filter_help_tab_and_quit_guard(station):
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"ra")
        await pilot.pause()
        assert [row[0] for row in table_rows(app, "#roster-table")] == ["Dev Rao"]
        await pilot.press("enter", "tab")
        assert app.focused.id == "session-table"
        await pilot.press("question_mark")
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        await start_session(pilot, "Lab")
        app.query_one("#roster-table").focus()
        await pilot.pause()
        app.screen.maximize(app.query_one("#roster-table"))  # ctrl+p "Maximize"
        await pilot.press("tab")  # went to a pane out of sight, and m marked someone there
        assert app.screen.maximized is None and app.focused.id != "roster-table"
        await pilot.press("q")
        assert type(app.screen).__name__ == "ConfirmScreen"
        await pilot.press("n")
        assert app.is_running


async def test_a_zero_width_non_joiner_typed_in_a_field_is_kept_and_finds_a_persian_name(station):
    """Shift+Space on a Persian keyboard types U+200C inside a name: a field dropped it, so the name typed
    was another spelling ("nobody matches"; the enroll dialog offered a new person)."""
    from textual.keys import _character_to_key

    station.attendance.add_person("علی\u200cرضا رضایی", person_id="S9")
    station.refresh()
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash")
        for typed in "علی\u200cرضا":  # as the terminal reads them (Pilot gives U+200C no character)
            app.post_message(events.Key(_character_to_key(typed), typed))
        await until(pilot, lambda: [row[0] for row in table_rows(app, "#roster-table")] == ["علی\u200cرضا رضایی"])
        assert app.focused.value == "علی\u200cرضا"


async def test_escape_and_a_letter_read_in_one_go_are_the_two_keys_not_alt_and_the_letter(station):
    """Over a slow link Escape and the next key arrive in one read, which the terminal's parser takes for
    Alt+key: the letter went into the enroll dialog's name and the dialog stayed open."""
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        await until(pilot, lambda: type(app.screen).__name__ == "EnrollScreen")
        app.post_message(events.Key("alt+s", "s"))  # as the parser reads "\x1bs"
        await until(pilot, lambda: type(app.screen).__name__ == "StartSessionScreen" and app.focused is not None
                    and app.focused.id == "name")
        assert len(app.screen_stack) == 2  # the enroll dialog closed, then s opened the session's
        await pilot.press("escape")
        await until(pilot, lambda: len(app.screen_stack) == 1)


async def test_the_help_screen_opens_again_at_its_first_keys(station):
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark", "end")
        await pilot.pause()
        body = app.screen.query_one(".dialog-body")
        assert body.scroll_y > 0
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        assert app.screen.query_one(".dialog-body").scroll_y == 0


async def cleo_in(pilot, station: Station, session: str) -> None:
    """A session started from the keyboard, and Cleo Diaz checked in, shown."""
    await start_session(pilot, session)
    checkin(station, "Cleo Diaz", 2)
    await until(pilot, lambda: pilot.app.query_one("#live-table").row_count == 1)


@pytest.mark.slow
async def test_export_from_the_keyboard_writes_the_sheet(station, tmp_path):
    app = StationApp(station)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await cleo_in(pilot, station, "Physics")
        await pilot.press("x", "enter")
        await until(pilot, lambda: any("exported to" in str(n.message) for n in app._notifications))
        said = next(str(n.message) for n in app._notifications if "exported to" in str(n.message))
        assert "'Physics' is still running: those not in yet show as absent" in said
    (sheet,) = (tmp_path / "exports").glob("*.csv")
    rows = {r["person"]: r["status"] for r in csv.DictReader(sheet.open())}
    assert rows == {"Ann Lee": "absent", "Bob Marr": "absent", "Cleo Diaz": "present", "Dev Rao": "absent"}


async def exporting_maths(pilot, station: Station) -> None:
    """Maths running with Cleo in, and the export dialog open on it."""
    await cleo_in(pilot, station, "Maths")
    await pilot.press("x")
    await until(pilot, lambda: "Session: Maths" in screen_text(pilot.app))


async def export_said(pilot) -> str:
    """The notice an export gives, once it is shown."""
    said = lambda: [str(n.message) for n in pilot.app._notifications if "exported to" in str(n.message)]  # noqa: E731
    await until(pilot, said)
    return said()[0]


async def test_the_export_dialog_writes_the_session_it_names_though_another_began_meanwhile(station, tmp_path):
    app = StationApp(station)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await exporting_maths(pilot, station)
        station.stop_session()  # the timetable closes Maths and opens Physics under the open dialog
        station.start_session("Physics")
        await pilot.press("enter")
        said = await export_said(pilot)
        assert "maths" in said and "still running" not in said
    (sheet,) = (tmp_path / "exports").glob("*.csv")
    rows = {r["person"]: r["status"] for r in csv.DictReader(sheet.open())}
    assert rows["Cleo Diaz"] == "present" and "maths" in sheet.name


async def test_the_export_dialog_writes_the_dates_typed_whatever_session_it_names(station, tmp_path):
    app = StationApp(station)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await exporting_maths(pilot, station)
        today = station.now().date().isoformat()
        app.screen.query_one("#from").value = today
        app.screen.query_one("#to").value = today
        app.screen.query_one("#from").focus()
        await pilot.press("enter")
        await export_said(pilot)
    (sheet,) = (tmp_path / "exports").glob("*.csv")
    assert today in sheet.name and "maths" not in sheet.name


async def enroll_captured(pilot, station: Station, looks_like: str | None = None) -> None:
    """`e`, Eva Holt, Enter, and the two samples of `capture_event` shown in the dialog."""
    await pilot.press("e", *"Eva Holt", "enter")
    await pilot.pause()
    station.worker.feed(capture_event(station, looks_like))
    await until(pilot, lambda: pilot.app.screen.query_one("#samples").row_count == 2)


async def test_a_capture_whose_dialog_was_closed_is_not_asked_again_of_a_restarted_worker(station):
    from faceattend_tui.live import events as ev

    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", *"Eva Holt", "enter")  # the capture asked, then the dialog closed before it came
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        station.worker.sent.clear()
        station.worker.feed(ev.Notice(message="recognition worker stopped (exit code -9); restarted (1)",
                                      topic="worker-restarted"))
        await until(pilot, lambda: any(isinstance(c, ev.SetSession) for c in station.worker.sent))
        assert not [c for c in station.worker.sent if isinstance(c, ev.StartCapture)]


async def capture_for_ann(pilot) -> None:
    """`e`, Ann Lee (on the roster: the dialog says it adds samples to her), Enter: a capture asked for."""
    await pilot.press("e", *"Ann Lee")
    await until(pilot, lambda: "adds samples to Ann Lee" in str(pilot.app.screen.query_one("#enroll-who").render()))
    await pilot.press("enter")
    await pilot.pause()


def capture_event(station: Station, looks_like: str | None = None, sharpness: float = 220.0,
                  cut: bool = False) -> ev.CaptureResult:
    gradient = np.tile(np.linspace(40, 220, 96, dtype=np.uint8), (120, 1))
    photo = cv2.imencode(".jpg", cv2.merge([gradient, gradient, gradient]))[1].tobytes()
    sample = ev.CaptureSample(photo_jpeg=photo, embedding=np.eye(512, dtype=np.float32)[0], size=140,
                              sharpness=sharpness, frontality=0.93, quality=0.97, cut=cut)
    match = ev.MatchHint(name=looks_like, similarity=0.41) if looks_like else None
    return ev.CaptureResult(request=station.pending_capture, samples=(sample, sample), match=match)


@pytest.mark.slow
async def test_enroll_from_the_camera_and_delete(station, tmp_path):
    station.worker.ready()
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", *"Eva Holt", "enter")
        await pilot.pause()
        assert isinstance(station.worker.sent[-1], ev.StartCapture)
        station.worker.feed(capture_event(station, looks_like="Ann Lee"))
        await until(pilot, lambda: app.screen.query_one("#samples").row_count == 2)
        assert "already looks like Ann Lee" in str(app.screen.query_one("#enroll-hint").render())
        await pilot.click("#ok")  # under a warning: said, and saved at the second press only
        await pilot.pause()
        assert "press Save (ctrl+s) again" in str(app.screen.query_one("#dialog-error").render())
        assert "Eva Holt" not in [p.name for p in station.people()]
        await pilot.pause(0.3)  # a button ignores a second click within 0.2 s (a double click is one)
        await pilot.click("#ok")
        await pilot.pause()
        assert "Eva Holt" in [row[0] for row in table_rows(app, "#roster-table")]
        (eva,) = [p for p in station.people() if p.name == "Eva Holt"]
        assert len(list((tmp_path / "database_image" / eva.folder).glob("*.jpg"))) == 2
        assert station.worker.sent[-1] == ev.Reload()
        table = app.query_one("#roster-table")
        table.focus()
        table.select(eva.id)
        await pilot.press("d")
        await pilot.pause()
        await pilot.click("#ok")  # "left": records kept
        await pilot.pause()
        assert "Eva Holt" not in [row[0] for row in table_rows(app, "#roster-table")]
        assert station.person(eva.id).state == "left"


@pytest.mark.parametrize("sharpness, cut, said", [(30.0, False, "the pictures are blurred or dark (sharpness 30"),
                                                  (220.0, True, "the face runs off the edge of the picture in 2")])
async def test_a_blurred_dark_or_cut_off_capture_is_pointed_out_before_it_is_saved(station, sharpness, cut, said):
    """Samples blurred (sharpness 25-35 against 1,100), at 12 % light, or of half a face were saved at the first
    press with quality 0.72-1.00 and no word."""
    station.worker.ready()
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", *"Eva Holt", "enter")
        await pilot.pause()
        station.worker.feed(capture_event(station, sharpness=sharpness, cut=cut))
        await until(pilot, lambda: app.screen.query_one("#samples").row_count == 2)
        assert said in str(app.screen.query_one("#enroll-hint").render())
        await pilot.click("#ok")
        await pilot.pause()
        assert "press Save (ctrl+s) again" in str(app.screen.query_one("#dialog-error").render())


async def test_a_face_held_by_the_liveness_check_is_on_the_live_list(station):
    """Recognised, no blink yet: staff see them waiting, not an empty list."""
    import time

    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await start_session(pilot, "Physics")
        ann = next(p for p in station.people() if p.name == "Ann Lee")
        station.worker.feed(ev.Waiting(name=ann.folder, track=4, time=time.time(), asked="blink"))
        await until(pilot, lambda: app.query_one("#live-table").row_count == 1)
        assert table_rows(app, "#live-table")[0][1:] == ["Ann Lee", "0.00", "no sign of life yet"]
        assert station.summary(station.active.id).counts.present == 0  # not recorded


async def test_an_erasure_takes_the_person_off_the_live_list_on_the_screen(station):
    """Only their lines go, newest still first: a namesake's went too, and the list turned oldest first."""
    attendance = station._attendance()
    attendance.save_people([dataclasses.replace(attendance.person("S3"), name="Ann Lee")], "person.edit")
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await start_session(pilot, "Physics")
        checkin(station, "Bob Marr", 1)
        checkin(station, "Ann Lee", 2)
        checkin(station, "Cleo Diaz", 3)  # the other Ann Lee (S3)
        await until(pilot, lambda: app.query_one("#live-table").row_count == 3)
        table = app.query_one("#roster-table")
        table.focus()
        table.select("S1")
        await pilot.press("d")
        await pilot.pause()
        app.screen.query_one("#erase").value = True  # "Erasure request"
        await pilot.click("#ok")
        await pilot.pause()
        assert station.person("S1") is None
        assert [row[1] for row in table_rows(app, "#live-table")] == ["Ann Lee", "Bob Marr"]


async def test_which_way_someone_is_removed_reads_without_colour_and_the_button_says_erase(station):
    """Every choice drew the same '●', chosen or not, in another colour: a colour-blind staff member, or a
    terminal without colour, erased someone while the screen seemed to say 'They left'."""
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one("#roster-table")
        table.focus()
        table.select(next(p.id for p in station.people() if p.name == "Ann Lee"))
        await pilot.press("d")
        await pilot.pause()
        text = screen_text(app).replace(" ", "")
        assert "▐●▌Theyleft" in text and "▐▌Erasure" in text
        assert str(app.screen.query_one("#ok").label) == "Remove"
        app.screen.query_one("#how").focus()
        await pilot.press("down", "enter")  # chosen from the keyboard
        await pilot.pause()
        text = screen_text(app).replace(" ", "")
        assert "▐▌They" in text and "▐●▌Erasure" in text and str(app.screen.query_one("#ok").label) == "Erase"
        assert "enter:erase·esc:cancel" in text  # not "enter: remove"


async def test_an_error_reads_as_one_without_colour(station):
    """A notice, a warning and an error differed only in the colour of a bar at their edge."""
    app = StationApp(station)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        station.worker.feed(ev.Error(message="camera 0 could not be opened", fatal=True))
        await until(pilot, lambda: "recognition stopped" in screen_text(app))
        lines = screen_text(app).splitlines()
        said = next(i for i, line in enumerate(lines) if "recognition stopped" in line)
        assert any("Error" in line for line in lines[max(0, said - 2):said + 1])


@pytest.mark.parametrize("ended", [False, True])
async def test_someone_who_left_can_still_be_erased_from_the_session_list(station, ended):
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await start_session(pilot, "Physics")
        checkin(station, "Ann Lee", 1)
        await until(pilot, lambda: app.query_one("#live-table").row_count == 1)
        ann = next(p for p in station.people() if p.name == "Ann Lee")
        station.remove_person(ann.id, erase=False)  # she left: her check-in stays on the session's list
        if ended:  # the ended session stays shown, as after s
            app._stopped(station.stop_session())
        app.refresh_panes()
        await pilot.pause()
        table = app.query_one("#session-table")
        table.focus()
        table.select(ann.id)
        await pilot.press("d")
        await pilot.pause()
        assert "Erase Ann Lee" in app.screen.title_text() and app.screen.query_one("#erase").value
        await pilot.click("#ok")
        await pilot.pause()
        assert station.person(ann.id) is None


async def test_more_samples_for_someone_are_not_warned_to_look_like_themselves(station):
    station.worker.ready()
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", *"ann lee")  # as typed, for Ann Lee on the roster
        await until(pilot, lambda: "adds samples to Ann Lee" in str(app.screen.query_one("#enroll-who").render()))
        await pilot.press("enter")
        await pilot.pause()
        station.worker.feed(capture_event(station, looks_like="Ann Lee"))  # the capture looks like Ann Lee: it is her
        await until(pilot, lambda: app.screen.query_one("#samples").row_count == 2)
        hint = str(app.screen.query_one("#enroll-hint").render())
        assert "already looks like" not in hint
        assert "2 samples; press Save" in hint and "ann lee" not in hint  # whom: the line above, as resolved


async def test_samples_for_someone_erased_while_the_dialog_was_open_are_not_saved_as_a_newcomer_unasked(station):
    """The dialog said "adds samples to Ann Lee (S1)"; she was erased (at another door) before Save: the
    station added a new Ann Lee with her face, undoing the erasure without a word."""
    station.worker.ready()
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await capture_for_ann(pilot)
        station.worker.feed(capture_event(station))
        await until(pilot, lambda: app.screen.query_one("#samples").row_count == 2)
        station.remove_person("S1", erase=True)  # as another door's erasure reaches this one
        await pilot.press("ctrl+s")  # a warning first (the samples are not recognised as her): Save again
        await until(pilot, lambda: "press Save" in dialog_error(app))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "the roster changed meanwhile" in dialog_error(app))
        assert [p.name for p in station.people()] == ["Bob Marr", "Cleo Diaz", "Dev Rao"]
        await until(pilot, lambda: "new person Ann Lee" in str(app.screen.query_one("#enroll-who").render()))


async def test_samples_for_someone_enrolled_that_the_station_does_not_take_for_them_need_a_second_save(station):
    import dataclasses

    with_pin(station)
    station.worker.ready()
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await capture_for_ann(pilot)
        ann = np.load(station.settings.tensors_dir / "Ann Lee.npy")[0]
        other = np.eye(512, dtype=np.float32)[1] - float(ann[1]) * ann
        near = 0.25 * ann + np.sqrt(1 - 0.25**2) * other / np.linalg.norm(other)  # under the threshold, 0.3
        captured = capture_event(station)
        sample = dataclasses.replace(captured.samples[0], embedding=near.astype(np.float32))
        station.worker.feed(dataclasses.replace(captured, samples=(sample, sample)))  # matched nobody
        await until(pilot, lambda: app.screen.query_one("#samples").row_count == 2)
        assert "not recognised as the person above" in str(app.screen.query_one("#enroll-hint").render())
        await pilot.press(*"246813", "enter")
        await pilot.pause()
        assert "press Save (ctrl+s) again" in str(app.screen.query_one("#dialog-error").render())
        assert type(app.screen).__name__ == "EnrollScreen"
        before = next(p.images for p in station.people() if p.name == "Ann Lee")
        await pilot.press("ctrl+s")  # staff looked again: it is her
        await until(pilot, lambda: type(app.screen).__name__ == "Screen")
        assert next(p.images for p in station.people() if p.name == "Ann Lee") == before + 2


@pytest.mark.parametrize("change, said", [
    ({"others": 14}, "someone else stood alone in front of the camera in 14 of the pictures"),  # took turns
    ({"crowded": True}, "more than one face was in view"),
], ids=["took turns", "two faces in view"])
async def test_a_capture_that_may_be_of_someone_else_warns_and_needs_a_second_save(station, change, said):
    station.worker.ready()
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", *"Eva Holt", "enter")
        await pilot.pause()
        station.worker.feed(dataclasses.replace(capture_event(station), **change))
        await until(pilot, lambda: app.screen.query_one("#samples").row_count == 2)
        assert said in str(app.screen.query_one("#enroll-hint").render())
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Eva Holt" not in [p.name for p in station.people()]
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "Eva Holt" in [p.name for p in station.people()])


async def test_a_capture_shown_in_the_dialog_leaves_the_screen_idle(station):
    """The capture's result reaches the dialog once; it used to bounce between the dialog and the
    app for as long as the dialog stayed open, keeping a core busy that recognition needs."""
    station.worker.ready()
    seen: list[str] = []
    app = StationApp(station)
    async with app.run_test(size=SIZE, message_hook=lambda m: seen.append(type(m).__name__)) as pilot:
        await enroll_captured(pilot, station)
        await until(pilot, lambda: seen.count("CaptureDone") >= 2)
        await pilot.pause(0.3)  # and no more
        assert seen.count("CaptureDone") == 2  # the pump's message to the app, the app's to the dialog


async def test_the_header_behind_an_open_dialog_waits_for_it_to_close(station, monkeypatch):
    """Redrawn each second behind a dialog left open, the dimmed screen kept the station's CPU three
    times higher than the main screen does; once the dialog closes the header shows how things stand."""
    from faceattend_tui.tui.widgets import StatusHeader

    drawn = []
    draw = StatusHeader.render_state
    monkeypatch.setattr(StatusHeader, "render_state", lambda self, *a: drawn.append(a[2].camera) or draw(self, *a))
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await until(pilot, lambda: app.dialog_open())
        drawn.clear()
        station.worker.feed(ev.CameraStatus(state="reconnecting", message="camera not answering", source="0"))
        await pilot.pause(1.5)  # the clock's tick and the camera's news
        assert drawn == []
        await pilot.press("escape")
        await until(pilot, lambda: drawn and drawn[-1] == "retrying")


TERMINALS = [(80, 24), (100, 30), (160, 48)]  # an SSH window as it opens, a bit larger, a large one


@pytest.mark.parametrize("size", TERMINALS, ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.slow
def test_main_screen_snapshot(station, snap_compare, size):
    async def run_before(pilot) -> None:
        await start_session(pilot, "Physics 101", late="10")
        for minutes, name in ((2, "Ann Lee"), (12, "Dev Rao")):
            checkin(station, name, minutes)
        station.worker.feed(ev.Unknown(track=7, time=T0.timestamp()))
        await until(pilot, lambda: pilot.app.query_one("#live-table").row_count == 2)
        station.clock.now = T0 + timedelta(minutes=15)
        pilot.app.refresh_header()
        await pilot.pause()

    assert snap_compare(StationApp(station), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.slow
def test_enroll_dialog_snapshot(station, snap_compare, size):
    async def run_before(pilot) -> None:
        await enroll_captured(pilot, station, looks_like="Ann Lee")  # with its warning
        steady_cursor(pilot)

    assert snap_compare(StationApp(station), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("keys", ["question_mark", "s", "q"], ids=["help", "start", "quit"])
@pytest.mark.slow
def test_dialogs_fit_an_80x24_terminal(station, snap_compare, keys):
    async def run_before(pilot) -> None:
        if keys == "q":  # the quit question is longest while a session runs
            await start_session(pilot, "Physics 101 for the whole of year three")
        await pilot.press(keys)
        await pilot.pause()
        steady_cursor(pilot)

    assert snap_compare(StationApp(station), terminal_size=(80, 24), run_before=run_before)


async def test_a_failing_write_is_reported_and_the_station_keeps_serving(station, monkeypatch):
    from faceattend_tui.attendance import StoreError

    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await start_session(pilot, "Physics")
        original = station.store.record_checkin

        def full_disk(*args, **kwargs):
            raise StoreError("could not write check-in to attendance.journal: No space left on device")

        monkeypatch.setattr(station.store, "record_checkin", full_disk)
        checkin(station, "Ann Lee", 1)
        await until(pilot, lambda: any("No space left" in str(n.message) for n in app._notifications))
        assert app.query_one("#live-table").row_count == 0  # not shown: it is not on disk
        monkeypatch.setattr(station.store, "record_checkin", original)
        checkin(station, "Bob Marr", 2)
        await until(pilot, lambda: app.query_one("#live-table").row_count == 2)  # Ann's kept check-in too
        rows = {row[1]: row[0] for row in table_rows(app, "#live-table")}
        assert rows == {"Ann Lee": "09:01:00", "Bob Marr": "09:02:00"}  # she keeps the time she came


@pytest.mark.slow
async def test_a_group_session_chosen_in_the_dialog_lists_its_members_only(station):
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s", *"Choir", "tab", "tab", "enter")  # name, late after (empty), then the group list
        await pilot.pause()
        await pilot.press("down", "down", "enter")  # everyone, 3A, 3B
        await pilot.pause()
        await pilot.click("#ok")
        await pilot.pause()
        assert station.active.group == "3B" and station.active.expected == ["S4"]
        checkin(station, "Ann Lee", 1)  # 3A: seen, not recorded
        checkin(station, "Dev Rao", 2)
        await until(pilot, lambda: app.query_one("#live-table").row_count == 2)
        assert [row[3] for row in table_rows(app, "#live-table")] == ["present", "not on list"]
        assert [row[0] for row in table_rows(app, "#session-table")] == ["Dev Rao"]
        assert "present 1  late 0  absent 0" in str(app.query_one("#session-counts").render())


async def test_the_report_keeps_the_rate_in_view_beside_a_long_name(station):
    long = "Bartholomew Theodore Fitzgerald-Montgomery of Westminster Jr"
    Attendance(station.store).update_person(station.people()[0].id, name=long)
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_session(pilot, "Physics")
        await pilot.press("s", "y")
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        row = next(line for line in screen_text(app).splitlines() if "Bartholomew" in line)
        assert row.rstrip(" │▐▌█▁▂▃▄▅▆▇").endswith("0%"), row


async def ann_and_bob_in(pilot, station: Station) -> None:
    """Physics started, Ann and Bob checked in and in the live list."""
    await start_session(pilot, "Physics")
    checkin(station, "Ann Lee", 1)
    checkin(station, "Bob Marr", 2)
    await until(pilot, lambda: pilot.app.query_one("#live-table").row_count == 2)


@pytest.mark.slow
async def test_the_report_screen_charts_sessions_and_lists_people_below_the_rate(station):
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await ann_and_bob_in(pilot, station)
        await pilot.press("r")
        await until(pilot, lambda: "1 still running, not counted" in screen_text(app))  # those not in yet: not absent
        await pilot.press("escape")
        await pilot.press("s", "y")
        await pilot.pause()
        built = []
        build = station.report
        station.report = lambda *args: built.append(args) or build(*args)
        await pilot.press("r")
        await pilot.pause()
        report = app.screen
        assert type(report).__name__ == "ReportScreen"
        below = report.query_one("#below")
        assert [below.get_row_at(i)[1] for i in range(below.row_count)] == ["Cleo Diaz", "Dev Rao"]
        assert "2 people below 80%" in str(report.query_one("#below-title").render())
        assert len(built) == 1  # built once as it opens (the group list, drawn and filled in, changed nothing)
        report.query_one("#group").value = "3B"
        await pilot.pause()
        assert len(built) == 2 and built[-1][2] == "3B"
        assert [below.get_row_at(i)[1] for i in range(below.row_count)] == ["Dev Rao"]
        report.query_one("#rate").value = "999"
        report.query_one("#rate").focus()
        await pilot.press("enter")
        await pilot.pause()
        assert "percentage from 0 to 100" in str(report.query_one("#dialog-error").render())
        assert below.row_count == 0 and len(built) == 2  # no list left over from the values before
        await pilot.press("escape")
        assert type(app.screen).__name__ == "Screen"


@pytest.mark.slow
async def test_a_refused_save_keeps_the_dialog_and_its_samples(station):
    station.worker.ready()
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", *"Eva Holt", "tab", *"../evil", "enter")
        await pilot.pause()
        station.worker.feed(capture_event(station))
        await until(pilot, lambda: app.screen.query_one("#samples").row_count == 2)
        app.screen.query_one("#ok").press()
        await pilot.pause()
        assert type(app.screen).__name__ == "EnrollScreen"  # still open, samples kept
        assert "is not a usable person id" in str(app.screen.query_one("#dialog-error").render())
        assert app.screen.query_one("#samples").row_count == 2
        app.screen.query_one("#person-id").value = "E77"
        app.screen.query_one("#ok").press()
        await pilot.pause()
        assert type(app.screen).__name__ == "Screen" and station.person("E77").images == 2


async def test_enrolling_without_a_live_camera_says_why_at_once(station):
    station.live.camera, station.live.camera_detail = "retrying", "retrying in 8 s (camera 0 could not be opened)"
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e", *"Eva Holt", "enter")
        await pilot.pause()
        assert "camera is retrying" in str(app.screen.query_one("#dialog-error").render())
        assert not app.screen.query_one("#capture").disabled  # nothing waits for a capture that cannot come


@pytest.mark.slow
async def test_the_small_things_staff_notice(station, tmp_path):
    app = StationApp(station)
    async with app.run_test(size=(100, 30)) as pilot:
        # a fast burst of keys (a paste) lands in the right fields
        await pilot.press("s", *"Chemistry", "tab", *"-5", "enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "StartSessionScreen"  # a negative late-after is refused...
        assert "0 to 1440 minutes" in str(app.screen.query_one("#dialog-error").render())
        assert app.screen.query_one("#name").value == "Chemistry"  # ...and the typed name kept
        app.screen.query_one("#late").value = "5"
        await pilot.press("enter")
        await pilot.pause()
        assert station.active.name == "Chemistry" and station.active.late_after_minutes == 5
        # the main keys are off, and out of the footer, while a dialog is open
        await pilot.press("h")
        await pilot.pause()
        assert not app.check_action("toggle_session", ()) and app.check_action("toggle_session", ()) is False
        await pilot.press("escape")
        assert app.check_action("toggle_session", ())
        # the filter says when nothing matches and escape leaves it
        await pilot.press("slash", *"zz")
        await pilot.pause()
        assert "nobody matches 'zz'" in str(app.query_one("#roster").border_subtitle)
        await pilot.press("escape")
        await pilot.pause()
        assert not app.query_one("#roster-filter").display and app.query_one("#roster-table").has_focus
        assert app.query_one("#roster-table").row_count == 4
        # a click selects a row
        await pilot.click("#roster-table", offset=(3, 3))
        await pilot.pause()
        assert app.query_one("#roster-table").selected == "S3"
        # the preview: the first p asks to open it
        station.live.preview = "unavailable"
        app.action_toggle_preview()
        assert station.worker.sent[-1] == ev.SetPreview(True)
        # the palette's screenshot lands with the exports, not in a Downloads folder others may read
        (shot,) = [c for c in app.get_system_commands(app.screen) if c.title == "Screenshot"]
        shot.callback()
        await until(pilot, lambda: list((tmp_path / "exports").glob("*.svg")))


def test_p_pressed_fast_alternates_open_and_close_before_the_worker_answers(station):
    """Each p asked the opposite of what the worker had last said: six quick presses from "on" sent
    close, open, open, open... and an even number could leave the window closed."""
    station.live.preview = "on"
    asked = [station.toggle_preview() for _ in range(6)]
    assert asked == [False, True, False, True, False, True]
    assert [c.on for c in station.worker.sent if isinstance(c, ev.SetPreview)][-6:] == asked
    station.preview_asked_at -= 60  # a press long after: what the worker says counts again
    station.live.preview = "off"  # (its window was closed from outside meanwhile)
    assert station.toggle_preview() is True


async def test_absentees_first_after_a_check_in_during_the_session(station):
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await start_session(pilot, "Physics")
        checkin(station, "Dev Rao", 1)
        await until(pilot, lambda: app.query_one("#live-table").row_count == 1)
        await pilot.press("a")
        await pilot.pause()
        rows = table_rows(app, "#session-table")
        assert [row[0] for row in rows] == ["Ann Lee", "Bob Marr", "Cleo Diaz", "Dev Rao"]
        assert rows[-1][1] == "present"  # the one who came is not listed among the absent


async def test_the_command_palette_asks_before_quitting_and_names_keys(station):
    app = StationApp(station)
    async with app.run_test(size=SIZE):
        commands = list(app.get_system_commands(app.screen))
        titles = [c.title for c in commands]
        assert "Quit" not in titles and titles.count("quit (asks while a session runs)") == 1
        assert "Keys" not in titles  # Textual's key panel stayed docked, squeezing every screen; `?` lists them
        assert "key: /" in [c.help for c in commands] and not any("slash" in c.help for c in commands)


def test_a_light_theme_keeps_every_row_readable(station, snap_compare):
    async def run_before(pilot) -> None:
        pilot.app.theme = "textual-light"
        await start_session(pilot, "Physics")
        checkin(station, "Bob Marr", 1)
        await until(pilot, lambda: pilot.app.query_one("#live-table").row_count == 1)
        await pilot.press("tab")  # the roster, with its striped rows
        await pilot.pause()

    assert snap_compare(StationApp(station), terminal_size=(100, 30), run_before=run_before)


# -- dialogs, staff names, small terminals and details, as staff meet them


def dialog_error(app) -> str:
    """What the dialog on top says went wrong."""
    return str(app.screen.query_one("#dialog-error").render())


def screen_text(app) -> str:
    """What the top screen shows, as plain lines."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_at_80x24_the_warnings_of_a_capture_stay_in_sight_above_the_pin(station, monkeypatch):
    """Two warnings and the staff fields: whom the samples are for and the warnings stay in sight with the
    field the cursor is brought to, under "press Save to keep them as said above"."""
    import dataclasses

    with_pin(station)
    monkeypatch.setattr(Station, "needs_staff_name", property(lambda self: True))
    station.worker.ready()
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("e", *"Eva Holt", "enter")
        await until(pilot, lambda: station.pending_capture is not None)
        station.worker.feed(dataclasses.replace(capture_event(station, looks_like="Ann Lee"), others=7))
        await until(pilot, lambda: app.screen.query_one("#samples").row_count == 2)
        await pilot.pause(0.2)
        shown = screen_text(app)
        for said in ("new person Eva Holt", "already looks like Ann Lee", "someone else stood alone", "press Save"):
            assert said in shown, shown
        assert app.focused.id in ("staff", "pin") and app.focused.region.height > 0


async def test_a_long_live_list_keeps_its_status_column_whole_beside_the_scroll_bar(station):
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        live = app.query_one(LivePane)
        for minute in range(40):  # more check-ins than the pane has lines: a scroll bar shows
            live.add("Dev Rao", 0.71, datetime(2026, 9, 7, 8, minute, tzinfo=timezone.utc), "not on list")
        await pilot.pause()
        rows = [line for line in screen_text(app).splitlines() if "Dev Rao" in line]
        assert rows and all("not on list" in line for line in rows)


def with_pin(station: Station, pin: str = "246813") -> None:
    from faceattend_tui.attendance import hash_pin
    from faceattend_tui.attendance.security import PIN_SETTING

    station.store.set_setting(PIN_SETTING, hash_pin(pin))


async def test_enter_stops_the_session_and_says_so(station):
    app = StationApp(station)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await start_session(pilot, "Physics")
        await pilot.press("s")
        await pilot.pause()
        assert "Stop session 'Physics'?" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert station.active is None
        await until(pilot, lambda: "session 'Physics' stopped" in screen_text(app))


@pytest.mark.parametrize("dialog", ["stop", "mark"])
async def test_a_dialog_opened_on_a_session_that_ends_meanwhile_changes_no_other(station, dialog):
    """Stop or Mark opened on Maths; the timetable closes Maths and opens Physics before Enter."""
    app = StationApp(station)
    async with app.run_test(size=(100, 30)) as pilot:
        await start_session(pilot, "Maths")
        if dialog == "stop":
            await pilot.press("s")
        else:
            await mark_dialog_for(pilot, "S1")
            await pilot.press(*"came from the nurse")
        await pilot.pause()
        station.stop_session()  # as the timetable does at the bell, on the station's side
        station.start_session("Physics")
        await pilot.press("enter")
        await until(pilot, lambda: "session 'Maths' ended while this was open" in screen_text(app))
        assert station.active.name == "Physics" and station.store.marks(station.active.id) == []


async def maths_stopped_by_hand(pilot) -> None:
    """Maths started and stopped from the keyboard, the session pane saying it ended."""
    await start_session(pilot, "Maths")
    await pilot.press("s", "enter")
    await until(pilot, lambda: "Maths (ended" in str(pilot.app.query_one("#session-counts").render()))


async def test_a_session_the_timetable_opens_after_a_stop_by_hand_takes_the_session_pane(station):
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await maths_stopped_by_hand(pilot)
        station.start_session("Physics")  # as the timetable does, on the station's side
        app.post_message(msg.RosterChanged(RosterChanged()))
        await until(pilot, lambda: "Physics (running" in str(app.query_one("#session-counts").render()))
        assert app.viewing_session is None


async def test_a_voided_session_in_the_session_pane_says_it_is_voided_and_why(station):
    app = StationApp(station)
    async with app.run_test(size=(100, 30)) as pilot:
        await maths_stopped_by_hand(pilot)
        station.void_session(station.sessions()[-1].id, "wrong room")
        app.post_message(msg.RosterChanged(RosterChanged()))
        await until(pilot, lambda: "VOIDED: wrong room; ended" in str(app.query_one("#session-counts").render()))


async def test_ctrl_q_asks_like_q_while_a_session_runs(station):
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_session(pilot, "Physics")
        await pilot.press("ctrl+q")
        await pilot.pause()
        shown = screen_text(app)
        assert "is running. Quit?" in shown and app.is_running
        assert "esc: cancel" in shown and "esc Cancel" in shown  # the footer names escape as the dialog does
        await pilot.press("n")  # no PIN asked: n answers
        await pilot.pause()
        assert type(app.screen).__name__ == "Screen" and app.is_running


async def test_letters_typed_onto_the_buttons_of_a_dialog_with_a_pin_are_no_answer(station):
    """A Tab too many while typing the PIN puts the focus on Stop: the PIN's letters must not cancel it."""
    with_pin(station)
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_session(pilot, "Physics", pin="246813")
        assert station.active is not None
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("tab", *"ny")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmScreen" and station.active is not None


@pytest.mark.slow
async def test_a_wrong_pin_keeps_the_dialog_with_the_reason_and_the_fields(station):
    with_pin(station)
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s", *"Physics", "tab", *"5", "tab", "tab", *"111111", "enter")
        await pilot.pause()
        dialog = app.screen
        assert type(dialog).__name__ == "StartSessionScreen" and station.active is None
        assert "wrong PIN" in screen_text(app)  # the station's own words, inside the dialog
        assert dialog.query_one("#name").value == "Physics" and dialog.query_one("#late").value == "5"
        assert dialog.query_one("#pin").value == "" and dialog.query_one("#pin").has_focus
        await pilot.press(*"246813", "enter")
        await pilot.pause()
        assert station.active.name == "Physics" and station.active.late_after_minutes == 5


async def test_a_pin_typed_and_left_cannot_be_copied_out_in_clear(station):
    """The next person at the terminal selected the PIN, copied it and pasted it into the name field."""
    with_pin(station)
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s", *"Physics", "tab", "tab", "tab", *"246813")
        await pilot.pause()
        assert app.screen.query_one("#pin").has_focus
        await pilot.press("shift+home", "ctrl+c", "ctrl+x")
        await pilot.pause()
        assert "246813" not in app.clipboard and app.screen.query_one("#pin").value == "246813"
        app.screen.query_one("#name").focus()
        await pilot.press("ctrl+v")
        assert "246813" not in app.screen.query_one("#name").value and "246813" not in screen_text(app)


async def test_a_refusal_that_is_not_about_the_pin_keeps_it(station):
    with_pin(station)
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s", *"Physics", "tab", *"inf", "tab", "tab", *"246813", "enter")
        await until(pilot, lambda: "late after" in str(app.screen.query_one("#dialog-error").render()))
        assert app.screen.query_one("#pin").value == "246813" and station.active is None
        app.screen.query_one("#late").value = "5"
        await pilot.press("enter")  # corrected, sent again without typing the PIN anew
        await until(pilot, lambda: station.active is not None)


@pytest.mark.slow
async def test_a_staff_name_is_asked_beside_the_pin_and_remembered(station, monkeypatch):
    from faceattend_tui.attendance.security import Credentials

    with_pin(station)
    monkeypatch.setattr(Station, "needs_staff_name", property(lambda self: True))
    given = []

    def start(name, late_after=None, pin=None, group=None):
        given.append(pin)
        if pin != Credentials("Kim", "246813"):
            raise StationError("wrong PIN for Kim")
        return Station.start_session(station, name, late_after, "246813", group)

    from faceattend_tui.station import StationError

    monkeypatch.setattr(station, "start_session", start)
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s", *"Lab", "tab", "tab", "tab")
        fields = [f.id for f in app.screen.query(Input) if f.display]
        assert fields == ["name", "late", "staff", "pin"]  # the name before the PIN
        assert app.screen.query_one("#staff").has_focus
        await pilot.press(*"Kim", "enter", *"246813", "enter")  # enter in the name moves on to the PIN
        await pilot.pause()
        assert given == [Credentials("Kim", "246813")] and station.active.name == "Lab"
        await pilot.press("s")
        await pilot.pause()
        assert app.screen.query_one("#staff").value == "Kim"  # the name that worked, filled in
        assert app.screen.query_one("#pin").has_focus


async def test_toasts_never_cover_a_dialogs_buttons_at_80x24(station):
    from textual.widgets import Button
    from textual.widgets._toast import Toast

    app = StationApp(station)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        for number in range(4):
            app.notify(f"a notice that was there before the dialog, number {number}", timeout=30)
        await pilot.press("s")
        await pilot.pause()
        app.post_message(msg.Problem(Problem("could not read the recognition worker: gone")))
        app.notify("the camera is retrying in 8 s (camera 0 could not be opened)", severity="warning")
        await pilot.pause()
        buttons = [b.region for b in app.screen.query(Button) if b.display]
        toasts = [t.region for screen in app.screen_stack for t in screen.query(Toast)]  # hidden: an empty region
        assert buttons and not any(b.overlaps(t) for b in buttons for t in toasts)
        await pilot.press("escape")
        await until(pilot, lambda: "camera is retrying" in screen_text(app))  # shown once the dialog closes


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=lambda size: f"{size[0]}x{size[1]}")
@pytest.mark.slow
async def test_the_report_lists_its_people_on_screen(station, size):
    app = StationApp(station)
    async with app.run_test(size=size) as pilot:
        await start_session(pilot, "Physics")
        checkin(station, "Ann Lee", 1)
        await until(pilot, lambda: app.query_one("#live-table").row_count == 1)
        await pilot.press("s", "enter")
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        text = screen_text(app)
        assert "3 people below 80%" in text
        for name in ("Bob Marr", "Cleo Diaz", "Dev Rao"):
            assert name in text


@pytest.mark.slow
async def test_the_roster_counts_the_sessions_people_like_the_header(station):
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        assert app.query_one("#roster").border_subtitle == "4 people"
        await pilot.press("s", *"Choir", "tab", "tab", "enter")
        await pilot.pause()
        await pilot.press("down", "enter")  # 3A: Ann, Bob and Cleo
        await pilot.pause()
        await pilot.click("#ok")
        await pilot.pause()
        checkin(station, "Ann Lee", 1)
        checkin(station, "Dev Rao", 2)  # not on the list
        await until(pilot, lambda: app.query_one("#live-table").row_count == 2)
        assert "present 1 late 0 absent 2" in str(app.query_one("#header").render())
        assert app.query_one("#roster").border_subtitle == "1/3 here"


async def test_m_marks_the_person_highlighted_in_the_focused_list_never_one_out_of_sight(station):
    app = StationApp(station)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await start_session(pilot, "Physics")
        await until(pilot, lambda: app.query_one("#session-table").row_count == 4)
        app.query_one("#live-table").focus()  # the live list: no person to act on
        await pilot.press("m")
        await pilot.pause()
        assert not isinstance(app.screen, MarkScreen)
        assert any("highlight a person" in str(n.message) for n in app._notifications)
        table = app.query_one("#session-table")
        table.focus()
        table.select("S2")  # Bob, while the roster (out of sight at 80 columns) keeps Ann highlighted
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, MarkScreen) and app.screen.person == "Bob Marr (S2)"


async def mark_dialog_for(pilot, person_id: str) -> None:
    """From the main screen: the roster, the person, `m`."""
    await pilot.press("tab")  # the roster
    pilot.app.query_one("#roster-table").select(person_id)
    await pilot.press("m")
    await pilot.pause()


async def test_the_arrows_choose_the_status_of_a_mark_while_the_reason_is_typed(station):
    """Down three times, a reason, Enter: the mark is the status chosen, never a silent 'present'."""
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_session(pilot, "Physics")
        await mark_dialog_for(pilot, "S3")
        assert isinstance(app.screen, MarkScreen) and app.screen.focused.id == "reason"
        await pilot.press("down", "down", "down", *"doctor's note", "enter")
        await pilot.pause()
        statuses = app.screen.statuses if isinstance(app.screen, MarkScreen) else ()
        assert not statuses  # the dialog closed
        (mark,) = station.store.marks(station.active.id)
        assert (mark.person_id, mark.status, mark.reason) == ("S3", "excused", "doctor's note")


def burst(app, keys) -> None:
    """Keys arriving in one read, as over a laggy SSH link: all queued before the first is handled."""
    from textual import events

    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else None))


async def keys_handled(pilot, most: float = 20.0) -> None:
    """Wait until every key posted is handled: read, its turn come and gone, none held (a busy machine with
    two cores takes a while), then a moment for what they set going."""
    app = pilot.app
    for _ in range(int(most / 0.05)):
        await pilot.pause(0.05)
        if app._message_queue.empty() and not app.typed and app.held_keys is None:
            await pilot.pause(0.2)
            return
    raise AssertionError("the keys typed were never all handled")


async def test_arrows_typed_in_one_burst_each_move_the_status_of_a_mark(station):
    """"sick is four down": four arrows and Enter sent at once recorded "absent" (each arrow read the status
    before the last one had moved)."""
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_session(pilot, "Physics")
        await mark_dialog_for(pilot, "S3")
        burst(app, ["down", "down", "down", "down", "up", "down", *"flu", "enter"])
        await keys_handled(pilot)
        (mark,) = station.store.marks(station.active.id)
        assert (mark.status, mark.reason) == ("sick", "flu")


async def test_arrows_typed_in_one_burst_before_tab_choose_the_status_not_the_field(station):
    """Three arrows, a reason, Tab and the rest in one burst recorded "present": the reason field's own
    arrow binding (a scroll that does nothing) sent the arrows the slow way, and the Tab, which goes at
    once, had moved the focus before they came."""
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_session(pilot, "Physics")
        await mark_dialog_for(pilot, "S3")
        burst(app, ["down", "down", "down", *"flu", "tab", "enter"])
        await keys_handled(pilot)
        (mark,) = station.store.marks(station.active.id)
        assert (mark.status, mark.reason) == ("excused", "flu")


async def test_editing_keys_typed_in_one_burst_act_where_they_were_typed(station):
    """"Physcs", two backspaces, "ics", Enter in one burst: the session is "Physics", not "Physcsi"; a
    backspace before Tab edits the field it was typed in."""
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        burst(app, ["s", *"Physcs", "backspace", "backspace", *"ics", "tab", *"123", "backspace", "left", *"9",
                    "shift+tab", "end", "backspace", "backspace", *"cs", "tab"])
        await keys_handled(pilot)
        assert (app.screen.query_one("#name").value, app.screen.query_one("#late").value) == ("Physics", "192")
        burst(app, ["enter"])
        await keys_handled(pilot)
        assert station.active is not None and station.active.name == "Physics"


async def test_the_arrows_in_the_pin_field_of_the_mark_dialog_move_between_fields_not_the_status(station):
    with_pin(station)
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_session(pilot, "Physics", pin="246813")
        await mark_dialog_for(pilot, "S3")
        await pilot.press("down", *"bus", "tab")  # late, a reason, then the PIN field
        await pilot.pause()
        assert app.screen.focused.id == "pin"
        await pilot.press("down")  # as people do to reach the next field
        await pilot.pause()
        assert app.screen.query_one("#status-late").value and app.screen.focused.id != "pin"


@pytest.mark.slow
async def test_enter_on_a_person_shows_the_whole_reason_of_a_mark_at_80x24(station):
    reason = "excused: at the regional chemistry olympiad all day, letter from the head of year on file"
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_session(pilot, "Physics")
        await mark_dialog_for(pilot, "S3")
        app.screen.query_one("#status-excused").value = True  # an absence code, beside present, late, absent
        app.screen.query_one("#reason").value = reason
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("tab")  # the session pane, Cleo's row cut short
        app.query_one("#session-table").select("S3")
        assert reason not in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        text = " ".join(line.strip(" │█") for line in screen_text(app).splitlines())
        assert "Cleo Diaz" in text and "excused (was absent) by staff" in text
        assert " ".join(reason.split()) in " ".join(text.split())
        assert app.screen.query_one(".dialog").region.height <= 16  # as tall as its lines, not the screen
        await pilot.press("enter")
        assert type(app.screen).__name__ == "Screen"


async def test_enter_after_a_capture_moves_on_and_never_takes_the_samples_again(station):
    """Samples reviewed, Enter in another field: the person now at the door must not replace them."""
    with_pin(station)
    station.worker.ready()
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await enroll_captured(pilot, station)
        captures = sum(isinstance(c, ev.StartCapture) for c in station.worker.sent)
        app.screen.query_one("#groups").focus()
        await pilot.press(*"3A", "enter")
        await pilot.pause()
        assert sum(isinstance(c, ev.StartCapture) for c in station.worker.sent) == captures
        assert app.screen.query_one("#samples").row_count == 2 and app.screen.focused.id != "groups"


async def test_after_a_capture_the_cursor_is_in_the_pin_and_it_is_in_sight_at_80x24(station):
    with_pin(station)
    station.worker.ready()
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await enroll_captured(pilot, station)
        await pilot.pause()
        pin = app.screen.query_one("#pin")
        assert pin.has_focus and pin.region.y >= 0 and pin.region.bottom <= 24
        await pilot.press(*"246813", "enter")
        await pilot.pause()
        assert [p.images for p in station.people() if p.name == "Eva Holt"] == [2]


async def test_a_pin_typed_while_the_camera_captures_never_lands_in_the_name(station):
    """Typed ahead during the 3 s capture, the PIN went into the name field in clear ("Gus Newman246813") and
    was saved as the person's name, then shown in every list and sheet."""
    with_pin(station)
    station.worker.ready()
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("e", *"Gus Newman", "enter", *"246813", "enter")  # the PIN, and Enter to save
        await pilot.pause()
        assert app.screen.query_one("#name").value == "Gus Newman"
        station.worker.feed(capture_event(station))
        await until(pilot, lambda: "Gus Newman" in [p.name for p in station.people()])
        assert [p.images for p in station.people() if p.name == "Gus Newman"] == [2]
        assert not any("246813" in p.name for p in station.people())


def in_view(widget) -> bool:
    """The widget lies inside the visible part of its dialog's scrolled body."""
    body = widget.screen.query_one(".dialog-body").region
    return widget.region.height > 0 and body.contains_region(widget.region)


@pytest.mark.parametrize("size", [(80, 24), (60, 20)])
async def test_after_a_crowded_capture_the_staff_name_and_pin_are_in_sight(station, size):
    """Named accounts, a capture with both warnings: the field with the cursor was scrolled out of sight
    (typing went there, unseen)."""
    from faceattend_tui.attendance.staff import add_account

    add_account(station.store, "Kim", "admin", "246813", "setup")
    add_account(station.store, "Lou", "staff", "135792", "setup")
    station.worker.ready()
    app = StationApp(station)
    async with app.run_test(size=size) as pilot:
        await pilot.press("e", *"Eva Holt", "enter")
        await pilot.pause()
        station.worker.feed(dataclasses.replace(capture_event(station), crowded=True))
        await until(pilot, lambda: app.screen.query_one("#samples").row_count == 2)
        name = app.screen.query_one("#staff")
        await until(pilot, lambda: name.has_focus and in_view(name))
        await pilot.press(*"Kim", "tab")
        pin = app.screen.query_one("#pin")
        await until(pilot, lambda: pin.has_focus and in_view(pin))


async def test_the_export_dialog_with_a_staff_name_and_pin_fits_80x24_without_scrolling(station):
    from faceattend_tui.attendance.staff import add_account

    add_account(station.store, "Kim", "admin", "246813", "setup")
    add_account(station.store, "Lou", "staff", "135792", "setup")
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("x")
        await until(pilot, lambda: bool(app.screen.query("#pin")) and app.screen.query_one("#pin").display)
        await until(pilot, lambda: app.screen.query_one(".dialog-body").max_scroll_y == 0 and all(
            in_view(app.screen.query_one(f"#{field}")) for field in ("format", "bom", "staff", "pin")))


@pytest.mark.slow
async def test_enter_in_the_pin_saves_captured_samples(station):
    with_pin(station)
    station.worker.ready()
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await enroll_captured(pilot, station)
        app.screen.query_one("#pin").focus()
        await pilot.press(*"000000", "enter")  # a wrong PIN: said in the dialog, the samples kept
        await pilot.pause()
        assert "wrong PIN" in str(app.screen.query_one("#dialog-error").render())
        assert app.screen.query_one("#samples").row_count == 2 and app.screen.query_one("#pin").value == ""
        await pilot.press(*"246813", "enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "Screen"
        assert [p.images for p in station.people() if p.name == "Eva Holt"] == [2]


@pytest.mark.slow
async def test_a_roster_import_that_fails_keeps_its_dialog_and_one_that_works_closes_it(station, tmp_path):
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        app.action_import_roster()
        await pilot.pause()
        await pilot.press(*str(tmp_path / "missing.csv"), "enter")
        await until(pilot, lambda: "missing.csv" in str(app.screen.query_one("#dialog-error").render()))
        assert type(app.screen).__name__ == "ImportScreen" and not app.screen.query_one("#ok").disabled
        (tmp_path / "roster.csv").write_text("id,name,groups\nS9,Ivy Park,3A\n", encoding="utf-8")
        app.screen.query_one("#path").value = str(tmp_path / "roster.csv")
        await pilot.press("enter")
        await until(pilot, lambda: type(app.screen).__name__ == "Screen")
        assert station.person("S9").name == "Ivy Park"


def stepped_photos(monkeypatch, tmp_path):
    """A roster of one person whose six photos are read one at a time, the reading held until the test
    sets the returned event; the photos read so far go into the returned list."""
    import threading

    from faceattend_tui.gallery.extract import Report
    from faceattend_tui.station import actions, people

    go_on, read = threading.Event(), []

    class StepExtractor:
        def __init__(self, *args, progress, stop, **kwargs):
            self.progress, self.stop = progress, stop

        def run(self):
            for done in range(1, 7):
                self.progress(done, 6, f"p{done}")
                read.append(done)
                go_on.wait(10)
                if self.stop():
                    return Report(stopped=(done, 6))
            return Report()

    monkeypatch.setattr(people, "Extractor", StepExtractor)
    monkeypatch.setattr(actions.FaceEngine, "from_settings", lambda *args, **kwargs: None)
    cv2.imwrite(str(tmp_path / "ivy.jpg"), np.full((120, 100, 3), 128, np.uint8))
    (tmp_path / "roster.csv").write_text("id,name,groups,photo\nS9,Ivy Park,3A,ivy.jpg\n", encoding="utf-8")
    return go_on, read


async def import_roster(pilot, path) -> None:
    pilot.app.action_import_roster()
    await pilot.pause()
    await pilot.press(*str(path), "enter")


@pytest.mark.slow
async def test_escape_stops_a_roster_imports_photos_between_two_people_and_says_how_far_it_got(
        station, tmp_path, monkeypatch):
    go_on, _ = stepped_photos(monkeypatch, tmp_path)
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await import_roster(pilot, tmp_path / "roster.csv")
        said = lambda: str(app.screen.query_one("#dialog-error").render())  # noqa: E731
        await until(pilot, lambda: "reading photos: 1 of 6" in said())
        await pilot.press("escape")
        assert type(app.screen).__name__ == "ImportScreen" and "stopping after this person" in said()
        go_on.set()
        await until(pilot, lambda: any("stopped after 1 of 6 read; import the file again" in str(n.message)
                                       for n in app._notifications))
        assert type(app.screen).__name__ == "Screen"
        assert station.person("S9").name == "Ivy Park"  # the people stay imported


@pytest.mark.slow
async def test_a_hang_up_during_a_roster_imports_photos_stops_them_between_two_people(station, tmp_path, monkeypatch):
    """The screen closes as q does; it does not wait for hundreds of photos while nobody records check-ins."""
    go_on, read = stepped_photos(monkeypatch, tmp_path)
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await import_roster(pilot, tmp_path / "roster.csv")
        await until(pilot, lambda: read == [1])
        app.exit()  # what a hang-up or a service stop calls
        go_on.set()
    assert read == [1] and station.person("S9").name == "Ivy Park"


async def test_answers_that_come_as_the_screen_closes_are_said_without_a_crash(station, monkeypatch):
    """A hang-up takes the panes down while a dialog's request (a roster import, a session start, an
    erasure) or a read of the log may still be ending: what comes back must not look for panes that are
    gone (an import's summary failed a suite run once)."""
    from faceattend_tui.tui.screens import HistoryChoice

    ann = next(p for p in station.people() if p.name == "Ann Lee")
    session = station.start_session("Maths")
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.query_one("#roster-table").row_count == 4)
        for pane in app.query("LivePane, RosterPane, SessionPane"):
            await pane.remove_children()  # as Textual's teardown does, children first
        with monkeypatch.context() as closing:
            closing.setattr(StationApp, "is_running", property(lambda self: False))  # as it is then
            app._imported(["added 1, changed 0, left 0 unchanged"])
            app._started(session)
            app._removed((True, ann))
            app._history_choice(HistoryChoice("show", session.id))
        await pilot.pause()
        said = [str(n.message) for n in app._notifications]
        assert any("added 1" in line for line in said) and any("erased with all" in line for line in said)
        assert not any("error" in line for line in said)


async def test_a_dialog_opened_as_the_screen_closes_does_not_end_it_on_an_error(station, monkeypatch):
    """A key or a click that opens the audit list just before a hang-up: the list's widgets are taken down
    before its mount is handled, which looked for its fields and ended the station with a traceback."""
    from faceattend_tui.tui.screens import AuditScreen

    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, AuditScreen))
        audit = app.screen
        await audit.remove_children()  # as Textual's teardown does
        with monkeypatch.context() as closing:
            closing.setattr(StationApp, "is_running", property(lambda self: False))
            audit.on_mount()


async def test_a_bug_that_ends_the_screen_is_written_to_the_station_log_and_shows_no_names(station, monkeypatch,
                                                                                           capfd):
    """The terminal's traceback goes with the SSH session: station.log keeps it, as it keeps the others. What
    the terminal shows leaves out the values of local names (people's names, records)."""
    def broken(self) -> None:
        someone = "-".join(["Cleo", "Tan"])
        raise ZeroDivisionError("a bug" + someone[:0])

    monkeypatch.setattr(StationApp, "action_help", broken)
    with pytest.raises(ZeroDivisionError):
        async with StationApp(station).run_test(size=SIZE) as pilot:
            await pilot.press("question_mark")
    text = (station.settings.data / "station.log").read_text()
    assert "internal error: the screen stopped" in text and "ZeroDivisionError: a bug" in text
    shown = capfd.readouterr().err
    assert "ZeroDivisionError: a bug" in shown and "Cleo-Tan" not in shown


async def test_a_pasted_name_with_control_characters_is_shown_as_codes_and_not_stored(station):
    station.worker.ready()
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        await pilot.pause()
        app.screen.query_one("#name").value = "\x1b[2J=cmd"
        await pilot.pause()
        # said as it is typed, before the capture, with the codes shown, not run
        assert str(app.screen.query_one("#enroll-who").render()) == \
            "the name '\\x1b[2J=cmd' holds a control character; not stored"
        await pilot.press("enter")
        await pilot.pause()
        station.worker.feed(capture_event(station))
        await until(pilot, lambda: app.screen.query_one("#samples").row_count == 2)
        await pilot.click("#ok")
        await pilot.pause()
        assert "holds a control character; not stored" in str(app.screen.query_one("#dialog-error").render())
        assert len(station.people()) == 4


async def test_a_dialog_shows_its_own_keys_not_the_roster_s(station):
    """Opened from the roster, whose Enter shows a person: the bottom line names the dialog's keys."""
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        app.query_one("#roster-table").focus()
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        keys = " ".join(str(key.render()) for key in app.screen.query("FooterKey"))
        assert "Cancel" in keys and "Details" not in keys


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_the_keys_beside_a_dialogs_buttons_are_never_cut(station, size):
    app = StationApp(station)
    async with app.run_test(size=size) as pilot:
        await start_session(pilot, "Physics")
        await mark_dialog_for(pilot, "S3")
        inside = [line.split("█")[1] for line in screen_text(app).splitlines() if line.count("█") >= 2]
        hint = [line for line in inside if "esc: cancel" in line]  # whole, on the buttons' row
        assert len(hint) == 1 and "↑↓: status · esc: cancel" in hint[0] and "Mark" in hint[0], screen_text(app)


async def test_an_arrow_typed_just_before_a_command_moves_first(station):
    """"Down d" in one burst removed the person above the one moved to (the arrow came back from the list
    after the command had opened its dialog)."""
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("tab")  # the roster, Ann highlighted
        await pilot.pause()
        burst(app, ["down", "down", "d"])
        await keys_handled(pilot)
        assert "Cleo Diaz" in app.screen.title_text()


async def test_a_name_found_with_the_filter_and_enter_is_marked_by_the_key_typed_next(station):
    """"/cleo", Enter and "m" in one burst typed the m into the filter."""
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_session(pilot, "Physics")
        burst(app, ["slash", *"cleo", "enter", "m"])
        await keys_handled(pilot)
        assert isinstance(app.screen, MarkScreen) and app.screen.person == "Cleo Diaz (S3)"


async def test_the_highlight_of_the_status_list_follows_the_arrows_typed_in_the_reason(station):
    from textual.widgets import RadioSet

    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_session(pilot, "Physics")
        await mark_dialog_for(pilot, "S3")
        await pilot.press("down", "down", "shift+tab", "down", "enter")  # absent, then in the list: one further
        await pilot.pause()
        statuses = app.screen.query_one(RadioSet)
        assert app.screen.statuses[statuses.pressed_index] == "excused"


async def test_home_and_end_go_to_the_first_and_last_session_of_the_history(station):
    for name in ("Maths", "Physics", "Art"):
        station.start_session(name)
        station.stop_session()
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("h")
        await until(pilot, lambda: app.screen.query_one("#sessions").row_count == 3)
        table = app.screen.query_one("#sessions")
        await pilot.press("end")
        assert table.cursor_row == 2 and table.scroll_x == 0
        await pilot.press("home")
        assert table.cursor_row == 0


async def test_a_past_session_shown_from_the_history_comes_into_view_on_a_narrow_screen(station):
    """At 80x24 one pane shows at a time: Enter on a session closed the list and loaded it behind the
    live pane, so it seemed to do nothing."""
    station.start_session("Maths")
    station.stop_session()
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.current_pane == "live"
        await pilot.press("h")
        await until(pilot, lambda: app.screen.query_one("#sessions").row_count == 1)
        await pilot.press("enter")
        await pilot.pause()
        assert app.current_pane == "session" and app.query_one("#session-table").has_focus
        assert app.viewing_session == station.sessions()[0].id


async def test_the_running_session_shown_from_the_history_stays_live_and_takes_marks(station):
    """Enter on the running session in `h` froze its pane (still "running", arrivals not shown) and marks
    were refused there as for a past session."""
    app = StationApp(station)
    async with app.run_test(size=(160, 48)) as pilot:
        await start_session(pilot, "Maths")
        await pilot.press("h")
        await until(pilot, lambda: app.screen.query_one("#sessions").row_count == 1)
        await pilot.press("enter")
        await pilot.pause()
        assert app.viewing_session is None
        checkin(station, "Ann Lee", 1)
        await until(pilot, lambda: "Ann Lee" in " ".join(" ".join(map(str, row)) for row in
                                                         table_rows(app, "#session-table")
                                                         if "present" in " ".join(map(str, row))))
        assert app.check_action("mark", ()) is not False


async def test_the_screen_does_not_carry_on_a_session_left_running_since_yesterday(tmp_path):
    from test_station import a_session_left_running

    started = datetime(2026, 12, 3, 8, 0).astimezone()
    a_session_left_running(tmp_path, started, timedelta(minutes=20))
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door",
                   clock=FakeClock(started + timedelta(days=1, hours=1)))
    made.open()
    try:
        app = StationApp(made)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert made.active is None
            assert any("left running since 2026-12-03 08:00" in str(n.message) for n in app._notifications)
    finally:
        made.close()


async def test_a_hang_up_or_a_stop_signal_closes_the_screen_as_q_does(station):
    import os
    import signal

    from faceattend_tui.tui.terminal import stop_on_signals

    app = StationApp(station)
    taken = stop_on_signals(app.exit)  # as `faceattend` does before it draws the screen
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            os.kill(os.getpid(), signal.SIGTERM)  # a service stop, or SIGHUP: the SSH session closed
            await pilot.pause(0.3)
            assert not app.is_running  # the app ended: the station's close runs next, writing what it holds
        os.kill(os.getpid(), signal.SIGTERM)  # during that close: ignored, the close goes on whole
    finally:
        for sig in taken:
            signal.signal(sig, signal.SIG_DFL)


def test_a_terminal_whose_other_end_closed_is_seen_as_gone():
    import os
    import pty

    from faceattend_tui.tui.terminal import terminal_gone

    master, slave = pty.openpty()
    try:
        assert not terminal_gone(slave)
        os.close(master)  # the SSH session or the tmux pane closed
        assert terminal_gone(slave)  # reading it would return nothing at once, over and over
    finally:
        os.close(slave)


async def test_the_screen_closes_when_its_terminal_is_gone_without_a_hang_up(station, monkeypatch):
    from faceattend_tui.tui import app as app_module

    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.on_terminal = True  # started on a terminal (`setsid` keeps the hang-up from reaching it)
        monkeypatch.setattr(app_module, "terminal_gone", lambda: True)
        await pilot.pause(1.3)  # the next tick sees it
        assert not app.is_running


async def test_a_pin_typed_and_left_unused_is_forgotten_so_nobody_else_acts_in_that_name(station, monkeypatch):
    from faceattend_tui.tui.screens import base

    with_pin(station)
    monkeypatch.setattr(base, "PIN_FORGOTTEN_AFTER", 0.5)  # a minute, in the station
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_session(pilot, "Physics", pin="246813")
        await mark_dialog_for(pilot, "S3")
        await pilot.press(*"doctor visit", "tab", "tab")
        app.screen.query_one("#pin").focus()
        await pilot.press(*"246813")
        await pilot.pause(1.0)  # her connection dropped; someone else attaches and presses Enter
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MarkScreen) and app.screen.query_one("#pin").value == ""
        assert "type it again" in app.screen.query_one("#pin").placeholder
        assert station.store.marks(station.active.id) == []


async def test_a_pin_is_kept_while_its_staff_member_goes_on_typing_in_the_dialog(station, monkeypatch):
    from faceattend_tui.tui.screens import base

    with_pin(station)
    monkeypatch.setattr(base, "PIN_FORGOTTEN_AFTER", 1.0)
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_session(pilot, "Physics", pin="246813")
        await mark_dialog_for(pilot, "S3")
        app.screen.query_one("#pin").focus()
        await pilot.press(*"246813")
        app.screen.query_one("#reason").focus()
        for key in "doctor visit":  # the reason typed after the PIN, slowly
            await pilot.press(key)
            await pilot.pause(0.15)
        assert app.screen.query_one("#pin").value == "246813"
        await until(pilot, lambda: app.screen.query_one("#pin").value == "", tries=100)  # left alone: forgotten


async def test_save_right_after_the_name_is_changed_judges_the_warnings_for_the_name_as_typed(station):
    station.worker.ready()
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await capture_for_ann(pilot)
        station.worker.feed(capture_event(station, looks_like="Ann Lee"))  # her own face: no warning
        await until(pilot, lambda: app.screen.query_one("#samples").row_count == 2)
        app.screen.query_one("#name").focus()
        await pilot.press("end", "y", "ctrl+s")  # "Ann Leey", saved before its answer came back
        await pilot.pause()
        assert type(app.screen).__name__ == "EnrollScreen" and "Ann Leey" not in [p.name for p in station.people()]
        assert "press Save (ctrl+s) again" in str(app.screen.query_one("#dialog-error").render())
        app.screen.query_one("#name").value = "Zed Mo"  # a warning said for one name is not confirmed for another
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Zed Mo" not in [p.name for p in station.people()]


def test_an_imports_totals_and_photo_lines_are_never_cut_from_the_screens_message():
    from faceattend_tui.tui.actions import import_summary

    lines = ["added 400, changed 0, left 0 unchanged", *[f"  added T{n} Person {n}" for n in range(400)],
             "photos: 400 new of 400", "photos: stopped after 120 of 400 read; import the file again to read the rest",
             "  skipped: a.jpg: no usable face found"]
    shown = import_summary(lines)
    assert len(shown) == 12 and shown[:3] == lines[:1] + lines[401:403]
    assert shown[-1] == "... and 393 more lines" and shown[3] == "  added T0 Person 0"
    assert import_summary(lines[:3]) == lines[:3]


def test_an_import_that_many_join_the_running_session_by_keeps_its_line_of_names_short():
    """Sixty newcomers' names in one line wrapped over twenty rows and pushed the totals off an 80x24 screen."""
    from faceattend_tui.station.people import names_listed

    names = [f"Pupil Number{n}" for n in range(60)]
    line = names_listed(names)
    assert len(line) < 240 and line.startswith("Pupil Number0, Pupil Number1, ")
    shown = line.split(" and ")[0].count(", ") + 1
    assert line.endswith(f" and {60 - shown} more")
    assert names_listed(names[:3]) == "Pupil Number0, Pupil Number1, Pupil Number2"


async def test_a_viewer_changes_their_own_pin_from_the_running_station(station):
    from faceattend_tui.attendance.security import Credentials
    from faceattend_tui.attendance.staff import add_account

    add_account(station.store, "Ada", "admin", "246813", "setup")
    add_account(station.store, "Vic", "viewer", "975310", "setup")
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        app.action_own_pin()
        await pilot.pause()
        assert type(app.screen).__name__ == "OwnPinScreen" and app.screen.focused.id == "staff"
        await pilot.press(*"Vic", "enter", *"975310", "enter", *"123456", "enter", *"480915", "enter")
        await pilot.pause()
        assert "the two new PINs differ" in str(app.screen.query_one("#dialog-error").render())
        assert app.screen.focused.id == "again"  # typed again where it differed
        await pilot.press(*"123456", "enter")  # the same, but a run of digits: refused by the station
        await until(pilot, lambda: "first one guessed" in str(app.screen.query_one("#dialog-error").render()))
        assert app.screen.focused.id == "new-pin"  # both new fields empty, typing starts at the first
        await pilot.press(*"480917", "enter", *"480917", "enter")
        await until(pilot, lambda: type(app.screen).__name__ == "Screen")
        assert station.staff_for("export", Credentials("Vic", "480917")) == "Vic"
        assert [e.action for e in station.store.audit_log()][-1] == "staff.pin"


async def test_a_service_stop_that_came_before_the_screen_was_up_closes_it_once_up(station):
    from faceattend_tui.tui import terminal

    terminal.STOP_BEFORE_DRAWN.set()  # a SIGTERM while the station started: no loop yet to stop
    try:
        app = StationApp(station)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert not app.is_running
    finally:
        terminal.STOP_BEFORE_DRAWN.clear()


def test_a_rate_just_under_the_line_reads_under_it():
    from faceattend_tui.tui.screens.report import floor_percent

    assert [floor_percent(r) for r in (35 / 44, 0.8, 1.0, None)] == ["79%", "80%", "100%", "-"]


def shown_lines(app: StationApp, table_id: str) -> list[str]:
    """The lines a table draws on screen, its header first."""
    table = app.query_one(table_id)
    return [table.render_line(y).text.rstrip() for y in range(table.row_count + 1)]


async def test_lists_show_whole_statuses_and_tell_namesakes_apart(tmp_path):
    """Two absence codes of a site, "school-trip" and "school-sick", both read "school-"; two Ann Lees read
    alike in every list and in the mark dialog; a face held by the liveness check read "no sign of", under
    the name of its photo folder."""
    import time

    (tmp_path / "faceattend.toml").write_text('absence_codes = "school-trip, school-sick"\n')
    with station_of(tmp_path, [("Ann Lee", "ann-1"), ("Ann Lee", "ann-2"), ("Bob Marr", "bob")]) as made:
        app = StationApp(made)
        async with app.run_test(size=(80, 24)) as pilot:
            await start_session(pilot, "Physics")
            made.mark("S2", "school-trip", "museum")
            made.mark("S3", "school-sick", "flu")
            made.worker.feed(ev.Waiting(name="ann-1", track=4, time=time.time(), asked="blink"))
            await until(pilot, lambda: app.query_one("#live-table").row_count == 1)
            app.refresh_panes()
            await pilot.pause()
            waiting = shown_lines(app, "#live-table")[1]  # the name, not the photo folder ("ann-1")
            assert "Ann Lee" in waiting and "ann-1" not in waiting and "no sign of life yet" in waiting
            await pilot.press("tab")  # the roster
            await pilot.pause()
            roster = shown_lines(app, "#roster-table")
            assert any("Ann Lee (S1)" in line for line in roster) and any("Ann Lee (S2)" in line for line in roster)
            assert any("school-trip" in line for line in roster) and any("school-sick" in line for line in roster)
            app.query_one("#roster-table").select("S2")
            await pilot.press("m")
            await pilot.pause()
            assert isinstance(app.screen, MarkScreen) and app.screen.title_text() == "Mark Ann Lee (S2)"
            await pilot.press("escape")


async def test_an_export_from_the_history_names_the_session_by_its_name(station):
    """From the list of sessions, `x` said "Session: session 1", where the main screen's says its name."""
    from faceattend_tui.tui.screens.export import ExportScreen

    station.start_session("Maths 3A")
    station.stop_session()
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("h")
        await until(pilot, lambda: app.screen.query_one("#sessions").row_count == 1)
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ExportScreen) and app.screen.session_label != "...")
        assert app.screen.session_line() == "Session: Maths 3A, or a date range:"


async def test_an_imports_message_keeps_its_totals_on_an_80x24_screen(station, tmp_path):
    """Twelve lines of a roster import, each wrapped over two or three rows of a notice, were taller than
    the screen: the totals line was off its top."""
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,groups\n" + "".join(f"N{n:03d},Newcomer Number{n} Longname,Year 3 Physics\n"
                                                  for n in range(40)))
    app = StationApp(station)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        app._imported(station.import_roster(roster))
        await pilot.pause()
        shown = [line for n in app._notifications for line in str(n.message).splitlines()]
        assert shown[0].startswith("added 40") and len(shown) <= (24 - 4) // 3 and shown[-1].endswith("more lines")


async def test_a_keys_long_line_in_the_help_wraps_under_its_words_not_under_the_keys(station):
    """At 80 columns a long description went on at the dialog's edge, under the keys."""
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        lines = screen_text(app).splitlines()
        first = next(i for i, line in enumerate(lines) if "start / stop a session" in line)
        words = lines[first].index("start / stop")
        assert lines[first + 1][:words].strip("█ ") == "" and lines[first + 1][words] != " "


@pytest.mark.parametrize("name", ["Physics", "yoga", "news"])
async def test_a_session_name_typed_ahead_into_the_stop_question_does_not_stop_the_session(station, name):
    """No PIN, Maths running: "s", "Physics", Enter in one burst opened the stop question, whose y in "Physics"
    stopped Maths (and "sics" started a session named "ics"); "yoga" stopped it by its first letter; the n of
    "news" said no, and "e" opened the enroll dialog, which took the rest."""
    from faceattend_tui.tui.screens.confirm import WARY_SECONDS, ConfirmScreen

    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_session(pilot, "Maths")
        burst(app, ["s", *name, "enter"])
        await keys_handled(pilot)
        assert station.active is not None and station.active.name == "Maths"
        assert [type(s) for s in app.screen_stack[1:]] == [ConfirmScreen]
        assert f"{name!r} is no answer: typed ahead?" in str(app.screen.query_one("#dialog-error").render())
        await pilot.pause(WARY_SECONDS)
        await pilot.press("y")  # read, then answered
        await until(pilot, lambda: station.active is None)
        assert [s.name for s in station.store.sessions()] == ["Maths"]


async def test_clicks_on_stop_too_soon_after_text_typed_ahead_do_not_put_the_answer_off(station):
    """Each click on Stop within a second of the last click was refused and began the second again: only a
    click after a full second without any took."""
    from faceattend_tui.tui.screens.confirm import WARY_SECONDS, ConfirmScreen

    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_session(pilot, "Maths")
        burst(app, ["s", *"Physics"])
        await keys_handled(pilot)
        for pause in (0.0, 0.6 * WARY_SECONDS, 0.5 * WARY_SECONDS):
            await pilot.pause(pause)
            if isinstance(app.screen, ConfirmScreen):  # (a busy machine: a second may have passed already)
                await pilot.click("#ok")
        await until(pilot, lambda: station.active is None)


async def test_the_command_palette_opened_and_paged_in_one_burst_does_not_end_the_station(station):
    """ctrl+p and PageUp read together: Textual's palette list, not laid out yet, raised KeyError and the
    station exited while its session ran."""
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_session(pilot, "Maths")
        for key in ("pageup", "pagedown", "pageup"):
            burst(app, ["ctrl+p", key])
            await keys_handled(pilot)
            assert app.is_running
            await pilot.press("escape")
            await pilot.pause()
        assert station.active is not None


async def test_the_command_palette_over_a_dialog_offers_no_main_screen_command(station):
    """ctrl+p over the start dialog ran "start a session" again (four start dialogs stacked), or "filter the
    roster", whose hidden field behind the dialog then took what staff typed."""
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s")
        await pilot.pause()
        dialog = app.screen
        titles = {c.title for c in app.get_system_commands(dialog)}
        assert "Screenshot" in titles and not titles & {b.tooltip or b.description for b in app.MAIN_BINDINGS}
        main = {c.title for c in app.get_system_commands(app.screen_stack[0])}
        assert {b.tooltip or b.description for b in app.MAIN_BINDINGS} <= main


async def test_a_pin_left_in_a_dialog_under_the_command_palette_is_forgotten_after_a_minute(tmp_path, monkeypatch):
    """A PIN typed into the stop question, then ctrl+p left open a minute: back in the dialog, Enter stopped the
    session in the admin's name (left alone, the dialog forgets it)."""
    import faceattend_tui.tui.screens.base as base
    from faceattend_tui.attendance.staff import add_account

    enroll_fake_people(tmp_path, ["Ann"])
    station = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door")
    station.open()
    add_account(station.store, "admin", "admin", "Zq8-vault", "setup")
    clock = [1000.0]
    monkeypatch.setattr(base, "monotonic", lambda: clock[0])
    app = StationApp(station)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await start_session(pilot, "Maths", pin="Zq8-vault")
            await pilot.press("s")
            await pilot.pause()
            app.screen.query_one("#pin").focus()
            await pilot.press(*"Zq8-vault", "ctrl+p")
            await pilot.pause()
            clock[0] += base.PIN_FORGOTTEN_AFTER + 1  # the palette's timer-free minute
            await pilot.press("escape", "enter")
            await until(pilot, lambda: station.active is not None and app.screen.query_one("#pin").value == "")
    finally:
        station.close()


def clicks_at(app, x: int, y: int, times: int = 2) -> None:
    """A double (or triple) click as it arrives over SSH: presses and releases, as the terminal sends them
    (Textual makes the clicks), all read before the first is handled."""
    from textual import events

    for _ in range(times):
        for kind in (events.MouseDown, events.MouseUp):
            mouse_at(app, kind, x, y, button=1)


def held(station: Station, names: list[str]) -> None:
    """Sessions started and stopped one after another: past sessions, and their lines in the audit log."""
    for name in names:
        station.start_session(name)
        station.stop_session()


async def list_opened(pilot, key: str, table: str):
    """The list a key opens, once its rows are read."""
    await pilot.press(key)
    await until(pilot, lambda: not pilot.app.screen.busy)
    return pilot.app.screen.query_one(table)


def mouse_at(app, kind, x: int, y: int, button: int = 0, delta_y: int = 0) -> None:
    """One mouse event of a kind at a place on the screen, as the terminal sends it."""
    app.post_message(kind(widget=None, x=x, y=y, delta_x=0, delta_y=delta_y, button=button, shift=False, meta=False,
                          ctrl=False, screen_x=x, screen_y=y))


async def test_a_double_click_that_closes_the_command_palette_does_not_end_the_station(station):
    """The second click of a double click outside the palette closed it again: the main screen's turn, and
    the station ended (ScreenStackError)."""
    app = StationApp(station)
    async with app.run_test(size=(150, 36)) as pilot:
        await start_session(pilot, "Maths")
        await pilot.press("ctrl+p")
        await pilot.pause()
        clicks_at(app, 100, 33)  # below its list
        await pilot.pause(0.5)
        assert app.is_running and len(app.screen_stack) == 1 and station.active is not None


async def test_a_triple_click_on_a_past_session_shows_it_and_closes_that_list_only(station):
    """The clicks of a triple click on a past session read at once: the later ones closed the main screen and
    ended the station (ScreenStackError)."""
    held(station, ["Maths", "Physics"])
    app = StationApp(station)
    async with app.run_test(size=(150, 36)) as pilot:
        table = await list_opened(pilot, "h", "#sessions")
        clicks_at(app, table.region.x + 5, table.region.y + 1 + table.cursor_row, times=3)
        await pilot.pause(0.5)
        assert app.is_running and len(app.screen_stack) == 1


async def test_a_command_chosen_twice_in_the_palette_opens_its_dialog_once(station):
    """Two clicks on "audit log" in one burst: the second, read by the palette as it closed, opened a second
    audit list over the first (four deep in a monkey's run)."""
    app = StationApp(station)
    async with app.run_test(size=(150, 36)) as pilot:
        await pilot.press("ctrl+p", *"audit log")
        await until(pilot, lambda: app.screen.query_one("CommandList").option_count == 1)
        listed = app.screen.query_one("CommandList").content_region
        clicks_at(app, listed.x + 5, listed.y)
        await until(pilot, lambda: type(app.screen).__name__ == "AuditScreen")
        await pilot.pause(0.5)  # time for a second one to come
        assert [type(s).__name__ for s in app.screen_stack] == ["Screen", "AuditScreen"]


async def test_a_mark_written_while_the_command_palette_covers_its_dialog_closes_that_dialog_once(station,
                                                                                                 monkeypatch):
    """The mark came back under the palette: the palette closed instead, the dialog stayed with its buttons
    on, Enter marked again and the station ended (InvalidStateError). (Ctrl+P typed then waits for the
    answer: the palette is opened as its footer entry clicked would.)"""
    import time

    real = station.mark
    monkeypatch.setattr(station, "mark", lambda *a, **k: time.sleep(0.8) or real(*a, **k))
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_session(pilot, "Physics")
        await mark_dialog_for(pilot, "S3")
        await pilot.press(*"forgot card", "enter")
        app.action_command_palette()
        await until(pilot, lambda: [e.action for e in station.store.audit_log()].count("checkin.mark") == 1)
        await pilot.pause(0.3)  # the mark written meanwhile: its dialog waits under the palette
        assert [type(s).__name__ for s in app.screen_stack] == ["Screen", "MarkScreen", "Palette"]
        await pilot.press("escape")
        await until(pilot, lambda: len(app.screen_stack) == 1)
        assert app.is_running
        await pilot.press("escape")
        await pilot.pause(0.3)
        assert app.is_running
        assert [e.action for e in station.store.audit_log()].count("checkin.mark") == 1


async def test_a_double_click_on_an_audit_entry_shows_it_once(station):
    """Both clicks read at once: the entry opened twice, one over the other, and Escape seemed to do nothing."""
    station.start_session("Maths")
    app = StationApp(station)
    async with app.run_test(size=(150, 36)) as pilot:
        table = await list_opened(pilot, "l", "#audit")
        clicks_at(app, table.region.x + 5, table.region.y + 1 + table.cursor_row)
        await until(pilot, lambda: type(app.screen).__name__ == "DetailScreen")
        await pilot.pause(0.5)  # time for a second one to come
        assert [type(s).__name__ for s in app.screen_stack] == ["Screen", "AuditScreen", "DetailScreen"]



async def test_someone_erased_at_another_door_leaves_the_live_list_here_too(station):
    """Erased at another door: the roster and the session lost her, the live list kept her line (only the
    door that erased her took it away)."""
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await ann_and_bob_in(pilot, station)
        station.remove_person("S1", erase=True)  # the change as this door reads it from the shared log
        app.post_message(msg.RosterChanged(RosterChanged()))
        await until(pilot, lambda: app.query_one("#live-table").row_count == 1)
        assert [row[1] for row in table_rows(app, "#live-table")] == ["Bob Marr"]


@pytest.mark.parametrize("where", ["here", "elsewhere"])
async def test_someone_given_the_organisations_id_by_an_import_keeps_their_line_in_the_live_list(station, tmp_path,
                                                                                                where):
    """A roster import gave Eva (enrolled at the door, a generated id) the school's id: her arrival left the
    live list at the next roster change, as if she had been erased; and after an import here, erasing her
    here left her line behind."""
    station.attendance.add_person("Eva Holt", folder="Eva Holt")
    station.refresh()
    app = StationApp(station)
    async with app.run_test(size=SIZE) as pilot:
        await start_session(pilot, "Physics")
        checkin(station, "Eva Holt", 1)
        await until(pilot, lambda: app.query_one("#live-table").row_count == 1)
        (tmp_path / "roster.csv").write_text("id,name\nS1042,Eva Holt\n", encoding="utf-8")
        lines = station.import_roster(tmp_path / "roster.csv")
        if where == "here":
            app._imported(lines)  # as the import dialog does
        else:
            app.post_message(msg.RosterChanged(RosterChanged()))  # as heard from the shared log
        await until(pilot, lambda: [row[1] for row in table_rows(app, "#live-table")] == ["Eva Holt"])
        erased = station.remove_person("S1042", erase=True)  # her line is hers under the new id: it goes with her
        if where == "here":
            app._removed((True, erased))  # as `d`, erasure, does
        else:
            app.post_message(msg.RosterChanged(RosterChanged()))
        await until(pilot, lambda: app.query_one("#live-table").row_count == 0)


def wheel_at(app, x: int, y: int, notches: int = 1) -> None:
    """Notches of the mouse wheel (down; up when negative) over a place on the screen, as a terminal sends them."""
    from textual import events

    kind = events.MouseScrollDown if notches > 0 else events.MouseScrollUp
    for _ in range(abs(notches)):
        mouse_at(app, kind, x, y, delta_y=1 if notches > 0 else -1)


async def test_the_wheel_over_the_roster_moves_its_highlight_so_m_never_marks_someone_out_of_sight(station):
    """The wheel scrolled the roster and left its highlighted row behind, out of sight: `m` then marked a
    person the staff could not see."""
    for n in range(40):
        station.attendance.add_person(f"Pupil {n:02d}", person_id=f"P{n:02d}", groups=["3A"])
    station.refresh()
    app = StationApp(station)
    async with app.run_test(size=(160, 30)) as pilot:
        table = app.query_one("#roster-table")
        await until(pilot, lambda: table.row_count == 44)
        table.focus()
        await until(pilot, lambda: table.show_vertical_scrollbar)  # laid out with its new rows
        wheel_at(app, table.region.x + 3, table.region.y + 3, notches=12)  # further down than the pane is high
        await pilot.pause()
        top, rows = table.scroll_offset.y, table.size.height - 1
        assert top > 0 and top <= table.cursor < top + rows  # the view moved, the highlight with it
        shown = table.selected
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, MarkScreen) and app.screen.person.endswith(f"({shown})")
        await pilot.press("escape")
        wheel_at(app, table.region.x + 3, table.region.y + 3, notches=-20)  # back up, past the first row
        await pilot.pause()
        assert table.cursor == 0 and table.scroll_offset.y == 0


async def test_the_wheel_over_a_dialogs_list_moves_its_highlight_so_enter_opens_a_row_in_sight(station):
    """As in the roster: the audit log scrolled by the wheel kept its highlight out of sight, and Enter
    opened an entry the staff could not see."""
    held(station, [f"Lesson {n}" for n in range(30)])
    app = StationApp(station)
    async with app.run_test(size=(150, 36)) as pilot:
        table = await list_opened(pilot, "l", "#audit")
        await pilot.pause()
        wheel_at(app, table.region.x + 5, table.region.y + 3, notches=15)
        await pilot.pause()
        top, rows = round(table.scroll_y), table.size.height - table.header_height
        assert top > 0 and top <= table.cursor_row < top + rows


@contextlib.asynccontextmanager
async def mark_dialog_with_pin(station, notifications: bool = False):
    """The station with a PIN, Physics started, the mark dialog open on Cleo (S3)."""
    with_pin(station)
    app = StationApp(station)
    async with app.run_test(size=(80, 24), notifications=notifications) as pilot:
        await start_session(pilot, "Physics", pin="246813")
        await mark_dialog_for(pilot, "S3")
        yield pilot


async def test_two_marks_with_their_pins_typed_in_one_burst_mark_two_people(station):
    """Keys typed while the station checked the first mark's PIN went into its closing dialog or opened
    others on the main screen (the `e` of "dentist" opened enrolment, the PIN landing in a visible field):
    they now wait for the answer, then act on the roster."""
    async with mark_dialog_with_pin(station) as pilot:
        app = pilot.app
        burst(app, [*"doctor", "tab", *"246813", "enter", "down", "m", *"dentist", "tab", *"246813", "enter"])
        await keys_handled(pilot)
        await answered_calls(pilot, ("station-call",))
        marks = {mark.person_id: mark.reason for mark in station.store.marks(station.active.id)}
        assert marks == {"S3": "doctor", "S4": "dentist"}
        assert type(app.screen).__name__ == "Screen"


async def test_keys_typed_after_a_refused_pin_are_not_used_and_the_dialog_says_so(station):
    async with mark_dialog_with_pin(station) as pilot:
        app = pilot.app
        burst(app, [*"doctor", "tab", *"111111", "enter", "down", "m", *"dentist"])
        await keys_handled(pilot)
        await answered_calls(pilot, ("station-call",))
        await keys_handled(pilot)
        assert isinstance(app.screen, MarkScreen)
        said = str(app.screen.query_one("#dialog-error").render())
        assert "wrong" in said and "the 9 keys typed after OK were not used" in said
        assert app.screen.query_one("#pin").value == "" and app.screen.query_one("#reason").value == "doctor"
        assert station.store.marks(station.active.id) == []


async def test_keys_pressed_while_an_answer_took_long_are_not_used_later(station, monkeypatch):
    """Keys pressed during a long answer (a roster import reading photos) were not typed ahead for what
    follows: they do nothing once it comes, and the station says so."""
    from faceattend_tui.tui import keys

    monkeypatch.setattr(keys, "TYPED_AHEAD_FOR", 0.0)  # ten seconds, in the station
    async with mark_dialog_with_pin(station, notifications=True) as pilot:
        app = pilot.app
        burst(app, [*"doctor", "tab", *"246813", "enter", "down", "m"])
        await keys_handled(pilot)
        await answered_calls(pilot, ("station-call",))
        await until(pilot, lambda: "the 2 keys pressed while the station" in screen_text(app))  # a toast
        assert type(app.screen).__name__ == "Screen"
        assert [mark.person_id for mark in station.store.marks(station.active.id)] == ["S3"]


async def test_check_ins_the_disk_refuses_are_said_in_the_header_while_they_wait(station, monkeypatch):
    """The disk refused Ann's check-in: a toast said so and went, and she stayed "absent" with nothing on
    screen to say that her arrival was waiting to be written."""
    from faceattend_tui.attendance import StoreError

    real = station.store.record_checkin
    monkeypatch.setattr(station.store, "record_checkin",
                        lambda c: (_ for _ in ()).throw(StoreError("No space left on device")))
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_session(pilot, "Physics")
        station.worker.checkin("Ann Lee")
        await until(pilot, lambda: "1 check-in waiting for the disk" in str(app.query_one("#header").render()))
        monkeypatch.setattr(station.store, "record_checkin", real)
        await until(pilot, lambda: "waiting for the disk" not in str(app.query_one("#header").render()))
        assert [row[0] for row in table_rows(app, "#live-table")] != []


@pytest.mark.parametrize("name", ["प्रिया शर्मा", "நான் ராஜா", "မောင်"])
async def test_a_name_whose_marks_take_a_column_keeps_every_line_of_the_screen_its_width(tmp_path, name):
    """Hindi, Tamil and Burmese vowel signs take a column on a terminal (and so in tmux) and took none in the
    screen's own measure: a row was three columns too long, and a pane's lines slid apart."""
    from faceattend_tui.text import width

    with station_of(tmp_path, [(name, "s1"), ("Bob Marr", "s2")]) as made:
        app = StationApp(made)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("tab")  # the roster
            await until(pilot, lambda: "Bob Marr" in screen_text(app))
            assert [width(line) for line in screen_text(app).splitlines()] == [80] * 24


@contextlib.contextmanager
def station_of(tmp_path, people: list[tuple[str, str]]):
    """An open station whose people (name, photo folder) have the ids S1, S2 ..."""
    enroll_fake_people(tmp_path, [folder for _, folder in people])
    with open_store(tmp_path, clock=StepClock()) as store:
        att = Attendance(store)
        for number, (name, folder) in enumerate(people, start=1):
            att.add_person(name, person_id=f"S{number}", folder=folder)
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door-1",
                   clock=StepClock())
    made.open()
    try:
        yield made
    finally:
        made.close()
