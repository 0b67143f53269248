"""The door display: what people walking in see on the station's screen, readable from a few steps away.

Each face gets a box and a word (its name, "hold still" while it is being decided, "not recognised"
for a stranger). When a check-in is written, a large banner says who, when and how (checked in,
late, already here since ...); a stranger held in view gets "please see staff". The session's
name and count sit in a corner, or "no session: not recording". Colours are never the only sign:
every banner has a word and a drawn shape (tick, clock, info, cross), and it is placed away from
the face it is about.

`layout` is a pure function of the frame's size, the faces and the state; `draw` paints a layout
onto a copy of the frame. Both are tested without a window.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_DUPLEX
WHITE, BLACK = (255, 255, 255), (0, 0, 0)


@dataclass(frozen=True)
class Look:
    colour: tuple[int, int, int]  # BGR
    icon: str  # tick, clock, info or cross
    word: str


LOOKS = {
    "checked-in": Look((50, 150, 40), "tick", "checked in"),
    "late": Look((0, 130, 230), "clock", "late"),
    "already-here": Look((170, 110, 40), "info", "already here"),
    "not-on-list": Look((40, 40, 190), "cross", "not on this session's list"),
    "see-staff": Look((40, 40, 190), "cross", "please see staff"),
    "no-session": Look((110, 110, 110), "info", "recognised"),
}
FACE_COLOURS = {"known": (60, 190, 60), "unknown": (50, 50, 220), "pending": (0, 190, 230)}
FACE_WORDS = {"unknown": "not recognised", "pending": "hold still"}


@dataclass(frozen=True)
class Banner:
    kind: str  # a key of LOOKS
    title: str  # the person's name, or the message for a stranger
    detail: str  # after the kind's word: "at 08:58", "since 08:58", "(a picture cannot check in)"
    track: int | None  # the face it is about, kept clear of the banner
    until: float  # shown until this time


@dataclass
class DoorState:
    """What the worker knows beyond the faces: the session and the latest outcomes."""

    session: str = ""  # "" while no session runs
    present: int = 0
    expected: int = 0
    banners: deque = field(default_factory=lambda: deque(maxlen=8))

    def show(self, banner: Banner) -> None:
        self.banners.append(banner)

    def current(self, now: float) -> Banner | None:
        """The newest banner still showing."""
        for banner in reversed(self.banners):
            if banner.until > now:
                return banner
        return None


@dataclass(frozen=True)
class FaceMark:
    box: tuple[int, int, int, int]
    colour: tuple[int, int, int]
    text: str


@dataclass(frozen=True)
class Layout:
    faces: list[FaceMark]
    panel: tuple[int, int, int, int]  # x1, y1, x2, y2
    panel_lines: list[str]
    banner: Banner | None = None
    banner_rect: tuple[int, int, int, int] | None = None


def text_scale(height: int) -> float:
    """Font scale for body text: about 1/20 of the frame's height (40 px on a 480-line camera)."""
    return max(0.5, height / 480 * 0.9)


def layout(shape: tuple[int, ...], overlays, door: DoorState, now: float) -> Layout:
    height, width = shape[:2]
    faces = [face_mark(o) for o in overlays]
    banner = door.current(now)
    band = max(48, round(height * 0.22))
    banner_rect = None
    top_free = True
    if banner is not None:
        box = next((o.box for o in overlays if getattr(o, "track", None) == banner.track), None)
        banner_rect, top_free = place_banner(width, height, band, box)
    lines = panel_lines(door)
    panel = panel_rect(lines, width, height, at_top=top_free)
    return Layout(faces, panel, lines, banner, banner_rect)


def face_mark(overlay) -> FaceMark:
    colour = FACE_COLOURS.get(overlay.state, (200, 200, 200))
    if overlay.state == "known" or (overlay.state == "pending" and overlay.label):  # a name, or "blink"
        text = overlay.label
    else:
        text = FACE_WORDS.get(overlay.state, overlay.label)
    return FaceMark(tuple(int(v) for v in overlay.box), colour, text)


def place_banner(width: int, height: int, band: int, face) -> tuple[tuple[int, int, int, int], bool]:
    """The banner's rectangle (bottom, or top when the face is low) and whether the top is left free."""
    bottom = (0, height - band, width, height)
    top = (0, 0, width, band)
    if face is None:
        return bottom, True
    if overlap(bottom, face) <= overlap(top, face):
        return bottom, True
    return top, False


def overlap(a, b) -> int:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return max(width, 0) * max(height, 0)


def panel_lines(door: DoorState) -> list[str]:
    if not door.session:
        return ["No session", "not recording"]
    count = f"{door.present} of {door.expected} here" if door.expected else f"{door.present} here"
    return [door.session, count]


def panel_rect(lines: list[str], width: int, height: int, at_top: bool) -> tuple[int, int, int, int]:
    scale = text_scale(height) * 0.8
    text_w = max(cv2.getTextSize(line, FONT, scale, 1)[0][0] for line in lines)
    line_h, pad = _line_metrics(scale)
    box_w, box_h = min(text_w + 2 * pad, width), line_h * len(lines) + pad
    return (0, 0, box_w, box_h) if at_top else (0, height - box_h, box_w, height)


def _line_metrics(scale: float) -> tuple[int, int]:
    """Line height and padding of the corner panel's text at this scale."""
    line_h = cv2.getTextSize("Ag", FONT, scale, 1)[0][1] * 2
    return line_h, round(line_h * 0.4)


# ----- painting ---------------------------------------------------------------------------------


def draw(frame: np.ndarray, plan: Layout) -> np.ndarray:
    """A copy of the frame with the faces, the corner panel and the banner painted on."""
    canvas = frame.copy()
    scale = text_scale(canvas.shape[0])
    for face in plan.faces:
        draw_face(canvas, face, scale)
    shade(canvas, plan.panel, BLACK, 0.55)
    draw_lines(canvas, plan.panel, plan.panel_lines, scale * 0.8)
    if plan.banner is not None:
        draw_banner(canvas, plan.banner, plan.banner_rect, scale)
    return canvas


def draw_face(canvas: np.ndarray, face: FaceMark, scale: float) -> None:
    x1, y1, x2, y2 = face.box
    thickness = max(2, round(scale * 2))
    cv2.rectangle(canvas, (x1, y1), (x2, y2), face.colour, thickness)
    small = scale * 0.7
    (w, h), base = cv2.getTextSize(face.text, FONT, small, 1)
    top = y1 - h - base - 6 if y1 - h - base - 6 > 0 else y2 + 2
    cv2.rectangle(canvas, (x1, top), (x1 + w + 8, top + h + base + 6), face.colour, -1)
    cv2.putText(canvas, face.text, (x1 + 4, top + h + 3), FONT, small, WHITE, 1, cv2.LINE_AA)


def shade(canvas: np.ndarray, rect, colour, alpha: float) -> None:
    """Blend a filled rectangle over the canvas (only the rectangle is touched)."""
    x1, y1, x2, y2 = rect
    region = canvas[y1:y2, x1:x2]
    if region.size:
        fill = np.empty_like(region)
        fill[:] = colour
        cv2.addWeighted(fill, alpha, region, 1 - alpha, 0, dst=region)


def draw_lines(canvas: np.ndarray, rect, lines: list[str], scale: float) -> None:
    x1, y1, _, _ = rect
    line_h, pad = _line_metrics(scale)
    for i, line in enumerate(lines):
        weight = 2 if i == 0 else 1
        cv2.putText(canvas, line, (x1 + pad, y1 + pad + line_h * (i + 1) - line_h // 4), FONT, scale, WHITE,
                    weight, cv2.LINE_AA)


def draw_banner(canvas: np.ndarray, banner: Banner, rect, scale: float) -> None:
    look = LOOKS[banner.kind]
    shade(canvas, rect, look.colour, 0.85)
    x1, y1, x2, y2 = rect
    height = y2 - y1
    icon_size = round(height * 0.62)
    centre = (x1 + height // 2, y1 + height // 2)
    ICONS[look.icon](canvas, centre, icon_size)
    left = x1 + height
    big = scale * 1.25
    title_h = cv2.getTextSize("Ag", FONT, big, 2)[0][1]
    cv2.putText(canvas, fit(banner.title, x2 - left - 10, big, 2), (left, y1 + height // 2 - 2), FONT, big,
                WHITE, 2, cv2.LINE_AA)
    detail = f"{look.word} {banner.detail}" if banner.detail else look.word
    cv2.putText(canvas, fit(detail, x2 - left - 10, scale * 0.85, 1), (left, y1 + height // 2 + title_h + 8), FONT,
                scale * 0.85, WHITE, 1, cv2.LINE_AA)


def fit(text: str, width: int, scale: float, thickness: int) -> str:
    """The text, shortened with ... until it fits the width."""
    while text and cv2.getTextSize(text, FONT, scale, thickness)[0][0] > width:
        text = text[:-4] + "..." if len(text) > 4 else ""
    return text


# ----- the shapes beside the words (colour is never the only sign) ---------------------------------


def icon_tick(canvas, centre, size) -> None:
    x, y = centre
    s = size // 2
    points = np.array([[x - s * 0.6, y], [x - s * 0.15, y + s * 0.5], [x + s * 0.7, y - s * 0.55]], np.int32)
    cv2.polylines(canvas, [points], False, WHITE, max(3, size // 8), cv2.LINE_AA)


def icon_clock(canvas, centre, size) -> None:
    x, y = centre
    s = size // 2
    thick = max(2, size // 12)
    cv2.circle(canvas, centre, s, WHITE, thick, cv2.LINE_AA)
    cv2.line(canvas, centre, (x, y - round(s * 0.7)), WHITE, thick, cv2.LINE_AA)
    cv2.line(canvas, centre, (x + round(s * 0.5), y), WHITE, thick, cv2.LINE_AA)


def icon_info(canvas, centre, size) -> None:
    x, y = centre
    s = size // 2
    thick = max(2, size // 12)
    cv2.circle(canvas, centre, s, WHITE, thick, cv2.LINE_AA)
    cv2.circle(canvas, (x, y - round(s * 0.45)), max(2, size // 14), WHITE, -1, cv2.LINE_AA)
    cv2.line(canvas, (x, y - round(s * 0.15)), (x, y + round(s * 0.55)), WHITE, thick + 1, cv2.LINE_AA)


def icon_cross(canvas, centre, size) -> None:
    x, y = centre
    s = round(size / 2 * 0.65)
    thick = max(3, size // 8)
    cv2.line(canvas, (x - s, y - s), (x + s, y + s), WHITE, thick, cv2.LINE_AA)
    cv2.line(canvas, (x - s, y + s), (x + s, y - s), WHITE, thick, cv2.LINE_AA)


ICONS = {"tick": icon_tick, "clock": icon_clock, "info": icon_info, "cross": icon_cross}
