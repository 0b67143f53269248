"""The attendance log on disk: durability, the journal, atomic writes, damage, upgrades, snapshots."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fakes import FakeClock

from faceattend_tui.attendance import (
    Attendance,
    Checkin,
    Person,
    Session,
    StoreError,
    open_snapshot,
    open_store,
)
from faceattend_tui.attendance.models import AuditEntry, Mark
from faceattend_tui.attendance.tinystore import SCHEMA_VERSION, TinyStore
from faceattend_tui.files import atomic_write

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TZ = timezone(timedelta(hours=2))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


def raw_log(data: Path) -> dict:
    return json.loads((data / "attendance.json").read_text())


def person(store, name: str = "alice") -> Person:
    found = [p for p in store.people() if p.name == name]
    if found:
        return found[0]
    new = Person(f"id-{name}", name, store.now(), folder=name)
    store.save_person(new)
    return new


def one_checkin(store, name: str = "alice") -> Checkin:
    running = store.open_sessions()
    session = running[-1] if running else store.create_session(Session(0, "s", store.now()))
    checkin = Checkin(session.id, person(store, name).id, store.now(), similarity=0.8, track_id=3)
    assert store.record_checkin(checkin)
    return checkin


# ----- durability --------------------------------------------------------------------


def test_checkin_is_on_disk_when_the_call_returns(data, clock):
    store = open_store(data, clock=clock)
    checkin = one_checkin(store)
    # Nothing closed or folded: the journal line is already there...
    lines = [json.loads(line) for line in (data / "attendance.journal").read_text().splitlines()]
    assert [op[1]["id"] for line in lines for op in line["ops"] if op[0] == "checkin"] == [checkin.id]
    # ...and a fresh store (as after a crash) sees the check-in.
    again = open_store(data, clock=clock)
    found = again.checkin(checkin.session_id, checkin.person_id)
    assert found is not None and found.id == checkin.id and found.similarity == 0.8
    again.close()


def test_one_checkin_per_person_and_session(data, clock):
    store = open_store(data, clock=clock)
    first = one_checkin(store)
    assert not store.record_checkin(Checkin(first.session_id, first.person_id, store.now()))
    assert len(store.checkins(first.session_id)) == 1


def test_close_folds_the_journal_into_the_log(data, clock):
    store = open_store(data, clock=clock)
    checkin = one_checkin(store)
    store.close()
    assert not (data / "attendance.journal").exists()
    docs = list(raw_log(data)["checkins"].values())
    assert [d["id"] for d in docs] == [checkin.id]
    assert docs[0]["time"] == "2024-09-02T08:00:00.000+02:00"


def alice_and_bob_in_a_session(data, clock):
    """A log left open (no close: as a crash leaves it) with a session in which alice checked in."""
    store = open_store(data, clock=clock)
    att = Attendance(store, user="t")
    att.add_person("alice", person_id="a1")
    att.add_person("bob", person_id="b1")
    att.start_session("s")
    att.check_in("a1", 0.9)
    return store, att


def test_a_journal_line_is_never_applied_twice(data, clock):
    # Crash after the log rewrite but before the journal delete: the same lines are read again.
    store, att = alice_and_bob_in_a_session(data, clock)
    att.mark("b1", "present", "forgot card")
    journal = (data / "attendance.journal").read_bytes()
    store.close()
    (data / "attendance.journal").write_bytes(journal)
    open_store(data, clock=clock).close()
    log = raw_log(data)
    assert [d["person_id"] for d in log["checkins"].values()] == ["a1"]
    assert [d["person_id"] for d in log["marks"].values()] == ["b1"]
    assert [d["action"] for d in log["audit"].values()].count("checkin.mark") == 1


def test_a_person_whose_id_changed_is_listed_once_after_a_fold_cut_short(data, clock):
    """Power cut after the log was written but before the journal went: Ann (her photo folder's id, then
    the roster's S1) was listed twice when the station opened again."""
    store = open_store(data, clock=clock)
    att = Attendance(store, user="t")
    ann = att.add_person("Ann Lee", folder="ann lee")
    store.change_person_id(ann.id, "S1")
    att.reload_people()
    att.update_person("S1", groups=["3A"])
    journal = (data / "attendance.journal").read_bytes()
    store.close()
    (data / "attendance.journal").write_bytes(journal)  # as if the delete never happened
    for _ in range(2):
        with open_store(data, clock=clock) as again:
            assert [(p.id, p.name, p.groups) for p in again.people()] == [("S1", "Ann Lee", ("3A",))]


def test_torn_last_journal_line_is_dropped(data, clock):
    store = open_store(data, clock=clock)
    first = one_checkin(store, "alice")
    second = one_checkin(store, "bob")
    journal = data / "attendance.journal"
    journal.write_bytes(journal.read_bytes()[:-20])  # bob's line cut short, as by a kill mid-write
    again = open_store(data, clock=clock)
    assert again.checkin(first.session_id, first.person_id) is not None
    assert again.checkin(second.session_id, second.person_id) is None
    assert not journal.exists()
    again.close()


def test_changes_written_after_a_torn_only_line_are_kept(data, clock):
    """A power loss tore the journal's only line; the next run's check-ins were glued to it: the one after
    was refused at every start (or lost without a word), though the screen had said it was recorded."""
    store = open_store(data, clock=clock)
    first = one_checkin(store, "alice")
    journal = data / "attendance.journal"
    torn = journal.read_bytes()[:40]
    store.close()
    journal.write_bytes(torn)
    store = open_store(data, clock=clock)
    second = one_checkin(store, "bob")  # then the station is killed: no fold
    again = open_store(data, clock=clock)
    assert again.checkin(first.session_id, first.person_id) is not None
    assert again.checkin(second.session_id, second.person_id) is not None
    again.close()


def test_a_line_added_to_an_outbox_after_a_torn_one_is_read(tmp_path):
    """An export's audit line torn by a power loss, then the next export's: that one was lost with it."""
    from faceattend_tui.attendance.tiny.files import append_line, read_lines

    outbox = tmp_path / "attendance.outbox"
    outbox.write_bytes(b'{"id":"a1","action":"export"}\n{"id":"a2","act')
    append_line(outbox, {"id": "a3", "action": "export"})
    assert [line["id"] for line in read_lines(outbox, "outbox")] == ["a1", "a3"]
    outbox.write_bytes(b'{"id":"a1","action":"export"}\n{"id":"a2","action":"export"}')  # only its newline lost
    append_line(outbox, {"id": "a3", "action": "export"})
    assert [line["id"] for line in read_lines(outbox, "outbox")] == ["a1", "a2", "a3"]


@pytest.mark.parametrize("line", ['{"seq":999,"ops":[["s#tting","x",null]]}', '{"seq":999,"ops":[["checkin",{}]]}',
                                  '{"seq":999,"ops":[["checkin",5]]}', '{"seq":"x","ops":[]}', '{"seq":999,"ops":7}',
                                  '{"seq":999,"ops":[["checkin",{"id":"y3","session_id":1,"person_id":"alice",'
                                  '"time":"yesterday","late":"no"}]]}',
                                  '{"seq":999,"ops":[["session",{"id":1e400,"name":"M","started_at":'
                                  '"2024-09-02T08:00:00+00:00"}]]}',
                                  '{"seq":999,"ops":[["session",{"id":7,"name":"M","started_at":'
                                  '"2024-09-02T08:00:00+00:00","late_after_minutes":1e300}]]}',
                                  '{"seq":999,"ops":[["checkin",{"id":"y4","session_id":1,"person_id":"alice",'
                                  '"time":"9999-12-31T23:59:59-05:00"}]]}'])
def test_a_journal_line_that_reads_but_holds_a_damaged_change_is_refused_by_name(data, clock, line, capsys):
    """One changed letter (a flipped bit, a hand edit): every command says so in one line, never a traceback."""
    store = open_store(data, clock=clock)
    one_checkin(store, "alice")
    journal = data / "attendance.journal"
    with journal.open("a") as handle:
        handle.write(line + "\n")
    before = (journal.read_bytes(), (data / "attendance.json").read_bytes())
    with pytest.raises(StoreError, match="attendance.journal: the change numbered .* is damaged"):
        open_store(data, clock=clock)
    from faceattend_tui.cli import main

    capsys.readouterr()
    assert main(["sessions", "list", "--data", str(data)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is damaged" in err[0]
    assert (journal.read_bytes(), (data / "attendance.json").read_bytes()) == before


@pytest.mark.parametrize("edit", [
    lambda log: log["marks"]["1"].pop("status"),  # reports crashed on it (KeyError)
    lambda log: log["audit"]["1"].update(id=[1, 2]),  # every command crashed (unhashable)
    lambda log: log["meta"]["1"].update(folded_seq="7"),  # every writing command crashed
    lambda log: log["checkins"]["1"].update(id=5),
    lambda log: log["presence"].update({"1": {"person_id": ["x"], "day": "2024-09-02"}}),
], ids=["mark-status", "audit-id", "folded-seq", "checkin-id", "presence-person"])
def test_a_log_edited_by_hand_into_a_wrong_shape_is_refused_in_one_line_by_every_command(data, clock, edit, capsys):
    store = open_store(data, clock=clock)
    checkin = one_checkin(store, "alice")
    store.add_mark(Mark(checkin.session_id, checkin.person_id, "late", "bus", "teacher", store.now(), "present"))
    store.add_audit(AuditEntry(store.now(), "teacher", "export", {}))
    store.close()
    log = raw_log(data)
    edit(log)
    (data / "attendance.json").write_text(json.dumps(log), encoding="utf-8")
    before = (data / "attendance.json").read_bytes()
    from faceattend_tui.cli import main

    for command in (["report", "--from", "2000-01-01", "--out", str(data.parent / "r.csv")], ["audit"],
                    ["people", "edit", "alice", "--name", "Alice B"]):
        capsys.readouterr()
        assert main([*command, "--data", str(data)]) == 2, command
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "attendance.json" in err[0] and "Traceback" not in err[0], err
    assert (data / "attendance.json").read_bytes() == before


def test_an_older_log_put_back_beside_a_newer_journal_is_refused(data, clock):
    """A backup copied over the log after a crash: the journal's changes would land on it with a hole."""
    store = open_store(data, clock=clock)
    one_checkin(store, "alice")
    store.close()  # folded: the log holds alice
    backup = (data / "attendance.json").read_bytes()
    store = open_store(data, clock=clock)
    one_checkin(store, "bob")
    store.close()  # folded again: the log holds bob's session too
    store = open_store(data, clock=clock)
    one_checkin(store, "carol")  # in the journal; then the station dies (no close)
    (data / "attendance.json").write_bytes(backup)
    journal = (data / "attendance.journal").read_bytes()
    with pytest.raises(StoreError, match="the log is older than its journal"):
        open_store(data, clock=clock)
    assert (data / "attendance.json").read_bytes() == backup and (data / "attendance.journal").read_bytes() == journal


def test_a_log_put_back_a_single_change_behind_its_journal_is_refused(data, clock):
    """The backup missed one change only (bob, folded in before the crash): it opened, and bob was gone."""
    store = open_store(data, clock=clock)
    person(store, "alice")
    store.close()
    backup = (data / "attendance.json").read_bytes()
    store = open_store(data, clock=clock)
    person(store, "bob")  # the one change the backup misses
    store.close()
    store = open_store(data, clock=clock)
    person(store, "carol")  # in the journal; then the station dies (no close)
    (data / "attendance.json").write_bytes(backup)
    journal = (data / "attendance.journal").read_bytes()
    with pytest.raises(StoreError, match="the log is older than its journal"):
        open_store(data, clock=clock)
    assert (data / "attendance.json").read_bytes() == backup and (data / "attendance.journal").read_bytes() == journal


def test_corrupt_journal_line_in_the_middle_is_an_error(data, clock):
    store = open_store(data, clock=clock)
    one_checkin(store, "alice")
    one_checkin(store, "bob")
    journal = data / "attendance.journal"
    lines = journal.read_bytes().split(b"\n")
    journal.write_bytes(b"\n".join([b"{not json", *lines[1:]]))
    before = (journal.read_bytes(), (data / "attendance.json").read_bytes())
    with pytest.raises(StoreError, match="line 1 is corrupt"):
        open_store(data, clock=clock)
    assert (journal.read_bytes(), (data / "attendance.json").read_bytes()) == before


CHILD = textwrap.dedent("""
    import sys
    from faceattend_tui.attendance import Attendance, Person, open_store
    store = open_store(sys.argv[1])
    att = Attendance(store, user="child")
    if att.active is None:
        store.save_people([Person(f"p{i:06d}", f"p{i:06d}", store.now(), folder=f"p{i:06d}") for i in range(5000)])
        att.reload_people()
        att.start_session("crash test")
    i = 0
    while True:
        result = att.check_in(f"p{i:06d}", 0.9)
        print(result.checkin.person_id, flush=True)
        i += 1
""")


def test_every_reported_checkin_survives_sigkill(data):
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(data)], stdout=subprocess.PIPE, cwd=ROOT)
    printed = []
    try:
        while len(printed) < 300:
            line = child.stdout.readline()
            assert line, "child stopped early"
            printed.append(line.decode().strip())
        os.kill(child.pid, signal.SIGKILL)
        rest, _ = child.communicate(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    printed += rest.decode().split()
    assert child.returncode == -signal.SIGKILL

    store = open_store(data)
    att = Attendance(store)
    assert att.active is not None and att.active.name == "crash test"
    missing = [p for p in printed if store.checkin(att.active.id, p) is None]
    assert missing == []
    assert att.counts().present >= len(printed)
    store.close()


# ----- atomic writes and file modes ------------------------------------------------------


def test_writes_leave_no_temp_files(data, clock):
    store = open_store(data, clock=clock)
    for name in ("p0", "p1", "p2"):
        person(store, name)
    one_checkin(store)
    store.close()
    assert sorted(p.name for p in data.iterdir()) == ["attendance.json"]


def test_a_failed_journal_write_changes_nothing(data, clock, monkeypatch):
    store = open_store(data, clock=clock)
    alice = person(store, "alice")
    before = (data / "attendance.json").read_bytes()

    def disk_full(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", disk_full)
    with pytest.raises(StoreError, match="No space left"):
        person(store, "bob")
    monkeypatch.undo()
    assert [p.name for p in store.people()] == ["alice"]  # not applied in memory either
    assert (data / "attendance.json").read_bytes() == before
    person(store, "carol")
    store.close()
    assert sorted(p.name for p in open_store(data).people()) == ["alice", "carol"]
    assert alice.id


def test_a_failed_fold_keeps_the_old_file_and_the_journal(data, clock, monkeypatch):
    store = open_store(data, clock=clock)
    one_checkin(store)
    before = (data / "attendance.json").read_bytes()
    monkeypatch.setattr(os, "replace", lambda src, dst: (_ for _ in ()).throw(OSError(28, "No space left")))
    with pytest.raises(StoreError, match="No space left"):
        store.fold()
    monkeypatch.undo()
    assert (data / "attendance.json").read_bytes() == before
    assert (data / "attendance.journal").exists()
    assert len(open_store(data).checkins(1)) == 1


def test_batch_error_writes_nothing(data, clock):
    store = open_store(data, clock=clock)
    before = (data / "attendance.json").read_bytes()
    with pytest.raises(RuntimeError), store.batch():
        person(store, "alice")
        raise RuntimeError("boom")
    assert store.people() == []
    assert (data / "attendance.json").read_bytes() == before
    assert not (data / "attendance.journal").exists()


def test_a_refused_change_keeps_the_last_seen_times_not_yet_written(data, clock):
    """A typo refused inside a batch (an hours correction) takes back its own change, not the "last seen"
    times of the people in view, which wait in memory for the next rewrite."""
    store = open_store(data, clock=clock)
    checkin = one_checkin(store)
    later = store.now() + timedelta(minutes=40)
    assert store.touch(checkin.session_id, checkin.person_id, later)
    with pytest.raises(ValueError), store.batch():
        person(store, "bob")
        raise ValueError("the out is not after the in")
    assert [p.name for p in store.people()] == ["alice"]
    store.close()
    with open_store(data, clock=clock) as again:
        assert again.checkin(checkin.session_id, checkin.person_id).last_seen == later


def test_stale_temp_files_are_cleaned_on_open(data, clock):
    open_store(data, clock=clock).close()
    (data / ".attendance.json.abc123de.tmp").write_text('{"half": ')
    open_store(data, clock=clock).close()
    assert sorted(p.name for p in data.iterdir()) == ["attendance.json"]


def test_file_modes(tmp_path, clock):
    data = tmp_path / "new" / "data"
    store = open_store(data, clock=clock)
    one_checkin(store)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "attendance.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((data / "attendance.journal").stat().st_mode) == 0o600
    store.close()
    assert stat.S_IMODE((data / "attendance.json").stat().st_mode) == 0o600


# ----- damaged and unknown files ------------------------------------------------------------

GOOD_META = {"1": {"schema_version": SCHEMA_VERSION}}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"meta": {"1": {"schema_', "not valid JSON"),
        (b"\xff\xfe garbage", "not valid JSON"),
        (b"[1, 2, 3]", "JSON list"),
        (b'{"meta": []}', "is not an object"),
        (b"", "is empty"),
        (b"  \n ", "is empty"),
        (b"\x00" * 4096, r"only zero bytes \(4096 bytes\): it was cut short"),  # a power loss's usual leftover
        (b"\x00" * 4096 + b'{"meta": {}}', "holds zero bytes from byte 0 on: it was damaged"),
        (b'{"meta": {"1": {"schema_version": 4}}}' + b"\x00" * 4096, "holds zero bytes from byte 38 on"),
        (json.dumps({"meta": {"1": {"schema_version": 99}}}).encode(), "schema version 99, newer"),
        (json.dumps({"_default": {"1": {"x": 1}}}).encode(), "no valid schema version"),
        (json.dumps({"meta": GOOD_META, "checkins": {"1": {"person_id": "a"}}}).encode(), "checkins record 1"),
        (json.dumps({"meta": GOOD_META, "sessions": {"x": {}}}).encode(), "bad record 'x'"),
    ],
)
def test_bad_log_is_refused_and_left_unchanged(data, content, message):
    data.mkdir()
    path = data / "attendance.json"
    path.write_bytes(content)
    (data / "attendance.journal").write_text('{"seq": 1, "ops": []}\n')
    with pytest.raises(StoreError, match=message) as caught:
        open_store(data)
    text = str(caught.value)
    assert str(path) in text and "\n" not in text
    assert path.read_bytes() == content
    assert sorted(p.name for p in data.iterdir()) == ["attendance.journal", "attendance.json"]


def test_newer_schema_with_journal_touches_neither_file(data, clock):
    store = open_store(data, clock=clock)
    one_checkin(store)
    log = raw_log(data)
    log["meta"]["1"]["schema_version"] = SCHEMA_VERSION + 1
    (data / "attendance.json").write_text(json.dumps(log))
    before = {p.name: p.read_bytes() for p in data.iterdir()}
    with pytest.raises(StoreError, match="upgrade faceattend"):
        open_store(data, clock=clock)
    assert {p.name: p.read_bytes() for p in data.iterdir()} == before


def test_unreadable_log_is_a_store_error(data):
    (data / "attendance.json").mkdir(parents=True)
    with pytest.raises(StoreError, match="cannot read attendance log"):
        open_store(data)


def test_new_log_records_schema_version(data, clock):
    open_store(data, clock=clock).close()
    assert list(raw_log(data)["meta"].values())[0]["schema_version"] == SCHEMA_VERSION


def test_settings_round_trip(data, clock):
    store = open_store(data, clock=clock)
    store.set_setting("x", {"a": 1})
    assert open_snapshot(data).get_setting("x") == {"a": 1}
    store.set_setting("x", None)
    assert open_snapshot(data).get_setting("x", "none") == "none"
    store.close()
    assert open_store(data).get_setting("x", "none") == "none"


def test_a_second_writer_that_folded_our_journal_is_noticed(data, clock):
    store = open_store(data, clock=clock)
    one_checkin(store, "alice")
    open_store(data, clock=clock).close()  # without the lock, as a careless script would
    with pytest.raises(StoreError, match="another process"):
        one_checkin(store, "bob")


# ----- upgrading the previous release's log -------------------------------------------------


def test_a_log_of_the_previous_release_opens_with_nothing_lost(data):
    shutil.copytree(FIXTURES / "schema1", data)
    old, old_journal = (data / "attendance.json").read_bytes(), (data / "attendance.journal").read_bytes()
    store = open_store(data)
    att = Attendance(store)
    people = {p.name: p for p in att.people(include_left=True)}
    assert set(people) == {"Ann Lee", "Bob Marr", "Cleo Diaz", "Chimie Élodie", "Dev Rao"}
    assert people["Bob Marr"].state == "left" and people["Ann Lee"].folder == "Ann Lee"
    first, second = store.sessions()
    seen = {(p.name, p.status) for p in att.summary(first.id).people}
    assert seen == {("Ann Lee", "present"), ("Bob Marr", "late"), ("Chimie Élodie", "absent"),
                    ("Cleo Diaz", "absent")}  # what the previous release showed for it
    cleo = next(p for p in att.summary(first.id).people if p.name == "Cleo Diaz")
    assert cleo.mark.reason == "sick note" and cleo.mark.by == "head"
    assert att.active.id == second.id  # the running session resumes, its journaled check-ins in it
    seen = {(p.name, p.status) for p in att.summary().people}
    assert seen == {("Ann Lee", "late"), ("Chimie Élodie", "absent"), ("Cleo Diaz", "absent"), ("Dev Rao", "present")}
    assert len(store.audit_log()) == 5
    store.close()
    assert (data / "attendance.json.schema1.bak").read_bytes() == old
    # the running session's check-ins were in the journal only: a rollback needs that copy too
    assert (data / "attendance.journal.schema1.bak").read_bytes() == old_journal
    assert not (data / "attendance.journal").exists()
    assert raw_log(data)["meta"]["1"]["schema_version"] == SCHEMA_VERSION


def test_a_previous_release_s_mark_over_a_camera_check_in_keeps_the_status_it_replaced(data):
    """Schema 1's mark replaced the camera's record; its audit entry says what it was ("previous"): the
    sheet's status before the mark said absent for someone the camera had seen."""
    shutil.copytree(FIXTURES / "schema1", data)
    log = json.loads((data / "attendance.json").read_text(encoding="utf-8"))
    ann = next(doc for doc in log["checkins"].values() if doc["person"] == "Ann Lee")
    ann.update(source="manual", present=False, reason="sent home ill", marked_by="head",
               time="2026-09-07T08:20:00+02:00")
    log["audit"]["9"] = {"id": "m2", "time": "2026-09-07T08:20:00+02:00", "user": "head", "action": "checkin.mark",
                         "details": {"session_id": 1, "person": "Ann Lee", "status": "absent",
                                     "reason": "sent home ill", "previous": "present"}}
    (data / "attendance.json").write_text(json.dumps(log), encoding="utf-8")
    with open_snapshot(data) as store:
        marks = {p.name: p.mark for p in Attendance(store).summary(1).people if p.mark}
    assert (marks["Ann Lee"].status, marks["Ann Lee"].previous) == ("absent", "present")
    # marked again later (09:30 there), the entry written in UTC: the latest in time counts, not in text
    log["audit"]["10"] = {"id": "m3", "time": "2026-09-07T07:30:00+00:00", "user": "head",
                          "action": "checkin.mark", "details": {"session_id": 1, "person": "Ann Lee",
                                                                "status": "absent", "previous": "late"}}
    (data / "attendance.json").write_text(json.dumps(log), encoding="utf-8")
    with open_store(data) as store:
        marks = {p.name: p.mark for p in Attendance(store).summary(1).people if p.mark}
    assert marks["Ann Lee"].previous == "late"
    assert marks["Cleo Diaz"].previous == "absent"  # her audit entry says she had no record before


def test_a_second_upgrade_without_a_journal_leaves_no_journal_copy_of_the_first(data):
    """Rolled back (both copies put back), run on, then upgraded again with no journal: the first
    upgrade's journal copy stayed beside the new log copy, and putting the pair back replayed it."""
    shutil.copytree(FIXTURES / "schema1", data)
    old = (data / "attendance.json").read_bytes()
    open_store(data).close()
    assert (data / "attendance.journal.schema1.bak").exists()
    (data / "attendance.json").write_bytes(old)  # the rollback; the older release then folded its journal
    open_store(data).close()
    assert (data / "attendance.json.schema1.bak").read_bytes() == old
    assert not (data / "attendance.journal.schema1.bak").exists()


def test_reading_a_log_of_the_previous_release_gives_the_ids_its_upgrade_gives(data):
    """A nightly export run before the first station start names the people the upgrade then makes."""
    shutil.copytree(FIXTURES / "schema1", data)
    read = [{p.name: p.id for p in open_snapshot(data).people()} for _ in range(2)]
    store = open_store(data)
    assert read[0] == read[1] == {p.name: p.id for p in store.people()}
    store.close()


@pytest.mark.parametrize("damage", ["journal of today", "record without a time", "journal line without a session"])
def test_a_damaged_log_of_the_previous_release_is_refused_with_its_files_named(data, damage):
    shutil.copytree(FIXTURES / "schema1", data)
    log, journal = data / "attendance.json", data / "attendance.journal"
    if damage == "journal of today":  # the old log put back beside a journal this version wrote
        journal.write_text(json.dumps({"seq": 34, "ops": [["setting", "x", 1]]}) + "\n")
    elif damage == "record without a time":
        doc = json.loads(log.read_text(encoding="utf-8"))
        del next(iter(doc["people"].values()))["created"]
        log.write_text(json.dumps(doc), encoding="utf-8")
    else:
        journal.write_text(json.dumps({"checkin": {"person": "Ann Lee", "time": "2026-09-08T08:46:00+02:00"}}) + "\n")
    before = {p.name: p.read_bytes() for p in data.iterdir()}
    with pytest.raises(StoreError) as refused:
        open_store(data)
    assert str(log) in str(refused.value) and "nothing was changed" in str(refused.value)
    assert {p.name: p.read_bytes() for p in data.iterdir()} == before


def test_a_log_of_schema_3_is_moved_on_and_a_version_that_knows_only_3_refuses_it(data, clock, monkeypatch):
    """A site rolling back to a release that knew schema 3: it opened today's log and, at its first write
    of a person, dropped their past groups and time away (reports of past sessions changed)."""
    from faceattend_tui.attendance.tiny import files

    store = open_store(data, clock=clock)
    att = Attendance(store)
    att.add_person("Ann Lee", person_id="S1", groups=["3A"])
    att.update_person("S1", groups=["3B"])
    store.close()
    log = raw_log(data)
    log["meta"]["1"]["schema_version"] = 3  # as the release before wrote it
    (data / "attendance.json").write_text(json.dumps(log), encoding="utf-8")
    old = (data / "attendance.json").read_bytes()
    open_store(data, clock=clock).close()
    assert raw_log(data)["meta"]["1"]["schema_version"] == SCHEMA_VERSION == 4
    assert (data / "attendance.json.schema3.bak").read_bytes() == old
    assert [g.groups for g in open_snapshot(data).person("S1").past_groups] == [("3A",)]
    monkeypatch.setattr(files, "SCHEMA_VERSION", 3)
    with pytest.raises(StoreError, match="schema version 4, newer than this program understands"):
        open_store(data, clock=clock)


def test_an_upgrade_on_a_full_disk_names_the_copy_it_could_not_keep_and_changes_nothing(data, monkeypatch):
    import errno

    from faceattend_tui.attendance.tiny import journal

    shutil.copytree(FIXTURES / "schema1", data)
    before = {p.name: p.read_bytes() for p in data.iterdir()}

    def full(path, data, mode=0o600):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(journal, "atomic_write", full)
    with pytest.raises(StoreError, match=r"attendance\.journal\.schema1\.bak\): .*No space left on device"):
        open_store(data)
    assert {p.name: p.read_bytes() for p in data.iterdir()} == before


# ----- snapshots for readers while the station writes ------------------------------------------


def test_a_snapshot_reads_the_journal_without_writing(data, clock):
    store = open_store(data, clock=clock)
    checkin = one_checkin(store)
    before = {p.name: p.read_bytes() for p in data.iterdir()}
    snap = open_snapshot(data)
    assert snap.checkin(checkin.session_id, checkin.person_id) is not None
    with pytest.raises(StoreError, match="read-only"):
        snap.save_person(Person("x", "x", clock()))
    snap.add_audit(AuditEntry(clock(), "nightly", "export"))  # goes to the outbox
    snap.close()
    after = {p.name: p.read_bytes() for p in data.iterdir() if p.name != "attendance.outbox"}
    assert after == before
    store.close()
    assert [a.action for a in open_store(data).audit_log()] == ["export"]  # taken in by the writer


def test_a_snapshot_taken_across_a_fold_misses_nothing_and_doubles_nothing(data, clock, monkeypatch):
    store = open_store(data, clock=clock)
    checkin = one_checkin(store)
    real_load = TinyStore._load

    def fold_in_between(self):
        import faceattend_tui.attendance.tiny.journal as tiny  # where the loader looks up read_lines

        lines = tiny.read_lines(self.journal_path, "journal")
        store.fold()  # the writer folds after the reader took the journal, before it reads the file
        monkeypatch.setattr(tiny, "read_lines", lambda *a: lines)
        real_load(self)

    monkeypatch.setattr(TinyStore, "_load", fold_in_between)
    snap = TinyStore(data / "attendance.json", read_only=True)
    assert [c.id for c in snap.checkins(checkin.session_id)] == [checkin.id]


def test_a_large_journal_is_folded_after_a_batch_not_inside_it(data, clock, monkeypatch):
    import faceattend_tui.attendance.tiny.journal as tiny  # where the writer looks up FOLD_BYTES

    store = open_store(data, clock=clock)
    people = [person(store, f"p{i}") for i in range(40)]
    sessions = [store.create_session(Session(0, name, clock(), expected=[p.id for p in people]))
                for name in ("first", "second")]
    store.fold()
    monkeypatch.setattr(tiny, "FOLD_BYTES", 2000)
    for session in sessions:  # each batch takes the journal past the limit
        with store.batch():
            for p in people:
                store.record_checkin(Checkin(session.id, p.id, clock()))
        assert not store.journal_path.exists()  # folded once the batch was on disk
    store.close()
    assert [len(open_store(data).checkins(s.id)) for s in sessions] == [40, 40]


# ----- people ---------------------------------------------------------------------------------


def test_a_new_id_takes_every_record_along(data, clock):
    store = open_store(data, clock=clock)
    checkin = one_checkin(store, "alice")
    store.add_mark(Mark(checkin.session_id, checkin.person_id, "late", "bus", "t", clock(), "present"))
    store.change_person_id(checkin.person_id, "S100")
    store.close()
    again = open_store(data)
    assert again.person("S100").name == "alice" and again.person(checkin.person_id) is None
    assert again.checkin(checkin.session_id, "S100").id == checkin.id
    assert [m.person_id for m in again.marks(checkin.session_id)] == ["S100"]


def test_erasing_a_person_removes_every_record(tmp_path):
    store = open_store(tmp_path)
    first = one_checkin(store, "Ann")
    store.add_expected(first.session_id, [first.person_id])
    store.end_session(first.session_id, store.now())
    second = store.create_session(Session(0, "s2", store.now(), expected=[first.person_id]))
    store.record_checkin(Checkin(second.id, first.person_id, store.now()))
    one_checkin(store, "Bob")
    assert store.erase_person(first.person_id) == 2
    store.close()
    again = open_store(tmp_path)
    assert again.person(first.person_id) is None
    assert [c.person_id for c in again.checkins(second.id)] == ["id-Bob"]
    assert first.person_id not in again.session(first.session_id).expected


def test_a_year_of_records_keeps_check_ins_cheap_to_write(data):
    data.mkdir()
    t0 = datetime(2024, 1, 1, 8, 0, tzinfo=TZ)
    people = [Person(f"p{i:05d}", f"P {i}", t0, folder=f"p{i:05d}") for i in range(2000)]
    doc = {"meta": {"1": {"schema_version": SCHEMA_VERSION}}, "audit": {}, "marks": {},
           "people": {str(i + 1): p.to_doc() for i, p in enumerate(people)}, "sessions": {}, "checkins": {}}
    for n in range(100):
        start = t0 + timedelta(days=n)
        doc["sessions"][str(n + 1)] = Session(n + 1, f"s{n}", start, start + timedelta(hours=1),
                                              expected=[p.id for p in people[:300]]).to_doc()
        for k in range(200):
            doc["checkins"][str(len(doc["checkins"]) + 1)] = Checkin(n + 1, f"p{k:05d}", start).to_doc()
    atomic_write(data / "attendance.json", json.dumps(doc).encode())
    store = open_store(data)
    assert len(store.checkins(1)) == 200
    session = store.create_session(Session(0, "now", store.now()))
    for i in range(30):
        store.record_checkin(Checkin(session.id, f"p{i:05d}", store.now()))
    store.close()
    assert len(raw_log(data)["checkins"]) == 20030


def test_a_journal_deleted_while_the_log_is_open_loses_nothing_at_a_crash(data, clock):
    """`rm attendance.journal` while the station ran, then a crash: the log was refused at the next start,
    and moving the new journal aside, as it advised, dropped the whole session."""
    _, att = alice_and_bob_in_a_session(data, clock)
    (data / "attendance.journal").unlink()
    att.check_in("b1", 0.8)  # no close: the station is killed here
    again = open_store(data, clock=clock)
    try:
        (session,) = again.sessions()
        assert sorted(c.person_id for c in again.checkins(session.id)) == ["a1", "b1"]
    finally:
        again.close()


@pytest.mark.parametrize("slow", ["write_all", "_hold"])
def test_an_export_audited_while_the_station_takes_the_outbox_in_is_never_lost(data, clock, monkeypatch, slow):
    """`faceattend export` appends its audit line as the station quits (a busy machine: the reader is held
    up before it locks the outbox, or while it writes): the line goes in now or at the next start."""
    import threading
    import time

    from faceattend_tui.attendance import audit
    from faceattend_tui.attendance.tiny import files

    writer = open_store(data, clock=clock)
    person(writer)
    reader = open_snapshot(data)
    real = getattr(files, slow)

    def held_up(*args):
        time.sleep(0.5)
        return real(*args)

    monkeypatch.setattr(files, slow, held_up)
    exporting = threading.Thread(target=audit, args=(reader, "export", {"path": "exports/x.csv"}, "nightly"))
    exporting.start()
    time.sleep(0.2)
    writer.close()
    exporting.join(10)
    monkeypatch.setattr(files, slow, real)
    with open_store(data, clock=clock) as again:
        assert [a.action for a in again.audit_log()].count("export") == 1


def test_an_outbox_a_stopped_station_was_taking_in_is_not_replaced_by_the_next(data, clock):
    from faceattend_tui.attendance.tiny.files import append_line

    open_store(data, clock=clock).close()
    left = AuditEntry(clock(), "nightly", "export", {"path": "exports/a.csv"})
    later = AuditEntry(clock(), "nightly", "export", {"path": "exports/b.csv"})
    append_line(data / "attendance.outbox-taking", left.to_doc())  # the station died while taking it in
    append_line(data / "attendance.outbox", later.to_doc())  # and a reader wrote a new one since
    with open_store(data, clock=clock) as store:
        assert sorted(a.details["path"] for a in store.audit_log() if a.action == "export") == [
            "exports/a.csv", "exports/b.csv"]


def test_a_record_pasted_back_under_a_number_already_used_is_refused_not_dropped(data, clock, capsys):
    """A missed check-in copied back from a backup with the same record number: JSON keeps the last of
    the two, and the next write would have dropped the other for good."""
    store = open_store(data, clock=clock)
    one_checkin(store, "alice")
    store.close()
    log = data / "attendance.json"
    whole = json.loads(log.read_text(encoding="utf-8"))
    bob = dict(whole["checkins"]["1"], person_id="bob", id="pasted")
    pasted = json.dumps(whole).replace('"checkins": {', '"checkins": {' + json.dumps({"1": bob})[1:-1] + ", ", 1)
    log.write_text(pasted, encoding="utf-8")
    with pytest.raises(StoreError, match="holds record '1' twice"):
        open_store(data, clock=clock)
    from faceattend_tui.cli import main

    capsys.readouterr()
    assert main(["sessions", "list", "--data", str(data)]) == 2
    assert "twice" in capsys.readouterr().err
    assert log.read_text(encoding="utf-8") == pasted
