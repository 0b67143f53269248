"""The window on the station's own screen: the door display (see `door.py`), in a window or full screen.

HighGUI wants the main thread of its process, so the worker process owns the window. Without a
display (SSH without X forwarding, a headless OpenCV) the preview is simply unavailable. The
camera image is scaled to the window with its aspect kept; a window's size is remembered.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from faceattend_tui.live.door import DoorState, draw, layout

TITLE = "faceattend"
MODES = ("window", "fullscreen")
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype", "/usr/local/share/fonts",
             "/usr/share/fonts")

PROBE = "import cv2; cv2.namedWindow('faceattend-probe'); cv2.waitKey(1); cv2.destroyAllWindows()"


def quiet_qt(environ=os.environ) -> None:
    """Keep Qt's own warnings (fonts, platform plugins) off the terminal; give it fonts where there are some."""
    environ.setdefault("QT_LOGGING_RULES", "*=false")
    if "QT_QPA_FONTDIR" not in environ:
        found = next((d for d in FONT_DIRS if Path(d).is_dir() and any(Path(d).glob("*.ttf"))), None)
        if found:
            environ["QT_QPA_FONTDIR"] = found


def display_problem() -> str | None:
    """Why a window cannot be shown here, or None when it can.

    Qt aborts the whole process when it cannot reach a display, so the first window is opened
    in a throwaway process, with this process's environment (`Preview.start` has quietened Qt in it).
    """
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display (DISPLAY is not set; over SSH the preview needs the station's screen)"
    try:
        probe = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired:
        return "the display did not answer within 15 s"
    if probe.returncode != 0:
        lines = [line for line in probe.stderr.strip().splitlines() if line.strip()]
        return f"cannot open a window ({lines[0][:160] if lines else f'exit code {probe.returncode}'})"
    return None


class Preview:
    """Opens lazily; any window failure turns the preview off with a reason instead of crashing."""

    def __init__(self, mode: str = "window", remember: Path | None = None):
        if mode not in MODES:
            raise ValueError(f"preview mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.mode = mode
        self.remember = remember  # where the window's size is kept between runs
        self.open = False
        self.problem: str | None = None

    def start(self) -> str | None:
        """Open the window; returns the reason when it cannot be shown."""
        quiet_qt()
        self.problem = display_problem()
        if self.problem is None:
            try:
                self._create()
                self.open = True
            except cv2.error as exc:
                self.problem = f"OpenCV cannot open a window ({str(exc).strip().splitlines()[-1]})"
        return self.problem

    def _create(self) -> None:
        cv2.namedWindow(TITLE, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO)
        if self.mode == "fullscreen":
            cv2.setWindowProperty(TITLE, cv2.WND_PROP_FULLSCREEN, cv2.WINDOW_FULLSCREEN)
            return
        size = self._remembered()
        if size:
            cv2.resizeWindow(TITLE, *size)

    def show(self, frame: np.ndarray, overlays, door: DoorState, now: float) -> None:
        if not self.open:
            return
        try:
            cv2.imshow(TITLE, draw(frame, layout(frame.shape, overlays, door, now)))
            cv2.waitKey(1)
        except cv2.error as exc:
            self.problem = f"preview window failed ({str(exc).strip().splitlines()[-1]})"
            self.stop()

    def stop(self) -> None:
        if self.open:
            self.open = False
            self._remember_size()
            try:
                cv2.destroyWindow(TITLE)
                cv2.waitKey(1)
            except cv2.error:
                pass

    # -- the size a user gave the window, kept between runs

    def _remembered(self) -> tuple[int, int] | None:
        try:
            data = json.loads(self.remember.read_text()) if self.remember else None
            width, height = int(data["width"]), int(data["height"])
        except (OSError, ValueError, TypeError, KeyError):
            return None
        return (width, height) if 160 <= width <= 10000 and 120 <= height <= 10000 else None

    def _remember_size(self) -> None:
        if self.mode != "window" or self.remember is None:
            return
        with contextlib.suppress(cv2.error, OSError, ValueError):
            _, _, width, height = cv2.getWindowImageRect(TITLE)
            if width > 0 and height > 0:
                self.remember.write_text(json.dumps({"width": width, "height": height}))
