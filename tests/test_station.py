"""The station core: worker events become durable check-ins; sessions, marks, export, PIN, lock."""

from __future__ import annotations

import contextlib
import csv
import os
import time
from datetime import datetime, timedelta

import pytest
from fakes import FakeClock, FakeWorker, enroll_fake_people

from faceattend_tui.attendance import Attendance, ExportOptions, StoreError, open_store
from faceattend_tui.attendance.security import Credentials
from faceattend_tui.attendance.staff import add_account
from faceattend_tui.config import load_settings
from faceattend_tui.live.events import CaptureSample, Reload
from faceattend_tui.station import CheckinShown, EnrollTarget, LiveChanged, Problem, Sighting, Station, StationError


@pytest.fixture
def station(tmp_path):
    enroll_fake_people(tmp_path, ["Ann", "Bob", "Cleo"])
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door")
    made.open()
    yield made
    made.close()


def drain(station: Station):
    return station.poll(timeout=0.05)


def person_id(station: Station, name: str) -> str:
    (person,) = [p for p in station.people() if p.name == name]
    return person.id


def test_checkin_is_on_disk_before_it_is_returned(station, tmp_path):
    station.start_session("Physics")
    station.worker.checkin("Ann", 0.71)
    (update,) = drain(station)
    assert isinstance(update, CheckinShown) and update.new and update.row.name == "Ann"
    journal = (tmp_path / "attendance.journal").read_text()
    assert f'"person_id":"{update.row.id}"' in journal.replace(" ", "")


def test_second_sighting_in_a_session_is_not_a_new_checkin(station):
    station.start_session("Physics")
    station.worker.checkin("Ann")
    station.worker.checkin("Ann", track=2)
    updates = drain(station)
    assert [u.new for u in updates] == [True, False]
    assert station.summary().counts.present == 1


def test_without_a_session_faces_are_seen_but_not_logged(station):
    station.worker.checkin("Ann")
    (update,) = drain(station)
    assert isinstance(update, Sighting)
    assert station.sessions() == []


def test_roster_follows_enrolled_templates_and_session_state(station):
    station.start_session("Physics", late_after=0)
    station.worker.checkin("Bob", when=time.time() + 1)  # after the start, not within its millisecond
    drain(station)
    rows = {r.name: r for r in station.roster()}
    assert set(rows) == {"Ann", "Bob", "Cleo"}
    assert rows["Bob"].status == "late" and rows["Ann"].status == "absent"


def test_active_session_survives_a_restart(tmp_path):
    enroll_fake_people(tmp_path, ["Ann"])
    first = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker)
    first.open()
    first.start_session("Morning")
    first.worker.checkin("Ann")
    drain(first)
    first.close()
    second = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker)
    second.open()
    try:
        assert second.active.name == "Morning"
        assert second.worker.config.session == "Morning"
        assert second.summary().present == ["Ann"]
    finally:
        second.close()


def test_second_station_on_the_same_data_is_refused_with_the_holder(station, tmp_path):
    other = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker)
    with pytest.raises(StationError) as err:
        other.open()
    assert str(os.getpid()) in str(err.value)


def test_corrupt_log_stops_the_start_and_is_left_untouched(tmp_path):
    log = tmp_path / "attendance.json"
    log.write_bytes(b'{"sessions": [broken')
    with pytest.raises(StationError) as err:
        Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker).open()
    assert "attendance.json" in str(err.value)
    assert log.read_bytes() == b'{"sessions": [broken'


def test_manual_mark_and_export_csv(station, tmp_path):
    session = station.start_session("Physics")
    station.worker.checkin("Ann")
    drain(station)
    station.mark(person_id(station, "Cleo"), "present", "came in through the side door")
    station.stop_session()
    path = station.export(ExportOptions("csv"), session_id=session.id)
    rows = {r["person"]: r for r in csv.DictReader(path.open(encoding="utf-8-sig"))}
    assert rows["Ann"]["status"] == "present" and rows["Ann"]["checkin_time"] and not rows["Ann"]["mark_status"]
    assert rows["Cleo"]["mark_reason"] == "came in through the side door" and rows["Cleo"]["status"] == "present"
    assert rows["Bob"]["status"] == "absent"
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_pin_guards_privileged_actions(station):
    add_account(station.store, "admin", "admin", "246810", "setup")
    assert station.needs_pin and not station.needs_staff_name  # one account: its PIN alone
    with pytest.raises(StationError, match="PIN"):
        station.start_session("Physics")
    with pytest.raises(StationError, match="wrong PIN, 9 tries left"):
        station.start_session("Physics", pin="111111")
    assert station.start_session("Physics", pin="246810").name == "Physics"
    with pytest.raises(StationError, match="PIN"):
        station.export(ExportOptions("csv"))


def test_staff_members_act_under_their_own_name_and_role(station):
    add_account(station.store, "Ada", "admin", "246810", "setup")
    add_account(station.store, "Vic", "viewer", "135790", "Ada")
    assert station.needs_staff_name
    with pytest.raises(StationError, match="Vic has a viewer account"):
        station.start_session("Physics", pin=Credentials("Vic", "135790"))
    session = station.start_session("Physics", pin=Credentials("ada", "246810"))
    station.mark(station.roster()[0].id, "present", "came by the side door", pin=Credentials("Ada", "246810"))
    assert station.store.marks(session.id)[0].by == "Ada"
    assert station.export(ExportOptions("csv"), pin=Credentials("Vic", "135790")).exists()
    started = next(e for e in station.store.audit_log() if e.action == "session.start")
    assert started.user == "Ada"


def test_enroll_and_delete_update_roster_and_tell_the_worker(station, tmp_path):
    import numpy as np

    from faceattend_tui.gallery.templates import read_rows

    station.worker.ready()
    drain(station)
    sample = CaptureSample(photo_jpeg=b"\xff\xd8fake", embedding=np.eye(512, dtype=np.float32)[0], size=120,
                           sharpness=200.0, frontality=0.9, quality=0.9)
    dora, count = station.save_enrollment(EnrollTarget("Dora"), (sample, sample))
    assert count == 2 and dora.folder == dora.id
    assert "Dora" in {r.name for r in station.roster()}
    assert read_rows(tmp_path / "database_tensor" / f"{dora.id}.npy", 512).shape == (2, 512)
    assert station.worker.sent[-1] == Reload()
    station.start_session("Physics")
    station.worker.checkin(dora.folder)
    drain(station)
    assert station.summary().present == ["Dora"]
    station.remove_person(dora.id, erase=True)
    assert "Dora" not in {r.name for r in station.roster()}
    assert not (tmp_path / "database_image" / dora.folder).exists()
    assert station.summary().present == []
    actions = [a.action for a in station.store.audit_log()]
    assert "person.erase" in actions and "session.start" in actions


def samples_like(rows) -> tuple:
    import numpy as np

    return tuple(CaptureSample(photo_jpeg=b"\xff\xd8fake", embedding=np.asarray(row, np.float32), size=120,
                               sharpness=200.0, frontality=0.9, quality=0.9) for row in rows)


def test_samples_of_another_face_are_not_added_to_someone_enrolled(station, tmp_path):
    """Typing Ann's name while a stranger is in front of the camera must not let the stranger in as Ann."""
    from faceattend_tui.gallery.templates import read_rows

    station.worker.ready()
    drain(station)
    tensors = tmp_path / "database_tensor"
    ann, bob = read_rows(tensors / "Ann.npy", 512), read_rows(tensors / "Bob.npy", 512)
    with pytest.raises(StationError, match=r"do not look like Ann \(.*\)'s 1 enrolled ones \(cosine -?0\.\d\d\)"):
        station.save_enrollment(EnrollTarget("Ann"), samples_like([bob[0], bob[0]]))
    assert len(read_rows(tensors / "Ann.npy", 512)) == 1
    person, count = station.save_enrollment(EnrollTarget("Ann"), samples_like([ann[0], ann[0]]))
    assert person.name == "Ann" and count == 3
    (added,) = [e for e in station.store.audit_log() if e.action == "person.samples"]
    assert (added.user, added.details["person"], added.details["added"]) == ("staff", person.id, 2)


def test_a_newcomer_whose_id_is_someone_elses_photo_folder_gets_a_folder_of_their_own(station, tmp_path):
    """Ann's photos were extracted from a folder named "Ann" (a generated id); a newcomer given the id "Ann"
    took that folder: Ann's face was named as the newcomer from then on, and another face crashed Save."""
    from faceattend_tui.gallery.templates import read_rows

    station.worker.ready()
    drain(station)
    tensors = tmp_path / "database_tensor"
    ann, bob = read_rows(tensors / "Ann.npy", 512), read_rows(tensors / "Bob.npy", 512)
    newcomer, count = station.save_enrollment(EnrollTarget("Dana Ray", "Ann"), samples_like([bob[0]]))
    assert (newcomer.id, newcomer.folder, count) == ("Ann", "Ann-2", 1)
    assert len(read_rows(tensors / "Ann.npy", 512)) == 1  # Ann's own templates as they were
    station._attendance().add_person("Cy Hart", person_id="Bob")  # imported, no photos yet
    cy, _ = station.save_enrollment(EnrollTarget("Cy Hart"), samples_like([ann[0]]))
    assert (cy.id, cy.folder) == ("Bob", "Bob-2")
    folders = [p.folder for p in station.people()]
    assert len(folders) == len(set(folders)) == 5
    from faceattend_tui.gallery.enroll import UnlikeSamples
    from faceattend_tui.station.actions import unlike

    said = unlike(None, UnlikeSamples(3, 0.129, "S9"))  # templates in a folder nobody on the roster has
    assert "the 3 templates already in database_image/S9/ (cosine 0.12)" in said


def test_the_person_meant_is_found_as_staff_type_them(station):
    """Any case, spacing or accents, an id in any case; someone who left is named, not made again."""
    station._attendance().add_person("Céline Gérard", person_id="S1043")  # as a roster import would
    ann = person_id(station, "Ann")
    for typed in ("ann", " ANN ", ann.upper()):
        assert station.enrollee(EnrollTarget(typed)).id == ann, typed
    assert station.enrollee(EnrollTarget("celine  gerard")).id == "S1043"
    assert station.enrollee(EnrollTarget("s1043")).id == "S1043"
    assert "adds samples to Céline Gérard (S1043)" in station.describe_enrollee(EnrollTarget("Celine Gerard")).text
    with pytest.raises(StationError, match="id 's1043' is already Céline Gérard"):
        station.enrollee(EnrollTarget("Ann Twin", "s1043"))
    assert "is longer than 200 characters" in station.describe_enrollee(EnrollTarget("N" * 300)).text
    assert "is not a usable person id" in station.describe_enrollee(EnrollTarget("Ann Twin", "../x")).text
    station.remove_person(ann)
    for typed in (ann, "Ann"):
        with pytest.raises(StationError, match=rf"Ann \({ann}\) left on .*people restore {ann}"):
            station.enrollee(EnrollTarget(typed))


def test_a_save_that_cannot_be_done_does_not_put_the_newcomer_on_the_roster(station, tmp_path):
    from faceattend_tui.vision.identity import RecognizerId

    station.worker.ready()
    drain(station)
    real = station.recognizer
    station.recognizer = RecognizerId("r18", "another-model", 512)  # templates on disk are the default model's
    with pytest.raises(StationError, match="another recogniser"):
        station.save_enrollment(EnrollTarget("Ghost Person"), samples_like([[1.0] + [0.0] * 511]))
    station.recognizer = real
    (tmp_path / "database_image").mkdir(exist_ok=True)
    (tmp_path / "database_image" / "S77").write_text("x")  # a file where the newcomer's photos would go
    with pytest.raises(StationError, match="S77"):
        station.save_enrollment(EnrollTarget("New Comer", "S77"), samples_like([[1.0] + [0.0] * 511]))
    assert {"Ghost Person", "New Comer"}.isdisjoint(p.name for p in station.people())
    (tmp_path / "database_image" / "S77").unlink()  # moved out of the way, the same save goes through
    assert station.save_enrollment(EnrollTarget("New Comer", "S77"), samples_like([[1.0] + [0.0] * 511]))[0].id == "S77"


def test_a_save_for_someone_on_the_roster_that_cannot_be_recorded_leaves_no_samples_to_be_saved_twice(
        station, tmp_path, monkeypatch):
    from faceattend_tui.attendance import Attendance
    from faceattend_tui.gallery.templates import read_rows

    station.worker.ready()
    drain(station)
    station._attendance().add_person("Céline Gérard", person_id="S1043")  # imported, no photos yet
    real = Attendance.save_people

    def full(self, people, action, **kwargs):
        if action == "person.folder":
            raise StoreError("could not write to attendance.journal: No space left on device")
        return real(self, people, action, **kwargs)

    monkeypatch.setattr(Attendance, "save_people", full)
    two = samples_like([[1.0] + [0.0] * 511, [0.0, 1.0] + [0.0] * 510])
    with pytest.raises(StationError, match="No space left"):
        station.save_enrollment(EnrollTarget("Céline Gérard"), two)
    assert not (tmp_path / "database_image" / "S1043").exists()
    monkeypatch.setattr(Attendance, "save_people", real)  # the disk has room again: Save once more
    person, count = station.save_enrollment(EnrollTarget("Céline Gérard"), two)
    assert (person.id, count) == ("S1043", 2)
    assert read_rows(tmp_path / "database_tensor" / "S1043.npy", 512).shape == (2, 512)


def test_export_command_line(station, tmp_path, capsys):
    from faceattend_tui.cli import main

    station.start_session("Physics")
    station.worker.checkin("Ann")
    drain(station)
    station.stop_session()
    station.close()
    out = tmp_path / "exports" / "sheet.json"  # in the data folder, only exports/ takes an --out
    assert main(["export", "--data", str(tmp_path), "--format", "json", "--out", str(out)]) == 0
    assert '"Ann"' in out.read_text()
    assert main(["export", "--data", str(tmp_path), "--session", "99"]) == 3  # nothing selected
    assert "99" in capsys.readouterr().err
    with open_store(tmp_path) as store:
        assert [a.action for a in store.audit_log()].count("export") >= 1


def test_one_event_that_fails_does_not_drop_the_others(station, monkeypatch):
    station.start_session("Physics")
    real = station._checkin
    monkeypatch.setattr(station, "_checkin", lambda event, retried=False: (_ for _ in ()).throw(StoreError("disk full"))
                        if event.name == "Bob" else real(event, retried))
    station.worker.checkin("Ann")
    station.worker.checkin("Bob")
    station.worker.checkin("Cleo")
    updates = drain(station)
    assert [u.row.name for u in updates if isinstance(u, CheckinShown)] == ["Ann", "Cleo"]
    assert any("could not record" in u.message for u in updates if hasattr(u, "message"))


def test_a_check_in_the_worker_sent_after_the_last_poll_is_written_at_close(tmp_path):
    enroll_fake_people(tmp_path, ["Ann", "Bob"])
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door")
    made.open()
    session = made.start_session("Maths")
    made.worker.checkin("Ann")
    drain(made)
    made.worker.checkin("Bob")  # seen as q was pressed: the screen polls no more
    made.close()
    with open_store(tmp_path) as store:
        assert sorted(store.person(c.person_id).name for c in store.checkins(session.id)) == ["Ann", "Bob"]


def test_the_door_records_check_ins_while_a_roster_imports_photos_are_read(station, tmp_path, monkeypatch):
    """The README: an import holds the log only to write its people; the photos are read meanwhile."""
    import threading

    import cv2
    import numpy as np

    from faceattend_tui.station import actions, people

    reading, go_on = threading.Event(), threading.Event()
    real = people.unreadable_photo

    def slow_photo(photo):  # a school's 2,000 phone photos take a minute to decode
        reading.set()
        go_on.wait(10)
        return real(photo)

    monkeypatch.setattr(people, "unreadable_photo", slow_photo)
    monkeypatch.setattr(actions, "extract_imported", lambda *args, **kwargs: None)
    cv2.imwrite(str(tmp_path / "ivy.jpg"), np.full((120, 100, 3), 128, np.uint8))
    (tmp_path / "roster.csv").write_text("id,name,groups,photo\nS9,Ivy Park,3A,ivy.jpg\n", encoding="utf-8")
    station.start_session("Maths")
    importing = threading.Thread(target=station.import_roster, args=(tmp_path / "roster.csv",))
    importing.start()
    try:
        assert reading.wait(10)
        station.worker.checkin("Ann")
        shown: list = []
        door = threading.Thread(target=lambda: shown.extend(u for u in drain(station) if isinstance(u, CheckinShown)))
        door.start()
        door.join(5)
        assert [u.row.name for u in shown] == ["Ann"]  # not held until every photo is read
    finally:
        go_on.set()
        importing.join(10)
    assert station.person("S9").name == "Ivy Park"


def test_a_check_in_the_disk_refused_keeps_its_own_time(station, monkeypatch):
    from faceattend_tui.attendance import StoreError

    station.start_session("Physics", late_after=1)
    real = station.store.record_checkin
    monkeypatch.setattr(station.store, "record_checkin",
                        lambda c: (_ for _ in ()).throw(StoreError("No space left on device")))
    first_seen = time.time()
    station.worker.checkin("Ann", when=first_seen)
    (problem,) = drain(station)
    assert "kept and written as soon as the disk allows" in problem.message
    assert drain(station) == []  # tried again, said once
    assert station.live.unsaved == 1  # the header says so while it waits (the toast goes after a while)
    monkeypatch.setattr(station.store, "record_checkin", real)
    station.worker.checkin("Ann", when=first_seen + 300)  # five minutes later: past the late limit
    updates = [u for u in drain(station) if isinstance(u, CheckinShown)]
    assert updates[0].new and updates[0].time.timestamp() == pytest.approx(first_seen)
    assert station.summary().present == ["Ann"]  # on time, as she was
    assert station.live.unsaved == 0


def test_check_ins_the_disk_still_refuses_at_exit_are_named_not_dropped_silently(tmp_path, monkeypatch):
    from faceattend_tui.attendance import StoreError

    enroll_fake_people(tmp_path, ["Ann", "Bob"])
    station = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door")
    station.open()
    session = station.start_session("Physics")
    monkeypatch.setattr(station.store, "record_checkin",
                        lambda c: (_ for _ in ()).throw(StoreError("No space left on device")))
    when = session.started_at.replace(microsecond=0) + timedelta(seconds=3)
    station.worker.checkin("Ann", when=when.timestamp())
    drain(station)
    with pytest.raises(StationError, match=rf"1 check-in could not be written and are lost: Ann at {when:%H:%M:%S}; "
                                           r"mark them present by hand"):
        station.close()
    assert not (tmp_path / "faceattend.lock").exists()  # the lock is given back all the same


def test_a_log_that_cannot_be_rewritten_at_exit_is_said_as_kept(tmp_path, monkeypatch):
    """The journal holds every change: the station says so, and the next start folds it in."""
    from faceattend_tui.attendance import StoreError
    from faceattend_tui.attendance.tiny import files
    from faceattend_tui.station import LogKept

    enroll_fake_people(tmp_path, ["Ann", "Bob"])
    station = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door")
    station.open()
    station.start_session("Physics")
    station.worker.checkin("Ann")
    drain(station)
    monkeypatch.setattr(files.MemoryStorage, "flush",
                        lambda self: (_ for _ in ()).throw(StoreError("could not write attendance log: read-only")))
    station.stop_session()  # its fold fails: the stop is in the journal all the same
    with pytest.raises(LogKept, match="stay in"):
        station.close()
    monkeypatch.undo()
    with open_store(tmp_path) as store:
        (session,) = store.sessions()
        assert session.ended_at is not None and [c.person_id for c in store.checkins(session.id)]


def test_a_log_that_cannot_tell_who_may_says_what_could_not_be_done_not_the_pin(station, monkeypatch):
    """A shared database away when a door stops its session: no PIN was asked, so the PIN is not to blame."""
    import faceattend_tui.station.lifecycle as lifecycle

    station.start_session("Physics")
    monkeypatch.setattr(lifecycle, "authorize", lambda *a: (_ for _ in ()).throw(StoreError("database away")))
    with pytest.raises(StationError) as refused:
        station.stop_session()
    assert str(refused.value) == "cannot start or stop a session now: database away"
    assert station.active is not None


def test_samples_saved_whose_audit_meets_a_full_disk_are_said_saved_not_left_to_be_saved_twice(station, tmp_path,
                                                                                                 monkeypatch):
    import numpy as np

    from faceattend_tui.gallery.templates import read_rows
    from faceattend_tui.station import actions

    station.worker.ready()
    drain(station)
    sample = CaptureSample(photo_jpeg=b"\xff\xd8fake", embedding=np.eye(512, dtype=np.float32)[0], size=120,
                           sharpness=200.0, frontality=0.9, quality=0.9)
    full = StoreError("could not write to attendance.journal: No space left on device")
    monkeypatch.setattr(actions, "audit", lambda *args, **kwargs: (_ for _ in ()).throw(full))
    monkeypatch.setattr(Attendance, "sync_people", lambda *args, **kwargs: (_ for _ in ()).throw(full))
    dora, count = station.save_enrollment(EnrollTarget("Dora"), (sample, sample))  # no error to press Save again on
    assert count == 2 and read_rows(tmp_path / "database_tensor" / f"{dora.id}.npy", 512).shape == (2, 512)


def test_enrolling_needs_a_live_camera(station):
    station.live.camera, station.live.camera_detail = "retrying", "retrying in 4 s (camera 0 could not be opened)"
    with pytest.raises(StationError, match="camera is retrying"):
        station.capture()


def test_face_data_is_made_private_when_the_station_opens(tmp_path):
    import stat

    enroll_fake_people(tmp_path, ["Ann"])
    photos = tmp_path / "database_image" / "Ann"
    photos.mkdir(parents=True)
    (photos / "a.jpg").write_bytes(b"\xff\xd8")
    for path in (tmp_path, tmp_path / "database_image", photos, tmp_path / "database_tensor"):
        path.chmod(0o755)
    (photos / "a.jpg").chmod(0o644)
    (tmp_path / "notes.txt").write_text("not ours to change")
    (tmp_path / "notes.txt").chmod(0o644)
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker)
    made.open()
    made.close()
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert made.tightened >= 4
    assert [mode(p) for p in (tmp_path, tmp_path / "database_image", photos, tmp_path / "database_tensor")] == [
        0o700] * 4
    assert mode(photos / "a.jpg") == 0o600 and mode(tmp_path / "database_tensor" / "manifest.json") == 0o600
    assert mode(tmp_path / "notes.txt") == 0o644  # only face data and records are narrowed


def test_a_disk_that_keeps_every_file_open_to_all_is_not_said_to_have_made_them_private(tmp_path, monkeypatch):
    """exFAT, FAT and NTFS take a chmod and keep the mode: every start said "face data is private: narrowed
    the permissions of 7 files and folders" while the photos stayed readable by everyone."""
    from faceattend_tui.files import tighten_data

    enroll_fake_people(tmp_path, ["Ann"])
    (tmp_path / "database_tensor").chmod(0o755)
    monkeypatch.setattr(os, "chmod", lambda *args, **kwargs: None)  # the disk's answer to every chmod
    assert tighten_data(tmp_path, [tmp_path / "database_tensor"]) == 0
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker)
    made.open()
    notices = made.start_notices()
    made.close()
    (notice,) = [n for n in notices if "readable by other users" in n]  # a warning, said once
    assert "stays readable by other users: its disk ignores permissions" in notice
    assert made.tightened_notice() == ""


def test_a_photo_folder_linked_in_from_elsewhere_is_not_blamed_on_the_disk(tmp_path):
    """database_image a link to this user's folder (mode 755) on the same ext4 disk: "its disk ignores
    permissions (mount it with umask=077...)"."""
    from faceattend_tui.files import kept_open

    elsewhere = tmp_path / "photos"
    elsewhere.mkdir(mode=0o755)
    elsewhere.chmod(0o755)
    (tmp_path / "data").mkdir(mode=0o700)
    (tmp_path / "data" / "database_image").symlink_to(elsewhere)
    assert kept_open([tmp_path / "data", tmp_path / "data" / "database_image"]) == ""


@contextlib.contextmanager
def station_with_a_slot_due(tmp_path, name: str, group: str = ""):
    """An open station whose timetable has a slot that began 5 minutes ago and runs for an hour (late after
    10 minutes); yields the station and the slot's start."""
    from faceattend_tui.attendance.timetable import read_slots, save_slots

    enroll_fake_people(tmp_path, ["Ann", "Bob"])
    now = datetime.now().astimezone()
    start, end = (now - timedelta(minutes=5)), (now + timedelta(minutes=55))
    if start.date() != end.date():
        pytest.skip("the slot would cross midnight")
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door")
    made.open()
    try:
        save_slots(made.store, read_slots("name,group,weekday,start,end,late_after\n"
                                          f"{name},{group},{now.isoweekday()},{start:%H:%M},{end:%H:%M},10\n"))
        yield made, start
    finally:
        made.close()


def test_the_station_opens_the_timetables_session_when_it_is_due(tmp_path):
    with station_with_a_slot_due(tmp_path, "Physics") as (made, start):
        updates = drain(made)
        assert made.active is not None and made.active.name == "Physics"
        assert any(getattr(u, "notice", "").startswith("the timetable opened 'Physics'") for u in updates)
        deadline = start.replace(second=0, microsecond=0) + timedelta(minutes=10)  # from the slot, not the opening
        assert abs((made.active.late_deadline - deadline).total_seconds()) < 1


def test_a_slot_held_back_by_a_session_started_by_hand_is_said_once(tmp_path):
    with station_with_a_slot_due(tmp_path, "Physics") as (made, _):
        made.start_session("Assembly")  # before the poll: staff's own session runs into Physics' hours
        said = [getattr(u, "notice", "") for u in drain(made)]
        made._timetable_next = 0.0  # the next poll at once
        said += [getattr(u, "notice", "") for u in drain(made)]
        assert made.active.name == "Assembly"
        held = [n for n in said if "'Physics'" in n and "is due, but 'Assembly', started by hand, runs" in n]
        assert len(held) == 1  # said once, not at every poll


def test_a_slot_held_back_again_on_another_day_is_said_again(tmp_path):
    """A station running for weeks said the clash the first Monday and never after."""
    from faceattend_tui.attendance.timetable import save_slots, slots_of

    with station_with_a_slot_due(tmp_path, "Physics") as (made, _):
        made.start_session("Assembly")
        slots = slots_of(made.store)
        assert any("'Physics'" in getattr(u, "notice", "") for u in drain(made))
        save_slots(made.store, [])  # the slot's hours pass: nothing held back
        made._timetable_next = 0.0
        drain(made)
        save_slots(made.store, slots)  # a week later, the same clash
        made._timetable_next = 0.0
        assert any("'Physics'" in getattr(u, "notice", "") for u in drain(made))


def test_a_database_away_is_no_timetable_problem(tmp_path, monkeypatch):
    """While a shared database is away the header says so; the timetable waits without an error."""
    from faceattend_tui.attendance import OfflineError, timetable

    def away(*args, **kwargs):
        raise OfflineError("the database cannot be reached: no answer within 2 s")

    monkeypatch.setattr(timetable, "step", away)
    with station_with_a_slot_due(tmp_path, "Physics") as (made, _):
        assert not [u for u in drain(made) if "timetable" in str(u)]


def test_an_arrival_for_no_known_session_while_the_database_is_away_is_kept_and_said_so(station, monkeypatch):
    """Another door opened the lesson while this one was cut off: 'no session' here, and the arrival lost."""
    from faceattend_tui.live import events as ev

    kept = []
    monkeypatch.setattr(station.store, "keep_for_later", lambda checkin: kept.append(checkin) or True)
    station.worker.checkin("Ann", 0.71, track=3)
    (sighting,) = [u for u in drain(station) if isinstance(u, Sighting)]
    assert sighting.reason == "kept" and [c.person_id for c in kept] == [sighting.person_id]
    assert kept[0].session_id == 0 and kept[0].station == station.name
    told = [c for c in station.worker.sent if isinstance(c, ev.ShowOutcome)]
    assert (told[-1].outcome, told[-1].detail) == ("no-session", ev.KEPT)  # no "checked in" tick it cannot promise
    monkeypatch.setattr(station.store, "keep_for_later", lambda checkin: False)  # a log of one writer
    station.worker.checkin("Bob", 0.71, track=4)
    assert [u.reason for u in drain(station) if isinstance(u, Sighting)] == ["no session"]


def test_someone_off_the_list_while_the_database_is_away_is_kept_and_still_told_to_see_staff(station, monkeypatch):
    from faceattend_tui.live import events as ev

    kept = []
    monkeypatch.setattr(station.store, "keep_for_later", lambda checkin: kept.append(checkin) or True)
    bob = person_id(station, "Bob")
    station._attendance().update_person(bob, groups=["choir"])
    station.start_session("Choir", group="choir")  # Bob's group, not Ann's
    station.worker.checkin("Ann", 0.71, track=3)
    assert [u.reason for u in drain(station) if isinstance(u, Sighting)] == ["not on list"]  # as the door says
    told = [c for c in station.worker.sent if isinstance(c, ev.ShowOutcome)]
    assert (told[-1].outcome, told[-1].detail) == ("not-on-list", ev.SEE_STAFF)
    assert kept[0].last_seen == kept[0].time


def test_in_work_mode_an_arrival_kept_while_the_database_is_away_still_counts_the_day(station, monkeypatch):
    import dataclasses

    from faceattend_tui.attendance.hours import PresenceBook

    station.settings = dataclasses.replace(station.settings, mode="work")
    station.presence = PresenceBook(station.store, station.name)
    kept = []
    monkeypatch.setattr(station.store, "keep_for_later", lambda checkin: kept.append(checkin) or True)
    station.worker.checkin("Ann", 0.71, track=3)
    assert [u.reason for u in drain(station) if isinstance(u, Sighting)] == ["in"] and len(kept) == 1


def test_in_work_mode_someone_who_left_but_whose_templates_stayed_is_not_clocked_in(station):
    """An import cut short after marking people as left kept their templates: the time clock recorded their
    days as if they still worked there."""
    import dataclasses
    from datetime import date

    from faceattend_tui.attendance.hours import PresenceBook

    station.settings = dataclasses.replace(station.settings, mode="work")
    station.presence = PresenceBook(station.store, station.name)
    ann = person_id(station, "Ann")
    station.attendance.remove_person(ann, user="staff")  # the log says she left; her files are still there
    station.worker.checkin("Ann", 0.71, track=3)
    station.worker.checkin("Bob", 0.71, track=4)
    assert [u.name for u in drain(station) if isinstance(u, Sighting)] == ["Bob"]
    station.presence.flush()
    assert [p.person_id for p in station.store.presence(date.min, date.max)] == [person_id(station, "Bob")]


def test_a_database_known_to_be_away_is_not_waited_on_at_each_poll(tmp_path, monkeypatch):
    """Each poll waited 2 s on the database for the timetable, the station's lock held, while it was away."""
    from faceattend_tui.attendance import timetable
    from faceattend_tui.attendance.store import StoreState

    steps = []
    real = timetable.step
    monkeypatch.setattr(timetable, "step", lambda *args, **kwargs: steps.append(1) or real(*args, **kwargs))
    with station_with_a_slot_due(tmp_path, "Physics") as (made, _):
        monkeypatch.setattr(made.store, "state", lambda: StoreState(online=False, note="no answer within 2 s"))
        drain(made)
        assert steps == [] and made.active is None
        monkeypatch.setattr(made.store, "state", lambda: StoreState())  # back: the slot opens
        made._timetable_next = 0.0
        drain(made)
        assert steps and made.active is not None and made.active.name == "Physics"


def test_a_database_away_is_said_once_not_at_each_check_in_kept_meanwhile(station, monkeypatch):
    from faceattend_tui.attendance.store import StoreState
    from faceattend_tui.station import sync

    monkeypatch.setattr(sync, "shared_log", lambda settings: True)
    monkeypatch.setattr(station.store, "changes", lambda: [])
    station.live.database = "database online"
    said = []
    for state in (StoreState(False, 1, "no answer"), StoreState(False, 2, "no answer"), StoreState(False, 3, "x"),
                  StoreState(True, 0)):
        monkeypatch.setattr(station.store, "state", lambda state=state: state)
        said += [u.notice for u in station._shared_updates() if getattr(u, "notice", "")]
        assert station.live.database == ("database online" if state.online else f"database offline, {state.waiting} "
                                                                                 "waiting")
    assert len(said) == 2 and "is back" in said[1]
    assert "the database is away or busy (no answer); check-ins are kept here" in said[0]  # or a db import


def test_back_to_back_slots_leave_no_gap_for_a_check_in_to_fall_into(tmp_path):
    from faceattend_tui.attendance.timetable import read_slots, save_slots

    enroll_fake_people(tmp_path, ["Ann", "Bob"])
    clock = FakeClock(datetime(2026, 9, 7, 8, 59, 59).astimezone())  # a Monday
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door",
                   clock=clock)
    made.open()
    try:
        save_slots(made.store, read_slots("name,group,weekday,start,end,late_after\n"
                                          "Maths,,Mon,08:00,09:00,\nPhysics,,Mon,09:00,10:00,\n"))
        drain(made)
        assert made.active.name == "Maths"
        clock.advance(seconds=1.5)
        made._timetable_next = 0.0
        drain(made)  # Maths closes at 09:00...
        drain(made)  # ...and Physics opens on the next poll, not seconds later
        assert made.active is not None and made.active.name == "Physics"
    finally:
        made.close()


@pytest.mark.parametrize("room_again", [True, False])
def test_a_check_in_the_disk_refused_goes_into_its_session_before_the_timetable_closes_it(tmp_path, monkeypatch,
                                                                                           room_again):
    """08:58 the disk is full as Ann comes; 09:10 there is room again: she is in Maths, which the timetable
    then closes. Still no room by the close: she is named, for staff to mark by hand."""
    from faceattend_tui.attendance import StoreError
    from faceattend_tui.attendance.timetable import read_slots, save_slots

    enroll_fake_people(tmp_path, ["Ann", "Bob"])
    clock = FakeClock(datetime(2026, 9, 7, 8, 58).astimezone())  # a Monday
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door",
                   clock=clock)
    made.open()
    try:
        save_slots(made.store, read_slots("name,group,weekday,start,end,late_after\nMaths,,Mon,08:00,09:00,\n"))
        drain(made)
        real = made.store.record_checkin
        monkeypatch.setattr(made.store, "record_checkin",
                            lambda c: (_ for _ in ()).throw(StoreError("No space left on device")))
        made.worker.checkin("Ann", when=clock().timestamp())
        drain(made)
        if room_again:
            monkeypatch.setattr(made.store, "record_checkin", real)
        clock.advance(minutes=12)
        made._timetable_next = 0.0
        said = drain(made)
        assert made.active is None
        ann = person_id(made, "Ann")
        recorded = [c.person_id for c in made.store.checkins(1)]
        assert recorded == ([ann] if room_again else [])
        named = [u.message for u in said if isinstance(u, Problem)]
        assert named == ([] if room_again else [
            "'Maths' ended before these check-ins could be written: Ann at 08:58:00; "
            "mark them by hand once the disk allows (h: past sessions)"])
    finally:
        made.close()


def test_a_session_left_running_over_the_weekend_by_a_station_that_ran_on_is_stopped_at_its_last_record(tmp_path):
    enroll_fake_people(tmp_path, ["Ann", "Bob"])
    clock = FakeClock(datetime(2026, 9, 4, 8, 0).astimezone())  # a Friday
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door",
                   clock=clock)
    made.open()
    try:
        friday = made.start_session("Friday lab", late_after=10)
        made.worker.checkin("Ann", when=clock().timestamp() + 300)
        drain(made)
        clock.advance(days=3, minutes=1)  # Monday 08:01: nobody stopped it, the station ran on
        made._left_next = 0.0
        said = [u.notice for u in drain(made) if isinstance(u, LiveChanged) and u.notice]
        assert made.active is None and said == [
            "session 'Friday lab' was left running since 2026-09-04 08:00: stopped at its last record "
            "(2026-09-04 08:05); start today's with s"]
        assert made.store.session(friday.id).ended_at == datetime(2026, 9, 4, 8, 5).astimezone()
    finally:
        made.close()


def test_a_slot_that_cannot_open_is_said_once_and_opens_once_it_can(tmp_path):
    """Its group was missing: the slot must not stay claimed for the day once the roster is put right."""
    with station_with_a_slot_due(tmp_path, "Choir", "choir") as (made, _):
        problems = [u for u in drain(made) if isinstance(u, Problem)]
        assert made.active is None and ["no group 'choir'" in p.message for p in problems] == [True]
        made._timetable_next = 0.0
        assert [u for u in drain(made) if isinstance(u, Problem)] == []  # tried again, not said again
        ann = person_id(made, "Ann")
        made.attendance.update_person(ann, groups=["choir"])  # as an import would
        made._timetable_next = 0.0
        drain(made)
        assert made.active is not None and made.active.name == "Choir"


def test_each_ended_session_drops_its_sheet_and_a_failed_one_is_kept_and_retried(tmp_path):
    enroll_fake_people(tmp_path, ["Ann", "Bob"])
    share = tmp_path / "share"
    share.write_text("not a folder yet")  # the shared drive is not mounted: its path is a file
    settings = load_settings(tmp_path, {"export_dir": str(share), "export_formats": "both"})
    made = Station(settings, "demo", worker_factory=FakeWorker, user="staff", name="door")
    made.open()
    try:
        made.start_session("Physics")
        made.stop_session()
        notices = [u.notice for u in drain(made) if getattr(u, "notice", "")]
        assert any("could not be written" in n and "retrying" in n for n in notices)
    finally:
        made.close()
    share.unlink()  # mounted again; the station restarts and writes what was left
    again = Station(settings, "demo", worker_factory=FakeWorker, user="staff", name="door")
    again.open()
    try:
        notices = [u.notice for u in drain(again) if getattr(u, "notice", "")]
        assert sorted(p.suffix for p in share.iterdir()) == [".csv", ".json"]
        assert any(n.startswith("the sheet ") and str(share) in n for n in notices)
        again._sheets_next = 0.0  # look again at once: nothing is left to write
        assert not [u for u in drain(again) if getattr(u, "notice", "").startswith("the sheet")]
        assert len(list(share.iterdir())) == 2
    finally:
        again.close()


def test_a_session_whose_camera_never_opened_is_kept_when_staff_marked_someone_absent(station):
    session = station.start_session("Maths")
    station.mark(person_id(station, "Ann"), "absent", "phoned in: not coming")
    station.stop_session()
    assert station.void_unrecorded(session.id, "the camera never opened") is None
    assert not station.store.session(session.id).voided


def test_a_session_voided_before_its_sheet_was_written_drops_no_sheet(tmp_path):
    enroll_fake_people(tmp_path, ["Ann", "Bob"])
    share = tmp_path / "share"
    share.mkdir()
    settings = load_settings(tmp_path, {"export_dir": str(share)})
    made = Station(settings, "demo", worker_factory=FakeWorker, user="staff", name="door")
    made.open()
    try:
        made.start_session("Physics")
        session = made.stop_session()
        assert made.void_unrecorded(session.id, "the camera never opened") is not None
        drain(made)
        assert list(share.iterdir()) == []  # a sheet of everyone absent would be taken for the truth
    finally:
        made.close()


def test_a_programming_error_is_never_taken_for_bad_input_and_the_station_goes_on(station, tmp_path, monkeypatch):
    station.start_session("Physics")

    def broken(*args, **kwargs):
        raise TypeError("a bug")

    monkeypatch.setattr(station.attendance, "mark", broken)
    with pytest.raises(TypeError):  # not a StationError the screen would show as the person's mistake
        station.mark(person_id(station, "Ann"), "present", "side door")
    monkeypatch.setattr(station.attendance, "check_in", broken)
    station.worker.checkin("Ann")
    station.worker.checkin("Bob")
    problems = [u.message for u in drain(station) if isinstance(u, Problem)]
    assert len(problems) == 2 and all(p.startswith("internal error while handling a checkin event") for p in problems)
    assert "TypeError: a bug" in (tmp_path / "station.log").read_text(encoding="utf-8")
    monkeypatch.undo()
    station.worker.checkin("Cleo")
    assert any(isinstance(u, CheckinShown) for u in drain(station))  # recording goes on


class SlowPhotos:
    """An import's photo reading that waits for `finish` (a big roster's minutes), seen to start by `reading`."""

    def __init__(self, monkeypatch, tmp_path):
        import threading

        import cv2
        import numpy as np

        from faceattend_tui.gallery.extract import Report
        from faceattend_tui.station import actions, people

        self.reading, self.finish = threading.Event(), threading.Event()
        slow = self

        class SlowExtractor:
            def __init__(self, *args, **kwargs):
                pass

            def run(self):
                slow.reading.set()
                slow.finish.wait(20)
                return Report()

        monkeypatch.setattr(people, "Extractor", SlowExtractor)
        monkeypatch.setattr(actions.FaceEngine, "from_settings", lambda *args, **kwargs: None)
        cv2.imwrite(str(tmp_path / "dee.jpg"), np.full((120, 100, 3), 128, np.uint8))
        self.roster = tmp_path / "roster.csv"
        self.roster.write_text("id,name,photo\nS7,Dee Ross,dee.jpg\n", encoding="utf-8")
        self.said: list[list[str]] = []
        self.errors: list[Exception] = []

    def start(self, station: Station):
        import threading

        def run():
            try:
                self.said.append(station.import_roster(self.roster))
            except Exception as exc:  # noqa: BLE001 - the test looks at it
                self.errors.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        assert self.reading.wait(10)
        return thread


def test_the_door_goes_on_checking_people_in_while_an_import_reads_its_photos(station, tmp_path, monkeypatch):
    """Reading a big roster's photos takes minutes: the check-ins meanwhile are recorded and shown at once."""
    import threading

    slow = SlowPhotos(monkeypatch, tmp_path)
    station.start_session("Physics")
    importing = slow.start(station)
    try:
        station.worker.checkin("Ann")
        shown: list = []
        polling = threading.Thread(target=lambda: shown.extend(drain(station)))
        polling.start()
        polling.join(5)
        assert not polling.is_alive(), "the check-in waited for the import"
        assert [u.row.name for u in shown if isinstance(u, CheckinShown)] == ["Ann"]
        assert station.person("S7").name == "Dee Ross"  # the import's people are in before its photos
    finally:
        slow.finish.set()
        importing.join(10)
    assert slow.errors == [] and "photos: 1 new of 1" in slow.said[0]


def test_a_station_closed_while_an_import_reads_photos_closes_cleanly(tmp_path, monkeypatch):
    enroll_fake_people(tmp_path, ["Ann"])
    station = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door")
    station.open()
    slow = SlowPhotos(monkeypatch, tmp_path)
    importing = slow.start(station)
    station.close()  # quitting does not wait for the photos
    slow.finish.set()
    importing.join(10)
    assert slow.errors == [] and "photos: 1 new of 1" in slow.said[0]
    with open_store(tmp_path) as store:
        assert store.person("S7").name == "Dee Ross"


class Steady:
    """A clock that never jumps (time.monotonic), moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_clock_a_day_ahead_for_a_minute_is_said_and_opens_no_slot_of_the_wrong_day(tmp_path):
    from faceattend_tui.attendance.timetable import read_slots, save_slots

    enroll_fake_people(tmp_path, ["Ann", "Bob"])
    clock, steady = FakeClock(datetime(2026, 11, 2, 8, 30).astimezone()), Steady()  # a Monday
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door",
                   clock=clock, steady=steady)
    made.open()
    try:
        save_slots(made.store, read_slots("name,group,weekday,start,end,late_after\n"
                                          "Maths,,Mon,08:00,09:00,\nPhysics,,Tue,08:00,09:00,\n"))
        drain(made)
        assert made.active.name == "Maths"
        clock.advance(days=1)  # a glitch: Tuesday 08:30 for a minute
        steady.now += 5
        made._timetable_next = 0.0
        said = [u.notice for u in drain(made) if getattr(u, "severity", "") == "error"]
        assert said and said[0].startswith("the clock jumped 24.0 hours ahead (now 2026-11-03 08:30)")
        assert made.active.name == "Maths"  # Tuesday's Physics did not open, Monday's Maths did not close
        clock.advance(days=-1, seconds=60)  # put right
        steady.now += 60
        made._timetable_next = 0.0
        assert any("back" in getattr(u, "notice", "") for u in drain(made))
        steady.now += 150  # the wait is over: the timetable goes on, on the right day
        clock.advance(seconds=150)
        made._timetable_next = 0.0
        drain(made)
        assert made.active.name == "Maths"
        assert [e.action for e in made.store.audit_log()].count("clock.jump") == 2
    finally:
        made.close()


@pytest.mark.parametrize("latest, now, shown", [
    ("session", datetime(2000, 1, 1, 8, 0), "2000-01-01 08:00) is behind the log's latest record (2026-11-09 08:01"),
    ("checkin", datetime(2026, 11, 9, 9, 0), "2026-11-09 09:00) is behind the log's latest record (2026-11-09 17:55"),
], ids=["no clock battery", "a check-in later than now"])
def test_a_station_whose_clock_is_behind_its_log_says_so(tmp_path, latest, now, shown):
    from faceattend_tui.attendance import Attendance

    enroll_fake_people(tmp_path, ["Ann"])
    clock = FakeClock(datetime(2026, 11, 9, 8, 1).astimezone())
    with open_store(tmp_path, clock=clock) as store:
        attendance = Attendance(store)
        ann = attendance.add_person("Ann", folder="Ann")
        attendance.start_session("Maths")  # on a clock that was right
        if latest == "checkin":  # not audited one by one: the log's latest record all the same
            clock.advance(hours=9, minutes=54)
            attendance.check_in(ann.id, 0.8)
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door",
                   clock=FakeClock(now.astimezone()))
    made.open()
    try:
        assert f"this machine's clock ({shown})" in made.clock_notice()
    finally:
        made.close()


def test_the_station_refuses_templates_another_recogniser_made(tmp_path):
    """Everyone would be unknown all day, with the roster showing them enrolled."""
    from faceattend_tui.gallery.templates import load_manifest, save_manifest
    from faceattend_tui.vision.identity import RecognizerId

    enroll_fake_people(tmp_path, ["Ann", "Bob"])
    tensors = tmp_path / "database_tensor"
    manifest = load_manifest(tensors)
    manifest.recognizer = RecognizerId("rec128.onnx", "1" * 64, 128)  # the recogniser set before
    save_manifest(tensors, manifest)
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door")
    with pytest.raises(StationError, match=r"made by rec128.onnx, not w600k_mbf: everyone would be unknown; run "
                                           r"`faceattend extract`"):
        made.open()
    assert made.worker is None and not (tmp_path / "faceattend.lock").exists()  # nothing left running or held


def test_a_worker_that_gave_up_is_said_in_the_header_until_it_is_back(station):
    from faceattend_tui.live import events as ev

    station.worker.feed(ev.Error(message="recognition worker stopped (exit code 3); not restarting", fatal=True))
    drain(station)
    assert station.live.camera == "error" and "not restarting; see worker.log" in station.live.camera_detail
    station.worker.feed(ev.CameraStatus(state="opened", source="0", message="camera 0 opened"))
    drain(station)
    assert station.live.camera == "live"
    killed = "recognition worker was killed by SIGKILL (out of memory? ...); not restarting"
    station.worker.feed(ev.Error(message=killed, fatal=True))
    drain(station)
    assert station.live.camera_detail == killed  # it wrote nothing: worker.log is not where to look
    crashed = "recognition worker was killed by SIGSEGV; not restarting"
    station.worker.feed(ev.Error(message=crashed, fatal=True))
    drain(station)
    assert station.live.camera_detail.endswith("see worker.log")  # where a crash says what it was


def test_a_mark_dialog_opened_with_no_session_marks_into_none_that_started_since(station):
    from faceattend_tui.station import NO_SESSION

    station.start_session("Maths")  # the timetable's bell, while the dialog was open
    with pytest.raises(StationError, match="session 'Maths' started while this was open: nothing was changed"):
        station.mark(person_id(station, "Ann"), "present", "came early", session_id=NO_SESSION)
    assert station.store.marks(station.active.id) == []


def test_the_doors_count_follows_a_mark_and_an_erasure(station):
    from faceattend_tui.live import events as ev

    station.start_session("Maths")
    ann, bob = person_id(station, "Ann"), person_id(station, "Bob")
    station.mark(ann, "present", "came from the nurse")
    assert [c for c in station.worker.sent if isinstance(c, ev.SetSession)][-1] == ev.SetSession("Maths", 1, 3)
    station.remove_person(bob, erase=True)
    assert [c for c in station.worker.sent if isinstance(c, ev.SetSession)][-1] == ev.SetSession("Maths", 1, 2)
    station.mark(person_id(station, "Cleo"), "excused", "school trip")  # as the screen counts: the excused aside
    assert [c for c in station.worker.sent if isinstance(c, ev.SetSession)][-1] == ev.SetSession("Maths", 1, 1)


def test_the_header_keeps_why_the_worker_stopped_not_only_its_exit_code(station):
    from faceattend_tui.live import events as ev

    cause = "worker failed: CUDA was asked for but cannot be used: no GPU found (no NVIDIA driver)"
    station.worker.feed(ev.Error(message=cause, fatal=True))
    station.worker.feed(ev.Error(message="recognition worker stopped (exit code 3); not restarting", fatal=True))
    drain(station)
    assert station.live.camera_detail == f"{cause}; recognition worker stopped (exit code 3); not restarting; " \
                                         "see worker.log"


def test_a_restarted_worker_shows_the_sessions_counts_at_the_door_at_once(station):
    from faceattend_tui.live import events as ev

    station.start_session("Maths")
    station.worker.checkin("Ann", 0.71, track=1)
    drain(station)
    station.worker.sent.clear()
    station.worker.feed(ev.Notice(message="recognition worker stopped (exit code -9); restarted (1)",
                                  topic="worker-restarted"))
    drain(station)
    sessions = [c for c in station.worker.sent if isinstance(c, ev.SetSession)]
    assert sessions and (sessions[-1].name, sessions[-1].present) == ("Maths", 1)


def test_a_capture_the_worker_died_in_is_asked_of_the_restarted_worker(station):
    """The enroll dialog waited on "capturing..." for good: the dead worker's capture was never made."""
    from faceattend_tui.live import events as ev

    station.live.camera = "live"
    request = station.capture()
    station.worker.sent.clear()
    station.worker.feed(ev.Notice(message="recognition worker stopped (exit code -9); restarted (1)",
                                  topic="worker-restarted"))
    drain(station)
    assert [c.request for c in station.worker.sent if isinstance(c, ev.StartCapture)] == [request]
    station.worker.feed(ev.CaptureResult(request=request, message="no face seen"))
    assert any(type(update).__name__ == "CaptureDone" for update in drain(station))
    station.worker.sent.clear()
    station.worker.feed(ev.Notice(message="recognition worker stopped (exit code -9); restarted (2)",
                                  topic="worker-restarted"))
    drain(station)
    assert not [c for c in station.worker.sent if isinstance(c, ev.StartCapture)]  # none waits now


def test_opening_the_station_is_audited_with_the_login_and_the_source(tmp_path):
    """Check-ins from a folder of photos into a session left running are traceable to who started it."""
    enroll_fake_people(tmp_path, ["Ann"])
    (tmp_path / "friends").mkdir()
    made = Station(load_settings(tmp_path), str(tmp_path / "friends"), worker_factory=FakeWorker, user="mallory",
                   name="front-door")
    made.open()
    try:
        (entry,) = [e for e in made.store.audit_log() if e.action == "station.open"]
        assert entry.user == "mallory"
        assert entry.details == {"station": "front-door", "source": f"folder {tmp_path / 'friends'}", "session": None}
    finally:
        made.close()


def test_a_sheet_half_written_is_finished_without_a_second_copy_of_the_half_done(tmp_path, monkeypatch):
    """export_formats = both on a nearly full share: the CSV goes, the JSON fails; the retry adds the JSON."""
    from faceattend_tui.attendance import ExportError, sheets

    share = tmp_path / "share"
    share.mkdir()
    with open_store(tmp_path / "data") as store:
        from faceattend_tui.attendance import Attendance

        attendance = Attendance(store)
        session = attendance.start_session("Maths")
        attendance.stop_session()
        sheets.queue(store, "door", session.id)
        real = sheets.export_attendance

        def full_for_json(store, folder, options, *args, **kwargs):
            if options.fmt == "json":
                raise ExportError("no space left on device")
            return real(store, folder, options, *args, **kwargs)

        monkeypatch.setattr(sheets, "export_attendance", full_for_json)
        assert sheets.write_pending(store, "door", share, "both", "", "station").problem
        monkeypatch.setattr(sheets, "export_attendance", real)
        drop = sheets.write_pending(store, "door", share, "both", "", "station")
        assert not drop.problem and [p.suffix for p in drop.written] == [".json"]
        assert sorted(p.suffix for p in share.iterdir()) == [".csv", ".json"] and sheets.pending(store, "door") == []


def test_a_session_opened_while_the_clock_was_a_day_ahead_is_named_when_the_clock_comes_back(tmp_path):
    from faceattend_tui.attendance.timetable import read_slots, save_slots

    enroll_fake_people(tmp_path, ["Ann"])
    clock, steady = FakeClock(datetime(2026, 11, 2, 10, 30).astimezone()), Steady()  # a Monday, no slot now
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door",
                   clock=clock, steady=steady)
    made.open()
    try:
        save_slots(made.store, read_slots("name,group,weekday,start,end,late_after\nPhysics,,Tue,10:00,12:00,\n"))
        drain(made)
        clock.advance(days=1)  # a glitch of minutes, longer than the wait: Tuesday's Physics opens
        steady.now += 5
        drain(made)
        clock.advance(minutes=3)
        steady.now += 180
        made._timetable_next = 0.0
        drain(made)
        assert made.active is not None and made.active.name == "Physics"
        clock.advance(days=-1)  # put right
        steady.now += 5
        problems = [u.message for u in drain(made) if isinstance(u, Problem)]
        assert any("'Physics' started at 2026-11-03 10:33, a time still to come" in p for p in problems)
    finally:
        made.close()


@pytest.mark.parametrize("mode", ["classes", "work"])
def test_the_door_says_the_time_on_the_stations_clock_not_the_machines(tmp_path, mode):
    """A machine on UTC, a site in Tokyo: the worker reads "checked in at 00:55", as the reports have it."""
    from zoneinfo import ZoneInfo

    from faceattend_tui.live import events as ev

    enroll_fake_people(tmp_path, ["Ann"])
    made = Station(load_settings(tmp_path, {"timezone": "Asia/Tokyo", "mode": mode}), "demo", worker_factory=FakeWorker,
                   user="staff", name="door")
    made.open()
    try:
        if mode == "classes":
            made.start_session("Maths")
        when = time.time()
        made.worker.checkin("Ann", 0.71, track=1, when=when)
        drain(made)
        (said,) = [c for c in made.worker.sent if isinstance(c, ev.ShowOutcome)]
        assert said.time == f"{datetime.fromtimestamp(when, ZoneInfo('Asia/Tokyo')):%H:%M}"
    finally:
        made.close()


def test_in_work_mode_the_door_is_a_time_clock_not_a_door_that_records_nothing(tmp_path):
    from faceattend_tui.live import events as ev
    from faceattend_tui.live.door import DoorState, panel_lines

    enroll_fake_people(tmp_path, ["Ann"])
    made = Station(load_settings(tmp_path, {"mode": "work"}), "demo", worker_factory=FakeWorker, user="staff",
                   name="door")
    made.open()
    try:
        (told,) = [c for c in made.worker.sent if isinstance(c, ev.SetSession)]
        assert told == ev.SetSession("", hours=True)
        assert panel_lines(DoorState(hours=True)) == ["Time clock", "arrivals and departures recorded"]
        assert panel_lines(DoorState()) == ["No session", "not recording"]  # classes: nothing is recorded
    finally:
        made.close()


def test_a_threshold_set_far_too_low_is_said_as_the_station_starts(tmp_path):
    """threshold = 0.03 (a typo for 0.3) checks strangers in as enrolled people: said, not silent."""
    enroll_fake_people(tmp_path, ["Ann"])
    made = Station(load_settings(tmp_path, {"threshold": 0.03}), "demo", worker_factory=FakeWorker, name="door")
    made.open()
    try:
        assert any("threshold = 0.03 is far below the 0.30" in notice for notice in made.start_notices())
    finally:
        made.close()
    made = Station(load_settings(tmp_path, {"threshold": 0.3}), "demo", worker_factory=FakeWorker, name="door")
    made.open()
    try:
        assert not any("threshold" in notice for notice in made.start_notices())
    finally:
        made.close()


def test_an_export_dir_every_user_may_write_to_is_said_as_the_station_starts(tmp_path):
    """Anyone could put a forged sheet there under a session's name; the station's own went beside it as -2."""
    enroll_fake_people(tmp_path / "data", ["Ann"])
    share = tmp_path / "office"
    share.mkdir()
    for mode, said in ((0o1777, True), (0o770, False)):
        share.chmod(mode)
        made = Station(load_settings(tmp_path / "data", {"export_dir": str(share)}), "demo", worker_factory=FakeWorker,
                       name="door")
        made.open()
        try:
            assert any("may be written by every user" in notice for notice in made.start_notices()) == said
        finally:
            made.close()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a file away needs root")
def test_a_detector_named_by_its_path_in_another_users_folder_is_said(tmp_path, models_dir):
    """A detector has no hash tied to the templates: whoever may swap it decides whose faces are found."""
    import shutil

    enroll_fake_people(tmp_path / "data", ["Ann"])
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    shutil.copy(models_dir / "scrfd_500m_bnkps.onnx", theirs / "det.onnx")
    os.chown(theirs, 4321, 4321)
    (tmp_path / "data" / "faceattend.toml").write_text(f'detector = "{theirs / "det.onnx"}"\n')
    made = Station(load_settings(tmp_path / "data"), "demo", worker_factory=FakeWorker, name="door")
    made.open()
    try:
        assert any(f"{theirs} is owned by another user" in notice for notice in made.start_notices())
    finally:
        made.close()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a file away needs root")
def test_a_model_through_a_link_or_below_another_users_folder_is_found_by_the_owners_check(tmp_path, models_dir):
    """A link in models/ owned by this user led to a recogniser another user may swap; a folder two levels
    up owned by another user may be renamed with everything below it."""
    import shutil

    enroll_fake_people(tmp_path / "data", ["Ann"])
    theirs = tmp_path / "theirs"
    (theirs / "sub").mkdir(parents=True)
    shutil.copy(models_dir / "w600k_mbf.onnx", theirs / "sub" / "rec.onnx")
    os.chown(theirs, 4321, 4321)  # the folder above; the file and its own folder stay this user's
    (tmp_path / "data" / "models").mkdir()
    (tmp_path / "data" / "models" / "rec.onnx").symlink_to(theirs / "sub" / "rec.onnx")
    from faceattend_tui.files import foreign_owned

    found = foreign_owned(tmp_path / "data")
    assert theirs in found
    assert foreign_owned(tmp_path / "data", [theirs / "sub" / "rec.onnx"]).count(theirs) == 1


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a file away needs root")
def test_settings_or_models_another_user_owns_are_said_at_start_and_by_doctor(tmp_path, capsys):
    """Someone who could once write to the data folder left their faceattend.toml (threshold = 0.01): strangers
    were checked in, and nothing said whose settings they were."""
    from faceattend_tui.cli import main

    enroll_fake_people(tmp_path, ["Ann"])
    (tmp_path / "faceattend.toml").write_text("threshold = 0.3\n")
    os.chown(tmp_path / "faceattend.toml", 4321, 4321)
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, name="door")
    made.open()
    try:
        assert any("faceattend.toml is owned by another user" in notice for notice in made.start_notices())
    finally:
        made.close()
    main(["doctor", "--data", str(tmp_path), "--cameras", "0", "--device", "cpu"])
    assert "OWNED BY ANOTHER USER" in capsys.readouterr().out


def amy_erased(tmp_path) -> None:
    """Amy and Raj enrolled at a door of its own, then Amy erased there; the door closed."""
    enroll_fake_people(tmp_path, ["amy", "raj"])
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, name="door")
    made.open()
    made.remove_person(next(p for p in made.people() if p.folder == "amy").id, erase=True)
    made.close()


def test_templates_put_back_for_someone_erased_are_never_matched_at_a_door_of_its_own(tmp_path):
    amy_erased(tmp_path)
    enroll_fake_people(tmp_path, ["amy", "raj"])  # a backup put back: amy's templates are there again
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, name="door")
    made.open()
    try:
        assert not (tmp_path / "database_tensor" / "amy.npy").exists()
        assert "amy" not in {p.folder for p in made.people()}
        assert any("were someone's who was erased" in getattr(u, "notice", "") for u in made.poll(timeout=0.05))
    finally:
        made.close()


def test_photos_put_back_for_someone_erased_are_said_as_such_not_as_waiting_for_extraction(tmp_path):
    """The advice was to run `faceattend extract`, which then refused the folder as someone erased."""
    amy_erased(tmp_path)
    (tmp_path / "database_image" / "amy").mkdir(parents=True)  # the photos of a backup put back
    (tmp_path / "database_image" / "amy" / "1.jpg").write_bytes(b"photo")
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, name="door")
    made.open()
    try:
        notice = made.untemplated_notice()
    finally:
        made.close()
    assert "the photos in database_image/amy were someone's who was erased" in notice
    assert "faceattend extract" not in notice


def test_watch_and_identify_delete_the_templates_of_someone_erased_before_matching(tmp_path):
    """A backup put back (or a door of a shared log that was off as they were erased) held an erased person's
    templates: `identify` and `watch` named their face, though the station would delete them at its start."""
    from faceattend_tui.cli.watch import drop_erased

    amy_erased(tmp_path)
    enroll_fake_people(tmp_path, ["amy", "raj"])
    said: list[str] = []
    drop_erased(load_settings(tmp_path), said.append)
    assert not (tmp_path / "database_tensor" / "amy.npy").exists()
    assert (tmp_path / "database_tensor" / "raj.npy").exists()
    assert said == ["warning: the photos in database_image/amy were someone's who was erased: not taken in; delete "
                    "them, or add the person again on purpose (roster import or e)"]  # as the station says


def test_two_people_who_look_like_one_are_named_as_on_the_roster(station):
    from faceattend_tui.live import events as ev
    from faceattend_tui.station import LiveChanged

    ann, bob = person_id(station, "Ann"), person_id(station, "Bob")
    station.worker.feed(ev.LookAlike(message="Ann and Bob look like one person", folders=("Ann", "Bob"),
                                     similarity=0.87))
    (said,) = [u for u in drain(station) if isinstance(u, LiveChanged) and u.notice]
    assert said.severity == "warning"
    assert said.notice.startswith(f"Ann ({ann}) and Bob ({bob}) look like one person (cosine 0.87): they would "
                                  "check in as both")
    assert said.lasting  # read a minute on the screen, not six seconds
    assert f"Ann ({ann}) and Bob ({bob}) look like one person" in (station.settings.data / "station.log").read_text()


def test_a_pair_an_import_said_to_look_alike_is_not_said_again_by_the_reload_it_causes(station):
    from faceattend_tui.live import events as ev
    from faceattend_tui.station import LiveChanged

    station._alike_said = {frozenset(("Ann", "Bob"))}  # as the import that made Bob's templates leaves it
    station.worker.feed(ev.LookAlike(message="Ann and Bob look like one person", folders=("Bob", "Ann"),
                                     similarity=0.87))
    assert not [u for u in drain(station) if isinstance(u, LiveChanged) and u.notice]
    station.worker.feed(ev.LookAlike(message="Ann and Cleo look like one person", folders=("Ann", "Cleo"),
                                     similarity=0.86))
    assert [u for u in drain(station) if isinstance(u, LiveChanged) and u.notice]  # another pair: said


def a_session_left_running(tmp_path, started: datetime, came: timedelta) -> None:
    """Maths started at `started`, Ann in at `came` after, and the station gone without stopping it."""
    from faceattend_tui.attendance import Attendance

    enroll_fake_people(tmp_path, ["Ann", "Bob"])
    with open_store(tmp_path, clock=FakeClock(started)) as store:
        attendance = Attendance(store)
        ann = attendance.add_person("Ann", folder="Ann").id
        attendance.add_person("Bob", folder="Bob")
        attendance.start_session("Maths")
        attendance.check_in(ann, 0.8, when=started + came)


@pytest.mark.parametrize("hours_later, stopped", [(25, True), (5, False)], ids=["next day", "night shift"])
def test_a_session_left_running_since_an_earlier_day_is_stopped_at_its_last_record(tmp_path, hours_later, stopped):
    started = datetime(2026, 12, 3, 20, 0).astimezone()
    a_session_left_running(tmp_path, started, timedelta(minutes=40))
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door",
                   clock=FakeClock(started + timedelta(hours=hours_later)))
    made.open()
    try:
        said = made.stop_left_running()
        if not stopped:  # past midnight, five hours in: the same night, it goes on
            assert said == "" and made.active is not None
            return
        assert made.active is None and said.startswith("session 'Maths' was left running since 2026-12-03 20:00: "
                                                       "stopped at its last record (2026-12-03 20:40)")
        (stop,) = [e for e in made.store.audit_log() if e.action == "session.stop"]
        assert stop.user == "station"
    finally:
        made.close()


def test_a_session_left_running_that_another_door_stops_first_is_no_problem_here(tmp_path, monkeypatch):
    from faceattend_tui.attendance import Attendance
    from faceattend_tui.attendance.store import EndedElsewhere

    started = datetime(2026, 12, 3, 20, 0).astimezone()
    a_session_left_running(tmp_path, started, timedelta(minutes=40))
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door",
                   clock=FakeClock(started + timedelta(hours=25)))
    made.open()
    try:
        def first_there(self, **kwargs):
            self._active = None
            raise EndedElsewhere("session 'Maths' was stopped at another station a moment ago")

        monkeypatch.setattr(Attendance, "stop_session", first_there)
        assert made.stop_left_running() == "" and made.active is None
    finally:
        made.close()


def test_people_whose_photos_have_no_templates_are_named_at_the_start(tmp_path):
    import cv2
    import numpy as np

    enroll_fake_people(tmp_path, ["Ann"])
    photos = tmp_path / "database_image" / "S7"
    photos.mkdir(parents=True)
    cv2.imwrite(str(photos / "roster-1.jpg"), np.full((120, 100, 3), 128, np.uint8))  # an import cut short
    with open_store(tmp_path) as store:
        from faceattend_tui.attendance import Attendance

        Attendance(store).add_person("Ivy Park", person_id="S7", folder="S7")
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door")
    made.open()
    try:
        (said,) = [n for n in made.start_notices() if "photos but no templates" in n]
        assert said.startswith("1 person has photos but no templates and cannot be recognised: Ivy Park (S7); "
                               "run `faceattend extract`")
    finally:
        made.close()


def test_templates_of_a_photo_removed_by_hand_since_the_extraction_are_named_at_the_start(tmp_path):
    """Extract said a stranger's photo was among Ann's; staff removed it, but the stranger's face still
    checks in as Ann until extract runs again."""
    import cv2
    import numpy as np

    from faceattend_tui.gallery.templates import Entry, load_manifest, save_manifest

    enroll_fake_people(tmp_path, ["Ann"])
    photos = tmp_path / "database_image" / "Ann"
    photos.mkdir(parents=True)
    cv2.imwrite(str(photos / "ann.jpg"), np.full((120, 100, 3), 128, np.uint8))
    manifest = load_manifest(tmp_path / "database_tensor")
    manifest.people["Ann"] = Entry([{"image": "Ann/ann.jpg", "sha256": "a"}, {"image": "Ann/party.jpg", "sha256": "b"}],
                                   manifest.people["Ann"].npy_sha256)
    save_manifest(tmp_path / "database_tensor", manifest)
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door")
    made.open()
    try:
        (said,) = [n for n in made.start_notices() if "removed since" in n]
        assert "the templates of 1 person are still made from photos removed since (Ann: party.jpg)" in said
        assert said.endswith("until `faceattend extract` runs")
    finally:
        made.close()


def test_photo_folders_extraction_cannot_use_are_named_with_what_to_do_not_sent_to_extract(tmp_path):
    """`faceattend extract` refuses these names: telling staff to run it again and again helps nobody."""
    import cv2
    import numpy as np

    enroll_fake_people(tmp_path, ["Ann"])
    for folder in ("Ann  Lee ", "Ian\u200bThorpe"):
        (tmp_path / "database_image" / folder).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "database_image" / folder / "1.jpg"), np.full((120, 100, 3), 128, np.uint8))
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door")
    made.open()
    try:
        (said,) = [n for n in made.start_notices() if "extraction cannot use" in n]
        assert said == ("2 photo folders have names extraction cannot use: 'Ann  Lee ' (a name with spaces at "
                        "either end), 'Ian\\u200bThorpe' (a name with a text direction mark or an invisible "
                        "character); rename them and run `faceattend extract`")
    finally:
        made.close()


def test_the_gap_after_a_crash_begins_at_the_stations_last_check_in_not_at_a_later_commands_record(tmp_path):
    """A crash at 08:20, an export from the office at 10:00: staff must mark by hand from 08:20, not 10:00."""
    import json

    from faceattend_tui.attendance import Attendance, acquire_lock

    enroll_fake_people(tmp_path, ["Ann"])
    clock = FakeClock(datetime(2026, 12, 7, 8, 0).astimezone())
    first = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door",
                    clock=clock)
    first.open()
    first.start_session("Maths")
    clock.advance(minutes=20)
    first.worker.checkin("Ann", when=clock().timestamp())
    drain(first)
    first.close()  # as a crash would leave it: the session open, the lock record kept
    held = {"pid": 4242, "user": "staff", "host": "door", "since": "2026-12-07T07:59:00+00:00", "what": "station"}
    (tmp_path / "faceattend.lock").write_text(json.dumps(held))
    clock.advance(minutes=100)  # 10:00: an export at the office writes its audit record
    acquire_lock(tmp_path, what="command").release()
    with open_store(tmp_path, clock=clock) as store:
        Attendance(store, user="office").update_person(first.people()[0].id, groups=["3A"])
    again = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door",
                    clock=clock)
    again.open()
    try:
        (said,) = [n for n in again.start_notices() if "ended without closing" in n]
        assert "nothing was recorded from its last record (2026-12-07 08:20) until now" in said
    finally:
        again.close()


def test_a_second_station_on_a_data_folder_in_use_is_told_what_to_do(tmp_path, station):
    second = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door-2")
    with pytest.raises(StationError) as refused:
        second.open()
    assert "attendance data is in use by user" in str(refused.value)
    assert "another station runs on this data folder: go to its terminal (tmux attach) and quit it" in str(
        refused.value)


def test_a_station_started_while_a_command_holds_the_data_waits_for_it(tmp_path, monkeypatch):
    """Started during a command (an import reading photos), the station gave up at once and said nothing of
    waiting; it waits as commands wait for each other, then says what to do."""
    import threading

    from faceattend_tui.attendance import acquire_lock
    from faceattend_tui.station import lifecycle

    enroll_fake_people(tmp_path, ["Ann"])
    command = acquire_lock(tmp_path, what="command")
    threading.Timer(0.5, command.release).start()
    made = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door")
    made.open()  # once the command ends
    made.close()
    monkeypatch.setattr(lifecycle, "COMMAND_WAIT", 0.3)
    with acquire_lock(tmp_path, what="command"), pytest.raises(StationError) as refused:
        Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door").open()
    assert "a faceattend command is at work on it (waited 0.3 s): start again once it ends" in str(refused.value)


def test_a_station_that_ended_without_closing_is_said_by_the_next_with_its_last_record(tmp_path):
    import json

    enroll_fake_people(tmp_path, ["Ann"])
    first = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door")
    first.open()
    first.close()  # closed as on q: the next start says nothing
    second = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door")
    second.open()
    try:
        assert not [n for n in second.start_notices() if "ended without closing" in n]
    finally:
        second.close()
    held = {"pid": 4242, "user": "staff", "host": "door", "since": "2026-12-05T08:00:00+00:00", "what": "station"}
    (tmp_path / "faceattend.lock").write_text(json.dumps(held))  # its process died holding it (kill -9)
    from faceattend_tui.attendance import acquire_lock

    acquire_lock(tmp_path, what="command").release()  # a command that writes takes the lock first
    began = datetime.fromisoformat(held["since"]).astimezone()
    third = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door")
    third.open()
    try:
        (said,) = [n for n in third.start_notices() if "ended without closing" in n]
        assert said.startswith(f"the station before this one (pid 4242, since {began:%Y-%m-%d %H:%M}) ended "
                               "without closing (a crash, a power cut or a killed terminal): nothing was recorded "
                               "from its last record (")
    finally:
        third.close()
    fourth = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door")
    fourth.open()
    try:
        assert not [n for n in fourth.start_notices() if "ended without closing" in n]  # said once
    finally:
        fourth.close()


def test_a_log_whose_audit_is_damaged_refuses_the_start_and_is_left_untouched(tmp_path):
    """A service manager restarting a refused station every few seconds filled the audit with starts of a
    station that never ran."""
    import json

    enroll_fake_people(tmp_path, ["Ann"])
    first = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door")
    first.open()
    first.close()
    log = tmp_path / "attendance.json"
    whole = json.loads(log.read_text(encoding="utf-8"))
    entry = next(iter(whole["audit"]))
    whole["audit"][entry]["details"] = "x"  # a hand edit
    log.write_text(json.dumps(whole), encoding="utf-8")
    before = log.read_bytes()
    for _ in range(2):
        again = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door")
        with pytest.raises(StationError, match=f"audit record {entry} is malformed"):
            again.open()
    assert log.read_bytes() == before and not (tmp_path / "attendance.journal").exists()


def test_templates_this_user_may_not_read_are_said_as_such_not_to_be_rebuilt(tmp_path, monkeypatch):
    """After `extract` run as root, the station's user could not read the manifest: the station told staff to
    run `extract` again, which as root left them root's again."""
    from pathlib import Path

    from faceattend_tui.station.people import missing_templates_message

    enroll_fake_people(tmp_path, ["ann"])
    with open_store(tmp_path) as store:
        Attendance(store).add_person("Ann Lee", person_id="S1", folder="ann")
        ann = store.person("S1")
    read = Path.read_text

    def not_ours(path, *args, **kwargs):
        if path.name == "manifest.json":
            raise PermissionError(13, "Permission denied", str(path))
        return read(path, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", not_ours)
    said = missing_templates_message(load_settings(tmp_path), [ann])
    assert "may not read it" in said and "chown -R" in said and str(tmp_path / "database_tensor") in said
    assert "faceattend extract" not in said
    monkeypatch.undo()
    is_file = Path.is_file

    def folder_not_ours(path):  # the whole folder root's: even whether the manifest is there cannot be seen
        if path.name == "manifest.json":
            raise PermissionError(13, "Permission denied", str(path))
        return is_file(path)

    monkeypatch.setattr(Path, "is_file", folder_not_ours)
    said = missing_templates_message(load_settings(tmp_path), [ann])
    assert "chown -R" in said and "faceattend extract" not in said


def cut_short_enrollment(tmp_path, monkeypatch, cut):
    """Tess Talker's enrollment into group 3A by "staff", killed (as SIGKILL) after or during its samples."""
    import numpy as np

    from faceattend_tui.gallery import enroll
    from faceattend_tui.station.actions import Actions

    enroll_fake_people(tmp_path, ["Ann"])
    station = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door")
    station.open()
    station.worker.ready()
    drain(station)
    sample = CaptureSample(photo_jpeg=b"\xff\xd8fake", embedding=np.eye(512, dtype=np.float32)[0], size=120,
                           sharpness=200.0, frontality=0.9, quality=0.9)

    def killed(*args, **kwargs):
        raise SystemExit("killed")  # nothing after it runs: as SIGKILL

    if cut == "after the samples":
        monkeypatch.setattr(Actions, "_registered", killed)
    else:
        monkeypatch.setattr(enroll, "add_samples", killed)
    with pytest.raises(SystemExit):
        station.save_enrollment(EnrollTarget("Tess Talker", groups=("3A",)), (sample, sample))
    station.close()  # its lock let go, as a kill's is taken over; nothing of the enrollment is finished by it
    monkeypatch.undo()


@pytest.mark.parametrize("cut", ["after the samples", "during the samples"])
def test_an_enrollment_cut_short_is_finished_or_undone_at_the_next_start_under_the_name_typed(tmp_path, cut,
                                                                                          monkeypatch):
    """Killed between its samples and its record, a newcomer's enrollment came back at the next start as a
    person named after a folder id ("p-62fe49d4f6"), checked in so, the staff member who enrolled them lost."""
    cut_short_enrollment(tmp_path, monkeypatch, cut)
    again = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door")
    again.open()
    try:
        notes = [u.notice for u in again.poll(timeout=0.05) if getattr(u, "notice", "")]
        names = sorted(p.name for p in again.people())
        if cut == "after the samples":
            assert names == ["Ann", "Tess Talker"]
            (tess,) = [p for p in again.people() if p.name == "Tess Talker"]
            assert tess.groups == ("3A",) and tess.images == 2
            assert any("enrollment of Tess Talker was cut short after its samples were saved" in n for n in notes)
        else:
            images = tmp_path / "database_image"
            assert names == ["Ann"] and (set(p.name for p in images.iterdir()) if images.is_dir() else set()) <= {"Ann"}
            assert any("enrollment of Tess Talker was cut short before its samples were saved" in n for n in notes)
        assert not (tmp_path / "enrolling.json").exists()
    finally:
        again.close()


def test_an_enrollment_cut_short_is_named_by_doctor_and_finished_by_extract_under_the_name_typed(tmp_path,
                                                                                               monkeypatch, capsys):
    """doctor said nothing of it and told to run extract, which put the newcomer on the roster as their folder
    id ("p-dea93b79c2"); the next start then dropped the note: the name typed and who enrolled them lost."""
    from faceattend_tui.attendance import backends
    from faceattend_tui.cli import main, registering

    cut_short_enrollment(tmp_path, monkeypatch, "after the samples")
    capsys.readouterr()
    assert main(["doctor", "--data", str(tmp_path), "--cameras", "0"]) == 1
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("enrollment:")]
    assert "CUT SHORT: the enrollment of Tess Talker (photos in database_image/p-" in line and " by staff " in line
    with registering(load_settings(tmp_path)) as register:  # extract's last step, its templates made
        register(set())
    assert "Tess Talker is on the roster now" in capsys.readouterr().err
    with backends.open_store(tmp_path) as store:
        (tess,) = [p for p in store.people() if p.folder.startswith("p-")]
        assert (tess.name, tess.groups) == ("Tess Talker", ("3A",))
        assert [e.user for e in store.audit_log() if e.action == "person.add"] == ["staff"]
    assert not (tmp_path / "enrolling.json").exists()


def test_an_enrollment_cut_short_between_its_photos_and_their_templates_keeps_its_photos_for_extract(tmp_path):
    """doctor said to start the station or run extract: the start said "cut short before its samples were saved"
    and deleted the four photos saved, while extract would have finished it under the name typed."""
    import json

    enroll_fake_people(tmp_path, ["Ann"])
    pending = {"name": "Tess Talker", "person_id": "", "groups": [], "by": "staff", "when": "2026-12-07T08:00:00"}
    (tmp_path / "enrolling.json").write_text(json.dumps({"p-0123456789": pending}))
    photos = tmp_path / "database_image" / "p-0123456789"
    photos.mkdir(parents=True)
    for n in range(4):
        (photos / f"{n}.jpg").write_bytes(b"\xff\xd8 a photo")
    station = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door")
    station.open()
    try:
        notes = [u.notice for u in station.poll(timeout=0.05) if getattr(u, "notice", "")]
        assert any("the enrollment of Tess Talker was cut short after some of its photos were saved, before their "
                   "templates: run `faceattend extract`" in n for n in notes)
    finally:
        station.close()
    assert len(list(photos.iterdir())) == 4 and "Tess Talker" in (tmp_path / "enrolling.json").read_text()


def test_a_hand_edited_list_of_enrollments_under_way_never_stops_the_station(tmp_path):
    """A folder such as "../exports" in enrolling.json stopped every start ("'../exports' cannot be a folder
    name"), naming no file."""
    import json

    enroll_fake_people(tmp_path, ["Ann"])
    pending = {"name": "Tess Talker", "person_id": "", "groups": [], "by": "staff", "when": "2026-12-07T08:00:00"}
    (tmp_path / "enrolling.json").write_text(json.dumps({"../exports": pending}))
    (tmp_path / "exports").mkdir(mode=0o700)
    (tmp_path / "exports" / "week.csv").write_text("id,name\n")
    station = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door")
    station.open()
    try:
        notes = [u.notice for u in station.poll(timeout=0.05) if getattr(u, "notice", "")]
        assert any(f"{tmp_path / 'enrolling.json'}: the enrollment of Tess Talker into ../exports cannot be "
                   "finished" in n for n in notes)
        assert not (tmp_path / "enrolling.json").exists() and (tmp_path / "exports" / "week.csv").exists()
    finally:
        station.close()


@pytest.mark.parametrize("mode", ["classes", "work"])
def test_someone_in_view_as_a_session_begins_is_checked_in_without_leaving_and_coming_back(tmp_path, mode):
    """A class seated in front of the camera when the session started was never checked in: each face had
    been recognised before it began ("no session"), and only a face seen anew made a check-in (in work mode,
    never: "still here" only moved the day's last sighting)."""
    enroll_fake_people(tmp_path, ["Ann", "Bob", "Cleo"])
    station = Station(load_settings(tmp_path, {"mode": mode}), "demo", worker_factory=FakeWorker, user="staff",
                      name="door")
    station.open()
    try:
        seated_at_the_start(station)
    finally:
        station.close()


@pytest.mark.parametrize("mode", ["classes", "work"])
@pytest.mark.parametrize("fault", ["the station closes", "the disk refuses it once"])
def test_a_seated_persons_check_in_is_kept_as_any_other_when(tmp_path, mode, fault):
    """Sent just before the station closed, or refused once by the disk, a check-in made by "still in view" (the
    way someone seated as the session began arrives) was dropped, where a check-in was written or retried."""
    import errno

    from faceattend_tui.live import events as ev

    enroll_fake_people(tmp_path, ["Ann", "Bob"])
    station = Station(load_settings(tmp_path, {"mode": mode}), "demo", worker_factory=FakeWorker, user="staff",
                      name="door")
    station.open()
    station.worker.ready()
    ann = next(p for p in station.people() if p.name == "Ann")
    station.worker.checkin(ann.folder)  # recognised before the session: nothing recorded
    drain(station)
    session = station.start_session("Physics")
    real, refused = station.store.record_checkin, []

    def once(*args, **kwargs):
        if fault == "the disk refuses it once" and not refused:
            refused.append(True)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    station.store.record_checkin = once
    station.worker.feed(ev.Present(name=ann.folder, track=1, time=time.time(), similarity=0.71))
    if fault == "the disk refuses it once":
        drain(station)
        drain(station)  # tried again: there is room now
    station.close()
    with open_store(tmp_path) as store:
        assert store.checkin(session.id, ann.id) is not None


def test_while_the_disk_refuses_only_still_in_view_that_makes_a_check_in_is_kept_and_once(tmp_path):
    """Work mode: every face in view kept a refused "still in view" each minute, called a check-in, until the
    list of those kept was full and a real arrival was dropped; staff were told to mark by hand someone
    checked in already."""
    import errno

    from faceattend_tui.live import events as ev

    enroll_fake_people(tmp_path, ["Ann", "Bob", "Cleo"])
    station = Station(load_settings(tmp_path, {"mode": "work"}), "demo", worker_factory=FakeWorker, user="staff",
                      name="door")
    station.open()
    try:
        station.worker.ready()
        folders = {p.name: p.folder for p in station.people()}
        station.worker.checkin(folders["Cleo"])  # in view before the session: not checked in to it
        drain(station)
        station.start_session("Physics")
        station.worker.checkin(folders["Ann"])
        drain(station)

        def full(*args, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device")

        station.store.record_checkin = station.store.see = full
        for minute in range(3):
            for name in ("Ann", "Cleo"):
                station.worker.feed(ev.Present(name=folders[name], track=1, time=time.time() + 60 * minute))
        said = [u.message for u in drain(station) if isinstance(u, Problem)]
        assert [e.folder for e in station._unsaved] == [folders["Cleo"]]  # she would arrive; Ann is in
        assert sum("check-in of Cleo" in m for m in said) == 1 and not any("check-in of Ann" in m for m in said)
    finally:
        del station.store.record_checkin, station.store.see
        station.close()


@pytest.mark.parametrize("then", ["nothing", "another session"])
def test_check_ins_kept_for_a_session_stopped_by_hand_are_named_not_filed_into_the_next(tmp_path, then):
    """Refused by the disk, kept, then the session stopped by hand: once the disk allowed, the check-in went into
    the next session at a time before it began, or, with none, was dropped without a word."""
    from faceattend_tui.attendance import StoreError

    enroll_fake_people(tmp_path, ["Ann", "Bob"])
    station = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door")
    station.open()
    try:
        station.worker.ready()
        ann = next(p for p in station.people() if p.name == "Ann")
        station.start_session("Maths")

        def full(*args, **kwargs):
            raise StoreError("No space left on device")

        station.store.record_checkin = full
        station.worker.checkin(ann.folder)
        drain(station)
        station.stop_session()
        if then == "another session":
            station.start_session("Physics")
        del station.store.record_checkin  # room again
        said = [u.message for u in drain(station) if isinstance(u, Problem)]
        assert any(m.startswith("'Maths' ended before these check-ins could be written: Ann ") for m in said)
        assert [c for s in station.store.sessions() for c in station.store.checkins(s.id)] == []
    finally:
        station.close()


def test_an_arrival_kept_before_any_session_is_not_filed_into_one_that_began_later(tmp_path):
    """Work mode: Ann came at 08:50 while the disk refused; a meeting began at 08:55; once the disk allowed,
    she was checked in to the meeting at 08:50, before it began, and nothing was said."""
    from faceattend_tui.attendance import StoreError
    from faceattend_tui.live import events as ev

    enroll_fake_people(tmp_path, ["Ann", "Bob"])
    clock = FakeClock(datetime(2026, 9, 7, 8, 50).astimezone())
    station = Station(load_settings(tmp_path, {"mode": "work"}), "demo", worker_factory=FakeWorker, user="staff",
                      name="door", clock=clock)
    station.open()
    try:
        station.worker.ready()
        ann = next(p for p in station.people() if p.name == "Ann")

        def full(*args, **kwargs):
            raise StoreError("No space left on device")

        station.store.record_checkin = station.store.see = full
        station.worker.feed(ev.Checkin(name=ann.folder, similarity=0.8, track=1, time=clock().timestamp()))
        drain(station)
        clock.advance(minutes=5)
        meeting = station.start_session("Meeting")
        drain(station)  # its retry refused again, the meeting running
        del station.store.record_checkin, station.store.see  # room again
        drain(station)
        assert station.store.checkin(meeting.id, ann.id) is None
        day = datetime(2026, 9, 7).date()
        assert [(d.person_id, d.first_seen) for d in station.store.presence(day, day)] == [
            (ann.id, datetime(2026, 9, 7, 8, 50).astimezone())]  # her day counted from her arrival
    finally:
        station.close()


@pytest.mark.parametrize("refused_once", [False, True])
def test_an_arrival_is_checked_in_at_a_door_whose_clock_is_behind_the_one_that_started_the_session(
        tmp_path, monkeypatch, refused_once):
    """Another door, its clock 4 minutes ahead, opened "Maths" at its 10:55; Ann walked in here at 10:51 by this
    door's clock: she was taken for someone seen before the session and recorded nowhere (at once, and once the
    disk that refused her check-in once took it)."""
    enroll_fake_people(tmp_path, ["Ann", "Bob"])
    clock = FakeClock(datetime(2026, 9, 7, 10, 51).astimezone())
    station = Station(load_settings(tmp_path), "demo", worker_factory=FakeWorker, user="staff", name="door",
                      clock=clock)
    station.open()
    try:
        clock.advance(minutes=4)  # the other door's clock
        maths = station.start_session("Maths")
        clock.advance(minutes=-4)
        ann = next(p for p in station.people() if p.name == "Ann")
        real, calls = Attendance.check_in, []

        def full_at_first(self, *args, **kwargs):
            calls.append(1)
            if refused_once and len(calls) == 1:
                raise StoreError("No space left on device")
            return real(self, *args, **kwargs)

        monkeypatch.setattr(Attendance, "check_in", full_at_first)
        station.worker.checkin(ann.folder, when=clock().timestamp())
        shown = [u for u in drain(station) + drain(station) if isinstance(u, CheckinShown)]  # (its retry)
        assert [u.row.name for u in shown] == ["Ann"]
        assert station.store.checkin(maths.id, ann.id) is not None
    finally:
        station.close()


def test_someone_of_another_group_seated_as_the_session_begins_is_said_not_on_list_once(station):
    """Walking in, they are said "not on list" (see staff); seated in view as the session began, nothing was said."""
    from faceattend_tui.live import events as ev

    bob = person_id(station, "Bob")
    station._attendance().update_person(bob, groups=["choir"])
    station.worker.ready()
    ann = next(p.folder for p in station.people() if p.name == "Ann")
    station.worker.checkin(ann)  # recognised before the session
    drain(station)
    station.start_session("Choir", group="choir")  # Bob's group, not Ann's
    for minute in range(3):
        station.worker.feed(ev.Present(name=ann, track=1, time=time.time() + 60 * minute, similarity=0.7))
    assert [u.reason for u in drain(station) if isinstance(u, Sighting)] == ["not on list"]
    told = [c for c in station.worker.sent if isinstance(c, ev.ShowOutcome)]
    assert (told[-1].outcome, told[-1].detail) == ("not-on-list", ev.SEE_STAFF)
    assert station.summary().present == []
    cleo = next(p.folder for p in station.people() if p.name == "Cleo")
    station.worker.checkin(cleo)  # walks in: said then, not again a minute on, still in view
    station.worker.feed(ev.Present(name=cleo, track=2, time=time.time() + 60, similarity=0.7))
    assert [u.reason for u in drain(station) if isinstance(u, Sighting)] == ["not on list"]


def seated_at_the_start(station):
    from faceattend_tui.live import events as ev

    station.worker.ready()
    ann = person_id(station, "Ann")
    folder = next(p.folder for p in station.people() if p.id == ann)
    station.worker.checkin(folder)  # recognised before the session: nothing recorded
    drain(station)
    session = station.start_session("Physics")
    assert station.store.checkin(session.id, ann) is None
    life = {"state": "live", "blinks": 1}  # with the liveness check on: the fresh signs it waited for
    station.worker.feed(ev.Present(name=folder, track=1, time=time.time(), similarity=0.71, evidence=life))
    updates = drain(station)
    assert station.store.checkin(session.id, ann).evidence == life and station.summary().present == ["Ann"]
    assert any(getattr(u, "new", False) for u in updates)
    station.worker.feed(ev.Present(name=folder, track=1, time=time.time(), similarity=0.7))
    assert not any(getattr(u, "new", False) for u in drain(station))  # once: after that, only "still here"


def test_a_session_that_begins_asks_the_faces_in_view_to_say_so_at_once():
    from faceattend_tui.live.recognizer import PRESENT_EVERY, LiveRecognizer

    recognizer = LiveRecognizer.__new__(LiveRecognizer)
    track = type("T", (), {"present_at": 1000.0, "life_asked": -1.0})()
    recognizer.tracker = type("K", (), {"tracks": [track]})()
    recognizer.gate = None
    assert not recognizer._present_due(track, 1001.0)
    recognizer.announce_again()
    assert recognizer._present_due(track, 1001.0) and PRESENT_EVERY > 1


class WatchingGate:
    """A liveness gate that says a track is alive only once it was asked to watch it and then saw life."""

    def __init__(self):
        self.watched, self.lively = set(), set()

    def watch(self, track_id):
        self.watched.add(track_id)
        self.lively.discard(track_id)  # what it saw before does not count

    def alive(self, track_id):
        return track_id in self.watched and track_id in self.lively


@pytest.mark.parametrize("asked_before", [None, 1030.0])
def test_with_the_liveness_check_on_a_face_in_view_as_a_session_begins_says_so_after_fresh_signs_of_life(
        asked_before):
    """A live face checked in less than a minute before the start was never due again: the gate was asked
    whether an unwatched track was alive (never), for as long as it stayed. One asked for life a while before
    was due at once, on that old answer: a picture left where the face was got checked in."""
    from faceattend_tui.live.recognizer import LiveRecognizer

    recognizer = LiveRecognizer.__new__(LiveRecognizer)
    track = type("T", (), {"id": 7, "present_at": 1000.0, "life_asked": -1.0})()
    recognizer.tracker = type("K", (), {"tracks": [track]})()
    recognizer.gate = gate = WatchingGate()
    if asked_before is not None:
        track.life_asked = asked_before
        gate.watch(7)
        gate.lively.add(7)  # alive then, 10 s before the start; a still picture since
    recognizer.announce_again()
    assert not recognizer._present_due(track, 1040.0)  # asked for fresh life first
    assert not recognizer._present_due(track, 1041.0)  # none yet: a picture stays unannounced
    gate.lively.add(7)
    assert recognizer._present_due(track, 1042.0)


def test_the_station_log_says_when_the_camera_went_down_and_came_back_once_each(station):
    from faceattend_tui.live import events as ev

    station.worker.feed(ev.CameraStatus(state="opened", message="opened camera 0", source="0"))
    station.worker.feed(ev.CameraStatus(state="lost", message="lost camera 0: read failed", source="0"))
    for _ in range(3):
        station.worker.feed(ev.CameraStatus(state="reconnecting", message="trying again at 08:00:10", source="0"))
    station.worker.feed(ev.CameraStatus(state="opened", message="opened camera 0", source="0"))
    drain(station)
    lines = (station.settings.data / "station.log").read_text(encoding="utf-8").splitlines()
    said = [line.split(": ", 1)[1] for line in lines if "camera" in line]
    assert said == ["camera down: lost camera 0: read failed", "camera back: opened camera 0"]
