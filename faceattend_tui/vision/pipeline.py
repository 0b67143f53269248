"""From an image to faces with embeddings: the detector and the recogniser together."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from faceattend_tui.config import Settings
from faceattend_tui.vision import landmarks106, scrfd, yolov5face
from faceattend_tui.vision.align import align_faces
from faceattend_tui.vision.embedder import ArcFaceEmbedder
from faceattend_tui.vision.models import model_sha256, resolve_model
from faceattend_tui.vision.runtime import ModelError, RuntimeOptions, first_line, session_device
from faceattend_tui.vision.sessions import open_model
from faceattend_tui.vision.shapes import BATCHES, PHOTO_CANVASES, Shape, ShapeSessions, WarmUp, warm_all
from faceattend_tui.vision.types import Face

Detector = scrfd.ScrfdDetector | yolov5face.Yolov5FaceDetector
Model = Detector | ArcFaceEmbedder | landmarks106.Landmarks106  # the models that run on sessions


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


def load_detector(path: Path, options: RuntimeOptions, size: int = 640, score_threshold: float = 0.5,
                  static_shapes: str = "off") -> Detector:
    """An SCRFD or YOLOv5-face detector, chosen by the model's outputs."""
    session = open_model(path, options, static_shapes)
    canvases = tuple(sorted({*PHOTO_CANVASES, size})) if session.static else None
    outputs = session.get_outputs()
    if len(outputs) == 1:
        yolov5face.check_signature(session.get_inputs(), outputs, str(path))
        return yolov5face.Yolov5FaceDetector(session, str(path), size=size, score_threshold=score_threshold,
                                             canvases=canvases)
    return scrfd.ScrfdDetector(session, str(path), size=size, score_threshold=score_threshold, canvases=canvases)


SAME_OUTPUT = 0.9999  # cosine between a recogniser's outputs for two unlike pictures above which it sees no face


class FaceEngine:
    """Detection, alignment and embedding; the one place the rest of the code asks for faces."""

    def __init__(self, detector: Detector, embedder: ArcFaceEmbedder, recognizer: ModelInfo | None = None,
                 notes: list[str] | None = None, rule: FaceRule | None = None,
                 landmarks: landmarks106.Landmarks106 | None = None) -> None:
        self.detector = detector
        self.embedder = embedder
        self.recognizer = recognizer
        self.notes = notes if notes is not None else []  # the runtime's list: notes added later are kept
        self.landmarks = landmarks  # the 106-point model, loaded when the liveness check is on
        self.rule = rule or FaceRule(0.0, 0)  # what enrollment from photos accepts
        self.frame_batch = CAPTURE_BATCH  # most faces embedded together from one frame

    @classmethod
    def from_settings(cls, settings: Settings, log: Callable[[str], None] = print,
                      cuda_graphs: bool = True) -> FaceEngine:
        options = RuntimeOptions(device=settings.device, threads=settings.threads, cuda_graphs=cuda_graphs)
        static = settings.static_shapes
        det_path = resolve_model(settings.detector, settings.data, log)
        rec_path = resolve_model(settings.recognizer, settings.data, log)
        detector = load_detector(det_path, options, settings.det_size, settings.det_threshold, static)
        rec_sessions = open_model(rec_path, options, static)
        embedder = ArcFaceEmbedder(rec_sessions, str(rec_path))
        if rec_sessions.static:
            embedder.use_static()
        info = ModelInfo(settings.recognizer, rec_path, model_sha256(settings.recognizer, rec_path))
        rule = FaceRule(settings.enroll_min_score, settings.enroll_min_face)
        landmarks = None
        if settings.liveness != "off":
            landmarks = landmarks106.load(resolve_model(settings.landmarks, settings.data, log), options, static)
        engine = cls(detector, embedder, info, options.notes, rule, landmarks)
        engine.frame_batch = max(settings.max_embeds_per_frame, CAPTURE_BATCH)
        # with static shapes the warm-up runs the detector's shapes before work starts; the recogniser's
        # output is checked all the same (a model that gives everyone one face must never run a door)
        engine.check_runs(det_path, detector=not engine.static)
        return engine

    def check_runs(self, det_path: Path, detector: bool = True) -> None:
        """Run the detector and the recogniser once on a blank picture: a model that loads but cannot
        run (a half-precision or fixed-size input it cannot take) is refused now, naming its file."""
        try:
            if detector:
                self.detector.detect(np.zeros((64, 64, 3), np.uint8))
        except Exception as exc:  # noqa: BLE001 - whatever the runtime says, in one line
            raise ModelError(f"{det_path}: the detector loads but cannot run: {first_line(exc)}") from None
        faces = np.stack([np.zeros((112, 112, 3), np.uint8),  # a black picture and a noisy one: two "faces"
                          np.random.default_rng(0).integers(0, 256, (112, 112, 3), dtype=np.uint8)])
        out = self.embedder.embed_raw(faces)  # its failure to run is a ModelError already
        norms = np.linalg.norm(out, axis=1)
        if (norms < 1e-6).any():
            raise ModelError(f"{self.embedder.path}: the recogniser gives zero vectors: it would recognise nobody")
        if float(out[0] @ out[1] / (norms[0] * norms[1])) > SAME_OUTPUT:
            raise ModelError(f"{self.embedder.path}: the recogniser gives the same output for different pictures: "
                             "everyone would be one person")

    def recognizer_model(self) -> ModelInfo:
        """The recogniser model the engine runs (`from_settings` always names it)."""
        if self.recognizer is None:
            raise ModelError("the face engine does not name its recogniser model")
        return self.recognizer

    @property
    def device(self) -> str:
        return session_device(self.embedder.session)

    # -- static shapes

    def _shaped(self) -> list[ShapeSessions]:
        models = [self.detector, self.embedder, self.landmarks]
        return [m.session for m in models if m is not None and isinstance(m.session, ShapeSessions)]

    @property
    def static(self) -> bool:
        return any(sessions.static for sessions in self._shaped())

    def warm_up_frames(self) -> WarmUp:
        """Run once every shape live frames meet: the detector, batches of up to `frame_batch` faces, landmarks."""
        plan: list[tuple[Model, list[Shape]]] = [(self.detector, self.detector.frame_shapes()),
                                                 (self.embedder, self.embedder.shapes(self.frame_batch))]
        if self.landmarks is not None:
            plan.append((self.landmarks, self.landmarks.shapes()))
        return _warm(plan)

    def warm_up_photos(self) -> WarmUp:
        """Run once every shape photos meet: the photo canvases in batches, any number of faces."""
        return _warm(self._photo_plan())

    def photo_shapes_when_needed(self) -> None:
        """Let photos prepare their shapes as a job first meets them (a job of small photos needs few of the
        large canvases, each slow to prepare on a GPU); any other new shape is still late."""
        for model, shapes in self._photo_plan():
            if isinstance(model.session, ShapeSessions):
                model.session.on_demand.update(shapes)

    def take_prepared(self) -> WarmUp:
        """The shapes prepared when first needed since the last call."""
        each = [item for sessions in self._shaped() for item in sessions.prepared]
        for sessions in self._shaped():
            sessions.prepared.clear()
        return WarmUp(len(each), sum(seconds for _, _, seconds in each), tuple(each))

    def _photo_plan(self) -> list[tuple[Model, list[Shape]]]:
        return [(self.detector, self.detector.photo_shapes()), (self.embedder, self.embedder.shapes(BATCHES[-1]))]

    def take_late_shapes(self) -> list[str]:
        """Input shapes first met after a warm-up (each costs a pause on a GPU), once each."""
        late = []
        for sessions in self._shaped():
            late += [f"{sessions.label} {shape}" for shape in sessions.late]
            sessions.late.clear()
        return late

    def detect(self, image: np.ndarray, threshold: float | None = None, size: int | None = None) -> list[Face]:
        return self.detector.detect(image, threshold=threshold, size=size)

    def detect_thorough(self, image: np.ndarray) -> list[Face]:
        """For photos that must have a face: retry padded, at other scales and lower thresholds."""
        return self.search_faces(image, FaceRule(0.0, 0)).faces

    def search_faces(self, image: np.ndarray, rule: FaceRule | None = None) -> FaceSearch:
        """As detect_thorough, keeping only faces that pass `rule` (default: the enrollment rule)."""
        return self.search_many([image], rule)[0]

    def first_look(self, image: np.ndarray) -> scrfd.Prepared | None:
        """The detector's input for a photo's first search (thread-safe: made where the photo is decoded)."""
        if not isinstance(self.detector, scrfd.ScrfdDetector):  # only SCRFD prepares its input apart
            return None
        return self.detector.prepare(image, native_size(image.shape, self.detector.size))

    def search_many(self, images: list[np.ndarray], rule: FaceRule | None = None,
                    first: list[scrfd.Prepared | None] | None = None) -> list[FaceSearch]:
        """search_faces for several photos, each retry's detections batched across the photos still without a
        face; `first`: their `first_look`s, when already made."""
        rule = rule or self.rule
        prepared = _every_one(first)
        found: list[FaceSearch | None] = [None] * len(images)
        refused: list[Face | None] = [None] * len(images)
        pending = list(range(len(images)))
        for pad, size, threshold in RETRIES:
            if not pending:
                break
            sizes = [native_size(images[i].shape, self.detector.size) if size == NATIVE else size for i in pending]
            if size == NATIVE and prepared and isinstance(self.detector, scrfd.ScrfdDetector):
                detected = self.detector.detect_many([images[i] for i in pending], threshold, sizes, prepared=prepared)
            else:
                detected = self._detect_padded([images[i] for i in pending], pad, sizes, threshold)
            still = []
            for i, faces in zip(pending, detected, strict=True):
                accepted = [f for f in faces if rule.accepts(f)]
                if accepted:
                    found[i] = FaceSearch(accepted)
                    continue
                earlier = refused[i]
                refused[i] = max([*faces, *([earlier] if earlier else [])], key=lambda f: f.score, default=None)
                still.append(i)
            pending = still
        return [search or FaceSearch([], refused[i]) for i, search in enumerate(found)]

    def _detect_padded(self, images: list[np.ndarray], pad: float, sizes: list[int | None],
                       threshold: float | None) -> list[list[Face]]:
        if pad <= 0:
            return self.detector.detect_many(images, threshold, sizes)
        scales = [padded_scale(image.shape, pad, size or self.detector.size) for image, size in zip(images, sizes,
                                                                                                  strict=True)]
        small = [image if scale == 1 else cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                 for image, scale in zip(images, scales, strict=True)]
        borders = [int(round(max(image.shape[:2]) * pad)) for image in small]
        padded = [cv2.copyMakeBorder(image, b, b, b, b, cv2.BORDER_CONSTANT, value=0)
                  for image, b in zip(small, borders, strict=True)]
        found = self.detector.detect_many(padded, threshold, sizes)
        return [[Face((f.box - np.float32(b)) / np.float32(scale), f.score,
                      (f.landmarks - np.float32(b)) / np.float32(scale)) for f in faces]
                for faces, b, scale in zip(found, borders, scales, strict=True)]

    def crops(self, image: np.ndarray, faces: list[Face]) -> list[np.ndarray]:
        return align_faces([(image, f.landmarks) for f in faces])

    def embed(self, image: np.ndarray, faces: list[Face], flip: bool = False) -> np.ndarray:
        """(N, D) unit embeddings of the given faces, in one batch (flip: with mirror images, twice the cost)."""
        return self.embed_many([(image, face) for face in faces], flip=flip)

    def embed_many(self, pairs: list[tuple[np.ndarray, Face]], flip: bool = False) -> np.ndarray:
        """(N, D) unit embeddings of faces from one or several photos, in one batch."""
        return self.embedder.embed(align_faces([(image, face.landmarks) for image, face in pairs]), flip=flip)


def _every_one(first: list[scrfd.Prepared | None] | None) -> list[scrfd.Prepared] | None:
    """The first looks when every photo has one, else None."""
    made = [p for p in first or () if p is not None]
    return made if first and len(made) == len(first) else None


def _warm(plan: list[tuple[Model, list[Shape]]]) -> WarmUp:
    return warm_all([(model.session, shapes) for model, shapes in plan if isinstance(model.session, ShapeSessions)])


CAPTURE_BATCH = 2  # an enrollment sample: the face and its mirror image
NATIVE = -1  # detect at the photo's own size (no upscaling), within the detector's limit


def padded_scale(shape: tuple[int, ...], pad: float, size: int) -> float:
    """How much to shrink a photo before framing it with a border of `pad`: the detector sees it at `size`
    at most, so a 40-megapixel scan framed at full size would only cost memory (600 MB a photo)."""
    framed = max(shape[:2]) * (1 + 2 * pad)
    return min(1.0, 2 * size / framed)


def native_size(shape: tuple[int, ...], limit: int) -> int:
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


def central(faces: list[Face], shape: tuple[int, ...]) -> Face | None:
    """The face nearest the image centre, ties to the larger (for tightly cropped photos)."""
    if not faces:
        return None
    cy, cx = shape[0] / 2, shape[1] / 2

    def cost(face: Face) -> float:
        fx, fy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
        return float(np.hypot(fx - cx, fy - cy)) - 0.5 * np.sqrt(face.area)

    return min(faces, key=cost)


CLOSE_MARGIN = 0.1  # share of the frame's width and height added on each side to find a face too close


def detect_close(engine: FaceEngine, frame: np.ndarray) -> list[Face]:
    """Faces found in the frame shrunk into a black border of the same size: one so close to the camera that
    it runs off the frame's edge, which the detector misses there. The input keeps the frame's size (no new
    model shape); the faces come back in the frame's coordinates, reaching past its edge."""
    height, width = frame.shape[:2]
    scale = 1 / (1 + 2 * CLOSE_MARGIN)
    inner_w, inner_h = max(1, round(width * scale)), max(1, round(height * scale))
    x0, y0 = (width - inner_w) // 2, (height - inner_h) // 2
    canvas = np.zeros_like(frame)
    canvas[y0:y0 + inner_h, x0:x0 + inner_w] = cv2.resize(frame, (inner_w, inner_h), interpolation=cv2.INTER_AREA)
    shift = np.array([x0, y0], dtype=np.float32)
    return [Face(box=((f.box.reshape(2, 2) - shift) / scale).reshape(4).astype(np.float32), score=f.score,
                 landmarks=((f.landmarks - shift) / scale).astype(np.float32))
            for f in engine.detect(canvas)]
