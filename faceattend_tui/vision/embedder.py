"""ArcFace embedder: aligned 112x112 crops to L2-normalised embeddings, batched."""

from __future__ import annotations

import numpy as np

from faceattend_tui.vision.align import CROP_SIZE
from faceattend_tui.vision.runtime import ModelError, Session, first_line
from faceattend_tui.vision.shapes import BATCHES, dtype_of, run_padded, up_to


def check_signature(session: Session, path: str) -> int:
    """The embedding size of a recogniser, refusing models that do not fit the role."""
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or len(outputs) < 1:
        raise ModelError(f"{path}: a recogniser needs one image input, found {len(inputs)} inputs")
    shape = inputs[0].shape
    if len(shape) != 4 or shape[1] != 3 or tuple(shape[2:]) != (CROP_SIZE, CROP_SIZE):
        raise ModelError(f"{path}: input {shape} is not Nx3x112x112, so it is not an ArcFace recogniser")
    out = outputs[0].shape
    if len(out) != 2 or not isinstance(out[1], int):
        raise ModelError(f"{path}: output {out} is not an (N, D) embedding")
    if out[1] == 1:  # one number a face: a score or a norm put first
        raise ModelError(f"{path}: its first output, {outputs[0].name!r} {out}, is one number a face, not an "
                         "embedding; the embedding must be the model's first output")
    return out[1]


def normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def to_blob(crops: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) BGR uint8 crops to the (N, 3, H, W) RGB input in [-1, 1], in one pass."""
    blob = np.empty((len(crops), 3, *crops.shape[1:3]), np.float32)
    np.subtract(crops[..., ::-1].transpose(0, 3, 1, 2), np.float32(127.5), out=blob, dtype=np.float32)
    blob *= np.float32(1 / 127.5)
    return blob


class ArcFaceEmbedder:
    """Runs crops through the recogniser in batches; falls back to one at a time for batch-1 exports."""

    def __init__(self, session: Session, path: str = "recognizer", batch_size: int = 32) -> None:
        self.session, self.path = session, path
        self.dim = check_signature(session, path)
        self.input_name = session.get_inputs()[0].name
        # a half-precision export (common for GPUs) takes its input as such
        self.dtype = dtype_of(session.get_inputs()[0])
        batch = session.get_inputs()[0].shape[0]
        self.fixed_batch = batch if isinstance(batch, int) and batch > 0 else None
        self.batch_size = self.fixed_batch or batch_size
        # static shapes, or an export of a fixed batch: batches padded up to these
        self.sizes: tuple[int, ...] | None = (self.fixed_batch,) if self.fixed_batch and self.fixed_batch > 1 else None
        self.has_run = False  # once it has: a failure is the device's moment (out of memory), not the model's

    def use_static(self, sizes: tuple[int, ...] = BATCHES) -> None:
        self.sizes = (self.fixed_batch,) if self.fixed_batch else sizes

    def shapes(self, most: int) -> list[tuple[int, ...]]:
        """The input shapes batches of up to `most` crops use with static shapes."""
        return [(size, 3, CROP_SIZE, CROP_SIZE) for size in up_to(most, self.sizes)] if self.sizes else []

    def embed(self, crops: list[np.ndarray] | np.ndarray, flip: bool = False) -> np.ndarray:
        """(N, D) float32 unit vectors for N aligned BGR crops.

        flip=True also embeds each crop's mirror image and returns the normalised sum of the two
        (test-time augmentation: a little more accurate, twice the cost).
        """
        if len(crops) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        crops = np.asarray(crops)
        if flip:
            crops = np.concatenate([crops, crops[:, :, ::-1]])
        raw = self.embed_raw(crops)
        if flip:
            half = len(raw) // 2
            return normalize(normalize(raw[:half]) + normalize(raw[half:]))
        return normalize(raw)

    def embed_raw(self, crops: list[np.ndarray] | np.ndarray) -> np.ndarray:
        """(N, D) float32 outputs before normalisation (their length is a rough quality signal)."""
        if len(crops) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        blob = to_blob(np.asarray(crops))
        if self.sizes:
            return run_padded(self._run, blob, self.sizes).astype(np.float32, copy=False)
        parts = [
            self._run(np.ascontiguousarray(blob[i : i + self.batch_size]))
            for i in range(0, len(blob), self.batch_size)
        ]
        return np.concatenate(parts).astype(np.float32, copy=False)

    def _run(self, blob: np.ndarray) -> np.ndarray:
        blob = blob.astype(self.dtype, copy=False)
        try:
            out = self.session.run(None, {self.input_name: blob})[0]
        except Exception as exc:  # noqa: BLE001 - some exports accept batch 1 only
            if len(blob) == 1 and self.has_run:  # the worker starts again, as after any crash
                raise RuntimeError(f"{self.path}: the recogniser failed on a face: {first_line(exc)}") from None
            if len(blob) == 1:
                raise ModelError(f"{self.path}: the recogniser cannot run on a face: {first_line(exc)}") from None
            self.batch_size = 1
            return np.concatenate([self._run(b[None]) for b in blob])
        if not np.isfinite(out).all():  # a diverged or damaged model: its templates would match nobody
            raise ModelError(f"{self.path}: the recogniser gives values that are not numbers (NaN or infinite)")
        self.has_run = True
        return out
