"""The built-in demo: a generated doorway where enrolled people and strangers walk in, one by one.

The faces are cut out of the sample photos installed with the default models, so the demo needs
nothing else. `prepare_demo` enrolls the demo roster (made-up names) in a data root, and
`DemoSource` is a frame source that plays the scene: each person comes through the door towards
the camera, growing, drifting sideways, with changing light and the odd blurred frame.

Yao Ming (yaoming.jpg, and #13 in players.jpg) is left out on purpose: `faceattend demo` enrolls
him under his own name in the same data root, and one face under two names would flip between them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from faceattend_tui.live.camera import SourceError
from faceattend_tui.vision.imageio import ImageError, read_image
from faceattend_tui.vision.models import resolve_model
from faceattend_tui.vision.runtime import ModelError

WIDTH, HEIGHT = 640, 480
FPS = 30.0
VISIBLE_FRAMES = 75  # 2.5 s in view per person
GAP_FRAMES = 18  # 0.6 s of empty doorway before each person (and after the last)
FADE_FRAMES = 5
FACE_PX = 128  # face box size in a portrait
PORTRAIT = (2.2, 2.6)  # portrait width and height, in face sizes
FACE_Y = 0.45  # face centre, as a fraction of the portrait height
SCALES = (0.7, 1.1)  # size on screen when coming in and when closest
DOOR = (200, 60, 440, 400)  # door opening: x1, y1, x2, y2
BACKGROUNDS = 4  # noise variants of the empty scene, cycled frame by frame


class DemoError(ValueError):
    """The demo cast cannot be built (sample photo missing or a face not found)."""


@dataclass(frozen=True)
class Role:
    name: str  # made-up name; strangers are "Stranger N"
    enrolled: bool
    photo: str  # sample asset name
    point: tuple[int, int]  # a point on the face in that photo


# Walking order: enrolled people and strangers interleaved (E E S E E S E E S).
ROLES = (
    Role("Alex Moreau", True, "sample_gdp", (161, 78)),
    Role("Bea Santos", True, "sample_players", (191, 445)),
    Role("Stranger 1", False, "sample_players", (138, 275)),
    Role("Chen Wei", True, "sample_players", (886, 458)),
    Role("Dana Okafor", True, "sample_gdp", (380, 160)),
    Role("Stranger 2", False, "sample_players", (34, 307)),
    Role("Eli Novak", True, "sample_players", (344, 441)),
    Role("Farah Haddad", True, "sample_players", (1063, 248)),
    Role("Stranger 3", False, "sample_players", (1178, 282)),
)


@dataclass(frozen=True, eq=False)
class Actor:
    name: str
    enrolled: bool
    portrait: np.ndarray  # BGR, face centred horizontally at FACE_Y, about FACE_PX tall
    origin: str  # where the face was taken from, for reports


@dataclass(frozen=True, eq=False)
class DemoCast:
    actors: tuple[Actor, ...]  # in walking order

    @property
    def enrolled(self) -> list[Actor]:
        return [a for a in self.actors if a.enrolled]

    @property
    def strangers(self) -> list[Actor]:
        return [a for a in self.actors if not a.enrolled]

    @property
    def roster(self) -> list[str]:
        return [a.name for a in self.enrolled]


# ---------------------------------------------------------------------------------------------
# The cast


def demo_cast(engine, data_root: Path, log: Callable[[str], None] = print) -> DemoCast:
    """The demo's people, cut out of the sample photos (installed first if missing)."""
    photos: dict[str, tuple[np.ndarray, list]] = {}
    actors = []
    for role in ROLES:
        if role.photo not in photos:
            image = sample_photo(role.photo, Path(data_root), log)
            photos[role.photo] = (image, engine.detect(image))
        image, faces = photos[role.photo]
        box = face_near(faces, role.point, role.photo)
        origin = f"{role.photo} face at {role.point}"
        actors.append(Actor(role.name, role.enrolled, portrait(image, box), origin))
    return DemoCast(tuple(actors))


def sample_photo(name: str, data_root: Path, log: Callable[[str], None]) -> np.ndarray:
    try:
        return read_image(resolve_model(name, data_root, log))
    except (ModelError, ImageError) as exc:
        raise DemoError(f"demo sample photo {name}: {exc}") from None


def face_near(faces: list, point: tuple[int, int], photo: str) -> np.ndarray:
    """The box of the detected face whose centre is nearest to point."""

    def distance(face) -> float:
        cx, cy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
        return math.hypot(cx - point[0], cy - point[1])

    best = min(faces, key=distance, default=None)
    if best is None or distance(best) > max(best.width, best.height):
        raise DemoError(f"demo sample photo {photo}: no face found near {point}")
    return best.box


def portrait(image: np.ndarray, box: np.ndarray, face_px: int = FACE_PX) -> np.ndarray:
    """A head-and-shoulders crop around a face box, scaled so the face is face_px tall."""
    x1, y1, x2, y2 = (float(v) for v in box)
    k = face_px / max(x2 - x1, y2 - y1)
    width, height = round(PORTRAIT[0] * face_px), round(PORTRAIT[1] * face_px)
    shift_x = width / 2 - k * (x1 + x2) / 2
    shift_y = FACE_Y * height - k * (y1 + y2) / 2
    warp = np.float32([[k, 0, shift_x], [0, k, shift_y]])
    return cv2.warpAffine(image, warp, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)


def silhouette(shape: tuple[int, ...], face_px: int = FACE_PX) -> np.ndarray:
    """A soft head-and-shoulders mask (float32, 0..1) for a portrait of this shape."""
    height, width = shape[:2]
    mask = np.zeros((height, width), np.float32)
    head = (width // 2, round(FACE_Y * height - 0.05 * face_px))
    cv2.ellipse(mask, head, (round(0.52 * face_px), round(0.72 * face_px)), 0, 0, 360, 1.0, -1)
    cv2.ellipse(mask, (width // 2, height), (width // 2 - 8, round(0.36 * height)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 0.06 * face_px)
    fade = np.clip(np.linspace(8.0, 0.0, height, dtype=np.float32), 0, 1)  # bust fades out at the bottom
    return mask * fade[:, None]


def id_photo(actor: Actor) -> np.ndarray:
    """The enrollment photo: the person's silhouette on a plain studio backdrop."""
    height = actor.portrait.shape[0]
    shade = np.linspace(215, 175, height, dtype=np.float32)[:, None, None]
    backdrop = shade * np.float32([1.0, 0.97, 0.92])
    mask = silhouette(actor.portrait.shape)[:, :, None]
    blended = actor.portrait * mask + np.broadcast_to(backdrop, actor.portrait.shape) * (1 - mask)
    return np.clip(blended + 0.5, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# Enrollment


def prepare_demo(data_root: Path, engine, log: Callable[[str], None] = print) -> list[str]:
    """Enroll the demo roster in data_root (only the demo's own photos are written); its names."""
    from faceattend_tui.gallery.extract import Extractor

    data_root = Path(data_root)
    cast = demo_cast(engine, data_root, log)
    images = data_root / "database_image"
    images.mkdir(parents=True, exist_ok=True)
    for actor in cast.enrolled:
        write_if_changed(images / f"{actor.name}.jpg", encode_jpeg(id_photo(actor)))
    report = Extractor(engine, images, data_root / "database_tensor").run()
    log(f"demo roster: {len(cast.roster)} people; {report.extracted} photo(s) extracted, {report.reused} reused")
    for line in report.skipped:
        log(f"skipped {line}")
    return cast.roster


def encode_jpeg(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    if not ok:
        raise DemoError("cannot encode a demo photo as JPEG")
    return data.tobytes()


def write_if_changed(path: Path, data: bytes) -> None:
    """Leave an identical file alone, so incremental extraction has nothing to redo."""
    if path.is_file() and path.read_bytes() == data:
        return
    path.write_bytes(data)


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
        frames += [None] * GAP_FRAMES + walk(actor, rng)
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

    @property
    def frame_count(self) -> int:
        return len(self.frames)

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


def demo_factory(engine, data_root: Path, loop: bool = False) -> Callable[[], DemoSource]:
    """A zero-argument factory for `make_source`; the cast is built when it is called."""

    def make() -> DemoSource:
        try:
            return DemoSource(demo_cast(engine, Path(data_root), log=lambda _: None), loop=loop)
        except DemoError as exc:
            raise SourceError(str(exc)) from None

    return make


# ---------------------------------------------------------------------------------------------
# Recording


def write_demo_video(path: Path | str, cast: DemoCast, fps: float = FPS, seed: int = 0) -> Path:
    """Record the whole sequence once to a video file (MJPG in .avi plays everywhere)."""
    path = Path(path)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), float(fps), (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise OSError(f"{path}: cannot write a video here (MJPG)")
    source = DemoSource(cast, seed=seed)
    source.open()
    try:
        ok, frame = source.read()
        while ok:
            writer.write(frame)
            ok, frame = source.read()
    finally:
        source.release()
        writer.release()
    return path
