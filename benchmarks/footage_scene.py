"""A door scene cut together from real footage, whose number of faces keeps changing.

An empty doorway, six people, one, four, a crowd walking in, and cuts between them: the number of
faces the worker detects and embeds changes at every cut and inside the crowd (0 -> 6 -> 1 -> 4 and
on), as at a real door where people come and go. Used by `bench_gpu.py`.

    python benchmarks/footage_scene.py --footage ../shared/data/footage --out scene.avi

Writes 640x360 frames at 25 fps: `.avi` as Motion-JPEG (readable by every OpenCV build), any other
extension with the mp4v codec. Also prints the segments and their frame ranges.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

WIDTH, HEIGHT, FPS = 640, 360, 25.0
HEADS = ("talking_d0", "talking_d3", "talking_d9", "talking_d12", "talking_d13")


def read_clip(path: Path, start: int = 0, count: int | None = None) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise SystemExit(f"{path}: cannot be read as a video")
    frames, index = [], 0
    while count is None or len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        if index >= start:
            frames.append(frame)
        index += 1
    capture.release()
    if not frames:
        raise SystemExit(f"{path}: no frames from {start}")
    return frames


def fit(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """The frame scaled into width x height, aspect kept, on black."""
    scale = min(width / frame.shape[1], height / frame.shape[0])
    small = cv2.resize(frame, (int(frame.shape[1] * scale), int(frame.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((height, width, 3), np.uint8)
    y, x = (height - small.shape[0]) // 2, (width - small.shape[1]) // 2
    canvas[y : y + small.shape[0], x : x + small.shape[1]] = small
    return canvas


def empty(count: int, seed: int) -> list[np.ndarray]:
    """A doorway with nobody in it: a dim gradient with camera noise."""
    rng = np.random.default_rng(seed)
    base = np.linspace(60, 110, WIDTH, dtype=np.float32)[None, :, None].repeat(HEIGHT, 0).repeat(3, 2)
    return [np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8) for _ in range(count)]


def crowd(footage: Path, start: int, count: int) -> list[np.ndarray]:
    """The crowd's central 1280x720, halved: faces of about 40 px."""
    frames = read_clip(footage / "crowd" / "walking_crowd.mp4", start, count)
    return [cv2.resize(f[180:900, 320:1600], (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA) for f in frames]


def single(footage: Path, head: str, count: int) -> list[np.ndarray]:
    return [fit(f, WIDTH, HEIGHT) for f in read_clip(footage / "real" / f"{head}.mp4", 0, count)]


def grid(footage: Path, heads: tuple[str, ...], count: int, columns: int = 2) -> list[np.ndarray]:
    """Talking heads side by side (a name ending in '~' is shown mirrored)."""
    clips = [read_clip(footage / "real" / f"{head.rstrip('~')}.mp4", 0, count) for head in heads]
    rows = -(-len(heads) // columns)
    cell_w, cell_h = WIDTH // columns, HEIGHT // rows
    out = []
    for i in range(count):
        frame = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
        for j, (clip, head) in enumerate(zip(clips, heads, strict=True)):
            picture = clip[i % len(clip)]
            cell = fit(picture[:, ::-1] if head.endswith("~") else picture, cell_w, cell_h)
            y, x = (j // columns) * cell_h, (j % columns) * cell_w
            frame[y : y + cell_h, x : x + cell_w] = cell
        out.append(frame)
    return out


def build(footage: Path) -> tuple[list[np.ndarray], list[tuple[str, int, int]]]:
    six = ("talking_d0", "talking_d3", "talking_d9", "talking_d12", "talking_d13", "talking_d0~")
    parts = [
        ("empty doorway", empty(20, 1)),
        ("six people", grid(footage, six, 45, columns=3)),
        ("one person", single(footage, "talking_d12", 45)),
        ("four people", grid(footage, ("talking_d0", "talking_d3", "talking_d9", "talking_d13"), 45)),
        ("crowd walking in (2-5 faces big enough to recognise)", crowd(footage, 0, 60)),
        ("one person", single(footage, "talking_d9", 40)),
        ("empty doorway", empty(10, 2)),
        ("six people", grid(footage, six[::-1], 30, columns=3)),
        ("crowd, later", crowd(footage, 60, 45)),
        ("four people", grid(footage, ("talking_d13", "talking_d12", "talking_d0", "talking_d3"), 30)),
    ]
    frames, segments = [], []
    for label, part in parts:
        segments.append((label, len(frames), len(frames) + len(part)))
        frames += part
    return frames, segments


def write(frames: list[np.ndarray], out: Path) -> None:
    assert all(f.shape == (HEIGHT, WIDTH, 3) for f in frames)
    codec = "MJPG" if out.suffix.lower() == ".avi" else "mp4v"
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*codec), FPS, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise SystemExit(f"{out}: cannot be written with the {codec} codec")
    writer.set(cv2.VIDEOWRITER_PROP_QUALITY, 60)
    for frame in frames:
        writer.write(frame)
    writer.release()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--footage", type=Path, default=Path("../shared/data/footage"))
    parser.add_argument("--out", type=Path, default=Path("scene.avi"))
    args = parser.parse_args()
    if not (args.footage / "crowd").is_dir():
        sys.exit(f"{args.footage}: not the footage folder (crowd/ and real/ expected)")
    frames, segments = build(args.footage)
    write(frames, args.out)
    for label, start, end in segments:
        print(f"frames {start:4d}-{end - 1:4d}  {label}")
    print(f"{len(frames)} frames, {len(frames) / FPS:.1f} s, {WIDTH}x{HEIGHT} -> {args.out} "
          f"({args.out.stat().st_size / 2**20:.1f} MB)")


if __name__ == "__main__":
    main()
