"""`faceattend db` and `--database`: moving a station's log into PostgreSQL, upgrades, and URLs kept secret."""

from __future__ import annotations

import os
import re
import shutil
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from fakes import FakeClock, enroll_fake_people

from faceattend_tui.attendance import Attendance, open_snapshot, open_store
from faceattend_tui.attendance.pgschema import LATEST, mask_url
from faceattend_tui.cli import main
from faceattend_tui.config import load_settings
from faceattend_tui.doctor import database_lines


def make_station_log(data) -> None:
    """A TinyDB data root as a station leaves it: people in groups, templates, two sessions with records."""
    enroll_fake_people(data, ["ann", "bob", "cleo"])
    clock = FakeClock()
    with open_store(data, clock=clock) as store:
        att = Attendance(store, user="staff", station="door")
        for folder, groups in (("ann", ["3A"]), ("bob", ["3A", "choir"]), ("cleo", ["3B"])):
            att.add_person(folder.title(), person_id=folder, groups=groups, folder=folder)
        att.start_session("Maths", 5, group="3A")
        att.check_in("ann", 0.8)
        clock.advance(minutes=10)
        att.check_in("bob", 0.7)
        att.mark("ann", "absent", "left early")
        att.stop_session()
        clock.advance(days=1)
        att.start_session("Choir", group="choir")
        att.check_in("bob", 0.9)
        att.stop_session()


def test_a_log_that_takes_longer_to_move_in_than_one_answer_may_take_moves_in(tmp_path, pg_url, capsys,
                                                                               monkeypatch):
    """A term's log (minutes of inserts in one transaction) was cut off after 20 s as 'the database
    cannot be reached', though the server answered every statement."""
    from faceattend_tui.attendance.pg import connection

    source = tmp_path / "door"
    make_station_log(source)
    clock = FakeClock()
    with open_store(source, clock=clock) as store:
        att = Attendance(store, user="staff", station="door")
        for lesson in range(150):
            att.start_session(f"Lesson {lesson}", group="3A")
            att.check_in("ann", 0.8)
            att.stop_session()
            clock.advance(hours=1)
    import time

    from faceattend_tui.attendance.pg import moving_in
    from faceattend_tui.attendance.pg.moving_in import MovingIn

    each, audit = MovingIn._import_session, moving_in.audit_values
    monkeypatch.setattr(MovingIn, "_import_session", lambda *a: time.sleep(0.01) or each(*a))  # a slower server
    monkeypatch.setattr(moving_in, "audit_values", lambda *a: time.sleep(0.01) or audit(*a))  # 300 lines of audit
    monkeypatch.setattr(moving_in, "INSERTED_TOGETHER", 10)
    monkeypatch.setattr(connection, "ANSWER_TIMEOUT", 0.5)  # each session moves in well within it, not all
    assert main(["db", "import", "--from", str(source), "--database", pg_url]) == 0
    assert "sessions            152 of 152" in capsys.readouterr().err


def test_a_station_log_moves_into_postgresql_with_every_record(tmp_path, pg_url, capsys):
    source, kept = tmp_path / "door", tmp_path / "before"
    make_station_log(source)
    shutil.copytree(source, kept)
    assert main(["db", "import", "--from", str(source), "--database", pg_url]) == 0
    err = capsys.readouterr().err
    assert "checkins              3 of 3" in err and "templates             3 of 3" in err
    # the file is moved aside: no door falls back on it unsaid, and an erasure names it
    assert not (source / "attendance.json").exists() and (source / "attendance.json.imported.bak").exists()
    with open_snapshot(kept) as before, open_snapshot(tmp_path, database=pg_url) as after:
        assert sorted((p.id, p.groups) for p in before.people()) == sorted((p.id, p.groups) for p in after.people())
        assert [(s.id, s.name, s.expected) for s in before.sessions()] == [
            (s.id, s.name, s.expected) for s in after.sessions()]
        assert before.outcomes(1) == after.outcomes(1) == {"ann": "absent", "bob": "late"}
        assert [a.action for a in before.audit_log()] + ["db.import"] == [a.action for a in after.audit_log()]
    # the sheets are the same from either log
    for data, extra in ((kept, []), (tmp_path / "shared", ["--database", pg_url])):
        assert main(["export", "--data", str(data), "--session", "1", "--no-bom",
                     "--out", str(tmp_path / f"{data.name}.csv"), *extra]) == 0
    assert in_utc((tmp_path / "before.csv").read_text()) == in_utc((tmp_path / "shared.csv").read_text())
    # a door pointed at it that has not started yet: their templates are on their way, not gone
    capsys.readouterr()
    assert main(["people", "list", "--data", str(tmp_path / "door2"), "--database", pg_url]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 3 and all(line.endswith("this door takes them when its station starts, or with extract)")
                                    for line in listed), listed


def in_utc(text: str) -> str:
    """The same moments in one zone: a log read elsewhere shows times in that machine's zone."""
    stamp = re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+[+-]\d\d:\d\d")
    return stamp.sub(lambda m: datetime.fromisoformat(m.group()).astimezone(timezone.utc).isoformat(), text)


def test_import_refuses_a_database_that_already_holds_records(tmp_path, pg_url, capsys):
    door = tmp_path / "door"
    make_station_log(door)
    assert main(["db", "import", "--from", str(door), "--database", pg_url]) == 0
    capsys.readouterr()
    os.replace(door / "attendance.json.imported.bak", door / "attendance.json")  # put back by hand
    assert main(["db", "import", "--from", str(door), "--database", pg_url]) == 2
    err = capsys.readouterr().err
    assert "already holds 3 people and 2 sessions" in err
    # this log's own records with templates: an import killed after the first templates is finished so too
    assert "an import of this log cut short after its records" in err and "attendance.json.imported.bak" in err


def test_a_log_a_station_is_writing_is_not_imported(tmp_path, pg_url, capsys):
    from faceattend_tui.attendance import acquire_lock

    door = tmp_path / "door"
    make_station_log(door)
    with acquire_lock(door, what="station"):
        assert main(["db", "import", "--from", str(door), "--database", pg_url]) == 2
    assert "stop it, then import" in capsys.readouterr().err
    assert (door / "attendance.json").exists()


def test_a_door_does_not_join_a_database_with_records_of_its_own_or_leave_one_unsaid(tmp_path, pg_url, capsys):
    from fakes import FakeWorker

    from faceattend_tui.station import Station, StationError

    door = tmp_path / "door"
    make_station_log(door)
    station = Station(load_settings(door, {"database": pg_url}), "demo", worker_factory=FakeWorker)
    with pytest.raises(StationError, match="holds this door's own records: bring them into the database first"):
        station.open()
    (door / "attendance.json").unlink()
    (door / "database_tensor" / "shared.json").write_text("{}")  # it was a door of a database
    station = Station(load_settings(door, {}), "demo", worker_factory=FakeWorker)
    with pytest.raises(StationError, match="is a door of a shared database"):
        station.open()
    # nor does a command that would make the file, and doctor says the station would not start
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\nS9,Zoe Quinn\n", encoding="utf-8")
    assert main(["people", "import", str(roster), "--data", str(door)]) == 2
    assert main(["doctor", "--data", str(door), "--cameras", "0"]) == 1
    assert not (door / "attendance.json").exists()
    capsys.readouterr()
    for reading in (["people", "list"], ["report"], ["audit"], ["sessions", "list"]):  # said "no log here"
        assert main([*reading, "--data", str(door)]) == 2
        assert "is a door of a shared database" in capsys.readouterr().err, reading


def test_a_door_whose_log_holds_only_staff_accounts_does_not_join_unsaid(tmp_path, pg_url, monkeypatch):
    """Its PINs would stay behind in the file and nothing would ask for one at the database."""
    from fakes import FakeWorker

    from faceattend_tui.station import Station, StationError

    door = tmp_path / "door"
    enroll_fake_people(door, ["amy"])
    monkeypatch.setenv("FACEATTEND_NEW_PIN", "246813")
    assert main(["pin", "--data", str(door)]) == 0
    station = Station(load_settings(door, {"database": pg_url}), "demo", worker_factory=FakeWorker)
    with pytest.raises(StationError, match="holds this door's own records"):
        station.open()


def test_upgrade_creates_the_schema_and_status_shows_it(tmp_path, pg_url, capsys):
    assert main(["export", "--data", str(tmp_path), "--database", pg_url]) == 2
    assert "faceattend db upgrade" in capsys.readouterr().err
    assert main(["db", "status", "--data", str(tmp_path), "--database", pg_url]) == 0  # says what it is
    assert "schema version 0" in (out := capsys.readouterr().out) and "empty" in out and "db upgrade" in out
    assert main(["db", "upgrade", "--data", str(tmp_path), "--database", pg_url]) == 0
    assert f"schema version {LATEST}" in capsys.readouterr().err
    assert main(["db", "status", "--data", str(tmp_path), "--database", pg_url]) == 0
    assert "people         0" in capsys.readouterr().out


def test_the_environment_names_the_database(tmp_path, pg_url, monkeypatch, capsys):
    monkeypatch.setenv("FACEATTEND_DATABASE", pg_url)
    assert load_settings(tmp_path).database == pg_url
    assert main(["db", "upgrade", "--data", str(tmp_path)]) == 0


def test_passwords_never_reach_the_screen(tmp_path, pg_url, capsys):
    secret = pg_url.replace("postgres@", "postgres:hunter2@") + "&sslmode=prefer&password=hunter3"
    assert mask_url(secret).startswith("postgresql://postgres:***@/")
    assert "hunter" not in mask_url(secret) and "sslmode=prefer" in mask_url(secret)
    settings = load_settings(tmp_path, {"database": secret})
    lines = database_lines(settings)
    assert "hunter" not in "\n".join(lines) and any("~/.pgpass" in line for line in lines)
    unreachable = "postgresql://someone:hunter2@127.0.0.1:1/nowhere?connect_timeout=1"
    assert main(["report", "--data", str(tmp_path), "--database", unreachable]) == 2
    err = capsys.readouterr().err
    assert "hunter2" not in err and "postgresql://someone:***@127.0.0.1:1/nowhere" in err


def test_a_database_that_is_not_a_url_is_one_clear_line(tmp_path, capsys):
    assert main(["export", "--data", str(tmp_path), "--database", "mysql://root:pw@db/x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not a postgresql:// URL" in err[0] and "pw" not in err[0]
    keywords = "host=db.school.lan user=faceattend password='Tr0u b4dor'"  # libpq's own form, pasted
    assert main(["export", "--data", str(tmp_path), "--database", keywords]) == 2
    err = capsys.readouterr().err
    assert "Tr0u" not in err and "password=***" in err and "postgresql://user@host/dbname" in err


def test_a_password_with_an_at_sign_is_not_shown_by_the_drivers_message(tmp_path, capsys):
    pytest.importorskip("psycopg")
    url = "postgresql://u:s3cret@pw2@127.0.0.1:1/x?connect_timeout=1"  # libpq splits at the first @
    assert main(["report", "--data", str(tmp_path), "--database", url]) == 2
    err = capsys.readouterr().err
    assert "s3cret" not in err and "pw2" not in err and "127.0.0.1" in err


def test_times_come_back_in_the_station_clock_zone(tmp_path, pg_url):
    clock = FakeClock()
    with open_store(tmp_path, database=pg_url, clock=clock, upgrade_mode="auto") as store:
        att = Attendance(store, station="door")
        att.add_person("Ann", person_id="ann")
        session = att.start_session("Maths")
        assert store.session(session.id).started_at.utcoffset() == timedelta(hours=2)


def test_a_station_of_another_version_blocks_the_upgrade_command(tmp_path, pg_url, capsys):
    with psycopg.connect(pg_url, autocommit=True, application_name="faceattend schema 0 east"):
        assert main(["db", "upgrade", "--data", str(tmp_path), "--database", pg_url]) == 2
        assert "east (schema 0)" in capsys.readouterr().err
        assert main(["db", "upgrade", "--force", "--data", str(tmp_path), "--database", pg_url]) == 0


def test_removing_someone_from_the_command_line_removes_their_shared_templates(tmp_path, pg_url, capsys):
    make_station_log(tmp_path / "door")
    assert main(["db", "import", "--from", str(tmp_path / "door"), "--database", pg_url]) == 0
    assert main(["people", "remove", "bob", "--data", str(tmp_path / "office"), "--database", pg_url]) == 0
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("select folder from template_sets order by folder").fetchall() == [("ann",), ("cleo",)]
        assert conn.execute("select state from people where id = 'bob'").fetchone() == ("left",)


def test_a_database_holding_another_programs_tables_is_refused_untouched(pg_url, tmp_path, capsys):
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("create table invoices (id int)")
    assert main(["db", "upgrade", "--data", str(tmp_path), "--database", pg_url]) == 2
    assert "holds tables of another program (invoices)" in capsys.readouterr().err
    with psycopg.connect(pg_url) as conn:
        assert [name for (name,) in conn.execute("select table_name from information_schema.tables "
                                                 "where table_schema = current_schema()")] == ["invoices"]


def a_database_with_its_admin(tmp_path, pg_url, monkeypatch):
    """A database whose admin set a PIN (246813), and a station's log to import into it (no accounts)."""
    monkeypatch.setenv("FACEATTEND_NEW_PIN", "246813")
    for name in ("FACEATTEND_STAFF", "FACEATTEND_PIN"):
        monkeypatch.delenv(name, raising=False)
    assert main(["db", "upgrade", "--data", str(tmp_path), "--database", pg_url]) == 0
    assert main(["pin", "--data", str(tmp_path / "admin"), "--database", pg_url]) == 0
    door = tmp_path / "door"
    make_station_log(door)
    return door


def test_an_import_does_not_replace_the_staff_accounts_a_database_holds(tmp_path, pg_url, capsys, monkeypatch):
    door = a_database_with_its_admin(tmp_path, pg_url, monkeypatch)
    monkeypatch.setenv("FACEATTEND_NEW_PIN", "135792")
    assert main(["pin", "--data", str(door)]) == 0  # the log's own accounts would replace the database's
    monkeypatch.setenv("FACEATTEND_STAFF", "admin")
    monkeypatch.setenv("FACEATTEND_PIN", "135792")
    capsys.readouterr()
    assert main(["db", "import", "--from", str(door), "--database", pg_url]) == 2
    assert "already holds staff accounts" in capsys.readouterr().err
    assert (door / "attendance.json").exists()


def test_an_import_into_a_database_with_staff_accounts_needs_its_admin(tmp_path, pg_url, capsys, monkeypatch):
    """A log without accounts was copied into a database whose admin set a PIN, by anyone, no PIN asked."""
    door = a_database_with_its_admin(tmp_path, pg_url, monkeypatch)
    capsys.readouterr()
    assert main(["db", "import", "--from", str(door), "--database", pg_url]) == 4
    assert "PIN" in capsys.readouterr().err and (door / "attendance.json").exists()
    with open_snapshot(tmp_path, database=pg_url) as store:
        assert store.people() == []
    monkeypatch.setenv("FACEATTEND_PIN", "246813")
    assert main(["db", "import", "--from", str(door), "--database", pg_url]) == 0
    with open_snapshot(tmp_path, database=pg_url) as store:
        assert len(store.people()) == 3 and store.audit_log()[-1].user == "admin"


def test_an_import_from_a_folder_that_is_not_there_makes_nothing(tmp_path, pg_url, capsys):
    assert main(["db", "import", "--from", str(tmp_path / "nope"), "--database", pg_url]) == 2
    assert "no attendance log here" in capsys.readouterr().err and not (tmp_path / "nope").exists()


def test_moving_a_log_into_a_database_keeps_which_mark_counts(tmp_path, pg_url, capsys):
    """Marked absent while the clock ran ahead, then present: present on the log and in the database."""
    from fakes import FakeClock

    from faceattend_tui.attendance import Attendance, open_store

    clock = FakeClock()
    log = tmp_path / "door"
    with open_store(log, clock=clock) as store:
        attendance = Attendance(store)
        attendance.add_person("Ann Lee", person_id="S1")
        session = attendance.start_session("Maths")
        clock.advance(hours=3)
        attendance.mark("S1", "absent", "not seen (clock ahead)")
        clock.advance(hours=-3, minutes=5)
        attendance.mark("S1", "present", "in the back row")
        attendance.stop_session()
    assert main(["db", "import", "--from", str(log), "--data", str(tmp_path / "new"), "--database", pg_url]) == 0
    with open_store(tmp_path / "new", database=pg_url) as store:
        assert store.outcomes(session.id)["S1"] == "present"


def test_a_door_that_adds_someone_while_the_log_moves_in_waits_and_is_refused_not_merged(tmp_path, pg_url, monkeypatch):
    """A door's roster import during `db import` added "ann" over the log's Ann, whose check-ins then read
    as the newcomer's, and the import, committed, said its counts were wrong. Now the door waits for the
    import, then finds Ann there and saves nothing."""
    import threading

    from faceattend_tui.attendance import ConflictError
    from faceattend_tui.attendance.pg.moving_in import MovingIn

    make_station_log(tmp_path / "door")
    assert main(["db", "upgrade", "--data", str(tmp_path / "office"), "--database", pg_url]) == 0
    halfway, go_on = threading.Event(), threading.Event()
    one_session = MovingIn._import_session

    def held(self, *args):
        one_session(self, *args)
        halfway.set()
        go_on.wait(30)

    monkeypatch.setattr(MovingIn, "_import_session", held)
    ended: dict[str, object] = {}
    moving = threading.Thread(target=lambda: ended.setdefault("code", main(
        ["db", "import", "--from", str(tmp_path / "door"), "--database", pg_url])))
    with open_store(tmp_path / "office", database=pg_url) as store:
        office = Attendance(store, user="staff")  # opened before: it saw nobody
        moving.start()
        assert halfway.wait(30)

        def add() -> None:
            try:
                office.add_person("Someone Else", person_id="ann", groups=["3C"])
            except ConflictError as exc:
                ended["refused"] = str(exc)

        adding = threading.Thread(target=add)
        adding.start()
        adding.join(1.0)
        assert adding.is_alive()  # waiting for the import
        go_on.set()
        moving.join(60)
        adding.join(30)
    assert ended["code"] == 0
    assert "ann (Ann) was added meanwhile" in str(ended["refused"])
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("select name from people where id = 'ann'").fetchone() == ("Ann",)


@pytest.mark.parametrize("command", [["db", "status"], ["db", "upgrade"], ["people", "list"]])
def test_a_machine_without_postgresql_support_is_told_in_one_line_how_to_add_it(tmp_path, capsys, monkeypatch,
                                                                                command):
    """`db status` died with two tracebacks where psycopg was not installed (a wheel installed without the
    postgres extra)."""
    import sys

    import faceattend_tui.attendance as package

    pg_parts = ("psycopg", "faceattend_tui.attendance.pg", "faceattend_tui.attendance.pgstore")
    for name in [m for m in sys.modules if m in pg_parts or m.startswith(tuple(p + "." for p in pg_parts))]:
        monkeypatch.delitem(sys.modules, name)
    for name in ("pg", "pgstore"):
        monkeypatch.delattr(package, name, raising=False)
    monkeypatch.setitem(sys.modules, "psycopg", None)  # importing it fails, as where it is not installed
    assert main([*command, "--data", str(tmp_path), "--database", "postgresql://door@127.0.0.1:9/school"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "PostgreSQL support is not installed" in err and "psycopg[binary]" in err
