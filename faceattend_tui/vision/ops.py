"""Pure numpy helpers for detectors: resizing, anchors, box decoding, NMS."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np


def resize_into(image: np.ndarray, width: int, height: int, pad: float = 0.0, center: bool = False,
                canvas_size: tuple[int, int] | None = None) -> tuple[np.ndarray, float, tuple[int, int]]:
    """Resize keeping the aspect ratio to fit (height, width) and pad to that size, or to the larger
    `canvas_size` (height, width) when given (a fixed input shape; the extra rows and columns go
    bottom-right).

    Returns the canvas, the scale applied and the (dx, dy) offset of the image inside it, so a
    point p on the canvas maps back to (p - offset) / scale.
    """
    h, w = image.shape[:2]
    scale = min(width / w, height / h)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (new_w, new_h), interpolation=interp)
    dx = (width - new_w) // 2 if center else 0
    dy = (height - new_h) // 2 if center else 0
    rows, cols = canvas_size or (height, width)
    canvas = np.full((max(rows, height), max(cols, width), image.shape[2]), pad, dtype=image.dtype)
    canvas[dy : dy + new_h, dx : dx + new_w] = resized
    return canvas, scale, (dx, dy)


@lru_cache(maxsize=64)
def anchor_centers(height: int, width: int, stride: int, num_anchors: int) -> np.ndarray:
    """(height * width * num_anchors, 2) anchor centres in input pixels, row-major."""
    ys, xs = np.mgrid[:height, :width]
    centers = np.stack([xs, ys], axis=-1).reshape(-1, 2).astype(np.float32) * stride
    if num_anchors > 1:
        centers = np.repeat(centers, num_anchors, axis=0)
    centers.setflags(write=False)
    return centers


def distance_to_box(points: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """Boxes from centre points and (left, top, right, bottom) distances."""
    return np.concatenate([points - distance[:, :2], points + distance[:, 2:4]], axis=1)


def distance_to_points(points: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """Keypoints from centre points and (dx, dy) offsets, (N, K*2) in, (N, K, 2) out."""
    offsets = distance.reshape(distance.shape[0], distance.shape[1] // 2, 2)
    return points[:, None, :] + offsets


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one box against many, boxes as x1, y1, x2, y2."""
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, highest score first."""
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        best = order[0]
        keep.append(best)
        if order.size == 1:
            break
        rest = order[1:]
        order = rest[box_iou(boxes[best], boxes[rest]) <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def to_nchw(image: np.ndarray, mean: float, std: float, swap_rb: bool = True) -> np.ndarray:
    """HWC uint8 (BGR) to a 1xCxHxW float32 blob, RGB when swap_rb."""
    channels = cv2.split(image)
    if swap_rb:
        channels = channels[::-1]
    blob = np.empty((1, len(channels), *image.shape[:2]), dtype=np.float32)
    for i, channel in enumerate(channels):
        blob[0, i] = channel
    blob -= mean
    blob *= 1.0 / std
    return blob


def fit_size(height: int, width: int, limit: int, multiple: int = 32) -> tuple[int, int]:
    """Input (height, width) for an image scaled so its long side is `limit`, padded to a multiple."""
    scale = limit / max(height, width)
    rows = -(-max(1, round(height * scale)) // multiple) * multiple  # a thin strip keeps one row of cells
    cols = -(-max(1, round(width * scale)) // multiple) * multiple
    return min(rows, limit), min(cols, limit)
