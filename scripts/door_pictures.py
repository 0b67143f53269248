"""Pictures of the door display for the README, drawn on frames of the built-in demo scene.

    .venv/bin/python scripts/door_pictures.py docs/
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import cv2

from faceattend_tui.config import load_settings
from faceattend_tui.demo import DemoSource, demo_cast, prepare_demo
from faceattend_tui.gallery.templates import load_gallery
from faceattend_tui.live.door import Banner, DoorState, draw, layout
from faceattend_tui.live.recognizer import LiveRecognizer
from faceattend_tui.vision.pipeline import FaceEngine


def frames_until_decided(source: DemoSource, live: LiveRecognizer, start: int, count: int = 75):
    """Run the scene from `start` until the face in view is decided; the frame and the live state."""
    frame = None
    for index in range(start, start + count):
        frame = source.render(index)
        live.process(frame, now=index / source.fps)
        if live.overlays and live.overlays[0].state != "pending":
            break
    return frame


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs")
    settings = load_settings(Path(tempfile.mkdtemp()), {"device": "cpu"})
    engine = FaceEngine.from_settings(settings, log=lambda _: None)
    prepare_demo(settings, engine, log=lambda _: None)
    gallery, _ = load_gallery(settings.tensors_dir, engine.recognizer.sha256, engine.embedder.dim)
    source = DemoSource(demo_cast(engine, settings.data, log=lambda _: None))
    source.open()
    scenes = {"door-checkin": (18 + 40, "checked-in", "Alex Moreau", "at 08:58"),
              "door-stranger": (2 * (18 + 75) + 18 + 30, "see-staff", "Not recognised", "")}
    for name, (index, kind, title, detail) in scenes.items():
        live = LiveRecognizer(engine, gallery, settings)
        frame = frames_until_decided(source, live, index - 30)
        door = DoorState(session="Physics 101", present=12, expected=25)
        track = live.overlays[0].track if live.overlays else None
        door.show(Banner(kind, title, detail, track, until=time.time() + 60))
        picture = draw(frame, layout(frame.shape, live.overlays, door, time.time()))
        cv2.imwrite(str(out / f"{name}.jpg"), picture, [cv2.IMWRITE_JPEG_QUALITY, 88])
        print(out / f"{name}.jpg")


if __name__ == "__main__":
    main()
