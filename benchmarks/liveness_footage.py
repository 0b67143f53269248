"""Real footage for the liveness benchmark: what the models see of real people and of attack stills.

Real people (../shared/data/footage/real/talking_*.mp4): each clip is resampled to about 15 fps,
scaled so that the face is a door-sized 60, 90, 130 or 200 px wide (detector box), placed in a
640x480 frame, and given camera noise (Gaussian sensor noise, JPEG re-compression).

Attacks from real photos (../shared/data/footage/attacks/: a printed photo, a phone screen, a
plain photo of a real face): each still is used as the texture of a flat card held up to the
camera and moved, turned in plane, tilted in perspective, zoomed and shaken by hand (the motions of
bench_liveness.py), at the same face sizes. Plus the demo GIF (a real face, then a phone replay,
then a print), as it is and twice its size.

Every clip runs once through the detector, IoU tracking and the 106-point model; the observations
(with each face's 64-px grey crop, for the texture cue) are kept in a pickle (--cache) so that the
rules can be judged again in seconds:

    PYTHONPATH=. python benchmarks/liveness_footage.py --cache /tmp/liveness_footage.pkl

bench_liveness.py --footage FILE reads that file and prints the trade-off table.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np

from faceattend_tui.vision import landmarks106
from faceattend_tui.vision.models import DEFAULT_DETECTOR, DEFAULT_LANDMARKS, resolve_model
from faceattend_tui.vision.pipeline import central, load_detector
from faceattend_tui.vision.runtime import RuntimeOptions

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_liveness as bench  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FOOTAGE = ROOT.parent / "shared" / "data" / "footage"
FACE_SIZES = (60, 90, 130, 200)  # detector box width at the door, pixels
STILLS = {"print_F1": 1.0, "screen_F2": 0.4, "real_T1": 1.0}  # still -> size of its face over a real one
STILL_MOTIONS = ("moved", "rotated", "tilted", "distance", "handheld")
FPS = 15.0
SECONDS = 6.0


def read_video(path: Path, fps: float = FPS) -> tuple[list[np.ndarray], float]:
    """Frames resampled to about fps (every k-th frame), and the resulting frame rate."""
    capture = cv2.VideoCapture(str(path))
    native = capture.get(cv2.CAP_PROP_FPS) or fps
    step = max(1, round(native / fps))
    frames, i = [], 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        if i % step == 0:
            frames.append(frame)
        i += 1
    capture.release()
    return frames, native / step


def door_frame(frame: np.ndarray, scale: float, centre: np.ndarray, rng, sigma: float, quality: int) -> np.ndarray:
    """The frame scaled, centred on the face in a 640x480 picture (grey around it), with camera noise."""
    h, w = bench.SIZE
    small = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    cx, cy = centre * scale
    shift = np.array([[1, 0, w / 2 - cx], [0, 1, h / 2 - cy]], np.float32)
    out = cv2.warpAffine(small, shift, (w, h), borderMode=cv2.BORDER_CONSTANT, borderValue=(118, 118, 118))
    out = out.astype(np.float32) + rng.normal(0, sigma, out.shape)
    ok, data = cv2.imencode(".jpg", np.clip(out, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def face_geometry(frames: list[np.ndarray], detector) -> tuple[float, np.ndarray, float]:
    """Median face width, centre and eye distance of the central face over a few frames."""
    widths, centres, eyes = [], [], []
    for frame in frames[:: max(1, len(frames) // 8)]:
        face = central(detector.detect(frame), frame.shape)
        if face is not None:
            widths.append(face.width)
            centres.append(face.landmarks[:2].mean(axis=0))
            eyes.append(float(np.linalg.norm(face.landmarks[1] - face.landmarks[0])))
    return float(np.median(widths)), np.median(centres, axis=0), float(np.median(eyes))


def real_clips(detector, model, cache: dict, save) -> None:
    for path in sorted((FOOTAGE / "real").glob("talking_*.mp4")):
        frames, fps = read_video(path)
        width, centre, _ = face_geometry(frames, detector)
        for size in FACE_SIZES:
            key = ("real", path.stem, str(size), f"{fps:.2f}")
            if key in cache:
                continue
            rng = np.random.default_rng(zlib.crc32("/".join(key).encode()))
            sigma, quality = rng.uniform(3, 7), int(rng.integers(60, 85))
            door = [door_frame(f, size / width, centre, rng, sigma, quality) for f in frames]
            cache[key] = bench._plain(bench.observe(door, fps, detector, model, []))
            print(f"  {'/'.join(key)}: {len(door)} frames", flush=True)
            save()


def still_clips(detector, model, cache: dict, save) -> None:
    n = int(SECONDS * FPS)
    for name, size_io in STILLS.items():
        image = cv2.imread(str(FOOTAGE / "attacks" / f"{name}.jpg"))
        face = central(detector.detect(image), image.shape)
        eye_px = float(np.linalg.norm(face.landmarks[1] - face.landmarks[0]))
        sheet = bench.Sheet(image, face.landmarks[:2].mean(axis=0).astype(np.float64), eye_px)
        for kind in STILL_MOTIONS:
            for size in FACE_SIZES:
                key = ("still", f"{name}/{kind}", str(size), "-")
                if key in cache:
                    continue
                rng = np.random.default_rng(zlib.crc32("/".join(key).encode()))
                poses, bend = bench.attack_motion(kind, n, FPS, rng, size_io)
                want_eye = size * eye_px / face.width
                at_rest = bench.FOCAL * size_io / np.median(poses[:, 5])
                poses[:, 5] *= at_rest / want_eye
                background = bench.backdrop(rng)
                frames = []
                for i, pose in enumerate(poses):
                    speed = np.abs(poses[i] - poses[i - 1])[3:5].sum() * bench.FOCAL / pose[5] if i else 0.0
                    frames.append(bench.camera(bench.render_sheet(background, sheet, pose, size_io, bend), rng,
                                               blur=speed))
                cache[key] = bench._plain(bench.observe(frames, FPS, detector, model, []))
                print(f"  {'/'.join(key)}: {len(frames)} frames", flush=True)
                save()


def gif_clips(detector, model, cache: dict, save) -> None:
    path = FOOTAGE / "attacks" / "real_then_replay_then_print.gif"
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    fps = 15.0  # played at the station's rate (the GIF itself runs faster)
    for zoom in (1, 2):
        key = ("gif", "real_then_replay_then_print", f"x{zoom}", "-")
        if key in cache:
            continue
        rng = np.random.default_rng(zoom)
        centre = np.array([frames[0].shape[1] / 2, frames[0].shape[0] / 2])
        door = [door_frame(f, zoom, centre, rng, 3.0, 80) for f in frames]
        cache[key] = bench._plain(bench.observe(door, fps, detector, model, []))
        print(f"  {'/'.join(key)}: {len(door)} frames", flush=True)
        save()


def load(path: Path) -> dict:
    """The cache as clips (bench_liveness.Clip), by key."""
    with open(path, "rb") as fh:
        plain = pickle.load(fh)
    return {key: bench.Clip(d["frames"], d["detected"], d["first"],
                            {tid: [bench._observation(row) for row in obs] for tid, obs in d["tracks"].items()})
            for key, d in plain.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", default="real,still,gif")
    args = parser.parse_args()
    cache = {}
    if args.cache.is_file():
        with open(args.cache, "rb") as fh:
            cache = pickle.load(fh)

    def save() -> None:
        with open(args.cache, "wb") as fh:
            pickle.dump(cache, fh)

    options = RuntimeOptions(device="cpu", threads=args.threads)
    detector = load_detector(resolve_model(DEFAULT_DETECTOR, ROOT), options)
    model = landmarks106.load(resolve_model(DEFAULT_LANDMARKS, ROOT), options)
    started = time.perf_counter()
    for group, run in (("real", real_clips), ("still", still_clips), ("gif", gif_clips)):
        if group in args.only.split(","):
            run(detector, model, cache, save)
    print(f"{len(cache)} clips in {args.cache}; took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()


# --- judging (used by bench_liveness.py --footage) ----------------------------------------------------

WINDOW = 3.0  # seconds: a person at the door is judged on each 3-second window of the real clips


def real_windows(clip) -> list[list]:
    """The observations of a clip's longest track, cut into whole 3-second windows (at least one)."""
    observations = max(clip.tracks.values(), key=len) if clip.tracks else []
    if not observations:
        return []
    end = observations[-1].time
    count = max(1, int((end + 0.2) // WINDOW))  # a clip of 2.9-3.1 s is one window
    return [[o for o in observations if k * WINDOW <= o.time < (k + 1) * WINDOW] for k in range(count)]


GIF_PARTS = {"real face": (0.0, 40 / FPS), "phone replay": (40 / FPS, 64 / FPS), "print": (64 / FPS, 1e9)}


def gif_part(clip, part: str):
    """The clip restricted to one part of the demo GIF (the same Clip type, its tracks cut in time)."""
    start, end = GIF_PARTS[part]
    tracks = {tid: [o for o in obs if start <= o.time < end] for tid, obs in clip.tracks.items()}
    tracks = {tid: obs for tid, obs in tracks.items() if obs}
    return bench.Clip(clip.frames, clip.detected, start, tracks)
