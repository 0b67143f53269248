"""From an image to faces with embeddings: the detector and the recogniser together."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from faceattend_tui.config import Settings
from faceattend_tui.vision import landmarks106, scrfd, yolov5face
from faceattend_tui.vision.align import align_face
from faceattend_tui.vision.embedder import ArcFaceEmbedder
from faceattend_tui.vision.models import model_sha256, resolve_model
from faceattend_tui.vision.runtime import RuntimeOptions, make_session, session_device
from faceattend_tui.vision.types import Face


@dataclass(frozen=True)
class FaceRule:
    """What a photo's face must reach to be used as a template (junk boxes from noise fall below)."""

    min_score: float
    min_size: int  # pixels, the shorter side of the box

    def accepts(self, face: Face) -> bool:
        return face.score >= self.min_score and min(face.width, face.height) >= self.min_size

    def why_not(self, face: Face) -> str:
        return (f"best candidate score {face.score:.2f}, {min(face.width, face.height):.0f} px; a template needs "
                f"a score of {self.min_score:g} and {self.min_size} px")


@dataclass(frozen=True)
class FaceSearch:
    faces: list[Face]  # the faces that pass the rule
    refused: Face | None = None  # the best candidate that did not, when none passed


@dataclass(frozen=True)
class ModelInfo:
    name: str
    path: Path
    sha256: str


def load_detector(path: Path, options: RuntimeOptions, size: int = 640, score_threshold: float = 0.5):
    """An SCRFD or YOLOv5-face detector, chosen by the model's outputs."""
    session = make_session(path, options)
    outputs = session.get_outputs()
    if len(outputs) == 1:
        yolov5face.check_signature(session.get_inputs(), outputs, str(path))
        return yolov5face.Yolov5FaceDetector(session, str(path), size=size, score_threshold=score_threshold)
    return scrfd.ScrfdDetector(session, str(path), size=size, score_threshold=score_threshold)


class FaceEngine:
    """Detection, alignment and embedding; the one place the rest of the code asks for faces."""

    def __init__(self, detector, embedder: ArcFaceEmbedder, recognizer: ModelInfo | None = None,
                 notes: list[str] | None = None, rule: FaceRule | None = None, landmarks=None):
        self.detector = detector
        self.embedder = embedder
        self.recognizer = recognizer
        self.notes = notes or []
        self.landmarks = landmarks  # the 106-point model, loaded when the liveness check is on
        self.rule = rule or FaceRule(0.0, 0)  # what enrollment from photos accepts

    @classmethod
    def from_settings(cls, settings: Settings, log: Callable[[str], None] = print) -> FaceEngine:
        options = RuntimeOptions(device=settings.device, threads=settings.threads)
        det_path = resolve_model(settings.detector, settings.data, log)
        rec_path = resolve_model(settings.recognizer, settings.data, log)
        detector = load_detector(det_path, options, settings.det_size, settings.det_threshold)
        embedder = ArcFaceEmbedder(make_session(rec_path, options), str(rec_path))
        info = ModelInfo(settings.recognizer, rec_path, model_sha256(settings.recognizer, rec_path))
        rule = FaceRule(settings.enroll_min_score, settings.enroll_min_face)
        landmarks = None
        if settings.liveness != "off":
            landmarks = landmarks106.load(resolve_model(settings.landmarks, settings.data, log), options)
        return cls(detector, embedder, info, options.notes, rule, landmarks)

    @property
    def device(self) -> str:
        return session_device(self.embedder.session)

    def detect(self, image: np.ndarray, threshold: float | None = None, size: int | None = None) -> list[Face]:
        return self.detector.detect(image, threshold=threshold, size=size)

    def detect_thorough(self, image: np.ndarray) -> list[Face]:
        """For photos that must have a face: retry padded, at other scales and lower thresholds."""
        return self.search_faces(image, FaceRule(0.0, 0)).faces

    def search_faces(self, image: np.ndarray, rule: FaceRule | None = None) -> FaceSearch:
        """As detect_thorough, keeping only faces that pass `rule` (default: the enrollment rule)."""
        rule = rule or self.rule
        refused = None
        for pad, size, threshold in RETRIES:
            if size == NATIVE:
                size = native_size(image.shape, self.detector.size)
            found = self._detect_padded(image, pad, size, threshold)
            faces = [f for f in found if rule.accepts(f)]
            if faces:
                return FaceSearch(faces)
            refused = max([*found, *([refused] if refused else [])], key=lambda f: f.score, default=None)
        return FaceSearch([], refused)

    def _detect_padded(self, image, pad: float, size: int | None, threshold: float | None) -> list[Face]:
        if pad <= 0:
            return self.detect(image, threshold, size)
        border = int(round(max(image.shape[:2]) * pad))
        padded = cv2.copyMakeBorder(image, border, border, border, border, cv2.BORDER_CONSTANT, value=0)
        shift = np.float32(border)
        return [
            Face(f.box - shift, f.score, f.landmarks - shift)
            for f in self.detect(padded, threshold, size)
        ]

    def crops(self, image: np.ndarray, faces: list[Face]) -> list[np.ndarray]:
        return [align_face(image, f.landmarks) for f in faces]

    def embed(self, image: np.ndarray, faces: list[Face], flip: bool = False) -> np.ndarray:
        """(N, D) unit embeddings of the given faces, in one batch (flip: with mirror images, twice the cost)."""
        return self.embedder.embed(self.crops(image, faces), flip=flip)


NATIVE = -1  # detect at the photo's own size (no upscaling), within the detector's limit


def native_size(shape, limit: int) -> int:
    return int(min(limit, max(160, -(-max(shape[:2]) // 32) * 32)))


# (border as a fraction of the long side, detector input size, score threshold); None = default.
RETRIES = (
    (0.0, NATIVE, None),
    (0.0, None, None),
    (0.25, None, None),
    (0.0, 320, 0.3),
    (0.5, None, 0.3),
    (0.0, 960, 0.2),
    (0.25, 480, 0.15),
)


def largest(faces: list[Face]) -> Face | None:
    return max(faces, key=lambda f: f.area, default=None)


def central(faces: list[Face], shape) -> Face | None:
    """The face nearest the image centre, ties to the larger (for tightly cropped photos)."""
    if not faces:
        return None
    cy, cx = shape[0] / 2, shape[1] / 2

    def cost(face: Face) -> float:
        fx, fy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
        return float(np.hypot(fx - cx, fy - cy)) - 0.5 * np.sqrt(face.area)

    return min(faces, key=cost)
