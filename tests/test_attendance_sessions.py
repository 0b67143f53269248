"""Session rules: groups and expected rosters, one check-in per person, late flags, marks, leaving, erasure."""

from __future__ import annotations

import os
from datetime import timedelta, timezone
from pathlib import Path

import pytest
from both_logs import BACKENDS, data_root, open_store
from fakes import FakeClock

from faceattend_tui.attendance import (
    Attendance,
    NoActiveSessionError,
    SessionActiveError,
)

TZ = timezone(timedelta(hours=2))


@pytest.fixture(params=BACKENDS)
def data(request, tmp_path: Path) -> Path:
    return data_root(request, tmp_path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def att(data, clock):
    store = open_store(data, clock=clock)
    att = Attendance(store, user="teacher", station="room-1")
    for name, groups in (("alice", ["3A"]), ("bob", ["3A"]), ("carol", ["3B"]), ("dave", ["3A", "choir"])):
        att.add_person(name, person_id=name, groups=groups, folder=name)
    yield att
    store.close()


@pytest.mark.slow
def test_only_one_session_at_a_time(att):
    first = att.start_session("Maths")
    with pytest.raises(SessionActiveError, match="'Maths'.*stop it"):
        att.start_session("Physics")
    att.stop_session()
    second = att.start_session("Physics")
    assert second.id != first.id and att.active.name == "Physics"
    assert first.station == "room-1"


def test_checkin_needs_a_running_session(att):
    with pytest.raises(NoActiveSessionError):
        att.check_in("alice", 0.9)
    with pytest.raises(NoActiveSessionError):
        att.stop_session()


def test_a_group_session_expects_its_members_only(att):
    session = att.start_session("Maths 3A", group="3A")
    assert sorted(session.expected) == ["alice", "bob", "dave"]
    assert att.check_in("carol", 0.9).checkin is None  # not on this list: nothing recorded
    att.check_in("alice", 0.9)
    summary = att.summary()
    assert (summary.present, summary.absent) == (["alice"], ["bob", "dave"])
    att.stop_session()
    with pytest.raises(ValueError, match="no group"):
        att.start_session("x", group="4C")


def test_someone_added_to_the_group_while_it_runs_joins_it(att):
    att.start_session("Maths 3A", group="3A")
    _, joined = att.update_person("carol", groups=["3A"])
    assert [p.id for p in joined] == ["carol"]
    assert att.check_in("carol", 0.9).new
    newcomer = att.add_person("erin", groups=["3A"])
    assert newcomer.id in att.active.expected
    assert att.counts().absent == 4  # alice, bob, dave, erin


def test_someone_of_another_group_enrolled_or_edited_while_it_runs_stays_off_its_list(att):
    """A 3B pupil enrolled during the 3A lesson was put on its list and counted absent in it."""
    att.start_session("Maths 3A", group="3A")
    att.add_person("erin", person_id="erin", groups=["3B"])
    _, joined = att.update_person("carol", name="Caroline")  # still in 3B
    assert joined == []
    assert sorted(att.active.expected) == ["alice", "bob", "dave"]
    assert att.counts().absent == 3
    assert att.check_in("erin", 0.9).checkin is None  # not on this list: nothing recorded
    session = att.stop_session()
    assert sorted(p.person.id for p in att.summary(session.id).people) == ["alice", "bob", "dave"]


def test_second_sighting_is_not_a_second_checkin(att, clock, data):
    att.start_session("Maths")
    first = att.check_in("alice", 0.91, track_id=7)
    clock.advance(minutes=3)
    again = att.check_in("alice", 0.99, track_id=8)
    assert first.new and not again.new
    assert again.checkin.id == first.checkin.id
    assert again.checkin.similarity == 0.91 and again.checkin.time == first.checkin.time
    assert again.checkin.last_seen == clock.now
    assert att.counts().present == 1


def test_last_seen_is_saved_when_the_session_stops(att, clock, data):
    session = att.start_session("Maths")
    att.check_in("alice", 0.9)
    clock.advance(minutes=5)
    att.check_in("alice", 0.9)
    att.stop_session()
    again = open_store(data)
    assert again.checkin(session.id, "alice").last_seen == clock.now


def test_late_flag(att, clock):
    att.start_session("Maths", late_after_minutes=10)
    clock.advance(minutes=10)
    on_time = att.check_in("alice").checkin
    clock.advance(seconds=1)
    late = att.check_in("bob").checkin
    assert (on_time.late, late.late) == (False, True)
    counts = att.counts()
    assert (counts.present, counts.late, counts.attended, counts.absent) == (1, 1, 2, 2)


def test_no_late_rule_means_nobody_is_late(att, clock):
    att.start_session("Open day")
    clock.advance(hours=5)
    assert att.check_in("alice").checkin.late is False


def test_active_session_resumes_after_restart(data, clock):
    store = open_store(data, clock=clock)
    att = Attendance(store, user="teacher")
    att.add_person("alice", person_id="alice")
    att.add_person("bob", person_id="bob")
    session = att.start_session("Maths", late_after_minutes=5)
    att.check_in("alice", 0.9)
    del att, store  # no close: as after a crash

    store = open_store(data, clock=clock)
    att = Attendance(store)
    assert (att.active.id, att.active.name, att.active.late_after_minutes) == (session.id, "Maths", 5)
    assert att.check_in("alice", 0.95).new is False
    clock.advance(minutes=6)
    assert att.check_in("bob").checkin.late is True
    att.stop_session()
    store.close()
    assert Attendance(open_store(data)).active is None


def test_a_mark_keeps_the_arrival_time_beside_it(att, clock):
    session = att.start_session("Maths", late_after_minutes=10)
    arrived = att.check_in("alice", 0.9).checkin
    clock.advance(minutes=30)
    with pytest.raises(ValueError, match="reason"):
        att.mark("alice", "absent", "  ")
    with pytest.raises(ValueError, match="status"):
        att.mark("alice", "gone", "x")
    mark = att.mark("alice", "late", "came back late from the break", user="head")
    assert (mark.previous, mark.by, mark.at) == ("present", "head", clock.now)
    row = next(p for p in att.summary().people if p.person.id == "alice")
    assert row.status == "late" and row.checkin.time == arrived.time  # "In" stays the arrival
    assert att.check_in("alice", 0.9).new is False  # the camera does not undo a staff mark
    assert att.store.checkin(session.id, "alice").time == arrived.time
    marks = [a for a in att.store.audit_log() if a.action == "checkin.mark"]
    assert [(a.user, a.details["person"], a.details["previous"]) for a in marks] == [("head", "alice", "present")]


def test_the_mark_made_last_counts_though_the_clock_was_ahead_for_the_first(att, clock, data):
    """Marked absent at 08:40 on a clock 30 minutes fast; put right, marked present at 08:12: present."""
    session = att.start_session("Maths")
    clock.advance(minutes=40)
    att.mark("alice", "absent", "not seen")
    clock.advance(minutes=-28)  # the time server puts the clock right
    att.mark("alice", "present", "was in the back row")
    assert att.store.outcomes(session.id)["alice"] == "present"
    assert [m.status for m in att.store.marks(session.id)] == ["absent", "present"]
    att.store.close()
    again = Attendance(open_store(data))
    assert again.store.outcomes(session.id)["alice"] == "present"


def test_the_summary_of_a_stopped_session_takes_each_persons_last_mark(att, clock):
    """Bob marked late, then put right as present: the summary and its export said late."""
    session = att.start_session("Maths 3A", group="3A")
    att.mark("bob", "late", "first guess")
    clock.advance(minutes=1)
    att.mark("bob", "present", "he was on time after all")
    att.stop_session()
    summary = att.summary(session.id)
    assert next(p for p in summary.people if p.person.id == "bob").status == "present"
    assert (summary.counts.present, summary.counts.late) == (1, 0)


def test_a_staff_mark_made_before_the_camera_sees_someone_keeps_its_word_in_the_live_counts(att, clock):
    """Marked sick, then seen by the camera: the running counts and roster said present."""
    att.start_session("Maths 3A", group="3A")
    att.mark("alice", "sick", "phoned in sick")
    clock.advance(minutes=2)
    att.check_in("alice", 0.9)
    counts = att.counts()
    assert (counts.present, counts.excused) == (0, {"sick": 1})
    assert next(r for r in att.roster() if r.id == "alice").status == "sick"


def test_a_mark_for_someone_not_expected_adds_them(att):
    att.start_session("Maths 3A", group="3A")
    att.mark("carol", "present", "visiting from 3B")
    assert "carol" in att.active.expected and att.counts().present == 1


def test_marks_after_the_session_ended(att, data):
    session = att.start_session("Maths")
    att.stop_session()
    att.mark("dave", "late", "bus", session_id=session.id)
    att.store.close()
    again = Attendance(open_store(data))
    assert next(p for p in again.summary(session.id).people if p.person.id == "dave").status == "late"


def test_a_past_session_never_changes_when_the_roster_does(att, clock):
    session = att.start_session("Maths")
    att.check_in("alice")
    att.stop_session()
    before = [(p.person.id, p.status) for p in att.summary(session.id).people]
    clock.advance(days=1)
    att.add_person("newbie", groups=["3A"])
    att.remove_person("bob")  # left
    att.update_person("dave", name="David", groups=[])
    after = [(p.person.id, p.status) for p in att.summary(session.id).people]
    assert after == before and len(after) == 4


def test_leaving_keeps_records_and_erasure_removes_them(att):
    session = att.start_session("Maths")
    att.check_in("alice")
    att.check_in("bob")
    att.stop_session()
    att.remove_person("alice", user="admin")
    att.remove_person("bob", erase=True, user="admin")
    ids = [p.person.id for p in att.summary(session.id).people]
    assert "alice" in ids and "bob" not in ids
    assert att.person("alice").state == "left" and att.person("bob") is None
    assert [p.id for p in att.people()] == ["carol", "dave"]
    (leave, alice), (erase, token) = [(a.action, a.details.get("id")) for a in att.store.audit_log()][-2:]
    assert (leave, alice, erase) == ("person.leave", "alice", "person.erase") and token.startswith("erased-")
    assert "bob" not in str(att.store.audit_log()[-1].details.get("name"))


def test_enrolled_templates_become_people_and_missing_ones_change_nobody(att, clock):
    result = att.sync_people({"alice": 2, "Frank Bauer": 1})
    assert [p.name for p in result.added] == ["Frank Bauer"]
    frank = att.by_folder("Frank Bauer")
    assert frank.images == 1 and frank.id.startswith("p-")
    assert att.sync_people({"alice": 2, "Frank Bauer": 1}).changed is False
    result = att.sync_people({"alice": 2})  # Frank's folder deleted by hand, or the manifest lost
    assert [p.id for p in result.missing] == [frank.id] and att.person(frank.id).state == "active"
    assert {p.id for p in att.sync_people({}).missing} == {"alice", frank.id}
    assert att.person("alice").active


def test_a_left_persons_folder_restored_by_hand_does_not_bring_them_back(att):
    att.remove_person("alice")
    result = att.sync_people({"alice": 2})
    assert not result.changed and att.person("alice").state == "left"
    back, _ = att.restore_person("alice")
    assert back.active and att.person("alice").left_at is None


def test_two_people_may_share_a_name(att):
    first = att.add_person("Sam Lee", person_id="S1")
    second = att.add_person("Sam Lee", person_id="S2")
    assert first.id != second.id
    with pytest.raises(LookupError, match="2 people are called"):
        att.find("Sam Lee")
    assert att.find("S2").id == "S2"


def test_past_sessions_newest_first(att, clock):
    for name in ("one", "two", "three"):
        att.start_session(name)
        clock.advance(hours=1)
        att.stop_session()
    att.start_session("running")
    assert [s.name for s in att.past_sessions()] == ["three", "two", "one"]
    assert [s.name for s in att.sessions()][0] == "running"


def test_privileged_actions_are_audited(att, clock):
    att.start_session("Maths")
    att.stop_session(user="sub")
    entries = [(a.action, a.user) for a in att.store.audit_log()]
    assert entries[-2:] == [("session.start", "teacher"), ("session.stop", "sub")]
    assert entries[0] == ("person.add", "teacher")
    assert all(a.time.utcoffset() == timedelta(hours=2) for a in att.store.audit_log())


def test_audit_user_defaults_to_login(data, clock, monkeypatch):
    monkeypatch.setenv("SUDO_USER", "sshuser")
    monkeypatch.setattr(os, "getuid", lambda: 0)  # sudo by sshuser
    store = open_store(data, clock=clock)
    Attendance(store).start_session("Maths")
    assert store.audit_log()[-1].user == "sshuser"


@pytest.mark.parametrize("minutes", [float("inf"), float("nan"), 1e20, -1, 24 * 60 + 1])
def test_a_lateness_that_is_no_time_of_day_is_refused_in_one_line_everywhere(att, minutes):
    """An infinite or huge threshold used to pass, then every check-in of the session failed to be recorded."""
    from faceattend_tui.attendance.session_edit import edit_session
    from faceattend_tui.attendance.timetable import TimetableError, read_slots
    from faceattend_tui.errors import InputError

    with pytest.raises(InputError, match="0 to 1440 minutes"):
        att.start_session("Maths", late_after_minutes=minutes)
    session = att.start_session("Maths", late_after_minutes=24 * 60)
    with pytest.raises(InputError, match="0 to 1440 minutes"):
        edit_session(att, session.id, user="teacher", late_after=minutes)
    with pytest.raises(TimetableError, match="line 2: late_after: 0 to 1440 minutes"):
        read_slots(f"name,group,weekday,start,end,late_after\nMaths,3A,Mon,08:00,09:00,{minutes}\n")
    att.check_in("alice", 0.8)
    assert [c.person_id for c in att.store.checkins(session.id)] == ["alice"]


def test_a_stop_by_a_door_whose_clock_is_behind_never_ends_a_session_before_it_began(att, clock):
    session = att.start_session("Maths")
    clock.advance(minutes=-15)  # the stopping door's clock is a quarter of an hour slow
    assert att.stop_session().ended_at == session.started_at


def test_a_stop_by_a_door_whose_clock_is_behind_never_ends_a_session_before_its_last_check_in(att, clock):
    """Check-ins at 09:00-09:10 by a right clock, the stop at 08:50 by a door ten minutes behind: the session
    read "09:00 until 09:00" with every check-in after its end."""
    att.start_session("Maths")
    clock.advance(minutes=10)
    last = att.check_in("alice", 0.8).checkin.time
    clock.advance(minutes=-20)
    assert att.stop_session().ended_at == last


def test_text_a_terminal_could_not_send_is_refused_not_stored(tmp_path):
    """A terminal set to Latin-1 types "ë" as a byte the screen reads as U+FFFD: "Zo\ufffd" is not a name."""
    from faceattend_tui.attendance import open_store
    from faceattend_tui.errors import InputError

    att = Attendance(open_store(tmp_path))
    with pytest.raises(InputError, match="could not be read"):
        att.start_session("Maths Zo\ufffd")
    with pytest.raises(InputError, match="could not be read"):
        att.add_person("Zo\ufffd Lee")
    assert att.active is None and att.people() == []


def test_a_photo_folder_named_with_accents_apart_gives_a_name_with_them_composed(tmp_path):
    """A folder copied from a Mac spells Zoé as Zoe and a combining accent: the name is stored composed."""
    import unicodedata

    from faceattend_tui.attendance import open_store

    att = Attendance(open_store(tmp_path))
    (person,) = att.sync_people({"Zoe\u0301": 1}).added
    assert person.name == "Zoé" and unicodedata.is_normalized("NFC", person.name)
    assert person.folder == "Zoe\u0301"  # the folder stays as it is on disk


def test_a_photo_folder_named_with_a_no_break_space_gives_a_name_with_a_plain_one(tmp_path):
    """A name copied from a web page: a roster import spelling it with a plain space then changes nothing."""
    from faceattend_tui.attendance import open_store

    att = Attendance(open_store(tmp_path))
    (person,) = att.sync_people({"Bill\u00a0Frist": 1}).added
    assert person.name == "Bill Frist" and person.folder == "Bill\u00a0Frist"
