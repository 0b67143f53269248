"""What the door display's drawing costs per frame, without models or a window.

Synthetic 640x480 frames with four faces (one of them a small background face), a banner most of
the time and the corner text; medians over --frames frames of:
  - layout + draw at the camera's size (English, and French with an accented name),
  - full screen at 1920x1080: the frame scaled to the screen, then the door drawn on it,
  - the tracker's appearance check (thumbnail + comparison) for the four faces,
  - a "camera stopped" card (drawn twice a second while no picture comes).

    python benchmarks/bench_door_overlay.py [--frames 300]

Runs against an older tree too (PYTHONPATH=<old checkout>): what it lacks is reported as n/a.
"""

from __future__ import annotations

import argparse
import statistics
import time

import cv2
import numpy as np

from faceattend_tui.live.door import Banner, DoorState, draw, layout
from faceattend_tui.live.recognizer import Overlay

FACES = [((250, 150, 370, 300), "known", "Céline Gérard"), ((60, 200, 160, 320), "pending", ""),
         ((450, 120, 560, 250), "unknown", "unknown"), ((580, 60, 600, 82), "pending", "")]


def median_ms(step, frames: int) -> str:
    times = []
    for i in range(frames):
        start = time.perf_counter()
        step(i)
        times.append((time.perf_counter() - start) * 1e3)
    return f"{statistics.median(times):6.3f} ms (p95 {sorted(times)[int(len(times) * 0.95)]:.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (480, 640, 3), dtype=np.uint8) for _ in range(8)]
    overlays = [Overlay(box, state, label, i + 1) for i, (box, state, label) in enumerate(FACES)]

    def door_in(language: str | None) -> DoorState:
        extra = {}
        try:
            from faceattend_tui.live.words import Words

            extra = {"words": Words.for_locale(language or "en"), "min_face": 24}
        except ImportError:
            pass
        return DoorState(session="Maths 3A", present=12, expected=25, **extra)

    def drawing(door):
        def step(i):
            if i % 20 == 0:  # a banner showing most of the time, as at a busy door
                door.show(Banner("checked-in", "Céline Gérard", "at {time}", 1 + i % 3, until=i + 15, time="08:58"))
            draw(frames[i % len(frames)], layout((480, 640, 3), overlays, door, float(i)))
        return step

    print(f"OpenCV {cv2.__version__}, {args.frames} frames, 4 faces, a banner 3/4 of the time")
    print(f"{'draw 640x480, English':40s} {median_ms(drawing(door_in('en')), args.frames)}")
    print(f"{'draw 640x480, French':40s} {median_ms(drawing(door_in('fr')), args.frames)}")
    try:
        from faceattend_tui.live.preview import door_view

        door = door_in("en")

        def full(i):
            if i % 20 == 0:
                door.show(Banner("checked-in", "Céline Gérard", "at {time}", 1, until=i + 15, time="08:58"))
            door_view(frames[i % len(frames)], overlays, door, float(i), (1920, 1080))
        print(f"{'full screen 1920x1080 (scale + draw)':40s} {median_ms(full, args.frames)}")
    except ImportError:
        big = [cv2.resize(f, (1440, 1080)) for f in frames]
        scaled = [Overlay(tuple(v * 9 // 4 for v in o.box), o.state, o.label, o.track) for o in overlays]
        door = door_in("en")
        print(f"{'draw at 1440x1080 (Qt scales to screen)':40s} "
              f"{median_ms(lambda i: draw(big[i % 8], layout(big[0].shape, scaled, door, float(i))), args.frames)}")
    try:
        from faceattend_tui.live.tracker import appearance, change

        boxes = [np.array(box, np.float32) for box, _, _ in FACES]
        before = [appearance(frames[0], box) for box in boxes]

        def check(i):
            for box, old in zip(boxes, before, strict=True):
                now = appearance(frames[i % len(frames)], box)
                if now is not None and old is not None:
                    change(old, now)
        print(f"{'appearance check, 4 faces':40s} {median_ms(check, args.frames)}")
    except ImportError:
        print(f"{'appearance check, 4 faces':40s} n/a (not in this tree)")
    try:
        from faceattend_tui.live.door import draw_card

        stopped = door_in("fr")
        stopped.source = "camera-stopped"
        print(f"{'card 640x480 (camera stopped)':40s} "
              f"{median_ms(lambda i: draw_card((480, 640, 3), stopped, frames[i % 8]), args.frames // 3)}")
    except ImportError:
        print(f"{'card 640x480 (camera stopped)':40s} n/a (not in this tree)")


if __name__ == "__main__":
    main()
