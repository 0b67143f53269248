"""What a station costs while nobody is at the door: the work per second of a 30 fps camera on an
empty doorway, against the reference (every frame looked at, with the second search for a face too
close to the camera on every empty frame) in the same run.

    python benchmarks/bench_idle.py [--frames 90] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from faceattend_tui.config import Settings
from faceattend_tui.gallery.matcher import Gallery
from faceattend_tui.live.recognizer import CLOSE_EVERY, IDLE_AFTER, LiveRecognizer
from faceattend_tui.live.worker import IDLE_FPS
from faceattend_tui.vision.pipeline import FaceEngine, detect_close

CAMERA_FPS = 30.0


def doorway(count: int, seed: int = 1) -> list[np.ndarray]:
    """A doorway with nobody in it: a dim gradient with camera noise, 640x480."""
    rng = np.random.default_rng(seed)
    base = np.linspace(60, 110, 640, dtype=np.float32)[None, :, None].repeat(480, 0).repeat(3, 2)
    return [np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8) for _ in range(count)]


def timed(step, frames: list[np.ndarray]) -> list[float]:
    times = []
    for frame in frames:
        start = time.perf_counter()
        step(frame)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=90, help="empty frames timed per way")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    settings = Settings(device="cpu", threads=args.threads)
    engine = FaceEngine.from_settings(settings, log=lambda _: None)
    recognizer = LiveRecognizer(engine, Gallery.from_people({}, engine.embedder.dim), settings)
    frames = doorway(args.frames)
    reference = timed(lambda f: engine.detect(f) or detect_close(engine, f), frames)
    clock = iter(np.arange(len(frames) * 2, dtype=float) / IDLE_FPS + IDLE_AFTER + 1)  # an empty scene by then
    now = timed(lambda f: recognizer.process(f, next(clock)), frames)
    ref_ms, now_ms = 1000 * statistics.mean(reference), 1000 * statistics.mean(now)
    ref_load, now_load = CAMERA_FPS * ref_ms / 1000, IDLE_FPS * now_ms / 1000
    print(f"empty frame, reference (two searches each): mean {ref_ms:.1f} ms; at {CAMERA_FPS:g} fps "
          f"{100 * ref_load:.0f} % of one core")
    print(f"empty frame, station (a second search every {CLOSE_EVERY}): mean {now_ms:.1f} ms; at {IDLE_FPS:g} "
          f"frames a second once empty for {IDLE_AFTER:g} s: {100 * now_load:.0f} % of one core "
          f"({ref_load / now_load:.1f}x less)")


if __name__ == "__main__":
    main()
