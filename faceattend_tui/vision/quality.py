"""How much detail an aligned face holds: too little, and its template is no one's.

Templates of blurred faces lie close to each other, whoever is blurred: a blurred enrollment photo
draws the blurred faces of strangers and of other people at the door to its owner (measured: 10 of
100 people enrolled from motion-blurred photos took 7 of 170 blurred faces of others and 6 of 119
blurred strangers). `detail` is the least variance of the face's second derivative along four
directions: blur along any one of them (a moving head) takes that one down, where the Laplacian,
which sums them, stays high. `benchmarks/blurred_photos.py` measures the floor.
"""

from __future__ import annotations

import cv2
import numpy as np

BLUR_FLOOR = 3.0  # detail below which a face is too blurred to enroll (clean LFW photos: none under 4)
EDGE = 8  # pixels of the aligned face's border left out (padding of the alignment)
_DIRECTIONS = (
    np.array([[1, -2, 1]], np.float32),
    np.array([[1], [-2], [1]], np.float32),
    np.array([[1, 0, 0], [0, -2, 0], [0, 0, 1]], np.float32),
    np.array([[0, 0, 1], [0, -2, 0], [1, 0, 0]], np.float32),
)


def detail(crop: np.ndarray) -> float:
    """The aligned face's detail along its blurriest direction (BGR or grey crop)."""
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    grey = grey.astype(np.float32)
    inner = (slice(EDGE, -EDGE), slice(EDGE, -EDGE))
    return min(float(cv2.filter2D(grey, -1, kernel)[inner].var()) for kernel in _DIRECTIONS)


def blurred(crop: np.ndarray) -> bool:
    return detail(crop) < BLUR_FLOOR
