"""Session rules: one running session, one check-in per person, late flags, manual marks."""

from __future__ import annotations

from datetime import timedelta, timezone
from pathlib import Path

import pytest
from fakes import FakeClock

from faceattend_tui.attendance import (
    Attendance,
    NoActiveSessionError,
    SessionActiveError,
    open_store,
)

TZ = timezone(timedelta(hours=2))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def att(data, clock):
    store = open_store(data, clock=clock)
    yield Attendance(store, user="teacher", station="room-1")
    store.close()


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


def test_second_sighting_is_not_a_second_checkin(att, clock, data):
    att.start_session("Maths")
    first = att.check_in("alice", 0.91, track_id=7)
    clock.advance(minutes=3)
    again = att.check_in("alice", 0.99, track_id=8)
    assert first.new and not again.new
    assert again.checkin.id == first.checkin.id
    assert again.checkin.similarity == 0.91 and again.checkin.time == first.checkin.time
    assert att.last_seen("alice") == clock.now
    assert att.counts().present == 1
    journal = (data / "attendance.journal").read_text().splitlines()
    assert len(journal) == 1


def test_last_seen_is_saved_when_the_session_stops(att, clock, data):
    session = att.start_session("Maths")
    att.check_in("alice", 0.9)
    clock.advance(minutes=5)
    att.check_in("alice", 0.9)
    att.stop_session()
    again = open_store(data)
    assert again.get_checkin(session.id, "alice").last_seen == clock.now


def test_late_flag(att, clock):
    att.start_session("Maths", late_after_minutes=10)
    clock.advance(minutes=10)
    on_time = att.check_in("alice").checkin
    clock.advance(seconds=1)
    late = att.check_in("bob").checkin
    assert (on_time.late, late.late) == (False, True)
    assert (on_time.status, late.status) == ("present", "late")
    counts = att.counts()
    assert (counts.present, counts.late, counts.attended) == (1, 1, 2)


def test_no_late_rule_means_nobody_is_late(att, clock):
    att.start_session("Open day")
    clock.advance(hours=5)
    assert att.check_in("alice").checkin.late is False


def test_active_session_resumes_after_restart(data, clock):
    store = open_store(data, clock=clock)
    att = Attendance(store, user="teacher")
    session = att.start_session("Maths", late_after_minutes=5)
    att.check_in("alice", 0.9)
    del att, store  # no close: as after a crash

    store = open_store(data, clock=clock)
    att = Attendance(store)
    assert att.active is not None
    assert (att.active.id, att.active.name, att.active.late_after_minutes) == (session.id, "Maths", 5)
    assert att.check_in("alice", 0.95).new is False
    clock.advance(minutes=6)
    assert att.check_in("bob").checkin.late is True
    att.stop_session()
    assert Attendance(open_store(data)).active is None
    store.close()


def test_manual_marks_are_audited_and_override(att, clock):
    session = att.start_session("Maths", late_after_minutes=10)
    att.check_in("alice", 0.9)
    with pytest.raises(ValueError, match="reason"):
        att.mark("alice", "absent", "  ")
    with pytest.raises(ValueError, match="status"):
        att.mark("alice", "gone", "x")
    marked = att.mark("alice", "absent", "left early", user="head")
    assert (marked.status, marked.source, marked.reason) == ("absent", "manual", "left early")
    assert marked.marked_by == "head"
    assert att.check_in("alice", 0.9).new is False  # the camera does not undo a staff mark
    assert att.store.get_checkin(session.id, "alice").status == "absent"
    att.mark("carol", "present", "camera missed her")
    counts = att.counts()
    assert (counts.present, counts.absent) == (1, 1)
    marks = [a for a in att.store.audit_log() if a.action == "checkin.mark"]
    assert [(a.user, a.details["person"], a.details["previous"]) for a in marks] == [
        ("head", "alice", "present"), ("teacher", "carol", None)]


def test_marks_after_the_session_ended(att, data):
    session = att.start_session("Maths")
    att.stop_session()
    att.mark("dave", "late", "bus", session_id=session.id)
    att.store.close()
    again = open_store(data)
    assert again.get_checkin(session.id, "dave").status == "late"


def test_summary_present_late_absent(att, clock):
    for name in ("alice", "bob", "carol", "dave"):
        att.enroll(name, images=3)
    session = att.start_session("Maths", late_after_minutes=10)
    att.check_in("alice", 0.9)
    clock.advance(minutes=15)
    att.check_in("bob", 0.8)
    att.check_in("zed", 0.7)  # recognised but not on the roster
    att.mark("dave", "absent", "sick")
    summary = att.summary()
    assert (summary.present, summary.late, summary.absent) == (["alice"], ["bob", "zed"], ["carol", "dave"])
    assert (summary.counts.present, summary.counts.late, summary.counts.absent) == (1, 2, 2)
    only = att.summary(session.id, roster=["alice", "erin"])
    assert only.absent == ["dave", "erin"]


def test_summary_of_a_past_session_uses_the_roster_of_then(att, clock):
    att.enroll("alice")
    session = att.start_session("Maths")
    att.stop_session()
    clock.advance(days=1)
    att.enroll("newbie")
    assert att.summary(session.id).absent == ["alice"]


def test_past_sessions_newest_first(att, clock):
    for name in ("one", "two", "three"):
        att.start_session(name)
        clock.advance(hours=1)
        att.stop_session()
    att.start_session("running")
    assert [s.name for s in att.past_sessions()] == ["three", "two", "one"]
    assert [s.name for s in att.sessions()][0] == "running"


def test_privileged_actions_are_audited(att, clock):
    att.enroll("alice", images=5, user="admin")
    att.remove_person("alice", user="admin")
    att.start_session("Maths")
    att.stop_session(user="sub")
    entries = [(a.action, a.user) for a in att.store.audit_log()]
    assert entries == [("person.enroll", "admin"), ("person.delete", "admin"), ("session.start", "teacher"),
                       ("session.stop", "sub")]
    assert all(a.time.utcoffset() == timedelta(hours=2) for a in att.store.audit_log())


def test_audit_user_defaults_to_login(data, clock, monkeypatch):
    monkeypatch.delenv("SUDO_USER", raising=False)
    monkeypatch.setenv("LOGNAME", "sshuser")
    store = open_store(data, clock=clock)
    Attendance(store).start_session("Maths")
    assert store.audit_log()[-1].user == "sshuser"
