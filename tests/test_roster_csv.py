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
