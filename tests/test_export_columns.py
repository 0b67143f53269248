"""The documented columns of every export and report, and their times on the `timezone` setting's clock.

The column lists below are the README's. A later change may add columns at the end; renaming or
moving one breaks the spreadsheets and scripts that read these files, so it fails here.
"""

from __future__ import annotations

import csv
import json
import os
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from fakes import FakeClock

from faceattend_tui.attendance import (
    Attendance,
    ExportError,
    ExportOptions,
    build_report,
    export,
    export_attendance,
    open_store,
    report,
    report_csv,
    report_json,
)
from faceattend_tui.cli import main

# The columns as first published, then those added later at the end (never renamed or moved).
EXPORT_CSV = [
    "session_id", "session_name", "session_group", "session_start", "person_id", "person", "status",
    "checkin_time", "similarity", "last_seen", "mark_status", "mark_reason", "marked_by", "marked_at",
    "status_before_mark", "session_date", "session_time_of_day", "checkin_date", "checkin_time_of_day",
    "session_voided_at", "session_void_reason",
]
EXPORT_JSON = ["generated_at", "sessions"]
EXPORT_JSON_SESSION = [
    "id", "name", "group", "started_at", "ended_at", "late_after_minutes", "station", "expected", "counts",
    "people", "date", "time_of_day", "voided_at", "void_reason",
]
EXPORT_JSON_PERSON = [
    "person_id", "person", "status", "checkin_time", "similarity", "last_seen", "mark_status", "mark_reason",
    "marked_by", "marked_at", "status_before_mark", "checkin_date", "checkin_time_of_day",
]
# A CSV report holds one kind of row (`--by person`, the default, or `--by session`); until then it held
# both, told apart by a "row" column: ["row", "id", "name", "date", "group", "expected", "present", "late",
# "absent", "rate", "start_date", "start_time"].
REPORT_CSV_PERSON = ["id", "name", "group", "expected", "present", "late", "absent", "rate", "excused"]
REPORT_CSV_SESSION = ["id", "name", "date", "start_date", "start_time", "group", "expected", "present", "late",
                      "absent", "rate", "excused", "void_reason"]
REPORT_JSON = ["generated_at", "from", "to", "group", "people", "sessions", "running"]
REPORT_JSON_PERSON = ["id", "name", "group", "expected", "present", "late", "absent", "rate", "excused"]
REPORT_JSON_SESSION = ["id", "name", "date", "group", "expected", "present", "late", "absent", "rate", "start_date",
                       "start_time", "excused", "void_reason"]

PARIS = timezone(timedelta(hours=2))  # Paris in September: the station's clock when it recorded


@pytest.fixture
def att(tmp_path):
    """A late class in Paris: it starts at 23:30 on 2 September, Ann checks in at 23:45, Bob is marked absent."""
    clock = FakeClock(datetime(2024, 9, 2, 23, 30, tzinfo=PARIS))
    store = open_store(tmp_path / "data", clock=clock)
    att = Attendance(store, user="teacher")
    att.add_person("Ann Lee", person_id="S1", groups=["3A"])
    att.add_person("Bob Marr", person_id="S2", groups=["3A"])
    att.start_session("Night class", group="3A")
    clock.advance(minutes=15)
    att.check_in("S1", 0.8)
    att.mark("S2", "absent", "ill")
    att.stop_session()
    yield att
    store.close()


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def header(text: str) -> list[str]:
    return next(csv.reader([text.lstrip("\ufeff").splitlines()[0]]))


def test_the_sheet_of_a_voided_session_says_so(att, tmp_path):
    from faceattend_tui.attendance.session_edit import void_session

    sheet = export_attendance(att.store, tmp_path, ExportOptions("csv"))
    assert {(r["session_voided_at"], r["session_void_reason"]) for r in read_csv(sheet)} == {("", "")}
    void_session(att, 1, "started by mistake", user="teacher")
    rows = read_csv(export_attendance(att.store, tmp_path, ExportOptions("csv"), session_id=1))
    assert {r["session_void_reason"] for r in rows} == {"started by mistake"}
    assert all(r["session_voided_at"] for r in rows)
    doc = json.loads(export_attendance(att.store, tmp_path, ExportOptions("json"), session_id=1).read_text())
    assert doc["sessions"][0]["void_reason"] == "started by mistake" and doc["sessions"][0]["voided_at"]


def test_every_sheet_has_its_documented_columns(att, tmp_path):
    sheet = export_attendance(att.store, tmp_path, ExportOptions("csv", zone="Europe/Paris"))
    assert header(sheet.read_text(encoding="utf-8")) == EXPORT_CSV
    doc = json.loads(export_attendance(att.store, tmp_path, ExportOptions("json")).read_text(encoding="utf-8"))
    assert list(doc) == EXPORT_JSON
    assert list(doc["sessions"][0]) == EXPORT_JSON_SESSION
    assert [list(p) for p in doc["sessions"][0]["people"]] == [EXPORT_JSON_PERSON] * 2
    term = build_report(att.store, date(2024, 9, 1), date(2024, 9, 30), zone="Europe/Paris")
    assert header(report_csv(term)) == REPORT_CSV_PERSON == header(report_csv(term, by="person"))
    assert header(report_csv(term, by="session")) == REPORT_CSV_SESSION
    doc = json.loads(report_json(term, att.store.now()))
    assert list(doc) == REPORT_JSON
    assert [list(p) for p in doc["people"]] == [REPORT_JSON_PERSON] * 2
    assert [list(s) for s in doc["sessions"]] == [REPORT_JSON_SESSION]
    assert list(json.loads(report_json(term, att.store.now(), by="person"))) == [*REPORT_JSON[:5], "running"]
    assert list(json.loads(report_json(term, att.store.now(), by="session"))) == [*REPORT_JSON[:4], "sessions",
                                                                                   "running"]
    constants = (export.COLUMNS, export.JSON_KEYS, export.JSON_SESSION_KEYS, export.JSON_PERSON_KEYS,
                 report.PERSON_COLUMNS, report.SESSION_COLUMNS, report.JSON_KEYS, report.JSON_PERSON_KEYS,
                 report.JSON_SESSION_KEYS)
    assert [list(c) for c in constants] == [EXPORT_CSV, EXPORT_JSON, EXPORT_JSON_SESSION, EXPORT_JSON_PERSON,
                                            REPORT_CSV_PERSON, REPORT_CSV_SESSION, REPORT_JSON, REPORT_JSON_PERSON,
                                            REPORT_JSON_SESSION]


def test_times_are_written_on_the_clock_of_the_timezone_setting(att, tmp_path):
    sheet = export_attendance(att.store, tmp_path, ExportOptions(zone="Asia/Tokyo"))
    ann, bob = read_csv(sheet)
    assert (ann["session_start"], ann["session_date"], ann["session_time_of_day"]) == (
        "2024-09-03T06:30:00.000+09:00", "2024-09-03", "06:30:00")
    assert (ann["checkin_time"], ann["checkin_date"], ann["checkin_time_of_day"]) == (
        "2024-09-03T06:45:00.000+09:00", "2024-09-03", "06:45:00")
    assert bob["checkin_date"] == "" and bob["marked_at"] == "2024-09-03T06:45:00.000+09:00"
    paris = read_csv(export_attendance(att.store, tmp_path, ExportOptions(zone="Europe/Paris")))
    assert (paris[0]["session_date"], paris[0]["checkin_time_of_day"]) == ("2024-09-02", "23:45:00")
    # a day is the zone's day: the class was on 3 September in Tokyo, on 2 September in Paris
    tokyo_day = ExportOptions(zone="Asia/Tokyo")
    assert export_attendance(att.store, tmp_path, tokyo_day, date_from=date(2024, 9, 3), date_to=date(2024, 9, 3))
    term = build_report(att.store, date(2024, 9, 3), date(2024, 9, 3), zone="Asia/Tokyo")
    (line,) = json.loads(report_json(term, att.store.now()))["sessions"]
    assert (line["date"], line["start_date"], line["start_time"]) == ("2024-09-03T06:30:00.000+09:00",
                                                                      "2024-09-03", "06:30:00")
    assert build_report(att.store, date(2024, 9, 3), date(2024, 9, 3), zone="Europe/Paris").sessions == []
    with pytest.raises(ExportError, match="unknown time zone 'Mars/Olympus'"):
        export_attendance(att.store, tmp_path, ExportOptions(zone="Mars/Olympus"))


@pytest.fixture
def machine_in_tokyo():
    """This machine's own zone set to Tokyo for the test."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tokyo"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


def test_an_empty_timezone_setting_means_this_machines_zone(att, tmp_path, machine_in_tokyo):
    ann = read_csv(export_attendance(att.store, tmp_path, ExportOptions()))[0]
    assert ann["session_start"] == "2024-09-03T06:30:00.000+09:00" and ann["session_date"] == "2024-09-03"
    term = build_report(att.store, date(2024, 9, 3), date(2024, 9, 3))
    assert [line.session.name for line in term.sessions] == ["Night class"]


def test_the_commands_use_the_timezone_setting(att, tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    att.store.close()
    (data / "faceattend.toml").write_text('timezone = "Asia/Tokyo"\n', encoding="utf-8")
    assert main(["export", "--data", str(data), "--from", "2024-09-03", "--out", str(tmp_path / "s.csv")]) == 0
    assert read_csv(tmp_path / "s.csv")[0]["checkin_time"] == "2024-09-03T06:45:00.000+09:00"
    assert main(["report", "--data", str(data), "--from", "2024-09-03", "--to", "2024-09-03", "--format", "json",
                 "--out", str(tmp_path / "r.json")]) == 0
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["sessions"][0]["start_date"] == "2024-09-03"
    assert main(["report", "--data", str(data), "--from", "2024-09-03", "--to", "2024-09-03", "--by", "session",
                 "--out", str(tmp_path / "r.csv")]) == 0
    (line,) = read_csv(tmp_path / "r.csv")
    assert (line["date"], line["start_date"], line["start_time"]) == ("2024-09-03T06:30:00.000+09:00", "2024-09-03",
                                                                      "06:30:00")
    monkeypatch.setenv("FACEATTEND_TIMEZONE", "Nowhere/Town")
    assert main(["export", "--data", str(data), "--out", str(tmp_path / "t.csv")]) == 2
    assert "Nowhere/Town" in capsys.readouterr().err


def test_report_cells_are_not_run_as_formulas(tmp_path):
    with open_store(tmp_path / "data", clock=FakeClock()) as store:
        att = Attendance(store, user="teacher")
        att.add_person("=HYPERLINK(\"http://x\")", person_id="S1", groups=["@team"])
        att.start_session("+Maths")
        att.stop_session()
        term = build_report(store, date(2024, 9, 1), date(2024, 9, 30))
        people, sessions = ([(r["name"], r["group"]) for r in csv.DictReader(report_csv(term, by=by).lstrip(
            "\ufeff").splitlines())] for by in ("person", "session"))
    assert people == [("'=HYPERLINK(\"http://x\")", "'@team")] and sessions == [("'+Maths", "")]
