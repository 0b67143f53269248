"""CSV / JSON export of attendance, per session and per date range."""

from __future__ import annotations

import csv
import json
import stat
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from fakes import FakeClock

from faceattend_tui.attendance import Attendance, export_range, export_session, open_store
from faceattend_tui.attendance.export import COLUMNS

TZ = timezone(timedelta(hours=2))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def att(tmp_path, clock):
    store = open_store(tmp_path / "data", clock=clock)
    att = Attendance(store, user="teacher")
    for name in ("alice", "bob", "carol", "dave"):
        att.enroll(name)
    yield att
    store.close()


def run_class(att: Attendance, clock: FakeClock, name: str) -> int:
    session = att.start_session(name, late_after_minutes=10)
    clock.advance(minutes=2)
    att.check_in("alice", 0.91234, track_id=1)
    clock.advance(minutes=20)
    att.check_in("bob", 0.8, track_id=2)
    att.mark("dave", "absent", "sick note")
    att.stop_session()
    return session.id


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_session_csv(att, clock, tmp_path):
    session_id = run_class(att, clock, "Maths")
    out = export_session(att.store, session_id, tmp_path / "maths.csv", user="exporter")
    assert out == tmp_path / "maths.csv"
    rows = read_csv(out)
    assert tuple(rows[0]) == COLUMNS
    by_person = {r["person"]: r for r in rows}
    assert {p: r["status"] for p, r in by_person.items()} == {
        "alice": "present", "bob": "late", "carol": "absent", "dave": "absent"}
    alice = by_person["alice"]
    assert alice["session_id"] == str(session_id) and alice["session_name"] == "Maths"
    assert alice["session_start"] == "2024-09-02T08:00:00.000+02:00"
    assert alice["checkin_time"] == "2024-09-02T08:02:00.000+02:00"
    assert (alice["similarity"], alice["source"], alice["reason"]) == ("0.9123", "camera", "")
    assert by_person["carol"]["checkin_time"] == "" and by_person["carol"]["source"] == ""
    dave = by_person["dave"]
    assert (dave["source"], dave["reason"], dave["marked_by"]) == ("manual", "sick note", "teacher")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    audit = att.store.audit_log()[-1]
    assert (audit.action, audit.user, audit.details["sessions"]) == ("export", "exporter", [session_id])


def test_session_json(att, clock, tmp_path):
    session_id = run_class(att, clock, "Maths")
    out = export_session(att.store, session_id, tmp_path / "maths.json", roster=["alice", "erin"])
    doc = json.loads(out.read_text())
    (session,) = doc["sessions"]
    assert session["counts"] == {"present": 1, "late": 1, "absent": 2}
    assert [(p["person"], p["status"]) for p in session["people"]] == [
        ("alice", "present"), ("bob", "late"), ("dave", "absent"), ("erin", "absent")]


def test_date_range_is_inclusive(att, clock, tmp_path):
    ids = {}
    for day in (1, 2, 3, 5):
        clock.now = datetime(2024, 9, day, 23, 0, tzinfo=TZ)
        ids[day] = run_class(att, clock, f"day {day}")
    out = export_range(att.store, date(2024, 9, 2), date(2024, 9, 3), tmp_path / "week.csv")
    rows = read_csv(out)
    assert sorted({int(r["session_id"]) for r in rows}) == [ids[2], ids[3]]
    assert len(rows) == 2 * 4
    empty = export_range(att.store, date(2024, 9, 4), date(2024, 9, 4), tmp_path / "none.csv")
    assert read_csv(empty) == []
    with pytest.raises(ValueError, match="reversed"):
        export_range(att.store, date(2024, 9, 3), date(2024, 9, 2), tmp_path / "bad.csv")


def test_export_replaces_file_atomically(att, clock, tmp_path):
    session_id = run_class(att, clock, "Maths")
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    export_session(att.store, session_id, target)
    assert read_csv(target)[0]["session_name"] == "Maths"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "out.csv"]


def test_unknown_format_is_refused(att, clock, tmp_path):
    session_id = run_class(att, clock, "Maths")
    with pytest.raises(ValueError, match="format"):
        export_session(att.store, session_id, tmp_path / "out.xlsx")
    assert export_session(att.store, session_id, tmp_path / "out.txt", fmt="csv").exists()


def test_spreadsheet_formulas_are_neutralised(att, clock, tmp_path):
    att.start_session("=HYPERLINK(\"x\")")
    att.mark("alice", "present", "@cmd")
    att.stop_session()
    rows = read_csv(export_range(att.store, date(2024, 9, 2), date(2024, 9, 2), tmp_path / "x.csv"))
    assert rows[0]["session_name"].startswith("'=")
    assert rows[0]["reason"] == "'@cmd"
