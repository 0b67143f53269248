"""The demo's people: faces cut out of the sample photos installed with the default models.

Yao Ming (yaoming.jpg, and #13 in players.jpg) is left out on purpose: tests enroll him under his
own name in the same data root, and one face under two names would flip between them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from faceattend_tui.errors import FaceattendError
from faceattend_tui.vision.imageio import ImageError, read_image
from faceattend_tui.vision.models import resolve_model
from faceattend_tui.vision.runtime import ModelError

if TYPE_CHECKING:
    from faceattend_tui.vision.pipeline import FaceEngine
    from faceattend_tui.vision.types import Face

FACE_PX = 128  # face box size in a portrait
PORTRAIT = (2.2, 2.6)  # portrait width and height, in face sizes
FACE_Y = 0.45  # face centre, as a fraction of the portrait height


class DemoError(FaceattendError, ValueError):
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


def demo_cast(engine: FaceEngine, data_root: Path, log: Callable[[str], None] = print) -> DemoCast:
    """The demo's people, cut out of the sample photos (installed first if missing)."""
    photos: dict[str, tuple[np.ndarray, list[Face]]] = {}
    actors = []
    for role in ROLES:
        if role.photo not in photos:
            image = sample_photo(role.photo, Path(data_root), log)
            photos[role.photo] = (image, engine.detect(image))
        image, faces = photos[role.photo]
        box = face_near(faces, role.point, role.photo)
        actors.append(Actor(role.name, role.enrolled, portrait(image, box)))
    return DemoCast(tuple(actors))


def sample_photo(name: str, data_root: Path, log: Callable[[str], None]) -> np.ndarray:
    try:
        return read_image(resolve_model(name, data_root, log))
    except (ModelError, ImageError) as exc:
        raise DemoError(f"demo sample photo {name}: {exc}") from None


def face_near(faces: list[Face], point: tuple[int, int], photo: str) -> np.ndarray:
    """The box of the detected face whose centre is nearest to point."""

    def distance(face: Face) -> float:
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
    warp = np.array([[k, 0, shift_x], [0, k, shift_y]], np.float32)
    return cv2.warpAffine(image, warp, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)


def silhouette(shape: tuple[int, ...], face_px: int = FACE_PX) -> np.ndarray:
    """A soft head-and-shoulders mask (float32, 0..1) for a portrait of this shape."""
    height, width = shape[:2]
    mask: np.ndarray = np.zeros((height, width), np.float32)
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
    backdrop = shade * np.array([1.0, 0.97, 0.92], np.float32)
    mask = silhouette(actor.portrait.shape)[:, :, None]
    blended = actor.portrait * mask + np.broadcast_to(backdrop, actor.portrait.shape) * (1 - mask)
    return np.clip(blended + 0.5, 0, 255).astype(np.uint8)
