"""The 106-point face landmark model (insightface 2d106det) on an injected ONNX session.

Model facts, checked on real faces (LFW, the dlib-faces set):
- input 1x3x192x192 (batch is dynamic), RGB, raw 0..255 pixels: the graph itself subtracts
  127.5 and multiplies by 1/128, so no scaling happens here. BGR input puts the points about
  40 % further from the reference points, so the channel order matters.
- the crop is a square around the centre of the detector's box, 1.5 times the box's longer
  side (1.2 to 1.5 measure the same; 1.7 and up get worse), turned so the eyes are level: an
  upright crop of a rolled face lets the points drift (see tests/test_landmarks106.py).
- the output (1, 212) is 106 (x, y) pairs in crop units: -1 is the crop's left (top) edge, +1
  its right (bottom) edge.

The layout of the 106 points is in `layout106`.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from faceattend_tui.vision.layout106 import POINTS
from faceattend_tui.vision.runtime import ModelError, RuntimeOptions, Session
from faceattend_tui.vision.sessions import open_model
from faceattend_tui.vision.shapes import LANDMARK_BATCHES, run_padded
from faceattend_tui.vision.types import Face

INPUT_SIZE = 192
CROP_SCALE = 1.5  # crop side / longer side of the detector's box


def check_signature(session: Session, path: str) -> None:
    """Refuse a model that is not one Nx3x192x192 image in, one (N, 212) point table out."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelError(f"{path}: {len(inputs)} inputs and {len(outputs)} outputs; "
                         "the 106-point landmark model has one of each")
    shape = list(inputs[0].shape)
    if len(shape) != 4 or shape[1] != 3 or shape[2:] != [INPUT_SIZE, INPUT_SIZE]:
        raise ModelError(f"{path}: input {shape} is not Nx3x192x192, so it is not the 106-point landmark model")
    out = list(outputs[0].shape)
    if len(out) != 2 or out[1] != 2 * POINTS:
        raise ModelError(f"{path}: output {out} is not (N, 212), so it is not the 106-point landmark model")


def crop_matrix(box: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The 2x3 map from image pixels to the 192x192 crop: box-centred, eyes level."""
    box = np.asarray(box, dtype=np.float64)
    eyes = np.asarray(landmarks, dtype=np.float64)[:2]
    centre = (box[:2] + box[2:4]) / 2
    side = CROP_SCALE * max(box[2] - box[0], box[3] - box[1], 1.0)
    dx, dy = eyes[1] - eyes[0]
    angle = np.arctan2(dy, dx)
    scale = INPUT_SIZE / side
    cos, sin = scale * np.cos(angle), scale * np.sin(angle)
    # Rotate by -angle about the centre, scale, then move the centre to the middle of the crop.
    linear = np.array([[cos, sin], [-sin, cos]])
    shift = INPUT_SIZE / 2 - linear @ centre
    return np.hstack([linear, shift[:, None]])


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """The inverse of a 2x3 affine map."""
    return cv2.invertAffineTransform(matrix)


def crops(image: np.ndarray, faces: list[Face]) -> tuple[np.ndarray, np.ndarray]:
    """The model's input for these faces, (N, 3, 192, 192) float32 RGB, and their (N, 2, 3) crop maps."""
    matrices = np.array([crop_matrix(f.box, f.landmarks) for f in faces], dtype=np.float64).reshape(-1, 2, 3)
    blob = np.empty((len(faces), 3, INPUT_SIZE, INPUT_SIZE), dtype=np.float32)
    for i, matrix in enumerate(matrices):
        patch = cv2.warpAffine(image, matrix, (INPUT_SIZE, INPUT_SIZE), flags=cv2.INTER_LINEAR, borderValue=0)
        blob[i] = patch[..., ::-1].transpose(2, 0, 1)  # BGR to RGB, channels first
    return blob, matrices


def decode(output: np.ndarray, matrices: np.ndarray) -> np.ndarray:
    """Raw (N, 212) outputs and the (N, 2, 3) crop maps to (N, 106, 2) points in image pixels."""
    output = np.asarray(output, dtype=np.float64).reshape(-1, POINTS, 2)
    matrices = np.asarray(matrices, dtype=np.float64).reshape(-1, 2, 3)
    if len(output) != len(matrices):
        raise ValueError(f"{len(output)} outputs for {len(matrices)} crops")
    in_crop = (output + 1.0) * (INPUT_SIZE / 2)
    back = np.array([invert_affine(m) for m in matrices]).reshape(-1, 2, 3)
    return (np.einsum("nij,npj->npi", back[:, :, :2], in_crop) + back[:, None, :, 2]).astype(np.float32)


class Landmarks106:
    """Runs the 106-point model on the faces it is given, all in one batch."""

    def __init__(self, session: Session, path: str = "landmarks") -> None:
        check_signature(session, path)
        self.session = session
        self.path = path
        self.input_name = session.get_inputs()[0].name
        batch = session.get_inputs()[0].shape[0]
        self.batch_size = batch if isinstance(batch, int) and batch > 0 else None
        self.sizes: tuple[int, ...] | None = None  # static shapes: batches padded up to these

    def use_static(self, sizes: tuple[int, ...] = LANDMARK_BATCHES) -> None:
        self.sizes = (self.batch_size,) if self.batch_size else sizes

    def shapes(self) -> list[tuple[int, ...]]:
        """Every input shape this model meets with static shapes (any number of faces)."""
        return [(size, 3, INPUT_SIZE, INPUT_SIZE) for size in self.sizes or ()]

    def points(self, image: np.ndarray, faces: list[Face]) -> np.ndarray:
        """(N, 106, 2) float32 points in image pixels, one row per face, in the order given."""
        if not faces:
            return np.zeros((0, POINTS, 2), dtype=np.float32)
        blob, matrices = crops(image, faces)
        return decode(self._run(blob), matrices)

    def _run(self, blob: np.ndarray) -> np.ndarray:
        if self.sizes:
            return run_padded(self._run_once, blob, self.sizes)
        step = self.batch_size or len(blob)
        return np.concatenate([self._run_once(blob[i : i + step]) for i in range(0, len(blob), step)])

    def _run_once(self, blob: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: blob})[0]


def load(path: Path, options: RuntimeOptions, static_shapes: str = "off") -> Landmarks106:
    """The landmark model from a file, on a session built like every other one."""
    sessions = open_model(path, options, static_shapes)
    model = Landmarks106(sessions, str(path))
    if sessions.static:
        model.use_static()
    return model
