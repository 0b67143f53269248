"""Where the 106 points of the 2d106det landmark model sit on a face (numpy only).

Sides are the subject's own, as in the detector's five points: the subject's right eye is the
one on the left of the image. Index ranges: 0-32 jaw outline, 33-42 right eye, 43-51 right
brow, 52-71 mouth, 72-86 nose, 87-96 left eye, 97-105 left brow.
"""

from __future__ import annotations

import numpy as np

POINTS = 106

# Eye outlines in drawing order: outer corner, lower lid, inner corner, upper lid.
RIGHT_EYE = (35, 36, 33, 37, 39, 42, 40, 41)
LEFT_EYE = (93, 91, 87, 90, 89, 95, 94, 96)
# Outer eye corners and mouth corners: a quadrilateral whose area stands for the face's size.
FACE_QUAD = (35, 93, 61, 52)
# Points on bone or firm tissue (brows, eye corners, nose, mouth corners): they move rigidly with
# the head, unlike the lids, the lips and the jaw outline (a silhouette that slides over the face).
RIGID = (*range(43, 52), *range(97, 106), 35, 39, 89, 93, *range(72, 87), 52, 61)
# The points nearest the detector's five: eye centres (means of two points), nose tip, mouth corners.
FIVE = ((34, 38), (88, 92), (86,), (52,), (61,))


def five_points(points: np.ndarray) -> np.ndarray:
    """(..., 106, 2) points to (..., 5, 2) in the detector's order: eyes, nose tip, mouth corners."""
    points = np.asarray(points, dtype=np.float64)
    return np.stack([points[..., list(group), :].mean(axis=-2) for group in FIVE], axis=-2)
