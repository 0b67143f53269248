"""Reading the audit log from the command line, filtered as staff ask for it."""

from __future__ import annotations

import json

import pytest
from both_logs import open_store
from fakes import FakeClock

from faceattend_tui.attendance import Attendance
from faceattend_tui.attendance.models import Person
from faceattend_tui.cli import main


def test_the_audit_filtered_by_staff_action_person_and_day(tmp_path, capsys):
    data = tmp_path / "data"
    clock = FakeClock()
    with open_store(data, clock=clock) as store:
        attendance = Attendance(store)
        attendance.add_person("Céline Gérard", person_id="S3", user="Ada")
        attendance.add_person("Bob", person_id="S4", user="Ada")
        clock.advance(days=1)
        attendance.start_session("Maths", user="Dana")
        attendance.mark("S3", "absent", "sick note", user="Dana")
        attendance.stop_session(user="Dana")
        cleo = Person("S5", "Cleo", store.now())
        attendance.save_people([attendance.person("S3"), cleo], "people.import", user="Ada")  # many at once
    day_two = clock().date().isoformat()
    assert main(["audit", "--data", str(data), "--staff", "dana"]) == 0
    out = capsys.readouterr()
    assert [line.split()[3] for line in out.out.splitlines()] == ["session.start", "checkin.mark", "session.stop"]
    assert "3 entries" in out.err
    assert main(["audit", "--data", str(data), "--person", "S3", "--json"]) == 0
    entries = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["action"] for e in entries] == ["person.add", "checkin.mark", "people.import"]
    assert entries[1]["details"]["reason"] == "sick note"
    assert main(["audit", "--data", str(data), "--from", day_two, "--action", "session", "--last", "1"]) == 0
    out = capsys.readouterr()
    assert "session.stop" in out.out and "1 entry of 2" in out.err


def test_the_audit_refuses_a_reversed_range_and_a_negative_count(tmp_path, capsys):
    data = tmp_path / "data"
    with open_store(data) as store:
        Attendance(store).add_person("Bob", person_id="S4")
    assert main(["audit", "--data", str(data), "--from", "2026-03-02", "--to", "2026-03-01"]) == 2
    assert "reversed" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["audit", "--data", str(data), "--last", "-1"])
    assert "0 or more" in capsys.readouterr().err


def test_an_export_shows_in_the_audit_while_the_station_still_holds_the_log(tmp_path, capsys):
    data = tmp_path / "data"
    with open_store(data) as station:  # running: what exports audit waits in the outbox
        attendance = Attendance(station)
        attendance.add_person("Bob", person_id="S4")
        attendance.start_session("Maths")
        assert main(["export", "--data", str(data)]) == 0
        assert main(["audit", "--data", str(data), "--action", "export"]) == 0
        out = capsys.readouterr()
        assert "export" in out.out and "1 entry" in out.err
        assert [e.action for e in station.audit_log()][-1] == "export"  # the station's own view too
    assert main(["audit", "--data", str(data), "--action", "export"]) == 0  # taken in: still one
    assert "1 entry" in capsys.readouterr().err


def test_a_long_list_in_an_audit_line_is_shown_by_its_first_items_and_its_count(tmp_path, capsys):
    from faceattend_tui.attendance.security import audit

    data = tmp_path / "data"
    with open_store(data) as store:
        audit(store, "export", {"format": "csv", "sessions": list(range(1, 1001))}, "Dana")
    assert main(["audit", "--data", str(data)]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if "export" in line]
    assert "sessions=[1, 2, 3, 4, 5, 6, 7, ... 993 more]" in line and len(line) < 200
    assert main(["audit", "--data", str(data), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out.splitlines()[-1])["details"]["sessions"]) == 1000


def test_the_audit_finds_a_staff_member_written_as_the_login_accepts_the_name(tmp_path, capsys):
    """"José  Núñez" typed with two spaces, or pasted with its accents apart, is the account that logs in
    so: the audit finds what he did instead of saying 0 entries."""
    data = tmp_path / "data"
    with open_store(data) as store:
        Attendance(store).start_session("Maths", user="José Núñez")
    for written in ("José  Núñez", "jose\u0301 nu\u0301n\u0303ez", "JOSÉ NÚÑEZ"):
        assert main(["audit", "--data", str(data), "--staff", written]) == 0
        assert "session.start" in capsys.readouterr().out, written
