"""Past sessions set right (voided, or edited with the statuses worked out again) and absence codes that
reports count apart, on both logs."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone

import pytest
from both_logs import BACKENDS, data_root, open_store
from fakes import FakeClock

from faceattend_tui.attendance import Attendance, NothingToExport, build_report, choose_sessions
from faceattend_tui.attendance.session_edit import edit_session, void_session
from faceattend_tui.attendance.sessions import summarize
from faceattend_tui.cli import main


@pytest.fixture(params=BACKENDS)
def data(request, tmp_path):
    return data_root(request, tmp_path)


def one_session(data, clock, late_after=15.0, attendance: Attendance | None = None) -> Attendance:
    """Ann (3A) checks in 12 minutes after the start, Bob (3A) is marked excused, Cleo (3B) is not expected."""
    attendance = attendance or Attendance(open_store(data, clock=clock))
    attendance.add_person("Ann", person_id="S1", groups=["3A"])
    attendance.add_person("Bob", person_id="S2", groups=["3A"])
    attendance.add_person("Cleo", person_id="S3", groups=["3B"])
    attendance.start_session("Maths", late_after, group="3A", user="Dana")
    clock.advance(minutes=12)
    attendance.check_in("S1", 0.8)
    attendance.mark("S2", "excused", "note from home", user="Dana")
    clock.advance(minutes=40)
    attendance.stop_session(user="Dana")
    return attendance


def statuses(attendance: Attendance, session_id: int) -> dict[str, str]:
    session = attendance.store.session(session_id)
    return {r.person.name: r.status for r in summarize(attendance.store, session, {}).people}


def test_absence_codes_are_counted_apart_and_left_out_of_rates(data):
    attendance = one_session(data, FakeClock())
    report = build_report(attendance.store, date(2024, 9, 1), date(2024, 9, 30))
    bob = next(line for line in report.people if line.person.name == "Bob")
    assert bob.counts.excused == {"excused": 1} and bob.counts.total == 0 and bob.rate is None
    assert report.sessions[0].rate == 1.0  # Ann came; Bob was excused, not absent
    assert report.below(0.8) == []  # an excused person is not named among those below 80 %
    with pytest.raises(ValueError, match="status must be one of present, late, absent, excused, sick, leave"):
        attendance.mark("S1", "holiday", "?", session_id=1, user="Dana")
    later = Attendance(attendance.store, codes=("sick",))  # a code taken out of the settings still loads
    assert statuses(later, 1)["Bob"] == "excused"


def test_an_exports_counts_add_up_to_who_it_expected_absence_codes_included(data, tmp_path):
    import json

    from faceattend_tui.attendance import ExportOptions, export_attendance

    attendance = one_session(data, FakeClock())
    path = export_attendance(attendance.store, tmp_path, ExportOptions("json"), session_id=1)
    (session,) = json.loads(path.read_text(encoding="utf-8"))["sessions"]
    assert session["expected"] == 2 and session["counts"] == {"present": 1, "late": 0, "absent": 0, "excused": 1}


def test_a_voided_session_is_kept_and_left_out_of_reports(data):
    attendance = one_session(data, FakeClock())
    with pytest.raises(ValueError, match="needs a reason"):
        void_session(attendance, 1, "  ", user="Ada")
    voided = void_session(attendance, 1, "a test before the term", user="Ada")
    assert (voided.voided_by, voided.void_reason) == ("Ada", "a test before the term")
    assert attendance.store.session(1).voided  # kept
    assert build_report(attendance.store, date(2024, 9, 1), date(2024, 9, 30)).sessions == []
    assert len(build_report(attendance.store, date(2024, 9, 1), date(2024, 9, 30), voided=True).sessions) == 1
    with pytest.raises(NothingToExport):  # a date range leaves it out too; by its id it is still written
        choose_sessions(attendance.store, date_from=date(2024, 9, 1), date_to=date(2024, 9, 30))
    assert choose_sessions(attendance.store, session_id=1)[0].voided
    with pytest.raises(NothingToExport, match="every session is voided"):  # nor is it "the latest"
        choose_sessions(attendance.store)
    with pytest.raises(ValueError, match="either a session id or dates"):
        choose_sessions(attendance.store, session_id=1, date_from=date(2024, 9, 1))
    with pytest.raises(ValueError, match="voided on"):
        void_session(attendance, 1, "again", user="Ada")
    assert [e.user for e in attendance.store.audit_log() if e.action == "session.void"] == ["Ada"]


def test_a_range_holding_only_voided_sessions_says_so(tmp_path, capsys):
    data = tmp_path / "data"
    attendance = one_session(data, FakeClock())
    void_session(attendance, 1, "a test run", user="Ada")
    attendance.store.close()
    for command in (["report", "--from", "2024-09-01", "--to", "2024-09-30"], ["export", "--from", "2024-09-01"]):
        assert main([*command, "--data", str(data)]) == 3
        assert "1 voided session in it" in capsys.readouterr().err


def test_a_report_with_voided_sessions_says_which_and_why(data, tmp_path, capsys):
    attendance = one_session(data, FakeClock())
    void_session(attendance, 1, "a test before the term", user="Ada")
    report = build_report(attendance.store, date(2024, 9, 1), date(2024, 9, 30), voided=True)
    from faceattend_tui.attendance import report_csv

    (row,) = list(csv.DictReader(io.StringIO(report_csv(report, bom=False, by="session"))))
    assert row["void_reason"] == "a test before the term"


def test_a_report_from_a_day_to_come_says_so_not_that_the_range_is_reversed(tmp_path, capsys):
    data = tmp_path / "data"
    one_session(data, FakeClock()).store.close()
    assert main(["report", "--from", "2999-01-01", "--data", str(data)]) == 3
    assert "nothing to report: --from 2999-01-01 is after today" in capsys.readouterr().err


def test_a_running_session_cannot_be_voided(data):
    clock = FakeClock()
    attendance = Attendance(open_store(data, clock=clock))
    attendance.add_person("Ann", person_id="S1")
    session = attendance.start_session("Maths")
    with pytest.raises(ValueError, match="stop it before"):
        void_session(attendance, session.id, "test", user="Ada")


def test_editing_late_after_works_statuses_out_again_from_the_stored_times(data):
    attendance = one_session(data, FakeClock())
    assert statuses(attendance, 1)["Ann"] == "present"  # 12 minutes, late after 15
    paris = timezone(timedelta(hours=2))  # the station's clock: the lateness time is said on it
    edit = edit_session(attendance, 1, user="Ada", late_after=10.0, zone=paris)
    assert edit.changed == ["late after: 15 min -> 10 min (late from 08:10: counted from its start)",
                            "Ann: present -> late"]
    assert statuses(attendance, 1)["Ann"] == "late"
    assert build_report(attendance.store, date(2024, 9, 1), date(2024, 9, 30)).sessions[0].counts.late == 1
    entry = next(e for e in attendance.store.audit_log() if e.action == "session.edit")
    assert entry.user == "Ada" and "Ann: present -> late" in entry.details["changes"]


def test_a_group_written_in_another_case_is_no_change_and_a_past_group_can_be_given(data):
    attendance = one_session(data, FakeClock())
    assert edit_session(attendance, 1, user="Ada", group="3a").changed == []  # the session's own 3A
    for person in attendance.store.people():  # the class moved on to 4A since
        attendance.update_person(person.id, groups=["4A" if g == "3A" else g for g in person.groups])
    attendance.store.update_session(1, {"group": None}, None)  # started for everyone by mistake
    assert edit_session(attendance, 1, user="Ada", group="3a").changed[0] == "group: everyone -> 3A"


def test_editing_the_group_changes_who_was_expected(data):
    attendance = one_session(data, FakeClock())
    edit = edit_session(attendance, 1, user="Ada", group="3b", name="Maths 3B")  # as stored: 3B
    assert edit.changed[:2] == ["name: 'Maths' -> 'Maths 3B'", "group: 3A -> 3B"]
    assert "Cleo: not expected -> absent" in edit.changed
    # Ann checked in and Bob was marked: their records stay, and so they stay expected, counted once
    session = attendance.store.session(1)
    assert session.expected == ["S3", "S1", "S2"]
    assert set(statuses(attendance, 1)) == {"Ann", "Bob", "Cleo"}
    (row,) = build_report(attendance.store, date(2024, 9, 1), date(2024, 9, 30)).sessions
    assert row.counts.total + sum(row.counts.excused.values()) == len(session.expected) == 3
    assert "not recorded" in edit.notes[0]  # a face of 3B seen while it ran is not there to count
    with pytest.raises(ValueError, match="no group"):
        edit_session(attendance, 1, user="Ada", group="4C")


def test_regrouping_a_past_session_expects_only_who_was_on_the_roster_then(data):
    clock = FakeClock()
    attendance = Attendance(open_store(data, clock=clock))
    attendance.add_person("Eve", person_id="S5", groups=["3B"])
    attendance.remove_person("S5", user="Dana")  # left before the session
    clock.advance(days=1)
    one_session(data, clock, attendance=attendance)
    clock.advance(days=30)
    attendance.add_person("Dan", person_id="S4", groups=["3B"])  # joined a month later
    edit = edit_session(attendance, 1, user="Ada", group="3B")
    assert attendance.store.session(1).expected == ["S3", "S1", "S2"]
    assert not any(line.startswith(("Dan", "Eve")) for line in edit.changed)
    assert set(statuses(attendance, 1)) == {"Ann", "Bob", "Cleo"}  # Ann and Bob keep their records


def test_sessions_from_the_command_line(tmp_path, capsys):
    data = tmp_path / "data"
    one_session(data, FakeClock()).store.close()
    assert main(["sessions", "list", "--data", str(data)]) == 0
    assert "Maths" in capsys.readouterr().out
    assert main(["sessions", "edit", "1", "--late-after", "10", "--data", str(data)]) == 0
    assert "Ann: present -> late" in capsys.readouterr().out
    assert main(["sessions", "void", "1", "--reason", "test run", "--data", str(data)]) == 0
    assert main(["sessions", "list", "--data", str(data)]) == 0
    assert "Maths" not in capsys.readouterr().out
    assert main(["sessions", "list", "--voided", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "VOIDED" in out and "test run" in out
    assert main(["sessions", "void", "7", "--reason", "x", "--data", str(data)]) == 2


def test_a_session_that_ends_on_another_day_is_listed_with_its_end_date(tmp_path, capsys):
    data, clock = tmp_path / "data", FakeClock()
    attendance = Attendance(open_store(data, clock=clock))
    attendance.start_session("Night watch")
    clock.advance(days=3)
    attendance.stop_session()
    attendance.store.close()
    (data / "faceattend.toml").write_text('timezone = "Europe/Paris"\n')
    assert main(["sessions", "list", "--data", str(data)]) == 0
    assert "2024-09-02 08:00 until 2024-09-05 08:00 Night watch" in capsys.readouterr().out


def test_the_latest_mark_wins_in_reports_as_in_exports_across_a_change_of_the_clocks(data):
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    at = lambda minutes: (datetime(2026, 10, 25, 0, 40, tzinfo=timezone.utc) + timedelta(minutes=minutes)).astimezone(paris)  # noqa: E731, E501
    clock = FakeClock(at(0))  # 02:40, summer time
    attendance = Attendance(open_store(data, clock=clock))
    attendance.add_person("Ann", person_id="S1")
    attendance.start_session("Night watch")
    clock.now = at(10)
    attendance.mark("S1", "present", "seen on the rounds", user="Dana")  # 02:50+02:00
    clock.now = at(30)
    assert clock.now.hour == 2 and clock.now.minute == 10  # twenty minutes later, the clocks gone back
    attendance.mark("S1", "absent", "that was someone else", user="Dana")
    attendance.stop_session(user="Dana")
    assert [m.status for m in attendance.store.marks(1)] == ["present", "absent"], attendance.store.marks(1)
    assert attendance.store.outcomes(1) == {"S1": "absent"}
    report = build_report(attendance.store, date(2026, 10, 24), date(2026, 10, 26))
    assert report.people[0].counts.attended == 0
