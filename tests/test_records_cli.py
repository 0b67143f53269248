"""The records from the command line: roster import, people, export and report beside a running
station, and the headless station."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import os
import shutil
import unicodedata
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pytest
from fakes import a_lesson_of_3a, people_one_left
from rich.style import Style

from faceattend_tui.attendance import Attendance, acquire_lock, open_snapshot, open_store
from faceattend_tui.cli import main
from faceattend_tui.config import load_settings


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def people_of(data: Path) -> dict[str, object]:
    with open_snapshot(data) as store:
        return {p.id: p for p in store.people()}


@pytest.fixture
def roster(tmp_path, sample_photo) -> Path:
    shutil.copy(sample_photo("yaoming.jpg"), tmp_path / "yao.jpg")
    return write_csv(tmp_path / "roster.csv", [
        "id,name,groups,photo",
        "S1,Yao Ming,3A;basketball,yao.jpg",
        'S2,"Lee, Ann",3A,',
        "S3,Élodie Chimie,3B,",
    ])


def test_roster_import_is_idempotent_and_enrolls_photos(tmp_path, roster, models_dir, capsys):
    data = tmp_path / "data"
    assert main(["people", "import", str(roster), "--data", str(data), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "added 3, changed 0, left 0 unchanged" in out and "photos: 1 new of 1" in out
    people = people_of(data)
    assert people["S1"].groups == ("3A", "basketball") and people["S1"].images == 1 and people["S1"].folder == "S1"
    assert people["S2"].name == "Lee, Ann" and people["S3"].images == 0
    assert list((data / "database_image" / "S1").glob("*.jpg"))
    assert main(["people", "import", str(roster), "--data", str(data)]) == 0
    assert "added 0, changed 0, left 3 unchanged" in capsys.readouterr().out
    write_csv(roster, ["id,name,groups", "S1,Yao Ming,3A", "S2,Ann Lee,3A"])
    assert main(["people", "import", str(roster), "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "changed 2" in out and "groups 3A; basketball -> 3A" in out and "name 'Lee, Ann' -> 'Ann Lee'" in out


def test_a_bad_roster_is_named_line_by_line_and_nothing_is_applied(tmp_path, capsys):
    data = tmp_path / "data"
    (tmp_path / "not-a-photo.jpg").write_text("hello")
    bad = write_csv(tmp_path / "bad.csv", [
        "id,name,groups,photo",
        "S1,Good Person,3A,",
        "S2,,3A,",
        "S1,Twice,3A,",
        "has space,Name,3A,",
        "S5,No Photo,3A,missing.jpg",
        "S6,Junk Photo,3A,not-a-photo.jpg",
    ])
    assert main(["people", "import", str(bad), "--data", str(data)]) == 2
    err = capsys.readouterr().err
    for line in ("line 3: the name is empty", "line 4: id 'S1' is also on line 2", "line 5:", "line 6: photo"):
        assert line in err
    assert "nothing imported" in err
    assert not (data / "attendance.json").exists()  # nothing imported, nor a log made
    good = write_csv(tmp_path / "junk.csv", ["id,name,groups,photo", "S6,Junk Photo,3A,not-a-photo.jpg"])
    assert main(["people", "import", str(good), "--data", str(data)]) == 2
    assert "line 2:" in capsys.readouterr().err and not (data / "attendance.json").exists()


def test_folders_dropped_in_for_a_large_roster_are_linked_looking_at_each_name_once(tmp_path, monkeypatch):
    """2,000 folders for 2,000 people imported without photos: each folder looked through everyone still
    without photos, a quarter of an hour at 20,000 people (the station's start, extract, an import)."""
    from faceattend_tui.attendance import sessions
    from faceattend_tui.attendance.models import Person

    keys = []
    spelling = sessions.spelling_key
    monkeypatch.setattr(sessions, "spelling_key", lambda text: keys.append(text) or spelling(text))
    size = 2000
    with open_store(tmp_path / "data") as store:
        att = Attendance(store)
        now = store.now()
        att.save_people([Person(f"S{i}", f"Student {i}", now) for i in range(size)] + [
            Person("T1", "Bo Li", now), Person("T2", "Bo Li", now)], "people.import")
        keys.clear()
        result = att.sync_people({**{f"S{i}": 1 for i in range(size)}, "bo li": 1, "Student 7": 1})
        assert len(keys) < 4 * size
        assert sorted(p.id for p in result.attached) == sorted(f"S{i}" for i in range(size))  # by id
        assert [p.name for p in result.added] == ["bo li", "Student 7"]  # two Bo Li; Student 7 has photos now


def test_people_known_by_their_photo_folder_get_the_organisations_id(tmp_path, capsys):
    data = tmp_path / "data"
    with open_store(data) as store:
        att = Attendance(store)
        att.sync_people({"Ann Lee": 1})
        att.start_session("before the roster")
        att.check_in(att.by_folder("Ann Lee").id)
        att.stop_session()
    assert main(["people", "import", str(write_csv(tmp_path / "r.csv", ["id,name,groups", "S2,Ann Lee,3A"])),
                 "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "gave p-" in out and "changed S2 groups - -> 3A" in out and "folder" not in out  # no change of nothing
    with open_store(data) as store:
        att = Attendance(store)
        ann = att.person("S2")
        assert ann.folder == "Ann Lee" and ann.groups == ("3A",) and len(att.people()) == 1
        assert [p.person.id for p in att.summary(1).people] == ["S2"]  # her history moved with her


def test_a_photo_folder_named_in_decomposed_accents_is_claimed_by_the_roster_name(tmp_path, capsys):
    data = tmp_path / "data"
    folder = unicodedata.normalize("NFD", "Céline Gérard")  # as a Mac writes the folder's name
    with open_store(data) as store:
        Attendance(store).sync_people({folder: 1})
    assert main(["people", "import", str(write_csv(tmp_path / "r.csv", ["id,name,groups", "S3,Céline Gérard,3A"])),
                 "--data", str(data)]) == 0
    with open_store(data) as store:
        att = Attendance(store)
        assert [(p.id, p.folder) for p in att.people()] == [("S3", folder)]  # one person, with her photos


def test_a_photo_folder_named_in_another_case_or_spacing_is_claimed_by_the_roster_name(tmp_path):
    data = tmp_path / "data"
    with open_store(data) as store:
        Attendance(store).sync_people({"ann lee": 1, "Bob  Marr": 1})
    assert main(["people", "import", str(write_csv(tmp_path / "r.csv", ["id,name", "S1,Ann Lee", "S2,Bob Marr"])),
                 "--data", str(data)]) == 0
    assert {p.id: p.folder for p in people_of(data).values()} == {"S1": "ann lee", "S2": "Bob  Marr"}


def test_a_photo_folder_spaced_differently_dropped_in_after_the_roster_is_its_persons(tmp_path):
    data = tmp_path / "data"
    assert main(["people", "import", str(write_csv(tmp_path / "r.csv", ["id,name", "S7,Bob Marr"])),
                 "--data", str(data)]) == 0
    with open_store(data) as store:
        Attendance(store).sync_people({"bob  marr": 1})  # what extract does with the folder it finds
    assert {p.id: p.folder for p in people_of(data).values()} == {"S7": "bob  marr"}


def test_photo_folders_dropped_in_after_the_roster_become_its_peoples(tmp_path):
    with open_store(tmp_path / "data") as store:
        att = Attendance(store)
        for person_id, name in (("S1042", "Ann Lee"), ("S1043", "Paul Martin"), ("S1", "Bo Li"), ("S2", "Bo Li")):
            att.add_person(name, person_id=person_id, groups=["3A"])
        folders = {"ann lee": 1, "S1043": 2, unicodedata.normalize("NFD", "Bo Li"): 1}  # name, id, ambiguous
        result = att.sync_people(folders)
        assert {(p.id, p.folder, p.images) for p in result.attached} == {("S1042", "ann lee", 1), ("S1043", "S1043", 2)}
        assert [p.name for p in result.added] == [unicodedata.normalize("NFD", "Bo Li")]  # two Bo Li: not guessed
        assert att.by_folder("ann lee").groups == ("3A",) and len(att.people()) == 5


@contextlib.contextmanager
def ann_and_bob(data: Path, bob_group: str):
    """Ann Lee (S1) in 3A and Bob Marr (S2) in `bob_group`, in the log of `data`."""
    with open_store(data) as store:
        att = Attendance(store)
        att.add_person("Ann Lee", person_id="S1", groups=["3A"])
        att.add_person("Bob Marr", person_id="S2", groups=[bob_group])
        yield att


def test_people_list_edit_and_remove(tmp_path, capsys):
    data = tmp_path / "data"
    with ann_and_bob(data, "3B") as att:
        att.start_session("Maths")
        att.check_in("S1")
        att.stop_session()
    assert main(["people", "list", "--data", str(data), "--group", "3A", "--json"]) == 0
    assert [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()] == ["S1"]
    assert main(["people", "edit", "S1", "--name", "Ann Lee-Smith", "--groups", "3A;choir", "--data", str(data)]) == 0
    assert main(["people", "remove", "Bob Marr", "--data", str(data)]) == 0
    assert "left; photos and templates deleted, records kept" in capsys.readouterr().out
    with open_store(data) as store:
        att = Attendance(store)
        assert att.person("S1").name == "Ann Lee-Smith" and att.person("S2").state == "left"
        assert att.summary(1).present == ["Ann Lee-Smith"]  # the past session, under the corrected name
    assert main(["people", "remove", "S1", "--erase", "--data", str(data)]) == 0
    assert "S1" not in people_of(data)
    assert main(["people", "remove", "S9", "--data", str(data)]) == 2


def test_people_list_of_a_group_nobody_is_in_names_the_groups(tmp_path, capsys):
    data = tmp_path / "data"
    with ann_and_bob(data, "choir") as att:
        att.remove_person("S2")
    assert main(["people", "list", "--data", str(data), "--group", "3B"]) == 0  # a typo reads as one
    assert "0 people in 3B\nnobody listed is in a group '3B'; the groups: 3A" in capsys.readouterr().err
    assert main(["people", "list", "--data", str(data), "--group", "\x1b[2J"]) == 0  # shown, never obeyed
    assert "in a group '\\x1b[2J';" in capsys.readouterr().err
    assert main(["people", "list", "--data", str(data), "--group", "CHOIR", "--all"]) == 0
    assert "Bob Marr" in capsys.readouterr().out


def test_export_and_report_run_while_a_station_holds_the_log(tmp_path, capsys):
    data = tmp_path / "data"
    with acquire_lock(data), open_store(data) as store:  # the station: lock held, check-ins in the journal
        att = Attendance(store)
        att.add_person("Ann Lee", person_id="S1", groups=["3A"])
        att.add_person("Bob Marr", person_id="S2", groups=["3A"])
        session = att.start_session("Maths", group="3A")
        att.check_in("S1", 0.7)
        out = tmp_path / "now.csv"
        assert main(["export", "--data", str(data), "--session", str(session.id), "--out", str(out)]) == 0
        assert "session 'Maths' is still running: those not in yet show as absent" in capsys.readouterr().err
        rows = {r["person_id"]: r["status"] for r in csv.DictReader(out.open(encoding="utf-8-sig"))}
        assert rows == {"S1": "present", "S2": "absent"}
        today = str(date.today())
        assert main(["report", "--data", str(data), "--from", today, "--to", today]) == 3
        assert "1 session still running not counted ('Maths'): report again once stopped" in capsys.readouterr().err
        att.stop_session()
        assert main(["report", "--data", str(data), "--from", today, "--to", today, "--format", "json",
                     "--out", str(tmp_path / "r.json")]) == 0
        assert json.loads((tmp_path / "r.json").read_text())["people"][0]["present"] == 1
        physics = att.start_session("Physics", group="3A")
        assert main(["report", "--data", str(data), "--from", today, "--to", today, "--format", "json",
                     "--out", str(tmp_path / "r2.json")]) == 0
        partial = json.loads((tmp_path / "r2.json").read_text())  # a nightly job reading it knows
        assert [(s["id"], s["name"]) for s in partial["running"]] == [(physics.id, "Physics")]
        att.stop_session()
        assert main(["report", "--data", str(data), "--from", "2001-01-01", "--to", "2001-01-02"]) == 3
        assert "nothing to report" in capsys.readouterr().err
        assert main(["people", "edit", "S1", "--name", "X", "--data", str(data)]) == 2
        assert "in use" in capsys.readouterr().err
        att.start_session("Chemistry", group="3A")
        assert att.check_in("S2", 0.6).new  # the station was never slowed or blocked
    with open_store(data) as store:
        assert [a.action for a in store.audit_log()].count("export") == 1  # taken in from the outbox


def test_export_of_an_empty_selection_exits_3(tmp_path, capsys):
    data = tmp_path / "data"
    open_store(data).close()
    assert main(["export", "--data", str(data)]) == 3
    assert "nothing to export: no session yet" in capsys.readouterr().err
    assert main(["export", "--data", str(tmp_path / "nowhere")]) == 2


@pytest.mark.timeout(180)
@pytest.mark.slow
def test_the_headless_station_records_and_stops_its_session(tmp_path, sample_photo, models_dir, capsys):
    data = tmp_path / "data"
    images = data / "database_image"
    images.mkdir(parents=True)
    shutil.copy(sample_photo("yaoming.jpg"), images / "Yao Ming.jpg")
    assert main(["extract", "--data", str(data), "--device", "cpu"]) == 0
    slides = tmp_path / "slides"
    slides.mkdir()
    yao = cv2.imread(str(sample_photo("yaoming.jpg")))
    frame = np.full((480, 640, 3), 90, np.uint8)
    frame[100 : 100 + yao.shape[0], 200 : 200 + yao.shape[1]] = yao[: 380, : 440]
    cv2.imwrite(str(slides / "00.jpg"), frame)
    code = main(["station", "--headless", "--data", str(data), "--source", str(slides), "--session", "Morning",
                 "--json", "--no-preview", "--device", "cpu", "--max-seconds", "90"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert lines[0]["type"] == "session" and lines[0]["state"] == "started"
    recorded = [line for line in lines if line["type"] == "recorded"]
    assert [(r["name"], r["status"], r["session"]) for r in recorded] == [("Yao Ming", "present", "Morning")]
    assert any(line.get("kind") == "source-finished" for line in lines)
    assert lines[-1]["type"] == "session" and lines[-1]["state"] == "stopped" and lines[-1]["present"] == 1
    with open_store(data) as store:
        att = Attendance(store)
        assert att.active is None and att.summary(1).present == ["Yao Ming"]


def test_a_command_refused_while_the_station_runs_says_what_the_station_offers(tmp_path, capsys, monkeypatch):
    data = tmp_path / "data"
    with open_store(data) as store:
        Attendance(store).add_person("Ann Lee", person_id="S1")
    monkeypatch.setenv("FACEATTEND_NEW_PIN", "246813")
    with acquire_lock(data):  # a station runs here
        assert main(["people", "edit", "S1", "--name", "Ann", "--data", str(data)]) == 2
        assert "or use its own keys (e enroll, d remove, ctrl+p import roster)" in capsys.readouterr().err
        assert main(["pin", "--data", str(data)]) == 2  # the station has no way to set a PIN
        err = capsys.readouterr().err
        assert err.rstrip().endswith("stop the station first") and "ctrl+p" not in err


def test_extract_and_watch_respect_the_locks(tmp_path, capsys):
    from faceattend_tui.gallery import enroll
    from faceattend_tui.gallery.templates import GalleryError, changing

    data = tmp_path / "data"
    (data / "database_image").mkdir(parents=True)
    with acquire_lock(data):  # a station runs here
        assert main(["watch", "--data", str(data), "--source", "0", "--max-seconds", "1"]) == 2
        assert "in use by" in capsys.readouterr().err
    settings = load_settings(data)
    with changing(settings.tensors_dir, "faceattend extract"):  # an extraction runs
        with pytest.raises(GalleryError, match="being changed by .*faceattend extract"):
            enroll.add_samples(settings, "S1", [b"\xff\xd8"], np.eye(512, dtype=np.float32)[:1],
                               {"name": "w600k_mbf", "sha256": "0" * 64, "dim": 512})
        assert main(["extract", "--data", str(data), "--device", "cpu"]) == 2
        assert "being changed by" in capsys.readouterr().err


def test_groups_are_joined_one_way_and_counts_speak_english(tmp_path, capsys):
    data = tmp_path / "data"
    with open_store(data) as store:
        att = Attendance(store)
        att.add_person("Ann Lee", person_id="S1", groups=["3A", "1ère-B"])
        att.start_session("Maths")
        att.check_in("S1")
        att.stop_session()
    assert main(["people", "list", "--data", str(data)]) == 0
    out = capsys.readouterr()
    assert "3A; 1ère-B" in out.out and "0 photos" in out.out and "1 people" not in out.err
    report = tmp_path / "r.csv"
    assert main(["report", "--data", str(data), "--from", "2000-01-01", "--out", str(report)]) == 0
    assert "1 person, 1 session" in capsys.readouterr().err
    rows = list(csv.DictReader(report.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0]["group"] == "3A; 1ère-B"


def test_a_report_holds_one_kind_of_row_and_its_file_says_which(tmp_path, capsys):
    data = tmp_path / "data"
    a_lesson_of_3a(data, {"S1": "Ann Lee", "S2": "Bob Marr"}, came=("S1",))
    today = str(date.today())
    written = {}
    kinds = ([], ["--by", "person"], ["--by", "session"], ["--format", "json"], ["--format", "json", "--by", "session"])
    said = {}
    for by in kinds:
        assert main(["report", "--data", str(data), "--from", today, "--to", today, *by]) == 0
        path, said[" ".join(by)] = capsys.readouterr().err.split("wrote ", 1)[1].strip().split(": ", 1)
        written[" ".join(by)] = Path(path)
    assert said["--by session"] == "1 session" and said["--by person"] == "2 people, 1 session"  # the rows it holds
    exports = data / "exports"
    assert {key: path.relative_to(exports).as_posix() for key, path in written.items()} == {
        "": f"report_people_{today}_{today}.csv", "--by person": f"report_people_{today}_{today}-2.csv",
        "--by session": f"report_sessions_{today}_{today}.csv", "--format json": f"report_{today}_{today}.json",
        "--format json --by session": f"report_sessions_{today}_{today}.json"}
    people = list(csv.DictReader(written[""].read_text(encoding="utf-8-sig").splitlines()))
    assert [(r["id"], r["name"], r["group"], r["expected"], r["present"], r["absent"], r["rate"]) for r in people] == [
        ("S1", "Ann Lee", "3A", "1", "1", "0", "1.0"), ("S2", "Bob Marr", "3A", "1", "0", "1", "0.0")]
    (session,) = csv.DictReader(written["--by session"].read_text(encoding="utf-8-sig").splitlines())
    assert (session["id"], session["name"], session["group"], session["start_date"]) == ("1", "Maths", "3A", today)
    assert (session["expected"], session["present"], session["absent"], session["rate"]) == ("2", "1", "1", "0.5")
    assert set(json.loads(written["--format json"].read_text())) >= {"people", "sessions"}
    only = json.loads(written["--format json --by session"].read_text())
    assert "people" not in only and [s["name"] for s in only["sessions"]] == ["Maths"]


def test_names_that_could_drive_a_terminal_are_refused_and_old_ones_shown_escaped(tmp_path, capsys):
    data = tmp_path / "data"
    evil = write_csv(tmp_path / "evil.csv", ["id,name,groups", "S1,Ann\x1b]0;owned\x07 Lee,3A",
                                             "S2,Bob,3A\x1b[2J", "S3,Carla\u202eDiaz,3A"])
    assert main(["people", "import", str(evil), "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "line 2:" in err and "line 3:" in err and "line 4:" in err
    with open_store(data) as store:  # a name stored by an earlier version
        store.save_person(dataclasses.replace(Attendance(store).add_person("Dee", person_id="S4"),
                                              name="Dee\x1b[31mRed"))
    assert main(["people", "list", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "Dee\\x1b[31mRed" in out
    with open_store(data) as store, pytest.raises(ValueError, match="control character"):
        Attendance(store).update_person("S4", name="Dee\x07")


def test_reports_and_exports_of_names_an_older_version_stored_write_their_codes_and_never_crash(tmp_path, capsys):
    """A stored name with a lone surrogate stopped every report with a traceback; one with a newline and an
    escape went raw into the sheets, and `cat` of a sheet drove the terminal."""
    data = tmp_path / "data"
    with open_store(data) as store:
        attendance = Attendance(store)
        for person_id, name in (("S1", "Ann\nLee\x1b[31m"), ("S2", "Bob \udceb Marr")):
            store.save_person(dataclasses.replace(attendance.add_person("Someone", person_id=person_id, groups=["3A"]),
                                                  name=name))
        attendance.start_session("Maths", group="3A")
        attendance.check_in("S1")
        attendance.stop_session()
    today = date.today().isoformat()
    sheets = {}
    for command, out in (("report", "r.csv"), ("report", "r.json"), ("export", "e.csv"), ("export", "e.json")):
        target = tmp_path / out
        fmt = ["--format", "json"] if out.endswith("json") else []
        assert main([command, "--data", str(data), "--from", today, "--to", today, "--out", str(target), *fmt]) == 0
        sheets[out] = target.read_bytes()
    assert "Traceback" not in capsys.readouterr().err
    for out in ("r.csv", "e.csv"):
        assert b"\x1b" not in sheets[out] and b"Ann\\x0aLee\\x1b[31m" in sheets[out], out
        assert b"Bob \\udceb Marr" in sheets[out]
    assert any(p["name"] == "Ann\nLee\x1b[31m" for p in json.loads(sheets["r.json"])["people"])


def test_table_cells_show_control_characters_as_codes():
    from faceattend_tui.tui.fasttable import FastTable

    table = FastTable([("name", 20)])
    text = "".join(segment.text for segment in table.segments(["Ann\x1b[2J\u202e"], [20], Style()))
    assert "\x1b" not in text and "\u202e" not in text and "Ann\\x1b[2J\\u202e" in text


def test_roster_photos_stay_in_the_rosters_folder_unless_another_is_allowed(tmp_path, sample_photo, capsys):
    data, rosters, elsewhere = tmp_path / "data", tmp_path / "rosters", tmp_path / "elsewhere"
    rosters.mkdir()
    elsewhere.mkdir()
    shutil.copy(sample_photo("yaoming.jpg"), elsewhere / "yao.jpg")
    roster = write_csv(rosters / "r.csv", ["id,name,groups,photo", "S1,Yao Ming,3A,../elsewhere/yao.jpg",
                                           f"S2,Ann Lee,3A,{elsewhere / 'missing.jpg'}", "S3,Bob,3A,/etc/hostname",
                                           "S4,Dee,3A,gone.jpg"])
    assert main(["people", "import", str(roster), "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert err.count("outside the roster's folder") == 3 and "line 5: photo 'gone.jpg' cannot be read" in err
    (rosters / "notes.jpg").write_text("not a photo")
    write_csv(roster, ["id,name,groups,photo", "S4,Dee,3A,gone.jpg", "S5,Eve,3A,notes.jpg"])
    assert main(["people", "import", str(roster), "--data", str(data)]) == 2
    err = capsys.readouterr().err  # both photos named in one round, not one per run
    assert "line 2: photo 'gone.jpg' cannot be read" in err and "line 3: photo 'notes.jpg' cannot be read" in err
    write_csv(roster, ["id,name,groups,photo", "S1,Yao Ming,3A,../elsewhere/yao.jpg"])
    assert main(["people", "import", str(roster), "--photos-from", str(elsewhere), "--data", str(data),
                 "--device", "cpu"]) == 0
    assert people_of(data)["S1"].images == 1


def test_a_report_without_dates_ends_on_the_sites_today_not_the_machines(tmp_path, capsys, monkeypatch):
    """The machine's clock is 26 hours behind the site's (timezone setting): today's session is in the report."""
    import time

    monkeypatch.setenv("TZ", "Etc/GMT+12")
    time.tzset()
    try:
        data = tmp_path / "data"
        data.mkdir()
        (data / "faceattend.toml").write_text('timezone = "Pacific/Kiritimati"\n', encoding="utf-8")
        with open_store(data) as store:
            att = Attendance(store)
            att.add_person("Ann Lee", person_id="S1")
            att.start_session("Maths")
            att.check_in("S1")
            att.stop_session()
        assert main(["report", "--data", str(data), "--format", "json"]) == 0
        written = Path(capsys.readouterr().err.split("wrote ", 1)[1].split(": ", 1)[0])
        assert [s["name"] for s in json.loads(written.read_text())["sessions"]] == ["Maths"]
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_claim_alone_is_not_said_as_a_change_of_nothing(tmp_path, capsys):
    data = tmp_path / "data"
    with open_store(data) as store:
        Attendance(store).sync_people({"Zoe Quinn": 1})
    assert main(["people", "import", str(write_csv(tmp_path / "r.csv", ["id,name", "S9,Zoe Quinn"])),
                 "--data", str(data)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "added 0, changed 1, left 0 unchanged" and lines[1].startswith("  gave p-")
    assert len(lines) == 2  # not also "changed S9 folder"


def test_a_command_waits_for_another_command_but_not_for_a_station(tmp_path, capsys):
    """Two `staff add` at once: the second waits its turn instead of saying to stop a station."""
    import threading
    import time

    from faceattend_tui.attendance import acquire_lock

    data = tmp_path / "data"
    with open_store(data) as store:
        Attendance(store).add_person("Ann Lee", person_id="S1")
    held = acquire_lock(data, what="command")
    threading.Timer(1.0, held.release).start()
    started = time.monotonic()
    assert main(["people", "edit", "S1", "--name", "Ann Leigh", "--data", str(data)]) == 0
    assert 0.8 < time.monotonic() - started < 8
    with acquire_lock(data, what="station"):
        assert main(["people", "edit", "S1", "--name", "Ann Lee", "--data", str(data)]) == 2
    assert "stop the station" in capsys.readouterr().err
    with acquire_lock(data, what="watch"):  # `faceattend watch` on the same data: no station to stop
        assert main(["people", "edit", "S1", "--name", "Ann Lee", "--data", str(data)]) == 2
    assert "faceattend watch holds it: try again once it ends" in capsys.readouterr().err


def left_school(tmp_path) -> Path:
    """Ann (S1) still here, Bob Marr (S2) left."""
    data = tmp_path / "data"
    people_one_left(data, {"S1": "Ann Lee", "S2": "Bob Marr"}, left="S2")
    return data


def test_an_erasure_request_of_someone_who_left_finds_them_by_name(tmp_path, capsys):
    data = left_school(tmp_path)
    assert main(["people", "remove", "bob marr", "--erase", "--data", str(data)]) == 0
    assert "S2 Bob Marr: erased" in capsys.readouterr().out
    with open_snapshot(data) as store:
        assert [p.id for p in store.people()] == ["S1"]


def test_removing_someone_who_left_again_changes_nothing_and_says_so(tmp_path, capsys):
    data = left_school(tmp_path)
    with open_snapshot(data) as store:
        left_at = store.person("S2").left_at
    assert main(["people", "remove", "S2", "--data", str(data)]) == 2
    assert f"S2 Bob Marr left on {left_at:%Y-%m-%d} already: nothing was changed" in capsys.readouterr().err
    with open_snapshot(data) as store:
        assert store.person("S2").left_at == left_at


def test_bringing_back_someone_by_name_and_a_list_with_someone_still_here_changes_nobody(tmp_path, capsys):
    data = left_school(tmp_path)
    assert main(["people", "restore", "S2", "S1", "--data", str(data)]) == 2
    assert "S1 Ann Lee: not left; nobody was brought back" in capsys.readouterr().err
    with open_snapshot(data) as store:
        assert not store.person("S2").active
    assert main(["people", "restore", "Bob Marr", "--data", str(data)]) == 0
    with open_snapshot(data) as store:
        assert store.person("S2").active


@pytest.mark.parametrize("argv", [["sessions", "void", "1", "--reason", "test"],
                                  ["people", "edit", "S1", "--name", "X"], ["staff", "remove", "Dana Lee"],
                                  ["pin", "--reset"]])
def test_a_command_given_a_mistyped_data_folder_is_refused_and_makes_nothing(tmp_path, argv, capsys):
    typo = tmp_path / "atendance"
    assert main([*argv, "--data", str(typo)]) == 2
    assert not typo.exists()
    here = tmp_path / "home"  # --data forgotten: the current folder, the user's own files
    here.mkdir()
    assert main([*argv, "--data", str(here)]) == 2
    assert list(here.iterdir()) == []


def test_namesakes_one_left_and_one_here_are_never_guessed_between(tmp_path, capsys):
    """Sam Poe (S1) left, another Sam Poe (S2) is here: an erasure by name must not erase S2."""
    data = tmp_path / "data"
    people_one_left(data, {"S1": "Sam Poe", "S2": "Sam Poe"}, left="S1")
    assert main(["people", "remove", "Sam Poe", "--erase", "--data", str(data)]) == 2
    assert "2 people are called 'Sam Poe'; use the id (S1 (left), S2)" in capsys.readouterr().err
    assert main(["people", "restore", "Sam Poe", "Sam Poe", "--data", str(data)]) == 0  # the one who left, once
    with open_snapshot(data) as store:
        assert [p.active for p in store.people()] == [True, True]


def test_the_first_admin_may_be_made_by_name_in_a_new_folder_but_not_in_one_every_user_may_write_to(tmp_path,
                                                                                                  monkeypatch):
    monkeypatch.setenv("FACEATTEND_NEW_PIN", "abcdef12")
    for name in ("FACEATTEND_STAFF", "FACEATTEND_PIN"):
        monkeypatch.delenv(name, raising=False)
    assert main(["staff", "add", "Dana", "--role", "admin", "--data", str(tmp_path / "school")]) == 0
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp
    assert main(["pin", "--data", str(shared)]) == 2
    assert list(shared.iterdir()) == []


def test_a_name_with_terminal_codes_in_an_erasure_request_is_said_as_codes(tmp_path, capsys):
    data = left_school(tmp_path)
    assert main(["people", "remove", "\x1b[2J", "--erase", "--data", str(data)]) == 2
    assert "\x1b" not in capsys.readouterr().err  # shown as the letters \x1b, never sent to the terminal


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root, as a root crontab runs it")
def test_an_export_run_as_root_leaves_what_it_wrote_to_the_data_folders_owner(tmp_path):
    """A nightly export from root's crontab left a root-owned outbox and exports/: the station, run as its own
    user, then refused to start all day. The settings stay root's: an administrator may keep them so."""
    data = tmp_path / "data"
    a_lesson_of_3a(data, {"S1": "Ann Lee"}, came=("S1",))
    (data / "faceattend.toml").write_text("threshold = 0.3\n", encoding="utf-8")
    station_user = 4321
    for path in [data, *data.rglob("*")]:
        os.lchown(path, station_user, station_user)
    os.lchown(data / "faceattend.toml", 0, 0)
    with acquire_lock(data):  # the station runs: the export's audit waits in the outbox
        assert main(["export", "--data", str(data)]) == 0
    made = [p for p in data.rglob("*") if p.name != "faceattend.toml"]
    assert data / "exports" in made and any(p.suffix == ".csv" for p in made)
    assert {p.name: p.lstat().st_uid for p in made if p.lstat().st_uid != station_user} == {}
    assert (data / "faceattend.toml").stat().st_uid == 0


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("closed", [">&-", "2>&-", ">&- 2>&-"])
def test_a_headless_station_started_with_its_output_closed_runs_and_stops_its_session(tmp_path, closed):
    """A service script with `>&-`: the station crashed on its first line (stdout) or before opening
    (stderr), leaving its session running, and every restart did the same."""
    import subprocess
    import sys

    data, camera = tmp_path / "data", tmp_path / "camera"
    a_lesson_of_3a(data, {"S1": "Ann Lee"})
    camera.mkdir()
    cv2.imwrite(str(camera / "empty.jpg"), np.full((240, 320, 3), 128, np.uint8))
    command = (f"exec {closed} </dev/null; exec {sys.executable} -m faceattend_tui station --headless "
               f"--data '{data}' --source '{camera}' --session Shift --no-preview --device cpu --max-seconds 3")
    ended = subprocess.run(["sh", "-c", command], env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, timeout=150)
    assert ended.returncode in (0, 1)  # 1: nobody was seen; no crash (a traceback exits 1 too: see below)
    with open_snapshot(data) as store:
        shift = [s for s in store.sessions() if s.name == "Shift"]
    assert len(shift) == 1 and shift[0].ended_at is not None


def test_a_list_read_by_head_ends_quietly(tmp_path):
    """`faceattend people list | head -1` printed "error: Broken pipe" once head had its line."""
    import subprocess
    import sys

    data = tmp_path / "data"
    a_lesson_of_3a(data, {f"S{i}": f"Person {i}" for i in range(2000)})
    lister = subprocess.Popen([sys.executable, "-m", "faceattend_tui", "people", "list", "--data", str(data)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert lister.stdout.readline().startswith(b"S0 ")
    lister.stdout.close()  # as head does, its line read
    _, said = lister.communicate(timeout=60)
    assert lister.returncode == 141 and said == b""


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_what_root_gives_back_is_never_reached_through_a_link(tmp_path):
    """The station's user may swap a folder of theirs for a link to root's: root must not give them what
    it leads to."""
    import time

    from faceattend_tui.files import give_back

    data, roots = tmp_path / "data", tmp_path / "roots"
    since = time.time() - 1
    (data / "database_image" / "ann").mkdir(parents=True)
    (data / "database_image" / "ann" / "1.jpg").write_bytes(b"made by root now")
    roots.mkdir()
    (roots / "secret").write_bytes(b"root's own")
    (data / "database_image" / "bob").symlink_to(roots)
    (data / "exports").symlink_to(roots)
    for path in (data, data / "database_image"):
        os.lchown(path, 4321, 4321)
    assert give_back(data, since) == 4  # ann/, her photo and the two links themselves
    assert (data / "database_image" / "ann" / "1.jpg").stat().st_uid == 4321
    assert (roots / "secret").stat().st_uid == 0 and roots.stat().st_uid == 0


def test_a_command_started_with_stdin_closed_asks_nothing_and_does_not_crash(tmp_path):
    """`faceattend people remove S1 <&-` in a script ended in a traceback: stdin was None."""
    import subprocess
    import sys

    data = tmp_path / "data"
    a_lesson_of_3a(data, {"S1": "Ann Lee"})
    command = f"exec <&-; exec {sys.executable} -m faceattend_tui people remove S1 --data '{data}'"
    ended = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=60)
    assert "Traceback" not in ended.stderr and ended.returncode in (0, 2), ended.stderr


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root, as a root crontab runs it")
def test_a_root_command_stopped_by_sigterm_still_gives_back_what_it_wrote(tmp_path, sample_photo):
    """`timeout 60 faceattend extract` in root's crontab, stopped: its lock and running record stayed
    root's, and the station of the folder's user refused to start."""
    import signal
    import subprocess
    import sys
    import time

    data = tmp_path / "data"
    a_lesson_of_3a(data, {"S1": "Ann Lee"})
    (data / "database_image" / "ann").mkdir(parents=True)
    shutil.copy(sample_photo("players.jpg"), data / "database_image" / "ann" / "1.jpg")
    for path in [data, *data.rglob("*")]:
        os.lchown(path, 4321, 4321)
    extract = subprocess.Popen([sys.executable, "-m", "faceattend_tui", "extract", "--data", str(data),
                                "--device", "cpu"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not (data / "database_tensor").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    extract.send_signal(signal.SIGTERM)
    _, err = extract.communicate(timeout=60)
    assert {str(p.relative_to(data)) for p in data.rglob("*") if p.lstat().st_uid != 4321} == set()
    assert extract.returncode == 143 and b"stopped (SIGTERM)" in err  # it ended without a word


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_an_export_dir_inside_the_data_folder_is_given_back_too(tmp_path):
    """A station run as root dropped its sheets in `export_dir = "sheets"`: the station of the folder's user
    then could never write there ("the sheet of session 4 could not be written ... waits in the log")."""
    import time

    from faceattend_tui.cli import give_back_as_root

    data = tmp_path / "data"
    since = time.time() - 1
    (data / "sheets").mkdir(parents=True)
    (data / "faceattend.toml").write_text('export_dir = "sheets"\n', encoding="utf-8")
    (data / "sheets" / "maths.csv").write_text("name,status\n", encoding="utf-8")
    os.lchown(data, 4321, 4321)
    give_back_as_root(data, since)
    assert (data / "sheets").stat().st_uid == (data / "sheets" / "maths.csv").stat().st_uid == 4321
    assert (data / "faceattend.toml").stat().st_uid == 0


def test_the_groups_named_for_a_misspelt_one_are_in_the_rosters_number_order(tmp_path, capsys):
    data = tmp_path / "data"
    with open_store(data) as store:
        att = Attendance(store)
        for number, group in enumerate(["Room 10", "Room 2", "room 1"]):
            att.add_person(f"Pupil {number}", person_id=f"S{number}", groups=[group])
    assert main(["people", "list", "--data", str(data), "--group", "Room 9"]) == 0
    assert "the groups: room 1, Room 2, Room 10" in capsys.readouterr().err
    assert main(["report", "--data", str(data), "--group", "Room 9"]) == 3
    assert "(groups: room 1, Room 2, Room 10)" in capsys.readouterr().err
