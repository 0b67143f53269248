"""YOLOv5-face detector (ONNX export with one (1, N, 16) output), with 5 keypoints.

Each output row is cx, cy, w, h, objectness, ten landmark coordinates and the face class score,
all positions in input pixels. Landmarks come as left eye, right eye, nose, left and right mouth
corner as seen in the image, which is the subject's right side first, the order `Face` uses.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from faceattend_tui.vision.ops import resize_into, to_nchw
from faceattend_tui.vision.runtime import ModelError, NodeArg, Session
from faceattend_tui.vision.shapes import dtype_of, square_canvas
from faceattend_tui.vision.types import Face, suppress_to_faces

ROW_WIDTH = 16
PAD_VALUE = 114
STRIDE = 32


def _shape_text(shape: Sequence[int | str | None]) -> str:
    return "(" + ", ".join(str(v) for v in shape) + ")"


def check_signature(inputs: Sequence[NodeArg], outputs: Sequence[NodeArg], path: str) -> None:
    """Refuse a model that is not one 3-channel image in, one (1, N, 16) table out."""
    if len(inputs) != 1:
        raise ModelError(f"{path}: {len(inputs)} inputs; a YOLOv5-face detector has one image input")
    shape = list(inputs[0].shape)
    if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != 3):
        raise ModelError(
            f"{path}: input shape {_shape_text(shape)}; a YOLOv5-face detector takes (1, 3, H, W)"
        )
    if len(outputs) != 1:
        raise ModelError(f"{path}: {len(outputs)} outputs; a YOLOv5-face detector has one (1, N, 16) output")
    out = list(outputs[0].shape)
    if len(out) not in (2, 3) or out[-1] != ROW_WIDTH:
        raise ModelError(
            f"{path}: output shape {_shape_text(out)}; a YOLOv5-face detector gives (1, N, 16)"
        )


def _fixed(side: int | str | None) -> int | None:
    """A side fixed by the export, or None for a symbolic or unknown one."""
    return side if isinstance(side, int) and side > 0 else None


def decode(output: np.ndarray, score_threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw (1, N, 16) or (N, 16) output to boxes (M, 4), scores (M,), landmarks (M, 5, 2).

    Positions stay in input pixels and duplicates are not yet suppressed.
    """
    rows = np.asarray(output, dtype=np.float32).reshape(-1, ROW_WIDTH)
    scores = rows[:, 4] * rows[:, 15]
    hit = np.flatnonzero(scores >= score_threshold)
    rows, scores = rows[hit], scores[hit]
    centers, half = rows[:, 0:2], rows[:, 2:4] / 2
    boxes = np.concatenate([centers - half, centers + half], axis=1)
    landmarks = rows[:, 5:15].reshape(-1, 5, 2)
    return boxes, scores, landmarks


def round_size(size: int) -> int:
    """Side length rounded up to a multiple of the network stride."""
    return max(STRIDE, -(-int(size) // STRIDE) * STRIDE)


class Yolov5FaceDetector:
    """Letterbox into the input (aspect kept, centred, grey padding), RGB scaled to 0..1."""

    kind = "yolov5face"

    def __init__(self, session: Session, path: str = "yolov5face", size: int = 640, score_threshold: float = 0.5,
                 iou_threshold: float = 0.4, canvases: tuple[int, ...] | None = None) -> None:
        inputs, outputs = session.get_inputs(), session.get_outputs()
        check_signature(inputs, outputs, path)
        self.session = session
        self.input_name = inputs[0].name
        self.output_name = outputs[0].name
        height, width = (_fixed(v) for v in list(inputs[0].shape)[2:])  # check_signature: four dimensions
        self.fixed_size = (height, width) if height and width else None  # (height, width) of a fixed export
        self.size = size
        self.score_threshold = score_threshold
        self.iou_threshold = iou_threshold
        self.canvases = tuple(sorted(set(canvases))) if canvases else None  # static shapes: square inputs

    def input_size(self, size: int | None) -> tuple[int, int]:
        if self.fixed_size:
            return self.fixed_size
        side = round_size(size or self.size)
        return side, side

    def canvas_size(self, height: int, width: int) -> tuple[int, int]:
        return (height, width) if self.fixed_size else square_canvas(height, width, self.canvases)

    def frame_shapes(self) -> list[tuple[int, ...]]:
        return [(1, 3, *self.canvas_size(*self.input_size(None)))]

    def photo_shapes(self) -> list[tuple[int, ...]]:
        return [(1, 3, *self.canvas_size(c, c)) for c in self.canvases or ()]

    def detect_many(self, images: list[np.ndarray], threshold: float | None = None,
                    sizes: list[int | None] | None = None) -> list[list[Face]]:
        """One image per run: exports of this detector usually take a batch of one."""
        sizes = sizes or [None] * len(images)
        return [self.detect(image, threshold, size) for image, size in zip(images, sizes, strict=True)]

    def detect(self, image: np.ndarray, threshold: float | None = None,
               size: int | None = None) -> list[Face]:
        height, width = self.input_size(size)
        canvas, scale, offset = resize_into(image, width, height, pad=PAD_VALUE, center=True,
                                            canvas_size=self.canvas_size(height, width))
        blob = to_nchw(canvas, 0.0, 255.0).astype(dtype_of(self.session.get_inputs()[0]), copy=False)
        raw = self.session.run([self.output_name], {self.input_name: blob})[0]
        thr = self.score_threshold if threshold is None else threshold
        boxes, scores, landmarks = decode(raw, thr)
        return suppress_to_faces(boxes, scores, landmarks, self.iou_threshold, scale, offset)
