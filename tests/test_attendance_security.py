"""Staff PIN, login name, and the lock that keeps a second station process out."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fakes import FakeClock

from faceattend_tui.attendance import (
    LockedError,
    PinError,
    acquire_lock,
    check_pin,
    current_user,
    hash_pin,
    open_store,
    pin_required,
    set_pin,
    verify_pin,
)
from faceattend_tui.attendance.security import pin_wait

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


def test_pin_in_store(tmp_path):
    store = open_store(tmp_path)
    assert not pin_required(store)
    check_pin(store, "anything")  # no PIN set: anything goes
    set_pin(store, "246813", user="admin")
    store.close()
    again = open_store(tmp_path)
    assert pin_required(again)
    check_pin(again, "246813")
    with pytest.raises(PinError, match="wrong"):
        check_pin(again, "135799")
    assert "246813" not in (tmp_path / "attendance.json").read_text()
    with pytest.raises(PinError):
        set_pin(again, None, user="admin", old="000000")  # changing or clearing needs the current PIN
    set_pin(again, None, user="admin", old="246813")
    assert not pin_required(again)
    assert [a.action for a in again.audit_log()] == ["pin.set", "pin.fail", "pin.fail", "pin.clear"]


def test_wrong_pins_make_the_next_try_wait_then_lock_and_are_all_audited(tmp_path):
    clock = FakeClock()
    store = open_store(tmp_path, clock=clock)
    set_pin(store, "246813", user="admin")
    waits = []
    for attempt in range(1, 11):
        with pytest.raises(PinError) as refused:
            check_pin(store, "000000", user="intruder")
        waits.append(str(refused.value))
        if pin_wait(attempt):  # a wait started: even the right PIN waits for it
            with pytest.raises(PinError, match="wait|locked"):
                check_pin(store, "246813")
        clock.advance(seconds=61)
    wrong = "wrong or missing staff PIN"
    assert waits[:4] == [wrong, wrong, f"{wrong}; wait 2 s before the next try",
                         f"{wrong}; wait 4 s before the next try"]
    assert "locked after 10 wrong PINs; try again in 15 min" in waits[-1]
    with pytest.raises(PinError, match="locked"):
        check_pin(store, "246813")  # even the right PIN, during the lockout
    clock.advance(minutes=15)
    check_pin(store, "246813")
    fails = [a for a in store.audit_log() if a.action == "pin.fail"]
    assert len(fails) == 10 and {a.user for a in fails} == {"intruder"}
    store.close()
    reopened = open_store(tmp_path, clock=clock)  # the count survives a restart
    assert reopened.get_setting("staff_pin_failures") is None  # the right PIN cleared it



def test_current_user_prefers_the_ssh_login(monkeypatch):
    monkeypatch.setenv("SUDO_USER", "alice")
    monkeypatch.setenv("LOGNAME", "root")
    assert current_user() == "alice"
    monkeypatch.delenv("SUDO_USER")
    assert current_user() == "root"
    for var in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.delenv(var, raising=False)
    assert current_user()  # from the password database


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


def test_stale_lock_file_with_junk_is_taken_over(tmp_path):
    (tmp_path / "faceattend.lock").write_text('{"pid": 999999, "user": "ghost"}garbage')
    with acquire_lock(tmp_path) as lock:
        assert lock.holder["pid"] == os.getpid()


def test_lock_creates_private_data_dir(tmp_path):
    root = tmp_path / "fresh"
    with acquire_lock(root):
        assert stat.S_IMODE(root.stat().st_mode) == 0o700
