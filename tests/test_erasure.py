"""Erasure: nothing in the log, the audit or the exports names the person afterwards, or the command says what does."""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from datetime import date, time
from pathlib import Path

import numpy as np
import pytest
from both_logs import BACKENDS, DATABASES, data_root, open_store
from fakes import FakeClock

from faceattend_tui.attendance import (
    Attendance,
    ExportOptions,
    audit,
    backends,
    build_report,
    export_attendance,
    report_csv,
    report_json,
)
from faceattend_tui.attendance.security import id_hash
from faceattend_tui.attendance.session_edit import void_session
from faceattend_tui.cli import main
from faceattend_tui.config import Settings
from faceattend_tui.station.people import remove_person


@pytest.fixture(params=BACKENDS)
def data(request, tmp_path: Path) -> Path:
    return data_root(request, tmp_path)


def a_term(att: Attendance) -> None:
    """Ann (S1042) and Bob (S1043): an import, a corrected name, a session with a check-in and marks."""
    att.add_person("Ann Lee", person_id="S1042", groups=["3A"], folder="S1042")
    att.add_person("Bob Marr", person_id="S1043", groups=["3A"], folder="S1043")
    audit(att.store, "people.import", {"people": ["S1042", "S1043"], "count": 2, "claimed": [["p-1a2b", "S1042"]]})
    att.update_person("S1042", name="Ann Lee-Smith")
    att.start_session("Maths", group="3A")
    att.check_in("S1042", 0.8)
    att.mark("S1042", "absent", "excused: dentist appointment")
    att.mark("S1043", "late", "came in with Ann Lee")
    att.stop_session()
    audit(att.store, "people.sync", {"added": 0, "removed": ["S1042"]})


def test_the_audit_keeps_no_trace_of_an_erased_person(data):
    store = open_store(data, clock=FakeClock())
    att = Attendance(store, user="teacher")
    a_term(att)
    retake = att.start_session("Ann Lee-Smith's retake")  # other records may name her too
    att.stop_session()
    void_session(att, retake.id, "Ann Lee was ill", user="teacher")
    att.remove_person("S1042", erase=True, user="admin")
    log = store.audit_log()
    text = json.dumps([[a.action, a.details] for a in log], ensure_ascii=False)
    assert not re.search(r"S1042|Ann Lee|dentist", text), text
    (token,) = set(re.findall(r"erased-[0-9a-f]+", text))  # one token, wherever they were named
    by_action = {a.action: a.details for a in log}
    # the id she had before the roster's would link the entries under it to her: it goes too
    assert by_action["people.import"] == {"people": [token, "S1043"], "count": 2, "claimed": [[token, token]]}
    assert by_action["person.update"]["previous_name"] == token
    assert by_action["people.sync"]["removed"] == [token]
    assert by_action["person.erase"] == {"id": token, "records": 2, "id_hash": id_hash("S1042"),  # no id, no name
                                         "id_any_case": id_hash("s1042")}
    marks = [a.details for a in log if a.action == "checkin.mark"]
    assert [(m["person"], m["reason"]) for m in marks] == [(token, token), ("S1043", f"came in with {token}")]
    session, voided = store.sessions()
    assert [(m.person_id, m.reason) for m in store.marks(session.id)] == [("S1043", f"came in with {token}")]
    assert (voided.name, voided.void_reason) == (f"{token}'s retake", f"{token} was ill")  # any name she had
    if data not in DATABASES:  # the log file: what was written before the erasure is not kept in the journal
        assert not (data / "attendance.journal").exists()
        assert not re.search(r"S1042|dentist|Ann Lee", (data / "attendance.json").read_text(encoding="utf-8"))
    store.close()
    with open_store(data) as again:
        assert again.audit_log() == log


def test_names_are_replaced_as_whole_words_only():
    from faceattend_tui.attendance.models import Person
    from faceattend_tui.attendance.security import erased_names, erased_token, scrub_audit

    token = erased_token()
    rows = [(1, {"person": "S1", "reason": "sick"}), (2, {"person": "S10", "reason": "with Ann, not Annabel"}),
            (3, {"session_id": 1, "name": "Annual review"})]
    ann = Person("S1", "Ann", None)
    names = erased_names(ann, (details for _, details in rows))
    assert scrub_audit(rows, ann, token, names) == {1: {"person": token, "reason": token},
                                                    2: {"person": "S10", "reason": f"with {token}, not Annabel"}}
    assert re.fullmatch(r"erased-[0-9a-f]{10}", token) and erased_token() != token


def test_names_are_found_in_any_order_of_their_words_and_any_case():
    from faceattend_tui.attendance.security import name_pattern

    bob = name_pattern(["Marr, Bob"])
    texts = ["Rattrapage Bob Marr", "Rattrapage pour Marr, Bob", "bob marr est absent", "Marr Bob"]
    assert [bob.sub("X", t) for t in texts] == ["Rattrapage X", "Rattrapage pour X", "X est absent", "X"]
    assert bob.sub("X", "Bob Marrow and Marr Bobby") == "Bob Marrow and Marr Bobby"  # whole words only
    jose = name_pattern(["José Éa"])
    assert jose.sub("X", "outs/jose_ea_viva.csv and JOSÉ ÉA") == "outs/X_viva.csv and X"  # typed without accents


def test_names_written_with_vowel_signs_are_found_whole_and_nothing_else_is_touched():
    """Erasing राम rewrote "मेरा भाई बीमार है" (my brother is sick) into "erased-Xा भाई बीerased-X है": Python's
    word letters have no vowel signs, so the name was split into consonants found anywhere; and प्रिया
    शर्मा was not found in the other order of her words."""
    from faceattend_tui.attendance.security import name_pattern

    ram = name_pattern(["राम"])
    assert ram.sub("X", "मेरा भाई बीमार है") == "मेरा भाई बीमार है"
    assert ram.sub("X", "राम आया, राम!") == "X आया, X!"
    assert name_pattern(["प्रिया शर्मा"]).sub("X", "Viva: शर्मा प्रिया") == "Viva: X"
    assert name_pattern(["นิด"]).sub("X", "นี่ดี และ นิด") == "นี่ดี และ X"  # "this is good" and Nid


def test_names_in_scripts_written_without_spaces_are_found_inside_the_words_around_them():
    """王小明's make-up exam, "came with 王小明", "came with Tanaka-san": each stayed after the erasure."""
    from faceattend_tui.attendance.security import Names, name_pattern

    assert name_pattern(["王小明"]).sub("X", "王小明的补考, 和王小明一起来") == "X的补考, 和X一起来"
    assert name_pattern(["田中"]).sub("X", "田中さんと来た") == "Xさんと来た"
    assert name_pattern(["นิด"]).sub("X", "มากับนิด") == "มากับX"
    assert Names(["王小明"], others=["王小明华"]).sub("X", "王小明华 和 王小明") == "王小明华 和 X"


def test_a_name_of_four_words_makes_a_pattern_of_reasonable_size():
    """Each gap between words held a class of every mark Unicode has: a 4-word name made a pattern of
    900,000 characters, and erasing "Anna" among 40 people called "Anna ..." took 17 s and 500 MB."""
    from faceattend_tui.attendance.security import name_pattern

    assert len(name_pattern(["Anna Maria de Souza"]).pattern) < 50_000


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.DictReader(handle))


def exports_of_a_term(data: Path) -> dict[str, Path]:
    """A session sheet (CSV, JSON), a report (CSV, JSON) and a note of someone's, all in DATA/exports/."""
    exports = data / "exports"
    with backends.open_store(data, clock=FakeClock()) as store:
        att = Attendance(store, user="teacher")
        a_term(att)
        files = {fmt: export_attendance(store, exports, ExportOptions(fmt)) for fmt in ("csv", "json")}
        report = build_report(store, date(2024, 9, 1), date(2024, 9, 30))
        (exports / "term.csv").write_text(report_csv(report), encoding="utf-8")
        (exports / "term.json").write_text(report_json(report, store.now()), encoding="utf-8")
    (exports / "notes.txt").write_text("S1042 phoned in\n", encoding="utf-8")
    return {**files, "report.csv": exports / "term.csv", "report.json": exports / "term.json",
            "notes": exports / "notes.txt"}


def test_erasure_names_the_exports_that_still_name_them_and_rewrites_them_on_request(tmp_path, capsys):
    data = tmp_path / "data"
    files = exports_of_a_term(data)
    before = {name: path.read_bytes() for name, path in files.items()}
    assert main(["people", "remove", "S1042", "--erase", "--data", str(data)]) == 1  # done, but not everywhere
    out, err = capsys.readouterr()
    assert "S1042 Ann Lee-Smith: erased" in out
    for path in files.values():
        assert str(path) in err
    assert {name: path.read_bytes() for name, path in files.items()} == before  # nothing rewritten unasked
    # later, by id only (the name is gone from the log): their rows leave every sheet
    assert main(["people", "remove", "S1042", "--erase", "--exports", "--data", str(data)]) == 1
    out, err = capsys.readouterr()
    assert "rewrote 4 exports" in out and str(files["notes"]) in err and str(files["csv"]) not in err
    assert main(["audit", "--data", str(data), "--json"]) == 0  # who rewrote them is in the audit, not whom
    (entry,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()
                if json.loads(line)["action"] == "person.erase.exports"]
    assert entry["details"]["rewritten"] == 4 and "S1042" not in json.dumps(entry)
    rows = read_csv(files["csv"])
    assert [r["person_id"] for r in rows] == ["S1043"] and files["csv"].read_bytes().startswith(b"\xef\xbb\xbf")
    (session,) = json.loads(files["json"].read_text(encoding="utf-8"))["sessions"]
    assert [p["person_id"] for p in session["people"]] == ["S1043"]
    assert session["counts"] == {"present": 0, "late": 1, "absent": 0} and session["expected"] == 1
    assert [r["id"] for r in read_csv(files["report.csv"])] == ["S1043"]
    assert [p["id"] for p in json.loads(files["report.json"].read_text(encoding="utf-8"))["people"]] == ["S1043"]
    for name in ("csv", "json", "report.csv", "report.json"):
        assert "S1042" not in files[name].read_text(encoding="utf-8")


def test_erasure_with_exports_rewrites_them_at_once_names_included(tmp_path, capsys):
    data = tmp_path / "data"
    files = exports_of_a_term(data)
    files["notes"].unlink()
    assert main(["people", "remove", "S1042", "--erase", "--exports", "--data", str(data)]) == 0
    out, err = capsys.readouterr()
    assert "rewrote 4 exports" in out and err == ""
    for name in ("csv", "json", "report.csv", "report.json"):
        assert not re.search(r"S1042|Ann Lee|dentist", files[name].read_text(encoding="utf-8")), name
    bob = read_csv(files["csv"])[0]
    assert re.fullmatch(r"came in with erased-[0-9a-f]+", bob["mark_reason"])
    assert main(["people", "remove", "S1043", "--exports", "--data", str(data)]) == 2  # --exports needs --erase


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16"])
def test_a_sheet_a_spreadsheet_saved_again_in_its_own_encoding_keeps_everyone_elses_letters(tmp_path, capsys, encoding):
    """(In Windows-1252 "Weiß" before a no-break space reads as a UTF-8 letter: the sheet is not mixed.)"""
    """Excel's "CSV" (Windows-1252) and "Unicode text" (UTF-16): read as UTF-8, the first lost every accented
    letter of the people kept, and the second was passed over with her name still in it."""
    data = tmp_path / "data"
    files = exports_of_a_term(data)
    files["notes"].unlink()
    text = files["csv"].read_text(encoding="utf-8-sig").replace("Bob Marr", "Zoë Ünal").replace(
        "Maths", "Chimie 1ère Weiß\u00a0Anna")
    saved = files["csv"].with_name("saved-again.csv")
    saved.write_bytes(text.encode(encoding))
    assert main(["people", "remove", "S1042", "--erase", "--exports", "--data", str(data)]) == 0
    assert "rewrote 5 exports" in capsys.readouterr().out
    kept = saved.read_bytes().decode(encoding)
    assert "S1042" not in kept and "Ann Lee" not in kept
    assert "Zoë Ünal" in kept and "Chimie 1ère Weiß\u00a0Anna" in kept
    assert saved.read_bytes().startswith(b"\xff\xfe") == (encoding == "utf-16")  # its mark kept


def test_a_sheet_that_mixes_encodings_is_left_whole_and_named_to_check_by_hand(tmp_path, capsys):
    """A UTF-8 sheet with a line an older spreadsheet added in Windows-1252: read all as the latter, her name
    written in UTF-8 was missed, and the sheet said rewritten without her."""
    data = tmp_path / "data"
    files = exports_of_a_term(data)
    files["notes"].unlink()
    text = files["csv"].read_text(encoding="utf-8-sig").replace("came in with Ann Lee",
                                                               "came in with Ann Lee, Zoë Ångström")
    mixed = files["csv"].with_name("mixed.csv")
    mixed.write_bytes(text.encode("utf-8") + "note,café\n".encode("cp1252"))
    before = mixed.read_bytes()
    assert main(["people", "remove", "S1042", "--erase", "--exports", "--data", str(data)]) == 1
    out, err = capsys.readouterr()
    assert f"{mixed}: it mixes UTF-8 with another encoding" in err and "rewrote 4 exports" in out
    assert mixed.read_bytes() == before


def test_erasure_takes_what_was_recorded_under_the_id_they_had_before_the_roster_claimed_them(tmp_path, capsys):
    data = tmp_path / "data"
    with backends.open_store(data, clock=FakeClock()) as store:
        att = Attendance(store, user="teacher")
        att.sync_people({"Zoe Quinn": 1, "Bob Marr": 1})  # photo folders dropped in: generated ids
        zoe = next(p for p in att.people() if p.name == "Zoe Quinn")
        att.start_session("Maths")
        att.mark(zoe.id, "absent", "was ill")
        att.check_in(next(p.id for p in att.people() if p.name == "Bob Marr"))
        att.stop_session()
        sheet = export_attendance(store, data / "exports", ExportOptions("csv"))
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\nS9,Zoe Quinn\nS10,Bob Marr\n", encoding="utf-8")
    assert main(["people", "import", str(roster), "--data", str(data)]) == 0
    assert main(["audit", "--person", "S9", "--data", str(data)]) == 0
    assert "status=absent, reason=was ill" in capsys.readouterr().out  # recorded under her generated id
    assert main(["people", "remove", "S9", "--erase", "--exports", "--data", str(data)]) == 0
    assert zoe.id not in (data / "attendance.json").read_text(encoding="utf-8")
    assert [r["person"] for r in read_csv(sheet)] == ["Bob Marr"]  # written before the claim, under her old id


def bob_came_to(data: Path, session: str) -> Path:
    """A data root where Bob Marr (S2) checked in to one finished session."""
    with backends.open_store(data, clock=FakeClock()) as store:
        att = Attendance(store, user="teacher")
        att.add_person("Bob Marr", person_id="S2")
        att.start_session(session)
        att.check_in("S2")
        att.stop_session()
    return data


def test_erasure_renames_an_export_whose_file_name_holds_their_name(tmp_path, capsys):
    """A session named after them ("Viva of Bob Marr") gave its sheet a file name that names them."""
    data = bob_came_to(tmp_path / "data", "Viva of Bob Marr")
    assert main(["export", "--session", "1", "--data", str(data)]) == 0
    (sheet,) = (data / "exports").iterdir()
    assert "bob-marr" in sheet.name
    assert main(["people", "remove", "S2", "--erase", "--exports", "--data", str(data)]) == 0
    (renamed,) = (data / "exports").iterdir()
    assert re.fullmatch(r"2024-09-02_1_viva-of-erased-[0-9a-f]+\.csv", renamed.name)
    assert not re.search(r"(?i)bob[\W_]+marr", (data / "attendance.json").read_text(encoding="utf-8"))
    assert main(["audit", "--data", str(data)]) == 0
    assert renamed.name in capsys.readouterr().out  # the audit's export entry names the file as it is now


def test_erasure_names_the_sheets_written_with_out_elsewhere_that_name_them(tmp_path, capsys):
    data = bob_came_to(tmp_path / "data", "Maths")
    elsewhere = tmp_path / "o1.csv"
    assert main(["export", "--session", "1", "--out", str(elsewhere), "--data", str(data)]) == 0
    cut = tmp_path / ".o1.csv.69c820958e72.tmp"  # a whole copy an export killed before its name left
    cut.write_text(elsewhere.read_text())
    other_door = tmp_path / "south" / "exports" / "s.csv"  # a shared log's audit holds other doors' own sheets
    other_door.parent.mkdir(parents=True)
    other_door.write_text(elsewhere.read_text())
    with backends.open_store(data) as store:
        audit(store, "export", {"path": str(other_door), "out": False}, "south")
    assert main(["people", "remove", "S2", "--erase", "--exports", "--data", str(data)]) == 1  # not everywhere
    err = capsys.readouterr().err
    assert "sheets written with --out elsewhere that name them" in err and str(elsewhere) in err and str(cut) in err
    assert str(other_door) not in err  # that door's own erasure rewrites it


def test_erasure_removes_set_aside_templates_and_names_backups_of_the_log(tmp_path):
    data = tmp_path / "data"
    settings = Settings(data=data)
    legacy = settings.tensors_dir / "legacy" / "S1042.npy"
    legacy.parent.mkdir(parents=True)
    np.save(legacy, np.zeros((1, 512), np.float32))
    later = legacy.with_name("S1042.npy.2")  # set aside again, later: kept beside the first
    later.write_bytes(legacy.read_bytes())
    other = legacy.with_name("S1042.npy.2.npy")  # the folder "S1042.npy.2" of someone else
    other.write_bytes(legacy.read_bytes())
    backup = data / "attendance.json.schema1.bak"
    backup.write_text('{"people": {"1": {"name": "Ann Lee"}}}', encoding="utf-8")
    (data / "backup").mkdir()
    copies = [backup, data / "attendance-2026-12-01.json", data / "attendance.json~", data / "log.old",
              data / "backup" / "attendance.json"]  # copies made by hand: only *.bak was looked at
    for copy in copies[1:]:
        copy.write_bytes(backup.read_bytes())
    (data / "attendance.json.gz").write_bytes(b"\x1f\x8b")  # not opened
    with backends.open_store(data) as store:
        att = Attendance(store, user="teacher")
        ann = att.add_person("Ann Lee", person_id="S1042", folder="S1042")
        removal = remove_person(att, settings, ann, erase=True)
    assert not legacy.exists() and not later.exists() and other.exists()
    assert sorted(removal.backups) == sorted(copies) and removal.left
    assert any(str(backup) in line for line in removal.leftovers())


def test_erasure_takes_them_out_of_the_station_and_worker_logs_which_go_on_being_written(tmp_path):
    """station.log kept "Zelda Quist (S1) and Yann Twin (S5) look like one person" after Zelda's erasure, and
    the erasure said nothing was left."""
    import logging
    from logging.handlers import RotatingFileHandler

    data = tmp_path / "data"
    settings = Settings(data=data)
    data.mkdir()
    (data / "worker.log").write_text("skipped zelda/3.jpg: no face\n", encoding="utf-8")
    (data / "station.log.1").write_text("WARNING Zelda Quist (S1) had no templates\n", encoding="utf-8")
    handler = RotatingFileHandler(data / "station.log", encoding="utf-8")  # the running station's
    log = logging.getLogger("test-erasure-station")
    log.addHandler(handler)
    try:
        log.warning("Zelda Quist (S1) and Yann Twin (S5) look like one person (cosine 0.65)")
        with backends.open_store(data) as store:
            att = Attendance(store, user="teacher")
            zelda = att.add_person("Zelda Quist", person_id="S1", folder="zelda")
            att.add_person("Yann Twin", person_id="S5", folder="yann")
            removal = remove_person(att, settings, zelda, erase=True)
        log.warning("a line written after the erasure")
    finally:
        log.removeHandler(handler)
        handler.close()
    texts = {name: (data / name).read_text(encoding="utf-8") for name in ("station.log", "station.log.1",
                                                                          "worker.log")}
    assert not any(word in text for text in texts.values() for word in ("Zelda", "S1", "zelda"))
    assert texts["station.log"] == (f"{removal.token} ({removal.token}) and Yann Twin (S5) look like one person "
                                    "(cosine 0.65)\na line written after the erasure\n")
    assert f"took them out of {', '.join(sorted(texts))}" in removal.lines() and not removal.left


def test_erasing_someone_whose_id_is_a_number_leaves_the_logs_dates_and_times_alone(tmp_path):
    """Person 2026 erased: every line of station.log lost its year ("erased-4924967a11-12-06 17:27:05")."""
    data = tmp_path / "data"
    data.mkdir()
    line = "2026-12-06 17:27:05,456 WARNING faceattend.station: {} has no templates\n"
    (data / "station.log").write_text(line.format("Bob Marr (S7)") + line.format("Zoe Quist (2026)"), encoding="utf-8")
    with backends.open_store(data) as store:
        att = Attendance(store, user="teacher")
        zoe = att.add_person("Zoe Quist", person_id="2026", folder="2026")
        att.add_person("Bob Marr", person_id="S7", folder="S7")
        removal = remove_person(att, Settings(data=data), zoe, erase=True)
    token = removal.token
    assert (data / "station.log").read_text(encoding="utf-8") == line.format("Bob Marr (S7)") + line.format(
        f"{token} ({token})")


def test_erasure_names_a_screenshot_of_the_screen_that_shows_them(tmp_path):
    """The station keeps its screenshots with the exports; their SVG writes a space as '&#160;'."""
    data = tmp_path / "data"
    settings = Settings(data=data)
    settings.exports_dir.mkdir(parents=True)
    shot = settings.exports_dir / "faceattend_2026-12-06T11_30_00.svg"
    shot.write_text('<svg><text x="0">Ann&#160;Lee</text><text x="9">S2&#160;Bob&#160;Marr</text></svg>')
    with backends.open_store(data) as store:
        att = Attendance(store, user="teacher")
        ann = att.add_person("Ann Lee", person_id="S1042", folder="S1042")
        removal = remove_person(att, settings, ann, erase=True)
    assert removal.exports.foreign == [shot] and any(str(shot) in line for line in removal.leftovers())


def test_erasure_knows_reports_of_each_kind_and_the_older_mixed_one():
    from faceattend_tui.attendance.erasure import Target, without

    ann = Target("S1042", frozenset({"Ann Lee"}), "erased-1")
    by_person = ("id,name,group,expected,present,late,absent,rate\n"
                 "S1042,Ann Lee,3A,1,1,0,0,1.0\nS1043,Bob,3A,1,0,0,1,0\n")
    assert without(by_person, ".csv", ann).splitlines()[1:] == ["S1043,Bob,3A,1,0,0,1,0"]
    by_session = ("id,name,date,start_date,start_time,group,expected,present,late,absent,rate\n"
                  "1,Ann Lee's tutoring,2024-09-02T08:00:00.000+02:00,2024-09-02,08:00:00,,1,1,0,0,1.0\n")
    scrubbed = without(by_session, ".csv", ann)
    assert "Ann Lee" not in scrubbed and "erased-1's tutoring" in scrubbed
    mixed = "row,id,name\nperson,S1042,Ann Lee\nsession,1,Maths\n"
    assert without(mixed, ".csv", ann).splitlines()[1:] == ["session,1,Maths"]
    hours = ("id,name,day,in,out,hours\nS1042,Ann Lee,2024-09-02,08:01,16:30,8.48\n"
             "S1043,Bob,2024-09-02,08:10,16:00,7.83\n")
    assert without(hours, ".csv", ann).splitlines()[1:] == ["S1043,Bob,2024-09-02,08:10,16:00,7.83"]
    checked = ("id,name,day,in,out,hours,in_time,out_time,check\nS1042,Ann Lee,2024-09-02,,,0.0,,,seen once\n"
               "S1043,Bob,2024-09-02,,,7.83,08:10:00,16:00:00,\n")
    assert without(checked, ".csv", ann).splitlines()[1:] == ["S1043,Bob,2024-09-02,,,7.83,08:10:00,16:00:00,"]
    hours_json = {"days": [{"id": "S1042", "name": "Ann Lee", "hours": 8.48}, {"id": "S1043", "name": "Bob"}],
                  "people": [{"id": "S1042", "name": "Ann Lee", "hours": 8.48}, {"id": "S1043", "name": "Bob"}]}
    kept = json.loads(without(json.dumps(hours_json), ".json", ann))
    assert [d["id"] for d in kept["days"]] == [p["id"] for p in kept["people"]] == ["S1043"]


def test_photos_linked_in_from_elsewhere_lose_their_link_and_are_named_not_followed(tmp_path, capsys):
    """A person's folder (or photo) is a link to a shared photo archive: the erasure goes through, and
    says that the photos themselves are elsewhere."""
    data = tmp_path / "data"
    archive = tmp_path / "archive"
    (archive / "ann").mkdir(parents=True)
    (archive / "ann" / "1.jpg").write_bytes(b"\xff\xd8")
    (archive / "bob.jpg").write_bytes(b"\xff\xd8")
    images = data / "database_image"
    images.mkdir(parents=True)
    (images / "S1").symlink_to(archive / "ann")
    (images / "S2.jpg").symlink_to(archive / "bob.jpg")
    with backends.open_store(data) as store:
        att = Attendance(store, user="teacher")
        att.add_person("Ann Lee", person_id="S1", folder="S1")
        att.add_person("Bob Marr", person_id="S2", folder="S2")
    assert main(["people", "remove", "S1", "--erase", "--data", str(data)]) == 1  # done, but not everywhere
    out, err = capsys.readouterr()
    assert "S1 Ann Lee: erased" in out and "linked in: the links are gone" in err and str(archive / "ann") in err
    assert main(["people", "remove", "S2", "--data", str(data)]) == 0  # left: said, nothing more to do
    assert str(archive / "bob.jpg") in capsys.readouterr().err
    assert not (images / "S1").exists() and not (images / "S2.jpg").is_symlink()
    assert (archive / "ann" / "1.jpg").exists() and (archive / "bob.jpg").exists()


def anna_and_anna_leeds(att: Attendance) -> None:
    """Anna (S13) and Anna Leeds (S10), who share a first name; Anna Leeds's records name Ann Lee too."""
    att.add_person("Anna", person_id="S13", groups=["3A"])
    att.add_person("Anna Leeds", person_id="S10", groups=["3A"])
    att.start_session("Lab")
    att.check_in("S13", 0.8)
    att.mark("S10", "excused", "Anna Leeds helped Anna with the projector")
    att.stop_session()


def test_erasing_a_one_word_name_leaves_another_persons_longer_name_alone(data):
    store = open_store(data, clock=FakeClock())
    att = Attendance(store, user="teacher")
    anna_and_anna_leeds(att)
    att.remove_person("S13", erase=True, user="admin")
    (mark,) = store.marks(store.sessions()[0].id)
    assert re.fullmatch(r"Anna Leeds helped erased-[0-9a-f]+ with the projector", mark.reason)
    assert store.person("S10").name == "Anna Leeds"
    text = json.dumps([a.details for a in store.audit_log()], ensure_ascii=False)
    assert "Anna Leeds helped erased-" in text and not re.search(r"Anna(?! Leeds)|S13", text), text
    store.close()


def test_erasing_someone_leaves_a_namesakes_own_rows_and_entries_named(tmp_path, capsys):
    """Two pupils called Ann Lee: erasing one keeps the other's name in their own rows and audit entries."""
    data = tmp_path / "data"
    with backends.open_store(data, clock=FakeClock()) as store:
        att = Attendance(store, user="teacher")
        att.add_person("Ann Lee", person_id="S1")
        att.add_person("Ann Lee", person_id="S12")
        att.start_session("Maths")
        att.check_in("S1", 0.8)
        att.mark("S12", "excused", "sick")
        att.stop_session()
        sheets = [export_attendance(store, data / "exports", ExportOptions(fmt)) for fmt in ("csv", "json")]
        report = build_report(store, date(2024, 9, 1), date(2024, 9, 30))
        (data / "exports" / "term.json").write_text(report_json(report, store.now()), encoding="utf-8")
    assert main(["people", "remove", "S12", "--data", str(data)]) == 0  # she left: her records stay
    assert main(["people", "remove", "S1", "--erase", "--exports", "--data", str(data)]) == 0
    capsys.readouterr()
    assert [(r["person_id"], r["person"]) for r in read_csv(sheets[0])] == [("S12", "Ann Lee")]
    (session,) = json.loads(sheets[1].read_text(encoding="utf-8"))["sessions"]
    assert [(p["person_id"], p["person"]) for p in session["people"]] == [("S12", "Ann Lee")]
    people = json.loads((data / "exports" / "term.json").read_text(encoding="utf-8"))["people"]
    assert [(p["id"], p["name"]) for p in people] == [("S12", "Ann Lee")]
    assert main(["audit", "--person", "S12", "--data", str(data)]) == 0
    assert "name=Ann Lee" in capsys.readouterr().out  # when she left


def test_an_erasure_takes_every_name_they_had_out_of_corrections_and_the_timetable(tmp_path, capsys):
    from faceattend_tui.attendance.timetable import Slot, holidays_of, save_holidays, save_slots, slots_of

    data = tmp_path / "data"
    with backends.open_store(data, clock=FakeClock()) as store:
        att = Attendance(store, user="teacher")
        att.add_person("Ann Li", person_id="S1")
        att.add_person("Bob Marr", person_id="S2")
        att.update_person("S1", name="Ann Lee")  # the name she had before counts too
        save_slots(store, [Slot("Tutoring Ann Lee", None, 3, time(14), time(15))])
        save_holidays(store, {"2026-12-24": "Ann Li's wedding"})
    assert main(["hours", "correct", "S2", "2024-09-02", "--in", "08:00", "--out", "16:00", "--reason",
                 "swapped shift with Ann Li", "--data", str(data)]) == 0
    assert main(["people", "remove", "S1", "--erase", "--data", str(data)]) == 0
    capsys.readouterr()
    with backends.open_store(data) as store:
        (slot,) = slots_of(store)
        token = slot.name.removeprefix("Tutoring ")
        assert re.fullmatch(r"erased-[0-9a-f]+", token)
        assert holidays_of(store) == {"2026-12-24": f"{token}'s wedding"}
        (correction,) = store.get_setting("hours_corrections").values()
        assert correction["reason"] == f"swapped shift with {token}"


def test_a_reason_typed_with_accents_apart_still_names_them():
    from faceattend_tui.attendance.security import Names

    names = Names(["Céline Gérard"])
    apart = unicodedata.normalize("NFD", "walked in with Céline Gérard")
    assert names.sub("X", apart) == "walked in with X"
    assert names.sub("X", "nobody") == "nobody"


def test_an_export_audited_while_the_station_ran_is_scrubbed_by_an_erasure_at_the_station(tmp_path):
    """A command run beside the station leaves its audit line waiting for the station; an erasure made at
    the station takes it in first, so the person's name in it goes too."""
    from faceattend_tui.attendance import open_snapshot
    from faceattend_tui.attendance.models import AuditEntry

    data = tmp_path / "data"
    store = backends.open_store(data, clock=FakeClock())
    att = Attendance(store, user="teacher")
    att.add_person("Ann Lee", person_id="S1")
    reader = open_snapshot(data)
    reader.add_audit(AuditEntry(store.now(), "dana", "export", {"path": str(data / "exports" / "viva-of-ann-lee.csv")}))
    reader.close()
    att.remove_person("S1", erase=True, user="admin")
    text = json.dumps([e.details for e in store.audit_log()])
    assert "viva-of-erased-" in text and "ann-lee" not in text
    store.close()


def test_exports_rewritten_after_the_erasure_lose_the_names_it_told_to_give(tmp_path, capsys):
    """Erased first (the station's d, or without --exports), the sheets later: the log no longer knows
    her names, so the first step prints the command with them."""
    data = tmp_path / "data"
    files = exports_of_a_term(data)
    assert main(["people", "remove", "S1042", "--erase", "--data", str(data)]) == 1
    err = capsys.readouterr().err
    assert f"--erase --exports --name 'Ann Lee' --name 'Ann Lee-Smith' --data {data}" in err  # as it is to be run
    assert main(["people", "remove", "S1042", "--erase", "--data", str(data)]) == 2  # again, as after a crash
    assert "erased already? `faceattend people remove S1042 --erase --exports`" in capsys.readouterr().err
    assert main(["people", "remove", "Ann Lee-Smith", "--erase", "--data", str(data)]) == 2  # her name typed
    hint = "`faceattend people remove ID --erase --exports --name 'Ann Lee-Smith'`"  # a name is no id to pass
    assert hint in capsys.readouterr().err
    elsewhere = tmp_path / "elsewhere"  # run from another folder without --data: said, nothing made there
    assert main(["people", "remove", "S1042", "--erase", "--exports", "--data", str(elsewhere)]) == 2
    assert "holds no attendance log" in capsys.readouterr().err and not elsewhere.exists()
    assert main(["people", "remove", "S1042", "--erase", "--exports", "--data", str(data)]) == 1
    assert "found only when given with --name" in capsys.readouterr().out  # by id alone: said
    assert re.search("Ann Lee", files["csv"].read_text(encoding="utf-8"))  # Bob's reason still names her
    assert main(["people", "remove", "S1042", "--erase", "--exports", "--name", "Ann Lee", "--name", "Ann Lee-Smith",
                 "--data", str(data)]) == 1  # notes.txt is not a sheet: listed
    for name in ("csv", "json", "report.csv", "report.json"):
        assert not re.search(r"S1042|Ann Lee", files[name].read_text(encoding="utf-8")), name
    with backends.open_store(data) as store:  # one erased person, one token: the sheets use the erasure's
        entries = store.audit_log()
    (token,) = [e.details["id"] for e in entries if e.action == "person.erase"]
    assert {e.details["id"] for e in entries if e.action == "person.erase.exports"} == {token}
    assert token in files["csv"].read_text(encoding="utf-8")


def test_an_erasure_on_a_log_of_the_previous_release_takes_their_own_mark_reasons(tmp_path):
    """That release's audit named people by name: her mark's reason ("sick note") is about her too."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(Path(__file__).parent / "fixtures" / "schema1", data)
    store = backends.open_store(data)
    att = Attendance(store, user="head")
    cleo = next(p for p in att.people(include_left=True) if p.name == "Cleo Diaz")
    assert "sick note" in json.dumps([e.details for e in store.audit_log()])
    att.remove_person(cleo.id, erase=True, user="admin")
    text = json.dumps([e.details for e in store.audit_log()])
    assert "sick note" not in text and "Cleo" not in text
    store.close()


def test_a_name_a_roster_import_changed_is_taken_out_by_an_erasure(tmp_path, capsys):
    data = tmp_path / "data"
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\nS1,Joanna Smith\nS2,Zoe Quinn\n", encoding="utf-8")
    assert main(["people", "import", str(roster), "--data", str(data)]) == 0
    with backends.open_store(data) as store:
        att = Attendance(store, user="teacher")
        att.start_session("Maths")
        att.mark("S2", "present", "came with Joanna Smith")
        att.stop_session()
    roster.write_text("id,name\nS1,Joanna Brown\nS2,Zoe Quinn\n", encoding="utf-8")
    assert main(["people", "import", str(roster), "--data", str(data)]) == 0
    assert main(["people", "remove", "S1", "--erase", "--data", str(data)]) == 0
    capsys.readouterr()
    assert "Joanna" not in (data / "attendance.json").read_text(encoding="utf-8")


def test_a_huge_file_among_the_exports_is_named_to_check_by_hand_not_read_whole(tmp_path, capsys, monkeypatch):
    """Anyone who could write to the shared export folder left a 1.5 GB file there: the erasure grew to
    9 GB and never reported."""
    from faceattend_tui.attendance import erasure

    data = tmp_path / "data"
    files = exports_of_a_term(data)
    files["notes"].unlink()
    big = files["csv"].with_name("zz-big.csv")
    with big.open("wb") as handle:
        handle.truncate(2048)  # as large as the limit allows, and one byte more
    monkeypatch.setattr(erasure, "SHEET_LIMIT", 2047)
    assert main(["people", "remove", "S1042", "--erase", "--exports", "--data", str(data)]) == 1
    out, err = capsys.readouterr()
    assert "rewrote 4 exports" in out and f"{big}: larger than 2,047 bytes" in err


def test_a_nightly_roster_that_still_lists_someone_erased_keeps_them_out_until_asked(tmp_path, capsys):
    """The school's system still lists her: the next import added her back without a word, undoing the
    erasure (someone who left is kept out and named; an erased id was not)."""
    data = tmp_path / "data"
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,groups\nS1,Ann Lee,3A\nS2,Bob Marr,3A\n", encoding="utf-8")
    assert main(["people", "import", str(roster), "--data", str(data)]) == 0
    assert main(["people", "remove", "S1", "--erase", "--data", str(data)]) == 0
    capsys.readouterr()
    assert main(["people", "import", str(roster), "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"S1 Ann Lee: erased on \d{4}-\d\d-\d\d: kept out; --reactivate to add them again", out), out
    roster.write_text("id,name,groups\ns1,Ann Lee,3A\n", encoding="utf-8")  # the id in another case
    assert main(["people", "import", str(roster), "--data", str(data)]) == 0
    assert "s1 Ann Lee: erased on" in capsys.readouterr().out
    with backends.open_store(data) as store:
        assert [p.id for p in store.people()] == ["S2"]
    roster.write_text("id,name,groups\nS1,Ann Lee,3A\nS2,Bob Marr,3A\n", encoding="utf-8")
    assert main(["people", "import", str(roster), "--reactivate", "--data", str(data)]) == 0
    assert "added S1 Ann Lee" in capsys.readouterr().out
    with backends.open_store(data) as store:
        assert sorted(p.id for p in store.people()) == ["S1", "S2"]


def test_an_erasure_cut_short_is_said_until_it_is_finished(tmp_path, capsys, monkeypatch):
    """Killed between its steps, an erasure left the person's records and sheets (or their templates) with
    nothing to tell: doctor passed, the station started without a word, the audit showed it done."""
    from fakes import FakeWorker

    import faceattend_tui.station.people as people_module
    from faceattend_tui.config import load_settings
    from faceattend_tui.station import Station

    data = tmp_path / "data"
    files = exports_of_a_term(data)
    (data / "station.log").write_text("2024-09-02 08:01:00 check-in Ann Lee-Smith (S1042) session 1\n")

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # as a kill between the log's commit and the sheets: nothing after it runs

    monkeypatch.setattr(people_module, "clean_exports", killed)
    assert main(["people", "remove", "S1042", "--erase", "--exports", "--data", str(data)]) == 130
    monkeypatch.undo()
    assert "S1042" in files["csv"].read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["doctor", "--data", str(data), "--cameras", "0"]) == 1
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("erasure:")]
    assert "CUT SHORT: the erasure of S1042 begun " in line
    assert "run `faceattend people remove S1042 --erase --exports` to finish it (or, if they were added again " \
           "since on purpose, delete " in line
    station = Station(load_settings(data), "demo", worker_factory=FakeWorker)
    station.open()
    try:
        assert any("the erasure of S1042 begun" in notice for notice in station.start_notices())  # said at start
    finally:
        station.close()
    assert main(["people", "remove", "S1042", "--erase", "--exports", "--data", str(data)]) == 1  # as told
    assert "S1042" not in files["csv"].read_text(encoding="utf-8") and not (data / "erasing.json").exists()
    log = (data / "station.log").read_text()
    assert "S1042" not in log and "Ann Lee-Smith" not in log  # the rest of it too: its names were kept for it
    capsys.readouterr()
    main(["doctor", "--data", str(data), "--cameras", "0"])
    assert "erasure:" not in capsys.readouterr().out


def test_an_unreadable_list_of_erasures_under_way_says_how_to_find_whose(tmp_path, capsys):
    """An empty erasing.json (a crash while it was written) gave a command for a person '?' that was refused."""
    from faceattend_tui.station.people import erasures_cut_short, note_erasure

    (tmp_path / "erasing.json").write_text("")
    (said,) = erasures_cut_short(tmp_path)
    assert said.startswith(f"{tmp_path / 'erasing.json'} cannot be read") and "audit --action person.erase" in said
    note_erasure(tmp_path, "S1", None)  # a later erasure's end: nothing unreadable carried on
    assert erasures_cut_short(tmp_path) == [] and not (tmp_path / "erasing.json").exists()


def test_an_erasure_leaves_no_copy_of_its_note_that_a_killed_write_left(tmp_path):
    """Killed as it wrote its note, an erasure left a hidden copy of it naming the person (`.erasing.json.*.tmp`);
    done again whole, the erasure left that copy, the one file still naming them."""
    data = tmp_path / "data"
    exports_of_a_term(data)
    left = data / ".erasing.json.k2j4h5g6.tmp"
    left.write_text('{"S1042": {"when": "2026-12-07T08:00:00+00:00", "names": ["Ann Lee-Smith"], "folder": "S1042"}}')
    mine = data / ".erasing.json.mine.tmp"  # not one of ours
    mine.write_text("{}")
    main(["people", "remove", "S1042", "--erase", "--exports", "--data", str(data)])
    assert not (data / "erasing.json").exists()  # the erasure done whole
    assert not left.exists() and mine.exists()


def test_an_erasure_a_shared_database_notes_is_not_said_of_someone_added_again_since(tmp_path):
    """Its command would have erased the person added again on purpose, with the same id; told apart by the
    doors' clocks, one 10 minutes fast made the addition look older than the erasure."""
    from faceattend_tui.attendance import backends
    from faceattend_tui.station.people import ERASING_SETTING, shared_erasures_cut_short

    data = tmp_path / "data"
    exports_of_a_term(data)  # S1042 on the roster
    with backends.open_store(data) as store:
        added = store.person("S1042").created.isoformat()
        begun = "2999-01-01T08:00:00+00:00"  # a clock far ahead: no matter
        store.set_setting(ERASING_SETTING, {"S1042": {"when": begun, "created": added}})  # cut short, still there
        (line,) = shared_erasures_cut_short(tmp_path / "elsewhere", store)
        assert "the erasure of S1042 begun 2999-01-01 08:00 was cut short" in line
        earlier = "2020-01-01T08:00:00+00:00"  # the one erased was added then: this S1042 was added again since
        store.set_setting(ERASING_SETTING, {"S1042": {"when": begun, "created": earlier}})
        assert shared_erasures_cut_short(tmp_path / "elsewhere", store) == []
        store.set_setting(ERASING_SETTING, {"S1042": begun})  # its time alone: said, with that time
        (line,) = shared_erasures_cut_short(tmp_path / "elsewhere", store)
        assert "the erasure of S1042 begun 2999-01-01 08:00 was cut short" in line


def test_a_sheet_made_from_records_read_before_an_erasure_is_removed_not_left_naming_them(data, monkeypatch):
    """A nightly export read the log, an admin erased Ann, then the export wrote its sheet: after the erasure
    had looked for sheets, so hers stayed in it with every check-in, and nothing said so."""
    from faceattend_tui.attendance import ExportError
    from faceattend_tui.attendance import export as export_module

    with open_store(data, clock=FakeClock()) as store:
        a_term(Attendance(store, user="teacher"))
    render = export_module.render

    def erased_meanwhile(*args):
        with open_store(data) as writer:
            Attendance(writer, user="admin").remove_person("S1042", erase=True, user="admin")
        return render(*args)

    monkeypatch.setattr(export_module, "render", erased_meanwhile)
    folder = data / "exports"
    with (backends.open_snapshot(data, database=DATABASES.get(data, "")) as snapshot,
          pytest.raises(ExportError, match="erased .* while it was written: .* was removed; export again")):
        export_attendance(snapshot, folder, ExportOptions("csv"), session_id=1)
    assert list(folder.iterdir()) == []
    monkeypatch.setattr(export_module, "render", render)  # exported again: without her
    with backends.open_snapshot(data, database=DATABASES.get(data, "")) as snapshot:
        sheet = export_attendance(snapshot, folder, ExportOptions("csv"), session_id=1)
        assert "export.failed" in [entry.action for entry in snapshot.audit_log()]
    assert "S1042" not in sheet.read_text(encoding="utf-8") and "S1043" in sheet.read_text(encoding="utf-8")


def test_an_erasure_finds_a_sheet_written_elsewhere_while_it_ran(tmp_path, capsys, monkeypatch):
    """An export with --out, audited while the erasure ran but before its records went, was not named: the
    erasure had read the audit's sheets at its start."""
    data = bob_came_to(tmp_path / "data", "Maths")
    elsewhere = tmp_path / "nightly.csv"
    remove = Attendance.remove_person

    def exported_meanwhile(self, *args, **kwargs):
        assert main(["export", "--session", "1", "--out", str(elsewhere), "--data", str(data)]) == 0
        return remove(self, *args, **kwargs)

    monkeypatch.setattr(Attendance, "remove_person", exported_meanwhile)
    assert main(["people", "remove", "S2", "--erase", "--data", str(data)]) == 1
    err = capsys.readouterr().err
    assert "sheets written with --out elsewhere that name them" in err and str(elsewhere) in err
