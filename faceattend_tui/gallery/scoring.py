"""Open-set scores normalised against the gallery, so one threshold suits small and large sites.

A stranger's best cosine grows with the number of enrolled people (it is the maximum over more
impostors), so a fixed cosine threshold that keeps strangers out at 50 people lets in twice as
many at 900. The gallery itself says how high impostor scores run: the probe's cosines to the
k most similar *other* people, and the best template's cosines to the k people most like it
(its impostor statistics). When their average level is above `floor`, the excess is taken off
the best cosine before it meets the threshold; below it (small galleries) nothing changes.

Everything here is plain numpy on arrays the gallery already has; `ImpostorStats` keeps each
template's k nearest other people, computed when first needed and updated in place when
someone is enrolled or removed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from faceattend_tui.config import Settings

NONE = -1  # person id of an empty impostor slot


@dataclass(frozen=True)
class CohortNorm:
    """How far the gallery's impostor level raises the bar (the settings' values are calibrated for w600k_mbf)."""

    k: int  # impostors averaged: the k most similar other people
    floor: float  # impostor level up to which the plain cosine decides (~100 people enrolled)
    weight: float  # share of the level above `floor` taken off the best cosine

    @classmethod
    def from_settings(cls, settings: Settings) -> CohortNorm | None:
        """The settings' normalisation, or None (plain cosine) when its weight is 0."""
        if settings.cohort_weight <= 0:
            return None
        return cls(settings.cohort_k, settings.cohort_floor, settings.cohort_weight)

    def adjust(self, best: np.ndarray, probe_level: np.ndarray, template_level: np.ndarray) -> np.ndarray:
        """The best cosine minus the excess impostor level (never more than the cosine itself)."""
        level = 0.5 * (np.asarray(probe_level, np.float64) + np.asarray(template_level, np.float64))
        excess = np.maximum(np.nan_to_num(level - self.floor, nan=0.0, neginf=0.0), 0.0)
        return (np.asarray(best, np.float64) - self.weight * excess).astype(np.float32)


_DEFAULTS = Settings()
DEFAULT_NORM = CohortNorm(_DEFAULTS.cohort_k, _DEFAULTS.cohort_floor, _DEFAULTS.cohort_weight)  # the settings' own


def person_scores(scores: np.ndarray, owners: np.ndarray, people: int) -> np.ndarray:
    """(Q, people) best cosine of each person from (Q, N) template cosines; -inf for no template."""
    scores = np.atleast_2d(scores)
    out = np.full((len(scores), people), -np.inf, np.float32)
    if scores.shape[1] == 0:
        return out
    if np.all(owners[1:] >= owners[:-1]):  # one block per person: a single reduceat
        starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
        out[:, owners[starts]] = np.maximum.reduceat(scores, starts, axis=1)
        return out
    for i, row in enumerate(scores):
        np.maximum.at(out[i], owners, row)
    return out


def top_others(people_scores: np.ndarray, own: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the k highest scores of people other than `own[i]`, best first, and their ids.

    Rows with fewer than k other people are padded with -inf and id NONE.
    """
    scores = np.array(np.atleast_2d(people_scores), dtype=np.float32)
    rows = np.arange(len(scores))
    scores[rows, own] = -np.inf
    width = scores.shape[1]
    every = np.tile(np.arange(width), (len(scores), 1))
    ids = np.argpartition(-scores, k - 1, axis=1)[:, :k] if width > k else every
    values = np.take_along_axis(scores, ids, axis=1)
    order = np.argsort(-values, axis=1, kind="stable")
    values, ids = np.take_along_axis(values, order, 1), np.take_along_axis(ids, order, 1)
    ids = np.where(np.isfinite(values), ids, NONE)
    return pad(values, ids, k)


def top_others_among(scores: np.ndarray, people: np.ndarray, own: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Like `top_others`, from each row's candidate templates only: their cosines and owners, (Q, R).

    A person's score is their best candidate; candidates with owner NONE (empty slots) are skipped.
    """
    values = np.full((len(scores), k), -np.inf, np.float32)
    ids = np.full((len(scores), k), NONE, np.int64)
    for i, (row, who) in enumerate(zip(scores, people, strict=True)):
        order = np.argsort(-row, kind="stable")
        ranked, firsts = np.unique(who[order], return_index=True)  # each person's best, at its first place
        by_score = np.argsort(firsts, kind="stable")
        ranked, best = ranked[by_score], row[order[firsts[by_score]]]
        wanted = (ranked != own[i]) & (ranked != NONE) & np.isfinite(best)
        ranked, best = ranked[wanted][:k], best[wanted][:k]
        values[i, : len(best)], ids[i, : len(best)] = best, ranked
    return values, ids


def pad(values: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    missing = k - values.shape[1]
    if missing <= 0:
        return values[:, :k], ids[:, :k]
    return (np.pad(values, ((0, 0), (0, missing)), constant_values=-np.inf),
            np.pad(ids, ((0, 0), (0, missing)), constant_values=NONE))


def level(values: np.ndarray) -> np.ndarray:
    """Mean of the finite entries per row; -inf for a row without any (nobody else enrolled)."""
    values = np.atleast_2d(values)
    finite = np.isfinite(values)
    count = finite.sum(axis=1)
    total = np.where(finite, values, 0.0).sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), -np.inf).astype(np.float32)


class ImpostorStats:
    """For every template: its k most similar other people (cosine, id), best first.

    Rows are filled on first use by `compute(rows) -> (values, ids)`, so loading a gallery costs
    nothing; `add_rows` and `remove_person` keep filled rows exact as people come and go.
    """

    def __init__(self, size: int, k: int):
        self.k = k
        self.values = np.full((size, k), -np.inf, np.float32)
        self.ids = np.full((size, k), NONE, np.int64)
        self.known = np.zeros(size, bool)

    def __len__(self) -> int:
        return len(self.known)

    def levels(self, rows: np.ndarray, compute: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Impostor level of the given template rows, computing the rows not known yet."""
        rows = np.asarray(rows, np.int64)
        todo = np.unique(rows[~self.known[rows]])
        if len(todo):
            self.values[todo], self.ids[todo] = compute(todo)
            self.known[todo] = True
        return level(self.values[rows])

    def insert_rows(self, at: int, count: int) -> None:
        """Make room for `count` new template rows at index `at` (not known yet)."""
        self.values = np.insert(self.values, at, np.full((count, self.k), -np.inf, np.float32), axis=0)
        self.ids = np.insert(self.ids, at, np.full((count, self.k), NONE, np.int64), axis=0)
        self.known = np.insert(self.known, at, np.zeros(count, bool))

    def add_scores(self, person: int, best: np.ndarray, owners: np.ndarray) -> None:
        """Merge `person`'s best cosine to every template (`best`, one per row) into the known rows.

        Call after the person's new templates were inserted; `owners` is the updated owner array.
        The person's own rows are left alone (nobody is their own impostor).
        """
        rows = np.flatnonzero(self.known & (owners != person))
        if not len(rows):
            return
        values, ids = self.values[rows], self.ids[rows]
        present = ids == person
        values = np.where(present, np.maximum(values, best[rows, None]), values)
        fresh = ~present.any(axis=1)
        values = np.concatenate([values, np.where(fresh, best[rows], -np.inf)[:, None]], axis=1)
        ids = np.concatenate([ids, np.where(fresh, person, NONE)[:, None]], axis=1)
        order = np.argsort(-values, axis=1, kind="stable")[:, : self.k]
        self.values[rows] = np.take_along_axis(values, order, 1)
        self.ids[rows] = np.where(np.isfinite(self.values[rows]), np.take_along_axis(ids, order, 1), NONE)

    def remove_person(self, person: int, keep: np.ndarray) -> None:
        """Drop the person's rows (`keep` is False there) and renumber the people after them.

        Rows that counted the person among their nearest impostors are forgotten: their next
        nearest is unknown, so they are computed again when needed.
        """
        self.values, self.ids, self.known = self.values[keep], self.ids[keep], self.known[keep]
        stale = (self.ids == person).any(axis=1)
        self.known[stale] = False
        self.values[stale], self.ids[stale] = -np.inf, NONE
        self.ids = np.where(self.ids > person, self.ids - 1, self.ids)
