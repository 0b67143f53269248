"""The PostgreSQL log itself: a slow database, and the templates shared between data roots."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from datetime import datetime, timedelta, timezone

import numpy as np
import psycopg
import pytest
from fakes import FAKE_SHA, FakeClock, enroll_fake_people

from faceattend_tui.attendance import Attendance, open_store
from faceattend_tui.attendance.models import Checkin
from faceattend_tui.attendance.pg.outbox import as_the_database_has_it
from faceattend_tui.attendance.store import UNFILED, EndedElsewhere
from faceattend_tui.gallery.templates import load_manifest, read_rows
from faceattend_tui.station.shared_gallery import forget_folder, sync_gallery

PATIENCE = 20.0


def eventually(condition, what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"never {what}")


@pytest.fixture
def live(tmp_path, pg_url):
    store = open_store(tmp_path, database=pg_url, station="north", live=True, wait=0.2, upgrade_mode="auto")
    att = Attendance(store, station="north")
    for name in ("ann", "bob"):
        att.add_person(name.title(), person_id=name, folder=name)
    att.start_session("Assembly")
    yield att
    store.close()


def test_a_check_in_does_not_wait_for_a_locked_table(live, pg_url):
    with psycopg.connect(pg_url) as blocker:
        blocker.execute("lock table checkins in exclusive mode")
        result = live.check_in("ann", 0.8)  # returns although the database cannot take it now
        assert result.new and live.counts().present == 1
        assert live.store.state().waiting == 1 and not live.store.state().online
    eventually(lambda: live.store.state() == live.store.state().__class__(), "sent the waiting check-in")
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("select person_id, station from checkins").fetchall() == [("ann", "north")]


def test_only_other_stations_check_ins_are_news(live, pg_url, tmp_path):
    live.check_in("bob", 0.8)
    with open_store(tmp_path / "south", database=pg_url, station="south", live=True) as other:
        Attendance(other, station="south").check_in("ann", 0.7)
        seen = []
        eventually(lambda: seen.extend(live.store.changes()) or any(c.table == "checkins" for c in seen),
                   "heard of south's check-in")
    # notifications come in commit order: bob's (this station's own) came first and was not news
    assert [(c.checkin.person_id, c.checkin.station) for c in seen if c.table == "checkins"] == [("ann", "south")]


def test_a_check_in_made_elsewhere_before_this_door_listened_is_heard(pg_url, tmp_path, monkeypatch):
    """A door slow to start listening (a loaded machine) never heard of a check-in another door made
    between its reading the running session and its listening: its counts missed that person."""
    import threading

    from faceattend_tui.attendance.pg.store import PgStore

    may_listen, listen = threading.Event(), PgStore._listen
    monkeypatch.setattr(PgStore, "_listen", lambda self: may_listen.wait(10) and listen(self))
    store = open_store(tmp_path / "north", database=pg_url, station="north", live=True, upgrade_mode="auto")
    try:
        north = Attendance(store, station="north")
        for name in ("ann", "bob"):
            north.add_person(name.title(), person_id=name, folder=name)
        north.start_session("Assembly")
        north.check_in("bob", 0.8)  # the session is read here
        with open_store(tmp_path / "south", database=pg_url, station="south", live=True) as other:
            Attendance(other, station="south").check_in("ann", 0.7)
        may_listen.set()
        seen = []
        eventually(lambda: seen.extend(store.changes()) or any(c.table == "checkins" for c in seen),
                   "heard of south's check-in")
        assert [c.checkin.person_id for c in seen if c.table == "checkins"] == ["ann"]
    finally:
        store.close()


def test_a_new_door_fetching_the_others_templates_says_how_far_it_is(tmp_path, pg_url):
    """A new door at a large site fetched 20,000 people's templates for a minute on a blank terminal."""
    north, south = tmp_path / "north", tmp_path / "south"
    enroll_fake_people(north, ["ann", "bob", "cleo"])
    south.mkdir()
    with open_store(tmp_path, database=pg_url, upgrade_mode="auto") as store:
        sync_gallery(store, north / "database_tensor", "north")
        heard: list[tuple[int, int]] = []
        sync_gallery(store, south / "database_tensor", "south", progress=lambda *said: heard.append(said))
        assert heard[0][1] == 3 and heard[-1] == (3, 3)
        heard.clear()
        sync_gallery(store, south / "database_tensor", "south", progress=lambda *said: heard.append(said))
        assert heard == []  # nothing to fetch: nothing said


def test_templates_travel_between_data_roots(tmp_path, pg_url):
    north, south = tmp_path / "north", tmp_path / "south"
    enroll_fake_people(north, ["ann", "bob"])
    south.mkdir()
    with open_store(tmp_path, database=pg_url, upgrade_mode="auto") as store:
        sent = sync_gallery(store, north / "database_tensor", "north")
        assert sorted(sent.pushed) == ["ann", "bob"] and not sent.pulled
        came = sync_gallery(store, south / "database_tensor", "south")
        assert sorted(came.pulled) == ["ann", "bob"]
        for name in ("ann", "bob"):
            assert np.array_equal(read_rows(north / "database_tensor" / f"{name}.npy", 512),
                                  read_rows(south / "database_tensor" / f"{name}.npy", 512))
        assert load_manifest(south / "database_tensor").recognizer.sha256 == FAKE_SHA
        assert sync_gallery(store, north / "database_tensor", "north").pushed == []  # nothing changed since
        (south / "database_image" / "bob").mkdir(parents=True)  # photos taken at south too
        (south / "database_image" / "bob" / "camera-1.jpg").write_bytes(b"\xff\xd8")
        bob = Attendance(store).add_person("Bob", folder="bob")
        forget_folder(store, north / "database_tensor", "bob")  # bob was removed at north
        Attendance(store).remove_person(bob.id)
        gone = sync_gallery(store, south / "database_tensor", "south")
        assert gone.pulled == ["bob"] and "bob" not in load_manifest(south / "database_tensor").people
        assert not (south / "database_image" / "bob").exists()


def test_a_door_keeps_the_photos_of_people_a_database_restored_from_an_older_copy_never_heard_of(tmp_path,
                                                                                                 pg_url):
    """A door started on a database restored from last night's dump (or an empty one) deleted the photos
    and templates of everyone enrolled since, unsaid: photos taken at the door are nowhere else."""
    door = tmp_path / "door"
    enroll_fake_people(door, ["ann", "eve"])
    (door / "database_image" / "eve").mkdir(parents=True, exist_ok=True)
    (door / "database_image" / "eve" / "camera-1.jpg").write_bytes(b"\xff\xd8")
    with open_store(tmp_path, database=pg_url, upgrade_mode="auto") as store:
        Attendance(store).add_person("Ann", folder="ann")
        Attendance(store).add_person("Eve", folder="eve")
        sync_gallery(store, door / "database_tensor", "door")
    with psycopg.connect(pg_url) as conn:  # the dump was taken before Eve came
        conn.execute("delete from template_sets where folder = 'eve'")
        conn.execute("delete from people where folder = 'eve'")
    with open_store(tmp_path, database=pg_url) as store:
        outcome = sync_gallery(store, door / "database_tensor", "door")
        assert outcome.notes == ["the database knows nobody of 1 photo folder shared before (eve): restored from "
                                 "an older copy, or another database? Their photos and templates are kept here"]
        Attendance(store).sync_people({"eve": 1})  # the station then takes the folder in, as a new person
        again = sync_gallery(store, door / "database_tensor", "door")  # deleted them, one sync later
        assert again.pushed == ["eve"] and again.notes == []
    assert (door / "database_image" / "eve" / "camera-1.jpg").exists()
    assert "eve" in load_manifest(door / "database_tensor").people and (door / "database_tensor" / "eve.npy").exists()


def test_a_template_file_swapped_by_hand_is_not_sent_to_the_other_doors(tmp_path, pg_url):
    north = tmp_path / "north"
    enroll_fake_people(north, ["ann", "bob"])
    tensors = north / "database_tensor"
    (tensors / "ann.npy").write_bytes((tensors / "bob.npy").read_bytes())
    with open_store(tmp_path, database=pg_url, upgrade_mode="auto") as store:
        outcome = sync_gallery(store, tensors, "north")
        assert outcome.pushed == ["bob"]
        assert any("ann.npy" in note and "ann not shared" in note for note in outcome.notes)
        assert sorted(store.template_sets()) == ["bob"]


def test_templates_of_another_recogniser_are_not_mixed_in(tmp_path, pg_url):
    north, south = tmp_path / "north", tmp_path / "south"
    enroll_fake_people(north, ["ann"])
    enroll_fake_people(south, ["bob"])
    manifest = (south / "database_tensor" / "manifest.json")
    manifest.write_text(manifest.read_text().replace(FAKE_SHA, "1" * 64))
    with open_store(tmp_path, database=pg_url, upgrade_mode="auto") as store:
        sync_gallery(store, north / "database_tensor", "north")
        outcome = sync_gallery(store, south / "database_tensor", "south")
    assert "ann" not in load_manifest(south / "database_tensor").people
    assert any(note.startswith("ann: the database's templates were made by ") and "(at north)" in note
               and "the door with their photos runs `faceattend extract`" in note for note in outcome.notes)


@contextlib.contextmanager
def ann_and_old(tmp_path, pg_url):
    """A shared log with Ann and 'Old', a session of 10 minutes that has ended, on a clock the test moves."""
    clock = FakeClock()
    with open_store(tmp_path, database=pg_url, clock=clock, upgrade_mode="auto") as store:
        att = Attendance(store)
        att.add_person("Ann", person_id="ann", folder="ann")
        att.start_session("Old")
        clock.advance(minutes=10)
        yield att, clock, att.stop_session()


def test_a_check_in_kept_offline_is_filed_as_the_database_stands_when_it_is_sent(tmp_path, pg_url):
    """While this door was cut off, another stopped 'Old' and started 'New' (late after 1 minute):
    Ann's arrival after Old's end goes to New, late by New's deadline."""
    with ann_and_old(tmp_path, pg_url) as (att, clock, old):
        new = att.start_session("New", late_after_minutes=1)
        with psycopg.connect(pg_url) as conn:
            early = Checkin(old.id, "ann", old.started_at + timedelta(minutes=5), 0.8, late=True)
            assert as_the_database_has_it(conn, early) == dataclasses.replace(early, late=False)  # in Old, in time
            after = Checkin(old.id, "ann", new.started_at + timedelta(minutes=3), 0.8)
            assert as_the_database_has_it(conn, after) == dataclasses.replace(after, session_id=new.id, late=True)
        att.stop_session()
        with psycopg.connect(pg_url) as conn:
            gone = Checkin(old.id, "ann", clock.now + timedelta(minutes=5), 0.8)
            assert as_the_database_has_it(conn, gone) is None  # no session was running then


def test_a_check_in_kept_offline_is_filed_by_its_time_within_how_far_the_doors_clocks_may_be_apart(tmp_path,
                                                                                                    pg_url):
    """This door's clock 1 minute off the one that started and stopped the sessions: Ann, seen during Old by a
    clock ahead, was said to come after its end; seen as Physics began by a clock behind, she was dropped
    without a word."""
    with ann_and_old(tmp_path, pg_url) as (att, clock, old):
        ended = old.ended_at
        clock.advance(minutes=30)
        physics = att.start_session("Physics")
        with psycopg.connect(pg_url) as conn:
            ahead = Checkin(old.id, "ann", ended + timedelta(minutes=1), 0.8)
            assert as_the_database_has_it(conn, ahead).session_id == old.id
            behind = Checkin(UNFILED, "ann", physics.started_at - timedelta(minutes=1), 0.8)
            assert as_the_database_has_it(conn, behind).session_id == physics.id
            assert as_the_database_has_it(conn, dataclasses.replace(ahead, time=ended + timedelta(minutes=3))) is None


def test_a_session_stopped_twice_keeps_the_first_stop(tmp_path, pg_url):
    """Two doors stop one session a moment apart: it ended when the first did."""
    from datetime import timedelta

    from fakes import FakeClock

    clock = FakeClock()
    with open_store(tmp_path, database=pg_url, clock=clock, upgrade_mode="auto") as store:
        session = Attendance(store).start_session("Race")
        first = store.end_session(session.id, clock.now + timedelta(minutes=5))
        with pytest.raises(EndedElsewhere, match="'Race' was stopped at another station"):
            store.end_session(session.id, clock.now + timedelta(minutes=9))
        assert store.session(session.id).ended_at == first.ended_at == clock.now + timedelta(minutes=5)


def test_doors_closing_one_slot_at_once_audit_and_write_its_sheet_once(tmp_path, pg_url):
    """Three doors closed the timetable's Maths a second apart: three stops audited, three sheets."""
    from fakes import FakeClock

    from faceattend_tui.attendance.timetable import read_slots, save_slots, step

    clock = FakeClock(datetime(2026, 9, 7, 8, 0, 5, tzinfo=timezone.utc))  # a Monday
    north = open_store(tmp_path / "n", database=pg_url, clock=clock, upgrade_mode="auto")
    south = open_store(tmp_path / "s", database=pg_url, clock=clock, upgrade_mode="auto")
    try:
        here, there = Attendance(north, station="north"), Attendance(south, station="south")
        save_slots(north, read_slots("name,group,weekday,start,end,late_after\nMaths,,Mon,08:00,09:00,\n"))
        assert step(here, clock(), timezone.utc).startswith("the timetable opened")
        there.refresh()
        clock.advance(minutes=60)
        assert step(here, clock(), timezone.utc) == "the timetable closed 'Maths' at 09:00"
        assert step(there, clock(), timezone.utc) == ""  # it had not heard yet: nothing written, nothing said
        there.refresh()  # as it hears of north's stop
        assert there.active is None
        assert [e.action for e in north.audit_log()].count("session.stop") == 1
    finally:
        north.close()
        south.close()


def test_a_later_sighting_from_another_door_moves_the_last_seen_of_the_earlier_arrival(tmp_path, pg_url):
    from datetime import timedelta

    from fakes import FakeClock

    from faceattend_tui.attendance.models import Checkin
    from faceattend_tui.attendance.pg.rows import insert_checkin

    clock = FakeClock()
    with open_store(tmp_path, database=pg_url, clock=clock, upgrade_mode="auto") as store:
        att = Attendance(store)
        att.add_person("Ann", person_id="ann", folder="ann")
        session = att.start_session("Assembly")
    start = session.started_at
    with psycopg.connect(pg_url) as conn:
        assert insert_checkin(conn, Checkin(session.id, "ann", start + timedelta(minutes=1), 0.8, station="north"))
        later = Checkin(session.id, "ann", start + timedelta(minutes=5), 0.8, station="south",
                        last_seen=start + timedelta(minutes=6))
        assert not insert_checkin(conn, later)  # the earlier arrival stays
        row = conn.execute("select time, station, last_seen from checkins").fetchone()
    assert row == (start + timedelta(minutes=1), "north", start + timedelta(minutes=6))


def test_a_journaled_check_in_whose_slow_write_landed_after_all_is_sent_once_and_unblocks_the_rest(
        live, pg_url, tmp_path):
    """The write timed out and went to the journal, yet landed in the database later, where its session
    had ended meanwhile: the journal's copy, filed into the session running now, met its own id. It is
    stored already: the door goes online and the check-ins after it are sent."""
    from faceattend_tui.attendance.models import Checkin
    from faceattend_tui.attendance.pg.rows import insert_checkin

    assembly = live.active
    with open_store(tmp_path / "office", database=pg_url, station="office") as office_store:
        office = Attendance(office_store, station="office")
        office.refresh()
        office.stop_session()
        office.start_session("Physics")
    landed = Checkin(assembly.id, "ann", live.store.now(), 0.8, station="north")
    with psycopg.connect(pg_url) as conn:
        insert_checkin(conn, landed)  # the slow write, after Assembly ended
    live.store.outbox.add(landed.to_doc())  # its journal copy, same id
    live.store.outbox.add(Checkin(assembly.id, "bob", live.store.now(), 0.7, station="north").to_doc())
    eventually(lambda: live.store.state().waiting == 0 and live.store.state().online, "sent the journal")
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("select c.person_id, s.name from checkins c join sessions s on s.id = c.session_id "
                            "order by c.person_id").fetchall()
    assert rows == [("ann", "Assembly"), ("bob", "Physics")]


def test_a_check_in_written_after_another_door_stopped_its_session_goes_to_the_session_running_then(
        live, pg_url, tmp_path):
    """North has not heard yet that the office stopped Assembly and started Physics: Ann's arrival is
    filed in Physics, as it would be had it waited in the journal."""
    with open_store(tmp_path / "office", database=pg_url, station="office") as office_store:
        office = Attendance(office_store, station="office")
        office.refresh()
        office.stop_session()
        office.start_session("Physics")
    assert live.check_in("ann", 0.8).new
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("select c.person_id, s.name from checkins c join sessions s on s.id = c.session_id"
                            ).fetchall()
    assert rows == [("ann", "Physics")]


def test_a_door_closed_while_its_courier_sends_a_slow_batch_loses_none_of_the_check_ins_kept(
        tmp_path, pg_url, monkeypatch):
    """The close sent the same batch as the courier, still at it on a slow database, and each then took
    that many off the journal: the next batch went unsent, and the journal file with it."""
    import threading

    from faceattend_tui.attendance.models import Checkin
    from faceattend_tui.attendance.pg import outbox
    from faceattend_tui.attendance.pg import store as pg_store

    monkeypatch.setattr(outbox, "SEND_BATCH", 2)
    monkeypatch.setattr(pg_store, "THREADS_WAIT", 0.3)
    monkeypatch.setattr(pg_store, "LAST_SEND", 1.0)
    names = [f"p{n}" for n in range(5)]
    store = open_store(tmp_path, database=pg_url, station="north", live=True, wait=0.2, upgrade_mode="auto")
    att = Attendance(store, station="north")
    for name in names:
        att.add_person(name, person_id=name, folder=name)
    session = att.start_session("Assembly")
    with psycopg.connect(pg_url) as blocker:
        blocker.execute("lock table checkins in exclusive mode")  # a slow database: the courier's batch waits
        for name in names:
            store.outbox.add(Checkin(session.id, name, store.now(), 0.8, station="north").to_doc())
        time.sleep(0.5)  # the courier has its first batch out
        closing = threading.Thread(target=store.close)
        closing.start()
        time.sleep(0.8)  # the close has tried to send too
        blocker.rollback()
        closing.join(10)
    assert (tmp_path / "attendance.pg-journal").is_file() or len(checkin_people(pg_url)) == 5
    with open_store(tmp_path, database=pg_url, station="north", live=True, wait=0.2) as again:
        eventually(lambda: again.state().waiting == 0, "sent the rest at the next start")
    assert sorted(person for person, in checkin_people(pg_url)) == names


@pytest.mark.parametrize(("seen", "office_ahead", "filed"), [
    (timedelta(minutes=1), timedelta(0), False),  # seen that morning, erased later: it went with her
    (timedelta(minutes=10, seconds=30), timedelta(seconds=90), True)])  # seen after her return: hers
def test_a_kept_check_in_of_someone_erased_is_not_filed_once_their_id_is_given_again(
        tmp_path, pg_url, monkeypatch, seen, office_ahead, filed):
    """Ann's arrival and day waited in this door's journal; the office erased her, then a roster import
    with --reactivate brought her id back: the arrival of before the erasure was filed as if nothing had
    happened. One after her return is hers, though the office's clock (the erasure's time) is ahead."""
    import threading

    from faceattend_tui.attendance.models import Presence
    from faceattend_tui.attendance.pg.checkins import presence_doc

    clock = FakeClock(datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=30))
    store = open_store(tmp_path, database=pg_url, station="north", live=True, wait=0.2, upgrade_mode="auto",
                       clock=clock)
    try:
        north = Attendance(store, station="north")
        north.add_person("Ann Lee", person_id="S1", folder="S1", groups=["3A"])
        session = north.start_session("Assembly")
        send, may_send = store._send_waiting, threading.Event()
        monkeypatch.setattr(store, "_send_waiting", lambda outbox, wait=-1: may_send.wait() and send(outbox, wait))
        erased_at = clock.now + timedelta(minutes=10)
        office_clock = FakeClock(erased_at + office_ahead)
        with open_store(tmp_path / "office", database=pg_url, station="office", clock=office_clock) as office_store:
            office = Attendance(office_store, station="office")
            office.remove_person("S1", erase=True)
            office.add_person("Ann Lee", person_id="S1", folder="S1", groups=["3A"])  # back, on purpose
        when = clock.now + seen
        store.outbox.add(Checkin(session.id, "S1", when, 0.8, station="north").to_doc())
        store.outbox.add(presence_doc(Presence("S1", when.date(), "north", when, when)))
        may_send.set()  # the database answers this door again
        eventually(lambda: store.state().waiting == 0, "sent the journal")
        assert checkin_people(pg_url) == ([("S1",)] if filed else [])
        with psycopg.connect(pg_url) as conn:
            assert conn.execute("select person_id from presence").fetchall() == ([("S1",)] if filed else [])
    finally:
        store.close()


def test_a_batch_sent_again_after_its_connection_died_says_a_dropped_check_in_once(tmp_path, pg_url):
    """The batch held an erased person's kept check-in, then Bob's; the connection died on Bob's insert and
    the batch was sent again: staff were told twice of a check-in not sent."""
    store = open_store(tmp_path, database=pg_url, station="north", live=True, wait=0.2, upgrade_mode="auto")
    try:
        north = Attendance(store, station="north")
        for name in ("Ann", "Bob"):
            north.add_person(name, person_id=name.lower(), folder=name.lower())
        session = north.start_session("Assembly")
        with open_store(tmp_path / "office", database=pg_url, station="office") as office_store:
            Attendance(office_store, station="office").remove_person("ann", erase=True)
        store._changes.clear()
        with psycopg.connect(pg_url) as blocker, psycopg.connect(pg_url, autocommit=True) as admin:
            blocker.execute("lock table checkins in exclusive mode")
            for person in ("ann", "bob"):
                store.outbox.add(Checkin(session.id, person, store.now(), 0.8, station="north").to_doc())
            eventually(lambda: admin.execute("select count(*) from pg_stat_activity where wait_event_type = 'Lock' "
                                             "and query like 'insert into checkins%%'").fetchone()[0] > 0,
                       "the courier waited on Bob's insert")
            admin.execute("select pg_terminate_backend(pid) from pg_stat_activity where wait_event_type = 'Lock' "
                          "and query like 'insert into checkins%%'")
            blocker.rollback()
        eventually(lambda: store.state().waiting == 0, "sent the journal")
        assert [c.checkin.person_id for c in store._changes if c.table == "dropped"] == ["ann"]
        assert checkin_people(pg_url) == [("bob",)]
    finally:
        store.close()


def checkin_people(pg_url: str) -> list[tuple[str]]:
    with psycopg.connect(pg_url) as conn:
        return conn.execute("select person_id from checkins").fetchall()


def test_a_journaled_check_in_follows_its_person_to_the_id_a_roster_import_gave_them(tmp_path, pg_url):
    """Ann was known by a generated id when the door, cut off, saw her; the office's roster import then
    gave her the school's id: her check-in and her day's sighting are filed under it, not dropped as erased."""
    from faceattend_tui.attendance.models import Checkin, Presence
    from faceattend_tui.attendance.pg.checkins import presence_doc
    from faceattend_tui.attendance.roster import RosterLine, apply_import, plan_import

    store = open_store(tmp_path, database=pg_url, station="north", live=True, wait=0.2, upgrade_mode="auto")
    try:
        north = Attendance(store, station="north")
        ann = north.add_person("Ann Lee", folder="Ann Lee")
        session = north.start_session("Assembly")
        store.outbox.add(Checkin(session.id, ann.id, store.now(), 0.8, station="north").to_doc())
        now = store.now()
        store.outbox.add(presence_doc(Presence(ann.id, now.date(), "north", now, now)))  # work mode's day
        with open_store(tmp_path / "office", database=pg_url, station="office") as office_store:
            office = Attendance(office_store, station="office")
            plan = plan_import(office, [RosterLine(2, "S1042", "Ann Lee", None, None)])
            assert plan.claimed == [(ann.id, "S1042")]
            apply_import(office, plan)
        eventually(lambda: store.state().waiting == 0, "sent the journal")
        with psycopg.connect(pg_url) as conn:
            assert conn.execute("select person_id from checkins").fetchall() == [("S1042",)]
            assert conn.execute("select person_id from presence").fetchall() == [("S1042",)]
        assert not [c for c in store.changes() if c.table == "dropped"]
    finally:
        store.close()


def test_an_arrival_kept_while_away_for_no_known_session_is_filed_into_the_one_running_then(tmp_path, pg_url):
    """The office opened Physics while this door was cut off: Ann's arrival read 'no session' and was lost."""
    from datetime import timedelta

    from faceattend_tui.attendance.models import Checkin
    from faceattend_tui.attendance.store import UNFILED

    store = open_store(tmp_path, database=pg_url, station="north", live=True, wait=0.2, upgrade_mode="auto")
    try:
        north = Attendance(store, station="north")
        for name in ("ann", "bob"):
            north.add_person(name.title(), person_id=name, folder=name)
        with open_store(tmp_path / "office", database=pg_url, station="office") as office_store:
            physics = Attendance(office_store, station="office").start_session("Physics")
        assert not store.keep_for_later(Checkin(UNFILED, "ann", store.now(), 0.8))  # online: nothing to keep
        with store._lock:
            store._online = False  # cut off, as a failed write leaves it
        arrived = physics.started_at + timedelta(minutes=1)
        assert store.keep_for_later(Checkin(UNFILED, "ann", arrived, 0.8, last_seen=arrived))
        assert store.keep_for_later(Checkin(UNFILED, "bob", physics.started_at - timedelta(hours=1), 0.8))
        eventually(lambda: store.state().waiting == 0 and store.state().online, "sent the journal")
        with psycopg.connect(pg_url) as conn:
            assert conn.execute("select person_id, session_id, last_seen = time from checkins").fetchall() == [
                ("ann", physics.id, True)]
        assert not [c for c in store.changes() if c.table in ("after-end", "dropped")]  # Bob's just goes
    finally:
        store.close()


def test_a_door_whose_listening_connection_goes_silent_notices_and_hears_the_other_doors_again(
        live, pg_url, tmp_path, monkeypatch):
    """A firewall drops the idle connection, or the server behind it freezes: no error ever comes. The
    door asks it to answer after a quiet spell, replaces it, and reads what it missed."""
    import os
    import signal

    from faceattend_tui.attendance.pg import listener

    monkeypatch.setattr(listener, "LISTEN_CHECK", 0.5, raising=False)
    name = live.store._kwargs["application_name"]
    eventually(lambda: _listening(pg_url, name), "listened")
    (silent,) = _listening(pg_url, name)
    os.kill(silent, signal.SIGSTOP)  # its backend answers nothing, the connection stays open
    try:
        live.store.changes()
        with open_store(tmp_path / "office", database=pg_url, station="office") as office_store:
            office = Attendance(office_store, station="office")
            office.refresh()
            office.stop_session()
        seen: list = []
        eventually(lambda: seen.extend(live.store.changes()) or any(c.table in ("sessions", "all") for c in seen),
                   "heard that the office stopped the session")
    finally:
        os.kill(silent, signal.SIGCONT)


def _listening(pg_url: str, application_name: str) -> set[int]:
    """The server processes of a station's listening connections."""
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("select pid from pg_stat_activity where application_name = %s and "
                           "(query ilike 'listen%%' or query = 'select 1')", [application_name]).fetchall()
    return {int(pid) for (pid,) in rows}


def test_check_ins_rewritten_at_another_door_are_read_again_at_this_one(live, pg_url, tmp_path):
    """The office makes the running session's lateness start at its first minute (Ann, in already, is
    late now), then a roster import gives Cleo, checked in too, the school's id: this door's counts and
    the stop it records follow the database."""
    from datetime import timedelta

    from faceattend_tui.attendance.roster import RosterLine, apply_import, plan_import
    from faceattend_tui.attendance.session_edit import edit_session

    cleo = live.add_person("Cleo Diaz", folder="Cleo Diaz")
    live.refresh()
    later = live.active.started_at + timedelta(minutes=3)
    live.check_in("ann", 0.8, when=later)
    live.check_in(cleo.id, 0.8, when=later)
    with open_store(tmp_path / "office", database=pg_url, station="office") as office_store:
        office = Attendance(office_store, station="office")
        office.refresh()
        edit_session(office, live.active.id, user="Dana", late_after=1)
        apply_import(office, plan_import(office, [RosterLine(2, "S7", "Cleo Diaz", None, None)]))
    seen: list = []
    eventually(lambda: seen.extend(live.store.changes()) or {"sessions", "people"} <= {c.table for c in seen},
               "heard of the edit and the import")
    live.refresh()
    assert live.status_in(live.active, "ann") == "late" and live.status_in(live.active, "S7") == "late"
    assert live.counts().present + live.counts().late == 2 and live.counts().absent == 1


def test_two_doors_whose_long_names_begin_alike_still_hear_each_other(tmp_path, pg_url):
    """PostgreSQL keeps 63 bytes of a connection's name, by which a door tells its own writes apart: two
    doors named alike up to there took each other's changes for their own and ignored them."""
    from faceattend_tui.attendance.pgschema import application_name

    alike = "Building C, ground floor, main entrance from the car park, "
    north_name, south_name = alike + "north", alike + "south"
    assert application_name(north_name) != application_name(south_name)
    assert all(len(application_name(n).encode()) <= 63 and application_name(n).isascii()
               for n in (north_name, "Tür Nord", "Tür Süd"))
    assert application_name("Tür Nord") != application_name("Tür Süd")
    north = open_store(tmp_path / "n", database=pg_url, station=north_name, live=True, upgrade_mode="auto")
    try:
        Attendance(north, station=north_name).add_person("Ann", person_id="ann", folder="ann")
        north.changes()
        with open_store(tmp_path / "s", database=pg_url, station=south_name) as south:
            Attendance(south, station=south_name).start_session("Assembly")
        seen: list = []
        eventually(lambda: seen.extend(north.changes()) or any(c.table == "sessions" for c in seen),
                   "heard of the other door's session")
    finally:
        north.close()


def test_a_sighting_in_work_mode_does_not_wait_for_a_locked_table(live, pg_url):
    """In work mode each day's sightings are the record: a slow database held the door for up to 20 s."""
    from datetime import date

    from faceattend_tui.attendance.models import Presence

    now = live.store.now()
    with psycopg.connect(pg_url) as blocker:
        blocker.execute("lock table presence in exclusive mode")
        began = time.monotonic()
        live.store.see(Presence("ann", date.today(), "north", now, now))
        assert time.monotonic() - began < 2.0
        assert live.store.state().waiting == 1
    eventually(lambda: live.store.state().waiting == 0 and live.store.state().online, "sent the sighting")
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("select person_id, station from presence").fetchall() == [("ann", "north")]


def test_groups_an_earlier_version_stored_with_a_zero_width_space_read_as_the_group(tmp_path, pg_url):
    """A database of an earlier version: the session's group and a person's group with a zero-width
    space. Both read as 3A, so a timetable slot of 3A finds its session and 3A's lists hold them."""
    with open_store(tmp_path, database=pg_url, upgrade_mode="auto") as store:
        attendance = Attendance(store)
        attendance.add_person("Ann", person_id="ann", folder="ann", groups=["3A"])
        attendance.add_person("Raj", person_id="raj", folder="raj", groups=["3A"])
        attendance.start_session("Maths", group="3A")
    with psycopg.connect(pg_url) as conn:
        conn.execute("update sessions set group_name = '3A' || chr(8203)")
        conn.execute("update person_groups set name = '3A' || chr(8203) where person_id = 'raj'")
    with open_store(tmp_path, database=pg_url, upgrade_mode="auto") as store:
        assert [s.group for s in store.sessions()] == ["3A"]
        assert store.person("raj").groups == ("3A",)
        assert [p.id for p in Attendance(store).people(group="3A")] == ["ann", "raj"]


def test_a_check_in_written_just_after_a_roster_import_changed_the_persons_id_is_filed_under_it(tmp_path, pg_url):
    """The door has not heard yet that the office's import gave Ann the school's id: her check-in is
    written under it, not refused by the database as someone unknown."""
    from faceattend_tui.attendance.roster import RosterLine, apply_import, plan_import

    store = open_store(tmp_path, database=pg_url, station="north", live=True, wait=2.0, upgrade_mode="auto")
    try:
        north = Attendance(store, station="north")
        ann = north.add_person("Ann Lee", folder="Ann Lee")
        north.start_session("Assembly")
        with open_store(tmp_path / "office", database=pg_url, station="office") as office_store:
            office = Attendance(office_store, station="office")
            apply_import(office, plan_import(office, [RosterLine(2, "S1042", "Ann Lee", None, None)]))
        assert north.check_in(ann.id, 0.8).new
        with psycopg.connect(pg_url) as conn:
            assert conn.execute("select person_id from checkins").fetchall() == [("S1042",)]
    finally:
        store.close()


def test_a_terms_report_and_export_read_sessions_together_and_count_as_session_by_session(tmp_path, pg_url,
                                                                                          monkeypatch):
    """A report or an export of many sessions reads them a part at a time (two queries a part, not two a
    session): the numbers and the sheet are those read one session at a time, the last mark still wins,
    and a live door's cached session and its waiting check-ins count as it knows them."""
    from faceattend_tui.attendance import ExportOptions
    from faceattend_tui.attendance.export import render
    from faceattend_tui.attendance.pg import checkins
    from faceattend_tui.attendance.report import build_report, report_rows
    from faceattend_tui.attendance.sessions import summarize
    from faceattend_tui.attendance.store import Store

    monkeypatch.setattr(checkins, "READ_TOGETHER", 2)
    store = open_store(tmp_path, database=pg_url, station="north", live=True, wait=0.2, upgrade_mode="auto")
    try:
        att = Attendance(store, station="north")
        for name in ("ann", "bob", "cy"):
            att.add_person(name.title(), person_id=name, folder=name)
        ids = []
        for number in range(5):
            ids.append(att.start_session(f"Lesson {number}").id)
            att.check_in(("ann", "bob", "cy")[number % 3], 0.8)
            if number:
                status = ("sick", "excused", "sick", "late")[number - 1]
                att.mark("cy", status, "bus", session_id=ids[0])  # the first's marks, made among the others
            att.mark("bob", "excused", "doctor")
            if number < 4:
                att.stop_session()
        with psycopg.connect(pg_url) as blocker:
            blocker.execute("lock table checkins in exclusive mode")
            att.check_in("ann", 0.8)  # waits in the journal: the door counts it
        assert store.state().waiting == 1
        day = store.now().date()
        ours = build_report(store, day, day, voided=True)
        monkeypatch.setattr(store, "outcomes_of", lambda ids: Store.outcomes_of(store, ids))
        reference = build_report(store, day, day, voided=True)
        assert report_rows(ours) == report_rows(reference)
        line = {p.person.id: p.counts for p in ours.people}
        assert (line["cy"].late, line["bob"].excused_total) == (1, 4)
        people = {p.id: p for p in store.people()}
        together = store.records_of(reversed(ids))
        assert list(together) == ids[::-1]
        sheets = [render([summarize(store, s, people, records=records)], ExportOptions("csv"), store.now())
                  for s, records in zip(map(store.session, together), together.values(), strict=True)]
        assert sheets == [render([summarize(store, store.session(i), people)], ExportOptions("csv"), store.now())
                          for i in ids[::-1]]
    finally:
        store.close()


def test_a_read_waiting_for_a_connection_when_the_database_comes_back_is_answered(tmp_path, pg_url):
    """The database back, the courier replaces the pool and closes the old one: a read still waiting on the
    old one (every connection busy) failed with "cannot be reached: the pool is closed" and put the door
    offline again."""
    import threading

    store = open_store(tmp_path, database=pg_url, station="north", live=True, wait=1.0, upgrade_mode="auto")
    try:
        Attendance(store, station="north").add_person("Ann", person_id="ann", folder="ann")
        old = store._pool
        busy = [old.getconn(timeout=5) for _ in range(old.max_size)]
        found: list = []
        reader = threading.Thread(target=lambda: found.append([p.id for p in store.people()]))
        reader.start()
        time.sleep(0.3)  # the reader waits for a connection of the old pool
        store._probe()
        reader.join(timeout=10)
        for conn in busy:
            old.putconn(conn)
        assert found == [["ann"]] and store.state().online
    finally:
        store.close()


@pytest.mark.parametrize("change", ["edit", "leave", "restore", "import", "mark", "hours"])
def test_a_door_that_read_the_roster_before_an_erasure_cannot_bring_the_person_back(tmp_path, pg_url, change):
    """North read Cleo a moment before south erased her; its edit then wrote her back, name and all. A mark
    said a raw foreign-key error; an hours correction was kept under her id, to be paid to whoever had it
    next."""
    from datetime import date

    from faceattend_tui.attendance.corrections import CORRECTIONS_SETTING, correct_day
    from faceattend_tui.attendance.roster import apply_import, plan_import, read_roster
    from faceattend_tui.attendance.store import ConflictError, GoneMeanwhile

    with open_store(tmp_path, database=pg_url, upgrade_mode="auto") as first:
        setup = Attendance(first)
        setup.add_person("Cleo Secret", person_id="S3", groups=["3A"])
        if change == "restore":
            setup.remove_person("S3")
    with open_store(tmp_path, database=pg_url) as north, open_store(tmp_path, database=pg_url) as south:
        door = Attendance(north)  # has read the roster
        if change == "mark":
            door.start_session("Maths", group="3A")
        Attendance(south).remove_person("S3", erase=True)
        with pytest.raises((GoneMeanwhile, ConflictError), match="meanwhile"):
            if change == "mark":
                door.mark("S3", "present", "came by the side door")
            elif change == "hours":
                day = date(2026, 12, 5)
                came, left = (datetime(2026, 12, 5, h, tzinfo=timezone.utc) for h in (8, 16))
                correct_day(north, "S3", day, came, left, "forgot badge", "admin")
            elif change == "edit":
                door.update_person("S3", groups=["3B"])
            elif change == "leave":
                door.remove_person("S3")
            elif change == "restore":
                door.restore_person("S3")
            else:
                roster = tmp_path / "roster.csv"
                roster.write_text("id,name,groups\nS3,Cleo Secret,3B\n", encoding="utf-8")
                apply_import(door, plan_import(door, read_roster(roster)))
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("select id, name from people").fetchall() == []
        assert conn.execute("select value from settings where key = %s", [CORRECTIONS_SETTING]).fetchall() == []


@pytest.mark.parametrize("change", ["mark", "hours", "uncorrect", "import"])
def test_a_write_about_someone_made_while_their_erasure_runs_waits_for_it_and_leaves_nothing_naming_them(
        tmp_path, pg_url, change, monkeypatch):
    """North saved a mark or an hours correction, or took one back, while south's erasure was scrubbing the
    audit: its audit entry, written after the scrub had read the audit, named her for good. A roster import
    claiming someone with a correction deadlocked with the erasure, which said the database was unreachable."""
    import threading
    from datetime import date

    from faceattend_tui.attendance.corrections import clear_correction, correct_day
    from faceattend_tui.attendance.pg import queries
    from faceattend_tui.attendance.roster import RosterLine, apply_import, plan_import
    from faceattend_tui.attendance.store import ConflictError, GoneMeanwhile

    day = date(2026, 12, 5)
    came, left = (datetime(2026, 12, 5, h, tzinfo=timezone.utc) for h in (8, 16))
    with open_store(tmp_path, database=pg_url, upgrade_mode="auto") as first:
        ann = Attendance(first).add_person("Ann Lee", folder="ann lee")  # a photo folder's, to be claimed
        Attendance(first).add_person("Cleo Secret", person_id="S3", groups=["3A"])
        for person_id in (ann.id, "S3"):
            correct_day(first, person_id, day, came, left, "Cleo Secret forgot her badge", "admin")
    with open_store(tmp_path, database=pg_url) as north, open_store(tmp_path, database=pg_url) as south:
        door = Attendance(north)
        door.start_session("Maths", group="3A")
        roster = [RosterLine(2, "S9", "Ann Lee", ("3A",), None), RosterLine(3, "S3", "Cleo Secret", ("3B",), None)]
        write = {"mark": lambda: door.mark("S3", "present", "Cleo Secret came by the side door"),
                 "hours": lambda: correct_day(north, "S3", day, came, left, "Cleo Secret forgot it again", "admin"),
                 "uncorrect": lambda: clear_correction(north, "S3", day, "Cleo Secret had it after all", "admin"),
                 "import": lambda: apply_import(door, plan_import(door, roster))}[change]
        said: list[object] = []

        def meanwhile() -> None:
            try:
                said.append(write())
            except (GoneMeanwhile, ConflictError) as exc:
                said.append(exc)

        writer, scrub = threading.Thread(target=meanwhile), queries._scrub_audit

        def scrubbing(*args) -> None:  # the erasure under way, reading the audit
            writer.start()
            writer.join(timeout=1.0)
            assert writer.is_alive()  # waits for the erasure to end
            scrub(*args)

        monkeypatch.setattr(queries, "_scrub_audit", scrubbing)
        Attendance(south).remove_person("S3", erase=True)
        writer.join(timeout=10)
        if change == "uncorrect":  # her corrections went with her: nothing to take back
            assert said == [False]
        else:
            assert len(said) == 1 and "meanwhile" in str(said[0])
    with psycopg.connect(pg_url) as conn:
        assert not conn.execute("select details from audit where details::text like any(%s)",
                                [["%S3%", "%Cleo%"]]).fetchall()
        assert conn.execute("select id from people").fetchall() == [(ann.id,)]  # the import left no half


def test_a_write_that_waits_too_long_for_another_writer_says_the_database_is_busy_not_unreachable(
        tmp_path, pg_url, monkeypatch):
    """During a `db import` (which holds its tables until it commits) a door's change failed with "cannot be
    reached": the network was blamed for a lock."""
    from faceattend_tui.attendance.pg import connection
    from faceattend_tui.attendance.store import OfflineError

    monkeypatch.setattr(connection, "STATEMENT_TIMEOUT", 0.5)
    with open_store(tmp_path, database=pg_url, upgrade_mode="auto") as store:
        attendance = Attendance(store)
        with psycopg.connect(pg_url) as importing:
            importing.execute("lock table people in exclusive mode")
            with pytest.raises(OfflineError, match=r"is busy: a statement waited over 0.5 s for another writer: "
                                                   r"a `faceattend db import`"):
                attendance.add_person("Ann Lee", person_id="S1")
