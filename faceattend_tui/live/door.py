"""The door display: what people walking in see on the station's screen, readable from a few steps away.

Each face gets a box and a word (its name, "hold still" while it is being decided, "not recognised"
for a stranger). When a check-in is written, a large banner says who, when and how (checked in,
late, already here since ...); a stranger held in view gets "please see staff". The session's
name and count sit in a corner, or "no session: not recording". Colours are never the only sign:
every banner has a word and a drawn shape (tick, clock, info, cross), and it is placed away from
the face it is about. The corner text goes to a corner no face is in; faces too small to be
recognised (background people) get a thin box and no words; a camera that stopped or a video that
ended shows a card saying so instead of a frozen or blank picture. Every phrase is said in the
language of the `locale` setting (`live.words`).

`layout` is a pure function of the frame's size, the faces and the state; `draw` paints a layout
onto a copy of the frame. Both are tested without a window.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import deque
from collections.abc import Collection, Sequence, Set
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import cv2
import numpy as np

from faceattend_tui.live.words import Words, drawable

if TYPE_CHECKING:
    from faceattend_tui.live.events import SetSession, ShowOutcome
    from faceattend_tui.live.recognizer import Overlay

FONT = cv2.FONT_HERSHEY_DUPLEX
WHITE, BLACK = (255, 255, 255), (0, 0, 0)
Colour = tuple[int, int, int]  # BGR
Rect = tuple[int, int, int, int]  # x1, y1, x2, y2


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
# What the door says when no picture comes: a title and a second line, by DoorState.source.
CARDS = {
    "video-ended": ("info", "The video ended", ""),
    "camera-stopped": ("cross", "The camera stopped", "please see staff"),
    "camera-lost": ("clock", "The camera is not answering", "trying again"),
}


@dataclass(frozen=True)
class Banner:
    kind: str  # a key of LOOKS
    title: str  # the person's name, or the message for a stranger
    detail: str  # a phrase after the kind's word: "at {time}", "since {time}", "(a picture cannot check in)"
    track: int | None  # the face it is about, kept clear of the banner
    until: float  # shown until this time
    time: str = ""  # "08:58", for {time}
    deadline: str = ""  # "09:10", for {deadline}

    @classmethod
    def of(cls, outcome: ShowOutcome, until: float) -> Banner:
        """The banner for what the station decided about a face."""
        return cls(outcome.outcome, outcome.name, outcome.detail, outcome.track, until, outcome.time, outcome.deadline)

    def lines(self, words: Words) -> tuple[str, str]:
        """The banner's two lines in the door's language: the name (or a message), then what happened."""
        title = words.say(self.title) if self.kind == "see-staff" else self.title
        word = words.say(LOOKS[self.kind].word)
        if not self.detail:
            return title, word
        return title, f"{word} {words.say(self.detail, time=self.time, deadline=self.deadline)}"


@dataclass
class DoorState:
    """What the worker knows beyond the faces: the session and the latest outcomes."""

    session: str = ""  # "" while no session runs
    hours: bool = False  # work mode: arrivals and departures are recorded, session or not
    present: int = 0
    expected: int = 0
    banners: deque[Banner] = field(default_factory=lambda: deque(maxlen=8))
    words: Words = field(default_factory=Words)  # the language of the door
    min_face: int = 0  # faces smaller than this (pixels) are not recognised: no words on them
    source: str = ""  # "" while pictures come, else a key of CARDS
    panel_corner: int | None = None  # where the corner panel was last drawn: it stays unless it must move
    refused: deque[int] = field(default_factory=lambda: deque(maxlen=64))  # tracks told they are not on the list

    def show(self, banner: Banner) -> None:
        self.banners.append(banner)
        track = banner.track
        if track is not None and banner.kind == "not-on-list" and track not in self.refused:
            self.refused.append(track)  # their face says so after the banner has gone
        elif track is not None and track in self.refused and banner.kind in ("checked-in", "late", "already-here"):
            self.refused.remove(track)

    def forget(self, names: set[str], staying: Set[str] = frozenset(), tracks: Set[int] = frozenset()) -> None:
        """Banners naming these people go at once (removed, erased): never their name again at the door; a
        name someone `staying` has too goes only from the banners of the people's own `tracks`."""
        def theirs(banner: Banner) -> bool:
            return banner.title in names and (banner.title not in staying or banner.track in tracks)

        kept = [b for b in self.banners if b.kind == "see-staff" or not theirs(b)]
        if len(kept) < len(self.banners):
            self.banners = deque(kept, maxlen=self.banners.maxlen)

    def set_session(self, session: SetSession) -> None:
        if session.name != self.session:  # another session: another list
            self.refused.clear()
        self.session, self.present, self.expected, self.hours = (session.name, session.present, session.expected,
                                                                 session.hours)

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
    text: str  # "" for a face too small to be recognised: a thin box only
    label: tuple[int, int, int, int] | None = None  # where its words go, once placed (place_labels)
    named: bool = False  # its words end with a name, shortened to about the box's width where long
    lead: str = ""  # the words before that name, never shortened


@dataclass(frozen=True)
class Layout:
    faces: list[FaceMark]
    panel: tuple[int, int, int, int]  # x1, y1, x2, y2
    panel_lines: list[str]
    banner: Banner | None = None
    banner_rect: tuple[int, int, int, int] | None = None
    words: Words = field(default_factory=Words)  # the banner's words are said in this language


STAY = 0.25  # of its own area: how much more of the faces the corner panel may cover before it moves


def text_scale(shape: tuple[int, ...]) -> float:
    """Font scale for body text: about 1/20 of the frame's height (40 px on a 480-line camera); on a screen
    taller than it is wide, of the height a 4:3 picture takes across its width (words of a size to fit)."""
    height, width = shape[:2]
    return max(0.5, min(height, width * 3 / 4) / 480 * 0.9)


def layout(shape: tuple[int, ...], overlays: Sequence[Overlay], door: DoorState, now: float,
           face_scale: float = 1.0) -> Layout:
    """Where everything goes; `face_scale`: how much the frame was enlarged since the faces were measured."""
    height, width = shape[:2]
    min_face = door.min_face * face_scale
    faces = place_labels([face_mark(o, door.words, min_face, door.refused) for o in overlays], width, height,
                         text_scale(shape))
    banner = door.current(now)
    band = min(height, max(48, round(height * 0.22)))  # never taller than a tiny picture
    banner_rect = None
    if banner is not None:
        box = next((o.box for o in overlays if getattr(o, "track", None) == banner.track), None)
        banner_rect, _ = place_banner(width, height, band, box)
    lines = panel_lines(door)
    busy = [face_area(face) for face in faces]
    panel, door.panel_corner = free_corner(panel_size(lines, width, height), width, height, busy, banner_rect,
                                           door.panel_corner)
    return Layout(faces, panel, lines, banner, banner_rect, door.words)


def face_mark(overlay: Overlay, words: Words | None = None, min_face: float = 0,
              refused: Collection[int] = ()) -> FaceMark:
    """The box, colour and words of a face (`refused`: tracks of people recognised but not on the list)."""
    words = words or Words()
    colour = FACE_COLOURS.get(overlay.state, (200, 200, 200))
    x1, y1, x2, y2 = (int(v) for v in overlay.box)
    box = (x1, y1, x2, y2)
    if overlay.state == "known" and overlay.track in refused:  # never the green of someone let in
        look = LOOKS["see-staff"]
        lead = f"{words.say(look.word)}: "
        return FaceMark(box, look.colour, lead + overlay.label, named=True, lead=lead)
    small = min(box[2] - box[0], box[3] - box[1]) < min_face
    if small and overlay.state == "pending":  # a background face: it is not being recognised, ask nothing
        return FaceMark(box, colour, "")
    if overlay.state == "known":
        return FaceMark(box, colour, overlay.label, named=True)
    if overlay.state == "pending" and overlay.label:  # "blink", "come closer", "look at the camera"
        text = words.say(overlay.label)
    else:
        text = words.say(FACE_WORDS.get(overlay.state, overlay.label))
    return FaceMark(box, colour, text)


def face_area(face: FaceMark) -> Rect:
    """The face's box and its words."""
    if face.label is None:
        return face.box
    (x1, y1, x2, y2), (a1, b1, a2, b2) = face.box, face.label
    return min(x1, a1), min(y1, b1), max(x2, a2), max(y2, b2)


def place_labels(faces: list[FaceMark], width: int, height: int, scale: float) -> list[FaceMark]:
    """Each face's words, shortened with "..." to about its box's width, inside the picture, above the box or
    below it, clear of the words placed before where they can be (the largest faces first): a long name ran
    off the picture, over the next person's face and name."""
    small = scale * 0.7
    shortest = cv2.getTextSize("MMMMMM", FONT, small, 1)[0][0]  # a small face still shows a few letters
    line = sum(cv2.getTextSize("Ag", FONT, small, 1)[0]) + 6
    placed: list[Rect] = []
    out = list(faces)
    for i in sorted(range(len(faces)), key=lambda i: -_area(faces[i].box)):
        face = faces[i]
        if not face.text:
            continue
        x1, y1, x2, y2 = face.box
        lead = cv2.getTextSize(drawable(face.lead), FONT, small, 1)[0][0] if face.lead else 0
        free = min((b[0] for j, f in enumerate(faces) if j != i and (b := f.box)[0] > x1 and b[1] < y2
                    and b[3] > y1 - line), default=width) - x1 - 12  # up to the next face on its right
        room = max(round((x2 - x1) * 1.5), free, shortest + lead) if face.named else width
        text = fit(face.text, min(width - 8, room), small, 1)
        (w, h), base = cv2.getTextSize(text, FONT, small, 1)
        left, tall = min(max(0, x1), max(0, width - w - 8)), h + base + 6
        above, below = (left, y1 - tall, left + w + 8, y1), (left, y2 + 2, left + w + 8, y2 + 2 + tall)
        top = max(0, min(y1, height - tall))  # a face as tall as the picture: its words over the top of its box
        inside = [r for r in (above, below) if r[1] >= 0 and r[3] <= height] or [(left, top, left + w + 8, top + tall)]
        rect = next((r for r in inside if not any(overlap(r, other) for other in placed)), inside[0])
        placed.append(rect)
        out[i] = dataclasses.replace(face, text=text, label=rect)
    return out


def _area(box: Rect) -> int:
    return max(0, box[2] - box[0]) * max(0, box[3] - box[1])


def place_banner(width: int, height: int, band: int, face: Rect | None) -> tuple[Rect, bool]:
    """The banner's rectangle (bottom, or top when the face is low) and whether the top is left free."""
    bottom = (0, height - band, width, height)
    top = (0, 0, width, band)
    if face is None:
        return bottom, True
    if overlap(bottom, face) <= overlap(top, face):
        return bottom, True
    return top, False


def overlap(a: Rect, b: Rect) -> int:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return max(width, 0) * max(height, 0)


def panel_lines(door: DoorState) -> list[str]:
    say = door.words.say
    if not door.session and door.hours:  # work mode: the door is a time clock
        return [say("Time clock"), say("arrivals and departures recorded")]
    if not door.session:
        return [say("No session"), say("not recording")]
    if door.expected:
        count = say("{present} of {expected} here", present=door.present, expected=door.expected)
    else:
        count = say("{present} here", present=door.present)
    return [door.session, count]


def panel_size(lines: list[str], width: int, height: int) -> tuple[int, int]:
    scale = text_scale((height, width)) * 0.8
    text_w = max(cv2.getTextSize(drawable(line), FONT, scale, 2)[0][0] for line in lines)
    line_h, pad = _line_metrics(scale)
    return min(text_w + 2 * pad, width), line_h * len(lines) + pad


def panel_rect(lines: list[str], width: int, height: int, at_top: bool) -> Rect:
    box_w, box_h = panel_size(lines, width, height)
    return (0, 0, box_w, box_h) if at_top else (0, height - box_h, box_w, height)


def free_corner(size: tuple[int, int], width: int, height: int, busy: list[Rect], banner_rect: Rect | None,
                keep: int | None = None) -> tuple[Rect, int]:
    """The corner (top left first, then top right, bottom left, bottom right, then the middle of the top
    and of the bottom edge) that covers no face and not the banner; when each covers a face, the one
    covering the least of them. The corner `keep` (its index) stays while it covers no face, or, when
    every corner covers one, little more than the best: a face that moves a little does not send the
    panel from side to side."""
    box_w, box_h = size
    middle = (width - box_w) // 2
    corners = [(0, 0), (width - box_w, 0), (0, height - box_h), (width - box_w, height - box_h),
               (middle, 0), (middle, height - box_h)]
    rects = [(x, y, x + box_w, y + box_h) for x, y in corners]
    allowed = [i for i, r in enumerate(rects) if banner_rect is None or overlap(r, banner_rect) == 0]
    allowed = allowed or list(range(len(rects)))
    cost = {i: sum(overlap(rects[i], area) for area in busy) for i in allowed}
    best = min(allowed, key=lambda i: cost[i])  # min keeps the first of ties
    if keep in cost and (cost[keep] == 0 or (cost[best] > 0 and cost[keep] <= cost[best] + STAY * box_w * box_h)):
        best = keep
    return rects[best], best


def _line_metrics(scale: float) -> tuple[int, int]:
    """Line height and padding of the corner panel's text at this scale."""
    line_h = cv2.getTextSize("Ag", FONT, scale, 1)[0][1] * 2
    return line_h, round(line_h * 0.4)


# ----- painting ---------------------------------------------------------------------------------


def draw(frame: np.ndarray, plan: Layout, inplace: bool = False) -> np.ndarray:
    """The frame (a copy unless `inplace`) with the faces, the corner panel and the banner painted on."""
    canvas = frame if inplace else frame.copy()
    scale = text_scale(canvas.shape)
    for face in plan.faces:
        draw_face(canvas, face, scale)
    shade(canvas, plan.panel, BLACK, 0.55)
    draw_lines(canvas, plan.panel, plan.panel_lines, scale * 0.8)
    if plan.banner is not None and plan.banner_rect is not None:
        draw_banner(canvas, plan.banner, plan.banner_rect, scale, plan.words)
    return canvas


def put(canvas: np.ndarray, text: str, origin: tuple[int, int], scale: float, weight: int,
        colour: Colour = WHITE) -> None:
    cv2.putText(canvas, drawable(text), origin, FONT, scale, colour, weight, cv2.LINE_AA)


def draw_face(canvas: np.ndarray, face: FaceMark, scale: float) -> None:
    x1, y1, x2, y2 = face.box
    if not face.text:  # too small to be recognised: a thin box, nothing asked
        cv2.rectangle(canvas, (x1, y1), (x2, y2), face.colour, 1)
        return
    thickness = max(2, round(scale * 2))
    cv2.rectangle(canvas, (x1, y1), (x2, y2), face.colour, thickness)
    small = scale * 0.7
    if face.label is None:
        face = place_labels([face], canvas.shape[1], canvas.shape[0], scale)[0]
    left, top, right, bottom = face.label or face.box
    h = cv2.getTextSize(face.text, FONT, small, 1)[0][1]
    cv2.rectangle(canvas, (left, top), (right, bottom), face.colour, -1)
    cv2.putText(canvas, face.text, (left + 4, top + h + 3), FONT, small, WHITE, 1, cv2.LINE_AA)


def shade(canvas: np.ndarray, rect: Rect, colour: Colour, alpha: float) -> None:
    """Blend a filled rectangle over the canvas (only the rectangle is touched): one table look-up per
    pixel, twice as fast as a blend with a filled copy (1 ms for a 1920x1080 screen's banner)."""
    x1, y1, x2, y2 = rect
    region = canvas[y1:y2, x1:x2]
    if region.size:
        region[:] = cv2.LUT(region, _blend_table(tuple(int(v) for v in colour), float(alpha)))


@functools.lru_cache(maxsize=32)
def _blend_table(colour: tuple[int, ...], alpha: float) -> np.ndarray:
    levels = np.arange(256, dtype=np.float32)[:, None] * (1 - alpha) + alpha * np.array(colour, np.float32)
    return np.clip(np.rint(levels), 0, 255).astype(np.uint8).reshape(256, 1, 3)


def draw_lines(canvas: np.ndarray, rect: Rect, lines: list[str], scale: float) -> None:
    x1, y1, _, _ = rect
    line_h, pad = _line_metrics(scale)
    for i, line in enumerate(lines):
        weight = 2 if i == 0 else 1
        put(canvas, line, (x1 + pad, y1 + pad + line_h * (i + 1) - line_h // 4), scale, weight)


def draw_banner(canvas: np.ndarray, banner: Banner, rect: Rect, scale: float, words: Words | None = None) -> None:
    words = words or Words()
    look = LOOKS[banner.kind]
    shade(canvas, rect, look.colour, 0.85)
    x1, y1, x2, y2 = rect
    height = y2 - y1
    square = min(height, (x2 - x1) // 5)  # the icon's place: on a narrow camera the words need the room
    ICONS[look.icon](canvas, (x1 + square // 2, y1 + height // 2), round(square * 0.62))
    left = x1 + square
    room = x2 - left - 10
    title, detail = banner.lines(words)
    big, details, small, title_h, line_h, block = banner_text(title, detail, room, height, scale)
    top = y1 + max(title_h + 2, (height - block) // 2 + title_h)
    put(canvas, fit(title, room, big, 2), (left, top), big, 2)
    for i, line in enumerate(details, start=1):
        put(canvas, fit(line, room, small, 1), (left, top + 8 + line_h * i), small, 1)


@functools.lru_cache(maxsize=64)  # the same banner is drawn on every frame it shows
def banner_text(title: str, detail: str, room: int, height: int, scale: float
                ) -> tuple[float, tuple[str, ...], float, int, int, int]:
    """How a banner's words fit its band: the title's scale, the detail's lines and scale, the title's
    and a line's height, and the whole block's height."""
    big = shrunk(title, room, scale * 1.25, 2)
    details, small = wrapped(detail, room, scale * 0.85)  # what to do, on two lines where one is too narrow
    while True:  # a small picture: smaller words, all inside the band, descenders too
        title_h = cv2.getTextSize("Ag", FONT, big, 2)[0][1]
        (_, text_h), below = cv2.getTextSize("Ag", FONT, small, 1)
        line_h = text_h + 8
        block = title_h + 8 + line_h * len(details) + below
        if block <= height - 4 or small < 0.2:
            return big, tuple(details), small, title_h, line_h, block
        big, small = big * 0.9, small * 0.9


def shrunk(text: str, width: int, scale: float, thickness: int, least: float = 0.5) -> float:
    """The font scale at which the text fits the width, down to `least` of the one asked for (then `fit` cuts it)."""
    text, floor = drawable(text), scale * least
    while scale > floor and cv2.getTextSize(text, FONT, scale, thickness)[0][0] > width:
        scale = max(floor, scale * 0.9)
    return scale


def wrapped(text: str, width: int, scale: float) -> tuple[list[str], float]:
    """The text on one line, a little smaller if need be, else on two lines split at the space nearest
    its middle; with the font scale that fits."""
    one = shrunk(text, width, scale, 1, least=0.75)
    if cv2.getTextSize(drawable(text), FONT, one, 1)[0][0] <= width or " " not in text.strip():
        return [text], one
    spaces = [i for i, c in enumerate(text) if c == " "]
    cut = min(spaces, key=lambda i: abs(i - len(text) / 2))
    lines = [text[:cut].strip(), text[cut:].strip()]
    return lines, min(shrunk(line, width, scale, 1) for line in lines)


def fit(text: str, width: int, scale: float, thickness: int) -> str:
    """The text as drawn, shortened with ... until it fits the width."""
    text = drawable(text)
    while text and cv2.getTextSize(text, FONT, scale, thickness)[0][0] > width:
        text = text[:-4] + "..." if len(text) > 4 else ""
    return text


# ----- no picture: a card that says why -------------------------------------------------------------


def card_lines(door: DoorState) -> tuple[str, list[str]]:
    """The icon and the lines of the card shown while no picture comes, or ("", []) while pictures come."""
    if door.source not in CARDS:
        return "", []
    icon, title, second = CARDS[door.source]
    lines = [door.words.say(title)] + ([door.words.say(second)] if second else [])
    return icon, lines


def draw_card(shape: tuple[int, ...], door: DoorState, frame: np.ndarray | None = None) -> np.ndarray:
    """The card for a source that stopped: the last picture darkened (or grey), an icon and the words."""
    height, width = shape[:2]
    if frame is not None and frame.shape[:2] == (height, width):
        canvas = (frame // 4).astype(np.uint8)
    else:
        canvas = np.full((height, width, 3), 40, np.uint8)
    icon, lines = card_lines(door)
    if not lines:
        return canvas
    scale = text_scale((height, width)) * 1.2
    size = round(height * 0.22)
    ICONS[icon](canvas, (width // 2, round(height * 0.33)), size)
    y = round(height * 0.33) + size
    for i, line in enumerate(lines):
        weight = 2 if i == 0 else 1
        text = fit(line, width - 20, scale, weight)
        (w, h), _ = cv2.getTextSize(text, FONT, scale, weight)
        y += h + round(h * 0.8)
        put(canvas, text, ((width - w) // 2, y), scale, weight)
        scale *= 0.8
    return canvas


# ----- the shapes beside the words (colour is never the only sign) ---------------------------------


def icon_tick(canvas: np.ndarray, centre: tuple[int, int], size: int) -> None:
    x, y = centre
    s = size // 2
    points = np.array([[x - s * 0.6, y], [x - s * 0.15, y + s * 0.5], [x + s * 0.7, y - s * 0.55]], np.int32)
    cv2.polylines(canvas, [points], False, WHITE, max(3, size // 8), cv2.LINE_AA)


def icon_clock(canvas: np.ndarray, centre: tuple[int, int], size: int) -> None:
    x, y = centre
    s = size // 2
    thick = max(2, size // 12)
    cv2.circle(canvas, centre, s, WHITE, thick, cv2.LINE_AA)
    cv2.line(canvas, centre, (x, y - round(s * 0.7)), WHITE, thick, cv2.LINE_AA)
    cv2.line(canvas, centre, (x + round(s * 0.5), y), WHITE, thick, cv2.LINE_AA)


def icon_info(canvas: np.ndarray, centre: tuple[int, int], size: int) -> None:
    x, y = centre
    s = size // 2
    thick = max(2, size // 12)
    cv2.circle(canvas, centre, s, WHITE, thick, cv2.LINE_AA)
    cv2.circle(canvas, (x, y - round(s * 0.45)), max(2, size // 14), WHITE, -1, cv2.LINE_AA)
    cv2.line(canvas, (x, y - round(s * 0.15)), (x, y + round(s * 0.55)), WHITE, thick + 1, cv2.LINE_AA)


def icon_cross(canvas: np.ndarray, centre: tuple[int, int], size: int) -> None:
    x, y = centre
    s = round(size / 2 * 0.65)
    thick = max(3, size // 8)
    cv2.line(canvas, (x - s, y - s), (x + s, y + s), WHITE, thick, cv2.LINE_AA)
    cv2.line(canvas, (x - s, y + s), (x + s, y - s), WHITE, thick, cv2.LINE_AA)


ICONS = {"tick": icon_tick, "clock": icon_clock, "info": icon_info, "cross": icon_cross}
