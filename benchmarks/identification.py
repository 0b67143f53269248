"""Open-set identification from raw photos: naming enrolled people, refusing strangers, and the levers.

    python benchmarks/identification.py DIR [DIR ...] [--protocol issue|three|all] [--cache faces.npz]
        [--distractors WIDER_DIR] [--live] [--thresholds 0.28,0.30,0.32]

Each DIR holds one sub-folder of photos per person (LFW's images/ folder and the shared
identities/ folder both fit). Each person with two or more photos is enrolled from one photo and
probed with the others ("all") or with the next two ("issue"; "three" probes only people with
three or more photos, two probes each, as the issue describes its test); people with a
single photo are strangers, and so is every probe against the gallery without its own person
(leave-one-out), which gives many more stranger trials. Every photo is embedded once (plain and
mirrored) and kept in --cache, so the tables below cost seconds:

1. the plain cosine at each threshold (the README's table);
2. each lever at the default threshold and at the threshold that lets 0.5 % of strangers in;
3. cross-validation: thresholds chosen on half of the people, reported on the other half, at
   gallery sizes from 25 people up to the whole data set plus distractors (--distractors: a
   WIDER-format folder whose faces, with the other half's single-photo people, are enrolled as
   extra people);
4. several samples per person at enrollment; 5. (--live) camera-like frames through the live vote,
   with and without probe-quality gates.

Every table uses `--rotations` enrollments per person (photo 0, 1, 2 ... enrolled in turn) to
multiply the trials.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from face_cache import WALK_IN, load_or_build

from faceattend_tui.config import Settings, load_settings
from faceattend_tui.gallery.matcher import Gallery
from faceattend_tui.gallery.scoring import DEFAULT_NORM, CohortNorm, level, person_scores, top_others
from faceattend_tui.live.tracker import Track, Voter, VoteRules
from faceattend_tui.vision.pipeline import FaceEngine

# The same person under two labels in the shared data (found by this benchmark: cosine 0.55-0.66).
SAME_PERSON = {"identities/wild-id07": "images/Leonardo_DiCaprio"}
K = DEFAULT_NORM.k
TARGET_FAR = 0.005  # strangers accepted, the bound
MARGIN_FLOOR = 0.22  # typical second-best cosine in a gallery of ~400 people


# --- embeddings ---------------------------------------------------------------------------------


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.maximum(np.linalg.norm(rows, axis=-1, keepdims=True), 1e-12)


def embeddings(data: dict, flip: bool, prefix: str = "") -> np.ndarray:
    """Unit embeddings of every face; flip: the normalised sum of the crop's and its mirror's."""
    plain = unit(data[prefix + "raw"])
    return unit(plain + unit(data[prefix + "raw_flip"])) if flip else plain


# --- who is enrolled, probed, a stranger ------------------------------------------------------


@dataclass
class Split:
    enroll: dict[str, list[int]]  # person -> enrolled rows
    probes: list[tuple[str, int]]  # (person, row)
    strangers: list[int]


def photos_by_person(data: dict) -> dict[str, list[int]]:
    people = defaultdict(list)
    for i, (person, found) in enumerate(zip(data["person"], data["found"], strict=True)):
        if found and not str(person).startswith("wider/"):
            people[SAME_PERSON.get(str(person), str(person))].append(i)
    return dict(people)


def split(data: dict, protocol: str, rotation: int = 0, enroll_count: int = 1) -> Split:
    """Photo `rotation` (mod the person's count) enrolled; probes only from people with more photos."""
    enroll, probes, strangers = {}, [], []
    for person, rows in photos_by_person(data).items():
        if len(rows) == 1:
            strangers.append(rows[0])
            continue
        n = len(rows)
        first = rotation % n
        enroll[person] = [rows[(first + j) % n] for j in range(min(enroll_count, n - 1))]
        if rotation < n and n > enroll_count and (protocol != "three" or n >= 3):
            rest = [rows[(first + j) % n] for j in range(enroll_count, n)]
            probes += [(person, r) for r in (rest if protocol == "all" else rest[:2])]
    return Split(enroll, probes, strangers)


# --- one gallery, all trials: the features every lever is computed from -------------------------


class Cohort:
    """A gallery as arrays, with each template's nearest other people (exactly as the library)."""

    def __init__(self, people: dict[str, list[int]], table: np.ndarray):
        self.names = sorted(people)
        self.owners = np.repeat(np.arange(len(self.names)), [len(people[n]) for n in self.names])
        self.templates = table[[r for n in self.names for r in people[n]]]
        scores = self.templates @ self.templates.T
        people_scores = person_scores(scores, self.owners, len(self.names))
        self.top_values, self.top_ids = top_others(people_scores, self.owners, K + 4)
        same = self.owners[:, None] == self.owners[None, :]
        self.mean = np.where(same, 0, scores).sum(1) / np.maximum((~same).sum(1), 1)
        self.std = np.sqrt(np.maximum(np.where(same, 0, scores**2).sum(1) / np.maximum((~same).sum(1), 1)
                                      - self.mean**2, 1e-6))

    def template_level(self, rows: np.ndarray, exclude: np.ndarray) -> np.ndarray:
        """Mean of each template's K nearest other people, leaving one person out (-1: nobody)."""
        values = np.where(self.top_ids[rows] == exclude[:, None], -np.inf, self.top_values[rows])
        return level(-np.sort(-values, axis=1)[:, :K])


def trials(cohort: Cohort, queries: np.ndarray, exclude: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per query: best person and template, cosines of the best and second person, impostor levels."""
    scores = queries @ cohort.templates.T
    people = person_scores(scores, cohort.owners, len(cohort.names))
    rows = np.arange(len(queries))
    excluded = np.full(len(queries), -1) if exclude is None else exclude
    if exclude is not None:
        people[rows, exclude] = -np.inf
        scores = np.where(cohort.owners[None, :] == exclude[:, None], -np.inf, scores)
    best_row = scores.argmax(axis=1)
    best = cohort.owners[best_row]
    others, _ = top_others(people, best, K)
    return {"best": best, "s1": people[rows, best], "s2": others[:, 0], "probe_level": level(others),
            "template_level": cohort.template_level(best_row, excluded),
            "template_mean": cohort.mean[best_row], "template_std": cohort.std[best_row]}


@dataclass
class Outcome:
    """Trials of one or more galleries, pooled."""

    known: dict = field(default_factory=dict)  # genuine probes, with "right" (best person is theirs)
    strangers: dict = field(default_factory=dict)  # single-photo people
    loo: dict = field(default_factory=dict)  # probes against the gallery without their person
    quality: dict = field(default_factory=dict)  # of the known probes' faces

    def add(self, other: Outcome) -> None:
        for part in ("known", "strangers", "loo", "quality"):
            mine, theirs = getattr(self, part), getattr(other, part)
            for key, values in theirs.items():
                mine[key] = np.concatenate([mine[key], values]) if key in mine else values


def evaluate(data: dict, s: Split, enroll_table: np.ndarray, probe_table: np.ndarray, strangers: list[int],
             extra: dict[str, list[int]] | None = None) -> Outcome:
    people = dict(s.enroll) | (extra or {})
    cohort = Cohort(people, enroll_table)
    index = {name: i for i, name in enumerate(cohort.names)}
    truth = np.array([index[p] for p, _ in s.probes])
    rows = np.array([r for _, r in s.probes])
    out = Outcome()
    out.known = trials(cohort, probe_table[rows]) | {}
    out.known["right"] = out.known["best"] == truth
    out.strangers = trials(cohort, probe_table[strangers])
    out.loo = trials(cohort, probe_table[rows], exclude=truth)
    out.quality = {k: data[k][rows] for k in ("face_px", "sharpness", "frontality")}
    return out


# --- levers: a score per trial ------------------------------------------------------------------


@dataclass(frozen=True)
class Lever:
    name: str
    flip_enroll: bool = False
    flip_probe: bool = False
    score: str = "plain"  # plain, margin, template, template-z, probe, cohort
    quality_gate: bool = False
    norm: CohortNorm = DEFAULT_NORM  # floor and weight of the impostor-level scores

    def scores(self, t: dict, quality: dict | None = None) -> np.ndarray:
        s1 = t["s1"]
        floor, weight = self.norm.floor, self.norm.weight
        excess = {
            "plain": 0.0,
            "margin": 0.5 * np.maximum(t["s2"] - MARGIN_FLOOR, 0),  # a close second person raises the bar
            "template": weight * np.maximum(t["template_level"] - floor, 0),
            "probe": weight * np.maximum(t["probe_level"] - floor, 0),
            "cohort": weight * np.maximum(0.5 * (t["probe_level"] + t["template_level"]) - floor, 0),
        }
        if self.score == "template-z":  # z-score against the template's impostors, mapped back to cosine
            z = (s1 - t["template_mean"]) / t["template_std"]
            out = z * 0.065
        else:
            out = s1 - excess[self.score]
        if self.quality_gate and quality is not None:
            out = np.where(poor_quality(quality), -1.0, out)
        return out


def poor_quality(q: dict) -> np.ndarray:
    """Faces a recogniser should not vote on: small, blurred, or turned away."""
    return (q["face_px"] < 40) | (q["sharpness"] < 30) | (q["frontality"] < 0.2)


LEVERS = (
    Lever("plain cosine (today)"),
    Lever("flip at enrollment", flip_enroll=True),
    Lever("flip on probes", flip_probe=True),
    Lever("flip both", flip_enroll=True, flip_probe=True),
    Lever("margin over 2nd person", score="margin"),
    Lever("template impostor level", score="template"),
    Lever("template z-score", score="template-z"),
    Lever("probe impostor level", score="probe"),
    Lever("cohort level (probe + template)", score="cohort"),
    Lever("probe quality gate", quality_gate=True),
    Lever("flip at enrollment + cohort (default)", flip_enroll=True, score="cohort"),
    Lever("flip both + cohort", flip_enroll=True, flip_probe=True, score="cohort"),
)


def rates(out: Outcome, lever: Lever, threshold: float) -> dict:
    known = lever.scores(out.known, out.quality) >= threshold
    right = out.known["right"]
    strangers = lever.scores(out.strangers) >= threshold
    loo = lever.scores(out.loo) >= threshold
    return {"correct": float(np.mean(known & right)), "wrong": int(np.sum(known & ~right)),
            "missed": float(np.mean(~known)), "strangers": float(np.mean(strangers)),
            "strangers_n": int(strangers.sum()), "loo": float(np.mean(loo)), "loo_n": int(loo.sum()),
            "far": float(np.mean(np.concatenate([strangers, loo])))}


def threshold_for(outs: list[Outcome], lever: Lever, far: float = TARGET_FAR) -> float:
    """The lowest threshold that keeps strangers (single-photo and leave-one-out) at or under `far`
    in every one of the outcomes (gallery sizes), and names nobody wrongly."""
    candidates = np.round(np.arange(0.20, 0.50, 0.0025), 4)
    for t in candidates:
        if all(rates(o, lever, t)["far"] <= far and rates(o, lever, t)["wrong"] == 0 for o in outs):
            return float(t)
    return float(candidates[-1])


# --- galleries: rotations, halves, sizes --------------------------------------------------------


@dataclass
class Setup:
    data: dict
    protocol: str
    rotations: int
    seed: int = 0


def pooled(setup: Setup, lever: Lever, people: set[str] | None = None, strangers: list[int] | None = None,
           distractors: list[int] | None = None, size: int | None = None) -> Outcome:
    """Trials over the rotations, for a subset of the people in a gallery of `size` people (grown
    with `distractors` enrolled as extra people when the subset is smaller)."""
    data = setup.data
    enroll_table, probe_table = embeddings(data, lever.flip_enroll), embeddings(data, lever.flip_probe)
    total = Outcome()
    for rotation in range(setup.rotations):
        s = split(data, setup.protocol, rotation)
        chosen = set(s.enroll) if people is None else people & set(s.enroll)
        rng = np.random.default_rng(setup.seed + 7919 * rotation + (size or 0))
        extra = {}
        if size is not None and size < len(chosen):
            chosen = set(rng.permutation(sorted(chosen))[:size])
        elif size is not None:
            pool = rng.permutation(distractors or [])[: size - len(chosen)]
            extra = {f"distractor/{r}": [int(r)] for r in pool}
        sub = Split({p: s.enroll[p] for p in chosen}, [(p, r) for p, r in s.probes if p in chosen], s.strangers)
        if sub.probes:
            total.add(evaluate(data, sub, enroll_table, probe_table,
                               s.strangers if strangers is None else strangers, extra))
    return total


def stranger_halves(setup: Setup, extra: list[int]) -> list[tuple[list[int], list[int]]]:
    """Single-photo people in two halves: (strangers, distractors = the other half + `extra`)."""
    single = np.random.default_rng(setup.seed + 2).permutation(split(setup.data, setup.protocol).strangers)
    parts = [list(single[: len(single) // 2]), list(single[len(single) // 2 :])]
    return [(parts[h], parts[1 - h] + extra) for h in (0, 1)]


def halves(setup: Setup, extra: list[int]) -> list[tuple[set[str], list[int], list[int]]]:
    """Two disjoint halves: (enrolled people, strangers, distractors)."""
    names = np.random.default_rng(setup.seed + 1).permutation(sorted(split(setup.data, setup.protocol).enroll))
    people = [set(names[: len(names) // 2]), set(names[len(names) // 2 :])]
    return [(people[h], *stranger_halves(setup, extra)[h]) for h in (0, 1)]


# --- printing -----------------------------------------------------------------------------------


def pct(value: float) -> str:
    return f"{100 * value:.2f} %"


def print_plain_table(setup: Setup, thresholds: list[float]) -> None:
    out = pooled(Setup(setup.data, setup.protocol, 1, setup.seed), LEVERS[0])
    print(f"\n## Plain cosine, photo 0 enrolled ({setup.protocol} protocol): {len(out.known['s1'])} probes, "
          f"{len(out.strangers['s1'])} strangers, {len(out.loo['s1'])} leave-one-out strangers\n")
    print("| threshold | named correctly | wrong name | missed | stranger accepted | leave-one-out accepted |")
    print("| --- | --- | --- | --- | --- | --- |")
    for t in thresholds:
        r = rates(out, LEVERS[0], t)
        print(f"| {t:.2f} | {pct(r['correct'])} | {r['wrong']} | {pct(r['missed'])} | "
              f"{pct(r['strangers'])} ({r['strangers_n']}) | {pct(r['loo'])} ({r['loo_n']}) |")


def print_levers(setup: Setup, default: float) -> None:
    print(f"\n## Levers, whole data set, {setup.rotations} rotations ({setup.protocol} protocol)\n")
    print(f"At the default threshold {default:.2f}, and at the lowest threshold letting at most "
          f"{pct(TARGET_FAR)} of strangers (single-photo and leave-one-out together) in.\n")
    print("| lever | correct @ default | wrong | strangers @ default | threshold for 0.5 % | correct there |")
    print("| --- | --- | --- | --- | --- | --- |")
    for lever in LEVERS:
        out = pooled(setup, lever)
        r = rates(out, lever, default)
        t = threshold_for([out], lever)
        there = rates(out, lever, t)
        print(f"| {lever.name} | {pct(r['correct'])} | {r['wrong']} | {pct(r['far'])} | {t:.4f} | "
              f"{pct(there['correct'])} |")


def print_cross_validation(setup: Setup, levers: list[Lever], sizes: list[int | None], extra: list[int]) -> None:
    print(f"\n## Cross-validated: threshold chosen on one half of the people, reported on the other "
          f"({setup.protocol} protocol, {setup.rotations} rotations)\n")
    print("The threshold is the lowest that keeps strangers at or under 0.5 % at *every* gallery size of "
          "the calibration half; sizes above the half's own people are filled with distractors "
          "(the other half's single-photo people and the --distractors faces).\n")
    parts = halves(setup, extra)
    labels = [str(s) if s is not None else "half" for s in sizes]
    print("| lever | calibrated on | threshold | " + " | ".join(f"N={x}" for x in labels) + " | worst stranger rate |")
    print("| --- | --- | --- | " + " | ".join("---" for _ in labels) + " | --- |")
    for lever in levers:
        outs = [[pooled(setup, lever, people, single, pool, size) for size in sizes] for people, single, pool in parts]
        for cal in (0, 1):
            t = threshold_for(outs[cal], lever)
            report = [rates(o, lever, t) for o in outs[1 - cal]]
            cells = " | ".join(f"{pct(r['correct'])} / {pct(r['far'])}" for r in report)
            print(f"| {lever.name} | half {cal}, reported on {1 - cal} | {t:.4f} | {cells} | "
                  f"{pct(max(r['far'] for r in report))} |")
    print("\nCells: named correctly / strangers accepted (single-photo and leave-one-out), on the reporting half.")


def print_tuning(setup: Setup, sizes: list[int | None], extra: list[int]) -> None:
    """Floor, weight and threshold chosen together on one half, reported on the other."""
    print(f"\n## Cross-validated choice of floor, weight and threshold (flip at enrollment + cohort, "
          f"{setup.protocol} protocol)\n")
    print("On the calibration half: the highest mean correct rate over the gallery sizes with strangers at or "
          "under 0.5 % at every size and no wrong name. Weight 0 is the plain cosine.\n")
    parts = halves(setup, extra)
    base = Lever("flip at enrollment + cohort", flip_enroll=True, score="cohort")
    outs = [[pooled(setup, base, people, single, pool, size) for size in sizes] for people, single, pool in parts]
    norms = [CohortNorm(K, floor=f, weight=w) for f in (0.10, 0.12, 0.14, 0.16) for w in (0.5, 0.75, 1.0)]
    norms.append(CohortNorm(K, floor=1.0, weight=0.0))
    print("| calibrated on | floor | weight | threshold | mean correct there | reported on: mean correct | "
          "worst stranger rate |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for cal in (0, 1):
        best = None
        for norm in norms:
            lever = Lever(base.name, flip_enroll=True, score="cohort", norm=norm)
            t = threshold_for(outs[cal], lever)
            mean = float(np.mean([rates(o, lever, t)["correct"] for o in outs[cal]]))
            if best is None or mean > best[0] + 1e-9:
                best = (mean, lever, t)
        mean, lever, t = best
        report = [rates(o, lever, t) for o in outs[1 - cal]]
        reported = float(np.mean([r["correct"] for r in report]))
        print(f"| half {cal} | {lever.norm.floor:.2f} | {lever.norm.weight:.2f} | {t:.4f} | {pct(mean)} | "
              f"half {1 - cal}: {pct(reported)} | {pct(max(r['far'] for r in report))} |")
    lever = Lever(base.name, flip_enroll=True, score="cohort")
    for half in (0, 1):
        report = [rates(o, lever, 0.30) for o in outs[half]]
        print(f"| (defaults) | {DEFAULT_NORM.floor:.2f} | {DEFAULT_NORM.weight:.2f} | 0.3000 | | half {half}: "
              f"{pct(float(np.mean([r['correct'] for r in report])))} | {pct(max(r['far'] for r in report))} |")


def grown(setup: Setup, lever: Lever, size: int | None, extra: list[int]) -> Outcome:
    """The whole data set at a gallery size, strangers and distractors swapped between two halves."""
    total = Outcome()
    for single, pool in stranger_halves(setup, extra):
        total.add(pooled(setup, lever, None, single, pool, size))
    return total


def print_growth(setup: Setup, levers: list[Lever], sizes: list[int | None], threshold: float,
                 extra: list[int]) -> None:
    print(f"\n## Growing gallery at threshold {threshold:.2f} "
          f"({setup.protocol} protocol, {setup.rotations} rotations)\n")
    labels = [str(s) if s is not None else "known" for s in sizes]
    print("| lever | " + " | ".join(f"N={x}" for x in labels) + " |")
    print("| --- | " + " | ".join("---" for _ in labels) + " |")
    for lever in levers:
        cells = []
        for size in sizes:
            r = rates(grown(setup, lever, size, extra), lever, threshold)
            cells.append(f"{pct(r['correct'])} / {pct(r['far'])}")
        print(f"| {lever.name} | " + " | ".join(cells) + " |")
    print("\nCells: named correctly / strangers accepted (single-photo and leave-one-out). Above the known people "
          "(N=known), half of the single-photo people and the --distractors faces are enrolled as extra people.")


# --- several samples per person at enrollment ---------------------------------------------------


def live_rows(data: dict) -> dict[tuple[int, str], int]:
    """(photo row, variant) -> row of its camera-like frame in the live table."""
    if "live_photo" not in data:
        return {}
    return {(int(p), str(v)): j for j, (p, v, f) in
            enumerate(zip(data["live_photo"], data["live_variant"], data["live_found"], strict=True)) if f}


def enrollment_variants(data: dict, s2: Split) -> dict[str, dict[str, list[int]]]:
    """Galleries for the same probes: one photo, two photos, one photo and its camera-like frames."""
    frames, offset = live_rows(data), len(data["person"])
    camera = {p: rows[:1] + [offset + frames[(rows[0], v)] for v in ("near", "mid") if (rows[0], v) in frames]
              for p, rows in s2.enroll.items()}
    variants = {"one photo": {p: rows[:1] for p, rows in s2.enroll.items()},
                "two photos (best template)": s2.enroll, "two photos (mean template)": s2.enroll}
    if frames:
        variants["one photo + 2 camera-like frames of it"] = camera
    return variants


def print_enrollment(setup: Setup, threshold: float) -> None:
    data = setup.data
    table = embeddings(data, True)
    if "live_raw" in data:
        table = np.concatenate([table, embeddings(data, True, "live_")])
    probes = embeddings(data, False)
    lever = LEVERS[10]
    print(f"\n## Several samples per person at enrollment ({lever.name}, threshold {threshold:.2f})\n")
    print("People with three or more photos; probes are the same in every row (photos after the first two).\n")
    print("| enrollment | probes | named correctly | wrong | strangers accepted |")
    print("| --- | --- | --- | --- | --- |")
    for name in ("one photo", "two photos (best template)", "two photos (mean template)",
                 "one photo + 2 camera-like frames of it"):
        total = Outcome()
        for rotation in range(setup.rotations):
            s2 = split(data, "all", rotation, enroll_count=2)
            variants = enrollment_variants(data, s2)
            if name not in variants:
                break
            people, extended = variants[name], table
            if "mean" in name:
                means = unit(np.stack([table[rows].mean(axis=0) for rows in people.values()]))
                extended = np.concatenate([table, means])
                people = {p: [len(table) + i] for i, p in enumerate(people)}
            total.add(evaluate(data, Split(people, s2.probes, s2.strangers), extended, probes, s2.strangers))
        if total.known:
            r = rates(total, lever, threshold)
            print(f"| {name} | {len(total.known['s1'])} | {pct(r['correct'])} | {r['wrong']} | {pct(r['far'])} |")


# --- the live vote on camera-like frames ---------------------------------------------------------

WALK = ("far", "far", "mid-blur", "mid", "mid", "near-blur", "near", "near", "near", "near")  # frames at 30 fps


def walk_in(gallery: Gallery, frames: list[np.ndarray | None], qualities: list[bool], threshold: float,
            norm, gate: bool) -> tuple[str | None, int | None]:
    """Replays one track through the live Voter; (checked-in name, frame index) or (None, None)."""
    voter = Voter(replace(VoteRules.from_settings(Settings()), threshold=threshold))  # the station's rules
    track = Track(1, np.zeros(4, np.float32), np.zeros((5, 2), np.float32), 1.0, 0.0, 0.0)
    for index, (embedding, poor) in enumerate(zip(frames, qualities, strict=True)):
        if embedding is None or (gate and poor):
            continue
        (match,) = gallery.match(embedding, threshold, norm=norm)
        decision = voter.add_vote(track, match.name, match.similarity, index / 30)
        if decision is not None and decision.kind == "checkin":
            return decision.name, index
    return None, None


def print_live(setup: Setup) -> None:
    data = setup.data
    frames = live_rows(data)
    if not frames:
        return
    s = split(data, setup.protocol)
    poor = poor_quality({k: data["live_" + k] for k in ("face_px", "sharpness", "frontality")})
    print(f"\n## Live vote on camera-like frames ({setup.protocol} protocol, photo 0 enrolled)\n")
    print("Each probe photo becomes a 10-frame walk-in (" + ", ".join(WALK) + "; "
          + ", ".join(f"{v.name}: face {v.face_px} px, blur {v.motion_blur}" for v in WALK_IN)
          + "); a check-in needs 3 agreeing votes. Quality gate: no vote from faces under 40 px, "
            "sharpness under 30 or frontality under 0.2.\n")
    print("| scoring | gate | checked in correctly | wrong name | strangers checked in | leave-one-out checked in "
          "| check-in frame median / p95 |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, flip_enroll, flip_probe, norm, t in (("plain cosine 0.32 (today)", False, False, None, 0.32),
                                                    ("plain cosine 0.30", False, False, None, 0.30),
                                                    ("flip at enrollment + cohort 0.30 (default)", True, False,
                                                     DEFAULT_NORM, 0.30),
                                                    ("flip both + cohort 0.30", True, True, DEFAULT_NORM, 0.30)):
        table, live = embeddings(data, flip_enroll), embeddings(data, flip_probe, "live_")
        gallery = Gallery.from_people({p: table[rows] for p, rows in s.enroll.items()})
        for gate in (False, True):
            print(live_row(label, gate, gallery, s, frames, live, poor, norm, t))


def live_row(label, gate, gallery, s: Split, frames, live, poor, norm, t) -> str:
    def track(row: int, g: Gallery) -> tuple[str | None, int | None]:
        rows = [frames.get((row, v)) for v in WALK]
        return walk_in(g, [None if j is None else live[j] for j in rows], [j is not None and poor[j] for j in rows],
                       t, norm, gate)

    known = [(p, *track(r, gallery)) for p, r in s.probes]
    strangers = [track(r, gallery)[0] for r in s.strangers]
    loo = []
    for person in sorted({p for p, _ in s.probes}):
        without = Gallery(gallery.names, gallery.templates.copy(), gallery.owners.copy())
        without.remove_person(person)
        loo += [track(r, without)[0] for p, r in s.probes if p == person]
    right = [f for p, name, f in known if name == p]
    wrong = sum(name is not None and name != p for p, name, _ in known)
    accepted = sum(n is not None for n in strangers)
    accepted_loo = sum(n is not None for n in loo)
    return (f"| {label} | {'on' if gate else 'off'} | {pct(len(right) / len(known))} | {wrong} | "
            f"{accepted}/{len(strangers)} | {accepted_loo}/{len(loo)} | "
            f"{np.median(right):.0f} / {np.percentile(right, 95):.0f} |")


# --- the library computes what the tables assume ------------------------------------------------


def check_library(setup: Setup) -> None:
    data = setup.data
    table = embeddings(data, True)
    s = split(data, setup.protocol)
    gallery = Gallery.from_people({p: table[rows] for p, rows in s.enroll.items()})
    queries = table[[r for _, r in s.probes] + s.strangers]
    _, _, library = gallery.scores(queries)
    out = evaluate(data, s, table, table, s.strangers)
    cohort = Lever("cohort", score="cohort")
    mine = np.concatenate([cohort.scores(out.known), cohort.scores(out.strangers)])
    print(f"\nlibrary `Gallery.scores` against this benchmark's cohort score: max difference "
          f"{float(np.abs(library - mine).max()):.1e} over {len(queries)} queries")


# --- costs --------------------------------------------------------------------------------------


def median_ms(fn, repeat: int = 21) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def crowd(people: int, per_person: int, rng) -> tuple[Gallery, np.ndarray]:
    """Face-like synthetic templates (impostor cosines ~0.1 with a spread like real ones) and probes."""
    common = unit(rng.standard_normal(512))
    centres = unit(rng.standard_normal((people, 512)) / np.sqrt(512) + 0.35 * common)
    templates = unit(np.repeat(centres, per_person, axis=0) + rng.standard_normal((people * per_person, 512)) * 0.035)
    owners = np.repeat(np.arange(people), per_person)
    probes = unit(centres[rng.integers(0, people, 64)] + rng.standard_normal((64, 512)) * 0.035)
    return Gallery([f"p{i}" for i in range(people)], templates.astype(np.float32), owners), probes.astype(np.float32)


def print_costs(data: dict, engine: FaceEngine) -> None:
    print("\n## Costs (2 CPU threads, medians)\n")
    print("| what | plain | with the new scoring |")
    print("| --- | --- | --- |")
    crops = np.random.default_rng(0).integers(0, 255, (5, 112, 112, 3)).astype(np.uint8)
    for n in (1, 5):
        plain = median_ms(lambda n=n: engine.embedder.embed(crops[:n]), 11)
        flipped = median_ms(lambda n=n: engine.embedder.embed(crops[:n], flip=True), 11)
        print(f"| embed {n} face{'s' if n > 1 else ''} (flip: crop and mirror in one batch) | {plain:.1f} ms | "
              f"{flipped:.1f} ms |")
    rng = np.random.default_rng(1)
    for people, per in ((400, 1), (2000, 2), (5000, 1), (25_000, 2)):
        print(match_costs(people, per, rng))


def match_costs(people: int, per: int, rng) -> str:
    gallery, probes = crowd(people, per, rng)
    gallery.match(probes, 0.3)  # coarse index and the probes' impostor statistics
    i = iter(range(10**9))
    plain = median_ms(lambda: gallery.match(probes[next(i) % 64][None], 0.3, norm=None))
    normed = median_ms(lambda: gallery.match(probes[next(i) % 64][None], 0.3))
    five = median_ms(lambda: gallery.match(probes[:5], 0.3))
    fresh = Gallery(gallery.names, gallery.templates, gallery.owners)
    first = median_ms(lambda: fresh.match(probes[next(i) % 64][None], 0.3), 5)
    added = median_ms(lambda: add_and_remove(gallery, rng), 5)
    label = f"{people:,} people x {per} = {len(gallery):,} templates"
    return (f"| match 1 probe, {label} | {plain:.2f} ms | {normed:.2f} ms (5 probes: {five:.2f} ms; first use of "
            f"a template: {first:.2f} ms) |\n| enroll 1 person (2 templates) into it and remove them, statistics "
            f"kept | | {added:.2f} ms |")


def add_and_remove(gallery: Gallery, rng) -> None:
    gallery.add_person("newcomer", unit(rng.standard_normal((2, 512))).astype(np.float32))
    gallery.remove_person("newcomer")


# --- main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--protocol", choices=("all", "issue", "three"), default="issue",
                        help="probe with all other photos, or with the next two (the issue's protocol); "
                             "three: as issue, probing only people with three or more photos")
    parser.add_argument("--cache", type=Path, help=".npz file keeping the embeddings between runs")
    parser.add_argument("--distractors", type=Path, help="WIDER-format folder of faces to enroll as extra people")
    parser.add_argument("--live", action="store_true", help="also embed camera-like frames and replay the live vote")
    parser.add_argument("--face", choices=("central", "largest"), default="central",
                        help="which face of a photo is the labelled one (LFW: central)")
    parser.add_argument("--rotations", type=int, default=3)
    parser.add_argument("--threshold", type=float, default=0.30, help="default threshold for the lever tables")
    parser.add_argument("--thresholds", default="0.28,0.30,0.32,0.34,0.35,0.36")
    parser.add_argument("--only", default="plain,levers,cv,tune,growth,enroll,live,costs")
    args = parser.parse_args()

    def engine() -> FaceEngine:
        settings = load_settings(Path("."), {"threads": 2})
        return FaceEngine.from_settings(settings, log=lambda s: print(s, file=sys.stderr))

    data = load_or_build(args.cache, args.folders, args.live, args.distractors, args.face, engine)
    setup = Setup(data, args.protocol, args.rotations)
    extra = [i for i, p in enumerate(data["person"]) if str(p).startswith("wider/")]
    sections = set(args.only.split(","))
    print(f"faces: {int(data['found'].sum())} of {len(data['found'])} photos; same person under two labels: "
          + ", ".join(f"{a} = {b}" for a, b in SAME_PERSON.items()))
    if "plain" in sections:
        print_plain_table(setup, [float(v) for v in args.thresholds.split(",")])
    if "levers" in sections:
        print_levers(setup, args.threshold)
    chosen = [LEVERS[i] for i in (0, 1, 3, 4, 5, 7, 8, 10, 11)]
    if "cv" in sections:
        print_cross_validation(setup, chosen, [25, 50, 100, None, 440, 690], extra)
    if "tune" in sections:
        print_tuning(setup, [25, 50, 100, None, 440, 690], extra)
    if "growth" in sections:
        for lever_set, t in (([LEVERS[0], LEVERS[1], LEVERS[3], LEVERS[10]], 0.32),
                             ([LEVERS[0], LEVERS[1], LEVERS[3], LEVERS[8], LEVERS[10], LEVERS[11]], args.threshold)):
            print_growth(setup, lever_set, [25, 50, 100, 200, None, 631, 881], t, extra)
    if "enroll" in sections:
        print_enrollment(setup, args.threshold)
    if "live" in sections:
        print_live(setup)
    if "costs" in sections:
        print_costs(data, engine())
    check_library(setup)


if __name__ == "__main__":
    main()
