"""Blurred enrollment photos: how many the detail floor leaves out, and what they do when kept.

    python benchmarks/blurred_photos.py DIR [--people 100] [--every 10]

DIR holds one folder of photos per person (LFW's layout). People with 2 photos or more are enrolled
from their first photo, their other photos are probes; people with one photo are strangers. Every
`--every`th enrolled person is enrolled from a motion-blurred copy of the photo (15 px, a moving head),
and the probes are motion-blurred too (a door camera at dusk). Printed: the share of clean and blurred
faces under the floor (`quality.BLUR_FLOOR`), then the probes named as someone else and the strangers
accepted, with the blurred enrollment photos kept (as before) and left out (as extraction does now).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from faceattend_tui.config import Settings
from faceattend_tui.gallery.matcher import Gallery
from faceattend_tui.vision.pipeline import FaceEngine, largest
from faceattend_tui.vision.quality import BLUR_FLOOR, detail

MOTION = np.full((1, 15), 1 / 15, np.float32)
GAUSSIAN = 3.0


def motion(image: np.ndarray) -> np.ndarray:
    return cv2.filter2D(image, -1, MOTION)


def face_of(engine: FaceEngine, image: np.ndarray) -> tuple[np.ndarray, float] | None:
    """The largest face's template (as extraction makes it) and its detail."""
    face = largest(engine.detect_thorough(image))
    if face is None:
        return None
    return engine.embed(image, [face], flip=True)[0], detail(engine.crops(image, [face])[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--people", type=int, default=100, help="people enrolled")
    parser.add_argument("--every", type=int, default=10, help="every n-th enrolled from a blurred photo")
    args = parser.parse_args()
    engine = FaceEngine.from_settings(Settings(device="cpu"), log=lambda _: None)
    folders = sorted(p for p in args.folder.iterdir() if p.is_dir())
    several = [f for f in folders if len(list(f.glob("*.jpg"))) >= 2][: args.people]
    strangers = [f for f in folders if len(list(f.glob("*.jpg"))) == 1][: args.people]

    details: dict[str, list[float]] = {"clean": [], "motion": [], "gaussian": []}
    enrolled: dict[str, tuple[np.ndarray, float]] = {}
    probes: list[tuple[str | None, np.ndarray]] = []
    for number, folder in enumerate(several):
        photos = sorted(folder.glob("*.jpg"))
        first = cv2.imread(str(photos[0]))
        shown = motion(first) if number % args.every == 0 else first
        found = face_of(engine, shown)
        if found is not None:
            enrolled[folder.name] = found
        for photo in photos[1:4]:
            image = cv2.imread(str(photo))
            for kind, picture in (("clean", image), ("motion", motion(image)),
                                  ("gaussian", cv2.GaussianBlur(image, (0, 0), GAUSSIAN))):
                got = face_of(engine, picture)
                if got is not None:
                    details[kind].append(got[1])
                    if kind == "motion":
                        probes.append((folder.name, got[0]))
    for folder in strangers:
        got = face_of(engine, motion(cv2.imread(str(sorted(folder.glob("*.jpg"))[0]))))
        if got is not None:
            probes.append((None, got[0]))

    for kind, values in details.items():
        under = float(np.mean(np.asarray(values) < BLUR_FLOOR)) * 100
        print(f"{kind:9s} faces under the floor ({BLUR_FLOOR:g}): {under:5.1f} % of {len(values)}")
    queries = np.stack([row for _, row in probes])
    for label, floor in (("blurred photos kept", -1.0), ("blurred photos left out", BLUR_FLOOR)):
        people = {name: row[None] for name, (row, sharpness) in enrolled.items() if sharpness >= floor}
        matches = Gallery.from_people(people).match(queries, Settings().threshold)
        wrong = sum(m.name is not None and m.name != who for (who, _), m in zip(probes, matches, strict=True) if who)
        accepted = sum(m.name is not None for (who, _), m in zip(probes, matches, strict=True) if who is None)
        genuine = sum(1 for who, _ in probes if who)
        print(f"{label:24s} {len(people)} people: blurred probes named as someone else {wrong} of {genuine}, "
              f"blurred strangers accepted {accepted} of {len(probes) - genuine}")


if __name__ == "__main__":
    main()
