"""The demo scene: a generated doorway where enrolled people and strangers walk in, one by one.

`DemoSource` is a frame source that plays the scene: each person comes through the door towards
the camera, growing, drifting sideways, with changing light and the odd blurred frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from faceattend_tui.demo.cast import FACE_Y, Actor, DemoCast, DemoError, demo_cast, silhouette
from faceattend_tui.live.camera import SourceError

if TYPE_CHECKING:
    from faceattend_tui.vision.pipeline import FaceEngine

WIDTH, HEIGHT = 640, 480
FPS = 30.0
VISIBLE_FRAMES = 75  # 2.5 s in view per person
GAP_FRAMES = 18  # 0.6 s of empty doorway before each person (and after the last)
FADE_FRAMES = 5
SCALES = (0.7, 1.1)  # size on screen when coming in and when closest
DOOR = (200, 60, 440, 400)  # door opening: x1, y1, x2, y2
BACKGROUNDS = 4  # noise variants of the empty scene, cycled frame by frame


# ---------------------------------------------------------------------------------------------
# The scene


@dataclass(frozen=True)
class Step:
    """Where and how one person is drawn in one frame."""

    actor: int  # index into the cast
    x: float  # portrait centre in the frame
    y: float
    scale: float
    gain: float  # brightness factor
    blur: bool
    alpha: float  # fade in and out


def walk(actor: int, rng: np.random.Generator) -> list[Step]:
    """One person's way from the door towards the camera, VISIBLE_FRAMES steps."""
    side = -1 if actor % 2 else 1
    start_x = WIDTH / 2 + rng.uniform(-25, 25)
    drift = side * rng.uniform(50, 110)
    phase = rng.uniform(0, 2 * math.pi)
    blurred = rng.random(VISIBLE_FRAMES) < 0.2
    steps = []
    for t in range(VISIBLE_FRAMES):
        f = t / (VISIBLE_FRAMES - 1)
        scale = SCALES[0] + (SCALES[1] - SCALES[0]) * f
        bob = 4 * math.sin(2 * math.pi * 2 * t / FPS)
        gain = 1 + 0.25 * math.sin(phase + 2 * math.pi * f)
        alpha = min(1.0, (t + 1) / FADE_FRAMES, (VISIBLE_FRAMES - t) / FADE_FRAMES)
        steps.append(Step(actor, start_x + drift * f, 235 + 18 * f + bob, scale, gain, bool(blurred[t]), alpha))
    return steps


def timeline(count: int, seed: int) -> list[Step | None]:
    """Frame by frame: a gap, a person, a gap, the next person, ..., a closing gap."""
    rng = np.random.default_rng(seed)
    frames: list[Step | None] = []
    for actor in range(count):
        frames += [None] * GAP_FRAMES
        frames += walk(actor, rng)
    return frames + [None] * GAP_FRAMES


def doorway(seed: int = 0) -> list[np.ndarray]:
    """The empty scene (wall, door, corridor, floor) in BACKGROUNDS noise variants."""
    rows = np.linspace(1.0, 0.85, HEIGHT, dtype=np.float32)[:, None]
    cols = 1 - 0.15 * np.abs(np.linspace(-1, 1, WIDTH, dtype=np.float32))[None, :]
    light = (rows * cols)[:, :, None]
    base = np.empty((HEIGHT, WIDTH, 3), np.float32)
    base[:] = (168, 190, 206)  # wall, BGR
    x1, y1, x2, y2 = DOOR
    floor_y = y2 + 10
    base[floor_y:] = (92, 112, 128)  # floor
    base[y1:y2, x1:x2] = (58, 62, 66)  # dim corridor behind the door
    base[y2 - 70:y2, x1:x2] = (70, 80, 88)  # corridor floor
    base *= light
    scene = np.clip(base, 0, 255).astype(np.uint8)
    draw_details(scene)
    rng = np.random.default_rng(seed + 1)
    return [cv2.add(scene, rng.normal(0, 3, scene.shape), dtype=cv2.CV_8U) for _ in range(BACKGROUNDS)]


def draw_details(scene: np.ndarray) -> None:
    """Door frame, skirting and floor boards drawn in place."""
    x1, y1, x2, y2 = DOOR
    floor_y = y2 + 10
    cv2.rectangle(scene, (x1 - 14, y1 - 14), (x2 + 14, y2 + 10), (40, 60, 85), 14)
    cv2.line(scene, (0, floor_y), (WIDTH, floor_y), (60, 75, 90), 6)
    for x in range(-400, WIDTH + 400, 120):
        cv2.line(scene, (WIDTH // 2 + (x - WIDTH // 2) // 4, floor_y), (x, HEIGHT), (80, 98, 112), 2)
    cv2.rectangle(scene, (x2 + 40, 210), (x2 + 58, 240), (200, 205, 210), -1)  # light switch


class DemoSource:
    """A generated doorway scene as a frame source (see the module text)."""

    kind = "demo"
    name = "demo"
    fps = FPS
    live = False

    def __init__(self, cast: DemoCast, loop: bool = False, seed: int = 0):
        self.cast = cast
        self.loop = loop
        self.seed = seed
        self.frames = timeline(len(cast.actors), seed)
        self.index = 0
        self._backgrounds: list[np.ndarray] = []
        self._masks: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self.frames)

    def people_at(self, index: int) -> list[Actor]:
        """Who is in view in frame `index` of the sequence."""
        step = self.frames[index % len(self.frames)]
        return [] if step is None else [self.cast.actors[step.actor]]

    def open(self) -> None:
        if not self.cast.actors:
            raise SourceError("demo: the cast is empty")
        self._backgrounds = doorway(self.seed)
        self._masks = [silhouette(a.portrait.shape) for a in self.cast.actors]
        self.index = 0

    def read(self) -> tuple[bool, np.ndarray | None]:
        if not self._backgrounds:
            return False, None
        if self.index >= len(self.frames):
            if not self.loop:
                return False, None
            self.index = 0
        frame = self.render(self.index)
        self.index += 1
        return True, frame

    def release(self) -> None:
        self._backgrounds, self._masks = [], []

    def render(self, index: int) -> np.ndarray:
        """Frame `index` of the sequence (the source must be open)."""
        frame = self._backgrounds[index % BACKGROUNDS].copy()
        step = self.frames[index]
        if step is not None:
            self._draw(frame, step)
        return frame

    def _draw(self, frame: np.ndarray, step: Step) -> None:
        source = self.cast.actors[step.actor].portrait
        height, width = source.shape[:2]
        w, h = round(width * step.scale), round(height * step.scale)
        person = cv2.resize(source, (w, h), interpolation=cv2.INTER_LINEAR)
        mask = cv2.resize(self._masks[step.actor], (w, h), interpolation=cv2.INTER_LINEAR)
        if step.blur:
            person = cv2.GaussianBlur(person, (5, 5), 1.4)
        person = cv2.convertScaleAbs(person, alpha=step.gain)
        left, top = round(step.x - w / 2), round(step.y - FACE_Y * h)
        paste(frame, person, mask * np.float32(step.alpha), left, top)


def paste(frame: np.ndarray, image: np.ndarray, weight: np.ndarray, left: int, top: int) -> None:
    """Blend image into frame at (left, top) with per-pixel weight, clipped to the frame."""
    x1, y1 = max(left, 0), max(top, 0)
    x2, y2 = min(left + image.shape[1], frame.shape[1]), min(top + image.shape[0], frame.shape[0])
    if x1 >= x2 or y1 >= y2:
        return
    part = (slice(y1 - top, y2 - top), slice(x1 - left, x2 - left))
    roi = frame[y1:y2, x1:x2]
    w = np.ascontiguousarray(weight[part])
    frame[y1:y2, x1:x2] = cv2.blendLinear(np.ascontiguousarray(image[part]), roi, w, 1 - w)


@dataclass(frozen=True)
class DemoSourceFactory:
    """Makes the demo stream inside the worker process (it pickles; the cast is built on the call)."""

    data_root: str
    loop: bool = False

    def __call__(self, engine: FaceEngine) -> DemoSource:
        try:
            return DemoSource(demo_cast(engine, Path(self.data_root), log=lambda _: None), loop=self.loop)
        except DemoError as exc:
            raise SourceError(str(exc)) from None


# ---------------------------------------------------------------------------------------------
# Recording


def write_demo_video(path: Path | str, cast: DemoCast, fps: float = FPS, seed: int = 0) -> Path:
    """Record the whole sequence once to a video file (MJPG in .avi plays everywhere)."""
    path = Path(path)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), float(fps), (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise OSError(f"{path}: cannot write a video here (MJPG)")
    source = DemoSource(cast, seed=seed)
    source.open()
    try:
        ok, frame = source.read()
        while ok and frame is not None:
            writer.write(frame)
            ok, frame = source.read()
    finally:
        source.release()
        writer.release()
    return path
