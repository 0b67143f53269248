"""Enrollment capture: watch the largest face for a few seconds and keep the best samples."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from faceattend_tui.gallery.templates import TEMPLATE_FLIP
from faceattend_tui.live.events import CaptureSample
from faceattend_tui.vision.align import frontality
from faceattend_tui.vision.pipeline import FaceEngine, largest
from faceattend_tui.vision.types import Face

DUPLICATE_COSINE = 0.97  # samples this alike add nothing
SAME_PERSON_COSINE = 0.45  # samples less alike than this are someone else
# Someone else alone in this share of a capture's pictures (two at least): two people took turns in front
# of the camera, and the station cannot tell which of them is being enrolled: staff are warned to look.
MIXED_SHARE = 0.2
# The detector's box stops at the picture's edge: a face there whose box is much narrower (or shorter) than a
# whole face's (about 0.75 as wide as high) runs off the picture, a third of it or more missing
CUT_WIDTH, CUT_HEIGHT = 0.6, 0.9  # width for height at a side, height for width at the top or bottom


@dataclass
class Sample:
    photo: bytes  # JPEG of the face with margin, as saved into database_image/
    embedding: np.ndarray
    size: int
    sharpness: float
    frontality: float
    alone: bool = True  # the only usable face of its picture (with others in view, the largest is taken)
    cut: bool = False  # the face runs off the edge of the picture

    @property
    def quality(self) -> float:
        """0..1: big enough, sharp enough, facing the camera, whole (half a face scores half)."""
        size = min(self.size / 112.0, 1.0)
        sharp = min(self.sharpness / 150.0, 1.0)
        return round((0.35 * size + 0.3 * sharp + 0.35 * self.frontality) * (0.5 if self.cut else 1.0), 3)

    def as_event(self) -> CaptureSample:
        return CaptureSample(photo_jpeg=self.photo, embedding=self.embedding.astype(np.float32), size=self.size,
                             sharpness=round(self.sharpness, 1), frontality=round(self.frontality, 3),
                             quality=self.quality, cut=self.cut)


@dataclass
class Capture:
    request: str
    until: float
    count: int
    min_face: int  # pixels: smaller faces make poor templates
    samples: list[Sample] = field(default_factory=list)
    frames: int = 0  # frames offered
    crowded: int = 0  # frames with more than one face large enough: the samples are the largest one's

    def offer(self, engine: FaceEngine, frame: np.ndarray, faces: list[Face]) -> None:
        self.frames += 1
        usable = sum(min(f.width, f.height) >= self.min_face for f in faces)
        self.crowded += usable > 1
        face = largest(faces)
        if face is None or min(face.width, face.height) < self.min_face:
            return
        crop = engine.crops(frame, [face])[0]
        embedding = engine.embedder.embed([crop], flip=TEMPLATE_FLIP)[0]
        self.samples.append(Sample(portrait(frame, face), embedding, int(min(face.width, face.height)),
                                   sharpness(crop), frontality(face.landmarks), alone=usable == 1,
                                   cut=cut_off(face, frame.shape)))

    def someone_else(self) -> int:
        """Pictures of one face that do not look like the best sample: someone else alone in front of the
        camera (pictures of several faces are the `crowded` warning's)."""
        if not self.samples:
            return 0
        top = max(self.samples, key=lambda s: s.quality)
        return sum(s.alone and float(s.embedding @ top.embedding) < SAME_PERSON_COSINE for s in self.samples)

    def mixed(self) -> bool:
        """Whether two people took turns alone in front of the camera (a stray picture or two is not that)."""
        others = self.someone_else()
        return others >= 2 and others >= MIXED_SHARE * len(self.samples)

    def best(self) -> list[Sample]:
        """The highest-quality samples of the same person, without near-duplicates.

        A picture or two of someone else passing in front of the camera is left out (see `mixed`).
        """
        chosen: list[Sample] = []
        for sample in sorted(self.samples, key=lambda s: -s.quality):
            if chosen and float(sample.embedding @ chosen[0].embedding) < SAME_PERSON_COSINE:
                continue
            if all(float(sample.embedding @ c.embedding) < DUPLICATE_COSINE for c in chosen):
                chosen.append(sample)
            if len(chosen) == self.count:
                break
        return chosen


def cut_off(face: Face, shape: tuple[int, ...]) -> bool:
    """Whether the face runs off the picture: an eye, the nose or a corner of the mouth outside it, or its box
    at an edge and too narrow or short for a whole face."""
    height, width = shape[:2]
    points = np.asarray(face.landmarks, np.float32)
    if (points < 0).any() or (points[:, 0] >= width).any() or (points[:, 1] >= height).any():
        return True
    x1, y1, x2, y2 = (float(v) for v in face.box)
    wide, high = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    near = 0.01 * max(width, height) + 2  # pixels from an edge that count as at it
    at_side = x1 <= near or x2 >= width - near
    at_end = y1 <= near or y2 >= height - near
    return (at_side and wide < CUT_WIDTH * high) or (at_end and high < CUT_HEIGHT * wide)


def sharpness(crop: np.ndarray) -> float:
    """Variance of the Laplacian of the aligned face: low for blurred faces."""
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def portrait(frame: np.ndarray, face: Face, margin: float = 0.6) -> bytes:
    """JPEG of the face with some margin, large enough to extract again later."""
    x1, y1, x2, y2 = face.box
    pad_x, pad_y = (x2 - x1) * margin, (y2 - y1) * margin
    h, w = frame.shape[:2]
    left, top = int(max(x1 - pad_x, 0)), int(max(y1 - pad_y, 0))
    right, bottom = int(min(x2 + pad_x, w)), int(min(y2 + pad_y, h))
    ok, jpeg = cv2.imencode(".jpg", frame[top:bottom, left:right], [cv2.IMWRITE_JPEG_QUALITY, 92])
    return jpeg.tobytes() if ok else b""
