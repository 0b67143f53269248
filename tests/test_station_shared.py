"""Two doors, one PostgreSQL log: shared check-ins, sessions and templates, and a database that goes away."""

from __future__ import annotations

import dataclasses
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from fakes import FakeWorker, enroll_fake_people

from faceattend_tui.attendance import open_store
from faceattend_tui.config import load_settings
from faceattend_tui.live.events import CaptureSample, Reload, SetSession
from faceattend_tui.station import CheckinShown, EnrollTarget, LiveChanged, Problem, Station, StationError

PATIENCE = 20.0  # seconds an update from the other door may take here at most (a bound, not a target)


def open_door(root, url, name, people=("Ann", "Bob", "Cleo"), **more) -> Station:
    root.mkdir()
    enroll_fake_people(root, list(people))
    settings = load_settings(root, {"database": url, "database_wait": 2.0})
    door = Station(settings, "demo", worker_factory=FakeWorker, user="staff", name=name, **more)
    door.open()
    return door


@pytest.fixture
def doors(tmp_path, pg_url):
    made = [open_door(tmp_path / "a", pg_url, "north"), open_door(tmp_path / "b", pg_url, "south")]
    yield made
    for door in made:
        door.close()


def wait_for(door: Station, wanted, what: str) -> list:
    """Poll a door until one of its updates is what the test waits for; all updates so far are returned."""
    seen = []
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        seen += door.poll(timeout=0.05)
        if any(wanted(u) for u in seen):
            return seen
    raise AssertionError(f"{door.name} never showed {what}; it showed {seen}")


def eventually(door: Station, condition, what: str) -> None:
    """Poll a door until the condition holds."""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        door.poll(timeout=0.05)
        if condition():
            return
    raise AssertionError(f"{door.name}: never {what}")


def rows(url: str, sql: str) -> list:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def test_a_checkin_at_one_door_shows_at_the_other_with_its_station(doors):
    north, south = doors
    north.start_session("Assembly")
    wait_for(south, lambda u: isinstance(u, LiveChanged) and "Assembly" in u.notice, "the session")
    assert south.active.name == "Assembly"
    assert [c.name for c in south.worker.sent if isinstance(c, SetSession)][-1] == "Assembly"  # the door shows it
    north.worker.checkin("Ann")
    assert [type(u) for u in north.poll(0.05)] == [CheckinShown]
    updates = wait_for(south, lambda u: isinstance(u, CheckinShown), "Ann's check-in")
    (shown,) = [u for u in updates if isinstance(u, CheckinShown)]
    assert (shown.row.name, shown.row.status, shown.station) == ("Ann", "present", "north")
    assert south.counts().present == 1


def test_two_doors_seeing_one_person_at_once_record_one_checkin(doors, pg_url):
    north, south = doors
    north.start_session("Assembly")
    wait_for(south, lambda u: isinstance(u, LiveChanged) and "Assembly" in u.notice, "the session")
    moment = time.time()
    north.worker.checkin("Bob", when=moment)
    south.worker.checkin("Bob", when=moment)
    (first,), (second,) = ([u for u in door.poll(0.05) if isinstance(u, CheckinShown) and not u.station]
                           for door in doors)
    assert sorted([first.new, second.new]) == [False, True]  # the other door shows them as already present
    assert rows(pg_url, "select count(*) from checkins")[0][0] == 1
    assert north.counts().present == south.counts().present == 1


def test_a_second_session_elsewhere_is_refused_while_one_runs(doors):
    north, south = doors
    north.start_session("Assembly")
    with pytest.raises(StationError, match="another station has started a session"):
        south.start_session("Maths")


def ready_with_a_sample(doors) -> CaptureSample:
    """Both doors' workers ready; a captured sample of one face."""
    for door in doors:
        door.worker.ready()
        door.poll(0.05)
    return CaptureSample(photo_jpeg=b"\xff\xd8jpeg", embedding=_unit(7), size=120, sharpness=200.0,
                         frontality=0.9, quality=0.9)


def test_someone_enrolled_at_one_door_is_recognised_at_the_other(doors, tmp_path):
    north, south = doors
    sample = ready_with_a_sample(doors)
    person, _ = north.save_enrollment(EnrollTarget(name="Dara"), (sample,))
    wait_for(south, lambda u: south.person(person.id) is not None and Reload() in south.worker.sent, "Dara")
    assert (tmp_path / "b" / "database_tensor" / f"{person.folder}.npy").is_file()
    south.sync_roster()  # what the worker's next "gallery loaded" does
    assert south.person(person.id).images == 1


@pytest.mark.parametrize("meanwhile", ["erased", "added"])
def test_samples_whose_person_changed_at_another_door_before_save_are_refused_not_given_to_another(doors, pg_url,
                                                                                                meanwhile):
    """North's dialog said "adds samples to Cleo (her id)"; south erased her before Save: north added a new
    Cleo with her face, undoing the erasure. Or it said "new person Dara", and south enrolled a Dara first:
    the samples went to south's Dara."""
    north, south = doors
    sample = ready_with_a_sample(doors)
    typed = EnrollTarget(name="Cleo" if meanwhile == "erased" else "Dara")
    said = north.describe_enrollee(typed)
    if meanwhile == "erased":
        south.remove_person(said.person_id, erase=True)
    else:
        south.save_enrollment(EnrollTarget(name="Dara"), (sample,))  # the same face: nothing looked amiss
    eventually(north, lambda: north.describe_enrollee(typed).person_id != said.person_id, "heard of it")
    people_before = rows(pg_url, "select id, name from people order by id")
    with pytest.raises(StationError, match="the roster changed meanwhile"):
        north.save_enrollment(dataclasses.replace(typed, meant=said.person_id), (sample,))
    assert rows(pg_url, "select id, name from people order by id") == people_before


def test_an_erasure_at_one_door_takes_the_person_off_the_other_doors_display_counts(doors):
    """South erased Cleo after north checked her in: north's door display still said 1 of 3 here until the
    next arrival."""
    north, south = doors
    north.start_session("Assembly")
    eventually(south, lambda: south.active is not None, "south heard of the session")
    cleo = next(p for p in north.people() if p.name == "Cleo")
    north.worker.checkin("Cleo")
    north.poll(0.05)
    south.remove_person(cleo.id, erase=True)
    eventually(north, lambda: north.counts().present == 0, "heard of the erasure")
    door = [c for c in north.worker.sent if isinstance(c, SetSession)][-1]
    assert (door.present, door.expected) == (0, 2)


def test_a_door_back_from_a_lost_connection_takes_the_template_changes_it_missed(doors, monkeypatch):
    """An erasure made while this door was cut off: its templates must go here too once it is back."""
    from faceattend_tui.attendance.store import Change

    north, south = doors
    synced = []
    monkeypatch.setattr(south, "share_gallery", lambda: synced.append(1) or True)
    south._changes([Change("all")])  # what the listener says after it reconnects
    assert synced == [1] and Reload() in south.worker.sent


def test_a_door_that_reads_the_timetable_in_another_zone_is_warned(tmp_path, pg_url, machine_zone):
    """A door without a timezone on a machine set to UTC opened New York's 08:00 lesson at 04:00."""
    from datetime import time as clock_time

    from faceattend_tui.attendance.timetable import Slot, save_slots

    machine_zone("UTC")  # the machines' own
    north = open_door(tmp_path / "a", pg_url, "north")
    try:
        north.settings = dataclasses.replace(north.settings, timezone="America/New_York")
        save_slots(north.store, [Slot("Maths", None, 1, clock_time(8), clock_time(9))])
        assert north.zone_notice() == ""  # the only door so far
        south = open_door(tmp_path / "b", pg_url, "south")
        try:
            said = south.zone_notice()  # no timezone: its machine's
            assert "door 'north' reads the timetable in America/New_York (UTC-0" in said
            assert "this one in its machine's zone" in said and "set the same timezone" in said
            south.settings = dataclasses.replace(south.settings, timezone="America/New_York")
            assert south.zone_notice() == "" and north.zone_notice() == ""  # set alike: nothing to say
            north.settings = dataclasses.replace(north.settings, timezone="Europe/London")  # UTC in winter only
            south.settings = dataclasses.replace(south.settings, timezone="")
            assert "door 'south' reads the timetable in America/New_York" in north.zone_notice()  # its last note
            assert "Europe/London (UTC+00:00 in January, UTC+01:00 in July)" in south.zone_notice()
            machine_zone("Europe/London")  # a machine on London's own rules, with no setting: the same hours
            assert south.zone_notice() == "" and north.zone_notice() == ""
        finally:
            south.close()
    finally:
        north.close()


def test_a_stop_another_door_made_a_moment_before_is_said_here_and_the_door_display_cleared(doors, monkeypatch):
    """South's own stop lost the race: its door display went on naming the session, and a stop of a session
    left running, or by the timetable, said nothing at all."""
    from faceattend_tui.live.events import SetSession
    from faceattend_tui.station import StoppedElsewhere, leftovers

    north, south = doors
    for attempt in ("by hand", "left running"):
        north.start_session("Maths")
        wait_for(south, lambda u: isinstance(u, LiveChanged) and "'Maths' was started" in u.notice, "the start")
        north.stop_session()  # south has not heard yet
        if attempt == "by hand":
            with pytest.raises(StoppedElsewhere, match="stopped at another station a moment ago"):
                south.stop_session(session_id=south.active.id)
        else:
            monkeypatch.setattr(leftovers, "left_running", lambda *args, **kwargs: True)
            assert south.stop_left_running() == ""
        wait_for(south, lambda u: isinstance(u, LiveChanged) and "'Maths' was stopped at another" in u.notice,
                 "the stop said")
        assert [c.name for c in south.worker.sent if isinstance(c, SetSession)][-1] == "" and south.active is None


def test_a_headless_door_says_which_session_left_running_another_door_stopped_first(doors, monkeypatch):
    import io
    import json

    from faceattend_tui.cli import headless
    from faceattend_tui.cli.headless import HeadlessOptions, run_headless

    north, south = doors
    maths = north.start_session("Maths")
    wait_for(south, lambda u: isinstance(u, LiveChanged) and "'Maths' was started" in u.notice, "the start")
    north.stop_session()  # south has not heard yet; to it, Maths was left running since an earlier day
    monkeypatch.setattr(headless, "left_running", lambda *args, **kwargs: True)
    out = io.StringIO()
    run_headless(south, HeadlessOptions("Maths", json=True, max_seconds=0.3), out)
    first, then = (json.loads(line) for line in out.getvalue().splitlines()[:2])
    assert (first["state"], first["id"], first["name"]) == ("stopped-elsewhere", maths.id, "Maths")
    assert (then["state"], then["name"]) == ("started", "Maths") and then["id"] != maths.id


def test_a_door_whose_clock_disagrees_with_the_database_is_warned(doors, monkeypatch):
    north, _ = doors
    assert abs(north.store.clock_skew()) < 5 and north.clock_notice() == ""  # one machine, one clock
    monkeypatch.setattr(north.store, "clock_skew", lambda: -900.0)
    assert "clock is 15.0 minutes behind the database's" in north.clock_notice()


@pytest.mark.slow
def test_the_database_going_away_loses_nothing(doors, pg_url, pg_server):
    north, south = doors
    north.start_session("Assembly")
    wait_for(south, lambda u: isinstance(u, LiveChanged) and "Assembly" in u.notice, "the session")
    pg_server.stop()
    for name in ("Ann", "Bob"):
        north.worker.checkin(name)
    updates = north.poll(0.05)
    assert [u.row.name for u in updates if isinstance(u, CheckinShown)] == ["Ann", "Bob"]  # still recognised
    eventually(north, lambda: north.live.database == "database offline, 2 waiting", "said it was offline")
    pg_server.start()
    eventually(north, lambda: north.live.database == "database online", "came back online")
    assert rows(pg_url, "select p.name from checkins c join people p on p.id = c.person_id order by c.time") == [
        ("Ann",), ("Bob",)]
    wait_for(south, lambda u: isinstance(u, CheckinShown) and u.row.name == "Bob", "Bob from north")


@pytest.mark.slow
def test_a_frozen_database_does_not_hold_the_door_forever(tmp_path, pg_url, pg_server, monkeypatch):
    """A server that keeps the connection but never answers (stopped, or its network gone quiet)."""
    from faceattend_tui.attendance.pg import connection

    monkeypatch.setattr(connection, "ANSWER_TIMEOUT", 2.0, raising=False)
    north = open_door(tmp_path / "a", pg_url, "north")
    try:
        north.start_session("Assembly")
        pg_server.freeze()
        pool = ThreadPoolExecutor(1)  # on a door that waits forever, the test fails rather than hangs
        try:
            with pytest.raises(StationError, match="cannot be reached: no answer within"):
                pool.submit(north.stop_session).result(timeout=15)
            north.worker.checkin("Ann")  # the door goes on recognising: the check-in waits here
            assert [u.row.name for u in north.poll(0.05) if isinstance(u, CheckinShown)] == ["Ann"]
        finally:
            pg_server.thaw()
            pool.shutdown()
        eventually(north, lambda: north.live.database == "database online", "came back online")
        assert north.stop_session().name == "Assembly"
    finally:
        north.close()
    assert rows(pg_url, "select count(*) from checkins") == [(1,)]


@pytest.mark.slow
def test_waiting_checkins_survive_a_restart_of_the_station(tmp_path, pg_url, pg_server):
    north = open_door(tmp_path / "a", pg_url, "north")
    north.start_session("Assembly")
    pg_server.stop()
    north.worker.checkin("Cleo")
    north.poll(0.05)
    north.close()
    assert (tmp_path / "a" / "attendance.pg-journal").is_file()
    pg_server.start()
    north = Station(north.settings, "demo", worker_factory=FakeWorker, user="staff", name="north")
    north.open()
    try:
        eventually(north, lambda: rows(pg_url, "select count(*) from checkins")[0][0] == 1, "sent Cleo")
        north.worker.checkin("Cleo")
        assert [u.new for u in north.poll(0.05)] == [False]
    finally:
        north.close()
    assert not (tmp_path / "a" / "attendance.pg-journal").exists()


@pytest.mark.slow
def test_work_mode_sightings_while_the_database_is_away_are_kept_and_sent(tmp_path, pg_url, pg_server):
    """In work mode a day's sightings are the record: kept in the local journal like check-ins."""
    root = tmp_path / "a"
    root.mkdir()
    enroll_fake_people(root, ["Ann", "Bob", "Cleo"])
    settings = load_settings(root, {"database": pg_url, "database_wait": 2.0, "mode": "work"})
    north = Station(settings, "demo", worker_factory=FakeWorker, user="staff", name="north")
    north.open()
    north.start_session("Day")
    pg_server.stop()
    north.worker.checkin("Cleo")
    updates = north.poll(0.05)
    assert [u.row.name for u in updates if isinstance(u, CheckinShown)] == ["Cleo"]  # shown, not "could not"
    north.close()  # the database is still away: everything waits in the journal
    assert (root / "attendance.pg-journal").is_file()
    pg_server.start()
    north = Station(settings, "demo", worker_factory=FakeWorker, user="staff", name="north")
    north.open()
    try:
        eventually(north, lambda: rows(pg_url, "select count(*) from presence")[0][0] == 1, "sent Cleo's sighting")
        assert rows(pg_url, "select p.name from checkins c join people p on p.id = c.person_id") == [("Cleo",)]
    finally:
        north.close()


@pytest.mark.slow
def test_a_door_that_starts_before_its_database_waits_for_it(tmp_path, pg_url, pg_server, capsys):
    from faceattend_tui.cli import open_station
    from faceattend_tui.station import DatabaseUnreachable

    open_door(tmp_path / "a", pg_url, "north").close()  # the schema exists; then the server goes down
    pg_server.stop()
    settings = load_settings(tmp_path / "a", {"database": pg_url, "database_retry_max": 1.0})
    door = Station(settings, "demo", worker_factory=FakeWorker, user="staff", name="north")
    with pytest.raises(DatabaseUnreachable):
        open_station(door, max_seconds=1.5)  # a headless door gives up at its --max-seconds
    assert "trying again in 1 s" in capsys.readouterr().err
    threading.Timer(2.0, pg_server.start).start()
    open_station(door)
    try:
        assert door.live.database == "database online" and door.worker is not None
        assert "cannot reach the database" in capsys.readouterr().err
    finally:
        door.close()


def test_a_second_door_with_the_same_name_is_warned(tmp_path, pg_url):
    north = open_door(tmp_path / "a", pg_url, "north")
    south = open_door(tmp_path / "b", pg_url, "south")
    again = open_door(tmp_path / "c", pg_url, "north")
    try:
        assert north.namesake_notice() == "" and south.namesake_notice() == ""  # its own connections do not count
        assert "another station named 'north'" in again.namesake_notice()
    finally:
        for door in (north, south, again):
            door.close()


def test_a_newer_schema_is_refused_with_the_url_masked(tmp_path, pg_url):
    open_store(tmp_path, database=pg_url, upgrade_mode="auto").close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("insert into schema_version (version) values (99)")
    settings = load_settings(tmp_path, {"database": pg_url.replace("postgres@", "postgres:secret@")})
    door = Station(settings, "demo", worker_factory=FakeWorker, user="staff", name="north")
    with pytest.raises(StationError, match="schema version 99, newer") as raised:
        door.open()
    assert "secret" not in str(raised.value) and "postgres:***@" in str(raised.value)


def test_an_upgrade_is_refused_while_a_station_of_another_version_is_connected(tmp_path, pg_url):
    with psycopg.connect(pg_url, autocommit=True, application_name="faceattend schema 0 east") as old_station:
        with pytest.raises(Exception, match="east"):
            open_store(tmp_path, database=pg_url, upgrade_mode="auto")
        assert old_station.execute("select to_regclass('people')").fetchone() == (None,)


def _unit(seed: int):
    import numpy as np

    row = np.random.default_rng(seed).standard_normal(512).astype(np.float32)
    return row / np.linalg.norm(row)



def test_a_door_that_joins_with_old_photos_of_someone_erased_does_not_bring_them_back(doors, tmp_path, pg_url):
    north, _ = doors
    cleo = next(p for p in north.people() if p.name == "Cleo")
    north.remove_person(cleo.id, erase=True)
    late = open_door(tmp_path / "c", pg_url, "side-door")  # a copy made before: Cleo's photos and templates
    try:
        assert cleo.folder not in {p.folder for p in late.people()}
        assert not (tmp_path / "c" / "database_tensor" / f"{cleo.folder}.npy").exists()
        assert rows(pg_url, f"select count(*) from template_sets where folder = '{cleo.folder}'") == [(0,)]
        said = [getattr(u, "notice", "") for u in late.poll(timeout=0.05)]
        assert any("of 1 erased person: deleted" in line for line in said)
        assert not any("Cleo" in line for line in said)  # the folder, named after her, is not named
    finally:
        late.close()


def test_photos_of_someone_erased_put_back_are_not_taken_in_again_unasked(tmp_path):
    from faceattend_tui.attendance import Attendance, open_store

    with open_store(tmp_path) as store:
        att = Attendance(store)
        att.add_person("Ann", person_id="S3", folder="S3")
        att.remove_person("S3", erase=True)
        result = att.sync_people({"S3": 2})  # the folder put back from a backup
        assert result.refused == ["S3"] and att.people() == []
        att.add_person("Ann", person_id="S3", folder="S3")  # enrolled again on purpose
        assert att.sync_people({"S3": 2}).refused == [] and att.person("S3").images == 2


@pytest.mark.slow
def test_a_checkin_journaled_because_the_database_answered_late_is_sent_when_the_station_closes(
        tmp_path, pg_url, monkeypatch):
    """Under load the database answered late, so the check-in waited in the local journal (and was shown);
    the station closed at once: it is sent then, not when the station starts again the next day."""
    north = open_door(tmp_path / "a", pg_url, "north")
    busy = threading.Event()
    try:
        north.start_session("Assembly")
        north.store._writer.submit(busy.wait, 30)  # the writer is still busy with an earlier answer
        monkeypatch.setattr(north.store, "wait", 0.2)
        north.worker.checkin("Cleo")
        assert [u.row.name for u in north.poll(0.05) if isinstance(u, CheckinShown)] == ["Cleo"]
    finally:
        north.close()  # before the courier's next round
        busy.set()
    assert rows(pg_url, "select count(*) from checkins") == [(1,)]
    assert not (tmp_path / "a" / "attendance.pg-journal").exists()


def hold_the_journal(store, monkeypatch, busy, sending) -> None:
    """The door's writer busy until `busy` is set and its courier held until `sending` is: a check-in goes
    to the journal and stays there (until the station closes)."""
    from faceattend_tui.attendance import StoreError

    send = store._send_waiting

    def held(outbox, wait=-1):
        if not sending.is_set():
            raise StoreError("held by the test")
        return send(outbox, wait)

    store._writer.submit(busy.wait, 30)
    monkeypatch.setattr(store, "wait", 0.2)
    monkeypatch.setattr(store, "_send_waiting", held)


def let_go(busy, *doors: Station) -> None:
    """The held writer let go, then the doors closed."""
    busy.set()
    for door in doors:
        door.close()


def kept_after_the_stop(tmp_path, pg_url, monkeypatch, busy, sending) -> tuple[Station, Station]:
    """North's link too slow to hear of anything while south stops Assembly; three minutes on (further than two
    doors' clocks may be apart) north sees Cleo: she waits in its journal, for a session no longer running."""
    from datetime import datetime

    from fakes import FakeClock

    clock = FakeClock(datetime.now().astimezone())
    north = open_door(tmp_path / "a", pg_url, "north", clock=clock)
    south = open_door(tmp_path / "b", pg_url, "south", clock=clock)
    north.start_session("Assembly")
    eventually(south, lambda: south.active is not None, "south heard of the session")
    hold_the_journal(north.store, monkeypatch, busy, sending)
    monkeypatch.setattr(north.store, "changes", list)
    south.stop_session()
    clock.advance(minutes=3)
    north.worker.checkin("Cleo", when=clock().timestamp())
    assert [u.row.name for u in north.poll(0.05) if isinstance(u, CheckinShown)] == ["Cleo"]
    return north, south


@pytest.mark.slow
def test_a_journaled_checkin_the_database_cannot_file_at_close_is_said_not_dropped(tmp_path, pg_url, monkeypatch):
    """Cleo waited in north's journal while south stopped the session: at north's close the database
    cannot file her (no session was running), and the staff are told whom to mark by hand."""
    busy, sending = threading.Event(), threading.Event()
    north, south = kept_after_the_stop(tmp_path, pg_url, monkeypatch, busy, sending)
    try:
        sending.set()
        monkeypatch.undo()
        with pytest.raises(StationError, match=r"1 check-in kept while the database was away could not be filed "
                                               r"as the station closed .*: Cleo \(\S+\) at \d\d:\d\d:\d\d; mark"):
            north.close()
    finally:
        let_go(busy, north, south)
    assert rows(pg_url, "select count(*) from checkins") == [(0,)]


@pytest.mark.slow
@pytest.mark.parametrize("sent", ["running", "at close"])
def test_a_journaled_checkin_no_session_takes_of_someone_erased_meanwhile_names_nobody(tmp_path, pg_url,
                                                                                     monkeypatch, sent):
    """As above, and south erased Cleo meanwhile: north named her id as "not filed" while running, or at its
    close told staff to mark her by hand, in station.log too."""
    busy, sending = threading.Event(), threading.Event()
    north, south = kept_after_the_stop(tmp_path, pg_url, monkeypatch, busy, sending)
    cleo = next(p for p in north.people() if p.name == "Cleo")
    said = []
    try:
        south.remove_person(cleo.id, erase=True)
        sending.set()
        monkeypatch.undo()
        if sent == "running":
            eventually(north, lambda: not (tmp_path / "a" / "attendance.pg-journal").exists(), "sent its journal")
            said = [str(u) for u in north.poll(0.05) + north.poll(0.5)]
        north.close()
    finally:
        let_go(busy, north, south)
    log = (tmp_path / "a" / "station.log").read_text(encoding="utf-8")
    assert not [line for line in [*said, *log.splitlines()] if cleo.id in line or "Cleo" in line]


@pytest.mark.slow
def test_a_journaled_checkin_of_someone_who_left_meanwhile_is_not_filed(tmp_path, pg_url, monkeypatch):
    """South marked Cleo as left while north, cut off, still recognised her: her check-in was filed on its
    return, after the day she left (a door online records nothing of someone who left)."""
    north = open_door(tmp_path / "a", pg_url, "north")
    south = open_door(tmp_path / "b", pg_url, "south")
    busy, sending = threading.Event(), threading.Event()
    try:
        north.start_session("Assembly")
        eventually(south, lambda: south.active is not None, "south heard of the session")
        cleo = next(p for p in north.people() if p.name == "Cleo")
        hold_the_journal(north.store, monkeypatch, busy, sending)
        monkeypatch.setattr(north.store, "changes", list)
        south.remove_person(cleo.id)
        north.worker.checkin("Cleo")
        assert [u.row.name for u in north.poll(0.05) if isinstance(u, CheckinShown)] == ["Cleo"]
        sending.set()
        monkeypatch.undo()
        eventually(north, lambda: not (tmp_path / "a" / "attendance.pg-journal").exists(), "sent its journal")
    finally:
        let_go(busy, north, south)
    assert rows(pg_url, "select count(*) from checkins") == [(0,)]


@pytest.mark.slow
def test_a_journaled_checkin_of_someone_erased_meanwhile_is_not_named_at_close(tmp_path, pg_url, monkeypatch,
                                                                              caplog):
    """Cleo waited in north's journal while south erased her: north's close named her id in its error and in
    station.log, and told staff to mark her by hand."""
    north = open_door(tmp_path / "a", pg_url, "north")
    south = open_door(tmp_path / "b", pg_url, "south")
    busy, sending = threading.Event(), threading.Event()
    try:
        north.start_session("Assembly")
        cleo = next(p for p in north.people() if p.name == "Cleo")
        hold_the_journal(north.store, monkeypatch, busy, sending)
        north.worker.checkin("Cleo")
        assert [u.row.name for u in north.poll(0.05) if isinstance(u, CheckinShown)] == ["Cleo"]
        south.remove_person(cleo.id, erase=True)
        sending.set()
        monkeypatch.undo()
        north.close()  # nothing to mark by hand: she is gone
    finally:
        let_go(busy, north, south)
    assert rows(pg_url, "select count(*) from checkins") == [(0,)]
    assert cleo.id not in caplog.text


def test_a_checkin_of_someone_erased_at_another_door_a_moment_ago_is_dropped_unnamed(tmp_path, pg_url, monkeypatch,
                                                                                      caplog):
    """North still recognised Cleo (it had not yet read south's erasure): its write failed on the missing
    person and was said as a disk error naming her, kept to retry, and a headless door exited 1."""
    north = open_door(tmp_path / "a", pg_url, "north")
    south = open_door(tmp_path / "b", pg_url, "south")
    try:
        north.start_session("Assembly")
        cleo = next(p for p in north.people() if p.name == "Cleo")
        south.remove_person(cleo.id, erase=True)
        monkeypatch.setattr(north.store, "changes", list)  # north has not read the erasure yet
        north.worker.checkin("Cleo")
        updates = north.poll(0.05)
        assert not [u for u in updates if isinstance(u, (CheckinShown, Problem))], updates
        assert north.unsaved_left() == []  # nothing kept to retry
    finally:
        north.close()
        south.close()
    assert rows(pg_url, "select count(*) from checkins") == [(0,)]
    assert cleo.id not in caplog.text and "Cleo" not in caplog.text


def test_identify_at_a_door_that_was_off_during_an_erasure_deletes_the_photos_too(tmp_path, pg_url):
    """`identify` (or `extract`) run first at such a door deleted the templates only: the station then saw
    photos without templates and only asked staff to delete them, so they stayed for good."""
    from faceattend_tui.cli.watch import drop_erased

    north = open_door(tmp_path / "a", pg_url, "north")
    south = open_door(tmp_path / "b", pg_url, "south")
    photos = tmp_path / "a" / "database_image" / "Cleo"
    photos.mkdir(parents=True)
    (photos / "1.jpg").write_bytes(b"a photo of Cleo")
    cleo = next(p for p in north.people() if p.name == "Cleo")
    north.close()
    try:
        south.remove_person(cleo.id, erase=True)
    finally:
        south.close()
    said: list[str] = []
    drop_erased(load_settings(tmp_path / "a", {"database": pg_url}), said.append)
    assert said == ["warning: photos and templates left here of 1 erased person: deleted, never matched"]
    assert not photos.exists() and not (tmp_path / "a" / "database_tensor" / "Cleo.npy").exists()
    again = Station(load_settings(tmp_path / "a", {"database": pg_url, "database_wait": 2.0}), "demo",
                    worker_factory=FakeWorker, user="staff", name="north")
    again.open()
    try:
        assert not [u for u in again.poll(0.05) if "erased" in getattr(u, "notice", "")]
    finally:
        again.close()


def test_an_erasure_given_the_database_alone_and_cut_short_is_said_at_every_door(tmp_path, pg_url, monkeypatch,
                                                                                   capsys):
    """`people remove --erase --database URL` with no data folder, killed once the templates were gone and
    before the records: the person stayed with all their records, and no door said an erasure was cut short
    (the start suggested enrolling them again). The command also made the data folder it was given."""
    from faceattend_tui.attendance import Attendance
    from faceattend_tui.cli import main

    north = open_door(tmp_path / "a", pg_url, "north")
    cleo = next(p for p in north.people() if p.name == "Cleo")
    north.close()
    nowhere = tmp_path / "nowhere"

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # as a kill between the templates' commit and the records'

    monkeypatch.setattr(Attendance, "remove_person", killed)
    command = ["people", "remove", cleo.id, "--erase", "--exports", "--database", pg_url]
    assert main([*command, "--data", str(nowhere)]) == 130
    monkeypatch.undo()
    assert not nowhere.exists()
    capsys.readouterr()
    doctor = ["doctor", "--data", str(tmp_path / "a"), "--database", pg_url, "--cameras", "0"]
    assert main(doctor) == 1
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("erasure:")]
    assert f"CUT SHORT: the erasure of {cleo.id} begun " in line
    assert f"run `faceattend people remove {cleo.id} --erase --exports` to finish it" in line
    again = open_door(tmp_path / "b", pg_url, "south")
    try:
        assert any(f"the erasure of {cleo.id} begun" in notice for notice in again.start_notices())
    finally:
        again.close()
    main([*command, "--data", str(tmp_path / "a")])  # as told
    capsys.readouterr()
    main(doctor)
    assert "erasure:" not in capsys.readouterr().out
    assert rows(pg_url, f"select count(*) from people where id = '{cleo.id}'") == [(0,)]


def test_a_clock_put_right_at_one_door_does_not_call_another_doors_session_opened_while_the_clock_was_wrong(
        tmp_path, pg_url):
    """North, its clock 10 minutes ahead, started Maths; south's clock, 2 minutes slow, was put right: south told
    staff Maths was opened while the clock was wrong and to stop and void it, a real lesson."""
    from datetime import datetime, timedelta

    from fakes import FakeClock

    real = datetime(2026, 9, 7, 9, 0).astimezone()
    north_clock, south_clock, steady = FakeClock(real + timedelta(minutes=10)), FakeClock(real), [1000.0]
    north = open_door(tmp_path / "a", pg_url, "north", clock=north_clock)
    south = open_door(tmp_path / "b", pg_url, "south", clock=south_clock, steady=lambda: steady[0])
    try:
        north.start_session("Maths")
        eventually(south, lambda: south.active is not None, "heard of Maths")
        south_clock.advance(minutes=2)  # put right by NTP
        steady[0] += 5
        said = [u for u in south.poll(0.05) + south.poll(0.05) if isinstance(u, LiveChanged | Problem)]
        assert any("the clock jumped" in getattr(u, "notice", "") for u in said)
        assert not [u for u in said if isinstance(u, Problem) and "void" in u.message]
    finally:
        north.close()
        south.close()

