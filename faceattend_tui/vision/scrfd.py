"""SCRFD face detector (insightface), with 5 keypoints."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from faceattend_tui.vision.ops import (
    anchor_centers,
    distance_to_box,
    distance_to_points,
    fit_size,
    resize_into,
    to_nchw,
)
from faceattend_tui.vision.runtime import ModelError, Session
from faceattend_tui.vision.shapes import PHOTO_BATCH, dtype_of, square_canvas
from faceattend_tui.vision.types import Face, suppress_to_faces

STRIDES_BY_LEVELS = {3: (8, 16, 32), 5: (8, 16, 32, 64, 128)}


def output_order(names: list[str]) -> list[int]:
    """Indices of the outputs as scores, boxes, keypoints, each by ascending stride.

    Exports name them score_8, bbox_8, kps_8, ...; unnamed exports keep that order already.
    """
    found = [re.fullmatch(r"(score|bbox|kps)_(\d+)", n) for n in names]
    parsed = [m for m in found if m is not None]
    if len(parsed) < len(found):
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


def check_widths(shapes: list[Sequence[int | str | None]], path: str) -> None:
    """SCRFD's outputs are (anchors, k) or (N, anchors, k): scores k=1, boxes 4, keypoints 10 (a
    RetinaFace export has as many outputs, laid out otherwise)."""
    levels = len(shapes) // 3
    for group, width in enumerate((1, 4, 10)):
        for shape in shapes[group * levels:(group + 1) * levels]:
            if len(shape) not in (2, 3) or (isinstance(shape[-1], int) and shape[-1] != width):
                raise ModelError(f"{path}: output {list(shape)} is not SCRFD's (anchors, {width}); a detector of "
                                 "another kind (RetinaFace?) - SCRFD and YOLOv5-face are the ones supported")


def decode(
    outputs: list[np.ndarray],
    input_height: int,
    input_width: int,
    score_threshold: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raw SCRFD outputs for one image (scores, boxes, keypoints per level, each (anchors, k)) to arrays.

    Returns boxes (N, 4), scores (N,), keypoints (N, 5, 2) in input pixels, not yet suppressed.
    """
    return decode_batch([o[None] for o in outputs], 1, input_height, input_width, score_threshold)[0]


def decode_batch(
    outputs: list[np.ndarray],
    count: int,
    input_height: int,
    input_width: int,
    score_threshold: float,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """`decode` for the first `count` images of a batch's outputs (each (batch, anchors, k)): one
    threshold per level for all of them, then only the candidates' boxes, split by image."""
    levels = len(outputs) // 3
    found: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = [[] for _ in range(count)]
    for i, stride in enumerate(STRIDES_BY_LEVELS[levels]):
        scores = outputs[i][:count].reshape(count, -1)
        image, anchor = np.nonzero(scores >= score_threshold)  # by image, then anchor
        rows, cols = -(-input_height // stride), -(-input_width // stride)
        centers = anchor_centers(rows, cols, stride, scores.shape[1] // (rows * cols))[anchor]
        boxes = distance_to_box(centers, _rows(outputs[i + levels], count, 4)[image, anchor] * stride)
        kps = distance_to_points(centers, _rows(outputs[i + 2 * levels], count, 10)[image, anchor] * stride)
        hits = scores[image, anchor]
        bounds = np.searchsorted(image, np.arange(count + 1))
        for j, (start, end) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            found[j].append((boxes[start:end], hits[start:end], kps[start:end]))
    return [(np.concatenate([b for b, _, _ in parts]), np.concatenate([s for _, s, _ in parts]),
             np.concatenate([k for _, _, k in parts])) for parts in found]


def _rows(output: np.ndarray, count: int, width: int) -> np.ndarray:
    """The first `count` images of a batched output, as (count, anchors, width)."""
    return output[:count].reshape(count, -1, width)


@dataclass(frozen=True)
class Prepared:
    """One image made ready for the network: its blob and how to map points back."""

    blob: np.ndarray  # (1, 3, H, W)
    scale: float
    offset: tuple[int, int]

    @property
    def shape(self) -> tuple[int, ...]:
        return self.blob.shape


class ScrfdDetector:
    """Resize keeping the aspect ratio into the input, pad bottom-right with zeros.

    With `canvases` (static shapes) the input is always a square of one of those sides, whatever the
    image; photos are then detected in batches of exactly PHOTO_BATCH (padded with empty images).
    """

    kind = "scrfd"

    def __init__(self, session: Session, path: str = "scrfd", size: int = 640, score_threshold: float = 0.5,
                 iou_threshold: float = 0.4, canvases: tuple[int, ...] | None = None) -> None:
        self.session = session
        self.input_name = session.get_inputs()[0].name
        outputs = [o.name for o in session.get_outputs()]
        check_signature(len(outputs), path)
        order = output_order(outputs)
        self.output_names = [outputs[i] for i in order]
        check_widths([session.get_outputs()[i].shape for i in order], path)
        shape = session.get_inputs()[0].shape
        # a half-precision export (common for GPUs) takes its input as such
        self.dtype = dtype_of(session.get_inputs()[0])
        sides = shape[2:]
        # (height, width) for fixed-size exports
        self.fixed_size = (sides[0], sides[1]) if len(sides) == 2 and isinstance(sides[0], int) and isinstance(
            sides[1], int) else None
        # (N, anchors, k) outputs keep images apart, so several can go in one run
        self.batched = shape[0] != 1 and all(len(o.shape) == 3 for o in session.get_outputs())
        self.size = size
        self.score_threshold = score_threshold
        self.iou_threshold = iou_threshold
        self.canvases = tuple(sorted(set(canvases))) if canvases else None
        self._buffer: np.ndarray | None = None  # the input of the last batch, reused while its shape holds

    def input_size(self, image_shape: tuple[int, ...], size: int | None) -> tuple[int, int]:
        if self.fixed_size:
            return self.fixed_size
        return fit_size(image_shape[0], image_shape[1], size or self.size)

    def canvas_size(self, height: int, width: int) -> tuple[int, int]:
        """The network input that holds a (height, width) picture: itself, or a fixed square."""
        return self.fixed_size or square_canvas(height, width, self.canvases)

    def frame_shapes(self) -> list[tuple[int, ...]]:
        """The input shapes live frames use with static shapes (one, whatever the camera)."""
        side = self.canvas_size(self.size, self.size)
        return [(1, 3, *side)]

    def photo_shapes(self) -> list[tuple[int, ...]]:
        """The input shapes `detect_many` uses with static shapes."""
        batch = PHOTO_BATCH if self.batched else 1
        return [(batch, 3, *self.canvas_size(c, c)) for c in self.canvases or ()]

    def prepare(self, image: np.ndarray, size: int | None = None) -> Prepared:
        height, width = self.input_size(image.shape, size)
        canvas, scale, offset = resize_into(image, width, height, pad=0, canvas_size=self.canvas_size(height, width))
        return Prepared(to_nchw(canvas, 127.5, 128.0).astype(self.dtype, copy=False), scale, offset)

    def detect(self, image: np.ndarray, threshold: float | None = None, size: int | None = None) -> list[Face]:
        prepared = self.prepare(image, size)
        raw = [np.asarray(r, np.float32) for r in self.session.run(self.output_names, {self.input_name: prepared.blob})]
        return self._faces([r[0] if r.ndim == 3 else r for r in raw], prepared, threshold)

    def detect_many(self, images: list[np.ndarray], threshold: float | None = None,
                    sizes: list[int | None] | None = None, prepared: list[Prepared] | None = None) -> list[list[Face]]:
        """Faces in each image; images whose inputs have the same shape share a run (`prepared`: the images
        already made ready with these sizes)."""
        sizes = sizes or [None] * len(images)
        if not self.batched:
            return [self.detect(image, threshold, size) for image, size in zip(images, sizes, strict=True)]
        prepared = prepared or [self.prepare(image, size) for image, size in zip(images, sizes, strict=True)]
        found: list[list[Face]] = [[] for _ in images]
        groups: dict[tuple[int, ...], list[int]] = {}
        for i, p in enumerate(prepared):
            groups.setdefault(p.shape, []).append(i)
        for members in groups.values():
            for start in range(0, len(members), PHOTO_BATCH):
                chunk = members[start : start + PHOTO_BATCH]
                height, width = prepared[chunk[0]].shape[2:]
                decoded = decode_batch(self._run_batch([prepared[i].blob for i in chunk]), len(chunk), height, width,
                                       self._threshold(threshold))
                for i, arrays in zip(chunk, decoded, strict=True):
                    found[i] = self._suppressed(arrays, prepared[i])
        return found

    def _run_batch(self, blobs: list[np.ndarray]) -> list[np.ndarray]:
        """The raw outputs of a batch (its first len(blobs) rows); static shapes pad it to PHOTO_BATCH."""
        rows = PHOTO_BATCH if self.canvases else len(blobs)
        batch = self._batch_buffer((rows, *blobs[0].shape[1:]))
        for i, blob in enumerate(blobs):
            batch[i] = blob[0]
        batch[len(blobs) :] = 0
        return [np.asarray(r, np.float32) for r in self.session.run(self.output_names, {self.input_name: batch})]

    def _batch_buffer(self, shape: tuple[int, ...]) -> np.ndarray:
        """One reusable input buffer per batch shape (a batch of big photos is tens of megabytes)."""
        if self._buffer is None or self._buffer.shape != shape:
            self._buffer = np.empty(shape, self.dtype)
        return self._buffer

    def _threshold(self, threshold: float | None) -> float:
        return self.score_threshold if threshold is None else threshold

    def _faces(self, raw: list[np.ndarray], prepared: Prepared, threshold: float | None) -> list[Face]:
        return self._suppressed(decode(raw, prepared.shape[2], prepared.shape[3], self._threshold(threshold)), prepared)

    def _suppressed(self, arrays: tuple[np.ndarray, np.ndarray, np.ndarray], prepared: Prepared) -> list[Face]:
        boxes, scores, kps = arrays
        return suppress_to_faces(boxes, scores, kps, self.iou_threshold, prepared.scale, prepared.offset)
