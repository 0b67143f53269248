"""Open-set identification with one enrolled photo per person, from raw photos.

Enrolls the first photo (by name) of every person who has two or more, probes with the rest,
and uses people with a single photo as strangers. Prints, per threshold, how often a known
person is named correctly, named wrongly, or missed, and how often a stranger is accepted.

    python benchmarks/identification.py DIR [DIR ...] [--thresholds 0.25,0.3,0.35]

Each DIR holds one sub-folder of photos per person (LFW's images/ folder and the shared
identities/ folder both fit).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from faceattend_tui.config import load_settings
from faceattend_tui.gallery.matcher import Gallery
from faceattend_tui.vision.imageio import ImageError, is_image_name, read_image
from faceattend_tui.vision.pipeline import FaceEngine, largest


def people_in(folders: list[Path]) -> dict[str, list[Path]]:
    people = {}
    for folder in folders:
        for person in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("_")):
            photos = sorted(p for p in person.iterdir() if is_image_name(p))
            if photos:
                people[f"{folder.name}/{person.name}"] = photos
    return people


def embed(engine: FaceEngine, path: Path, thorough: bool = True) -> np.ndarray | None:
    try:
        image = read_image(path)
    except ImageError as exc:
        print(f"skipped: {exc}", file=sys.stderr)
        return None
    faces = engine.detect_thorough(image) if thorough else engine.detect(image)
    face = largest(faces)
    return None if face is None else engine.embed(image, [face])[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--thresholds", default="0.20,0.25,0.28,0.30,0.32,0.35,0.40")
    args = parser.parse_args()
    engine = FaceEngine.from_settings(load_settings(Path(".")), log=lambda s: print(s, file=sys.stderr))
    people = people_in(args.folders)
    enrolled, probes, strangers, missed_enrol = {}, [], [], 0
    for name, photos in people.items():
        if len(photos) == 1:
            strangers.append((name, photos[0]))
            continue
        row = embed(engine, photos[0], thorough=True)
        if row is None:
            missed_enrol += 1
            continue
        enrolled[name] = row[None]
        probes += [(name, p) for p in photos[1:]]
    gallery = Gallery.from_people(enrolled)
    known = [(n, embed(engine, p, thorough=True)) for n, p in probes]
    unknown = [embed(engine, p, thorough=True) for _, p in strangers]
    print(f"enrolled {len(enrolled)} people ({missed_enrol} without a usable first photo), "
          f"{len(known)} probes of enrolled people, {len(unknown)} strangers")
    print(f"probes without a detected face: {sum(e is None for _, e in known)}, "
          f"strangers without one: {sum(e is None for e in unknown)}")
    known = [(n, e) for n, e in known if e is not None]
    unknown = np.array([e for e in unknown if e is not None])
    k_idx, k_sim = gallery.search(np.array([e for _, e in known]))
    k_name = [gallery.names[gallery.owners[i]] for i in k_idx]
    truth = [n for n, _ in known]
    _, u_sim = gallery.search(unknown)
    folder = np.array([n.split("/")[0] for n in truth])
    right = np.array([a == b for a, b in zip(k_name, truth, strict=True)])
    for group in ["all", *sorted(set(folder))]:
        mask = np.ones(len(truth), bool) if group == "all" else folder == group
        print(f"\nprobes from {group} ({int(mask.sum())}); strangers from all folders ({len(u_sim)})")
        print("threshold  correct   wrong-name  missed    stranger-accepted")
        for t in (float(v) for v in args.thresholds.split(",")):
            accepted = k_sim[mask] >= t
            ok = right[mask]
            print(f"{t:9.2f}  {np.mean(accepted & ok):.4f}    {np.sum(accepted & ~ok):5d}      "
                  f"{np.mean(~accepted):.4f}    {np.mean(u_sim >= t):.4f} ({int(np.sum(u_sim >= t))}/{len(u_sim)})")
    t = float(args.thresholds.split(",")[len(args.thresholds.split(",")) // 2])
    for name, sim, got in sorted(zip(truth, k_sim, k_name, strict=True), key=lambda x: x[1]):
        if sim < t or got != name:
            print(f"  below {t:.2f} or wrong: {name} -> {got} ({sim:.3f})")


if __name__ == "__main__":
    main()
