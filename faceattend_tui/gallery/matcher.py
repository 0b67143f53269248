"""Cosine matching of embeddings against enrolled templates: top-1 person, unknown threshold.

Galleries up to EXACT_LIMIT templates are searched exactly with one matrix product. Larger ones
are searched in two stages: a PCA projection to a few dimensions ranks every template cheaply,
then the best candidates are scored exactly. A true match (cosine well above the threshold)
ranks near the top of the projection too, so the answer matches the exact search in practice;
`benchmarks/bench_engine.py` measures how often it agrees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EXACT_LIMIT = 40_000
COARSE_DIM = 96
CANDIDATES = 256


@dataclass(frozen=True)
class Match:
    name: str | None  # None: unknown
    similarity: float  # best cosine found, also for unknown faces
    candidate: str | None  # the best person even when below the threshold


class Gallery:
    """Templates of all people as one (N, D) matrix with an owner index per row."""

    def __init__(self, names: list[str], templates: np.ndarray, owners: np.ndarray):
        self.names = list(names)
        self.templates = np.ascontiguousarray(templates, dtype=np.float32)
        self.owners = np.asarray(owners, dtype=np.int32)
        self._coarse = None

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
        basis, projected = self._coarse_index()
        coarse = (queries @ basis) @ projected.T
        k = min(CANDIDATES, len(self.templates))
        shortlist = np.argpartition(-coarse, k - 1, axis=1)[:, :k]
        best = np.empty(len(queries), np.int64)
        sims = np.empty(len(queries), np.float32)
        for i, rows in enumerate(shortlist):
            exact = self.templates[rows] @ queries[i]
            j = int(exact.argmax())
            best[i], sims[i] = rows[j], exact[j]
        return best, sims

    def _coarse_index(self) -> tuple[np.ndarray, np.ndarray]:
        if self._coarse is None:
            rng = np.random.default_rng(0)
            sample = self.templates[rng.choice(len(self.templates), min(20_000, len(self.templates)), replace=False)]
            _, _, vt = np.linalg.svd(sample, full_matrices=False)
            basis = np.ascontiguousarray(vt[:COARSE_DIM].T)
            self._coarse = (basis, np.ascontiguousarray(self.templates @ basis))
        return self._coarse

    def match(self, queries: np.ndarray, threshold: float) -> list[Match]:
        best, sims = self.search(queries)
        matches = []
        for index, sim in zip(best, sims, strict=True):
            candidate = self.names[self.owners[index]] if index >= 0 else None
            name = candidate if index >= 0 and sim >= threshold else None
            matches.append(Match(name, float(sim), candidate))
        return matches
