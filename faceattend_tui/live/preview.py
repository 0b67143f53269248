"""The window on the station's own screen: the door display (see `door.py`), in a window or full screen.

HighGUI wants the main thread of its process, so the worker process owns the window. Without a
display (SSH without X forwarding, a headless OpenCV) the preview is simply unavailable. The
camera image is scaled to the window with its aspect kept; a window's size is remembered.

Full screen does not rely on a window manager: on a bare X server (a kiosk started with xinit, Xvfb)
a window manager's "full screen" hint is never acted on, so the window is also placed at the
origin and sized to the screen, whose size is asked of the X server itself (libX11 through
ctypes); the frames are scaled to that size before the door is drawn on them (text stays sharp),
and the window has no toolbar (`WINDOW_GUI_NORMAL`, honoured by Qt, ignored by GTK).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import dataclasses
import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from faceattend_tui.live.door import DoorState, draw, draw_card, layout

if TYPE_CHECKING:
    from faceattend_tui.live.recognizer import Overlay

TITLE = "faceattend"
MODES = ("window", "fullscreen")
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype", "/usr/local/share/fonts",
             "/usr/share/fonts")

CARD_SECONDS = 0.5  # a card (no picture coming) is shown again this often, so the window stays alive
NO_FRAME = (480, 640)  # the card's size when no picture ever came

# Each window this process opens has a name of its own (its title stays TITLE): one opened a moment after the
# last closed (p pressed fast) was found under the old one's name while Qt still tore it down, and stayed black.
WINDOWS = itertools.count(1)


PROBE = "import cv2; cv2.namedWindow('faceattend-probe'); cv2.waitKey(1); cv2.destroyAllWindows()"
PROBE_SECONDS = 8.0  # the frame loop waits this long at most for a display that does not answer


def quiet_qt(environ: MutableMapping[str, str] = os.environ) -> None:
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
    loud = {k: v for k, v in os.environ.items() if k != "QT_LOGGING_RULES"}  # Qt's own words say which display
    try:
        probe = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=PROBE_SECONDS,
                               env=loud)
    except subprocess.TimeoutExpired:
        return f"the display did not answer within {PROBE_SECONDS:g} s"
    if probe.returncode != 0:
        lines = [line.strip() for line in probe.stderr.splitlines() if line.strip()]
        telling = [line for line in lines if "display" in line.lower()] or lines  # not "Reinstalling ... may fix"
        return f"cannot open a window ({telling[0][:160] if telling else f'exit code {probe.returncode}'})"
    return None


def screen_size(environ: MutableMapping[str, str] = os.environ) -> tuple[int, int] | None:
    """Width and height of the X screen the window opens on, asked of the X server; None where there
    is no X display (Wayland without XWayland, Windows, macOS) or no libX11."""
    if not environ.get("DISPLAY") or not sys.platform.startswith("linux"):
        return None
    try:
        x11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
    except OSError:
        return None
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    for name in ("XDefaultScreen", "XCloseDisplay"):
        getattr(x11, name).argtypes = [ctypes.c_void_p]
    for name in ("XDisplayWidth", "XDisplayHeight"):
        getattr(x11, name).argtypes = [ctypes.c_void_p, ctypes.c_int]
    display = x11.XOpenDisplay(environ["DISPLAY"].encode())
    if not display:
        return None
    try:
        screen = x11.XDefaultScreen(display)
        width, height = x11.XDisplayWidth(display, screen), x11.XDisplayHeight(display, screen)
    finally:
        x11.XCloseDisplay(display)
    return (width, height) if width > 0 and height > 0 else None


def fit_frame(frame: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, float, tuple[int, int]]:
    """The frame scaled to fill `size` (width, height) with its aspect kept, black bars around it;
    with the scale and the offset of the picture in the result."""
    height, width = frame.shape[:2]
    target_w, target_h = size
    scale = min(target_w / width, target_h / height)
    new_w, new_h = min(target_w, round(width * scale)), min(target_h, round(height * scale))
    x, y = (target_w - new_w) // 2, (target_h - new_h) // 2
    canvas = np.zeros((target_h, target_w, 3), np.uint8)
    canvas[y:y + new_h, x:x + new_w] = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    return canvas, scale, (x, y)


def moved(overlay: Overlay, scale: float, offset: tuple[int, int]) -> Overlay:
    """An overlay with its box in the scaled picture's coordinates."""
    x1, y1, x2, y2 = overlay.box
    dx, dy = offset
    box = (round(x1 * scale) + dx, round(y1 * scale) + dy, round(x2 * scale) + dx, round(y2 * scale) + dy)
    return dataclasses.replace(overlay, box=box)


def door_view(frame: np.ndarray, overlays: Sequence[Overlay], door: DoorState, now: float,
              size: tuple[int, int] | None = None) -> np.ndarray:
    """What the window shows: the frame with the door drawn on it, scaled to `size` first when given."""
    if size is None or (frame.shape[1], frame.shape[0]) == tuple(size):
        return draw(frame, layout(frame.shape, overlays, door, now))
    canvas, scale, offset = fit_frame(frame, size)
    placed = [moved(o, scale, offset) for o in overlays]
    return draw(canvas, layout(canvas.shape, placed, door, now, face_scale=scale), inplace=True)


class Preview:
    """Opens lazily; any window failure turns the preview off with a reason instead of crashing."""

    def __init__(self, mode: str = "window", remember: Path | None = None):
        if mode not in MODES:
            raise ValueError(f"preview mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.mode = mode
        self.remember = remember  # where the window's size is kept between runs
        self.open = False
        self.problem: str | None = None
        self.size: tuple[int, int] | None = None  # full screen: the screen's size, frames are scaled to it
        self.last_frame: np.ndarray | None = None
        self.card_shown: tuple[tuple[str, str] | None, float] = (None, 0.0)  # (what the card said, when)
        self.busy_since: float | None = None  # time.monotonic() when a call to the display began, if one runs
        self.name = f"{TITLE} {next(WINDOWS)}"  # the window's, to OpenCV

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Around every call to the display, which can block for ever (a stalled X server or SSH link)."""
        self.busy_since = time.monotonic()
        try:
            yield
        finally:
            self.busy_since = None

    def stalled(self, seconds: float) -> bool:
        """Whether a call to the display has waited longer than `seconds`."""
        since = self.busy_since
        return since is not None and time.monotonic() - since > seconds

    def start(self) -> str | None:
        """Open the window; returns the reason when it cannot be shown."""
        quiet_qt()
        self.problem = display_problem()
        if self.problem is None:
            try:
                with self.answering():
                    self._create()
                self.open = True
            except cv2.error as exc:
                self.problem = f"OpenCV cannot open a window ({str(exc).strip().splitlines()[-1]})"
        return self.problem

    def _create(self) -> None:
        cv2.namedWindow(self.name, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        cv2.setWindowTitle(self.name, TITLE)
        if self.mode == "fullscreen":
            # The window manager's hint where there is one; the screen's own size and the origin where
            # there is none (a bare X server leaves a hinted window at 400x300 in a corner).
            self.size = screen_size()
            if self.size:
                cv2.moveWindow(self.name, 0, 0)
                cv2.resizeWindow(self.name, *self.size)
            cv2.setWindowProperty(self.name, cv2.WND_PROP_FULLSCREEN, cv2.WINDOW_FULLSCREEN)
            return
        size = self._remembered()
        if size:
            cv2.resizeWindow(self.name, *size)

    def show(self, frame: np.ndarray, overlays: Sequence[Overlay], door: DoorState, now: float) -> None:
        if not self.open:
            return
        self.last_frame = frame
        self._put(lambda: door_view(frame, overlays, door, now, self.size))

    def show_card(self, door: DoorState) -> None:
        """While no picture comes (the camera stopped, the video ended): a card saying so, not a frozen frame."""
        if not self.open:
            return
        said, when = self.card_shown
        key = (door.source, door.words.tag)
        if said == key and time.monotonic() - when < CARD_SECONDS:
            with contextlib.suppress(cv2.error), self.answering():
                cv2.waitKey(1)
            return
        self.card_shown = (key, time.monotonic())
        self._put(lambda: self._card(door))

    def _card(self, door: DoorState) -> np.ndarray:
        last = self.last_frame
        if self.size is not None:
            base = fit_frame(last, self.size)[0] if last is not None else None
            return draw_card((self.size[1], self.size[0]), door, base)
        return draw_card(last.shape if last is not None else NO_FRAME, door, last)

    def _put(self, image: Callable[[], np.ndarray]) -> None:
        try:
            picture = image()
        except (cv2.error, ValueError, ZeroDivisionError):
            return  # a frame that cannot be drawn (4000x1, one corrupt frame of a stream): skipped, the window stays
        try:
            with self.answering():
                cv2.imshow(self.name, picture)
                cv2.waitKey(1)
        except cv2.error as exc:
            self.problem = f"preview window failed ({str(exc).strip().splitlines()[-1]})"
            self.stop()

    def stop(self) -> None:
        if self.open:
            self.open = False
            with self.answering():
                self._remember_size()
                with contextlib.suppress(cv2.error):
                    cv2.destroyWindow(self.name)
                    cv2.waitKey(1)

    # -- the size a user gave the window, kept between runs

    def _remembered(self) -> tuple[int, int] | None:
        if not self.remember:
            return None
        try:
            data = json.loads(self.remember.read_text())
            width, height = int(data["width"]), int(data["height"])
        except (OSError, ValueError, TypeError, KeyError):
            return None
        return (width, height) if 160 <= width <= 10000 and 120 <= height <= 10000 else None

    def _remember_size(self) -> None:
        if self.mode != "window" or self.remember is None:
            return
        with contextlib.suppress(cv2.error, OSError, ValueError):
            _, _, width, height = cv2.getWindowImageRect(self.name)
            if width > 0 and height > 0:
                self.remember.write_text(json.dumps({"width": width, "height": height}))
