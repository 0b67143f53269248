"""A person's past groups: kept when their groups change, so that a class's past numbers stay as they were
(reports and a regrouped session count each person in the group they were in when the session began), on
both logs; gone with an erasure; carried into a database; and a database of the previous schema upgraded."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from both_logs import BACKENDS, DATABASES, data_root, open_store
from fakes import FakeClock

from faceattend_tui.attendance import Attendance, backends, build_report
from faceattend_tui.attendance.models import Person
from faceattend_tui.attendance.session_edit import edit_session
from faceattend_tui.cli import main


@pytest.fixture(params=BACKENDS)
def data(request, tmp_path: Path) -> Path:
    return data_root(request, tmp_path)


def a_class_and_a_move(data: Path, clock: FakeClock) -> Attendance:
    """Ann and Bob in 3A, Cleo in 3B; a session for everyone (Ann and Cleo come, Bob does not), then Bob
    moves to 3B and a second session for everyone (all three come)."""
    attendance = Attendance(open_store(data, clock=clock), user="Dana")
    attendance.add_person("Ann", person_id="S1", groups=["3A"])
    attendance.add_person("Bob", person_id="S2", groups=["3A"])
    attendance.add_person("Cleo", person_id="S3", groups=["3B"])
    attendance.start_session("Assembly", 10)
    attendance.check_in("S1", 0.8)
    attendance.check_in("S3", 0.8)
    attendance.stop_session()
    clock.advance(days=3)
    attendance.update_person("S2", groups=["3B"])
    clock.advance(days=1)
    attendance.start_session("Assembly", 10)
    for person_id in ("S1", "S2", "S3"):
        attendance.check_in(person_id, 0.8)
    attendance.stop_session()
    return attendance


def history(person: Person) -> list[tuple[tuple[str, ...], object]]:
    return [(past.groups, past.until) for past in person.past_groups]


def expected_by_session(attendance: Attendance, group: str) -> list[int]:
    report = build_report(attendance.store, date(2024, 9, 1), date(2024, 9, 30), group)
    return [line.counts.total for line in report.sessions]


def test_a_class_keeps_its_past_numbers_after_a_pupil_changes_class(data):
    clock = FakeClock()
    attendance = a_class_and_a_move(data, clock)
    assert expected_by_session(attendance, "3A") == [2, 1]  # Bob's absence stays with 3A
    assert expected_by_session(attendance, "3b") == [1, 2]
    people = {line.person.id: line.counts for line in build_report(
        attendance.store, date(2024, 9, 1), date(2024, 9, 30), "3A").people}
    assert (people["S2"].total, people["S2"].absent) == (1, 1) and people["S1"].total == 2
    in_3b = {line.person.id: line.counts for line in build_report(
        attendance.store, date(2024, 9, 1), date(2024, 9, 30), "3B").people}
    assert (in_3b["S2"].total, in_3b["S2"].present) == (1, 1)


def test_the_log_keeps_the_groups_a_person_had_and_when_that_ended(data):
    clock = FakeClock()
    start = clock.now
    attendance = a_class_and_a_move(data, clock)
    attendance.store.close()
    store = open_store(data, clock=clock)
    bob = store.person("S2")
    assert bob.groups == ("3B",) and history(bob) == [(("3A",), start + timedelta(days=3))]
    assert bob.groups_at(start) == ("3A",) and bob.groups_at(clock.now) == ("3B",)
    # any way of saving them keeps it, also a record made afresh without it (as an import makes one)
    clock.advance(days=1)
    store.save_person(Person("S2", "Bob", bob.created, groups=("4C",)))
    assert [p.groups for p in store.person("S2").past_groups] == [("3A",), ("3B",)]
    store.save_person(Person("S2", "Bob Marr", bob.created, groups=("4c",)))  # a name, the same group: no entry
    assert len(store.person("S2").past_groups) == 2
    store.close()


def test_a_regrouped_session_expects_who_was_in_the_group_when_it_began(data):
    clock = FakeClock()
    attendance = Attendance(open_store(data, clock=clock), user="Dana")
    attendance.add_person("Ann", person_id="S1", groups=["3A"])
    attendance.add_person("Bob", person_id="S2", groups=["3A"])
    attendance.add_person("Cleo", person_id="S3", groups=["3B"])
    attendance.start_session("Maths", 10, group="3B")
    attendance.stop_session()
    clock.advance(days=2)
    attendance.update_person("S2", groups=["3B"])
    edit_session(attendance, 1, user="Dana", group="3A")
    assert attendance.store.session(1).expected == ["S1", "S2"]
    edit_session(attendance, 1, user="Dana", group="3B")
    assert attendance.store.session(1).expected == ["S3"]


def test_an_erasure_takes_their_past_groups_with_them(data):
    attendance = a_class_and_a_move(data, FakeClock())
    attendance.remove_person("S2", erase=True)
    assert attendance.store.person("S2") is None
    if data in DATABASES:
        import psycopg

        with psycopg.connect(DATABASES[data]) as conn:
            assert conn.execute("select count(*) from past_groups").fetchone() == (0,)
    else:
        attendance.store.close()
        assert '"until"' not in (data / "attendance.json").read_text(encoding="utf-8")


def test_a_person_of_an_earlier_log_has_no_past_groups():
    doc = {"id": "S1", "name": "Ann", "created": "2024-09-02T08:00:00.000+02:00", "groups": ["3A"]}
    ann = Person.from_doc(doc)
    assert ann.past_groups == () and ann.groups_at(ann.created - timedelta(days=9)) == ("3A",)


def test_a_log_moved_into_postgresql_keeps_past_groups(tmp_path, pg_url, capsys):
    clock = FakeClock()
    door = tmp_path / "door"
    a_class_and_a_move(door, clock).store.close()
    assert main(["db", "import", "--from", str(door), "--database", pg_url]) == 0
    assert "past_groups           1 of 1" in capsys.readouterr().err
    with backends.open_store(tmp_path / "office", database=pg_url, clock=clock) as store:
        assert [p.groups for p in store.person("S2").past_groups] == [("3A",)]
        assert [line.counts.total for line in build_report(
            store, date(2024, 9, 1), date(2024, 9, 30), "3A").sessions] == [2, 1]


def test_a_database_of_schema_2_is_upgraded_and_then_keeps_past_groups(tmp_path, pg_url, capsys):
    import psycopg

    from faceattend_tui.attendance.pgschema import LATEST, MIGRATIONS, VERSION_TABLE

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(VERSION_TABLE)
        for version, _what, sql in MIGRATIONS[:2]:
            conn.execute(sql)
            conn.execute("insert into schema_version (version) values (%s)", [version])
        conn.execute("insert into people (id, name, created) values ('S1', 'Ann', now())")
        conn.execute("insert into person_groups values ('S1', '3A', 0)")
    assert main(["db", "upgrade", "--data", str(tmp_path), "--database", pg_url]) == 0
    assert f"schema version {LATEST} (upgraded)" in capsys.readouterr().err
    clock = FakeClock()
    with backends.open_store(tmp_path, database=pg_url, clock=clock) as store:
        attendance = Attendance(store)
        assert attendance.person("S1").past_groups == ()
        attendance.update_person("S1", groups=["3B"])
        assert history(store.person("S1")) == [(("3A",), clock.now)]


def test_a_group_everyone_left_is_still_offered_for_its_report(data):
    """The screen's report lists the groups to choose from: a class whose pupils all moved on keeps its
    past numbers, so it stays on the list (the command line's --group took it already)."""
    attendance = a_class_and_a_move(data, FakeClock())
    attendance.update_person("S1", groups=["4A"])
    assert attendance.groups() == ["3B", "4A"]
    from faceattend_tui.attendance.report import report_groups

    assert report_groups(attendance) == ["3A", "3B", "4A"]


def test_a_groups_report_leaves_out_sessions_before_anyone_was_in_it_and_names_the_group_counted(data):
    """Bob moved from 3A to 3B between two assemblies: 3B's report has him as 3B, and a choir formed after
    the first assembly has no row for it (0 expected and an empty rate read as a failure)."""
    clock = FakeClock()
    attendance = a_class_and_a_move(data, clock)
    clock.advance(hours=2)
    attendance.update_person("S3", groups=["3B", "Choir"])
    clock.advance(days=1)
    attendance.start_session("Assembly", 10)
    attendance.check_in("S3", 0.8)
    attendance.stop_session()
    choir = build_report(attendance.store, date(2024, 9, 1), date(2024, 9, 30), "choir")
    assert [line.counts.total for line in choir.sessions] == [1]
    from faceattend_tui.attendance.report import report_rows

    rows = {r["id"]: r for r in report_rows(build_report(attendance.store, date(2024, 9, 1), date(2024, 9, 30), "3A"))
            if r["row"] == "person"}
    assert rows["S2"]["group"] == "3A"  # counted in 3A, though in 3B now


def test_an_assembly_the_whole_group_was_excused_from_is_in_the_groups_report(data):
    """3B (Cleo) excused from the first assembly: the session row and Cleo's excused count agree."""
    clock = FakeClock()
    attendance = Attendance(open_store(data, clock=clock), user="Dana")
    attendance.add_person("Ann", person_id="S1", groups=["3A"])
    attendance.add_person("Cleo", person_id="S3", groups=["3B"])
    attendance.start_session("Assembly", 10)
    attendance.check_in("S1", 0.8)
    attendance.mark("S3", "excused", "school trip")
    attendance.stop_session()
    report = build_report(attendance.store, date(2024, 9, 1), date(2024, 9, 30), "3B")
    assert [line.session.name for line in report.sessions] == ["Assembly"]
    assert [p.counts.excused_total for p in report.people] == [1]


def test_someone_who_left_and_came_back_is_not_put_on_a_session_held_while_they_were_away(data):
    """Bob left on 1 September and came back on the 10th; the 2nd's session is then given its group."""
    clock = FakeClock()
    attendance = Attendance(open_store(data, clock=clock), user="Dana")
    for person_id in ("S1", "S2"):
        attendance.add_person(person_id, person_id=person_id, groups=["3A"])
    attendance.remove_person("S2")
    clock.advance(days=1)
    session = attendance.start_session("Maths 3A", 10)  # for everyone by mistake
    attendance.check_in("S1", 0.8)
    attendance.stop_session()
    clock.advance(days=4)
    attendance.update_person("S2", groups=["3B"])  # their file put right while they were away
    attendance.update_person("S2", groups=["3A"])
    clock.advance(days=4)
    attendance.restore_person("S2")
    edit_session(attendance, session.id, user="admin", group="3A")
    assert attendance.store.session(session.id).expected == ["S1"]
    bob = attendance.store.person("S2")
    assert bob.groups_at(session.started_at) == () and bob.groups_at(clock()) == ("3A",)
    assert not bob.on_roster_at(session.started_at) and bob.on_roster_at(clock())
