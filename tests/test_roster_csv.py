"""The roster CSV: the delimiters spreadsheets write, and broken files named line by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from faceattend_tui.attendance import RosterError, open_snapshot, read_roster
from faceattend_tui.cli import main


def write(tmp_path: Path, text: str, name: str = "roster.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(RosterError) as info:
        read_roster(path)
    return info.value.problems


def rows(path: Path) -> list[tuple]:
    return [(line.line, line.id, line.name, line.groups) for line in read_roster(path)]


def test_a_semicolon_roster_is_imported_with_groups_separated_by_commas(tmp_path, capsys):
    roster = write(tmp_path, '\ufeffid;name;groups\r\nS1;"Marr; Bob";3A,choir\r\nS2;Ann Lee;3B\r\n')
    assert rows(roster) == [(2, "S1", "Marr; Bob", ("3A", "choir")), (3, "S2", "Ann Lee", ("3B",))]
    data = tmp_path / "data"
    assert main(["people", "import", str(roster), "--data", str(data)]) == 0
    with open_snapshot(data) as store:
        assert {p.id: p.groups for p in store.people()} == {"S1": ("3A", "choir"), "S2": ("3B",)}


def test_a_unicode_text_roster_is_read_and_an_old_encoding_is_told_how_to_save(tmp_path):
    utf16 = tmp_path / "unicode.csv"
    utf16.write_text("id,name,groups\nS1,Céline Gérard,3A\n", encoding="utf-16")  # with its byte-order mark
    assert rows(utf16) == [(2, "S1", "Céline Gérard", ("3A",))]
    latin = tmp_path / "latin.csv"
    latin.write_bytes("id,name,groups\nS1,Ann Lee,3A\nS2,Céline Gérard,3B\n".encode("latin-1"))
    assert problems(latin) == ['line 3 is not UTF-8 text (an older spreadsheet\'s encoding?); save it as '
                               '"CSV UTF-8" from your spreadsheet']


def test_comma_and_tab_rosters_separate_groups_with_semicolons(tmp_path):
    comma = write(tmp_path, 'id,name,groups\nS1,"Lee, Ann",3A;choir\n', "comma.csv")
    tab = write(tmp_path, "id\tname\tgroups\nS1\tLee, Ann\t3A;choir\n", "tab.csv")
    assert rows(comma) == rows(tab) == [(2, "S1", "Lee, Ann", ("3A", "choir"))]


def test_a_column_twice_in_the_header_is_refused(tmp_path):
    assert problems(write(tmp_path, "id,name,id\nS1,Ann Lee,S9\n")) == [
        "line 1: column id more than once in the header"]


def test_a_line_break_inside_a_quoted_name_is_named_by_its_first_line(tmp_path):
    roster = write(tmp_path, 'id,name\nS1,"Ann\nLee"\nS2,Bob Marr\n"S3",Cy\n')
    assert problems(roster) == ["line 2: a line break inside the name cell (one person per line)"]


def test_stray_quotes_are_named_with_their_line(tmp_path):
    unclosed = write(tmp_path, 'id,name\nS1,Ann Lee\nS2,"Bob Marr\nS3,Cy Dunn\n', "unclosed.csv")
    assert problems(unclosed) == ["line 3: a quote opens a cell and is never closed; nothing after it was read"]
    after = write(tmp_path, 'id,name\nS1,"Ann" Lee\nS2,Bob Marr\nS2,Twice\n', "after.csv")
    assert problems(after) == [
        'line 2: text after the closing quote of a cell (a quote inside a quoted cell is written "")',
        "line 4: id 'S2' is also on line 3"]


def test_an_oversized_cell_is_a_line_numbered_problem_not_a_traceback(tmp_path):
    roster = write(tmp_path, 'id,name\nS1,Ann Lee\nS2,"' + "x" * 200_000 + '"\nS3,Cy Dunn\n')
    (problem,) = problems(roster)
    assert problem.startswith("line 3: a cell longer than 128 KiB")


def test_a_group_name_longer_than_64_characters_is_refused(tmp_path):
    roster = write(tmp_path, "id,name,groups\nS1,Ann Lee,3A;" + "g" * 300 + "\nS2,Bob Marr," + "h" * 64 + "\n")
    assert problems(roster) == [f"line 2: group {'g' * 24!r}... is longer than 64 characters"]


def test_lines_are_the_files_own_line_numbers(tmp_path):
    roster = write(tmp_path, "id,name\n\nS1,Ann Lee\n,\nS2,\n")
    assert problems(roster) == ["line 5: the name is empty"]


def test_a_group_spelt_in_another_case_is_the_same_group_and_its_people_are_expected(tmp_path):
    """'3a' typed in a roster that says '3A' elsewhere: one group; a 3A session expects both people."""
    from faceattend_tui.attendance import Attendance, open_store

    data = tmp_path / "data"
    first = write(tmp_path, "id,name,groups\nS1,Ann Lee,3A\n", "first.csv")
    assert main(["people", "import", str(first), "--data", str(data)]) == 0
    later = write(tmp_path, "id,name,groups\nS2,Bob Marr,3a\nS3,Cy Young,4b;4B\nS4,Di Ross,4B\n", "later.csv")
    assert main(["people", "import", str(later), "--data", str(data)]) == 0
    with open_store(data) as store:
        att = Attendance(store)
        assert {p.id: p.groups for p in att.people()} == {"S1": ("3A",), "S2": ("3A",), "S3": ("4b",),
                                                          "S4": ("4b",)}
        assert att.groups() == ["3A", "4b"]
        assert sorted(att.start_session("Maths", group="3a").expected) == ["S1", "S2"]


def test_a_quoted_group_cell_with_semicolons_in_a_semicolon_file_is_split(tmp_path):
    roster = write(tmp_path, 'id;name;groups\nS1;Ann Lee;"3A;choir"\n')
    assert rows(roster) == [(2, "S1", "Ann Lee", ("3A", "choir"))]


def test_a_header_cell_that_looks_like_a_column_the_import_reads_is_refused(tmp_path):
    """'group' for groups would import everyone with no group (and take away the groups they had)."""
    assert problems(write(tmp_path, "id,name,group,email\nS1,Ann Lee,3A,ann@example.org\n")) == [
        "line 1: column 'group' is not one the import reads; call it groups (it reads id, name, groups, photo)"]
    assert rows(write(tmp_path, "id,name,groups,email,notes\nS1,Ann Lee,3A,a@b.c,x\n", "other.csv")) == [
        (2, "S1", "Ann Lee", ("3A",))]


def test_a_roster_written_with_accents_apart_is_the_same_roster_and_its_names_are_found(tmp_path, capsys):
    """A Mac writes 'é' as 'e' and an accent: importing that file after the usual one changes nothing."""
    import unicodedata

    data = tmp_path / "data"
    usual = write(tmp_path, "id,name,groups\nS4,José Núñez,Équipe\n", "usual.csv")
    apart = write(tmp_path, unicodedata.normalize("NFD", usual.read_text(encoding="utf-8")), "apart.csv")
    assert main(["people", "import", str(apart), "--data", str(data)]) == 0
    capsys.readouterr()
    assert main(["people", "import", str(usual), "--data", str(data)]) == 0
    assert "added 0, changed 0, left 1 unchanged" in capsys.readouterr().out
    assert main(["people", "edit", "José Núñez", "--groups", "B", "--data", str(data)]) == 0
    with open_snapshot(data) as store:
        assert [(p.name, p.groups) for p in store.people()] == [("José Núñez", ("B",))]


def test_one_photo_given_to_two_people_is_refused(tmp_path):
    """A spreadsheet's fill-down copies a photo cell down the column: the door could not tell them apart."""
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "aj.jpg").write_bytes(b"\xff\xd8 one face")
    (tmp_path / "photos" / "copy.jpg").write_bytes(b"\xff\xd8 one face")
    (tmp_path / "photos" / "bo.jpg").write_bytes(b"\xff\xd8 another face")
    roster = write(tmp_path, "id,name,photo\nS1,AJ Lamas,photos/aj.jpg\nS2,Bo Dee,photos/bo.jpg\n"
                             "S3,Cy Fox,photos/aj.jpg\nS4,Di Ross,photos/copy.jpg\n")
    assert problems(roster) == [
        "line 4: the same photo as line 2 (S1); each person needs a photo of their own",
        "line 5: the same photo as line 2 (S1); each person needs a photo of their own"]


def test_an_import_says_when_a_new_id_differs_from_another_only_in_case(tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["people", "import", str(write(tmp_path, "id,name\nS1042,Ann Lee\n", "a.csv")), "--data",
                 str(data)]) == 0
    assert "note" not in capsys.readouterr().out
    assert main(["people", "import", str(write(tmp_path, "id,name\ns1042,Ann Lee\n", "b.csv")), "--data",
                 str(data)]) == 0
    assert "note: ids S1042, s1042 differ only in case" in capsys.readouterr().out


def test_bringing_someone_back_shows_what_the_file_changes_about_them(tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["people", "import", str(write(tmp_path, "id,name,groups\nS1,Ann Lee,3A;choir\n", "a.csv")),
                 "--data", str(data)]) == 0
    assert main(["people", "remove", "S1", "--data", str(data)]) == 0
    capsys.readouterr()
    back = write(tmp_path, "id,name,groups\nS1,Ann Lee-Smith,3A\n", "b.csv")
    assert main(["people", "import", str(back), "--reactivate", "--data", str(data)]) == 0
    assert "brought back S1 Ann Lee (left on " in (out := capsys.readouterr().out)
    assert "name 'Ann Lee' -> 'Ann Lee-Smith', groups 3A; choir -> 3A" in out


def test_what_spreadsheets_and_web_pages_leave_in_a_roster_is_taken_in_stride(tmp_path):
    """An empty cell at a line's end, a zero-width space copied from a web page: not a problem."""
    roster = write(tmp_path, "id,name,groups\nS1,Ann Lee,3A,\nS2,Bob\u200b Marr\ufeff,3B, ,\n")
    assert rows(roster) == [(2, "S1", "Ann Lee", ("3A",)), (3, "S2", "Bob Marr", ("3B",))]
    # a soft hyphen, tag characters, a no-break space, a joiner between Latin letters (it joins nothing there):
    # a name that looks like Ann Lee is Ann Lee; a Persian name keeps the non-joiner its letters need
    roster = write(tmp_path, "id,name\nS3,A\u00adnn\U000e0041 Lee\nS4,Ann\u00a0Lee\nS5,Mahs\u200cid\n"
                             "S6,\u0639\u0644\u06cc\u200c\u0631\u0636\u0627\n", "alike.csv")
    assert rows(roster) == [(2, "S3", "Ann Lee", None), (3, "S4", "Ann Lee", None), (4, "S5", "Mahsid", None),
                            (5, "S6", "\u0639\u0644\u06cc\u200c\u0631\u0636\u0627", None)]
    assert problems(write(tmp_path, "id,name\nS1,Ann Lee,3A\n", "more.csv")) == [
        "line 2: more cells than columns (a comma inside a cell needs quotes)"]
    assert problems(write(tmp_path, f"id,name\nS1,{'A' * 201}\n", "long.csv")) == [
        "line 2: the name 'AAAAAAAAAAAAAAAAAAAAAAAA...' is longer than 200 characters"]


def test_a_folder_given_as_the_roster_is_named_as_a_folder(tmp_path, capsys):
    assert main(["people", "import", str(tmp_path), "--data", str(tmp_path / "data")]) == 2
    assert "is a folder; give the roster's CSV file" in capsys.readouterr().err


def test_a_reversed_date_range_is_refused_by_every_command_that_takes_one(tmp_path, capsys):
    for command in (["sessions", "list"], ["audit"]):
        assert main([*command, "--data", str(tmp_path), "--from", "2026-12-01", "--to", "2026-01-01"]) == 2
        assert "date range is reversed" in capsys.readouterr().err


def test_an_empty_group_is_refused_not_taken_as_a_group_nobody_is_in(tmp_path, capsys):
    for command in (["people", "list"], ["report"]):
        with pytest.raises(SystemExit) as exited:
            main([*command, "--group", " ", "--data", str(tmp_path)])
        assert exited.value.code == 2 and "needs a group's name" in capsys.readouterr().err


def test_a_roster_without_a_groups_column_leaves_everyones_groups_as_they_are(tmp_path, capsys):
    """A file with only id and name changes no groups; one whose classes are in a column the import does not
    read ("class", "Classe" of a French export) is refused, not read as a file without groups."""
    data = tmp_path / "data"
    assert main(["people", "import", str(write(tmp_path, "id,name,groups\nS1,Ann Lee,3A;choir\n", "a.csv")),
                 "--data", str(data)]) == 0
    capsys.readouterr()
    assert main(["people", "import", str(write(tmp_path, "id,name\nS1,Ann Lee\n", "b.csv")), "--data", str(data)]) == 0
    assert "changed 0" in capsys.readouterr().out
    for header in ("id,name,class", "id;name;Classe", "id,name,Form Group"):
        text = f"{header}\n" + ("S1;Ann Lee;5C\n" if ";" in header else "S1,Ann Lee,5C\n")
        assert main(["people", "import", str(write(tmp_path, text, "b.csv")), "--data", str(data)]) == 2
        assert "is not one the import reads; call it groups" in capsys.readouterr().err
    with open_snapshot(data) as store:
        assert [p.groups for p in store.people()] == [("3A", "choir")]
    assert main(["people", "import", str(write(tmp_path, "id,name,groups\nS1,Ann Lee,\n", "c.csv")),
                 "--data", str(data)]) == 0  # an empty groups cell is asked for: no groups
    with open_snapshot(data) as store:
        assert [p.groups for p in store.people()] == [()]


def test_a_roster_that_is_a_pipe_or_far_too_large_is_refused_at_once(tmp_path, monkeypatch, capsys):
    """A path typed in the station's import dialog that names a FIFO blocked the station for good; an
    export picked by mistake was read whole into memory."""
    import os

    from faceattend_tui.attendance import roster

    fifo = tmp_path / "roster.csv"
    os.mkfifo(fifo)
    assert any("not a regular file" in line for line in problems(fifo))  # returns: nothing was waited for
    assert main(["people", "import", str(fifo), "--data", str(tmp_path / "data")]) == 2
    assert "not a regular file" in capsys.readouterr().err
    big = write(tmp_path, "id,name\n" + "S1,Ann Lee\n" * 100, "big.csv")
    monkeypatch.setattr(roster, "MAX_ROSTER_BYTES", 500)
    assert any("the most this program reads" in line for line in problems(big))


def test_a_group_with_an_invisible_character_from_a_web_page_is_the_same_group(tmp_path, capsys):
    roster = write(tmp_path, "id,name,groups\nS1,Ann Lee,3A\u200b\nS2,Bob Marr,\ufeff3A\n")
    assert [r[3] for r in rows(roster)] == [("3A",), ("3A",)]
    data = tmp_path / "data"
    assert main(["people", "import", str(roster), "--data", str(data)]) == 0
    capsys.readouterr()
    assert main(["people", "list", "--group", "3A", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "Ann Lee" in out and "Bob Marr" in out


def test_a_refused_import_or_pin_clear_makes_no_log_in_a_folder_that_had_none(tmp_path, capsys):
    """A mistyped --data must stay empty: a log made there by a refused command would then pass for a
    data folder in use."""
    data = tmp_path / "data"
    data.mkdir()
    roster = write(tmp_path, "id,name,groups\nS1,Ann Lee,3A\nS1,Bob Marr,3A\n")
    assert main(["people", "import", str(roster), "--data", str(data)]) == 2
    assert "id 'S1' is also on line 2" in capsys.readouterr().err
    assert main(["pin", "--clear", "--data", str(data)]) == 2
    assert list(data.iterdir()) == []


def test_a_roster_saved_twice_with_a_byte_order_mark_is_read():
    from faceattend_tui.text import spreadsheet_text

    text = spreadsheet_text("\ufeff\ufeffid,name\nS1,Ann Lee\n".encode("utf-8"))
    assert text == "id,name\nS1,Ann Lee\n"
    assert spreadsheet_text("\ufeff\ufeffid,name\n".encode("utf-16")) == "id,name\n"


def test_a_joiner_beside_latin_letters_is_dropped_but_one_a_script_needs_stays(tmp_path):
    """'3A' with a zero-width non-joiner after it read as 3A and listed apart; in a Persian group's name
    the same character is part of the spelling."""
    from faceattend_tui.attendance.models import clean_groups, clean_name

    roster = write(tmp_path, "id,name,groups\nS1,Wes Width,3A\u200c;\u20603B\nS2,Ann Plain,3A\n")
    assert [r[3] for r in rows(roster)] == [("3A", "3B"), ("3A",)]
    assert clean_name("می\u200cخواهم", "name") == "می\u200cخواهم"
    assert clean_groups(["کلاس\u200cاول"]) == ("کلاس\u200cاول",)
    # beside a letter of a script that never joins (an umlaut, Cyrillic) it only hides a second group
    assert clean_groups(["5Ä\u200d", "5\u0410\u200d", "Ä\u200cB", "5°\u200dB", "3^\u200dA"]) == (
        "5Ä", "5\u0410", "ÄB", "5°B", "3^A")
    assert clean_groups(["क\u094d\u200dष", "choir \U0001f469\u200d\U0001f3a4", "cats \U0001f408\u200d\u2b1b"]) == (
        "क\u094d\u200dष", "choir \U0001f469\u200d\U0001f3a4", "cats \U0001f408\u200d\u2b1b")
    assert clean_groups(["5★\u200dB", "3A ✓\u200d", "choir \u200d\U0001f3a4"]) == ("5★B", "3A ✓", "choir \U0001f3a4")
    assert clean_groups(["അവന്\u200d 2", "3B हिं\u200d"]) == ("അവന്\u200d 2", "3B हिं")  # a chillu; after a mark


def test_a_name_with_a_word_in_two_alphabets_is_refused_a_name_in_two_is_not(tmp_path):
    """"Аnna Petrova" with a Cyrillic А (a Russian keyboard layout) was imported: it reads as Anna Petrova
    everywhere, yet staff typing Anna Petrova to enrol her found nobody and made a second person."""
    mixed = write(tmp_path, "id,name\nS1,Ann Lee\nS2,\u0410nna Petrova\nS3,\u041c\u0430ria Lopez\n", "mixed.csv")
    assert problems(mixed) == [
        "line 3: the name 'Аnna Petrova': the word 'Аnna' mixes letters of several alphabets (CYRILLIC, LATIN), "
        "so it reads as another name that nobody typing it finds; write each word in one alphabet",
        "line 4: the name '\u041c\u0430ria Lopez': the word '\u041c\u0430ria' mixes letters of several alphabets "
        "(CYRILLIC, LATIN), so it reads as another name that nobody typing it finds; write each word in one alphabet"]
    both = write(tmp_path, "id,name\nS2,Анна (Anna) Petrova\nS4,田中さくら\nS5,Ann 👩‍💻 Lee\n", "both.csv")
    assert [name for _, _, name, _ in rows(both)] == ["Анна (Anna) Petrova", "田中さくら", "Ann 👩‍💻 Lee"]
