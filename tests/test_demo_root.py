"""The demo source brings its made-up people only into a data root of its own, never a real roster."""

from __future__ import annotations

from pathlib import Path

import pytest

from faceattend_tui.attendance import Attendance, acquire_lock, open_snapshot, open_store
from faceattend_tui.cli import main
from faceattend_tui.cli.watch import bring_demo_cast
from faceattend_tui.config import load_settings
from faceattend_tui.demo import MARKER, DemoError, claim_demo_root

CAST = ["Alex Moreau", "Bea Santos", "Chen Wei", "Dana Okafor", "Eli Novak", "Farah Haddad"]


def real_roster(data: Path) -> Path:
    """A data root holding the organisation's roster (one person, no photos)."""
    with open_store(data) as store:
        Attendance(store).add_person("Ann Lee", person_id="S1", groups=["3A"])
    return data


def photos(data: Path, names: list[str]) -> None:
    images = data / "database_image"
    images.mkdir(parents=True, exist_ok=True)
    for name in names:
        (images / f"{name}.jpg").write_bytes(b"not read")


def ids_in(data: Path) -> list[str]:
    with open_snapshot(data) as store:
        return sorted(p.id for p in store.people())


def refusal(capsys) -> str:
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: ") and "`faceattend demo`" in line
    return line


@pytest.mark.timeout(300)
def test_headless_station_on_the_demo_source_leaves_a_real_roster_alone(tmp_path, capsys):
    data = real_roster(tmp_path / "school")
    code = main(["station", "--headless", "--session", "Maths", "--source", "demo", "--data", str(data),
                 "--no-preview", "--device", "cpu", "--max-seconds", "3"])
    assert code == 2
    assert "holds people of its own (Ann Lee)" in refusal(capsys)
    assert ids_in(data) == ["S1"] and not (data / "database_image").exists() and not (data / MARKER).exists()


@pytest.mark.timeout(300)
def test_watch_on_the_demo_source_leaves_someones_photos_alone(tmp_path, capsys):
    data = tmp_path / "school"
    photos(data, ["Yao Ming"])
    code = main(["watch", "--source", "demo", "--data", str(data), "--no-preview", "--device", "cpu",
                 "--max-seconds", "3"])
    assert code == 2
    assert "(Yao Ming)" in refusal(capsys)
    assert [p.name for p in (data / "database_image").iterdir()] == ["Yao Ming.jpg"]


def test_the_demo_leaves_a_data_root_alone_while_a_station_holds_it(tmp_path, capsys):
    data = tmp_path / "demo-data"
    with acquire_lock(data):  # a station runs on it
        code = main(["station", "--headless", "--session", "Maths", "--source", "demo", "--data", str(data),
                     "--no-preview", "--device", "cpu", "--max-seconds", "3"])
        assert code == 2 and "in use by" in capsys.readouterr().err
    assert sorted(p.name for p in data.iterdir()) == []  # no photo, template or mark written under it


def test_the_demo_enrolls_into_an_empty_root_it_then_keeps(tmp_path, models_dir):
    data = tmp_path / "fresh"
    settings = load_settings(data, {"device": "cpu", "threads": 2})
    lines: list[str] = []
    assert bring_demo_cast(settings, lines.append), lines
    assert (data / MARKER).is_file()
    assert sorted(p.stem for p in (data / "database_image").glob("*.jpg")) == CAST
    real_roster(data)  # someone enrolled at the demo's door: still the demo's
    claim_demo_root(settings, ["Ann Lee", *CAST])


def test_a_data_root_an_earlier_demo_made_is_the_demos(tmp_path):
    only_cast = tmp_path / "old-demo"
    photos(only_cast, CAST)
    claim_demo_root(load_settings(only_cast), CAST)
    assert (only_cast / MARKER).is_file()
    with_visitor = tmp_path / "demo-data"  # the demo's own folder, someone enrolled at its door
    photos(with_visitor, CAST)
    (with_visitor / "database_image" / "p-1234").mkdir()
    claim_demo_root(load_settings(with_visitor), [*CAST, "Me"])
    assert (with_visitor / MARKER).is_file()


def test_a_demo_mark_copied_into_a_real_data_root_claims_nothing(tmp_path):
    demo = tmp_path / "demo-data"
    claim_demo_root(load_settings(demo), None)
    school = real_roster(tmp_path / "school")
    (school / MARKER).write_bytes((demo / MARKER).read_bytes())  # copied along with a backup, say
    with pytest.raises(DemoError, match=r"holds people of its own \(Ann Lee\)"):
        claim_demo_root(load_settings(school), ["Ann Lee"])
    assert ids_in(school) == ["S1"] and not (school / "database_image").exists()


def test_other_data_roots_are_refused(tmp_path):
    school = tmp_path / "school"  # the cast beside a real person, not in demo-data/
    photos(school, CAST)
    with pytest.raises(DemoError, match=r"holds people of its own \(Ann Lee\)"):
        claim_demo_root(load_settings(school), [*CAST, "Ann Lee"])
    many = tmp_path / "many"
    with pytest.raises(DemoError, match=r"\(A, B, C and 2 more\)"):
        claim_demo_root(load_settings(many), ["A", "B", "C", "D", "E"])
    with pytest.raises(DemoError, match="attendance log of its own"):
        claim_demo_root(load_settings(tmp_path / "log-only"), [])
    shared = load_settings(tmp_path / "shared", {"database": "postgresql://door@db.example/attendance"})
    with pytest.raises(DemoError, match="shared database"):
        claim_demo_root(shared, None)
    assert not list(tmp_path.glob(f"*/{MARKER}"))


def test_a_real_roster_is_refused_naming_each_of_its_people_once(tmp_path):
    school = real_roster(tmp_path / "school")
    photos(school, ["ann lee"])  # her photo folder, as it was written on the server
    with pytest.raises(DemoError, match=r"holds people of its own \(Ann Lee\):"):
        claim_demo_root(load_settings(school), ["Ann Lee"])


def test_the_demo_source_refuses_a_folder_every_user_may_write_to_and_leaves_it_as_it_was(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp
    with pytest.raises(DemoError, match="may be written by every user"):
        claim_demo_root(load_settings(shared), None)
    assert shared.stat().st_mode & 0o7777 == 0o1777 and list(shared.iterdir()) == []
