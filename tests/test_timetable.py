"""Timetables read from CSV: weekdays and times as people write them, line-numbered errors, overlaps refused,
wall-clock times that hold across a change of the clocks, days off."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from faceattend_tui.attendance.timetable import Slot, TimetableError, due, read_holidays, read_slots

PARIS = ZoneInfo("Europe/Paris")
WEEK = """name,group,weekday,start,end,late_after,station
Maths 3A,3A,Mon,08:00,09:00,10,
Physics,3B,tuesday,8:00,9:30,,front-door
Morning shift,,7,08:00,16:00,5,
"""


def test_a_week_from_csv():
    maths, physics, shift = read_slots(WEEK)
    assert (maths.name, maths.group, maths.weekday, maths.start, maths.late_after) == ("Maths 3A", "3A", 1,
                                                                                       time(8), 10.0)
    assert (physics.weekday, physics.end, physics.late_after, physics.station) == (2, time(9, 30), None, "front-door")
    assert (shift.group, shift.weekday) == (None, 7)  # no group: everyone; 7 is Sunday
    assert maths.key == read_slots(WEEK)[0].key  # the same row keeps its id


def test_every_bad_line_is_named():
    text = ("name,group,weekday,start,end,late_after\n"
            "A,3A,Mnday,08:00,09:00,\n"
            "B,3A,Mon,10:00,09:00,\n"
            "C,3A,Mon,8h,09:00,\n"
            "D,3A,Wed,08:00,09:00,-5\n"
            "E,3A,Fri,08:00,10:00,\n"
            "F,3B,Fri,09:30,11:00,\n")
    with pytest.raises(TimetableError) as caught:
        read_slots(text, "week.csv")
    lines = str(caught.value).splitlines()
    assert lines[0] == "week.csv line 2: weekday 'Mnday' is not Mon..Sun or 1-7"
    assert lines[1].startswith("week.csv line 3: the end 09:00 is not after the start 10:00")
    assert lines[2].startswith("week.csv line 4: start '8h' is not a time")
    assert lines[3].startswith("week.csv line 5: late_after: 0 to 1440 minutes")
    assert lines[4].startswith("week.csv line 7: Fri 09:30-11:00 overlaps line 6")


def test_a_slot_may_end_at_midnight_written_24_00():
    (night,) = read_slots("name,group,weekday,start,end,late_after\nNight shift,,Fri,22:00,24:00,5\n")
    assert night.hours == "22:00-24:00" and Slot.from_doc(night.to_doc()) == night
    friday_2330 = datetime(2026, 9, 11, 23, 30, tzinfo=PARIS)
    _, start, end = due([night], friday_2330, PARIS, {})
    assert (start.hour, end.date(), end.hour, end.minute) == (22, date(2026, 9, 11), 23, 59)
    with pytest.raises(TimetableError, match="overlaps"):
        read_slots("name,group,weekday,start,end,late_after\nA,,Fri,22:00,24:00,\nB,,Fri,23:00,23:30,\n")
    with pytest.raises(TimetableError, match="start '24:00' is not a time"):
        read_slots("name,group,weekday,start,end,late_after\nA,,Fri,24:00,24:00,\n")


def test_a_file_without_the_columns_says_which_are_missing():
    with pytest.raises(TimetableError, match="missing: weekday, start"):
        read_slots("name,group,end,late_after\nA,3A,09:00,\n")


def test_wall_clock_times_hold_when_the_clocks_change():
    slots = read_slots("name,group,weekday,start,end,late_after\nSunday class,,Sun,08:00,09:00,\n")
    before = datetime(2026, 3, 22, 7, 30, tzinfo=timezone.utc)  # 08:30 in Paris (UTC+1)
    after = datetime(2026, 3, 29, 6, 30, tzinfo=timezone.utc)  # 08:30 in Paris (UTC+2, the clocks went forward)
    assert due(slots, before, PARIS, {}) is not None
    slot, start, end = due(slots, after, PARIS, {})
    assert start.isoformat() == "2026-03-29T08:00:00+02:00" and end.isoformat() == "2026-03-29T09:00:00+02:00"
    assert due(slots, datetime(2026, 3, 29, 7, 30, tzinfo=timezone.utc), PARIS, {}) is None  # 09:30 there


def test_days_off_and_other_stations_are_skipped():
    slots = read_slots(WEEK)
    tuesday = datetime(2026, 9, 8, 8, 15, tzinfo=PARIS)
    assert due(slots, tuesday, PARIS, {}, station="front-door")[0].name == "Physics"
    assert due(slots, tuesday, PARIS, {}, station="back-door") is None
    assert due(slots, tuesday, PARIS, read_holidays("date,reason\n2026-09-08,strike\n")) is None


def test_a_session_opened_late_still_counts_lateness_from_the_slot():
    maths = read_slots(WEEK)[0]  # Monday 08:00, late after 10 minutes
    assert maths.late_after_from(datetime(2026, 9, 7, 8, 4, tzinfo=PARIS), PARIS) == pytest.approx(6.0)
    assert maths.late_after_from(datetime(2026, 9, 7, 8, 25, tzinfo=PARIS), PARIS) == 0.0


def test_lateness_counts_real_minutes_on_the_nights_the_clocks_change():
    """A night slot from 01:30, late after 90 minutes: on the spring night one was late after 30 real
    minutes, on the autumn night only after 150."""
    night = read_slots("name,group,weekday,start,end,late_after\nNight,,Sun,01:30,05:00,90\n")[0]
    for day in (datetime(2026, 3, 29, 1, 30, tzinfo=PARIS), datetime(2026, 10, 25, 1, 30, tzinfo=PARIS)):
        assert night.late_after_from(day, PARIS) == pytest.approx(90.0)
        assert night.late_after_from(day.astimezone(timezone.utc) + timedelta(minutes=30), PARIS) == \
            pytest.approx(60.0)


def test_holiday_lines_are_checked():
    assert read_holidays("2026-12-25,Christmas\n2026-12-26\n") == {"2026-12-25": "Christmas", "2026-12-26": ""}
    with pytest.raises(TimetableError, match="line 2: '25/12/2026' is not a date"):
        read_holidays("date,reason\n25/12/2026,Christmas\n")
    assert date(2026, 12, 25).isoformat() in read_holidays("2026-12-25\n")


# ----- sessions opened and closed on time --------------------------------------------------------

from both_logs import BACKENDS, DATABASES, data_root, open_store  # noqa: E402
from fakes import FakeClock  # noqa: E402

from faceattend_tui.attendance import Attendance  # noqa: E402
from faceattend_tui.attendance.timetable import save_slots, step  # noqa: E402

MONDAY_8 = datetime(2026, 9, 7, 8, 0, tzinfo=PARIS)


@pytest.fixture(params=BACKENDS)
def data(request, tmp_path):
    return data_root(request, tmp_path)


def school(data, clock) -> Attendance:
    store = open_store(data, clock=clock)
    attendance = Attendance(store, station="front-door")
    attendance.add_person("Ann", person_id="S1", groups=["3A"])
    attendance.add_person("Bob", person_id="S2", groups=["3B"])
    save_slots(store, read_slots(WEEK))
    return attendance


def test_a_slot_opens_its_session_on_time_for_its_group_and_closes_it_at_its_end(data):
    clock = FakeClock(MONDAY_8.replace(hour=7, minute=59))
    attendance = school(data, clock)
    assert step(attendance, clock(), PARIS) == ""  # 07:59: not yet
    clock.advance(minutes=5)  # a station started in the middle of the slot opens it at once
    assert step(attendance, clock(), PARIS) == "the timetable opened 'Maths 3A' (08:00-09:00)"
    session = attendance.active
    assert (session.group, session.expected) == ("3A", ["S1"])
    assert session.late_deadline == MONDAY_8.replace(minute=10)  # late after 10 minutes of the slot, not the start
    clock.advance(minutes=56)
    assert step(attendance, clock(), PARIS) == "the timetable closed 'Maths 3A' at 09:00"
    assert attendance.active is None
    actors = {e.user for e in attendance.store.audit_log() if e.action in ("session.start", "session.stop")}
    assert actors == {"timetable"}


def test_a_slot_opened_a_fraction_of_a_second_after_its_start_is_late_from_its_minute_as_read_back(data):
    """Opened at 08:00:00.123456, a slot read back from the TinyDB log said "late from 08:09:59" (its start is
    kept to the millisecond, its late-after was counted from the microsecond), and check-ins shown at the same
    08:10:00.000 got different statuses (one came 0.2 ms after the minute)."""
    clock = FakeClock(MONDAY_8.replace(microsecond=123456))
    attendance = school(data, clock)
    assert step(attendance, clock(), PARIS)
    attendance.add_person("Cy", person_id="S3", groups=["3A"])
    attendance.store.add_expected(attendance.active.id, ["S3"])
    attendance.refresh()
    ann = attendance.check_in("S1", 0.8, when=MONDAY_8.replace(minute=10))
    cy = attendance.check_in("S3", 0.8, when=MONDAY_8.replace(minute=10, microsecond=200))
    assert (ann.checkin.status, cy.checkin.status, cy.checkin.time) == ("present", "present", ann.checkin.time)
    attendance.store.close()
    with open_store(data, clock=clock) as store:
        (session,) = store.sessions()
        assert session.late_deadline == MONDAY_8.replace(minute=10)
        assert {c.person_id: c.status for c in store.checkins(session.id)} == {"S1": "present", "S3": "present"}


def test_a_slot_whose_end_passed_while_no_station_ran_ends_at_its_end(data):
    clock = FakeClock(MONDAY_8.replace(minute=1))
    attendance = school(data, clock)
    assert step(attendance, clock(), PARIS)
    attendance.check_in("S1", 0.7, when=clock())
    clock.advance(hours=3)  # the station was off from 08:01 until 11:01
    assert step(attendance, clock(), PARIS) == "the timetable closed 'Maths 3A' at 09:00"
    (session,) = attendance.sessions()
    assert session.ended_at == MONDAY_8.replace(hour=9)  # not 11:01: the lesson did not last three hours


def test_a_slot_finds_its_group_case_aside(data):
    clock = FakeClock(MONDAY_8.replace(minute=1))
    attendance = school(data, clock)
    save_slots(attendance.store, read_slots("name,group,weekday,start,end,late_after\nMaths,3a,Mon,08:00,09:00,\n"))
    assert step(attendance, clock(), PARIS) == "the timetable opened 'Maths' (08:00-09:00)"
    assert (attendance.active.group, attendance.active.expected) == ("3A", ["S1"])


def test_a_slot_stopped_by_hand_stays_stopped_that_day(data):
    clock = FakeClock(MONDAY_8.replace(minute=1))
    attendance = school(data, clock)
    assert step(attendance, clock(), PARIS)
    attendance.stop_session(user="Ada")
    clock.advance(minutes=5)
    assert step(attendance, clock(), PARIS) == "" and attendance.active is None


@pytest.mark.parametrize("data", ["tinydb"], indirect=True)  # a shared database's own clock is never moved here
def test_a_lesson_a_clock_a_day_ahead_opened_and_staff_voided_opens_on_its_real_day(data):
    """Sunday 08:01 read as Monday 08:01 for a few minutes: the timetable opened Monday's Maths; staff voided it
    as the station told them. On the real Monday Maths opens; a lesson voided once it began stays voided."""
    from faceattend_tui.attendance.session_edit import void_session

    clock = FakeClock(MONDAY_8.replace(minute=1))  # the clock a day ahead
    attendance = school(data, clock)
    assert step(attendance, clock(), PARIS)
    stray = attendance.active
    clock.advance(days=-1, minutes=5)  # put right: Sunday 08:06
    attendance.stop_session(user="Ada")
    void_session(attendance, stray.id, "opened while the clock was a day ahead", user="Ada")
    clock.advance(days=1)  # Monday 08:06, really
    assert step(attendance, clock(), PARIS) == "the timetable opened 'Maths 3A' (08:00-09:00)"
    lesson = attendance.active
    clock.advance(minutes=10)
    attendance.stop_session(user="Ada")
    void_session(attendance, lesson.id, "the teacher was ill", user="Ada")
    clock.advance(minutes=5)
    assert step(attendance, clock(), PARIS) == "" and attendance.active is None


@pytest.mark.parametrize("data", ["postgresql"], indirect=True)
def test_a_lesson_voided_at_a_door_whose_clock_is_a_little_behind_stays_voided(data):
    """Voided at 08:03 at an office door whose clock read 07:57, the lesson opened again at the front door."""
    from faceattend_tui.attendance.session_edit import void_session

    front = FakeClock(MONDAY_8.replace(minute=1))
    attendance = school(data, front)
    assert step(attendance, front(), PARIS)
    lesson = attendance.active
    office = Attendance(open_store(data, clock=FakeClock(MONDAY_8 - timedelta(minutes=3))), station="office")
    office.stop_session(user="Ada")
    void_session(office, lesson.id, "wrong room", user="Ada")
    front.advance(minutes=2)
    again = Attendance(open_store(data, clock=front), station="front-door")
    assert step(again, front(), PARIS) == "" and [s.voided for s in again.store.sessions()] == [True]


class Door:
    """A station following the timetable on a wall clock the test moves, beside a steady clock that does not
    jump (the station sees the wall clock jump against it)."""

    def __init__(self, root: Path, wall: datetime):
        from fakes import FakeWorker, enroll_fake_people

        from faceattend_tui.config import load_settings
        from faceattend_tui.station import Station

        if not (root / "faceattend.toml").exists():
            enroll_fake_people(root, ["Ann"])
            (root / "faceattend.toml").write_text('timezone = "Europe/Paris"\n')
        self.clock, self.steady = FakeClock(wall), [0.0]
        self.station = Station(load_settings(root), "demo", worker_factory=FakeWorker, name="door", clock=self.clock,
                               steady=lambda: self.steady[0])
        self.station.open()

    def tick(self, minutes: float = 1.0, wall: datetime | None = None) -> None:
        """The steady clock moves `minutes`; the wall clock too, or to `wall` (a jump)."""
        self.clock.now = wall or self.clock.now + timedelta(minutes=minutes)
        self.steady[0] += minutes * 60
        self.station._timetable_next = 0.0
        self.station.poll(timeout=0.01)

    def until(self, wall: datetime) -> None:
        self.tick((wall - self.clock.now).total_seconds() / 60)


MATHS = "name,group,weekday,start,end,late_after\nMaths,,Mon,08:00,09:00,5\n"


@pytest.mark.parametrize("restarted", [False, True])
def test_a_lesson_a_clock_ahead_opened_and_staff_voided_before_it_was_put_right_opens_on_its_real_day(tmp_path,
                                                                                                      restarted):
    """Voided while the clock still read Monday, the stray lesson kept Monday's slot: the real Monday's lesson
    was never recorded. The station sees its clock jump back, or finds the voided lesson still to come when it
    starts again with the clock put right (a reboot), and gives the slot back."""
    door = Door(tmp_path, MONDAY_8 - timedelta(days=1, minutes=-1))
    save_slots(door.station.store, read_slots(MATHS))
    door.tick()  # Sunday 08:02
    door.tick(wall=door.clock.now + timedelta(days=1))  # a day ahead: Monday 08:03 on a Sunday...
    for _ in range(3):
        door.tick()  # ...past the 2 minutes the timetable waits: Monday's Maths opens
    stray = door.station.active
    assert stray is not None and stray.name == "Maths"
    door.station.stop_session()
    door.station.void_session(stray.id, "opened while the clock was a day ahead")  # at once, still ahead
    if restarted:
        door.station.close()
        wall = door.clock.now - timedelta(days=1)
        door = Door(tmp_path, wall)  # started again, the clock put right meanwhile
    else:
        door.tick(wall=door.clock.now - timedelta(days=1))  # put right while it runs
    try:
        door.until(MONDAY_8 + timedelta(minutes=1))  # Monday 08:01, really
        door.tick()
        assert door.station.active is not None and door.station.active.id != stray.id
    finally:
        door.station.close()


def test_a_lesson_an_hour_ahead_opened_and_staff_voided_opens_when_the_clock_is_put_right_within_it(tmp_path):
    """An hour ahead, Maths opened at 07:01 stamped 08:01 and was voided; put right at 08:10, the stray 08:01
    lay before the span the clock jumped back over, and the real Maths never opened."""
    door = Door(tmp_path, MONDAY_8 - timedelta(hours=1, minutes=1))
    try:
        save_slots(door.station.store, read_slots(MATHS))
        door.tick()  # 06:59
        door.tick(wall=door.clock.now + timedelta(hours=1, minutes=1))  # 08:01 at 07:00
        for _ in range(3):
            door.tick()
        stray = door.station.active
        assert stray is not None and stray.name == "Maths"
        door.station.stop_session()
        door.station.void_session(stray.id, "opened while the clock was an hour ahead")
        door.until(MONDAY_8 + timedelta(hours=1, minutes=10))  # 09:10 on the clock, 08:10 really
        door.tick(wall=door.clock.now - timedelta(hours=1))
        for _ in range(3):
            door.tick()  # the timetable waits 2 minutes after a jump
        assert door.station.active is not None and door.station.active.id != stray.id
    finally:
        door.station.close()


def test_a_lesson_voided_before_the_clock_fell_behind_for_a_moment_stays_voided(tmp_path):
    """The clock jumped an hour back from the right time and was put right; Maths, opened at 08:05 and voided
    at 08:20 for a real reason, must not open again."""
    door = Door(tmp_path, MONDAY_8 + timedelta(minutes=4))
    try:
        save_slots(door.station.store, read_slots(MATHS))
        door.tick()  # 08:05: Maths opens
        lesson = door.station.active
        assert lesson is not None
        door.until(MONDAY_8 + timedelta(minutes=15))
        door.tick(wall=door.clock.now - timedelta(hours=1))  # a glitch back...
        door.tick(wall=door.clock.now + timedelta(hours=1, minutes=1))  # ...put right
        door.until(MONDAY_8 + timedelta(minutes=20))
        door.station.stop_session()
        door.station.void_session(lesson.id, "the teacher is ill")
        for _ in range(3):
            door.tick()
        assert door.station.active is None
    finally:
        door.station.close()


def test_a_lesson_voided_for_a_real_reason_after_a_glitch_that_morning_stays_voided(tmp_path):
    """A glitch of 3 hours ahead at 07:51, put right a minute later; Maths opened at 08:00 and was voided at
    08:10 (the teacher ill): its slot was given back, and a second Maths opened with everyone late."""
    door = Door(tmp_path, MONDAY_8 - timedelta(minutes=10))
    try:
        save_slots(door.station.store, read_slots(MATHS))
        door.tick()  # 07:51
        door.tick(wall=door.clock.now + timedelta(hours=3, minutes=1))
        door.tick(wall=door.clock.now - timedelta(hours=3) + timedelta(minutes=1))  # put right: 07:53
        door.until(MONDAY_8 + timedelta(minutes=5))
        lesson = door.station.active
        assert lesson is not None and lesson.name == "Maths"
        door.tick(5)
        door.station.stop_session()
        door.station.void_session(lesson.id, "the teacher is ill: lesson cancelled")
        door.tick()
        door.tick()
        assert door.station.active is None
    finally:
        door.station.close()


@pytest.mark.parametrize("group", ["3a", "3A\u200b"])
def test_a_slot_whose_group_is_written_otherwise_than_the_log_finds_its_session_again(data, group):
    """The session holds the log's spelling (3A): the slot, written '3a', edited while it ran opened a
    second session, and stopped by hand came back."""
    clock = FakeClock(MONDAY_8.replace(minute=1))
    attendance = school(data, clock)
    lesson = "name,group,weekday,start,end,late_after\nMaths,{group},Mon,08:00,{end},\n"
    save_slots(attendance.store, read_slots(lesson.format(group=group, end="09:00")))
    assert step(attendance, clock(), PARIS) == "the timetable opened 'Maths' (08:00-09:00)"
    save_slots(attendance.store, read_slots(lesson.format(group=group, end="09:30")))
    clock.advance(minutes=20)
    assert step(attendance, clock(), PARIS) == "" and attendance.active.name == "Maths"  # the same one runs on
    attendance.stop_session(user="Ada")
    clock.advance(minutes=5)
    assert step(attendance, clock(), PARIS) == "" and attendance.active is None  # stopped by hand: stays so
    assert len(attendance.store.sessions()) == 1


def test_a_slot_a_session_started_by_hand_holds_back_is_said(data):
    """Staff's assembly ran into Maths' hours: Maths never opened, and nothing said why."""
    from faceattend_tui.attendance.timetable import held_back

    clock = FakeClock(MONDAY_8.replace(hour=7, minute=50))
    attendance = school(data, clock)
    attendance.start_session("Assembly", user="Ada")
    assert held_back(attendance, clock(), PARIS) == ""  # nothing due yet
    clock.advance(minutes=15)
    assert step(attendance, clock(), PARIS) == "" and attendance.active.name == "Assembly"
    said = held_back(attendance, clock(), PARIS)
    assert "'Maths 3A' (08:00-09:00, 3A) is due, but 'Assembly', started by hand, runs" in said
    attendance.stop_session(user="Ada")
    assert step(attendance, clock(), PARIS) == "the timetable opened 'Maths 3A' (08:00-09:00)"
    assert held_back(attendance, clock(), PARIS) == ""  # the timetable's own session holds nothing back


def test_a_lesson_staff_began_by_hand_is_not_said_to_hold_itself_back(data):
    """Stopping it 'to open Maths' opened nothing: a slot stopped by hand stays stopped."""
    from faceattend_tui.attendance.timetable import held_back

    clock = FakeClock(MONDAY_8.replace(minute=5))
    attendance = school(data, clock)
    attendance.start_session("Maths 3A", group="3a", user="Ada")
    clock.advance(minutes=1)
    assert step(attendance, clock(), PARIS) == "" and held_back(attendance, clock(), PARIS) == ""


def test_a_lesson_staff_began_a_few_minutes_early_is_the_slots_once_they_stop_it(data):
    """Maths 3A begun by hand at 07:55 and stopped at 08:50: the timetable opened a second Maths at once."""
    clock = FakeClock(MONDAY_8.replace(hour=7, minute=55))
    attendance = school(data, clock)
    attendance.start_session("Maths 3A", group="3A", user="Ada")
    clock.advance(minutes=10)
    assert step(attendance, clock(), PARIS) == ""
    clock.advance(minutes=45)
    attendance.stop_session(user="Ada")
    clock.advance(seconds=5)
    assert step(attendance, clock(), PARIS) == "" and attendance.active is None
    assert [s.name for s in attendance.store.sessions()] == ["Maths 3A"]


def test_the_second_hour_of_a_double_lesson_opens_though_the_first_ran_past_its_start(data):
    """A check-in just after 09:00 ends the first hour there: it is the timetable's, not begun early."""
    clock = FakeClock(MONDAY_8)
    attendance = school(data, clock)
    save_slots(attendance.store, read_slots("name,group,weekday,start,end,late_after\n"
                                            "Maths 3A,3A,Mon,08:00,09:00,10\nMaths 3A,3A,Mon,09:00,10:00,10\n"))
    assert step(attendance, clock(), PARIS) == "the timetable opened 'Maths 3A' (08:00-09:00)"
    clock.advance(minutes=60, microseconds=500000)  # 09:00:00.5, before the next poll
    arrived = attendance.check_in("S1").checkin.time
    clock.advance(microseconds=500000)
    assert step(attendance, clock(), PARIS) == "the timetable closed 'Maths 3A' at 09:00"
    assert attendance.store.sessions()[0].ended_at == arrived  # not before a check-in it holds
    clock.advance(seconds=1)
    assert step(attendance, clock(), PARIS) == "the timetable opened 'Maths 3A' (09:00-10:00)"


def test_a_lesson_of_the_same_name_over_before_the_slot_begins_does_not_hold_it(data):
    clock = FakeClock(MONDAY_8.replace(hour=7, minute=0))
    attendance = school(data, clock)
    attendance.start_session("Maths 3A", group="3A", user="Ada")
    clock.advance(minutes=30)
    attendance.stop_session(user="Ada")
    clock.advance(minutes=31)  # 08:01
    assert step(attendance, clock(), PARIS) == "the timetable opened 'Maths 3A' (08:00-09:00)"


def maths_then_physics(attendance, maths_end: str = "09:00") -> None:
    """Maths for 3A from 08:00, Physics for 3A 10:00-11:00, on Mondays."""
    save_slots(attendance.store, read_slots("name,group,weekday,start,end,late_after\n"
                                            f"Maths,3A,Mon,08:00,{maths_end},\nPhysics,3A,Mon,10:00,11:00,\n"))


def _stopped_while_opening(attendance, when, after_start: bool) -> None:
    """The timetable opens a slot on a station that stops (power cut) before it records what it opened."""
    from faceattend_tui.attendance import timetable

    real_update, real_start = attendance.store.update_setting, attendance.start_session

    class PowerCut(Exception):
        pass

    def update(key, change):
        if key == timetable.OPENED_SETTING and attendance.active is not None:
            raise PowerCut
        return real_update(key, change)

    def start(*args, **kwargs):
        raise PowerCut

    attendance.store.update_setting = update
    if not after_start:
        attendance.start_session = start
    with pytest.raises(PowerCut):
        step(attendance, when, PARIS)
    attendance.store.update_setting, attendance.start_session = real_update, real_start


def test_a_slot_opened_as_the_station_stopped_still_closes_at_its_end_and_the_next_slot_opens(data):
    clock = FakeClock(MONDAY_8.replace(minute=1))
    attendance = school(data, clock)
    maths_then_physics(attendance)
    _stopped_while_opening(attendance, clock(), after_start=True)
    assert attendance.active.name == "Maths"
    clock.advance(minutes=60)
    assert step(attendance, clock(), PARIS) == "the timetable closed 'Maths' at 09:00"
    clock.advance(minutes=65)
    assert step(attendance, clock(), PARIS) == "the timetable opened 'Physics' (10:00-11:00)"


def test_a_slot_opened_as_the_station_stopped_and_edited_meanwhile_closes_at_its_new_end(data):
    clock = FakeClock(MONDAY_8.replace(minute=1))
    attendance = school(data, clock)
    maths_then_physics(attendance)
    _stopped_while_opening(attendance, clock(), after_start=True)
    maths_then_physics(attendance, "09:30")
    clock.advance(minutes=65)
    assert step(attendance, clock(), PARIS) == ""  # 09:06: its new end is 09:30
    clock.advance(minutes=30)
    assert step(attendance, clock(), PARIS) == "the timetable closed 'Maths' at 09:30"
    clock.advance(minutes=30)
    assert step(attendance, clock(), PARIS) == "the timetable opened 'Physics' (10:00-11:00)"


def test_a_slot_claimed_as_the_station_stopped_opens_when_it_starts_again(data):
    clock = FakeClock(MONDAY_8.replace(minute=1))
    attendance = school(data, clock)
    _stopped_while_opening(attendance, clock(), after_start=False)
    assert attendance.active is None
    assert step(attendance, clock(), PARIS) == ""  # a door opening it this very moment is not raced
    clock.advance(minutes=3)
    assert step(attendance, clock(), PARIS) == "the timetable opened 'Maths 3A' (08:00-09:00)"
    attendance.stop_session(user="Ada")  # stopped by hand: stays stopped
    clock.advance(minutes=5)
    assert step(attendance, clock(), PARIS) == "" and attendance.active is None


def test_a_slot_opened_as_the_station_stopped_and_then_stopped_by_hand_is_not_opened_again(data):
    clock = FakeClock(MONDAY_8.replace(minute=1))
    attendance = school(data, clock)
    _stopped_while_opening(attendance, clock(), after_start=True)
    attendance.stop_session(user="Ada")
    clock.advance(minutes=5)
    assert step(attendance, clock(), PARIS) == "" and attendance.active is None


def test_a_slot_edited_while_its_session_runs_and_then_stopped_by_hand_stays_stopped(data):
    clock = FakeClock(MONDAY_8.replace(minute=1))
    attendance = school(data, clock)
    assert step(attendance, clock(), PARIS) == "the timetable opened 'Maths 3A' (08:00-09:00)"
    save_slots(attendance.store, read_slots(WEEK.replace("Maths 3A,3A,Mon,08:00,09:00", "Maths 3A,3A,Mon,08:00,09:30")))
    clock.advance(minutes=29)
    attendance.stop_session(user="Ada")
    clock.advance(minutes=1)
    assert step(attendance, clock(), PARIS) == "" and attendance.active is None


def test_a_session_staff_start_by_hand_after_a_power_cut_stays_theirs(data):
    clock = FakeClock(MONDAY_8.replace(minute=1))
    attendance = school(data, clock)
    _stopped_while_opening(attendance, clock(), after_start=False)  # the claim is left, nothing began
    clock.advance(minutes=1)
    attendance.start_session("Staff meeting", user="Ada")
    clock.advance(minutes=62)
    assert step(attendance, clock(), PARIS) == ""  # 09:04: not the slot's to close
    assert attendance.active.name == "Staff meeting"


def test_two_doors_on_one_database_open_a_slot_once(request, tmp_path):
    if "postgresql" not in BACKENDS:
        pytest.skip("needs PostgreSQL")
    request.param = "postgresql"
    data = data_root(request, tmp_path)
    clock = FakeClock(MONDAY_8.replace(minute=1))
    front = school(data, clock)
    back = Attendance(open_store(data, clock=clock), station="back-door")
    said = [step(front, clock(), PARIS), step(back, clock(), PARIS)]
    assert sum(bool(s) for s in said) == 1
    assert len([s for s in front.store.sessions() if s.active]) == 1
    assert DATABASES[data]


# ----- the command line ----------------------------------------------------------------------------


def test_a_session_opened_mid_slot_lists_the_time_lateness_begins(tmp_path, capsys):
    from faceattend_tui.cli import main

    data = tmp_path / "data"
    (data / "faceattend.toml").parent.mkdir(parents=True)
    (data / "faceattend.toml").write_text('timezone = "Europe/Paris"\n', encoding="utf-8")
    clock = FakeClock(MONDAY_8.replace(minute=1, second=23))
    attendance = school(data, clock)
    assert step(attendance, clock(), PARIS)
    attendance.store.close()
    assert main(["sessions", "list", "--data", str(data)]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert line.endswith("late from 08:10"), line  # not "late after 8.61667 min"


def test_a_week_set_up_from_one_csv_on_the_command_line(tmp_path, capsys):
    from faceattend_tui.cli import main

    data = tmp_path / "data"
    with open_store(data) as store:
        Attendance(store).add_person("Ann", person_id="S1", groups=["3A"])
    week = tmp_path / "week.csv"
    week.write_text(WEEK, encoding="utf-8")
    days = tmp_path / "days.csv"
    days.write_text("date,reason\n2026-12-25,Christmas\n", encoding="utf-8")
    assert main(["timetable", "import", str(week), "--holidays", str(days), "--data", str(data)]) == 0
    err = capsys.readouterr().err
    assert "timetable: 3 slots, 1 day off" in err and "nobody is in group '3B' yet" in err
    assert main(["timetable", "list", "--data", str(data)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[1:4] == ["Mon", "08:00-09:00", "Maths"] and "late after 10 min" in out[0]
    assert "2026-12-25  Christmas" in out[-1]
    key = out[0].split()[0]
    assert main(["timetable", "remove", key, "--data", str(data)]) == 0
    assert "removed 1 slot; 2 left" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("name,group,weekday,start,end,late_after\nA,3A,Funday,08:00,09:00,\n", encoding="utf-8")
    assert main(["timetable", "import", str(bad), "--data", str(data)]) == 2
    assert f"{bad} line 2: weekday 'Funday'" in capsys.readouterr().err
    bad.write_bytes(WEEK.replace("Maths", "Mathé").encode("cp1252"))
    assert main(["timetable", "import", str(bad), "--data", str(data)]) == 2
    assert 'is not UTF-8 text (an older spreadsheet\'s encoding?); save it as "CSV UTF-8"' in capsys.readouterr().err
    choir = tmp_path / "choir.csv"  # one class's file after the others': the whole timetable is replaced, said
    choir.write_text("name,group,weekday,start,end,late_after\nChoir,,Wed,16:00,17:00,\n", encoding="utf-8")
    assert main(["timetable", "import", str(choir), "--data", str(data)]) == 0
    assert "the file replaced the timetable: 2 earlier slots not in it as they were" in capsys.readouterr().err


# ----- files as offices write them, and the nights the clocks change ------------------------------------


def test_times_are_read_as_people_write_them_or_refused():
    text = "name,group,weekday,start,end,late_after\nMaths,,Mon,8.30,9.45,\nLunch,,Mon,12h15,12:45,\n"
    maths, lunch = read_slots(text)
    assert (maths.start, maths.end, lunch.start) == (time(8, 30), time(9, 45), time(12, 15))
    for bad in ("10:00Z", "08:00+01:00", "08:00:30", "8", "25:00", "8:3"):
        with pytest.raises(TimetableError, match="is not a time as HH:MM"):
            read_slots(f"name,group,weekday,start,end,late_after\nA,,Mon,{bad},23:00,\n")


def test_a_spreadsheets_semicolons_blank_lines_and_extra_cells_are_read_with_the_files_line_numbers():
    text = ("\ufeff\nname;group;weekday;start;end;late_after\n"  # a blank first line, then the header
            "Maths;3A;Mon;08:00;09:00;10;\n"  # a trailing separator: one cell more than the header
            "\n"
            "Physics;3B;Tue;9:3O;10:00;\n")
    with pytest.raises(TimetableError) as caught:
        read_slots(text, "week.csv")
    assert str(caught.value) == "week.csv line 5: start '9:3O' is not a time as HH:MM"
    (maths,) = read_slots(text.replace("9:3O", "09:30").replace("Tue", "Mon").replace("Physics;3B;Mon", "X;;Sat"))[:1]
    assert (maths.name, maths.late_after) == ("Maths", 10.0)
    tabbed = "name\tgroup\tweekday\tstart\tend\tlate_after\nMaths\t3A\tMon\t08:00\t09:00\t\n"  # "Unicode text"
    assert read_slots(tabbed)[0].end == time(9)


def test_a_row_repeated_a_thousand_times_is_one_line_each_not_one_per_pair():
    text = "name,group,weekday,start,end,late_after\n" + "Maths,,Mon,08:00,09:00,\n" * 1000
    with pytest.raises(TimetableError) as caught:
        read_slots(text, "term.csv")
    lines = str(caught.value).splitlines()
    assert len(lines) == 999 and lines[0] == ("term.csv line 3: Mon 08:00-09:00 overlaps line 2 (Maths "
                                              "08:00-09:00); one session runs at a time")


def test_a_slot_in_the_hour_the_clocks_skip_opens_when_the_jump_ends(monkeypatch):
    """Paris, 2026-03-29: 02:00 becomes 03:00. On the site's zone or on this machine's, the same."""
    import time as clock_module

    slots = read_slots("name,group,weekday,start,end,late_after\nNight,,Sun,01:30,02:30,\nEarly,,Sun,02:30,03:30,\n")
    night, early = slots
    day = date(2026, 3, 29)
    monkeypatch.setenv("TZ", "Europe/Paris")
    clock_module.tzset()
    try:
        for zone in (PARIS, None):
            assert [t.isoformat() for t in night.occurrence(day, zone)] == [
                "2026-03-29T01:30:00+01:00", "2026-03-29T03:00:00+02:00"]
            assert [t.isoformat() for t in early.occurrence(day, zone)] == [
                "2026-03-29T03:00:00+02:00", "2026-03-29T03:30:00+02:00"]
            assert due(slots, datetime(2026, 3, 29, 3, 10, tzinfo=PARIS), zone, {})[0].name == "Early"
    finally:
        monkeypatch.undo()
        clock_module.tzset()


def test_a_late_after_over_a_day_from_an_older_timetable_counts_as_a_day():
    slot = Slot("Long", None, 1, time(8), time(9), 5000.0)
    assert slot.late_after_from(datetime(2026, 9, 7, 8, 0, tzinfo=PARIS), PARIS) == 1440.0


def test_a_slot_changed_while_its_session_runs_still_closes_it_at_its_new_end(data):
    clock = FakeClock(MONDAY_8)
    attendance = school(data, clock)
    step(attendance, clock(), PARIS)
    maths = read_slots(WEEK)[0]
    save_slots(attendance.store, [Slot(maths.name, maths.group, 1, time(8), time(9, 30), 10.0)])  # half an hour more
    clock.advance(minutes=61)
    assert step(attendance, clock(), PARIS) == "" and attendance.active is not None  # 09:01: not yet
    clock.advance(minutes=30)
    assert step(attendance, clock(), PARIS) == "the timetable closed 'Maths 3A' at 09:30"


def test_a_slot_removed_while_its_session_runs_gives_way_to_the_next_slot(data):
    clock = FakeClock(MONDAY_8)
    attendance = school(data, clock)
    save_slots(attendance.store, read_slots("name,group,weekday,start,end,late_after\n"
                                            "Maths,,Mon,08:00,09:00,\nPhysics,,Mon,09:00,10:00,\n"))
    step(attendance, clock(), PARIS)
    save_slots(attendance.store, read_slots("name,group,weekday,start,end,late_after\nPhysics,,Mon,09:00,10:00,\n"))
    clock.advance(minutes=30)
    assert step(attendance, clock(), PARIS) == ""  # runs on: staff may stop it
    clock.advance(minutes=31)
    assert step(attendance, clock(), PARIS).startswith("the timetable closed 'Maths'")
    assert step(attendance, clock(), PARIS) == "the timetable opened 'Physics' (09:00-10:00)"


def test_late_after_typed_on_the_screen_is_refused_over_a_day():
    from faceattend_tui.tui.screens import parse_minutes

    assert parse_minutes("10") == 10.0 and parse_minutes("") is None
    for typed in ("5000", "inf", "1e308", "nan", "-1"):
        with pytest.raises(ValueError):
            parse_minutes(typed)


def test_the_small_things_a_secretary_meets_are_said_by_line():
    with pytest.raises(TimetableError, match=r"line 2: .*weekday '¹' is not Mon..Sun"):
        read_slots("name,group,weekday,start,end,late_after\nA,,¹,08:00,09:00,\n", "week.csv")
    with pytest.raises(TimetableError, match=r"not after the start 22:00 \(a slot to midnight ends at 24:00\)"):
        read_slots("name,group,weekday,start,end,late_after\nNight,,Fri,22:00,00:00,\n")
    with pytest.raises(TimetableError) as caught:
        read_holidays("2026-12-25,Xmas\x07\n2026-12-26,Boxing day\n2026-12-26,again\n", "days.csv")
    assert str(caught.value).splitlines() == [
        "days.csv line 1: the reason 'Xmas\\x07' holds a control character; not stored",
        "days.csv line 3: 2026-12-26 is listed twice"]
    tuesday = datetime(2026, 9, 8, 8, 15, tzinfo=PARIS)
    assert due(read_slots(WEEK), tuesday, PARIS, {}, station="Front-Door")[0].name == "Physics"  # any case


def test_a_slot_to_midnight_is_said_to_close_at_24_00(data):
    clock = FakeClock(datetime(2026, 9, 11, 23, 0, tzinfo=PARIS))
    attendance = school(data, clock)
    save_slots(attendance.store, read_slots("name,group,weekday,start,end,late_after\nNight,,Fri,22:00,24:00,\n"))
    step(attendance, clock(), PARIS)
    clock.advance(hours=1, minutes=1)
    assert step(attendance, clock(), PARIS) == "the timetable closed 'Night' at 24:00"


def test_a_double_period_edited_in_the_afternoon_is_not_closed_by_the_mornings_end(data):
    """Maths twice on Monday: the afternoon one, lengthened while it runs, keeps running to its new end."""
    clock = FakeClock(MONDAY_8.replace(hour=13, minute=35))
    attendance = school(data, clock)
    week = "name,group,weekday,start,end,late_after\nMaths,,Mon,08:00,09:00,\nMaths,,Mon,13:30,14:30,\n"
    save_slots(attendance.store, read_slots(week))
    assert step(attendance, clock(), PARIS) == "the timetable opened 'Maths' (13:30-14:30)"
    save_slots(attendance.store, read_slots(week.replace("14:30", "15:30")))
    clock.advance(minutes=60)
    assert step(attendance, clock(), PARIS) == "" and attendance.active is not None  # 14:35: runs on
    clock.advance(minutes=60)
    assert step(attendance, clock(), PARIS) == "the timetable closed 'Maths' at 15:30"
    save_slots(attendance.store, read_slots(week))
    clock.advance(days=7, minutes=-75)  # the next Monday, 14:20: its afternoon slot removed while it runs
    assert step(attendance, clock(), PARIS) == "the timetable opened 'Maths' (13:30-14:30)"
    save_slots(attendance.store, read_slots(week.split("Maths,,Mon,13:30")[0]))
    assert step(attendance, clock(), PARIS) == "" and attendance.active is not None  # not the morning's end


def test_a_slot_whose_late_after_runs_past_its_end_is_said_at_import(tmp_path, capsys):
    from faceattend_tui.cli import main

    week = tmp_path / "week.csv"
    week.write_text("name,group,weekday,start,end,late_after\nNight,,Sun,01:00,03:00,150\nMaths,,Mon,08:00,09:00,10\n",
                    encoding="utf-8")
    assert main(["timetable", "import", str(week), "--data", str(tmp_path / "data")]) == 0
    err = capsys.readouterr().err
    assert "Sun 01:00-03:00 'Night': late after 150 minutes is past its end, so nobody is late in it" in err
    assert "'Maths'" not in err


def test_a_timetable_line_the_header_cannot_hold_is_named_never_dropped_nor_a_traceback():
    """A slot meant for one door, its station cell beyond the header's columns, opened at every door;
    a quote never closed swallowed the file into one cell and crashed the import."""
    header = "name,group,weekday,start,end,late_after\n"
    with pytest.raises(TimetableError, match="line 2: more cells than the first line has columns"):
        read_slots(header + "A,3A,Mon,08:00,09:00,5,front-door\n")
    with pytest.raises(TimetableError, match="line 2: a cell that cannot be read"):
        read_slots(header + 'A,"3A' + "x" * 200_000 + "\n")
    with pytest.raises(TimetableError, match="line 2: a cell that cannot be read"):
        read_slots(header + 'A,"3A"x,Mon,08:00,09:00,5\n')  # stored as group 3Ax before
    with pytest.raises(TimetableError, match="names start twice"):
        read_slots("name,group,weekday,start,end,late_after,start\nA,3A,Mon,08:00,09:00,5,10:00\n")
    with pytest.raises(TimetableError, match="line 2: a cell that cannot be read"):
        read_holidays('date,reason\n2026-12-25,"' + "x" * 200_000 + "\n")
    with pytest.raises(TimetableError, match="line 1: a cell that cannot be read"):  # a traceback before
        read_slots(header.rstrip("\n") + "x" * 200_000 + "\n")


def test_a_week_saved_with_the_line_ends_of_an_old_mac_spreadsheet_is_read():
    """Lines ended by a carriage return alone ("CSV (Macintosh)"): the import crashed with a traceback."""
    (maths, physics) = read_slots("name;group;weekday;start;end;late_after\rMaths;3A;Mon;08:00;09:00;10\r"
                                  "Physics;3B;Tue;09:00;10:00;\r", "week.csv")
    assert (maths.name, maths.group, physics.weekday) == ("Maths", "3A", 2)


def test_holidays_saved_by_a_spreadsheet_with_tabs_or_semicolons_are_read():
    assert read_holidays("date\treason\n2026-12-25\tNoël\n") == {"2026-12-25": "Noël"}
    assert read_holidays("date;reason\n2026-12-25;Noël\n2026-12-26\n") == {"2026-12-25": "Noël", "2026-12-26": ""}
    assert read_holidays("2026-12-24\tChristmas, Eve\n2026-12-25\tChristmas\n") == {  # a comma in a reason
        "2026-12-24": "Christmas, Eve", "2026-12-25": "Christmas"}
    assert read_holidays("2026-12-24\n2026-12-25;Noël\n") == {"2026-12-24": "", "2026-12-25": "Noël"}
    assert read_holidays('"2026-12-24";"Eve"\n"2026-12-25"\t"x"\n'.replace("\t", ";")) == {
        "2026-12-24": "Eve", "2026-12-25": "x"}  # every cell quoted
    with pytest.raises(TimetableError, match="line 1: more cells than a date and its reason"):
        read_holidays("2026-12-24,Christmas, family day\n")  # ", family day" was dropped without a word


def test_a_change_staff_make_keeps_what_another_door_saved_since_they_read_the_timetable(data):
    from faceattend_tui.attendance.timetable import change_timetable, holidays_of, slots_of
    from faceattend_tui.errors import InputError

    maths, physics = Slot("Maths", "3A", 1, time(8), time(9)), Slot("Physics", None, 2, time(8), time(9))
    chemistry = Slot("Chemistry", None, 3, time(8), time(9))
    with open_store(data) as store:
        save_slots(store, [maths])
        shown = (slots_of(store), holidays_of(store))
        save_slots(store, [maths, physics])  # another door's import, meanwhile
        change_timetable(store, shown, ([maths, chemistry], {"2026-04-06": "Easter Monday"}))
        assert slots_of(store) == [maths, physics, chemistry] and holidays_of(store) == {"2026-04-06": "Easter Monday"}
        drama = Slot("Drama", None, 2, time(8, 30), time(9, 30))  # over Physics, which this screen never showed
        with pytest.raises(InputError, match="Drama, Tue 08:30-09:30 overlaps"):
            change_timetable(store, shown, ([maths, drama], {}))
        assert slots_of(store) == [maths, physics, chemistry] and holidays_of(store) == {"2026-04-06": "Easter Monday"}
