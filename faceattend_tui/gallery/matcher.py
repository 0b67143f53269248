"""Cosine matching of embeddings against enrolled templates: top-1 person, unknown threshold.

Galleries up to EXACT_LIMIT templates are searched exactly with one matrix product. Larger ones
are searched in two stages: a PCA projection to a few dimensions ranks every template cheaply,
then the best candidates are scored exactly. A true match (cosine well above the threshold)
ranks near the top of the projection too, so the answer matches the exact search in practice;
`benchmarks/bench_engine.py` measures how often it agrees.

`match` names a face when its best cosine, less the gallery's impostor level above a floor
(`scoring.CohortNorm`), reaches the threshold; `benchmarks/identification.py` measures why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from faceattend_tui.gallery.scoring import (
    DEFAULT_NORM,
    CohortNorm,
    ImpostorStats,
    level,
    person_scores,
    top_others,
)

EXACT_LIMIT = 40_000
COARSE_DIM = 96
CANDIDATES = 256


@dataclass(frozen=True)
class Match:
    name: str | None  # None: unknown
    similarity: float  # best cosine found, also for unknown faces
    candidate: str | None  # the best person even when below the threshold
    score: float | None = field(default=None)  # what met the threshold: similarity less the impostor excess

    def __post_init__(self):
        if self.score is None:
            object.__setattr__(self, "score", self.similarity)


class Gallery:
    """Templates of all people as one (N, D) matrix with an owner index per row."""

    def __init__(self, names: list[str], templates: np.ndarray, owners: np.ndarray):
        self.names = list(names)
        self.templates = np.ascontiguousarray(templates, dtype=np.float32)
        self.owners = np.asarray(owners, dtype=np.int32)
        self._coarse = None
        self._stats: ImpostorStats | None = None

    @classmethod
    def from_people(cls, people: dict[str, np.ndarray], dim: int = 512) -> Gallery:
        names = sorted(people)
        if not names:
            return cls([], np.zeros((0, dim), np.float32), np.zeros(0, np.int32))
        templates = np.concatenate([people[n] for n in names])
        owners = np.repeat(np.arange(len(names)), [len(people[n]) for n in names])
        return cls(names, templates, owners)

    def __len__(self) -> int:
        return len(self.templates)

    def search(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Best template index and cosine per query; index -1 for an empty gallery."""
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        if len(self.templates) == 0:
            return np.full(len(queries), -1), np.full(len(queries), -1.0, np.float32)
        if len(self.templates) <= EXACT_LIMIT:
            scores = queries @ self.templates.T
            best = scores.argmax(axis=1)
            return best, scores[np.arange(len(queries)), best]
        return self._two_stage(queries)

    def _two_stage(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        shortlist, exact = self._shortlist(queries)
        pick = exact.argmax(axis=1)
        rows = np.arange(len(queries))
        return shortlist[rows, pick], exact[rows, pick]

    def _shortlist(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(Q, CANDIDATES) template rows ranked best by the projection, and their exact cosines."""
        basis, projected = self._coarse_index()
        coarse = (queries @ basis) @ projected.T
        k = min(CANDIDATES, len(self.templates))
        shortlist = np.argpartition(-coarse, k - 1, axis=1)[:, :k]
        exact = np.empty(shortlist.shape, np.float32)
        for i, rows in enumerate(shortlist):
            exact[i] = self.templates[rows] @ queries[i]
        return shortlist, exact

    def _coarse_index(self) -> tuple[np.ndarray, np.ndarray]:
        if self._coarse is None:
            rng = np.random.default_rng(0)
            sample = self.templates[rng.choice(len(self.templates), min(20_000, len(self.templates)), replace=False)]
            _, _, vt = np.linalg.svd(sample, full_matrices=False)
            basis = np.ascontiguousarray(vt[:COARSE_DIM].T)
            self._coarse = (basis, np.ascontiguousarray(self.templates @ basis))
        return self._coarse

    def match(self, queries: np.ndarray, threshold: float, norm: CohortNorm | None = DEFAULT_NORM) -> list[Match]:
        """Top-1 person per query; named when its score reaches `threshold`.

        With `norm` (the default) the score is the best cosine less the gallery's impostor excess
        (see `scoring`); with norm=None it is the plain best cosine, as before.
        """
        if norm is None or len(self.names) < 2:
            return self._plain_match(queries, threshold)
        best, sims, scores = self.scores(queries, norm)
        matches = []
        for index, sim, score in zip(best, sims, scores, strict=True):
            candidate = self.names[self.owners[index]]
            name = candidate if score >= threshold else None
            matches.append(Match(name, float(sim), candidate, float(score)))
        return matches

    def _plain_match(self, queries: np.ndarray, threshold: float) -> list[Match]:
        best, sims = self.search(queries)
        matches = []
        for index, sim in zip(best, sims, strict=True):
            candidate = self.names[self.owners[index]] if index >= 0 else None
            name = candidate if index >= 0 and sim >= threshold else None
            matches.append(Match(name, float(sim), candidate))
        return matches

    def scores(self, queries: np.ndarray, norm: CohortNorm = DEFAULT_NORM) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Best template index, its cosine, and the normalised score, per query (gallery of 2+ people)."""
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        best, sims, people = self._people_scores(queries)
        own = self.owners[best]
        probe_level = level(top_others(people, own, norm.k)[0])
        template_level = self.impostor_stats(norm.k).levels(best, self._impostors)
        return best, sims, norm.adjust(sims, probe_level, template_level)

    def _people_scores(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Best template, its cosine and (Q, people) best cosine per person (two-stage: shortlist only)."""
        if len(self.templates) <= EXACT_LIMIT:
            scores = queries @ self.templates.T
            best = scores.argmax(axis=1)
            return best, scores[np.arange(len(queries)), best], person_scores(scores, self.owners, len(self.names))
        shortlist, exact = self._shortlist(queries)
        people = np.full((len(queries), len(self.names)), -np.inf, np.float32)
        for i, (rows, row_scores) in enumerate(zip(shortlist, exact, strict=True)):
            np.maximum.at(people[i], self.owners[rows], row_scores)
        pick = exact.argmax(axis=1)
        best = shortlist[np.arange(len(queries)), pick]
        return best, exact[np.arange(len(queries)), pick], people

    def impostor_stats(self, k: int) -> ImpostorStats:
        if self._stats is None or self._stats.k != k or len(self._stats) != len(self.templates):
            self._stats = ImpostorStats(len(self.templates), k)
        return self._stats

    def _impostors(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The k nearest other people of the given template rows, searched like a query."""
        _, _, people = self._people_scores(self.templates[rows])
        return top_others(people, self.owners[rows], self._stats.k)

    def add_person(self, name: str, rows: np.ndarray) -> None:
        """Enroll someone (or add templates to someone enrolled), updating the impostor statistics.

        Costs one (new rows x N) product; the coarse index of a two-stage gallery is rebuilt on
        the next search.
        """
        rows = np.atleast_2d(np.asarray(rows, dtype=np.float32))
        if name in self.names:
            person = self.names.index(name)
            at = int(np.flatnonzero(self.owners == person)[-1]) + 1 if np.any(self.owners == person) else len(self)
        else:
            person, at = len(self.names), len(self.templates)
            self.names.append(name)
        self.templates = np.ascontiguousarray(np.insert(self.templates, at, rows, axis=0))
        self.owners = np.insert(self.owners, at, np.full(len(rows), person, np.int32))
        self._coarse = None
        if self._stats is not None:
            self._stats.insert_rows(at, len(rows))
            self._stats.add_scores(person, (self.templates @ rows.T).max(axis=1), self.owners)

    def remove_person(self, name: str) -> bool:
        """Forget someone; impostor statistics that counted them are recomputed when next needed."""
        if name not in self.names:
            return False
        person = self.names.index(name)
        keep = self.owners != person
        self.names.pop(person)
        self.templates = np.ascontiguousarray(self.templates[keep])
        self.owners = np.where(self.owners[keep] > person, self.owners[keep] - 1, self.owners[keep]).astype(np.int32)
        self._coarse = None
        if self._stats is not None:
            self._stats.remove_person(person, keep)
        return True
