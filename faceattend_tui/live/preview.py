"""The preview window on the station's own screen: the camera with boxes and names.

HighGUI wants the main thread of its process, so the worker process owns the window. Without a
display (SSH without X forwarding, a headless OpenCV) the preview is simply unavailable.
"""

from __future__ import annotations

import os
import subprocess
import sys

import cv2
import numpy as np

from faceattend_tui.live.recognizer import Overlay

COLOURS = {"known": (80, 200, 60), "unknown": (60, 60, 230), "pending": (0, 200, 230)}
TITLE = "faceattend"


PROBE = "import cv2; cv2.namedWindow('faceattend-probe'); cv2.waitKey(1); cv2.destroyAllWindows()"


def display_problem() -> str | None:
    """Why a window cannot be shown here, or None when it can.

    Qt aborts the whole process when it cannot reach a display, so the first window is opened
    in a throwaway process.
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


def draw(frame: np.ndarray, overlays: list[Overlay], header: str) -> np.ndarray:
    """A copy of the frame with face boxes, labels and a header line."""
    canvas = frame.copy()
    for item in overlays:
        x1, y1, x2, y2 = item.box
        colour = COLOURS.get(item.state, (200, 200, 200))
        cv2.rectangle(canvas, (x1, y1), (x2, y2), colour, 2)
        _label(canvas, item.label, (x1, max(y1 - 6, 14)), colour)
    _label(canvas, header, (8, 20), (240, 240, 240))
    return canvas


def _label(canvas: np.ndarray, text: str, origin: tuple[int, int], colour) -> None:
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.5
    (w, h), base = cv2.getTextSize(text, font, scale, 1)
    x, y = origin
    cv2.rectangle(canvas, (x - 2, y - h - 4), (x + w + 2, y + base), (0, 0, 0), -1)
    cv2.putText(canvas, text, (x, y - 2), font, scale, colour, 1, cv2.LINE_AA)


class Preview:
    """Opens lazily; any window failure turns the preview off with a reason instead of crashing."""

    def __init__(self):
        self.open = False
        self.problem: str | None = None

    def start(self) -> str | None:
        """Open the window; returns the reason when it cannot be shown."""
        self.problem = display_problem()
        if self.problem is None:
            try:
                cv2.namedWindow(TITLE, cv2.WINDOW_NORMAL)
                self.open = True
            except cv2.error as exc:
                self.problem = f"OpenCV cannot open a window ({str(exc).strip().splitlines()[-1]})"
        return self.problem

    def show(self, frame: np.ndarray, overlays: list[Overlay], header: str) -> None:
        if not self.open:
            return
        try:
            cv2.imshow(TITLE, draw(frame, overlays, header))
            cv2.waitKey(1)
        except cv2.error as exc:
            self.problem = f"preview window failed ({str(exc).strip().splitlines()[-1]})"
            self.stop()

    def stop(self) -> None:
        if self.open:
            self.open = False
            try:
                cv2.destroyWindow(TITLE)
                cv2.waitKey(1)
            except cv2.error:
                pass
