"""End to end, as a user would: the demo station in a real terminal (tmux), driven with keys.

Starts a session, waits for check-ins, kills the station with SIGKILL while people stream in,
checks every check-in that was on screen is in the log, restarts (the session resumes), stops
the session and exports the sheet.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from faceattend_tui.attendance import acquire_lock, open_snapshot

pytestmark = [pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
              pytest.mark.timeout(420)]

ROSTER = {"Alex Moreau", "Bea Santos", "Chen Wei", "Dana Okafor", "Eli Novak", "Farah Haddad"}


class Terminal:
    def __init__(self, name: str, cwd: Path, size: tuple[int, int] = (170, 45)):
        self.name, self.cwd, self.size = name, cwd, size

    def tmux(self, *args: str) -> str:
        return subprocess.run(self._tmux(*args), capture_output=True, text=True, check=False).stdout

    def _tmux(self, *args: str) -> list[str]:
        """A server of the test's own (its socket named after the session, no user config): a tmux the
        developer already runs keeps its sessions, and the station gets this process's environment."""
        return ["tmux", "-L", self.name, "-f", "/dev/null", *args]

    def start(self, command: str) -> None:
        self.tmux("kill-session", "-t", self.name)
        width, height = (str(v) for v in self.size)
        self.tmux("new-session", "-d", "-s", self.name, "-x", width, "-y", height, "-c", str(self.cwd), command)

    def keys(self, *keys: str, pause: float = 0.3) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", self.name, key)
            time.sleep(pause)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.name, "-l", text)
        time.sleep(0.4)

    def raw(self, *hex_bytes: str) -> None:
        """Bytes as a terminal sends them, UTF-8 or not (e.g. "eb": "ë" from a Latin-1 terminal)."""
        self.tmux("send-keys", "-t", self.name, "-H", *hex_bytes)
        time.sleep(0.3)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.name)

    def wait_for(self, pattern: str, seconds: float = 120) -> str:
        return self.wait_until(lambda text: re.search(pattern, text) is not None, pattern, seconds)

    def wait_until(self, check, what: str, seconds: float = 120) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            text = self.screen()
            if check(text):
                return text
            time.sleep(0.5)
        raise AssertionError(f"never saw {what}; screen was:\n{self.screen()}")

    def pid(self) -> int:
        return int(self.tmux("display-message", "-p", "-t", self.name, "#{pane_pid}").strip())

    def alive(self) -> bool:
        return subprocess.run(self._tmux("has-session", "-t", self.name), capture_output=True).returncode == 0

    def close(self) -> None:
        self.tmux("kill-server")


def shown_checkins(screen: str) -> set[str]:
    """Names in the live pane with a present/late check-in."""
    names = set()
    for line in screen.splitlines():
        match = re.match(r"│\s*\d\d:\d\d:\d\d\s+(.+?)\s+\d\.\d\d\s+(present|late)\b", line)
        if match:
            names.add(match.group(1))
    return names


@pytest.fixture
def terminal(tmp_path):
    term = Terminal(f"faceattend-e2e-{os.getpid()}", tmp_path)
    yield term
    term.close()


def station_command(data: Path, size: str = "-u COLUMNS -u LINES") -> str:
    exe = Path(sys.executable).with_name("faceattend")
    return f"env {size} {exe} demo --no-preview --data {data}"


@pytest.mark.slow
def test_demo_session_kill_resume_stop_and_export(terminal, tmp_path, models_dir):
    data = tmp_path / "station"
    terminal.start(station_command(data))
    terminal.wait_for(r"camera live")
    terminal.keys("s")
    terminal.type("Physics 101")
    terminal.keys("Tab")
    terminal.type("30")
    terminal.keys("Enter")
    terminal.wait_for(r"Physics 101 · .* for everyone, since")

    screen = terminal.wait_until(lambda text: len(shown_checkins(text)) >= 2, "two check-ins", seconds=150)
    shown = shown_checkins(screen)
    assert len(shown) >= 2 and shown <= ROSTER
    os.kill(terminal.pid(), signal.SIGKILL)  # the station dies mid-stream
    time.sleep(1.0)
    with open_snapshot(data) as store:
        (session,) = store.open_sessions()
        names = {p.id: p.name for p in store.people()}
        logged = {names[c.person_id] for c in store.checkins(session.id)}
    assert shown <= logged, f"shown on screen but not in the log: {shown - logged}"

    terminal.start(station_command(data))  # restart: the session resumes
    terminal.wait_for(r"Physics 101 · .* for everyone, since")
    screen = terminal.wait_for(r"present 6 ", seconds=200)
    assert "absent 0" in screen
    terminal.keys("s", "y")
    terminal.wait_for(r"no session running")
    terminal.keys("x")
    terminal.wait_for(r"Export attendance")
    terminal.keys("Enter")
    terminal.wait_for(r"exported to")
    (sheet,) = (data / "exports").glob("*.csv")
    rows = list(csv.DictReader(sheet.open(encoding="utf-8-sig")))
    assert {r["person"] for r in rows} == ROSTER
    assert {r["status"] for r in rows} == {"present"}
    terminal.keys("q")
    deadline = time.monotonic() + 30
    while terminal.alive() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not terminal.alive(), "the station did not quit on q"
    with acquire_lock(data):  # the lock was released
        pass


@pytest.fixture
def ssh_window(tmp_path):
    term = Terminal(f"faceattend-e2e-small-{os.getpid()}", tmp_path, size=(80, 24))
    yield term
    term.close()


@pytest.mark.slow
def test_an_80x24_window_shows_what_matters_and_enrolls(ssh_window, tmp_path, models_dir):
    data = tmp_path / "station"
    ssh_window.start(station_command(data, size="COLUMNS=132 LINES=43"))  # a shell exported another size
    ssh_window.wait_for(r"camera live")
    screen = ssh_window.screen()
    for key in ("s Session", "e Enroll", "x Export", "? Help", "q Quit"):
        assert key.replace(" ", "") in screen.replace(" ", ""), f"footer lacks {key}"
    ssh_window.keys("s")
    ssh_window.type("Lab")
    ssh_window.keys("Enter")
    screen = ssh_window.wait_for(r"present [1-9]", seconds=150)  # the counts stay in the header
    assert "Lab" in screen and "absent" in screen
    ssh_window.keys("Tab")
    screen = ssh_window.wait_for(r"Name\s+Status\s+In")  # the roster, one pane at a time
    assert re.search(r"(present|late|absent)\b", screen)
    ssh_window.raw("eb")  # a terminal set to Latin-1 types "ë": not UTF-8, and the station goes on
    time.sleep(2)
    assert ssh_window.alive(), ssh_window.screen()

    ssh_window.keys("e")
    ssh_window.wait_for(r"Enroll from the camera")
    ssh_window.type("Zoe Newcomer")
    for _ in range(4):  # capture until someone walking in gives samples
        ssh_window.keys("Enter")
        screen = ssh_window.wait_for(r"samples?; press Save|no usable face", seconds=60)
        if re.search(r"samples?; press Save", screen):
            break
    time.sleep(0.5)  # let the dialog finish drawing
    screen = ssh_window.screen()
    assert "Save" in screen and "Cancel" in screen, screen  # the buttons are on an 80x24 screen
    if "already looks like" in screen:
        assert re.search(r"warning: this face already looks like .+ \(p-", screen)  # in full, to be read
    ssh_window.keys("C-s")
    if re.search(r"warning: ", screen):  # read, then saved all the same: Save a second time
        ssh_window.wait_for(r"press Save \(ctrl\+s\) again")
        time.sleep(0.3)
        ssh_window.keys("C-s")
    ssh_window.wait_until(lambda text: "Enroll from the camera" not in text, "the dialog closed")
    ssh_window.type("/")  # tmux has no key named "slash": it would type s, l, a, s, h
    ssh_window.type("Zoe")
    ssh_window.wait_for(r"Zoe Newcomer")
    ssh_window.keys("Escape")
    ssh_window.keys("s")  # stop the session as anyone would: s, then enter on the default button
    ssh_window.wait_for(r"Stop session 'Lab'\?")
    ssh_window.keys("Enter")
    screen = ssh_window.wait_for(r"session 'Lab' stopped")  # said on screen, not only in the log
    assert "no session running" in screen
    ssh_window.keys("q")  # no session: quits at once
    deadline = time.monotonic() + 30
    while ssh_window.alive() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not ssh_window.alive()
