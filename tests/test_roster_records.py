"""The roster is records: nobody leaves or comes back because template files changed.

Lost manifests, folders deleted or restored by hand, imports cut short: each either repairs itself
from the photos or stops with the one command that repairs it, and nobody's status changes.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import cv2
import pytest
from fakes import FakeWorker

from faceattend_tui.attendance import Attendance, Person, open_snapshot, open_store
from faceattend_tui.attendance.security import audit
from faceattend_tui.cli import main
from faceattend_tui.config import load_settings
from faceattend_tui.gallery.templates import load_manifest
from faceattend_tui.station import Station, StationError


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def people_of(data: Path) -> dict:
    with open_snapshot(data) as store:
        return {p.id: p for p in store.people()}


@pytest.fixture
def enrolled(tmp_path, sample_photo, portrait, models_dir, capsys) -> Path:
    """A data root with two people imported with their photos (templates extracted) and one without."""
    data = tmp_path / "data"
    shutil.copy(sample_photo("yaoming.jpg"), tmp_path / "yao.jpg")
    shutil.copy(portrait("gdp.jpg"), tmp_path / "gdp.jpg")
    roster = write_csv(tmp_path / "roster.csv", ["id,name,groups,photo", "S1,Yao Ming,3A,yao.jpg",
                                                 "S2,Ann Lee,3A,gdp.jpg", "S3,Bob Marr,3B,"])
    assert main(["people", "import", str(roster), "--data", str(data), "--device", "cpu"]) == 0
    capsys.readouterr()
    return data


def open_station(data: Path) -> Station:
    station = Station(load_settings(data, {"device": "cpu"}), "demo", worker_factory=FakeWorker, user="staff")
    station.open()
    return station


def test_a_lost_manifest_stops_the_station_naming_extract_and_marks_nobody_left(enrolled):
    (enrolled / "database_tensor" / "manifest.json").unlink()
    before = people_of(enrolled)
    with pytest.raises(StationError, match=r"manifest.json is missing.*faceattend extract --data"):
        open_station(enrolled)
    assert people_of(enrolled) == before and all(p.active for p in before.values())
    assert main(["extract", "--data", str(enrolled), "--device", "cpu"]) == 0
    station = open_station(enrolled)  # rebuilt from the photos: it starts
    try:
        assert station.missing_notice() == ""
    finally:
        station.close()
    assert all(p.active for p in people_of(enrolled).values())


@pytest.mark.parametrize("damage", ["deleted", "cut short"])
def test_one_template_file_deleted_or_cut_short_stops_the_station_naming_extract(enrolled, damage):
    """The manifest still lists Yao Ming: without this he would be absent all day, unrecognisable."""
    npy = enrolled / "database_tensor" / "S1.npy"
    if damage == "deleted":
        npy.unlink()
    else:
        npy.write_bytes(npy.read_bytes()[:-100])
    with pytest.raises(StationError, match=r"templates of 1 person are missing \(Yao Ming \(S1\)\).*extract"):
        open_station(enrolled)
    assert main(["extract", "--data", str(enrolled), "--device", "cpu"]) == 0
    open_station(enrolled).close()  # rebuilt from the photo: it starts


def test_a_damaged_manifest_stops_the_station_with_the_reason(enrolled):
    (enrolled / "database_tensor" / "manifest.json").write_text("{ not json")
    with pytest.raises(StationError, match="faceattend extract"):
        open_station(enrolled)
    assert all(p.active for p in people_of(enrolled).values())


def test_a_folder_deleted_by_hand_keeps_the_person_and_the_station_says_so(enrolled):
    shutil.rmtree(enrolled / "database_image" / "S2")
    (enrolled / "database_tensor" / "S2.npy").unlink()
    assert main(["extract", "--data", str(enrolled), "--device", "cpu"]) == 0  # S2 drops out of the manifest
    station = open_station(enrolled)
    try:
        notice = station.missing_notice()
        assert "Ann Lee (S2)" in notice and "enroll them again" in notice
    finally:
        station.close()
    assert people_of(enrolled)["S2"].state == "active"


def test_an_import_cut_short_is_completed_by_running_it_again(enrolled, tmp_path, capsys):
    shutil.rmtree(enrolled / "database_tensor")  # killed before the templates were written
    roster = tmp_path / "roster.csv"
    assert main(["people", "import", str(roster), "--data", str(enrolled), "--device", "cpu"]) == 0
    assert "photos: 0 new of 2" in capsys.readouterr().out
    assert {p.id: p.images for p in people_of(enrolled).values()} == {"S1": 1, "S2": 1, "S3": 0}
    assert sorted(p.name for p in (enrolled / "database_tensor").glob("*.npy")) == ["S1.npy", "S2.npy"]


def test_an_import_keeps_out_people_who_left_unless_asked(enrolled, tmp_path, capsys):
    assert main(["people", "remove", "S1", "--data", str(enrolled)]) == 0
    roster = tmp_path / "roster.csv"
    assert main(["people", "import", str(roster), "--data", str(enrolled), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "S1 Yao Ming left on" in out and "kept out; --reactivate to bring back" in out
    assert people_of(enrolled)["S1"].state == "left" and not (enrolled / "database_image" / "S1").exists()
    assert main(["people", "import", str(roster), "--reactivate", "--data", str(enrolled), "--device", "cpu"]) == 0
    assert "brought back S1 Yao Ming" in capsys.readouterr().out
    assert people_of(enrolled)["S1"].active and people_of(enrolled)["S1"].images == 1


def test_an_import_with_sync_marks_the_missing_as_left_only_when_confirmed(enrolled, tmp_path, capsys):
    short = write_csv(tmp_path / "short.csv", ["id,name,groups", "S1,Yao Ming,3A", "S2,Ann Lee,3A"])
    assert main(["people", "import", str(short), "--sync", "--dry-run", "--data", str(enrolled)]) == 0
    out = capsys.readouterr()
    assert "marked as left (not in the file): S3 Bob Marr" in out.out and "nothing was changed" in out.err
    assert people_of(enrolled)["S3"].active
    assert main(["people", "import", str(short), "--sync", "--data", str(enrolled)]) == 2  # no terminal to ask
    assert "--yes" in capsys.readouterr().err and people_of(enrolled)["S3"].active
    assert main(["people", "import", str(short), "--sync", "--yes", "--data", str(enrolled)]) == 0
    assert people_of(enrolled)["S3"].state == "left"


def test_an_import_with_sync_cut_short_as_a_leavers_files_go_leaves_them_on_the_roster_for_the_rerun(
        enrolled, tmp_path, capsys, monkeypatch):
    """Killed after the log marked Ann as left but before her photos and templates went, the import left them
    for good: a rerun saw nobody leave, and a time clock kept recording her."""
    from faceattend_tui.station import people

    class PowerCut(BaseException):
        pass

    short = write_csv(tmp_path / "short.csv", ["id,name,groups", "S1,Yao Ming,3A", "S3,Bob Marr,3B"])
    forget = people._forget_photos
    monkeypatch.setattr(people, "_forget_photos", lambda *a, **k: (_ for _ in ()).throw(PowerCut()))
    with pytest.raises(PowerCut):  # cut short as her files go
        main(["people", "import", str(short), "--sync", "--yes", "--data", str(enrolled)])
    monkeypatch.setattr(people, "_forget_photos", forget)
    assert people_of(enrolled)["S2"].active and (enrolled / "database_tensor" / "S2.npy").exists()
    assert main(["people", "import", str(short), "--sync", "--yes", "--data", str(enrolled)]) == 0
    assert people_of(enrolled)["S2"].state == "left"
    assert not (enrolled / "database_tensor" / "S2.npy").exists() and not (enrolled / "database_image" / "S2").exists()


def test_an_import_with_sync_asks_its_question_before_the_data_is_held(enrolled, tmp_path, capsys, monkeypatch):
    """Whoever reads the list of those leaving must not keep a station from starting meanwhile; a roster
    whose people changed while they read is not imported on that answer."""
    import sys

    from faceattend_tui.attendance import acquire_lock

    short = write_csv(tmp_path / "short.csv", ["id,name,groups", "S1,Yao Ming,3A", "S2,Ann Lee,3A"])
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)

    def station_starts_meanwhile(prompt: str = "") -> str:
        assert "S3 Bob Marr" in prompt
        acquire_lock(enrolled, what="station").release()
        return "y"

    monkeypatch.setattr("builtins.input", station_starts_meanwhile)
    assert main(["people", "import", str(short), "--sync", "--data", str(enrolled), "--device", "cpu"]) == 0
    assert people_of(enrolled)["S3"].state == "left"
    shorter = write_csv(tmp_path / "shorter.csv", ["id,name,groups", "S1,Yao Ming,3A"])

    def someone_joins_meanwhile(prompt: str = "") -> str:
        assert "S2 Ann Lee" in prompt
        with open_store(enrolled) as store:  # added at the office while the answer was typed
            Attendance(store).add_person("Dev Rao", person_id="S9", groups=["3A"])
        return "y"

    monkeypatch.setattr("builtins.input", someone_joins_meanwhile)
    capsys.readouterr()
    assert main(["people", "import", str(shorter), "--sync", "--data", str(enrolled), "--device", "cpu"]) == 2
    assert "changed while the question was asked: nothing imported" in capsys.readouterr().err
    assert people_of(enrolled)["S1"].active and people_of(enrolled)["S2"].active


def test_a_roster_photo_swapped_while_the_question_waits_is_not_copied(enrolled, tmp_path, capsys, monkeypatch):
    """The photo checked (none else's) must be the photo stored: one replaced by Ann's own photo while the
    question about those leaving waited got in under the newcomer's name."""
    import sys

    import cv2

    cv2.imwrite(str(tmp_path / "new.jpg"), cv2.flip(cv2.imread(str(tmp_path / "yao.jpg")), 1))  # a photo of its own
    roster = write_csv(tmp_path / "next.csv", ["id,name,groups,photo", "S1,Yao Ming,3A,yao.jpg",
                                               "S2,Ann Lee,3A,gdp.jpg", "S9,Nina New,3A,new.jpg"])
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)

    def swapped_meanwhile(prompt: str = "") -> str:
        shutil.copy(tmp_path / "gdp.jpg", tmp_path / "new.jpg")  # Ann's photo, put in its place
        return "y"

    monkeypatch.setattr("builtins.input", swapped_meanwhile)
    assert main(["people", "import", str(roster), "--sync", "--data", str(enrolled), "--device", "cpu"]) == 1
    said = capsys.readouterr()
    assert "not copied: " not in said.out  # named once, on stderr, as a photo skipped is
    assert said.err.count("new.jpg: changed since the roster was checked") == 1 and "not copied: " in said.err
    assert not (enrolled / "database_image" / "S9").exists() or not list((enrolled / "database_image" / "S9").iterdir())


def test_a_roster_import_that_fills_the_disk_says_who_is_in_and_which_photos_are_not(tmp_path, sample_photo,
                                                                                     portrait, models_dir, capsys,
                                                                                     monkeypatch):
    """A full disk while the photos were copied: only 'could not write attendance log' was said, though
    everyone was added and some photos copied, and nothing said to import again."""
    import errno

    import cv2

    import faceattend_tui.station.people as people_module

    shutil.copy(sample_photo("yaoming.jpg"), tmp_path / "yao.jpg")
    shutil.copy(portrait("gdp.jpg"), tmp_path / "gdp.jpg")
    cv2.imwrite(str(tmp_path / "bob.jpg"), cv2.flip(cv2.imread(str(tmp_path / "yao.jpg")), 1))
    roster = write_csv(tmp_path / "roster.csv", ["id,name,groups,photo", "S1,Yao Ming,3A,yao.jpg",
                                                 "S2,Ann Lee,3A,gdp.jpg", "S3,Bob Marr,3B,bob.jpg"])

    def disk_full(path, data, mode=0o600):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(people_module, "atomic_write", disk_full)
    data = tmp_path / "data"
    assert main(["people", "import", str(roster), "--data", str(data), "--device", "cpu"]) == 1
    said = capsys.readouterr()
    assert "added 3" in said.out
    assert "yao.jpg: could not be copied into " in said.err and "No space left on device" in said.err
    assert "import the file again" in said.err and "2 more photos not tried" in said.err
    assert set(people_of(data)) == {"S1", "S2", "S3"}


def test_an_import_whose_templates_and_log_meet_a_full_disk_says_the_people_are_in(tmp_path, sample_photo,
                                                                                   models_dir, capsys, monkeypatch):
    """Only 'could not write attendance log' was said: not that everyone was added, nor what to do."""
    import errno
    import os

    import faceattend_tui.gallery.extract as extract_module

    shutil.copy(sample_photo("yaoming.jpg"), tmp_path / "yao.jpg")
    roster = write_csv(tmp_path / "roster.csv", ["id,name,groups,photo", "S1,Yao Ming,3A,yao.jpg", "S2,Ann Lee,3A,"])
    real_open, disk_full = os.open, []

    def no_room(path, flags, *args, **kw):
        if disk_full and os.fsdecode(path).startswith(str(data / ".attendance.json.")):  # the log's rewrite
            raise OSError(errno.ENOSPC, "No space left on device", os.fsdecode(path))
        return real_open(path, flags, *args, **kw)

    def full(path, content):  # from the first template on, the disk is full
        disk_full.append(path)
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    data = tmp_path / "data"
    monkeypatch.setattr(extract_module, "write_atomic", full)
    monkeypatch.setattr(os, "open", no_room)
    assert main(["people", "import", str(roster), "--data", str(data), "--device", "cpu"]) == 2
    monkeypatch.undo()
    said = capsys.readouterr()
    assert "added 2" in said.out
    assert "the people are in, but their photos' templates could not be made: " in said.err
    assert "run the import again" in said.err and "then could not write attendance log" in said.err
    assert set(people_of(data)) == {"S1", "S2"}  # kept in the journal


def test_extract_puts_dropped_in_photos_on_the_roster_and_waits_for_no_station(enrolled, sample_photo, capsys):
    folder = enrolled / "database_image" / "Carla Diaz"
    folder.mkdir()
    shutil.copy(sample_photo("yaoming.jpg"), folder / "1.jpg")
    station = open_station(enrolled)
    try:
        assert main(["extract", "--data", str(enrolled), "--device", "cpu"]) == 2
        assert "stop the station" in capsys.readouterr().err
    finally:
        station.close()
    assert main(["extract", "--data", str(enrolled), "--device", "cpu"]) == 0
    assert "on the roster now: p-" in capsys.readouterr().err
    carla = [p for p in people_of(enrolled).values() if p.name == "Carla Diaz"]
    assert len(carla) == 1 and carla[0].images == 1 and carla[0].folder == "Carla Diaz"


def test_people_restore_brings_back_those_an_old_automatic_sync_marked_left(enrolled, capsys):
    with open_store(enrolled) as store:
        att = Attendance(store)
        att.remove_person("S2")  # someone's action
        now = store.now()  # what an earlier version did when a manifest was lost:
        store.save_person(dataclasses.replace(att.person("S1"), state="left", left_at=now, images=0))
        audit(store, "people.sync", {"added": 0, "removed": ["S1"]}, "station")
    assert main(["people", "restore", "--data", str(enrolled)]) == 2  # lists, then asks: no terminal
    out = capsys.readouterr()
    assert "S1" in out.out and "S2" not in out.out and "--yes" in out.err
    assert main(["people", "restore", "--yes", "--data", str(enrolled)]) == 0
    assert "brought back S1 Yao Ming" in capsys.readouterr().out
    people = people_of(enrolled)
    assert people["S1"].active and people["S2"].state == "left"
    assert main(["people", "restore", "S2", "--data", str(enrolled)]) == 0
    assert people_of(enrolled)["S2"].active
    assert main(["people", "restore", "S3", "--data", str(enrolled)]) == 2
    assert "not left; nobody was brought back" in capsys.readouterr().err


def test_an_import_whose_photo_gives_no_template_says_so_on_stderr_and_exits_1(enrolled, tmp_path, capsys):
    """A script must see that someone imported cannot be recognised (exit 1: done, some inputs skipped)."""
    import cv2
    import numpy as np

    cv2.imwrite(str(tmp_path / "wall.jpg"), np.full((200, 160, 3), 128, np.uint8))
    roster = write_csv(tmp_path / "more.csv", ["id,name,groups,photo", "S4,Dee Ross,3B,wall.jpg"])
    assert main(["people", "import", str(roster), "--data", str(enrolled), "--device", "cpu"]) == 1
    out, err = capsys.readouterr()
    assert "added S4 Dee Ross" in out and "skipped:" not in out
    assert "wall.jpg" not in out and "no usable face found" in err and "roster-" in err


def test_a_roster_photo_named_as_a_browser_saves_it_is_extracted(enrolled, tmp_path, portrait, capsys):
    """A JPEG saved as "yao.jfif" (or with no suffix) used to be copied under that name and never read again."""
    for photo, saved_as in (("yaoming.jpg", "yao.jfif"), ("gdp.jpg", "gdp-no-suffix")):  # mirrored: not S1's or S2's
        cv2.imwrite(str(tmp_path / "mirrored.jpg"), cv2.flip(cv2.imread(str(portrait(photo))), 1))
        (tmp_path / "mirrored.jpg").rename(tmp_path / saved_as)
    roster = write_csv(tmp_path / "web.csv", ["id,name,groups,photo", "S5,Yao Jfif,3B,yao.jfif",
                                              "S6,Gdp Plain,3B,gdp-no-suffix"])
    assert main(["people", "import", str(roster), "--data", str(enrolled), "--device", "cpu"]) == 0
    assert [p.suffix for p in sorted((enrolled / "database_image" / "S5").iterdir())] == [".jpg"]
    samples = load_manifest(enrolled / "database_tensor").people
    assert len(samples["S5"].samples) == 1 and len(samples["S6"].samples) == 1


def test_a_photo_already_enrolled_as_someone_elses_is_refused(enrolled, tmp_path, sample_photo, capsys):
    shutil.copy(sample_photo("yaoming.jpg"), tmp_path / "new.jpg")  # Yao Ming's photo, under another name
    roster = write_csv(tmp_path / "more.csv", ["id,name,groups,photo", "S7,Cy Fox,3B,new.jpg"])
    assert main(["people", "import", str(roster), "--data", str(enrolled), "--device", "cpu"]) == 2
    assert "line 2: this photo is already Yao Ming (S1)'s" in capsys.readouterr().err
    assert "S7" not in people_of(enrolled)
    again = tmp_path / "roster.csv"  # the first roster, S1 with this very photo: still fine
    assert main(["people", "import", str(again), "--data", str(enrolled), "--device", "cpu"]) == 0


def test_a_photo_named_after_someone_counts_as_photos_to_rebuild_their_templates_from(tmp_path, sample_photo):
    """The original layout, database_image/Yao Ming.jpg: a deleted template stops the station as for a folder."""
    data = tmp_path / "data"
    (data / "database_image").mkdir(parents=True)
    shutil.copy(sample_photo("yaoming.jpg"), data / "database_image" / "Yao Ming.jpg")
    assert main(["extract", "--data", str(data), "--device", "cpu"]) == 0
    (data / "database_tensor" / "Yao Ming.npy").unlink()
    with pytest.raises(StationError, match=r"templates of 1 person are missing \(Yao Ming .*extract"):
        open_station(data)


def doctor_says(data: Path, capsys, *flags: str) -> tuple[int, list[str]]:
    code = main(["doctor", "--data", str(data), "--cameras", "0", "--device", "cpu", *flags])
    return code, [line for line in capsys.readouterr().out.splitlines() if line.startswith(("log:", "templates:"))]


def test_doctor_fails_on_a_data_root_the_station_would_refuse(enrolled, capsys):
    assert doctor_says(enrolled, capsys) == (0, ["log:        attendance.json in the data root (one station)",
                                                 "templates:  2 people enrolled, 3 on the roster"])
    (enrolled / "database_tensor" / "S1.npy").unlink()
    code, lines = doctor_says(enrolled, capsys)
    assert code == 1 and "MISSING for 1 of 3 people (Yao Ming (S1)): run `faceattend extract`" in lines[-1]
    (enrolled / "attendance.json").write_text("{broken", encoding="utf-8")
    code, lines = doctor_says(enrolled, capsys)
    assert code == 1 and lines[-1].startswith("log:        CANNOT READ: attendance log")


def test_doctor_says_a_log_of_an_earlier_release_is_upgraded_at_the_next_start_and_leaves_it_as_it_was(enrolled,
                                                                                                       capsys):
    log = enrolled / "attendance.json"
    document = json.loads(log.read_text(encoding="utf-8"))
    document["meta"]["1"]["schema_version"] = 3  # as the release before wrote it
    log.write_text(json.dumps(document), encoding="utf-8")
    before = log.read_bytes()
    code, lines = doctor_says(enrolled, capsys)
    assert code == 0 and ("log:        attendance.json is of schema 3 (an earlier release): the station's next start "
                          "upgrades it to 4, keeping a copy as attendance.json.schema3.bak (with its journal's, if "
                          "it has one)") in lines
    assert log.read_bytes() == before and not (enrolled / "attendance.json.schema3.bak").exists()


def test_doctor_fails_where_the_templates_were_made_by_another_recogniser(enrolled, capsys):
    (enrolled / "models").mkdir()
    (enrolled / "models" / "other.onnx").write_bytes(b"another model")
    code, lines = doctor_says(enrolled, capsys, "--recognizer", "other.onnx")
    assert code == 1 and any("made by w600k_mbf, not other.onnx (MISMATCH)" in line for line in lines)


def test_doctor_says_when_the_recognisers_file_changed_under_the_same_name(enrolled, capsys):
    from faceattend_tui.gallery.templates import load_manifest, save_manifest
    from faceattend_tui.vision.identity import RecognizerId

    tensors = enrolled / "database_tensor"
    manifest = load_manifest(tensors)
    manifest.recognizer = RecognizerId("my.onnx", "1" * 64, 512)  # extracted with my.onnx as it was then
    save_manifest(tensors, manifest)
    (enrolled / "models").mkdir()
    (enrolled / "models" / "my.onnx").write_bytes(b"a retrained model under the old name")
    code, lines = doctor_says(enrolled, capsys, "--recognizer", "my.onnx")
    assert code == 1 and any("made by my.onnx as it was before: the file has changed since" in line for line in lines)


def test_people_list_says_whose_templates_are_gone(enrolled, capsys):
    shutil.rmtree(enrolled / "database_image" / "S1")
    assert main(["extract", "--data", str(enrolled), "--device", "cpu"]) == 0  # removes the templates of S1
    capsys.readouterr()
    assert main(["people", "list", "--data", str(enrolled)]) == 0
    yao = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("S1 "))
    assert yao.endswith("(photos and templates gone: put the photos back, enroll again, or people remove)")
    assert main(["people", "list", "--data", str(enrolled), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["id"]: r["templates"] for r in rows} == {"S1": 0, "S2": 1, "S3": 0}
    (enrolled / "database_tensor" / "S2.npy").unlink()  # her photos are still there
    assert main(["people", "list", "--data", str(enrolled)]) == 0
    ann = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("S2 "))
    assert ann.endswith("(templates gone: run faceattend extract)")


def test_photos_of_someone_who_left_put_back_are_never_matched_until_they_are_restored(enrolled, capsys):
    """A backup of database_image/ restored: extract made her templates again without a word, and the door
    said "check-in Ann Lee" for someone whose arrival it does not record."""
    photos = enrolled.parent / "ann-backup"
    shutil.copytree(enrolled / "database_image" / "S2", photos)
    assert main(["people", "remove", "S2", "--data", str(enrolled)]) == 0
    shutil.copytree(photos, enrolled / "database_image" / "S2")
    capsys.readouterr()
    assert main(["extract", "--data", str(enrolled), "--device", "cpu"]) == 1  # done, one folder skipped
    err = capsys.readouterr().err
    assert "database_image/S2 are of S2 Ann Lee, who left on" in err and "people restore S2" in err
    assert "S2" not in load_manifest(enrolled / "database_tensor").people
    assert main(["people", "restore", "S2", "--data", str(enrolled)]) == 0
    assert main(["extract", "--data", str(enrolled), "--device", "cpu"]) == 0
    assert "S2" in load_manifest(enrolled / "database_tensor").people and people_of(enrolled)["S2"].active


def test_someone_brought_back_takes_new_photos_in_a_folder_named_by_their_id(enrolled, portrait, capsys):
    """Their old folder went when they left; restored, new photos in database_image/S2/ were refused as
    "named by the id of S2, whose photos are in database_image/..." (a folder that is no more)."""
    images = enrolled / "database_image"
    (images / "Cleo Diaz").mkdir()  # she came in by a folder of her name; the roster gave her the id S4
    shutil.copy(portrait("gdp.jpg"), images / "Cleo Diaz" / "1.jpg")
    assert main(["extract", "--data", str(enrolled), "--device", "cpu"]) == 0
    roster = write_csv(enrolled.parent / "more.csv", ["id,name,groups", "S4,Cleo Diaz,3B"])
    assert main(["people", "import", str(roster), "--data", str(enrolled)]) == 0
    assert main(["people", "remove", "S4", "--data", str(enrolled)]) == 0
    assert main(["people", "restore", "S4", "--data", str(enrolled)]) == 0
    (images / "S4").mkdir()
    shutil.copy(portrait("gdp.jpg"), images / "S4" / "new.jpg")
    capsys.readouterr()
    assert main(["extract", "--data", str(enrolled), "--device", "cpu"]) == 0, capsys.readouterr().err
    assert people_of(enrolled)["S4"].images == 1 and "S4" in load_manifest(enrolled / "database_tensor").people


@pytest.mark.parametrize("spelt", ["S4", "s4"])
def test_more_photos_in_a_folder_named_by_her_id_make_no_second_person(enrolled, portrait, capsys, spelt):
    """Cleo came in by a photo folder of her name and a roster import gave her the school's id S4; photos
    then dropped in database_image/S4/ (as the README offers) made a new person "S4": seen by the camera
    as S4, she was marked absent from her own session."""
    images = enrolled / "database_image"
    (images / "Cleo Diaz").mkdir()
    shutil.copy(portrait("gdp.jpg"), images / "Cleo Diaz" / "1.jpg")
    assert main(["extract", "--data", str(enrolled), "--device", "cpu"]) == 0
    roster = write_csv(enrolled.parent / "more.csv", ["id,name,groups", "S4,Cleo Diaz,3B"])
    assert main(["people", "import", str(roster), "--data", str(enrolled)]) == 0
    (images / spelt).mkdir()
    shutil.copy(portrait("gdp.jpg"), images / spelt / "2.jpg")
    capsys.readouterr()
    assert main(["extract", "--data", str(enrolled), "--device", "cpu"]) == 1
    err = capsys.readouterr().err
    assert f"database_image/{spelt} is named by the id of S4 Cleo Diaz, whose photos are in database_image/Cleo Diaz" \
        in err
    people = people_of(enrolled)
    assert sorted(people) == ["S1", "S2", "S3", "S4"] and people["S4"].folder == "Cleo Diaz"
    assert spelt not in load_manifest(enrolled / "database_tensor").people
    code, lines = doctor_says(enrolled, capsys)
    assert any(f"database_image/{spelt} is named by the id of S4" in line for line in lines), lines


def test_doctor_passes_where_the_station_starts_and_fails_where_it_does_not(enrolled, tmp_path, capsys):
    named = tmp_path / "Lost and MISSING items"  # a failure word in the path is not a failure
    shutil.copytree(enrolled, named)
    assert doctor_says(named, capsys)[0] == 0
    assert main(["people", "remove", "S2", "--data", str(named)]) == 0  # Ann Lee left: her photos went
    shutil.copytree(enrolled / "database_image" / "S2", named / "database_image" / "S2")  # put back by hand
    assert doctor_says(named, capsys)[0] == 0  # the station leaves someone who left alone, and so does doctor
    shutil.copytree(enrolled / "database_image" / "S1", named / "database_image" / "Newcomer")  # not extracted
    code, lines = doctor_says(named, capsys)
    assert code == 0 and any("wait with no templates" in line and "Newcomer" in line for line in lines), lines
    assert main(["people", "remove", "S2", "--erase", "--data", str(named)]) == 0
    shutil.copytree(enrolled / "database_image" / "S2", named / "database_image" / "S2")  # an older backup
    code, lines = doctor_says(named, capsys)  # as the station says it, not "run extract"
    assert any("database_image/S2 were someone's who was erased: not taken in" in line for line in lines), lines
    assert not any("wait with no templates" in line and "S2" in line for line in lines), lines
    (named / "attendance.json").unlink()
    (named / "attendance.journal").write_text("{}\n", encoding="utf-8")  # a crash, then the log lost
    code, lines = doctor_says(named, capsys)
    assert code == 1 and "is missing while" in lines[-1] and "attendance.journal" in lines[-1]


def test_a_dry_run_on_a_new_data_folder_writes_nothing_and_says_what_would_be_done(tmp_path, sample_photo, capsys):
    shutil.copy(sample_photo("yaoming.jpg"), tmp_path / "yao.jpg")
    roster = write_csv(tmp_path / "roster.csv", ["id,name,groups,photo", "S1,Yao Ming,3A,yao.jpg"])
    data = tmp_path / "new"
    data.mkdir()
    assert main(["people", "import", str(roster), "--dry-run", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "an import would make these changes" in out and "photos: 1 to copy" in out
    assert list(data.iterdir()) == []  # not even an empty log
    assert main(["people", "import", str(roster), "--data", str(data), "--device", "cpu"]) == 0
    capsys.readouterr()
    assert main(["people", "import", str(roster), "--dry-run", "--data", str(data)]) == 0
    assert "photos: 0 to copy (1 already in place)" in capsys.readouterr().out  # importing twice changes nothing


def test_a_roster_writing_a_name_without_its_accents_or_with_a_curly_apostrophe_claims_the_person_with_photos(
        tmp_path):
    """A school system that writes only ASCII, a spreadsheet that curls apostrophes: the pupils whose photo
    folders are already enrolled are these people, not new ones absent at the door."""
    from faceattend_tui.attendance.roster import RosterLine, apply_import, plan_import

    with open_store(tmp_path / "data") as store:
        attendance = Attendance(store)
        zoe = attendance.add_person("Zoë Ünal", folder="Zoë Ünal")
        brien = attendance.add_person("O'Brien", folder="O'Brien")
        lines = [RosterLine(7, "S1", "Zoe Unal", ("3A",), None), RosterLine(8, "S7", "O’Brien", ("3A",), None)]
        plan = plan_import(attendance, lines)
        assert sorted(plan.claimed) == sorted([(zoe.id, "S1"), (brien.id, "S7")]) and plan.added == []
        apply_import(attendance, plan)
        assert attendance.person("S1").folder == "Zoë Ünal" and attendance.person("S7").folder == "O'Brien"
        assert sorted(p.id for p in attendance.people()) == ["S1", "S7"]


def test_a_roster_name_with_other_accents_is_another_person_not_a_claim_on_their_photos(tmp_path):
    """Thư Hà and Thu Hà are two pupils: Thu Hà's roster line took Thư Hà's photos, and she checked in as
    Thu Hà every day while he was marked absent."""
    from faceattend_tui.attendance.roster import RosterLine, plan_import

    with open_store(tmp_path / "data") as store:
        attendance = Attendance(store)
        attendance.add_person("Thư Hà", folder="Thư Hà")
        plan = plan_import(attendance, [RosterLine(2, "S9", "Thu Hà", ("3A",), None)])
        assert plan.claimed == [] and [p.name for p in plan.added] == ["Thu Hà"]
        exact = plan_import(attendance, [RosterLine(2, "S9", "Thu Hà", ("3A",), None),
                                         RosterLine(3, "S10", "thư  hà", ("3B",), None)])
        assert [new for _, new in exact.claimed] == ["S10"]  # the one written as the folder is, case aside


def test_a_command_that_erases_or_edits_someone_never_guesses_at_another_spelling(tmp_path, capsys):
    data = tmp_path / "data"
    with open_store(data) as store:
        Attendance(store).add_person("Lê Hà", person_id="S9")
    assert main(["people", "remove", "Lệ Hà", "--erase", "--data", str(data)]) == 2
    assert "did you mean Lê Hà (S9)? give the id" in capsys.readouterr().err
    assert main(["people", "edit", "Le Ha", "--groups", "3C", "--data", str(data)]) == 2
    with open_store(data) as store:
        assert store.person("S9") is not None and store.person("S9").groups == ()


def test_the_enroll_dialog_finds_a_name_typed_without_accents_but_not_another_spelling():
    from datetime import datetime

    from faceattend_tui.station.enrollee import by_name

    now = datetime.now().astimezone()
    people = [Person("S9", "Thu Hà", now), Person("S1", "Zoë Ünal", now)]
    assert [p.id for p in by_name(people, "zoe unal")] == ["S1"]  # typed quickly, without accents
    assert by_name(people, "Thư Hà") == []  # a new pupil: not "adds samples to Thu Hà (S9)"
    assert [p.id for p in by_name(people, "THU  HÀ")] == ["S9"]


def test_a_folder_spelt_exactly_by_a_later_line_is_that_lines_whatever_the_order(tmp_path):
    """"Thu Ha" (an ASCII line) above "Thư Hà" took Thư Hà's folder because it came first."""
    from faceattend_tui.attendance.roster import RosterLine, plan_import

    with open_store(tmp_path / "data") as store:
        attendance = Attendance(store)
        thu = attendance.add_person("Thư Hà", folder="Thư Hà")
        zoe = attendance.add_person("Zoë O'Brien", folder="Zoë O'Brien")
        lines = [RosterLine(2, "C1", "Thu Ha", ("3A",), None), RosterLine(3, "C2", "Thư Hà", ("3B",), None),
                 RosterLine(4, "C3", "Zoe O’Brien", ("3A",), None)]  # no accent, a spreadsheet's apostrophe
        plan = plan_import(attendance, lines)
        assert sorted(plan.claimed) == sorted([(thu.id, "C2"), (zoe.id, "C3")])
        assert [p.name for p in plan.added] == ["Thu Ha"]


def test_an_import_never_merges_a_namesake_who_already_has_an_organisation_id(tmp_path):
    """S7 Tom Hart on the roster and a new S8 Tom Hart in the file: S8 took over S7, and S7 was gone."""
    from faceattend_tui.attendance.roster import RosterLine, apply_import, plan_import

    with open_store(tmp_path / "data") as store:
        attendance = Attendance(store)
        attendance.add_person("Tom Hart", person_id="S7", groups=["3A"])
        lines = [RosterLine(2, "S7", "Tom Hart", ("3A",), None), RosterLine(3, "S8", "Tom Hart", ("3B",), None)]
        plan = plan_import(attendance, lines, sync=True)
        assert plan.claimed == [] and [p.id for p in plan.added] == ["S8"] and plan.leaving == []
        apply_import(attendance, plan)
        assert [(p.id, p.name, p.groups) for p in attendance.people()] == [("S7", "Tom Hart", ("3A",)),
                                                                           ("S8", "Tom Hart", ("3B",))]


def test_an_import_with_sync_keeps_active_the_person_a_line_claimed_by_name(tmp_path):
    """Ann Lee, known by her photo folder, claimed by the line S1: --sync also marked her as left."""
    from faceattend_tui.attendance.roster import RosterLine, apply_import, plan_import

    with open_store(tmp_path / "data") as store:
        attendance = Attendance(store)
        ann = attendance.add_person("Ann Lee", folder="ann lee")
        plan = plan_import(attendance, [RosterLine(2, "S1", "Ann Lee", ("3A",), None)], sync=True)
        assert plan.claimed == [(ann.id, "S1")] and plan.leaving == []
        apply_import(attendance, plan)
        assert [(p.id, p.state) for p in attendance.people(include_left=True)] == [("S1", "active")]


def test_the_audit_names_everyone_a_large_import_added_and_marked_as_left(tmp_path, capsys):
    data = tmp_path / "data"
    rows = "".join(f"S{i},Pupil {i},3A\n" for i in range(60))
    (tmp_path / "big.csv").write_text("id,name,groups\n" + rows, encoding="utf-8")
    (tmp_path / "small.csv").write_text("id,name,groups\nS0,Pupil 0,3A\n", encoding="utf-8")
    assert main(["people", "import", str(tmp_path / "big.csv"), "--data", str(data)]) == 0
    assert main(["people", "import", str(tmp_path / "small.csv"), "--sync", "--yes", "--data", str(data)]) == 0
    capsys.readouterr()
    assert main(["audit", "--person", "S59", "--data", str(data)]) == 0
    said = capsys.readouterr()
    assert "people.import" in said.out and "2 entries" in said.err


def test_an_import_whose_photos_cannot_be_read_for_a_broken_model_says_the_people_are_in(tmp_path, capsys,
                                                                                          sample_photo):
    data = tmp_path / "data"
    (data / "models").mkdir(parents=True)
    (data / "models" / "bad.onnx").write_bytes(b"not a model")
    (data / "faceattend.toml").write_text('recognizer = "bad.onnx"\n', encoding="utf-8")
    shutil.copy(sample_photo("yaoming.jpg"), tmp_path / "yao.jpg")
    (tmp_path / "roster.csv").write_text("id,name,groups,photo\nS1,Yao Ming,3A,yao.jpg\n", encoding="utf-8")
    assert main(["people", "import", str(tmp_path / "roster.csv"), "--data", str(data)]) == 2
    said = capsys.readouterr()
    assert "added 1" in said.out and "the people are in, but their photos' templates could not be made" in said.err
    assert people_of(data)["S1"].name == "Yao Ming"


def test_a_roster_line_whose_id_names_a_photo_folder_claims_the_person_extract_made_of_it(tmp_path):
    """Photos dropped in database_image/S1042/ and extracted before the roster came: S1042's line added a
    second person beside them, absent every day while the face checked in as "S1042"."""
    from faceattend_tui.attendance.roster import RosterLine, apply_import, plan_import

    with open_store(tmp_path / "data") as store:
        attendance = Attendance(store)
        dropped = attendance.add_person("S1042", folder="S1042")
        plan = plan_import(attendance, [RosterLine(2, "S1042", "Ann Lee", ("3A",), None)])
        assert plan.claimed == [(dropped.id, "S1042")] and plan.added == []
        apply_import(attendance, plan)
        assert [(p.id, p.name, p.folder) for p in attendance.people()] == [("S1042", "Ann Lee", "S1042")]


def test_no_two_people_ever_share_a_photo_folder(tmp_path):
    """A newcomer whose id was already someone's folder took it: the one face was two people, and removing
    the newcomer deleted the other's photos."""
    from faceattend_tui.attendance.roster import RosterLine, plan_import
    from faceattend_tui.errors import InputError

    with open_store(tmp_path / "data") as store:
        attendance = Attendance(store)
        attendance.add_person("Bo Lin", person_id="S7", folder="S1042")  # the folder of an older convention
        with pytest.raises(InputError, match=r"photo folder 'S1042' is already Bo Lin \(S7\)'s"):
            attendance.add_person("Ann Lee", person_id="S1042", folder="S1042")
        plan = plan_import(attendance, [RosterLine(2, "S1042", "Ann Lee", ("3A",), "ann.jpg"),
                                        RosterLine(3, "S1042-2", "Cy Ray", ("3A",), "cy.jpg")])
        assert [(p.id, p.folder) for p in plan.added] == [("S1042", "S1042-3"), ("S1042-2", "S1042-2")]
        assert [p.folder for p, _ in plan.photos] == ["S1042-3", "S1042-2"]


def test_ids_that_differ_only_in_case_get_photo_folders_that_differ_in_more(tmp_path, sample_photo, portrait):
    """On an exFAT or NTFS disk S1/ and s1/ are one folder: both people's photos went into it, one checked
    in as the other, and removing one deleted the other's photos."""
    shutil.copy(sample_photo("yaoming.jpg"), tmp_path / "dan.jpg")
    shutil.copy(portrait("gdp.jpg"), tmp_path / "dee.jpg")
    roster = write_csv(tmp_path / "roster.csv", ["id,name,photo", "S1,Dan Nine,dan.jpg", "s1,Dee Twelve,dee.jpg"])
    data = tmp_path / "data"
    assert main(["people", "import", str(roster), "--data", str(data), "--device", "cpu"]) == 0
    folders = {p.id: p.folder for p in people_of(data).values()}
    assert folders["S1"].casefold() != folders["s1"].casefold()
    with open_store(data) as store, pytest.raises(ValueError, match="is already Dan Nine"):
        Attendance(store).add_person("Eve", person_id="S9", folder=folders["S1"].lower())


@pytest.mark.parametrize("disk", ["tells case apart", "ignores case"])
def test_removing_someone_whose_folder_differs_from_anothers_only_in_case(tmp_path, monkeypatch, disk):
    """On ext4 S1/ and s1/ (an older version's) are two folders: removing s1 said "photos deleted" and kept
    them; on exFAT they are one, and it must keep S1's."""
    import os as os_module

    data = tmp_path / "data"
    for folder in ("S1", "s1"):
        (data / "database_image" / folder).mkdir(parents=True)
        (data / "database_image" / folder / f"{folder}.jpg").write_bytes(b"\xff\xd8photo")
    with open_store(data) as store:
        now = store.now()
        store.save_people([Person("S1", "Dan Nine", now, folder="S1"), Person("s1", "Dee Twelve", now, folder="s1")],
                          None)
    if disk == "ignores case":  # the disk lists the one spelling it has
        real = os_module.listdir
        monkeypatch.setattr(os_module, "listdir", lambda path: [n for n in real(path) if n != "s1"])
    assert main(["people", "remove", "s1", "--data", str(data)]) == 0
    assert (data / "database_image" / "S1" / "S1.jpg").exists()
    assert (data / "database_image" / "s1").exists() == (disk == "ignores case")
    if disk == "tells case apart":  # then S1, whose folder is now the only spelling there: theirs go too
        assert main(["people", "remove", "S1", "--data", str(data)]) == 0
        assert not (data / "database_image" / "S1").exists()


def test_two_people_an_older_version_gave_one_folder_can_be_edited_and_the_one_who_leaves_takes_no_photos(
        tmp_path, capsys):
    data = tmp_path / "data"
    (data / "database_image" / "S1042").mkdir(parents=True)
    (data / "database_image" / "S1042" / "a.jpg").write_bytes(b"\xff\xd8photo")
    with open_store(data) as store:
        now = store.now()
        store.save_people([Person("p-0a1b2c3d4e", "S1042", now, folder="S1042"),
                           Person("S1042", "Ann Lee", now, folder="S1042")], None)
    assert main(["people", "edit", "S1042", "--groups", "3A", "--data", str(data)]) == 0
    assert main(["people", "remove", "S1042", "--data", str(data)]) == 0
    assert (data / "database_image" / "S1042" / "a.jpg").exists()  # the other one's photos too
    assert people_of(data)["p-0a1b2c3d4e"].active
    with open_store(data) as store:  # the folder is the one who stays's: their count was never recorded
        att = Attendance(store)
        assert att.by_folder("S1042").id == "p-0a1b2c3d4e"
        att.sync_people({"S1042": 2})
    assert people_of(data)["p-0a1b2c3d4e"].images == 2


def test_a_folder_claim_never_takes_someone_another_line_of_the_file_names(tmp_path):
    """Photos of Zoe Quinn extracted from S1042/ (her generated id renamed): the line S1042 Ann Lee above
    Zoe's own line took Zoe's photos, and Zoe's face checked in as Ann."""
    from faceattend_tui.attendance.roster import RosterLine, plan_import

    with open_store(tmp_path / "data") as store:
        attendance = Attendance(store)
        zoe = attendance.add_person("Zoe Quinn", folder="S1042")
        plan = plan_import(attendance, [RosterLine(2, "S1042", "Ann Lee", ("3A",), None),
                                        RosterLine(3, "S77", "Zoe Quinn", ("3A",), None)])
        assert plan.claimed == [(zoe.id, "S77")] and [(p.id, p.folder) for p in plan.added] == [("S1042", "")]


def test_a_folder_named_in_another_case_than_the_id_is_that_persons(tmp_path):
    from faceattend_tui.attendance.roster import RosterLine, plan_import

    with open_store(tmp_path / "data") as store:
        attendance = Attendance(store)
        dropped = attendance.add_person("s1042", folder="s1042")  # extract, before the roster
        plan = plan_import(attendance, [RosterLine(2, "S1042", "Ann Lee", ("3A",), None)])
        assert plan.claimed == [(dropped.id, "S1042")]
        attendance.add_person("Bo Lin", person_id="S7")  # the roster first, then extract of s7/
        assert [p.id for p in attendance.sync_people({"s7": 3}).attached] == ["S7"]
        attendance.add_person("Sam Lee", person_id="S8", folder="Sam Lee")
        attendance.add_person("Sia Low", person_id="s8")  # more photos of Sam, dropped into S8/: never Sia's
        assert attendance.sync_people({"S8": 2}).attached == []


def test_a_folder_given_instead_of_a_taken_one_is_never_another_persons_id(tmp_path):
    """Ann's folder became S1042-2, the id of Cy, whose photos dropped into S1042-2/ later were Ann's."""
    from faceattend_tui.attendance.roster import RosterLine, plan_import

    with open_store(tmp_path / "data") as store:
        attendance = Attendance(store)
        attendance.add_person("Bo Lin", person_id="S9", folder="S1042")
        attendance.add_person("Cy Ray", person_id="S1042-2")
        plan = plan_import(attendance, [RosterLine(2, "S1042", "Ann Lee", ("3A",), "ann.jpg"),
                                        RosterLine(3, "S1042-3", "Di Wu", ("3A",), None)])
        assert [(p.id, p.folder) for p in plan.added] == [("S1042", "S1042-4"), ("S1042-3", "")]


def test_a_folder_claimed_and_renamed_by_one_line_is_one_change(tmp_path, capsys):
    data = tmp_path / "data"
    with open_store(data) as store:
        Attendance(store).add_person("S1042", folder="S1042")  # extract of database_image/S1042/
    roster = write_csv(tmp_path / "roster.csv", ["id,name,groups", "S1042,Ann Lee,3A"])
    assert main(["people", "import", str(roster), "--data", str(data), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "added 0, changed 1, left 0 unchanged" in out and "changed S1042 name 'S1042' -> 'Ann Lee'" in out


def test_a_photo_copy_cut_short_is_copied_again_by_the_next_import(tmp_path, sample_photo, capsys):
    """Killed as it renamed a photo into place, an import left it hidden as a temporary file: importing
    again said 'photos: 0 new of 1', and the person was never recognised."""
    shutil.copy(sample_photo("yaoming.jpg"), tmp_path / "yao.jpg")
    roster = write_csv(tmp_path / "roster.csv", ["id,name,groups,photo", "S1,Yao Ming,3A,yao.jpg"])
    data = tmp_path / "data"
    assert main(["people", "import", str(roster), "--data", str(data), "--device", "cpu"]) == 0
    (copied,) = (data / "database_image" / "S1").iterdir()
    cut = copied.with_name(f".{copied.name}.k3j9.tmp")  # as the kill left it
    copied.rename(cut)
    capsys.readouterr()
    assert main(["people", "import", str(roster), "--data", str(data), "--device", "cpu"]) == 0
    assert "photos: 1 new of 1" in capsys.readouterr().out
    assert [p.name for p in (data / "database_image" / "S1").iterdir()] == [copied.name]


def test_photos_two_namesakes_of_the_file_could_mean_are_given_to_neither(tmp_path):
    """database_image/Ann Lee/ known before the roster; the file has two pupils called Ann Lee: the first line
    took the photos, and the other Ann Lee's face checked in as her all year."""
    from faceattend_tui.attendance.roster import RosterLine, plan_import

    with open_store(tmp_path / "data") as store:
        attendance = Attendance(store)
        attendance.add_person("Ann Lee", folder="Ann Lee")
        for first, second in (("S100", "S200"), ("S200", "S100")):
            plan = plan_import(attendance, [RosterLine(2, first, "Ann Lee", ("5B",), None),
                                            RosterLine(3, second, "Ann Lee", ("3A",), None)])
            assert plan.claimed == [] and sorted(p.id for p in plan.added) == ["S100", "S200"]
            assert [n for n in plan.notes if "is on several lines" in n and "database_image/Ann Lee" in n]


def test_an_id_a_spreadsheet_changed_or_gave_to_someone_new_is_pointed_out(tmp_path):
    """007 read back as 7 made James Bond leave (his photos deleted) and join again faceless; S003, given to a
    new pupil, was said to be Carl Old's, whom --reactivate then renamed with all his records."""
    from faceattend_tui.attendance.roster import RosterLine, plan_import

    with open_store(tmp_path / "data") as store:
        attendance = Attendance(store)
        attendance.add_person("James Bond", person_id="007", groups=["3A"])
        attendance.add_person("Carl Old", person_id="S003", groups=["3A"])
        attendance.remove_person("S003", erase=False, user="office")
        plan = plan_import(attendance, [RosterLine(2, "7", "James Bond", ("3A",), None),
                                        RosterLine(3, "S003", "Dana New", ("3A",), None)], sync=True)
    notes = " | ".join(plan.notes)
    assert "7 James Bond is new, and 007 James Bond is not in the file" in notes
    assert "the file calls S003 Dana New: someone new needs an id of their own" in notes


def test_a_header_repeated_inside_the_file_is_no_person(tmp_path):
    """Two exports pasted together: a person 'name' with the id 'id' in a group 'groups' was added, and counted
    absent at every session."""
    from faceattend_tui.attendance import read_roster

    roster = tmp_path / "roster.csv"
    for repeated in ("ID,Name,Groups", "id,name,groups,", "\ufeffid,name,groups"):  # a trailing comma, a BOM
        roster.write_text(f"id,name,groups\nS1,Ann Lee,3A\n{repeated}\nS2,Bo Lin,3B\n", encoding="utf-8")
        assert [line.id for line in read_roster(roster)] == ["S1", "S2"]
