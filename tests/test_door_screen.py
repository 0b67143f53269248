"""Full screen on a real (virtual) X screen: the door display fills the screen, with or without a
window manager. Runs Xvfb on a free display; skipped, saying why, where Xvfb cannot start."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

SCREEN = (1280, 720)
WINDOW_MANAGERS = ("openbox", "xfwm4", "metacity", "fluxbox", "icewm", "twm", "matchbox-window-manager")

SHOW = r"""
import json, subprocess, sys, time
import cv2, numpy as np
from faceattend_tui.live.door import DoorState
from faceattend_tui.live.preview import Preview, TITLE, screen_size
from faceattend_tui.live.recognizer import Overlay
preview = Preview(sys.argv[1])
problem = preview.start()
if problem:
    print(json.dumps({"problem": problem})); sys.exit(0)
frame = np.full((480, 640, 3), 120, np.uint8)
door = DoorState(session="Maths 3A", present=3, expected=25)
for _ in range(40):
    preview.show(frame, [Overlay((260, 150, 380, 300), "known", "Céline Gérard", 1)], door, time.time())
    cv2.waitKey(15)
rect = cv2.getWindowImageRect(preview.name)
tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True).stdout
window = next((line for line in tree.splitlines() if f'"{TITLE}"' in line), "")
preview.stop()
print(json.dumps({"rect": list(rect), "window": window.strip(), "screen": screen_size()}))
"""


@pytest.fixture(scope="module")
def xscreen():
    """An Xvfb display of SCREEN size; its name (":N")."""
    if not shutil.which("Xvfb"):
        pytest.skip("Xvfb is not installed (apt-get install -y xvfb x11-utils)")
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24",
                               "-nolisten", "tcp"], pass_fds=(write,), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    if not number:
        server.kill()
        pytest.skip("Xvfb did not start (no display number reported)")
    yield f":{number}"
    server.terminate()
    server.wait(5)


def show_fullscreen(display: str) -> dict:
    env = {**os.environ, "DISPLAY": display, "QT_LOGGING_RULES": "*=false"}
    env.pop("WAYLAND_DISPLAY", None)
    done = subprocess.run([sys.executable, "-c", SHOW, "fullscreen"], capture_output=True, text=True, env=env,
                          timeout=120)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no result (exit {done.returncode}): {done.stderr[-500:]}"
    result = json.loads(lines[-1])
    if "problem" in result:
        pytest.skip(f"no window on Xvfb: {result['problem']}")
    return result


def covered(result: dict) -> float:
    _, _, width, height = result["rect"]
    return width * height / (SCREEN[0] * SCREEN[1])


@pytest.mark.slow
def test_full_screen_fills_a_bare_x_screen(xscreen):
    """No window manager (a kiosk started with xinit): the window still covers the whole screen."""
    result = show_fullscreen(xscreen)
    assert result["screen"] == list(SCREEN)
    assert covered(result) >= 0.95, result
    assert f"{SCREEN[0]}x{SCREEN[1]}+0+0" in result["window"], result  # at the origin, the screen's size


@pytest.mark.slow
def test_full_screen_fills_the_screen_under_a_window_manager(xscreen, tmp_path):
    manager = next((name for name in WINDOW_MANAGERS if shutil.which(name)), None)
    if manager is None:
        pytest.skip(f"no window manager installed to test with (looked for {', '.join(WINDOW_MANAGERS)})")
    command = [manager]
    if manager == "twm":  # a system.twmrc (made by the menu package) may have twm wait for a click to place windows
        (tmp_path / "twmrc").write_text("RandomPlacement\nNoGrabServer\n", encoding="utf-8")
        command += ["-f", str(tmp_path / "twmrc")]
    wm = subprocess.Popen(command, env={**os.environ, "DISPLAY": xscreen}, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        assert covered(show_fullscreen(xscreen)) >= 0.95
    finally:
        wm.terminate()
        wm.wait(5)
