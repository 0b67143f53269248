"""Attendance sheets and reports: columns, marks beside check-ins, stable past sessions, file names."""

from __future__ import annotations

import csv
import json
import stat
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from fakes import FakeClock

from faceattend_tui.attendance import (
    Attendance,
    ExportOptions,
    NothingToExport,
    build_report,
    export_attendance,
    export_session,
    open_store,
    report_csv,
    report_json,
)
from faceattend_tui.attendance.export import COLUMNS, free_path, slug

TZ = timezone(timedelta(hours=2))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def att(tmp_path, clock):
    store = open_store(tmp_path / "data", clock=clock)
    att = Attendance(store, user="teacher")
    for name, group in (("alice", "3A"), ("bob", "3A"), ("carol", "3A"), ("dave", "3A"), ("erin", "3B")):
        att.add_person(name, person_id=name, groups=[group], folder=name)
    yield att
    store.close()


def run_class(att: Attendance, clock: FakeClock, name: str, group: str | None = "3A") -> int:
    session = att.start_session(name, late_after_minutes=10, group=group)
    clock.advance(minutes=2)
    att.check_in("alice", 0.91234, track_id=1)
    clock.advance(minutes=20)
    att.check_in("bob", 0.8, track_id=2)
    att.mark("dave", "absent", "sick note")
    att.stop_session()
    return session.id


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def test_session_csv(att, clock, tmp_path):
    session_id = run_class(att, clock, "Maths")
    out = export_session(att.store, session_id, tmp_path / "maths.csv", user="exporter", zone="Europe/Paris")
    assert out.read_bytes().startswith("\ufeff".encode())  # Excel reads the accents right
    rows = read_csv(out)
    assert tuple(rows[0]) == COLUMNS
    by_person = {r["person"]: r for r in rows}
    assert {p: r["status"] for p, r in by_person.items()} == {
        "alice": "present", "bob": "late", "carol": "absent", "dave": "absent"}  # erin is in 3B
    alice = by_person["alice"]
    assert (alice["session_id"], alice["session_name"], alice["session_group"]) == (str(session_id), "Maths", "3A")
    assert alice["person_id"] == "alice" and alice["session_start"] == "2024-09-02T08:00:00.000+02:00"
    assert alice["checkin_time"] == "2024-09-02T08:02:00.000+02:00"
    assert (alice["similarity"], alice["mark_status"]) == ("0.9123", "")
    assert by_person["carol"]["checkin_time"] == ""
    dave = by_person["dave"]
    assert (dave["mark_status"], dave["mark_reason"], dave["marked_by"], dave["status_before_mark"]) == (
        "absent", "sick note", "teacher", "absent")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    audit = att.store.audit_log()[-1]
    assert (audit.action, audit.user, audit.details["sessions"]) == ("export", "exporter", [session_id])


def test_session_json(att, clock, tmp_path):
    session_id = run_class(att, clock, "Maths")
    out = export_session(att.store, session_id, tmp_path / "maths.json", fmt="json")
    (session,) = json.loads(out.read_text())["sessions"]
    assert session["counts"] == {"present": 1, "late": 1, "absent": 2} and session["group"] == "3A"
    assert [(p["person"], p["status"]) for p in session["people"]] == [
        ("alice", "present"), ("bob", "late"), ("carol", "absent"), ("dave", "absent")]


def test_a_past_session_exports_the_same_bytes_after_the_roster_changes(att, clock, tmp_path):
    session_id = run_class(att, clock, "Maths")
    first = export_session(att.store, session_id, tmp_path / "first.csv").read_bytes()
    first_json = json.loads(export_session(att.store, session_id, tmp_path / "first.json", fmt="json").read_text())
    clock.advance(days=1)
    att.add_person("newbie", groups=["3A"])  # enrolled later
    att.remove_person("carol")  # left
    att.start_session("next day", group="3A")
    att.check_in("bob")
    again = export_session(att.store, session_id, tmp_path / "again.csv").read_bytes()
    again_json = json.loads(export_session(att.store, session_id, tmp_path / "again.json", fmt="json").read_text())
    assert again == first
    assert {**again_json, "generated_at": None} == {**first_json, "generated_at": None}


def test_a_date_range_is_inclusive_and_an_empty_one_says_so(att, clock, tmp_path):
    ids = {}
    for day in (1, 2, 3, 5):
        clock.now = datetime(2024, 9, day, 23, 0, tzinfo=TZ)
        ids[day] = run_class(att, clock, f"day {day}")
    out = export_attendance(att.store, tmp_path, ExportOptions(), date_from=date(2024, 9, 2), date_to=date(2024, 9, 3))
    rows = read_csv(out)
    assert sorted({int(r["session_id"]) for r in rows}) == [ids[2], ids[3]]
    assert len(rows) == 2 * 4 and out.name == "2024-09-02_2024-09-03.csv"
    with pytest.raises(NothingToExport, match="no session between 2024-09-04"):
        export_attendance(att.store, tmp_path, ExportOptions(), date_from=date(2024, 9, 4), date_to=date(2024, 9, 4))
    with pytest.raises(ValueError, match="reversed"):
        export_attendance(att.store, tmp_path, ExportOptions(), date_from=date(2024, 9, 3), date_to=date(2024, 9, 2))
    since = export_attendance(att.store, tmp_path, ExportOptions(), date_from=date(2024, 9, 2))  # to today
    assert sorted({int(r["session_id"]) for r in read_csv(since)}) == [ids[2], ids[3], ids[5]]
    assert since.name == "2024-09-02_2024-09-05.csv"
    until = export_attendance(att.store, tmp_path, ExportOptions(), date_to=date(2024, 9, 2))  # from the first
    assert sorted({int(r["session_id"]) for r in read_csv(until)}) == [ids[1], ids[2]]
    with pytest.raises(NothingToExport, match="after today"):
        export_attendance(att.store, tmp_path, ExportOptions(), date_from=date(2024, 9, 6))
    with pytest.raises(NothingToExport, match="no session on or before 2024-08-01"):  # before the first one
        export_attendance(att.store, tmp_path, ExportOptions(), date_to=date(2024, 8, 1))


def test_a_sheets_file_name_carries_the_day_on_the_stations_clock(att, clock, tmp_path):
    """A night session begun at 00:30 in Paris on 3 September is stored as 22:30 UTC on the 2nd."""
    clock.now = datetime(2024, 9, 2, 22, 30, tzinfo=timezone.utc)
    att.start_session("Night shift")
    att.stop_session()
    out = export_attendance(att.store, tmp_path / "exports", ExportOptions(zone="Europe/Paris"))
    assert out.name == "2024-09-03_1_night-shift.csv"
    assert read_csv(out)[0]["session_date"] == "2024-09-03"


def test_file_names_keep_accents_stay_short_and_never_collide(att, clock, tmp_path):
    att.start_session("Chimie 1ère")
    att.stop_session()
    first = export_attendance(att.store, tmp_path / "exports", ExportOptions())
    second = export_attendance(att.store, tmp_path / "exports", ExportOptions())
    assert first.name == "2024-09-02_1_chimie-1ère.csv" and second.name == "2024-09-02_1_chimie-1ère-2.csv"
    long = slug("Séance de travaux pratiques " * 20)
    assert len(long.encode("utf-8")) <= 120 and long.startswith("séance-de-travaux")
    assert slug("物理 实验 " * 40).startswith("物理-实验") and len(slug("物理 实验 " * 40).encode()) <= 120
    assert (slug("Viva: शर्मा प्रिया"), slug("คณิตศาสตร์")) == ("viva-शर्मा-प्रिया", "คณิตศาสตร์")  # vowel signs kept
    att.start_session("Économie " * 40)
    att.stop_session()
    path = export_attendance(att.store, tmp_path / "exports", ExportOptions())
    assert path.exists() and len(path.name.encode()) < 200
    assert free_path(tmp_path / "nothing-here.csv") == tmp_path / "nothing-here.csv"


def test_csv_without_a_byte_order_mark(att, clock, tmp_path):
    session_id = run_class(att, clock, "Maths")
    out = export_session(att.store, session_id, tmp_path / "plain.csv", bom=False)
    assert out.read_bytes().startswith(b"session_id,")


def test_spreadsheet_formulas_are_neutralised(att, clock, tmp_path):
    att.start_session("=HYPERLINK(\"x\")")
    att.mark("alice", "present", "@cmd")
    att.stop_session()
    rows = read_csv(export_attendance(att.store, tmp_path, ExportOptions()))
    assert rows[0]["session_name"].startswith("'=")
    assert next(r for r in rows if r["person"] == "alice")["mark_reason"] == "'@cmd"


def test_a_report_counts_each_person_over_the_term(att, clock, tmp_path):
    for day in range(1, 6):
        clock.now = datetime(2024, 9, day, 8, 0, tzinfo=TZ)
        att.start_session(f"Maths {day}", late_after_minutes=5, group="3A")
        if day != 3:
            att.check_in("alice")
        clock.advance(minutes=10)
        if day % 2:
            att.check_in("bob")
        att.stop_session()
    clock.now = datetime(2024, 9, 6, 8, 0, tzinfo=TZ)
    att.start_session("Choir", group="3B")
    att.check_in("erin")
    att.stop_session()
    report = build_report(att.store, date(2024, 9, 1), date(2024, 9, 30), group="3A")
    lines = {line.person.id: line for line in report.people}
    assert set(lines) == {"alice", "bob", "carol", "dave"} and len(report.sessions) == 5
    assert (lines["alice"].counts.present, lines["alice"].counts.absent, lines["alice"].rate) == (4, 1, 0.8)
    assert (lines["bob"].counts.late, lines["bob"].counts.absent) == (3, 2)
    assert [p.person.id for p in report.below(0.5)] == ["carol", "dave"]
    assert [line.counts.attended for line in report.sessions] == [2, 1, 1, 1, 2]
    rows = list(csv.DictReader(report_csv(report).lstrip("\ufeff").splitlines()))  # one row per person
    assert [r["id"] for r in rows] == [line.person.id for line in report.people]
    assert next(r for r in rows if r["id"] == "alice")["rate"] == "0.8"
    sessions = list(csv.DictReader(report_csv(report, by="session").lstrip("\ufeff").splitlines()))
    assert [int(r["present"]) + int(r["late"]) for r in sessions] == [2, 1, 1, 1, 2]
    doc = json.loads(report_json(report, clock()))
    assert len(doc["people"]) == 4 and len(doc["sessions"]) == 5 and doc["group"] == "3A"
    everyone = build_report(att.store, date(2024, 9, 1), date(2024, 9, 30))
    assert len(everyone.sessions) == 6


def test_someone_at_exactly_the_rate_is_not_below_it(att, clock):
    """Alice came to 4 lessons of 5 (80 %): the r screen listed her as below 80 %."""
    for day in range(1, 6):
        clock.now = datetime(2024, 9, day, 8, 0, tzinfo=TZ)
        att.start_session(f"Maths {day}", group="3A")
        for pid in ("alice", "bob", "carol", "dave"):
            if pid != "alice" or day != 3:
                att.check_in(pid)
        att.stop_session()
    report = build_report(att.store, date(2024, 9, 1), date(2024, 9, 30), group="3A")
    assert next(p for p in report.people if p.person.id == "alice").rate == 0.8
    assert report.below(0.8) == []
    assert [p.person.id for p in report.below(0.81)] == ["alice"]


def test_a_reports_expected_leaves_out_the_lessons_someone_was_excused_from(att, clock):
    """Alice marked sick for one lesson of two: her row said expected 2, beside present 1 and rate 100 %."""
    for day in (2, 3):
        clock.now = datetime(2024, 9, day, 8, 0, tzinfo=TZ)
        att.start_session(f"Maths {day}", group="3A")
        for pid in ("bob", "carol", "dave"):
            att.check_in(pid)
        if day == 2:
            att.mark("alice", "sick", "flu")
        else:
            att.check_in("alice")
        att.stop_session()
    report = build_report(att.store, date(2024, 9, 1), date(2024, 9, 30), group="3A")
    rows = {r["id"]: r for r in csv.DictReader(report_csv(report).lstrip("\ufeff").splitlines())}
    assert (rows["alice"]["expected"], rows["alice"]["present"], rows["alice"]["excused"]) == ("1", "1", "1")
    assert rows["alice"]["rate"] == "1.0" and rows["bob"]["expected"] == "2"
    doc = json.loads(report_json(report, clock()))
    assert next(p for p in doc["people"] if p["id"] == "alice")["expected"] == 1


def test_a_session_still_running_is_not_counted_by_a_report_until_it_stops(tmp_path):
    """At 08:10 the 08:00 lesson runs and Bob is not in yet: a report read then would call him absent and
    drop his rate; it leaves the lesson out and names it instead."""
    clock = FakeClock(datetime(2024, 9, 2, 8, 0, tzinfo=TZ))
    att = Attendance(open_store(tmp_path / "data", clock=clock))
    for pid in ("alice", "bob"):
        att.add_person(pid, person_id=pid, groups=["3A"])
    att.start_session("Maths", group="3A")
    att.check_in("alice")
    att.stop_session()
    clock.advance(days=1)
    running = att.start_session("Physics", group="3A")
    att.check_in("bob")
    report = build_report(att.store, date(2024, 9, 1), date(2024, 9, 30))
    assert [line.session.name for line in report.sessions] == ["Maths"]
    assert [s.id for s in report.running] == [running.id]
    assert {line.person.id: line.counts.attended for line in report.people} == {"alice": 1, "bob": 0}
    att.stop_session()
    report = build_report(att.store, date(2024, 9, 1), date(2024, 9, 30))
    assert [line.session.name for line in report.sessions] == ["Maths", "Physics"] and report.running == []


def test_a_chart_of_a_long_period_has_a_bar_per_week_then_per_month_each_as_a_person_is_counted():
    from faceattend_tui.attendance.models import Counts, Session
    from faceattend_tui.attendance.report import SessionLine, chart_bars

    monday = datetime(2025, 9, 1, 8, 0, tzinfo=timezone.utc)

    def line(days: int, present: int, absent: int) -> SessionLine:
        session = Session(days, f"S{days}", monday + timedelta(days=days))
        return SessionLine(session, Counts(present=present, absent=absent))

    few = [line(d, 9, 1) for d in range(10)]
    assert chart_bars(few)[2] == "session" and len(chart_bars(few)[0]) == 10
    term = [line(d, 9, 1) for d in range(0, 100)] + [line(0, 0, 30)]  # 15 weeks; the first week has a bad day
    labels, rates, unit = chart_bars(term)
    assert unit == "week" and labels[:2] == ["09-01", "09-08"] and len(labels) == 15
    assert rates[0] == round(100 * 63 / 100) and rates[1] == 90  # attended out of expected over the week
    year = [line(d, 9, 1) for d in range(0, 360)]
    labels, rates, unit = chart_bars(year)
    assert unit == "month" and labels[0] == "2025-09" and len(labels) == 12 and set(rates) == {90}


def test_a_chart_draws_no_bar_where_nobody_was_expected():
    """Everyone excused is no rate, not 0 %: a head teacher would read the whole class absent."""
    from faceattend_tui.attendance.models import Counts, Session
    from faceattend_tui.attendance.report import SessionLine, chart_bars

    monday = datetime(2025, 9, 1, 8, 0, tzinfo=timezone.utc)
    trip = SessionLine(Session(1, "Trip", monday), Counts(excused={"excused": 1}))
    normal = SessionLine(Session(2, "Normal", monday + timedelta(days=1)), Counts(present=1))
    assert chart_bars([trip, normal]) == (["09-02 Normal"], [100], "session")
    assert chart_bars([trip])[:2] == ([], [])
    later = SessionLine(Session(3, "Trip", monday + timedelta(days=7)), Counts(excused={"sick": 2}))
    assert chart_bars([normal, normal, later], most=1) == (["09-01"], [100], "week")  # its week has no bar


def test_a_chart_bar_per_week_counts_those_who_came_late_as_attended():
    """A class where half came late every lesson: each weekly bar showed 50 %, not the 100 % that came."""
    from faceattend_tui.attendance.models import Counts, Session
    from faceattend_tui.attendance.report import SessionLine, chart_bars

    monday = datetime(2025, 9, 1, 8, 0, tzinfo=timezone.utc)
    lines = [SessionLine(Session(d, f"S{d}", monday + timedelta(days=d)), Counts(present=1, late=1))
             for d in range(14)]
    assert chart_bars(lines, most=5) == (["09-01", "09-08"], [100, 100], "week")
    assert chart_bars(lines, most=1) == (["2025-09"], [100], "month")


def test_a_chart_labels_days_on_the_reports_clock_not_the_machines():
    from zoneinfo import ZoneInfo

    from faceattend_tui.attendance.models import Counts, Session
    from faceattend_tui.attendance.report import SessionLine, chart_bars

    new_york, london = ZoneInfo("America/New_York"), timezone(timedelta(hours=1))  # London in summer time

    def line(day: int, hour: int) -> SessionLine:
        start = datetime(2026, 3, day, hour, 0, tzinfo=new_york).astimezone(london)  # as the machine reads it
        return SessionLine(Session(1, "Evening", start), Counts(present=1))

    assert chart_bars([line(31, 19)], zone=new_york)[0] == ["03-31 Evening"]
    assert chart_bars([line(31, 19)], zone=london)[0] == ["04-01 Evening"]
    sunday = [line(29, 18), line(29, 19)]  # 19:00 in New York is Monday in London
    assert chart_bars(sunday, most=1, zone=new_york)[:2] == (["03-23"], [100])
