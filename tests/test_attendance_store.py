"""The attendance log on disk: durability, atomic writes, corruption handling, speed."""

from __future__ import annotations

import json
import os
import signal
import stat
import statistics
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fakes import FakeClock

from faceattend_tui.attendance import Attendance, Checkin, Store, StoreError, open_store
from faceattend_tui.attendance.models import AuditEntry, Person, Session
from faceattend_tui.attendance.store import SCHEMA_VERSION
from faceattend_tui.files import atomic_write

ROOT = Path(__file__).resolve().parent.parent
TZ = timezone(timedelta(hours=2))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


def raw_log(data: Path) -> dict:
    return json.loads((data / "attendance.json").read_text())


def one_checkin(store: Store, person: str = "alice") -> Checkin:
    session = store.open_sessions()[-1] if store.open_sessions() else store.create_session("s", store.now())
    checkin = Checkin(session.id, person, store.now(), similarity=0.8, track_id=3)
    assert store.record_checkin(checkin)
    return checkin


# ----- durability --------------------------------------------------------------------


def test_checkin_is_on_disk_when_the_call_returns(data, clock):
    store = open_store(data, clock=clock)
    checkin = one_checkin(store)
    # Nothing closed or flushed: the journal line is already there...
    lines = (data / "attendance.journal").read_text().splitlines()
    assert [json.loads(line)["checkin"]["id"] for line in lines] == [checkin.id]
    # ...and a fresh store (as after a crash) sees the check-in.
    again = open_store(data, clock=clock)
    found = again.get_checkin(checkin.session_id, "alice")
    assert found is not None and found.id == checkin.id and found.similarity == 0.8
    again.close()


def test_close_folds_the_journal_into_the_log(data, clock):
    store = open_store(data, clock=clock)
    checkin = one_checkin(store)
    store.close()
    assert not (data / "attendance.journal").exists()
    docs = list(raw_log(data)["checkins"].values())
    assert [d["id"] for d in docs] == [checkin.id]
    assert docs[0]["time"] == "2024-09-02T08:00:00.000+02:00"


def test_fold_twice_does_not_duplicate(data, clock):
    # Crash after the log rewrite but before the journal delete: the same lines get folded again.
    store = open_store(data, clock=clock)
    att = Attendance(store, user="t")
    att.start_session("s")
    att.check_in("alice", 0.9)
    att.mark("bob", "present", "forgot card")
    journal = (data / "attendance.journal").read_bytes()
    store.close()
    (data / "attendance.journal").write_bytes(journal)
    open_store(data, clock=clock).close()
    log = raw_log(data)
    assert sorted(d["person"] for d in log["checkins"].values()) == ["alice", "bob"]
    assert [d["action"] for d in log["audit"].values()].count("checkin.mark") == 1


def test_torn_last_journal_line_is_dropped(data, clock):
    store = open_store(data, clock=clock)
    first = one_checkin(store, "alice")
    one_checkin(store, "bob")
    journal = data / "attendance.journal"
    journal.write_bytes(journal.read_bytes()[:-20])  # bob's line cut short, as by a kill mid-write
    again = open_store(data, clock=clock)
    assert again.has_checkin(first.session_id, "alice")
    assert not again.has_checkin(first.session_id, "bob")
    assert not journal.exists()
    again.close()


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
    from faceattend_tui.attendance import Attendance, open_store
    att = Attendance(open_store(sys.argv[1]), user="child")
    if att.active is None:
        att.start_session("crash test")
    i = 0
    while True:
        result = att.check_in(f"p{i:06d}", 0.9)
        print(result.checkin.person, flush=True)
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
    missing = [p for p in printed if not store.has_checkin(att.active.id, p)]
    assert missing == []
    assert store.counts(att.active.id).present >= len(printed)
    store.close()


# ----- atomic writes and file modes ------------------------------------------------------


def test_writes_leave_no_temp_files(data, clock):
    store = open_store(data, clock=clock)
    for i in range(5):
        store.add_person(f"p{i}")
    one_checkin(store)
    store.close()
    assert sorted(p.name for p in data.iterdir()) == ["attendance.json"]


def test_failed_write_keeps_the_old_file(data, clock, monkeypatch):
    store = open_store(data, clock=clock)
    store.add_person("alice")
    before = (data / "attendance.json").read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(StoreError, match="No space left"):
        store.add_person("bob")
    monkeypatch.undo()
    assert (data / "attendance.json").read_bytes() == before
    assert sorted(p.name for p in data.iterdir()) == ["attendance.json"]
    assert [p.name for p in store.people()] == ["alice"]  # memory rolled back too
    store.add_person("carol")
    assert [p.name for p in open_store(data).people()] == ["alice", "carol"]


def test_batch_error_writes_nothing(data, clock):
    store = open_store(data, clock=clock)
    before = (data / "attendance.json").read_bytes()
    with pytest.raises(RuntimeError), store.batch():
        store.add_person("alice")
        raise RuntimeError("boom")
    assert store.people() == []
    assert (data / "attendance.json").read_bytes() == before


def test_stale_temp_files_are_cleaned_on_open(data, clock):
    open_store(data, clock=clock).close()
    (data / ".attendance.json.abc123.tmp").write_text('{"half": ')
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


def test_existing_data_dir_mode_is_left_alone(tmp_path, clock):
    tmp_path.chmod(0o755)
    open_store(tmp_path, clock=clock).close()
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755


# ----- corrupt and unknown files ------------------------------------------------------------

GOOD_META = {"1": {"schema_version": SCHEMA_VERSION}}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"meta": {"1": {"schema_', "not valid JSON"),
        (b"\xff\xfe garbage", "not valid JSON"),
        (b"[1, 2, 3]", "JSON list"),
        (b'{"meta": []}', "is not an object"),
        (json.dumps({"meta": {"1": {"schema_version": 99}}}).encode(), "schema version 99, newer"),
        (json.dumps({"_default": {"1": {"x": 1}}}).encode(), "no valid schema version"),
        (json.dumps({"meta": GOOD_META, "checkins": {"1": {"person": "a"}}}).encode(), "checkins record 1"),
        (json.dumps({"meta": GOOD_META, "sessions": {"x": {}}}).encode(), "bad record 'x'"),
    ],
)
def test_bad_log_is_refused_and_left_unchanged(data, content, message):
    data.mkdir()
    path = data / "attendance.json"
    path.write_bytes(content)
    with pytest.raises(StoreError, match=message) as caught:
        open_store(data)
    text = str(caught.value)
    assert str(path) in text and "\n" not in text
    assert path.read_bytes() == content
    assert sorted(p.name for p in data.iterdir()) == ["attendance.json"]


def test_newer_schema_with_journal_touches_neither_file(data, clock):
    store = open_store(data, clock=clock)
    store.add_person("alice")
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


# ----- people and settings ----------------------------------------------------------------------


def test_people_roster_follows_enrol_and_delete_times(data, clock):
    store = open_store(data, clock=clock)
    store.add_person("alice", images=4)
    clock.advance(hours=1)
    store.add_person("bob")
    clock.advance(hours=1)
    store.delete_person("alice")
    assert store.roster() == ["bob"]
    assert store.roster(at=clock.now - timedelta(minutes=90)) == ["alice"]
    assert store.roster(at=clock.now - timedelta(minutes=30)) == ["alice", "bob"]
    store.close()
    again = open_store(data)
    assert [(p.name, p.deleted, p.images) for p in again.people(include_deleted=True)] == [
        ("alice", True, 4), ("bob", False, None)]


def test_settings_round_trip(data, clock):
    store = open_store(data, clock=clock)
    store.set_setting("x", {"a": 1})
    assert open_store(data).get_setting("x") == {"a": 1}
    store.set_setting("x", None)
    assert open_store(data).get_setting("x", "none") == "none"


def test_attendance_package_does_not_import_textual():
    code = "import sys, faceattend_tui.attendance; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


# ----- size and speed ---------------------------------------------------------------------------------


def write_big_log(path: Path, people: int = 5000, checkins: int = 20000, per_session: int = 500) -> None:
    t0 = datetime(2024, 1, 1, 8, 0, tzinfo=TZ)
    data = {"meta": {"1": {"schema_version": SCHEMA_VERSION}}, "audit": {},
            "people": {str(i + 1): Person(f"p{i:05d}", t0).to_doc() for i in range(people)},
            "sessions": {}, "checkins": {}}
    for n in range(checkins // per_session):
        start = t0 + timedelta(days=n)
        data["sessions"][str(n + 1)] = Session(n + 1, f"s{n}", start, start + timedelta(hours=1)).to_doc()
        for k in range(per_session):
            doc = Checkin(n + 1, f"p{k:05d}", start + timedelta(seconds=k), 0.7, k).to_doc()
            data["checkins"][str(len(data["checkins"]) + 1)] = doc
    atomic_write(path, json.dumps(data).encode())


def test_large_log_opens_fast_and_checkins_stay_cheap(data):
    data.mkdir()
    write_big_log(data / "attendance.json")
    start = time.perf_counter()
    store = open_store(data)
    assert time.perf_counter() - start < 1.0
    assert store.counts(1).present == 500
    session = store.create_session("now", store.now())
    costs = []
    for i in range(30):
        begin = time.perf_counter()
        store.record_checkin(Checkin(session.id, f"p{i:05d}", store.now()))
        costs.append(time.perf_counter() - begin)
    assert statistics.median(costs) < 0.030
    store.add_audit(AuditEntry(store.now(), "t", "test"))
    store.close()
    assert len(raw_log(data)["checkins"]) == 20030


def test_erase_checkins_removes_a_person_from_every_session(tmp_path):
    from datetime import datetime, timezone

    from faceattend_tui.attendance import Checkin, open_store

    store = open_store(tmp_path)
    when = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    first = store.create_session("Mon", when)
    second = store.create_session("Tue", when)
    for sid in (first.id, second.id):
        store.record_checkin(Checkin(sid, "Ann", when))
        store.record_checkin(Checkin(sid, "Bob", when))
    assert store.erase_checkins("Ann") == 2
    assert store.counts(first.id).present == 1
    store.close()
    store = open_store(tmp_path)
    assert [c.person for c in store.checkins(first.id)] == ["Bob"]
    assert not store.has_checkin(second.id, "Ann")
    store.close()


def test_sync_people_adds_thousands_in_one_write_and_updates_counts(tmp_path):
    import time

    from faceattend_tui.attendance import open_store

    enrolled = {f"P{i:04d}": 1 for i in range(3000)}
    with open_store(tmp_path) as store:
        start = time.perf_counter()
        added, removed = store.sync_people(enrolled)
        assert (len(added), removed) == (3000, [])
        assert time.perf_counter() - start < 5.0  # one pass: a search per name would take minutes
        store.delete_person("P0001")
        enrolled["P0002"] = 4
        assert store.sync_people(enrolled) == ([], [])
    with open_store(tmp_path) as store:
        assert len(store.roster()) == 3000
        assert store.get_person("P0002").images == 4 and not store.get_person("P0001").deleted
