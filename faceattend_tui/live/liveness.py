"""Liveness: is the face on a track a person, or a picture of one held up to the camera?

A picture cannot blink, and however it is moved, turned or tilted, the points on it map from one
frame to the next by a single homography. So a track becomes live on kinds of evidence gathered over
its frames (which ones count is a rule; "auto", the documented choice, takes a blink, depth or
texture; "blink+depth" is the "auto" of the previous release):

- blink: both eyes close well below their own open level and open again, quickly (a real blink
  takes 0.1-0.4 s; a printout bent about its width and nodded narrows its eyes more slowly), while
  the rest of the face holds still. Eye openness is the area of the eye outline over the area of the
  eye-corner/mouth-corner quadrilateral, a ratio that a flat tilt of a picture leaves unchanged;
  the stillness condition is there because the landmark model itself reads the eyes of a print
  as shut when the print is swept fast (blur) or turned far within a frame or two.
- 3-D motion: a homography fitted to the rigid points (brows, eye corners, nose, mouth corners) of
  two frames leaves a residual, over the eye distance, that a flat picture cannot produce, pointing
  mostly one way as parallax does. Caution: with the 2d106det landmarks, a flat print tilted far
  or shaken leaves larger residuals than a real 15-degree head turn (benchmarks/bench_liveness.py),
  so this evidence does not keep pictures out (modes "motion", "either", "both").
- depth: the nose tip leaves the plane of the eye and mouth corners (the homography of those
  points does not take it where it goes), read alike by the 106-point model and the detector's five
  points, in 3 frames in a row, between frames that foreshorten the face by at most 3 % and on a
  face within about 30 degrees of frontal (where the models do not invent a turned head's nose
  for a picture tilted far). Both models read a head's depths into any face, so a printout bent
  into a curve passes that much; the pixels decide (nose_in_pixels): in the face crops, the nose
  tip must stand out, along that parallax, from a smooth (quadratic) surface fitted to the flow of
  the cheeks, brow and chin, and its own pixels must move by most of the parallax the landmarks
  read. A sheet bent about any axis moves as such a surface, and the nose printed on it moves by
  the sheet's curve only; a nose is a peak that moves as far as the landmarks say.
- speech (measured, not offered): the mouth opening over the face quadrilateral varies. Small or
  blurred pictures read as moving as much, so "auto" does not count it.
- texture (pixels; counted by "auto", or alone as "texture"): the texture of a
  flat picture's face moves from one frame to the next by one homography, a talking face's does
  not (the mouth moves against the rest). A fixed-size grey crop of each face (face_crop) is put
  onto the crop of about 0.27 s before by the homography of the rigid points; dense optical flow
  then leaves, in the mouth region, what one homography of the whole face's flow does not explain,
  compared with what the eye, brow and nose regions leave under their own. Enough such frame pairs
  in the window make the track live, if the landmarks also see the mouth open and close: the edge
  of a sheet curled across the chin moves against the face too, and its mouth stays as printed.

A track whose picture was seen to tilt a lot with no residual moved like a flat object: it is
reported as "spoof", which live evidence can still overturn. Otherwise the answer is "waiting",
with what is missing. Pure logic on numpy (OpenCV only for the texture cue's crops and flow); the
time comes from the caller.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike

from faceattend_tui.vision.layout106 import FACE_QUAD, LEFT_EYE, POINTS, RIGHT_EYE, RIGID, five_points

EVIDENCE_MODES = ("blink", "motion", "either", "both", "depth", "speech", "texture", "blink+depth", "auto")
TEXTURE_MODES = ("texture", "auto")  # the modes that take the texture cue
DEPTH_MODES = ("depth", "auto", "blink+depth")  # the modes that take the depth cue
BLINK = "blink"
TURN = "turn your head a little"
BLINK_OR_TURN = "blink or turn your head a little"
SPEAK = "say your name"
CLOSER = "come closer"


@dataclass(frozen=True)
class LivenessRules:
    """Every threshold of the check; the values in use are chosen in one place by the caller."""

    evidence: str  # what makes a track live: "blink", "motion", "either" or "both"
    window_seconds: float  # observations older than this are forgotten (evidence found stays)
    min_eye_distance: float  # pixels between the eye centres; smaller faces give no evidence
    max_point_error: float  # 106-point vs detector's five points, over eye distance; worse frames are dropped
    baseline_frames: int  # frames needed before the open-eye level is trusted
    blink_ratio: float  # both eyes under this fraction of their open level: closed
    open_ratio: float  # over this fraction: open
    blink_max_seconds: float  # from the last open frame before a blink to the first one after
    blink_min_open: float  # open level (eye area over face area) under which blinks are not looked for
    blink_max_speed: float  # eye widths per second the face may move during a blink
    blink_max_tilt: float  # foreshortening the face may change by during a blink
    reference_lag: float  # seconds: each frame is compared with frames at least this much older
    max_references: int  # how many of those, spread over the window
    parallax_min: float  # homography residual over eye distance that counts as 3-D
    parallax_max: float  # residual above this is a failed or swapped face, not motion
    parallax_alignment: float  # share of the residual along its main direction (0.5: none, 1: all)
    parallax_frames: int  # frames in a row that must show 3-D motion
    flat_tilt: float | None  # foreshortening (1 - minor/major scale) of a flat-moving picture; None: no spoof
    flat_residual: float  # residual under which a tilted frame moved like a flat picture
    flat_frames: int  # such frames before the track is called a spoof
    # 3-D depth: the nose tip leaves the plane of the eye and mouth corners (both landmark models agree)
    depth_min: float = 0.08  # nose parallax over eye distance, the smaller of the two models' readings
    depth_max: float = 0.6  # above this: a failed or swapped face, not motion
    depth_agree: float = 0.5  # cosine between the two models' parallax directions
    depth_tilt: float = 0.03  # the face may foreshorten by at most this between the two frames compared
    depth_frames: int = 3  # frames in a row that must show it
    depth_max_turn: float = 0.15  # both frames: foreshortening of the face against a frontal one, at most
    depth_bump: float = 0.2  # the nose tip's pixels off the face's smooth surface, over its parallax (0: not read)
    depth_moves: float = 0.5  # and the share of that parallax the nose tip's own pixels move by, at least
    # speech (or any expression): the mouth opening, over the face quadrilateral, varies over the window
    mouth_range: float = 0.06  # spread (90th minus 10th percentile) of that ratio that counts as speech
    mouth_min_frames: int = 8  # usable frames in the window before the spread is judged
    mouth_max_speed: float = 1e9  # eye widths per second: faster frames (blurred, misread) do not count
    # texture: the face crop's picture does not move as one plane (the mouth moves against the rest)
    texture_lag: float = 0.27  # seconds: each frame's crop is compared with the one about this much older
    texture_min: float = 0.8  # mouth residual motion, pixels of the 64-px crop (median), at least
    texture_ratio: float = 2.0  # and this many times the residual of the eye, brow and nose regions
    texture_floor: float = 0.3  # pixels: that residual is taken as at least this (the noise of a smooth crop)
    texture_max_align: float = 1e9  # pixels: pairs the landmarks aligned worse than this do not count
    texture_max_speed: float = 1e9  # eye widths per second: faster pairs (blurred) do not count
    texture_frames: int = 8  # frame pairs within the window that must show it
    texture_mouth: float = 0.05  # and the mouth opening's spread over the window (as speech measures it)

    @property
    def needs_crops(self) -> bool:
        """Whether the observations need face crops: for the texture cue, and for the depth cue's
        reading of the nose in pixels (without crops, the depth cue then gives no evidence)."""
        return self.evidence in TEXTURE_MODES or (self.evidence in DEPTH_MODES and self.depth_bump > 0)

    def __post_init__(self) -> None:
        if self.evidence not in EVIDENCE_MODES:
            raise ValueError(f"evidence must be one of {', '.join(EVIDENCE_MODES)}, not {self.evidence!r}")
        if not 0 < self.blink_ratio < self.open_ratio <= 1:
            raise ValueError("need 0 < blink_ratio < open_ratio <= 1")
        if not self.parallax_min < self.parallax_max:
            raise ValueError("parallax_min must be under parallax_max")


# The values in use, tuned in benchmarks/bench_liveness.py --footage on real people (talking clips
# scaled to 60-200 px faces, camera noise) against real attack photos and synthetic pictures moved
# as cards (none accepted) and synthetic printouts bent into curves (1 of 88 accepted, a tight curl;
# 1 of 88 of other portraits, not used in tuning). The station's `liveness` setting chooses the evidence ("auto": a
# blink, depth or texture). Not offered: the old 3-D motion cue ("motion", "either": a flat print tilted or
# shaken leaves larger homography residuals than a real head turn) and speech (a blurred or small
# picture's mouth reads as moving as much as a speaker's).
RECOMMENDED = LivenessRules(
    evidence="blink", window_seconds=3.0, min_eye_distance=24.0, max_point_error=0.25,
    baseline_frames=5, blink_ratio=0.5, open_ratio=0.8, blink_max_seconds=0.6, blink_min_open=0.008,
    blink_max_speed=2.0, blink_max_tilt=0.2,
    reference_lag=0.3, max_references=4, parallax_min=0.03, parallax_max=0.4, parallax_alignment=0.7,
    parallax_frames=3, flat_tilt=0.2, flat_residual=0.02, flat_frames=5,
    depth_min=0.08, depth_max=0.6, depth_agree=0.5, depth_tilt=0.03, depth_frames=3, depth_max_turn=0.15,
    mouth_range=0.06, mouth_min_frames=8,
)


@dataclass(frozen=True)
class Observation:
    """One frame of a track: the 106 points, the detector's five points and box, in image pixels."""

    time: float
    points: np.ndarray  # (106, 2)
    landmarks: np.ndarray  # (5, 2)
    box: np.ndarray  # (4,) x1, y1, x2, y2
    crop: np.ndarray | None = None  # (CROP, CROP) uint8 grey face crop (face_crop), for the texture cue


# The texture cue's face crop: a fixed-size grey square around the detector box, cut the same way
# by the station (gate.py) and the benchmarks, so that points map into it from the box alone.
CROP = 64
CROP_MARGIN = 1.0  # the square's side over the box's larger side


def crop_window(box: ArrayLike) -> tuple[int, int, int]:
    """(x0, y0, side) in integer image pixels of the square a face crop is cut from."""
    x1, y1, x2, y2 = (float(v) for v in np.asarray(box, np.float64).reshape(4))
    side = max(int(round(max(x2 - x1, y2 - y1) * CROP_MARGIN)), 8)
    return int(round((x1 + x2 - side) / 2)), int(round((y1 + y2 - side) / 2)), side


def crop_inside(box: ArrayLike, shape: tuple[int, ...]) -> bool:
    """Whether crop_window(box) lies within an image of this shape (height, width, ...)."""
    x0, y0, side = crop_window(box)
    return x0 >= 0 and y0 >= 0 and x0 + side <= shape[1] and y0 + side <= shape[0]


def face_crop(frame: np.ndarray, box: ArrayLike, size: int = CROP) -> np.ndarray | None:
    """The (size, size) grey crop of crop_window(box), or None when that square leaves the frame
    (a face at the edge gives no texture evidence: padding would move against the picture)."""
    import cv2

    if not crop_inside(box, frame.shape):
        return None
    x0, y0, side = crop_window(box)
    roi = frame[y0 : y0 + side, x0 : x0 + side]
    grey = cv2.cvtColor(roi, cv2.COLOR_BGR2GRAY) if roi.ndim == 3 else roi
    return cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA)


def to_crop(points: np.ndarray, box: ArrayLike, size: int = CROP) -> np.ndarray:
    """Image points to the pixel coordinates of face_crop(frame, box, size)."""
    x0, y0, side = crop_window(box)
    return (np.asarray(points, np.float64) - [x0, y0]) * (size / side) + (size / side - 1) / 2


@dataclass(frozen=True)
class Evidence:
    """What the check saw on a track, for the record a check-in keeps."""

    frames: int  # observations received
    used: int  # of those, close and clear enough to judge
    first_time: float | None
    blink_time: float | None = None  # when the eyes opened again after the first blink
    blink_depth: float | None = None  # openness at the bottom of that blink, over the open level
    motion_time: float | None = None  # when 3-D motion was confirmed
    parallax: float | None = None  # its residual over eye distance
    alignment: float | None = None  # and how much of it pointed one way
    flat_frames: int = 0  # frames that tilted like a flat picture
    depth_time: float | None = None  # when the nose was seen off the face plane (3-D depth)
    depth: float | None = None  # that parallax over eye distance
    speech_time: float | None = None  # when the mouth was seen to move (speech, expression)
    mouth_range: float | None = None  # the spread of its opening
    texture_time: float | None = None  # when the face's picture was seen not to move as one plane
    texture: float | None = None  # the largest mouth residual over the rest's, of the pairs that showed it

    def as_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Measures:
    """What the latest usable frame showed (for a display of why a track waits, and benchmarks)."""

    time: float
    eyes: float  # the more open eye over its own open level (a blink takes it under blink_ratio)
    residual: float | None  # largest homography residual against the references, over eye distance
    alignment: float | None  # of that residual
    tilt: float | None  # largest foreshortening against the references


@dataclass(frozen=True)
class Verdict:
    state: str  # "live", "waiting" or "spoof"
    waiting_for: str | None  # while not live: BLINK, TURN, BLINK_OR_TURN or CLOSER
    evidence: Evidence

    @property
    def live(self) -> bool:
        return self.state == "live"


# --- geometry -------------------------------------------------------------------------------


def polygon_area(points: np.ndarray) -> float:
    """Area enclosed by a polygon given in drawing order (shoelace formula)."""
    x, y = np.asarray(points, dtype=np.float64).T
    return 0.5 * abs(float(x @ np.roll(y, -1) - y @ np.roll(x, -1)))


def eye_openness(points: np.ndarray) -> tuple[float, float]:
    """Each eye's outline area over the face quadrilateral's area: (right eye, left eye)."""
    face = max(polygon_area(points[list(FACE_QUAD)]), 1e-9)
    return polygon_area(points[list(RIGHT_EYE)]) / face, polygon_area(points[list(LEFT_EYE)]) / face


def eye_distance(landmarks: np.ndarray) -> float:
    """Pixels between the eye centres of five detector points."""
    return float(np.linalg.norm(np.asarray(landmarks[1], np.float64) - np.asarray(landmarks[0], np.float64)))


def _normalising(points: np.ndarray) -> np.ndarray:
    """Similarity moving points to mean 0 and mean distance sqrt(2) (for a well-conditioned fit)."""
    centre = points.mean(axis=0)
    spread = np.sqrt(((points - centre) ** 2).sum(axis=1).mean())
    scale = np.sqrt(2) / max(spread, 1e-12)
    return np.array([[scale, 0, -scale * centre[0]], [0, scale, -scale * centre[1]], [0, 0, 1]])


def fit_homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 3x3 least-squares (normalised DLT) homography taking src points onto dst, N >= 4."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    t_src, t_dst = _normalising(src), _normalising(dst)
    a = src @ t_src[:2, :2].T + t_src[:2, 2]
    b = dst @ t_dst[:2, :2].T + t_dst[:2, 2]
    rows = np.zeros((2 * len(a), 9))
    rows[0::2, 0:2], rows[0::2, 2] = a, 1
    rows[0::2, 6:8], rows[0::2, 8] = -b[:, :1] * a, -b[:, 0]
    rows[1::2, 3:5], rows[1::2, 5] = a, 1
    rows[1::2, 6:8], rows[1::2, 8] = -b[:, 1:2] * a, -b[:, 1]
    h = np.linalg.eigh(rows.T @ rows)[1][:, 0].reshape(3, 3)  # the null vector, least squares
    h = np.linalg.inv(t_dst) @ h @ t_src
    return h / h[2, 2] if abs(h[2, 2]) > 1e-12 else h


def apply_homography(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(N, 2) points through a 3x3 homography."""
    p = np.asarray(points, np.float64) @ h[:, :2].T + h[:, 2]
    return p[:, :2] / p[:, 2:3]


def foreshortening(h: np.ndarray, at: np.ndarray) -> float:
    """1 - minor/major scale of the homography near a point: 0 unturned, 1 - cos(a) for a flat turn by a."""
    x, y = at
    w = h[2, 0] * x + h[2, 1] * y + h[2, 2]
    u = apply_homography(h, np.array([at]))[0]
    jacobian = (h[:2, :2] - np.outer(u, h[2, :2])) / w
    major, minor = np.linalg.svd(jacobian, compute_uv=False)
    return float(1.0 - minor / max(major, 1e-12))


@dataclass(frozen=True)
class Planarity:
    residual: float  # RMS distance left by the homography, over eye distance
    alignment: float  # share of the residual along its main direction, 0.5 (none) to 1 (all)
    tilt: float  # foreshortening of the fitted homography at the face


def planarity(src: np.ndarray, dst: np.ndarray, eye_px: float) -> Planarity:
    """How well one homography explains the move of the rigid points from src to dst."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    h = fit_homography(src, dst)
    left = dst - apply_homography(h, src)
    residual = float(np.sqrt((left**2).sum(axis=1).mean()) / max(float(eye_px), 1e-9))
    spread = np.linalg.eigvalsh(left.T @ left)  # ascending
    alignment = float(spread[1] / spread.sum()) if spread.sum() > 0 else 0.5
    return Planarity(residual, alignment, foreshortening(h, src.mean(axis=0)))


# Where the 2d106det model puts the points of the depth and speech cues (see layout106.py).
PLANE = (35, 39, 89, 93, 52, 61)  # eye corners and mouth corners: close to one plane on a head
NOSE_TIP = 86
INNER_LIP = (65, 66, 62, 70, 69, 57, 60, 54)  # the mouth opening, in drawing order


# The detector's eyes and mouth corners on a frontal face (ArcFace's alignment template, pixels).
FRONTAL_CORNERS = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [41.5493, 92.3655], [70.7299, 92.2041]])


def turned_away(five: np.ndarray) -> float:
    """Foreshortening of the detector's eye and mouth corners against a frontal face's (0: frontal)."""
    return affine_foreshortening(FRONTAL_CORNERS, np.asarray(five, np.float64)[[0, 1, 3, 4]])


def mouth_openness(points: np.ndarray) -> float:
    """Inner-lip area over the face quadrilateral's area (unchanged by a flat tilt of a picture)."""
    return polygon_area(points[list(INNER_LIP)]) / max(polygon_area(points[list(FACE_QUAD)]), 1e-9)


def affine_foreshortening(src: np.ndarray, dst: np.ndarray) -> float:
    """1 - minor/major scale of the least-squares affine map taking src points onto dst."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    design = np.c_[src - src.mean(axis=0), np.ones(len(src))]
    matrix = np.linalg.lstsq(design, dst - dst.mean(axis=0), rcond=None)[0][:2].T
    major, minor = np.linalg.svd(matrix, compute_uv=False)
    return float(1.0 - minor / max(major, 1e-12))


def off_plane(src_plane: np.ndarray, dst_plane: np.ndarray, src_point: ArrayLike, dst_point: ArrayLike) -> np.ndarray:
    """Where a point ends up, minus where the homography of the plane points takes it (pixels)."""
    h = fit_homography(src_plane, dst_plane)
    return np.asarray(dst_point, np.float64) - apply_homography(h, np.asarray(src_point, np.float64)[None])[0]


@dataclass(frozen=True)
class Depth:
    parallax: float  # the smaller of the two models' nose parallax, over eye distance
    agreement: float  # cosine between their directions
    tilt: float  # affine foreshortening of the detector's eye and mouth corners between the frames
    turned: float  # the larger foreshortening of the two frames against a frontal face


def depth_between(ref: Frame, cur: Frame) -> Depth:
    """The nose's departure from the plane of the eye and mouth corners, read by both landmark models.

    A flat picture keeps every point on one plane however it moves, so its nose goes where the
    homography of the eye and mouth corners sends it; a head's nose, well in front of them, does not.
    The 106-point model and the detector's five points each give a reading; a picture tilted far
    can fool one of them (they place a nose where a turned head would have it), hence both must
    agree, and the face must not foreshorten between the two frames as a tilted picture does.
    """
    eye = (ref.eye_px + cur.eye_px) / 2
    ref_five, cur_five = _given(ref.five), _given(cur.five)
    dense = off_plane(_given(ref.plane), _given(cur.plane), _given(ref.nose), _given(cur.nose)) / eye
    corners = [0, 1, 3, 4]
    sparse = off_plane(ref_five[corners], cur_five[corners], ref_five[2], cur_five[2]) / eye
    a, b = float(np.linalg.norm(dense)), float(np.linalg.norm(sparse))
    agreement = float(dense @ sparse / max(a * b, 1e-12))
    return Depth(min(a, b), agreement, affine_foreshortening(ref_five[corners], cur_five[corners]),
                 max(turned_away(ref_five), turned_away(cur_five)))


def _given(array: np.ndarray | None) -> np.ndarray:
    """An optional part of a frame that the caller made sure of."""
    if array is None:
        raise ValueError("the frame lacks what this measure reads")
    return array


# --- the nose in pixels: a peak on a head, no more than the sheet's curve on a bent picture -------

UPPER = (*range(33, 52), *range(87, 106))  # eyes and brows
MOUTH = tuple(range(52, 72))
NOSE = tuple(range(72, 87))
NOSE_ZONE = (0.15, 0.12, 0.12)  # eye distances around the nose, eye and mouth points left out of the surface
TIP_RADIUS = 0.08  # eye distances: the nose tip's pixels


def _discs(mask: np.ndarray, points: np.ndarray, radius: float, value: int) -> None:
    """Paint a disc of radius (pixels) around each point into mask (to a sixteenth of a pixel)."""
    import cv2

    for x, y in np.round(np.asarray(points, np.float64) * 16).astype(int).tolist():
        cv2.circle(mask, (x, y), int(round(radius * 16)), value, -1, cv2.LINE_8, 4)


def _quadratic(at: np.ndarray) -> np.ndarray:
    """(N, 6) the terms of a quadratic surface in x and y."""
    x, y = at[:, 0], at[:, 1]
    return np.c_[np.ones_like(x), x, y, x * x, x * y, y * y]


@dataclass(frozen=True)
class NoseInPixels:
    """The nose tip's motion in the face crops between two frames, as shares of the parallax the
    landmarks read for it (along that parallax)."""

    stands_out: float  # off the smooth surface fitted to the rest of the face: a head's about a third
    moves: float  # its own pixels' motion: most of the parallax on a head, the sheet's curve on a print


def nose_in_pixels(ref: Frame, cur: Frame) -> NoseInPixels | None:
    """How the nose tip's own pixels moved between two frames, against the parallax the landmarks
    read for it; None without crops.

    The landmark models read a head's depths into any face: on a printout bent into a curve they
    put the nose where a turned head would have it. The pixels do not: the current crop is put
    onto the reference by the homography of the eye and mouth corners, and dense optical flow is
    what that plane leaves. On a sheet bent about any axis (or a flat one) that flow is a smooth
    surface, close to a quadratic over the face, and small at the nose; a head's nose tip stands
    out from the quadratic fitted to the cheeks, brow and chin, along the parallax, by about a third
    of it, and moves by most of it.
    """
    import cv2

    if ref.crop is None or cur.crop is None or ref.crop_points is None or cur.crop_points is None:
        return None
    size = ref.crop.shape[0]
    plane, points = list(PLANE), ref.crop_points
    h = fit_homography(cur.crop_points[plane], points[plane])
    warped = cv2.warpPerspective(cur.crop, h, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    flow = cv2.calcOpticalFlowFarneback(ref.crop, warped, None, 0.5, 2, 9, 3, 5, 1.1, 0).reshape(-1, 2)
    parallax = apply_homography(h, cur.crop_points[[NOSE_TIP]])[0] - points[NOSE_TIP]
    eye = eye_distance(five_points(points))
    surface, tip = _surface_and_tip(points, eye, size)
    if surface.sum() < 12 or not tip.any():
        return None
    yy, xx = np.divmod(np.arange(size * size), size)
    at = (np.c_[xx, yy].astype(np.float64) - points[NOSE_TIP]) / max(eye, 1e-9)
    fitted = np.linalg.lstsq(_quadratic(at[surface]), flow[surface], rcond=None)[0]
    tip_flow = flow[tip].mean(axis=0)
    along = parallax / max(float(parallax @ parallax), 1e-9)
    # fitted[0]: the quadratic's value at the tip (x = y = 0 there)
    return NoseInPixels(float((tip_flow - fitted[0]) @ along), float(tip_flow @ along))


def _surface_and_tip(points: np.ndarray, eye: float, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(size * size,) masks of the crop: the face's surface (inside the jaw and brows, away from the
    nose, eyes and mouth, which move on their own or stand out) and the nose tip."""
    import cv2

    surface = np.zeros((size, size), np.uint8)
    outline = points[[*range(0, 33), *range(43, 52), *range(97, 106)]].astype(np.float32)
    cv2.fillConvexPoly(surface, np.round(cv2.convexHull(outline)).astype(np.int32), 1)
    nose, eyes, mouth = NOSE_ZONE
    for idx, grow in ((NOSE, nose), ((*LEFT_EYE, *RIGHT_EYE), eyes), (MOUTH, mouth)):
        _discs(surface, points[list(idx)], grow * eye, 0)
    tip = np.zeros((size, size), np.uint8)
    _discs(tip, points[[NOSE_TIP]], TIP_RADIUS * eye, 1)
    return surface.ravel() > 0, tip.ravel() > 0


# --- texture: does the face's picture move as one plane? ----------------------------------------



@dataclass(frozen=True)
class Texture:
    mouth: float  # residual motion in the mouth region under the face's homography, crop pixels (median)
    rest: float  # the larger residual of the eye-and-brow and nose regions under their own homography
    aligned: float  # median flow of those regions once the landmarks' homography aligned the crops


def _region(points: np.ndarray, grow: float, size: int) -> tuple[slice, slice]:
    """Every other pixel of the points' bounding box, grown by a share of its size, within the crop."""
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = (hi - lo) * grow
    (x0, y0), (x1, y1) = np.clip(np.floor(lo - pad), 0, size - 1), np.clip(np.ceil(hi + pad), 0, size - 1)
    return slice(int(y0), int(y1) + 1, 2), slice(int(x0), int(x1) + 1, 2)


def texture_between(ref: Frame, cur: Frame) -> Texture:
    """Motion left in the face crop once the current one is put onto the reference by one homography.

    The crops are aligned by the homography of the rigid points; dense optical flow between the
    reference crop and the warped current one is what that plane leaves. A homography fitted to the
    flow of the eye, brow, nose and mouth regions (the landmarks' error, as a flat picture would move)
    then leaves the mouth's own motion; the same fitted to the eye, brow and nose regions alone gives
    the noise level. A flat picture leaves noise everywhere; a talking face moves its mouth.
    """
    import cv2

    ref_crop, cur_crop, ref_points = _given(ref.crop), _given(cur.crop), _given(ref.crop_points)
    size = ref_crop.shape[0]
    h = fit_homography(_given(cur.crop_points)[list(RIGID)], ref_points[list(RIGID)])
    warped = cv2.warpPerspective(cur_crop, h, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    flow = cv2.calcOpticalFlowFarneback(ref_crop, warped, None, 0.5, 2, 9, 3, 5, 1.1, 0)
    samples = {}
    for name, idx, grow in (("upper", UPPER, 0.05), ("nose", NOSE, 0.1), ("mouth", MOUTH, 0.15)):
        rows, cols = _region(ref_points[list(idx)], grow, size)
        yy, xx = np.meshgrid(np.arange(size)[rows], np.arange(size)[cols], indexing="ij")
        samples[name] = np.c_[xx.ravel(), yy.ravel()].astype(np.float64), flow[rows, cols].reshape(-1, 2)
    rigid = np.vstack([samples["upper"][0], samples["nose"][0]])
    rigid_flow = np.vstack([samples["upper"][1], samples["nose"][1]])
    every = np.vstack([rigid, samples["mouth"][0]])
    face = fit_homography(every, every + np.vstack([rigid_flow, samples["mouth"][1]]))
    rest = fit_homography(rigid, rigid + rigid_flow)

    def left(name: str, model: np.ndarray) -> float:
        at, moved = samples[name]
        return float(np.median(np.linalg.norm(moved - (apply_homography(model, at) - at), axis=1)))

    aligned = float(np.median(np.linalg.norm(rigid_flow, axis=1)))
    return Texture(left("mouth", face), max(left("upper", rest), left("nose", rest)), aligned)


# --- the evidence ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """An observation reduced to what the rules look at."""

    time: float
    rigid: np.ndarray  # (len(RIGID), 2)
    eye_px: float
    openness: tuple[float, float]
    plane: np.ndarray | None = None  # (len(PLANE), 2) eye and mouth corners of the 106 points
    nose: np.ndarray | None = None  # (2,) nose tip of the 106 points
    five: np.ndarray | None = None  # (5, 2) the detector's points
    mouth: float = 0.0  # inner-lip area over the face quadrilateral's area
    crop: np.ndarray | None = None  # (CROP, CROP) grey face crop
    crop_points: np.ndarray | None = None  # (106, 2) the points in the crop's pixels


def find_blink(frames: list[Frame], rules: LivenessRules) -> tuple[float, float] | None:
    """(time the eyes opened again, depth) of the first blink in a run of frames, or None.

    Each eye's open level is its median over the run, and must be at least blink_min_open. A blink:
    both eyes under blink_ratio of it, between two frames where both are over open_ratio, no more
    than blink_max_seconds apart, with the face held still in between (see held_still).
    """
    if len(frames) < rules.baseline_frames:
        return None
    openness = np.array([f.openness for f in frames]).reshape(-1, 2)
    level = np.median(openness, axis=0)
    if level.min() < rules.blink_min_open:
        return None
    ratio = openness / level
    closed = (ratio < rules.blink_ratio).all(axis=1)
    opened = (ratio > rules.open_ratio).all(axis=1)
    last_open = None
    for i in np.flatnonzero(opened).tolist():
        if last_open is not None and _is_blink(frames, last_open, i, closed, rules):
            return frames[i].time, float(ratio[last_open + 1 : i].max(axis=1).min())
        last_open = i
    return None


def find_speech(frames: list[Frame], rules: LivenessRules) -> tuple[float, float] | None:
    """(time, spread) once the mouth opening has varied enough over the frames, or None.

    The opening is an area ratio a flat picture keeps however it is moved or tilted; a person who
    speaks, smiles or swallows changes it.
    """
    steady = [b for a, b in zip(frames[:-1], frames[1:], strict=True) if speed(a, b) <= rules.mouth_max_speed]
    if len(steady) < rules.mouth_min_frames:
        return None
    spread = mouth_spread(steady)
    return (frames[-1].time, spread) if spread >= rules.mouth_range else None


def mouth_spread(frames: list[Frame]) -> float:
    """How much the mouth opening varied over the frames: its 90th minus its 10th percentile."""
    if not frames:
        return 0.0
    mouth = np.array([f.mouth for f in frames])
    return float(np.percentile(mouth, 90) - np.percentile(mouth, 10))


def speed(a: Frame, b: Frame) -> float:
    """How fast the face moved from one frame to the next: eye widths per second (median rigid point)."""
    step = np.median(np.linalg.norm(b.rigid - a.rigid, axis=1)) / ((a.eye_px + b.eye_px) / 2)
    return float(step / max(b.time - a.time, 1e-6))


def _is_blink(frames: list[Frame], start: int, end: int, closed: np.ndarray, rules: LivenessRules) -> bool:
    """Whether the frames strictly between two open ones make a blink."""
    if end - start < 2 or not closed[start + 1 : end].any():
        return False
    if frames[end].time - frames[start].time > rules.blink_max_seconds:
        return False
    return held_still(frames[start : end + 1], rules)


def held_still(frames: list[Frame], rules: LivenessRules) -> bool:
    """The face kept its place and its tilt from the open frame before a dip to the one after.

    A print waved or tilted fast blurs and foreshortens its eyes until the landmarks read them as
    shut; a person blinks without moving the rest of the face.
    """
    for a, b in zip(frames[:-1], frames[1:], strict=True):
        if speed(a, b) > rules.blink_max_speed:
            return False
    ends = (frames[0], frames[-1])
    for middle in frames[1:-1]:
        for end in ends:
            if planarity(end.rigid, middle.rigid, end.eye_px).tilt > rules.blink_max_tilt:
                return False
    return True


def choose_references(frames: list[Frame], now: float, rules: LivenessRules) -> list[Frame]:
    """Up to max_references frames at least reference_lag old, spread evenly over the window."""
    old = [f for f in frames if now - f.time >= rules.reference_lag]
    if len(old) <= rules.max_references:
        return old
    picks = np.linspace(0, len(old) - 1, rules.max_references).round().astype(int)
    return [old[i] for i in sorted(set(picks.tolist()))]


class LivenessCheck:
    """The evidence of one track, fed one observation per frame in time order."""

    def __init__(self, rules: LivenessRules):
        self.rules = rules
        self.frames: deque[Frame] = deque()
        self.received = 0
        self.used = 0
        self.first_time: float | None = None
        self.blink: tuple[float, float] | None = None
        self.motion: tuple[float, Planarity] | None = None
        self.motion_run = 0
        self.flat_frames = 0
        self.depth: tuple[float, float] | None = None  # (time, parallax) of the 3-D depth evidence
        self.depth_run = 0
        self.speech: tuple[float, float] | None = None  # (time, spread) of the speech evidence
        self.texture: tuple[float, float] | None = None  # (time, ratio) of the texture evidence
        self.texture_seen: list[tuple[float, float]] = []  # (time, ratio) of the pairs that showed it
        self.too_small = False
        self._last: tuple[Frame, list[Planarity]] | None = None  # the latest usable frame and its comparisons

    @property
    def latest(self) -> Measures | None:
        """What the latest usable frame showed (computed on demand; the window is unchanged since)."""
        if self._last is None:
            return None
        frame, seen = self._last
        return _measures(frame, np.array([f.openness for f in self.frames]).reshape(-1, 2), seen)

    @property
    def done(self) -> bool:
        """Live already: no more observations (and no more landmark runs) are needed."""
        return self._live()

    def add(self, observation: Observation) -> Verdict:
        """Take one frame's observation and say where the track stands."""
        self.received += 1
        if self.first_time is None:
            self.first_time = observation.time
        if not self._live():
            frame = self._frame(observation)
            if frame is not None:
                self._use(frame)
        return self.verdict()

    def verdict(self) -> Verdict:
        if self._live():
            return Verdict("live", None, self.evidence())
        rules = self.rules
        if rules.flat_tilt is not None and self.flat_frames >= rules.flat_frames:
            return Verdict("spoof", self._missing(), self.evidence())
        return Verdict("waiting", self._missing(), self.evidence())

    def evidence(self) -> Evidence:
        blink_time, blink_depth = self.blink if self.blink else (None, None)
        motion_time, seen = self.motion if self.motion else (None, None)
        return Evidence(
            frames=self.received, used=self.used, first_time=self.first_time,
            blink_time=blink_time, blink_depth=blink_depth, motion_time=motion_time,
            parallax=seen.residual if seen else None, alignment=seen.alignment if seen else None,
            flat_frames=self.flat_frames, depth_time=self.depth[0] if self.depth else None,
            depth=self.depth[1] if self.depth else None, speech_time=self.speech[0] if self.speech else None,
            mouth_range=self.speech[1] if self.speech else None,
            texture_time=self.texture[0] if self.texture else None, texture=self.texture[1] if self.texture else None,
        )

    # -- internals --

    def _live(self) -> bool:
        mode = self.rules.evidence
        blink, motion = self.blink is not None, self.motion is not None
        depth, speech, texture = self.depth is not None, self.speech is not None, self.texture is not None
        return {"blink": blink, "motion": motion, "either": blink or motion, "both": blink and motion,
                "depth": depth, "speech": speech, "texture": texture, "blink+depth": blink or depth,
                "auto": blink or depth or texture}[mode]

    def _missing(self) -> str:
        if self.too_small:
            return CLOSER
        mode = self.rules.evidence
        if mode == "either":
            return BLINK_OR_TURN
        if mode in ("auto", "blink+depth"):
            return BLINK  # the one request every face can meet at once (a small head turn also counts)
        if mode == "depth":
            return TURN
        if mode in ("speech", "texture"):
            return SPEAK
        if mode == "motion" or (mode == "both" and self.blink is not None):
            return TURN
        return BLINK

    def _frame(self, observation: Observation) -> Frame | None:
        """The observation's measures, or None when the face is too small or its points disagree."""
        points = np.asarray(observation.points, np.float64).reshape(POINTS, 2)
        landmarks = np.asarray(observation.landmarks, np.float64).reshape(5, 2)
        eye_px = eye_distance(landmarks)
        self.too_small = eye_px < self.rules.min_eye_distance
        if self.too_small:
            return None
        error = np.linalg.norm(five_points(points) - landmarks, axis=1).mean() / eye_px
        if not np.isfinite(points).all() or error > self.rules.max_point_error:
            return None
        crop = getattr(observation, "crop", None)
        return Frame(float(observation.time), points[list(RIGID)], eye_px, eye_openness(points),
                     points[list(PLANE)], points[NOSE_TIP], landmarks, mouth_openness(points),
                     crop, None if crop is None else to_crop(points, observation.box, crop.shape[0]))

    def _use(self, frame: Frame) -> None:
        self.used += 1
        self._forget(frame.time)
        seen = self._compare(frame)
        self.frames.append(frame)
        if self.blink is None:
            self.blink = find_blink(list(self.frames), self.rules)
        if self.rules.evidence in DEPTH_MODES:
            self._look_for_depth(frame)
        if self.rules.evidence in TEXTURE_MODES and self.texture is None:
            self._look_for_texture(frame)
        if self.speech is None and self.rules.evidence == "speech":
            self.speech = find_speech(list(self.frames), self.rules)
        self._last = frame, seen

    def _look_for_depth(self, frame: Frame) -> None:
        rules = self.rules
        refs = [f for f in choose_references(list(self.frames)[:-1], frame.time, rules) if f.plane is not None]
        if frame.plane is None or not refs:
            return
        seen = [(ref, depth_between(ref, frame)) for ref in refs]
        solid = [d for ref, d in seen if rules.depth_min <= d.parallax <= rules.depth_max
                 and d.agreement >= rules.depth_agree and d.tilt <= rules.depth_tilt
                 and d.turned <= rules.depth_max_turn and self._nose_stands_out(ref, frame)]
        self.depth_run = self.depth_run + 1 if solid else 0
        if solid and self.depth is None and self.depth_run >= rules.depth_frames:
            self.depth = (frame.time, max(d.parallax for d in solid))

    def _nose_stands_out(self, ref: Frame, frame: Frame) -> bool:
        """The depth cue's check in pixels (see nose_in_pixels); read only for pairs the landmarks pass."""
        if self.rules.depth_bump <= 0:
            return True
        nose = nose_in_pixels(ref, frame)
        return nose is not None and nose.stands_out >= self.rules.depth_bump and nose.moves >= self.rules.depth_moves

    def _look_for_texture(self, frame: Frame) -> None:
        rules = self.rules
        if frame.crop is None:
            return
        older = [f for f in list(self.frames)[:-1]
                 if f.crop is not None and rules.texture_lag - 0.02 <= frame.time - f.time <= rules.texture_lag + 0.2]
        if older:
            seen = texture_between(older[-1], frame)
            ratio = seen.mouth / max(seen.rest, rules.texture_floor)
            if (seen.mouth >= rules.texture_min and ratio >= rules.texture_ratio
                    and seen.aligned <= rules.texture_max_align and speed(older[-1], frame) <= rules.texture_max_speed):
                self.texture_seen.append((frame.time, ratio))
        self.texture_seen = [s for s in self.texture_seen if frame.time - s[0] <= rules.window_seconds]
        if len(self.texture_seen) >= rules.texture_frames and mouth_spread(list(self.frames)) >= rules.texture_mouth:
            self.texture = (frame.time, max(r for _, r in self.texture_seen))

    def _forget(self, now: float) -> None:
        while self.frames and now - self.frames[0].time > self.rules.window_seconds:
            self.frames.popleft()

    def _compare(self, frame: Frame) -> list[Planarity]:
        """Parallax and flat-tilt tallies of a new frame against older ones."""
        rules = self.rules
        seen = [planarity(ref.rigid, frame.rigid, (ref.eye_px + frame.eye_px) / 2)
                for ref in choose_references(list(self.frames), frame.time, rules)]
        if not seen:
            return seen
        solid = [s for s in seen if rules.parallax_min <= s.residual <= rules.parallax_max
                 and s.alignment >= rules.parallax_alignment]
        self.motion_run = self.motion_run + 1 if solid else 0
        if solid and self.motion is None and self.motion_run >= rules.parallax_frames:
            self.motion = (frame.time, max(solid, key=lambda s: s.residual))
        if rules.flat_tilt is not None:
            flat = max(s.residual for s in seen) < rules.flat_residual
            if flat and max(s.tilt for s in seen) >= rules.flat_tilt:
                self.flat_frames += 1
        return seen


def _measures(frame: Frame, openness: np.ndarray, seen: list[Planarity]) -> Measures:
    eyes = float((np.asarray(frame.openness) / np.maximum(np.median(openness, axis=0), 1e-9)).max())
    if not seen:
        return Measures(frame.time, eyes, None, None, None)
    top = max(seen, key=lambda s: s.residual)
    return Measures(frame.time, eyes, top.residual, top.alignment, max(s.tilt for s in seen))


def assess(observations: list[Observation], rules: LivenessRules) -> Verdict:
    """The verdict after a whole sequence of one track's observations."""
    check = LivenessCheck(rules)
    verdict = check.verdict()
    for observation in observations:
        verdict = check.add(observation)
    return verdict
