"""A rough 3-D head carrying the 106 landmark points, a pinhole camera, and pictures of it.

Units are the eye distance (about 63 mm on an adult): x to the subject's left (the image's right),
y down, z towards the camera, the origin between the eyes. The shape is coarse (an ellipse for
each eye, a ridge for the nose, an arc for the jaw) but the depths follow a real face: the nose tip
stands about half an eye distance in front of the eyes, the outer eye corners sit back, the jaw
curves away. Only what the liveness check reads has to be in the right place: the eye outlines in
order, the rigid points, the detector's five.
"""

from __future__ import annotations

import numpy as np

from faceattend_tui.vision.layout106 import LEFT_EYE, POINTS, RIGHT_EYE, five_points

FOCAL = 560.0  # pixels, about a 60-degree webcam at 640 x 480


def _eye(points: np.ndarray, outline: tuple, centre_x: float) -> None:
    """An eye as an ellipse: outer corner first, then the lower lid, inner corner, upper lid."""
    outward = np.sign(centre_x)
    for k, index in enumerate(outline):
        angle = k * np.pi / 4
        x = centre_x + outward * 0.24 * np.cos(angle)
        y = 0.09 * np.sin(angle)
        corner_depth = -0.12 - 0.18 * max(0.0, outward * (x - centre_x)) / 0.24
        points[index] = (x, y, corner_depth)


def _brow(points: np.ndarray, indices: range, side: float) -> None:
    for k, index in enumerate(indices):
        t = k / (len(indices) - 1)  # 0 at the inner end
        x = side * (0.2 + 0.65 * t)
        points[index] = (x, -0.33 - 0.06 * np.sin(np.pi * t), 0.02 - 0.35 * t)


def _nose(points: np.ndarray) -> None:
    for k, index in enumerate(range(72, 75)):  # bridge
        points[index] = (0.0, 0.08 + 0.14 * k, 0.08 + 0.12 * k)
    for k, index in enumerate(range(75, 86)):  # wings and nostrils, right to left
        angle = np.pi * k / 10
        points[index] = (-0.28 * np.cos(angle), 0.62 + 0.08 * np.sin(angle), 0.12 + 0.18 * np.sin(angle))
    points[80] = (0.0, 0.72, 0.3)
    points[86] = (0.0, 0.6, 0.5)  # tip


def _mouth(points: np.ndarray) -> None:
    for k, index in enumerate(range(52, 72)):  # outer lip line (12 points), then inner (8)
        angle, reach = (2 * np.pi * k / 12, 0.42) if k < 12 else (2 * np.pi * (k - 12) / 8, 0.3)
        points[index] = (-reach * np.cos(angle), 1.05 + 0.14 * np.sin(angle), 0.15 - 0.35 * abs(np.cos(angle)))
    points[52] = (-0.42, 1.05, -0.2)
    points[61] = (0.42, 1.05, -0.2)


def _jaw(points: np.ndarray) -> None:
    angles = np.linspace(np.pi, 0.0, 33)  # from the right ear, under the chin, to the left ear
    for index, angle in enumerate(angles):
        points[index] = (-1.05 * np.cos(angle), 0.05 + 1.65 * np.sin(angle), -1.0 + 0.9 * np.sin(angle))


def head() -> np.ndarray:
    """(106, 3) points of a frontal head."""
    points = np.zeros((POINTS, 3))
    _jaw(points)
    _eye(points, RIGHT_EYE, -0.5)
    _eye(points, LEFT_EYE, 0.5)
    points[[34, 38]] = (-0.5, 0.0, -0.08)
    points[[88, 92]] = (0.5, 0.0, -0.08)
    _brow(points, range(43, 52), -1.0)
    _brow(points, range(97, 106), 1.0)
    _nose(points)
    _mouth(points)
    return points


def close_eyes(points: np.ndarray, amount: float) -> np.ndarray:
    """The head with its upper lids lowered: 0 open, 1 shut (upper lid on the lower lid)."""
    out = points.copy()
    for outline in (RIGHT_EYE, LEFT_EYE):
        upper, lower = outline[5:8], outline[3:0:-1]  # pairs above each other, inner to outer
        for top, bottom in zip(upper, lower, strict=True):
            out[top, 1] += amount * (points[bottom, 1] - points[top, 1])
    return out


def rotation(yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0) -> np.ndarray:
    """Rotation (degrees): yaw turns the face to its left, pitch lifts the chin, roll tilts in plane."""
    y, p, r = np.radians([yaw, pitch, roll])
    turn = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    nod = np.array([[1, 0, 0], [0, np.cos(p), np.sin(p)], [0, -np.sin(p), np.cos(p)]])
    tilt = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return tilt @ nod @ turn


def project(points: np.ndarray, distance: float, centre=(320.0, 240.0)) -> np.ndarray:
    """Pinhole view of points placed `distance` eye widths in front of the camera, (N, 2) pixels."""
    depth = distance - points[:, 2]
    return FOCAL * points[:, :2] / depth[:, None] + np.asarray(centre)


def picture(points2d: np.ndarray, eye_px: float) -> np.ndarray:
    """A flat photo of a face: 2-D points laid on the z = 0 plane, in eye-width units."""
    centre = five_points(points2d)[:2].mean(axis=0)
    flat = np.zeros((len(points2d), 3))
    flat[:, :2] = (points2d - centre) / eye_px
    return flat


def box_of(points2d: np.ndarray) -> np.ndarray:
    """A detector-like box around the points (a little above the brows)."""
    low, high = points2d.min(axis=0), points2d.max(axis=0)
    pad = 0.15 * (high[1] - low[1])
    return np.array([low[0], low[1] - pad, high[0], high[1]], dtype=np.float32)
