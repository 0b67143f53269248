"""Cosine matching of embeddings against enrolled templates: top-1 person, unknown threshold.

Galleries up to EXACT_LIMIT templates are searched exactly with one matrix product. Larger ones
are searched in two stages: a compressed index (`index.RowIndex`, built on first use and kept up
to date as people are enrolled and removed) shortlists CANDIDATES templates per query, which are
then scored exactly. `benchmarks/bench_engine.py` measures how often the answer agrees with the
exact search on real face embeddings among a million templates.

`match` names a face when its best cosine, less the gallery's impostor level above a floor
(`scoring.CohortNorm`), reaches the threshold; `benchmarks/identification.py` measures why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from faceattend_tui.gallery.index import RowIndex
from faceattend_tui.gallery.scoring import (
    DEFAULT_NORM,
    NONE,
    CohortNorm,
    ImpostorStats,
    level,
    person_scores,
    top_others,
    top_others_among,
)

EXACT_LIMIT = 40_000
CANDIDATES = 512  # templates the index shortlists per query, then scored exactly


@dataclass(frozen=True)
class Match:
    name: str | None  # None: unknown
    similarity: float  # best cosine found, also for unknown faces
    candidate: str | None  # the best person even when below the threshold
    score: float | None = field(default=None)  # what met the threshold: similarity less the impostor excess

    def __post_init__(self) -> None:
        if self.score is None:
            object.__setattr__(self, "score", self.similarity)


class Gallery:
    """Templates of all people as one (N, D) matrix with an owner index per row."""

    def __init__(self, names: list[str], templates: np.ndarray, owners: np.ndarray) -> None:
        self.names = list(names)
        self.templates = np.ascontiguousarray(templates, dtype=np.float32)
        self.owners = np.asarray(owners, dtype=np.int32)
        self.sources: dict[str, str] = {}  # name -> hash of the file their rows came from (load_gallery)
        self._index: RowIndex | None = None
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
        """(Q, CANDIDATES) template rows shortlisted by the index and their exact cosines (-1 / -inf: none)."""
        shortlist = self.row_index().search(queries, min(CANDIDATES, len(self.templates)))
        exact = np.full(shortlist.shape, -np.inf, np.float32)
        for i, rows in enumerate(shortlist):
            found = rows >= 0
            exact[i, found] = self.templates[rows[found]] @ queries[i]
        return shortlist, exact

    def prepare(self) -> None:
        """Build the index of a large gallery now rather than at the first search (a few seconds at 1M)."""
        if len(self.templates) > EXACT_LIMIT:
            self.row_index()

    def use_index(self, index: RowIndex) -> None:
        """Search with an index made earlier for exactly these templates (`templates.prepare_index`)."""
        self._index = index

    def row_index(self) -> RowIndex:
        """The shortlist index of a large gallery, built on first use (a few seconds for a million templates)."""
        if self._index is None:
            self._index = RowIndex(self.templates)
        return self._index

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
        best, sims, others = self._nearest(queries, norm.k)
        probe_level = level(others[0])
        template_level = self.impostor_stats(norm.k).levels(best, self._impostors)
        return best, sims, norm.adjust(sims, probe_level, template_level)

    def _nearest(self, queries: np.ndarray, k: int,
                 own: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Best template, its cosine, and (values, ids) of the k most similar people but `own`, per query.

        `own` defaults to the best template's owner. Above the limit, people are ranked by their
        best shortlisted template: the index's shortlist, scored exactly.
        """
        rows = np.arange(len(queries))
        if len(self.templates) <= EXACT_LIMIT:
            scores = queries @ self.templates.T
            best = scores.argmax(axis=1)
            own = self.owners[best] if own is None else own
            people = person_scores(scores, self.owners, len(self.names))
            return best, scores[rows, best], top_others(people, own, k)
        shortlist, exact = self._shortlist(queries)
        best = shortlist[rows, exact.argmax(axis=1)]
        own = self.owners[best] if own is None else own
        owners = np.where(shortlist >= 0, self.owners[shortlist], NONE)
        return best, exact.max(axis=1), top_others_among(exact, owners, own, k)

    def impostor_stats(self, k: int) -> ImpostorStats:
        if self._stats is None or self._stats.k != k or len(self._stats) != len(self.templates):
            self._stats = ImpostorStats(len(self.templates), k)
        return self._stats

    def _impostors(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The k nearest other people of the given template rows, searched like a query."""
        stats = self._stats
        assert stats is not None  # asked for only while `impostor_stats` fills the statistics
        return self._nearest(self.templates[rows], stats.k, own=self.owners[rows])[2]

    def add_person(self, name: str, rows: np.ndarray) -> None:
        """Enroll someone (or add templates to someone enrolled), updating the impostor statistics.

        Costs one (new rows x N) product; a large gallery's index encodes the new rows (no rebuild).
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
        self._update_index(lambda index: index.insert(at, rows))
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
        self.sources.pop(name, None)
        self.templates = np.ascontiguousarray(self.templates[keep])
        self.owners = np.where(self.owners[keep] > person, self.owners[keep] - 1, self.owners[keep]).astype(np.int32)
        self._update_index(lambda index: index.remove(keep))
        if self._stats is not None:
            self._stats.remove_person(person, keep)
        return True

    def _update_index(self, change: Callable[[RowIndex], None]) -> None:
        """Apply a change to the index, if there is one; a gallery back under the limit drops it."""
        if self._index is None:
            return
        if len(self.templates) <= EXACT_LIMIT:
            self._index = None
        else:
            change(self._index)
