"""File-system faults end in one line that names the file, exit code 2 and an untouched log.

Read-only folders and full disks are simulated by making the os-level calls fail (the tests may run
as root, whom permissions do not stop). A log that is a pipe or a device runs in a child process
with a time and memory limit, so that a version that waits or reads forever fails instead of hanging.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import FakeWorker

from faceattend_tui.attendance import Attendance, acquire_lock, open_store
from faceattend_tui.attendance.tiny import files as tiny_files
from faceattend_tui.cli import main

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
HEADLESS = ["station", "--headless", "--session", "Maths", "--source", "0", "--max-seconds", "0.3"]


@pytest.fixture
def data(tmp_path) -> Path:
    root = tmp_path / "data"
    with open_store(root) as store:
        Attendance(store).add_person("Ann Lee", person_id="S1", groups=["3A"])
    (root / "database_image").mkdir()
    return root


def log_of(root: Path) -> bytes:
    return (root / "attendance.json").read_bytes()


def one_error(capfd) -> str:
    err = capfd.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    return err


# ----- simulating faults ---------------------------------------------------------------------------


def fd_path(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


def fail(code: int, path) -> OSError:
    return OSError(code, os.strerror(code), os.fsdecode(path))


def under(root: Path, path, dir_fd: int | None = None) -> bool:
    if isinstance(path, int):
        return fd_path(path).startswith(str(root))
    base = Path(fd_path(dir_fd)) if dir_fd is not None else Path.cwd()
    return os.path.abspath(base / os.fsdecode(path)).startswith(str(root))


def read_only(monkeypatch, root: Path, code: int = errno.EROFS) -> None:
    """Every call that would change something under `root` fails as on a read-only file system."""
    root = root.resolve()
    real_open, real_builtin_open = os.open, builtins.open

    def os_open(path, flags, *args, dir_fd=None, **kw):
        if flags & WRITE_FLAGS and under(root, path, dir_fd):
            raise fail(code, path)
        return real_open(path, flags, *args, dir_fd=dir_fd, **kw)

    def file_open(file, mode="r", *args, **kw):
        if isinstance(file, (str, os.PathLike)) and set(mode) & set("wax+") and under(root, file):
            raise fail(code, file)
        return real_builtin_open(file, mode, *args, **kw)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(builtins, "open", file_open)
    monkeypatch.setattr(io, "open", file_open)
    for name in ("mkdir", "rmdir", "unlink", "remove", "chmod", "replace", "rename", "link", "symlink"):
        monkeypatch.setattr(os, name, refusing(getattr(os, name), root, code))


def refusing(real, root: Path, code: int):
    def call(path, *args, dir_fd=None, **kw):
        if under(root, path, dir_fd) or any(under(root, a) for a in args if isinstance(a, (str, os.PathLike))):
            raise fail(code, path)
        return real(path, *args, **({"dir_fd": dir_fd} if dir_fd is not None else {}), **kw)

    return call


def full_disk_on(monkeypatch, name: str, matches) -> None:
    """os.<name> fails with ENOSPC when its first argument (a path or an fd) matches (an open to read
    never does: a full disk still reads)."""
    real = getattr(os, name)

    def call(target, *args, **kw):
        reading = name == "open" and args and not args[0] & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
        if not reading and matches(fd_path(target) if isinstance(target, int) else os.fsdecode(target)):
            raise fail(errno.ENOSPC, target if not isinstance(target, int) else fd_path(target))
        return real(target, *args, **kw)

    monkeypatch.setattr(os, name, call)


def no_room_to_rewrite_the_log(monkeypatch):
    """os.open fails with ENOSPC for the log's temp file (the journal still has room); returns the real
    os.open, to give the room back."""
    real_open = os.open

    def no_room(path, flags, *args, **kw):
        if os.path.basename(os.fsdecode(path)).startswith(".attendance.json."):
            raise fail(errno.ENOSPC, path)
        return real_open(path, flags, *args, **kw)

    monkeypatch.setattr(os, "open", no_room)
    return real_open


# ----- a full disk -----------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [HEADLESS, ["people", "edit", "S1", "--name", "Ann"]])
def test_a_full_disk_when_the_lock_is_taken(data, argv, monkeypatch, capfd):
    before = log_of(data)
    full_disk_on(monkeypatch, "write", lambda path: path.endswith("faceattend.lock"))
    assert main([*argv, "--data", str(data)]) == 2
    err = one_error(capfd)
    assert str(data / "faceattend.lock") in err and "No space left on device" in err
    assert log_of(data) == before and not (data / "faceattend.lock").exists()


def test_a_full_disk_when_the_station_closes(data, monkeypatch, capfd):
    """The session is on disk in the journal; the log stays as it was, and the lock is given back."""
    import faceattend_tui.station.core

    before = log_of(data)
    monkeypatch.setattr(faceattend_tui.station.core, "WorkerHandle", FakeWorker)
    real_open = no_room_to_rewrite_the_log(monkeypatch)
    assert main([*HEADLESS, "--keep-open", "--data", str(data)]) == 0  # nothing is written before the close
    err = [line for line in capfd.readouterr().err.strip().splitlines() if not line.startswith("note: ")]
    assert len(err) == 1 and err[0].startswith("warning: done and kept, but ") and "No space left on device" in err[0]
    assert str(data / "attendance.json") in err[0] and str(data / "attendance.journal") in err[0]
    assert main([*HEADLESS, "--data", str(data)]) == 2  # opening folds that journal in: the disk is still full
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "No space left on device" in err[0]
    assert log_of(data) == before and not (data / "faceattend.lock").exists()
    monkeypatch.setattr(os, "open", real_open)
    with open_store(data) as store:  # room again: the journal is folded in, nothing was lost
        assert [s.name for s in store.sessions()] == ["Maths"]


def camera_that_opens(config=None) -> FakeWorker:
    """A worker whose camera gives pictures (a session it gave none for is voided at the stop)."""
    worker = FakeWorker(config)
    worker.camera_opens()
    return worker


def test_a_full_disk_after_a_session_stops_at_exit_keeps_the_stop(data, monkeypatch, capfd):
    import faceattend_tui.station.core

    monkeypatch.setattr(faceattend_tui.station.core, "WorkerHandle", camera_that_opens)
    no_room_to_rewrite_the_log(monkeypatch)
    assert main([*HEADLESS, "--data", str(data)]) == 0  # the stop is journaled; only the tidy rewrite waits
    err = [line for line in capfd.readouterr().err.strip().splitlines() if not line.startswith("note: ")]
    assert len(err) == 1 and err[0].startswith("warning: done and kept, but ") and "No space left on device" in err[0]
    monkeypatch.undo()
    with open_store(data) as store:
        assert [(s.name, s.ended_at is not None) for s in store.sessions()] == [("Maths", True)]


def test_a_full_disk_only_for_the_tidy_rewrite_says_the_change_is_kept(data, monkeypatch, capfd):
    """A command's change is in the fsynced journal; only rewriting the log at the end found the disk
    full: it is said done with a warning, not an error that a script would retry."""
    real_open = no_room_to_rewrite_the_log(monkeypatch)
    assert main(["people", "edit", "S1", "--name", "Ann Smith", "--data", str(data)]) == 0
    out, err = capfd.readouterr()
    assert "Ann Smith" in out and err.startswith("warning: done and kept, but ") and "No space left" in err
    monkeypatch.setattr(os, "open", real_open)
    with open_store(data) as store:
        assert [p.name for p in store.people()] == ["Ann Smith"]


def test_an_erasure_on_a_disk_too_full_to_rewrite_the_log_says_it_is_done(data, monkeypatch, capfd):
    """The erasure is in the journal; only the rewrite that drops the name from the journal waits."""
    real_open = no_room_to_rewrite_the_log(monkeypatch)
    assert main(["people", "remove", "S1", "--erase", "--data", str(data)]) == 0
    out, err = capfd.readouterr()
    assert "erased" in out and err.startswith("warning: done and kept, but ") and "No space left" in err
    monkeypatch.setattr(os, "open", real_open)
    with open_store(data) as store:
        assert store.people() == [] and store.journal_path.exists() is False


def test_a_check_in_when_the_journal_is_due_for_a_rewrite_on_a_full_disk_is_recorded(data, monkeypatch):
    from faceattend_tui.attendance.tiny import journal

    monkeypatch.setattr(journal, "FOLD_BYTES", 1)  # every write is due for a rewrite
    logged = []
    monkeypatch.setattr(journal.LOG, "warning", lambda text, *args: logged.append(text % args))
    with open_store(data) as store:
        att = Attendance(store)
        att.start_session("Maths")
        opens = []
        real_open = no_room_to_rewrite_the_log(monkeypatch)
        counting = os.open
        monkeypatch.setattr(os, "open", lambda path, *a, **kw: opens.append(path) or counting(path, *a, **kw))
        assert att.check_in("S1", 0.8) is not None  # recorded, not "could not record"
        assert len(logged) == 1 and "No space left on device" in logged[0] and "attendance.journal" in logged[0]
        store.set_setting("late_after", 5)  # the next write does not try the whole rewrite again
        assert sum(os.path.basename(os.fsdecode(p)).startswith(".attendance.json.") for p in opens) == 1
        monkeypatch.setattr(os, "open", real_open)
        store.fold()  # room again: once written, the next rewrite is due at the usual size
        assert store._fold_again_at == 0
    with open_store(data) as store:
        assert [c.person_id for c in store.checkins(1)] == ["S1"]


def test_a_full_disk_for_the_outbox_keeps_no_unaudited_export(data, tmp_path, monkeypatch, capfd):
    full_disk_on(monkeypatch, "open", lambda path: path.endswith("attendance.outbox"))
    with open_store(data) as store:
        att = Attendance(store)
        att.start_session("Maths")
        att.stop_session()
    with acquire_lock(data):  # a station runs, so the export's audit line goes to the outbox
        assert main(["export", "--data", str(data), "--out", str(tmp_path / "s.csv")]) == 2
    assert "could not be audited, so nothing was written" in one_error(capfd) and not (tmp_path / "s.csv").exists()


def test_an_overwrite_that_cannot_be_audited_leaves_the_earlier_sheet(data, tmp_path, monkeypatch, capfd):
    """A nightly job writes over the office's sheet: a failed audit must not leave the office with none."""
    with open_store(data) as store:
        att = Attendance(store)
        att.start_session("Maths")
        att.stop_session()
    sheet = tmp_path / "office.csv"
    sheet.write_text("yesterday's sheet\n")
    full_disk_on(monkeypatch, "open", lambda path: path.endswith("attendance.outbox"))
    with acquire_lock(data):  # a station runs, so the export's audit line goes to the outbox
        for kind in (["export"], ["report", "--from", "2000-01-01"]):
            assert main([*kind, "--data", str(data), "--out", str(sheet), "--overwrite"]) == 2
            assert "could not be audited, so nothing was written" in one_error(capfd)
            assert sheet.read_text() == "yesterday's sheet\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".office")) == []


# ----- a read-only data folder ---------------------------------------------------------------------


@pytest.mark.parametrize("argv", [HEADLESS, ["people", "remove", "S1"], ["people", "edit", "S1", "--name", "A"],
                                  ["people", "import", "ROSTER"]])
def test_a_read_only_data_folder(data, tmp_path, argv, monkeypatch, capfd):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,groups\nS2,Bob Marr,3A\n")
    before = log_of(data)
    read_only(monkeypatch, data)
    assert main([*(str(roster) if a == "ROSTER" else a for a in argv), "--data", str(data)]) == 2
    err = one_error(capfd)
    assert "Read-only file system" in err and str(data) in err
    assert log_of(data) == before


def test_a_read_only_data_folder_for_extract(data, models_dir, monkeypatch, capfd):
    before = log_of(data)
    read_only(monkeypatch, data)
    assert main(["extract", "--device", "cpu", "--data", str(data)]) == 2
    err = capfd.readouterr().err.strip().splitlines()[-1]  # after the engine's own notes
    assert err.startswith("error: ") and "Read-only file system" in err and str(data) in err
    assert log_of(data) == before


def test_a_read_only_folder_for_an_export(data, tmp_path, monkeypatch, capfd):
    with open_store(data) as store:
        att = Attendance(store)
        att.start_session("Maths")
        att.stop_session()
    (tmp_path / "elsewhere").mkdir()
    read_only(monkeypatch, tmp_path / "elsewhere")
    assert main(["export", "--data", str(data), "--out", str(tmp_path / "elsewhere" / "s.csv")]) == 2
    assert "Read-only file system" in one_error(capfd)


# ----- the data path is a file -----------------------------------------------------------------------


@pytest.mark.parametrize("argv", [HEADLESS, ["people", "edit", "S1", "--name", "A"], ["people", "remove", "S1"],
                                  ["pin", "--clear"], ["export"]])
def test_the_data_path_is_a_file(tmp_path, argv, capfd):
    not_a_folder = tmp_path / "data"
    not_a_folder.write_text("hello")
    assert main([*argv, "--data", str(not_a_folder)]) == 2
    assert str(not_a_folder) in one_error(capfd)
    assert not_a_folder.read_text() == "hello"


# ----- a log that is a pipe, a device or too large -----------------------------------------------------


def limited():
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))  # a faulty version runs out of memory, not the host


def run_cli(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "faceattend_tui", *argv], capture_output=True, text=True,
                          timeout=60, env=env, preexec_fn=limited, stdin=subprocess.DEVNULL, cwd=cwd)


@pytest.mark.parametrize("argv", [["export"], ["people", "edit", "S1", "--name", "A"]])
@pytest.mark.parametrize("what", ["fifo-log", "zero-log", "fifo-journal"])
def test_a_log_that_is_not_a_regular_file_is_refused_before_it_is_read(data, what, argv):
    name = "attendance.journal" if what.endswith("journal") else "attendance.json"
    (data / name).unlink(missing_ok=True)
    if what.startswith("fifo"):
        os.mkfifo(data / name)
    elif os.path.exists("/dev/zero"):
        (data / name).symlink_to("/dev/zero")
    else:
        pytest.skip("no /dev/zero")
    done = run_cli(*argv, "--data", str(data), cwd=data.parent)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0 and "not a regular file" in done.stderr
    assert str(data / name) in done.stderr
    assert not (data / name).is_file()  # left as it was, not replaced by a new log


@pytest.mark.parametrize("name", ["attendance.json", "attendance.journal"])
def test_a_log_or_journal_over_the_size_limit_is_refused(data, name, monkeypatch, capfd):
    monkeypatch.setattr(tiny_files, "READ_LIMIT", 1000)  # where load_log and read_lines look it up
    if name == "attendance.journal":
        (data / name).write_bytes(b'{"seq":1,"ops":[]}\n' * 100)
    else:
        with open_store(data) as store:
            att = Attendance(store)
            for n in range(20):
                att.add_person(f"Person {n}", person_id=f"P{n}")
    before = (data / name).read_bytes()
    for argv in (["export"], ["people", "edit", "S1", "--name", "A"]):
        assert main([*argv, "--data", str(data)]) == 2
        err = one_error(capfd)
        assert str(data / name) in err and "larger than 1,000 bytes" in err
    assert (data / name).read_bytes() == before


def test_a_full_disk_while_a_file_is_written_names_the_file(tmp_path, monkeypatch):
    """extract said only "error: No space left on device": the write of an open file names none."""
    import faceattend_tui.files as files

    real_fdopen = os.fdopen

    class Full(io.BufferedWriter):
        def write(self, data) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files.os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode, buffering=0)))
    with pytest.raises(OSError) as caught:
        files.atomic_write(tmp_path / "ann.npy", b"rows")
    assert caught.value.filename == str(tmp_path / "ann.npy") and caught.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []  # nothing left half written


def test_a_data_folder_a_disk_makes_open_to_all_is_refused_before_anything_is_written(tmp_path, disk_open_to_all,
                                                                                          capsys):
    """NTFS or exFAT mounted with their defaults: the first import made a folder every user may write to,
    wrote the roster into it, and every later command refused that folder."""
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\nS1,Ann Lee\n", encoding="utf-8")
    assert main(["people", "import", str(roster), "--data", str(tmp_path / "usb" / "school")]) == 2
    assert "lets every user write in every folder it makes" in capsys.readouterr().err
    assert not (tmp_path / "usb").exists()
