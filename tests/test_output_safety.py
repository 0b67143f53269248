"""Exports and reports never write over the log or anything else of the data folder, nor over a
device, a pipe, a folder or (without --overwrite) an existing file."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from datetime import date
from pathlib import Path

import pytest
from fakes import FakeWorker

from faceattend_tui.attendance import Attendance, ExportOptions, acquire_lock, open_store
from faceattend_tui.attendance.export import free_path, new_output, slug, write_output
from faceattend_tui.cli import main
from faceattend_tui.config import load_settings
from faceattend_tui.station import Station, StationError


def today() -> str:
    """Today as the report's dates: read when asked (a run that crosses midnight reports the new day's)."""
    return str(date.today())


@pytest.fixture
def data(tmp_path) -> Path:
    """A data root with one finished session of group 3A, its settings file and a template folder."""
    root = tmp_path / "data"
    with open_store(root) as store:
        att = Attendance(store)
        att.add_person("Ann Lee", person_id="S1", groups=["3A"])
        att.start_session("Maths", group="3A")
        att.check_in("S1", 0.7)
        att.stop_session()
    (root / "faceattend.toml").write_text('threshold = 0.3\n')
    (root / "database_tensor").mkdir()
    (root / "database_tensor" / "manifest.json").write_text("{}")
    return root


def command(kind: str, data: Path, out: Path | str, *extra: str) -> list[str]:
    dates = ["--from", today(), "--to", today()] if kind == "report" else []
    return [kind, "--data", str(data), *dates, "--out", str(out), *extra]


def snapshot_of(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("kind", ["export", "report"])
@pytest.mark.parametrize("name", ["attendance.json", "attendance.journal", "faceattend.lock", "faceattend.toml",
                                  "database_tensor/manifest.json", "database_image/S1.jpg", "new.csv"])
def test_outputs_never_land_in_the_data_folder_outside_exports(data, kind, name, monkeypatch, capfd):
    before = snapshot_of(data)
    monkeypatch.chdir(data)  # `cd DATA && faceattend export --out attendance.json`
    assert main(command(kind, Path("."), name)) == 2
    err = capfd.readouterr().err
    assert "is in the data folder" in err and len(err.strip().splitlines()) == 1
    assert snapshot_of(data) == before
    assert main(["export", "--data", "."]) == 0  # the log still works


@pytest.mark.parametrize("kind", ["export", "report"])
def test_a_link_to_the_log_is_refused_too(data, tmp_path, kind, capfd):
    link = tmp_path / "sheet.csv"
    link.symlink_to(data / "attendance.json")
    before = (data / "attendance.json").read_bytes()
    assert main(command(kind, data, link, "--overwrite")) == 2
    assert "sheet.csv is a link; a sheet is never written through a link" in capfd.readouterr().err
    assert link.is_symlink() and (data / "attendance.json").read_bytes() == before


@pytest.mark.parametrize("kind", ["export", "report"])
def test_a_link_to_nothing_is_refused_and_nothing_is_made_where_it_points(data, tmp_path, kind, capfd):
    """In a folder others can write to, a planted link would steer the sheet (and new folders) elsewhere."""
    link = tmp_path / "sheet.csv"
    link.symlink_to(tmp_path / "elsewhere" / "x.csv")
    assert main(command(kind, data, link)) == 2
    assert "sheet.csv is a link" in capfd.readouterr().err
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize("kind", ["export", "report"])
def test_another_data_folders_log_is_never_written_over(data, tmp_path, kind, capfd):
    """--overwrite aimed at the log of another data folder (a second door's, on the same machine)."""
    other = tmp_path / "other"
    with open_store(other) as store:
        Attendance(store).add_person("Zoe Park", person_id="Z1")
    (tmp_path / "link.csv").symlink_to(other / "attendance.json")
    before = (other / "attendance.json").read_bytes()
    for out, says in ((other / "attendance.json", "is among the files of the data folder"),
                      (tmp_path / "link.csv", "is a link")):
        assert main(command(kind, data, out, "--overwrite")) == 2
        assert says in capfd.readouterr().err
    assert (other / "attendance.json").read_bytes() == before


@pytest.mark.parametrize("name", ["database_tensor/manifest.json", "database_tensor/S9.npy", "attendance.pg-journal",
                                  "database_image/Z1/amy1.png", "database_image/Z1/new.csv",
                                  "attendance.json.schema1.bak", "attendance.outbox-taking"])
def test_another_data_folders_templates_and_journals_are_never_written_there_or_not(data, tmp_path, name, capfd):
    other = tmp_path / "other"
    with open_store(other) as store:
        Attendance(store).add_person("Zoe Park", person_id="Z1")
    (other / "database_tensor").mkdir()
    (other / "database_tensor" / "manifest.json").write_text("{}")
    (other / "database_image" / "Z1").mkdir(parents=True)  # a person's photo folder
    (other / "database_image" / "Z1" / "amy1.png").write_bytes(b"a photo")
    (other / "attendance.json.schema1.bak").write_text("{}")  # the log as it was before an upgrade
    assert main(command("export", data, other / name, "--overwrite")) == 2
    assert "is among the files of the data folder" in capfd.readouterr().err
    assert (other / "database_tensor" / "manifest.json").read_text() == "{}"
    assert (other / "database_image" / "Z1" / "amy1.png").read_bytes() == b"a photo"
    assert (other / "attendance.json.schema1.bak").read_text() == "{}"
    assert not (other / "database_tensor" / "S9.npy").exists() and not (other / "attendance.pg-journal").exists()
    assert not (other / "database_image" / "Z1" / "new.csv").exists()


def test_photos_and_templates_linked_in_from_elsewhere_are_never_written_over(data, tmp_path, capfd):
    """A person's photo folder and the templates kept on another disk, linked into data folders."""
    elsewhere = tmp_path / "nas"
    (elsewhere / "amy").mkdir(parents=True)
    (elsewhere / "amy" / "amy1.png").write_bytes(b"a photo")
    (elsewhere / "tensors").mkdir()
    (elsewhere / "tensors" / "manifest.json").write_text("{}")
    other = tmp_path / "other"
    with open_store(other) as store:
        Attendance(store).add_person("Zoe Park", person_id="Z1")
    for root in (data, other):
        (root / "database_image").mkdir(exist_ok=True)
        (root / "database_image" / "Amy").symlink_to(elsewhere / "amy")
    (other / "database_tensor").symlink_to(elsewhere / "tensors")
    (other / "models").mkdir()
    for out in (data / "database_image" / "Amy" / "amy1.png", other / "database_image" / "Amy" / "amy1.png",
                other / "database_image" / "Amy" / "new.csv", other / "database_tensor" / "manifest.json",
                other / "models" / "w600k_mbf.onnx", other / "worker.log"):
        assert main(command("export", data, out, "--overwrite")) == 2, out
        assert "data folder" in capfd.readouterr().err
    assert (elsewhere / "amy" / "amy1.png").read_bytes() == b"a photo"
    assert (elsewhere / "tensors" / "manifest.json").read_text() == "{}"
    assert not (elsewhere / "amy" / "new.csv").exists()


@pytest.mark.parametrize("kind", ["export", "report"])
def test_an_exports_folder_linked_to_a_share_takes_sheets_named_through_it(data, tmp_path, kind):
    share = tmp_path / "office-share"
    share.mkdir()
    (data / "exports").symlink_to(share)  # the school's way to put sheets on the office's drive
    assert main(command(kind, data, data / "exports" / "term.csv")) == 0
    assert (share / "term.csv").is_file()


@pytest.mark.parametrize("kind", ["export", "report"])
def test_out_dash_is_refused_not_written_as_a_file_named_dash(data, tmp_path, kind, capfd, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(command(kind, data, "-")) == 2
    assert "not supported: name a file" in capfd.readouterr().err and not (tmp_path / "-").exists()


def test_report_cannot_replace_the_log_while_a_station_holds_it(data, capfd):
    before = (data / "attendance.json").read_bytes()
    with acquire_lock(data):
        assert main(command("report", data, data / "attendance.json", "--overwrite")) == 2
    assert (data / "attendance.json").read_bytes() == before


@pytest.mark.parametrize("kind", ["export", "report"])
def test_outputs_inside_exports_are_allowed(data, kind, capfd):
    out = data / "exports" / "mine.csv"
    out.parent.mkdir()
    assert main(command(kind, data, out)) == 0
    assert out.stat().st_size > 0


@pytest.mark.parametrize("kind", ["export", "report"])
@pytest.mark.parametrize("target", ["fifo", "folder", "device-link"])
def test_outputs_refuse_anything_but_a_regular_file(data, tmp_path, kind, target, capfd):
    path = tmp_path / f"{target}.csv"
    if target == "fifo":
        os.mkfifo(path)
    elif target == "folder":
        path.mkdir()
    else:
        if not os.path.exists("/dev/null"):
            pytest.skip("no /dev/null")
        path.symlink_to("/dev/null")  # a link, so that a faulty version replaces the link, not the device
    kind_before = path.lstat().st_mode
    for extra in ([], ["--overwrite"]):
        assert main(command(kind, data, path, *extra)) == 2
        assert ("is a link" if target == "device-link" else "not a regular file") in capfd.readouterr().err
        assert path.lstat().st_mode == kind_before
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("kind", ["export", "report"])
def test_an_existing_file_is_replaced_only_with_overwrite(data, tmp_path, kind, capfd):
    out = tmp_path / "sheet.csv"
    out.write_text("keep me")
    assert main(command(kind, data, out)) == 2
    assert "already exists; give --overwrite" in capfd.readouterr().err
    assert out.read_text() == "keep me"
    assert main(command(kind, data, out, "--overwrite")) == 0
    assert out.read_text() != "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "sheet.csv"]  # no temp file left


@pytest.mark.parametrize("group", ["../../../x", "\U0001d524" * 64, "a/b\\c", "..."],
                         ids=["dots", "256-bytes", "slashes", "punctuation"])
def test_report_names_from_a_group_stay_in_exports(tmp_path, group, capfd):
    root = tmp_path / "deep" / "er" / "data"
    with open_store(root) as store:
        att = Attendance(store)
        att.add_person("Ann Lee", person_id="S1", groups=[group])
        att.start_session("Maths", group=group)
        att.stop_session()
    day = today()
    assert main(["report", "--data", str(root), "--from", day, "--to", day, "--group", group]) == 0
    (written,) = (root / "exports").iterdir()
    assert written.is_file() and written.name.startswith(f"report_people_{day}_{day}_")
    assert len(written.name.encode()) < 200
    assert sorted(p.name for p in root.iterdir()) == ["attendance.json", "attendance.outbox", "exports"]


def test_slug_of_a_group_keeps_no_separator():
    assert slug("../../../x", fallback="group") == "x"
    assert slug("...", fallback="group") == "group"
    assert len(slug("é" * 300).encode()) <= 120


def test_free_names_skip_broken_links(tmp_path):
    (tmp_path / "a.csv").symlink_to(tmp_path / "missing")
    assert free_path(tmp_path / "a.csv") == tmp_path / "a-2.csv"


def test_exports_written_at_the_same_moment_never_take_each_others_file(tmp_path, monkeypatch):
    monkeypatch.setattr("faceattend_tui.attendance.export.free_path", lambda path: path)  # all pick one name
    written: list[Path] = []

    def export(n: int) -> None:
        written.append(write_output(new_output(tmp_path / "exports", "2026-12-05_2_maths.csv"), f"sheet {n}".encode()))

    threads = [threading.Thread(target=export, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(written)) == 8  # eight files, each still holding what its own export wrote
    assert sorted(p.read_text() for p in written) == [f"sheet {n}" for n in range(8)]
    assert not list((tmp_path / "exports").glob(".*.tmp"))


def test_a_report_is_audited_like_an_export(data, capsys):
    day = today()
    assert main(["report", "--data", str(data), "--from", day, "--to", day]) == 0
    assert main(["audit", "--data", str(data), "--action", "report", "--json"]) == 0
    (entry,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert entry["details"]["path"].startswith(str(data / "exports" / "report_people_"))
    assert (entry["details"]["from"], entry["details"]["format"]) == (day, "csv")


def test_the_station_export_follows_the_same_rule(data):
    station = Station(load_settings(data), "demo", worker_factory=FakeWorker, user="staff", name="door")
    station.open()
    try:
        before = (data / "attendance.json").read_bytes()
        with pytest.raises(StationError, match="is in the data folder"):
            station.export(ExportOptions("json"), path=data / "attendance.json")
        assert (data / "attendance.json").read_bytes() == before
        assert station.export(ExportOptions("csv")).parent == data / "exports"
    finally:
        station.close()


@pytest.mark.parametrize("kind", ["export", "report"])
def test_a_link_planted_where_a_nightly_sheet_goes_is_refused_and_what_it_names_is_untouched(data, tmp_path, kind,
                                                                                             capfd):
    """A root cron job's `--out /tmp/nightly.csv --overwrite`: another user's link there named root's file,
    which the sheet replaced."""
    victim = tmp_path / "etc" / "precious.conf"
    victim.parent.mkdir()
    victim.write_text("keep me")
    (tmp_path / "shared").mkdir(mode=0o1777)
    (tmp_path / "shared" / "nightly.csv").symlink_to(victim)
    assert main(command(kind, data, tmp_path / "shared" / "nightly.csv", "--overwrite")) == 2
    assert "is a link; a sheet is never written through a link" in capfd.readouterr().err
    assert victim.read_text() == "keep me" and oct(victim.stat().st_mode & 0o777) == oct(0o644 & ~current_umask())


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_file_that_appears_after_the_check_is_never_replaced_without_overwrite(data, tmp_path):
    from faceattend_tui.attendance.export import ExportError, chosen_output

    out = tmp_path / "sheet.csv"
    chosen = chosen_output(out, data / "exports", data)
    out.write_text("someone else's")  # between the check and the write
    with pytest.raises(ExportError, match="already exists; give --overwrite"):
        write_output(chosen, b"the sheet")
    assert out.read_text() == "someone else's" and not list(tmp_path.glob(".sheet.csv*"))


def test_a_folder_swapped_for_a_link_after_the_check_is_not_followed(data, tmp_path):
    """The race of a shared folder: checked while real, a link to another folder by the time it is written."""
    from faceattend_tui.attendance.export import ExportError, chosen_output

    (tmp_path / "reports").mkdir()
    (tmp_path / "victim").mkdir()
    (tmp_path / "victim" / "sheet.csv").write_text("keep me")
    chosen = chosen_output(tmp_path / "reports" / "sheet.csv", data / "exports", data, overwrite=True)
    (tmp_path / "reports").rename(tmp_path / "was-reports")
    (tmp_path / "reports").symlink_to(tmp_path / "victim")
    with pytest.raises(ExportError, match="cannot write"):
        write_output(chosen, b"the sheet")
    assert (tmp_path / "victim" / "sheet.csv").read_text() == "keep me"


@pytest.mark.skipif(os.geteuid() != 0, reason="making a link another user owns needs root")
def test_a_way_through_another_users_link_is_not_followed(data, tmp_path, capfd):
    (tmp_path / "victim").mkdir()
    (tmp_path / "shared").mkdir(mode=0o1777)
    planted = tmp_path / "shared" / "reports"
    planted.symlink_to(tmp_path / "victim")
    os.lchown(planted, 4321, 4321)
    assert main(command("export", data, planted / "nightly.csv", "--overwrite")) == 2
    assert "a link of another user: not followed" in capfd.readouterr().err
    assert not list((tmp_path / "victim").iterdir())


@pytest.mark.parametrize("name", ["faceattend.lock", "attendance.journal", "station.log"])
def test_a_link_put_among_the_data_folders_own_files_is_never_written_through(data, tmp_path, name, capfd):
    """Someone who could once write to the data folder leaves faceattend.lock -> /etc/something: every later
    command (run as root) rewrote that file."""
    victim = tmp_path / "precious.conf"
    victim.write_text("keep me")
    (data / name).unlink(missing_ok=True)
    (data / name).symlink_to(victim)
    code = main(["people", "edit", "S1", "--groups", "3A;choir", "--data", str(data)])
    assert victim.read_text() == "keep me"
    if name == "station.log":  # not a command's file: the command goes on, the link is left alone
        return
    assert code == 2 and f"{name}: a link, never followed" in capfd.readouterr().err


def test_a_folder_every_user_may_write_to_or_the_root_is_never_a_data_folder(tmp_path, capfd, monkeypatch):
    """`faceattend station` run in /tmp (or by a service in /) made that folder 0700 for everyone and kept
    faces and the log where anyone could plant links, settings or models."""
    from faceattend_tui.files import unfit_data_folder

    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    (shared / "database_image").mkdir()  # anyone can make one there
    monkeypatch.chdir(shared)
    assert main(["extract"]) == 2
    assert "may be written by every user of this machine" in capfd.readouterr().err
    settings = load_settings(shared)
    with pytest.raises(StationError, match="may be written by every user"):
        Station(settings, "demo", worker_factory=FakeWorker, user="staff", name="door").open()
    assert oct(shared.stat().st_mode & 0o7777) == oct(0o1777) and not (shared / "attendance.json").exists()
    assert "root of the file system" in unfit_data_folder(Path("/"))
    assert unfit_data_folder(tmp_path) is None


def test_a_sheet_named_with_out_is_in_the_audit_even_when_the_export_is_killed_as_it_lands(data, tmp_path,
                                                                                           monkeypatch, capfd):
    """Killed between writing the sheet and auditing it: no audit entry, so a later erasure never named the sheet
    that still held the person."""
    from faceattend_tui.attendance import export

    real = export.write_named

    def killed_once_written(path, payload, replace):
        real(path, payload, replace)
        raise KeyboardInterrupt  # the power goes here

    monkeypatch.setattr(export, "write_named", killed_once_written)
    sheet = tmp_path / "elsewhere" / "term.csv"
    with contextlib.suppress(KeyboardInterrupt):
        main(["export", "--data", str(data), "--out", str(sheet)])
    monkeypatch.undo()
    assert "Ann Lee" in sheet.read_text(encoding="utf-8-sig")
    capfd.readouterr()
    assert main(["people", "remove", "S1", "--erase", "--data", str(data)]) == 1
    assert str(sheet) in capfd.readouterr().err  # named: still to clean (--exports rewrites it)


@pytest.mark.skipif(os.geteuid() != 0, reason="making a link another user owns needs root")
@pytest.mark.parametrize("kind", ["export", "report"])
def test_a_root_job_does_not_write_its_sheets_through_an_exports_link_another_user_made(data, tmp_path, capfd, kind):
    """The station user's DATA/exports made a link to a folder of their choosing: a nightly export run by root
    wrote its sheets there, where naming the same place with --out was refused."""
    (tmp_path / "victim").mkdir()
    (data / "exports").symlink_to(tmp_path / "victim")
    os.lchown(data / "exports", 4321, 4321)
    dates = ["--from", today(), "--to", today()] if kind == "report" else []
    assert main([kind, "--data", str(data), *dates]) == 2
    assert "a link of another user: not followed" in capfd.readouterr().err
    assert not list((tmp_path / "victim").iterdir())


@pytest.mark.parametrize("one_file", [True, False], ids=["kernel", "fuse"])  # exFAT over FUSE: a file per spelling
def test_the_log_named_in_another_case_on_a_disk_that_ignores_case_is_never_written_over(data, tmp_path, monkeypatch,
                                                                                         one_file):
    """On exFAT, --out .../DATA/Attendance.json --overwrite is the log: a sheet replaced it (roster, staff and
    audit gone); over FUSE, .../DATA/backups/attendance.json.bak replaced the log's backup."""
    from faceattend_tui.attendance.export import ExportError, chosen_output

    assert str(tmp_path) == str(tmp_path).lower()  # the emulated disk below folds everything to lower case
    real_exists = Path.exists
    monkeypatch.setattr(Path, "exists", lambda self: real_exists(Path(str(self).lower())))
    monkeypatch.setattr(os.path, "samefile", lambda a, b: one_file and str(a).lower() == str(b).lower())
    for named in (tmp_path / "DATA" / "Attendance.json", tmp_path / "Data" / "SHEET.csv",
                  tmp_path / "DATA" / "backups" / "attendance.json.bak",
                  tmp_path.parent / tmp_path.name.upper() / "data" / "backups" / "attendance.json.bak"):
        with pytest.raises(ExportError, match="is in the data folder"):
            chosen_output(named, data / "exports", data, overwrite=True)


def test_a_sheet_named_into_a_new_folder_on_a_usb_stick_is_written(data, tmp_path, disk_open_to_all):
    """The stick makes every folder open to all: the data folder's rule refused the sheet's new folder, where
    the same sheet in an existing folder of the stick was written."""
    out = tmp_path / "stick" / "2026-10" / "att.csv"
    assert main(command("export", data, out)) == 0 and out.is_file()


def test_a_small_file_is_read_whatever_the_most_a_reader_allows(tmp_path, monkeypatch):
    """Every command read its log by asking for the most it allows (2 GiB) at once, and the station its
    search index by asking for 16 GiB: under a memory limit, or on a machine with less memory than that,
    a 1 KB file failed with MemoryError."""
    from faceattend_tui import files

    small = tmp_path / "attendance.json"
    small.write_bytes(b"{}" * 300)
    assert files.read_regular(small, 1 << 50) == b"{}" * 300  # more than any machine could hand out
    assert files.read_regular(tmp_path / "attendance.json", 600) == b"{}" * 300
    with pytest.raises(OSError, match="larger than 599 bytes"):
        files.read_regular(small, 599)
    monkeypatch.setattr(files, "READ_CHUNK", 7)
    real_fstat = os.fstat
    monkeypatch.setattr(files.os, "fstat", lambda fd: os.stat_result((*real_fstat(fd)[:6], 10, *real_fstat(fd)[7:])))
    assert files.read_regular(small, 1 << 50) == b"{}" * 300  # grown since its size was taken: read on to its end
    with pytest.raises(OSError, match="larger than 100 bytes"):
        files.read_regular(small, 100)


def test_a_sheets_copy_left_by_a_write_killed_before_its_name_goes_with_the_next_write(tmp_path):
    """`report --out` killed before its sheet took its name left a hidden whole copy of it (every person's
    row) beside it for good; the next report left it there too."""
    from faceattend_tui import files

    sheet = tmp_path / "office" / "term.csv"
    sheet.parent.mkdir()
    left = sheet.parent / ".term.csv.69c820958e72.tmp"
    left.write_text("id,name\nS1,Ann Lee\n")
    young = sheet.parent / ".term.csv.0123456789ab.tmp"  # another writer's, still being written
    young.write_text("id,name\n")
    os.utime(left, (1_700_000_000, 1_700_000_000))
    assert files.leftover_copies(sheet) == [left]
    files.write_named(sheet, b"id,name\nS2,Bob\n", replace=True)
    assert sheet.read_bytes() == b"id,name\nS2,Bob\n" and not left.exists() and young.exists()


def test_a_users_own_hidden_files_beside_a_sheet_are_never_taken_for_its_leftover_copies(tmp_path):
    """`export --out week.csv` deleted the user's `.week.csv.notes.tmp` beside it: any hidden file named
    like the sheet was taken for a copy a killed write left."""
    from faceattend_tui import files

    sheet = tmp_path / "week.csv"
    mine = [tmp_path / f".week.csv.{word}.tmp" for word in ("notes", "backup-2026-11", "original", "lastweek",
                                                            "draft_v2")]
    left = tmp_path / ".week.csv.69c820958e72.tmp"
    for path in [*mine, left]:
        path.write_text("id,name\nS1,Ann Lee\n")
        os.utime(path, (1_700_000_000, 1_700_000_000))
    files.write_named(sheet, b"id,name\n", replace=True)
    assert all(path.exists() for path in mine) and not left.exists()
