"""Text that is not UTF-8: typed on a terminal set to another encoding, under a locale that is not
UTF-8, or stored by an older version. It is refused with one line or written as codes, never the end
of a command or of the station."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from both_logs import open_store

from faceattend_tui.attendance import Attendance
from faceattend_tui.attendance.models import Person
from faceattend_tui.cli import main

LATIN1_ZOE = "Zo\udceb"  # "Zoë" typed on a Latin-1 terminal, as Python reads the byte 0xEB


def test_a_name_or_reason_typed_on_a_terminal_not_set_to_utf8_is_refused_with_one_line(tmp_path, capsys):
    data = tmp_path / "data"
    with open_store(data) as store:
        attendance = Attendance(store)
        attendance.add_person("Zoe", person_id="S1")
        attendance.start_session("Maths")
        attendance.stop_session()
    assert main(["people", "edit", "S1", "--name", LATIN1_ZOE, "--data", str(data)]) == 2
    assert "could not be read: the terminal may not be set to UTF-8" in capsys.readouterr().err
    assert main(["sessions", "void", "1", "--reason", "r\udce9union", "--data", str(data)]) == 2
    assert "could not be read" in capsys.readouterr().err
    with open_store(data) as store:
        assert store.person("S1").name == "Zoe" and store.sessions()[0].voided_at is None


def test_a_name_an_older_version_stored_with_bytes_not_utf8_is_exported_as_codes(tmp_path, capsys):
    data = tmp_path / "data"
    with open_store(data) as store:
        attendance = Attendance(store)
        attendance.save_people([Person("S1", LATIN1_ZOE, store.now())], "people.import")
        attendance.start_session("Maths")
        attendance.stop_session()
    out = tmp_path / "sheet.csv"
    assert main(["export", "--data", str(data), "--out", str(out)]) == 0
    assert "Zo\\udceb" in out.read_text(encoding="utf-8-sig")
    assert main(["people", "list", "--data", str(data)]) == 0
    assert "Zo\\udceb" in capsys.readouterr().out


def latin1_locale(tmp_path: Path) -> dict[str, str]:
    """The environment of a session under a Latin-1 locale (built here: few machines have one installed)."""
    where = tmp_path / "locales"
    where.mkdir()
    made = subprocess.run(["localedef", "-i", "en_US", "-f", "ISO-8859-1", str(where / "en_US.ISO-8859-1")],
                          capture_output=True) if shutil.which("localedef") else None
    if made is None or not (where / "en_US.ISO-8859-1").exists():
        pytest.skip("no localedef to build a Latin-1 locale")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "PYTHONUTF8", "PYTHONIOENCODING"))}
    return {**env, "LOCPATH": str(where), "LANG": "en_US.ISO-8859-1"}


def test_under_a_latin1_locale_names_beyond_latin1_are_listed_and_their_files_read(tmp_path):
    env = latin1_locale(tmp_path)
    data = tmp_path / "data"
    with open_store(data) as store:
        Attendance(store).add_person("Łukasz Wiśniewski", person_id="S1", folder="Łukasz Wiśniewski")
    (data / "database_image" / "Łukasz Wiśniewski").mkdir(parents=True)
    listed = subprocess.run([sys.executable, "-m", "faceattend_tui", "people", "list", "--data", str(data)],
                            capture_output=True, env=env, timeout=120)
    assert listed.returncode == 0, listed.stderr.decode(errors="replace")
    assert "Łukasz Wiśniewski" in listed.stdout.decode("utf-8")


@pytest.mark.parametrize("flags", [["-I"], ["-E"], ["-X", "utf8=0"]])
def test_under_a_latin1_locale_a_hardened_start_starts_again_once_not_forever(tmp_path, flags):
    """A service started as `python -I -m faceattend_tui` (or -E, or -X utf8=0) does not read PYTHONUTF8."""
    env = latin1_locale(tmp_path)
    data = tmp_path / "data"
    with open_store(data) as store:
        Attendance(store).add_person("Łukasz Wiśniewski", person_id="S1")
    listed = subprocess.run([sys.executable, *flags, "-m", "faceattend_tui", "people", "list", "--data", str(data)],
                            capture_output=True, env=env, timeout=60, cwd=Path(__file__).resolve().parents[1])
    assert listed.returncode == 0, listed.stderr.decode(errors="replace")
    assert "Wi" in listed.stdout.decode("utf-8", errors="replace")


@pytest.mark.parametrize("encoding", ["latin-1", "ascii"])
def test_json_lines_stay_json_when_the_output_takes_another_encoding(tmp_path, encoding):
    data = tmp_path / "data"
    with open_store(data) as store:
        Attendance(store).add_person("Joker \U0001f600 Łukasz", person_id="S1")
    env = {**os.environ, "PYTHONIOENCODING": encoding}
    listed = subprocess.run([sys.executable, "-m", "faceattend_tui", "people", "list", "--json", "--data", str(data)],
                            capture_output=True, env=env, timeout=60, cwd=Path(__file__).resolve().parents[1])
    assert listed.returncode == 0, listed.stderr.decode(errors="replace")
    (line,) = listed.stdout.decode(encoding).splitlines()
    assert json.loads(line)["name"] == "Joker \U0001f600 Łukasz"
