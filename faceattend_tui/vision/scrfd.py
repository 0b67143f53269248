"""SCRFD face detector (insightface), with 5 keypoints."""

from __future__ import annotations

import re

import numpy as np

from faceattend_tui.vision.ops import (
    anchor_centers,
    distance_to_box,
    distance_to_points,
    fit_size,
    resize_into,
    to_nchw,
)
from faceattend_tui.vision.runtime import ModelError
from faceattend_tui.vision.types import Face, suppress_to_faces

STRIDES_BY_LEVELS = {3: (8, 16, 32), 5: (8, 16, 32, 64, 128)}


def output_order(names: list[str]) -> list[int]:
    """Indices of the outputs as scores, boxes, keypoints, each by ascending stride.

    Exports name them score_8, bbox_8, kps_8, ...; unnamed exports keep that order already.
    """
    parsed = [re.fullmatch(r"(score|bbox|kps)_(\d+)", n) for n in names]
    if not all(parsed):
        return list(range(len(names)))
    rank = {"score": 0, "bbox": 1, "kps": 2}
    keys = [(rank[m.group(1)], int(m.group(2))) for m in parsed]
    return sorted(range(len(names)), key=lambda i: keys[i])


def check_signature(num_outputs: int, path: str) -> int:
    """Number of pyramid levels for an SCRFD export, refusing ones without keypoints."""
    if num_outputs in (6, 10):
        raise ModelError(f"{path}: this SCRFD export has no keypoints (need a *_kps model)")
    levels = {9: 3, 15: 5}.get(num_outputs)
    if levels is None:
        raise ModelError(f"{path}: {num_outputs} outputs; an SCRFD detector with keypoints has 9 or 15")
    return levels


def decode(
    outputs: list[np.ndarray],
    input_height: int,
    input_width: int,
    score_threshold: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw SCRFD outputs for one image (scores, boxes, keypoints per level) to arrays.

    Returns boxes (N, 4), scores (N,), keypoints (N, 5, 2) in input pixels, not yet suppressed.
    """
    levels = len(outputs) // 3
    strides = STRIDES_BY_LEVELS[levels]
    all_boxes, all_scores, all_kps = [], [], []
    for i, stride in enumerate(strides):
        scores = outputs[i].reshape(-1)
        boxes = outputs[i + levels].reshape(-1, 4) * stride
        kps = outputs[i + 2 * levels].reshape(-1, 10) * stride
        rows, cols = -(-input_height // stride), -(-input_width // stride)
        anchors = len(scores) // (rows * cols)
        centers = anchor_centers(rows, cols, stride, anchors)
        hit = np.flatnonzero(scores >= score_threshold)
        all_scores.append(scores[hit])
        all_boxes.append(distance_to_box(centers[hit], boxes[hit]))
        all_kps.append(distance_to_points(centers[hit], kps[hit]))
    return np.concatenate(all_boxes), np.concatenate(all_scores), np.concatenate(all_kps)


class ScrfdDetector:
    """Resize keeping the aspect ratio into a square input, pad bottom-right with zeros."""

    kind = "scrfd"

    def __init__(self, session, path: str = "scrfd", size: int = 640, score_threshold: float = 0.5,
                 iou_threshold: float = 0.4):
        self.session = session
        self.input_name = session.get_inputs()[0].name
        outputs = [o.name for o in session.get_outputs()]
        check_signature(len(outputs), path)
        order = output_order(outputs)
        self.output_names = [outputs[i] for i in order]
        shape = session.get_inputs()[0].shape
        fixed = shape[2:] if all(isinstance(v, int) for v in shape[2:]) else None
        self.fixed_size = tuple(fixed) if fixed else None  # (height, width) for fixed-size exports
        self.size = size
        self.score_threshold = score_threshold
        self.iou_threshold = iou_threshold

    def input_size(self, image_shape, size: int | None) -> tuple[int, int]:
        if self.fixed_size:
            return self.fixed_size
        return fit_size(image_shape[0], image_shape[1], size or self.size)

    def detect(self, image: np.ndarray, threshold: float | None = None, size: int | None = None) -> list[Face]:
        height, width = self.input_size(image.shape, size)
        canvas, scale, offset = resize_into(image, width, height, pad=0)
        blob = to_nchw(canvas, 127.5, 128.0)
        raw = self.session.run(self.output_names, {self.input_name: blob})
        raw = [r[0] if r.ndim == 3 else r for r in raw]
        thr = self.score_threshold if threshold is None else threshold
        boxes, scores, kps = decode(raw, height, width, thr)
        return suppress_to_faces(boxes, scores, kps, self.iou_threshold, scale, offset)
