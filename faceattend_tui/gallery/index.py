"""A shortlist index over the gallery's rows for galleries above the exact-search limit.

Every template is compressed to 128 bytes (faiss product quantisation: 256 pieces of 2
dimensions, 4 bits each) and every query scans all the codes with SIMD lookup tables ("fast
scan"). The scan ranks the rows approximately; the caller rescores the best few hundred exactly
with the float templates it keeps anyway. Pieces of 4 dimensions (64 bytes) scan faster but now
and then rank a stranger's true best row below the 1,000th among a million.

Face embeddings spread over all 512 dimensions with no cluster or low-dimensional structure to
exploit, which defeats graph and cluster indexes: among 100,000 templates, HNSW (faiss, usearch)
misses the exact best row of 3-4 % of genuine probes and 18-32 % of strangers, IVF 21 % and 57 %,
where the full scan of small codes missed none. `benchmarks/bench_engine.py --alternatives`
measures them all.

Rows are named by their position in the gallery's template matrix. `insert` and `remove` take
the same arguments as the gallery's own `np.insert` and boolean mask, and renumber the rows after
them the same way, so search results are always current gallery rows. New rows are encoded with
the codebooks trained at build time (no rebuild); removed rows are only marked until they make up
a tenth of the codes, then dropped from the codes in one pass.
"""

from __future__ import annotations

import io
import zipfile

import faiss
import numpy as np

PIECE_DIMS = 2  # dimensions per sub-vector; 4 bits each: 128 bytes for a 512-dimensional row
BITS = 4
TRAIN_ROWS = 4096  # 16 centroids x 256 points per piece: more is not used by the k-means
MIN_TRAIN = 256  # fewer rows: keep them uncompressed (an exact index; tests and tiny galleries)
COMPACT_SHARE = 0.1  # removed codes dropped once they are this share of all codes


class RowIndex:
    """Approximate top-k by inner product over (N, D) float32 unit rows, named by row number."""

    def __init__(self, rows: np.ndarray, seed: int = 0):
        rows = np.ascontiguousarray(rows, dtype=np.float32)
        self._codes = make_codes(rows, seed)
        self._codes.add(rows)
        self._row = np.arange(len(rows), dtype=np.int64)  # gallery row of each code, -1: removed

    def to_bytes(self) -> bytes:
        """The codes and their row numbers, for `from_bytes` (removed rows dropped first)."""
        self._compact()
        buffer = io.BytesIO()
        np.savez(buffer, codes=faiss.serialize_index(self._codes), rows=self._row)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, size: int, dim: int) -> RowIndex:
        """An index saved by `to_bytes`; ValueError unless it holds rows 0..size-1 of `dim` dimensions."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as saved:
                codes, rows = faiss.deserialize_index(saved["codes"]), saved["rows"]
        except (OSError, ValueError, KeyError, EOFError, RuntimeError, zipfile.BadZipFile) as exc:
            reason = (str(exc) or repr(exc)).splitlines()[0][:120]
            raise ValueError(f"not a saved index ({reason})") from None
        if codes.d != dim or len(rows) != codes.ntotal or not np.array_equal(np.sort(rows), np.arange(size)):
            raise ValueError(f"a saved index of {codes.ntotal} rows of {codes.d} dimensions, not {size} of {dim}")
        index = cls.__new__(cls)
        index._codes, index._row = codes, rows.astype(np.int64)
        return index

    def __len__(self) -> int:
        return int(np.count_nonzero(self._row >= 0))

    @property
    def compressed(self) -> bool:
        return not isinstance(self._codes, faiss.IndexFlat)

    @property
    def removed(self) -> int:
        """Codes marked removed and not yet dropped."""
        return len(self._row) - len(self)

    def nbytes(self) -> int:
        """Memory held: the codes and the row numbers."""
        return int(self._codes.sa_code_size() * self._codes.ntotal + self._row.nbytes)

    def insert(self, at: int, rows: np.ndarray) -> None:
        """Rows inserted before gallery row `at`, as `np.insert(templates, at, rows, axis=0)` does."""
        rows = np.ascontiguousarray(np.atleast_2d(rows), dtype=np.float32)
        self._row[self._row >= at] += len(rows)
        self._codes.add(rows)
        self._row = np.concatenate([self._row, np.arange(at, at + len(rows), dtype=np.int64)])

    def remove(self, keep: np.ndarray) -> None:
        """Forget the rows where `keep` is False and renumber the rest, as `templates[keep]` does."""
        keep = np.asarray(keep, bool)
        renumber = np.where(keep, np.cumsum(keep) - 1, -1)
        live = self._row >= 0
        self._row[live] = renumber[self._row[live]]
        if self.removed > COMPACT_SHARE * len(self._row):
            self._compact()

    def _compact(self) -> None:
        dead = np.flatnonzero(self._row < 0).astype(np.int64)
        if len(dead):
            self._codes.remove_ids(faiss.IDSelectorBatch(dead))  # keeps the order of the others
            self._row = self._row[self._row >= 0]

    def search(self, queries: np.ndarray, k: int) -> np.ndarray:
        """(Q, k) gallery rows, best first by the approximate score; -1 where fewer rows exist."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        ask = min(len(self._row), int(np.ceil(k * len(self._row) / max(len(self), 1))))
        out = np.full((len(queries), k), -1, np.int64)
        if ask == 0 or len(self) == 0:
            return out
        _, codes = self._codes.search(queries, ask)
        rows = np.where(codes >= 0, self._row[codes], -1)
        for i, found in enumerate(rows):  # removed rows out, the order kept
            found = found[found >= 0][:k]
            out[i, : len(found)] = found
        return out


def make_codes(rows: np.ndarray, seed: int) -> faiss.Index:
    """An empty index trained on a sample of the rows: product-quantised codes, or plain rows when too few."""
    dim = rows.shape[1]
    if len(rows) < MIN_TRAIN or dim % (2 * PIECE_DIMS):
        return faiss.IndexFlatIP(dim)
    codes = faiss.IndexPQFastScan(dim, dim // PIECE_DIMS, BITS, faiss.METRIC_INNER_PRODUCT)
    codes.pq.cp.min_points_per_centroid = MIN_TRAIN // 2**BITS  # no warning for small training sets
    codes.pq.cp.seed = seed
    sample = np.random.default_rng(seed).choice(len(rows), min(TRAIN_ROWS, len(rows)), replace=False)
    codes.train(rows[np.sort(sample)])
    return codes
