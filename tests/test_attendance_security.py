"""PIN hashes, login name, and the lock that keeps a second station process out."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from faceattend_tui.attendance import (
    LockedError,
    acquire_lock,
    current_user,
    hash_pin,
    verify_pin,
)

ROOT = Path(__file__).resolve().parent.parent


def test_pin_verify_right_and_wrong():
    stored = hash_pin("482193")
    assert stored.startswith("scrypt$") and "482193" not in stored
    assert verify_pin("482193", stored)
    assert not verify_pin("482194", stored)
    assert not verify_pin("", stored)
    assert hash_pin("482193") != stored  # random salt


@pytest.mark.parametrize("stored", ["", "plain", "md5$1$2$3$aa$bb", "scrypt$x$8$1$aa$bb", None])
def test_malformed_pin_hash_never_matches(stored):
    assert not verify_pin("4821", stored)


def test_short_pin_is_refused():
    with pytest.raises(ValueError, match="at least 6"):
        hash_pin("1234")


@pytest.mark.parametrize("pin", ["      ", " 246813", "246813\n", "\t\t\t\t\t\t"])
def test_a_blank_pin_or_one_padded_with_spaces_is_refused(pin):
    with pytest.raises(ValueError, match="cannot be blank, begin or end with a space"):
        hash_pin(pin)
    assert verify_pin("correct horse", hash_pin("correct horse"))  # spaces inside are fine


def test_the_login_is_the_account_that_runs_not_a_variable_anyone_sets(monkeypatch):
    """LOGNAME="Dana Lee" put a stranger's wrong PINs in the audit under a teacher's name."""
    import pwd

    account = pwd.getpwuid(os.getuid()).pw_name
    monkeypatch.setenv("LOGNAME", "Dana Lee")
    monkeypatch.setenv("USER", "Dana Lee")
    monkeypatch.setenv("SUDO_USER", "alice")
    monkeypatch.setattr(os, "getuid", lambda: 0)
    assert current_user() == "alice"  # under sudo: who ran it (only root could set that)
    monkeypatch.setattr(os, "getuid", lambda: pwd.getpwnam(account).pw_uid or 4242)
    assert current_user() in (account, "uid 4242")  # not root: SUDO_USER, LOGNAME and USER are anyone's to set


def test_lock_in_this_process(tmp_path):
    lock = acquire_lock(tmp_path, user="me")
    path = tmp_path / "faceattend.lock"
    holder = json.loads(path.read_text())
    assert (holder["pid"], holder["user"]) == (os.getpid(), "me")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(LockedError, match=f"pid {os.getpid()}"):
        acquire_lock(tmp_path)
    lock.release()
    assert not path.exists()
    with acquire_lock(tmp_path) as again:
        assert again.held
    assert not again.held


HOLDER = textwrap.dedent("""
    import sys, time
    from faceattend_tui.attendance import acquire_lock
    lock = acquire_lock(sys.argv[1], user="bob")
    print("locked", flush=True)
    time.sleep(60)
""")


def test_lock_held_by_another_process(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, cwd=ROOT)
    try:
        assert child.stdout.readline().strip() == b"locked"
        with pytest.raises(LockedError) as caught:
            acquire_lock(tmp_path)
        assert caught.value.pid == child.pid and caught.value.user == "bob"
        message = str(caught.value)
        assert f"pid {child.pid}" in message and "user bob" in message and "since" in message
    finally:
        child.kill()
        child.wait()
    # The holder died without cleaning up: its lock file is stale and gets taken over.
    assert (tmp_path / "faceattend.lock").exists()
    with acquire_lock(tmp_path, user="me") as lock:
        assert lock.holder["pid"] == os.getpid()
        assert json.loads((tmp_path / "faceattend.lock").read_text())["user"] == "me"


def test_a_lock_file_deleted_by_hand_does_not_let_a_second_writer_in(tmp_path):
    """After a crash the lock file stays behind; deleting it by hand while a station runs must not
    let a command write beside the station (the station would write over what it did)."""
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, cwd=ROOT)
    try:
        assert child.stdout.readline().strip() == b"locked"
        (tmp_path / "faceattend.lock").unlink()
        with pytest.raises(LockedError, match="was deleted while it runs"):
            acquire_lock(tmp_path)
        assert not (tmp_path / "faceattend.lock").exists()  # nothing left behind by the refusal
    finally:
        child.kill()
        child.wait()
    with acquire_lock(tmp_path, user="me") as lock:  # the holder is gone: free again
        assert lock.holder["pid"] == os.getpid()


WAITER = textwrap.dedent("""
    import sys
    from faceattend_tui.attendance import acquire_lock
    print("waiting", flush=True)
    with acquire_lock(sys.argv[1], what="command", wait=20):
        print("locked", flush=True)
""")


def waiter(root: Path) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", WAITER, str(root)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, cwd=ROOT)
    assert child.stdout.readline().strip() == "waiting"
    time.sleep(1.0)  # trying again and again by now
    return child


def test_a_command_ending_as_another_starts_is_waited_for_never_said_deleted(tmp_path, monkeypatch):
    """A command met the data folder still locked behind a new lock file, in the moment the one before it
    released: it was refused at once, told the lock file had been deleted while its holder ran."""
    from faceattend_tui import filelock

    lock = acquire_lock(tmp_path, what="command")
    child = waiter(tmp_path)
    unlock, slowed = filelock._unlock, []

    def slow_unlock(fd: int) -> None:  # a busy machine stretches the moment between the two unlocks
        unlock(fd)
        if not slowed:
            slowed.append(fd)
            time.sleep(1.5)

    monkeypatch.setattr(filelock, "_unlock", slow_unlock)
    lock.release()
    out, err = child.communicate(timeout=30)
    assert (child.returncode, out.strip(), err) == (0, "locked", "")


def test_a_lock_taken_a_moment_ago_whose_holder_is_not_written_yet_is_waited_for(tmp_path):
    """Refused at once, "locked by another process (no details available)", while its taker had yet to say
    who it was."""
    import fcntl

    path = tmp_path / "faceattend.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    child = waiter(tmp_path)
    os.unlink(path)
    os.close(fd)
    out, err = child.communicate(timeout=30)
    assert (child.returncode, out.strip(), err) == (0, "locked", "")


def test_a_file_system_that_cannot_lock_folders_still_takes_the_lock_files_own(tmp_path, monkeypatch):
    """On a network share whose folders cannot be locked, the station still starts (on the file's lock)."""
    import errno
    import fcntl
    import stat as stat_module

    real = fcntl.flock

    def no_folder_locks(fd, how):
        if stat_module.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.ENOLCK, "No locks available")
        return real(fd, how)

    monkeypatch.setattr(fcntl, "flock", no_folder_locks)
    with acquire_lock(tmp_path) as lock:
        assert lock.held
        with pytest.raises(LockedError, match=f"pid {os.getpid()}"):
            acquire_lock(tmp_path)


def test_stale_lock_file_with_junk_is_taken_over(tmp_path):
    (tmp_path / "faceattend.lock").write_text('{"pid": 999999, "user": "ghost"}garbage')
    with acquire_lock(tmp_path) as lock:
        assert lock.holder["pid"] == os.getpid()


def test_lock_creates_private_data_dir(tmp_path):
    root = tmp_path / "fresh"
    with acquire_lock(root):
        assert stat.S_IMODE(root.stat().st_mode) == 0o700
