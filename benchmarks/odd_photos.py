"""How well extraction tells a person's photos from photos of someone else filed among them.

    python benchmarks/odd_photos.py DIR [DIR ...] [--cache faces.npz] [--trials 3]

Each DIR holds one folder of photos per person. For every person with 3 photos or more: how many of
their own photos the rule leaves out, and, with one photo of another person added (or two photos of
one other person, the harder case: each looks like the other), how often every stranger's photo is
left out. The reference is each photo against the mean of all the others, the rule used before the
largest group of alike photos decided.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
from face_cache import load_or_build

from faceattend_tui.config import Settings
from faceattend_tui.gallery.extract import odd_ones
from faceattend_tui.gallery.templates import ODD_FLOOR
from faceattend_tui.vision.pipeline import FaceEngine

Rule = Callable[[np.ndarray], dict[int, float]]


def against_all_others(rows: np.ndarray) -> dict[int, float]:
    """The reference: each row against the mean of every other row."""
    rest = rows.sum(axis=0, keepdims=True) - rows
    cosines = np.einsum("ij,ij->i", rows, rest) / np.maximum(np.linalg.norm(rest, axis=1), 1e-12)
    return {int(i): float(cosines[i]) for i in np.flatnonzero(cosines < ODD_FLOOR)}


def left_out(rule: Rule, rows: np.ndarray) -> set[int]:
    """What extraction leaves out: the odd rows, when they are fewer than the others."""
    odd = rule(rows)
    return set(odd) if len(rows) >= 3 and odd and 2 * len(odd) < len(rows) else set()


def measure(rule: Rule, rows: np.ndarray, people: dict[str, list[int]], trials: int) -> tuple[int, int, int, int]:
    rng = np.random.default_rng(0)
    several = {p: ix for p, ix in people.items() if len(ix) >= 3}
    pairs = [p for p, ix in people.items() if len(ix) >= 2]
    genuine_out = one = two = 0
    for person, ix in several.items():
        own = rows[ix]
        genuine_out += len(left_out(rule, own))
        for _ in range(trials):
            other = str(rng.choice([p for p in people if p != person]))
            one += len(ix) in left_out(rule, np.vstack([own, rows[rng.choice(people[other])]]))
            other = str(rng.choice([p for p in pairs if p != person]))
            twins = rows[rng.choice(people[other], 2, replace=False)]
            two += {len(ix), len(ix) + 1} <= left_out(rule, np.vstack([own, twins]))
    return len(several), genuine_out, one, two


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--cache", type=Path, help=".npz file keeping the embeddings between runs")
    parser.add_argument("--trials", type=int, default=3, help="strangers tried per person")
    args = parser.parse_args()
    data = load_or_build(args.cache, args.folders, False, None, "largest",
                         lambda: FaceEngine.from_settings(Settings(device="cpu")))
    rows = data["raw"] + data["raw_flip"]  # a template: the face and its mirror image
    rows = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
    people: dict[str, list[int]] = {}
    for i, person in enumerate(data["person"]):
        if data["found"][i]:
            people.setdefault(str(person), []).append(i)
    rules: list[tuple[str, Rule]] = [("largest alike group (extraction)", odd_ones),
                                     ("reference: all the others", against_all_others)]
    for name, rule in rules:
        count, genuine_out, one, two = measure(rule, rows, people, args.trials)
        photos = sum(len(ix) for ix in people.values() if len(ix) >= 3)
        tries = count * args.trials
        print(f"{name}: {count} people, {photos} photos; genuine left out {genuine_out}; one stranger's photo left "
              f"out {one}/{tries}; two alike photos of a stranger both left out {two}/{tries}")


if __name__ == "__main__":
    main()
