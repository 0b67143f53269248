"""Five-point similarity alignment to the ArcFace 112x112 template."""

from __future__ import annotations

import cv2
import numpy as np

# Eye centres, nose tip and mouth corners of the standard ArcFace crop (112 x 112).
ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float64,
)
CROP_SIZE = 112


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares rotation, uniform scale and shift taking src onto dst (Umeyama), as 2x3."""
    return similarity_transforms(np.asarray(src)[None], dst)[0]


def similarity_transforms(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """`similarity_transform` for N point sets at once: (N, K, 2) onto (K, 2), as (N, 2, 3)."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    src_mean, dst_mean = src.mean(axis=1, keepdims=True), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = np.einsum("ki,nkj->nij", dst_c, src_c) / src.shape[1]
    u, singular, vt = np.linalg.svd(cov)
    sign = np.ones((len(src), 2))
    sign[np.linalg.det(u) * np.linalg.det(vt) < 0, 1] = -1
    rotation = (u * sign[:, None, :]) @ vt
    variance = (src_c**2).sum(axis=(1, 2)) / src.shape[1]
    scale = np.where(variance > 0, (singular * sign).sum(axis=1) / np.where(variance > 0, variance, 1.0), 1.0)
    linear = scale[:, None, None] * rotation
    shift = dst_mean - np.einsum("nij,nj->ni", linear, src_mean[:, 0])
    return np.concatenate([linear, shift[:, :, None]], axis=2)


def align_face(image: np.ndarray, landmarks: np.ndarray, size: int = CROP_SIZE) -> np.ndarray:
    """The aligned size x size crop (same channel order as the input)."""
    return align_faces([(image, landmarks)], size)[0]


def align_faces(pairs: list[tuple[np.ndarray, np.ndarray]], size: int = CROP_SIZE) -> list[np.ndarray]:
    """`align_face` for (image, landmarks) pairs, their transforms found together."""
    if not pairs:
        return []
    template = ARCFACE_TEMPLATE * (size / CROP_SIZE)
    matrices = similarity_transforms(np.stack([landmarks for _, landmarks in pairs]), template)
    return [cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=0.0)
            for (image, _), matrix in zip(pairs, matrices, strict=True)]


def frontality(landmarks: np.ndarray) -> float:
    """1.0 for a frontal face, falling towards 0 as the nose leaves the eye/mouth midline."""
    lm = np.asarray(landmarks, dtype=np.float64)
    eye_mid, mouth_mid = lm[:2].mean(axis=0), lm[3:5].mean(axis=0)
    width = np.linalg.norm(lm[1] - lm[0]) + 1e-6
    axis_mid = (eye_mid + mouth_mid) / 2
    offset = abs(lm[2, 0] - axis_mid[0]) / width
    return float(max(0.0, 1.0 - 2.0 * offset))
