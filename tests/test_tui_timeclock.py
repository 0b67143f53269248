"""The timetable (t), the audit log (l), and voiding or editing a past session (h), as staff meet them."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from test_tui import burst, checkin, keys_handled, screen_text, start_session, until, with_pin
from test_tui import settled as settled  # noqa: F401 - the fixtures, registered here under their names
from test_tui import station as station  # noqa: F401
from textual.widgets import Button

from faceattend_tui.attendance.staff import add_account
from faceattend_tui.attendance.timetable import Slot
from faceattend_tui.station import AuditFilter
from faceattend_tui.tui.app import StationApp

PIN = "246813"
UNSEEN = [["S2", "Bob Marr", "0", "0.00", "", ""], ["S3", "Cleo Diaz", "0", "0.00", "", ""],
          ["S4", "Dev Rao", "0", "0.00", "", ""]]  # work mode: everyone on the roster, seen or not
BOTH = [(80, 24), (160, 48)]
size_ids = lambda size: f"{size[0]}x{size[1]}"  # noqa: E731


def flat(app) -> str:
    """The top screen's text on one line, borders and wrapping aside."""
    return " ".join(line.strip(" │█▌▐▊▎") for line in screen_text(app).splitlines()).replace("  ", " ")


def rows(app, selector: str) -> list[list[str]]:
    """A dialog's table, as the text of its cells."""
    table = app.screen.query_one(selector)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def error_line(app) -> str:
    return str(app.screen.query_one("#dialog-error").render())


def on_screen(app, selector: str) -> bool:
    """Every widget the selector finds lies inside the terminal (a button cut off cannot be pressed)."""
    found = [w.region for w in app.screen.query(selector) if w.display]
    terminal = app.screen.region
    return bool(found) and all(terminal.contains_region(r) for r in found)


def work_mode(station, **settings) -> None:
    """The station in work mode: each day's sightings are kept, sessions or not."""
    import dataclasses

    from faceattend_tui.attendance.hours import PresenceBook

    station.settings = dataclasses.replace(station.settings, mode="work", **settings)
    station.presence = PresenceBook(station.store, station.name)


def ann_seen_twice(station) -> None:
    """Work mode, Ann in at 08:01 (no session needed) and seen again an hour and a half later."""
    work_mode(station)
    checkin(station, "Ann Lee", 1)
    checkin(station, "Ann Lee", 91)


async def sightings_written(pilot) -> None:
    """The station has dealt with every sighting fed to its worker (the screen's pump took them)."""
    await until(pilot, pilot.app.station.worker.drained.is_set)
    await pilot.pause()


async def open_days(pilot) -> None:
    """`r`, then Enter on the highlighted person of the hours table: their days."""
    await sightings_written(pilot)
    await pilot.press("r")
    await pilot.pause()
    pilot.app.screen.query_one("#hours").focus()
    await pilot.press("enter")
    await pilot.pause()


async def stopped_session(pilot, station, late: str = "5") -> None:
    """Physics, late after 5 minutes: Ann came at 1, Bob at 9 (late), then stopped."""
    await start_session(pilot, "Physics", late=late)
    if station.needs_pin:  # refused without it: the PIN field has the focus
        await pilot.press(*PIN, "enter")
        await pilot.pause()
    checkin(station, "Ann Lee", 1)
    checkin(station, "Bob Marr", 9)
    await until(pilot, lambda: pilot.app.query_one("#live-table").row_count == 2)
    await pilot.press("s")
    await pilot.pause()
    if station.needs_pin:
        await pilot.press(*PIN)
    await pilot.press("enter")
    await pilot.pause()
    assert station.active is None


# -- the timetable


@pytest.mark.slow
async def test_a_slot_is_added_with_the_pin_and_bad_values_are_said_in_the_dialog(station):
    with_pin(station, PIN)
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("t")
        await pilot.pause()
        assert type(app.screen).__name__ == "TimetableScreen"
        assert "Weekly slots: none yet" in screen_text(app) and "Days off: none" in screen_text(app)
        await pilot.press("a")
        await pilot.pause()
        assert type(app.screen).__name__ == "SlotScreen"
        await pilot.press(*"Physics", "tab", *"Funday", "tab", *"8:00", "tab", *"09:00", "enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "SlotScreen"
        assert "weekday 'Funday' is not Mon..Sun or 1-7" in flat(app)
        app.screen.query_one("#slot-weekday").value = "Mon"
        app.screen.query_one("#slot-end").value = "07:30"
        await pilot.press("enter")
        await pilot.pause()
        assert "the end 07:30 is not after the start 8:00" in error_line(app)
        app.screen.query_one("#slot-end").value = "09:00"
        app.screen.query_one("#slot-late").value = "10"
        app.screen.query_one("#slot-group").value = "3A"
        app.screen.query_one("#pin").focus()
        await pilot.press(*"000000", "enter")  # a wrong PIN: the dialog stays, the fields kept
        await pilot.pause()
        assert type(app.screen).__name__ == "SlotScreen" and "wrong PIN" in error_line(app)
        assert app.screen.query_one("#slot-name").value == "Physics" and station.timetable() == ([], {})
        await pilot.press(*PIN, "enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "TimetableScreen"
        assert station.timetable()[0] == [Slot("Physics", "3A", 1, time(8), time(9), 10.0, None)]
        assert rows(app, "#slots") == [["Mon", "08:00-09:00", "Physics", "3A", "10 min", "any"]]
        assert "added Mon 08:00-09:00 Physics" in screen_text(app)


@pytest.mark.slow
async def test_an_overlap_refused_by_the_station_is_said_in_the_dialog(station):
    station.save_timetable([Slot("Physics", None, 1, time(8), time(9))])
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("t", "a")
        await pilot.pause()
        await pilot.press(*"Chemistry", "tab", *"mon", "tab", *"08:30", "tab", *"09:30", "enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "SlotScreen"
        assert "overlaps" in error_line(app) and "one session runs at a time" in flat(app)
        assert "Chemistry, Mon 08:30-09:30 overlaps (Physics 08:00-09:00)" in flat(app) and "line" not in flat(app)
        assert [s.name for s in station.timetable()[0]] == ["Physics"]
        app.screen.query_one("#slot-start").value = "09:00"
        app.screen.query_one("#slot-end").value = "10:00"
        await pilot.press("enter")
        await pilot.pause()
        assert [s.name for s in station.timetable()[0]] == ["Physics", "Chemistry"]
        assert [row[2] for row in rows(app, "#slots")] == ["Physics", "Chemistry"]


@pytest.mark.slow
async def test_slots_and_days_off_are_removed_and_added_from_the_keyboard(station):
    station.save_timetable([Slot("Physics", None, 1, time(8), time(9)), Slot("Choir", "3B", 3, time(15), time(16))])
    with_pin(station, PIN)
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("t")
        await pilot.pause()
        await pilot.press("down", "d")  # Choir, Wednesday
        await pilot.pause()
        assert "Remove the slot Wed 15:00-16:00 Choir?" in flat(app)
        await pilot.press(*PIN, "enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "TimetableScreen"
        assert [s.name for s in station.timetable()[0]] == ["Physics"]
        assert "removed Wed 15:00-16:00 Choir" in screen_text(app)
        await pilot.press("o", *"2026-04-31", "tab", *"Easter Monday", "enter")
        await pilot.pause()
        assert "day off '2026-04-31' is not a date as YYYY-MM-DD" in flat(app)
        app.screen.query_one("#day").value = "2026-04-06"
        app.screen.query_one("#pin").focus()
        await pilot.press(*PIN, "enter")
        await pilot.pause()
        physics = Slot("Physics", None, 1, time(8), time(9))
        assert station.timetable() == ([physics], {"2026-04-06": "Easter Monday"})
        assert rows(app, "#days-off") == [["2026-04-06", "Mon", "Easter Monday"]]
        assert app.screen.query_one("#days-off").has_focus  # d now removes the day off
        await pilot.press("d")
        await pilot.pause()
        assert "Remove the day off 2026-04-06?" in flat(app)
        await pilot.press(*PIN, "enter")
        await pilot.pause()
        assert station.timetable() == ([physics], {})
        await pilot.press("escape")
        assert type(app.screen).__name__ == "Screen"


async def test_a_change_on_the_timetable_screen_keeps_what_another_door_saved_meanwhile(station):
    physics, old = Slot("Physics", None, 3, time(8), time(9)), Slot("Old Maths", None, 2, time(8), time(9))
    chemistry = Slot("Chemistry", None, 4, time(8), time(9))
    station.save_timetable([old], {"2026-01-01": "New Year"})
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("t")
        await pilot.pause()
        assert [row[2] for row in rows(app, "#slots")] == ["Old Maths"]
        # meanwhile another door of the shared database imports a week, with its days off
        station.save_timetable([physics, chemistry], {"2026-01-01": "New Year", "2026-05-01": "May Day"})
        await pilot.press("o", *"2026-04-06", "tab", *"Easter Monday", "enter")
        await pilot.pause()
        assert station.timetable() == ([physics, chemistry], {"2026-01-01": "New Year", "2026-04-06": "Easter Monday",
                                                              "2026-05-01": "May Day"})
        assert [row[2] for row in rows(app, "#slots")] == ["Physics", "Chemistry"]  # the screen reads it again
        station.save_timetable([old, physics, chemistry], {})  # and again; then a slot is removed here
        app.screen.query_one("#slots").focus()
        await pilot.press("d")  # Physics, the first row on the screen
        await pilot.pause()
        assert "Remove the slot Wed 08:00-09:00 Physics?" in flat(app)
        await pilot.press("enter")
        await pilot.pause()
        assert station.timetable() == ([old, chemistry], {})  # Old Maths back there stays, the days off gone
    said = [e.details for e in station.store.audit_log() if e.action == "timetable.set"]  # what staff changed
    assert said[2] == {"slots": 2, "days_off_added": ["2026-04-06"]}
    assert said[4] == {"slots": 2, "removed": ["Wed 08:00-09:00 Physics"]}


@pytest.mark.parametrize("size", BOTH, ids=size_ids)
async def test_the_timetable_fits_the_terminal(station, size):
    station.save_timetable([Slot("Physics 101 for year three", "3A", 1, time(8), time(9), 5, "door-1")],
                           {"2026-04-06": "Easter Monday"})
    app = StationApp(station)
    async with app.run_test(size=size) as pilot:
        await pilot.press("t")
        await pilot.pause()
        text = screen_text(app)
        for seen in ("Mon", "08:00-09:00", "Physics 101", "5 min", "door-1", "2026-04-06", "Easter Monday"):
            assert seen in text
        assert on_screen(app, Button)
        await pilot.press("a")
        await pilot.pause()
        assert on_screen(app, Button) and on_screen(app, "#pin, #slot-group")


# -- the audit log


@pytest.mark.slow
async def test_the_audit_log_lists_newest_first_filters_on_enter_and_asks_no_pin(station):
    with_pin(station, PIN)
    app = StationApp(station)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("s", *"Physics", "tab", "tab", "tab", *PIN, "enter")
        await pilot.pause()
        await pilot.press("s", *PIN, "enter")
        await pilot.pause()
        assert station.active is None
        await pilot.press("l")
        await pilot.pause()
        assert type(app.screen).__name__ == "AuditScreen" and not app.screen.query("#pin")
        actions = [row[2] for row in rows(app, "#audit")]
        assert actions.index("session.stop") < actions.index("session.start")  # newest first
        assert "name=Physics" in flat(app) and "session_id=1" in flat(app)
        await pilot.press("tab", *"session.st", "tab", "tab", *"2026-13-01", "enter")  # action, then from
        await pilot.pause()
        assert "dates as YYYY-MM-DD" in error_line(app)
        app.screen.query_one("#audit-from").value = ""
        app.screen.query_one("#audit-person").focus()
        await pilot.press("enter")
        await pilot.pause()
        assert error_line(app) == ""
        assert [row[2] for row in rows(app, "#audit")] == ["session.stop", "session.start"]
        assert "2 entries" in screen_text(app)
        app.screen.query_one("#audit-staff").value = "nobody"
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.query_one("#audit").row_count == 0 and "no entries match" in screen_text(app)
        app.screen.query_one("#audit-staff").value = ""
        await pilot.press("enter")
        await pilot.pause()
        app.screen.query_one("#audit").focus()
        await pilot.press("enter")  # the newest entry in full
        await pilot.pause()
        assert type(app.screen).__name__ == "DetailScreen" and "action: session.stop" in flat(app)
        await pilot.press("escape", "escape")
        assert type(app.screen).__name__ == "Screen"


@pytest.mark.parametrize("size", BOTH, ids=size_ids)
@pytest.mark.slow
async def test_the_audit_log_fits_the_terminal(station, size):
    app = StationApp(station)
    async with app.run_test(size=size) as pilot:
        await start_session(pilot, "Physics")
        await pilot.press("l")
        await pilot.pause()
        assert "session.start" in screen_text(app) and "Who" in screen_text(app)
        assert on_screen(app, Button) and on_screen(app, "#audit-to")


# -- voiding and editing a past session


@pytest.mark.slow
async def test_editing_a_past_session_says_what_changed(station):
    with_pin(station, PIN)
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await stopped_session(pilot, station)
        await pilot.press("h")
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        assert type(dialog).__name__ == "EditSessionScreen"
        assert dialog.query_one("#edit-name").value == "Physics" and dialog.query_one("#edit-late").value == "5"
        await pilot.press("enter")  # nothing typed yet
        await pilot.pause()
        assert "nothing changed" in error_line(app)
        assert dialog.query_one("#edit-name").has_focus  # filled in: typing starts at the top
        await pilot.press("tab", "ctrl+u", *"10", "tab", "tab", *"000000", "enter")  # late after, the group, the PIN
        await pilot.pause()
        assert type(app.screen).__name__ == "EditSessionScreen" and "wrong PIN" in error_line(app)
        assert station.sessions()[0].late_after_minutes == 5
        await pilot.press(*PIN, "enter")
        await pilot.pause()
        assert station.sessions()[0].late_after_minutes == 10
        text = flat(app)
        assert type(app.screen).__name__ == "DetailScreen"
        assert "late after: 5 min -> 10 min" in text
        assert "Bob Marr: late -> present" in text
        await pilot.press("escape")
        assert type(app.screen).__name__ == "PastSessionsScreen" and "1 changes" not in screen_text(app)
        assert "session 1: 2 changes" in screen_text(app)


async def test_editing_a_session_without_late_after_starts_in_its_name(station):
    """The empty late-after field took the cursor: a new name typed went into it."""
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await stopped_session(pilot, station, late="")
        await pilot.press("h")
        await until(pilot, lambda: "reading" not in error_line(app))
        await pilot.press("e")
        await pilot.pause()
        assert app.screen.query_one("#edit-name").has_focus and app.screen.query_one("#edit-late").value == ""


async def test_a_timetables_odd_late_after_is_shown_to_a_tenth_and_not_changed_by_a_rename(station):
    """A slot's session that opened 18 s into its slot is late after 0.6988... minutes."""
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await stopped_session(pilot, station, late="0.6988714833")
        await pilot.press("h")
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        dialog = app.screen
        assert dialog.query_one("#edit-late").value == "0.7" and "now late from" in screen_text(app)
        await pilot.press("end", *" 3B", "enter")
        await pilot.pause()
        assert "late after" not in flat(app) and station.sessions()[0].name == "Physics 3B"
        assert station.sessions()[0].late_after_minutes == pytest.approx(0.6988714833)


@pytest.mark.slow
async def test_a_session_is_voided_with_a_reason_and_marked_in_the_list(station):
    with_pin(station, PIN)
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await stopped_session(pilot, station)
        await start_session(pilot, "Chemistry")
        await pilot.press(*PIN, "enter")  # refused without it: the PIN field has the focus
        await pilot.pause()
        await pilot.press("h")
        await pilot.pause()
        assert [row[5] for row in rows(app, "#sessions")] == ["running", "done"]  # newest first
        await pilot.press("v")  # the running one cannot be voided
        await pilot.pause()
        assert type(app.screen).__name__ == "PastSessionsScreen" and "is running" in error_line(app)
        await pilot.press("down", "v")
        await pilot.pause()
        assert type(app.screen).__name__ == "VoidScreen"
        await pilot.press("enter")
        await pilot.pause()
        assert "a reason is required" in error_line(app)
        await pilot.press(*"a test run", "tab", *PIN, "enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "PastSessionsScreen"
        physics = next(s for s in station.sessions() if s.id == 1)
        assert physics.voided and physics.void_reason == "a test run" and physics.voided_by == "admin"
        assert rows(app, "#sessions")[1][5] == "voided"
        assert "session 1 'Physics' voided" in screen_text(app)
        await pilot.press("v")  # again: says by whom and why, asks nothing
        await pilot.pause()
        assert type(app.screen).__name__ == "PastSessionsScreen" and "a test run" in error_line(app)


@pytest.mark.slow
async def test_a_staff_account_may_not_void_and_the_dialog_says_so(station):
    add_account(station.store, "Kim", "admin", PIN, "setup")
    add_account(station.store, "Lou", "staff", "135792", "setup")
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s", *"Physics", "tab", "tab", "tab", *"Kim", "enter", *PIN, "enter")
        await pilot.pause()
        await pilot.press("s", *PIN, "enter")
        await pilot.pause()
        assert station.active is None
        await pilot.press("h", "v")
        await pilot.pause()
        await pilot.press(*"duplicate", "tab")
        app.screen.query_one("#staff").value = "Lou"
        await pilot.press("tab", *"135792", "enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "VoidScreen" and "Lou has a staff account" in flat(app)
        assert app.screen.query_one("#void-reason").value == "duplicate"
        assert not any(s.voided for s in station.sessions())


async def test_a_refusal_for_a_missing_staff_name_puts_the_cursor_in_the_name(station):
    add_account(station.store, "Kim", "admin", PIN, "setup")
    add_account(station.store, "Lou", "staff", "135792", "setup")
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s", *"Physics", "enter")  # no name, no PIN yet
        await pilot.pause()
        assert "staff name and PIN" in flat(app) and app.screen.focused.id == "staff"
        await pilot.press(*"Kim", "tab", *PIN, "enter")
        await pilot.pause()
        assert station.active is not None and station.active.name == "Physics"


@pytest.mark.parametrize("size", BOTH, ids=size_ids)
@pytest.mark.slow
async def test_the_void_and_edit_dialogs_fit_the_terminal(station, size):
    app = StationApp(station)
    async with app.run_test(size=size) as pilot:
        await stopped_session(pilot, station)
        await pilot.press("h")
        await pilot.pause()
        assert on_screen(app, Button) and "Void" in screen_text(app) and "Edit" in screen_text(app)
        for key, last_field in (("v", "#void-reason"), ("e", "#edit-group")):
            await pilot.press(key)
            await pilot.pause()
            assert on_screen(app, Button) and on_screen(app, last_field)
            await pilot.press("escape")
            await pilot.pause()


# -- keys: the footer, the help and the command palette


async def test_the_new_keys_are_in_the_help_and_the_palette_and_the_footer_still_fits(station):
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        footer = screen_text(app).splitlines()[-1]
        assert "Quit" in footer and "Help" in footer  # the last keys still fit at 80 columns
        commands = {c.title: c.help for c in app.get_system_commands(app.screen)}
        assert any(t.startswith("timetable") and h == "key: t" for t, h in commands.items())
        assert any(t.startswith("audit log") and h == "key: l" for t, h in commands.items())
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen_text(app)
        assert "t timetable" in text and "l audit log" in text and "edit or void" in text


async def test_the_help_scrolls_to_its_last_key_at_80x24(station):
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert "ctrl+p" not in screen_text(app)  # more keys than rows: the body scrolls
        await pilot.press("pagedown")
        await pilot.pause()
        text = screen_text(app)
        assert "ctrl+p all commands" in text and "q quit" in text


async def test_a_bug_behind_a_dialog_is_said_as_an_internal_error_and_the_dialog_stays(station, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr(station, "start_session", broken)
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s")
        await pilot.pause()
        app.screen.query_one("#name").value = "Physics"
        await pilot.press("enter")
        await pilot.pause()
        assert "internal error while answering a dialog: KeyError" in screen_text(app)
        assert app.screen.query("#name")  # the dialog is still there, the station runs on


async def test_in_work_mode_the_report_gives_each_persons_days_and_hours(station):
    ann_seen_twice(station)
    app = StationApp(station)
    async with app.run_test(size=(160, 48)) as pilot:
        await sightings_written(pilot)
        await pilot.press("r")
        await pilot.pause()
        table = app.screen.query_one("#hours")
        assert [list(table.get_row_at(i)) for i in range(table.row_count)] == [["S1", "Ann Lee", "1", "1.50", "", ""],
                                                                               *UNSEEN]  # their days: correctable


@pytest.mark.parametrize("typed", ["2026-11-30x", "reversed"])
async def test_a_period_typed_wrong_leaves_no_hours_of_the_period_before(station, typed):
    """After a bad or reversed date range, the hours table still showed the period before beside the new dates,
    and Enter on a row opened that period's days."""
    ann_seen_twice(station)
    app = StationApp(station)
    async with app.run_test(size=(160, 48)) as pilot:
        await sightings_written(pilot)
        await pilot.press("r")
        await until(pilot, lambda: app.screen.query_one("#hours").row_count > 0)
        assert str(app.screen.query_one("#hours-title").render()).startswith("hours from ")  # the period it is
        if typed == "reversed":
            app.screen.query_one("#from").value = "2099-01-02"
            app.screen.query_one("#to").value = "2099-01-01"
        else:
            app.screen.query_one("#from").value = typed
        app.screen.query_one("#from").focus()
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.query_one("#hours").row_count == 0
        assert str(app.screen.query_one("#hours-title").render()) == ""


async def test_in_work_mode_the_report_counts_the_days_corrected_by_hand(station):
    from faceattend_tui.attendance.corrections import correct_day

    ann_seen_twice(station)
    app = StationApp(station)
    async with app.run_test(size=(160, 48)) as pilot:
        await sightings_written(pilot)
        (first,) = station.store.presence(date.min, date.max)
        correct_day(station.store, "S1", first.day, None, first.first_seen + timedelta(hours=8), "left late", "Kim")
        await pilot.press("r")
        await pilot.pause()
        table = app.screen.query_one("#hours")
        assert [list(table.get_row_at(i)) for i in range(table.row_count)] == [["S1", "Ann Lee", "1", "8.00", "", "1"],
                                                                               *UNSEEN]


async def test_in_work_mode_a_day_is_corrected_and_taken_back_from_the_report(station):
    with_pin(station, PIN)
    work_mode(station, timezone="UTC")
    checkin(station, "Ann Lee", 1)  # in at 09:01
    checkin(station, "Ann Lee", 91)  # last seen at 10:31: nobody saw her leave by the back door at 17:00
    station.clock.now += timedelta(hours=10)
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_days(pilot)  # Ann's days
        assert type(app.screen).__name__ == "DaysScreen" and on_screen(app, "Button")
        assert rows(app, "#days") == [["2026-03-02", "09:01", "10:31", "1.50", "", ""]]
        await pilot.press("c", "tab", *"17:00", "tab", *"left by the back door", "enter")  # typing starts at "in"
        await pilot.pause()
        assert type(app.screen).__name__ == "CorrectScreen"  # refused without the PIN: nothing written
        assert on_screen(app, "Button") and not station.store.get_setting("hours_corrections")
        await pilot.press(*"000000", "enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "CorrectScreen" and not station.store.get_setting("hours_corrections")
        await pilot.press(*PIN, "enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "DaysScreen"
        assert rows(app, "#days") == [["2026-03-02", "09:01", "17:00", "7.98", "",
                                       "corrected by admin: left by the back door"]]
        assert [e.action for e in station.audit_entries(AuditFilter())][-1] == "hours.correct"
        await pilot.press("u", *"wrong person", "tab", *PIN, "enter")
        await pilot.pause()
        assert rows(app, "#days") == [["2026-03-02", "09:01", "10:31", "1.50", "", ""]]
        await pilot.press("c", *"23:30", "tab", "tab", *"late", "tab", *PIN, "enter")
        await pilot.pause()
        assert "has not come yet" in error_line(app) and type(app.screen).__name__ == "CorrectScreen"
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "ReportScreen" and "(1 person seen;" in flat(app)
        assert rows(app, "#hours") == [["S1", "Ann Lee", "1", "1.50", "", ""], *UNSEEN]


async def test_a_correction_changed_at_another_door_is_not_taken_back_unseen(station):
    from faceattend_tui.attendance.corrections import correct_day

    with_pin(station, PIN)
    work_mode(station, timezone="UTC")
    checkin(station, "Ann Lee", 1)
    checkin(station, "Ann Lee", 91)
    station.clock.now += timedelta(hours=10)
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await sightings_written(pilot)
        (first,) = station.store.presence(date.min, date.max)
        correct_day(station.store, "S1", first.day, None, first.first_seen + timedelta(hours=8), "back door", "Kim")
        await open_days(pilot)
        # another door corrects the day again while this list shows Kim's correction
        correct_day(station.store, "S1", first.day, None, first.first_seen + timedelta(hours=7), "badge log", "Lou")
        await pilot.press("u")
        await pilot.pause()
        assert "corrected by Kim: back door" in app.screen.title_text()  # the dialog names what it takes back
        await pilot.press(*"undo mine", "tab", *PIN, "enter")
        await pilot.pause()
        assert "was changed meanwhile (now corrected by Lou: badge log)" in error_line(app)
        assert station.store.get_setting("hours_corrections")  # Lou's correction stands
        await pilot.press("escape")
        await pilot.pause()
        assert rows(app, "#days")[0][-1] == "corrected by Lou: badge log"  # the list as it is now


@pytest.fixture
def paris(machine_zone):
    """The station's clock on Europe/Paris, as the station sets it from the timezone setting."""
    machine_zone("Europe/Paris")


async def test_past_sessions_and_the_session_pane_read_the_stations_clock(station, paris):
    """Sessions stored at 09:00 UTC read 10:00 on a station in Paris, as in the exports."""
    app = StationApp(station)
    async with app.run_test(size=(160, 48)) as pilot:
        await start_session(pilot, "Physics")
        station.clock.now += timedelta(hours=10)  # stopped in the evening (a day later, the station stops it)
        await pilot.press("s", "enter")
        await pilot.pause()
        await pilot.press("h")
        await pilot.pause()
        assert rows(app, "#sessions")[0][3:5] == ["2026-03-02 10:00", "20:00"]  # the same day: its time
        await pilot.press("enter")  # shown in the session pane
        await pilot.pause()
        assert "Physics (ended 20:00, everyone)" in flat(app)  # today: the time alone


async def test_work_mode_days_at_80x24_show_the_newest_day_and_someone_never_seen_can_be_corrected(station):
    with_pin(station, PIN)
    work_mode(station, timezone="UTC")
    for day in range(14):  # two weeks of Ann
        checkin(station, "Ann Lee", day * 1440 + 1)
        checkin(station, "Ann Lee", day * 1440 + 481)
    station.clock.now += timedelta(days=13, hours=10)
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_days(pilot)
        assert "2026-03-15" in screen_text(app) and rows(app, "#days")[-1][0] == "2026-03-15"  # in view, highlighted
        await pilot.press("escape", "down", "enter")  # Bob: never seen (a camera down all week)
        await pilot.pause()
        assert type(app.screen).__name__ == "DaysScreen" and rows(app, "#days") == []
        await pilot.press("c", *"08:00", "tab", "tab", *"camera down", "tab", *PIN, "enter")
        await pilot.pause()
        assert "nobody saw them on 2026-03-15: give both the in and the out" in error_line(app)
        await pilot.press("shift+tab", "shift+tab", *"16:00", "enter")
        await pilot.pause()
        assert rows(app, "#days") == [["2026-03-15", "08:00", "16:00", "8.00", "", "corrected by admin: camera down"]]
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.query_one("#hours").cursor_row == 1  # still on Bob, not back on the first person
        assert rows(app, "#hours")[1][:4] == ["S2", "Bob Marr", "1", "8.00"]


@pytest.mark.parametrize(("key", "field"), [("s", "name"), ("e", "name")])
async def test_a_name_typed_in_one_burst_with_the_dialogs_key_lands_in_its_first_field(station, key, field):
    """"smath" over a laggy link: the dialog opens on "s" and "math" must be its name, not lost
    (a session saved as "th")."""
    from textual import events

    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        for typed in [key, *"Maths"]:
            app.post_message(events.Key(typed, typed))
        await keys_handled(pilot)
        assert app.screen.query_one(f"#{field}").value == "Maths"


async def test_a_filter_typed_in_one_burst_is_the_filters_not_main_screen_keys(station):
    """"/sam" then Enter over a laggy link: "s" must not stop the running session."""
    from textual import events

    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await start_session(pilot, "Physics")
        await pilot.press("tab")
        for typed in ["slash", *"sam", "enter"]:
            app.post_message(events.Key(typed, "/" if typed == "slash" else None if typed == "enter" else typed))
        await keys_handled(pilot)
        assert app.query_one("#roster-filter").value == "sam" and station.active is not None
        assert len(app.screen_stack) == 1


async def test_keys_typed_ahead_after_tab_land_in_the_next_field_not_the_pin_in_clear(station):
    """Over a slow SSH link a name, Tab, a staff name, Tab and a PIN arrive in one burst: each key is
    queued before the one before it is handled (Pilot.press waits for each; posting them does not)."""
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        fields = await start_dialog_typed(station, pilot, [*"Maths", "tab", "tab", "tab", *"Kim", "tab", *PIN])
        assert (fields["name"], fields["staff"], fields["pin"]) == ("Maths", "Kim", PIN)


async def test_a_group_chosen_from_its_list_in_a_burst_of_keys_is_the_sessions_and_the_pin_stays_hidden(station):
    """Enter, Down, Enter on the group list, then Tab, a staff name, Tab and a PIN in one burst: the group
    stayed "everyone" and the PIN landed in the staff name field, in clear on the screen."""
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        keys = [*"Maths", "tab", "tab", "enter", "down", "enter", "tab", *"Kim", "tab", *PIN]
        fields = await start_dialog_typed(station, pilot, keys)
        assert (fields["name"], fields["staff"], fields["pin"]) == ("Maths", "Kim", PIN)
        assert app.screen.query_one("#group").value == "3A"


async def start_dialog_typed(station, pilot, keys) -> dict[str, str]:
    """With two staff accounts, `s` and then `keys` in one burst: the start dialog's fields as they end up."""
    add_account(station.store, "Kim", "admin", PIN, "setup")
    add_account(station.store, "Tom Teacher", "staff", "135790", "setup")
    await pilot.press("s")
    await pilot.pause()
    burst(pilot.app, keys)
    await keys_handled(pilot)
    return {field.id: field.value for field in pilot.app.screen.query("Input")}


@pytest.mark.parametrize(("key", "field"), [("a", "slot-name"), ("o", "day")])
async def test_a_dialogs_key_typed_in_one_burst_with_text_opens_its_dialog_and_the_text_lands_there(
        station, key, field):
    """"a" and "Maths" in one burst in the timetable: the slot's name is "Maths", not "aths" nor lost."""
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("t")
        await until(pilot, lambda: "reading" not in error_line(app))  # a change needs the timetable read first
        burst(app, [key, *"Maths"])
        await keys_handled(pilot)
        assert app.screen.query_one(f"#{field}").value == "Maths"


async def test_a_void_and_its_reason_typed_in_one_burst_land_in_the_void_dialog(station):
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await stopped_session(pilot, station)
        await pilot.press("h")
        await pilot.pause(0.5)  # the sessions read and shown: "v" acts on the one highlighted
        burst(app, ["v", *"a test run"])
        await keys_handled(pilot)
        assert type(app.screen).__name__ == "VoidScreen"
        assert app.screen.query_one("#void-reason").value == "a test run"


async def test_a_correction_typed_in_one_burst_starts_at_the_in_time_of_the_chosen_day(station):
    work_mode(station, timezone="UTC")
    checkin(station, "Ann Lee", 1)
    station.clock.now += timedelta(hours=10)
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_days(pilot)
        burst(app, ["c", *"08:00"])
        await keys_handled(pilot)
        fields = {field.id: field.value for field in app.screen.query("Input")}
        assert (fields["day"], fields["in"]) == ("2026-03-02", "08:00")
        seen = app.screen.query_one("#seen")
        assert "2026-03-02 as it stands: in 09:01" in str(seen.render()) and seen.display
        await pilot.press("shift+tab", "ctrl+u", *"2026-03-01")  # another day: that line is not about it
        await pilot.pause()
        assert not seen.display


async def test_keys_typed_while_the_sessions_are_read_act_once_they_are_listed(station):
    """"hx" in one burst exported nothing: the x came while the list was still being read."""
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await stopped_session(pilot, station)
        await start_session(pilot, "Chemistry")
        burst(app, ["h", "down", "x"])  # the second listed, newest first: Physics
        await keys_handled(pilot)
        assert type(app.screen).__name__ == "ExportScreen"
        await until(pilot, lambda: app.screen.session_label != "...")  # its name, read in a thread
        assert app.screen.session_label == "Physics"


async def test_work_mode_a_persons_days_from_a_groups_line_are_the_days_that_line_counts(station):
    """Ann worked a day in 3A, then moved to 3B and worked another: the 3A line counted one day, but Enter on
    it listed both (a clerk saw 1 day and 1.50 hours over a list of two days)."""
    work_mode(station, timezone="UTC")
    checkin(station, "Ann Lee", 1)
    checkin(station, "Ann Lee", 91)
    station.clock.now += timedelta(days=1)
    station.attendance.update_person("S1", groups=["3B"])
    checkin(station, "Ann Lee", 1440 + 1)
    checkin(station, "Ann Lee", 1440 + 241)
    station.clock.now += timedelta(hours=10)
    app = StationApp(station)
    async with app.run_test(size=(160, 48)) as pilot:
        await sightings_written(pilot)
        await pilot.press("r")
        await pilot.pause()
        app.screen.query_one("#group").value = "3A"
        await until(pilot, lambda: rows(app, "#hours")[:1] == [["S1", "Ann Lee", "1", "1.50", "", ""]])
        app.screen.query_one("#hours").focus()
        await pilot.press("enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "DaysScreen" and "Hours of Ann Lee in group 3A" in flat(app)
        assert rows(app, "#days") == [["2026-03-02", "09:01", "10:31", "1.50", "", ""]]


async def test_the_list_of_sessions_keeps_each_ones_state_in_view_at_80_columns(station):
    """At 80x24 the Ended column read "2026-02-2" and the State column (voided, done) was off the screen."""
    station.start_session("Physics for the whole of year three")
    station.stop_session()
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("h")
        await pilot.pause()
        table = app.screen.query_one("#sessions")
        shown = " ".join(table.render_line(y).text for y in range(table.size.height))
        assert "done" in shown and "State" in shown


async def test_the_timetable_keeps_each_slots_door_and_late_rule_in_view_at_80_columns(station):
    """At 80 columns the slots showed Day, Time, Name and a cut For: a slot for one door looked like one for
    every door, and its late rule was out of sight."""
    station.save_timetable([Slot("Physics for the whole of year three", "Year 3 Physics advanced", 1, time(8),
                                 time(9), 10.0, "door-north-building")])
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("t")
        await until(pilot, lambda: app.screen.query_one("#slots").row_count == 1)
        table = app.screen.query_one("#slots")
        shown = [table.render_line(y).text for y in range(2)]
        assert "Station" in shown[0] and "Late" in shown[0]
        assert "door-nort…" in shown[1] and " 10 " in shown[1]
