"""Plain result records shared by every detector and the rest of the core."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from faceattend_tui.vision.ops import nms


@dataclass(frozen=True)
class Face:
    """One detected face in original image coordinates."""

    box: np.ndarray  # (4,) float32: x1, y1, x2, y2
    score: float
    landmarks: np.ndarray  # (5, 2) float32: eyes, nose, mouth corners (subject's right first)

    @property
    def width(self) -> float:
        return float(self.box[2] - self.box[0])

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    def scaled(self, factor: float) -> Face:
        """The same face in a picture `factor` times as large."""
        return Face(self.box * np.float32(factor), self.score, self.landmarks * np.float32(factor))

    def as_dict(self) -> dict[str, Any]:
        return {
            "box": [round(float(v), 2) for v in self.box],
            "score": round(float(self.score), 4),
            "landmarks": [[round(float(x), 2), round(float(y), 2)] for x, y in self.landmarks],
        }


def faces_from_arrays(boxes: np.ndarray, scores: np.ndarray, landmarks: np.ndarray) -> list[Face]:
    """Face records from decoded arrays, highest score first."""
    order = np.argsort(-scores, kind="stable")
    return [
        Face(boxes[i].astype(np.float32), float(scores[i]), landmarks[i].reshape(5, 2).astype(np.float32))
        for i in order
    ]


def suppress_to_faces(boxes: np.ndarray, scores: np.ndarray, landmarks: np.ndarray, iou_threshold: float, scale: float,
                      offset: tuple[int, int] = (0, 0)) -> list[Face]:
    """NMS on decoded candidates, then map from network input pixels back to the image."""
    keep = nms(boxes, scores, iou_threshold)
    shift = np.asarray(offset, dtype=np.float32)
    boxes = (boxes[keep].reshape(-1, 2, 2) - shift).reshape(-1, 4) / scale
    landmarks = (landmarks[keep] - shift) / scale
    return faces_from_arrays(boxes, scores[keep], landmarks)
